//! The L-BFGS memory, split over the ranks: each rank keeps its block of
//! the last `m` steps `s = x' - x` and gradient changes `y = g' - g`, so a
//! model of d x K values costs each rank `2 m d K / P` values, not `2 m d K`.
//! The two-loop recursion then needs the dot products of whole vectors: one
//! scalar allreduce each, 2m an iteration, latency only.

use crate::collectives::{Collectives, Op};
use crate::threads;
use std::collections::VecDeque;

/// One stored pair: this rank's blocks of `s` and `y`, and `1 / (y . s)` over all ranks.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub s: Vec<f64>,
    pub y: Vec<f64>,
    pub rho: f64,
    /// Which pair of the fit this is (0, 1, ...): a checkpoint writes a
    /// pair once and keeps it under this name while it is remembered.
    pub id: u64,
}

/// The last `m` pairs, oldest first, and the scale of the initial Hessian.
#[derive(Clone, Debug)]
pub struct History {
    pub m: usize,
    pub pairs: VecDeque<Pair>,
    /// `s . y / y' D y` of the newest pair: the scale of the initial inverse Hessian `gamma D`.
    pub gamma: f64,
    /// This rank's block of `D`, the inverse of the Hessian's diagonal
    /// (Vowpal Wabbit's preconditioner); `None`: the identity (Nocedal's scaling).
    pub diag: Option<Vec<f64>>,
    /// The id the next stored pair gets.
    pub next_id: u64,
}

/// Dot product over all ranks of two vectors split the same way (each
/// rank's part on its threads: [`threads::dot`]).
pub fn dot(comm: &dyn Collectives, a: &[f64], b: &[f64]) -> f64 {
    comm.sum_f64(threads::dot(a, b))
}

/// `q += a * v`, on the rank's threads.
fn axpy(q: &mut [f64], a: f64, v: &[f64]) {
    threads::update(q, |at, part| part.iter_mut().zip(&v[at..]).for_each(|(q, v)| *q += a * v));
}

impl History {
    pub fn new(m: usize) -> Self {
        History { m, pairs: VecDeque::with_capacity(m), gamma: 1.0, diag: None, next_id: 0 }
    }

    /// Collective: stores the pair unless its curvature `y . s` is not
    /// positive enough to keep the inverse Hessian positive definite
    /// (a step the L1 projection cut, or rounding near the optimum).
    /// Returns whether it was stored.
    pub fn push(&mut self, s: Vec<f64>, y: Vec<f64>, comm: &dyn Collectives) -> bool {
        let ydy = match &self.diag {
            Some(d) => threads::sum(y.len(), |r| y[r.clone()].iter().zip(&d[r]).fold(0.0, |a, (v, d)| a + v * v * d)),
            None => threads::dot(&y, &y),
        };
        let local = [threads::dot(&s, &y), ydy, threads::dot(&s, &s)];
        let mut sums = local;
        comm.all_reduce_f64(&mut sums, Op::Sum);
        let [ys, yy, ss] = sums;
        if !(ys > 1e-10 * ss.sqrt() * yy.sqrt() && ys > 0.0 && yy > 0.0) {
            return false;
        }
        if self.pairs.len() == self.m {
            self.pairs.pop_front();
        }
        self.pairs.push_back(Pair { s, y, rho: 1.0 / ys, id: self.next_id });
        self.next_id += 1;
        self.gamma = ys / yy;
        true
    }

    /// Collective: the quasi-Newton direction `-H q` on this rank's block
    /// (steepest descent while the memory is empty).
    pub fn direction(&self, q: &[f64], comm: &dyn Collectives) -> Vec<f64> {
        let mut q = q.to_vec();
        let mut alpha = vec![0.0; self.pairs.len()];
        for (i, p) in self.pairs.iter().enumerate().rev() {
            alpha[i] = p.rho * dot(comm, &p.s, &q);
            axpy(&mut q, -alpha[i], &p.y);
        }
        let gamma = self.gamma;
        match &self.diag {
            Some(d) => threads::update(&mut q, |at, part| part.iter_mut().zip(&d[at..]).for_each(|(v, d)| *v *= gamma * d)),
            None => threads::update(&mut q, |_, part| part.iter_mut().for_each(|v| *v *= gamma)),
        }
        for (i, p) in self.pairs.iter().enumerate() {
            let beta = p.rho * dot(comm, &p.y, &q);
            axpy(&mut q, alpha[i] - beta, &p.s);
        }
        threads::update(&mut q, |_, part| part.iter_mut().for_each(|v| *v = -*v));
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectives::local::{run_ranks, single_rank};

    /// On a quadratic `x' A x / 2` with A diagonal, pairs from the exact
    /// curvature make the direction the Newton step `-A^-1 g`.
    #[test]
    fn two_loop_recovers_the_newton_step_of_a_quadratic() {
        let a = [1.0, 2.0, 4.0];
        let comm = single_rank();
        let mut h = History::new(5);
        for e in 0..3 {
            let s: Vec<f64> = (0..3).map(|i| if i == e { 1.0 } else { 0.0 }).collect();
            let y: Vec<f64> = (0..3).map(|i| a[i] * s[i]).collect();
            assert!(h.push(s, y, &comm));
        }
        let g = [1.0, 1.0, 1.0];
        let d = h.direction(&g, &comm);
        for i in 0..3 {
            assert!((d[i] + g[i] / a[i]).abs() < 1e-12, "{d:?}");
        }
        assert!(!h.push(vec![1.0, 0.0, 0.0], vec![-1.0, 0.0, 0.0], &comm), "negative curvature is skipped");
    }

    /// Split over ranks, the direction is the one rank's, block by block.
    #[test]
    fn split_memory_gives_the_same_direction() {
        let s = [[0.5, -1.0, 2.0, 0.25], [1.0, 1.0, -0.5, 0.0]];
        let y = [[1.0, -0.5, 3.0, 0.5], [2.0, 0.5, -1.0, 0.25]];
        let g = [0.3, -0.2, 0.7, 1.1];
        let run = |comm: &dyn Collectives| {
            let (p, r) = (comm.size(), comm.rank());
            let part = |v: &[f64]| v[r * 4 / p..(r + 1) * 4 / p].to_vec();
            let mut h = History::new(2);
            for (s, y) in s.iter().zip(&y) {
                assert!(h.push(part(s), part(y), comm));
            }
            h.direction(&part(&g), comm)
        };
        let one = run(&single_rank());
        let two: Vec<f64> = run_ranks(2, run).concat();
        for (a, b) in one.iter().zip(&two) {
            assert!((a - b).abs() < 1e-14);
        }
    }
}
