//! C ABI of fraud scoring (`tenantml::scoring::fraud`): fit a scorer on labelled
//! transactions, a cold-start scorer from synthetic data, the rules-only fallback, the
//! allocation-free scoring hot path, explanations, schema code lookup, and save/load as
//! bytes or files.
//!
//! A transaction crosses as a flat [`TmlTransaction`] (numbers and dictionary codes, no
//! pointers); the customer's recent history crosses as parallel arrays (amounts,
//! timestamps, payment methods, countries, outcomes) with one length, borrowed for the call
//! only. Strings are encoded into codes once with `tml_fraud_code`.
//!
//! # Threads
//! A [`TmlFraudScorer`] is `Send + Sync`: `tml_fraud_score`, `tml_fraud_explain_json` and
//! every other call taking a `const TmlFraudScorer *` may run on many threads at once.
//! `tml_fraud_score` keeps its working memory (feature scratch) in a thread-local buffer, so
//! after the first call on a thread with a history of a given length it allocates nothing.
//! `tml_fraud_set_name` and `tml_fraud_set_thresholds` need exclusive use of the handle.

use std::cell::RefCell;
use std::ffi::c_char;

use serde_json::json;

use super::model::{slice_arg, TmlBytes};
use super::TmlStatus;
use super::{
    borrow, bytes_out, free_handle, guard, handle_out, optional_str_arg, out, str_arg, string_out,
};
use crate::error::{Error, Result};
use crate::scoring::fraud::{
    Decision, FeatureScratch, FraudParams, FraudScorer, GeneratorSettings, HistoryColumns,
    RulesConfig, Schema, Transaction,
};
use crate::scoring::Regime;

/// A fraud scorer (fitted model, cold-start model or rules only). Opaque; made by
/// `tml_fraud_fit`, `tml_fraud_cold_start`, `tml_fraud_rules_only`, `tml_fraud_from_bytes` or
/// `tml_fraud_load`, freed by the caller with `tml_fraud_free`. Calls taking a
/// `const TmlFraudScorer *` (score, explain, features, code, info, to_bytes, save) may run on
/// many threads at once; `tml_fraud_set_name` and `tml_fraud_set_thresholds` need exclusive
/// use.
pub struct TmlFraudScorer {
    scorer: FraudScorer,
}

/// One transaction as plain numbers and dictionary codes (the layout of the Rust
/// `Transaction`). Codes come from the scorer's schema (`tml_fraud_code`); 0 = unknown.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TmlTransaction {
    /// Amount in the tenant's currency units, finite and >= 0.
    pub amount: f64,
    /// Unix seconds (UTC), 1970..2200.
    pub timestamp: i64,
    /// The caller's customer (account) id.
    pub customer: u64,
    /// The caller's payment method id (card fingerprint, wallet id...).
    pub payment_method: u64,
    /// Currency code (0 = unknown).
    pub currency: u32,
    /// Card or billing country code (0 = unknown).
    pub country: u32,
    /// IP country code (0 = unknown).
    pub ip_country: u32,
    /// Merchant category or product code (0 = unknown).
    pub category: u32,
    /// 0 succeeded, 1 failed; read for training rows only (a scored transaction's outcome is
    /// not known yet).
    pub outcome: u32,
}

impl From<&TmlTransaction> for Transaction {
    #[inline]
    fn from(t: &TmlTransaction) -> Transaction {
        Transaction {
            amount: t.amount,
            timestamp: t.timestamp,
            customer: t.customer,
            payment_method: t.payment_method,
            currency: t.currency,
            country: t.country,
            ip_country: t.ip_country,
            category: t.category,
            outcome: t.outcome,
        }
    }
}

/// What to do with a transaction.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlFraudDecision {
    /// Let it through.
    Approve = 0,
    /// Hold for review or step-up authentication.
    Review = 1,
    /// Refuse it.
    Decline = 2,
}

impl From<Decision> for TmlFraudDecision {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approve => TmlFraudDecision::Approve,
            Decision::Review => TmlFraudDecision::Review,
            Decision::Decline => TmlFraudDecision::Decline,
        }
    }
}

/// Which regime produced a fraud score.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlFraudRegime {
    /// A model fitted on the tenant's own labelled transactions.
    Model = 0,
    /// A model fitted on synthetic cold-start data.
    ColdStart = 1,
    /// The rules alone.
    Fallback = 2,
}

impl From<Regime> for TmlFraudRegime {
    fn from(r: Regime) -> Self {
        match r {
            Regime::Model => TmlFraudRegime::Model,
            Regime::ColdStart => TmlFraudRegime::ColdStart,
            Regime::Fallback => TmlFraudRegime::Fallback,
        }
    }
}

/// The answer of the hot path, written into a caller-owned struct. Model name and version
/// are the scorer's (`tml_fraud_info_json`), the same for every answer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TmlFraudSummary {
    /// Risk score in [0, 1]: calibrated fraud probability, or the rule score in rules-only
    /// mode.
    pub score: f64,
    /// The combined rule score, 1 - prod(1 - weight) over the rules that fired.
    pub rule_score: f64,
    /// Bit i set when rule i of the scorer's rules fired (codes in `tml_fraud_info_json`).
    pub rule_hits: u64,
    /// Approve, review or decline by the scorer's thresholds.
    pub decision: TmlFraudDecision,
    /// Which regime answered.
    pub regime: TmlFraudRegime,
}

thread_local! {
    static SCRATCH: RefCell<FeatureScratch> = RefCell::new(FeatureScratch::new());
}

/// Borrows the parallel history arrays (NULL allowed only when `n` is 0).
///
/// # Safety
/// Each non-NULL pointer points to `n` readable values.
unsafe fn history_arg<'a>(
    amounts: *const f64,
    timestamps: *const i64,
    payment_methods: *const u64,
    countries: *const u32,
    outcomes: *const u32,
    n: usize,
) -> Result<HistoryColumns<'a>> {
    HistoryColumns::new(
        slice_arg(amounts, n, "amounts")?,
        slice_arg(timestamps, n, "timestamps")?,
        slice_arg(payment_methods, n, "payment_methods")?,
        slice_arg(countries, n, "countries")?,
        slice_arg(outcomes, n, "outcomes")?,
    )
}

fn schema_arg(json: Option<&str>) -> Result<Schema> {
    json.map_or_else(|| Ok(Schema::default()), Schema::from_json)
}

/// Named generator settings, or a `GeneratorSettings` JSON object (fields default to the
/// training settings).
fn settings_arg(text: Option<&str>) -> Result<GeneratorSettings> {
    let text = text.map(str::trim).unwrap_or("training");
    if text.starts_with('{') {
        return serde_json::from_str(text)
            .map_err(|e| Error::Parse(format!("generator settings: {e}")));
    }
    match text {
        "training" => Ok(GeneratorSettings::training()),
        "held_out" => Ok(GeneratorSettings::held_out()),
        "amount_shift" => Ok(GeneratorSettings::amount_shift()),
        "rate_shift" => Ok(GeneratorSettings::rate_shift()),
        "slow_drip" => Ok(GeneratorSettings::slow_drip()),
        other => Err(Error::InvalidArgument(format!(
            "unknown generator settings '{other}' (training, held_out, amount_shift, \
             rate_shift, slow_drip, or a JSON object)"
        ))),
    }
}

fn new_handle(scorer: FraudScorer, out_scorer: *mut *mut TmlFraudScorer) -> Result<()> {
    handle_out(TmlFraudScorer { scorer }, out_scorer, "out_scorer")
}

/// Fits a scorer on `n` labelled transactions (any order; `labels[i]` is 1 when
/// `transactions[i]` was fraud, 0 otherwise; both classes must occur). Each transaction's
/// history is its customer's earlier transactions in the input. `schema_json` (NULL = no
/// dictionaries, UTC) is `{"currencies":[...],"countries":[...],"categories":[...],
/// "time_zone":"Europe/Berlin"}`; `params_json` (NULL = defaults) is a `FraudParams` object,
/// e.g. `{"name":"fraud-acme","version":3,"review_at":0.2,"model":{"gbdt":{"rounds":200}}}`.
/// On success `*out_scorer` is a new handle the caller frees with `tml_fraud_free`.
///
/// # Safety
/// `transactions` and `labels` point to `n` readable values; strings are NULL or
/// NUL-terminated; `out_scorer` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_fit(
    transactions: *const TmlTransaction,
    labels: *const u8,
    n: usize,
    schema_json: *const c_char,
    params_json: *const c_char,
    out_scorer: *mut *mut TmlFraudScorer,
) -> TmlStatus {
    guard(|| {
        out(out_scorer, "out_scorer")?;
        let txns: Vec<Transaction> = slice_arg(transactions, n, "transactions")?
            .iter()
            .map(Transaction::from)
            .collect();
        let labels = slice_arg(labels, n, "labels")?
            .iter()
            .enumerate()
            .map(|(i, &l)| match l {
                0 => Ok(false),
                1 => Ok(true),
                other => Err(Error::InvalidArgument(format!(
                    "labels[{i}] is {other}, expected 0 or 1"
                ))),
            })
            .collect::<Result<Vec<bool>>>()?;
        let schema = schema_arg(optional_str_arg(schema_json, "schema_json")?)?;
        let params = match optional_str_arg(params_json, "params_json")? {
            Some(json) => FraudParams::from_json(json)?,
            None => FraudParams::default(),
        };
        new_handle(
            FraudScorer::fit(&txns, &labels, schema, &params)?,
            out_scorer,
        )
    })
}

/// A cold-start scorer for a tenant without labelled fraud, fitted on synthetic
/// transactions (regime cold start). `settings` is NULL (= "training"), a name
/// ("training", "held_out", "amount_shift", "rate_shift", "slow_drip") or a
/// `GeneratorSettings` JSON object (missing fields from "training"), e.g.
/// `{"customers":300}`; `seed` seeds the generator and the model. The scorer's schema is
/// the generator's (look codes up with `tml_fraud_code`). Free with `tml_fraud_free`.
///
/// # Safety
/// `settings` is NULL or NUL-terminated; `out_scorer` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_cold_start(
    settings: *const c_char,
    seed: u64,
    out_scorer: *mut *mut TmlFraudScorer,
) -> TmlStatus {
    guard(|| {
        out(out_scorer, "out_scorer")?;
        let settings = settings_arg(optional_str_arg(settings, "settings")?)?;
        new_handle(FraudScorer::cold_start(&settings, seed)?, out_scorer)
    })
}

/// A scorer that runs only the rules (regime fallback): `rules_json` (NULL = the default
/// rules, `tml_fraud_rules_default_json`) and `schema_json` (NULL = no dictionaries, UTC).
/// Free with `tml_fraud_free`.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `out_scorer` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_rules_only(
    rules_json: *const c_char,
    schema_json: *const c_char,
    out_scorer: *mut *mut TmlFraudScorer,
) -> TmlStatus {
    guard(|| {
        out(out_scorer, "out_scorer")?;
        let rules = match optional_str_arg(rules_json, "rules_json")? {
            Some(json) => RulesConfig::from_json(json)?,
            None => RulesConfig::default(),
        };
        let schema = schema_arg(optional_str_arg(schema_json, "schema_json")?)?;
        new_handle(FraudScorer::rules_only(rules, schema)?, out_scorer)
    })
}

/// Releases a scorer. NULL is ignored.
///
/// # Safety
/// `scorer` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_free(scorer: *mut TmlFraudScorer) {
    free_handle(scorer)
}

/// The hot path: scores `txn` against the customer's `n_history` recent transactions
/// (parallel arrays, any order, without `txn` itself; rows later than `txn` are ignored;
/// pass up to 100, the fitting history cap by default) and writes `*out_summary`. Allocates
/// nothing once this thread has scored a history this long. A NaN, infinite or negative
/// amount, a timestamp outside 1970..2200, an outcome other than 0/1 or a code beyond the
/// schema (in `txn` or any row) is `TML_STATUS_INVALID_ARGUMENT`. The history arrays may be
/// NULL when `n_history` is 0. `*out_summary` is written only on success.
///
/// Thread safety: any number of threads may score with one scorer at once; the working
/// memory is a per-thread buffer owned by the library (freed when the thread exits), and
/// every array is only borrowed for the call.
///
/// # Safety
/// `scorer` is a live handle; `txn` is readable; each history pointer points to
/// `n_history` readable values; `out_summary` is writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_fraud_score(
    scorer: *const TmlFraudScorer,
    txn: *const TmlTransaction,
    amounts: *const f64,
    timestamps: *const i64,
    payment_methods: *const u64,
    countries: *const u32,
    outcomes: *const u32,
    n_history: usize,
    out_summary: *mut TmlFraudSummary,
) -> TmlStatus {
    guard(|| {
        let s = &borrow(scorer, "scorer")?.scorer;
        let txn = Transaction::from(borrow(txn, "txn")?);
        let slot = out(out_summary, "out_summary")?;
        let history = history_arg(
            amounts,
            timestamps,
            payment_methods,
            countries,
            outcomes,
            n_history,
        )?;
        let summary = SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => s.score_with(&txn, &history, &mut scratch),
            // Re-entered on this thread (not possible from C): use a fresh scratch.
            Err(_) => s.score_with(&txn, &history, &mut FeatureScratch::new()),
        })?;
        *slot = TmlFraudSummary {
            score: summary.score,
            rule_score: summary.rule_score,
            rule_hits: summary.rule_hits,
            decision: summary.decision.into(),
            regime: summary.regime.into(),
        };
        Ok(())
    })
}

/// Like `tml_fraud_score`, with the top reasons, as JSON: `score`, `decision`, `regime`,
/// `model_name`, `model_version`, `rule_hits` (codes) and `reasons` (`code`,
/// `description`, `weight`, `source`: the `k` features pushing the score up most by
/// TreeSHAP, then every rule that fired; in rules-only mode the `k` heaviest rules that
/// fired). Free the string with `tml_string_free`.
///
/// # Safety
/// As `tml_fraud_score`; `out_json` is writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_fraud_explain_json(
    scorer: *const TmlFraudScorer,
    txn: *const TmlTransaction,
    amounts: *const f64,
    timestamps: *const i64,
    payment_methods: *const u64,
    countries: *const u32,
    outcomes: *const u32,
    n_history: usize,
    k: usize,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let s = &borrow(scorer, "scorer")?.scorer;
        let txn = Transaction::from(borrow(txn, "txn")?);
        out(out_json, "out_json")?;
        let history = history_arg(
            amounts,
            timestamps,
            payment_methods,
            countries,
            outcomes,
            n_history,
        )?;
        let answer = s.explain(&txn, &history, k)?;
        string_out(serde_json::to_string(&answer)?, out_json, "out_json")
    })
}

/// The feature row of `txn` (as the model sees it) into `out_features`, which holds
/// `n_features` values: exactly the scorer's feature count (`feature_names` in
/// `tml_fraud_info_json`), else `TML_STATUS_INVALID_ARGUMENT`. NaN marks a missing value.
///
/// # Safety
/// As `tml_fraud_score`; `out_features` points to `n_features` writable doubles.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_fraud_features(
    scorer: *const TmlFraudScorer,
    txn: *const TmlTransaction,
    amounts: *const f64,
    timestamps: *const i64,
    payment_methods: *const u64,
    countries: *const u32,
    outcomes: *const u32,
    n_history: usize,
    out_features: *mut f64,
    n_features: usize,
) -> TmlStatus {
    guard(|| {
        let s = &borrow(scorer, "scorer")?.scorer;
        let txn = Transaction::from(borrow(txn, "txn")?);
        if out_features.is_null() {
            return Err(Error::NullPointer("out_features"));
        }
        let expected = s.feature_names().len();
        if n_features != expected {
            return Err(Error::InvalidArgument(format!(
                "out_features holds {n_features} values but the scorer has {expected} features"
            )));
        }
        let history = history_arg(
            amounts,
            timestamps,
            payment_methods,
            countries,
            outcomes,
            n_history,
        )?;
        let row = s.features(&txn, &history)?;
        std::slice::from_raw_parts_mut(out_features, n_features).copy_from_slice(&row);
        Ok(())
    })
}

/// The code of `name` in the scorer's dictionary for `field` ("currency", "country",
/// "ip_country" (same dictionary as "country") or "category"): 1.. for a known string, 0
/// for one the schema does not know (never an error: new values appear in production). An
/// unknown field is `TML_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
/// `scorer` is a live handle; `field` and `name` are NUL-terminated; `out_code` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_code(
    scorer: *const TmlFraudScorer,
    field: *const c_char,
    name: *const c_char,
    out_code: *mut u32,
) -> TmlStatus {
    guard(|| {
        let schema = borrow(scorer, "scorer")?.scorer.schema();
        let field = str_arg(field, "field")?;
        let name = str_arg(name, "name")?;
        let slot = out(out_code, "out_code")?;
        let dict = match field {
            "currency" => &schema.currencies,
            "country" | "ip_country" => &schema.countries,
            "category" => &schema.categories,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown schema field '{other}' (currency, country, ip_country, category)"
                )))
            }
        };
        *slot = dict.code(name);
        Ok(())
    })
}

/// A JSON summary of the scorer: `name`, `version`, `regime`, `review_at`, `decline_at`,
/// `feature_names`, `rule_codes` (rule i is bit i of `rule_hits`), `rules` (the rule
/// configuration), `schema` and `metadata` (training metrics...). Free with
/// `tml_string_free`.
///
/// # Safety
/// `scorer` is a live handle; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_info_json(
    scorer: *const TmlFraudScorer,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let s = &borrow(scorer, "scorer")?.scorer;
        out(out_json, "out_json")?;
        let (review_at, decline_at) = s.thresholds();
        let rules: serde_json::Value = serde_json::from_str(&s.rules().to_json())?;
        let info = json!({
            "name": s.name(),
            "version": s.version(),
            "regime": s.regime().as_str(),
            "review_at": review_at,
            "decline_at": decline_at,
            "feature_names": s.feature_names(),
            "rule_codes": s.rules().rules().iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
            "rules": rules,
            "schema": s.schema(),
            "metadata": s.metadata(),
        });
        string_out(info.to_string(), out_json, "out_json")
    })
}

/// Renames the scorer; answers and saved files carry the new name and version.
///
/// # Safety
/// `scorer` is a live handle used by no other thread during the call; `name` is
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_set_name(
    scorer: *mut TmlFraudScorer,
    name: *const c_char,
    version: u64,
) -> TmlStatus {
    guard(|| {
        let s = scorer.as_mut().ok_or(Error::NullPointer("scorer"))?;
        s.scorer.set_name(str_arg(name, "name")?, version)
    })
}

/// Changes the decision thresholds (`0 <= review_at <= decline_at <= 1`).
///
/// # Safety
/// `scorer` is a live handle used by no other thread during the call.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_set_thresholds(
    scorer: *mut TmlFraudScorer,
    review_at: f64,
    decline_at: f64,
) -> TmlStatus {
    guard(|| {
        let s = scorer.as_mut().ok_or(Error::NullPointer("scorer"))?;
        s.scorer.set_thresholds(review_at, decline_at)
    })
}

/// Validates a rules configuration: unknown rule types or fields, negative or non-finite
/// thresholds, weights outside (0, 1], duplicate codes and malformed JSON are
/// `TML_STATUS_PARSE_ERROR` with a message naming the rule and field. On success, when
/// `out_json` is not NULL, it receives the normalised configuration (defaults filled in),
/// freed with `tml_string_free`.
///
/// # Safety
/// `json` is NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_rules_check(
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let rules = RulesConfig::from_json(str_arg(json, "json")?)?;
        if !out_json.is_null() {
            string_out(rules.to_json(), out_json, "out_json")?;
        }
        Ok(())
    })
}

/// The default rules configuration as JSON (what NULL rules mean). Free with
/// `tml_string_free`.
///
/// # Safety
/// `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_rules_default_json(out_json: *mut *mut c_char) -> TmlStatus {
    guard(|| string_out(RulesConfig::default().to_json(), out_json, "out_json"))
}

/// The scorer file's bytes; release with `tml_bytes_free(bytes.data, bytes.len)`.
///
/// # Safety
/// `scorer` is a live handle; `out_bytes` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_to_bytes(
    scorer: *const TmlFraudScorer,
    out_bytes: *mut TmlBytes,
) -> TmlStatus {
    guard(|| {
        let s = &borrow(scorer, "scorer")?.scorer;
        bytes_out(out_bytes, "out_bytes", || s.to_bytes())
    })
}

/// Reads a scorer from `len` bytes; truncated, corrupted, foreign or newer bytes are
/// `TML_STATUS_BAD_MODEL_FILE`. Free the new handle with `tml_fraud_free`.
///
/// # Safety
/// `data` points to `len` readable bytes; `out_scorer` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_from_bytes(
    data: *const u8,
    len: usize,
    out_scorer: *mut *mut TmlFraudScorer,
) -> TmlStatus {
    guard(|| {
        out(out_scorer, "out_scorer")?;
        let bytes = slice_arg(data, len, "data")?;
        new_handle(FraudScorer::from_bytes(bytes)?, out_scorer)
    })
}

/// Writes the scorer file atomically (temporary file, fsync, rename).
///
/// # Safety
/// `scorer` is a live handle; `path` is a NUL-terminated UTF-8 path.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_save(
    scorer: *const TmlFraudScorer,
    path: *const c_char,
) -> TmlStatus {
    guard(|| {
        let s = &borrow(scorer, "scorer")?.scorer;
        s.save(str_arg(path, "path")?)
    })
}

/// Reads a scorer file. Free the new handle with `tml_fraud_free`.
///
/// # Safety
/// `path` is a NUL-terminated UTF-8 path; `out_scorer` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_fraud_load(
    path: *const c_char,
    out_scorer: *mut *mut TmlFraudScorer,
) -> TmlStatus {
    guard(|| {
        out(out_scorer, "out_scorer")?;
        new_handle(FraudScorer::load(str_arg(path, "path")?)?, out_scorer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_layout_matches_the_rust_type() {
        assert_eq!(
            std::mem::size_of::<TmlTransaction>(),
            std::mem::size_of::<Transaction>()
        );
        assert_eq!(
            std::mem::align_of::<TmlTransaction>(),
            std::mem::align_of::<Transaction>()
        );
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<TmlFraudScorer>();
    }

    #[test]
    fn settings_names_and_json() {
        assert_eq!(settings_arg(None).unwrap(), GeneratorSettings::training());
        assert_eq!(
            settings_arg(Some("slow_drip")).unwrap(),
            GeneratorSettings::slow_drip()
        );
        assert_eq!(
            settings_arg(Some(r#"{"customers": 10}"#))
                .unwrap()
                .customers,
            10
        );
        assert!(matches!(
            settings_arg(Some("nope")),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            settings_arg(Some(r#"{"bogus": 1}"#)),
            Err(Error::Parse(_))
        ));
    }
}
