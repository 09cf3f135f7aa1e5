//! Communication-avoiding SAGA: `B` steps of one sample each for one
//! allreduce, the same steps (to rounding) as `B` allreduces would take.
//!
//! A batch-1 step needs the sample's full scores `x_s . W`, and `W` moves
//! at every step, so the column-split solver sums partial scores once a
//! step (its default): past a few ranks the step is the allreduce's
//! latency, and the minibatches that amortise it cost epochs. But within a block every
//! move of `W` is linear in what the ranks can sum ahead (s-step methods:
//! Chronopoulos and Gear 1989; Devarakonda, Fountoulakis, Demmel and
//! Mahoney 2017 for coordinate descent). In the lazy weights' scaled units,
//! with `w0` and `S0` the weights and gradient sums at the block's start
//! (caught up to it), step `k` of the block moves every coordinate by
//! `-gamma_k S` (`gamma_k = step / (m_k wscale_k)`, the lazy move, with `S`
//! after the step's correction) and the sample's own coordinates by
//! `-sigma_k x_k delta_k` (`delta_k` its gradient difference). So the
//! scores of step `s` are
//!
//! ```text
//! z_s = b_s + wscale_s ( u_s - G_s v_s - sum_{k<s} (x_s . x_k) (sigma_k + G_s - G_k) delta_k )
//! u_s = x_s . w0,   v_s = x_s . S0,   G_s = gamma_0 + ... + gamma_{s-1}
//! ```
//!
//! with `b_s` the intercept (the same on every rank). Each rank adds up its
//! features' share of `u`, `v` and the block's Gram matrix `x_s . x_k`, one
//! allreduce sums them, and every rank replays the block's steps from the
//! sums ([`Replay`]) while it applies each step to its own features as a
//! batch-1 step does. The L1 proximal step is not linear: with an L1 term
//! the solver keeps one allreduce a step.

/// The values of a block's Gram matrix in its buffer's tail (the
/// `step::StepBuffer` with two partial sums a sample, `u` and `v`): the
/// strict lower triangle, row by row.
pub fn gram_len(samples: usize) -> usize {
    samples * samples.saturating_sub(1) / 2
}

/// Row `s` of the Gram matrix's strict lower triangle `tri`: `x_s . x_k`
/// for `k < s`.
#[inline]
pub fn gram_row(tri: &[f64], s: usize) -> &[f64] {
    &tri[gram_len(s)..gram_len(s) + s]
}

/// A rank's share of a block's Gram matrix. While the block's rows are
/// read, each non-zero is linked to its feature's previous one in the block;
/// once they are read, each feature's chain is gathered once and its pairs
/// multiplied in a tight loop. The cost is the pairs of samples that share a
/// feature (a feature in every row of a block of B: B(B-1)/2 multiply-adds),
/// with no dependent load in the pair loop (walking the chain at each
/// non-zero, which this replaced, measured no slower within this machine's
/// noise; the pair loop is the one that stays tight as B grows). The
/// per-feature heads carry the block's number, so a new block needs no
/// pass to clear them: they are read and written once a non-zero, at an
/// address the solver fetches ahead ([`Self::prefetch`]).
#[derive(Default)]
pub struct CoOccurrence {
    /// Per feature: the block's number (high 32 bits) and 1 + the index of
    /// the feature's newest entry in it.
    head: Vec<u64>,
    block: u64,
    entries: Vec<Entry>,
    /// One feature's entries, newest first: sample and value.
    column: Vec<(usize, f64)>,
}

#[derive(Clone, Copy)]
struct Entry {
    /// 1 + the feature's previous entry, 0 for none.
    prev: u32,
    /// Whether a later entry of the block holds the same feature.
    superseded: bool,
    sample: u32,
    x: f64,
}

impl CoOccurrence {
    pub fn new(features: usize) -> Self {
        CoOccurrence { head: vec![0; features], block: 1, entries: Vec::new(), column: Vec::new() }
    }

    /// Starts loading feature `j`'s head.
    #[inline(always)]
    pub fn prefetch(&self, j: usize) {
        crate::prefetch::prefetch(&self.head[j..j + 1]);
    }

    /// Sample `s` of the block holds `x` in feature `j`.
    #[inline(always)]
    pub fn add(&mut self, j: usize, s: usize, x: f64) {
        let head = self.head[j];
        let prev = if head >> 32 == self.block { head as u32 } else { 0 };
        if prev != 0 {
            self.entries[prev as usize - 1].superseded = true;
        }
        self.entries.push(Entry { prev, superseded: false, sample: s as u32, x });
        self.head[j] = self.block << 32 | self.entries.len() as u64;
    }

    /// Adds the block's pairs `x_s[j] x_k[j]` to the Gram matrix's strict
    /// lower triangle `tri` (row `s` at `s (s - 1) / 2`), and starts a new block.
    pub fn gram_into(&mut self, tri: &mut [f64]) {
        for e in 0..self.entries.len() {
            // A chain is gathered from its newest entry.
            if self.entries[e].superseded {
                continue;
            }
            self.column.clear();
            let mut at = e + 1;
            while at != 0 {
                let entry = self.entries[at - 1];
                self.column.push((entry.sample as usize, entry.x));
                at = entry.prev as usize;
            }
            for (a, &(s, xs)) in self.column.iter().enumerate() {
                let row = &mut tri[gram_len(s)..];
                for &(k, xk) in &self.column[a + 1..] {
                    row[k] += xs * xk;
                }
            }
        }
        self.entries.clear();
        self.block += 1;
    }
}

/// The block's steps so far, as every rank replays them: each step's
/// gradient difference `delta_k`, `sigma_k` and the running sums `G_k`.
#[derive(Default)]
pub struct Replay {
    k: usize,
    deltas: Vec<f64>,
    sigma: Vec<f64>,
    /// `G_0 = 0, G_1, ...`: one more than the steps recorded.
    gamma_sum: Vec<f64>,
    corr: Vec<f64>,
}

impl Replay {
    pub fn new(k: usize) -> Self {
        Replay { k, deltas: Vec::new(), sigma: Vec::new(), gamma_sum: vec![0.0], corr: vec![0.0; k] }
    }

    /// Starts a block.
    pub fn reset(&mut self) {
        self.deltas.clear();
        self.sigma.clear();
        self.gamma_sum.clear();
        self.gamma_sum.push(0.0);
    }

    /// The scores of the block's next step, for its sample's `u`, `v` and
    /// Gram row, with the intercept `intercept` and the current `wscale`.
    #[inline(always)]
    pub fn scores(&mut self, u: &[f64], v: &[f64], gram: &[f64], intercept: &[f64], wscale: f64, out: &mut [f64]) {
        let k = self.k;
        let s = self.sigma.len();
        let g_s = self.gamma_sum[s];
        self.corr.iter_mut().for_each(|c| *c = 0.0);
        for (kk, &gram) in gram[..s].iter().enumerate() {
            if gram == 0.0 {
                continue;
            }
            let e = gram * (self.sigma[kk] + g_s - self.gamma_sum[kk]);
            for (c, d) in self.corr.iter_mut().zip(&self.deltas[kk * k..(kk + 1) * k]) {
                *c += e * d;
            }
        }
        for c in 0..k {
            out[c] = intercept[c] + wscale * (u[c] - g_s * v[c] - self.corr[c]);
        }
    }

    /// Records the step just taken: its gradient difference, the scale of
    /// its own correction (`sigma`) and of its lazy move (`gamma`).
    #[inline(always)]
    pub fn record(&mut self, delta: &[f64], sigma: f64, gamma: f64) {
        self.deltas.extend_from_slice(&delta[..self.k]);
        self.sigma.push(sigma);
        let last = *self.gamma_sum.last().expect("G_0 is always there");
        self.gamma_sum.push(last + gamma);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three rows over five features: the chains give every pair's dot
    /// product, and nothing of one block survives into the next.
    #[test]
    fn co_occurrence_gives_the_blocks_gram_matrix() {
        let rows: [&[(usize, f64)]; 3] = [&[(0, 1.0), (2, 2.0)], &[(2, 3.0), (4, 0.5)], &[(0, -1.0), (2, 1.0), (4, 4.0)]];
        let mut co = CoOccurrence::new(5);
        for round in 0..2 {
            let mut tri = vec![0.0; gram_len(3)];
            for (s, row) in rows.iter().enumerate() {
                for &(j, x) in *row {
                    co.add(j, s, x);
                }
            }
            co.gram_into(&mut tri);
            assert_eq!(gram_row(&tri, 0), &[] as &[f64], "round {round}");
            assert_eq!(gram_row(&tri, 1), &[6.0], "round {round}");
            assert_eq!(gram_row(&tri, 2), &[1.0, 5.0], "round {round}");
        }
    }

    /// The replayed scores equal the scores of eager steps on dense
    /// weights (every coordinate moved at every step, as the lazy weights'
    /// catch-ups add up to), for a block of five steps over random rows
    /// with K = 2: fails when a step's own correction or its lazy move is
    /// left out, or counted from the wrong step.
    #[test]
    fn replayed_scores_equal_eager_steps() {
        let (d, k, n) = (6usize, 2usize, 5usize);
        let mut state = 99u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % 1000) as f64 / 500.0 - 1.0
        };
        let rows: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|j| if (j + n) % 3 == 0 { 0.0 } else { next() }).collect()).collect();
        let mut w: Vec<f64> = (0..d * k).map(|_| next()).collect();
        let mut sums: Vec<f64> = (0..d * k).map(|_| next()).collect();
        let (intercept, wscale) = ([0.25, -0.5], 0.8);
        let (mut u, mut v, mut tri) = (vec![0.0; n * k], vec![0.0; n * k], vec![0.0; gram_len(n)]);
        for s in 0..n {
            for j in 0..d {
                for c in 0..k {
                    u[s * k + c] += rows[s][j] * w[j * k + c];
                    v[s * k + c] += rows[s][j] * sums[j * k + c];
                }
            }
            for kk in 0..s {
                tri[gram_len(s) + kk] = (0..d).map(|j| rows[s][j] * rows[kk][j]).sum();
            }
        }
        let mut replay = Replay::new(k);
        for s in 0..n {
            let want: Vec<f64> = (0..k).map(|c| intercept[c] + wscale * (0..d).map(|j| rows[s][j] * w[j * k + c]).sum::<f64>()).collect();
            let mut got = vec![0.0; k];
            replay.scores(&u[s * k..(s + 1) * k], &v[s * k..(s + 1) * k], gram_row(&tri, s), &intercept, wscale, &mut got);
            for c in 0..k {
                assert!((got[c] - want[c]).abs() < 1e-12, "step {s} class {c}: {} vs {}", got[c], want[c]);
            }
            let (delta, sigma, gamma) = ([next(), next()], 0.1 + next().abs(), 0.05 + 0.1 * next().abs());
            for j in 0..d {
                for c in 0..k {
                    let moved = rows[s][j] * delta[c];
                    sums[j * k + c] += moved;
                    w[j * k + c] -= sigma * moved + gamma * sums[j * k + c];
                }
            }
            replay.record(&delta, sigma, gamma);
        }
    }
}
