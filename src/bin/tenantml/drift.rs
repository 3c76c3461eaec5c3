//! `tenantml drift`: per-feature drift between a reference and a current CSV (or the
//! reference a model file carries), as a table or as the `DriftReport` JSON.

use std::path::{Path, PathBuf};

use clap::Args;
use tenantml::data::table::Table;
use tenantml::drift::{
    drift_report, DriftConfig, DriftReport, FeatureDrift, FeatureSchema, ModelReference,
};
use tenantml::trees::format::{self, MAGIC};

/// Options of `tenantml drift`.
#[derive(Args)]
pub struct DriftArgs {
    /// Reference data: a CSV with a header of feature names, or a tenantml model file that
    /// stores a drift reference (recognised by its magic bytes, whatever its name).
    #[arg(long)]
    reference: PathBuf,
    /// Current data: a CSV with the reference's feature columns (missing or empty cells
    /// are dropped and counted per feature).
    #[arg(long)]
    current: PathBuf,
    /// Drift configuration file (DriftConfig JSON: numeric_test, categorical_test,
    /// feature_tests, p_value_threshold, bonferroni, psi_threshold, ..., drift_share).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Comma-separated categorical columns (numeric category codes) of a CSV reference;
    /// a model reference knows its own.
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Print the DriftReport JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `tenantml drift`. The exit code is 0 whether or not drift was found (the verdict
/// is in the output); errors exit 1.
pub fn drift(args: DriftArgs) -> Result<(), String> {
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            DriftConfig::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => DriftConfig::default(),
    };
    let report = match read_model_reference(&args.reference)? {
        Some(reference) => {
            if !args.categorical.is_empty() {
                return Err(format!(
                    "--categorical applies to a CSV reference; {} is a model file whose \
                     reference records each feature's kind",
                    args.reference.display()
                ));
            }
            let names = reference.features.schema().names().to_vec();
            let current = read_csv(&args.current)?;
            check_columns(&current, &names, &args.current, &args.reference)?;
            let matrix = current.matrix(&names).map_err(|e| e.to_string())?;
            reference
                .report(matrix.view(), &config)
                .map_err(|e| e.to_string())?
        }
        None => {
            let reference = read_csv(&args.reference)?;
            let names = reference.names().to_vec();
            let categorical = args
                .categorical
                .iter()
                .map(|c| {
                    names.iter().position(|n| n == c).ok_or_else(|| {
                        format!(
                            "--categorical names '{c}', which is not a column of {} (columns: {})",
                            args.reference.display(),
                            names.join(", ")
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let schema =
                FeatureSchema::new(names.clone(), &categorical).map_err(|e| e.to_string())?;
            let current = read_csv(&args.current)?;
            check_columns(&current, &names, &args.current, &args.reference)?;
            let r = reference.matrix(&names).map_err(|e| e.to_string())?;
            let c = current.matrix(&names).map_err(|e| e.to_string())?;
            drift_report(r.view(), c.view(), &schema, &config).map_err(|e| e.to_string())?
        }
    };
    if args.json {
        println!("{}", report.to_json().map_err(|e| e.to_string())?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

fn read_csv(path: &Path) -> Result<Table, String> {
    Table::read_csv(path).map_err(|e| e.to_string())
}

/// The drift reference of a model file, `None` when `path` is not a model file.
fn read_model_reference(path: &Path) -> Result<Option<ModelReference>, String> {
    let mut head = [0u8; 8];
    let is_model = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head == MAGIC;
    if !is_model {
        // Not a model (or shorter than a magic): read as CSV, which reports I/O errors.
        return Ok(None);
    }
    let bytes = format::load(path).map_err(|e| e.to_string())?;
    let info = format::peek(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    match ModelReference::from_metadata(&info.metadata) {
        Ok(Some(r)) => Ok(Some(r)),
        Ok(None) => Err(format!(
            "{} is a '{}' model file that stores no drift reference; pass a CSV of its \
             training features as --reference instead",
            path.display(),
            info.kind
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The current file must hold exactly the reference's features (a missing column would
/// otherwise be an opaque error, an extra one silently ignored).
fn check_columns(
    current: &Table,
    names: &[String],
    path: &Path,
    reference: &Path,
) -> Result<(), String> {
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| current.column(n).is_none())
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = current
        .names()
        .iter()
        .filter(|n| !names.contains(n))
        .map(String::as_str)
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("lacks {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("has extra {}", extra.join(", ")));
    }
    Err(format!(
        "{} must have the feature columns of {}: it {}",
        path.display(),
        reference.display(),
        parts.join(" and ")
    ))
}

fn cells(f: &FeatureDrift) -> [String; 8] {
    [
        f.name.clone(),
        serde_json::to_value(f.test)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        format!("{:.4}", f.statistic),
        f.p_value.map_or("-".into(), |p| {
            if p >= 1e-3 {
                format!("{p:.4}")
            } else {
                format!("{p:.2e}")
            }
        }),
        format!("{}", f.threshold),
        if f.drifted { "yes" } else { "no" }.into(),
        format!("{}/{}", f.n_reference, f.n_current),
        format!("{}/{}", f.missing_reference, f.missing_current),
    ]
}

fn table(report: &DriftReport) -> String {
    let header = [
        "FEATURE",
        "TEST",
        "STATISTIC",
        "P_VALUE",
        "THRESHOLD",
        "DRIFTED",
        "N_REF/CUR",
        "MISSING_REF/CUR",
    ];
    let rows: Vec<[String; 8]> = report.features.iter().map(cells).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&header);
    for r in &rows {
        out.push_str(&line(&r.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out.push_str(&format!(
        "\ndrifted features: {} of {} (share {:.3}, dataset drift at >= {}){}\ndataset drift: {}\n",
        report.n_drifted,
        report.features.len(),
        report.share_drifted,
        report.drift_share,
        if report.bonferroni {
            "; p-value thresholds Bonferroni-corrected"
        } else {
            ""
        },
        if report.dataset_drift { "yes" } else { "no" }
    ));
    out
}
