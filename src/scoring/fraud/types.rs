//! The plain data of fraud scoring: transactions as numbers and integer codes, history
//! views (a slice of transactions or parallel columns), the dictionaries that map strings
//! to codes, and the answer types.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::scoring::{Regime, ScoreReason};

/// Earliest accepted timestamp: 1970-01-01T00:00:00Z (unix seconds).
pub const MIN_TIMESTAMP: i64 = 0;
/// First timestamp past the accepted range: 2200-01-01T00:00:00Z (unix seconds).
pub const MAX_TIMESTAMP: i64 = 7_258_118_400;
/// The dictionary code every dictionary reserves for strings it does not know.
pub const UNKNOWN_CODE: u32 = 0;

/// What happened to a transaction (or attempt) in the customer's history.
///
/// The scored transaction's own outcome is not known yet and is never read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum Outcome {
    /// Authorised or settled.
    Succeeded = 0,
    /// Declined by the bank or gateway (a failed attempt).
    Failed = 1,
}

impl Outcome {
    /// The outcome of a numeric code (0 succeeded, 1 failed); other codes are
    /// [`Error::InvalidArgument`].
    pub fn from_code(code: u32) -> Result<Outcome> {
        match code {
            0 => Ok(Outcome::Succeeded),
            1 => Ok(Outcome::Failed),
            other => Err(Error::InvalidArgument(format!(
                "outcome code {other} is neither 0 (succeeded) nor 1 (failed)"
            ))),
        }
    }
}

/// One payment transaction, as plain numbers and dictionary codes so that a C caller can
/// pass it as a flat struct (`#[repr(C)]`, no pointers).
///
/// Codes come from the scorer's [`Schema`]: `currency` from its currency dictionary,
/// `country` (the card's or billing country) and `ip_country` from its country dictionary,
/// `category` (merchant category or product) from its category dictionary; code
/// [`UNKNOWN_CODE`] (0) means "not known". Customer and payment-method ids are the caller's
/// own ids (any `u64`, e.g. a database key or a hash of a card fingerprint).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// Amount in the tenant's currency units, finite and >= 0.
    pub amount: f64,
    /// When it happened, unix seconds (UTC), in `[MIN_TIMESTAMP, MAX_TIMESTAMP)`.
    pub timestamp: i64,
    /// The customer (or account) id.
    pub customer: u64,
    /// The payment method id (card fingerprint, wallet id...).
    pub payment_method: u64,
    /// Currency code from the schema (0 = unknown).
    pub currency: u32,
    /// Card or billing country code from the schema (0 = unknown).
    pub country: u32,
    /// Country of the client's IP address, code from the schema (0 = unknown).
    pub ip_country: u32,
    /// Merchant category or product code from the schema (0 = unknown).
    pub category: u32,
    /// [`Outcome`] code: 0 succeeded, 1 failed. Read for history rows only.
    pub outcome: u32,
}

impl Transaction {
    /// A succeeded transaction with every code unknown, for tests and examples.
    ///
    /// ```
    /// use tenantml::scoring::fraud::Transaction;
    /// let t = Transaction::new(1_700_000_000, 25.0);
    /// assert_eq!((t.amount, t.country, t.outcome), (25.0, 0, 0));
    /// ```
    pub fn new(timestamp: i64, amount: f64) -> Transaction {
        Transaction {
            amount,
            timestamp,
            customer: 0,
            payment_method: 0,
            currency: UNKNOWN_CODE,
            country: UNKNOWN_CODE,
            ip_country: UNKNOWN_CODE,
            category: UNKNOWN_CODE,
            outcome: Outcome::Succeeded as u32,
        }
    }

    /// Whether this (history) transaction failed; an invalid code counts as not failed
    /// (inputs are checked before features are computed).
    #[inline]
    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Failed as u32
    }
}

/// The fields of a past transaction that features read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PastTransaction {
    /// Amount, finite and >= 0.
    pub amount: f64,
    /// Unix seconds.
    pub timestamp: i64,
    /// Payment method id.
    pub payment_method: u64,
    /// Card or billing country code.
    pub country: u32,
    /// [`Outcome`] code.
    pub outcome: u32,
}

/// A customer's recent transactions, in any order, as the caller holds them: a slice of
/// [`Transaction`]s or parallel columns ([`HistoryColumns`], what a C caller passes).
///
/// Rows later than the scored transaction are ignored (no look-ahead); rows at the same
/// second count as earlier. Do not include the scored transaction itself.
pub trait History {
    /// Number of rows.
    fn len(&self) -> usize;
    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `i` (`i < len()`).
    fn get(&self, i: usize) -> PastTransaction;
}

impl History for [Transaction] {
    #[inline]
    fn len(&self) -> usize {
        <[Transaction]>::len(self)
    }
    #[inline]
    fn get(&self, i: usize) -> PastTransaction {
        let t = &self[i];
        PastTransaction {
            amount: t.amount,
            timestamp: t.timestamp,
            payment_method: t.payment_method,
            country: t.country,
            outcome: t.outcome,
        }
    }
}

impl History for Vec<Transaction> {
    #[inline]
    fn len(&self) -> usize {
        <[Transaction]>::len(self)
    }
    #[inline]
    fn get(&self, i: usize) -> PastTransaction {
        History::get(self.as_slice(), i)
    }
}

/// A history as parallel columns (one value per row in each), borrowed from the caller
/// without copying: the shape a C function receives (`const double* amounts`,
/// `const int64_t* timestamps`, ... plus one length).
///
/// ```
/// use tenantml::scoring::fraud::{History, HistoryColumns};
/// let h = HistoryColumns::new(&[10.0, 12.5], &[100, 200], &[7, 7], &[1, 1], &[0, 1])?;
/// assert_eq!(h.len(), 2);
/// assert_eq!(h.get(1).outcome, 1);
/// assert!(HistoryColumns::new(&[10.0], &[100, 200], &[7], &[1], &[0]).is_err());
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HistoryColumns<'a> {
    amounts: &'a [f64],
    timestamps: &'a [i64],
    payment_methods: &'a [u64],
    countries: &'a [u32],
    outcomes: &'a [u32],
}

impl<'a> HistoryColumns<'a> {
    /// Borrows the columns; they must all have the same length.
    pub fn new(
        amounts: &'a [f64],
        timestamps: &'a [i64],
        payment_methods: &'a [u64],
        countries: &'a [u32],
        outcomes: &'a [u32],
    ) -> Result<HistoryColumns<'a>> {
        let n = amounts.len();
        for (name, len) in [
            ("timestamps", timestamps.len()),
            ("payment_methods", payment_methods.len()),
            ("countries", countries.len()),
            ("outcomes", outcomes.len()),
        ] {
            if len != n {
                return Err(Error::InvalidArgument(format!(
                    "history columns differ in length: {n} amounts but {len} {name}"
                )));
            }
        }
        Ok(HistoryColumns {
            amounts,
            timestamps,
            payment_methods,
            countries,
            outcomes,
        })
    }
}

impl History for HistoryColumns<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.amounts.len()
    }
    #[inline]
    fn get(&self, i: usize) -> PastTransaction {
        PastTransaction {
            amount: self.amounts[i],
            timestamp: self.timestamps[i],
            payment_method: self.payment_methods[i],
            country: self.countries[i],
            outcome: self.outcomes[i],
        }
    }
}

/// A string dictionary: code 0 is reserved for unknown strings, known strings get
/// `1..=len` in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Dictionary {
    names: Vec<String>,
}

impl Dictionary {
    /// A dictionary of distinct, non-empty names (codes 1, 2, ... in this order).
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Result<Dictionary> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "dictionary entry {i} is empty"
                )));
            }
            if names[..i].contains(n) {
                return Err(Error::InvalidArgument(format!(
                    "dictionary entry '{n}' appears twice"
                )));
            }
        }
        if names.len() >= u32::MAX as usize {
            return Err(Error::InvalidArgument("dictionary too large".into()));
        }
        Ok(Dictionary { names })
    }

    /// The code of `name`, or [`UNKNOWN_CODE`] for a string the dictionary does not hold
    /// (never an error: new currencies and countries appear in production).
    pub fn code(&self, name: &str) -> u32 {
        self.names
            .iter()
            .position(|n| n == name)
            .map_or(UNKNOWN_CODE, |i| i as u32 + 1)
    }

    /// The string of a code; `None` for 0 (unknown) and for codes outside the dictionary.
    pub fn name(&self, code: u32) -> Option<&str> {
        let i = (code as usize).checked_sub(1)?;
        self.names.get(i).map(String::as_str)
    }

    /// Number of known strings (the largest valid code).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the dictionary knows no strings (only code 0 is valid).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether `code` is 0 or a code of this dictionary.
    #[inline]
    pub fn is_valid(&self, code: u32) -> bool {
        code as usize <= self.names.len()
    }
}

/// The dictionaries of a fraud scorer, stored with its model, and the tenant's time zone
/// (for time-of-day features and the night-time rule).
///
/// Strings are encoded once per request (`schema.countries.code("DE")`) and the hot path
/// passes codes. An unknown string maps to code 0 ("unknown"); a code larger than its
/// dictionary is a caller error (codes from another schema) and scoring refuses it.
///
/// ```
/// use tenantml::scoring::fraud::Schema;
/// let schema = Schema::new(&["EUR", "USD"], &["DE", "FR"], &["books"], Some("Europe/Berlin"))?;
/// assert_eq!(schema.countries.code("FR"), 2);
/// assert_eq!(schema.countries.code("XX"), 0);
/// assert_eq!(schema.currencies.name(1), Some("EUR"));
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schema {
    /// Currency codes ("EUR", ...).
    pub currencies: Dictionary,
    /// Countries, for both the card country and the IP country ("DE", ...).
    pub countries: Dictionary,
    /// Merchant categories or products.
    pub categories: Dictionary,
    /// IANA time zone of local time-of-day features; `None` = UTC.
    pub time_zone: Option<String>,
}

impl Schema {
    /// A schema from lists of names and an optional IANA zone (checked later, when a scorer
    /// builds its clock).
    pub fn new(
        currencies: &[&str],
        countries: &[&str],
        categories: &[&str],
        time_zone: Option<&str>,
    ) -> Result<Schema> {
        Ok(Schema {
            currencies: Dictionary::new(currencies.iter().copied())?,
            countries: Dictionary::new(countries.iter().copied())?,
            categories: Dictionary::new(categories.iter().copied())?,
            time_zone: time_zone.map(str::to_string),
        })
    }

    /// Parses a schema from JSON (`{"currencies": [...], "countries": [...],
    /// "categories": [...], "time_zone": "Europe/Berlin"}`; every field optional).
    pub fn from_json(json: &str) -> Result<Schema> {
        let s: Schema =
            serde_json::from_str(json).map_err(|e| Error::Parse(format!("fraud schema: {e}")))?;
        for d in [&s.currencies, &s.countries, &s.categories] {
            Dictionary::new(d.names.iter().cloned())
                .map_err(|e| Error::Parse(format!("fraud schema: {e}")))?;
        }
        Ok(s)
    }

    /// Checks a transaction's codes against the dictionaries.
    pub fn check_codes(&self, t: &Transaction) -> Result<()> {
        for (field, code, dict) in [
            ("currency", t.currency, &self.currencies),
            ("country", t.country, &self.countries),
            ("ip_country", t.ip_country, &self.countries),
            ("category", t.category, &self.categories),
        ] {
            if !dict.is_valid(code) {
                return Err(Error::InvalidArgument(format!(
                    "{field} code {code} is not in the schema (0 = unknown, 1..={} known)",
                    dict.len()
                )));
            }
        }
        Ok(())
    }
}

/// Checks an amount and a timestamp (shared by scored and history rows).
#[inline]
pub(crate) fn check_amount_time(amount: f64, timestamp: i64, what: &str) -> Result<()> {
    if !(amount.is_finite() && amount >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "{what}: amount must be a finite number >= 0, got {amount}"
        )));
    }
    if !(MIN_TIMESTAMP..MAX_TIMESTAMP).contains(&timestamp) {
        return Err(Error::InvalidArgument(format!(
            "{what}: timestamp {timestamp} is outside 1970-01-01..2200-01-01 (unix seconds)"
        )));
    }
    Ok(())
}

/// What to do with a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum Decision {
    /// Let it through.
    Approve = 0,
    /// Hold for manual review (or step-up authentication).
    Review = 1,
    /// Refuse it.
    Decline = 2,
}

impl Decision {
    /// The decision for `score` under thresholds `review_at <= decline_at`: decline at or
    /// above `decline_at`, review at or above `review_at`, approve below.
    ///
    /// ```
    /// use tenantml::scoring::fraud::Decision;
    /// assert_eq!(Decision::from_score(0.5, 0.3, 0.7), Decision::Review);
    /// assert_eq!(Decision::from_score(0.7, 0.3, 0.7), Decision::Decline);
    /// assert_eq!(Decision::from_score(0.29, 0.3, 0.7), Decision::Approve);
    /// ```
    pub fn from_score(score: f64, review_at: f64, decline_at: f64) -> Decision {
        if score >= decline_at {
            Decision::Decline
        } else if score >= review_at {
            Decision::Review
        } else {
            Decision::Approve
        }
    }

    /// Stable lower-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Review => "review",
            Decision::Decline => "decline",
        }
    }
}

/// Checks decision thresholds: `0 <= review_at <= decline_at <= 1`.
pub(crate) fn check_thresholds(review_at: f64, decline_at: f64) -> Result<()> {
    if !(review_at.is_finite()
        && decline_at.is_finite()
        && (0.0..=1.0).contains(&review_at)
        && (0.0..=1.0).contains(&decline_at)
        && review_at <= decline_at)
    {
        return Err(Error::InvalidArgument(format!(
            "decision thresholds must satisfy 0 <= review_at <= decline_at <= 1, got \
             review_at {review_at}, decline_at {decline_at}"
        )));
    }
    Ok(())
}

/// The allocation-free answer of the hot path ([`FraudScorer::score_with`]): plain values
/// a C caller can receive in a flat struct.
///
/// [`FraudScorer::score_with`]: super::FraudScorer::score_with
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreSummary {
    /// Risk score in [0, 1]: a calibrated fraud probability for a model, the combined rule
    /// score in rules-only mode.
    pub score: f64,
    /// Approve, review or decline, by the scorer's thresholds.
    pub decision: Decision,
    /// Which regime answered.
    pub regime: Regime,
    /// Bit `i` is set when rule `i` of the scorer's rule configuration fired.
    pub rule_hits: u64,
    /// The combined rule score (1 - prod(1 - weight) over the rules that fired).
    pub rule_score: f64,
}

/// A scored transaction with its provenance, as every answer of tenantml carries it.
///
/// ```
/// use tenantml::scoring::fraud::{Decision, FraudScore};
/// use tenantml::scoring::Regime;
/// let s = FraudScore {
///     score: 0.91,
///     decision: Decision::Decline,
///     regime: Regime::Model,
///     model_name: "fraud".into(),
///     model_version: 3,
///     rule_hits: vec!["velocity_10m".into()],
///     reasons: vec![],
/// };
/// let json = serde_json::to_string(&s)?;
/// assert!(json.contains(r#""decision":"decline""#));
/// assert_eq!(serde_json::from_str::<FraudScore>(&json)?, s);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FraudScore {
    /// Risk score in [0, 1] (see [`ScoreSummary::score`]).
    pub score: f64,
    /// Approve, review or decline.
    pub decision: Decision,
    /// Model, cold-start model or rule fallback.
    pub regime: Regime,
    /// The scorer's name.
    pub model_name: String,
    /// The scorer's version.
    pub model_version: u64,
    /// Codes of the rules that fired, in configuration order.
    pub rule_hits: Vec<String>,
    /// Top reasons (empty unless explained): model reasons by TreeSHAP contribution, then
    /// the rules that fired.
    pub reasons: Vec<ScoreReason>,
}
