//! `tenantml forecast` / `tenantml backtest` over CSV files: the real waterflow series (ISO 8601
//! with offsets, gaps, a DST change), many tenants in one file, plots and bad input.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::Command;

fn tenantml(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenantml"))
        .args(args)
        .output()
        .expect("run tenantml");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

const WATERFLOW: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/waterflow_hourly.csv"
);
const QUICK: &str = r#"{"model": {"gbdt": {"rounds": 40}, "forest": {"trees": 10}}}"#;

#[test]
fn forecast_writes_rows_with_intervals_and_regime() {
    let dir = common::ScratchDir::new("cli-forecast");
    let out = dir.path().join("f.csv");
    let model = dir.path().join("usage.tml");
    let (ok, stdout, err) = tenantml(&[
        "forecast",
        "--data",
        WATERFLOW,
        "--horizon",
        "24",
        "--level",
        "80",
        "--level",
        "95",
        "--time-zone",
        "Europe/Berlin",
        "--params",
        QUICK,
        "--save",
        &s(&model),
        "--out",
        &s(&out),
        "--json",
    ]);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["series"], 1);
    // The model, or a blend while the learned hand-over is incomplete.
    let regimes = summary["regimes"].as_object().unwrap();
    assert_eq!(regimes.len(), 1);
    let regime = regimes.keys().next().unwrap().clone();
    assert!(regime == "model" || regime == "blended", "{regime}");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp,forecast,lower,upper,lower_95,upper_95,regime"
    );
    assert_eq!(lines.len(), 25);
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(cells[0].ends_with('Z'), "{line}");
        let v: Vec<f64> = cells[1..6].iter().map(|c| c.parse().unwrap()).collect();
        assert!(
            v[3] <= v[1] && v[1] <= v[0] && v[0] <= v[2] && v[2] <= v[4],
            "{line}"
        );
        assert_eq!(cells[6], regime);
    }
    // The saved predictor forecasts the same without refitting.
    let again = dir.path().join("g.csv");
    let (ok, _, err) = tenantml(&[
        "forecast",
        "--data",
        WATERFLOW,
        "--horizon",
        "24",
        "--level",
        "80",
        "--level",
        "95",
        "--model",
        &s(&model),
        "--out",
        &s(&again),
    ]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
}

#[test]
fn many_tenants_in_one_file_share_one_model() {
    let dir = common::ScratchDir::new("cli-forecast-many");
    let data = dir.path().join("panel.csv");
    let mut text = String::from("series,timestamp,value\n");
    for tenant in ["acme", "globex", "initech"] {
        let level = tenant.len() as f64;
        for i in 0..24 * 21 {
            let v = level
                * if (8..18).contains(&(i % 24)) {
                    3.0
                } else {
                    1.0
                };
            text.push_str(&format!("{tenant},{},{v}\n", 1_704_067_200 + i * 3600));
        }
    }
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("f.csv");
    let (ok, _, err) = tenantml(&[
        "forecast",
        "--data",
        &s(&data),
        "--horizon",
        "12",
        "--params",
        QUICK,
        "--out",
        &s(&out),
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("series,timestamp,forecast,lower,upper"));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("globex,")).count(),
        12
    );
    assert_eq!(text.lines().count(), 1 + 3 * 12);
}

#[test]
fn backtest_prints_the_model_beside_the_baselines_and_plots() {
    let dir = common::ScratchDir::new("cli-backtest");
    let plot = dir.path().join("plot.png");
    let points = dir.path().join("points.csv");
    let (ok, stdout, err) = tenantml(&[
        "backtest",
        "--data",
        WATERFLOW,
        "--horizon",
        "24",
        "--windows",
        "3",
        "--params",
        QUICK,
        "--plot",
        &s(&plot),
        "--forecasts-out",
        &s(&points),
    ]);
    assert!(ok, "{err}");
    for name in ["model", "fallback_rule", "naive", "seasonal_naive_24"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{stdout}"
        );
    }
    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        std::fs::read_to_string(&points).unwrap().lines().count(),
        1 + 3 * 24
    );

    let (ok, stdout, err) = tenantml(&[
        "backtest",
        "--data",
        WATERFLOW,
        "--horizon",
        "24",
        "--windows",
        "2",
        "--params",
        QUICK,
        "--json",
    ]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["methods"][0]["name"], "model");
    assert!(report["methods"][0]["metrics"]["mase"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = common::ScratchDir::new("cli-forecast-bad");
    let out = s(&dir.path().join("f.csv"));
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        s(&p)
    };
    let cases = [
        (
            write("cols.csv", "time,usage\n1,2\n"),
            "24",
            "needs columns 'timestamp' and 'value'",
        ),
        (
            write("nan.csv", "timestamp,value\n0,1\n3600,abc\n"),
            "24",
            "line 3",
        ),
        (
            write("local.csv", "timestamp,value\n2024-01-01T00:00:00,1\n"),
            "24",
            "offset",
        ),
        (
            write("empty.csv", "timestamp,value\n"),
            "24",
            "no data rows",
        ),
        (
            write("ok.csv", "timestamp,value\n0,1\n3600,2\n7200,3\n"),
            "0",
            "horizon",
        ),
    ];
    for (path, horizon, needle) in cases {
        let (ok, _, err) = tenantml(&[
            "forecast",
            "--data",
            &path,
            "--horizon",
            horizon,
            "--out",
            &out,
        ]);
        assert!(!ok, "{path} should fail");
        assert!(
            err.contains(needle),
            "{path}: expected '{needle}' in: {err}"
        );
    }
    let (ok, _, err) = tenantml(&[
        "forecast",
        "--data",
        WATERFLOW,
        "--horizon",
        "3",
        "--freq",
        "1x",
        "--out",
        &out,
    ]);
    assert!(!ok && err.contains("unknown unit"), "{err}");
}
