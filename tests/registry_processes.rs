//! The model registry with several processes: concurrent writers lose and overwrite
//! nothing, and writers killed mid-save leave no visible partial version.
//!
//! Writers are this test binary run again on its ignored `child_writer` test, with
//! `TML_REGISTRY_CHILD_ROOT` telling it where to write.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tenantml::registry::{Registry, SaveMetadata};
use tenantml::trees::format::{decode, encode, ModelMetadata, Validate};

const ROOT_ENV: &str = "TML_REGISTRY_CHILD_ROOT";
const ID_ENV: &str = "TML_REGISTRY_CHILD_ID";
const SAVES_ENV: &str = "TML_REGISTRY_CHILD_SAVES";
const SIZE_ENV: &str = "TML_REGISTRY_CHILD_SIZE";

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    writer: u32,
    save: u32,
    filler: Vec<u8>,
}

impl Validate for Payload {
    fn validate(&self) -> tenantml::Result<()> {
        Ok(())
    }
}

fn payload(writer: u32, save: u32, size: usize) -> Vec<u8> {
    let filler = (0..size)
        .map(|i| (i as u32 ^ writer ^ save) as u8)
        .collect();
    let p = Payload {
        writer,
        save,
        filler,
    };
    encode("payload", &p, &ModelMetadata::default()).unwrap()
}

fn writer_meta(id: u32) -> SaveMetadata {
    SaveMetadata::from_json(&format!(r#"{{"config": {{"writer": {id}}}}}"#)).unwrap()
}

fn env_num(key: &str) -> u64 {
    std::env::var(key).unwrap().parse().unwrap()
}

/// The writer process: saves `SAVES` payloads of `SIZE` bytes. Does nothing when run
/// without the parent's environment (e.g. by `cargo test -- --ignored`).
#[test]
#[ignore]
fn child_writer() {
    let Ok(root) = std::env::var(ROOT_ENV) else {
        return;
    };
    let (id, saves, size) = (
        env_num(ID_ENV) as u32,
        env_num(SAVES_ENV) as u32,
        env_num(SIZE_ENV) as usize,
    );
    let reg = Registry::open(root).unwrap();
    for save in 0..saves {
        reg.save_bytes("shared", &payload(id, save, size), &writer_meta(id))
            .unwrap();
    }
}

fn spawn_writer(root: &Path, id: u32, saves: u32, size: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--ignored", "--nocapture"])
        .env(ROOT_ENV, root)
        .env(ID_ENV, id.to_string())
        .env(SAVES_ENV, saves.to_string())
        .env(SIZE_ENV, size.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn temp_root(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tml-registry-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every listed version verifies and decodes; returns (writer, save) of each.
fn check_all(reg: &Registry) -> Vec<(u32, u32)> {
    let mut seen = Vec::new();
    for entry in reg.list("shared").unwrap() {
        assert_eq!(entry.error, None, "version {} is damaged", entry.version);
        let (bytes, info) = reg.load_bytes("shared", Some(entry.version)).unwrap();
        assert_eq!(info.version, entry.version);
        let (p, _): (Payload, _) = decode("payload", &bytes).unwrap();
        assert_eq!(info.config["writer"], p.writer);
        seen.push((p.writer, p.save));
    }
    seen
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn concurrent_writer_processes_lose_and_overwrite_nothing() {
    let root = temp_root("concurrent");
    let (writers, saves) = (4u32, 12u32);
    let children: Vec<Child> = (0..writers)
        .map(|id| spawn_writer(&root, id, saves, 2000))
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let reg = Registry::open(&root).unwrap();
    let versions: Vec<u64> = reg
        .list("shared")
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    let n = u64::from(writers * saves);
    assert_eq!(versions, (1..=n).collect::<Vec<_>>());
    let mut seen = check_all(&reg);
    seen.sort_unstable();
    let expected: Vec<(u32, u32)> = (0..writers)
        .flat_map(|w| (0..saves).map(move |s| (w, s)))
        .collect();
    assert_eq!(seen, expected, "every save is stored exactly once");
    // Each writer's saves got increasing versions.
    let mut last = vec![None; writers as usize];
    for (w, s) in check_all(&reg) {
        assert!(last[w as usize] < Some(s));
        last[w as usize] = Some(s);
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn writers_killed_mid_save_leave_no_partial_version() {
    let root = temp_root("crash");
    let reg = Registry::open(&root).unwrap();
    reg.save_bytes("shared", &payload(99, 0, 100), &writer_meta(99))
        .unwrap();
    reg.promote("shared", 1).unwrap();
    let mut kills = 0;
    for (round, delay_ms) in [15u64, 40, 70, 110, 160, 230].into_iter().enumerate() {
        // Large files so that the kill often lands inside a write or fsync.
        let mut child = spawn_writer(&root, round as u32, 1000, 3 << 20);
        // Read while the writer writes: no listed version may be partial at any moment.
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(delay_ms) {
            check_all(&reg);
        }
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let seen = check_all(&reg);
        assert!(seen.contains(&(99, 0)));
        assert_eq!(reg.load_bytes("shared", None).unwrap().1.version, 1);
    }
    assert!(kills > 0, "no writer was still running when killed");
    let v = reg
        .save_bytes("shared", &payload(100, 0, 100), &writer_meta(100))
        .unwrap();
    assert_eq!(
        reg.load_bytes("shared", Some(v)).unwrap().0,
        payload(100, 0, 100)
    );
    let dir = root.join("shared");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    // Every model file has its sidecar now: the orphans were removed.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".tml") {
            assert!(dir.join(format!("{stem}.json")).exists(), "orphan {name}");
        }
    }
    check_all(&reg);
    std::fs::remove_dir_all(&root).unwrap();
}
