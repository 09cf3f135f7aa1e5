//! What the solver asks of the `fit` command while it runs: whether a
//! signal asked to stop, when and where to checkpoint, and the progress
//! lines (a bar within epochs only on a terminal; batch logs get one plain
//! line an epoch).

use crate::checkpoint;
use crate::cli::OpsArgs;
use crate::collectives::Collectives;
use crate::error::Result;
use crate::solver::{EpochReport, FitHooks, SolverState};
use signal_hook::consts::{SIGTERM, SIGUSR1, SIGUSR2};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Collective: a flag that SIGTERM, SIGUSR1 and SIGUSR2 raise, when a
/// checkpoint path is given (without one, a signal ends the job as usual).
pub fn stop_flag(comm: &dyn Collectives, ops: &OpsArgs) -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    if ops.checkpoint.is_some() {
        for sig in [SIGTERM, SIGUSR1, SIGUSR2] {
            comm.agree(signal_hook::flag::register(sig, Arc::clone(&stop)).map(drop).map_err(anyhow::Error::from))?;
        }
    }
    Ok(stop)
}

/// Progress lines, checkpoints and the stop flag for the solver.
pub struct Hooks<'a> {
    pub comm: &'a dyn Collectives,
    pub ops: &'a OpsArgs,
    pub fingerprint: &'a serde_json::Value,
    pub solver: &'static str,
    pub stop: &'a AtomicBool,
    pub quiet: bool,
    /// A progress bar within epochs, only when stderr is a terminal (batch logs get plain lines).
    pub bar: bool,
}

impl FitHooks for Hooks<'_> {
    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    fn checkpoint_due(&self, epochs_done: usize) -> bool {
        self.ops.checkpoint.is_some() && epochs_done as u64 % self.ops.checkpoint_every == 0
    }
    fn checkpoint(&mut self, state: &SolverState) -> Result<()> {
        match &self.ops.checkpoint {
            Some(path) => checkpoint::save(self.comm, path, self.fingerprint, self.solver, state),
            None => Ok(()),
        }
    }
    fn step(&mut self, epoch: usize, done: usize, steps: usize) {
        if self.bar {
            draw_bar(epoch, done, steps);
        }
    }
    fn epoch(&mut self, r: &EpochReport) {
        crate::faults::panic_if_asked(self.comm.rank(), r.epoch);
        if self.bar {
            // Clear the progress bar before the epoch's line.
            eprint!("\r{:79}\r", "");
        }
        if !self.quiet {
            crate::say!(
                "epoch {:>4}  objective~ {:<14.8e}  change {:<10.3e}  elapsed {:>8.2} s  {:>10.0} docs/s",
                r.epoch, r.objective_estimate, r.relative_change, r.elapsed, r.samples_per_second
            );
        }
    }
}

fn draw_bar(epoch: usize, done: usize, steps: usize) {
    let width = 40;
    let filled = done * width / steps.max(1);
    eprint!("\repoch {:>4} [{}{}] {:>3}%", epoch + 1, "#".repeat(filled), ".".repeat(width - filled), done * 100 / steps.max(1));
}
