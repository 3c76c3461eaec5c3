//! Many threads on one in-process breaker, and several OS processes on one shared store
//! file. The child processes are this test binary run again with `--exact child_...` and
//! [`common::CHILD_ROLE`] set; without that variable the `child_*` tests return at once.
//!
//! Nothing here asserts on timings: threads and processes meet at barriers (a
//! `std::sync::Barrier`, or report lines on the children's stdout and a line on their
//! stdin), and waits are polls with generous deadlines that only bound a hang.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{
    child_role, field, next_report, report, spawn_child, ScratchDir, CHILD_ARG, CHILD_DIR,
};
use tenantml::breaker::{
    Breaker, BreakerConfig, BreakerStore, FakeClock, Outcome, SharedStoreOptions, SlidingWindow,
    State, Transition,
};

const THREADS: u64 = 8;
const CALLS_PER_THREAD: u64 = 20_000;
const PROCESSES: usize = 4;
const CALLS_PER_PROCESS: u64 = 10_000;
/// Bounds a hang, never a measurement.
const DEADLINE: Duration = Duration::from_secs(60);

fn tripped(t: Option<Transition>) -> u64 {
    u64::from(
        t == Some(Transition {
            from: State::Closed,
            to: State::Open,
        }),
    )
}

// ---- threads ------------------------------------------------------------------------------

#[test]
fn threads_recording_successes_keep_exact_totals() {
    let store = BreakerStore::in_process();
    let config = BreakerConfig {
        failure_rate_threshold: Some(0.5),
        slow_call_duration_ms: Some(1000.0),
        sliding_window: SlidingWindow::Count { size: 100 },
        ..Default::default()
    };
    let breaker = Arc::new(store.breaker("hot", config).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let b = breaker.clone();
            std::thread::spawn(move || {
                for i in 0..CALLS_PER_THREAD {
                    let permit = b.allow().expect("a closed breaker lets calls through");
                    // Every 10th call reports a slow duration.
                    let took = (i.is_multiple_of(10)).then_some(Duration::from_secs(2));
                    assert_eq!(b.record(&permit, Outcome::Success, took), None);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.totals.successes, THREADS * CALLS_PER_THREAD);
    assert_eq!(s.totals.failures, 0);
    assert_eq!(s.totals.slow_calls, THREADS * CALLS_PER_THREAD / 10);
    assert_eq!(s.totals.rejected, 0);
    assert_eq!(s.transitions, 0);
    assert_eq!((s.window.calls, s.window.failures), (100, 0));
}

/// Every thread calls until refused (failing every call, or every other call when `mixed`);
/// exactly one trip happens, it is reported to exactly one caller, and once everyone has
/// been refused every thread sees the breaker open.
fn one_trip_among_threads(config: BreakerConfig, mixed: bool) {
    let store = BreakerStore::in_process();
    let breaker = Arc::new(store.breaker("trip-once", config).unwrap());
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let recorded = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (b, barrier, recorded) = (breaker.clone(), barrier.clone(), recorded.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut trips = 0;
                let mut i = 0u64;
                while let Ok(permit) = b.allow() {
                    i += 1;
                    let outcome = if mixed && i.is_multiple_of(2) {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    trips += tripped(b.record(&permit, outcome, None));
                    recorded.fetch_add(1, Ordering::Relaxed);
                }
                barrier.wait();
                assert_eq!(b.state(), State::Open);
                let r = b.allow().expect_err("open after the trip");
                assert_eq!(r.state, State::Open);
                assert!(r.retry_after.is_some());
                assert_eq!(b.snapshot().transitions, 1);
                trips
            })
        })
        .collect();
    let trips: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(trips, 1, "the trip is reported to exactly one caller");
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.transitions, 1);
    assert_eq!(s.consecutive_openings, 1);
    let last = s.last_transition.unwrap();
    assert_eq!((last.from, last.to), (State::Closed, State::Open));
    assert_eq!(
        s.totals.failures + s.totals.successes,
        recorded.load(Ordering::Relaxed)
    );
    if !mixed {
        assert_eq!(s.totals.successes, 0);
    }
    // Each thread was refused once in its loop and once after the barrier.
    assert_eq!(s.totals.rejected, 2 * THREADS);
}

#[test]
fn threads_see_exactly_one_consecutive_failure_trip() {
    one_trip_among_threads(
        BreakerConfig {
            consecutive_failure_threshold: 50,
            open_wait_ms: 3_600_000,
            max_open_wait_ms: 3_600_000,
            ..Default::default()
        },
        false,
    );
}

#[test]
fn threads_see_exactly_one_failure_rate_trip() {
    one_trip_among_threads(
        BreakerConfig {
            consecutive_failure_threshold: 0,
            failure_rate_threshold: Some(1.0),
            sliding_window: SlidingWindow::Count { size: 200 },
            minimum_calls: 200,
            open_wait_ms: 3_600_000,
            max_open_wait_ms: 3_600_000,
            ..Default::default()
        },
        false,
    );
}

/// Half the calls succeed: any 100 recent calls hold at least 42 failures (each thread's
/// share alternates), so the 25% rule must trip, once, whatever the interleaving.
#[test]
fn threads_with_mixed_outcomes_see_exactly_one_trip() {
    one_trip_among_threads(
        BreakerConfig {
            consecutive_failure_threshold: 0,
            failure_rate_threshold: Some(0.25),
            sliding_window: SlidingWindow::Count { size: 100 },
            minimum_calls: 100,
            open_wait_ms: 3_600_000,
            max_open_wait_ms: 3_600_000,
            ..Default::default()
        },
        true,
    );
}

#[test]
fn threads_racing_for_half_open_probes_close_it_once() {
    let clock = Arc::new(FakeClock::new());
    let store = BreakerStore::in_process().with_clock(clock.clone());
    let config = BreakerConfig {
        half_open_permits: 3,
        ..Default::default()
    };
    let breaker = Arc::new(store.breaker("probes", config).unwrap());
    for _ in 0..5 {
        let p = breaker.allow().unwrap();
        breaker.record(&p, Outcome::Failure, None);
    }
    clock.advance(Duration::from_secs(60));
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (b, barrier) = (breaker.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (mut half_opened, mut closed) = (0, 0);
                for _ in 0..1000 {
                    let result = b.allow();
                    let t = match &result {
                        Ok(p) => p.transition,
                        Err(r) => r.transition,
                    };
                    half_opened += u32::from(
                        t == Some(Transition {
                            from: State::Open,
                            to: State::HalfOpen,
                        }),
                    );
                    if let Ok(p) = result {
                        let t = b.record(&p, Outcome::Success, None);
                        closed += u32::from(
                            t == Some(Transition {
                                from: State::HalfOpen,
                                to: State::Closed,
                            }),
                        );
                    }
                }
                (half_opened, closed)
            })
        })
        .collect();
    let (mut half_opened, mut closed) = (0, 0);
    for h in handles {
        let (ho, c) = h.join().unwrap();
        half_opened += ho;
        closed += c;
    }
    assert_eq!(
        (half_opened, closed),
        (1, 1),
        "each transition reported once"
    );
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.transitions, 3);
    assert_eq!(s.totals.successes + s.totals.rejected, THREADS * 1000);
}

// ---- processes ----------------------------------------------------------------------------

fn options(dir: &std::path::Path) -> SharedStoreOptions {
    SharedStoreOptions {
        capacity: 8,
        ..SharedStoreOptions::in_dir(dir)
    }
}

fn counting_config() -> BreakerConfig {
    BreakerConfig {
        failure_rate_threshold: Some(0.9),
        slow_call_duration_ms: Some(1000.0),
        sliding_window: SlidingWindow::Count { size: 100 },
        consecutive_failure_threshold: 0,
        ..Default::default()
    }
}

fn trip_config() -> BreakerConfig {
    BreakerConfig {
        consecutive_failure_threshold: 20,
        open_wait_ms: 3_600_000,
        max_open_wait_ms: 3_600_000,
        ..Default::default()
    }
}

fn lease_config() -> BreakerConfig {
    BreakerConfig {
        open_wait_ms: 50,
        probe_lease_ms: 200,
        ..Default::default()
    }
}

/// The breaker a child works on, from the store directory its parent gave it.
fn child_breaker(config: BreakerConfig) -> (BreakerStore, Breaker) {
    let dir = std::env::var(CHILD_DIR).expect("child dir");
    let name = std::env::var(CHILD_ARG).expect("child arg");
    let store = BreakerStore::shared(&options(dir.as_ref())).expect("open shared store");
    let breaker = store.breaker(&name, config).expect("open breaker");
    (store, breaker)
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start(test: &str, role: &str, dir: &std::path::Path, arg: &str) -> Worker {
        let mut child = spawn_child(test, role, dir, arg);
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("child stdout"));
        Worker {
            child,
            stdin,
            stdout,
        }
    }

    fn report(&mut self) -> String {
        next_report(&mut self.stdout).unwrap_or_else(|| {
            let status = self.child.wait();
            panic!("child ended without a report: {status:?}")
        })
    }

    fn tell(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("child stdin");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush child stdin");
    }

    fn finish(&mut self) {
        drop(self.stdin.take());
        // Drain anything left so the child never blocks on a full pipe.
        let mut rest = String::new();
        while self.stdout.read_line(&mut rest).unwrap_or(0) > 0 {}
        let status = self.child.wait().expect("wait for child");
        assert!(status.success(), "child failed: {status}\n{rest}");
    }
}

impl Drop for Worker {
    /// A child is never left running, even when the parent test fails half-way.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for the parent's go-ahead line on stdin.
fn wait_for_parent() -> String {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("read stdin");
    line.trim().to_string()
}

#[test]
fn child_records_calls() {
    if child_role().as_deref() != Some("count") {
        return;
    }
    let (_store, b) = child_breaker(counting_config());
    report("ready");
    wait_for_parent();
    for i in 0..CALLS_PER_PROCESS {
        let permit = b.allow().expect("closed");
        let outcome = if i.is_multiple_of(4) {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let took = (i.is_multiple_of(10)).then_some(Duration::from_secs(5));
        assert_eq!(b.record(&permit, outcome, took), None);
    }
    report("done");
}

#[test]
fn processes_sharing_a_store_keep_exact_totals() {
    let dir = ScratchDir::new("procs-count");
    let store = BreakerStore::shared(&options(dir.path())).unwrap();
    let breaker = store.breaker("shared-count", counting_config()).unwrap();
    let mut workers: Vec<Worker> = (0..PROCESSES)
        .map(|_| Worker::start("child_records_calls", "count", dir.path(), "shared-count"))
        .collect();
    for w in &mut workers {
        assert_eq!(w.report(), "ready");
    }
    // Start them together so their calls interleave.
    for w in &mut workers {
        w.tell("go");
    }
    for w in &mut workers {
        assert_eq!(w.report(), "done");
    }
    for w in &mut workers {
        w.finish();
    }
    let total = PROCESSES as u64 * CALLS_PER_PROCESS;
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.totals.failures, total / 4);
    assert_eq!(s.totals.successes, total - total / 4);
    assert_eq!(s.totals.slow_calls, total / 10);
    assert_eq!(s.totals.rejected, 0);
    assert_eq!(s.transitions, 0);
    assert_eq!(s.window.calls, 100);
    // The file outlives every handle: a new store sees the same numbers.
    drop((breaker, store));
    let again = BreakerStore::shared(&options(dir.path())).unwrap();
    let snaps = again.snapshots().unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].totals.successes + snaps[0].totals.failures, total);
}

#[test]
fn child_fails_until_refused() {
    if child_role().as_deref() != Some("trip") {
        return;
    }
    let (_store, b) = child_breaker(trip_config());
    report("ready");
    wait_for_parent();
    let (mut recorded, mut trips) = (0, 0);
    let refusal = loop {
        match b.allow() {
            Ok(permit) => {
                trips += tripped(b.record(&permit, Outcome::Failure, None));
                recorded += 1;
            }
            Err(r) => break r,
        }
    };
    assert_eq!(refusal.state, State::Open);
    report(&format!("refused recorded={recorded} trips={trips}"));
    // Everyone has been refused (so the trip is complete); now look.
    wait_for_parent();
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert!(b.allow().is_err());
    report(&format!(
        "seen transitions={} openings={}",
        s.transitions, s.consecutive_openings
    ));
}

#[test]
fn processes_see_exactly_one_trip() {
    let dir = ScratchDir::new("procs-trip");
    let store = BreakerStore::shared(&options(dir.path())).unwrap();
    let breaker = store.breaker("shared-trip", trip_config()).unwrap();
    let mut workers: Vec<Worker> = (0..PROCESSES)
        .map(|_| {
            Worker::start(
                "child_fails_until_refused",
                "trip",
                dir.path(),
                "shared-trip",
            )
        })
        .collect();
    for w in &mut workers {
        assert_eq!(w.report(), "ready");
    }
    for w in &mut workers {
        w.tell("go");
    }
    let (mut recorded, mut trips) = (0, 0);
    for w in &mut workers {
        let r = w.report();
        assert!(r.starts_with("refused"), "{r}");
        recorded += field(&r, "recorded");
        trips += field(&r, "trips");
    }
    assert_eq!(trips, 1, "exactly one process caused the trip");
    for w in &mut workers {
        w.tell("look");
    }
    for w in &mut workers {
        let r = w.report();
        assert_eq!(field(&r, "transitions"), 1, "{r}");
        assert_eq!(field(&r, "openings"), 1, "{r}");
    }
    for w in &mut workers {
        w.finish();
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.transitions, 1);
    let last = s.last_transition.unwrap();
    assert_eq!((last.from, last.to), (State::Closed, State::Open));
    assert_eq!(s.totals.failures, recorded);
    assert!(recorded >= 20);
    assert_eq!(s.totals.rejected, 2 * PROCESSES as u64);
    assert!(breaker.allow().is_err());
}

/// Takes the half-open probe, says when, and hangs until killed.
#[test]
fn child_holds_a_probe() {
    if child_role().as_deref() != Some("hold") {
        return;
    }
    let (_store, b) = child_breaker(lease_config());
    let started = Instant::now();
    let permit = loop {
        match b.allow() {
            Ok(p) => break p,
            Err(r) => {
                assert!(started.elapsed() < DEADLINE, "never got the probe: {r:?}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    assert_eq!(b.state(), State::HalfOpen);
    report(&format!(
        "holding half_opened={} started_ns={}",
        u64::from(permit.transition.is_some()),
        permit.started_ns
    ));
    // Never records: the parent kills this process with SIGKILL.
    std::thread::sleep(DEADLINE);
    panic!("should have been killed");
}

/// Waits for a probe (the killed holder's lease must expire first) and closes the breaker.
#[test]
fn child_probes_and_closes() {
    if child_role().as_deref() != Some("probe") {
        return;
    }
    let (_store, b) = child_breaker(lease_config());
    let started = Instant::now();
    let mut refusals = 0;
    let permit = loop {
        match b.allow() {
            Ok(p) => break p,
            Err(r) => {
                assert_eq!(
                    r.state,
                    State::HalfOpen,
                    "the breaker stays half-open meanwhile"
                );
                let wait = r.retry_after.expect("a lease expires");
                assert!(
                    wait <= Duration::from_millis(200),
                    "{wait:?} is longer than the lease"
                );
                assert!(
                    started.elapsed() < DEADLINE,
                    "the dead worker's lease never expired"
                );
                refusals += 1;
                std::thread::sleep(wait.min(Duration::from_millis(20)));
            }
        }
    };
    let t = b.record(&permit, Outcome::Success, None);
    assert_eq!(
        t,
        Some(Transition {
            from: State::HalfOpen,
            to: State::Closed
        })
    );
    report(&format!(
        "closed refusals={refusals} started_ns={}",
        permit.started_ns
    ));
}

const NS_PER_MS: u64 = 1_000_000;

#[test]
fn a_killed_probe_holder_does_not_wedge_the_breaker() {
    let dir = ScratchDir::new("procs-kill");
    let store = BreakerStore::shared(&options(dir.path())).unwrap();
    let breaker = store.breaker("shared-lease", lease_config()).unwrap();
    for _ in 0..5 {
        let p = breaker.allow().unwrap();
        breaker.record(&p, Outcome::Failure, None);
    }
    assert_eq!(breaker.state(), State::Open);

    let mut holder = Worker::start("child_holds_a_probe", "hold", dir.path(), "shared-lease");
    let r = holder.report();
    assert_eq!(
        field(&r, "half_opened"),
        1,
        "the holder's allow moved open -> half-open"
    );
    let held_ms = field(&r, "started_ns") / NS_PER_MS;
    holder.child.kill().expect("SIGKILL the probe holder");
    let status = holder.child.wait().unwrap();
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");
    }
    assert_eq!(breaker.state(), State::HalfOpen);
    // The dead process still holds the only probe lease: nobody gets a probe before it
    // expires. Both processes read the same CLOCK_MONOTONIC, so this is checked on the
    // permits' own timestamps, not on how fast this machine is.
    match breaker.allow() {
        Err(r) => {
            assert_eq!(r.state, State::HalfOpen);
            assert!(r.retry_after.unwrap() <= Duration::from_millis(200));
        }
        Ok(p) => {
            // Only possible when this process looked after the lease ran out; then it
            // simply never reports, like the dead worker, and its lease expires too.
            assert!(
                p.started_ns / NS_PER_MS >= held_ms + 200,
                "a second probe while the lease was held"
            );
        }
    }

    let mut prober = Worker::start(
        "child_probes_and_closes",
        "probe",
        dir.path(),
        "shared-lease",
    );
    let r = prober.report();
    assert!(r.starts_with("closed"), "{r}");
    assert!(
        field(&r, "started_ns") / NS_PER_MS >= held_ms + 200,
        "probe handed over before the lease expired"
    );
    prober.finish();

    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(
        s.transitions, 3,
        "closed->open, open->half_open, half_open->closed"
    );
    let last = s.last_transition.unwrap();
    assert_eq!((last.from, last.to), (State::HalfOpen, State::Closed));
    assert_eq!(s.totals.successes, 1);
    assert_eq!(s.totals.failures, 5);
    // Closed again for everyone.
    let p = breaker.allow().unwrap();
    assert_eq!(breaker.record(&p, Outcome::Success, None), None);
}
