//! `tenantml breaker status|metrics` against a real shared store.
#![cfg(feature = "cli")]

use std::process::Command;

use tenantml::breaker::{BreakerConfig, BreakerStore, Outcome, SharedStoreOptions};

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantml-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

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

#[test]
fn status_lists_every_breaker_with_state_and_counters() {
    let dir = scratch("status");
    let store = BreakerStore::shared(&SharedStoreOptions::in_dir(&dir)).unwrap();
    let api = store
        .breaker("billing-api", BreakerConfig::default())
        .unwrap();
    for _ in 0..5 {
        let p = api.allow().unwrap();
        api.record(&p, Outcome::Failure, None);
    }
    let _ = api.allow();
    let ok = store.breaker("search", BreakerConfig::default()).unwrap();
    let p = ok.allow().unwrap();
    ok.record(&p, Outcome::Success, None);

    let (success, table, _) = tenantml(&["breaker", "status", "--dir", dir.to_str().unwrap()]);
    assert!(success);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{table}");
    let billing: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &billing[..9],
        [
            "billing-api",
            "open",
            billing[2],
            "0",
            "0",
            "5",
            "0",
            "1",
            "1"
        ],
        "{table}"
    );
    assert!(lines[1].contains("closed -> open"), "{table}");
    assert!(
        lines[2].starts_with("search") && lines[2].contains("closed"),
        "{table}"
    );

    let (success, json, _) = tenantml(&[
        "breaker",
        "status",
        "--dir",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert!(success);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed[0]["name"], "billing-api");
    assert_eq!(parsed[0]["state"], "open");
    assert_eq!(parsed[0]["totals"]["rejected"], 1);
    assert_eq!(parsed[1]["totals"]["successes"], 1);

    let (success, metrics, _) = tenantml(&["breaker", "metrics", "--dir", dir.to_str().unwrap()]);
    assert!(success);
    assert!(metrics.contains("tenantml_breaker_state{breaker=\"billing-api\",state=\"open\"} 1"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn status_of_a_missing_store_is_a_clear_error_and_creates_nothing() {
    let dir = scratch("missing");
    let (success, _, stderr) = tenantml(&["breaker", "status", "--dir", dir.to_str().unwrap()]);
    assert!(!success);
    assert!(stderr.contains("no breaker store at"), "{stderr}");
    assert!(!dir.exists());
}

#[test]
fn status_of_a_foreign_file_is_refused() {
    let dir = scratch("foreign");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("tenantml-breakers.shm"),
        b"not a store, somebody's notes",
    )
    .unwrap();
    let (success, _, stderr) = tenantml(&["breaker", "status", "--dir", dir.to_str().unwrap()]);
    assert!(!success);
    assert!(stderr.contains("not a tenantml breaker store"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.join("tenantml-breakers.shm")).unwrap(),
        b"not a store, somebody's notes"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
