//! C ABI of churn prediction (`tenantml::scoring::churn`): fit a predictor on labelled
//! tenant histories, on synthetic tenants (cold start) or use the days-inactive rule alone;
//! score tenants with reasons (JSON) or a ready feature row (flat hot path); compute the
//! features; evaluate retention triggers with a caller-kept cool-down state; save and load.
//!
//! Tenants cross as JSON objects (`TenantHistory`: `id`, `events`, `daily`, `subscription`,
//! `failed_payments`, `tickets`, `churned_at`; unknown fields are refused), times as UTC
//! unix seconds. Scores come back as JSON (`ChurnScore`: `tenant_id`, `probability`,
//! `regime`, `model_name`, `model_version`, `horizon_days`, `as_of`, `inactive_flag`,
//! `reasons`, `facts`). Every string the library returns is freed with `tml_string_free`.

use std::ffi::c_char;

use super::model::{slice_arg, TmlBytes};
use super::TmlStatus;
use super::{
    borrow, bytes_out, free_handle, guard, handle_out, optional_str_arg, out, str_arg, string_out,
};
use crate::error::{Error, Result};
use crate::scoring::churn::{
    churn_features, ChurnParams, ChurnPredictor, ChurnScore, CooldownState, GeneratorSettings,
    LabelSpec, TenantHistory, TriggerPolicy, FEATURE_NAMES, N_FEATURES,
};
use crate::scoring::Regime;

/// A churn predictor (model, cold-start model or rules only). Opaque; free with
/// `tml_churn_free`. Predictions may run on many threads at once;
/// `tml_churn_set_metadata_json` needs exclusive use.
pub struct TmlChurnPredictor {
    predictor: ChurnPredictor,
}

/// Which path answered a churn score. The numbers are those of `TmlRegime` for the
/// regimes both share (model 0, cold start 1, fallback 3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlChurnRegime {
    /// A model fitted on the platform's own labelled tenants.
    Model = 0,
    /// A model fitted on synthetic tenants (no churn labels of the platform's own yet).
    ColdStart = 1,
    /// The days-inactive rule (rules-only predictor).
    Fallback = 3,
}

impl From<Regime> for TmlChurnRegime {
    fn from(r: Regime) -> Self {
        match r {
            Regime::Model => TmlChurnRegime::Model,
            Regime::ColdStart => TmlChurnRegime::ColdStart,
            Regime::Fallback => TmlChurnRegime::Fallback,
        }
    }
}

fn params_arg(json: Option<&str>) -> Result<ChurnParams> {
    match json {
        Some(json) => ChurnParams::from_json(json),
        None => Ok(ChurnParams::default()),
    }
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Parse(format!("{what}: {e}")))
}

fn new_handle(predictor: ChurnPredictor, out_predictor: *mut *mut TmlChurnPredictor) -> Result<()> {
    handle_out(
        TmlChurnPredictor { predictor },
        out_predictor,
        "out_predictor",
    )
}

/// Fits a churn model on labelled histories. `tenants_json` is a JSON array of tenants
/// (each with `churned_at` when it churned); `label_spec_json` is
/// `{"observation_dates": [...], "horizon_days": 30, "data_end": ...}` (rows without
/// look-ahead; rows whose horizon runs past `data_end` are left out); `params_json` (NULL =
/// defaults) is a `ChurnParams` object, e.g. `{"name": "churn", "version": 2,
/// "horizon_days": 30, "top_reasons": 3, "inactivity_threshold_days": 14, "model": {...}}`,
/// whose `horizon_days` must be the spec's. Scores answer with regime model. Free the
/// handle with `tml_churn_free`.
///
/// # Safety
/// String arguments are NULL or NUL-terminated; `out_predictor` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_fit(
    tenants_json: *const c_char,
    label_spec_json: *const c_char,
    params_json: *const c_char,
    out_predictor: *mut *mut TmlChurnPredictor,
) -> TmlStatus {
    guard(|| {
        out(out_predictor, "out_predictor")?;
        let tenants = TenantHistory::many_from_json(str_arg(tenants_json, "tenants_json")?)?;
        let spec: LabelSpec = parse(str_arg(label_spec_json, "label_spec_json")?, "label spec")?;
        let params = params_arg(optional_str_arg(params_json, "params_json")?)?;
        new_handle(
            ChurnPredictor::fit(&tenants, &spec, &params)?,
            out_predictor,
        )
    })
}

/// A working model before the platform has churn labels: fitted on synthetic tenants drawn
/// with `settings_json` (NULL = the training settings; a `GeneratorSettings` object such as
/// `{"tenants": 300, "churn_rate": 0.2}`, missing fields from the training settings) and
/// `seed`. `params_json` NULL means default parameters with the settings' horizon and
/// `seed`; otherwise a `ChurnParams` object whose `horizon_days` must be the settings'.
/// Scores answer with regime cold start. Free the handle with `tml_churn_free`.
///
/// # Safety
/// String arguments are NULL or NUL-terminated; `out_predictor` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_cold_start(
    settings_json: *const c_char,
    params_json: *const c_char,
    seed: u64,
    out_predictor: *mut *mut TmlChurnPredictor,
) -> TmlStatus {
    guard(|| {
        out(out_predictor, "out_predictor")?;
        let settings: GeneratorSettings = match optional_str_arg(settings_json, "settings_json")? {
            Some(json) => parse(json, "generator settings")?,
            None => GeneratorSettings::training(),
        };
        let predictor = match optional_str_arg(params_json, "params_json")? {
            Some(json) => {
                ChurnPredictor::cold_start_with(&settings, seed, &ChurnParams::from_json(json)?)?
            }
            None => ChurnPredictor::cold_start(&settings, seed)?,
        };
        new_handle(predictor, out_predictor)
    })
}

/// A predictor without a model: every score comes from the days-inactive rule (regime
/// fallback). `params_json` (NULL = defaults) is a `ChurnParams` object; only `name`,
/// `version`, `horizon_days` and `inactivity_threshold_days` matter here. Free the handle
/// with `tml_churn_free`.
///
/// # Safety
/// `params_json` is NULL or NUL-terminated; `out_predictor` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_rules_only(
    params_json: *const c_char,
    out_predictor: *mut *mut TmlChurnPredictor,
) -> TmlStatus {
    guard(|| {
        out(out_predictor, "out_predictor")?;
        let params = params_arg(optional_str_arg(params_json, "params_json")?)?;
        new_handle(ChurnPredictor::rules_only(&params)?, out_predictor)
    })
}

/// Releases a predictor. NULL is ignored.
///
/// # Safety
/// `predictor` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_free(predictor: *mut TmlChurnPredictor) {
    free_handle(predictor)
}

/// Scores one tenant (`tenant_json`, a JSON object) as of `as_of` (unix seconds; only
/// records strictly before it count) with up to `n_reasons` reasons (0: none, the fastest).
/// Writes the `ChurnScore` as JSON to `out_json`; free it with `tml_string_free`.
///
/// # Safety
/// `predictor` is a live handle; `tenant_json` is NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_predict_json(
    predictor: *const TmlChurnPredictor,
    tenant_json: *const c_char,
    as_of: i64,
    n_reasons: usize,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(predictor, "predictor")?.predictor;
        out(out_json, "out_json")?;
        let tenant = TenantHistory::from_json(str_arg(tenant_json, "tenant_json")?)?;
        let score = p.predict_with_reasons(&tenant, as_of, n_reasons)?;
        string_out(serde_json::to_string(&score)?, out_json, "out_json")
    })
}

/// The hot path: the churn probability of a ready feature row (`features`, `n_features`
/// values in the order of `tml_churn_feature_names_json`, NaN = missing, e.g. from
/// `tml_churn_features` or the caller's own store) and the regime that answered, without
/// reasons and without allocating. `as_of` is the observation time the row was computed
/// for; the probability depends on the row alone. `out_regime` may be NULL. The result
/// equals the `probability` of `tml_churn_predict_json` for the same tenant and time.
///
/// # Safety
/// `predictor` is a live handle; `features` points to `n_features` readable doubles;
/// `out_probability` is writable; `out_regime` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_predict_features(
    predictor: *const TmlChurnPredictor,
    features: *const f64,
    n_features: usize,
    as_of: i64,
    out_probability: *mut f64,
    out_regime: *mut TmlChurnRegime,
) -> TmlStatus {
    let _ = as_of;
    guard(|| {
        let p = &borrow(predictor, "predictor")?.predictor;
        let slot = out(out_probability, "out_probability")?;
        let row = feature_row(slice_arg(features, n_features, "features")?)?;
        *slot = p.probability(row)?;
        if !out_regime.is_null() {
            *out_regime = p.regime().into();
        }
        Ok(())
    })
}

/// Checks a flat feature row: exactly [`N_FEATURES`] values, each finite or NaN (missing).
fn feature_row(values: &[f64]) -> Result<&[f64; N_FEATURES]> {
    let row: &[f64; N_FEATURES] = values.try_into().map_err(|_| {
        Error::InvalidArgument(format!(
            "a churn feature row has {N_FEATURES} values, got {}",
            values.len()
        ))
    })?;
    if let Some(i) = row.iter().position(|v| v.is_infinite()) {
        return Err(Error::InvalidArgument(format!(
            "feature {i} ({}) is {}; features must be finite or NaN (missing)",
            FEATURE_NAMES[i], row[i]
        )));
    }
    Ok(row)
}

/// Scores many tenants (`tenants_json`, a JSON array) as of one time, in parallel, each with
/// the predictor's `top_reasons` reasons. Writes a JSON array of `ChurnScore` in input order
/// to `out_json`; free it with `tml_string_free`. The first invalid tenant fails the batch.
///
/// # Safety
/// `predictor` is a live handle; `tenants_json` is NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_predict_batch_json(
    predictor: *const TmlChurnPredictor,
    tenants_json: *const c_char,
    as_of: i64,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(predictor, "predictor")?.predictor;
        out(out_json, "out_json")?;
        let tenants = TenantHistory::many_from_json(str_arg(tenants_json, "tenants_json")?)?;
        let scores = p.predict_batch(&tenants, as_of)?;
        string_out(serde_json::to_string(&scores)?, out_json, "out_json")
    })
}

/// The number of churn features (the length of a feature row); infallible.
#[no_mangle]
pub extern "C" fn tml_churn_n_features() -> usize {
    N_FEATURES
}

/// The churn features of one tenant (`tenant_json`) as of `as_of`, written to `out_features`
/// (`n_features` must be `tml_churn_n_features()`; NaN = unknown). Nothing is written on
/// failure.
///
/// # Safety
/// `tenant_json` is NUL-terminated; `out_features` points to `n_features` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_features(
    tenant_json: *const c_char,
    as_of: i64,
    out_features: *mut f64,
    n_features: usize,
) -> TmlStatus {
    guard(|| {
        let tenant = TenantHistory::from_json(str_arg(tenant_json, "tenant_json")?)?;
        if out_features.is_null() {
            return Err(Error::NullPointer("out_features"));
        }
        if n_features != N_FEATURES {
            return Err(Error::InvalidArgument(format!(
                "the feature buffer has {n_features} slots for {N_FEATURES} churn features"
            )));
        }
        let row = churn_features(&tenant, as_of)?;
        std::slice::from_raw_parts_mut(out_features, N_FEATURES).copy_from_slice(&row);
        Ok(())
    })
}

/// The churn feature names in row order, as a JSON array of strings. Free with
/// `tml_string_free`.
///
/// # Safety
/// `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_feature_names_json(out_json: *mut *mut c_char) -> TmlStatus {
    guard(|| string_out(serde_json::to_string(&FEATURE_NAMES)?, out_json, "out_json"))
}

/// Retention triggers: evaluates `policy_json` (NULL = the default policy: `csm_call`,
/// `discount_offer`, `payment_recovery_email`, `onboarding_email`) on `scores_json` (a JSON
/// array of scores as `tml_churn_predict_json` / `_batch_json` return them) at `now` (unix
/// seconds), against the cool-down `state_json` (NULL or "" = no state; otherwise the
/// `state` of an earlier outcome, `{"last_fired": {tenant: {action: time}}}`). Writes
/// `{"decisions": [...], "suppressed": [...], "state": {...}}` to `out_json`; the caller
/// stores `state` and passes it to the next call. Free with `tml_string_free`.
///
/// # Safety
/// String arguments are NULL or NUL-terminated (`scores_json` must not be NULL);
/// `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_triggers_json(
    policy_json: *const c_char,
    scores_json: *const c_char,
    state_json: *const c_char,
    now: i64,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let policy = match optional_str_arg(policy_json, "policy_json")? {
            Some(json) => TriggerPolicy::from_json(json)?,
            None => TriggerPolicy::default_policy(),
        };
        let scores: Vec<ChurnScore> = parse(str_arg(scores_json, "scores_json")?, "scores")?;
        if let Some(s) = scores
            .iter()
            .find(|s| !(0.0..=1.0).contains(&s.probability))
        {
            return Err(Error::InvalidArgument(format!(
                "score of tenant '{}' has probability {}; it must be in [0, 1]",
                s.tenant_id, s.probability
            )));
        }
        let state = match optional_str_arg(state_json, "state_json")? {
            Some(json) if !json.trim().is_empty() => CooldownState::from_json(json)?,
            _ => CooldownState::default(),
        };
        let outcome = policy.evaluate(&scores, &state, now);
        string_out(serde_json::to_string(&outcome)?, out_json, "out_json")
    })
}

/// A JSON summary of the predictor: `kind`, `name`, `version`, `regime`, `horizon_days`,
/// `features`, fit `summary`, `inactivity_threshold_days`, `training_metrics`. Free with
/// `tml_string_free`.
///
/// # Safety
/// `predictor` is a live handle; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_info_json(
    predictor: *const TmlChurnPredictor,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(predictor, "predictor")?.predictor;
        out(out_json, "out_json")?;
        string_out(p.info_json()?, out_json, "out_json")
    })
}

/// Sets metadata saved with the predictor (`name`, `version`, `created_at`,
/// `training_metrics`, `extra`); model scores carry the new name and version.
///
/// # Safety
/// `predictor` is a live handle used by no other thread during the call; `json` is a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_set_metadata_json(
    predictor: *mut TmlChurnPredictor,
    json: *const c_char,
) -> TmlStatus {
    guard(|| {
        let p = predictor.as_mut().ok_or(Error::NullPointer("predictor"))?;
        let json = str_arg(json, "json")?;
        p.predictor.metadata_mut().update_from_json(json)
    })
}

/// The predictor file's bytes; release with `tml_bytes_free(bytes.data, bytes.len)`.
///
/// # Safety
/// `predictor` is a live handle; `out_bytes` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_to_bytes(
    predictor: *const TmlChurnPredictor,
    out_bytes: *mut TmlBytes,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(predictor, "predictor")?.predictor;
        bytes_out(out_bytes, "out_bytes", || p.to_bytes())
    })
}

/// Reads a predictor from `len` bytes; a truncated, corrupted, foreign or newer file is
/// `TML_STATUS_BAD_MODEL_FILE`. Free the handle with `tml_churn_free`.
///
/// # Safety
/// `data` points to `len` readable bytes; `out_predictor` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_from_bytes(
    data: *const u8,
    len: usize,
    out_predictor: *mut *mut TmlChurnPredictor,
) -> TmlStatus {
    guard(|| {
        out(out_predictor, "out_predictor")?;
        let bytes = slice_arg(data, len, "data")?;
        new_handle(ChurnPredictor::from_bytes(bytes)?, out_predictor)
    })
}

/// Writes the predictor file atomically (temporary file, fsync, rename).
///
/// # Safety
/// `predictor` is a live handle; `path` is a NUL-terminated UTF-8 path.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_save(
    predictor: *const TmlChurnPredictor,
    path: *const c_char,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(predictor, "predictor")?.predictor;
        p.save(str_arg(path, "path")?)
    })
}

/// Reads a predictor file. Free the handle with `tml_churn_free`.
///
/// # Safety
/// `path` is a NUL-terminated UTF-8 path; `out_predictor` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_churn_load(
    path: *const c_char,
    out_predictor: *mut *mut TmlChurnPredictor,
) -> TmlStatus {
    guard(|| {
        out(out_predictor, "out_predictor")?;
        new_handle(ChurnPredictor::load(str_arg(path, "path")?)?, out_predictor)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::churn::DAY;
    use std::ffi::{CStr, CString};

    const QUICK: &str =
        r#"{"model": {"task": "binary", "calibration": "platt", "gbdt": {"rounds": 20}}}"#;

    fn quick_cold_start() -> *mut TmlChurnPredictor {
        let settings = CString::new(r#"{"tenants": 150, "days": 200}"#).unwrap();
        let params = CString::new(QUICK).unwrap();
        let mut p = std::ptr::null_mut();
        let st = unsafe { tml_churn_cold_start(settings.as_ptr(), params.as_ptr(), 3, &mut p) };
        assert_eq!(st, TmlStatus::Ok);
        p
    }

    fn predict_json(p: *const TmlChurnPredictor, tenant: &str, as_of: i64) -> ChurnScore {
        let tenant = CString::new(tenant).unwrap();
        let mut json = std::ptr::null_mut();
        let st = unsafe { tml_churn_predict_json(p, tenant.as_ptr(), as_of, 0, &mut json) };
        assert_eq!(st, TmlStatus::Ok);
        let score = serde_json::from_str(unsafe { CStr::from_ptr(json) }.to_str().unwrap());
        unsafe { crate::ffi::tml_string_free(json) };
        score.unwrap()
    }

    #[test]
    fn flat_path_equals_json_path_in_every_regime() {
        let as_of = 1_736_121_600 + 150 * DAY;
        let tenant = format!(
            r#"{{"id": "t", "events": [{{"at": {}, "amount": 3}}, {{"at": {}, "amount": 1}}],
                "subscription": {{"started_at": {}, "seats": 4}}, "failed_payments": []}}"#,
            as_of - 20 * DAY,
            as_of - 45 * DAY,
            as_of - 300 * DAY
        );
        let mut rules = std::ptr::null_mut();
        assert_eq!(
            unsafe { tml_churn_rules_only(std::ptr::null(), &mut rules) },
            TmlStatus::Ok
        );
        let cold = quick_cold_start();
        for (p, regime) in [
            (rules, TmlChurnRegime::Fallback),
            (cold, TmlChurnRegime::ColdStart),
        ] {
            let score = predict_json(p, &tenant, as_of);
            let c_tenant = CString::new(tenant.as_str()).unwrap();
            let mut row = [0.0; N_FEATURES];
            let st = unsafe {
                tml_churn_features(c_tenant.as_ptr(), as_of, row.as_mut_ptr(), N_FEATURES)
            };
            assert_eq!(st, TmlStatus::Ok);
            let (mut prob, mut got) = (-1.0, TmlChurnRegime::Model);
            let st = unsafe {
                tml_churn_predict_features(p, row.as_ptr(), N_FEATURES, as_of, &mut prob, &mut got)
            };
            assert_eq!(st, TmlStatus::Ok);
            assert_eq!(prob, score.probability);
            assert_eq!(got, regime);
            assert_eq!(TmlChurnRegime::from(score.regime), regime);
        }
        unsafe {
            tml_churn_free(rules);
            tml_churn_free(cold);
        }
    }

    #[test]
    fn wrong_lengths_and_infinities_are_invalid() {
        let mut p = std::ptr::null_mut();
        assert_eq!(
            unsafe { tml_churn_rules_only(std::ptr::null(), &mut p) },
            TmlStatus::Ok
        );
        let mut row = [f64::NAN; N_FEATURES];
        let mut prob = 0.0;
        let st = unsafe {
            tml_churn_predict_features(p, row.as_ptr(), 3, 0, &mut prob, std::ptr::null_mut())
        };
        assert_eq!(st, TmlStatus::InvalidArgument);
        row[2] = f64::INFINITY;
        let st = unsafe {
            tml_churn_predict_features(
                p,
                row.as_ptr(),
                N_FEATURES,
                0,
                &mut prob,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(st, TmlStatus::InvalidArgument);
        row[2] = f64::NAN;
        let st = unsafe {
            tml_churn_predict_features(
                p,
                row.as_ptr(),
                N_FEATURES,
                0,
                &mut prob,
                std::ptr::null_mut(),
            )
        };
        assert_eq!((st, prob), (TmlStatus::Ok, 0.5));
        unsafe { tml_churn_free(p) };
    }
}
