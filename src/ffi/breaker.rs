//! C ABI of the circuit breaker: stores, breakers, permits.

use std::ffi::c_char;
use std::time::Duration;

use super::{
    borrow, free_handle, guard, handle_out, optional_str_arg, out, str_arg, string_out, TmlStatus,
};
use crate::breaker::{
    Breaker, BreakerConfig, BreakerStore, OnConfigMismatch, Outcome, Permit, SharedStoreOptions,
    State, Transition,
};
use crate::error::Error;

/// A set of breakers: in-process, or shared by every process on the host. Opaque; free
/// with `tml_breaker_store_free`. Thread-safe.
pub struct TmlBreakerStore {
    pub(crate) store: BreakerStore,
}

/// One circuit breaker. Opaque; free with `tml_breaker_free`. Thread-safe: one handle may
/// be used from many threads at once. It keeps its store alive.
pub struct TmlBreaker {
    breaker: Breaker,
}

/// Breaker states.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlBreakerState {
    /// Calls flow.
    Closed = 0,
    /// Calls are rejected until the open wait has passed.
    Open = 1,
    /// Probe calls test the dependency.
    HalfOpen = 2,
    /// Rejects every call until reset.
    ForcedOpen = 3,
    /// Lets every call through, never trips.
    Disabled = 4,
}

impl From<State> for TmlBreakerState {
    fn from(s: State) -> Self {
        match s {
            State::Closed => TmlBreakerState::Closed,
            State::Open => TmlBreakerState::Open,
            State::HalfOpen => TmlBreakerState::HalfOpen,
            State::ForcedOpen => TmlBreakerState::ForcedOpen,
            State::Disabled => TmlBreakerState::Disabled,
        }
    }
}

/// Outcome of a guarded call, passed to `tml_breaker_record` as a `uint32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlOutcome {
    /// The call succeeded.
    Success = 0,
    /// The call failed.
    Failure = 1,
}

/// A state change caused by the call that returned it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TmlTransition {
    /// Whether a transition happened; `from`/`to` are meaningful only then.
    pub occurred: bool,
    /// State before.
    pub from: TmlBreakerState,
    /// State after.
    pub to: TmlBreakerState,
}

impl From<Option<Transition>> for TmlTransition {
    fn from(t: Option<Transition>) -> Self {
        match t {
            Some(t) => TmlTransition {
                occurred: true,
                from: t.from.into(),
                to: t.to.into(),
            },
            None => TmlTransition {
                occurred: false,
                from: TmlBreakerState::Closed,
                to: TmlBreakerState::Closed,
            },
        }
    }
}

/// Leave to make one call, filled by `tml_breaker_allow` and handed back unchanged to
/// `tml_breaker_record`. Plain data: keep it on the stack or reuse one per breaker.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TmlPermit {
    /// Monotonic nanoseconds when the call was allowed.
    pub started_ns: u64,
    /// When `tml_breaker_allow` returns `TML_STATUS_CIRCUIT_OPEN`: milliseconds until a
    /// probe may pass; `UINT64_MAX` while forced open. 0 when the call was allowed.
    pub retry_after_ms: u64,
    /// Breaker period the permit belongs to.
    pub epoch: u32,
    /// 0 for an ordinary call; n > 0 for half-open probe lease n - 1.
    pub lease: u32,
    /// A transition this allow caused (open -> half-open).
    pub transition: TmlTransition,
}

/// Creates a store private to this process.
#[no_mangle]
pub extern "C" fn tml_breaker_store_new(out_store: *mut *mut TmlBreakerStore) -> TmlStatus {
    guard(|| {
        handle_out(
            TmlBreakerStore {
                store: BreakerStore::in_process(),
            },
            out_store,
            "out_store",
        )
    })
}

/// Opens (creating if needed) the host-wide store file. `options_json` may be NULL for
/// the defaults: `{"dir": "/dev/shm", "file_name": "tenantml-breakers.shm",
/// "capacity": 128, "mode": 432}` (mode 432 = 0660).
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_store_open_shared(
    options_json: *const c_char,
    out_store: *mut *mut TmlBreakerStore,
) -> TmlStatus {
    guard(|| {
        out(out_store, "out_store")?;
        let options = match optional_str_arg(options_json, "options_json")? {
            Some(json) => serde_json::from_str::<SharedStoreOptions>(json)?,
            None => SharedStoreOptions::default(),
        };
        let store = BreakerStore::shared(&options)?;
        handle_out(TmlBreakerStore { store }, out_store, "out_store")
    })
}

/// Releases a store. NULL is ignored. Breakers opened from it stay usable.
///
/// # Safety
/// `store` is NULL or a live store handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_store_free(store: *mut TmlBreakerStore) {
    free_handle(store)
}

/// JSON array of the snapshots of every breaker in the store, sorted by name. Free the
/// string with `tml_string_free`.
///
/// # Safety
/// `store` is NULL or a live store handle.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_store_snapshot_json(
    store: *const TmlBreakerStore,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let store = borrow(store, "store")?;
        out(out_json, "out_json")?;
        let json = serde_json::to_string(&store.store.snapshots()?)?;
        string_out(json, out_json, "out_json")
    })
}

/// Prometheus text exposition (format 0.0.4) of every breaker in the store. Free the
/// string with `tml_string_free`.
///
/// # Safety
/// `store` is NULL or a live store handle.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_store_metrics(
    store: *const TmlBreakerStore,
    out_text: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let store = borrow(store, "store")?;
        out(out_text, "out_text")?;
        let text = crate::telemetry::breaker_metrics(&store.store)?;
        string_out(text, out_text, "out_text")
    })
}

/// Opens (creating if needed) the breaker `name` (1..64 bytes of UTF-8). `config_json`
/// may be NULL for the defaults. If the breaker exists with other settings the call fails
/// with `TML_STATUS_CONFIG_MISMATCH`, unless `adopt_stored_config` is true.
///
/// # Safety
/// `store` is NULL or a live store; strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_new(
    store: *const TmlBreakerStore,
    name: *const c_char,
    config_json: *const c_char,
    adopt_stored_config: bool,
    out_breaker: *mut *mut TmlBreaker,
) -> TmlStatus {
    guard(|| {
        let store = borrow(store, "store")?;
        let name = str_arg(name, "name")?;
        out(out_breaker, "out_breaker")?;
        let config = match optional_str_arg(config_json, "config_json")? {
            Some(json) => BreakerConfig::from_json(json)?,
            None => BreakerConfig::default(),
        };
        let policy = if adopt_stored_config {
            OnConfigMismatch::AdoptStored
        } else {
            OnConfigMismatch::Fail
        };
        let breaker = store.store.breaker_with(name, config, policy)?;
        handle_out(TmlBreaker { breaker }, out_breaker, "out_breaker")
    })
}

/// Releases a breaker handle. NULL is ignored. The breaker's state stays in its store.
///
/// # Safety
/// `breaker` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_free(breaker: *mut TmlBreaker) {
    free_handle(breaker)
}

/// Marks a permit that must not be recorded (rejected, or already recorded through a
/// `TmlBreakerCall`): epochs are 16-bit, so this value is never a real one.
const SPENT_EPOCH: u32 = u32::MAX;

fn allow_into(breaker: &Breaker, slot: &mut TmlPermit) -> Result<(), Error> {
    match breaker.allow() {
        Ok(permit) => {
            *slot = TmlPermit {
                started_ns: permit.started_ns,
                retry_after_ms: 0,
                epoch: permit.epoch_u32(),
                lease: permit.lease_u32(),
                transition: permit.transition.into(),
            };
            Ok(())
        }
        Err(rejected) => {
            *slot = TmlPermit {
                started_ns: 0,
                retry_after_ms: rejected.retry_after.map_or(u64::MAX, |d| {
                    d.as_millis().min(u128::from(u64::MAX - 1)) as u64
                }),
                epoch: SPENT_EPOCH,
                lease: 0,
                transition: rejected.transition.into(),
            };
            Err(breaker.rejection_error(&rejected))
        }
    }
}

fn outcome_from(code: u32) -> Result<Outcome, Error> {
    match code {
        0 => Ok(Outcome::Success),
        1 => Ok(Outcome::Failure),
        other => Err(Error::InvalidArgument(format!(
            "outcome must be TML_OUTCOME_SUCCESS (0) or TML_OUTCOME_FAILURE (1), got {other}"
        ))),
    }
}

fn record_from(
    breaker: &Breaker,
    raw: &TmlPermit,
    outcome: Outcome,
    duration: Option<Duration>,
) -> Result<TmlTransition, Error> {
    let permit = Permit::from_parts(raw.started_ns, raw.epoch, raw.lease)?;
    Ok(breaker.record(&permit, outcome, duration).into())
}

/// Asks to make one call. `TML_STATUS_OK`: make the call, then pass the permit to
/// `tml_breaker_record`. `TML_STATUS_CIRCUIT_OPEN`: do not make the call; this status is the
/// one case where the permit is still written, with `retry_after_ms` and `transition` (and
/// marked so that recording it is an error).
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_permit` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_allow(
    breaker: *const TmlBreaker,
    out_permit: *mut TmlPermit,
) -> TmlStatus {
    guard(|| {
        let breaker = &borrow(breaker, "breaker")?.breaker;
        allow_into(breaker, out(out_permit, "out_permit")?)
    })
}

/// Records the outcome of a call made under `permit`. `outcome` is a `TmlOutcome` value.
/// `duration_ns` < 0 means "measure from the permit"; otherwise it is the call's duration.
/// `out_transition` may be NULL; if given it receives the transition this outcome caused.
///
/// # Safety
/// `breaker` is NULL or a live handle; `permit` is NULL or readable; `out_transition` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_record(
    breaker: *const TmlBreaker,
    permit: *const TmlPermit,
    outcome: u32,
    duration_ns: i64,
    out_transition: *mut TmlTransition,
) -> TmlStatus {
    guard(|| {
        let breaker = &borrow(breaker, "breaker")?.breaker;
        let raw = borrow(permit, "permit")?;
        let duration = u64::try_from(duration_ns).ok().map(Duration::from_nanos);
        let transition = record_from(breaker, raw, outcome_from(outcome)?, duration)?;
        if let Some(slot) = out_transition.as_mut() {
            *slot = transition;
        }
        Ok(())
    })
}

/// One guarded call in a caller-owned struct: the fastest path for FFI callers such as PHP,
/// whose per-argument marshalling cost dominates (one argument per call instead of 2 + 5).
/// Set `breaker` once and reuse the struct; one call may be in flight per struct.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TmlBreakerCall {
    /// The breaker guarding the call (borrowed; must outlive the struct's use).
    pub breaker: *const TmlBreaker,
    /// Written by `tml_breaker_call_begin`, as `tml_breaker_allow` writes a permit.
    pub permit: TmlPermit,
    /// Written by `tml_breaker_call_success`/`_failure`: the transition the outcome caused.
    pub transition: TmlTransition,
}

unsafe fn end_call(call: *mut TmlBreakerCall, outcome: Outcome) -> TmlStatus {
    guard(|| {
        let call = out(call, "call")?;
        let breaker = &borrow(call.breaker, "call.breaker")?.breaker;
        call.transition = record_from(breaker, &call.permit, outcome, None)?;
        call.permit.epoch = SPENT_EPOCH;
        Ok(())
    })
}

/// Starts a guarded call: like `tml_breaker_allow` into `call->permit`. On
/// `TML_STATUS_CIRCUIT_OPEN`, `call->permit.retry_after_ms` says when to retry.
///
/// # Safety
/// `call` is NULL or a writable `TmlBreakerCall` whose `breaker` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_call_begin(call: *mut TmlBreakerCall) -> TmlStatus {
    guard(|| {
        let call = out(call, "call")?;
        let breaker = &borrow(call.breaker, "call.breaker")?.breaker;
        allow_into(breaker, &mut call.permit)
    })
}

/// Ends a guarded call as a success (duration measured from `call_begin`). Ending a call
/// twice, or one that was rejected, is `TML_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
/// As `tml_breaker_call_begin`.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_call_success(call: *mut TmlBreakerCall) -> TmlStatus {
    end_call(call, Outcome::Success)
}

/// Ends a guarded call as a failure (duration measured from `call_begin`).
///
/// # Safety
/// As `tml_breaker_call_begin`.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_call_failure(call: *mut TmlBreakerCall) -> TmlStatus {
    end_call(call, Outcome::Failure)
}

/// Current state.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_state` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_state(
    breaker: *const TmlBreaker,
    out_state: *mut TmlBreakerState,
) -> TmlStatus {
    guard(|| {
        let breaker = &borrow(breaker, "breaker")?.breaker;
        *out(out_state, "out_state")? = breaker.state().into();
        Ok(())
    })
}

/// JSON snapshot of the breaker (state, counters, window, last transition). Free the
/// string with `tml_string_free`.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_snapshot_json(
    breaker: *const TmlBreaker,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let breaker = &borrow(breaker, "breaker")?.breaker;
        out(out_json, "out_json")?;
        string_out(
            serde_json::to_string(&breaker.snapshot())?,
            out_json,
            "out_json",
        )
    })
}

/// The settings in force as JSON (the stored ones when adopted). Free with
/// `tml_string_free`.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_config_json(
    breaker: *const TmlBreaker,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let breaker = &borrow(breaker, "breaker")?.breaker;
        out(out_json, "out_json")?;
        string_out(
            serde_json::to_string(breaker.config())?,
            out_json,
            "out_json",
        )
    })
}

unsafe fn manual(
    breaker: *const TmlBreaker,
    out_transition: *mut TmlTransition,
    op: fn(&Breaker) -> Option<Transition>,
) -> TmlStatus {
    guard(|| {
        let breaker = &borrow(breaker, "breaker")?.breaker;
        let transition = op(breaker);
        if let Some(slot) = out_transition.as_mut() {
            *slot = transition.into();
        }
        Ok(())
    })
}

/// Rejects every call, host-wide for a shared store, until `tml_breaker_reset`.
/// `out_transition` may be NULL.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_transition` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_force_open(
    breaker: *const TmlBreaker,
    out_transition: *mut TmlTransition,
) -> TmlStatus {
    manual(breaker, out_transition, Breaker::force_open)
}

/// Lets every call through and never trips, until `tml_breaker_reset`.
/// `out_transition` may be NULL.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_transition` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_disable(
    breaker: *const TmlBreaker,
    out_transition: *mut TmlTransition,
) -> TmlStatus {
    manual(breaker, out_transition, Breaker::disable)
}

/// Back to closed with empty windows and no backoff history. `out_transition` may be NULL.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_transition` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_breaker_reset(
    breaker: *const TmlBreaker,
    out_transition: *mut TmlTransition,
) -> TmlStatus {
    manual(breaker, out_transition, Breaker::reset)
}
