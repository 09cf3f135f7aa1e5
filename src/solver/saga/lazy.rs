//! The model's weights with just-in-time ("lazy") updates, as in
//! scikit-learn's `_sag_fast`, extended to minibatch steps.
//!
//! Every SAGA step moves *every* coordinate: by the averaged gradient memory
//! `S / m`, by the L2 shrinkage `(1 - step * alpha)`, and by the L1 proximal
//! step. Doing that eagerly costs O(d x K) per step. Instead:
//!
//! - the shrinkage is factored out: true weights are `wscale * w`;
//! - the `S / m` moves of the steps a coordinate sits out are summed in
//!   `cum` (its `S` cannot change while it sits out), and applied in one go
//!   when the coordinate is next read or changed ([`LazyWeights::catch_up`]);
//! - the proximal steps are summed likewise in `cum_prox`; when the
//!   gradient drift of each pending step is below that step's threshold
//!   (`|S| <= beta * m`), gradient-then-shrink over all of them collapses
//!   exactly into one soft-threshold, otherwise the pending steps are
//!   replayed one by one.
//!
//! Each rank holds the `LazyWeights` of its own features (see `shard`); the
//! step bookkeeping (`wscale`, `cum`, `cum_prox`, `seen`) is the same on
//! every rank, since every rank takes every step. The blocks are stored in
//! float64 or float32 ([`Real`]); the step bookkeeping is float64 either way.

use super::real::Real;
use crate::solver::state::Values;

/// `sign(x) * max(|x| - t, 0)`.
#[inline]
pub fn soft_threshold(x: f64, t: f64) -> f64 {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        0.0
    }
}

/// Length of a feature's block in a [`LazySnapshot`] for K scores: its
/// step and `cum` (float64 both), K weights, K sums.
pub const fn block_len(k: usize) -> usize {
    2 + 2 * k
}

/// Bytes of a cache line.
const LINE: usize = 64;

/// The exact state of [`LazyWeights`] (checkpoints).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LazySnapshot {
    pub blocks: Vec<f64>,
    pub wscale: f64,
    pub cum: Vec<f64>,
    pub cum_prox: Vec<f64>,
    pub seen: Vec<f64>,
}

/// A rank's weights, `T` the type they are stored in ([`Real`]).
pub struct LazyWeights<T: Real = f64> {
    pub d: usize,
    pub k: usize,
    /// Per feature, one block of `T::HEAD + 2 K` values: the first step of
    /// the current segment not yet applied to it and `cum` as of that step
    /// (so catching up reads no other memory without L1; [`Real::head`]),
    /// its K scaled weights (true weights are `wscale * w`), and its K
    /// entries of `S`, the sum over samples of the stored gradient terms.
    /// One block per feature means one cache miss, not four, when a step
    /// reaches a feature it has not touched lately. Blocks are
    /// [`Real::stride`] apart from `blocks[base]`, the first value on a
    /// 64-byte line (a large allocation starts 16 bytes into its page:
    /// float64 blocks of K = 5, 96 bytes, then touched three lines in two).
    blocks: Vec<T>,
    base: usize,
    pub wscale: f64,
    /// `cum[s]`: sum over steps `0..=s` of the segment of `step / (m * wscale)`.
    cum: Vec<f64>,
    /// `cum_prox[s]`: sum over steps `0..=s` of `step * beta / wscale`.
    cum_prox: Vec<f64>,
    /// `m` (samples seen so far) at each step of the segment.
    seen: Vec<f64>,
    /// Scaled L1 strength (`beta / n`); 0 means no proximal step.
    beta: f64,
}

impl<T: Real> LazyWeights<T> {
    pub fn new(d: usize, k: usize, beta: f64) -> Self {
        let mut lw = LazyWeights {
            d,
            k,
            // Read in random order, one block a non-zero: huge pages spare
            // the TLB misses once the blocks outgrow its 4 KiB reach.
            blocks: crate::hugepages::filled_vec(d * T::stride(k) + LINE / std::mem::size_of::<T>(), T::default()),
            base: 0,
            wscale: 1.0,
            cum: Vec::new(),
            cum_prox: Vec::new(),
            seen: Vec::new(),
            beta,
        };
        let skew = lw.blocks.as_ptr() as usize % LINE;
        lw.base = (LINE - skew) % LINE / std::mem::size_of::<T>();
        lw
    }

    #[inline(always)]
    fn stride(&self) -> usize {
        T::stride(self.k)
    }

    /// Feature `j`'s block: its header, K weights and K sums.
    #[inline(always)]
    fn block(&self, j: usize) -> &[T] {
        let at = self.base + j * self.stride();
        &self.blocks[at..at + T::HEAD + 2 * self.k]
    }

    #[inline(always)]
    fn block_mut(&mut self, j: usize) -> &mut [T] {
        let at = self.base + j * self.stride();
        &mut self.blocks[at..at + T::HEAD + 2 * self.k]
    }

    /// Every feature's block, as [`Self::block`].
    fn all_blocks(&self) -> impl Iterator<Item = &[T]> {
        let n = T::HEAD + 2 * self.k;
        self.blocks[self.base..self.base + self.d * self.stride()].chunks_exact(self.stride()).map(move |b| &b[..n])
    }

    fn all_blocks_mut(&mut self) -> impl Iterator<Item = &mut [T]> {
        let (n, s) = (T::HEAD + 2 * self.k, self.stride());
        self.blocks[self.base..self.base + self.d * s].chunks_exact_mut(s).map(move |b| &mut b[..n])
    }

    /// Room for `steps` steps per segment, so recording never reallocates.
    pub fn reserve(&mut self, steps: usize) {
        self.cum.reserve(steps);
        self.cum_prox.reserve(steps);
        self.seen.reserve(steps);
    }

    /// Applies the pending lazy updates of feature `j`.
    #[inline(always)]
    pub fn catch_up(&mut self, j: usize) {
        let k = self.k;
        let at = self.base + j * self.stride();
        let block = &mut self.blocks[at..at + T::HEAD + 2 * k];
        let (from, at) = T::head(block);
        let to = self.cum.len();
        if from == to {
            return;
        }
        let now = self.cum[to - 1];
        let a = now - at;
        T::set_head(block, to, now);
        let (w, sg) = block[T::HEAD..].split_at_mut(k);
        if self.beta == 0.0 {
            for (wc, &sc) in w.iter_mut().zip(sg.iter()) {
                *wc = T::from_f64(wc.to_f64() - a * sc.to_f64());
            }
        } else {
            let before = |v: &[f64], s: usize| if s == 0 { 0.0 } else { v[s - 1] };
            let p = self.cum_prox[to - 1] - before(&self.cum_prox, from);
            // m only grows, so the first pending step has the smallest threshold ratio.
            let bound = self.beta * self.seen[from];
            for (wc, &sc) in w.iter_mut().zip(sg.iter()) {
                let (mut v, sc) = (wc.to_f64(), sc.to_f64());
                if sc.abs() <= bound {
                    v = soft_threshold(v - a * sc, p);
                } else {
                    for u in from..to {
                        let au = self.cum[u] - before(&self.cum, u);
                        let pu = self.cum_prox[u] - before(&self.cum_prox, u);
                        v = soft_threshold(v - au * sc, pu);
                    }
                }
                *wc = T::from_f64(v);
            }
        }
    }

    /// Catches feature `j` up and adds its share `x * w` (true weights) to
    /// a sample's scores: the local phase's work for one non-zero `x`.
    #[inline(always)]
    pub fn catch_up_and_score(&mut self, j: usize, x: f64, scores: &mut [f64]) {
        self.catch_up(j);
        let xv = x * self.wscale;
        for (r, w) in scores.iter_mut().zip(self.row(j)) {
            *r += xv * w.to_f64();
        }
    }

    /// The whole state for a checkpoint, in float64 whatever `T`: the
    /// blocks (header, K weights, K sums a feature, no padding: [`block_len`]),
    /// borrowed where they are stored so already (float64), then `cum`,
    /// `cum_prox` and `seen` of the segment.
    pub fn view(&self) -> (Values<'_>, [&[f64]; 3]) {
        let bare = T::stride(self.k) == block_len(self.k) && T::HEAD == 2;
        let blocks = if bare { T::values(&self.blocks[self.base..self.base + self.d * self.stride()]) } else { Values::f64(self.snapshot().blocks) };
        (blocks, [&self.cum, &self.cum_prox, &self.seen])
    }

    /// A copy of the whole state, in float64 whatever `T` (exact: every
    /// float32 is a float64).
    pub fn snapshot(&self) -> LazySnapshot {
        let blocks = self.all_blocks().flat_map(|b| {
            let (from, cum) = T::head(b);
            [from as f64, cum].into_iter().chain(b[T::HEAD..].iter().map(|v| v.to_f64()))
        });
        LazySnapshot {
            blocks: blocks.collect(),
            wscale: self.wscale,
            cum: self.cum.clone(),
            cum_prox: self.cum_prox.clone(),
            seen: self.seen.clone(),
        }
    }

    /// Restores a [`Self::snapshot`] taken with the same d, K, penalty and `T`.
    pub fn restore(&mut self, s: &LazySnapshot) {
        assert_eq!(s.blocks.len(), self.d * block_len(self.k), "snapshot of another shape");
        let k = self.k;
        for (block, src) in self.all_blocks_mut().zip(s.blocks.chunks_exact(block_len(k))) {
            T::set_head(block, src[0] as usize, src[1]);
            block[T::HEAD..].iter_mut().zip(&src[2..]).for_each(|(v, &x)| *v = T::from_f64(x));
        }
        self.wscale = s.wscale;
        self.cum = s.cum.clone();
        self.cum_prox = s.cum_prox.clone();
        self.seen = s.seen.clone();
    }

    /// Starts loading feature `j`'s block into cache, at the level [`Self::wide`] says.
    #[inline(always)]
    pub fn prefetch(&self, j: usize) {
        crate::prefetch::prefetch_to(self.block(j), self.wide());
    }

    /// Whether a step's prefetches should stop at L2: blocks of more than two
    /// lines reach so many lines a step that prefetching them into L1 runs
    /// out of line-fill buffers (K = 20: 3 % of an epoch this hint alone),
    /// while narrow blocks are best fetched into L1 (K = 1: L2 was 20 %
    /// slower). The solver's other prefetches of a step follow the same choice.
    #[inline(always)]
    pub fn wide(&self) -> bool {
        (T::HEAD + 2 * self.k) * std::mem::size_of::<T>() > 128
    }

    /// Scaled weights of feature `j` (call [`Self::catch_up`] first).
    #[inline(always)]
    pub fn row(&self, j: usize) -> &[T] {
        &self.block(j)[T::HEAD..T::HEAD + self.k]
    }

    /// Adds `x * diffs` to feature `j`'s `S` and moves its scaled weights
    /// by `-scale * x * diffs` (call [`Self::catch_up`] first): a sample's
    /// correction in a feature where it holds `x`.
    #[inline(always)]
    pub fn apply(&mut self, j: usize, x: f64, diffs: &[f64], scale: f64) {
        let k = self.k;
        let (w, sg) = self.block_mut(j)[T::HEAD..].split_at_mut(k);
        for ((wc, sc), &d) in w.iter_mut().zip(sg.iter_mut()).zip(&diffs[..k]) {
            let c = x * d;
            *sc = T::from_f64(sc.to_f64() + c);
            *wc = T::from_f64(wc.to_f64() - scale * c);
        }
    }

    /// As [`Self::catch_up`] then [`Self::apply`], without the catch-up
    /// (no L1 term): the pending moves `-a S` will be applied later with
    /// `S` after this correction, so the correction's own move is short by
    /// `a x diffs` now (`a` the pending moves' sum). A block's step reaches
    /// features caught up to the block's start: this spares it K
    /// multiply-adds and stores a non-zero.
    #[inline(always)]
    pub fn apply_lagging(&mut self, j: usize, x: f64, diffs: &[f64], scale: f64) {
        debug_assert!(self.beta == 0.0, "the L1 term's pending steps are not linear");
        let (from, at) = T::head(self.block(j));
        let a = if from == self.cum.len() { 0.0 } else { self.cum[self.cum.len() - 1] - at };
        self.apply(j, x, diffs, scale - a);
    }

    /// Records the lazy part of a step that just ended: every coordinate is
    /// to move by `-step * S / m` and be soft-thresholded by `step * beta`,
    /// in true-weight units, with `wscale` already shrunk for this step.
    /// Returns the step's `S` move in scaled units (`step / (m * wscale)`).
    pub fn record_step(&mut self, step: f64, m: f64) -> f64 {
        let moved = step / (m * self.wscale);
        let prev = self.cum.last().copied().unwrap_or(0.0);
        self.cum.push(prev + moved);
        let prev = self.cum_prox.last().copied().unwrap_or(0.0);
        self.cum_prox.push(prev + step * self.beta / self.wscale);
        self.seen.push(m);
        moved
    }

    /// Brings every coordinate up to date, folds `wscale` into the weights
    /// and starts a new segment. Returns false if a weight is not finite
    /// (in `T`: a float32 weight past float32's range is infinite).
    #[inline(always)]
    pub fn settle(&mut self) -> bool {
        let (k, ws) = (self.k, self.wscale);
        let mut finite = true;
        // One pass: each block caught up and rescaled while in cache.
        for j in 0..self.d {
            self.catch_up(j);
            let block = self.block_mut(j);
            T::set_head(block, 0, 0.0);
            for w in &mut block[T::HEAD..T::HEAD + k] {
                *w = T::from_f64(w.to_f64() * ws);
                finite &= w.to_f64().is_finite();
            }
        }
        self.wscale = 1.0;
        self.cum.clear();
        self.cum_prox.clear();
        self.seen.clear();
        finite
    }

    /// The true weights, feature-major (`d x k`); exact after [`Self::settle`].
    pub fn weights(&self) -> Vec<f64> {
        let ws = self.wscale;
        self.scaled_rows().flat_map(|w| w.iter().map(move |w| w.to_f64() * ws)).collect()
    }

    /// Each feature's K weights as stored: the true weights right after
    /// [`Self::settle`] (no copy of all d x K of them).
    pub fn settled_weights(&self) -> impl Iterator<Item = &[T]> {
        debug_assert!(self.wscale == 1.0 && self.cum.is_empty(), "weights read before settling");
        self.scaled_rows()
    }

    /// Each feature's K scaled weights, in place: the true ones are these
    /// times `wscale` (exact after [`Self::settle`], as [`Self::weights`]).
    pub fn scaled_rows(&self) -> impl Iterator<Item = &[T]> {
        let k = self.k;
        self.all_blocks().map(move |b| &b[T::HEAD..T::HEAD + k])
    }

    /// Sets the weights (feature-major), rounded to `T`, at the start of a segment.
    pub fn set_weights(&mut self, w: &[f64]) {
        let k = self.k;
        for (block, src) in self.all_blocks_mut().zip(w.chunks_exact(k)) {
            block[T::HEAD..T::HEAD + k].iter_mut().zip(src).for_each(|(v, &x)| *v = T::from_f64(x));
        }
    }

    /// Feature `j`'s entries of `S`.
    #[inline(always)]
    pub fn sum_grad(&self, j: usize) -> &[T] {
        &self.block(j)[T::HEAD + self.k..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The float64 weights, whose tests these are unless said.
    type Lw = LazyWeights<f64>;
    const SETTLE_BELOW: f64 = <f64 as Real>::SETTLE_BELOW;

    /// The eager reference: apply every step to every coordinate.
    fn eager(w0: f64, s: f64, seen: &[f64], beta: f64, step: f64) -> f64 {
        let mut w = w0;
        for &m in seen {
            w -= step * s / m;
            if beta > 0.0 {
                w = soft_threshold(w, step * beta);
            }
        }
        w
    }

    #[test]
    fn lazy_equals_eager_without_shrinkage() {
        for beta in [0.0, 0.01, 0.5] {
            for (w0, s) in [(1.0, 0.3), (-0.2, 0.05), (0.0, -4.0), (0.05, 0.0)] {
                let mut lw = Lw::new(1, 1, beta);
                lw.set_weights(&[w0]);
                lw.apply(0, 1.0, &[s], 0.0);
                let seen = [3.0, 5.0, 5.0, 8.0];
                for &m in &seen {
                    lw.record_step(0.1, m);
                }
                lw.catch_up(0);
                let want = eager(w0, s, &seen, beta, 0.1);
                assert!((lw.row(0)[0] - want).abs() < 1e-12, "beta {beta} w0 {w0} s {s}: {} vs {want}", lw.row(0)[0]);
                // Idempotent within the step.
                let before = lw.row(0)[0];
                lw.catch_up(0);
                assert_eq!(lw.row(0)[0], before);
            }
        }
    }

    /// Float32 weights take the float64 weights' steps, each value rounded
    /// once as it is stored: with and without L1, to 1e-6 of the weight's
    /// size (the steps add a few float32 roundings, 6e-8 each).
    #[test]
    fn float32_lazy_equals_eager_to_float32_precision() {
        for beta in [0.0, 0.01] {
            let mut lw = LazyWeights::<f32>::new(1, 1, beta);
            lw.set_weights(&[0.7]);
            lw.apply(0, 1.0, &[0.3], 0.0);
            let seen = [3.0, 5.0, 5.0, 8.0];
            for &m in &seen {
                lw.record_step(0.1, m);
            }
            lw.catch_up(0);
            let want = eager(0.7f32 as f64, 0.3f32 as f64, &seen, beta, 0.1);
            let got = lw.row(0)[0] as f64;
            assert!((got - want).abs() < 1e-6 * want.abs(), "beta {beta}: {got} vs {want}");
        }
    }

    /// The blocks start on a cache line and a float32 block of K = 5 (13
    /// values, padded to 16) fills exactly one; a float64 block of K = 5 (12
    /// values, 96 bytes) starts at a line or half way into one, never later.
    #[test]
    fn blocks_are_aligned_to_cache_lines() {
        let narrow = LazyWeights::<f32>::new(100, 5, 0.0);
        for j in 0..100 {
            assert_eq!(narrow.block(j).as_ptr() as usize % LINE, 0, "float32 block {j}");
        }
        let wide = Lw::new(100, 5, 0.0);
        for j in 0..100 {
            assert_eq!(wide.block(j).as_ptr() as usize % (LINE / 2), 0, "float64 block {j}");
        }
    }

    /// A float32 state's snapshot (float64 values) restores it exactly:
    /// weights, sums, and a header mid-segment.
    #[test]
    fn float32_snapshot_restores_exactly() {
        let mut lw = LazyWeights::<f32>::new(3, 2, 0.01);
        lw.set_weights(&[0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
        lw.apply(1, 0.7, &[0.3, -0.1], 0.2);
        lw.wscale = 0.9;
        lw.record_step(0.1, 4.0);
        lw.catch_up(1);
        lw.record_step(0.1, 5.0);
        let snap = lw.snapshot();
        assert_eq!(snap.blocks.len(), 3 * block_len(2));
        let mut back = LazyWeights::<f32>::new(3, 2, 0.01);
        back.restore(&snap);
        assert_eq!(back.snapshot(), snap);
        for lw in [&mut lw, &mut back] {
            lw.catch_up(0);
            lw.catch_up(1);
        }
        assert_eq!(lw.weights(), back.weights());
        assert_eq!(lw.sum_grad(1), back.sum_grad(1));
    }

    /// A correction applied to a lagging feature, then caught up, equals
    /// catching up first: to rounding, over steps with changing `m`.
    #[test]
    fn lagging_apply_equals_catching_up_first() {
        let mut eager = Lw::new(1, 2, 0.0);
        eager.set_weights(&[0.5, -1.0]);
        eager.apply(0, 1.0, &[0.3, -0.2], 0.0);
        let mut lagging = Lw::new(1, 2, 0.0);
        lagging.set_weights(&[0.5, -1.0]);
        lagging.apply(0, 1.0, &[0.3, -0.2], 0.0);
        for (t, m) in [3.0, 4.0, 4.0, 7.0, 9.0].into_iter().enumerate() {
            for lw in [&mut eager, &mut lagging] {
                lw.wscale *= 0.95;
            }
            if t % 2 == 1 {
                eager.catch_up(0);
                eager.apply(0, 0.7, &[0.1 * t as f64, -0.4], 0.25);
                lagging.apply_lagging(0, 0.7, &[0.1 * t as f64, -0.4], 0.25);
            }
            eager.record_step(0.2, m);
            lagging.record_step(0.2, m);
        }
        assert!(eager.settle() && lagging.settle());
        for (a, b) in eager.weights().iter().zip(lagging.weights()) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
        assert_eq!(eager.sum_grad(0), lagging.sum_grad(0));
    }

    #[test]
    fn shrinkage_is_factored_out() {
        // Two steps with L2 shrinkage 0.9 each: true w = 0.81 * w0 - moves scaled accordingly.
        let mut lw = Lw::new(2, 1, 0.0);
        lw.set_weights(&[1.0, 2.0]);
        lw.apply(0, 1.0, &[0.5], 0.0);
        let step = 0.2;
        let mut truth = [1.0, 2.0];
        for m in [2.0, 4.0] {
            lw.wscale *= 0.9;
            lw.record_step(step, m);
            for j in 0..2 {
                truth[j] = 0.9 * truth[j] - step * lw.sum_grad(j)[0] / m;
            }
        }
        assert!(lw.settle());
        let w = lw.weights();
        assert!((w[0] - truth[0]).abs() < 1e-12 && (w[1] - truth[1]).abs() < 1e-12, "{w:?} {truth:?}");
        assert_eq!(lw.wscale, 1.0);
    }

    /// Shrinkage down to just above [`SETTLE_BELOW`] without settling (C =
    /// 1e-4 halves `wscale` a step): the lazy weights, caught up at random
    /// steps along the way and read at the end, agree with eager updates to
    /// the last few bits, with and without L1, so settling late loses nothing.
    #[test]
    fn late_settling_keeps_full_precision() {
        let (shrink, step, steps) = (0.5f64, 0.7, (SETTLE_BELOW.log2() / 0.5f64.log2()) as usize - 2);
        for beta in [0.0, 1e-3] {
            let mut lw = Lw::new(3, 1, beta);
            lw.set_weights(&[1.0, -2.0, 0.5]);
            for (j, s) in [0.3, -0.05, 0.0].into_iter().enumerate() {
                lw.apply(j, 1.0, &[s], 0.0);
            }
            let mut truth = [1.0, -2.0, 0.5];
            for t in 0..steps {
                let m = 10.0 + t as f64;
                lw.wscale *= shrink;
                lw.record_step(step, m);
                for (j, w) in truth.iter_mut().enumerate() {
                    *w = shrink * *w - step * lw.sum_grad(j)[0] / m;
                    if beta > 0.0 {
                        *w = soft_threshold(*w, step * beta);
                    }
                }
                if t % 37 == 5 {
                    lw.catch_up(t % 3);
                }
            }
            assert!(lw.wscale > SETTLE_BELOW && lw.wscale < 1e-90, "{}", lw.wscale);
            assert!(lw.settle());
            for (w, want) in lw.weights().iter().zip(truth) {
                assert!((w - want).abs() <= 1e-13 * want.abs().max(1e-300), "beta {beta}: {w} vs {want}");
            }
        }
    }
}
