//! The scale-out mode: rows stay on the rank that read them, and a
//! full-gradient quasi-Newton method (L-BFGS; OWL-QN with an L1 term)
//! runs over them, started from the average of local SAGA fits (the recipe
//! of Agarwal, Chapelle, Dudík and Langford, JMLR 2014).
//!
//! An iteration is, per line-search trial (mostly one), an all-gather of
//! the trial point (each rank moves its own block) and one pass over the
//! local rows (margins, loss and gradient together, sequential in memory);
//! then one reduce-scatter of the d x K gradient and a few scalar
//! allreduces: its communication does not grow with the documents, and its
//! iterates do not depend on the rank count. Per-rank memory is the local rows plus the model: the parameters
//! (whole, for the margins), and a 1/P block of the gradient and of the
//! L-BFGS memory ([`history`]). Nothing is of the size of the corpus.
//!
//! The state is each rank's blocks of the flat parameters (a checkpoint
//! writes them where they lie; [`state`]), so a fit resumes bit for bit at
//! the same rank count and at another rank count too.

mod blocks;
mod history;
mod orthant;
mod start;
pub use start::PIECE;
mod state;

use super::options::{SolverKind, SolverOptions};
use super::problem::{coef_of, flat_len, flatten, local_loss_gradient, TrainingSet};
use super::state::{SolverState, Space};
use super::threaded::ByFeature;
use super::{Epoch, EpochReport, FitHooks, Solution, Solver, WarmStart};
use crate::collectives::{Collectives, Op};
use crate::error::Result;
use crate::threads;
use anyhow::bail;
use blocks::Blocks;
use history::{dot, History};
use std::time::Instant;

/// Pairs kept in the L-BFGS memory. sklearn's lbfgs keeps 10; split over
/// the ranks a pair is cheap, and 30 took 28 % fewer iterations to a 1e-6
/// gap on the generated corpus (docs/design.md, "Scaling the fit").
pub const MEMORY: usize = 30;
/// Epochs of local SAGA each rank runs on its own rows for the start: 3
/// took 25 passes to a 1e-6 gap where 1 took 30 and none 43 (docs/design.md).
pub const LOCAL_EPOCHS: usize = 3;
/// Armijo's sufficient decrease and the most halvings of a step.
const ARMIJO: f64 = 1e-4;
const MAX_TRIALS: usize = 40;
/// A relative decrease this small is rounding (scipy's `ftol` in sklearn's lbfgs: 64 epsilons).
const STALL: f64 = 64.0 * f64::EPSILON;
/// Whether the initial inverse Hessian is the inverse of the Hessian's
/// diagonal at the start (Vowpal Wabbit's preconditioner), not the identity.
pub(super) const PRECONDITION: bool = true;

/// The L-BFGS / OWL-QN solver of one fit on one rank.
pub struct Lbfgs<'a> {
    data: &'a TrainingSet<'a>,
    opts: &'a SolverOptions,
    comm: &'a dyn Collectives,
    blocks: Blocks,
    /// The parameters ([`flat_len`], padded to the blocks), the same on every rank.
    x: Vec<f64>,
    /// This rank's block of the smooth part's gradient at `x`.
    g: Vec<f64>,
    /// The objective at `x`.
    f: f64,
    hist: History,
    iter: usize,
    started: bool,
    stop: bool,
    /// Strengths of the L2 and L1 terms (sklearn's split of the penalty).
    l2: f64,
    l1: f64,
    local_epochs: usize,
    /// Documents a piece of the start's local fits at most ([`start::PIECE`]).
    piece: usize,
    counters: Counters,
    /// This rank's gradient over all parameters, before the reduce-scatter.
    scratch: Vec<f64>,
    /// The line search's trial point (whole), swapped with `x` when accepted.
    trial: Vec<f64>,
    /// The pass on threads (`--threads` above 1): the rows stored by feature
    /// too, made at the first pass, after the start's local fits (which hold
    /// copies of their pieces' rows: the two would raise the peak together).
    threaded: Option<ByFeature>,
    clock: Instant,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    passes: usize,
    trials: usize,
    skipped_pairs: usize,
    start_seconds: f64,
}

impl<'a> Lbfgs<'a> {
    /// Sets the start: a warm start, or the average of local SAGA fits (computed in the first epoch).
    pub fn new(data: &'a TrainingSet<'a>, opts: &'a SolverOptions, warm: Option<&WarmStart>, comm: &'a dyn Collectives) -> Result<Self> {
        let n = flat_len(data);
        let blocks = Blocks::new(n, data.n_features * data.width(), comm.rank(), comm.size());
        let (l2, l1) = opts.penalty_strengths();
        let mut s = Lbfgs {
            data,
            opts,
            comm,
            x: vec![0.0; blocks.padded()],
            g: vec![0.0; blocks.block],
            f: f64::NAN,
            hist: History::new(MEMORY),
            iter: 0,
            started: false,
            stop: false,
            l2,
            l1,
            local_epochs: if warm.is_some() { 0 } else { LOCAL_EPOCHS },
            piece: start::PIECE,
            counters: Counters::default(),
            scratch: Vec::new(),
            trial: vec![0.0; blocks.padded()],
            threaded: None,
            blocks,
            clock: Instant::now(),
        };
        if let Some(w) = warm {
            flatten(&w.coef, &w.intercept, &mut s.x);
        }
        Ok(s)
    }

    /// How many epochs of local SAGA start the fit (0: from zero or the warm start).
    pub fn with_local_epochs(mut self, epochs: usize) -> Self {
        self.local_epochs = epochs;
        self
    }

    /// Pieces of at most `docs` documents for the start's local fits.
    pub fn with_piece(mut self, docs: usize) -> Self {
        self.piece = docs.max(1);
        self
    }

    fn k(&self) -> usize {
        self.data.width()
    }

    /// Collective: the objective at `x` (whole), with this rank's gradient
    /// over all parameters left in `scratch` (and the Hessian's diagonal in
    /// `curvature` when `diagonal`), and `pg . (x - self.x)` over all ranks.
    fn evaluate(&mut self, x: &[f64], pg: &[f64], diagonal: bool) -> (f64, f64) {
        let n = self.blocks.n;
        // Kept between passes: zeroing it is a memset, allocating it anew would page-fault.
        self.scratch.resize(self.blocks.padded(), 0.0);
        threads::update(&mut self.scratch, |_, part| part.fill(0.0));
        let mut curvature = diagonal.then(|| vec![0.0; self.blocks.padded()]);
        let (scale, grad, diag) = (self.opts.loss_scale(), &mut self.scratch[..n], curvature.as_mut().map(|h| &mut h[..n]));
        if self.threaded.is_none() {
            self.threaded = ByFeature::new(self.data, crate::threads::count());
        }
        let data = match self.threaded.as_mut() {
            Some(pass) => pass.loss_gradient(self.data, &x[..n], scale, grad, diag),
            None => local_loss_gradient(self.data, &x[..n], scale, grad, diag),
        };
        if let Some(h) = curvature {
            self.set_preconditioner(&h);
        }
        let mine = self.blocks.range();
        let (xb, x0) = (&x[mine.clone()], &self.x[mine]);
        let (l2, l1) = (self.l2, self.l1);
        let penalty = threads::sum(self.blocks.penalized.min(xb.len()), |r| xb[r].iter().fold(0.0, |s, v| s + (0.5 * l2 * v * v + l1 * v.abs())));
        let slope = threads::sum(pg.len(), |r| pg[r.clone()].iter().zip(xb[r.clone()].iter().zip(&x0[r])).fold(0.0, |s, (p, (a, b))| s + p * (a - b)));
        let mut sums = [data + penalty, slope];
        self.comm.all_reduce_f64(&mut sums, Op::Sum);
        self.counters.passes += 1;
        (sums[0], sums[1])
    }

    /// Collective: this rank's block of the smooth gradient from `scratch`.
    fn gradient_block(&mut self, x: &[f64]) -> Vec<f64> {
        let mut g = self.comm.reduce_scatter_sum_f64(&self.scratch);
        let (xb, l2) = (&x[self.blocks.range()], self.l2);
        let penalized = self.blocks.penalized.min(g.len());
        threads::update(&mut g[..penalized], |at, part| part.iter_mut().zip(&xb[at..]).for_each(|(gi, xi)| *gi += l2 * xi));
        if !self.opts.fit_intercept {
            g[self.blocks.intercepts()].iter_mut().for_each(|v| *v = 0.0);
        }
        g
    }

    /// Collective: `D`, the inverse of the objective's Hessian diagonal
    /// (data term plus L2) on this rank's block, from every rank's data term
    /// `h`; floored at a millionth of the largest curvature, so a weight no
    /// document touches gets a bounded step.
    fn set_preconditioner(&mut self, h: &[f64]) {
        let mut mine = self.comm.reduce_scatter_sum_f64(h);
        for v in mine.iter_mut().take(self.blocks.penalized) {
            *v += self.l2;
        }
        let largest = self.comm.max_f64(mine.iter().fold(0.0, |m: f64, v| m.max(*v)));
        let floor = (largest * 1e-6).max(f64::MIN_POSITIVE);
        self.hist.diag = Some(mine.iter().map(|v| 1.0 / v.max(floor)).collect());
    }

    fn pseudo_gradient(&self) -> Vec<f64> {
        let mut pg = vec![0.0; self.blocks.block];
        let (x, g, penalized, l1) = (&self.x[self.blocks.range()], &self.g, self.blocks.penalized, self.l1);
        threads::update(&mut pg, |at, part| {
            let r = at..at + part.len();
            orthant::pseudo_gradient(&x[r.clone()], &g[r], penalized.saturating_sub(at), l1, part)
        });
        pg
    }

    /// Collective: one L-BFGS / OWL-QN iteration: direction, backtracking
    /// line search, new pair. Returns the largest change of this rank's
    /// block and the step length taken (`None`: no decrease found).
    fn iterate(&mut self) -> Result<(f64, Option<f64>)> {
        let pg = self.pseudo_gradient();
        let mut d = self.hist.direction(&pg, self.comm);
        orthant::constrain(&mut d, &pg, self.blocks.penalized, self.l1);
        if dot(self.comm, &d, &pg) >= 0.0 {
            // Not a descent direction (the memory disagrees with the orthant): start the memory afresh.
            self.hist.pairs.clear();
            d = self.hist.direction(&pg, self.comm);
            orthant::constrain(&mut d, &pg, self.blocks.penalized, self.l1);
        }
        // Steepest descent's first step is unit length; a preconditioned or quasi-Newton step is
        // tried whole. (The condition is the same on every rank: so is the collective in it.)
        let mut t = if self.hist.pairs.is_empty() && self.hist.diag.is_none() { 1.0 / dot(self.comm, &pg, &pg).sqrt().max(f64::MIN_POSITIVE) } else { 1.0 };
        let mut block = vec![0.0; self.blocks.block];
        let mut trial = std::mem::take(&mut self.trial);
        for _ in 0..MAX_TRIALS {
            // Each rank moves its own block; one all-gather makes the whole trial point.
            let (x, penalized, l1) = (&self.x[self.blocks.range()], self.blocks.penalized, self.l1);
            threads::update(&mut block, |at, part| {
                let r = at..at + part.len();
                orthant::trial_point(&x[r.clone()], &d[r], t, penalized.saturating_sub(at), l1, part)
            });
            self.comm.all_gather_f64_into(&block, &mut trial);
            self.counters.trials += 1;
            let (f, slope) = self.evaluate(&trial, &pg, false);
            if !f.is_finite() && f != f64::INFINITY {
                bail!("the objective is not a number at iteration {}; the data holds values too large to fit", self.iter + 1);
            }
            if f <= self.f + ARMIJO * slope {
                let g = self.gradient_block(&trial);
                let range = self.blocks.range();
                let s = difference(&trial[range.clone()], &self.x[range]);
                let y = difference(&g, &self.g);
                let change = largest(&s);
                if !self.hist.push(s, y, self.comm) {
                    self.counters.skipped_pairs += 1;
                }
                self.trial = std::mem::replace(&mut self.x, trial);
                (self.g, self.f) = (g, f);
                return Ok((change, Some(t)));
            }
            t *= 0.5;
        }
        self.trial = trial;
        Ok((0.0, None))
    }
}

/// `a - b`, on the rank's threads.
fn difference(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len()];
    threads::update(&mut out, |at, part| part.iter_mut().zip(a[at..].iter().zip(&b[at..])).for_each(|(o, (a, b))| *o = a - b));
    out
}

/// The largest absolute value.
fn largest(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// The stopping rule. `--tol` means what it means for SAGA: the largest
/// weight change over the largest weight, here over an iteration whose full
/// quasi-Newton step was accepted (a step the line search shortened says
/// little of the distance to the optimum), or whose objective moved by no
/// more than rounding (scipy's `ftol` as sklearn's lbfgs sets it, 64
/// machine epsilons): near the optimum the sufficient-decrease test fails
/// on rounding and shortens every step. Also stops when even a fresh memory
/// finds no decrease: the optimum to rounding.
fn converged(step: Option<f64>, relative: f64, stalled: bool, tol: f64, had_memory: bool) -> bool {
    match step {
        Some(t) => relative <= tol && (t == 1.0 || stalled),
        None => !had_memory,
    }
}

impl Solver for Lbfgs<'_> {
    fn name(&self) -> &'static str {
        SolverKind::Lbfgs.name()
    }

    fn summary(&self, n_iter: usize) -> String {
        format!("lbfgs: {n_iter} iterations, {} passes over the rows", self.counters.passes + self.local_epochs)
    }

    fn epochs_done(&self) -> usize {
        self.iter
    }

    fn epoch(&mut self, hooks: &mut dyn FitHooks) -> Result<Epoch> {
        if self.stop {
            return Ok(Epoch::Stopped { epoch: self.iter, step: 0 });
        }
        let t = Instant::now();
        if !self.started {
            self.start()?;
        }
        let had_memory = !self.hist.pairs.is_empty();
        let before = self.f;
        let (change, step) = self.iterate()?;
        let stalled = (before - self.f) <= STALL * self.f.abs();
        if step.is_none() {
            self.hist.pairs.clear();
        }
        self.iter += 1;
        let mut m = [change, largest(&self.x[self.blocks.range()]), if hooks.stop_requested() { 1.0 } else { 0.0 }];
        self.comm.all_reduce_f64(&mut m, Op::Max);
        self.stop = m[2] > 0.0;
        let relative = if m[1] > 0.0 { m[0] / m[1] } else { m[0] };
        let report = EpochReport {
            epoch: self.iter,
            objective_estimate: self.f,
            relative_change: relative,
            elapsed: self.clock.elapsed().as_secs_f64(),
            samples_per_second: self.data.n_total as f64 / t.elapsed().as_secs_f64(),
            converged: converged(step, relative, stalled, self.opts.tol, had_memory),
        };
        Ok(Epoch::Done(report))
    }

    fn spaces(&self) -> Vec<Space<'_>> {
        vec![self.params_space()]
    }

    fn state(&self) -> SolverState<'_> {
        self.snapshot()
    }

    fn restore(&mut self, state: SolverState<'_>) -> Result<()> {
        self.load(state)
    }

    fn current(&mut self) -> Solution {
        let (d, k) = (self.data.n_features, self.k());
        let coef = coef_of(&self.x, d, k);
        let intercept = if self.opts.fit_intercept { self.x[d * k..d * k + k].to_vec() } else { vec![0.0; k] };
        Solution { coef, intercept }
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let c = &self.counters;
        let v = serde_json::json!({
            "solver": self.name(),
            "memory_pairs": MEMORY,
            "local_saga_epochs": self.local_epochs,
            "passes": c.passes + self.local_epochs,
            "line_search_trials": c.trials,
            "skipped_pairs": c.skipped_pairs,
            "start_seconds": c.start_seconds,
            "block_per_rank": self.blocks.block,
        });
        v.as_object().cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectives::local::single_rank;
    use crate::solver::NoHooks;
    use crate::sparse::{RowBuilder, Rows};

    /// Iterations on 1, 2 and 3 threads give the same bits: the pass, the
    /// two-loop recursion and OWL-QN's offsets into a thread's part (the
    /// unit tests' kernels thread vectors of a few hundred values).
    #[test]
    fn iterations_are_the_same_bits_on_any_thread_count() {
        let _one = crate::threads::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let (n, d, k) = (150, 60, 4);
        let mut b = RowBuilder::new();
        for i in 0..n as u32 {
            for j in 0..d as u32 {
                if (i * 13 + j * 7) % 6 == 0 || j % 4 == i % 4 {
                    b.push(j, 0.05 + ((i * j) % 11) as f64 / 11.0);
                }
            }
            b.end_row();
        }
        let x = Rows::F64(b.finish(d));
        let y: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
        let sw = vec![1.0; n];
        let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: k, n_total: n as u64 };
        let one = single_rank();
        for l1_ratio in [0.0, 1.0] {
            let opts = SolverOptions { l1_ratio, c: 0.5, ..SolverOptions::default() };
            let run = |t: usize| {
                crate::threads::set(t);
                let mut s = Lbfgs::new(&data, &opts, None, &one).unwrap();
                for _ in 0..6 {
                    s.epoch(&mut NoHooks).unwrap();
                }
                crate::threads::set(1);
                (s.x.clone(), s.f.to_bits())
            };
            let first = run(1);
            for t in [2, 3] {
                assert_eq!(run(t), first, "l1_ratio {l1_ratio}, {t} threads");
            }
        }
    }
}
