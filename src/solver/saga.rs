//! Synchronous distributed SAGA over a column-split model.
//!
//! Every rank owns a share of the features (`shard`) and holds, for every
//! sample of the corpus, the entries in its features. A step takes the next
//! `b` samples of one permutation that all ranks draw alike, and:
//!
//! 1. each rank adds up each sample's scores over its own features (K per
//!    sample; rank 0 adds the intercept); the rank that read a sample adds
//!    its stored gradient terms, label, weight and a first-visit flag;
//! 2. one allreduce sums that buffer: every rank now has each sample's full
//!    scores, so every rank computes the same new gradient terms and their
//!    differences from the stored ones;
//! 3. each rank applies the update to its own features only:
//!
//! ```text
//! w <- prox( (1 - step * alpha) w - step * (corr / b + S_old / m) )
//! S <- S_old + corr,      corr = sum over the batch of diff_i x_i
//! ```
//!
//! with `m` the samples seen so far and `S` the sum of stored gradient
//! terms, exactly sklearn's SAGA when `b = 1`. Both passes over a sample's
//! non-zeros are split P ways; what is left replicated is O(b K) per step.
//! Stored terms stay on the rank that read the sample.
//!
//! The step size and batch size are planned in `step_size`: sklearn's step
//! for one sample, a larger one for minibatches from their expected
//! smoothness, with the intercept's feature scaled so that it does not
//! dominate the smoothness.

use super::combine::Combiner;
use super::lazy::{block_len, LazySnapshot, LazyWeights};
use super::loss::loss_and_gradient;
use super::options::SolverOptions;
use super::shard::FeatureShard;
use super::step_size::{minibatch_smoothness, saga_step, top_eigenvalue, EIGEN_MARGIN};
use crate::error::Result;
use crate::tfidf::counts::Rows;
use anyhow::bail;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::hash::Hasher;
use std::time::Instant;

/// One rank's share of the training data.
pub struct TrainingSet<'a> {
    /// Local samples, columns sorted per row.
    pub x: &'a Rows,
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

/// What an epoch reports to the progress printer.
#[derive(Debug, Clone)]
pub struct EpochReport {
    pub epoch: usize,
    /// `C * sum of the losses met during the epoch + penalty`: SAGA's running
    /// estimate of the objective, free to compute.
    pub objective_estimate: f64,
    pub relative_change: f64,
    pub elapsed: f64,
    pub samples_per_second: f64,
}

pub struct FitResult {
    /// (width, d), class-major like sklearn's `coef_`.
    pub coef: Vec<f64>,
    pub intercept: Vec<f64>,
    pub n_iter: usize,
    pub converged: bool,
    /// The exact objective at the returned weights.
    pub objective: f64,
    pub plan: Plan,
    pub bytes_sent: u64,
    /// The busiest rank's share of the non-zeros over the mean share.
    pub shard_imbalance: f64,
}

/// Initial weights: `coef` (width x d, class-major) and `intercept`.
pub struct WarmStart {
    pub coef: Vec<f64>,
    pub intercept: Vec<f64>,
}

/// Everything that determines the rest of a fit: with it a fit stopped at
/// any step boundary resumes to the model an uninterrupted fit gives, bit
/// for bit. `local_*`, `lazy.blocks` and `prev` are this rank's own (its
/// samples, its features); the rest is the same on every rank.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverState {
    /// Epoch in progress (0-based) and its next step.
    pub epoch: usize,
    pub step: usize,
    pub lazy: LazySnapshot,
    pub intercept: Vec<f64>,
    pub intercept_sum: Vec<f64>,
    /// Samples seen so far (over all ranks).
    pub seen_total: f64,
    /// This rank's weights at the end of the previous epoch (the tol check).
    pub prev: Vec<f64>,
    pub epoch_loss: f64,
    pub n_iter: usize,
    /// Per local sample: its stored gradient terms (K) and whether seen.
    pub local_memory: Vec<f64>,
    pub local_seen: Vec<u8>,
}

/// What a fit asks of its caller besides the data: stop requests and checkpoints.
pub trait FitHooks {
    /// True when this rank was asked to stop (a signal). Ranks agree on it in the next step's collective.
    fn stop_requested(&self) -> bool {
        false
    }
    /// Whether to checkpoint after `epochs_done` complete epochs.
    fn checkpoint_due(&self, _epochs_done: usize) -> bool {
        false
    }
    /// Collective: saves the state (at an epoch end, or when stopping).
    fn checkpoint(&mut self, _state: &SolverState) -> Result<()> {
        Ok(())
    }
    /// Called after every epoch on every rank.
    fn epoch(&mut self, _report: &EpochReport) {}
    /// Called every few steps (about 100 times an epoch) with the epoch's progress.
    fn step(&mut self, _epoch: usize, _done: usize, _steps: usize) {}
}

/// No checkpoints, no signals; progress to a closure.
pub struct Progress<F: FnMut(&EpochReport)>(pub F);

impl<F: FnMut(&EpochReport)> FitHooks for Progress<F> {
    fn epoch(&mut self, r: &EpochReport) {
        (self.0)(r)
    }
}

/// The fit stopped at a signal after writing its checkpoint (exit 75).
#[derive(Debug)]
pub struct Interrupted {
    pub epoch: usize,
    pub step: usize,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stopped by a signal at epoch {} step {}; checkpoint written, continue with --resume", self.epoch + 1, self.step)
    }
}
impl std::error::Error for Interrupted {}

/// Collective: fits the model, from scratch, a warm start, or a saved state.
pub fn fit(
    data: &TrainingSet,
    opts: &SolverOptions,
    warm: Option<&WarmStart>,
    resume: Option<SolverState>,
    comb: &mut impl Combiner,
    hooks: &mut impl FitHooks,
) -> Result<FitResult> {
    let plan = plan(data, opts, comb);
    let mut result = run(data, opts, plan, warm, resume, comb, hooks)?;
    result.objective = objective(data, &result.coef, &result.intercept, opts, comb);
    Ok(result)
}

/// Collective: the epochs of a planned fit ([`fit`] without the final
/// objective, which is left NaN; the benches time epochs with it).
pub fn run(
    data: &TrainingSet,
    opts: &SolverOptions,
    plan: Plan,
    warm: Option<&WarmStart>,
    resume: Option<SolverState>,
    comb: &mut impl Combiner,
    hooks: &mut impl FitHooks,
) -> Result<FitResult> {
    let started = Instant::now();
    let (d, k) = (data.n_features, data.width());
    let n_total = data.n_total as usize;
    let n = data.n_total as f64;
    let n_local = data.y.len();
    let (alpha, beta) = opts.alpha_beta();
    let (alpha, beta) = (alpha / n, beta / n);
    let (step, steps, s2) = (plan.step, plan.steps_per_epoch, plan.intercept_scale * plan.intercept_scale);
    if step * alpha == 1.0 {
        bail!("the step size times alpha is 1, which SAGA cannot handle; change C");
    }
    let shard = FeatureShard::build(data.x, d, comb)?;
    let sx: &Rows = &shard.x;
    let root = comb.rank() == 0;

    let mut lw = LazyWeights::new(shard.owned.len(), k, beta);
    lw.reserve(steps);
    if let Some(state) = &resume {
        let fits = state.lazy.blocks.len() == shard.owned.len() * block_len(k) && state.prev.len() == shard.owned.len() * k && state.local_seen.len() == n_local;
        // Collective, so that a mismatch on one rank stops every rank.
        if comb.max_f64(!fits as u8 as f64) > 0.0 {
            bail!("the checkpoint does not match this data's split over the ranks; delete it and start afresh");
        }
    }
    let mut st = match resume {
        Some(state) => {
            lw.restore(&state.lazy);
            state
        }
        None => {
            let mut intercept = vec![0.0; k];
            if let Some(ws) = warm {
                let w: Vec<f64> = shard.owned.iter().flat_map(|&j| (0..k).map(move |c| ws.coef[c * d + j as usize])).collect();
                lw.set_weights(&w);
                intercept.copy_from_slice(&ws.intercept);
            }
            SolverState {
                epoch: 0,
                step: 0,
                lazy: LazySnapshot::default(),
                intercept,
                intercept_sum: vec![0.0; k],
                seen_total: 0.0,
                prev: lw.weights(),
                epoch_loss: 0.0,
                n_iter: 0,
                local_memory: vec![0.0; n_local * k],
                local_seen: vec![0; n_local],
            }
        }
    };

    // A sample's slot in the step buffer: K scores, K stored terms, label, weight, first visit.
    let slot = 2 * k + 3;
    let (mut grad, mut corr, mut icorr) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let (mut buf, mut diffs) = (Vec::new(), Vec::new());
    let mut order: Vec<u32> = Vec::with_capacity(n_total);
    let mut converged = false;

    while st.epoch < opts.max_iter {
        let epoch = st.epoch;
        let epoch_start = Instant::now();
        if st.step == 0 {
            st.epoch_loss = 0.0;
        }
        epoch_order(&mut order, n_total, opts.seed, epoch);
        let batch_of = |t: usize| &order[t * n_total / steps..(t + 1) * n_total / steps];
        let tick = (steps / 100).max(1);
        for t in st.step..steps {
            if t % tick == 0 {
                hooks.step(epoch, t, steps);
            }
            let batch = batch_of(t);
            // Samples come in random order, so the hardware cannot guess what
            // comes next: fetch the rows two steps ahead, and the weights and
            // stored gradient terms of the rows one step ahead.
            if t + 2 < steps {
                for &i in batch_of(t + 2) {
                    let (p, q) = (sx.indptr[i as usize], sx.indptr[i as usize + 1]);
                    prefetch(&sx.cols[p..q]);
                    prefetch(&sx.values[p..q]);
                }
            }
            if t + 1 < steps {
                for &i in batch_of(t + 1) {
                    for &j in &sx.cols[sx.indptr[i as usize]..sx.indptr[i as usize + 1]] {
                        lw.prefetch(j as usize);
                    }
                    if let Some(l) = shard.local_sample(i as usize) {
                        prefetch(&st.local_memory[l * k..(l + 1) * k]);
                    }
                }
            }

            // Local phase: partial scores with the weights as of the step's start.
            buf.clear();
            buf.resize(1 + batch.len() * slot, 0.0);
            buf[0] = hooks.stop_requested() as u8 as f64;
            for (s, &i) in batch.iter().enumerate() {
                let i = i as usize;
                let out = &mut buf[1 + s * slot..1 + (s + 1) * slot];
                if root {
                    out[..k].copy_from_slice(&st.intercept);
                }
                for p in sx.indptr[i]..sx.indptr[i + 1] {
                    let j = sx.cols[p] as usize;
                    lw.catch_up(j);
                    let xv = sx.values[p] * lw.wscale;
                    for (r, w) in out[..k].iter_mut().zip(lw.row(j)) {
                        *r += xv * w;
                    }
                }
                if let Some(l) = shard.local_sample(i) {
                    out[k..2 * k].copy_from_slice(&st.local_memory[l * k..(l + 1) * k]);
                    out[2 * k] = data.y[l] as f64;
                    out[2 * k + 1] = data.sample_weight[l];
                    out[2 * k + 2] = (st.local_seen[l] == 0) as u8 as f64;
                    st.local_seen[l] = 1;
                }
            }
            comb.reduce_step(&mut buf);

            // Every rank: the new gradient terms from the full scores.
            diffs.clear();
            icorr.iter_mut().for_each(|v| *v = 0.0);
            let mut new_seen = 0.0;
            for (s, &i) in batch.iter().enumerate() {
                let sample = &buf[1 + s * slot..1 + (s + 1) * slot];
                let (scores, stored) = (&sample[..k], &sample[k..2 * k]);
                let (label, sw) = (sample[2 * k] as usize, sample[2 * k + 1]);
                new_seen += sample[2 * k + 2];
                st.epoch_loss += sw * loss_and_gradient(scores, label, &mut grad);
                let local = shard.local_sample(i as usize);
                for c in 0..k {
                    let g = grad[c] * sw;
                    let diff = g - stored[c];
                    diffs.push(diff);
                    icorr[c] += diff;
                    if let Some(l) = local {
                        st.local_memory[l * k + c] = g;
                    }
                }
            }

            // Update phase: this rank's features only, all caught up by the
            // local phase of this same step.
            st.seen_total += new_seen;
            let m = st.seen_total;
            let b = batch.len() as f64;
            lw.wscale *= 1.0 - step * alpha;
            let scale = step * (1.0 / b - 1.0 / m) / lw.wscale;
            for (s, &i) in batch.iter().enumerate() {
                let dsample = &diffs[s * k..(s + 1) * k];
                for p in sx.indptr[i as usize]..sx.indptr[i as usize + 1] {
                    let j = sx.cols[p] as usize;
                    let v = sx.values[p];
                    for c in 0..k {
                        corr[c] = v * dsample[c];
                    }
                    lw.apply(j, &corr, scale);
                }
            }
            if opts.fit_intercept {
                // The intercept is the weight of a feature equal to `s` (see step_size).
                for c in 0..k {
                    st.intercept_sum[c] += icorr[c];
                    st.intercept[c] -= s2 * step * (st.intercept_sum[c] / m + (1.0 / b - 1.0 / m) * icorr[c]);
                }
            }
            lw.record_step(step, m);
            if lw.wscale < 1e-9 {
                // wscale is the same on every rank, so all settle here together.
                let overflow = !lw.settle();
                if comb.max_f64(overflow as u8 as f64) > 0.0 {
                    bail!("floating-point overflow at epoch {}; try a smaller C", epoch + 1);
                }
            }
            if buf[0] > 0.0 {
                // Every rank saw the same sum, so all stop at this step together.
                st.step = t + 1;
                st.lazy = lw.snapshot();
                hooks.checkpoint(&st)?;
                return Err(Interrupted { epoch, step: t + 1 }.into());
            }
        }

        let overflow = !lw.settle() || st.intercept.iter().any(|b| !b.is_finite());
        if comb.max_f64(overflow as u8 as f64) > 0.0 {
            bail!("floating-point overflow at epoch {}; try a smaller C", epoch + 1);
        }
        st.n_iter = epoch + 1;
        let weights = lw.weights();
        let (mut max_w, mut max_change) = (0.0f64, 0.0f64);
        for (w, p) in weights.iter().zip(st.prev.iter_mut()) {
            max_w = max_w.max(w.abs());
            max_change = max_change.max((w - *p).abs());
            *p = *w;
        }
        let (max_w, max_change) = (comb.max_f64(max_w), comb.max_f64(max_change));
        let penalty = comb.sum_f64(opts.penalty_value(&weights));
        let relative = if max_w == 0.0 { if max_change == 0.0 { 0.0 } else { f64::INFINITY } } else { max_change / max_w };
        hooks.epoch(&EpochReport {
            epoch: st.n_iter,
            objective_estimate: opts.c * st.epoch_loss + penalty,
            relative_change: relative,
            elapsed: started.elapsed().as_secs_f64(),
            samples_per_second: n / epoch_start.elapsed().as_secs_f64(),
        });
        st.epoch += 1;
        st.step = 0;
        if (max_w != 0.0 && relative <= opts.tol) || (max_w == 0.0 && max_change == 0.0) {
            converged = true;
            break;
        }
        if hooks.checkpoint_due(st.n_iter) {
            st.lazy = lw.snapshot();
            hooks.checkpoint(&st)?;
        }
    }

    // The whole model on every rank: each rank's features, and rank 0's intercept.
    let mut whole = vec![0.0; d * k + k];
    for (l, w) in lw.weights().chunks_exact(k).enumerate() {
        let j = shard.owned[l] as usize;
        whole[j * k..(j + 1) * k].copy_from_slice(w);
    }
    if root {
        whole[d * k..].copy_from_slice(&st.intercept);
    }
    let imbalance = shard.imbalance;
    drop(shard);
    let whole = comb.sum_vec(&whole);
    let (weights, intercept) = whole.split_at(d * k);
    let mut coef = vec![0.0; k * d];
    for j in 0..d {
        for c in 0..k {
            coef[c * d + j] = weights[j * k + c];
        }
    }
    Ok(FitResult {
        coef,
        intercept: intercept.to_vec(),
        n_iter: st.n_iter,
        converged,
        objective: f64::NAN,
        plan,
        bytes_sent: comb.bytes_sent(),
        shard_imbalance: imbalance,
    })
}

/// The epoch's visiting order of all samples: the same on every rank, a
/// fresh seeded shuffle each epoch, so a resumed fit redraws it exactly.
fn epoch_order(order: &mut Vec<u32>, n: usize, seed: u64, epoch: usize) {
    order.clear();
    order.extend(0..n as u32);
    let mut rng = Pcg64Mcg::seed_from_u64(mix(seed, epoch as u64));
    order.shuffle(&mut rng);
}

/// How an epoch runs: the step size, the batch, the intercept's scale.
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

/// Collective: the step size and batch size (see `step_size`).
pub fn plan(data: &TrainingSet, opts: &SolverOptions, comb: &mut impl Combiner) -> Plan {
    let n = data.n_total as f64;
    let alpha = opts.alpha_beta().0 / n;
    let d = data.n_features;
    let x = data.x;
    let local_max_sq = (0..x.n_rows()).map(|r| x.values[x.indptr[r]..x.indptr[r + 1]].iter().map(|v| v * v).sum::<f64>()).fold(0.0, f64::max);
    let max_sq = comb.max_f64(local_max_sq);
    // lambda_max of the rows alone, then with the intercept's column at scale s.
    let gram = |comb: &mut dyn FnMut(&[f64]) -> Vec<f64>, v: &[f64], s: f64| -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        for r in 0..x.n_rows() {
            let (a, b) = (x.indptr[r], x.indptr[r + 1]);
            let mut dot = if v.len() > d { s * v[d] } else { 0.0 };
            for p in a..b {
                dot += x.values[p] * v[x.cols[p] as usize];
            }
            for p in a..b {
                out[x.cols[p] as usize] += x.values[p] * dot;
            }
            if v.len() > d {
                out[d] += s * dot;
            }
        }
        comb(&out)
    };
    let lam_rows = top_eigenvalue(d, n, 100, |v| gram(&mut |o| comb.sum_vec(o), v, 0.0));
    let (s, lam) = if opts.fit_intercept {
        let s = comb.max_f64(lam_rows.sqrt().clamp(0.01, 1.0));
        (s, top_eigenvalue(d + 1, n, 100, |v| gram(&mut |o| comb.sum_vec(o), v, s)))
    } else {
        (0.0, lam_rows)
    };
    let lam = comb.max_f64(lam);
    let l_max = 0.25 * (max_sq + s * s) + alpha;
    let l_full = (0.25 * lam * EIGEN_MARGIN + alpha).min(l_max);
    let batch_total = match opts.batch_size {
        Some(b) => b * comb.ranks(),
        None => auto_batch(data, comb),
    };
    let steps = (n / batch_total as f64).ceil().max(1.0) as usize;
    let b_total = n / steps as f64;
    let l_b = minibatch_smoothness(n, b_total, l_full, l_max);
    let step = comb.max_f64(saga_step(l_b, steps as f64, alpha));
    Plan { step, batch_total, steps_per_epoch: steps, intercept_scale: s, l_max, l_full }
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
fn auto_batch(data: &TrainingSet, comb: &mut impl Combiner) -> usize {
    let p = comb.ranks() as f64;
    if p <= 1.0 {
        return 1;
    }
    let nnz_mean = comb.sum_f64(data.x.nnz() as f64) / (data.n_total as f64).max(1.0);
    let k = data.width() as f64;
    let per_sample = 1e-9 * nnz_mean.max(1.0) * k * 2.0 / p + 7.5e-9 * k;
    let b = (nominal_latency(p) * (BATCH_EPOCH_SCALE - 1.0) / per_sample).sqrt();
    comb.max_f64(b.round().clamp(1.0, 4096.0)) as usize
}

/// Collective: `C * sum_i s_i loss_i + penalty` at `coef` (class-major, K x d).
fn objective(data: &TrainingSet, coef: &[f64], intercept: &[f64], opts: &SolverOptions, comb: &mut impl Combiner) -> f64 {
    let (k, d) = (intercept.len(), data.n_features);
    // Feature-major, so that a row's K weights per non-zero sit together.
    let mut w = vec![0.0; d * k];
    for c in 0..k {
        for j in 0..d {
            w[j * k + c] = coef[c * d + j];
        }
    }
    let (mut raw, mut grad) = (vec![0.0; k], vec![0.0; k]);
    let mut local = 0.0;
    for i in 0..data.y.len() {
        raw.copy_from_slice(intercept);
        for p in data.x.indptr[i]..data.x.indptr[i + 1] {
            let j = data.x.cols[p] as usize;
            for c in 0..k {
                raw[c] += data.x.values[p] * w[j * k + c];
            }
        }
        local += data.sample_weight[i] * loss_and_gradient(&raw, data.y[i] as usize, &mut grad);
    }
    opts.c * comb.sum_f64(local) + opts.penalty_value(coef)
}

/// A seed for each (seed, epoch), so shuffles differ across epochs yet
/// repeat exactly from run to run.
fn mix(seed: u64, epoch: u64) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write_u64(seed);
    h.write_u64(epoch);
    h.finish() ^ 0x9e37_79b9_7f4a_7c15
}

/// Asks the CPU to start loading `data` into cache (up to 8 lines).
#[inline]
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = std::mem::size_of_val(data).min(512);
        let base = data.as_ptr() as *const i8;
        for off in (0..bytes).step_by(64) {
            // SAFETY: a prefetch never faults; the address lies within `data`.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(base.add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

#[cfg(test)]
mod tests {
    use super::super::combine::SingleRank;
    use super::super::options::Penalty;
    use super::*;

    /// Four one-hot-ish samples of two classes.
    fn tiny() -> (Rows, Vec<u32>) {
        let mut x = Rows::new();
        for (cols, vals) in [(vec![0, 2], vec![0.6, 0.8]), (vec![1], vec![1.0]), (vec![0], vec![1.0]), (vec![1, 2], vec![0.8, 0.6])] {
            x.cols.extend(cols);
            x.values.extend(vals);
            x.indptr.push(x.cols.len());
        }
        (x, vec![0, 1, 0, 1])
    }

    fn solve(opts: &SolverOptions, batch: usize) -> FitResult {
        let (x, y) = tiny();
        let sw = vec![1.0; 4];
        let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: 3, n_classes: 2, n_total: 4 };
        let opts = SolverOptions { batch_size: Some(batch), max_iter: 20_000, tol: 1e-12, ..opts.clone() };
        fit(&data, &opts, None, None, &mut SingleRank, &mut Progress(|_: &EpochReport| {})).unwrap()
    }

    /// The exact optimum's gradient is zero: check it for the L2 problem.
    #[test]
    fn l2_reaches_a_stationary_point_at_any_batch_size() {
        let (x, y) = tiny();
        for batch in [1, 2, 4] {
            let r = solve(&SolverOptions::default(), batch);
            assert!(r.converged, "batch {batch}");
            // Gradient of C * sum loss + 0.5 |w|^2 with respect to w and b.
            let mut gw = r.coef.clone();
            let mut gb = 0.0;
            for i in 0..4 {
                let mut z = r.intercept[0];
                for p in x.indptr[i]..x.indptr[i + 1] {
                    z += x.values[p] * r.coef[x.cols[p] as usize];
                }
                let g = super::super::loss::sigmoid(z) - y[i] as f64;
                gb += g;
                for p in x.indptr[i]..x.indptr[i + 1] {
                    gw[x.cols[p] as usize] += g * x.values[p];
                }
            }
            assert!(gw.iter().all(|g| g.abs() < 1e-8) && gb.abs() < 1e-8, "batch {batch}: {gw:?} {gb}");
        }
    }

    #[test]
    fn l1_optimum_is_the_same_for_every_batch_size() {
        let opts = SolverOptions { penalty: Penalty::L1, c: 3.0, ..Default::default() };
        let a = solve(&opts, 1);
        let b = solve(&opts, 3);
        assert!((a.objective - b.objective).abs() < 1e-9 * a.objective, "{} {}", a.objective, b.objective);
        // Feature 2 is shared by both classes: L1 drives it to exactly zero.
        assert_eq!(a.coef[2], 0.0);
    }

    #[test]
    fn same_seed_same_model() {
        let opts = SolverOptions { max_iter: 3, ..Default::default() };
        let (a, b) = (solve(&opts, 2), solve(&opts, 2));
        assert_eq!(a.coef, b.coef);
    }
}
