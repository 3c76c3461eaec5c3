//! The model registry in one process: round trips for several model kinds, version
//! allocation, promote/rollback/retention, and every kind of damage to its files.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use tenantml::drift::{FeatureSchema, ModelReference};
use tenantml::registry::{schema_hash, Registry, SaveMetadata};
use tenantml::scoring::churn::{ChurnParams, ChurnPredictor};
use tenantml::trees::format::{encode, ModelMetadata, Validate};
use tenantml::trees::model::{Model, ModelParams};
use tenantml::Error;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tml-registry-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tree_model(rounds: usize) -> Model {
    let x = Array2::from_shape_fn((120, 2), |(i, j)| ((i * 7 + j * 13) % 40) as f64);
    let y: Vec<f64> = x.rows().into_iter().map(|r| r[0] - 0.5 * r[1]).collect();
    let params = ModelParams::from_json(&format!(
        r#"{{"gbdt": {{"rounds": {rounds}}}, "feature_names": ["load", "hour"]}}"#
    ))
    .unwrap();
    Model::fit(x.view(), &y, None, None, &params).unwrap()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Blob(Vec<u8>);

impl Validate for Blob {
    fn validate(&self) -> tenantml::Result<()> {
        Ok(())
    }
}

/// A model file of a kind of our own, `n` payload bytes, with a drift reference.
fn blob_file(n: usize) -> Vec<u8> {
    let data = Array2::from_shape_fn((100, 2), |(i, j)| (i * (j + 1)) as f64);
    let schema = FeatureSchema::numeric(vec!["a".into(), "b".into()]).unwrap();
    let reference = ModelReference::build(data.view(), &schema, &[]).unwrap();
    let mut meta = ModelMetadata {
        feature_names: vec!["a".into(), "b".into()],
        ..Default::default()
    };
    reference.store_in(&mut meta).unwrap();
    meta.training_metrics.insert("rmse".into(), 1.5);
    encode("blob", &Blob((0..n).map(|i| i as u8).collect()), &meta).unwrap()
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn round_trips_several_model_kinds() {
    let dir = TempDir::new("kinds");
    let reg = Registry::open(&dir.0).unwrap();
    let model = tree_model(4);
    let v = reg.save("usage", &model, &SaveMetadata::default()).unwrap();
    let (back, info): (Model, _) = reg.load("usage", Some(v)).unwrap();
    assert_eq!(back.to_bytes().unwrap(), model.to_bytes().unwrap());
    assert_eq!(info.model_type, "tree-model");
    assert_eq!(info.feature_count, 2);
    assert_eq!(
        info.feature_schema_hash,
        schema_hash(&["load".into(), "hour".into()])
    );
    assert_eq!(info.library_version, tenantml::VERSION);

    let churn = ChurnPredictor::rules_only(&ChurnParams::default()).unwrap();
    let meta = SaveMetadata::from_json(
        r#"{"config": {"threshold": 14}, "training_metrics": {"auc": 0.5}}"#,
    )
    .unwrap();
    let v = reg.save("churn", &churn, &meta).unwrap();
    let (back, info): (ChurnPredictor, _) = reg.load("churn", None).unwrap();
    assert_eq!(back.to_bytes().unwrap(), churn.to_bytes().unwrap());
    assert_eq!(
        (info.version, info.model_type.as_str()),
        (v, "churn-predictor")
    );
    assert_eq!(info.config["threshold"], 14);
    assert_eq!(info.training_metrics["auc"], 0.5);

    // Loading as the wrong type is the model file's own kind check.
    assert!(matches!(
        reg.load::<Model>("churn", None),
        Err(Error::BadModelFile(_))
    ));

    let blob = blob_file(1000);
    let v = reg
        .save_bytes("blob", &blob, &SaveMetadata::default())
        .unwrap();
    let (bytes, info) = reg.load_bytes("blob", Some(v)).unwrap();
    assert_eq!(bytes, blob);
    assert_eq!(info.training_metrics["rmse"], 1.5);
    let summary = info.reference_statistics.unwrap();
    assert_eq!((summary.features, summary.predictions), (2, false));
    assert_eq!(reg.names().unwrap(), ["blob", "churn", "usage"]);
}

#[test]
fn versions_are_monotonic_and_never_overwritten() {
    let dir = TempDir::new("monotonic");
    let reg = Registry::open(&dir.0).unwrap();
    let files: Vec<Vec<u8>> = (1..=4).map(|n| blob_file(n * 10)).collect();
    for (i, f) in files.iter().enumerate() {
        assert_eq!(
            reg.save_bytes("m", f, &SaveMetadata::default()).unwrap(),
            i as u64 + 1
        );
    }
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&reg.load_bytes("m", Some(i as u64 + 1)).unwrap().0, f);
    }
    // Nothing promoted: the newest answers.
    assert_eq!(reg.load_bytes("m", None).unwrap().1.version, 4);
    assert_eq!(reg.current("m").unwrap(), None);
    let listed: Vec<u64> = reg.list("m").unwrap().iter().map(|e| e.version).collect();
    assert_eq!(listed, [1, 2, 3, 4]);
    // Retention never lowers the next number: the newest version always stays.
    reg.retain("m", 1).unwrap();
    assert_eq!(
        reg.save_bytes("m", &files[0], &SaveMetadata::default())
            .unwrap(),
        5
    );
}

#[test]
fn promote_rollback_and_retention() {
    let dir = TempDir::new("promote");
    let reg = Registry::open(&dir.0).unwrap();
    for n in 1..=5 {
        reg.save_bytes("m", &blob_file(n), &SaveMetadata::default())
            .unwrap();
    }
    reg.promote("m", 2).unwrap();
    assert_eq!(reg.load_bytes("m", None).unwrap().1.version, 2);
    reg.promote("m", 4).unwrap();
    reg.promote("m", 4).unwrap(); // no-op: not pushed twice
    reg.promote("m", 3).unwrap();
    assert_eq!(reg.current("m").unwrap(), Some(3));
    assert_eq!(reg.rollback("m").unwrap(), 4);
    assert_eq!(reg.rollback("m").unwrap(), 2);
    assert!(matches!(reg.rollback("m"), Err(Error::InvalidArgument(_))));
    assert_eq!(reg.load_bytes("m", None).unwrap().1.version, 2);
    // The version loaded is the one the metrics page reports in use.
    let page = tenantml::telemetry::metrics_page(None).unwrap();
    assert!(
        page.contains("tenantml_model_version_in_use{model=\"m\"} 2"),
        "{page}"
    );
    assert!(matches!(
        reg.promote("m", 9),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        reg.promote("m", 0),
        Err(Error::InvalidArgument(_))
    ));

    // Keep 2: versions 4 and 5 stay, and 2 because it is live.
    assert_eq!(reg.retain("m", 2).unwrap(), [1, 3]);
    let entries = reg.list("m").unwrap();
    let listed: Vec<(u64, bool)> = entries.iter().map(|e| (e.version, e.current)).collect();
    assert_eq!(listed, [(2, true), (4, false), (5, false)]);
    assert!(entries.iter().all(|e| e.error.is_none()));
    assert!(matches!(reg.retain("m", 0), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        reg.load_bytes("m", Some(1)),
        Err(Error::InvalidArgument(_))
    ));

    // History entries that retention deleted are not rollback targets.
    reg.promote("m", 5).unwrap();
    reg.promote("m", 4).unwrap();
    reg.retain("m", 1).unwrap(); // deletes 2 (no longer live); keeps 5 and live 4
    assert_eq!(reg.rollback("m").unwrap(), 5);
    assert!(reg.rollback("m").is_err());
}

#[test]
fn bad_names_and_bad_bytes_are_refused() {
    let dir = TempDir::new("bad-input");
    let reg = Registry::open(&dir.0).unwrap();
    let file = blob_file(10);
    for name in [
        "",
        "..",
        ".hidden",
        "a/b",
        "a\\b",
        "tab\t",
        &"x".repeat(129),
        "é",
    ] {
        assert!(
            matches!(
                reg.save_bytes(name, &file, &SaveMetadata::default()),
                Err(Error::InvalidArgument(_))
            ),
            "{name:?}"
        );
        assert!(reg.load_bytes(name, None).is_err());
    }
    for bytes in [&b""[..], b"not a model", &file[..file.len() - 1]] {
        assert!(matches!(
            reg.save_bytes("m", bytes, &SaveMetadata::default()),
            Err(Error::BadModelFile(_))
        ));
    }
    let nan = SaveMetadata {
        training_metrics: [("auc".to_string(), f64::NAN)].into(),
        ..Default::default()
    };
    assert!(matches!(
        reg.save_bytes("m", &file, &nan),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(SaveMetadata::from_json("{"), Err(Error::Parse(_))));
    // Nothing was stored by the refused saves.
    assert!(reg.list("m").unwrap().is_empty());
    assert!(matches!(
        reg.load_bytes("m", None),
        Err(Error::InvalidArgument(_))
    ));
    // A root that is a file.
    let file_root = dir.0.join("plain-file");
    std::fs::write(&file_root, b"x").unwrap();
    assert!(Registry::open(&file_root).is_err());
}

#[test]
fn damaged_versions_fail_clearly_and_leave_others_usable() {
    let dir = TempDir::new("damage");
    let reg = Registry::open(&dir.0).unwrap();
    for n in 1..=5 {
        reg.save_bytes("m", &blob_file(200 + n), &SaveMetadata::default())
            .unwrap();
    }
    let m = dir.0.join("m");
    flip_byte(&m.join("2.tml"), 100); // corrupted
    let len = std::fs::metadata(m.join("3.tml")).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(m.join("3.tml"))
        .unwrap()
        .set_len(len / 2)
        .unwrap(); // truncated
    std::fs::write(m.join("4.tml"), b"#!/bin/sh\necho foreign\n").unwrap(); // foreign
    std::fs::write(m.join("5.json"), b"{\"name\": \"m\", \"vers").unwrap(); // sidecar

    for v in [2, 3, 4] {
        let err = reg.load_bytes("m", Some(v)).unwrap_err();
        assert!(matches!(err, Error::BadModelFile(_)), "{v}: {err}");
        assert!(err.to_string().contains(&format!("{v}.tml")), "{err}");
    }
    assert!(matches!(
        reg.load_bytes("m", Some(5)),
        Err(Error::RegistryCorrupt(_))
    ));
    assert!(reg.promote("m", 2).is_err());
    // Version 1 is intact and still loads and promotes.
    reg.promote("m", 1).unwrap();
    assert_eq!(reg.load_bytes("m", None).unwrap().0, blob_file(201));

    let entries = reg.list("m").unwrap();
    assert_eq!(entries.len(), 5);
    let broken: Vec<u64> = entries
        .iter()
        .filter(|e| e.error.is_some())
        .map(|e| e.version)
        .collect();
    assert_eq!(broken, [2, 3, 4, 5]);
    assert!(entries[4].info.is_none());

    // A sidecar copied from another version is caught.
    std::fs::copy(m.join("1.json"), m.join("5.json")).unwrap();
    let err = reg.load_bytes("m", Some(5)).unwrap_err();
    assert!(matches!(err, Error::RegistryCorrupt(_)), "{err}");
    // A sidecar edited in a field that still parses is caught by its own checksum.
    let original = std::fs::read(m.join("1.json")).unwrap();
    let mut file: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let created = file["info"]["created_at"].as_str().unwrap().to_string();
    let edited = created.replacen(
        &created[..1],
        if &created[..1] == "2" { "3" } else { "2" },
        1,
    );
    file["info"]["created_at"] = edited.into();
    std::fs::write(m.join("1.json"), serde_json::to_vec(&file).unwrap()).unwrap();
    let err = reg.load_bytes("m", Some(1)).unwrap_err();
    assert!(
        matches!(&err, Error::RegistryCorrupt(m) if m.contains("checksum")),
        "{err}"
    );
    // One whose recorded model checksum (with its own checksum redone) disagrees with an
    // intact model file: the model file is the one reported.
    let mut info: tenantml::registry::VersionInfo =
        serde_json::from_value(file["info"].clone()).unwrap();
    info.created_at = created;
    info.checksum = "crc32c:00000000".into();
    let info_checksum = format!(
        "crc32c:{:08x}",
        tenantml::trees::format::crc32c(&serde_json::to_vec(&info).unwrap())
    );
    let file = serde_json::json!({"info": info, "info_checksum": info_checksum});
    std::fs::write(m.join("1.json"), serde_json::to_vec(&file).unwrap()).unwrap();
    assert!(matches!(
        reg.load_bytes("m", Some(1)),
        Err(Error::BadModelFile(_))
    ));
}

#[test]
fn a_damaged_pointer_is_a_clear_error_until_a_promotion_replaces_it() {
    let dir = TempDir::new("pointer");
    let reg = Registry::open(&dir.0).unwrap();
    for n in 1..=2 {
        reg.save_bytes("m", &blob_file(n), &SaveMetadata::default())
            .unwrap();
    }
    reg.promote("m", 1).unwrap();
    let pointer = dir.0.join("m").join("CURRENT");
    for damage in [
        &b"{\"name\": \"m\", \"curr"[..],
        b"",
        b"{\"name\":\"other\",\"current\":1,\"history\":[]}",
    ] {
        std::fs::write(&pointer, damage).unwrap();
        assert!(matches!(
            reg.load_bytes("m", None),
            Err(Error::RegistryCorrupt(_))
        ));
        assert!(matches!(reg.rollback("m"), Err(Error::RegistryCorrupt(_))));
        assert!(reg.list("m").is_err());
        // Explicit versions do not need the pointer.
        assert!(reg.load_bytes("m", Some(2)).is_ok());
    }
    reg.promote("m", 2).unwrap();
    assert_eq!(reg.load_bytes("m", None).unwrap().1.version, 2);
}

#[test]
fn schema_expectations_are_checked_on_load() {
    let dir = TempDir::new("schema");
    let reg = Registry::open(&dir.0).unwrap();
    reg.save("m", &tree_model(2), &SaveMetadata::default())
        .unwrap();
    let good = schema_hash(&["load".into(), "hour".into()]);
    assert!(reg.load_bytes_expecting("m", None, &good).is_ok());
    let swapped = schema_hash(&["hour".into(), "load".into()]);
    let err = reg.load_bytes_expecting("m", None, &swapped).unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch(_)), "{err}");
    assert_eq!(err.code(), 103);
}

#[test]
fn leftovers_of_an_interrupted_save_are_invisible_and_cleaned() {
    let dir = TempDir::new("leftovers");
    let reg = Registry::open(&dir.0).unwrap();
    reg.save_bytes("m", &blob_file(5), &SaveMetadata::default())
        .unwrap();
    let m = dir.0.join("m");
    // What a writer killed between the model file and its sidecar leaves behind.
    std::fs::write(m.join("2.tml"), &blob_file(6)[..40]).unwrap();
    std::fs::write(m.join(".tmp-999999-0"), b"partial").unwrap();
    assert_eq!(reg.list("m").unwrap().len(), 1);
    assert_eq!(reg.load_bytes("m", None).unwrap().1.version, 1);
    let v = reg
        .save_bytes("m", &blob_file(7), &SaveMetadata::default())
        .unwrap();
    assert_eq!(v, 2);
    assert_eq!(reg.load_bytes("m", Some(2)).unwrap().0, blob_file(7));
    assert!(!m.join(".tmp-999999-0").exists());
}
