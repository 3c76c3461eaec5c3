//! `tenantml forecast` and `tenantml backtest`: usage series from CSV files
//! (`timestamp,value` and optionally `series`), forecasts to CSV, metrics tables and JSON
//! reports for the comparison scripts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::json;
use tenantml::data::series::{format_timestamp, parse_timestamp, Series};
use tenantml::forecast::backtest::{backtest, BacktestOptions, BacktestReport};
use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};

/// Input shared by both commands.
#[derive(Args)]
pub struct SeriesArgs {
    /// CSV with a header and columns `timestamp` (unix seconds or ISO 8601 with offset) and
    /// `value`, optionally `series` (a tenant id) for many series; empty value = missing.
    #[arg(long)]
    data: PathBuf,
    /// Periods to forecast.
    #[arg(long)]
    horizon: usize,
    /// Period length: `15min`, `30min`, `1h`, `1d`, or seconds (default: inferred).
    #[arg(long)]
    freq: Option<String>,
    /// Interval level in percent; repeat for several (default 80 and 95).
    #[arg(long = "level")]
    levels: Vec<f64>,
    /// IANA time zone of the tenants' clock for calendar features (default UTC).
    #[arg(long)]
    time_zone: Option<String>,
    /// Full forecaster parameters as JSON (see ForecastParams); flags above override it.
    #[arg(long)]
    params: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Options of `tenantml forecast`.
#[derive(Args)]
pub struct ForecastArgs {
    #[command(flatten)]
    input: SeriesArgs,
    /// Where to write the forecast: `[series,]timestamp,forecast,lower,upper[,lower_L,upper_L...],regime`.
    #[arg(long)]
    out: PathBuf,
    /// Also save the fitted predictor here.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Forecast with this saved predictor instead of fitting one.
    #[arg(long)]
    model: Option<PathBuf>,
}

/// Options of `tenantml backtest`.
#[derive(Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    input: SeriesArgs,
    /// Forecast origins per series.
    #[arg(long, default_value_t = 4)]
    windows: usize,
    /// Periods between origins (default: the horizon).
    #[arg(long)]
    step: Option<usize>,
    /// Refit at every origin.
    #[arg(long)]
    refit: bool,
    /// Draw actual vs forecast with the interval band of the first series' windows (PNG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Write every window's points as CSV: `series,timestamp,actual,forecast,lower,upper`
    /// (bounds of the first level).
    #[arg(long)]
    forecasts_out: Option<PathBuf>,
}

/// `30min`, `1h`, `1d`, `90s` or plain seconds.
pub fn parse_frequency(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("--freq '{text}': expected e.g. 30min, 1h, 1d or seconds"))?;
    let unit_seconds = match unit {
        "" | "s" => 1,
        "min" | "m" | "T" => 60,
        "h" | "H" => 3600,
        "d" | "D" => 86_400,
        _ => {
            return Err(format!(
                "--freq '{text}': unknown unit '{unit}' (s, min, h, d)"
            ))
        }
    };
    if n <= 0 {
        return Err(format!("--freq '{text}' must be positive"));
    }
    Ok(n * unit_seconds)
}

/// The series of a CSV file, by id in first-seen order (one unnamed series without an id
/// column).
fn read_series(path: &Path, params: &ForecastParams) -> Result<Vec<(String, Series)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(tc), Some(vc)) = (col("timestamp"), col("value")) else {
        return Err(format!(
            "{}: needs columns 'timestamp' and 'value' (has: {})",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        ));
    };
    let sc = col("series");
    let mut order: Vec<String> = Vec::new();
    let mut points: BTreeMap<String, (Vec<i64>, Vec<f64>)> = BTreeMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let r = record.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
        let ts = r.get(tc).unwrap_or("");
        let t = match ts.parse::<i64>() {
            Ok(t) => t,
            Err(_) => {
                parse_timestamp(ts).map_err(|e| format!("{}: line {line}: {e}", path.display()))?
            }
        };
        let vs = r.get(vc).unwrap_or("");
        let v = if vs.is_empty() || vs.eq_ignore_ascii_case("nan") || vs.eq_ignore_ascii_case("na")
        {
            f64::NAN
        } else {
            vs.parse::<f64>().map_err(|_| {
                format!(
                    "{}: line {line}: value '{vs}' is not a number",
                    path.display()
                )
            })?
        };
        let id = sc.and_then(|c| r.get(c)).unwrap_or("").to_string();
        let entry = points.entry(id.clone()).or_insert_with(|| {
            order.push(id);
            (Vec::new(), Vec::new())
        });
        entry.0.push(t);
        entry.1.push(v);
    }
    if order.is_empty() {
        return Err(format!("{}: no data rows", path.display()));
    }
    order
        .into_iter()
        .map(|id| {
            let (t, v) = &points[&id];
            let s = Series::new(t, v, &params.series_options(None)).map_err(|e| {
                if id.is_empty() {
                    e.to_string()
                } else {
                    format!("series '{id}': {e}")
                }
            })?;
            Ok((id, s))
        })
        .collect()
}

fn params_of(input: &SeriesArgs) -> Result<ForecastParams, String> {
    let mut params = match &input.params {
        Some(json) => ForecastParams::from_json(json).map_err(|e| e.to_string())?,
        None => ForecastParams::default(),
    };
    if let Some(f) = &input.freq {
        params.frequency = Some(parse_frequency(f)?);
    }
    if !input.levels.is_empty() {
        params.levels = input.levels.clone();
    }
    if input.time_zone.is_some() {
        params.time_zone = input.time_zone.clone();
    }
    Ok(params)
}

pub fn forecast(args: ForecastArgs) -> Result<(), String> {
    let params = params_of(&args.input)?;
    let series = read_series(&args.input.data, &params)?;
    let fit_started = Instant::now();
    let predictor = match &args.model {
        Some(path) => UsagePredictor::load(path).map_err(|e| e.to_string())?,
        None => {
            let all: Vec<Series> = series.iter().map(|(_, s)| s.clone()).collect();
            UsagePredictor::fit(&all, &params).map_err(|e| e.to_string())?
        }
    };
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    if let Some(path) = &args.save {
        predictor.save(path).map_err(|e| e.to_string())?;
    }
    // A saved predictor keeps its own default levels unless --level says otherwise.
    let levels = if args.model.is_some() && args.input.levels.is_empty() {
        predictor.params().levels.clone()
    } else {
        params.levels.clone()
    };
    let many = series.len() > 1 || !series[0].0.is_empty();
    let mut text = String::new();
    if many {
        text.push_str("series,");
    }
    text.push_str("timestamp,forecast,lower,upper");
    for l in levels.iter().skip(1) {
        text.push_str(&format!(",lower_{l},upper_{l}"));
    }
    text.push_str(",regime\n");
    let started = Instant::now();
    let mut regimes = BTreeMap::new();
    let mut steps = 0usize;
    for (id, s) in &series {
        let f = predictor
            .forecast(s, args.input.horizon, &levels)
            .map_err(|e| e.to_string())?;
        *regimes.entry(f.regime.name()).or_insert(0usize) += 1;
        for p in &f.points {
            steps += 1;
            if many {
                text.push_str(&format!("{id},"));
            }
            text.push_str(&format!("{},{}", format_timestamp(p.timestamp), p.forecast));
            for (lo, up) in p.lower.iter().zip(&p.upper) {
                text.push_str(&format!(",{lo},{up}"));
            }
            text.push_str(&format!(",{}\n", f.regime.name()));
        }
    }
    let forecast_seconds = started.elapsed().as_secs_f64();
    std::fs::write(&args.out, text).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let summary = json!({
        "series": series.len(),
        "horizon": args.input.horizon,
        "fit_seconds": fit_seconds,
        "forecast_seconds": forecast_seconds,
        "forecast_us_per_step": forecast_seconds * 1e6 / steps.max(1) as f64,
        "regimes": regimes,
        "transform": predictor.transform().name(),
        "periods": predictor.periods(),
        "out": args.out.display().to_string(),
    });
    if args.input.json {
        println!("{summary}");
    } else {
        println!(
            "forecast {} series x {} periods -> {} (fit {:.2} s, transform {}, periods {:?})",
            series.len(),
            args.input.horizon,
            args.out.display(),
            fit_seconds,
            predictor.transform().name(),
            predictor.periods()
        );
    }
    Ok(())
}

pub fn run_backtest(args: BacktestArgs) -> Result<(), String> {
    let params = params_of(&args.input)?;
    let named = read_series(&args.input.data, &params)?;
    let series: Vec<Series> = named.iter().map(|(_, s)| s.clone()).collect();
    let options = BacktestOptions {
        horizon: args.input.horizon,
        windows: args.windows,
        step: args.step,
        refit: args.refit,
        levels: params.levels.clone(),
    };
    let started = Instant::now();
    let report = backtest(&series, &params, &options).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.plot {
        super::plot::backtest_png(&report, path)?;
    }
    if let Some(path) = &args.forecasts_out {
        let mut text = String::from("series,timestamp,actual,forecast,lower,upper\n");
        for w in &report.windows {
            let id = &named[w.series].0;
            for i in 0..w.timestamps.len() {
                text.push_str(&format!(
                    "{id},{},{},{},{},{}\n",
                    format_timestamp(w.timestamps[i]),
                    w.actual[i],
                    w.forecast[i],
                    w.lower[i],
                    w.upper[i]
                ));
            }
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if args.input.json {
        let mut value = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        value["seconds"] = json!(seconds);
        if let Some(map) = value.as_object_mut() {
            map.remove("windows");
        }
        println!("{value}");
    } else {
        print!("{}", table(&report));
        println!(
            "{} windows, transform {}, periods {:?}, {:.2} s",
            report.windows.len(),
            report.transform,
            report.periods,
            seconds
        );
    }
    Ok(())
}

/// The metrics table: one row per method.
fn table(report: &BacktestReport) -> String {
    let levels = &report.options.levels;
    let mut out = format!(
        "{:<24} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "method", "MAE", "RMSE", "MAPE%", "sMAPE%", "MASE"
    );
    for l in levels {
        out.push_str(&format!(" {:>8}", format!("cov{l}")));
    }
    out.push('\n');
    let num = |v: Option<f64>, scale: f64| match v {
        Some(v) if v.is_finite() => format!("{:.3}", v * scale),
        _ => "-".into(),
    };
    for m in &report.methods {
        out.push_str(&format!(
            "{:<24} {:>10} {:>10} {:>8} {:>8} {:>8}",
            m.name,
            num(Some(m.metrics.mae), 1.0),
            num(Some(m.metrics.rmse), 1.0),
            num(m.metrics.mape, 100.0),
            num(Some(m.metrics.smape), 100.0),
            num(m.metrics.mase, 1.0),
        ));
        for (i, _) in levels.iter().enumerate() {
            let c = m.coverage.get(i).map(|c| c.1);
            out.push_str(&format!(" {:>8}", num(c, 100.0)));
        }
        out.push('\n');
    }
    out
}
