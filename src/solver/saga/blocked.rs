//! The epoch's steps in blocks of [`Plan::block`](super::plan::Plan)
//! samples, one allreduce a block (see [`block`](super::block) for the
//! maths): each rank reads the block's rows once to sum its share of the
//! scores' parts and of the Gram matrix, then, after the allreduce, takes
//! the block's batch-1 steps one by one from the sums, applying each to its
//! own features as a step of one allreduce does.

use super::block::{gram_len, gram_row};
use super::real::Real;
use super::{new_terms, store, Saga};
use crate::collectives::Op;
use crate::error::Result;
use crate::solver::{Epoch, FitHooks};
use crate::sparse::Value;
use crate::with_parts;
use std::time::Instant;

/// How many samples ahead a block's local phase fetches each sample's
/// weights (see [`Saga::prefetch_ahead`]).
const BLOCK_AHEAD: usize = 2;

impl<T: Real> Saga<'_, T> {
    /// The rest of the epoch's steps in blocks, then its end. A stop
    /// request ends the epoch at a block's end, where a resumed fit starts
    /// its next block: the blocks, and so the model, are those of a fit
    /// that never stopped.
    #[inline(always)]
    pub(super) fn blocked_steps(&mut self, hooks: &mut dyn FitHooks, epoch_start: Instant) -> Result<Epoch> {
        let (epoch, steps, size) = (self.st.epoch, self.plan.steps_per_epoch, self.plan.block);
        let tick = (steps / 100).max(1);
        let mut t0 = self.st.step;
        while t0 < steps {
            let t1 = (t0 + size).min(steps);
            if t0 / tick != t1 / tick || t0 == 0 {
                hooks.step(epoch, t0, steps);
            }
            self.block_partials(t0..t1, hooks.stop_requested());
            self.comm.all_reduce_f64(self.scratch.blk.as_mut_slice(), Op::Sum);
            self.scratch.replay.reset();
            for t in t0..t1 {
                self.replay_step(t, t - t0);
            }
            // Settled only between blocks: the replay's sums are in one scale.
            self.settle_if_small()?;
            if self.scratch.blk.stop_requested() {
                self.st.step = t1;
                return Ok(Epoch::Stopped { epoch, step: t1 });
            }
            t0 = t1;
        }
        self.end_epoch(epoch_start).map(Epoch::Done)
    }

    /// Local phase of a block (steps `steps` of the visiting order): each
    /// sample's `u` and `v` over this rank's features, caught up to the
    /// block's start, the features' share of the Gram matrix, and what this
    /// rank alone knows of its own samples.
    #[inline(always)]
    fn block_partials(&mut self, steps: std::ops::Range<usize>, stop: bool) {
        let first = steps.start;
        self.scratch.blk.reset(steps.len(), gram_len(steps.len()), stop);
        for t in steps {
            // Batch 1: step t is sample order[t].
            self.prefetch_ahead(t, BLOCK_AHEAD);
            if t + BLOCK_AHEAD < self.plan.steps_per_epoch {
                self.prefetch_heads(t + BLOCK_AHEAD);
            }
            let Saga { shard, lw, st, scratch, data, .. } = self;
            let (s, i, k) = (t - first, scratch.order[t] as usize, data.width());
            let (u, v) = scratch.blk.partials_mut(s).split_at_mut(k);
            with_parts!(&*shard.x, |indptr, cols, values| {
                for p in indptr[i]..indptr[i + 1] {
                    let (j, x) = (cols[p] as usize, values[p].to_f64());
                    lw.catch_up(j);
                    for ((u, v), (w, g)) in u.iter_mut().zip(v.iter_mut()).zip(lw.row(j).iter().zip(lw.sum_grad(j))) {
                        *u += x * w.to_f64();
                        *v += x * g.to_f64();
                    }
                    scratch.co.add(j, s, x);
                }
            });
            if let Some(l) = shard.local_sample(i) {
                scratch.blk.set_owned(s, &st.memory[l * k..(l + 1) * k], data.y[l], data.sample_weight[l], st.seen[l] == 0);
                st.seen[l] = 1;
            }
        }
        self.scratch.co.gram_into(self.scratch.blk.tail_mut());
    }

    /// Starts loading the Gram chains' heads of step `t`'s features.
    #[inline(always)]
    fn prefetch_heads(&self, t: usize) {
        let i = self.scratch.order[t] as usize;
        with_parts!(&*self.shard.x, |indptr, cols, _values| {
            for &j in &cols[indptr[i]..indptr[i + 1]] {
                self.scratch.co.prefetch(j as usize);
            }
        });
    }

    /// Step `t` of the epoch, the block's `s`-th: its scores replayed from
    /// the block's sums, its new gradient terms, what every rank does alike
    /// at a step ([`Saga::advance`]), and its correction to this rank's
    /// features, which the local phase caught up to the block's start only
    /// ([`LazyWeights::apply_lagging`](super::lazy::LazyWeights::apply_lagging)).
    #[inline(always)]
    fn replay_step(&mut self, t: usize, s: usize) {
        let k = self.data.width();
        let Saga { shard, lw, st, scratch, .. } = self;
        let sample = scratch.blk.sample(s);
        let (u, v) = sample.partials.split_at(k);
        scratch.replay.scores(u, v, gram_row(scratch.blk.tail(), s), &st.intercept, lw.wscale, &mut scratch.scores);
        st.epoch_loss += new_terms::<T>(&scratch.scores, sample.label, sample.weight, sample.stored, &mut scratch.grad, &mut scratch.icorr);
        if let Some(l) = shard.local_sample(scratch.order[t] as usize) {
            store(&mut st.memory[l * k..(l + 1) * k], &scratch.grad);
        }
        let first_visit = sample.first_visit;
        let sigma = self.advance(1, first_visit);
        let Saga { shard, lw, st, scratch, plan, .. } = self;
        let i = scratch.order[t] as usize;
        with_parts!(&*shard.x, |indptr, cols, values| {
            for p in indptr[i]..indptr[i + 1] {
                lw.apply_lagging(cols[p] as usize, values[p].to_f64(), &scratch.icorr, sigma);
            }
        });
        let gamma = lw.record_step(plan.step, st.seen_total);
        scratch.replay.record(&scratch.icorr, sigma, gamma);
    }
}

#[cfg(test)]
mod tests {
    use crate::collectives::local::run_ranks;
    use crate::solver::options::SolverOptions;
    use crate::solver::problem::TrainingSet;
    use crate::solver::saga::Saga;
    use crate::solver::{drive, fit, Epoch, FitHooks, FitResult, NoHooks, Progress, Solver};
    use crate::sparse::{RowBuilder, Rows};

    /// `n` rows over `d` Zipf-like columns (a few in most rows, as common
    /// words), labels of `k` classes, uneven sample weights, split in
    /// contiguous shares over `p` ranks: rank `r`'s rows, labels and weights.
    fn share(n: usize, d: usize, k: usize, p: usize, r: usize) -> (Rows, Vec<u32>, Vec<f64>) {
        let mut state = 2024u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let (mut x, mut y, mut sw) = (RowBuilder::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let mut cols: Vec<usize> = (0..8).map(|_| (next() % d) * (next() % d) / d).collect();
            cols.sort_unstable();
            cols.dedup();
            let vals: Vec<f64> = cols.iter().map(|_| 0.1 + (next() % 100) as f64 / 40.0).collect();
            let label = (next() % k) as u32;
            let weight = 0.5 + (next() % 3) as f64 / 2.0;
            if i * p / n == r {
                cols.iter().zip(&vals).for_each(|(&j, &v)| x.push(j as u32, v));
                x.end_row();
                y.push(label);
                sw.push(weight);
            }
        }
        (Rows::F64(x.finish(d)), y, sw)
    }

    fn solve(p: usize, k: usize, opts: &SolverOptions) -> FitResult {
        let (n, d) = (240, 30);
        run_ranks(p, |comm| {
            let (x, y, sw) = share(n, d, k, p, comm.rank());
            let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: k, n_total: n as u64 };
            fit(&data, opts, None, None, comm, &mut Progress(|_| {})).unwrap()
        })
        .remove(0)
    }

    /// Blocks of 5 at 1 rank and of 7 and 64 (more than an epoch's share
    /// of a rank) at 2 and 3 ranks take the steps of a fit with one
    /// allreduce a step at 1 rank: the same model after 4 epochs to 1e-10,
    /// binary and 3 classes, with L2 and without a penalty. A step taking
    /// a correction it should not (a Gram entry, a lazy move counted from
    /// the wrong step) moves the weights by far more.
    #[test]
    fn blocks_take_the_steps_of_one_allreduce_each() {
        // C = inf: no penalty.
        for (k, c) in [(3, 5.0), (2, f64::INFINITY), (3, f64::INFINITY)] {
            let base = SolverOptions { c, max_iter: 4, tol: 0.0, ..Default::default() };
            let one = solve(1, k, &SolverOptions { sync_steps: Some(1), ..base.clone() });
            let scale = one.coef.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(scale > 0.1, "the reference moved: {scale}");
            for (p, block) in [(1, 5), (2, 7), (3, 64)] {
                let r = solve(p, k, &SolverOptions { sync_steps: Some(block), ..base.clone() });
                assert_eq!(r.details["steps_per_allreduce"], block, "{p} ranks");
                let diff = r.coef.iter().zip(&one.coef).chain(r.intercept.iter().zip(&one.intercept)).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                assert!(diff <= 1e-10 * scale, "K {k}, C {c}, {p} ranks, blocks of {block}: differs by {diff:e}");
            }
        }
    }

    /// Asks to stop (on rank 1 only) at its `after`-th question.
    struct StopAt {
        asked: std::cell::Cell<usize>,
        after: usize,
        rank: usize,
    }

    impl FitHooks for StopAt {
        fn stop_requested(&self) -> bool {
            self.asked.set(self.asked.get() + 1);
            self.rank == 1 && self.asked.get() == self.after
        }
    }

    /// A stop requested on one rank in the middle of an epoch ends every
    /// rank at the same block's end; a solver restored from the state it
    /// leaves finishes with the uninterrupted fit's model, bit for bit.
    #[test]
    fn a_stop_resumes_at_a_blocks_end_with_the_same_bits() {
        let (n, d, k, p) = (240, 30, 3, 2);
        let opts = SolverOptions { c: 5.0, max_iter: 3, tol: 0.0, sync_steps: Some(7), ..Default::default() };
        let bits = |s: &crate::solver::Solution| s.coef.iter().chain(&s.intercept).map(|v| v.to_bits()).collect::<Vec<_>>();
        let runs = run_ranks(p, |comm| {
            let (x, y, sw) = share(n, d, k, p, comm.rank());
            let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: k, n_total: n as u64 };
            let mut whole = Saga::<f64>::new(&data, &opts, None, comm).unwrap();
            drive(&mut whole, opts.max_iter, &mut NoHooks).unwrap();
            let mut first = Saga::<f64>::new(&data, &opts, None, comm).unwrap();
            // One question a block: the 40th is in the second epoch (240 / 7 blocks an epoch).
            let hooks = &mut StopAt { asked: 0.into(), after: 40, rank: comm.rank() };
            let stopped = loop {
                match first.epoch(hooks).unwrap() {
                    Epoch::Stopped { epoch, step } => break (epoch, step),
                    Epoch::Done(_) => {}
                }
            };
            let mut resumed = Saga::<f64>::new(&data, &opts, None, comm).unwrap();
            resumed.restore(first.state()).unwrap();
            drive(&mut resumed, opts.max_iter, &mut NoHooks).unwrap();
            (stopped, bits(&whole.solution()), bits(&resumed.solution()))
        });
        let (stopped, whole, resumed) = &runs[0];
        assert_eq!(*stopped, (1, 40 * 7 - 240 / 7 * 7 - 7), "stopped at the end of the 40th block");
        assert_eq!(runs[1].0, *stopped, "both ranks stop at the same step");
        assert_eq!(whole, resumed, "the resumed fit differs from the uninterrupted one");
    }
}
