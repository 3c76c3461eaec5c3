//! Fraud scoring of single transactions (being built).
