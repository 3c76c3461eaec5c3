//! `tenantml registry ...`: save, list, promote, rollback, retain, and damage reporting.
#![cfg(feature = "cli")]

use std::process::Command;

use tenantml::scoring::churn::{ChurnParams, ChurnPredictor};

fn tenantml(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenantml"))
        .args(args)
        .env_remove("TENANTML_REGISTRY")
        .output()
        .expect("run tenantml");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn registry_commands_operate_a_directory() {
    let dir = std::env::temp_dir().join(format!("tml-cli-registry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("churn.tml");
    let bytes = ChurnPredictor::rules_only(&ChurnParams::default())
        .unwrap()
        .to_bytes()
        .unwrap();
    std::fs::write(&model, bytes).unwrap();
    let root = dir.join("registry");
    std::fs::create_dir_all(&root).unwrap();
    let (root, model) = (root.to_str().unwrap(), model.to_str().unwrap());
    let named = |cmd: &'static str| vec!["registry", cmd, "--root", root, "--name", "churn"];

    for expected in ["1", "2", "3"] {
        let mut args = named("save");
        args.extend([
            "--model",
            model,
            "--metadata",
            r#"{"config": {"by": "cli"}}"#,
        ]);
        let (ok, out, err) = tenantml(&args);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), expected);
    }
    for version in ["1", "2"] {
        let mut args = named("promote");
        args.extend(["--version", version]);
        let (ok, _, err) = tenantml(&args);
        assert!(ok, "{err}");
    }
    let (ok, out, _) = tenantml(&named("rollback"));
    assert!(ok);
    assert_eq!(out.trim(), "1");

    let mut list = named("list");
    list.push("--json");
    let (ok, out, err) = tenantml(&list);
    assert!(ok, "{err}");
    let versions: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 3);
    assert_eq!(versions[0]["current"], true);
    assert_eq!(versions[1]["info"]["config"]["by"], "cli");

    let (ok, out, _) = tenantml(&["registry", "list", "--root", root]);
    assert!(ok);
    assert_eq!(out.trim(), "churn");

    // A corrupted version is marked in the table; the others are fine.
    let file = std::path::Path::new(root).join("churn").join("3.tml");
    let mut b = std::fs::read(&file).unwrap();
    b[40] ^= 1;
    std::fs::write(&file, b).unwrap();
    let (ok, out, _) = tenantml(&named("list"));
    assert!(ok);
    assert_eq!(out.matches("DAMAGED").count(), 1, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.ends_with(" ok")).count(),
        2,
        "{out}"
    );

    let mut retain = named("retain");
    retain.extend(["--keep", "1"]);
    let (ok, out, _) = tenantml(&retain);
    assert!(ok);
    assert!(out.contains("removed 1 version(s) [2]"), "{out}");

    // Bad input: a path as name, a missing root, a foreign model file, keep 0.
    let (ok, _, err) = tenantml(&["registry", "rollback", "--root", root, "--name", "../x"]);
    assert!(!ok && err.contains("model name"), "{err}");
    let (ok, _, err) = tenantml(&["registry", "list", "--root", "/nonexistent/registry"]);
    assert!(!ok && err.contains("no registry directory"), "{err}");
    let mut save = named("save");
    save.extend(["--model", file.to_str().unwrap()]);
    let (ok, _, err) = tenantml(&save);
    assert!(!ok && err.contains("bad model file"), "{err}");
    let mut retain = named("retain");
    retain.extend(["--keep", "0"]);
    assert!(!tenantml(&retain).0);
    std::fs::remove_dir_all(&dir).unwrap();
}
