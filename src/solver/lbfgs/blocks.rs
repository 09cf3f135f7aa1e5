//! Which block of the flat parameters each rank owns: `P` equal blocks of
//! `ceil(n / P)` entries (the last ones padded with zeros), so the gradient
//! is one reduce-scatter of equal blocks and the direction one all-gather.

use std::ops::Range;

#[derive(Debug, Clone, Copy)]
pub struct Blocks {
    /// Parameters: `d * K` weights, then `K` intercepts.
    pub n: usize,
    /// The penalised ones: the weights.
    pub penalized_total: usize,
    /// Entries a block.
    pub block: usize,
    /// Penalised entries in this rank's block (a prefix of it).
    pub penalized: usize,
    lo: usize,
    ranks: usize,
}

impl Blocks {
    pub fn new(n: usize, penalized_total: usize, rank: usize, ranks: usize) -> Self {
        let block = n.div_ceil(ranks).max(1);
        let lo = rank * block;
        let penalized = penalized_total.saturating_sub(lo).min(block);
        Blocks { n, penalized_total, block, penalized, lo, ranks }
    }

    /// Length of a whole vector made of every rank's block.
    pub fn padded(&self) -> usize {
        self.block * self.ranks
    }

    /// This rank's block in a whole (padded) vector.
    pub fn range(&self) -> Range<usize> {
        self.lo..self.lo + self.block
    }

    /// Positions of the intercepts within this rank's block.
    pub fn intercepts(&self) -> Range<usize> {
        let at = |i: usize| i.clamp(self.lo, self.lo + self.block) - self.lo;
        at(self.penalized_total)..at(self.n)
    }

    /// This rank's block of a whole (unpadded) vector, padded with zeros.
    #[cfg(test)]
    pub fn mine(&self, whole: &[f64]) -> Vec<f64> {
        let mut v = vec![0.0; self.block];
        let end = (self.lo + self.block).min(whole.len());
        if self.lo < end {
            v[..end - self.lo].copy_from_slice(&whole[self.lo..end]);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_parameters_once() {
        // 7 weights and 2 intercepts over 4 ranks: blocks of 3, the last one all padding.
        let b: Vec<Blocks> = (0..4).map(|r| Blocks::new(9, 7, r, 4)).collect();
        assert_eq!(b.iter().map(|b| b.penalized).collect::<Vec<_>>(), [3, 3, 1, 0]);
        assert_eq!(b.iter().map(|b| b.intercepts()).collect::<Vec<_>>(), [3..3, 3..3, 1..3, 0..0]);
        let whole: Vec<f64> = (0..9).map(f64::from).collect();
        let glued: Vec<f64> = b.iter().flat_map(|b| b.mine(&whole)).collect();
        assert_eq!(&glued[..9], &whole[..]);
        assert_eq!(&glued[9..], &[0.0; 3]);
        assert_eq!(b[3].padded(), 12);
    }
}
