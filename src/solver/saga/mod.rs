//! Synchronous distributed SAGA over a column-split model.
//!
//! Every rank owns a share of the features (`shard`) and holds, for every
//! sample of the corpus, the entries in its features. A step takes the next
//! `b` samples of one permutation that all ranks draw alike ([`order`]), and:
//!
//! 1. each rank adds up each sample's scores over its own features (K per
//!    sample; rank 0 adds the intercept); the rank that read a sample adds
//!    its stored gradient terms, label, weight and a first-visit flag
//!    ([`step::StepBuffer`]);
//! 2. one allreduce sums that buffer: every rank now has each sample's full
//!    scores, so every rank computes the same new gradient terms and their
//!    differences from the stored ones;
//! 3. each rank applies the update to its own features only ([`lazy`]):
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
//! The step size and batch size are planned once ([`plan`]): sklearn's step
//! for one sample, a larger one for minibatches from their expected
//! smoothness, with the intercept's feature scaled so that it does not
//! dominate the smoothness.
//!
//! The weights, gradient sums and memory are stored in float64, or in
//! float32 over float32 rows (`--dtype float32`, as sklearn's `sag32`):
//! [`real`].

pub mod block;
mod blocked;
pub mod lazy;
pub mod order;
pub mod path;
pub mod plan;
pub mod real;
pub mod step;

use super::loss::loss_and_gradient;
use super::options::{SolverKind, SolverOptions};
use super::problem::{put_features, TrainingSet};
use super::shard::FeatureShard;
use super::state::{f64s, RowSet, SolverState, Space, Values};
use super::{Epoch, EpochReport, FitHooks, Solution, Solver, WarmStart};
use crate::collectives::{Collectives, Op};
use crate::error::Result;
use crate::sparse::Value;
use crate::prefetch::prefetch_to;
use crate::with_parts;
use anyhow::bail;
use lazy::{block_len, LazySnapshot, LazyWeights};
use ndarray::Array2;
use plan::Plan;
use real::Real;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use step::StepBuffer;

/// Whether epochs may run the AVX2 build of the steps ([`Saga::steps`]).
/// Only the test that compares the two builds turns it off.
static AVX2_ALLOWED: AtomicBool = AtomicBool::new(true);

/// Where the fit is and what it remembers, besides the weights. `prev`,
/// `memory` and `seen` are this rank's own (its features, its samples); the
/// rest is the same on every rank. The intercept and its gradient sum hold
/// values of `T` (rounded as they are updated), the memory is stored in it.
#[derive(Debug, Clone, PartialEq)]
struct Progress<T: Real> {
    /// Epoch in progress (0-based) and its next step.
    epoch: usize,
    step: usize,
    intercept: Vec<f64>,
    intercept_sum: Vec<f64>,
    /// Samples seen so far (over all ranks).
    seen_total: f64,
    /// This rank's weights at the end of the previous epoch (the tol check).
    prev: Vec<f64>,
    epoch_loss: f64,
    n_iter: usize,
    /// Per local sample: its stored gradient terms (K) and whether seen.
    memory: Vec<T>,
    seen: Vec<u8>,
}

/// Scratch of one step, reused across steps.
struct Scratch {
    buf: StepBuffer,
    grad: Vec<f64>,
    icorr: Vec<f64>,
    diffs: Vec<f64>,
    order: Vec<u32>,
    /// A block's buffer (two partial sums a sample, `u` and `v`, and the
    /// Gram matrix in its tail), Gram chains, replay and scores ([`block`]).
    blk: StepBuffer,
    co: block::CoOccurrence,
    replay: block::Replay,
    scores: Vec<f64>,
}

/// The SAGA solver of one fit on one rank, its weights and gradient memory
/// stored in `T` ([`real`]; [`boxed`] chooses it from the rows).
pub struct Saga<'a, T: Real = f64> {
    data: &'a TrainingSet<'a>,
    opts: &'a SolverOptions,
    comm: &'a dyn Collectives,
    plan: Plan,
    shard: FeatureShard<'a>,
    lw: LazyWeights<T>,
    st: Progress<T>,
    /// The penalty strengths per sample: sklearn's alpha and beta over n.
    alpha: f64,
    scratch: Scratch,
    started: Instant,
    /// Seconds from the start of the plan to the first epoch (the power
    /// iterations and the split of the features), for the run report.
    setup_seconds: f64,
}

impl<'a, T: Real> Saga<'a, T> {
    /// Collective: plans the fit, splits the features over the ranks and
    /// sets the starting weights (zero, or a warm start).
    pub fn new(data: &'a TrainingSet<'a>, opts: &'a SolverOptions, warm: Option<&WarmStart>, comm: &'a dyn Collectives) -> Result<Self> {
        let started = Instant::now();
        let plan = plan::plan(data, opts, comm);
        Self::with_plan(data, opts, warm, comm, plan, started)
    }

    /// Collective: as [`Self::new`], with the step and batch already planned.
    pub fn with_plan(data: &'a TrainingSet<'a>, opts: &'a SolverOptions, warm: Option<&WarmStart>, comm: &'a dyn Collectives, plan: Plan, started: Instant) -> Result<Self> {
        let shard = FeatureShard::build(data.x, data.n_features, comm)?;
        Self::with_shard(data, opts, warm, comm, plan, shard, started)
    }

    /// Collective: as [`Self::with_plan`], with this rank's features and
    /// rows already split ([`FeatureShard::build`] of `data`).
    pub fn with_shard(
        data: &'a TrainingSet<'a>,
        opts: &'a SolverOptions,
        warm: Option<&WarmStart>,
        comm: &'a dyn Collectives,
        plan: Plan,
        shard: FeatureShard<'a>,
        started: Instant,
    ) -> Result<Self> {
        let n = data.n_total as f64;
        let (alpha, beta) = opts.alpha_beta();
        let (alpha, beta) = (alpha / n, beta / n);
        if plan.step * alpha == 1.0 {
            bail!("the step size times alpha is 1, which SAGA cannot handle; change C");
        }
        let k = data.width();
        let mut lw = LazyWeights::new(shard.owned.len(), k, beta);
        lw.reserve(plan.steps_per_epoch);
        let mut intercept = vec![0.0; k];
        if let Some(ws) = warm {
            let w: Vec<f64> = shard.owned.iter().flat_map(|&j| ws.coef.column(j as usize).to_vec()).collect();
            lw.set_weights(&w);
            intercept.iter_mut().zip(&ws.intercept).for_each(|(b, &v)| *b = T::round(v));
        }
        let n_local = data.y.len();
        let st = Progress {
            epoch: 0,
            step: 0,
            intercept,
            intercept_sum: vec![0.0; k],
            seen_total: 0.0,
            prev: lw.weights(),
            epoch_loss: 0.0,
            n_iter: 0,
            memory: crate::hugepages::filled_vec(n_local * k, T::default()),
            seen: vec![0; n_local],
        };
        let scratch = Scratch {
            buf: StepBuffer::new(k, 1),
            grad: vec![0.0; k],
            icorr: vec![0.0; k],
            diffs: Vec::new(),
            order: Vec::with_capacity(data.n_total as usize),
            blk: StepBuffer::new(k, 2),
            co: block::CoOccurrence::new(if plan.block > 1 { shard.owned.len() } else { 0 }),
            replay: block::Replay::new(k),
            scores: vec![0.0; k],
        };
        let setup_seconds = started.elapsed().as_secs_f64();
        Ok(Saga { data, opts, comm, plan, shard, lw, st, alpha, scratch, started, setup_seconds })
    }

    fn k(&self) -> usize {
        self.data.width()
    }

    /// The samples of step `t` of the current epoch.
    fn batch(&self, t: usize) -> std::ops::Range<usize> {
        let (n, steps) = (self.data.n_total as usize, self.plan.steps_per_epoch);
        t * n / steps..(t + 1) * n / steps
    }

    /// Step `step` of an epoch of `steps` steps (a checkpoint's plan) as a
    /// step of this plan: the same one at the same batch; at another (another
    /// rank count) the last step that starts at or before it, so that no
    /// sample of the epoch is skipped (a few are visited twice).
    fn step_here(&self, step: usize, steps: usize) -> usize {
        let (n, here) = (self.data.n_total as usize, self.plan.steps_per_epoch);
        if steps == here || steps == 0 {
            return step;
        }
        let at = step * n / steps;
        // The largest u with u * n / here <= at (step u's first sample).
        (((at + 1) * here - 1) / n.max(1)).min(here)
    }

    /// Samples come in random order, so the hardware cannot guess what
    /// comes next: fetch the row pointers `d + 2` steps ahead; the rows,
    /// and the label, weight and first-visit flag of this rank's samples,
    /// `d + 1` steps ahead; the weights and stored gradient terms `d` steps
    /// ahead. A step fetches one step ahead (`d = 1`: its allreduce and
    /// update give the fetches time to land); a block's local phase, which
    /// reads its samples back to back, further (`BLOCK_AHEAD`).
    /// (Unfetched, the row pointer and the label each stalled a step on a
    /// cache miss: 8 % and 9 % of an epoch on the 200k corpus.)
    #[inline(always)]
    fn prefetch_ahead(&self, t: usize, d: usize) {
        with_parts!(&*self.shard.x, |indptr, cols, values| {
            let (steps, k, order) = (self.plan.steps_per_epoch, self.k(), &self.scratch.order);
            let wide = self.lw.wide();
            if t + d + 2 < steps {
                for &i in &order[self.batch(t + d + 2)] {
                    prefetch_to(&indptr[i as usize..i as usize + 2], wide);
                }
            }
            if t + d + 1 < steps {
                for &i in &order[self.batch(t + d + 1)] {
                    let (p, q) = (indptr[i as usize], indptr[i as usize + 1]);
                    prefetch_to(&cols[p..q], wide);
                    prefetch_to(&values[p..q], wide);
                    if let Some(l) = self.shard.local_sample(i as usize) {
                        prefetch_to(&self.data.y[l..l + 1], wide);
                        prefetch_to(&self.data.sample_weight[l..l + 1], wide);
                        prefetch_to(&self.st.seen[l..l + 1], wide);
                    }
                }
            }
            if t + d < steps {
                for &i in &order[self.batch(t + d)] {
                    for &j in &cols[indptr[i as usize]..indptr[i as usize + 1]] {
                        self.lw.prefetch(j as usize);
                    }
                    if let Some(l) = self.shard.local_sample(i as usize) {
                        prefetch_to(&self.st.memory[l * k..(l + 1) * k], wide);
                    }
                }
            }
        })
    }

    /// Local phase of a step (its `batch` of the visiting order): each sample's scores over this rank's
    /// features, with the weights as of the step's start, and what this
    /// rank alone knows of its own samples.
    #[inline(always)]
    fn local_scores(&mut self, batch: std::ops::Range<usize>, stop: bool) {
        let Saga { shard, lw, st, scratch, data, .. } = self;
        let root = self.comm.rank() == 0;
        let k = data.width();
        scratch.buf.reset(batch.len(), 0, stop);
        with_parts!(&*shard.x, |indptr, cols, values| {
            for (s, &i) in scratch.order[batch].iter().enumerate() {
                let i = i as usize;
                let out = scratch.buf.partials_mut(s);
                if root {
                    out.copy_from_slice(&st.intercept);
                }
                for p in indptr[i]..indptr[i + 1] {
                    lw.catch_up_and_score(cols[p] as usize, values[p].to_f64(), out);
                }
                if let Some(l) = shard.local_sample(i) {
                    scratch.buf.set_owned(s, &st.memory[l * k..(l + 1) * k], data.y[l], data.sample_weight[l], st.seen[l] == 0);
                    st.seen[l] = 1;
                }
            }
        })
    }

    /// Every rank, from the summed buffer: each sample's new gradient terms
    /// and their differences from the stored ones (kept in `diffs`, summed
    /// per class in `icorr`). Returns the samples visited for the first time.
    #[inline(always)]
    fn gradient_differences(&mut self, batch: std::ops::Range<usize>) -> f64 {
        let Saga { shard, st, scratch, .. } = self;
        let k = self.data.width();
        scratch.diffs.clear();
        scratch.icorr.iter_mut().for_each(|v| *v = 0.0);
        let mut new_seen = 0.0;
        for (s, &i) in scratch.order[batch].iter().enumerate() {
            let sample = scratch.buf.sample(s);
            new_seen += sample.first_visit;
            let at = scratch.diffs.len();
            scratch.diffs.resize(at + k, 0.0);
            st.epoch_loss += new_terms::<T>(sample.partials, sample.label, sample.weight, sample.stored, &mut scratch.grad, &mut scratch.diffs[at..]);
            scratch.icorr.iter_mut().zip(&scratch.diffs[at..]).for_each(|(ic, d)| *ic += d);
            if let Some(l) = shard.local_sample(i as usize) {
                store(&mut st.memory[l * k..(l + 1) * k], &scratch.grad);
            }
        }
        new_seen
    }

    /// Update phase of a step: what every rank does alike
    /// ([`Self::advance`]), then this rank's features, all caught up by the
    /// local phase of this same step.
    #[inline(always)]
    fn update(&mut self, batch: std::ops::Range<usize>, new_seen: f64) {
        let scale = self.advance(batch.len(), new_seen);
        let Saga { shard, lw, scratch, .. } = self;
        let k = self.data.width();
        with_parts!(&*shard.x, |indptr, cols, values| {
            for (s, &i) in scratch.order[batch].iter().enumerate() {
                let dsample = &scratch.diffs[s * k..(s + 1) * k];
                for p in indptr[i as usize]..indptr[i as usize + 1] {
                    lw.apply(cols[p] as usize, values[p].to_f64(), dsample, scale);
                }
            }
        });
        self.lw.record_step(self.plan.step, self.st.seen_total);
    }

    /// What every rank does alike at a step of `b` samples, `new_seen` of
    /// them first visits, with the batch's gradient differences summed per
    /// class in `icorr`: `m`, the shrinkage and the intercept. Returns the
    /// scale of the batch's own corrections (scaled units), for
    /// [`LazyWeights::apply`]; the step's lazy move is recorded
    /// ([`LazyWeights::record_step`]) once they are applied.
    #[inline(always)]
    fn advance(&mut self, b: usize, new_seen: f64) -> f64 {
        let step = self.plan.step;
        let Saga { lw, st, scratch, .. } = self;
        st.seen_total += new_seen;
        let m = st.seen_total;
        let b = b as f64;
        lw.wscale *= 1.0 - step * self.alpha;
        let scale = step * (1.0 / b - 1.0 / m) / lw.wscale;
        if self.opts.fit_intercept {
            // The intercept is the weight of a feature equal to `s` (see step_size).
            let s2 = self.plan.intercept_scale * self.plan.intercept_scale;
            for (c, ic) in scratch.icorr.iter().enumerate() {
                st.intercept_sum[c] = T::round(st.intercept_sum[c] + ic);
                st.intercept[c] = T::round(st.intercept[c] - s2 * step * (st.intercept_sum[c] / m + (1.0 / b - 1.0 / m) * ic));
            }
        }
        scale
    }

    /// Collective when it settles: folds `wscale` into the weights once it
    /// is small. `wscale` is the same on every rank, so all settle together.
    fn settle_if_small(&mut self) -> Result<()> {
        if self.lw.wscale < T::SETTLE_BELOW {
            let overflow = !self.lw.settle();
            self.check_overflow(overflow)?;
        }
        Ok(())
    }

    /// Collective: an error on every rank if any rank's weights overflowed.
    fn check_overflow(&self, overflow: bool) -> Result<()> {
        if self.comm.max_f64(overflow as u8 as f64) > 0.0 {
            bail!("floating-point overflow at epoch {}; try a smaller C", self.st.epoch + 1);
        }
        Ok(())
    }

    /// The rest of the epoch's steps, then its end. Compiled twice: as is,
    /// and with AVX2 for CPUs that have it, where the K-wide loops of the
    /// lazy weights run four classes an instruction (an epoch at K = 20 about
    /// 12 % faster). The same operations in the same order either way (Rust
    /// never fuses a multiply and an add), so the model is bit for bit the
    /// same on every CPU.
    #[inline(always)]
    fn steps(&mut self, hooks: &mut dyn FitHooks, epoch_start: Instant) -> Result<Epoch> {
        if self.plan.block > 1 {
            return self.blocked_steps(hooks, epoch_start);
        }
        let (epoch, steps) = (self.st.epoch, self.plan.steps_per_epoch);
        let tick = (steps / 100).max(1);
        for t in self.st.step..steps {
            if t % tick == 0 {
                hooks.step(epoch, t, steps);
            }
            // The batch's range once a step: it costs two integer divisions.
            let batch = self.batch(t);
            self.prefetch_ahead(t, 1);
            self.local_scores(batch.clone(), hooks.stop_requested());
            self.comm.all_reduce_f64(self.scratch.buf.as_mut_slice(), Op::Sum);
            let new_seen = self.gradient_differences(batch.clone());
            self.update(batch, new_seen);
            self.settle_if_small()?;
            if self.scratch.buf.stop_requested() {
                // Every rank saw the same sum, so all stop at this step together.
                self.st.step = t + 1;
                return Ok(Epoch::Stopped { epoch, step: t + 1 });
            }
        }
        self.end_epoch(epoch_start).map(Epoch::Done)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn steps_avx2(&mut self, hooks: &mut dyn FitHooks, epoch_start: Instant) -> Result<Epoch> {
        self.steps(hooks, epoch_start)
    }

    /// Collective, at the end of an epoch: settles the weights and tests
    /// convergence as sklearn does (largest change over largest weight).
    #[inline(always)]
    fn end_epoch(&mut self, epoch_start: Instant) -> Result<EpochReport> {
        let overflow = !self.lw.settle() || self.st.intercept.iter().any(|b| !b.is_finite());
        self.check_overflow(overflow)?;
        let st = &mut self.st;
        st.n_iter = st.epoch + 1;
        let (mut max_w, mut max_change) = (0.0f64, 0.0f64);
        // Settled: the stored weights are the true ones; `prev` becomes them.
        for (w, p) in self.lw.settled_weights().zip(st.prev.chunks_exact_mut(self.data.width())) {
            for (w, p) in w.iter().zip(p) {
                let w = w.to_f64();
                max_w = max_w.max(w.abs());
                max_change = max_change.max((w - *p).abs());
                *p = w;
            }
        }
        let (max_w, max_change) = (self.comm.max_f64(max_w), self.comm.max_f64(max_change));
        let penalty = self.comm.sum_f64(self.opts.penalty_value(&st.prev));
        let relative = if max_w == 0.0 { if max_change == 0.0 { 0.0 } else { f64::INFINITY } } else { max_change / max_w };
        let report = EpochReport {
            epoch: st.n_iter,
            objective_estimate: self.opts.loss_scale() * st.epoch_loss + penalty,
            relative_change: relative,
            elapsed: self.started.elapsed().as_secs_f64(),
            samples_per_second: self.data.n_total as f64 / epoch_start.elapsed().as_secs_f64(),
            converged: (max_w != 0.0 && relative <= self.opts.tol) || (max_w == 0.0 && max_change == 0.0),
        };
        st.epoch += 1;
        st.step = 0;
        Ok(report)
    }
}

/// A sample's new stored gradient terms (`grad`, its gradient times its
/// weight, as `T` stores them) and their differences from the stored ones
/// (`diffs`), from its scores; returns its weighted loss. The differences
/// are of the rounded terms: `S` moves by what the memory moves.
#[inline(always)]
fn new_terms<T: Real>(scores: &[f64], label: usize, weight: f64, stored: &[f64], grad: &mut [f64], diffs: &mut [f64]) -> f64 {
    let loss = weight * loss_and_gradient(scores, label, grad);
    grad.iter_mut().for_each(|g| *g = T::round(*g * weight));
    for ((d, g), old) in diffs.iter_mut().zip(grad.iter()).zip(stored) {
        *d = g - old;
    }
    loss
}

/// Stores a sample's new gradient terms (already values of `T`) in its memory.
#[inline(always)]
fn store<T: Real>(memory: &mut [T], grad: &[f64]) {
    memory.iter_mut().zip(grad).for_each(|(m, &g)| *m = T::from_f64(g));
}

/// Whether a fit over these rows keeps its SAGA state in float32: when the
/// rows are float32 (`--dtype float32`), as scikit-learn's saga fits float32
/// features with `sag32`.
pub fn state_is_f32(data: &TrainingSet) -> bool {
    data.x.is_f32()
}

/// Collective: the SAGA solver of `data` as [`Saga::new`], its state in the
/// type [`state_is_f32`] chooses.
pub fn boxed<'a>(data: &'a TrainingSet<'a>, opts: &'a SolverOptions, warm: Option<&WarmStart>, comm: &'a dyn Collectives) -> Result<Box<dyn Solver + 'a>> {
    let started = Instant::now();
    let plan = plan::plan(data, opts, comm);
    let shard = FeatureShard::build(data.x, data.n_features, comm)?;
    boxed_with_shard(data, opts, warm, comm, plan, shard, started)
}

/// Collective: as [`boxed`], with the plan and this rank's share already made ([`Saga::with_shard`]).
pub fn boxed_with_shard<'a>(
    data: &'a TrainingSet<'a>,
    opts: &'a SolverOptions,
    warm: Option<&WarmStart>,
    comm: &'a dyn Collectives,
    plan: Plan,
    shard: FeatureShard<'a>,
    started: Instant,
) -> Result<Box<dyn Solver + 'a>> {
    Ok(if state_is_f32(data) {
        Box::new(Saga::<f32>::with_shard(data, opts, warm, comm, plan, shard, started)?)
    } else {
        Box::new(Saga::<f64>::with_shard(data, opts, warm, comm, plan, shard, started)?)
    })
}

impl<T: Real> Solver for Saga<'_, T> {
    fn name(&self) -> &'static str {
        SolverKind::Saga.name()
    }

    fn summary(&self, n_iter: usize) -> String {
        let p = &self.plan;
        let sync = if p.block > 1 { format!(", {} steps an allreduce", p.block) } else { String::new() };
        format!("saga: {n_iter} epochs, step {:.4}, batch {} a step{sync}, {} steps/epoch", p.step, p.batch_total, p.steps_per_epoch)
    }

    fn epochs_done(&self) -> usize {
        self.st.epoch
    }

    fn epoch(&mut self, hooks: &mut dyn FitHooks) -> Result<Epoch> {
        let epoch_start = Instant::now();
        if self.st.step == 0 {
            self.st.epoch_loss = 0.0;
        }
        order::epoch_order(&mut self.scratch.order, self.data.n_total as usize, self.opts.seed, self.st.epoch);
        #[cfg(target_arch = "x86_64")]
        if AVX2_ALLOWED.load(Ordering::Relaxed) && std::is_x86_feature_detected!("avx2") {
            // SAFETY: this CPU has AVX2.
            return unsafe { self.steps_avx2(hooks, epoch_start) };
        }
        self.steps(hooks, epoch_start)
    }

    fn spaces(&self) -> Vec<Space<'_>> {
        let sh = &self.shard;
        vec![
            Space { name: "features", total: self.data.n_features, rows: RowSet::Listed(Cow::Borrowed(&sh.owned)) },
            Space { name: "samples", total: self.data.n_total as usize, rows: RowSet::Range(sh.first_sample..sh.first_sample + sh.n_local) },
        ]
    }

    /// Borrowed: the lazy weights' blocks and `prev` by feature, the
    /// gradient memory by sample, the rest shared. The plan's batch is saved
    /// so that a fit at another rank count (another batch) finds its place
    /// in the epoch.
    fn state(&self) -> SolverState<'_> {
        let (st, k) = (&self.st, self.k());
        let (blocks, [cum, cum_prox, seen]) = self.lw.view();
        let mut s = SolverState::default();
        s.int("epoch", st.epoch as i64).int("step", st.step as i64).int("n_iter", st.n_iter as i64);
        s.int("steps_per_epoch", self.plan.steps_per_epoch as i64);
        s.float("wscale", self.lw.wscale).float("seen_total", st.seen_total).float("epoch_loss", st.epoch_loss);
        for (name, v) in [("cum", cum), ("cum_prox", cum_prox), ("seen_steps", seen), ("intercept", &st.intercept[..]), ("intercept_sum", &st.intercept_sum[..])] {
            s.shared(name, f64s(v));
        }
        s.spaces = self.spaces();
        s.rows_of_width("blocks", "features", block_len(k), blocks, false);
        s.rows_of_width("prev", "features", k, f64s(&st.prev), false);
        s.rows_of_width("memory", "samples", k, T::values(&st.memory), false);
        s.rows_of_width("seen", "samples", 1, Values::U8(Cow::Borrowed(&st.seen)), false);
        s
    }

    fn restore(&mut self, mut s: SolverState<'_>) -> Result<()> {
        let int = |s: &SolverState, n: &str| -> Result<usize> { Ok(s.get_int(n)? as usize) };
        let parsed = (|| -> Result<(Progress<T>, LazySnapshot)> {
            let lazy = LazySnapshot {
                blocks: s.take_f64("blocks")?,
                wscale: s.get_float("wscale")?,
                cum: s.take_f64("cum")?,
                cum_prox: s.take_f64("cum_prox")?,
                seen: s.take_f64("seen_steps")?,
            };
            let st = Progress {
                epoch: int(&s, "epoch")?,
                step: self.step_here(int(&s, "step")?, int(&s, "steps_per_epoch")?),
                n_iter: int(&s, "n_iter")?,
                intercept: s.take_f64("intercept")?,
                intercept_sum: s.take_f64("intercept_sum")?,
                seen_total: s.get_float("seen_total")?,
                prev: s.take_f64("prev")?,
                epoch_loss: s.get_float("epoch_loss")?,
                // Exact: a float32 state's memory was written from float32 values.
                memory: s.take_f64("memory")?.into_iter().map(T::from_f64).collect(),
                seen: s.take_u8("seen")?,
            };
            Ok((st, lazy))
        })();
        let (owned, k) = (self.shard.owned.len(), self.k());
        let fits = parsed.as_ref().is_ok_and(|(st, lazy)| {
            lazy.blocks.len() == owned * block_len(k) && st.prev.len() == owned * k && st.seen.len() == self.data.y.len() && st.intercept.len() == k
        });
        // Collective, so that a mismatch on one rank stops every rank.
        if self.comm.max_f64(!fits as u8 as f64) > 0.0 {
            let cause = parsed.err().map_or(String::new(), |e| format!(" ({e})"));
            bail!("the checkpoint does not match this data{cause}; delete it and start afresh");
        }
        let (st, lazy) = parsed?;
        self.lw.restore(&lazy);
        self.st = st;
        Ok(())
    }

    fn solution(&mut self) -> Solution {
        let s = self.current();
        // The corpus's entries in this rank's features are no longer needed.
        self.shard.release_rows();
        s
    }

    fn current(&mut self) -> Solution {
        let (d, k) = (self.data.n_features, self.k());
        // The whole model on every rank: each rank's features, and rank 0's
        // intercept, laid out as sklearn's coef_ (K, d) from the start.
        let mut whole = vec![0.0; d * k + k];
        let owned = self.shard.owned.iter().map(|&j| j as usize);
        put_features(&mut whole[..d * k], d, owned.zip(self.lw.scaled_rows()), self.lw.wscale);
        if self.comm.rank() == 0 {
            whole[d * k..].copy_from_slice(&self.st.intercept);
        }
        self.comm.sum_f64_identical_in_place(&mut whole);
        let intercept = whole.split_off(d * k);
        Solution { coef: Array2::from_shape_vec((k, d), whole).expect("K x d weights"), intercept }
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let p = &self.plan;
        let v = serde_json::json!({
            "solver": self.name(),
            "step_size": p.step,
            "batch_total": p.batch_total,
            "batch_size_per_rank": p.batch_total as f64 / self.comm.size() as f64,
            "steps_per_epoch": p.steps_per_epoch,
            "steps_per_allreduce": p.block,
            "smoothness_per_sample": p.l_max,
            "smoothness_full": p.l_full,
            "intercept_scale": p.intercept_scale,
            "shard_imbalance": self.shard.imbalance,
            "setup_seconds": self.setup_seconds,
            "state_dtype": T::NAME,
        });
        v.as_object().cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use crate::collectives::local::run_ranks;
    use crate::solver::{fit, FitResult, Progress};
    use crate::sparse::{Csr, RowBuilder};
    use super::*;

    /// Four one-hot-ish samples of two classes.
    fn tiny() -> (Csr, Vec<u32>) {
        let mut x = RowBuilder::new();
        for (cols, vals) in [(vec![0, 2], vec![0.6, 0.8]), (vec![1], vec![1.0]), (vec![0], vec![1.0]), (vec![1, 2], vec![0.8, 0.6])] {
            cols.into_iter().zip(vals).for_each(|(j, v)| x.push(j, v));
            x.end_row();
        }
        (x.finish(3), vec![0, 1, 0, 1])
    }

    fn solve(opts: &SolverOptions, batch: usize) -> FitResult {
        let (x, y) = tiny();
        let (x, sw) = (crate::sparse::Rows::F64(x), vec![1.0; 4]);
        let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: 3, n_classes: 2, n_total: 4 };
        let opts = SolverOptions { batch_size: Some(batch), max_iter: 20_000, tol: 1e-12, ..opts.clone() };
        run_ranks(1, |comm| fit(&data, &opts, None, None, comm, &mut Progress(|_: &EpochReport| {})).unwrap()).remove(0)
    }

    /// The exact optimum's gradient is zero: check it for the L2 problem.
    #[test]
    fn l2_reaches_a_stationary_point_at_any_batch_size() {
        let (x, y) = tiny();
        for batch in [1, 2, 4] {
            let r = solve(&SolverOptions::default(), batch);
            assert!(r.converged, "batch {batch}");
            // Gradient of C * sum loss + 0.5 |w|^2 with respect to w and b.
            let coef = r.coef.as_slice().unwrap();
            let mut gw = coef.to_vec();
            let mut gb = 0.0;
            for i in 0..4 {
                let mut z = r.intercept[0];
                let (cols, vals) = crate::sparse::row(&x, i);
                for (&j, &v) in cols.iter().zip(vals) {
                    z += v * coef[j as usize];
                }
                let g = super::super::loss::sigmoid(z) - y[i] as f64;
                gb += g;
                for (&j, &v) in cols.iter().zip(vals) {
                    gw[j as usize] += g * v;
                }
            }
            assert!(gw.iter().all(|g| g.abs() < 1e-8) && gb.abs() < 1e-8, "batch {batch}: {gw:?} {gb}");
        }
    }

    #[test]
    fn l1_optimum_is_the_same_for_every_batch_size() {
        let opts = SolverOptions { l1_ratio: 1.0, c: 3.0, ..Default::default() };
        let a = solve(&opts, 1);
        let b = solve(&opts, 3);
        assert!((a.objective - b.objective).abs() < 1e-9 * a.objective, "{} {}", a.objective, b.objective);
        // Feature 2 is shared by both classes: L1 drives it to exactly zero.
        assert_eq!(a.coef[[0, 2]], 0.0);
    }

    /// The AVX2 and the plain build of the steps give the same model, bit
    /// for bit: K = 5 (a remainder after the four-wide loops), L2 and
    /// elasticnet, batch 1 and 3, 1 and 2 ranks, float64 and float32
    /// states. Turning AVX2 off for a
    /// moment only slows other tests running at the same time. (On a CPU
    /// without AVX2 both runs take the plain build; CI's machines have it.)
    #[test]
    fn avx2_and_plain_builds_give_the_same_bits() {
        let (n, d, k) = (300usize, 40usize, 5u32);
        let sw = vec![1.0; n];
        for (l1_ratio, batch, ranks, f32) in [(0.0, 1, 1, false), (0.5, 3, 1, false), (0.0, 2, 2, false), (0.0, 1, 1, true), (0.5, 2, 2, true)] {
            let (x, y) = random_rows(n, d, k as usize, f32, 12345);
            let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: k as usize, n_total: n as u64 };
            let opts = SolverOptions { l1_ratio, c: 10.0, batch_size: Some(batch), max_iter: 5, tol: 0.0, ..Default::default() };
            let run = || run_ranks(ranks, |comm| fit(&data, &opts, None, None, comm, &mut Progress(|_: &EpochReport| {})).unwrap()).remove(0);
            let fast = run();
            AVX2_ALLOWED.store(false, Ordering::Relaxed);
            let plain = run();
            AVX2_ALLOWED.store(true, Ordering::Relaxed);
            let bits = |r: &FitResult| r.coef.iter().chain(&r.intercept).map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&plain), "l1_ratio {l1_ratio} batch {batch} ranks {ranks} float32 {f32}");
        }
    }

    /// `n` rows over `d` columns of a few non-zeros each, labels of `k`
    /// classes: the rows stored as float32 when asked (each value rounded
    /// once), as float64 holding the same values otherwise.
    fn random_rows(n: usize, d: usize, k: usize, f32: bool, seed: u64) -> (crate::sparse::Rows, Vec<u32>) {
        let mut x = RowBuilder::new();
        let mut y = Vec::new();
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        for _ in 0..n {
            let mut cols: Vec<usize> = (0..6).map(|_| next() % d).collect();
            cols.sort_unstable();
            cols.dedup();
            cols.iter().for_each(|&j| x.push(j as u32, (0.1 + (next() % 1000) as f64 / 700.0) as f32 as f64));
            x.end_row();
            y.push((next() % k) as u32);
        }
        (crate::sparse::Rows::new(x.finish(d), f32), y)
    }

    /// Float32 rows fit in float32 (issue 33): the solver [`boxed`] builds
    /// says so, every stored weight, intercept and gradient memory entry is
    /// a float32 value after epochs that settled and moved them all, and the
    /// model is not the float64 state's over the same values (which it
    /// would be, bit for bit, if the state were float64 underneath), yet
    /// within float32's reach of it: 1e-5 of the largest weight after 6
    /// epochs, 170 times float32's rounding (2^-24, 6e-8), where a wrong
    /// update moves a weight by its own size. A fit restored from its state
    /// after 3 epochs ends with the same bits. 1 rank, 2 at batch 3, and 2
    /// in blocks of 5 steps an allreduce (`blocked`).
    #[test]
    fn float32_rows_keep_a_float32_state() {
        let (n, d, k) = (200usize, 30usize, 3usize);
        let sw = vec![1.0; n];
        let (x32, y) = random_rows(n, d, k, true, 777);
        let (x64, _) = random_rows(n, d, k, false, 777);
        for (ranks, batch, sync_steps) in [(1, Some(1), None), (2, Some(3), None), (2, None, Some(5))] {
            let opts = SolverOptions { c: 10.0, batch_size: batch, sync_steps, max_iter: 6, tol: 0.0, ..Default::default() };
            let run = |x: &crate::sparse::Rows| {
                run_ranks(ranks, |comm| {
                    let data = TrainingSet { x, y: &y, sample_weight: &sw, n_features: d, n_classes: k, n_total: n as u64 };
                    let mut saga = boxed(&data, &opts, None, comm).unwrap();
                    assert_eq!(saga.details()["steps_per_allreduce"], sync_steps.unwrap_or(1));
                    let epochs = |s: &mut Box<dyn Solver + '_>, n: usize| (0..n).for_each(|_| drop(s.epoch(&mut crate::solver::NoHooks).unwrap()));
                    epochs(&mut saga, 3);
                    // A checkpoint's state (float64 values) resumes the float32 fit exactly.
                    let mut resumed = boxed(&data, &opts, None, comm).unwrap();
                    resumed.restore(saga.state()).unwrap();
                    epochs(&mut saga, opts.max_iter - 3);
                    epochs(&mut resumed, opts.max_iter - 3);
                    let mut state = saga.state();
                    let floats: Vec<f64> = ["memory", "intercept", "intercept_sum", "prev", "blocks"].iter().flat_map(|a| state.take_f64(a).unwrap()).collect();
                    let (m, again) = (saga.solution(), resumed.solution());
                    assert_eq!((&m.coef, &m.intercept), (&again.coef, &again.intercept), "the resumed fit differs");
                    (saga.details()["state_dtype"].clone(), floats, m)
                })
                .remove(0)
            };
            let ((dtype32, state32, m32), (dtype64, state64, m64)) = (run(&x32), run(&x64));
            assert_eq!((dtype32.as_str(), dtype64.as_str()), (Some("float32"), Some("float64")));
            let is_f32 = |v: &f64| *v as f32 as f64 == *v;
            assert!(state32.iter().all(is_f32), "a float32 state holds a value float32 cannot");
            assert!(!state64.iter().all(is_f32), "the float64 state's values should not all be float32's");
            let all = |m: &Solution| m.coef.iter().chain(&m.intercept).copied().collect::<Vec<f64>>();
            let (w32, w64) = (all(&m32), all(&m64));
            assert!(w32.iter().all(is_f32));
            assert_ne!(w32, w64, "{ranks} ranks: the float32 fit took the float64 fit's steps exactly");
            let scale = w64.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let diff = w32.iter().zip(&w64).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(scale > 0.1 && diff <= 1e-5 * scale, "{ranks} ranks: differ by {diff:e} of {scale}");
        }
    }

    #[test]
    fn same_seed_same_model() {
        let opts = SolverOptions { max_iter: 3, ..Default::default() };
        let (a, b) = (solve(&opts, 2), solve(&opts, 2));
        assert_eq!(a.coef, b.coef);
    }
}
