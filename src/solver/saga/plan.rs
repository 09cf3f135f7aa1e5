//! How a SAGA fit's epochs run, decided once before the first: the step
//! size, the batch, the intercept's scale (see `step_size` for the maths).

use crate::collectives::Collectives;
use crate::solver::options::SolverOptions;
use crate::solver::problem::TrainingSet;
use crate::solver::step_size::{minibatch_smoothness, saga_step, top_eigenvalue, EIGEN_MARGIN};
use crate::sparse::Value;
use crate::with_parts;

#[derive(Debug, Clone)]
pub struct Plan {
    pub step: f64,
    /// Samples per step, all ranks together: `--batch-size` times the
    /// ranks, or chosen ([`auto_batch`]); any number, since every rank
    /// works on every sample of a step (its own features' share).
    pub batch_total: usize,
    pub steps_per_epoch: usize,
    pub intercept_scale: f64,
    pub l_max: f64,
    pub l_full: f64,
}

/// Collective: the step size and batch size.
pub fn plan(data: &TrainingSet, opts: &SolverOptions, comm: &dyn Collectives) -> Plan {
    let n = data.n_total as f64;
    let alpha = opts.alpha_beta().0 / n;
    let d = data.n_features;
    let max_sq = comm.max_f64(max_row_norm_sq(data));
    // lambda_max of the rows alone, then with the intercept's column at scale s.
    let lam_rows = top_eigenvalue(d, n, 100, |v| comm.sum_f64_vec_identical(&gram(data, v, 0.0)));
    let s = if opts.fit_intercept { comm.max_f64(lam_rows.sqrt().clamp(0.01, 1.0)) } else { 0.0 };
    let l_max = 0.25 * (max_sq + s * s) + alpha;
    let batch_total = match opts.batch_size {
        Some(b) => b * comm.size(),
        None => auto_batch(data, comm),
    };
    // A batch of one sample steps by L_max alone (see `minibatch_smoothness`):
    // the second power iteration, with the intercept's column, would only be
    // reported (0.1-0.2 s of a fit on 200,000 documents; fifty fits in a CV path).
    let l_full = if batch_total <= 1 {
        l_max
    } else {
        let lam = if opts.fit_intercept { top_eigenvalue(d + 1, n, 100, |v| comm.sum_f64_vec_identical(&gram(data, v, s))) } else { lam_rows };
        (0.25 * comm.max_f64(lam) * EIGEN_MARGIN + alpha).min(l_max)
    };
    let steps = (n / batch_total as f64).ceil().max(1.0) as usize;
    let b_total = n / steps as f64;
    let l_b = minibatch_smoothness(n, b_total, l_full, l_max);
    let step = comm.max_f64(saga_step(l_b, steps as f64, alpha));
    Plan { step, batch_total, steps_per_epoch: steps, intercept_scale: s, l_max, l_full }
}

/// One rank's plan at batch 1 without the power iterations: the intercept
/// at full scale (`s = 1`, the largest [`plan`] picks, so the step is never
/// too long). For a few epochs of a start, where 200 passes of the power
/// iteration would cost more than the epochs themselves.
pub fn batch_one(data: &TrainingSet, opts: &SolverOptions) -> Plan {
    let n = data.n_total as f64;
    let alpha = opts.alpha_beta().0 / n;
    let max_sq = max_row_norm_sq(data);
    let s = if opts.fit_intercept { 1.0 } else { 0.0 };
    let l_max = 0.25 * (max_sq + s * s) + alpha;
    let steps = data.n_total.max(1) as usize;
    Plan { step: saga_step(l_max, steps as f64, alpha), batch_total: 1, steps_per_epoch: steps, intercept_scale: s, l_max, l_full: l_max }
}

/// The largest squared norm of this rank's rows.
fn max_row_norm_sq(data: &TrainingSet) -> f64 {
    with_parts!(data.x, |indptr, _cols, values| {
        (0..data.x.rows()).map(|r| values[indptr[r]..indptr[r + 1]].iter().map(|&v| v.to_f64() * v.to_f64()).sum::<f64>()).fold(0.0, f64::max)
    })
}

/// This rank's `sum_i a_i (a_i . v)`, where `a_i` is row `i` with, when `v`
/// is one longer than the rows, a constant column `s` appended.
fn gram(data: &TrainingSet, v: &[f64], s: f64) -> Vec<f64> {
    with_parts!(data.x, |indptr, cols, values| gram_rows(data.n_features, indptr, cols, values, v, s))
}

fn gram_rows<V: Value>(d: usize, indptr: &[usize], cols: &[u32], values: &[V], v: &[f64], s: f64) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for r in 0..indptr.len() - 1 {
        let (a, b) = (indptr[r], indptr[r + 1]);
        let mut dot = if v.len() > d { s * v[d] } else { 0.0 };
        for p in a..b {
            dot += values[p].to_f64() * v[cols[p] as usize];
        }
        for p in a..b {
            out[cols[p] as usize] += values[p].to_f64() * dot;
        }
        if v.len() > d {
            out[d] += s * dot;
        }
    }
    out
}

/// Nominal latency of one small allreduce over `p` ranks: about 2 us per
/// round of a tree on InfiniBand or shared memory (see README's cost model).
fn nominal_latency(p: f64) -> f64 {
    2e-6 * p.log2().max(1.0)
}

/// Epochs grow with the total batch `b` roughly as `1 + (b - 1) / B0`
/// (fitted to 1-rank runs at batch 1 to 32, README's cost model); this is B0.
const BATCH_EPOCH_SCALE: f64 = 16.0;

/// Samples per step when the user does not say: 1 on one rank (no
/// collective: exactly sklearn's SAGA). On P ranks, the batch `b` that
/// minimises the modelled fit time `epochs(b) * n * (c / P + c_g + latency /
/// b)` with `epochs(b) ~ 1 + (b - 1) / B0`: `b = sqrt(latency * (B0 - 1) /
/// (c / P + c_g))`, where `c` is a sample's cost on one rank (about a nanosecond per
/// non-zero and class in each of its two passes), `c_g` its loss and
/// gradient (7.5 ns a class, done by every rank) and the latency nominal.
/// The choice depends only on the data and the rank count, never on
/// timings, so the same seed and rank count give the same model.
fn auto_batch(data: &TrainingSet, comm: &dyn Collectives) -> usize {
    if comm.size() <= 1 {
        return 1;
    }
    let nnz_mean = comm.sum_f64(data.x.nnz() as f64) / (data.n_total as f64).max(1.0);
    comm.max_f64(batch_for(nnz_mean, data.width() as f64, comm.size() as f64)) as usize
}

/// [`auto_batch`] from the sizes alone (non-zeros a sample, scores a
/// sample, ranks), a whole number in 1..=4096; `--solver auto`'s cost model
/// prices SAGA at the batch it would run.
pub fn batch_for(nnz_mean: f64, k: f64, p: f64) -> f64 {
    if p <= 1.0 {
        return 1.0;
    }
    let per_sample = 1e-9 * nnz_mean.max(1.0) * k * 2.0 / p + 7.5e-9 * k;
    let b = (nominal_latency(p) * (BATCH_EPOCH_SCALE - 1.0) / per_sample).sqrt();
    b.round().clamp(1.0, 4096.0)
}
