//! The problem a solver minimises, apart from any optimiser: scikit-learn's
//! objective `C * sum_i s_i * loss_i(W) + penalty(W)` over the rows every
//! rank holds.

use super::loss::loss_and_gradient;
use super::options::SolverOptions;
use crate::collectives::Collectives;
use crate::sparse::{parts, Csr};
use ndarray::Array2;

/// One rank's share of the training data.
pub struct TrainingSet<'a> {
    /// Local samples, columns sorted per row.
    pub x: &'a Csr,
    /// Class index of each local sample (0/1 for two classes).
    pub y: &'a [u32],
    /// Weight of each local sample (class weights).
    pub sample_weight: &'a [f64],
    pub n_features: usize,
    pub n_classes: usize,
    /// Samples over all ranks.
    pub n_total: u64,
}

impl TrainingSet<'_> {
    /// Scores per class: 1 for the binary model, K otherwise.
    pub fn width(&self) -> usize {
        if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        }
    }
}

/// Collective: `C * sum_i s_i loss_i + penalty` at `coef` (K x d) and `intercept`.
pub fn objective(data: &TrainingSet, coef: &Array2<f64>, intercept: &[f64], opts: &SolverOptions, comm: &dyn Collectives) -> f64 {
    let k = intercept.len();
    // Feature-major, so that a row's K weights per non-zero sit together.
    let w = coef.t().as_standard_layout().into_owned();
    let w = w.as_slice().expect("standard layout");
    let (indptr, cols, values) = parts(data.x);
    let (mut raw, mut grad) = (vec![0.0; k], vec![0.0; k]);
    let mut local = 0.0;
    for i in 0..data.y.len() {
        raw.copy_from_slice(intercept);
        for p in indptr[i]..indptr[i + 1] {
            let j = cols[p] as usize;
            for c in 0..k {
                raw[c] += values[p] * w[j * k + c];
            }
        }
        local += data.sample_weight[i] * loss_and_gradient(&raw, data.y[i] as usize, &mut grad);
    }
    opts.c * comm.sum_f64(local) + opts.penalty_value(coef.as_slice().expect("an owned (K, d) array"))
}
