//! C ABI of batch drift detection (`tenantml::drift`): a report between two matrices, a
//! bounded reference built from a matrix and reports against it, the drift reference a
//! model file carries (features and predictions), and prediction drift. The streaming
//! detectors and the retraining policy are in [`super::drift_stream`].
//!
//! Matrices are `double` arrays of `n_rows * n_features` values, row-major (`layout` 0,
//! `TML_MATRIX_LAYOUT_ROW_MAJOR`) or column-major (1, one feature after another: what PHP
//! packs fastest from columns keyed by name); NaN and infinities are missing values, dropped and counted per feature (`missing_reference`,
//! `missing_current`); a feature with no finite value left is an error. Schemas, configs,
//! references and reports cross as JSON; every string the library returns is freed with
//! `tml_string_free`.
//!
//! - schema (NULL = numeric features named `x0`, `x1`, ...):
//!   `{"names": ["amount", "country"], "categorical": [1]}` (both keys optional);
//! - config (NULL = defaults): a `DriftConfig`, e.g. `{"numeric_test": "psi",
//!   "p_value_threshold": 0.01, "bonferroni": true, "feature_tests": {"country": "chi2"}}`;
//! - report: a `DriftReport`, `{"features": [{"name", "kind", "test", "statistic",
//!   "p_value", "ks_method", "threshold", "drifted", "n_reference", "n_current",
//!   "missing_reference", "missing_current"}], "n_drifted", "share_drifted",
//!   "drift_share", "dataset_drift", "bonferroni"}`;
//! - reference: a `ReferenceSample` (`{"max_per_feature", "features"}`) or a model's
//!   `ModelReference` (`{"features": <ReferenceSample>, "predictions": <column> | null}`);
//!   every function taking a reference accepts both.

use std::ffi::c_char;

use ndarray::{ArrayView2, ShapeBuilder};
use serde::Deserialize;

use super::model::{matrix_arg, slice_arg};
use super::TmlStatus;
use super::{guard, optional_str_arg, out, str_arg, string_out};
use crate::drift::{
    drift_report, DriftConfig, FeatureSchema, ModelReference, ReferenceSample,
    DEFAULT_REFERENCE_SIZE,
};
use crate::error::{Error, Result};
use crate::trees::format;

/// How a matrix argument is laid out in memory (the `layout` argument's values).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlMatrixLayout {
    /// Row after row: `x[row * n_features + feature]`.
    RowMajor = 0,
    /// Feature after feature: `x[feature * n_rows + row]`.
    ColumnMajor = 1,
}

/// Borrows a matrix in the given `layout` (a [`TmlMatrixLayout`] value).
///
/// # Safety
/// As [`matrix_arg`].
unsafe fn layout_matrix<'a>(
    ptr: *const f64,
    n_rows: usize,
    n_features: usize,
    layout: u32,
    what: &'static str,
) -> Result<ArrayView2<'a, f64>> {
    match layout {
        0 => matrix_arg(ptr, n_rows, n_features, what),
        1 => {
            let row_major = matrix_arg(ptr, n_features, n_rows, what)?;
            let values = row_major.to_slice().expect("contiguous");
            Ok(ArrayView2::from_shape((n_rows, n_features).f(), values).expect("length checked"))
        }
        other => Err(Error::InvalidArgument(format!(
            "layout must be 0 (row-major) or 1 (column-major), got {other}"
        ))),
    }
}

/// The schema argument: names (default `x0..`) and categorical column indices.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaArg {
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    categorical: Vec<usize>,
}

fn schema_arg(json: Option<&str>, n_features: usize) -> Result<FeatureSchema> {
    let arg = match json {
        Some(json) => serde_json::from_str::<SchemaArg>(json)
            .map_err(|e| Error::Parse(format!("drift schema: {e}")))?,
        None => SchemaArg {
            names: None,
            categorical: Vec::new(),
        },
    };
    let names = match arg.names {
        Some(names) if names.len() != n_features => {
            return Err(Error::InvalidArgument(format!(
                "the drift schema names {} features, the matrices have {n_features}",
                names.len()
            )))
        }
        Some(names) => names,
        None => (0..n_features).map(|j| format!("x{j}")).collect(),
    };
    FeatureSchema::new(names, &arg.categorical)
}

fn config_arg(json: Option<&str>) -> Result<DriftConfig> {
    json.map_or_else(|| Ok(DriftConfig::default()), DriftConfig::from_json)
}

fn reference_arg(json: *const c_char) -> Result<ModelReference> {
    // SAFETY: forwarded from the exported function's contract.
    ModelReference::from_json(unsafe { str_arg(json, "reference_json") }?)
}

/// The drift reference stored in a model file's metadata; an error naming the file's kind
/// when it stores none.
fn model_reference(bytes: &[u8]) -> Result<ModelReference> {
    let info = format::peek(bytes)?;
    ModelReference::from_metadata(&info.metadata)?.ok_or_else(|| {
        Error::InvalidArgument(format!(
            "this '{}' model file stores no drift reference (it was written before references \
             were kept, or by a model without training data)",
            info.kind
        ))
    })
}

/// Compares `current` (`n_current` rows) with `reference` (`n_reference` rows), both
/// with `n_features` columns in `layout` (0 row-major, 1 column-major), feature by feature, and writes the `DriftReport`
/// JSON to `out_json`. `schema_json` and `config_json` may be NULL (see the module docs).
///
/// # Safety
/// `reference` and `current` point to `n_reference * n_features` and `n_current *
/// n_features` readable doubles; string arguments are NULL or NUL-terminated; `out_json`
/// is writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_drift_report_json(
    reference: *const f64,
    n_reference: usize,
    current: *const f64,
    n_current: usize,
    n_features: usize,
    layout: u32,
    schema_json: *const c_char,
    config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let reference = layout_matrix(reference, n_reference, n_features, layout, "reference")?;
        let current = layout_matrix(current, n_current, n_features, layout, "current")?;
        let schema = schema_arg(optional_str_arg(schema_json, "schema_json")?, n_features)?;
        let config = config_arg(optional_str_arg(config_json, "config_json")?)?;
        let report = drift_report(reference, current, &schema, &config)?;
        string_out(report.to_json()?, out_json, "out_json")
    })
}

/// Summarises `data` (`n_rows` x `n_features` in `layout`) into a reference JSON (a
/// `ReferenceSample`) keeping at most `max_per_feature` values per numeric feature (0 =
/// the default, 2000; otherwise at least 2), to store and compare against later with
/// `tml_drift_reference_report_json`.
///
/// # Safety
/// `data` points to `n_rows * n_features` readable doubles; `schema_json` is NULL or
/// NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_reference_build_json(
    data: *const f64,
    n_rows: usize,
    n_features: usize,
    layout: u32,
    schema_json: *const c_char,
    max_per_feature: usize,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let data = layout_matrix(data, n_rows, n_features, layout, "data")?;
        let schema = schema_arg(optional_str_arg(schema_json, "schema_json")?, n_features)?;
        let max = if max_per_feature == 0 {
            DEFAULT_REFERENCE_SIZE
        } else {
            max_per_feature
        };
        let sample = ReferenceSample::with_max_size(data, &schema, max)?;
        string_out(sample.to_json()?, out_json, "out_json")
    })
}

/// Checks a reference JSON and describes it: `{"features": [{"name", "kind"}],
/// "max_per_feature", "predictions": bool}` (the feature order current matrices must
/// follow). A malformed reference is `TML_STATUS_PARSE_ERROR`.
///
/// # Safety
/// `reference_json` is NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_reference_info_json(
    reference_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let r = reference_arg(reference_json)?;
        let features: Vec<_> = r
            .features
            .features()
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "kind": f.column.kind()}))
            .collect();
        let info = serde_json::json!({
            "features": features,
            "max_per_feature": r.features.max_per_feature(),
            "predictions": r.predictions.is_some(),
        });
        string_out(info.to_string(), out_json, "out_json")
    })
}

/// Compares `current` (`n_current` x `n_features` in `layout`, in the reference's feature
/// order) with a stored reference and writes the `DriftReport` JSON.
///
/// # Safety
/// `reference_json` is NUL-terminated; `current` points to `n_current * n_features`
/// readable doubles; `config_json` is NULL or NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_reference_report_json(
    reference_json: *const c_char,
    current: *const f64,
    n_current: usize,
    n_features: usize,
    layout: u32,
    config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let reference = reference_arg(reference_json)?;
        let current = layout_matrix(current, n_current, n_features, layout, "current")?;
        let config = config_arg(optional_str_arg(config_json, "config_json")?)?;
        string_out(
            reference.report(current, &config)?.to_json()?,
            out_json,
            "out_json",
        )
    })
}

/// Prediction drift: `recent` (`n_recent` model outputs) against the predictions a
/// `ModelReference` JSON stores; writes one feature verdict (`FeatureDrift`, named
/// `prediction`) as JSON. A reference without predictions is
/// `TML_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
/// `reference_json` is NUL-terminated; `recent` points to `n_recent` readable doubles;
/// `config_json` is NULL or NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_prediction_drift_json(
    reference_json: *const c_char,
    recent: *const f64,
    n_recent: usize,
    config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let reference = reference_arg(reference_json)?;
        let recent = slice_arg(recent, n_recent, "recent")?;
        let config = config_arg(optional_str_arg(config_json, "config_json")?)?;
        let verdict = reference.prediction_drift(recent, &config)?;
        string_out(serde_json::to_string(&verdict)?, out_json, "out_json")
    })
}

/// The drift reference stored in a model file (`len` bytes of any tenantml model: tree
/// model, forecaster, fraud or churn scorer) as `ModelReference` JSON. A file that stores
/// none is `TML_STATUS_INVALID_ARGUMENT` ("... stores no drift reference"); a damaged file
/// `TML_STATUS_BAD_MODEL_FILE`.
///
/// # Safety
/// `data` points to `len` readable bytes; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_model_reference_json(
    data: *const u8,
    len: usize,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let reference = model_reference(slice_arg(data, len, "data")?)?;
        string_out(reference.to_json()?, out_json, "out_json")
    })
}

/// `tml_drift_reference_report_json` against the reference stored in a model file.
///
/// # Safety
/// `data` points to `len` readable bytes; otherwise as `tml_drift_reference_report_json`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_drift_model_report_json(
    data: *const u8,
    len: usize,
    current: *const f64,
    n_current: usize,
    n_features: usize,
    layout: u32,
    config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let reference = model_reference(slice_arg(data, len, "data")?)?;
        let current = layout_matrix(current, n_current, n_features, layout, "current")?;
        let config = config_arg(optional_str_arg(config_json, "config_json")?)?;
        string_out(
            reference.report(current, &config)?.to_json()?,
            out_json,
            "out_json",
        )
    })
}

/// `tml_drift_prediction_drift_json` against the predictions stored in a model file.
///
/// # Safety
/// `data` points to `len` readable bytes; otherwise as `tml_drift_prediction_drift_json`.
#[no_mangle]
pub unsafe extern "C" fn tml_drift_model_prediction_drift_json(
    data: *const u8,
    len: usize,
    recent: *const f64,
    n_recent: usize,
    config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let reference = model_reference(slice_arg(data, len, "data")?)?;
        let recent = slice_arg(recent, n_recent, "recent")?;
        let config = config_arg(optional_str_arg(config_json, "config_json")?)?;
        let verdict = reference.prediction_drift(recent, &config)?;
        string_out(serde_json::to_string(&verdict)?, out_json, "out_json")
    })
}

/// Feature drift of a tenant's recent usage against a usage forecaster's training features
/// (`UsagePredictor::feature_drift`): the history is `n_points` (timestamp, value) points
/// on the forecaster's frequency, in any order, NaN = missing; `config_json` may be NULL.
/// Writes the `DriftReport` JSON. `TML_STATUS_INVALID_ARGUMENT` when the forecaster stores
/// no drift reference.
///
/// # Safety
/// `forecaster` is a live handle; `timestamps` and `values` point to `n_points` values;
/// `config_json` is NULL or NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_feature_drift_json(
    forecaster: *const super::forecast::TmlForecaster,
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    config_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let p = &super::borrow(forecaster, "forecaster")?.predictor;
        out(out_json, "out_json")?;
        let config = config_arg(optional_str_arg(config_json, "config_json")?)?;
        let (start, history) = super::forecast::history_arg(p, timestamps, values, n_points, 0)?;
        let report = p.feature_drift_values(start, &history, &config)?;
        string_out(report.to_json()?, out_json, "out_json")
    })
}
