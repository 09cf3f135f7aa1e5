//! The area under the ROC curve as scikit-learn's `roc_auc_score` computes
//! it: the trapezoids of the curve, which is the Mann-Whitney statistic with
//! tied scores counted half. Pure: the CV scorers gather the held-out
//! scores and call it.

use crate::error::Result;
use anyhow::bail;

/// AUC of `scores` for the documents where `positive` is true against the
/// rest, each counting by its weight `w` (sklearn's `sample_weight`: the
/// curve's steps are summed weights; 1 each is the plain count).
pub fn roc_auc(scores: &[f64], positive: &[bool], w: &[f64]) -> Result<f64> {
    // sklearn refuses by the labels present, whatever their weights.
    if positive.iter().all(|&p| p) || !positive.contains(&true) {
        bail!("Only one class present in y_true. ROC AUC score is not defined in that case.");
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut wins, mut neg_below, mut pos_total) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let (mut pos, mut neg) = (0.0, 0.0);
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if positive[order[j]] { pos += w[order[j]] } else { neg += w[order[j]] }
            j += 1;
        }
        wins += pos * (neg_below + 0.5 * neg);
        neg_below += neg;
        pos_total += pos;
        i = j;
    }
    if pos_total <= 0.0 || neg_below <= 0.0 {
        bail!("ROC AUC is not defined when the held-out positives or negatives weigh 0 (their --sample-weight); give them weights above 0");
    }
    Ok(wins / (pos_total * neg_below))
}

/// sklearn's `roc_auc_score(y, proba, multi_class="ovr")` (macro average):
/// each class's probability column against the rest, weighted by `w`.
/// `proba` is n x K.
pub fn roc_auc_ovr(proba: &[f64], y: &[u32], w: &[f64], k: usize) -> Result<f64> {
    let mut total = 0.0;
    for c in 0..k {
        let column: Vec<f64> = proba.iter().skip(c).step_by(k).copied().collect();
        let positive: Vec<bool> = y.iter().map(|&t| t as usize == c).collect();
        if !positive.contains(&true) {
            bail!("Number of classes in y_true not equal to the number of columns in 'y_score'");
        }
        total += roc_auc(&column, &positive, w)?;
    }
    Ok(total / k as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_count_half_as_sklearn() {
        // sklearn: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        let one = [1.0; 4];
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true], &one).unwrap(), 0.75);
        // All tied: 0.5.
        assert_eq!(roc_auc(&[1.0; 4], &[false, true, false, true], &one).unwrap(), 0.5);
        assert!(roc_auc(&[1.0, 2.0], &[true, true], &one[..2]).is_err());
    }

    #[test]
    fn one_vs_rest_averages_the_columns() {
        // Perfectly separated: every column ranks its class first.
        let proba = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
        assert_eq!(roc_auc_ovr(&proba, &[0, 1, 2], &[1.0; 3], 3).unwrap(), 1.0);
    }

    #[test]
    fn a_whole_number_weight_counts_as_that_many_copies() {
        // sklearn 1.9.1: roc_auc_score([0, 0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8, 0.35],
        // sample_weight=[2, 6, 4, 2, 1]) == 0.5185185185185185 (28 / 54), and so
        // is the AUC of the documents repeated by weight.
        let (s, p) = ([0.1, 0.4, 0.35, 0.8, 0.35], [false, false, true, true, false]);
        let weighted = roc_auc(&s, &p, &[2.0, 6.0, 4.0, 2.0, 1.0]).unwrap();
        assert_eq!(weighted, 0.5185185185185185);
        let (mut rs, mut rp) = (Vec::new(), Vec::new());
        for (i, n) in [2, 6, 4, 2, 1].into_iter().enumerate() {
            rs.extend(std::iter::repeat_n(s[i], n));
            rp.extend(std::iter::repeat_n(p[i], n));
        }
        assert_eq!(weighted, roc_auc(&rs, &rp, &vec![1.0; rs.len()]).unwrap());
        assert!(roc_auc(&s, &p, &[1.0, 1.0, 0.0, 0.0, 1.0]).is_err(), "positives weighing 0");
    }
}
