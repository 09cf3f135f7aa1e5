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
//! All ranks hold the same `LazyWeights` and apply the same operations in the
//! same order, so replicas stay bitwise identical.

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

pub struct LazyWeights {
    pub d: usize,
    pub k: usize,
    /// Scaled weights, feature-major (`w[j * k + c]`); true weights are `wscale * w`.
    pub w: Vec<f64>,
    /// `S`: sum over samples of the stored gradient terms, feature-major.
    pub sum_grad: Vec<f64>,
    pub wscale: f64,
    /// Per feature: the first step of the current segment not yet applied to it.
    last: Vec<u32>,
    /// `cum[s]`: sum over steps `0..=s` of the segment of `step / (m * wscale)`.
    cum: Vec<f64>,
    /// `cum_prox[s]`: sum over steps `0..=s` of `step * beta / wscale`.
    cum_prox: Vec<f64>,
    /// `m` (samples seen so far) at each step of the segment.
    seen: Vec<f64>,
    /// Scaled L1 strength (`beta / n`); 0 means no proximal step.
    beta: f64,
}

impl LazyWeights {
    pub fn new(d: usize, k: usize, beta: f64) -> Self {
        LazyWeights {
            d,
            k,
            w: vec![0.0; d * k],
            sum_grad: vec![0.0; d * k],
            wscale: 1.0,
            last: vec![0; d],
            cum: Vec::new(),
            cum_prox: Vec::new(),
            seen: Vec::new(),
            beta,
        }
    }

    /// Applies the pending lazy updates of feature `j`.
    #[inline]
    pub fn catch_up(&mut self, j: usize) {
        let from = self.last[j] as usize;
        let to = self.cum.len();
        if from == to {
            return;
        }
        let before = |v: &[f64], s: usize| if s == 0 { 0.0 } else { v[s - 1] };
        let a = self.cum[to - 1] - before(&self.cum, from);
        let (w, s) = (&mut self.w[j * self.k..(j + 1) * self.k], &self.sum_grad[j * self.k..(j + 1) * self.k]);
        if self.beta == 0.0 {
            for (wc, &sc) in w.iter_mut().zip(s) {
                *wc -= a * sc;
            }
        } else {
            let p = self.cum_prox[to - 1] - before(&self.cum_prox, from);
            // m only grows, so the first pending step has the smallest threshold ratio.
            let bound = self.beta * self.seen[from];
            for (wc, &sc) in w.iter_mut().zip(s) {
                if sc.abs() <= bound {
                    *wc = soft_threshold(*wc - a * sc, p);
                } else {
                    for u in from..to {
                        let au = self.cum[u] - before(&self.cum, u);
                        let pu = self.cum_prox[u] - before(&self.cum_prox, u);
                        *wc = soft_threshold(*wc - au * sc, pu);
                    }
                }
            }
        }
        self.last[j] = to as u32;
    }

    /// Records the lazy part of a step that just ended: every coordinate is
    /// to move by `-step * S / m` and be soft-thresholded by `step * beta`,
    /// in true-weight units, with `wscale` already shrunk for this step.
    pub fn record_step(&mut self, step: f64, m: f64) {
        let prev = self.cum.last().copied().unwrap_or(0.0);
        self.cum.push(prev + step / (m * self.wscale));
        let prev = self.cum_prox.last().copied().unwrap_or(0.0);
        self.cum_prox.push(prev + step * self.beta / self.wscale);
        self.seen.push(m);
    }

    /// Brings every coordinate up to date, folds `wscale` into the weights
    /// and starts a new segment. Returns false if a weight is not finite.
    pub fn settle(&mut self) -> bool {
        for j in 0..self.d {
            self.catch_up(j);
        }
        let ws = self.wscale;
        let mut finite = true;
        for w in &mut self.w {
            *w *= ws;
            finite &= w.is_finite();
        }
        self.wscale = 1.0;
        self.last.iter_mut().for_each(|l| *l = 0);
        self.cum.clear();
        self.cum_prox.clear();
        self.seen.clear();
        finite
    }

    /// Scaled weights of feature `j` (call [`Self::catch_up`] first).
    #[inline]
    pub fn row(&self, j: usize) -> &[f64] {
        &self.w[j * self.k..(j + 1) * self.k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                let mut lw = LazyWeights::new(1, 1, beta);
                lw.w[0] = w0;
                lw.sum_grad[0] = s;
                let seen = [3.0, 5.0, 5.0, 8.0];
                for &m in &seen {
                    lw.record_step(0.1, m);
                }
                lw.catch_up(0);
                let want = eager(w0, s, &seen, beta, 0.1);
                assert!((lw.w[0] - want).abs() < 1e-12, "beta {beta} w0 {w0} s {s}: {} vs {want}", lw.w[0]);
                // Idempotent within the step.
                let before = lw.w[0];
                lw.catch_up(0);
                assert_eq!(lw.w[0], before);
            }
        }
    }

    #[test]
    fn shrinkage_is_factored_out() {
        // Two steps with L2 shrinkage 0.9 each: true w = 0.81 * w0 - moves scaled accordingly.
        let mut lw = LazyWeights::new(2, 1, 0.0);
        lw.w = vec![1.0, 2.0];
        lw.sum_grad = vec![0.5, 0.0];
        let step = 0.2;
        let mut truth = [1.0, 2.0];
        for m in [2.0, 4.0] {
            lw.wscale *= 0.9;
            lw.record_step(step, m);
            for j in 0..2 {
                truth[j] = 0.9 * truth[j] - step * lw.sum_grad[j] / m;
            }
        }
        assert!(lw.settle());
        assert!((lw.w[0] - truth[0]).abs() < 1e-12 && (lw.w[1] - truth[1]).abs() < 1e-12, "{:?} {truth:?}", lw.w);
        assert_eq!(lw.wscale, 1.0);
    }
}
