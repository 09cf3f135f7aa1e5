//! The data term's loss and gradient ([`problem::local_loss_gradient`]) on
//! several threads of one rank, without a d x K gradient a thread.
//!
//! One pass of one thread goes row by row: a row's margins, then its
//! residuals scattered into the gradient at the row's columns. Split by
//! rows, threads would scatter into the same columns, so each would need a
//! gradient of its own (d x K: the model's size again a thread) and a sum of
//! them. Here the pass has two halves instead:
//!
//! 1. **by rows**: each thread takes a span of rows and writes their
//!    weighted residuals (n x K), their losses and, when asked, their
//!    curvatures, each row's into its own place;
//! 2. **by features**: each thread takes a span of features and, reading the
//!    rows again by feature (the local rows stored by column once a fit,
//!    [`ByFeature`]), adds `x_ij r_i` into its own part of the gradient.
//!
//! Each gradient value receives its terms in row order, as in the one-thread
//! pass, and the losses are summed in row order: the result is the same bits
//! at any thread count. The price is the rows stored twice, n x K residuals
//! (the rows' size in scores, not the model's) and a second read of the rows.

use super::problem::{self, TrainingSet};
use crate::sparse::{Rows, Value};
use crate::threads::{self, carve, spans};
use crate::with_parts;
use std::ops::Range;

/// The local rows stored by feature (CSC): feature `j`'s rows, ascending.
pub struct ByFeature {
    columns: Rows,
    /// The threads' spans of features and of rows, even in non-zeros.
    features: Vec<Range<usize>>,
    rows: Vec<Range<usize>>,
    /// Per row: the weighted residuals (n x K), the curvatures when asked, the weighted losses.
    resid: Vec<f64>,
    curv: Vec<f64>,
    loss: Vec<f64>,
}

impl ByFeature {
    /// The rows by feature, split for `threads` threads; `None` on one thread.
    pub fn new(data: &TrainingSet, threads: usize) -> Option<Self> {
        if threads < 2 || data.x.rows() == 0 {
            return None;
        }
        let columns = match data.x {
            Rows::F64(x) => Rows::F64(x.to_other_storage()),
            Rows::F32(x) => Rows::F32(x.to_other_storage()),
        };
        let features = with_parts!(&columns, |indptr, _c, _v| spans(indptr, threads));
        let rows = with_parts!(data.x, |indptr, _c, _v| spans(indptr, threads));
        Some(ByFeature { columns, features, rows, resid: Vec::new(), curv: Vec::new(), loss: Vec::new() })
    }

    /// [`problem::local_loss_gradient`], computed on threads: the same bits.
    pub fn loss_gradient(&mut self, data: &TrainingSet, theta: &[f64], c: f64, grad: &mut [f64], diag: Option<&mut [f64]>) -> f64 {
        let (n, k) = (data.y.len(), data.width());
        self.resid.resize(n * k, 0.0);
        self.loss.resize(n, 0.0);
        let curv = match diag.is_some() {
            true => {
                self.curv.resize(n * k, 0.0);
                Some(&mut self.curv[..])
            }
            false => {
                // Asked once a fit (the preconditioner's pass): n x K values not to keep.
                self.curv = Vec::new();
                None
            }
        };
        with_parts!(data.x, |indptr, cols, values| by_rows(data, &self.rows, indptr, cols, values, theta, c, &mut self.resid, &mut self.loss, curv));
        let curv = diag.is_some().then_some(&self.curv[..]);
        let dk = data.n_features * k;
        let (gw, gb) = grad.split_at_mut(dk);
        let (dw, mut db) = match diag {
            Some(h) => {
                let (w, b) = h.split_at_mut(dk);
                (Some(w), Some(b))
            }
            None => (None, None),
        };
        with_parts!(&self.columns, |indptr, rows, values| by_features(&self.features, indptr, rows, values, k, &self.resid, curv, gw, dw));
        // The intercepts: every row's terms, in row order.
        for i in 0..n {
            gb[..k].iter_mut().zip(&self.resid[i * k..(i + 1) * k]).for_each(|(g, r)| *g += r);
            if let (Some(db), Some(h)) = (db.as_deref_mut(), curv) {
                db[..k].iter_mut().zip(&h[i * k..(i + 1) * k]).for_each(|(g, v)| *g += v);
            }
        }
        self.loss.iter().fold(0.0, |sum, l| sum + l)
    }
}

/// The first half: each thread's rows' residuals, curvatures and losses.
#[allow(clippy::too_many_arguments)]
fn by_rows<V: Value>(data: &TrainingSet, spans: &[Range<usize>], indptr: &[usize], cols: &[u32], values: &[V], theta: &[f64], c: f64, resid: &mut [f64], loss: &mut [f64], curv: Option<&mut [f64]>) {
    let k = data.width();
    let w = &theta[..data.n_features * k];
    let intercept = &theta[data.n_features * k..data.n_features * k + k];
    let curvs: Vec<Option<&mut [f64]>> = match curv {
        Some(h) => carve(h, spans, k).into_iter().map(Some).collect(),
        None => spans.iter().map(|_| None).collect(),
    };
    let work: Vec<_> = spans.iter().cloned().zip(carve(resid, spans, k)).zip(carve(loss, spans, 1)).zip(curvs).collect();
    threads::each(work, |(((span, resid), loss), mut curv)| {
        let mut raw = vec![0.0; k];
        for (at, i) in span.enumerate() {
            let row = indptr[i]..indptr[i + 1];
            let h = curv.as_deref_mut().map(|h| &mut h[at * k..(at + 1) * k]);
            let r = &mut resid[at * k..(at + 1) * k];
            loss[at] = problem::row_terms(w, intercept, (&cols[row.clone()], &values[row]), c * data.sample_weight[i], data.y[i] as usize, &mut raw, r, h);
        }
    });
}

/// The second half: each thread's features' gradient (and curvature) from the rows' residuals.
#[allow(clippy::too_many_arguments)]
fn by_features<V: Value>(spans: &[Range<usize>], indptr: &[usize], rows: &[u32], values: &[V], k: usize, resid: &[f64], curv: Option<&[f64]>, gw: &mut [f64], dw: Option<&mut [f64]>) {
    let dws: Vec<Option<&mut [f64]>> = match dw {
        Some(h) => carve(h, spans, k).into_iter().map(Some).collect(),
        None => spans.iter().map(|_| None).collect(),
    };
    let work: Vec<_> = spans.iter().cloned().zip(carve(gw, spans, k)).zip(dws).collect();
    threads::each(work, |((span, g), mut h)| {
        for (at, j) in span.enumerate() {
            let g = &mut g[at * k..(at + 1) * k];
            for p in indptr[j]..indptr[j + 1] {
                let (i, x) = (rows[p] as usize * k, values[p].to_f64());
                for c in 0..k {
                    g[c] += x * resid[i + c];
                }
            }
            if let (Some(h), Some(curv)) = (h.as_deref_mut(), curv) {
                let h = &mut h[at * k..(at + 1) * k];
                for p in indptr[j]..indptr[j + 1] {
                    let (i, x) = (rows[p] as usize * k, values[p].to_f64());
                    let x = x * x;
                    for c in 0..k {
                        h[c] += x * curv[i + c];
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::RowBuilder;
    use rand::{Rng, SeedableRng};

    /// Any thread count gives the one-thread pass's loss, gradient and curvature, bit for bit.
    #[test]
    fn threads_give_the_one_thread_bits() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let (n, d) = (57, 40);
        for (k_classes, float32) in [(2, false), (4, false), (3, true)] {
            let mut b = RowBuilder::new();
            for i in 0..n {
                for j in 0..d as u32 {
                    // Row 5 empty; the rest about a fifth full, some features never used.
                    if i != 5 && j % 7 != 3 && rng.random_bool(0.2) {
                        b.push(j, rng.random_range(0.01..1.0));
                    }
                }
                b.end_row();
            }
            let x = Rows::new(b.finish(d), float32);
            let y: Vec<u32> = (0..n).map(|i| (i % k_classes) as u32).collect();
            let sw: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64).collect();
            let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: d, n_classes: k_classes, n_total: n as u64 };
            let len = problem::flat_len(&data);
            let theta: Vec<f64> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
            let start: Vec<f64> = (0..len).map(|_| rng.random_range(-0.1..0.1)).collect();
            let (mut g1, mut h1) = (start.clone(), start.clone());
            let f1 = problem::local_loss_gradient(&data, &theta, 2.5, &mut g1, Some(&mut h1));
            for t in [2, 3, 8] {
                let mut pass = ByFeature::new(&data, t).expect("threads > 1");
                let (mut g, mut h) = (start.clone(), start.clone());
                let f = pass.loss_gradient(&data, &theta, 2.5, &mut g, Some(&mut h));
                assert_eq!(f.to_bits(), f1.to_bits(), "loss, {t} threads, K {k_classes}");
                assert!(g.iter().zip(&g1).all(|(a, b)| a.to_bits() == b.to_bits()), "gradient, {t} threads");
                assert!(h.iter().zip(&h1).all(|(a, b)| a.to_bits() == b.to_bits()), "curvature, {t} threads");
                let mut g2 = start.clone();
                let f2 = pass.loss_gradient(&data, &theta, 2.5, &mut g2, None);
                assert_eq!((f2.to_bits(), g2), (f1.to_bits(), g1.clone()), "again, without the curvature");
            }
        }
    }
}
