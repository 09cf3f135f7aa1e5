//! `--solver auto`: the mode the cost model predicts finishes first for
//! this problem's size and rank count. The same model as
//! `scripts/cost_model.py --predict` (docs/design.md, "Scaling the fit"), with the
//! figures it calibrated from the convergence study
//! (`cargo bench --bench rounds` on the generated 50k-document corpus,
//! K = 20): per-rank CPU seconds per non-zero and class, what every rank
//! repeats, epochs and passes to a 1e-6 objective gap.
//!
//! - SAGA: `E(b) = E_1 (1 + (b - 1) / B_0)` epochs at the batch `b` it runs
//!   ([`auto_batch`](super::saga::plan)); an epoch costs each rank its share
//!   of the non-zeros plus O(K) a sample that every rank repeats, and a
//!   step's allreduce.
//! - L-BFGS: a fixed number of passes whatever the rank count (its iterates
//!   do not depend on it); a pass costs each rank its rows plus O(dK) that
//!   every rank repeats, and an iteration a reduce-scatter and an all-gather
//!   of d x K values and a few scalar allreduces.
//!
//! The choice depends on sizes only, never on timings: the same data and
//! rank count always choose the same mode, on every rank.

use super::factory::Mode;
use super::saga::plan::batch_for;

/// SAGA: CPU seconds per non-zero and class of an epoch on one rank (batch
/// 1), and per class of a sample's loss and gradient, which every rank
/// repeats on P > 1 ranks (perf).
const SAGA_ONE: f64 = 3.21e-9;
const SAGA_REPEATED: f64 = 7.5e-9;
/// Epochs to a 1e-6 gap at batch 1, and the growth of epochs with the batch
/// (`E(b) = E_1 (1 + (b - 1) / B_0)`, fitted to 2-32 ranks).
const SAGA_EPOCHS: f64 = 7.0;
const BATCH_EPOCH_SCALE: f64 = 8.17;
/// L-BFGS: seconds per non-zero and class of a pass over a rank's rows; per
/// parameter of a sweep of the two-loop recursion (`4 m + 8` sweeps of the
/// rank's block a pass); per parameter of the O(dK) work every rank repeats
/// a pass (zeroing the gradient, the reduce-scatter's input, the all-gather's output).
const LBFGS_ROWS: f64 = 1.65e-9;
const LBFGS_SWEEP: f64 = 1.11e-9;
const LBFGS_REPEATED: f64 = 8.18e-9;
/// Passes to a 1e-6 gap (the start's local epochs and evaluation included),
/// line-search trials and scalar allreduces an iteration.
const LBFGS_PASSES: f64 = 39.0;
const LBFGS_TRIALS: f64 = 1.06;
const LBFGS_SCALARS: f64 = 47.0;
/// `lbfgs::MEMORY` and `lbfgs::LOCAL_EPOCHS`.
const MEMORY: f64 = 30.0;
const LOCAL_EPOCHS: f64 = 3.0;
/// A collective's latency per stage and cost per byte (InfiniBand HDR).
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
    /// Threads a rank (`--threads`): L-BFGS's passes and its start's pieces share them; SAGA runs on one.
    pub threads: f64,
}

/// The batch SAGA runs at these sizes (`saga::plan::auto_batch`).
fn batch(s: &Size) -> f64 {
    batch_for(s.nnz_per_doc, s.width, s.ranks)
}

fn stages(p: f64) -> f64 {
    if p > 1.0 {
        p.log2().ceil()
    } else {
        0.0
    }
}

/// Modelled seconds of a SAGA fit.
pub fn saga_seconds(s: &Size) -> f64 {
    let (c, cg) = (SAGA_ONE * s.nnz_per_doc * s.width, SAGA_REPEATED * s.width);
    if s.ranks <= 1.0 {
        return SAGA_EPOCHS * s.docs * c;
    }
    let b = batch(s);
    let epochs = SAGA_EPOCHS * (1.0 + (b - 1.0) / BATCH_EPOCH_SCALE);
    let compute = s.docs * ((c - cg) / s.ranks + cg);
    let comm = s.docs / b * (ALPHA * stages(s.ranks) + 2.0 * BETA * 8.0 * ((2.0 * s.width + 3.0) * b + 1.0));
    epochs * (compute + comm)
}

/// Modelled seconds of an L-BFGS fit, its start included.
pub fn lbfgs_seconds(s: &Size) -> f64 {
    let params = (s.features + 1.0) * s.width;
    let rows = s.docs / s.ranks * s.nnz_per_doc * s.width;
    // Of the O(dK) work a rank repeats, the zeroing is on the threads; MPI's two thirds are not.
    let pass = (rows * LBFGS_ROWS + (4.0 * MEMORY + 8.0) * params / s.ranks * LBFGS_SWEEP) / s.threads
        + params * LBFGS_REPEATED * (1.0 / s.threads + 2.0) / 3.0;
    let big = if s.ranks > 1.0 { ALPHA * stages(s.ranks) + BETA * 8.0 * params * (s.ranks - 1.0) / s.ranks } else { 0.0 };
    let iteration = 2.0 * big + LBFGS_SCALARS * ALPHA * stages(s.ranks);
    // The passes counted: the start's local epochs, its evaluation, then one a line-search trial.
    let evaluations = LBFGS_PASSES - LOCAL_EPOCHS - 1.0;
    // The start's local fits: pieces of at most `lbfgs::PIECE` documents, on the threads.
    let pieces = (s.docs / s.ranks / super::lbfgs::PIECE as f64).ceil().max(1.0);
    let start = LOCAL_EPOCHS * rows * SAGA_ONE / s.threads.min(pieces) + pass + 2.0 * big;
    evaluations * pass + evaluations / LBFGS_TRIALS * iteration + start
}

/// Modelled peak gigabytes a rank of a SAGA fit (`scripts/cost_model.py`'s
/// formula): a row pointer and an order entry for every document of the
/// corpus, the rank's rows (12 bytes a non-zero) and their gradient memory,
/// its share of the weights and their sums, and two d-long vectors.
pub fn saga_gb(s: &Size) -> f64 {
    let (n, p, z, k, d) = (s.docs, s.ranks, s.nnz_per_doc, s.width, s.features);
    (n * 12.0 + n / p * (z * 12.0 + k * 8.0 + 20.0) + 6.0 * (d + 1.0) * k * 8.0 / p + 2.0 * d * 8.0) / 1e9
}

/// Modelled peak gigabytes a rank of an L-BFGS fit: the larger of the
/// running state (the rank's rows, four whole parameter vectors, its 1/P
/// block of the `MEMORY` pairs) and the start (the local SAGA copy of the
/// rows and five parameter vectors).
pub fn lbfgs_gb(s: &Size) -> f64 {
    let (n, p, z, k) = (s.docs, s.ranks, s.nnz_per_doc, s.width);
    let params = (s.features + 1.0) * k;
    let rows = n / p * (z * 12.0 + 28.0);
    let running = rows + 4.0 * params * 8.0 + (2.0 * MEMORY + 6.0) * params * 8.0 / p;
    let starting = 2.0 * rows + n / p * k * 8.0 + 5.0 * params * 8.0;
    running.max(starting) / 1e9
}

/// Modelled seconds and peak gigabytes a rank of a fit in `mode`.
pub fn cost(mode: Mode, s: &Size) -> (f64, f64) {
    match mode {
        Mode::Saga => (saga_seconds(s), saga_gb(s)),
        Mode::Lbfgs => (lbfgs_seconds(s), lbfgs_gb(s)),
    }
}

/// The mode `--solver auto` runs.
pub fn choose(s: &Size) -> Mode {
    if lbfgs_seconds(s) < saga_seconds(s) {
        Mode::Lbfgs
    } else {
        Mode::Saga
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(docs: f64, features: f64, ranks: f64) -> Size {
        Size { docs, nnz_per_doc: 68.0, features, width: 20.0, ranks, threads: 1.0 }
    }

    /// One rank and one node's few ranks keep SAGA (fewer passes, no
    /// collective); the cluster scale of docs/design.md's table goes to L-BFGS.
    #[test]
    fn auto_keeps_saga_on_few_ranks_and_scales_out_with_lbfgs() {
        for docs in [1e4, 1e6, 1e8] {
            assert_eq!(choose(&size(docs, 1e5, 1.0)), Mode::Saga, "{docs} documents on 1 rank");
            assert_eq!(choose(&size(docs, 1e5, 2.0)), Mode::Saga, "{docs} documents on 2 ranks");
        }
        for ranks in [256.0, 1024.0] {
            assert_eq!(choose(&size(1e8, 1e6, ranks)), Mode::Lbfgs, "{ranks} ranks");
        }
        // L-BFGS keeps getting faster from 256 to 1024 ranks; SAGA does not.
        assert!(lbfgs_seconds(&size(1e8, 1e6, 1024.0)) < lbfgs_seconds(&size(1e8, 1e6, 256.0)));
        assert!(saga_seconds(&size(1e8, 1e6, 1024.0)) > saga_seconds(&size(1e8, 1e6, 256.0)));
    }
}

#[cfg(test)]
mod agreement {
    use super::*;

    /// The same figures as `scripts/cost_model.py --predict --rounds
    /// docs/rounds-gen50k.json docs/rounds-gen200k-1.json --docs 1e8`
    /// (docs/design.md's table): the Rust copy of the model is the script's.
    #[test]
    fn matches_the_scripts_prediction() {
        let at = |ranks| Size { docs: 1e8, nnz_per_doc: 68.0, features: 1e6, width: 20.0, ranks, threads: 1.0 };
        for (ranks, saga, lbfgs) in [(1.0, 3058.36, 9519.32), (256.0, 2094.55, 43.94), (1024.0, 2412.87, 16.07)] {
            let (s, l) = (saga_seconds(&at(ranks)), lbfgs_seconds(&at(ranks)));
            assert!((s / saga - 1.0).abs() < 0.01, "{ranks} ranks: SAGA {s} vs the script's {saga}");
            assert!((l / lbfgs - 1.0).abs() < 0.01, "{ranks} ranks: L-BFGS {l} vs the script's {lbfgs}");
        }
    }
}
