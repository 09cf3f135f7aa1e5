//! Log loss and its gradient with respect to the raw scores, for the binary
//! model (one score, labels 0/1, sklearn's `HalfBinomialLoss`) and the
//! multinomial one (K scores, softmax, `HalfMultinomialLoss`).

use super::exp::shifted_exp;

/// Numerically stable `ln(1 + e^x)`.
#[inline]
pub fn log1pexp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `1 / (1 + e^-x)` without overflow.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Loss of one sample and the gradient (per raw score) into `grad`.
/// Binary: `raw.len() == 1`, `y` is 0 or 1. Multinomial: `y` indexes `raw`.
#[inline]
pub fn loss_and_gradient(raw: &[f64], y: usize, grad: &mut [f64]) -> f64 {
    if raw.len() == 1 {
        let r = raw[0];
        grad[0] = sigmoid(r) - y as f64;
        log1pexp(r) - if y == 1 { r } else { 0.0 }
    } else {
        let (max, sum) = shifted_exp(raw, grad);
        let grad = &mut grad[..raw.len()];
        for g in grad.iter_mut() {
            *g /= sum;
        }
        let loss = max + sum.ln() - raw[y];
        grad[y] -= 1.0;
        loss
    }
}

/// Class probabilities from raw scores (binary: two columns, P(0), P(1)).
pub fn probabilities(raw: &[f64], out: &mut [f64]) {
    if raw.len() == 1 {
        let p = sigmoid(raw[0]);
        out[0] = 1.0 - p;
        out[1] = p;
    } else {
        let (_, sum) = shifted_exp(raw, out);
        out[..raw.len()].iter_mut().for_each(|o| *o /= sum);
    }
}

/// The predicted class index: sklearn's `decision_function` argmax (binary:
/// class 1 when the score is positive). Ties go to the lower index.
pub fn argmax_class(raw: &[f64]) -> usize {
    if raw.len() == 1 {
        return (raw[0] > 0.0) as usize;
    }
    let mut best = 0;
    for (k, &r) in raw.iter().enumerate() {
        if r > raw[best] {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_gradient(raw: &[f64], y: usize) -> Vec<f64> {
        let h = 1e-6;
        (0..raw.len())
            .map(|k| {
                let mut a = raw.to_vec();
                let mut b = raw.to_vec();
                a[k] += h;
                b[k] -= h;
                let mut g = vec![0.0; raw.len()];
                (loss_and_gradient(&a, y, &mut g) - loss_and_gradient(&b, y, &mut g)) / (2.0 * h)
            })
            .collect()
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (raw, y) in [(vec![0.3], 1), (vec![-2.0], 0), (vec![40.0], 0), (vec![0.1, -0.4, 2.0], 2), (vec![5.0, 5.0, -1.0, 0.0], 0)] {
            let mut g = vec![0.0; raw.len()];
            loss_and_gradient(&raw, y, &mut g);
            for (a, b) in g.iter().zip(numeric_gradient(&raw, y)) {
                assert!((a - b).abs() < 1e-6, "{raw:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn stable_at_extremes() {
        let mut g = [0.0];
        assert_eq!(loss_and_gradient(&[-800.0], 0, &mut g), 0.0);
        assert!((loss_and_gradient(&[-800.0], 1, &mut g) - 800.0).abs() < 1e-9);
        let mut p = [0.0; 2];
        probabilities(&[800.0], &mut p);
        assert_eq!(p, [0.0, 1.0]);
        assert_eq!(argmax_class(&[0.0]), 0);
        assert_eq!(argmax_class(&[1.0, 3.0, 3.0]), 1);
    }
}
