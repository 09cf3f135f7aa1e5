//! Logistic regression fitted by distributed solvers, minimising
//! scikit-learn's objective `C * sum_i s_i * loss_i + penalty(W)`.
//!
//! The problem is apart from the optimiser (as linfa does it):
//! - [`options`]: the solver's settings (sklearn's `LogisticRegression` names);
//! - [`penalty`]: the regulariser, as `C` and `l1_ratio` make it (sklearn 1.8+);
//! - [`loss`]: binary and multinomial log loss, gradients;
//! - [`problem`]: a rank's training data and the objective;
//! - [`step_size`]: smoothness and step sizes.
//!
//! The optimiser is a [`Solver`], driven epoch by epoch by [`drive`] (stop
//! requests, checkpoints, progress go through [`FitHooks`]), with its state
//! as named arrays ([`state`]) that a checkpoint stores without knowing the
//! solver. Two implementations, each reaching the same optimum:
//! - [`saga`]: synchronous distributed SAGA over a column-split model
//!   ([`shard`]), lazy weights, one allreduce a step;
//! - [`lbfgs`]: rows stay on their rank; L-BFGS (OWL-QN with L1) on the full
//!   gradient, one reduce-scatter an iteration, started from local SAGA fits.
//!
//! [`factory`] names them ([`Mode`]) and builds them; [`mode`] is
//! `--solver auto`'s choice between them (the cost model).
//!
//! Everything talks to the other ranks through `&dyn Collectives`, so every
//! solver runs at any rank count inside one process (the tests).

pub mod lbfgs;
pub mod exp;
pub mod factory;
pub mod loss;
pub mod mode;
pub mod options;
pub mod penalty;
pub mod problem;
pub mod saga;
pub mod shard;
pub mod state;
pub mod step_size;
pub mod threaded;

pub use factory::{Mode, PathFits};
pub use options::{SolverKind, SolverOptions};
pub use penalty::Penalty;
pub use problem::TrainingSet;
pub use state::{Resume, SolverState, Space};

use crate::collectives::Collectives;
use crate::error::{Interrupted, Result};
use ndarray::Array2;

/// What an epoch reports to the progress printer and the driver.
#[derive(Debug, Clone)]
pub struct EpochReport {
    /// Epochs completed (1-based).
    pub epoch: usize,
    /// The solver's running estimate of the objective, free to compute.
    pub objective_estimate: f64,
    /// The largest weight change over the largest weight (sklearn's tol test).
    pub relative_change: f64,
    pub elapsed: f64,
    pub samples_per_second: f64,
    /// The stopping rule is met.
    pub converged: bool,
}

/// How an epoch ended.
#[derive(Debug)]
pub enum Epoch {
    Done(EpochReport),
    /// Every rank agreed to stop (a signal) at this position; the state is
    /// consistent there and can be saved.
    Stopped { epoch: usize, step: usize },
}

/// Initial weights: `coef` (width x d, as sklearn's `coef_`) and `intercept`.
pub struct WarmStart {
    pub coef: Array2<f64>,
    pub intercept: Vec<f64>,
}

/// The fitted model, the same on every rank.
pub struct Solution {
    /// (width, d) like sklearn's `coef_`.
    pub coef: Array2<f64>,
    pub intercept: Vec<f64>,
}

/// An optimiser of the problem. Every method but `details` is collective.
pub trait Solver {
    /// Short name for logs, metrics and checkpoints ("saga").
    fn name(&self) -> &'static str;
    /// Epochs completed so far (from a restored state too).
    fn epochs_done(&self) -> usize;
    /// Runs one epoch, or up to the step where the ranks agreed to stop.
    fn epoch(&mut self, hooks: &mut dyn FitHooks) -> Result<Epoch>;
    /// Which rows of each row space this rank holds ([`state::Space`]): a
    /// saved state is read for these.
    fn spaces(&self) -> Vec<Space<'_>>;
    /// The whole state, enough to resume bit for bit, borrowing the solver's buffers.
    fn state(&self) -> SolverState<'_>;
    /// Collective: restores a [`Self::state`] saved by the same fit at any
    /// rank count, read for this rank's [`Self::spaces`] (bit for bit at the
    /// same rank count).
    fn restore(&mut self, state: SolverState<'_>) -> Result<()>;
    /// The model as it stands, gathered on every rank; the fit can go on
    /// (a convergence study measures the exact objective after each epoch).
    fn current(&mut self) -> Solution;
    /// The model at the end, gathered on every rank (buffers only the fit needed are freed).
    fn solution(&mut self) -> Solution {
        self.current()
    }
    /// Settings and measurements for `--metrics` (written, never read back).
    fn details(&self) -> serde_json::Map<String, serde_json::Value>;
    /// The solver's part of the fit's log line, after `n_iter` epochs or
    /// iterations ("saga: 18 epochs, step 3.4168, ...").
    fn summary(&self, n_iter: usize) -> String;
}

/// What a fit asks of its caller besides the data: stop requests, checkpoints, progress.
pub trait FitHooks {
    /// True when this rank was asked to stop (a signal). Solvers agree on it in their next collective.
    fn stop_requested(&self) -> bool {
        false
    }
    /// Every rank is stopping at the request (before the last checkpoint).
    fn stopping(&mut self) {}
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
    /// Whether progress is shown (a path of many fits shows one line a fit instead).
    fn show_progress(&mut self, _on: bool) {}
}

/// No checkpoints, no signals; progress to a closure.
pub struct Progress<F: FnMut(&EpochReport)>(pub F);

impl<F: FnMut(&EpochReport)> FitHooks for Progress<F> {
    fn epoch(&mut self, r: &EpochReport) {
        (self.0)(r)
    }
}

/// No checkpoints, no signals, no progress (a fit inside another one).
pub struct NoHooks;

impl FitHooks for NoHooks {}

/// How a driven fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub n_iter: usize,
    pub converged: bool,
}

/// Collective: runs `solver` until it converges or `max_iter` epochs are
/// done. A stop request saves a checkpoint and ends with [`Interrupted`].
pub fn drive(solver: &mut dyn Solver, max_iter: usize, hooks: &mut dyn FitHooks) -> Result<Outcome> {
    let mut n_iter = solver.epochs_done();
    while solver.epochs_done() < max_iter {
        match solver.epoch(hooks)? {
            Epoch::Stopped { epoch, step } => {
                hooks.stopping();
                hooks.checkpoint(&solver.state())?;
                return Err(Interrupted { epoch, step }.into());
            }
            Epoch::Done(report) => {
                n_iter = report.epoch;
                hooks.epoch(&report);
                if report.converged {
                    return Ok(Outcome { n_iter, converged: true });
                }
                if hooks.checkpoint_due(n_iter) {
                    hooks.checkpoint(&solver.state())?;
                }
            }
        }
    }
    Ok(Outcome { n_iter, converged: false })
}

/// The fit's result: the model, how the fit ended, its objective.
pub struct FitResult {
    /// (width, d) like sklearn's `coef_`.
    pub coef: Array2<f64>,
    pub intercept: Vec<f64>,
    pub n_iter: usize,
    pub converged: bool,
    /// The exact objective at the returned weights.
    pub objective: f64,
    /// The solver's settings and measurements (`Solver::details`).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// The solver's part of the log line (`Solver::summary`).
    pub summary: String,
}

/// Collective: fits the model with the mode `opts.solver` names (`auto`:
/// [`mode::choose`]), from scratch, a warm start, or a saved state.
pub fn fit(
    data: &TrainingSet,
    opts: &SolverOptions,
    warm: Option<&WarmStart>,
    resume: Option<Box<dyn Resume + '_>>,
    comm: &dyn Collectives,
    hooks: &mut dyn FitHooks,
) -> Result<FitResult> {
    let mut solver = resolve(data, opts, comm).build(data, opts, warm, comm)?;
    if let Some(saved) = resume {
        restore(solver.as_mut(), saved)?;
    }
    let outcome = drive(solver.as_mut(), opts.max_iter, hooks)?;
    let Solution { coef, intercept } = solver.solution();
    let (details, summary) = (solver.details(), solver.summary(outcome.n_iter));
    drop(solver);
    let objective = problem::objective(data, &coef, &intercept, opts, comm);
    Ok(FitResult { coef, intercept, n_iter: outcome.n_iter, converged: outcome.converged, objective, details, summary })
}

/// Collective: restores `solver` from a saved state, read for its rows.
pub fn restore(solver: &mut dyn Solver, saved: Box<dyn Resume + '_>) -> Result<()> {
    let state = saved.load(&solver.spaces())?;
    solver.restore(state)
}

/// Collective: the mode a fit runs: the one asked for, or `auto`'s choice,
/// the same on every rank: it depends on global sizes and on the fewest
/// threads of any rank (each rank reads its own environment), so the
/// threads may change which mode `auto` runs, never what a mode computes.
pub fn resolve(data: &TrainingSet, opts: &SolverOptions, comm: &dyn Collectives) -> Mode {
    if let Some(mode) = Mode::named(opts.solver) {
        return mode;
    }
    let docs = data.n_total.max(1) as f64;
    let nnz = comm.sum_f64(data.x.nnz() as f64);
    let threads = -comm.max_f64(-(crate::threads::count() as f64));
    let size = mode::Size { docs, nnz_per_doc: nnz / docs, features: data.n_features as f64, width: data.width() as f64, ranks: comm.size() as f64, threads };
    mode::choose(&size)
}
