//! The start of an L-BFGS fit (the Vowpal Wabbit recipe): every rank fits
//! its own rows with a few epochs of SAGA, with a 1/P share of the
//! penalty, and the fits are averaged (weighted by rows). A rank of more
//! than [`PIECE`] rows fits them in pieces (of a 1/(P x pieces) share each),
//! on its threads. On one rank of at most [`PIECE`] rows that is plain
//! SAGA; on many it puts L-BFGS within a 1e-3 gap or so for the
//! price of a few local passes (docs/design.md: 24 % fewer passes to 1e-6 than
//! from zero on the generated corpus; from zero the real corpus does not
//! reach a 1e-4 gap in 50 passes).

use super::{Lbfgs, PRECONDITION};
use crate::collectives::local::single_rank;
use crate::error::Result;
use crate::solver::options::SolverOptions;
use crate::solver::problem::{flat_len, flatten, TrainingSet};
use crate::solver::saga::{plan, Saga};
use crate::solver::{NoHooks, Solver};
use crate::threads;
use std::ops::Range;
use std::time::Instant;

impl Lbfgs<'_> {
    /// Collective: the start (local SAGA fits averaged), its objective and gradient.
    pub(super) fn start(&mut self) -> Result<()> {
        let t = Instant::now();
        if self.local_epochs > 0 {
            // Failures are agreed on here; a stop signal is left to the iteration's own stop flag,
            // which checkpoints (`agree` would end the fit without one).
            let local = self.comm.agree_final(self.local_fit())?;
            let n_local = self.data.y.len() as f64;
            let share = n_local / self.data.n_total.max(1) as f64;
            let mut buf: Vec<f64> = local.iter().map(|v| v * share).collect();
            buf.resize(self.blocks.padded(), 0.0);
            let mine = self.comm.reduce_scatter_sum_f64(&buf);
            self.x = self.comm.all_gather_f64(&mine);
        }
        let x = self.x.clone();
        let (f, _) = self.evaluate(&x, &vec![0.0; self.blocks.block], PRECONDITION);
        self.f = f;
        self.g = self.gradient_block(&x);
        self.started = true;
        self.counters.start_seconds = t.elapsed().as_secs_f64();
        Ok(())
    }

    /// This rank's SAGA fits of its own rows, in [`pieces`] of at most
    /// `piece` documents, each with its share of the penalty, averaged by
    /// their documents, as flat parameters (zero without rows). The pieces
    /// depend on the rows alone and are added in order, so the rank's
    /// threads share them without changing the start. They run in rounds of
    /// one a thread, each round added before the next starts: at most one
    /// piece's parameters a thread are held, whatever the pieces.
    fn local_fit(&self) -> Result<Vec<f64>> {
        let n_local = self.data.y.len();
        let mut flat = vec![0.0; flat_len(self.data)];
        if n_local == 0 {
            return Ok(flat);
        }
        let spans = pieces(n_local, self.piece);
        let c = self.opts.c * (self.comm.size() * spans.len()) as f64;
        let opts = SolverOptions { c, max_iter: self.local_epochs, tol: 0.0, batch_size: None, ..self.opts.clone() };
        let (data, epochs) = (self.data, self.local_epochs);
        for round in spans.chunks(threads::count()) {
            let mut fits: Vec<Option<Result<Vec<f64>>>> = round.iter().map(|_| None).collect();
            threads::each(fits.iter_mut().zip(round).collect(), |(slot, span)| *slot = Some(piece_fit(data, span.clone(), &opts, epochs)));
            let fits = fits.into_iter().map(|f| f.expect("every piece fitted")).collect::<Result<Vec<_>>>()?;
            let shares: Vec<f64> = round.iter().map(|s| s.len() as f64 / n_local as f64).collect();
            // Element by element, the round's pieces in order: the same sums at any split.
            threads::update(&mut flat, |at, part| {
                for (i, f) in part.iter_mut().enumerate() {
                    for (fit, share) in fits.iter().zip(&shares) {
                        *f += share * fit[at + i];
                    }
                }
            });
        }
        Ok(flat)
    }
}

/// Local SAGA over the rows `span` of this rank (all of them: no copy).
fn piece_fit(data: &TrainingSet, span: Range<usize>, opts: &SolverOptions, epochs: usize) -> Result<Vec<f64>> {
    let copy = (span.len() < data.y.len()).then(|| data.x.slice_rows(span.clone()));
    let x = copy.as_ref().unwrap_or(data.x);
    let (y, sample_weight) = (&data.y[span.clone()], &data.sample_weight[span.clone()]);
    let local = TrainingSet { x, y, sample_weight, n_total: span.len() as u64, ..*data };
    let one = single_rank();
    let plan = plan::batch_one(&local, opts);
    // L-BFGS fits in float64 whatever the rows: so does its start.
    let mut saga = Saga::<f64>::with_plan(&local, opts, None, &one, plan, Instant::now())?;
    for _ in 0..epochs {
        saga.epoch(&mut NoHooks)?;
    }
    let s = saga.solution();
    let mut flat = vec![0.0; flat_len(&local)];
    flatten(&s.coef, &s.intercept, &mut flat);
    Ok(flat)
}

/// Documents a piece of the start's local fits at most. Larger than the
/// documents a rank that scale studies showed a good start from (5,000 and
/// more), small enough that a node's threads each get pieces at scale.
pub const PIECE: usize = 50_000;

/// `n` rows in the fewest pieces of at most `piece`, as even as can be.
fn pieces(n: usize, piece: usize) -> Vec<Range<usize>> {
    let k = n.div_ceil(piece).max(1);
    (0..k).map(|i| i * n / k..(i + 1) * n / k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_even_and_cover_the_rows() {
        assert_eq!(pieces(10, PIECE), vec![0..10]);
        assert_eq!(pieces(PIECE, PIECE), vec![0..PIECE]);
        let p = pieces(2 * PIECE + 1, PIECE);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].start, p[2].end), (0, 2 * PIECE + 1));
        assert!(p.windows(2).all(|w| w[0].end == w[1].start && w[0].len().abs_diff(w[1].len()) <= 1));
    }

    /// A start in pieces is the same bits on any thread count, and a
    /// different (but close) start from one piece.
    #[test]
    fn pieces_give_the_same_start_on_any_thread_count() {
        use crate::collectives::local::single_rank;
        use crate::sparse::{RowBuilder, Rows};
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(3);
        let (n, d, k) = (230, 25, 3);
        let mut b = RowBuilder::new();
        let y: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
        for &c in &y {
            for j in 0..d as u32 {
                if rng.random_bool(if j % 3 == c { 0.5 } else { 0.15 }) {
                    b.push(j, rng.random_range(0.1..1.0));
                }
            }
            b.end_row();
        }
        let x = Rows::F64(b.finish(d));
        let sw = vec![1.0; n];
        let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: k, n_total: n as u64 };
        let opts = SolverOptions::default();
        let one = single_rank();
        let _one = threads::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let start = |piece: usize, t: usize| {
            threads::set(t);
            let fit = Lbfgs::new(&data, &opts, None, &one).unwrap().with_piece(piece).local_fit().unwrap();
            threads::set(1);
            fit
        };
        let pieces = start(50, 1);
        for t in [2, 3, 8] {
            assert_eq!(start(50, t), pieces, "{t} threads");
        }
        let whole = start(PIECE, 1);
        assert_ne!(whole, pieces);
        let gap = whole.iter().zip(&pieces).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let size = whole.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(gap < 0.5 * size, "five pieces' average is near the whole fit: {gap} of {size}");
    }

    /// Two pieces of the same rows are each that half's fit with twice
    /// the C (its half of the penalty), and their average is that fit:
    /// the penalty's share and the weights are right.
    #[test]
    fn two_equal_pieces_average_to_their_fit() {
        use crate::collectives::local::single_rank;
        use crate::sparse::{RowBuilder, Rows};
        let _one = threads::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let (n, d, k) = (60, 12, 3);
        let rows = |copies: usize| {
            let mut b = RowBuilder::new();
            for _ in 0..copies {
                for i in 0..n as u32 {
                    for j in 0..d as u32 {
                        if (i * 7 + j * 3) % 5 == 0 || j == i % 3 {
                            b.push(j, 0.1 + ((i + j) % 7) as f64 / 7.0);
                        }
                    }
                    b.end_row();
                }
            }
            Rows::F64(b.finish(d))
        };
        let (half, both) = (rows(1), rows(2));
        let y: Vec<u32> = (0..2 * n).map(|i| ((i % n) % k) as u32).collect();
        let sw = vec![1.0; 2 * n];
        let one = single_rank();
        let opts = SolverOptions::default();
        let twice = SolverOptions { c: 2.0 * opts.c, ..opts.clone() };
        let of_both = TrainingSet { x: &both, y: &y, sample_weight: &sw, n_features: d, n_classes: k, n_total: 2 * n as u64 };
        let of_half = TrainingSet { x: &half, y: &y[..n], sample_weight: &sw[..n], n_features: d, n_classes: k, n_total: n as u64 };
        let pieces = Lbfgs::new(&of_both, &opts, None, &one).unwrap().with_piece(n).local_fit().unwrap();
        let whole = Lbfgs::new(&of_half, &twice, None, &one).unwrap().local_fit().unwrap();
        assert_eq!(pieces, whole);
        assert!(whole.iter().any(|&v| v != 0.0));
    }
}
