//! `tenantml fit` / `tenantml predict` over CSV files, as the comparison scripts drive them.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::Command;

use common::friedman::friedman;

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

/// Friedman data with an id column the model must not use and a binary label column.
fn write_csv(path: &Path, n: usize, seed: u64) {
    let (x, y) = friedman(n, 6, seed, 1.0);
    let mut text = String::from("id,x0,x1,x2,x3,x4,x5,y,label\n");
    for (i, row) in x.rows().into_iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, v)| {
                if j == 5 && i % 7 == 0 {
                    String::new()
                } else {
                    v.to_string()
                }
            })
            .collect();
        let label = u8::from(y[i] > 14.0);
        text.push_str(&format!("{i},{},{},{label}\n", cells.join(","), y[i]));
    }
    std::fs::write(path, text).unwrap();
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn fit_then_predict_reports_quality_and_ignores_extra_columns() {
    let dir = common::ScratchDir::new("cli-model");
    let (train, valid) = (dir.path().join("train.csv"), dir.path().join("valid.csv"));
    write_csv(&train, 2000, 1);
    write_csv(&valid, 500, 2);
    let model = dir.path().join("m.tml");
    let preds = dir.path().join("p.csv");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (ok, out, err) = tenantml(&[
        "fit",
        "--task",
        "regression",
        "--model",
        "gbdt",
        "--target",
        "y",
        "--train",
        &s(&train),
        "--valid",
        &s(&valid),
        "--ignore",
        "id,label",
        "--rounds",
        "60",
        "--max-leaves",
        "15",
        "--learning-rate",
        "0.2",
        "--seed",
        "3",
        "--out",
        &s(&model),
        "--json",
    ]);
    assert!(ok, "{err}");
    let fit = json(&out);
    assert_eq!(fit["rows"], 2000);
    assert_eq!(fit["features"], 6);
    assert_eq!(fit["scored_on"], "valid");
    assert!(fit["fit_seconds"].as_f64().unwrap() > 0.0);
    let fit_mae = fit["mae"].as_f64().unwrap();
    assert!(fit_mae < 2.0, "{fit}");

    let (ok, out, err) = tenantml(&[
        "predict",
        "--model",
        &s(&model),
        "--data",
        &s(&valid),
        "--out",
        &s(&preds),
        "--json",
    ]);
    assert!(ok, "{err}");
    let pred = json(&out);
    assert_eq!(pred["rows"], 500);
    assert!(pred["predict_ns_per_row"].as_f64().unwrap() > 0.0);
    // The same rows, the same model: the same error as fit reported.
    assert!((pred["mae"].as_f64().unwrap() - fit_mae).abs() < 1e-12);
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("prediction"));
    assert_eq!(lines.filter(|l| l.parse::<f64>().is_ok()).count(), 500);

    // Binary forest, scored by AUC and log-loss; text output without --json.
    let (ok, out, err) = tenantml(&[
        "fit",
        "--task",
        "binary",
        "--model",
        "forest",
        "--target",
        "label",
        "--train",
        &s(&train),
        "--ignore",
        "id,y",
        "--trees",
        "20",
        "--out",
        &s(&model),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("fitted: ") && out.contains("auc="), "{out}");
    let (ok, out, err) = tenantml(&[
        "predict",
        "--model",
        &s(&model),
        "--data",
        &s(&valid),
        "--out",
        &s(&preds),
        "--json",
    ]);
    assert!(ok, "{err}");
    assert!(json(&out)["auc"].as_f64().unwrap() > 0.8, "{out}");
}

#[test]
fn bad_files_and_columns_are_reported_clearly() {
    let dir = common::ScratchDir::new("cli-model-bad");
    let train = dir.path().join("train.csv");
    write_csv(&train, 200, 4);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let model = dir.path().join("m.tml");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "fit".into(),
                "--target".into(),
                "nope".into(),
                "--train".into(),
                s(&train),
                "--out".into(),
                s(&model),
            ],
            "has no target column 'nope'",
        ),
        (
            vec![
                "fit".into(),
                "--target".into(),
                "y".into(),
                "--train".into(),
                "/no/such.csv".into(),
                "--out".into(),
                s(&model),
            ],
            "/no/such.csv",
        ),
        (
            vec![
                "fit".into(),
                "--target".into(),
                "y".into(),
                "--train".into(),
                s(&train),
                "--rounds".into(),
                "0".into(),
                "--out".into(),
                s(&model),
            ],
            "rounds must be at least 1",
        ),
        (
            vec![
                "fit".into(),
                "--task".into(),
                "binary".into(),
                "--target".into(),
                "y".into(),
                "--train".into(),
                s(&train),
                "--out".into(),
                s(&model),
            ],
            "must be 0 or 1",
        ),
        (
            vec![
                "predict".into(),
                "--model".into(),
                s(&train),
                "--data".into(),
                s(&train),
                "--out".into(),
                s(&model),
            ],
            "not a tenantml model file",
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, err) = tenantml(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    std::fs::write(dir.path().join("bad.csv"), "x0,x1\n1,abc\n").unwrap();
    let (ok, _, err) = tenantml(&[
        "fit",
        "--target",
        "x0",
        "--train",
        &s(&dir.path().join("bad.csv")),
        "--out",
        &s(&model),
    ]);
    assert!(!ok);
    assert!(err.contains("'abc' is not a number"), "{err}");
}
