//! Telemetry: the shared metrics file across processes, foreign and damaged files, the
//! page's families, and the prediction paths recording into the global recorder.

mod common;

use std::fs;
use std::io::BufReader;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{child_role, next_report, report, spawn_child, ScratchDir, CHILD_ARG, CHILD_DIR};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tenantml::data::series::{Series, SeriesOptions};
use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};
use tenantml::scoring::churn::{ChurnParams, ChurnPredictor, N_FEATURES};
use tenantml::scoring::fraud::{FraudScorer, RulesConfig, Schema, Transaction};
use tenantml::telemetry::{self, render_page, Telemetry, TelemetryOptions, MAX_CAPACITY};
use tenantml::Error;

fn file(dir: &Path) -> PathBuf {
    dir.join("metrics.shm")
}

fn open(dir: &Path) -> tenantml::Result<Telemetry> {
    Telemetry::shared(&TelemetryOptions {
        capacity: 16,
        ..TelemetryOptions::at(file(dir))
    })
}

/// The value of the sample line `series` (name plus labels) in `page`.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

const WORKERS: usize = 4;
const PER_WORKER: usize = 500;

/// Child side of `workers_in_several_processes_add_up`: records into the shared file.
#[test]
fn child_records_predictions() {
    if child_role().as_deref() != Some("record") {
        return;
    }
    let dir = PathBuf::from(std::env::var(CHILD_DIR).unwrap());
    let id: usize = std::env::var(CHILD_ARG).unwrap().parse().unwrap();
    let t = open(&dir).unwrap();
    for i in 0..PER_WORKER {
        let outcome = if i % 5 == 0 { "fallback" } else { "model" };
        t.record_prediction("fraud-eu", outcome, Duration::from_micros(3))
            .unwrap();
    }
    t.set_model_version(&format!("worker-{id}"), id as u64)
        .unwrap();
    report("done");
}

#[test]
fn workers_in_several_processes_add_up() {
    let dir = ScratchDir::new("telemetry-procs");
    // Created by the parent first, so the children race only on claiming series.
    open(dir.path()).unwrap();
    let children: Vec<_> = (0..WORKERS)
        .map(|i| {
            spawn_child(
                "child_records_predictions",
                "record",
                dir.path(),
                &i.to_string(),
            )
        })
        .collect();
    for mut child in children {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        assert_eq!(next_report(&mut out).as_deref(), Some("done"));
        assert!(child.wait().unwrap().success());
    }
    // A fresh mapping, as a php-fpm worker that recorded nothing would see it.
    let page = render_page(&open(dir.path()).unwrap(), None).unwrap();
    let total = (WORKERS * PER_WORKER) as f64;
    let series = |outcome: &str| format!("model=\"fraud-eu\",outcome=\"{outcome}\"");
    assert_eq!(
        sample(
            &page,
            &format!("tenantml_predictions_total{{{}}}", series("model"))
        ),
        Some(total * 0.8),
        "{page}"
    );
    assert_eq!(
        sample(
            &page,
            &format!(
                "tenantml_prediction_latency_seconds_count{{{}}}",
                series("fallback")
            )
        ),
        Some(total * 0.2)
    );
    // 3 us: in the 5 us bucket, not the 2.5 us one.
    let bucket = |le: &str| {
        sample(
            &page,
            &format!(
                "tenantml_prediction_latency_seconds_bucket{{{},le=\"{le}\"}}",
                series("model")
            ),
        )
    };
    assert_eq!(bucket("0.0000025"), Some(0.0));
    assert_eq!(bucket("0.000005"), Some(total * 0.8));
    assert_eq!(bucket("+Inf"), Some(total * 0.8));
    let sum = sample(
        &page,
        &format!(
            "tenantml_prediction_latency_seconds_sum{{{}}}",
            series("model")
        ),
    )
    .unwrap();
    assert!((sum - total * 0.8 * 3e-6).abs() < 1e-9, "{sum}");
    for i in 0..WORKERS {
        assert_eq!(
            sample(
                &page,
                &format!("tenantml_model_version_in_use{{model=\"worker-{i}\"}}")
            ),
            Some(i as f64)
        );
    }
    assert_eq!(sample(&page, "tenantml_telemetry_dropped_total"), Some(0.0));
}

fn corrupt(result: tenantml::Result<Telemetry>) -> String {
    match result {
        Err(e @ Error::StoreCorrupt(_)) => e.to_string(),
        Err(other) => panic!("expected StoreCorrupt, got {other:?}"),
        Ok(t) => panic!("expected StoreCorrupt, opened {t:?}"),
    }
}

#[test]
fn foreign_truncated_and_damaged_files_are_refused() {
    let dir = ScratchDir::new("telemetry-bad");
    let path = file(dir.path());
    fs::write(&path, b"<?php echo 'not a metrics file';").unwrap();
    assert!(corrupt(open(dir.path())).contains("not a tenantml metrics file"));
    fs::write(&path, b"TML").unwrap();
    assert!(corrupt(open(dir.path())).contains("not a tenantml metrics file"));
    fs::write(&path, b"TMLMETRC1234").unwrap();
    assert!(corrupt(open(dir.path())).contains("too short"));

    fs::remove_file(&path).unwrap();
    open(dir.path())
        .unwrap()
        .record_prediction("m", "model", Duration::ZERO)
        .unwrap();
    let full_len = fs::metadata(&path).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(full_len - 1).unwrap();
    assert!(corrupt(open(dir.path())).contains("needs"));
    f.set_len(full_len).unwrap();
    f.write_all_at(&99u64.to_le_bytes(), 16).unwrap(); // capacity word
    assert!(corrupt(open(dir.path())).contains("checksum"));

    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    assert!(corrupt(open(dir.path())).contains("not a regular file"));
    fs::remove_dir(&path).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &path).unwrap();
    assert!(corrupt(open(dir.path())).contains("symbolic link"));
}

#[test]
fn a_damaged_slot_fails_the_page_but_never_a_recording() {
    let dir = ScratchDir::new("telemetry-slot");
    let t = open(dir.path()).unwrap();
    t.record_prediction("m", "model", Duration::ZERO).unwrap();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(file(dir.path()))
        .unwrap();
    // Every slot's status word: 7 is no status we write.
    let slot_size = (fs::metadata(file(dir.path())).unwrap().len() - 4096) / 16;
    for i in 0..16 {
        f.write_all_at(&7u64.to_le_bytes(), 4096 + i * slot_size)
            .unwrap();
    }
    let e = render_page(&t, None).unwrap_err();
    assert!(matches!(e, Error::StoreCorrupt(_)), "{e}");
    assert!(t.record_prediction("m", "model", Duration::ZERO).is_err());
    assert_eq!(t.dropped(), 1);
}

#[test]
fn options_are_checked() {
    let dir = ScratchDir::new("telemetry-opts");
    for options in [
        TelemetryOptions {
            capacity: 0,
            ..TelemetryOptions::at(file(dir.path()))
        },
        TelemetryOptions {
            capacity: MAX_CAPACITY + 1,
            ..TelemetryOptions::at(file(dir.path()))
        },
        TelemetryOptions {
            mode: 0o1777,
            ..TelemetryOptions::at(file(dir.path()))
        },
        TelemetryOptions::at(""),
    ] {
        let e = Telemetry::shared(&options).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{options:?}: {e}");
    }
    assert!(serde_json::from_str::<TelemetryOptions>(r#"{"pathh": "/x"}"#).is_err());
    // An existing file keeps its capacity.
    open(dir.path()).unwrap();
    let again = Telemetry::shared(&TelemetryOptions {
        capacity: 999,
        ..TelemetryOptions::at(file(dir.path()))
    })
    .unwrap();
    assert_eq!(again.capacity(), 16);
}

fn usage_series(days: usize) -> Series {
    let mut rng = StdRng::seed_from_u64(7);
    let noise = Normal::new(0.0, 0.05).unwrap();
    let values: Vec<f64> = (0..days * 24)
        .map(|t| {
            let daily = if (8..18).contains(&(t % 24)) {
                1.6
            } else {
                0.5
            };
            100.0 * daily * (1.0 + noise.sample(&mut rng))
        })
        .collect();
    let start = 1_704_067_200;
    let t: Vec<i64> = (0..values.len() as i64).map(|i| start + i * 3600).collect();
    let options = SeriesOptions {
        frequency: Some(3600),
        ..SeriesOptions::default()
    };
    Series::new(&t, &values, &options).unwrap()
}

fn global_count(model: &str, outcome: &str) -> f64 {
    let page = telemetry::metrics_page(None).unwrap();
    sample(
        &page,
        &format!("tenantml_predictions_total{{model=\"{model}\",outcome=\"{outcome}\"}}"),
    )
    .unwrap_or(0.0)
}

#[test]
fn predictions_record_into_the_global_recorder() {
    // Names unique to this test: other tests of this binary record into the same global.
    let mut fraud = FraudScorer::rules_only(
        RulesConfig::default(),
        Schema::new(&["EUR"], &["DE"], &["books"], None).unwrap(),
    )
    .unwrap();
    fraud.set_name("wired-fraud", 1).unwrap();
    let txn = Transaction::new(1_767_787_200, 42.0);
    for _ in 0..3 {
        fraud.score(&txn, &[][..]).unwrap();
    }
    let mut bad = txn;
    bad.amount = f64::NAN;
    assert!(fraud.score(&bad, &[][..]).is_err());
    fraud.score_dataset(&[txn, txn]).unwrap();
    assert_eq!(
        global_count("wired-fraud", "fallback"),
        5.0,
        "failed calls are not counted; a batch counts per row"
    );

    let mut churn = ChurnPredictor::rules_only(&ChurnParams::default()).unwrap();
    churn.metadata_mut().name = Some("wired-churn".into());
    churn
        .predict_features("t-1", &[0.0; N_FEATURES], 1_767_787_200, 0)
        .unwrap();
    assert_eq!(global_count("wired-churn", "fallback"), 1.0);
    churn.probability(&[0.0; N_FEATURES]).unwrap();
    assert_eq!(
        global_count("wired-churn", "fallback"),
        2.0,
        "the flat path counts too"
    );

    let mut params = ForecastParams::default();
    params.model.gbdt.rounds = 20;
    params.model.forest.trees = 5;
    let history = usage_series(21);
    let mut usage = UsagePredictor::fit(std::slice::from_ref(&history), &params).unwrap();
    usage.metadata_mut().name = Some("wired-usage".into());
    let f = usage.forecast(&history, 24, &[]).unwrap();
    assert_eq!(global_count("wired-usage", f.regime.name()), 1.0);
    usage
        .forecast_values(history.start(), &[], 24, &[])
        .unwrap();
    assert_eq!(global_count("wired-usage", "cold_start_prior"), 1.0);
    assert!(usage.forecast(&history, 0, &[]).is_err());
    let page = telemetry::metrics_page(None).unwrap();
    assert_eq!(
        page.matches("model=\"wired-usage\"").count(),
        2 * (1 + 14 + 1 + 2),
        "two series, each a counter and a histogram:\n{page}"
    );
}

#[test]
fn a_drift_report_sets_the_drift_gauges() {
    use tenantml::drift::{drift_report, DriftConfig, FeatureSchema};
    let reference = ndarray::Array2::from_shape_fn((200, 2), |(i, _)| (i % 50) as f64);
    let current =
        ndarray::Array2::from_shape_fn((200, 2), |(i, j)| (i % 50) as f64 + 40.0 * j as f64);
    let schema = FeatureSchema::numeric(vec!["stable".into(), "moved".into()]).unwrap();
    let report = drift_report(
        reference.view(),
        current.view(),
        &schema,
        &DriftConfig::default(),
    )
    .unwrap();
    let t = Telemetry::in_process();
    t.record_drift("churn-drift-test", &report).unwrap();
    let page = telemetry::render_page(&t, None).unwrap();
    let score = |f: &str| {
        sample(
            &page,
            &format!("tenantml_drift_score{{model=\"churn-drift-test\",feature=\"{f}\"}}"),
        )
    };
    assert_eq!(score("stable"), Some(0.0));
    assert_eq!(score("moved"), Some(report.features[1].statistic));
    assert_eq!(
        sample(&page, "tenantml_drift_detected{model=\"churn-drift-test\"}"),
        Some(if report.dataset_drift { 1.0 } else { 0.0 })
    );
}
