//! The step size, and the intercept's scale that lets minibatches take
//! larger steps.
//!
//! sklearn's SAGA step is `1 / (2L + min(2 n alpha, L))` with `L` the
//! largest per-sample smoothness, `0.25 (max ||x||^2 + 1) + alpha` for log
//! loss with an intercept. A minibatch of `b` samples averages `b` gradients,
//! and its expected smoothness (Gazagnadou, Gower & Salmon, 2019) is
//!
//! ```text
//! L(b) = n (b - 1) / (b (n - 1)) * L_full + (n - b) / (b (n - 1)) * L_max
//! ```
//!
//! where `L_full = 0.25 lambda_max(X'X / n) + alpha` is the smoothness of the
//! whole objective: `L(1) = L_max` (sklearn's step exactly), and `L(b)` falls
//! towards `L_full` as `b` grows. The step uses `L(b)` in sklearn's formula,
//! with `n / b` memory blocks in the `min` term.
//!
//! For TF-IDF rows `L_full` is small (documents share few words) except along
//! the intercept, a feature equal to 1 in every row: it alone puts
//! `lambda_max` near 1. Scaling the intercept's feature to `s` (the model's
//! intercept is then `s * theta`, the same optimum, as liblinear's
//! `intercept_scaling`) with `s^2 = lambda_max` of the rows without it
//! balances the two and lets `L(b)` shrink several-fold.

/// How precisely [`top_eigenvalue`] settles: it stops once two successive
/// estimates differ by no more than this fraction.
///
/// The step's smoothness needs [`TIGHT`]: the estimate approaches
/// `lambda_max` from below and only [`EIGEN_MARGIN`] covers what is left.
/// The intercept's scale needs [`ROUGH`]: any scale gives the same optimum,
/// and at batch 1 `s^2` enters the step as `0.25 s^2` beside `0.25 max
/// ||x||^2`, so 1 % on `lambda` moves the step by a few parts in 10^4
/// (0.04 % on the 1.3 M-column bigram corpus), while each power iteration
/// there is a pass over 28.5 M non-zeros (0.27 s).
pub const TIGHT: f64 = 1e-4;
pub const ROUGH: f64 = 1e-2;

/// A fixed, dense start for [`top_eigenvalue`], the same on every rank.
pub fn dense_start(dim: usize) -> Vec<f64> {
    (0..dim).map(|i| 1.0 + ((i * 7919) % 97) as f64 / 97.0).collect()
}

/// `lambda_max(A'A / n)` of the rows (plus a constant column `s` when
/// `intercept_scale` is given), by power iteration from `start` (the same
/// on every rank), until two estimates differ by at most `tol` of the last.
/// `matvec(v)` must return the collective `sum_i x_i (x_i . v)` over all
/// ranks, identical everywhere.
pub fn top_eigenvalue(start: Vec<f64>, n: f64, iterations: usize, tol: f64, mut matvec: impl FnMut(&[f64]) -> Vec<f64>) -> f64 {
    let norm = |x: &[f64]| x.iter().map(|a| a * a).sum::<f64>().sqrt();
    let nv = norm(&start);
    if start.is_empty() || n == 0.0 || nv == 0.0 {
        return 0.0;
    }
    let mut v = start;
    v.iter_mut().for_each(|a| *a /= nv);
    let mut lambda = 0.0;
    for _ in 0..iterations {
        let w = matvec(&v);
        let rayleigh = v.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() / n;
        let nw = norm(&w);
        if nw == 0.0 {
            return 0.0;
        }
        let done = (rayleigh - lambda).abs() <= tol * rayleigh;
        lambda = rayleigh;
        v = w.into_iter().map(|a| a / nw).collect();
        if done {
            break;
        }
    }
    lambda
}

/// The expected smoothness of a `b`-sample minibatch drawn from `n`.
pub fn minibatch_smoothness(n: f64, b: f64, l_full: f64, l_max: f64) -> f64 {
    if n <= 1.0 || b <= 1.0 {
        return l_max;
    }
    let b = b.min(n);
    (n * (b - 1.0)) / (b * (n - 1.0)) * l_full + (n - b) / (b * (n - 1.0)) * l_max
}

/// sklearn's SAGA step for smoothness `l`, `blocks` memory blocks and scaled `alpha`.
pub fn saga_step(l: f64, blocks: f64, alpha: f64) -> f64 {
    1.0 / (2.0 * l + (2.0 * blocks * alpha).min(l))
}

/// Margin on the power iteration's estimate, which approaches
/// `lambda_max` from below.
pub const EIGEN_MARGIN: f64 = 1.1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_iteration_finds_the_top_eigenvalue() {
        // Rows e1, e1, e2: X'X/n = diag(2/3, 1/3).
        let rows = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        let lam = top_eigenvalue(dense_start(2), 3.0, 200, TIGHT, |v| {
            let mut out = vec![0.0; 2];
            for r in &rows {
                let dot = r[0] * v[0] + r[1] * v[1];
                out[0] += r[0] * dot;
                out[1] += r[1] * dot;
            }
            out
        });
        assert!((lam - 2.0 / 3.0).abs() < 1e-3, "{lam}");
    }

    #[test]
    fn smoothness_interpolates_between_max_and_full() {
        assert_eq!(minibatch_smoothness(100.0, 1.0, 0.1, 0.5), 0.5);
        assert!((minibatch_smoothness(100.0, 100.0, 0.1, 0.5) - 0.1).abs() < 1e-12);
        let mid = minibatch_smoothness(100.0, 10.0, 0.1, 0.5);
        assert!(mid > 0.1 && mid < 0.5);
        // sklearn's step at b = 1: L = 0.5, n alpha large.
        assert_eq!(saga_step(0.5, 1000.0, 1.0), 1.0 / 1.5);
    }
}
