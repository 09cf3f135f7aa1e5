//! The area under the ROC curve as scikit-learn's `roc_auc_score` computes
//! it: the trapezoids of the curve, which is the Mann-Whitney statistic with
//! tied scores counted half. Pure: the CV scorers gather the held-out
//! scores and call it.

use crate::error::Result;
use anyhow::bail;

/// AUC of `scores` for the documents where `positive` is true against the rest.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Result<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        bail!("Only one class present in y_true. ROC AUC score is not defined in that case.");
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut wins, mut neg_below) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let (mut pos, mut neg) = (0.0, 0.0);
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if positive[order[j]] { pos += 1.0 } else { neg += 1.0 }
            j += 1;
        }
        wins += pos * (neg_below + 0.5 * neg);
        neg_below += neg;
        i = j;
    }
    Ok(wins / (n_pos as f64 * n_neg as f64))
}

/// sklearn's `roc_auc_score(y, proba, multi_class="ovr")` (macro average):
/// each class's probability column against the rest. `proba` is n x K.
pub fn roc_auc_ovr(proba: &[f64], y: &[u32], k: usize) -> Result<f64> {
    let mut total = 0.0;
    for c in 0..k {
        let column: Vec<f64> = proba.iter().skip(c).step_by(k).copied().collect();
        let positive: Vec<bool> = y.iter().map(|&t| t as usize == c).collect();
        if !positive.contains(&true) {
            bail!("Number of classes in y_true not equal to the number of columns in 'y_score'");
        }
        total += roc_auc(&column, &positive)?;
    }
    Ok(total / k as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_count_half_as_sklearn() {
        // sklearn: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap(), 0.75);
        // All tied: 0.5.
        assert_eq!(roc_auc(&[1.0; 4], &[false, true, false, true]).unwrap(), 0.5);
        assert!(roc_auc(&[1.0, 2.0], &[true, true]).is_err());
    }

    #[test]
    fn one_vs_rest_averages_the_columns() {
        // Perfectly separated: every column ranks its class first.
        let proba = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
        assert_eq!(roc_auc_ovr(&proba, &[0, 1, 2], 3).unwrap(), 1.0);
    }
}
