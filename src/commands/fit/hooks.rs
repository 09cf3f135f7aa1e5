//! What the solver asks of the `fit` command while it runs: whether a
//! signal asked to stop, when and where to checkpoint, and the progress
//! lines (a bar within epochs only on a terminal; batch logs get one plain
//! line an epoch).

use crate::checkpoint::Checkpointer;
use crate::cli::{Cadence, OpsArgs};
use crate::collectives::Collectives;
use crate::error::{Interrupted, Result};
use crate::solver::{EpochReport, FitHooks, SolverState};
use crate::signals;
use std::time::Instant;

/// Progress lines, checkpoints and the stop flag for the solver.
pub struct Hooks<'a> {
    pub comm: &'a dyn Collectives,
    pub ops: &'a OpsArgs,
    /// Saves the checkpoint (`--checkpoint`).
    pub saver: Option<Checkpointer>,
    /// When the last checkpoint was saved (or the fit started): `--checkpoint-every` a time.
    pub last_save: Instant,
    /// The signal the solver stopped at, once it has.
    pub stopped_by: Option<i32>,
    pub quiet: bool,
    /// A progress bar within epochs, only when stderr is a terminal (batch logs get plain lines).
    pub bar: bool,
    /// Progress shown at all (off during a cross-validation path).
    pub progress: bool,
}

impl FitHooks for Hooks<'_> {
    fn stop_requested(&self) -> bool {
        signals::pending().is_some()
    }
    fn stopping(&mut self) {
        // Honoured here: the checkpoint that follows must not stop itself.
        // Only some ranks may have the signal; every rank learns which.
        self.stopped_by = Some(self.agreed_signal());
        signals::acknowledge();
    }
    /// Collective for a time: rank 0's clock decides for all.
    fn checkpoint_due(&self, epochs_done: usize) -> bool {
        if self.saver.is_none() {
            return false;
        }
        match self.ops.checkpoint_every {
            Cadence::Epochs(n) => epochs_done as u64 % n == 0,
            Cadence::Seconds(s) => {
                let mut elapsed = [if self.comm.is_root() { self.last_save.elapsed().as_secs_f64() } else { 0.0 }];
                self.comm.broadcast_f64(0, &mut elapsed);
                elapsed[0] >= s
            }
        }
    }
    fn checkpoint(&mut self, state: &SolverState) -> Result<()> {
        if self.saver.is_none() {
            return Ok(());
        }
        // A signal that arrives just before a checkpoint: save it, then stop.
        let stop_now = self.stopped_by.is_none() && self.agreed_signal() > 0;
        if stop_now {
            self.stopping();
        }
        self.saver.as_mut().expect("a checkpoint path").save(self.comm, state)?;
        self.last_save = Instant::now();
        if stop_now {
            let at = |n| state.get_int(n).unwrap_or(0) as usize;
            return Err(Interrupted { epoch: at("epoch"), step: at("step") }.into());
        }
        Ok(())
    }
    fn show_progress(&mut self, on: bool) {
        self.progress = on;
    }
    fn step(&mut self, epoch: usize, done: usize, steps: usize) {
        if self.bar && self.progress {
            draw_bar(epoch, done, steps);
        }
    }
    fn epoch(&mut self, r: &EpochReport) {
        crate::faults::panic_if_asked(self.comm.rank(), r.epoch);
        crate::faults::signal_if_asked("epoch", self.comm.rank());
        crate::faults::signal_if_asked(&format!("epoch{}", r.epoch), self.comm.rank());
        crate::faults::pause_if_asked();
        if !self.progress {
            return;
        }
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

impl Hooks<'_> {
    /// Collective: the stop signal any rank has pending (0: none).
    fn agreed_signal(&self) -> i32 {
        self.comm.max_f64(signals::pending().unwrap_or(0) as f64) as i32
    }
}

fn draw_bar(epoch: usize, done: usize, steps: usize) {
    let width = 40;
    let filled = done * width / steps.max(1);
    eprint!("\repoch {:>4} [{}{}] {:>3}%", epoch + 1, "#".repeat(filled), ".".repeat(width - filled), done * 100 / steps.max(1));
}
