//! Helpers shared by the breaker test suites: scratch directories and re-executing the
//! test binary as a child process.
#![allow(dead_code)]

pub mod fake;
pub mod friedman;
pub mod usage;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Environment variable that turns a `child_*` test into a worker. Without it, the child
/// tests return at once (so a normal `cargo test` run passes them trivially).
pub const CHILD_ROLE: &str = "TENANTML_TEST_CHILD_ROLE";
/// Directory of the shared store a child should open.
pub const CHILD_DIR: &str = "TENANTML_TEST_CHILD_DIR";
/// Free-form parameter for a child (breaker name, count, ...).
pub const CHILD_ARG: &str = "TENANTML_TEST_CHILD_ARG";

/// A unique directory under the system temp dir, removed when dropped.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new(tag: &str) -> ScratchDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "tenantml-test-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create scratch dir");
        ScratchDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The role this process was started with, if it is a child.
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ROLE).ok()
}

/// Starts this test binary again, running only `test_name`, with the given role and
/// environment. stdout and stdin are piped; stderr is inherited so a failing child's panic
/// message shows up in the parent's output.
pub fn spawn_child(test_name: &str, role: &str, dir: &Path, arg: &str) -> Child {
    Command::new(std::env::current_exe().expect("current_exe"))
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ROLE, role)
        .env(CHILD_DIR, dir)
        .env(CHILD_ARG, arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child test process")
}

/// Marker that starts every line a child reports to its parent.
pub const REPORT: &str = "TENANTML-CHILD-REPORT ";

/// Prints one report line (flushed) for the parent.
pub fn report(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{REPORT}{line}").expect("write report");
    out.flush().expect("flush report");
}

/// Reads lines from a child's stdout until the next report; returns what follows the
/// marker, or `None` at end of output.
pub fn next_report(reader: &mut impl std::io::BufRead) -> Option<String> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).expect("read child stdout") == 0 {
            return None;
        }
        // libtest may have printed "test name ... " on the same line first.
        if let Some(at) = line.find(REPORT) {
            return Some(line[at + REPORT.len()..].trim_end().to_string());
        }
    }
}

/// Parses `key=value` pairs of a report line.
pub fn field(report: &str, key: &str) -> u64 {
    report
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in report {report:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("bad {key} in report {report:?}: {e}"))
}
