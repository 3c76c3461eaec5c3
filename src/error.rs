//! One error type for the whole crate, with stable numeric codes shared by the C ABI.
//!
//! Codes are banded and never reused: 1..99 general, 100..199 models, 200..299 the circuit
//! breaker, 900 and up internal. A retired code stays listed as reserved.

use std::time::Duration;

/// Every failure tenantml reports, in Rust and (as [`Error::code`]) through the C ABI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument is outside its documented domain (empty name, rate above 1, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A required pointer was NULL (C ABI only).
    #[error("null pointer: {0}")]
    NullPointer(&'static str),
    /// JSON or text input could not be parsed.
    #[error("parse error: {0}")]
    Parse(String),
    /// An operating-system call failed.
    #[error("I/O error: {context}: {source}")]
    Io {
        /// What was being done, e.g. the path being opened.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A model file is truncated, corrupted, foreign or from an incompatible version.
    #[error("bad model file: {0}")]
    BadModelFile(String),
    /// A model was used before it was fitted.
    #[error("model is not fitted: {0}")]
    NotFitted(String),
    /// A model registry's own files (a version's metadata sidecar, the promotion pointer)
    /// are damaged or do not belong to the version they describe.
    #[error("model registry corrupt: {0}")]
    RegistryCorrupt(String),
    /// A model's feature schema is not the one the caller expects.
    #[error("feature schema mismatch: {0}")]
    SchemaMismatch(String),
    /// The circuit breaker refused the call.
    #[error("circuit '{name}' is open; {}", match retry_after {
        Some(d) => format!("retry after {} ms", d.as_millis()),
        None => "it was forced open and stays open until reset".to_string(),
    })]
    CircuitOpen {
        /// Breaker name.
        name: String,
        /// Time until the breaker lets a probe through; `None` while forced open.
        retry_after: Option<Duration>,
    },
    /// A shared breaker already exists with another configuration.
    #[error("breaker '{name}' exists in the shared store with another configuration (stored hash {stored:016x}, requested {requested:016x}); use the same settings everywhere or open it with adopt_stored_config")]
    ConfigMismatch {
        /// Breaker name.
        name: String,
        /// Hash of the configuration already in the store.
        stored: u64,
        /// Hash of the configuration this caller asked for.
        requested: u64,
    },
    /// Every slot of a shared breaker store is taken.
    #[error("breaker store is full: all {capacity} slots are taken (open the store with a larger capacity)")]
    StoreFull {
        /// Number of slots in the store.
        capacity: usize,
    },
    /// A breaker store file is not ours, or is damaged.
    #[error("breaker store corrupt: {0}")]
    StoreCorrupt(String),
    /// A panic was caught at the C boundary (a bug in tenantml).
    #[error("internal error (panic): {0}")]
    InternalPanic(String),
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable numeric code of this error, the same as the C ABI's `TmlStatus`.
    ///
    /// ```
    /// use tenantml::Error;
    /// assert_eq!(Error::InvalidArgument("x".into()).code(), 1);
    /// ```
    pub fn code(&self) -> u32 {
        match self {
            Error::InvalidArgument(_) => 1,
            Error::NullPointer(_) => 2,
            Error::Parse(_) => 3,
            Error::Io { .. } => 4,
            Error::BadModelFile(_) => 100,
            Error::NotFitted(_) => 101,
            Error::RegistryCorrupt(_) => 102,
            Error::SchemaMismatch(_) => 103,
            Error::CircuitOpen { .. } => 200,
            Error::ConfigMismatch { .. } => 201,
            Error::StoreFull { .. } => 202,
            Error::StoreCorrupt(_) => 203,
            Error::InternalPanic(_) => 900,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        Error::Io {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// linfa's `Fit` requires its error type to absorb linfa's own errors (raised by linfa's
/// helpers, such as cross-validation's scoring closures).
#[cfg(feature = "linfa")]
impl From<linfa::Error> for Error {
    fn from(e: linfa::Error) -> Self {
        Error::InvalidArgument(format!("linfa: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Parse(e.to_string())
    }
}
