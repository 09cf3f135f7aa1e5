//! A document's distinct word ids, read back in increasing order with each
//! one's count, without a sort; and every id's document frequency and
//! total count over the documents so far.
//!
//! Unigram rows are wanted sorted by word id (ids are the sorted words, so
//! the row is then in column order). Sorting each document's ids cost ~9 ns
//! an id on the generated corpus (~85 ids a document, a comparison sort of
//! data-dependent branches), an eighth of a whole vectorize. Here an id
//! sets one bit of a bitmap over all words and one bit of a summary (a bit
//! for each 64-bit word of the bitmap); reading the set back walks the
//! summary's set bits, then each bitmap word's, in increasing order: the
//! cost is the distinct ids plus `words / 4096` summary words, and no
//! branch depends on the ids' order. The bitmap of 50,000 words is 6 KB,
//! the summary 13 words: both stay in L1.
//!
//! An id's count in the document and its running totals share one 16-byte
//! [`Tally`], so that the totals' update, when the document is read back,
//! finds the line its counting has just brought into cache, and the totals
//! are 64-bit (no carries to keep). Measured on the generated corpus: the
//! tokenize phase 0.445-0.455 s with the n-gram path's 16-byte counts as a
//! second table, 0.438-0.450 s so, 0.434-0.446 s with a second table of
//! 8-byte totals: within the noise of each other.
//!
//! When the summary is long next to a document (millions of words, a short
//! document), a sort is cheaper: [`IdSet::worth_it`] says which, and
//! [`IdSet::count`] takes the sorted runs.

/// One id's count in the current document and its totals so far.
#[derive(Clone, Copy, Default)]
struct Tally {
    in_doc: u32,
    df: u32,
    tf: u64,
}

/// Distinct ids of one document with their counts (empty between
/// documents), and every id's totals.
pub struct IdSet {
    /// Bit `w % 64` of `bits[w / 64]`: id `w` is in the set.
    bits: Vec<u64>,
    /// Bit `i % 64` of `summary[i / 64]`: `bits[i]` is not zero.
    summary: Vec<u64>,
    tally: Vec<Tally>,
}

impl IdSet {
    /// An empty set for ids below `n`, every total zero.
    pub fn new(n: usize) -> Self {
        let words = n.div_ceil(64);
        IdSet { bits: vec![0; words], summary: vec![0; words.div_ceil(64)], tally: crate::hugepages::filled_vec(n, Tally::default()) }
    }

    /// Ids the set can hold.
    pub fn capacity(&self) -> usize {
        self.tally.len()
    }

    /// Whether reading a document of `len` ids back from the set is cheaper
    /// than sorting them: walking the summary costs about one comparison
    /// of a sort for each sixteen of its words.
    pub fn worth_it(&self, len: usize) -> bool {
        self.summary.len() <= 16 * len
    }

    /// Adds one occurrence of `w` (below the capacity) to the document.
    #[inline]
    pub fn add(&mut self, w: u32) {
        let w = w as usize;
        self.tally[w].in_doc += 1;
        self.bits[w / 64] |= 1 << (w % 64);
        self.summary[w / 4096] |= 1 << (w / 64 % 64);
    }

    /// Calls `f(id, count)` for every id of the document, in increasing
    /// order, adds them to the totals and empties the set.
    #[inline]
    pub fn drain(&mut self, mut f: impl FnMut(u32, u32)) {
        let IdSet { bits, summary, tally } = self;
        for (s, top) in summary.iter_mut().enumerate() {
            let mut words = std::mem::take(top);
            while words != 0 {
                let i = s * 64 + words.trailing_zeros() as usize;
                words &= words - 1;
                let mut b = std::mem::take(&mut bits[i]);
                while b != 0 {
                    let w = i * 64 + b.trailing_zeros() as usize;
                    b &= b - 1;
                    let t = &mut tally[w];
                    let n = std::mem::take(&mut t.in_doc);
                    (t.df, t.tf) = (t.df + 1, t.tf + n as u64);
                    f(w as u32, n);
                }
            }
        }
    }

    /// Adds `n` occurrences of `w` in one document to the totals, for a
    /// document counted by sorting instead (not through the set).
    pub fn count(&mut self, w: u32, n: u32) {
        let t = &mut self.tally[w as usize];
        (t.df, t.tf) = (t.df + 1, t.tf + n as u64);
    }

    /// Every id's document frequency and total count.
    pub fn totals(&self) -> (Vec<u64>, Vec<u64>) {
        (self.tally.iter().map(|t| t.df as u64).collect(), self.tally.iter().map(|t| t.tf).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_back_sorted_with_their_counts_and_totals() {
        // Ids at the edges of bitmap words and of summary bits, repeated.
        let mut set = IdSet::new(3 * 4096 + 5);
        let (mut want_df, mut want_tf) = (vec![0u64; set.capacity()], vec![0u64; set.capacity()]);
        let mut state = 11u64;
        for round in 0..50 {
            let edges = [0, 63, 64, 4095, 4096, 4097, 3 * 4096 + 4, 0, 4096];
            let mut ids: Vec<u32> = edges[..round % 10].to_vec();
            for _ in 0..round * 7 {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ids.push(((state >> 33) % set.capacity() as u64) as u32);
            }
            ids.iter().for_each(|&w| set.add(w));
            let mut got = Vec::new();
            set.drain(|w, n| got.push((w, n)));
            let mut want: Vec<(u32, u32)> = Vec::new();
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            for run in sorted.chunk_by(|a, b| a == b) {
                want.push((run[0], run.len() as u32));
                want_df[run[0] as usize] += 1;
                want_tf[run[0] as usize] += run.len() as u64;
            }
            assert_eq!(got, want, "round {round}");
        }
        let mut after = Vec::new();
        set.drain(|w, n| after.push((w, n)));
        assert!(after.is_empty());
        // Each round was one document; one more counted by its sorted runs.
        set.count(4096, 3);
        want_df[4096] += 1;
        want_tf[4096] += 3;
        assert_eq!(set.totals(), (want_df, want_tf));
    }

    #[test]
    fn long_summaries_are_left_to_a_sort() {
        let set = IdSet::new(50_000);
        assert!(set.worth_it(1) && set.worth_it(85));
        let big = IdSet::new(8 << 20);
        assert!(!big.worth_it(85) && big.worth_it(1_000));
    }
}
