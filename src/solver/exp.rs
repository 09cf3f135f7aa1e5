//! `e^x` of many values at once, for the softmax of a sample's K scores.
//!
//! Every step of SAGA takes the softmax of its samples' scores on every
//! rank: K calls of the C library's `exp` a sample, which the compiler
//! cannot vectorise (with the gradient differences, 12 % of a 2-rank epoch
//! at K = 20, and it does not shrink with more ranks). Here the same
//! function is plain arithmetic over a slice, which the compiler runs two
//! or four values an instruction:
//!
//! - `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2` (found by the
//!   rounding of an add, so `k` is read from the sum's low bits with no
//!   float-to-integer conversion) and `|r| <= ln 2 / 2`; `ln 2` in two parts
//!   (Cody and Waite) so that `k ln 2` is exact in its high part;
//! - `e^r` by its Taylor series to degree 13 (the remainder is below 1e-17
//!   of the result), `2^k` built in the exponent bits.
//!
//! Within 1 ulp of the C library's result on the tests' 400,000 points
//! over the whole range (they allow 2). Adds and multiplies only, never
//! fused, so the AVX2 build and the plain one give the same bits. Below
//! `-708` (where `2^k` would be subnormal), above `709` and for NaN, the
//! values are left to the C library.

/// The high part of `ln 2`: 32 significant bits, so `k * LN2_HI` is exact for any `|k| < 2^20`.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// `ln 2 - LN2_HI`.
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// `1.5 * 2^52`: adding it rounds to an integer, held in the sum's low bits.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// Below this `2^k` is subnormal, above it infinite: the C library takes over.
const LOWEST: f64 = -708.0;
const HIGHEST: f64 = 709.0;

/// `1 / n!` for n = 13 down to 2, the series' coefficients in Horner's order.
const TAYLOR: [f64; 12] = [
    1.0 / 6_227_020_800.0,
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    1.0 / 2.0,
];

/// One value; the body of [`exp_slice`]'s loop, which the compiler
/// vectorises. For `LOWEST <= x <= HIGHEST` only.
#[inline(always)]
fn exp_core(x: f64) -> f64 {
    let t = x * std::f64::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = TAYLOR[0];
    for c in &TAYLOR[1..] {
        p = p * r + c;
    }
    let p = (p * r + 1.0) * r + 1.0;
    // t's low bits hold k (two's complement): k + 1023 is the exponent of 2^k.
    p * f64::from_bits(t.to_bits().wrapping_add(1023) << 52)
}

#[inline(always)]
fn exp_slice(xs: &mut [f64]) {
    // Rare: a value outside the range (a score 708 below a sample's largest), or not a number.
    if xs.iter().fold(false, |out, &x| out | !(LOWEST..=HIGHEST).contains(&x)) {
        return xs.iter_mut().for_each(|x| *x = if (LOWEST..=HIGHEST).contains(x) { exp_core(*x) } else { x.exp() });
    }
    xs.iter_mut().for_each(|x| *x = exp_core(*x));
}

/// `e^x` of every value of `xs`, in place: [`exp_core`] within
/// `LOWEST..=HIGHEST`, the C library's `exp` outside it and for NaN (the
/// tests' entry to the AVX2 build of [`exp_slice`]).
#[cfg(test)]
fn exp_in_place(xs: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2.
        return unsafe { exp_avx2(xs) };
    }
    exp_slice(xs)
}

/// A softmax's unnormalised terms: `out[c] = e^(raw[c] - max)`, returning
/// `max` and the terms' sum. The largest score and the sum are taken four
/// lanes at a time (the maximum is exact in any order; the sum adds the
/// lanes' partial sums pairwise, the same way on every CPU).
pub fn shifted_exp(raw: &[f64], out: &mut [f64]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: this CPU has AVX2.
        return unsafe { shifted_exp_avx2(raw, out) };
    }
    shifted_exp_slice(raw, out)
}

#[inline(always)]
fn shifted_exp_slice(raw: &[f64], out: &mut [f64]) -> (f64, f64) {
    let out = &mut out[..raw.len()];
    let mut lanes = [f64::NEG_INFINITY; 4];
    let chunks = raw.chunks_exact(4);
    let tail = chunks.remainder().iter().fold(f64::NEG_INFINITY, |m, &r| m.max(r));
    for c in chunks {
        for (l, &r) in lanes.iter_mut().zip(c) {
            *l = l.max(r);
        }
    }
    let max = lanes.iter().fold(tail, |m, &l| m.max(l));
    for (o, &r) in out.iter_mut().zip(raw) {
        *o = r - max;
    }
    exp_slice(out);
    let mut lanes = [0.0; 4];
    let chunks = out.chunks_exact(4);
    let tail = chunks.remainder().iter().fold(0.0, |s, &o| s + o);
    for c in chunks {
        for (l, &o) in lanes.iter_mut().zip(c) {
            *l += o;
        }
    }
    (max, ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + tail)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn shifted_exp_avx2(raw: &[f64], out: &mut [f64]) -> (f64, f64) {
    shifted_exp_slice(raw, out)
}

#[cfg(all(test, target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
fn exp_avx2(xs: &mut [f64]) {
    exp_slice(xs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// Within 2 ulp of the C library's `exp` everywhere in range, on a grid
    /// and on pseudo-random points (1 ulp at most, measured); exactly 1 at 0;
    /// the AVX2 build's bits are the plain build's.
    #[test]
    fn agrees_with_the_c_library() {
        let mut xs: Vec<f64> = (0..=200_000).map(|i| LOWEST + (HIGHEST - LOWEST) * i as f64 / 200_000.0).collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mostly small values, as softmax scores are.
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            xs.push(-40.0 * u * u);
        }
        xs.extend([0.0, -0.0, -1e-300, -f64::EPSILON, std::f64::consts::LN_2, -std::f64::consts::LN_2 / 2.0]);
        let mut got = xs.clone();
        exp_in_place(&mut got);
        let mut plain = xs.clone();
        exp_slice(&mut plain);
        let worst = xs.iter().zip(&got).map(|(x, g)| ulps(*g, x.exp())).max().unwrap();
        assert!(worst <= 2, "{worst} ulp");
        assert_eq!(got.iter().map(|g| g.to_bits()).collect::<Vec<_>>(), plain.iter().map(|g| g.to_bits()).collect::<Vec<_>>(), "the AVX2 build differs");
        let mut one = [0.0, 1.0, -1.0];
        exp_in_place(&mut one);
        assert_eq!(one[0], 1.0);
    }

    /// The shifted terms of scores of every length up to 23: the largest
    /// score found wherever it sits, the terms those of [`exp_in_place`],
    /// the sum theirs to rounding; the plain build gives the same bits.
    #[test]
    fn shifted_terms_and_their_sum() {
        for k in 1..24 {
            for top in 0..k {
                let raw: Vec<f64> = (0..k).map(|c| if c == top { 3.5 } else { -0.37 * c as f64 }).collect();
                let mut out = vec![f64::NAN; k + 2];
                let (max, sum) = shifted_exp(&raw, &mut out);
                assert_eq!(max, 3.5);
                let mut want: Vec<f64> = raw.iter().map(|r| r - 3.5).collect();
                exp_in_place(&mut want);
                assert_eq!(&out[..k], &want[..], "k {k}");
                assert!(out[k].is_nan(), "wrote past the scores");
                assert!((sum - want.iter().sum::<f64>()).abs() <= 1e-15 * sum, "k {k}: {sum}");
                let mut plain = vec![0.0; k];
                assert_eq!(shifted_exp_slice(&raw, &mut plain), (max, sum));
            }
        }
    }

    /// Outside the range and for NaN, the C library's values; a value in
    /// range next to them is still the series'.
    #[test]
    fn out_of_range_values() {
        let xs = [-708.5, -745.0, -800.0, f64::NEG_INFINITY, 709.5, 800.0, f64::INFINITY, -0.5];
        let mut got = xs;
        exp_in_place(&mut got);
        for (x, g) in xs[..7].iter().zip(got) {
            assert_eq!(g.to_bits(), x.exp().to_bits(), "{x}");
        }
        assert_eq!(got[7], exp_core(-0.5));
        let mut nan = [f64::NAN, 0.0];
        exp_in_place(&mut nan);
        assert!(nan[0].is_nan() && nan[1] == 1.0);
    }
}
