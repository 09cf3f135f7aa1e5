//! OWL-QN's handling of the L1 term (Andrew and Gao, 2007), on one rank's
//! block of the parameters: with `l1 == 0` every function here is the
//! identity of plain L-BFGS, so one code path serves every penalty.
//!
//! The L1 term is not differentiable at zero. OWL-QN keeps each iterate in
//! one orthant: the pseudo-gradient is the steepest-descent direction's
//! negative, the quasi-Newton direction is cut to agree with it in sign,
//! and a trial point that crosses zero in a coordinate stops at zero.

/// The L1 strength of entry `i` of a block whose first `penalized` entries
/// carry the penalty (the intercepts come after the weights and carry none).
#[inline]
fn strength(i: usize, penalized: usize, l1: f64) -> f64 {
    if i < penalized {
        l1
    } else {
        0.0
    }
}

/// The pseudo-gradient of `smooth + l1 * |x|_1` from the smooth part's gradient `g`.
pub fn pseudo_gradient(x: &[f64], g: &[f64], penalized: usize, l1: f64, out: &mut [f64]) {
    for (i, ((o, &xi), &gi)) in out.iter_mut().zip(x).zip(g).enumerate() {
        let l = strength(i, penalized, l1);
        *o = if l == 0.0 {
            gi
        } else if xi > 0.0 {
            gi + l
        } else if xi < 0.0 {
            gi - l
        } else if gi + l < 0.0 {
            gi + l
        } else if gi - l > 0.0 {
            gi - l
        } else {
            0.0
        };
    }
}

/// Zeroes the coordinates of direction `d` that do not descend along the
/// pseudo-gradient `pg` (only needed with an L1 term).
pub fn constrain(d: &mut [f64], pg: &[f64], penalized: usize, l1: f64) {
    if l1 == 0.0 {
        return;
    }
    for (di, &p) in d.iter_mut().zip(pg).take(penalized) {
        if *di * p >= 0.0 {
            *di = 0.0;
        }
    }
}

/// The trial point `x + t d`, kept in the orthant of `x`: penalised entries
/// that would change sign stop at zero. Where `x` is zero the orthant is the
/// one `-pg` points to, which a [`constrain`]ed `d` already agrees with.
pub fn trial_point(x: &[f64], d: &[f64], t: f64, penalized: usize, l1: f64, out: &mut [f64]) {
    for (i, ((o, &xi), &di)) in out.iter_mut().zip(x).zip(d).enumerate() {
        let v = xi + t * di;
        *o = if strength(i, penalized, l1) != 0.0 && xi != 0.0 && v * xi <= 0.0 { 0.0 } else { v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_gradient_takes_the_one_sided_derivative_that_descends() {
        let x = [1.0, -1.0, 0.0, 0.0, 0.0, 0.0];
        let g = [0.5, 0.5, -2.0, 2.0, 0.5, 0.5];
        let mut pg = [0.0; 6];
        pseudo_gradient(&x, &g, 5, 1.0, &mut pg);
        // At zero: |g| <= l1 gives 0; otherwise shrunk by l1. The last entry is unpenalised.
        assert_eq!(pg, [1.5, -0.5, -1.0, 1.0, 0.0, 0.5]);
        pseudo_gradient(&x, &g, 5, 0.0, &mut pg);
        assert_eq!(pg, g);
    }

    #[test]
    fn directions_and_trial_points_stay_in_the_orthant() {
        let pg = [1.0, -1.0, 1.0];
        let mut d = [-2.0, -3.0, 4.0];
        constrain(&mut d, &pg, 2, 1.0);
        assert_eq!(d, [-2.0, 0.0, 4.0]); // the unpenalised third entry is kept
        let x = [1.0, 0.0, 1.0];
        let mut out = [0.0; 3];
        trial_point(&x, &d, 1.0, 2, 1.0, &mut out);
        assert_eq!(out, [0.0, 0.0, 5.0]); // 1 - 2 crosses zero: stops there
        trial_point(&x, &d, 0.25, 2, 1.0, &mut out);
        assert_eq!(out, [0.5, 0.0, 2.0]);
    }
}
