//! The shared (memory-mapped file) breaker store: bad inputs, foreign and damaged files,
//! symlinks, permissions, reopening, config mismatches, a full table, and telemetry.

mod common;

use std::fs;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{child_role, next_report, report, spawn_child, ScratchDir, CHILD_DIR};
use tenantml::breaker::{
    BreakerConfig, BreakerStore, FakeClock, OnConfigMismatch, Outcome, SharedStoreOptions,
    SlidingWindow, State, LAYOUT_VERSION, MAX_CAPACITY,
};
use tenantml::Error;

const FILE: &str = "tenantml-breakers.shm";
const MAGIC: &[u8; 8] = b"TMLBRKRS";

fn opts(dir: &Path) -> SharedStoreOptions {
    SharedStoreOptions {
        capacity: 4,
        ..SharedStoreOptions::in_dir(dir)
    }
}

fn open(dir: &Path) -> tenantml::Result<BreakerStore> {
    BreakerStore::shared(&opts(dir))
}

fn corrupt(result: tenantml::Result<BreakerStore>) -> String {
    match result {
        Err(e @ Error::StoreCorrupt(_)) => {
            assert_eq!(e.code(), 203);
            e.to_string()
        }
        Err(other) => panic!("expected StoreCorrupt, got {other:?}"),
        Ok(store) => panic!("expected StoreCorrupt, opened {store:?}"),
    }
}

fn invalid(result: tenantml::Result<BreakerStore>) -> String {
    match result {
        Err(Error::InvalidArgument(msg)) => msg,
        Err(other) => panic!("expected InvalidArgument, got {other:?}"),
        Ok(store) => panic!("expected InvalidArgument, opened {store:?}"),
    }
}

fn trip(breaker: &tenantml::breaker::Breaker) {
    for _ in 0..breaker.config().consecutive_failure_threshold {
        let p = breaker.allow().unwrap();
        breaker.record(&p, Outcome::Failure, None);
    }
    assert_eq!(breaker.state(), State::Open);
}

/// Creates a store with one used breaker, closes it, and returns the file's bytes.
fn make_store(dir: &Path) -> Vec<u8> {
    let store = open(dir).unwrap();
    let b = store.breaker("api", BreakerConfig::default()).unwrap();
    trip(&b);
    drop((b, store));
    fs::read(dir.join(FILE)).unwrap()
}

fn write_word(path: &Path, word: usize, value: u64) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(&value.to_le_bytes(), (word * 8) as u64)
        .unwrap();
}

/// The header checksum: FNV-1a over the little-endian bytes of the first five words.
fn fnv1a(words: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in words.iter().flat_map(|w| w.to_le_bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn read_word(path: &Path, word: usize) -> u64 {
    let bytes = fs::read(path).unwrap();
    u64::from_le_bytes(bytes[word * 8..word * 8 + 8].try_into().unwrap())
}

// ---- foreign and damaged files --------------------------------------------------------------

#[test]
fn a_foreign_file_is_refused_and_left_alone() {
    let dir = ScratchDir::new("foreign");
    let path = dir.path().join(FILE);
    let foreign =
        b"SQLite format 3\0 this belongs to somebody else, and is long enough".repeat(100);
    fs::write(&path, &foreign).unwrap();
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("not a tenantml breaker store"), "{msg}");
    assert_eq!(fs::read(&path).unwrap(), foreign, "never overwritten");

    // Shorter than a magic number.
    fs::write(&path, b"hi\n").unwrap();
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("not a tenantml breaker store"), "{msg}");
    assert_eq!(fs::read(&path).unwrap(), b"hi\n");
}

#[test]
fn a_truncated_file_with_our_magic_is_refused() {
    let dir = ScratchDir::new("truncated");
    let path = dir.path().join(FILE);
    // Magic, then too little for a header.
    let mut short = MAGIC.to_vec();
    short.extend_from_slice(&[0u8; 10]);
    fs::write(&path, &short).unwrap();
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("too short"), "{msg}");
    assert_eq!(fs::read(&path).unwrap(), short);

    // A real store cut off in its slots.
    fs::remove_file(&path).unwrap();
    let full = make_store(dir.path());
    let cut = &full[..4096 + 100];
    fs::write(&path, cut).unwrap();
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("needs"), "{msg}");
    assert_eq!(fs::read(&path).unwrap(), cut);

    // Only the header left.
    fs::write(&path, &full[..4096]).unwrap();
    corrupt(open(dir.path()));
}

#[test]
fn a_corrupted_header_is_refused() {
    let dir = ScratchDir::new("checksum");
    let path = dir.path().join(FILE);
    let original = make_store(dir.path());

    // The capacity word changed, the checksum no longer adds up.
    write_word(&path, 2, 3);
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("checksum"), "{msg}");

    // The checksum itself damaged.
    fs::write(&path, &original).unwrap();
    write_word(&path, 5, read_word(&path, 5) ^ 1);
    assert!(corrupt(open(dir.path())).contains("checksum"));

    // The slot size half of the version word.
    fs::write(&path, &original).unwrap();
    write_word(&path, 1, read_word(&path, 1) + 8);
    corrupt(open(dir.path()));

    // Restored, it opens with its breaker intact.
    fs::write(&path, &original).unwrap();
    let store = open(dir.path()).unwrap();
    assert_eq!(
        store
            .breaker("api", BreakerConfig::default())
            .unwrap()
            .state(),
        State::Open
    );
}

#[test]
fn a_file_from_another_boot_or_layout_is_reinitialised() {
    let dir = ScratchDir::new("reinit");
    let path = dir.path().join(FILE);
    let original = make_store(dir.path());
    assert_eq!(read_word(&path, 1) >> 32, u64::from(LAYOUT_VERSION));
    let header: Vec<u64> = (0..5).map(|w| read_word(&path, w)).collect();
    assert_eq!(
        fnv1a(&header),
        read_word(&path, 5),
        "the test knows the checksum"
    );

    // A damaged boot id (the checksum no longer adds up) is refused, not taken for
    // another boot's.
    write_word(&path, 3, read_word(&path, 3) ^ 0xdead_beef);
    assert!(corrupt(open(dir.path())).contains("checksum"));
    assert_eq!(
        read_word(&path, 3),
        u64::from_le_bytes(original[24..32].try_into().unwrap()) ^ 0xdead_beef
    );

    // A consistent header from another boot: its monotonic timestamps mean nothing now.
    let header: Vec<u64> = (0..5).map(|w| read_word(&path, w)).collect();
    write_word(&path, 5, fnv1a(&header));
    let store = open(dir.path()).unwrap();
    assert!(store.snapshots().unwrap().is_empty(), "started afresh");
    let b = store.breaker("api", BreakerConfig::default()).unwrap();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().totals.failures, 0);
    drop((b, store));

    // Another layout version.
    fs::write(&path, &original).unwrap();
    write_word(&path, 1, read_word(&path, 1) + (1 << 32));
    let store = open(dir.path()).unwrap();
    assert!(store.snapshots().unwrap().is_empty());
    assert_eq!(read_word(&path, 1) >> 32, u64::from(LAYOUT_VERSION));
}

#[test]
fn an_empty_file_is_initialised() {
    let dir = ScratchDir::new("empty");
    let path = dir.path().join(FILE);
    fs::write(&path, b"").unwrap();
    let store = open(dir.path()).unwrap();
    store.breaker("api", BreakerConfig::default()).unwrap();
    assert!(fs::metadata(&path).unwrap().len() > 4096);
    assert_eq!(&fs::read(&path).unwrap()[..8], MAGIC);
}

// ---- what is at the path --------------------------------------------------------------------

#[test]
fn a_symlink_is_refused_not_followed() {
    let dir = ScratchDir::new("symlink");
    let elsewhere = ScratchDir::new("symlink-target");
    let target = elsewhere.path().join(FILE);
    let original = make_store(elsewhere.path());
    let link = dir.path().join(FILE);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("symbolic link"), "{msg}");
    assert_eq!(
        fs::read(&target).unwrap(),
        original,
        "the target is untouched"
    );

    // A dangling link: nothing is created at its target either.
    fs::remove_file(&link).unwrap();
    let nowhere = elsewhere.path().join("created-through-the-link");
    std::os::unix::fs::symlink(&nowhere, &link).unwrap();
    assert!(corrupt(open(dir.path())).contains("symbolic link"));
    assert!(!nowhere.exists());
}

#[test]
fn a_directory_where_the_file_should_be_is_refused() {
    let dir = ScratchDir::new("isdir");
    let path = dir.path().join(FILE);
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), b"x").unwrap();
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("not a regular file"), "{msg}");
    assert!(path.is_dir() && path.join("keep").exists());
}

#[test]
fn a_fifo_where_the_file_should_be_is_refused() {
    let dir = ScratchDir::new("fifo");
    let path = dir.path().join(FILE);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let msg = corrupt(open(dir.path()));
    assert!(msg.contains("not a regular file"), "{msg}");
}

#[test]
fn a_missing_directory_is_created() {
    let dir = ScratchDir::new("mkdir");
    let nested = dir.path().join("a/b/c");
    let store = open(&nested).unwrap();
    store.breaker("api", BreakerConfig::default()).unwrap();
    assert!(nested.join(FILE).is_file());
    assert_eq!(store.path(), Some(nested.join(FILE).as_path()));
}

// ---- permissions ------------------------------------------------------------------------------

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

extern "C" {
    /// `mode_t umask(mode_t)`: libc is linked into every Rust binary on Linux.
    fn umask(mask: u32) -> u32;
}

/// Runs with umask 077 in its own process (the umask is process-wide, so the parent's
/// other tests never see it) and creates a store.
#[test]
fn child_creates_a_store_under_umask_077() {
    if child_role().as_deref() != Some("umask") {
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var(CHILD_DIR).unwrap());
    // SAFETY: umask only swaps the process's file creation mask.
    let previous = unsafe { umask(0o077) };
    // Proof that the mask bites: a plain file gets no group or other bits.
    fs::write(dir.join("plain"), b"x").unwrap();
    let store = open(&dir).unwrap();
    store.breaker("api", BreakerConfig::default()).unwrap();
    // SAFETY: as above, restoring the original mask.
    unsafe { umask(previous) };
    report(&format!(
        "plain={:o} store={:o}",
        mode_of(&dir.join("plain")),
        mode_of(&dir.join(FILE))
    ));
}

#[test]
fn a_new_file_gets_mode_0660_whatever_the_umask() {
    let dir = ScratchDir::new("umask");
    let mut child = spawn_child(
        "child_creates_a_store_under_umask_077",
        "umask",
        dir.path(),
        "",
    );
    drop(child.stdin.take());
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let line = next_report(&mut out).expect("the child reports");
    assert!(child.wait().unwrap().success());
    assert_eq!(line, "plain=600 store=660");

    // In this process too (umask 022 or whatever it is).
    let here = ScratchDir::new("umask-here");
    open(here.path()).unwrap();
    assert_eq!(mode_of(&here.path().join(FILE)), 0o660);
}

#[test]
fn mode_option_and_existing_files() {
    let dir = ScratchDir::new("mode");
    let o = SharedStoreOptions {
        mode: 0o600,
        ..opts(dir.path())
    };
    BreakerStore::shared(&o).unwrap();
    assert_eq!(mode_of(&dir.path().join(FILE)), 0o600);
    // An existing file keeps its mode.
    BreakerStore::shared(&opts(dir.path())).unwrap();
    assert_eq!(mode_of(&dir.path().join(FILE)), 0o600);
    let msg = invalid(BreakerStore::shared(&SharedStoreOptions {
        mode: 0o4660,
        ..opts(dir.path())
    }));
    assert!(msg.contains("mode"), "{msg}");
}

// ---- options ------------------------------------------------------------------------------

#[test]
fn bad_options_are_rejected_before_touching_the_disk() {
    let dir = ScratchDir::new("options");
    for capacity in [0, MAX_CAPACITY + 1] {
        let msg = invalid(BreakerStore::shared(&SharedStoreOptions {
            capacity,
            ..opts(dir.path())
        }));
        assert!(msg.contains("capacity"), "{msg}");
    }
    for file_name in ["", ".", "..", "a/b", "/etc/passwd", "../escape"] {
        let msg = invalid(BreakerStore::shared(&SharedStoreOptions {
            file_name: file_name.into(),
            ..opts(dir.path())
        }));
        assert!(msg.contains("file_name"), "{file_name:?}: {msg}");
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was created"
    );

    let defaults = SharedStoreOptions::default();
    assert_eq!(defaults.dir, Path::new("/dev/shm"));
    assert_eq!(defaults.file_name, FILE);
    assert_eq!(defaults.mode, 0o660);
    let parsed: SharedStoreOptions = serde_json::from_str(
        r#"{"dir": "/tmp/x", "file_name": "b.shm", "capacity": 2, "mode": 384}"#,
    )
    .unwrap();
    assert_eq!(
        parsed,
        SharedStoreOptions {
            dir: "/tmp/x".into(),
            file_name: "b.shm".into(),
            capacity: 2,
            mode: 0o600
        }
    );
    assert!(serde_json::from_str::<SharedStoreOptions>(r#"{"capacty": 2}"#).is_err());
}

#[test]
fn names_are_checked_in_the_shared_store_too() {
    let dir = ScratchDir::new("names");
    let store = open(dir.path()).unwrap();
    for bad in [String::new(), "n".repeat(65)] {
        assert!(matches!(
            store.breaker(&bad, BreakerConfig::default()),
            Err(Error::InvalidArgument(_))
        ));
    }
    let long = "n".repeat(64);
    store.breaker(&long, BreakerConfig::default()).unwrap();
    let reopened = open(dir.path()).unwrap();
    assert_eq!(reopened.snapshots().unwrap()[0].name, long);
}

// ---- sharing ------------------------------------------------------------------------------

#[test]
fn reopening_finds_the_same_breaker_and_state() {
    let dir = ScratchDir::new("reopen");
    let config = BreakerConfig {
        failure_rate_threshold: Some(0.5),
        sliding_window: SlidingWindow::Time { seconds: 30 },
        ..Default::default()
    };
    let first = open(dir.path()).unwrap();
    let a = first.breaker("payments", config.clone()).unwrap();
    trip(&a);
    let _ = a.allow();

    // Another handle on the same file, as another worker process would have.
    let second = open(dir.path()).unwrap();
    let b = second.breaker("payments", config.clone()).unwrap();
    assert_eq!(b.state(), State::Open);
    let s = b.snapshot();
    assert_eq!(
        (s.totals.failures, s.totals.rejected, s.transitions),
        (5, 1, 1)
    );
    assert!(b.allow().is_err());
    assert_eq!(
        a.snapshot().totals.rejected,
        2,
        "seen through the first handle"
    );
    // A manual operation through one handle is seen through the other.
    assert_eq!(b.reset().map(|t| t.to), Some(State::Closed));
    assert_eq!(a.state(), State::Closed);

    // Everything closed and reopened: the file keeps it.
    a.force_open();
    drop((a, b, first, second));
    let third = open(dir.path()).unwrap();
    let c = third.breaker("payments", config).unwrap();
    assert_eq!(c.state(), State::ForcedOpen);
    assert_eq!(c.snapshot().totals.failures, 5);
    assert_eq!(third.snapshots().unwrap().len(), 1);
}

#[test]
fn another_config_is_a_mismatch_unless_adopted() {
    let dir = ScratchDir::new("mismatch");
    let stored = BreakerConfig {
        consecutive_failure_threshold: 3,
        slow_call_duration_ms: Some(250.0),
        ..Default::default()
    };
    let first = open(dir.path()).unwrap();
    let a = first.breaker("search", stored.clone()).unwrap();
    let other = BreakerConfig::default();
    let second = open(dir.path()).unwrap();
    match second.breaker("search", other.clone()) {
        Err(e @ Error::ConfigMismatch { .. }) => {
            assert_eq!(e.code(), 201);
            let text = e.to_string();
            assert!(
                text.contains("search") && text.contains(&format!("{:016x}", stored.hash())),
                "{text}"
            );
            if let Error::ConfigMismatch {
                stored: s,
                requested: r,
                ..
            } = e
            {
                assert_eq!((s, r), (stored.hash(), other.hash()));
            }
        }
        res => panic!("expected ConfigMismatch, got {res:?}"),
    }
    let b = second
        .breaker_with("search", other, OnConfigMismatch::AdoptStored)
        .unwrap();
    assert_eq!(b.config(), &stored, "the first writer's settings win");
    // The adopted settings are the ones in force: three failures trip it.
    for _ in 0..3 {
        let p = b.allow().unwrap();
        b.record(&p, Outcome::Failure, Some(Duration::from_millis(300)));
    }
    assert_eq!(a.state(), State::Open);
    assert_eq!(a.snapshot().totals.slow_calls, 3);
    // The same settings are not a mismatch.
    second.breaker("search", stored).unwrap();
    // Fail is the default behaviour of breaker_with too.
    assert!(matches!(
        second.breaker_with("search", BreakerConfig::default(), OnConfigMismatch::Fail),
        Err(Error::ConfigMismatch { .. })
    ));
}

#[test]
fn a_full_store_says_so() {
    let dir = ScratchDir::new("full");
    let o = SharedStoreOptions {
        capacity: 2,
        ..opts(dir.path())
    };
    let store = BreakerStore::shared(&o).unwrap();
    store.breaker("one", BreakerConfig::default()).unwrap();
    store.breaker("two", BreakerConfig::default()).unwrap();
    match store.breaker("three", BreakerConfig::default()) {
        Err(e @ Error::StoreFull { capacity: 2 }) => {
            assert_eq!(e.code(), 202);
            assert!(e.to_string().contains("all 2 slots"), "{e}");
        }
        res => panic!("expected StoreFull, got {res:?}"),
    }
    // Existing breakers still open.
    store.breaker("two", BreakerConfig::default()).unwrap();
    // An existing file keeps its own capacity, whatever a later opener asks for.
    let bigger = BreakerStore::shared(&SharedStoreOptions {
        capacity: 100,
        ..o.clone()
    })
    .unwrap();
    assert!(matches!(
        bigger.breaker("three", BreakerConfig::default()),
        Err(Error::StoreFull { capacity: 2 })
    ));
    assert_eq!(bigger.snapshots().unwrap().len(), 2);
}

#[test]
fn every_slot_of_a_store_holds_its_own_breaker() {
    let dir = ScratchDir::new("slots");
    let o = SharedStoreOptions {
        capacity: 16,
        ..opts(dir.path())
    };
    let store = BreakerStore::shared(&o).unwrap();
    let names: Vec<String> = (0..16).map(|i| format!("tenant-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let b = store.breaker(name, BreakerConfig::default()).unwrap();
        for _ in 0..i {
            let p = b.allow().unwrap();
            b.record(&p, Outcome::Success, None);
        }
        if i.is_multiple_of(3) {
            trip(&b);
        }
    }
    drop(store);
    let store = BreakerStore::shared(&o).unwrap();
    for (i, name) in names.iter().enumerate() {
        let s = store
            .breaker(name, BreakerConfig::default())
            .unwrap()
            .snapshot();
        assert_eq!(s.name, *name);
        assert_eq!(s.totals.successes, i as u64, "{name}");
        assert_eq!(s.state == State::Open, i.is_multiple_of(3), "{name}");
    }
    assert!(matches!(
        store.breaker("tenant-16", BreakerConfig::default()),
        Err(Error::StoreFull { capacity: 16 })
    ));
}

#[test]
fn snapshots_of_every_breaker() {
    let dir = ScratchDir::new("snapshots");
    let clock = Arc::new(FakeClock::new());
    let store = open(dir.path()).unwrap().with_clock(clock.clone());
    let rated = BreakerConfig {
        failure_rate_threshold: Some(0.5),
        minimum_calls: 2,
        ..Default::default()
    };
    let c = store.breaker("charlie", rated.clone()).unwrap();
    let a = store.breaker("alpha", BreakerConfig::default()).unwrap();
    let b = store.breaker("bravo", BreakerConfig::default()).unwrap();
    trip(&a);
    b.disable();
    let p = c.allow().unwrap();
    c.record(&p, Outcome::Success, None);
    clock.advance(Duration::from_secs(1));

    // A second handle on the file lists them all, with their stored settings.
    let other = open(dir.path()).unwrap().with_clock(clock.clone());
    let snaps = other.snapshots().unwrap();
    let names: Vec<&str> = snaps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["alpha", "bravo", "charlie"]);
    let states: Vec<State> = snaps.iter().map(|s| s.state).collect();
    assert_eq!(states, [State::Open, State::Disabled, State::Closed]);
    assert_eq!(snaps[0].retry_after_ms, Some(59_000));
    assert_eq!(snaps[0].last_transition.unwrap().age_ms, 1000);
    assert_eq!(snaps[2].config_hash, format!("{:016x}", rated.hash()));
    assert_eq!(snaps[2].window.calls, 1);
    assert_eq!(snaps[2], c.snapshot());
    let json = serde_json::to_value(&snaps).unwrap();
    assert_eq!(json[1]["state"], "disabled");
    assert_eq!(json[0]["totals"]["failures"], 5);
}

#[test]
fn telemetry_over_a_shared_store() {
    let dir = ScratchDir::new("metrics");
    let store = open(dir.path()).unwrap();
    let a = store.breaker("ml-api", BreakerConfig::default()).unwrap();
    trip(&a);
    let _ = a.allow();
    let b = store
        .breaker(
            "slow\"one",
            BreakerConfig {
                slow_call_duration_ms: Some(10.0),
                ..Default::default()
            },
        )
        .unwrap();
    let p = b.allow().unwrap();
    b.record(&p, Outcome::Success, Some(Duration::from_millis(20)));

    // Read through another handle, as a metrics endpoint in another worker would.
    let text = tenantml::telemetry::breaker_metrics(&open(dir.path()).unwrap()).unwrap();
    for line in [
        "# TYPE tenantml_breaker_state gauge",
        "tenantml_breaker_state{breaker=\"ml-api\",state=\"open\"} 1",
        "tenantml_breaker_state{breaker=\"ml-api\",state=\"closed\"} 0",
        "tenantml_breaker_calls_total{breaker=\"ml-api\",outcome=\"failure\"} 5",
        "tenantml_breaker_calls_total{breaker=\"ml-api\",outcome=\"success\"} 0",
        "tenantml_breaker_rejected_calls_total{breaker=\"ml-api\"} 1",
        "tenantml_breaker_transitions_total{breaker=\"ml-api\"} 1",
        "tenantml_breaker_state{breaker=\"slow\\\"one\",state=\"closed\"} 1",
        "tenantml_breaker_calls_total{breaker=\"slow\\\"one\",outcome=\"success\"} 1",
        "tenantml_breaker_slow_calls_total{breaker=\"slow\\\"one\"} 1",
        "tenantml_breaker_consecutive_failures{breaker=\"slow\\\"one\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Five state lines per breaker.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("tenantml_breaker_state{"))
            .count(),
        10
    );
}
