//! Stopping cleanly on a signal, in every phase of every command.
//!
//! SIGTERM, SIGUSR1 and SIGUSR2 (what Slurm and mpirun send before a time
//! limit or a cancel) only raise a flag. The ranks act on it together:
//! every agreement point (`agree`, after each phase) carries the flag, so all
//! ranks stop at the same boundary; the solver carries it in its step's
//! collective; long local loops (tokenizing, `prepare`) look at it every few
//! thousand documents so that a signalled rank reaches the next boundary
//! quickly. Outputs are written to temporary names and renamed at the end,
//! so a stopped run leaves nothing half-written.
//!
//! A stop exits 75 when the run can be resumed (`fit --checkpoint`:
//! [`set_resumable`]), otherwise 128 + the signal, as a shell reports a
//! process killed by it.

use crate::error::Stopped;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The signal that asked this process to stop (0: none).
fn flag() -> &'static Arc<AtomicUsize> {
    static FLAG: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

static RESUMABLE: AtomicBool = AtomicBool::new(false);
/// The run's output is whole: a signal now changes nothing.
static FINISHED: AtomicBool = AtomicBool::new(false);

/// The signals that stop a run cleanly.
pub const STOP_SIGNALS: [i32; 3] = [signal_hook::consts::SIGTERM, signal_hook::consts::SIGUSR1, signal_hook::consts::SIGUSR2];

/// Installs the handlers (once, at start-up).
pub fn install() -> std::io::Result<()> {
    for sig in STOP_SIGNALS {
        signal_hook::flag::register_usize(sig, Arc::clone(flag()), sig as usize)?;
    }
    Ok(())
}

/// The pending stop signal, if one arrived.
pub fn pending() -> Option<i32> {
    if FINISHED.load(Ordering::Relaxed) {
        return None;
    }
    match flag().load(Ordering::Relaxed) {
        0 => None,
        s => Some(s as i32),
    }
}

/// The stop is being honoured (the solver saves its checkpoint): later
/// agreement points go on, so that the checkpoint is written whole.
pub fn acknowledge() {
    flag().store(0, Ordering::Relaxed);
}

/// The run's output has been committed: later agreement points (metrics,
/// the summary) no longer stop, so a late signal cannot turn a finished run
/// into a failed one.
pub fn finished() {
    FINISHED.store(true, Ordering::Relaxed);
}

/// This run can be resumed after a stop (a checkpoint path is given).
pub fn set_resumable() {
    RESUMABLE.store(true, Ordering::Relaxed);
}

/// A signal's name for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        signal_hook::consts::SIGTERM => "SIGTERM",
        signal_hook::consts::SIGUSR1 => "SIGUSR1",
        signal_hook::consts::SIGUSR2 => "SIGUSR2",
        _ => "a signal",
    }
}

/// The error of a run stopped by `signal` (before the solver, or without
/// a checkpoint to save).
pub fn stopped(signal: i32) -> Stopped {
    Stopped { signal, name: name(signal), resumable: RESUMABLE.load(Ordering::Relaxed) }
}

/// An error when a stop signal is pending (for long local loops).
pub fn check() -> crate::error::Result<()> {
    match pending() {
        Some(signal) => Err(stopped(signal).into()),
        None => Ok(()),
    }
}

/// Documents between two [`check_every`] checks: a signalled rank leaves a
/// local loop in well under a second, and the check costs nothing per item.
pub const CHECK_EVERY: usize = 4096;

/// [`check`] on every [`CHECK_EVERY`]-th item `i` of a long local loop.
pub fn check_every(i: usize) -> crate::error::Result<()> {
    if i.is_multiple_of(CHECK_EVERY) {
        check()?;
    }
    Ok(())
}
