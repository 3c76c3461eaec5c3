//! Property test: a small reference model of the circuit breaker, written from its
//! documented semantics (plain Rust, single-threaded, no atomics, no epochs packed in bits),
//! is driven side by side with the real breaker by random operation sequences from seeded
//! `StdRng`s. After every step the state, every `allow` answer (accept, reject and
//! `retry_after`), every returned transition and the snapshot must agree.
//!
//! Reproduce one sequence with `TENANTML_MODEL_SEED=<seed> cargo test --release --test
//! breaker_model`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tenantml::breaker::{
    Breaker, BreakerConfig, BreakerStore, Clock, FakeClock, Outcome, Permit, SlidingWindow, State,
    Transition,
};

const SEQUENCES: u64 = 300;
const STEPS: usize = 200;
const MAX_OPENINGS: u32 = 31;

// ---- the model ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lease {
    Free,
    Held { taker: u64, expiry_ms: u64 },
    Succeeded,
}

/// What the model remembers about a permit it handed out.
#[derive(Debug, Clone, Copy)]
struct ModelPermit {
    period: u64,
    lease: Option<usize>,
    taker: u64,
    started_ms: u64,
}

#[derive(Debug)]
struct Model {
    cfg: BreakerConfig,
    state: State,
    /// Bumped on every state change (and on manual operations): permits of an earlier
    /// period only count in the totals.
    period: u64,
    openings: u32,
    until_ms: u64,
    run: u64,
    /// (failed, slow) of the calls of the current closed period, newest last.
    window: VecDeque<(bool, bool)>,
    leases: Vec<Lease>,
    next_taker: u64,
    transitions: u64,
    last: Option<(Transition, u64)>,
    successes: u64,
    failures: u64,
    slow_calls: u64,
    rejected: u64,
}

type Allowed = Result<(ModelPermit, Option<Transition>), (State, Option<u64>, Option<Transition>)>;

impl Model {
    fn new(cfg: BreakerConfig) -> Model {
        Model {
            leases: vec![Lease::Free; cfg.half_open_permits as usize],
            cfg,
            state: State::Closed,
            period: 0,
            openings: 0,
            until_ms: 0,
            run: 0,
            window: VecDeque::new(),
            next_taker: 0,
            transitions: 0,
            last: None,
            successes: 0,
            failures: 0,
            slow_calls: 0,
            rejected: 0,
        }
    }

    fn window_size(&self) -> usize {
        match self.cfg.sliding_window {
            SlidingWindow::Count { size } => size as usize,
            SlidingWindow::Time { .. } => unreachable!("the model covers count windows"),
        }
    }

    fn has_rate_rule(&self) -> bool {
        self.cfg.failure_rate_threshold.is_some() || self.cfg.slow_call_rate_threshold.is_some()
    }

    /// open_wait * multiplier^(openings - 1), capped.
    fn open_wait(&self, openings: u32) -> u64 {
        let wait =
            self.cfg.open_wait_ms as f64 * self.cfg.backoff_multiplier.powi(openings as i32 - 1);
        if wait >= self.cfg.max_open_wait_ms as f64 {
            self.cfg.max_open_wait_ms
        } else {
            wait as u64
        }
    }

    /// Every change of state goes through here.
    fn move_to(&mut self, to: State, now_ms: u64) -> Option<Transition> {
        let from = self.state;
        self.state = to;
        self.period += 1;
        self.run = 0;
        self.window.clear();
        self.leases.iter_mut().for_each(|l| *l = Lease::Free);
        if from == to {
            return None;
        }
        let t = Transition { from, to };
        self.transitions += 1;
        self.last = Some((t, now_ms));
        Some(t)
    }

    fn open(&mut self, openings: u32, now_ms: u64) -> Option<Transition> {
        let t = self.move_to(State::Open, now_ms);
        self.openings = openings.min(MAX_OPENINGS);
        self.until_ms = now_ms + self.open_wait(self.openings);
        t
    }

    fn manual(&mut self, to: State, now_ms: u64) -> Option<Transition> {
        let t = self.move_to(to, now_ms);
        self.openings = 0;
        self.until_ms = 0;
        t
    }

    fn allow(&mut self, now_ms: u64) -> Allowed {
        let mut transition = None;
        match self.state {
            State::Closed | State::Disabled => {
                return Ok((self.permit(None, now_ms), None));
            }
            State::ForcedOpen => {
                self.rejected += 1;
                return Err((State::ForcedOpen, None, None));
            }
            State::Open if now_ms < self.until_ms => {
                self.rejected += 1;
                return Err((State::Open, Some(self.until_ms - now_ms), None));
            }
            State::Open => {
                let openings = self.openings;
                transition = self.move_to(State::HalfOpen, now_ms);
                self.openings = openings;
            }
            State::HalfOpen => {}
        }
        // Half-open: the lowest-numbered probe lease that is free or has expired.
        let free = self.leases.iter().position(|l| match *l {
            Lease::Free => true,
            Lease::Held { expiry_ms, .. } => expiry_ms <= now_ms,
            Lease::Succeeded => false,
        });
        match free {
            Some(i) => {
                let p = self.permit(Some(i), now_ms);
                self.leases[i] = Lease::Held {
                    taker: p.taker,
                    expiry_ms: now_ms + self.cfg.probe_lease_ms,
                };
                Ok((p, transition))
            }
            None => {
                self.rejected += 1;
                let earliest = self
                    .leases
                    .iter()
                    .filter_map(|l| match *l {
                        Lease::Held { expiry_ms, .. } => Some(expiry_ms),
                        _ => None,
                    })
                    .min();
                let wait = earliest.map_or(1, |e| (e - now_ms).max(1));
                Err((State::HalfOpen, Some(wait), transition))
            }
        }
    }

    fn permit(&mut self, lease: Option<usize>, now_ms: u64) -> ModelPermit {
        self.next_taker += 1;
        ModelPermit {
            period: self.period,
            lease,
            taker: self.next_taker,
            started_ms: now_ms,
        }
    }

    fn record(
        &mut self,
        p: &ModelPermit,
        failed: bool,
        duration_ms: Option<u64>,
        now_ms: u64,
    ) -> Option<Transition> {
        let took = duration_ms.unwrap_or(now_ms - p.started_ms);
        let slow = self
            .cfg
            .slow_call_duration_ms
            .is_some_and(|limit| took as f64 >= limit);
        if failed {
            self.failures += 1;
        } else {
            self.successes += 1;
        }
        if slow {
            self.slow_calls += 1;
        }
        if p.period != self.period {
            return None;
        }
        match self.state {
            State::Closed => {
                let mut trip = false;
                if failed {
                    self.run += 1;
                    let threshold = self.cfg.consecutive_failure_threshold;
                    trip = threshold > 0 && self.run >= u64::from(threshold);
                } else {
                    self.run = 0;
                }
                if self.has_rate_rule() {
                    self.window.push_back((failed, slow));
                    if self.window.len() > self.window_size() {
                        self.window.pop_front();
                    }
                    // The rates are looked at when a failed or slow call is recorded.
                    if !trip && (failed || slow) {
                        trip = self.rates_exceeded();
                    }
                }
                if trip {
                    self.open(1, now_ms)
                } else {
                    None
                }
            }
            State::HalfOpen => {
                let i = p.lease.expect("half-open permits hold a lease");
                let owned = matches!(self.leases[i], Lease::Held { taker, .. } if taker == p.taker);
                if !owned {
                    return None;
                }
                let probe_failed = failed || (slow && self.cfg.slow_call_rate_threshold.is_some());
                if probe_failed {
                    let openings = self.openings + 1;
                    return self.open(openings, now_ms);
                }
                self.leases[i] = Lease::Succeeded;
                if self.leases.iter().all(|l| *l == Lease::Succeeded) {
                    let t = self.move_to(State::Closed, now_ms);
                    self.openings = 0;
                    return t;
                }
                None
            }
            _ => None,
        }
    }

    /// (calls, failures, slow) in the window.
    fn counts(&self) -> (u64, u64, u64) {
        let calls = self.window.len() as u64;
        let failures = self.window.iter().filter(|(f, _)| *f).count() as u64;
        let slow = self.window.iter().filter(|(_, s)| *s).count() as u64;
        (calls, failures, slow)
    }

    fn rates(&self) -> Option<(f64, f64)> {
        let (calls, failures, slow) = self.counts();
        if calls < u64::from(self.cfg.minimum_calls) || calls == 0 {
            return None;
        }
        Some((failures as f64 / calls as f64, slow as f64 / calls as f64))
    }

    fn rates_exceeded(&self) -> bool {
        let Some((failure_rate, slow_rate)) = self.rates() else {
            return false;
        };
        self.cfg
            .failure_rate_threshold
            .is_some_and(|t| failure_rate >= t)
            || self
                .cfg
                .slow_call_rate_threshold
                .is_some_and(|t| slow_rate >= t)
    }
}

// ---- random configurations and operations -----------------------------------------------

fn random_config(rng: &mut StdRng) -> BreakerConfig {
    let size = rng.gen_range(1..=12u32);
    let failure_rate_threshold = rng.gen_bool(0.5).then(|| {
        *[0.2, 0.25, 1.0 / 3.0, 0.5, 0.6, 0.75, 1.0]
            .choose(rng)
            .unwrap()
    });
    let slow_call_duration_ms = rng
        .gen_bool(0.35)
        .then(|| *[20.0, 100.0, 250.0].choose(rng).unwrap());
    let slow_call_rate_threshold = slow_call_duration_ms
        .filter(|_| rng.gen_bool(0.5))
        .map(|_| *[0.3, 0.5, 1.0].choose(rng).unwrap());
    let has_rate = failure_rate_threshold.is_some() || slow_call_rate_threshold.is_some();
    // A breaker with no rule at all never trips; keep one most of the time.
    let consecutive_failure_threshold = if has_rate {
        rng.gen_range(0..=6)
    } else {
        rng.gen_range(1..=6)
    };
    let open_wait_ms = rng.gen_range(100..=5_000);
    let config = BreakerConfig {
        consecutive_failure_threshold,
        failure_rate_threshold,
        slow_call_duration_ms,
        slow_call_rate_threshold,
        sliding_window: SlidingWindow::Count { size },
        minimum_calls: rng.gen_range(1..=size),
        half_open_permits: rng.gen_range(1..=3),
        probe_lease_ms: rng.gen_range(50..=2_000),
        open_wait_ms,
        backoff_multiplier: *[1.0, 1.5, 2.0, 3.0].choose(rng).unwrap(),
        max_open_wait_ms: open_wait_ms * [1, 2, 5, 20].choose(rng).unwrap(),
    };
    config.validate().expect("generated config is valid");
    config
}

#[derive(Debug, Clone)]
enum Op {
    Allow,
    Record {
        index: usize,
        failed: bool,
        duration_ms: Option<u64>,
    },
    Advance(u64),
    ForceOpen,
    Disable,
    Reset,
}

struct Held {
    real: Permit,
    model: ModelPermit,
}

struct Run {
    clock: Arc<FakeClock>,
    breaker: Breaker,
    model: Model,
    held: Vec<Held>,
    failure_odds: f64,
}

impl Run {
    fn now_ms(&self) -> u64 {
        self.clock.now_ns() / 1_000_000
    }

    fn pick(&self, rng: &mut StdRng) -> Op {
        let cfg = &self.model.cfg;
        let roll = rng.gen_range(0..100);
        match roll {
            0..=34 => Op::Allow,
            35..=66 if !self.held.is_empty() => {
                // Mostly the newest permits, sometimes a stale one.
                let n = self.held.len();
                let index = if rng.gen_bool(0.7) {
                    n - 1
                } else {
                    rng.gen_range(0..n)
                };
                let duration_ms = if rng.gen_bool(0.5) {
                    None
                } else {
                    let top = cfg.slow_call_duration_ms.map_or(300, |ms| 2 * ms as u64);
                    Some(rng.gen_range(0..=top))
                };
                Op::Record {
                    index,
                    failed: rng.gen_bool(self.failure_odds),
                    duration_ms,
                }
            }
            35..=66 => Op::Allow,
            67..=94 => {
                let until = self.model.until_ms;
                let now = self.now_ms();
                let ms = match rng.gen_range(0..8) {
                    0 => 1,
                    1 => rng.gen_range(1..=50),
                    2 => rng.gen_range(1..=500),
                    // Land exactly on, or just before, the end of the open wait.
                    3 if until > now => until - now,
                    4 if until > now + 1 => until - now - 1,
                    5 => cfg.probe_lease_ms,
                    6 => rng.gen_range(0..=cfg.max_open_wait_ms * 2),
                    _ => rng.gen_range(1..=cfg.open_wait_ms),
                };
                Op::Advance(ms)
            }
            95..=96 => Op::ForceOpen,
            97 => Op::Disable,
            _ => Op::Reset,
        }
    }

    /// Applies one operation to both; returns a description of any disagreement.
    fn step(&mut self, op: &Op) -> Result<(), String> {
        let now = self.now_ms();
        match *op {
            Op::Allow => {
                let real = self.breaker.allow();
                let model = self.model.allow(now);
                match (real, model) {
                    (Ok(p), Ok((mp, mt))) => {
                        if p.transition != mt {
                            return Err(format!(
                                "allow transition: real {:?}, model {mt:?}",
                                p.transition
                            ));
                        }
                        self.held.push(Held { real: p, model: mp });
                        if self.held.len() > 8 {
                            // Drop the oldest permit unrecorded (a worker that never answers).
                            self.held.remove(0);
                        }
                    }
                    (Err(r), Err((state, retry_ms, mt))) => {
                        let expected = (state, retry_ms.map(Duration::from_millis), mt);
                        if (r.state, r.retry_after, r.transition) != expected {
                            return Err(format!("rejection: real {r:?}, model {expected:?}"));
                        }
                    }
                    (real, model) => return Err(format!("allow: real {real:?}, model {model:?}")),
                }
            }
            Op::Record {
                index,
                failed,
                duration_ms,
            } => {
                let held = self.held.remove(index);
                let outcome = if failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                };
                let real = self.breaker.record(
                    &held.real,
                    outcome,
                    duration_ms.map(Duration::from_millis),
                );
                let model = self.model.record(&held.model, failed, duration_ms, now);
                if real != model {
                    return Err(format!("record transition: real {real:?}, model {model:?}"));
                }
            }
            Op::Advance(ms) => self.clock.advance(Duration::from_millis(ms)),
            Op::ForceOpen | Op::Disable | Op::Reset => {
                let (real, model) = match op {
                    Op::ForceOpen => (
                        self.breaker.force_open(),
                        self.model.manual(State::ForcedOpen, now),
                    ),
                    Op::Disable => (
                        self.breaker.disable(),
                        self.model.manual(State::Disabled, now),
                    ),
                    _ => (self.breaker.reset(), self.model.manual(State::Closed, now)),
                };
                if real != model {
                    return Err(format!("manual transition: real {real:?}, model {model:?}"));
                }
            }
        }
        self.compare()
    }

    fn compare(&self) -> Result<(), String> {
        let m = &self.model;
        let now = self.now_ms();
        if self.breaker.state() != m.state {
            return Err(format!(
                "state: real {:?}, model {:?}",
                self.breaker.state(),
                m.state
            ));
        }
        let s = self.breaker.snapshot();
        let closed = m.state == State::Closed;
        let expected_window = if closed && m.has_rate_rule() {
            m.counts()
        } else {
            (0, 0, 0)
        };
        let expected_rates = if closed && m.has_rate_rule() {
            m.rates()
        } else {
            None
        };
        let checks: [(&str, String, String); 11] = [
            ("state", format!("{:?}", s.state), format!("{:?}", m.state)),
            (
                "consecutive_failures",
                s.consecutive_failures.to_string(),
                (if closed { m.run } else { 0 }).to_string(),
            ),
            (
                "consecutive_openings",
                s.consecutive_openings.to_string(),
                m.openings.to_string(),
            ),
            (
                "retry_after_ms",
                format!("{:?}", s.retry_after_ms),
                format!(
                    "{:?}",
                    (m.state == State::Open).then(|| m.until_ms.saturating_sub(now))
                ),
            ),
            (
                "transitions",
                s.transitions.to_string(),
                m.transitions.to_string(),
            ),
            (
                "last_transition",
                format!("{:?}", s.last_transition.map(|l| (l.from, l.to, l.age_ms))),
                format!("{:?}", m.last.map(|(t, at)| (t.from, t.to, now - at))),
            ),
            (
                "totals",
                format!(
                    "{}/{}/{}/{}",
                    s.totals.successes, s.totals.failures, s.totals.slow_calls, s.totals.rejected
                ),
                format!(
                    "{}/{}/{}/{}",
                    m.successes, m.failures, m.slow_calls, m.rejected
                ),
            ),
            (
                "window.calls",
                s.window.calls.to_string(),
                expected_window.0.to_string(),
            ),
            (
                "window.failures",
                s.window.failures.to_string(),
                expected_window.1.to_string(),
            ),
            (
                "window.slow_calls",
                s.window.slow_calls.to_string(),
                expected_window.2.to_string(),
            ),
            (
                "window rates",
                format!("{:?}", s.window.failure_rate.zip(s.window.slow_call_rate)),
                format!("{:?}", expected_rates),
            ),
        ];
        for (what, real, model) in checks {
            if real != model {
                return Err(format!("snapshot {what}: real {real}, model {model}"));
            }
        }
        Ok(())
    }
}

fn run_sequence(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let config = random_config(&mut rng);
    let clock = Arc::new(FakeClock::new());
    let store = BreakerStore::in_process().with_clock(clock.clone());
    let breaker = store.breaker("model", config.clone()).unwrap();
    let mut run = Run {
        clock,
        breaker,
        model: Model::new(config.clone()),
        held: Vec::new(),
        failure_odds: rng.gen_range(0.15..0.85),
    };
    let mut log: Vec<String> = Vec::new();
    for step in 0..STEPS {
        let op = run.pick(&mut rng);
        log.push(format!("{step:>3} t={}ms {op:?}", run.now_ms()));
        if let Err(mismatch) = run.step(&op) {
            let recent = log[log.len().saturating_sub(25)..].join("\n  ");
            panic!(
                "model and breaker disagree: seed {seed}, step {step}: {mismatch}\n\
                 config: {config:?}\nmodel: {:?}\nlast operations:\n  {recent}\n\
                 reproduce with TENANTML_MODEL_SEED={seed}",
                run.model
            );
        }
    }
}

#[test]
fn the_breaker_behaves_like_the_model() {
    if let Ok(seed) = std::env::var("TENANTML_MODEL_SEED") {
        run_sequence(seed.parse().expect("TENANTML_MODEL_SEED is a number"));
        return;
    }
    for seed in 0..SEQUENCES {
        run_sequence(seed);
    }
}

/// The generated sequences reach every state and transition, so agreement means something.
#[test]
fn the_sequences_cover_every_transition() {
    let mut seen = std::collections::HashSet::new();
    let mut rejections = [0u64; 3];
    for seed in 0..SEQUENCES {
        let mut rng = StdRng::seed_from_u64(seed);
        let config = random_config(&mut rng);
        let clock = Arc::new(FakeClock::new());
        let store = BreakerStore::in_process().with_clock(clock.clone());
        let breaker = store.breaker("model", config.clone()).unwrap();
        let mut run = Run {
            clock,
            breaker,
            model: Model::new(config),
            held: Vec::new(),
            failure_odds: rng.gen_range(0.15..0.85),
        };
        for _ in 0..STEPS {
            let op = run.pick(&mut rng);
            let before = run.model.transitions;
            if matches!(op, Op::Allow) {
                let state = run.model.state;
                let rejected_before = run.model.rejected;
                run.step(&op).unwrap();
                if run.model.rejected > rejected_before {
                    match state {
                        State::Open => rejections[0] += 1,
                        State::HalfOpen => rejections[1] += 1,
                        _ => rejections[2] += 1,
                    }
                }
            } else {
                run.step(&op).unwrap();
            }
            if run.model.transitions > before {
                let (t, _) = run.model.last.unwrap();
                seen.insert((t.from, t.to));
            }
        }
    }
    use State::*;
    for t in [
        (Closed, Open),
        (Open, HalfOpen),
        (HalfOpen, Closed),
        (HalfOpen, Open),
        (Closed, ForcedOpen),
        (Open, Disabled),
        (ForcedOpen, Closed),
        (Disabled, Closed),
    ] {
        assert!(
            seen.contains(&t),
            "no sequence produced {t:?}; seen {seen:?}"
        );
    }
    assert!(
        rejections.iter().all(|&n| n > 0),
        "rejections by state: {rejections:?}"
    );
}
