//! Churn prediction per tenant (being built).
