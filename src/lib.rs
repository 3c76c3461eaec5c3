//! # tenantml
//!
//! In-process machine learning and resilience for multi-tenant SaaS platforms. The crate
//! does the work; a C ABI ([`ffi`], header `include/tenantml.h`) exposes it to PHP through
//! FFI and to any other language that can call C.
//!
//! Available now:
//! - [`breaker`]: a circuit breaker whose state every process on a host can share.
//! - [`coldstart`]: priors and synthetic tenants for forecasting before a tenant has history.
//! - [`drift`]: drift detection (KS, PSI, Wasserstein, Jensen-Shannon, chi-squared) with
//!   per-feature and dataset reports, bounded reference samples stored with models,
//!   streaming detectors (Page-Hinkley, ADWIN) and a retraining policy.
//! - [`features`]: time-series features (calendar in the tenant's time zone, lags, windows),
//!   seasonality detection and anomaly flags.
//! - [`forecast`]: `UsagePredictor`, a global forecaster with conformal intervals, cold-start
//!   hand-over, fallback rule, baselines and backtesting.
//! - [`registry`]: a versioned model store in a directory (atomic, checksummed, safe with
//!   concurrent writer processes) with promotion, rollback and retention.
//! - [`scoring`]: fraud scoring (`FraudScorer`: a calibrated risk score per transaction from
//!   the customer's recent history, approve/review/decline, TreeSHAP and rule reasons, a
//!   JSON rule engine as fallback, synthetic transactions with planted fraud for day 1) and
//!   churn prediction (`ChurnPredictor`: calibrated churn probability with reasons, the
//!   days-inactive rule as fallback, retention triggers with cool-downs, leakage-free label
//!   building, synthetic cold-start tenants).
//! - [`trees`]: histogram gradient boosting, random forests, calibration, TreeSHAP reasons and
//!   versioned model files.
//! - [`telemetry`]: Prometheus text exposition of the library's metrics.
//!
//! ```
//! use tenantml::breaker::{BreakerConfig, BreakerStore, CallError};
//! let store = BreakerStore::in_process();
//! let breaker = store.breaker("forecast-api", BreakerConfig::default())?;
//! let answer = breaker.call(|| Ok::<_, String>(42), |_e: CallError<String>| 0);
//! assert_eq!(answer, 42);
//! # Ok::<(), tenantml::Error>(())
//! ```
#![deny(missing_docs)]

pub mod breaker;
pub mod coldstart;
pub mod data;
pub mod drift;
pub mod error;
pub mod features;
pub mod ffi;
pub mod forecast;
pub mod registry;
pub mod scoring;
pub mod telemetry;
pub mod trees;

pub use error::{Error, Result};

/// The library version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The README's Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
