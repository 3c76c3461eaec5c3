//! `tenantml drift` over CSV files and model files carrying a drift reference.
#![cfg(feature = "cli")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::Array2;
use tenantml::drift::{FeatureSchema, ModelReference};
use tenantml::trees::format::{encode, ModelMetadata};

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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

const REFERENCE: &str = "a,plan\n1,0\n2,1\n3,0\n4,1\n5,0\n";
const CURRENT: &str = "a,plan\n6,1\n7,1\n8,\n9,1\n10,1\n";

#[test]
fn csv_report_as_table_and_json_matches_scipy() {
    let dir = common::ScratchDir::new("cli-drift");
    let r = write(dir.path(), "r.csv", REFERENCE);
    let c = write(dir.path(), "c.csv", CURRENT);
    let (ok, out, err) = tenantml(&["drift", "--reference", &r, "--current", &c, "--json"]);
    assert!(ok, "{err}");
    let report = json(&out);
    let a = &report["features"][0];
    // scipy.stats.ks_2samp([1..5], [6..10]) = (1.0, 0.007936507936507936)
    assert_eq!(a["statistic"], 1.0);
    assert!((a["p_value"].as_f64().unwrap() - 0.007936507936507936).abs() < 1e-15);
    assert_eq!(a["drifted"], true);
    let plan = &report["features"][1];
    assert_eq!(
        (plan["test"].as_str(), plan["missing_current"].as_u64()),
        (Some("ks"), Some(1))
    );
    assert_eq!(report["dataset_drift"], true);

    let (ok, out, err) = tenantml(&[
        "drift",
        "--reference",
        &r,
        "--current",
        &c,
        "--categorical",
        "plan",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("FEATURE  TEST"), "{out}");
    assert!(
        lines[1].starts_with("a ") && lines[1].contains("0.0079") && lines[1].contains("yes"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("plan") && lines[2].contains("chi2") && lines[2].contains("5/4"),
        "{out}"
    );
    assert!(
        out.contains("drifted features: 1 of 2") && out.contains("dataset drift: yes"),
        "{out}"
    );
}

#[test]
fn config_file_changes_the_tests() {
    let dir = common::ScratchDir::new("cli-drift-cfg");
    let r = write(dir.path(), "r.csv", REFERENCE);
    let c = write(dir.path(), "c.csv", CURRENT);
    let cfg = write(
        dir.path(),
        "cfg.json",
        r#"{"numeric_test": "wasserstein", "wasserstein_threshold": 2.0, "drift_share": 1.0}"#,
    );
    let (ok, out, err) = tenantml(&[
        "drift",
        "--reference",
        &r,
        "--current",
        &c,
        "--config",
        &cfg,
        "--json",
    ]);
    assert!(ok, "{err}");
    let report = json(&out);
    assert_eq!(report["features"][0]["test"], "wasserstein");
    // Normalised Wasserstein: a moved 5 over a reference std of 1.41 (3.54), plan 1.22.
    assert_eq!(report["features"][0]["drifted"], true);
    assert_eq!(report["features"][1]["drifted"], false);
    assert_eq!(report["dataset_drift"], false, "{out}");
    let bad = write(dir.path(), "bad.json", r#"{"alpha": 0.01}"#);
    let (ok, _, err) = tenantml(&[
        "drift",
        "--reference",
        &r,
        "--current",
        &c,
        "--config",
        &bad,
    ]);
    assert!(
        !ok && err.contains("bad.json") && err.contains("alpha"),
        "{err}"
    );
}

fn model_file(dir: &Path, with_reference: bool) -> String {
    let train = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 7 + j * 3) % 50) as f64);
    let schema = FeatureSchema::new(vec!["usage".into(), "region".into()], &[1]).unwrap();
    let mut meta = ModelMetadata::default();
    if with_reference {
        let reference = ModelReference::build(train.view(), &schema, &[]).unwrap();
        reference.store_in(&mut meta).unwrap();
    }
    // Any model kind works: the reference is in the metadata.
    let bytes = encode("test-model", &1.5f64, &meta).unwrap();
    let p = dir.join(if with_reference { "m.bin" } else { "plain.tml" });
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn model_file_reference_is_recognised_by_its_magic() {
    let dir = common::ScratchDir::new("cli-drift-model");
    let model = model_file(dir.path(), true);
    let mut text = String::from("region,usage\n");
    for i in 0..300 {
        text.push_str(&format!("{},{}\n", (i * 3 + 3) % 50, (i * 7) % 50 + 30));
    }
    let c = write(dir.path(), "c.csv", &text);
    let (ok, out, err) = tenantml(&["drift", "--reference", &model, "--current", &c, "--json"]);
    assert!(ok, "{err}");
    let report = json(&out);
    assert_eq!(report["features"][0]["name"], "usage");
    assert_eq!(report["features"][0]["drifted"], true);
    assert_eq!(report["features"][1]["kind"], "categorical");
    assert_eq!(report["features"][1]["drifted"], false);

    let (ok, _, err) = tenantml(&[
        "drift",
        "--reference",
        &model,
        "--current",
        &c,
        "--categorical",
        "region",
    ]);
    assert!(!ok && err.contains("records each feature's kind"), "{err}");
    let plain = model_file(dir.path(), false);
    let (ok, _, err) = tenantml(&["drift", "--reference", &plain, "--current", &c]);
    assert!(!ok && err.contains("stores no drift reference"), "{err}");
    let bytes = std::fs::read(&model).unwrap();
    let truncated = dir.path().join("truncated.tml");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, _, err) = tenantml(&[
        "drift",
        "--reference",
        truncated.to_str().unwrap(),
        "--current",
        &c,
    ]);
    assert!(!ok && err.contains("bad model file"), "{err}");
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = common::ScratchDir::new("cli-drift-bad");
    let r = write(dir.path(), "r.csv", REFERENCE);
    let cases = [
        ("a\n1\n2\n", "lacks plan"),
        ("a,plan,extra\n1,0,0\n", "has extra extra"),
        ("a,plan\n1,x\n", "'x' is not a number"),
        (
            "a,plan\n,1\nnan,0\n",
            "'a': the current sample has no finite values",
        ),
        ("a,plan\n", "no data rows"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let c = write(dir.path(), &format!("c{i}.csv"), text);
        let (ok, out, err) = tenantml(&["drift", "--reference", &r, "--current", &c]);
        assert!(
            !ok && out.is_empty() && err.contains(expected),
            "{text:?}: {err}"
        );
    }
    let c = write(dir.path(), "c.csv", CURRENT);
    let (ok, _, err) = tenantml(&[
        "drift",
        "--reference",
        &r,
        "--current",
        &c,
        "--categorical",
        "nope",
    ]);
    assert!(!ok && err.contains("'nope'"), "{err}");
    let missing = dir.path().join("absent.csv");
    let (ok, _, err) = tenantml(&[
        "drift",
        "--reference",
        missing.to_str().unwrap(),
        "--current",
        &c,
    ]);
    assert!(!ok && err.contains("absent.csv"), "{err}");
}
