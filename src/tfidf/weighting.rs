//! The tf-idf weights of one row, in the order of sklearn's `TfidfTransformer`
//! (sublinear tf, then idf, then normalisation) so that results agree to the
//! last bits, not merely to a tolerance.

use super::options::{Norm, VectorizerOptions};

/// sklearn's idf: `ln(n / df) + 1`, with one added to `n` and to every `df`
/// when smoothing ("one extra document containing every term").
pub fn idf(df: &[u64], n_docs: u64, smooth: bool) -> Vec<f64> {
    let s = if smooth { 1.0 } else { 0.0 };
    let n = n_docs as f64 + s;
    df.iter().map(|&d| (n / (d as f64 + s)).ln() + 1.0).collect()
}

/// Turns raw counts of one row into tf-idf values in place. `cols` index `idf`.
pub fn weight_row(cols: &[u32], values: &mut [f64], idf: Option<&[f64]>, opts: &VectorizerOptions) {
    if opts.binary {
        values.iter_mut().for_each(|v| *v = 1.0);
    }
    if opts.sublinear_tf {
        values.iter_mut().for_each(|v| *v = v.ln() + 1.0);
    }
    if let Some(idf) = idf {
        for (v, &c) in values.iter_mut().zip(cols) {
            *v *= idf[c as usize];
        }
    }
    normalize(values, opts.norm);
}

/// sklearn's `normalize` on one CSR row: rows whose norm is zero stay as they are.
pub fn normalize(values: &mut [f64], norm: Norm) {
    let total = match norm {
        Norm::None => return,
        Norm::L1 => values.iter().map(|v| v.abs()).sum::<f64>(),
        Norm::L2 => values.iter().map(|v| v * v).sum::<f64>().sqrt(),
    };
    if total == 0.0 {
        return;
    }
    values.iter_mut().for_each(|v| *v /= total);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_and_raw_idf() {
        let i = idf(&[1, 3], 3, true);
        assert!((i[0] - ((4.0f64 / 2.0).ln() + 1.0)).abs() < 1e-15);
        assert_eq!(i[1], 1.0);
        assert_eq!(idf(&[3], 3, false), [1.0]);
    }

    #[test]
    fn row_weights() {
        let opts = VectorizerOptions::default();
        let mut v = [3.0, 4.0];
        weight_row(&[0, 1], &mut v, None, &opts);
        assert_eq!(v, [0.6, 0.8]);
        let opts = VectorizerOptions { sublinear_tf: true, norm: Norm::None, ..Default::default() };
        let mut v = [1.0, std::f64::consts::E];
        weight_row(&[0, 1], &mut v, Some(&[2.0, 1.0]), &opts);
        assert_eq!(v, [2.0, 2.0]);
        let mut z = [0.0, 0.0];
        normalize(&mut z, Norm::L1);
        assert_eq!(z, [0.0, 0.0]);
    }
}
