//! Tree ensembles on binned features: histogram gradient boosting with TreeSHAP
//! explanations (and, to come, random forests, blends and calibration).
//!
//! The pipeline follows the data: [`binning`] turns raw `f64` features into `u8` codes once;
//! [`histogram`] sums gradients and hessians per bin; [`split`] finds the best threshold of a
//! histogram (with a learned direction for missing values); [`grower`] grows one tree
//! leaf-wise; [`tree`] holds a fitted tree that predicts on raw values; [`objective`] gives
//! each loss's gradients; [`gbdt`] boosts trees on them; [`compiled`] flattens the trees for
//! inference; [`explain`] attributes each prediction to its features (TreeSHAP) and turns
//! that into reason codes.

pub mod binning;
pub mod compiled;
pub mod explain;
pub mod gbdt;
pub mod grower;
pub mod histogram;
pub mod objective;
pub mod split;
pub mod tree;
