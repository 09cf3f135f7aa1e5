//! Faults the tests inject into the real binary, never set by users: the
//! no-hang guarantee (a panic on one rank ends every rank within seconds,
//! with one line) can only be tested in a real MPI job.
//!
//! `TEXTSAGA_TEST_PANIC_RANK=R`: rank R panics after the fit's first epoch.

/// Panics on the rank the environment names, after `epoch` epochs.
pub fn panic_if_asked(rank: usize, epoch: usize) {
    if std::env::var("TEXTSAGA_TEST_PANIC_RANK").ok().and_then(|v| v.parse::<usize>().ok()) == Some(rank) {
        panic!("injected fault (TEXTSAGA_TEST_PANIC_RANK) after epoch {epoch}");
    }
}
