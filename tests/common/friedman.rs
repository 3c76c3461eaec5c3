//! Friedman #1 regression data, shared by the GBDT tests and benchmarks:
//! y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + noise * U(-0.5, 0.5); features
//! beyond the first five are pure noise.

use ndarray::Array2;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// `n` rows of `features` (>= 5) uniform features and their targets, seeded.
pub fn friedman(n: usize, features: usize, seed: u64, noise: f64) -> (Array2<f64>, Vec<f64>) {
    assert!(features >= 5, "Friedman #1 needs at least 5 features");
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, features), |_| rng.gen::<f64>());
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            10.0 * (std::f64::consts::PI * r[0] * r[1]).sin()
                + 20.0 * (r[2] - 0.5).powi(2)
                + 10.0 * r[3]
                + 5.0 * r[4]
                + noise * (rng.gen::<f64>() - 0.5)
        })
        .collect();
    (x, y)
}
