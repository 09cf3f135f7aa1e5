//! The problem a solver minimises, apart from any optimiser: scikit-learn's
//! objective `C * sum_i s_i * loss_i(W) + penalty(W)` over the rows every
//! rank holds.

use super::loss::loss_and_gradient;
use crate::prefetch::prefetch_to;
use super::options::SolverOptions;
use crate::collectives::Collectives;
use crate::sparse::{Rows, Value};
use crate::with_parts;
use ndarray::Array2;

/// One rank's share of the training data.
pub struct TrainingSet<'a> {
    /// Local samples, columns sorted per row.
    pub x: &'a Rows,
    /// Class index of each local sample (0/1 for two classes).
    pub y: &'a [u32],
    /// Weight of each local sample (class weights).
    pub sample_weight: &'a [f64],
    pub n_features: usize,
    pub n_classes: usize,
    /// Samples over all ranks.
    pub n_total: u64,
}

impl TrainingSet<'_> {
    /// Scores per class: 1 for the binary model, K otherwise.
    pub fn width(&self) -> usize {
        if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        }
    }
}

/// Collective: `C * sum_i s_i loss_i + penalty` at `coef` (K x d) and
/// `intercept` (C = 1 without a penalty: [`SolverOptions::loss_scale`]).
pub fn objective(data: &TrainingSet, coef: &Array2<f64>, intercept: &[f64], opts: &SolverOptions, comm: &dyn Collectives) -> f64 {
    // Feature-major, so that a row's K weights per non-zero sit together; on
    // huge pages, as it is read in random order (see `hugepages`).
    let (k, d) = coef.dim();
    let mut w = crate::hugepages::filled_vec((d + 1) * k, 0.0);
    flatten(coef, intercept, &mut w);
    let local = with_parts!(data.x, |indptr, cols, values| local_loss(data, indptr, cols, values, &w, intercept));
    opts.loss_scale() * comm.sum_f64(local) + opts.penalty_value(coef.as_slice().expect("an owned (K, d) array"))
}

/// `sum_i s_i loss_i` over the local rows, weights feature-major. The next
/// row's weights are fetched while this one is scored: they sit anywhere in
/// d x K values (at 1.3 M bigram columns, unfetched, this pass took 1.8 s).
fn local_loss<V: Value>(data: &TrainingSet, indptr: &[usize], cols: &[u32], values: &[V], w: &[f64], intercept: &[f64]) -> f64 {
    let k = intercept.len();
    let (mut raw, mut grad) = (vec![0.0; k], vec![0.0; k]);
    let mut local = 0.0;
    // A row of K weights over two lines: the L2 hint, as for the solver's blocks.
    let wide = std::mem::size_of_val(intercept) > 128;
    for i in 0..data.y.len() {
        if i + 1 < data.y.len() {
            for &j in &cols[indptr[i + 1]..indptr[i + 2]] {
                prefetch_to(&w[j as usize * k..(j as usize + 1) * k], wide);
            }
        }
        raw.copy_from_slice(intercept);
        for p in indptr[i]..indptr[i + 1] {
            let (j, x) = (cols[p] as usize, values[p].to_f64());
            for c in 0..k {
                raw[c] += x * w[j * k + c];
            }
        }
        local += data.sample_weight[i] * loss_and_gradient(&raw, data.y[i] as usize, &mut grad);
    }
    local
}

/// The parameters as one flat vector: the weights feature-major (`j * K + c`,
/// a row's K weights per non-zero together), then the K intercepts. The
/// penalty applies to the first `d * K` entries only.
pub fn flat_len(data: &TrainingSet) -> usize {
    (data.n_features + 1) * data.width()
}

/// `coef` (K x d, sklearn's `coef_`) and `intercept` written into the first
/// [`flat_len`] entries of `out`, in the flat layout.
pub fn flatten(coef: &Array2<f64>, intercept: &[f64], out: &mut [f64]) {
    let (k, d) = coef.dim();
    // Feature by feature: K rows of `coef` read in step, `out` written in order.
    for (j, row) in out[..d * k].chunks_exact_mut(k).enumerate() {
        row.iter_mut().zip(coef.column(j)).for_each(|(o, &c)| *o = c);
    }
    out[d * k..d * k + k].copy_from_slice(intercept);
}

/// Feature-major weights (`w[j * K + c]`, [`flatten`]'s order) as sklearn's
/// `coef_` (K x d).
pub fn coef_of(w: &[f64], d: usize, k: usize) -> Array2<f64> {
    let mut coef = Array2::zeros((k, d));
    let out = coef.as_slice_mut().expect("a new standard-layout array");
    put_features(out, d, w[..d * k].chunks_exact(k).enumerate(), 1.0);
    coef
}

/// Writes each feature `j`'s K weights times `scale` into `out` laid out
/// as sklearn's `coef_` (K x d, row-major). Written K rows at once, each in
/// order: a transposing view reads every line of the weights K times (0.8 s
/// at 1.3 M columns, K = 20).
pub fn put_features<'w, V: Value>(out: &mut [f64], d: usize, features: impl Iterator<Item = (usize, &'w [V])>, scale: f64) {
    for (j, w) in features {
        for (c, &v) in w.iter().enumerate() {
            out[c * d + j] = v.to_f64() * scale;
        }
    }
}

/// This rank's part of the data term `C * sum_i s_i * loss_i` at `theta`
/// ([`flat_len`] values), with its gradient added into `grad` (same layout)
/// and, when asked, the diagonal of its Hessian into `diag` (the
/// curvature `C s_i p_c (1 - p_c) x_ij^2` of each weight). One sequential
/// pass over the local rows: margins, loss, then the residuals scattered
/// back while the row is still in cache.
pub fn local_loss_gradient(data: &TrainingSet, theta: &[f64], c: f64, grad: &mut [f64], diag: Option<&mut [f64]>) -> f64 {
    with_parts!(data.x, |indptr, cols, values| loss_gradient_rows(data, indptr, cols, values, theta, c, grad, diag))
}

#[allow(clippy::too_many_arguments)]
fn loss_gradient_rows<V: Value>(data: &TrainingSet, indptr: &[usize], cols: &[u32], values: &[V], theta: &[f64], c: f64, grad: &mut [f64], mut diag: Option<&mut [f64]>) -> f64 {
    let k = data.width();
    let dk = data.n_features * k;
    let (w, intercept) = theta.split_at(dk);
    let (gw, gb) = grad.split_at_mut(dk);
    let (mut raw, mut r, mut h) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let mut local = 0.0;
    for i in 0..data.y.len() {
        let row = indptr[i]..indptr[i + 1];
        let s = c * data.sample_weight[i];
        local += row_terms(w, &intercept[..k], (&cols[row.clone()], &values[row.clone()]), s, data.y[i] as usize, &mut raw, &mut r, diag.is_some().then_some(&mut h[..]));
        if let Some(diag) = diag.as_deref_mut() {
            scatter(diag, &h, cols, values, row.clone(), k, true);
        }
        scatter(gw, &r, cols, values, row, k, false);
        gb[..k].iter_mut().zip(&r).for_each(|(g, v)| *g += v);
    }
    local
}

/// One row's part of the data term: `s loss_i` at the weights `w`
/// (feature-major) and `intercept`, with the row's residuals times `s` left
/// in `r` and, when asked, its curvatures in `h` ([`curvature`]). The
/// one-thread pass and the threaded one ([`super::threaded`]) both take a
/// row's terms from here: the same operations, the same bits.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) fn row_terms<V: Value>(w: &[f64], intercept: &[f64], (cols, values): (&[u32], &[V]), s: f64, y: usize, raw: &mut [f64], r: &mut [f64], h: Option<&mut [f64]>) -> f64 {
    let k = intercept.len();
    raw.copy_from_slice(intercept);
    for (&j, x) in cols.iter().zip(values) {
        let (at, x) = (j as usize * k, x.to_f64());
        for c in 0..k {
            raw[c] += x * w[at + c];
        }
    }
    let loss = s * loss_and_gradient(raw, y, r);
    if let Some(h) = h {
        curvature(r, y, s, h);
    }
    r.iter_mut().for_each(|v| *v *= s);
    loss
}

/// `s p_c (1 - p_c)` per score from the loss gradient `r` (`p - onehot(y)`,
/// or `p - y` for the binary model).
fn curvature(r: &[f64], y: usize, s: f64, out: &mut [f64]) {
    for (c, (o, &g)) in out.iter_mut().zip(r).enumerate() {
        let p = g + if (r.len() == 1 && y == 1) || (r.len() > 1 && c == y) { 1.0 } else { 0.0 };
        *o = s * p * (1.0 - p);
    }
}

/// Adds `v_c x_ij` (or `v_c x_ij^2`, and `v_c` to the intercepts after the weights) for a row's non-zeros.
#[inline]
fn scatter<V: Value>(out: &mut [f64], v: &[f64], cols: &[u32], values: &[V], row: std::ops::Range<usize>, k: usize, squared: bool) {
    for p in row {
        let at = cols[p] as usize * k;
        let x: f64 = values[p].to_f64();
        let x = if squared { x * x } else { x };
        for c in 0..k {
            out[at + c] += x * v[c];
        }
    }
    if squared {
        let dk = out.len() - k;
        out[dk..].iter_mut().zip(v).for_each(|(o, h)| *o += h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `coef_of` undoes `flatten`'s weights, and is the transposed view.
    #[test]
    fn coef_of_inverts_flatten() {
        let (k, d) = (3, 7);
        let coef = Array2::from_shape_fn((k, d), |(c, j)| (c * 10 + j) as f64 + 0.5);
        let mut flat = vec![0.0; (d + 1) * k];
        flatten(&coef, &[1.0, 2.0, 3.0], &mut flat);
        assert_eq!(coef_of(&flat, d, k), coef);
        let view = ndarray::ArrayView2::from_shape((d, k), &flat[..d * k]).unwrap();
        assert_eq!(coef_of(&flat, d, k), view.t());
    }
}
