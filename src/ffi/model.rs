//! C ABI of tree models (`tenantml::trees::model::Model`): fit from arrays, predict a batch
//! or one row, explain, importance, and save/load as bytes or files.
//!
//! Matrices are row-major `double` arrays of `n_rows * n_features` values; NaN marks a
//! missing value. Parameters and rich results cross as JSON.

use std::ffi::c_char;

use ndarray::ArrayView2;
use serde::Serialize;

use super::TmlStatus;
use super::{
    borrow, bytes_out, free_handle, guard, handle_out, optional_str_arg, out, str_arg, string_out,
};
use crate::drift::ModelReference;
use crate::error::{Error, Result};
use crate::trees::explain::{Reason, ReasonDirection};
use crate::trees::model::{Model, ModelParams};

/// A fitted tree model (boosting, forest or blend). Opaque; free with `tml_model_free`.
/// Read-only calls (predict, explain, save) may run on many threads at once; calls that
/// change metadata need exclusive use.
pub struct TmlModel {
    model: Model,
}

/// Model bytes allocated by the library; release with `tml_bytes_free`.
#[repr(C)]
#[derive(Debug)]
pub struct TmlBytes {
    /// First byte (NULL when empty).
    pub data: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

/// Borrows `len` values at `ptr`; NULL is allowed only for an empty array.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable values that outlive the borrow.
pub(crate) unsafe fn slice_arg<'a, T>(
    ptr: *const T,
    len: usize,
    what: &'static str,
) -> Result<&'a [T]> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(Error::NullPointer(what));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// Borrows a row-major matrix.
///
/// # Safety
/// As [`slice_arg`] for `n_rows * n_features` values.
pub(crate) unsafe fn matrix_arg<'a>(
    ptr: *const f64,
    n_rows: usize,
    n_features: usize,
    what: &'static str,
) -> Result<ArrayView2<'a, f64>> {
    let len = n_rows.checked_mul(n_features).ok_or_else(|| {
        Error::InvalidArgument(format!("{what}: {n_rows} x {n_features} overflows"))
    })?;
    let values = slice_arg(ptr, len, what)?;
    Ok(ArrayView2::from_shape((n_rows, n_features), values).expect("length checked"))
}

/// Fits a model on `n_rows` x `n_features` row-major `x` and targets `y` (`n_rows` values).
/// `weights` (`n_rows` values) may be NULL. A validation set (`valid_x`, `valid_y`,
/// `n_valid` rows) may be given for early stopping, blend weights and calibration; pass
/// NULL, NULL, 0 for none. `params_json` (NULL = defaults) is a JSON object, e.g.
/// `{"task":"binary","model":"blend","gbdt":{"rounds":300},"feature_names":[...]}`.
///
/// # Safety
/// Every non-NULL pointer points to as many readable values as stated; `out_model` is
/// writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_model_fit(
    x: *const f64,
    n_rows: usize,
    n_features: usize,
    y: *const f64,
    weights: *const f64,
    valid_x: *const f64,
    valid_y: *const f64,
    n_valid: usize,
    params_json: *const c_char,
    out_model: *mut *mut TmlModel,
) -> TmlStatus {
    guard(|| {
        out(out_model, "out_model")?;
        let x = matrix_arg(x, n_rows, n_features, "x")?;
        let y = slice_arg(y, n_rows, "y")?;
        let weights = if weights.is_null() {
            None
        } else {
            Some(slice_arg(weights, n_rows, "weights")?)
        };
        let valid = if n_valid == 0 {
            None
        } else {
            Some((
                matrix_arg(valid_x, n_valid, n_features, "valid_x")?,
                slice_arg(valid_y, n_valid, "valid_y")?,
            ))
        };
        let params = match optional_str_arg(params_json, "params_json")? {
            Some(json) => ModelParams::from_json(json)?,
            None => ModelParams::default(),
        };
        let mut model = Model::fit(x, y, weights, valid, &params)?;
        ModelReference::attach(&mut model, x, params.seed.unwrap_or(0))?;
        handle_out(TmlModel { model }, out_model, "out_model")
    })
}

/// Releases a model. NULL is ignored.
///
/// # Safety
/// `model` is NULL or a live model handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_model_free(model: *mut TmlModel) {
    free_handle(model)
}

/// Number of features the model expects.
///
/// # Safety
/// `model` is NULL or a live handle; `out_n` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_n_features(
    model: *const TmlModel,
    out_n: *mut usize,
) -> TmlStatus {
    guard(|| {
        let model = borrow(model, "model")?;
        *out(out_n, "out_n")? = model.model.n_features();
        Ok(())
    })
}

/// Predicts one row of `n_features` values into `*out_value` (the value, or the probability
/// for binary models).
///
/// # Safety
/// `model` is a live handle; `row` points to `n_features` values; `out_value` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_predict_row(
    model: *const TmlModel,
    row: *const f64,
    n_features: usize,
    out_value: *mut f64,
) -> TmlStatus {
    guard(|| {
        let model = borrow(model, "model")?;
        let row = slice_arg(row, n_features, "row")?;
        let out_value = out(out_value, "out_value")?;
        *out_value = model.model.predict_row(row)?;
        Ok(())
    })
}

/// Predicts `n_rows` row-major rows into `out_values` (room for `out_len` values, which
/// must equal `n_rows`).
///
/// # Safety
/// `model` is a live handle; `x` points to `n_rows * n_features` values; `out_values` to
/// `out_len` writable values.
#[no_mangle]
pub unsafe extern "C" fn tml_model_predict(
    model: *const TmlModel,
    x: *const f64,
    n_rows: usize,
    n_features: usize,
    out_values: *mut f64,
    out_len: usize,
) -> TmlStatus {
    guard(|| {
        let model = borrow(model, "model")?;
        let x = matrix_arg(x, n_rows, n_features, "x")?;
        if out_values.is_null() && out_len > 0 {
            return Err(Error::NullPointer("out_values"));
        }
        let out_values = if out_len == 0 {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(out_values, out_len)
        };
        model.model.predict(x, out_values)
    })
}

/// Feature contributions of one row: `n_features` values into `out_contributions` and the
/// expected value into `*out_expected` (see `Explanation` in the Rust docs for the units).
///
/// # Safety
/// `model` is a live handle; `row` points to `n_features` values, `out_contributions` to
/// `n_features` writable values; `out_expected` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_explain(
    model: *const TmlModel,
    row: *const f64,
    n_features: usize,
    out_contributions: *mut f64,
    out_expected: *mut f64,
) -> TmlStatus {
    guard(|| {
        let model = borrow(model, "model")?;
        let row = slice_arg(row, n_features, "row")?;
        let out_expected = out(out_expected, "out_expected")?;
        if out_contributions.is_null() {
            return Err(Error::NullPointer("out_contributions"));
        }
        let e = model.model.explain(row)?;
        std::slice::from_raw_parts_mut(out_contributions, n_features)
            .copy_from_slice(&e.contributions);
        *out_expected = e.expected_value;
        Ok(())
    })
}

#[derive(Serialize)]
struct ExplainJson {
    prediction: f64,
    expected_value: f64,
    contributions: Vec<f64>,
    reasons: Vec<Reason>,
}

/// Explains one row as JSON: `{"prediction", "expected_value", "contributions": [...],
/// "reasons": [{"feature", "name", "value", "contribution"}]}` with the `top_k` features
/// pushing the prediction up (`direction` 0), down (1) or either way (2).
///
/// # Safety
/// `model` is a live handle; `row` points to `n_features` values; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_explain_json(
    model: *const TmlModel,
    row: *const f64,
    n_features: usize,
    top_k: usize,
    direction: u32,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let model = borrow(model, "model")?;
        let row = slice_arg(row, n_features, "row")?;
        out(out_json, "out_json")?;
        let direction = match direction {
            0 => ReasonDirection::Increasing,
            1 => ReasonDirection::Decreasing,
            2 => ReasonDirection::Both,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "direction must be 0 (increasing), 1 (decreasing) or 2 (both), got {other}"
                )))
            }
        };
        let m = &model.model;
        let e = m.explain(row)?;
        let reasons = crate::trees::explain::top_reasons(
            &e.contributions,
            row,
            m.feature_names(),
            top_k,
            direction,
        )?;
        let json = ExplainJson {
            prediction: m.predict_row(row)?,
            expected_value: e.expected_value,
            contributions: e.contributions,
            reasons,
        };
        string_out(serde_json::to_string(&json)?, out_json, "out_json")
    })
}

#[derive(Serialize)]
struct InfoJson<'a> {
    task: crate::trees::model::Task,
    kind: crate::trees::model::ModelKind,
    n_features: usize,
    feature_names: &'a [String],
    gbdt_weight: f64,
    /// Boosted trees kept (after early stopping), when the model boosts.
    gbdt_trees: Option<usize>,
    /// The boosting round early stopping kept (1-based), when it was on.
    best_round: Option<usize>,
    /// Forest trees, when the model has a forest.
    forest_trees: Option<usize>,
    calibrated: bool,
    importance_gain: Vec<f64>,
    importance_splits: Vec<u64>,
    metadata: &'a crate::trees::format::ModelMetadata,
}

/// Describes the model as JSON: task, kind, features, blend weight, tree counts (and the
/// round early stopping kept), whether calibrated, importance (normalised gain and split counts, in feature order) and metadata.
///
/// # Safety
/// `model` is a live handle; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_info_json(
    model: *const TmlModel,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let m = &borrow(model, "model")?.model;
        out(out_json, "out_json")?;
        let info = InfoJson {
            task: m.task(),
            kind: m.kind(),
            n_features: m.n_features(),
            feature_names: m.feature_names(),
            gbdt_weight: m.gbdt_weight(),
            gbdt_trees: m.gbdt().map(|g| g.trees().len()),
            best_round: m.gbdt().and_then(|g| g.best_round()).map(|r| r + 1),
            forest_trees: m.forest().map(|f| f.trees().len()),
            calibrated: m.calibrator().is_some(),
            importance_gain: m.importance_gain(),
            importance_splits: m.importance_splits(),
            metadata: m.metadata(),
        };
        string_out(serde_json::to_string(&info)?, out_json, "out_json")
    })
}

/// Sets descriptive metadata saved with the model, from a JSON object with any of `name`,
/// `version`, `created_at`, `training_metrics`, `extra` (fields not given are kept).
///
/// # Safety
/// `model` is a live handle used by no other thread during the call; `json` is a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tml_model_set_metadata_json(
    model: *mut TmlModel,
    json: *const c_char,
) -> TmlStatus {
    guard(|| {
        let model = model.as_mut().ok_or(Error::NullPointer("model"))?;
        let json = str_arg(json, "json")?;
        model.model.metadata_mut().update_from_json(json)
    })
}

/// Serialises the model to the model file format into `*out_bytes`; free with
/// `tml_bytes_free`.
///
/// # Safety
/// `model` is a live handle; `out_bytes` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_to_bytes(
    model: *const TmlModel,
    out_bytes: *mut TmlBytes,
) -> TmlStatus {
    guard(|| {
        let model = borrow(model, "model")?;
        bytes_out(out_bytes, "out_bytes", || model.model.to_bytes())
    })
}

/// Releases the `data` of a `TmlBytes` from `tml_model_to_bytes`, passing its `len`. NULL
/// is ignored.
///
/// # Safety
/// `data` and `len` came together from this library, and are released once.
#[no_mangle]
pub unsafe extern "C" fn tml_bytes_free(data: *mut u8, len: usize) {
    if !data.is_null() {
        super::guard_free(|| drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len))));
    }
}

/// Reads a model from `len` bytes of the model file format; a truncated, corrupted, foreign
/// or newer-version file is `TML_STATUS_BAD_MODEL_FILE`.
///
/// # Safety
/// `data` points to `len` readable bytes; `out_model` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_from_bytes(
    data: *const u8,
    len: usize,
    out_model: *mut *mut TmlModel,
) -> TmlStatus {
    guard(|| {
        out(out_model, "out_model")?;
        let bytes = slice_arg(data, len, "data")?;
        let model = Model::from_bytes(bytes)?;
        handle_out(TmlModel { model }, out_model, "out_model")
    })
}

/// Writes the model file atomically (temporary file, fsync, rename).
///
/// # Safety
/// `model` is a live handle; `path` is a NUL-terminated UTF-8 path.
#[no_mangle]
pub unsafe extern "C" fn tml_model_save(model: *const TmlModel, path: *const c_char) -> TmlStatus {
    guard(|| {
        let model = borrow(model, "model")?;
        model.model.save(str_arg(path, "path")?)
    })
}

/// Reads a model file.
///
/// # Safety
/// `path` is a NUL-terminated UTF-8 path; `out_model` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_model_load(
    path: *const c_char,
    out_model: *mut *mut TmlModel,
) -> TmlStatus {
    guard(|| {
        out(out_model, "out_model")?;
        let model = Model::load(str_arg(path, "path")?)?;
        handle_out(TmlModel { model }, out_model, "out_model")
    })
}
