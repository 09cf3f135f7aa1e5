//! Scores of a model on held-out documents, as scikit-learn's scorers
//! compute them: `accuracy` (the default of `LogisticRegressionCV`),
//! `neg_log_loss` (minus the mean log loss, probabilities clipped to
//! [eps, 1 - eps]), `f1_macro`, `f1_weighted` and `balanced_accuracy` (from
//! the confusion matrix), `roc_auc` (two classes: the decision function's
//! ranking) and `roc_auc_ovr` (each class's probability against the rest,
//! macro-averaged).
//!
//! Each rank scores its own documents. Counts travel in one allreduce (a
//! K x K confusion matrix at most); the AUC scorers rank every held-out
//! document, so their scores (K values a document) are gathered to every
//! rank: the one scorer whose traffic grows with the held-out set.
//!
//! With sample weights (`fit --sample-weight` with `--Cs`) every document
//! counts by its weight, as each scorer counts `sample_weight`: the
//! confusion matrix and the log loss sum weights, and the ROC curve steps by
//! them.

use crate::collectives::{Collectives, Op};
use crate::error::Result;
use crate::roc_auc::{roc_auc, roc_auc_ovr};
use crate::scores::{log_loss_term, Confusion};
use crate::solver::loss::{argmax_class, probabilities};
use crate::sparse::{Rows, Value};
use crate::with_parts;
use anyhow::bail;
use ndarray::Array2;

/// What a fit is scored by (sklearn's `scoring`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    Accuracy,
    #[value(name = "neg_log_loss")]
    NegLogLoss,
    #[value(name = "f1_macro")]
    F1Macro,
    #[value(name = "f1_weighted")]
    F1Weighted,
    #[value(name = "balanced_accuracy")]
    BalancedAccuracy,
    /// Two classes only, as sklearn's `roc_auc`.
    #[value(name = "roc_auc")]
    RocAuc,
    #[value(name = "roc_auc_ovr")]
    RocAucOvr,
}

impl Scoring {
    /// sklearn's name of the scorer.
    pub fn name(self) -> &'static str {
        match self {
            Scoring::Accuracy => "accuracy",
            Scoring::NegLogLoss => "neg_log_loss",
            Scoring::F1Macro => "f1_macro",
            Scoring::F1Weighted => "f1_weighted",
            Scoring::BalancedAccuracy => "balanced_accuracy",
            Scoring::RocAuc => "roc_auc",
            Scoring::RocAucOvr => "roc_auc_ovr",
        }
    }

    /// sklearn's refusal of `roc_auc` on more than two classes, before any fit.
    pub fn check(self, classes: usize) -> Result<()> {
        if self == Scoring::RocAuc && classes > 2 {
            bail!("--scoring roc_auc is for two classes and the data has {classes} (multiclass format is not supported); use roc_auc_ovr");
        }
        Ok(())
    }
}

/// Collective: the score of the model `(coef, intercept)` (width x d) on the
/// local documents `i` of `(x, y)` for which `held_out(i)` gives a weight,
/// over all ranks. Each counts by its weight, as sklearn's scorers count
/// with `sample_weight` (1 each: unweighted).
pub fn score(comm: &dyn Collectives, scoring: Scoring, (x, y): (&Rows, &[u32]), held_out: impl Fn(usize) -> Option<f64>, coef: &Array2<f64>, intercept: &[f64]) -> Result<f64> {
    let width = intercept.len();
    let k = if width == 1 { 2 } else { width };
    let (mut raw, mut p) = (vec![0.0; width], vec![0.0; k]);
    // [K x K confusion, summed weights | weighted sum of the log loss]
    let mut sums = vec![0.0; k * k + 1];
    // Per held-out document, for the AUC scorers: its label, its weight and
    // what sklearn ranks by: the decision function (`roc_auc`), the K
    // probabilities (`roc_auc_ovr`).
    let ranked = matches!(scoring, Scoring::RocAuc | Scoring::RocAucOvr);
    let mut kept: Vec<f64> = Vec::new();
    with_parts!(x, |indptr, cols, values| {
        for (i, w) in (0..y.len()).filter_map(|i| held_out(i).map(|w| (i, w))) {
            let (cols, vals) = (&cols[indptr[i]..indptr[i + 1]], &values[indptr[i]..indptr[i + 1]]);
            for ((r, row), b) in raw.iter_mut().zip(coef.rows()).zip(intercept) {
                *r = b + cols.iter().zip(vals).map(|(&j, &v)| row[j as usize] * v.to_f64()).sum::<f64>();
            }
            sums[y[i] as usize * k + argmax_class(&raw)] += w;
            if scoring == Scoring::NegLogLoss || ranked {
                probabilities(&raw, &mut p);
                sums[k * k] += w * log_loss_term(p[y[i] as usize]);
            }
            if ranked {
                kept.extend_from_slice(&[y[i] as f64, w]);
                kept.extend_from_slice(if scoring == Scoring::RocAuc { &raw } else { &p });
            }
        }
    });
    comm.all_reduce_f64(&mut sums, Op::Sum);
    let c = Confusion::new(&sums[..k * k], k);
    if c.total() <= 0.0 {
        bail!("the held-out documents of a fold weigh 0 in all (their --sample-weight); a score needs some weight: give them weights above 0");
    }
    Ok(match scoring {
        Scoring::Accuracy => c.accuracy(),
        Scoring::NegLogLoss => -sums[k * k] / c.total(),
        Scoring::F1Macro => c.macro_avg().f1,
        Scoring::F1Weighted => c.weighted_avg().f1,
        Scoring::BalancedAccuracy => c.balanced_accuracy(),
        Scoring::RocAuc | Scoring::RocAucOvr => ranked_score(comm, scoring, &kept, k)?,
    })
}

/// Collective: an AUC scorer over every rank's held-out documents, each
/// `[label, weight, scores..]` in `kept` (one decision value for `roc_auc`,
/// K probabilities for `roc_auc_ovr`).
fn ranked_score(comm: &dyn Collectives, scoring: Scoring, kept: &[f64], k: usize) -> Result<f64> {
    let bytes: Vec<u8> = kept.iter().flat_map(|v| v.to_le_bytes()).collect();
    let all: Vec<f64> = comm.all_gather_bytes(&bytes)?.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
    let per_doc = if scoring == Scoring::RocAuc { 3 } else { k + 2 };
    let y: Vec<u32> = all.chunks_exact(per_doc).map(|d| d[0] as u32).collect();
    let w: Vec<f64> = all.chunks_exact(per_doc).map(|d| d[1]).collect();
    let scores: Vec<f64> = all.chunks_exact(per_doc).flat_map(|d| d[2..].iter().copied()).collect();
    let positive: Vec<bool> = y.iter().map(|&t| t == 1).collect();
    match (scoring, k) {
        (Scoring::RocAuc, 2) => roc_auc(&scores, &positive, &w),
        // Two classes: sklearn takes the positive class's probability.
        (Scoring::RocAucOvr, 2) => roc_auc(&scores.iter().skip(1).step_by(2).copied().collect::<Vec<_>>(), &positive, &w),
        (Scoring::RocAucOvr, _) => roc_auc_ovr(&scores, &y, &w, k),
        _ => bail!("--scoring roc_auc is for two classes; use roc_auc_ovr"),
    }
}
