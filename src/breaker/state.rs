//! Breaker states, the table of legal transitions, and the packed control word that holds
//! the state in one atomic so every change is a single compare-and-swap.

use serde::{Deserialize, Serialize};

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Calls flow; outcomes are counted.
    Closed = 0,
    /// Calls are rejected until the open wait has passed.
    Open = 1,
    /// A few probe calls are let through to test the dependency.
    HalfOpen = 2,
    /// Rejects every call until [`reset`](crate::breaker::Breaker::reset).
    ForcedOpen = 3,
    /// Lets every call through and never trips.
    Disabled = 4,
}

impl State {
    pub(crate) fn from_bits(bits: u64) -> State {
        match bits & 0b111 {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            _ => State::Disabled,
        }
    }

    /// The name used in JSON and metrics (`half_open`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }

    /// Every state, in code order.
    pub const ALL: [State; 5] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
    ];

    /// The transition table. Automatic moves follow the classic cycle
    /// closed -> open -> half-open -> closed | open; the manual operations (force open,
    /// disable, reset to closed) may start anywhere. Closed -> half-open and open -> closed
    /// without a reset are illegal.
    pub fn can_become(self, to: State, cause: Cause) -> bool {
        use State::*;
        match cause {
            Cause::Manual => matches!(to, ForcedOpen | Disabled | Closed),
            Cause::Automatic => matches!(
                (self, to),
                (Closed, Open) | (Open, HalfOpen) | (HalfOpen, Closed) | (HalfOpen, Open)
            ),
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Driven by recorded outcomes and time.
    Automatic,
    /// Force open, disable or reset.
    Manual,
}

/// A state change, returned to the caller that caused it (for logging) and kept in the
/// slot so every process can see the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
}

/// The control word: `state:3 | openings:5 | epoch:16 | until_ms:40`.
///
/// `epoch` changes with every transition, so permits and window entries from an earlier
/// period are recognised and ignored without resetting anything. `openings` counts
/// consecutive openings for the backoff. `until_ms` is when an open breaker lets probes
/// through (monotonic milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Control(pub u64);

pub(crate) const EPOCH_MASK: u64 = 0xFFFF;
const UNTIL_MASK: u64 = (1 << 40) - 1;
pub(crate) const MAX_OPENINGS: u32 = 31;

impl Control {
    pub fn new(state: State, openings: u32, epoch: u64, until_ms: u64) -> Control {
        Control(
            (state as u64)
                | (u64::from(openings.min(MAX_OPENINGS)) << 3)
                | ((epoch & EPOCH_MASK) << 8)
                | ((until_ms & UNTIL_MASK) << 24),
        )
    }
    #[inline]
    pub fn state(self) -> State {
        State::from_bits(self.0)
    }
    #[inline]
    pub fn openings(self) -> u32 {
        ((self.0 >> 3) & 0x1F) as u32
    }
    #[inline]
    pub fn epoch(self) -> u64 {
        (self.0 >> 8) & EPOCH_MASK
    }
    #[inline]
    pub fn until_ms(self) -> u64 {
        self.0 >> 24
    }
    /// The same breaker moved to `to`, in the next epoch.
    pub fn next(self, to: State, openings: u32, until_ms: u64) -> Control {
        Control::new(to, openings, self.epoch().wrapping_add(1), until_ms)
    }
}

/// The last transition as stored in a slot: `from:4 | to:4 | at_ms:56`, zero when none.
pub(crate) fn pack_last_transition(t: Transition, at_ms: u64) -> u64 {
    // `from + 1` keeps a real transition from packing to zero.
    (t.from as u64 + 1) | ((t.to as u64) << 4) | (at_ms << 8)
}

pub(crate) fn unpack_last_transition(word: u64) -> Option<(Transition, u64)> {
    if word == 0 {
        return None;
    }
    let from = State::from_bits((word & 0xF) - 1);
    let to = State::from_bits((word >> 4) & 0xF);
    Some((Transition { from, to }, word >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_word_round_trips() {
        let c = Control::new(State::HalfOpen, 7, 0xBEEF, (1 << 40) - 1);
        assert_eq!(c.state(), State::HalfOpen);
        assert_eq!(c.openings(), 7);
        assert_eq!(c.epoch(), 0xBEEF);
        assert_eq!(c.until_ms(), (1 << 40) - 1);
        let n = c.next(State::Open, 40, 5);
        assert_eq!(
            (n.state(), n.openings(), n.epoch(), n.until_ms()),
            (State::Open, 31, 0xBEF0, 5)
        );
        assert_eq!(
            Control::new(State::Open, 0, 0xFFFF, 0)
                .next(State::HalfOpen, 0, 0)
                .epoch(),
            0
        );
    }

    #[test]
    fn zeroed_memory_is_a_closed_breaker() {
        assert_eq!(Control(0).state(), State::Closed);
    }

    #[test]
    fn transition_table() {
        use State::*;
        let automatic: Vec<(State, State)> = State::ALL
            .iter()
            .flat_map(|&f| State::ALL.iter().map(move |&t| (f, t)))
            .filter(|&(f, t)| f.can_become(t, Cause::Automatic))
            .collect();
        assert_eq!(
            automatic,
            [
                (Closed, Open),
                (Open, HalfOpen),
                (HalfOpen, Closed),
                (HalfOpen, Open)
            ]
        );
        assert!(!Closed.can_become(HalfOpen, Cause::Automatic));
        assert!(!Open.can_become(Closed, Cause::Automatic));
        assert!(!ForcedOpen.can_become(HalfOpen, Cause::Automatic));
        assert!(!Disabled.can_become(Open, Cause::Automatic));
        for s in State::ALL {
            assert!(s.can_become(Closed, Cause::Manual));
            assert!(s.can_become(ForcedOpen, Cause::Manual));
            assert!(!s.can_become(HalfOpen, Cause::Manual));
        }
    }

    #[test]
    fn last_transition_packs() {
        let t = Transition {
            from: State::Closed,
            to: State::Open,
        };
        assert_eq!(
            unpack_last_transition(pack_last_transition(t, 12345)),
            Some((t, 12345))
        );
        assert_eq!(unpack_last_transition(0), None);
    }
}
