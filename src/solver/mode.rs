//! `--solver auto`: the cost model of README ("Scaling the fit") picks the
//! mode that it predicts finishes first for this problem's size and rank
//! count, with shared-memory or InfiniBand latency alike (a few
//! microseconds: what matters is how the work per rank compares).
//!
//! - SAGA takes `E_s` epochs of `n` samples; a sample costs every rank its
//!   share of the two passes over the non-zeros plus the O(K) loss every rank
//!   repeats, and each step one allreduce whose latency the batch amortises
//!   (`saga::plan::auto_batch`), at the price of more epochs.
//! - L-BFGS takes `I` iterations of about one pass over the local rows,
//!   plus O(dK) work every rank repeats (the trial point, the gradient's
//!   buffer) and a reduce-scatter and an all-gather of the d x K values.
//!
//! `E_s` and `I` are the measured medians of README's convergence table
//! (the rounds do not depend on the ranks for L-BFGS; SAGA's epochs grow
//! with the batch). The choice depends on sizes only, never on timings, so
//! the same data and rank count always choose the same mode.

use super::options::SolverKind;

/// Epochs of SAGA at batch 1 and iterations of L-BFGS to sklearn's tol
/// (measured medians, README "Scaling the fit").
pub const SAGA_EPOCHS: f64 = 20.0;
pub const LBFGS_ITERATIONS: f64 = 60.0;
/// Epochs grow with the total batch as `1 + (b - 1) / B0` (as `auto_batch`).
const BATCH_EPOCH_SCALE: f64 = 16.0;
/// Seconds per non-zero and class of one pass (about 1 ns), per class of
/// a sample's O(K) loss (7.5 ns), per value of a replicated O(dK) sweep,
/// and a collective's latency per tree level and its cost per byte
/// (InfiniBand HDR: 1.5 us, 0.08 ns).
const PASS: f64 = 1e-9;
const LOSS: f64 = 7.5e-9;
const SWEEP: f64 = 1e-9;
const ALPHA: f64 = 1.5e-6;
const BETA: f64 = 0.08e-9;

/// What the model needs to know of a fit.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub docs: f64,
    pub nnz_per_doc: f64,
    pub features: f64,
    /// Scores per sample (1 for two classes).
    pub width: f64,
    pub ranks: f64,
}

/// Modelled seconds of a SAGA fit at its best batch.
pub fn saga_seconds(s: &Size) -> f64 {
    let per_sample = 2.0 * PASS * s.nnz_per_doc * s.width;
    if s.ranks <= 1.0 {
        return SAGA_EPOCHS * s.docs * (per_sample + LOSS * s.width);
    }
    let latency = ALPHA * s.ranks.log2().ceil();
    (1..=4096)
        .map(|b| {
            let b = b as f64;
            let step = b * (per_sample / s.ranks + LOSS * s.width) + latency + 2.0 * BETA * 8.0 * ((2.0 * s.width + 3.0) * b + 1.0);
            SAGA_EPOCHS * (1.0 + (b - 1.0) / BATCH_EPOCH_SCALE) * (s.docs / b) * step
        })
        .fold(f64::INFINITY, f64::min)
}

/// Modelled seconds of an L-BFGS fit (one line-search trial an iteration, the start's local pass included).
pub fn lbfgs_seconds(s: &Size) -> f64 {
    let params = (s.features + 1.0) * s.width;
    let pass = s.docs / s.ranks * (2.0 * PASS * s.nnz_per_doc * s.width + LOSS * s.width);
    let sweeps = 3.0 * SWEEP * params + 8.0 * SWEEP * params / s.ranks;
    let comm = if s.ranks > 1.0 { 2.0 * BETA * 8.0 * params * (s.ranks - 1.0) / s.ranks + 2.0 * ALPHA * (s.ranks - 1.0).max(1.0).min(s.ranks.log2().ceil() * 4.0) + 25.0 * ALPHA * s.ranks.log2().ceil() } else { 0.0 };
    (LBFGS_ITERATIONS + 2.0) * (pass + sweeps + comm)
}

/// The mode `--solver auto` runs.
pub fn choose(s: &Size) -> SolverKind {
    if lbfgs_seconds(s) < saga_seconds(s) {
        SolverKind::Lbfgs
    } else {
        SolverKind::Saga
    }
}
