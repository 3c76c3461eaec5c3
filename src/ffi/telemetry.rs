//! C ABI of telemetry: the host-wide metrics file, recording from the caller's side, and
//! the Prometheus page.

use std::ffi::c_char;
use std::path::PathBuf;
use std::time::Duration;

use super::breaker::TmlBreakerStore;
use super::{guard, optional_str_arg, out, str_arg, string_out, TmlStatus};
use crate::telemetry::{self, TelemetryOptions};

/// Opens (creating if needed) the host-wide metrics file and makes it the process-global
/// recorder, which every prediction made through this library then counts into. `path`
/// NULL means `/dev/shm/tenantml-metrics.shm`; `capacity` 0 means 1024 series (an existing
/// file keeps its own). Calling it again with the file already installed does nothing, so
/// a PHP worker may call it on every request.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tml_telemetry_open_shared(
    path: *const c_char,
    capacity: u32,
) -> TmlStatus {
    guard(|| {
        let mut options = TelemetryOptions::default();
        if let Some(p) = optional_str_arg(path, "path")? {
            options.path = PathBuf::from(p);
        }
        if capacity != 0 {
            options.capacity = capacity;
        }
        telemetry::install_shared(&options).map(|_| ())
    })
}

/// Counts one prediction made outside this library (e.g. a remaining HTTP call) in the
/// global recorder: `model` and `outcome` are 1..64 bytes of UTF-8, `latency_ns` how long
/// it took. `TML_STATUS_STORE_FULL` when the table has no room for a new series.
///
/// # Safety
/// Strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tml_telemetry_record_prediction(
    model: *const c_char,
    outcome: *const c_char,
    latency_ns: u64,
) -> TmlStatus {
    guard(|| {
        let model = str_arg(model, "model")?;
        let outcome = str_arg(outcome, "outcome")?;
        telemetry::global().record_prediction(model, outcome, Duration::from_nanos(latency_ns))
    })
}

/// Sets `tenantml_model_version_in_use{model}` in the global recorder.
///
/// # Safety
/// `model` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tml_telemetry_set_model_version(
    model: *const c_char,
    version: u64,
) -> TmlStatus {
    guard(|| telemetry::global().set_model_version(str_arg(model, "model")?, version))
}

/// Sets `tenantml_drift_score{model,feature}` (each feature's statistic) and
/// `tenantml_drift_detected{model}` in the global recorder from a `DriftReport` JSON (as
/// the drift functions return it).
///
/// # Safety
/// Strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tml_telemetry_record_drift(
    model: *const c_char,
    report_json: *const c_char,
) -> TmlStatus {
    guard(|| {
        let model = str_arg(model, "model")?;
        let report: crate::drift::DriftReport =
            serde_json::from_str(str_arg(report_json, "report_json")?)
                .map_err(|e| crate::Error::Parse(format!("drift report: {e}")))?;
        telemetry::global().record_drift(model, &report)
    })
}

/// The Prometheus page (text format 0.0.4) of the global recorder, followed by every
/// breaker of `breakers` when it is not NULL. Free the string with `tml_string_free`.
///
/// # Safety
/// `breakers` is NULL or a live store handle.
#[no_mangle]
pub unsafe extern "C" fn tml_telemetry_metrics(
    breakers: *const TmlBreakerStore,
    out_text: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_text, "out_text")?;
        let store = breakers.as_ref().map(|b| &b.store);
        string_out(telemetry::metrics_page(store)?, out_text, "out_text")
    })
}
