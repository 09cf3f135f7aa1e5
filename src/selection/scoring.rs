//! Scores of a model on held-out documents, as scikit-learn's scorers
//! compute them: `accuracy` (the default of `LogisticRegressionCV`) and
//! `neg_log_loss` (minus the mean log loss, probabilities clipped to
//! [eps, 1 - eps]). Each rank scores its own documents; one allreduce adds up.

use crate::collectives::{Collectives, Op};
use crate::scores::log_loss_term;
use crate::solver::loss::{argmax_class, probabilities};
use crate::sparse::{Rows, Value};
use crate::with_parts;
use ndarray::Array2;

/// What a fit is scored by (sklearn's `scoring`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    Accuracy,
    #[value(name = "neg_log_loss")]
    NegLogLoss,
}

/// Collective: the score of the model `(coef, intercept)` (width x d) on the
/// local documents `i` of `x` for which `held_out(i)`, over all ranks.
pub fn score(comm: &dyn Collectives, scoring: Scoring, x: &Rows, y: &[u32], held_out: impl Fn(usize) -> bool, coef: &Array2<f64>, intercept: &[f64]) -> f64 {
    let k = intercept.len();
    let classes = if k == 1 { 2 } else { k };
    let (mut raw, mut p) = (vec![0.0; k], vec![0.0; classes]);
    // [documents, correct, summed log loss]
    let mut sums = [0.0; 3];
    with_parts!(x, |indptr, cols, values| {
        for i in (0..y.len()).filter(|&i| held_out(i)) {
            let (cols, vals) = (&cols[indptr[i]..indptr[i + 1]], &values[indptr[i]..indptr[i + 1]]);
            for ((r, w), b) in raw.iter_mut().zip(coef.rows()).zip(intercept) {
                *r = b + cols.iter().zip(vals).map(|(&j, &v)| w[j as usize] * v.to_f64()).sum::<f64>();
            }
            sums[0] += 1.0;
            sums[1] += (argmax_class(&raw) == y[i] as usize) as u8 as f64;
            if scoring == Scoring::NegLogLoss {
                probabilities(&raw, &mut p);
                sums[2] += log_loss_term(p[y[i] as usize]);
            }
        }
    });
    comm.all_reduce_f64(&mut sums, Op::Sum);
    match scoring {
        Scoring::Accuracy => sums[1] / sums[0],
        Scoring::NegLogLoss => -sums[2] / sums[0],
    }
}
