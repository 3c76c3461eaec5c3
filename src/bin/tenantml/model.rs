//! `tenantml fit` and `tenantml predict`: tree models over CSV files, with `--json` reports
//! that the comparison scripts in benches/compare/ read.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use ndarray::Array2;
use serde_json::{json, Map, Value};
use tenantml::data::table::{write_column, Table};
use tenantml::drift::ModelReference;
use tenantml::trees::metrics;
use tenantml::trees::model::{Calibration, FitProgress, Model, ModelKind, ModelParams, Task};

/// Options of `tenantml fit`.
#[derive(Args)]
pub struct FitArgs {
    /// What the model predicts.
    #[arg(long, value_enum, default_value_t = TaskArg::Regression)]
    task: TaskArg,
    /// Which ensemble.
    #[arg(long, value_enum, default_value_t = KindArg::Gbdt)]
    model: KindArg,
    /// Target column.
    #[arg(long)]
    target: String,
    /// Training CSV (header row; every other column is a feature unless --ignore'd).
    #[arg(long)]
    train: PathBuf,
    /// Validation CSV (same columns): early stopping, blend weights, calibration, metrics.
    #[arg(long)]
    valid: Option<PathBuf>,
    /// Comma-separated columns that are not features (ids, timestamps).
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Boosting rounds.
    #[arg(long)]
    rounds: Option<usize>,
    /// Boosting learning rate.
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Most leaves per boosted tree.
    #[arg(long)]
    max_leaves: Option<usize>,
    /// Forest trees.
    #[arg(long)]
    trees: Option<usize>,
    /// Seed of every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Stop boosting after this many rounds without improvement on the validation data.
    #[arg(long)]
    early_stopping_rounds: Option<usize>,
    /// Calibration of binary probabilities.
    #[arg(long, value_enum)]
    calibration: Option<CalibrationArg>,
    /// Full parameters as JSON (see ModelParams); the flags above override it.
    #[arg(long)]
    params: Option<String>,
    /// Where to write the model file.
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Options of `tenantml predict`.
#[derive(Args)]
pub struct PredictArgs {
    /// Model file written by `tenantml fit`.
    #[arg(long)]
    model: PathBuf,
    /// CSV with (at least) the model's feature columns; others are ignored.
    #[arg(long)]
    data: PathBuf,
    /// Where to write the predictions (one column, `prediction`).
    #[arg(long)]
    out: PathBuf,
    /// Target column to score against when present (default: the one the model was fitted
    /// on).
    #[arg(long)]
    target: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum TaskArg {
    Regression,
    Binary,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Gbdt,
    Forest,
    Blend,
}

#[derive(Clone, Copy, ValueEnum)]
enum CalibrationArg {
    None,
    Platt,
    Isotonic,
}

fn read(path: &Path) -> Result<Table, String> {
    Table::read_csv(path).map_err(|e| e.to_string())
}

fn target_of<'a>(table: &'a Table, target: &str, path: &Path) -> Result<&'a [f64], String> {
    table.column(target).ok_or_else(|| {
        format!(
            "{} has no target column '{target}' (columns: {})",
            path.display(),
            table.names().join(", ")
        )
    })
}

/// Quality of predictions `p` against `y`, named as the reports expect.
fn quality(task: Task, y: &[f64], p: &[f64]) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: f64| {
        m.insert(k.into(), if v.is_finite() { json!(v) } else { Value::Null });
    };
    match task {
        Task::Regression => {
            put("mae", metrics::mae(y, p));
            put("rmse", metrics::rmse(y, p));
        }
        Task::Binary => {
            put("auc", metrics::roc_auc(y, p));
            put("logloss", metrics::log_loss(y, p));
        }
    }
    m
}

fn predict_matrix(model: &Model, x: &Array2<f64>) -> Result<Vec<f64>, String> {
    let mut out = vec![0.0; x.nrows()];
    model
        .predict(x.view(), &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

pub fn fit(args: FitArgs) -> Result<(), String> {
    let mut params = match &args.params {
        Some(json) => ModelParams::from_json(json).map_err(|e| e.to_string())?,
        None => ModelParams::default(),
    };
    params.task = match args.task {
        TaskArg::Regression => Task::Regression,
        TaskArg::Binary => Task::Binary,
    };
    params.model = match args.model {
        KindArg::Gbdt => ModelKind::Gbdt,
        KindArg::Forest => ModelKind::Forest,
        KindArg::Blend => ModelKind::Blend,
    };
    if let Some(v) = args.rounds {
        params.gbdt.rounds = v;
    }
    if let Some(v) = args.learning_rate {
        params.gbdt.learning_rate = v;
    }
    if let Some(v) = args.max_leaves {
        params.gbdt.max_leaves = v;
    }
    if let Some(v) = args.trees {
        params.forest.trees = v;
    }
    if let Some(v) = args.early_stopping_rounds {
        params.gbdt.early_stopping_rounds = Some(v);
    }
    if let Some(v) = args.seed {
        params.seed = Some(v);
    }
    if let Some(c) = args.calibration {
        params.calibration = match c {
            CalibrationArg::None => Calibration::None,
            CalibrationArg::Platt => Calibration::Platt,
            CalibrationArg::Isotonic => Calibration::Isotonic,
        };
    }

    let train = read(&args.train)?;
    let y = target_of(&train, &args.target, &args.train)?.to_vec();
    for name in &args.ignore {
        if train.column(name).is_none() {
            return Err(format!(
                "--ignore: {} has no column '{name}'",
                args.train.display()
            ));
        }
    }
    let features: Vec<String> = train
        .names()
        .iter()
        .filter(|n| **n != args.target && !args.ignore.contains(n))
        .cloned()
        .collect();
    if features.is_empty() {
        return Err("no feature columns left besides the target".into());
    }
    let x = train.matrix(&features).map_err(|e| e.to_string())?;
    let valid = match &args.valid {
        Some(path) => {
            let table = read(path)?;
            let vy = target_of(&table, &args.target, path)?.to_vec();
            let vx = table
                .matrix(&features)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Some((vx, vy))
        }
        None => None,
    };
    params.feature_names = features.clone();

    let bar = ProgressBar::new(std::io::stderr().is_terminal());
    let started = Instant::now();
    let fitted = Model::fit_with_progress(
        x.view(),
        &y,
        None,
        valid.as_ref().map(|(vx, vy)| (vx.view(), vy.as_slice())),
        &params,
        &|p| bar.update(p),
    );
    let fit_seconds = started.elapsed().as_secs_f64();
    bar.finish();
    let mut model = fitted.map_err(|e| e.to_string())?;
    ModelReference::attach(&mut model, x.view(), params.seed.unwrap_or(0))
        .map_err(|e| e.to_string())?;
    model
        .metadata_mut()
        .extra
        .insert("target".into(), json!(args.target));
    model.save(&args.out).map_err(|e| e.to_string())?;

    let (scored_on, quality) = match &valid {
        Some((vx, vy)) => (
            "valid",
            quality(params.task, vy, &predict_matrix(&model, vx)?),
        ),
        None => (
            "train",
            quality(params.task, &y, &predict_matrix(&model, &x)?),
        ),
    };
    let mut report = Map::new();
    report.insert("rows".into(), json!(y.len()));
    report.insert("features".into(), json!(features.len()));
    report.insert("fit_seconds".into(), json!(fit_seconds));
    report.insert("scored_on".into(), json!(scored_on));
    report.extend(quality);
    if model.kind() == ModelKind::Blend {
        report.insert("gbdt_weight".into(), json!(model.gbdt_weight()));
    }
    if let Some(round) = model.gbdt().and_then(|g| g.best_round()) {
        report.insert("best_round".into(), json!(round + 1));
    }
    report.insert("model".into(), json!(args.out.display().to_string()));
    print_report(&report, args.json, "fitted")
}

pub fn predict(args: PredictArgs) -> Result<(), String> {
    let model = Model::load(&args.model).map_err(|e| e.to_string())?;
    let data = read(&args.data)?;
    let x = data
        .matrix(model.feature_names())
        .map_err(|e| format!("{}: {e}", args.data.display()))?;
    let started = Instant::now();
    let p = predict_matrix(&model, &x)?;
    let predict_ns_per_row = started.elapsed().as_nanos() as f64 / x.nrows() as f64;
    write_column(&args.out, "prediction", &p).map_err(|e| e.to_string())?;

    let mut report = Map::new();
    report.insert("rows".into(), json!(x.nrows()));
    report.insert("predict_ns_per_row".into(), json!(predict_ns_per_row));
    let target = args.target.clone().or_else(|| {
        model
            .metadata()
            .extra
            .get("target")
            .and_then(|v| v.as_str().map(String::from))
    });
    if let Some(y) = target.as_deref().and_then(|t| data.column(t)) {
        report.extend(quality(model.task(), y, &p));
    }
    report.insert("out".into(), json!(args.out.display().to_string()));
    print_report(&report, args.json, "predicted")
}

fn print_report(report: &Map<String, Value>, json: bool, verb: &str) -> Result<(), String> {
    if json {
        println!("{}", Value::Object(report.clone()));
    } else {
        let parts: Vec<String> = report
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
            .collect();
        println!("{verb}: {}", parts.join(" "));
    }
    Ok(())
}

/// A progress bar on stderr for long fits, drawn only when stderr is a terminal (scripts and
/// logs stay clean) and at most ten times a second.
struct ProgressBar {
    enabled: bool,
    started: Instant,
    last_draw: std::sync::Mutex<Option<Instant>>,
}

impl ProgressBar {
    fn new(enabled: bool) -> ProgressBar {
        ProgressBar {
            enabled,
            started: Instant::now(),
            last_draw: std::sync::Mutex::new(None),
        }
    }

    fn update(&self, p: FitProgress) {
        if !self.enabled || self.started.elapsed().as_secs_f64() < 0.5 {
            return;
        }
        let mut last = self.last_draw.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| t.elapsed().as_millis() >= 100);
        if !due && p.done < p.total {
            return;
        }
        *last = Some(Instant::now());
        const WIDTH: usize = 30;
        let filled = (p.done * WIDTH)
            .checked_div(p.total)
            .unwrap_or(0)
            .min(WIDTH);
        eprint!(
            "\r[{}{}] {} {}/{}  {:.1} s",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            p.stage,
            p.done,
            p.total,
            self.started.elapsed().as_secs_f64()
        );
    }

    fn finish(&self) {
        let drawn = self.last_draw.lock().map(|l| l.is_some()).unwrap_or(true);
        if self.enabled && drawn {
            eprint!("\r\x1b[2K");
        }
    }
}
