//! `tenantml score-fraud` over CSV files: held-out synthetic transactions written as CSV
//! with strings (the cold-start scorer against its rules alone, with metrics), a saved
//! scorer, a rules file, string ids and ISO timestamps, and bad input.
#![cfg(feature = "cli")]

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use tenantml::scoring::fraud::{GeneratorSettings, Schema, SyntheticData};

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

/// Small cold-start settings keep the test quick.
const SETTINGS: &str = r#"{"customers": 400, "days": 20}"#;

/// Synthetic transactions as the CSV a platform would export (strings, labels).
fn write_csv(path: &Path, data: &SyntheticData, schema: &Schema) {
    let mut text = String::from(
        "timestamp,customer,amount,currency,country,ip_country,payment_method,category,outcome,is_fraud\n",
    );
    let name =
        |d: &tenantml::scoring::fraud::Dictionary, c: u32| d.name(c).unwrap_or("").to_string();
    for (t, &label) in data.transactions.iter().zip(&data.labels) {
        writeln!(
            text,
            "{},cus_{},{:.2},{},{},{},{},{},{},{}",
            t.timestamp,
            t.customer,
            t.amount,
            name(&schema.currencies, t.currency),
            name(&schema.countries, t.country),
            name(&schema.countries, t.ip_country),
            t.payment_method,
            name(&schema.categories, t.category),
            if t.outcome == 1 {
                "failed"
            } else {
                "succeeded"
            },
            u8::from(label)
        )
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn cold_start_beats_its_rules_on_held_out_data_and_writes_scores() {
    let dir = common::ScratchDir::new("cli-fraud");
    let data = GeneratorSettings::held_out()
        .with_customers(300)
        .generate()
        .unwrap();
    let csv = dir.path().join("txns.csv");
    write_csv(&csv, &data, &GeneratorSettings::schema());
    let out = dir.path().join("scores.csv");
    let model = dir.path().join("fraud.tml");
    let (ok, stdout, err) = tenantml(&[
        "score-fraud",
        "--data",
        &s(&csv),
        "--cold-start",
        "--settings",
        SETTINGS,
        "--seed",
        "3",
        "--out",
        &s(&out),
        "--save",
        &s(&model),
        "--json",
    ]);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["rows"], data.transactions.len());
    assert_eq!(summary["regime"], "cold_start");
    assert_eq!(summary["model_name"], "fraud-cold-start");
    let m = &summary["metrics"];
    assert_eq!(
        m["frauds"],
        data.labels.iter().filter(|&&l| l).count(),
        "{summary}"
    );
    let (model_auc, rules_auc) = (
        m["scorer"]["roc_auc"].as_f64().unwrap(),
        m["rules"]["roc_auc"].as_f64().unwrap(),
    );
    let (model_ap, rules_ap) = (
        m["scorer"]["pr_auc"].as_f64().unwrap(),
        m["rules"]["pr_auc"].as_f64().unwrap(),
    );
    assert!(model_auc > 0.9 && model_auc > rules_auc, "{summary}");
    assert!(model_ap > rules_ap, "{summary}");
    assert!(m["scorer"]["brier"].as_f64().unwrap() < 0.02, "{summary}");

    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,customer,timestamp,score,decision,regime,rule_score,rule_hits"
    );
    assert_eq!(lines.len(), data.transactions.len() + 1);
    let declines = lines[1..]
        .iter()
        .filter(|l| l.split(',').nth(4) == Some("decline"))
        .count();
    assert_eq!(summary["decisions"]["decline"], declines);
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(
            cells[1].starts_with("cus_") && cells[2].ends_with('Z'),
            "{line}"
        );
        let score: f64 = cells[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{line}");
        assert_eq!(cells[5], "cold_start");
    }

    // The saved scorer answers the same, and prints a table without --json.
    let again = dir.path().join("again.csv");
    let (ok, stdout, err) = tenantml(&[
        "score-fraud",
        "--data",
        &s(&csv),
        "--model",
        &s(&model),
        "--out",
        &s(&again),
    ]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
    assert!(
        stdout.contains("ROC AUC") && stdout.contains("rules"),
        "{stdout}"
    );
}

#[test]
fn rules_alone_print_scores_for_string_ids_and_iso_times() {
    let dir = common::ScratchDir::new("cli-fraud-rules");
    let csv = dir.path().join("t.csv");
    std::fs::write(
        &csv,
        "timestamp,customer,amount,country,ip_country,payment_method,outcome\n\
         2026-01-08T10:00:00Z,alice,30,DE,DE,card_a,succeeded\n\
         2026-01-08T10:01:00+00:00,alice,1,DE,DE,card_b,failed\n\
         2026-01-08T10:02:00Z,alice,1,DE,DE,card_b,failed\n\
         2026-01-08T10:03:00Z,alice,1,DE,DE,card_b,failed\n\
         2026-01-08T10:04:00Z,alice,1,DE,DE,card_b,\n\
         2026-01-08T10:04:00Z,\"bob, jr\",2500,FR,FR,card_c,\n",
    )
    .unwrap();
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"{"name": "platform", "version": 2, "rules": [
            {"type": "velocity_count", "window": "10m", "max_count": 3, "weight": 0.6, "code": "card_testing"},
            {"type": "amount_over", "limit": 1000, "weight": 0.4}]}"#,
    )
    .unwrap();
    let (ok, stdout, err) = tenantml(&["score-fraud", "--data", &s(&csv), "--rules", &s(&rules)]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(lines[1].ends_with(",0,approve,fallback,0,"), "{}", lines[1]);
    // Counts include the scored transaction: alice's fourth in 10 minutes fires card_testing.
    assert!(lines[3].contains(",approve,fallback,0,"), "{}", lines[3]);
    for line in &lines[4..6] {
        assert!(
            line.ends_with(",0.6,review,fallback,0.6,card_testing"),
            "{line}"
        );
    }
    assert!(
        lines[6].starts_with("6,\"bob, jr\",2026-01-08T10:04:00Z,0.4,review"),
        "{}",
        lines[6]
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = common::ScratchDir::new("cli-fraud-bad");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        s(&p)
    };
    let no_amount = write("a.csv", "timestamp,customer\n1767900000,1\n");
    let nan = write("b.csv", "timestamp,customer,amount\n1767900000,1,NaN\n");
    let naive = write(
        "c.csv",
        "timestamp,customer,amount\n2026-01-08 10:00:00,1,5\n",
    );
    let outcome = write(
        "d.csv",
        "timestamp,customer,amount,outcome\n1767900000,1,5,maybe\n",
    );
    let label = write(
        "e.csv",
        "timestamp,customer,amount,is_fraud\n1767900000,1,5,2\n",
    );
    let bad_rules = write(
        "r.json",
        r#"{"rules": [{"type": "moon_phase", "weight": 0.5}]}"#,
    );
    let negative = write(
        "n.json",
        r#"{"rules": [{"type": "amount_over", "limit": -1, "weight": 0.5}]}"#,
    );
    let garbage = write("m.tml", "not a model");
    for (args, needle) in [
        (vec!["--data", &no_amount, "--rules", &negative], "limit"),
        (
            vec!["--data", &no_amount, "--rules", &bad_rules],
            "moon_phase",
        ),
        (
            vec!["--data", &no_amount, "--model", &garbage],
            "bad model file",
        ),
        (
            vec![
                "--data",
                &no_amount,
                "--cold-start",
                "--settings",
                "someday",
            ],
            "someday",
        ),
    ] {
        let mut all = vec!["score-fraud"];
        all.extend(args);
        let (ok, _, err) = tenantml(&all);
        assert!(!ok && err.contains(needle), "{all:?}: {err}");
    }
    let rules = write(
        "ok.json",
        r#"{"rules": [{"type": "amount_over", "limit": 10, "weight": 0.5}]}"#,
    );
    for (data, needle) in [
        (&no_amount, "needs columns"),
        (&nan, "amount must be a finite number"),
        (&naive, "timestamp"),
        (&outcome, "outcome 'maybe'"),
        (&label, "label '2'"),
    ] {
        let (ok, _, err) = tenantml(&["score-fraud", "--data", data, "--rules", &rules]);
        assert!(!ok && err.contains(needle), "{data}: {err}");
    }
    let (ok, _, err) = tenantml(&[
        "score-fraud",
        "--data",
        &nan,
        "--rules",
        &rules,
        "--labels-column",
        "fraud",
    ]);
    assert!(!ok && err.contains("no label column 'fraud'"), "{err}");
}
