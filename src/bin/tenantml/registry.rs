//! `tenantml registry ...`: inspect and operate a model registry directory.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use tenantml::registry::{Registry, SaveMetadata, VersionEntry};

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// List model names, or the versions of one model (each verified).
    List {
        #[command(flatten)]
        at: Where,
        /// Model name; without it, the model names are listed.
        #[arg(long)]
        name: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Store a model file as a new version (not promoted) and print its number.
    Save {
        #[command(flatten)]
        at: Named,
        /// The model file (any tenantml model).
        #[arg(long)]
        model: PathBuf,
        /// Metadata JSON: {"config": ..., "training_metrics": {...}}.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Make a version the live one.
    Promote {
        #[command(flatten)]
        at: Named,
        /// The version to promote.
        #[arg(long)]
        version: u64,
    },
    /// Return to the previously promoted version and print it.
    Rollback {
        #[command(flatten)]
        at: Named,
    },
    /// Delete all but the newest K versions (never the promoted one).
    Retain {
        #[command(flatten)]
        at: Named,
        /// Versions to keep (at least 1).
        #[arg(long)]
        keep: usize,
    },
}

#[derive(Args)]
pub struct Where {
    /// Registry root directory.
    #[arg(long, env = "TENANTML_REGISTRY")]
    root: PathBuf,
}

#[derive(Args)]
pub struct Named {
    #[command(flatten)]
    at: Where,
    /// Model name.
    #[arg(long)]
    name: String,
}

fn open(at: &Where) -> Result<Registry, String> {
    // Inspecting must not create a registry as a side effect of a typo.
    if !at.root.is_dir() {
        return Err(format!("no registry directory at {}", at.root.display()));
    }
    Registry::open(&at.root).map_err(|e| e.to_string())
}

pub fn run(command: RegistryCommand) -> Result<(), String> {
    let e = |e: tenantml::Error| e.to_string();
    match command {
        RegistryCommand::List { at, name, json } => {
            let registry = open(&at)?;
            match name {
                None => {
                    let names = registry.names().map_err(e)?;
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&names).map_err(|e| e.to_string())?
                        );
                    } else {
                        names.iter().for_each(|n| println!("{n}"));
                    }
                }
                Some(name) => {
                    let versions = registry.list(&name).map_err(e)?;
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&versions).map_err(|e| e.to_string())?
                        );
                    } else {
                        print!("{}", table(&versions));
                    }
                }
            }
        }
        RegistryCommand::Save {
            at,
            model,
            metadata,
        } => {
            let bytes = tenantml::trees::format::load(&model).map_err(e)?;
            let metadata = SaveMetadata::from_json(metadata.as_deref().unwrap_or("")).map_err(e)?;
            let v = open(&at.at)?
                .save_bytes(&at.name, &bytes, &metadata)
                .map_err(e)?;
            println!("{v}");
        }
        RegistryCommand::Promote { at, version } => {
            open(&at.at)?.promote(&at.name, version).map_err(e)?;
        }
        RegistryCommand::Rollback { at } => {
            println!("{}", open(&at.at)?.rollback(&at.name).map_err(e)?);
        }
        RegistryCommand::Retain { at, keep } => {
            let removed = open(&at.at)?.retain(&at.name, keep).map_err(e)?;
            println!("removed {} version(s) {removed:?}", removed.len());
        }
    }
    Ok(())
}

fn table(versions: &[VersionEntry]) -> String {
    let mut out = format!(
        "{:>7}  {:4}  {:<16}  {:<24}  {:>10}  status\n",
        "version", "live", "type", "created_at", "bytes"
    );
    for v in versions {
        let (kind, created, size) = match &v.info {
            Some(i) => (
                i.model_type.as_str(),
                i.created_at.as_str(),
                i.size.to_string(),
            ),
            None => ("?", "?", "?".to_string()),
        };
        let status = v
            .error
            .as_deref()
            .map_or("ok".to_string(), |e| format!("DAMAGED: {e}"));
        out.push_str(&format!(
            "{:>7}  {:4}  {:<16}  {:<24}  {:>10}  {status}\n",
            v.version,
            if v.current { "*" } else { "" },
            kind,
            created,
            size
        ));
    }
    out
}
