//! Tree ensembles on binned features: histogram gradient boosting, random forests, their
//! blend, probability calibration, TreeSHAP explanations ([`explain`]) and the model file format.
//!
//! The pipeline follows the data: [`binning`] turns raw `f64` features into `u8` codes once;
//! [`histogram`] sums gradients and hessians per bin; [`split`] finds the best threshold of a
//! histogram (with a learned direction for missing values); [`grower`] grows one tree
//! leaf-wise (under [`monotone`] constraints when asked); [`tree`] holds a fitted tree that predicts on raw values; [`objective`] gives
//! each loss's gradients; [`gbdt`] boosts trees on them; [`forest`] averages trees grown on
//! bootstrap samples; [`compiled`] flattens the trees for inference; [`calibration`] maps
//! raw scores to calibrated probabilities; [`metrics`] scores predictions; [`format`](mod@format) is the
//! versioned, checksummed file envelope every tenantml model is saved in.

pub mod binning;
pub mod calibration;
pub mod compiled;
pub mod explain;
pub mod forest;
pub mod format;
pub mod gbdt;
pub mod grower;
pub mod histogram;
#[cfg(feature = "linfa")]
pub mod linfa_traits;
pub mod metrics;
pub mod model;
pub mod monotone;
pub mod objective;
pub mod split;
pub mod tree;
