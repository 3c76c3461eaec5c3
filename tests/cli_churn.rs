//! `tenantml churn` over files: synthetic tenants as JSON (cold start, fit, saved model,
//! rules only), model vs inactivity rule with `--evaluate`, retention triggers with a
//! cool-down state file across two runs, an events CSV, and bad input.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::Command;

use tenantml::scoring::churn::{generate, GeneratorSettings, DAY};

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

const SETTINGS: &str = r#"{"tenants": 400, "days": 200}"#;
const QUICK: &str =
    r#"{"model": {"task": "binary", "calibration": "platt", "gbdt": {"rounds": 60}}}"#;

/// Synthetic tenants (other seed than cold start trains on) written as JSON, with the
/// settings' label spec; returns (tenants file, spec file, an as-of with a full horizon).
fn world(dir: &Path) -> (String, String, i64) {
    let settings: GeneratorSettings = serde_json::from_str(SETTINGS).unwrap();
    let data = generate(&settings, 1234).unwrap();
    let tenants = dir.join("tenants.json");
    std::fs::write(&tenants, serde_json::to_string(&data.tenants).unwrap()).unwrap();
    let spec = dir.join("spec.json");
    std::fs::write(&spec, serde_json::to_string(&data.spec).unwrap()).unwrap();
    (s(&tenants), s(&spec), settings.start + 150 * DAY)
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn cold_start_scores_every_tenant_and_beats_the_rule() {
    let dir = common::ScratchDir::new("cli-churn-cold");
    let (tenants, _, as_of) = world(dir.path());
    let out = dir.path().join("scores.json");
    let (ok, stdout, err) = tenantml(&[
        "churn",
        "--data",
        &tenants,
        "--as-of",
        &as_of.to_string(),
        "--cold-start",
        "--settings",
        SETTINGS,
        "--seed",
        "7",
        "--params",
        QUICK,
        "--out",
        &s(&out),
        "--evaluate",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v = json(&stdout);
    // Tenants that had not started or had already churned at --as-of are counted, not scored.
    let scored = v["tenants"].as_u64().unwrap() as usize;
    let skipped = &v["skipped"];
    assert_eq!(
        scored as u64
            + skipped["not_started"].as_u64().unwrap()
            + skipped["already_churned"].as_u64().unwrap(),
        400
    );
    assert!(scored > 250, "{skipped}");
    assert_eq!(v["predictor"]["regime"], "cold_start");
    let scores = v["scores"].as_array().unwrap();
    assert_eq!(scores.len(), scored);
    // Up to 3 reasons: only features that push the probability up are reasons.
    let n_reasons = |s: &serde_json::Value| s["reasons"].as_array().unwrap().len();
    assert!(scores
        .iter()
        .all(|s| s["regime"] == "cold_start" && n_reasons(s) <= 3));
    // Reasons clear a minimum weight, so low-risk tenants may have none; risky ones have some.
    assert!(scores.iter().any(|s| n_reasons(s) == 3));
    let risky: Vec<_> = (scores.iter())
        .filter(|s| s["probability"].as_f64().unwrap() >= 0.3)
        .collect();
    assert!(!risky.is_empty() && risky.iter().all(|s| n_reasons(s) >= 1));
    let written: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written.len(), scored);
    let e = &v["evaluation"];
    assert!(e["positives"].as_u64().unwrap() > 5, "{e}");
    assert_eq!(e["in_sample"], false);
    for m in ["model", "rule"] {
        for k in ["roc_auc", "pr_auc", "brier"] {
            let x = e[m][k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&x), "{m} {k} {x}");
        }
    }
    let (model, rule) = (
        e["model"]["roc_auc"].as_f64().unwrap(),
        e["rule"]["roc_auc"].as_f64().unwrap(),
    );
    assert!(
        model > 0.6 && model > rule - 0.02,
        "model {model} rule {rule}"
    );
}

#[test]
fn fit_save_then_score_with_triggers_and_a_state_file() {
    let dir = common::ScratchDir::new("cli-churn-fit");
    let (tenants, spec, as_of) = world(dir.path());
    let model = dir.path().join("churn.tml");
    let (ok, stdout, err) = tenantml(&[
        "churn",
        "--data",
        &tenants,
        "--as-of",
        "2025-06-05",
        "--fit",
        "--labels",
        &spec,
        "--params",
        QUICK,
        "--save",
        &s(&model),
        "--evaluate",
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("tenants as of 2025-06-05T00:00:00Z: churn v1 (model)"),
        "{stdout}"
    );
    assert!(stdout.contains("already churned at that time"), "{stdout}");
    assert!(stdout.contains("in sample"), "{stdout}");
    assert!(
        stdout.contains("ROC AUC") && stdout.contains("inactivity rule (14 d)"),
        "{stdout}"
    );
    assert!(model.exists());

    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"rules": [{"action": "csm_call", "min_probability": 0.3, "cooldown_days": 30}]}"#,
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let run = |now: i64| {
        let (ok, stdout, err) = tenantml(&[
            "churn",
            "--data",
            &tenants,
            "--as-of",
            &as_of.to_string(),
            "--model",
            &s(&model),
            "--reasons",
            "1",
            "--triggers",
            &s(&policy),
            "--state",
            &s(&state),
            "--now",
            &now.to_string(),
            "--json",
        ]);
        assert!(ok, "{err}");
        json(&stdout)
    };
    let first = run(as_of);
    assert_eq!(first["predictor"]["regime"], "model");
    let fired = first["triggers"]["decisions"].as_array().unwrap().len();
    assert!(fired > 0, "{}", first["triggers"]);
    assert_eq!(first["triggers"]["suppressed"].as_array().unwrap().len(), 0);
    let stored = std::fs::read_to_string(&state).unwrap();
    assert!(stored.contains("csm_call"), "{stored}");
    assert!(first["scores"][0]["reasons"].as_array().unwrap().len() <= 1);

    // A day later the same tenants are held back by the 30-day cool-down.
    let second = run(as_of + DAY);
    assert_eq!(second["triggers"]["decisions"].as_array().unwrap().len(), 0);
    assert_eq!(
        second["triggers"]["suppressed"].as_array().unwrap().len(),
        fired
    );
}

#[test]
fn rules_only_from_an_events_csv() {
    let dir = common::ScratchDir::new("cli-churn-csv");
    let csv = dir.path().join("events.csv");
    std::fs::write(
        &csv,
        "tenant,at,amount\n\
         busy,2025-05-30T10:00:00Z,4\n\
         busy,2025-05-31T10:00:00Z,\n\
         gone,2025-04-01T09:00:00+02:00,2.5\n\
         gone,1743500000,1\n",
    )
    .unwrap();
    let out = dir.path().join("scores.csv");
    let (ok, stdout, err) = tenantml(&[
        "churn",
        "--data",
        &s(&csv),
        "--as-of",
        "2025-06-01",
        "--rules-only",
        "--out",
        &s(&out),
        "--triggers",
        "default",
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("2 tenants as of 2025-06-01T00:00:00Z: inactivity-rule v1 (fallback)"),
        "{stdout}"
    );
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        lines[0],
        "tenant_id,probability,regime,inactive_flag,reasons"
    );
    assert!(lines[1].starts_with("busy,") && lines[1].contains(",fallback,false,"));
    assert!(lines[2].starts_with("gone,") && lines[2].contains(",fallback,true,"));
    assert!(stdout.contains("triggers: "), "{stdout}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = common::ScratchDir::new("cli-churn-bad");
    let (tenants, _, _) = world(dir.path());
    let bad_json = dir.path().join("bad.json");
    std::fs::write(&bad_json, r#"[{"id": "x", "evnts": []}]"#).unwrap();
    let unlabelled = dir.path().join("unlabelled.json");
    std::fs::write(&unlabelled, r#"[{"id": "x", "events": []}]"#).unwrap();
    let missing = dir.path().join("missing.tml");
    for (args, needle) in [
        (vec!["--data", &tenants, "--as-of", "2025-06-01"], "--model"),
        (
            vec![
                "--data",
                &tenants,
                "--as-of",
                "2025-06-01",
                "--rules-only",
                "--cold-start",
            ],
            "cannot be used with",
        ),
        (
            vec!["--data", &tenants, "--as-of", "June", "--rules-only"],
            "--as-of",
        ),
        (
            vec![
                "--data",
                &s(&bad_json),
                "--as-of",
                "2025-06-01",
                "--rules-only",
            ],
            "evnts",
        ),
        (
            vec![
                "--data",
                &s(&unlabelled),
                "--as-of",
                "2025-06-01",
                "--rules-only",
                "--evaluate",
            ],
            "churned_at",
        ),
        (
            vec![
                "--data",
                &tenants,
                "--as-of",
                "2025-06-01",
                "--model",
                &s(&missing),
            ],
            "missing.tml",
        ),
        (
            vec![
                "--data",
                &tenants,
                "--as-of",
                "2025-06-01",
                "--rules-only",
                "--params",
                r#"{"horizon": 3}"#,
            ],
            "horizon",
        ),
        (
            vec!["--data", &tenants, "--as-of", "2025-06-01", "--fit"],
            "--labels",
        ),
    ] {
        let mut full = vec!["churn"];
        full.extend(args.iter().copied());
        let (ok, _, err) = tenantml(&full);
        assert!(!ok, "{full:?} succeeded");
        assert!(err.contains(needle), "{full:?}: {err}");
    }
}
