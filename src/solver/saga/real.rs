//! The float type of SAGA's state: float64, or float32 for `--dtype float32`
//! (issue 33), as scikit-learn's `sag64` and `sag32`.
//!
//! The epoch is bound by memory traffic (docs/measured.md): each non-zero
//! of a step reads and writes its feature's block of K weights and K
//! gradient sums, and each sample its K stored gradient terms. In float32
//! those are half the bytes. What is stored per feature and per sample is
//! of this type, as in `sag32`: the weights, their gradient sums `S`, the
//! gradient memory, the intercept and its sum. What is per step and
//! replicated stays float64: `wscale`, the running sums of the lazy moves
//! (`sag32` keeps them in float32, where the difference of two late sums
//! loses the digits of a short lag; here they cost no traffic), and each
//! update's arithmetic, which reads its operands as float64 and rounds its
//! result once when it stores it (as `sag32`'s `step_size` in double
//! promotes its weight update). For float64 every conversion is the
//! identity: the float64 fit's bits are those it had before this type.

use crate::solver::state::{f64s, Values};
use crate::sparse::Value;

/// A float type SAGA's state is stored in.
pub trait Real: Value + Default + PartialEq + std::fmt::Debug {
    /// Slots of a feature's block before its weights: the first step not
    /// yet applied to it and the running sum as of that step (`lazy`).
    const HEAD: usize;
    /// The shrinkage `wscale` below which the weights are settled (`lazy`):
    /// the scaled weights grow as `1 / wscale` and must stay in range.
    const SETTLE_BELOW: f64;
    /// Decades a block of steps may shrink `wscale` below
    /// [`Self::SETTLE_BELOW`] before the weights settle (`plan`).
    const BLOCK_SHRINK_DECADES: f64;
    /// The name of the type, as `--dtype` says it.
    const NAME: &'static str;

    /// `v` rounded to this type (to nearest); [`Value::to_f64`] reads it back.
    fn from_f64(v: f64) -> Self;

    /// Values from one feature's block to the next, for K scores: the
    /// header, K weights, K sums, and any padding.
    #[inline(always)]
    fn stride(k: usize) -> usize {
        Self::HEAD + 2 * k
    }

    /// A block's header: its first step not yet applied and `cum` there.
    fn head(block: &[Self]) -> (usize, f64);
    fn set_head(block: &mut [Self], from: usize, cum: f64);

    /// `v` as this type would store it, read back.
    #[inline(always)]
    fn round(v: f64) -> f64 {
        Self::from_f64(v).to_f64()
    }

    /// The values as float64 for a checkpoint: float64 state borrowed (no
    /// copy of the fit's largest buffers), float32 converted (exact).
    fn values(v: &[Self]) -> Values<'_> {
        Values::f64(v.iter().map(|x| x.to_f64()).collect())
    }
}

impl Real for f64 {
    fn values(v: &[Self]) -> Values<'_> {
        f64s(v)
    }
    const HEAD: usize = 2;
    /// sklearn settles below 1e-9; under strong regularisation (C = 1e-4 on
    /// 36,000 documents `wscale` halves every step) that is a pass over all
    /// d x K weights every 30 steps, two thirds of the epoch. Nothing needs
    /// the early settle: the scaled weights and `cum` grow as `1 / wscale`,
    /// and every difference and product of them keeps its relative
    /// precision (floating point), so 1e-100 leaves 200 orders of magnitude
    /// before an overflow and settles ten times less often.
    const SETTLE_BELOW: f64 = 1e-100;
    /// From 1e-100 down to 1e-300: still 8 decades above float64's smallest normal.
    const BLOCK_SHRINK_DECADES: f64 = 200.0;
    const NAME: &'static str = "float64";

    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    /// The step as an exact integer in a float64, then `cum`.
    #[inline(always)]
    fn head(block: &[Self]) -> (usize, f64) {
        (block[0] as usize, block[1])
    }
    #[inline(always)]
    fn set_head(block: &mut [Self], from: usize, cum: f64) {
        block[0] = from as f64;
        block[1] = cum;
    }
}

impl Real for f32 {
    /// The step's 32 bits in one slot, `cum`'s 64 in two: a float32 `cum`
    /// would lose a short lag's move to the rounding of two large sums, and
    /// a step held as a float32 value is exact only below 2^24.
    const HEAD: usize = 3;
    /// Scaled weights of true size up to 1e12 stay below float32's largest
    /// (3.4e38) down to `wscale` 1e-26 (after a block's further 6 decades,
    /// [`Self::BLOCK_SHRINK_DECADES`]); 1e-20 settles once every 46 decades
    /// of shrinkage where sklearn's 1e-9 settles every 9.
    const SETTLE_BELOW: f64 = 1e-20;
    const BLOCK_SHRINK_DECADES: f64 = 6.0;
    const NAME: &'static str = "float32";

    /// Padded so that no block straddles a cache line it could fit in (the
    /// blocks start on a line, `lazy`): a block of at most 16 values
    /// rounded up to a power of two (K = 5: 13 values, 52 bytes, 16 with
    /// the padding, one line where unpadded 3 in 4 blocks touched two), a
    /// longer one to whole lines. A step's cost is the lines it touches.
    #[inline(always)]
    fn stride(k: usize) -> usize {
        let n = Self::HEAD + 2 * k;
        if n <= 16 {
            n.next_power_of_two()
        } else {
            n.div_ceil(16) * 16
        }
    }

    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn head(block: &[Self]) -> (usize, f64) {
        let cum = (block[1].to_bits() as u64) << 32 | block[2].to_bits() as u64;
        (block[0].to_bits() as usize, f64::from_bits(cum))
    }
    #[inline(always)]
    fn set_head(block: &mut [Self], from: usize, cum: f64) {
        let bits = cum.to_bits();
        block[0] = f32::from_bits(u32::try_from(from).expect("fewer than 2^32 steps between settles"));
        block[1] = f32::from_bits((bits >> 32) as u32);
        block[2] = f32::from_bits(bits as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header holds any step and any `cum` exactly, in either type (the
    /// float32 header through bit patterns that may be NaNs or subnormals).
    #[test]
    fn headers_round_trip_exactly() {
        fn check<T: Real>(from: usize, cum: f64) {
            let mut block = vec![T::default(); T::HEAD + 2];
            T::set_head(&mut block, from, cum);
            let (f, c) = T::head(&block);
            assert_eq!((f, c.to_bits()), (from, cum.to_bits()), "{}", T::NAME);
        }
        for (from, cum) in [(0, 0.0), (1, 1e-300), (1 << 24 | 1, 0.1), (u32::MAX as usize, f64::MAX), (7, -3.5e200)] {
            check::<f32>(from, cum);
            if from < 1 << 53 {
                check::<f64>(from, cum);
            }
        }
        assert_eq!(<f32 as Real>::round(0.1), 0.1f32 as f64);
        assert_eq!(<f64 as Real>::round(0.1), 0.1);
    }
}
