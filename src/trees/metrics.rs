//! Quality measures for predictions: MAE, RMSE, ROC AUC, average precision (PR AUC) and
//! log-loss.
//!
//! Shared by model fitting (blend weights, reports), the command-line tool's `--json` output
//! and the tests, so every place scores a model the same way.

/// Mean absolute error.
///
/// ```
/// use tenantml::trees::metrics::mae;
/// assert_eq!(mae(&[1.0, 2.0], &[2.0, 2.0]), 0.5);
/// ```
pub fn mae(y: &[f64], p: &[f64]) -> f64 {
    debug_assert_eq!(y.len(), p.len());
    y.iter().zip(p).map(|(a, b)| (a - b).abs()).sum::<f64>() / y.len() as f64
}

/// Root mean squared error.
pub fn rmse(y: &[f64], p: &[f64]) -> f64 {
    debug_assert_eq!(y.len(), p.len());
    (y.iter().zip(p).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / y.len() as f64).sqrt()
}

/// Coefficient of determination, 1 - SSE / SST (can be negative; NaN for constant `y`).
pub fn r2(y: &[f64], p: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let sst: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let sse: f64 = y.iter().zip(p).map(|(a, b)| (a - b).powi(2)).sum();
    if sst == 0.0 {
        f64::NAN
    } else {
        1.0 - sse / sst
    }
}

/// Area under the ROC curve for 0/1 labels: the probability that a random positive scores
/// above a random negative, ties counting one half (the Mann-Whitney statistic, as
/// scikit-learn's `roc_auc_score`). NaN when only one class is present.
///
/// ```
/// use tenantml::trees::metrics::roc_auc;
/// assert_eq!(roc_auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]), 0.75);
/// ```
pub fn roc_auc(y: &[f64], score: &[f64]) -> f64 {
    debug_assert_eq!(y.len(), score.len());
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    let positives = y.iter().filter(|&&v| v == 1.0).count() as f64;
    let negatives = y.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    // Sum of the positives' ranks, tied scores sharing their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && score[order[j + 1]] == score[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if y[k] == 1.0 {
                rank_sum += average_rank;
            }
        }
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Average precision, the area under the precision-recall curve as scikit-learn's
/// `average_precision_score` computes it: the sum over distinct score thresholds (highest
/// first) of precision at the threshold times the recall gained there. Tied scores form one
/// threshold. NaN when there are no positives. For rare events (fraud) it says more than
/// ROC AUC, whose value is dominated by the many easy negatives.
///
/// ```
/// use tenantml::trees::metrics::average_precision;
/// // scikit-learn: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333...
/// let ap = average_precision(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]);
/// assert!((ap - 5.0 / 6.0).abs() < 1e-12);
/// ```
pub fn average_precision(y: &[f64], score: &[f64]) -> f64 {
    debug_assert_eq!(y.len(), score.len());
    let positives = y.iter().filter(|&&v| v == 1.0).count() as f64;
    if positives == 0.0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut true_pos, mut seen, mut ap) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut gained = 0.0;
        let mut j = i;
        while j < order.len() && score[order[j]] == score[order[i]] {
            if y[order[j]] == 1.0 {
                gained += 1.0;
            }
            j += 1;
        }
        true_pos += gained;
        seen += (j - i) as f64;
        ap += (true_pos / seen) * (gained / positives);
        i = j;
    }
    ap
}

/// Mean binary cross-entropy of probabilities, clipped to [1e-15, 1 - 1e-15] as
/// scikit-learn does so one confident mistake is large but finite.
pub fn log_loss(y: &[f64], p: &[f64]) -> f64 {
    debug_assert_eq!(y.len(), p.len());
    let eps = 1e-15;
    y.iter()
        .zip(p)
        .map(|(&t, &q)| {
            let q = q.clamp(eps, 1.0 - eps);
            -(t * q.ln() + (1.0 - t) * (1.0 - q).ln())
        })
        .sum::<f64>()
        / y.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_matches_scikit_learn_with_ties() {
        // Values from scikit-learn 1.9.1 `average_precision_score` on the same inputs.
        let ap = average_precision(&[1.0, 0.0, 1.0, 0.0, 1.0], &[0.5, 0.5, 0.2, 0.9, 0.2]);
        assert!((ap - 0.511_111_111_111_111_1).abs() < 1e-12, "{ap}");
        let y: Vec<f64> = (0..200)
            .map(|i| ((i * 7919) % 3 == 0) as u8 as f64)
            .collect();
        let s: Vec<f64> = (0..200).map(|i| ((i * 104_729) % 17) as f64).collect();
        let ap = average_precision(&y, &s);
        assert!((ap - 0.342_716_632_385_202_67).abs() < 1e-12, "{ap}");
        assert!(average_precision(&[0.0, 0.0], &[0.1, 0.2]).is_nan());
    }

    #[test]
    fn auc_counts_ties_as_half_and_matches_pair_counting() {
        assert_eq!(roc_auc(&[0.0, 1.0], &[0.5, 0.5]), 0.5);
        assert!(roc_auc(&[1.0, 1.0], &[0.1, 0.2]).is_nan());
        // Against the O(n^2) definition on pseudo-random scores with many ties.
        let y: Vec<f64> = (0..200)
            .map(|i| ((i * 7919) % 3 == 0) as u8 as f64)
            .collect();
        let s: Vec<f64> = (0..200).map(|i| ((i * 104_729) % 17) as f64).collect();
        let (mut wins, mut pairs) = (0.0, 0.0);
        for i in 0..200 {
            for j in 0..200 {
                if y[i] == 1.0 && y[j] == 0.0 {
                    pairs += 1.0;
                    wins += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        assert!((roc_auc(&y, &s) - wins / pairs).abs() < 1e-12);
    }

    #[test]
    fn regression_metrics_and_log_loss() {
        assert_eq!(rmse(&[0.0, 0.0], &[3.0, 4.0]), (12.5f64).sqrt());
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        assert!((log_loss(&[1.0, 0.0], &[0.5, 0.5]) - std::f64::consts::LN_2).abs() < 1e-12);
        assert!(log_loss(&[1.0], &[0.0]).is_finite());
    }
}
