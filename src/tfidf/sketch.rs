//! An upper bound on every n-gram's count, kept in a fixed table, so that
//! n-grams certain to fall below `min_df` never enter the n-gram table.
//!
//! With word bigrams and `min_df = 2`, three quarters of the distinct terms
//! a rank sees occur once in the whole corpus (4.3 M of the 5.7 M of the
//! generated 200k corpus): each took a node in the n-gram table, a count,
//! an entry in its document's row, a place in the owners' tally, all to be
//! dropped by `min_df` at the end. A count-min sketch [Cormode and
//! Muthukrishnan, 2005] of the n-grams' occurrences, summed over the ranks,
//! answers "could this n-gram occur `min_df` times?" with no false "no": an
//! n-gram it rejects has fewer occurrences, hence fewer documents, than
//! `min_df`, and would have been pruned. Its false "yes" answers only let
//! an n-gram be counted and pruned as before, so the features are the same
//! whatever the sketch's size.
//!
//! Layout: two bits or a byte a counter, saturating at the threshold; a
//! key's two counters lie in one 64-byte line (one cache miss an update), and an
//! update raises only the smaller of them (conservative update), which keeps
//! every counter of a key at or above the key's count. Sums over ranks keep
//! that, so the ranks' sketches are summed lane by lane
//! ([`Sketch::pack_lanes`], then [`Sketch::unpack_lanes`]).

/// Keys of word-id sequences: the sketch pass and the n-gram table's
/// admission check chain them alike, the key of `w_0 .. w_n` from that of
/// `w_0 .. w_{n-1}`.
#[inline]
pub fn chain(prev: u64, word: u32) -> u64 {
    let r = (prev ^ word as u64 ^ 0xa076_1d64_78bd_642f) as u128 * 0xe703_7ed1_a0b4_28db_u128;
    (r as u64) ^ ((r >> 64) as u64)
}

/// The key chain's start (the empty sequence).
pub const START: u64 = 0x8ebc_6af0_9c88_c6e3;

/// Saturating counters of n-gram occurrences.
pub struct Sketch {
    /// The counters, `width` bits each, 512 / `width` to a 64-byte line.
    cells: Vec<u8>,
    width: u32,
    /// Lines minus one (a power of two minus one).
    lines: usize,
    /// The count at which a key is admitted; counters stop there.
    cap: u8,
}

impl Sketch {
    /// A sketch of `2^log2` counters admitting keys counted `cap` times
    /// (`cap` at least 1). Counters take two bits while `cap` fits them
    /// (`min_df` 2 or 3, the usual ones), a byte otherwise: the sketch is
    /// read and written in random order, and a quarter of the bytes keeps
    /// four times as many counters in cache.
    pub fn new(log2: u32, cap: u8) -> Self {
        let cap = cap.max(1);
        let bytes = Self::bytes_for(log2, cap);
        Sketch { cells: crate::hugepages::filled_vec(bytes, 0), width: Self::width(cap), lines: bytes / 64 - 1, cap }
    }

    fn width(cap: u8) -> u32 {
        if cap <= 3 { 2 } else { 8 }
    }

    /// The bytes of [`Self::new`]`(log2, cap)`.
    pub fn bytes_for(log2: u32, cap: u8) -> usize {
        ((1usize << log2.max(9)) * Self::width(cap.max(1)) as usize / 8).max(64)
    }

    /// Counters for `occurrences` n-gram occurrences over all ranks: a
    /// counter an occurrence (rounded up to a power of two), for which one
    /// n-gram seen once passes the test in ~14 % of cases (measured on the
    /// generated corpus's bigrams), between 2^16 and 2^28.
    pub fn log2_for(occurrences: u64) -> u32 {
        occurrences.max(1).next_power_of_two().trailing_zeros().clamp(16, 28)
    }

    fn counters(&self) -> usize {
        self.cells.len() * 8 / self.width as usize
    }

    /// The key's two counters, within one cache line.
    #[inline]
    fn slots(&self, key: u64) -> (usize, usize) {
        let per_line = 512 / self.width as usize;
        let base = (key as usize & self.lines) * per_line;
        (base + ((key >> 40) as usize & (per_line - 1)), base + ((key >> 50) as usize & (per_line - 1)))
    }

    #[inline]
    fn get(&self, c: usize) -> u8 {
        let bit = c * self.width as usize;
        (self.cells[bit / 8] >> (bit % 8)) & (u8::MAX >> (8 - self.width))
    }

    #[inline]
    fn set(&mut self, c: usize, v: u8) {
        let (bit, ones) = (c * self.width as usize, u8::MAX >> (8 - self.width));
        let cell = &mut self.cells[bit / 8];
        *cell = (*cell & !(ones << (bit % 8))) | (v & ones) << (bit % 8);
    }

    /// Asks the CPU for the key's line.
    #[inline]
    pub fn prefetch(&self, key: u64) {
        crate::prefetch::prefetch(&self.cells[(key as usize & self.lines) * 64..][..1]);
    }

    /// Counts one occurrence of `key`: the smaller of its counters goes up
    /// one (saturating at the threshold), the other only if it was as small.
    #[inline]
    pub fn add(&mut self, key: u64) {
        let (a, b) = self.slots(key);
        let (x, y) = (self.get(a), self.get(b));
        let v = (x.min(y) + 1).min(self.cap);
        if x < v {
            self.set(a, v);
        }
        if y < v {
            self.set(b, v);
        }
    }

    /// Whether `key` may have been counted `cap` times (never `false` when
    /// it was).
    #[inline]
    pub fn admits(&self, key: u64) -> bool {
        let (a, b) = self.slots(key);
        self.get(a).min(self.get(b)) >= self.cap
    }

    /// Bits a counter takes on the wire when `ranks` sketches admitting at
    /// `cap` are summed: 8 while `ranks * cap` fits a byte, else 16; `None`
    /// beyond.
    pub fn lane_bits(ranks: usize, cap: u8) -> Option<u32> {
        match ranks * cap as usize {
            0..=255 => Some(8),
            256..=65_535 => Some(16),
            _ => None,
        }
    }

    /// The counters as lanes of `bits` bits in 64-bit words, so that a plain
    /// integer sum of the words of every rank sums each counter (no lane
    /// overflows: see [`Self::lane_bits`]).
    pub fn pack_lanes(&self, bits: u32) -> Vec<u64> {
        match (self.width, bits) {
            // A byte a counter already: eight counters are one word.
            (8, 8) => self.cells.chunks(8).map(|c| c.iter().rev().fold(0u64, |w, &x| w << 8 | x as u64)).collect(),
            // Two cells (eight two-bit counters) spread to a byte each.
            (2, 8) => self.cells.chunks(2).map(|c| c.iter().rev().fold(0u64, |w, &x| w << 32 | spread(x) as u64)).collect(),
            _ => {
                let per = 64 / bits as usize;
                let n = self.counters();
                (0..n.div_ceil(per)).map(|w| (0..per.min(n - w * per)).fold(0u64, |acc, i| acc | (self.get(w * per + i) as u64) << (i as u32 * bits))).collect()
            }
        }
    }

    /// Reads summed lanes back, each counter saturating at the threshold.
    pub fn unpack_lanes(&mut self, words: &[u64], bits: u32) {
        let cap = self.cap as u64;
        let lane = (1u64 << bits) - 1;
        let capped = |w: u64, i: usize| ((w >> (i as u32 * bits)) & lane).min(cap) as u8;
        match (self.width, bits) {
            (8, 8) => self.cells.chunks_mut(8).zip(words).for_each(|(c, &w)| c.iter_mut().enumerate().for_each(|(i, x)| *x = capped(w, i))),
            (2, 8) => self.cells.chunks_mut(2).zip(words).for_each(|(c, &w)| {
                c.iter_mut().enumerate().for_each(|(k, x)| *x = (0..4).fold(0u8, |b, i| b | capped(w, 4 * k + i) << (2 * i)))
            }),
            _ => {
                let per = 64 / bits as usize;
                for c in 0..self.counters() {
                    self.set(c, capped(words[c / per], c % per));
                }
            }
        }
    }
}

/// The four two-bit counters of a byte, a byte each (lowest first).
#[inline]
fn spread(x: u8) -> u32 {
    let x = x as u32;
    (x & 3) | (x >> 2 & 3) << 8 | (x >> 4 & 3) << 16 | (x >> 6 & 3) << 24
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *state >> 17
    }

    /// Keys with known counts: some frequent, most once.
    fn stream(n: usize, seed: u64) -> Vec<u64> {
        let mut s = seed;
        (0..n).map(|_| chain(START, (rng(&mut s) % if rng(&mut s).is_multiple_of(4) { 500 } else { 1_000_000 }) as u32)).collect()
    }

    fn counts(keys: &[u64]) -> std::collections::HashMap<u64, usize> {
        let mut m = std::collections::HashMap::new();
        keys.iter().for_each(|&k| *m.entry(k).or_insert(0) += 1);
        m
    }

    #[test]
    fn never_rejects_a_key_counted_often_enough() {
        for (log2, cap) in [(10, 2), (14, 2), (14, 3), (14, 5), (18, 2)] {
            let keys = stream(40_000, log2 as u64);
            let mut s = Sketch::new(log2, cap);
            keys.iter().for_each(|&k| s.add(k));
            let truth = counts(&keys);
            for (&k, &c) in &truth {
                assert!(c < cap as usize || s.admits(k), "a key counted {c} times rejected (log2 {log2}, cap {cap})");
            }
            // A roomy sketch rejects most keys seen once.
            if log2 == 18 {
                let once: Vec<u64> = truth.iter().filter(|e| *e.1 == 1).map(|e| *e.0).collect();
                let passed = once.iter().filter(|&&k| s.admits(k)).count();
                assert!(passed * 10 < once.len(), "{passed} of {} keys seen once pass", once.len());
            }
        }
    }

    #[test]
    fn summed_lanes_bound_the_union() {
        // Three "ranks", each its share of the stream; their lane sums
        // admit every key the whole stream counts `cap` times.
        let keys = stream(30_000, 9);
        for cap in [2u8, 5, 100] {
            let parts: Vec<Sketch> = keys
                .chunks(10_000)
                .map(|part| {
                    let mut s = Sketch::new(16, cap);
                    part.iter().for_each(|&k| s.add(k));
                    s
                })
                .collect();
            let bits = Sketch::lane_bits(3, cap).unwrap();
            assert_eq!(bits, if cap < 100 { 8 } else { 16 });
            let mut sum = parts[0].pack_lanes(bits);
            for p in &parts[1..] {
                sum.iter_mut().zip(p.pack_lanes(bits)).for_each(|(a, b)| *a += b);
            }
            let mut global = Sketch::new(16, cap);
            global.unpack_lanes(&sum, bits);
            for (&k, &c) in &counts(&keys) {
                assert!(c < cap as usize || global.admits(k));
            }
            // Every counter is the ranks' summed, saturated at the cap.
            for i in 0..global.counters() {
                let want = parts.iter().map(|p| p.get(i) as usize).sum::<usize>().min(cap as usize);
                assert_eq!(global.get(i) as usize, want, "counter {i}, cap {cap}");
            }
        }
        assert_eq!(Sketch::lane_bits(300, 255), None);
    }
}
