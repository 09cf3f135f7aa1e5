//! How a SAGA fit's epochs run, decided once before the first: the step
//! size, the batch, the intercept's scale (see `step_size` for the maths).

use crate::collectives::Collectives;
use crate::solver::options::SolverOptions;
use crate::solver::problem::TrainingSet;
use crate::solver::step_size::{dense_start, minibatch_smoothness, saga_step, top_eigenvalue, EIGEN_MARGIN, ROUGH, TIGHT};
use super::real::Real;
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
    /// Steps per allreduce (`saga::block`): more than 1 only at batch 1.
    pub block: usize,
    pub intercept_scale: f64,
    pub l_max: f64,
    pub l_full: f64,
}

/// What a plan takes from the data alone, whatever C: the batch, the
/// rows' largest squared norm, the intercept's scale and the smoothness of
/// the whole objective. A cross-validation path computes it once a fold
/// and plans each of its Cs from it.
#[derive(Debug, Clone)]
pub struct Spectrum {
    batch_total: usize,
    max_sq: f64,
    /// The largest sample weight: the intercept's column counts that much in a sample's smoothness.
    max_weight: f64,
    intercept_scale: f64,
    /// `0.25 lambda_max` of the rows (with the intercept's column when it is
    /// fitted), with the margin; `None` at batch 1, which steps by the
    /// largest row alone.
    full: Option<f64>,
}

/// Collective: the data's [`Spectrum`] for these options.
pub fn spectrum(data: &TrainingSet, opts: &SolverOptions, comm: &dyn Collectives) -> Spectrum {
    let (d, n) = (data.n_features, data.n_total as f64);
    let max_sq = comm.max_f64(max_row_norm_sq(data));
    let batch_total = match opts.batch_size {
        Some(b) => b * comm.size(),
        // Blocks of steps of one sample (`--sync-steps`).
        None if opts.sync_steps.is_some_and(|n| n > 1) => 1,
        None => auto_batch(data, comm),
    };
    // Power iterations start from the mean row: the top eigenvector of X'X
    // for rows of non-negative weights (TF-IDF) is non-negative and close
    // to it. The intercept's scale then settles in two passes over the rows
    // where the dense start took four (generated bigrams) to six (the real
    // corpus), the whole objective's smoothness in three where it took four.
    let sums = (opts.fit_intercept || batch_total > 1).then(|| comm.sum_f64_vec_identical(&column_sums(data)));
    // lambda_max of the rows alone sets the intercept's scale, roughly (see ROUGH).
    let s = match &sums {
        Some(sums) if opts.fit_intercept => {
            let start = if sums.iter().any(|&v| v != 0.0) { sums.clone() } else { dense_start(d) };
            let lam_rows = top_eigenvalue(start, n, 100, ROUGH, |v| comm.sum_f64_vec_identical(&gram(data, v, 0.0)));
            comm.max_f64(lam_rows.sqrt().clamp(0.01, 1.0))
        }
        _ => 0.0,
    };
    // A batch of one sample steps by L_max alone (see `minibatch_smoothness`):
    // the power iteration of the whole objective would only be reported.
    // Its start adds the dense one to the mean row (with the intercept's
    // column), so that rows of mixed signs (hashing's alternate signs)
    // cannot start it orthogonal to the top eigenvector.
    let full = sums.filter(|_| batch_total > 1).map(|mut start| {
        if opts.fit_intercept {
            start.push(s * n);
        }
        let unit = |v: &mut [f64]| {
            let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            v.iter_mut().for_each(|a| *a /= norm.max(f64::MIN_POSITIVE));
        };
        let mut dense = dense_start(start.len());
        unit(&mut start);
        unit(&mut dense);
        start.iter_mut().zip(&dense).for_each(|(a, b)| *a += b);
        let lam = top_eigenvalue(start, n, 100, TIGHT, |v| comm.sum_f64_vec_identical(&gram(data, v, s)));
        0.25 * comm.max_f64(lam) * EIGEN_MARGIN
    });
    Spectrum { batch_total, max_sq, max_weight: max_weight(data, comm), intercept_scale: s, full }
}

/// Collective: the step size and batch size.
pub fn plan(data: &TrainingSet, opts: &SolverOptions, comm: &dyn Collectives) -> Plan {
    plan_from(&spectrum(data, opts, comm), data, opts, comm)
}

/// Collective: the plan for these options from the data's [`Spectrum`].
pub fn plan_from(sp: &Spectrum, data: &TrainingSet, opts: &SolverOptions, comm: &dyn Collectives) -> Plan {
    let n = data.n_total as f64;
    let alpha = opts.alpha_beta().0 / n;
    let s = sp.intercept_scale;
    let l_max = 0.25 * (sp.max_sq + sp.max_weight * s * s) + alpha;
    let l_full = sp.full.map_or(l_max, |l| (l + alpha).min(l_max));
    let steps = (n / sp.batch_total as f64).ceil().max(1.0) as usize;
    let b_total = n / steps as f64;
    let l_b = minibatch_smoothness(n, b_total, l_full, l_max);
    let step = comm.max_f64(saga_step(l_b, steps as f64, alpha));
    let decades = if super::state_is_f32(data) { <f32 as Real>::BLOCK_SHRINK_DECADES } else { <f64 as Real>::BLOCK_SHRINK_DECADES };
    let block = if sp.batch_total == 1 { opts.sync_steps.unwrap_or(1).min(shrinkage_cap(step * alpha, decades)) } else { 1 };
    Plan { step, batch_total: sp.batch_total, steps_per_epoch: steps, block, intercept_scale: s, l_max, l_full }
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
    // A rank with no samples keeps the intercept's term whole, as before weights counted.
    let w_max = if data.sample_weight.is_empty() { 1.0 } else { data.sample_weight.iter().copied().fold(0.0, f64::max) };
    let l_max = 0.25 * (max_sq + w_max * s * s) + alpha;
    let steps = data.n_total.max(1) as usize;
    Plan { step: saga_step(l_max, steps as f64, alpha), batch_total: 1, steps_per_epoch: steps, block: 1, intercept_scale: s, l_max, l_full: l_max }
}

/// The most steps a block may take when each shrinks the weights by
/// `1 - shrink`: the weights settle only between blocks, so a block must not
/// take `wscale` more than `decades` below the settling threshold (float64:
/// from 1e-100 to 1e-300; float32's, [`Real::BLOCK_SHRINK_DECADES`]).
fn shrinkage_cap(shrink: f64, decades: f64) -> usize {
    let per_step = -(1.0 - shrink).log10();
    if per_step > 0.0 {
        ((decades / per_step).floor() as usize).max(1)
    } else {
        usize::MAX
    }
}

/// The largest squared norm of this rank's rows, each times its sample
/// weight: a sample's loss is weighted, so is its smoothness. (scikit-learn's
/// SAG step leaves the weights out, and with uneven class weights its saga
/// stops short of the optimum; with every weight 1 this is the plain norm.)
fn max_row_norm_sq(data: &TrainingSet) -> f64 {
    with_parts!(data.x, |indptr, _cols, values| {
        (0..data.x.rows())
            .map(|r| data.sample_weight[r] * values[indptr[r]..indptr[r + 1]].iter().map(|&v| v.to_f64() * v.to_f64()).sum::<f64>())
            .fold(0.0, f64::max)
    })
}

/// The largest sample weight over all ranks (1 for unweighted data).
fn max_weight(data: &TrainingSet, comm: &dyn Collectives) -> f64 {
    comm.max_f64(data.sample_weight.iter().copied().fold(0.0, f64::max))
}

/// This rank's sum of its rows.
fn column_sums(data: &TrainingSet) -> Vec<f64> {
    with_parts!(data.x, |_indptr, cols, values| {
        let mut out = vec![0.0; data.n_features];
        for (&j, v) in cols.iter().zip(values) {
            out[j as usize] += v.to_f64();
        }
        out
    })
}

/// This rank's `sum_i w_i a_i (a_i . v)`, where `a_i` is row `i` with, when
/// `v` is one longer than the rows, a constant column `s` appended, and
/// `w_i` its sample weight.
fn gram(data: &TrainingSet, v: &[f64], s: f64) -> Vec<f64> {
    with_parts!(data.x, |indptr, cols, values| gram_rows(data.n_features, (indptr, cols, values), data.sample_weight, v, s))
}

fn gram_rows<V: Value>(d: usize, (indptr, cols, values): (&[usize], &[u32], &[V]), w: &[f64], v: &[f64], s: f64) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for r in 0..indptr.len() - 1 {
        let (a, b) = (indptr[r], indptr[r + 1]);
        let mut dot = if v.len() > d { s * v[d] } else { 0.0 };
        for p in a..b {
            dot += values[p].to_f64() * v[cols[p] as usize];
        }
        let dot = w[r] * dot;
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
/// round of a tree on InfiniBand or shared memory (see docs/design.md's cost model).
fn nominal_latency(p: f64) -> f64 {
    2e-6 * p.log2().max(1.0)
}

/// Epochs grow with the total batch `b` roughly as `1 + (b - 1) / B0`
/// (fitted to 1-rank runs at batch 1 to 32, docs/design.md's cost model); this is B0.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectives::local::run_ranks;
    use crate::sparse::{RowBuilder, Rows};

    /// Rows of non-negative weights on Zipf-like columns, unit norm, as TF-IDF's.
    fn rows(n: usize, d: usize, seed: u64) -> (Rows, Vec<u32>) {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let (mut x, mut y) = (RowBuilder::new(), Vec::new());
        for _ in 0..n {
            let mut cols: Vec<usize> = (0..12).map(|_| (next() % d) * (next() % d) / d).collect();
            cols.sort_unstable();
            cols.dedup();
            let vals: Vec<f64> = cols.iter().map(|_| 0.1 + (next() % 100) as f64 / 50.0).collect();
            let norm = vals.iter().map(|v| v * v).sum::<f64>().sqrt();
            cols.iter().zip(&vals).for_each(|(&j, v)| x.push(j as u32, v / norm));
            x.end_row();
            y.push((next() % 3) as u32);
        }
        (Rows::F64(x.finish(d)), y)
    }

    /// The mean row's start with the rough tolerance lands the intercept's
    /// scale within 1 % of `lambda_max` settled tightly from the dense
    /// start, and the whole objective's smoothness (batch > 1) within the
    /// tight tolerance of the same from the dense start.
    #[test]
    fn mean_row_start_finds_the_same_eigenvalues() {
        let (n, d) = (400, 300);
        let (x, y) = rows(n, d, 7);
        let sw = vec![1.0; n];
        let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: 3, n_total: n as u64 };
        let opts = SolverOptions { batch_size: Some(8), ..Default::default() };
        let sp = run_ranks(1, |comm| spectrum(&data, &opts, comm)).remove(0);
        let tight = |dim: usize, s: f64| top_eigenvalue(dense_start(dim), n as f64, 1000, 1e-12, |v| gram(&data, v, s));
        let lam_rows = tight(d, 0.0);
        assert!((sp.intercept_scale.powi(2) - lam_rows).abs() <= 0.01 * lam_rows, "{} vs {lam_rows}", sp.intercept_scale.powi(2));
        let full = 0.25 * tight(d + 1, sp.intercept_scale) * EIGEN_MARGIN;
        let got = sp.full.expect("batch 8 estimates the whole objective");
        assert!((got - full).abs() <= 1e-3 * full, "{got} vs {full}");
    }

    /// A path plans each C from its fold's spectrum: the same plan, to the
    /// bit, as planning that C from scratch, at batch 1 and at 2 ranks.
    #[test]
    fn plans_from_one_spectrum_equal_plans_from_scratch() {
        let (n, d) = (300, 200);
        let (x, y) = rows(n, d, 11);
        let sw = vec![1.0; n];
        for (ranks, batch) in [(1, None), (2, None), (2, Some(4))] {
            let plans = run_ranks(ranks, |comm| {
                // Each rank holds every row here: the plan sums over ranks as it would over shares.
                let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: 3, n_total: (n * ranks) as u64 };
                let base = SolverOptions { batch_size: batch, ..Default::default() };
                let sp = spectrum(&data, &base, comm);
                [1e-4, 1.0, 1e4]
                    .map(|c| {
                        let opts = SolverOptions { c, ..base.clone() };
                        let (a, b) = (plan_from(&sp, &data, &opts, comm), plan(&data, &opts, comm));
                        (a.step.to_bits(), a.batch_total, a.l_full.to_bits()) == (b.step.to_bits(), b.batch_total, b.l_full.to_bits())
                    })
                    .to_vec()
            });
            assert!(plans.iter().flatten().all(|&same| same), "ranks {ranks} batch {batch:?}");
        }
    }
}
