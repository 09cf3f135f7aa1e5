//! The order in which an epoch visits the samples: one seeded shuffle per
//! epoch, the same on every rank (no rank communicates it), redrawn exactly
//! by a resumed fit. sklearn draws samples with replacement instead; a
//! permutation visits each once an epoch and converges in fewer epochs.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::hash::Hasher;

/// Fills `order` with epoch `epoch`'s visiting order of `n` samples.
pub fn epoch_order(order: &mut Vec<u32>, n: usize, seed: u64, epoch: usize) {
    order.clear();
    order.extend(0..n as u32);
    let mut rng = Pcg64Mcg::seed_from_u64(mix(seed, epoch as u64));
    order.shuffle(&mut rng);
}

/// A seed for each (seed, epoch), so shuffles differ across epochs yet
/// repeat exactly from run to run.
fn mix(seed: u64, epoch: u64) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write_u64(seed);
    h.write_u64(epoch);
    h.finish() ^ 0x9e37_79b9_7f4a_7c15
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permutation_that_repeats_per_seed_and_epoch() {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        epoch_order(&mut a, 100, 7, 3);
        epoch_order(&mut b, 100, 7, 3);
        epoch_order(&mut c, 100, 7, 4);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<u32>>());
    }
}
