//! C ABI of streaming drift detectors (`tenantml::drift::StreamingDetector`: Page-Hinkley
//! and ADWIN behind one opaque handle whose state travels as JSON, so a PHP worker can
//! keep it between requests) and of the retraining policy (stateless: the caller passes
//! the policy state in and stores the one it gets back).

use std::ffi::c_char;

use super::model::slice_arg;
use super::TmlStatus;
use super::{borrow, free_handle, guard, handle_out, optional_str_arg, out, str_arg, string_out};
use crate::drift::{PolicyInput, PolicyState, RetrainPolicy, StreamingDetector};
use crate::error::{Error, Result};

/// A streaming drift detector. Opaque; free with `tml_drift_detector_free`. Updates need
/// exclusive use; reading the state may run on many threads at once.
pub struct TmlDriftDetector {
    detector: StreamingDetector,
}

fn mutable<'a>(ptr: *mut TmlDriftDetector) -> Result<&'a mut StreamingDetector> {
    // SAFETY: a non-NULL handle is live and not used by another thread (API contract).
    unsafe { ptr.as_mut() }
        .map(|d| &mut d.detector)
        .ok_or(Error::NullPointer("detector"))
}

/// A fresh detector of `kind` (`"page_hinkley"` or `"adwin"`) with `params_json` (NULL =
/// defaults): Page-Hinkley `{"min_instances": 30, "delta": 0.005, "threshold": 50,
/// "alpha": 0.9999, "mode": "both" | "up" | "down"}`, ADWIN `{"delta": 0.002, "clock":
/// 32, "max_buckets": 5, "min_window_length": 5, "grace_period": 10}` (river's defaults;
/// unknown fields are refused).
///
/// # Safety
/// `kind` is NUL-terminated; `params_json` is NULL or NUL-terminated; `out_detector` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_detector_new(
    kind: *const c_char,
    params_json: *const c_char,
    out_detector: *mut *mut TmlDriftDetector,
) -> TmlStatus {
    guard(|| {
        out(out_detector, "out_detector")?;
        let detector = StreamingDetector::new(
            str_arg(kind, "kind")?,
            optional_str_arg(params_json, "params_json")?,
        )?;
        handle_out(TmlDriftDetector { detector }, out_detector, "out_detector")
    })
}

/// A detector restored from `tml_drift_detector_state_json` output; a malformed or
/// tampered state is `TML_STATUS_PARSE_ERROR` (or `INVALID_ARGUMENT` for settings outside
/// their domain).
///
/// # Safety
/// `state_json` is NUL-terminated; `out_detector` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_detector_from_json(
    state_json: *const c_char,
    out_detector: *mut *mut TmlDriftDetector,
) -> TmlStatus {
    guard(|| {
        out(out_detector, "out_detector")?;
        let detector = StreamingDetector::from_json(str_arg(state_json, "state_json")?)?;
        handle_out(TmlDriftDetector { detector }, out_detector, "out_detector")
    })
}

/// Releases a detector. NULL is ignored.
///
/// # Safety
/// `detector` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_detector_free(detector: *mut TmlDriftDetector) {
    free_handle(detector)
}

/// Adds one value; `*out_detected` says whether drift was detected at it (the detector
/// then restarts on its next value). A non-finite value is `TML_STATUS_INVALID_ARGUMENT`
/// and leaves the state unchanged.
///
/// # Safety
/// `detector` is a live handle used by no other thread; `out_detected` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_detector_update(
    detector: *mut TmlDriftDetector,
    x: f64,
    out_detected: *mut bool,
) -> TmlStatus {
    guard(|| {
        let d = mutable(detector)?;
        let slot = out(out_detected, "out_detected")?;
        *slot = d.update(x)?;
        Ok(())
    })
}

/// Adds `n` values in order. `*out_first` is the index of the first value at which drift
/// was detected, or -1; `*out_detections` (may be NULL) the number of detections. A
/// non-finite value fails the call before any value is added.
///
/// # Safety
/// `detector` is a live handle used by no other thread; `xs` points to `n` readable
/// doubles (NULL only when `n` is 0); `out_first` is writable; `out_detections` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_detector_update_many(
    detector: *mut TmlDriftDetector,
    xs: *const f64,
    n: usize,
    out_first: *mut i64,
    out_detections: *mut usize,
) -> TmlStatus {
    guard(|| {
        let d = mutable(detector)?;
        let first = out(out_first, "out_first")?;
        let run = d.update_many(slice_arg(xs, n, "xs")?)?;
        *first = run.first_detection.map_or(-1, |i| i as i64);
        if !out_detections.is_null() {
            *out_detections = run.detections;
        }
        Ok(())
    })
}

/// The detector's state as JSON, `{"kind": "page_hinkley" | "adwin", "state": {...}}`,
/// for `tml_drift_detector_from_json`. Free with `tml_string_free`.
///
/// # Safety
/// `detector` is a live handle; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_detector_state_json(
    detector: *const TmlDriftDetector,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let d = &borrow(detector, "detector")?.detector;
        out(out_json, "out_json")?;
        string_out(d.to_json()?, out_json, "out_json")
    })
}

/// The retraining policy, stateless: evaluates `policy_json` (NULL = defaults: 3
/// consecutive drift reports, error-stream drift, backtest error 20% above baseline, model
/// older than 30 days; e.g. `{"consecutive_drift_reports": 2, "max_model_age_secs":
/// null}`) on `input_json` (`{"now", "model_trained_at", "dataset_drift",
/// "error_drift_detected", "backtest_error", "baseline_error"}`, unix seconds) against
/// `state_json` (NULL or "" = a fresh state; otherwise the `state` of an earlier answer).
/// Writes `{"decision": {"retrain", "reasons": [{"trigger", ...}], "at"}, "state": {...}}`;
/// the caller stores `state` and passes it to the next call. Free with `tml_string_free`.
///
/// # Safety
/// String arguments are NULL or NUL-terminated (`input_json` must not be NULL);
/// `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_policy_decide_json(
    policy_json: *const c_char,
    state_json: *const c_char,
    input_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let policy = match optional_str_arg(policy_json, "policy_json")? {
            Some(json) => RetrainPolicy::from_json(json)?,
            None => RetrainPolicy::default(),
        };
        let state = match optional_str_arg(state_json, "state_json")? {
            Some(json) if !json.trim().is_empty() => PolicyState::from_json(json)?,
            _ => PolicyState::default(),
        };
        let input: PolicyInput = serde_json::from_str(str_arg(input_json, "input_json")?)
            .map_err(|e| Error::Parse(format!("policy input: {e}")))?;
        let (decision, state) = policy.decide(&state, &input)?;
        let answer = serde_json::json!({"decision": decision, "state": state});
        string_out(answer.to_string(), out_json, "out_json")
    })
}
