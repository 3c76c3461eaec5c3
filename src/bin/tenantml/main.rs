//! `tenantml` command-line tool (feature `cli`).
//!
//! ```text
//! tenantml breaker status [--dir DIR] [--file-name NAME] [--json]
//! tenantml breaker metrics [--dir DIR] [--file-name NAME]
//! tenantml fit --task regression|binary --model gbdt|forest|blend --target COL --train FILE.csv
//!              [--valid FILE.csv] [--rounds N --learning-rate X --max-leaves N --trees N --seed N]
//!              --out MODEL [--json]
//! tenantml predict --model MODEL --data FILE.csv --out PRED.csv [--json]
//! tenantml forecast --data SERIES.csv --horizon H [--freq 1h] [--level 80]... [--time-zone TZ]
//!                   [--params JSON] [--save MODEL | --model MODEL] --out FORECAST.csv [--json]
//! tenantml backtest --data SERIES.csv --horizon H [--windows K] [--step S] [--refit]
//!                   [--plot PLOT.png] [--json]
//! tenantml churn --data TENANTS.json|EVENTS.csv --as-of DATE
//!                (--model M.tml | --cold-start [--settings JSON] [--seed N] | --fit --labels SPEC.json
//!                 | --rules-only) [--params JSON] [--save M.tml] [--reasons K] [--out SCORES.json|.csv]
//!                [--triggers POLICY.json|default [--state STATE.json] [--now DATE]] [--evaluate] [--json]
//! tenantml registry list --root DIR [--name N] [--json]
//! tenantml registry save|promote|rollback|retain --root DIR --name N [--model M.tml | --version V | --keep K]
//! tenantml drift --reference REF.csv|MODEL.tml --current CUR.csv [--config CFG.json]
//!                [--categorical COL,COL] [--json]
//! tenantml score-fraud --data TXNS.csv [--model M.tml | --cold-start | --rules RULES.json]
//!                      [--labels-column is_fraud] [--out SCORES.csv] [--save M.tml] [--json]
//! ```

mod churn;
mod drift;
mod forecast;
mod fraud;
mod model;
mod plot;
mod registry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tenantml::breaker::{BreakerSnapshot, BreakerStore, SharedStoreOptions};

#[derive(Parser)]
#[command(
    name = "tenantml",
    version,
    about = "tenantml: in-process ML and resilience for SaaS platforms"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect the host-wide circuit breaker store.
    #[command(subcommand)]
    Breaker(BreakerCommand),
    /// Fit a tree model on a CSV file and save it.
    Fit(model::FitArgs),
    /// Predict a CSV file with a saved model.
    Predict(model::PredictArgs),
    /// Fit a usage forecaster on a series CSV (or load one) and forecast every series.
    Forecast(forecast::ForecastArgs),
    /// Rolling-origin backtest of the forecaster against the baselines.
    Backtest(forecast::BacktestArgs),
    /// Churn probabilities with reasons, retention triggers, and model vs inactivity rule.
    Churn(churn::ChurnArgs),
    /// Per-feature drift between a reference (CSV or a model's stored reference) and a current CSV.
    Drift(drift::DriftArgs),
    /// Score transactions of a CSV file (saved scorer, cold start or rules alone).
    ScoreFraud(fraud::ScoreFraudArgs),
    /// Operate a model registry directory (list, save, promote, rollback, retain).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
}

#[derive(Subcommand)]
enum BreakerCommand {
    /// List every breaker in a shared store with its state and counters.
    Status {
        #[command(flatten)]
        store: StoreArgs,
        /// Print JSON (an array of snapshots) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the Prometheus exposition of every breaker in a shared store.
    Metrics {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args)]
struct StoreArgs {
    /// Directory of the store file.
    #[arg(long, env = "TENANTML_BREAKER_DIR", default_value = "/dev/shm")]
    dir: PathBuf,
    /// Store file name.
    #[arg(long, default_value = "tenantml-breakers.shm")]
    file_name: String,
}

impl StoreArgs {
    fn open(&self) -> Result<BreakerStore, String> {
        let path = self.dir.join(&self.file_name);
        // Inspecting must not create a store as a side effect.
        if !path.exists() {
            return Err(format!(
                "no breaker store at {} (nothing has opened a shared breaker there yet)",
                path.display()
            ));
        }
        let options = SharedStoreOptions {
            dir: self.dir.clone(),
            file_name: self.file_name.clone(),
            ..Default::default()
        };
        BreakerStore::shared(&options).map_err(|e| e.to_string())
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tenantml: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Fit(args) => return model::fit(args),
        Command::Predict(args) => return model::predict(args),
        Command::Forecast(args) => return forecast::forecast(args),
        Command::Backtest(args) => return forecast::run_backtest(args),
        Command::Churn(args) => return churn::churn(args),
        Command::ScoreFraud(args) => return fraud::score_fraud(args),
        Command::Registry(command) => return registry::run(command),
        Command::Drift(args) => return drift::drift(args),
        Command::Breaker(BreakerCommand::Status { store, json }) => {
            let snapshots = store.open()?.snapshots().map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&snapshots).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", status_table(&snapshots));
            }
        }
        Command::Breaker(BreakerCommand::Metrics { store }) => {
            let store = store.open()?;
            print!(
                "{}",
                tenantml::telemetry::breaker_metrics(&store).map_err(|e| e.to_string())?
            );
        }
    }
    Ok(())
}

fn status_table(snapshots: &[BreakerSnapshot]) -> String {
    if snapshots.is_empty() {
        return "no breakers in this store\n".into();
    }
    let header = [
        "NAME",
        "STATE",
        "RETRY_MS",
        "FAILS_IN_ROW",
        "SUCCESSES",
        "FAILURES",
        "SLOW",
        "REJECTED",
        "TRANSITIONS",
        "LAST_TRANSITION",
    ];
    let rows: Vec<[String; 10]> = snapshots
        .iter()
        .map(|s| {
            [
                s.name.clone(),
                s.state.to_string(),
                s.retry_after_ms.map_or("-".into(), |ms| ms.to_string()),
                s.consecutive_failures.to_string(),
                s.totals.successes.to_string(),
                s.totals.failures.to_string(),
                s.totals.slow_calls.to_string(),
                s.totals.rejected.to_string(),
                s.transitions.to_string(),
                s.last_transition.map_or("-".into(), |t| {
                    format!("{} -> {} ({} ms ago)", t.from, t.to, t.age_ms)
                }),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}
