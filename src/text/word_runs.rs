//! The maximal runs of ASCII word characters (`[0-9A-Za-z_]`) of ASCII
//! text, found sixteen bytes at a time: the default token pattern's scan,
//! which byte by byte cost ~10 ns a token (a mispredicted branch at each
//! end of a word of random length). Here the bytes are classified with
//! SSE2 into a 64-bit mask a block, and the runs are the mask's edges, read
//! with trailing-zero counts: no branch depends on a word's length.

/// Pushes `(start, end)` of every maximal run of word bytes of `text` with
/// at least `min` bytes to `spans`. Every byte of `text` must be ASCII.
pub fn ascii_word_runs(text: &[u8], min: usize, spans: &mut Vec<(usize, usize)>) {
    let mut runs = Runs::new(min);
    for (b, block) in text.chunks(64).enumerate() {
        runs.block(word_mask(block), b * 64, spans);
    }
    runs.finish(text.len(), spans);
}

/// [`ascii_word_runs`] of `text` lowercased, with the lowercased text left
/// in `lower`: one pass, each block loaded once, where lowercasing first
/// and scanning after read the text twice and wrote it once more (and
/// checked it was ASCII in a third pass). Returns `false`, with `lower` and
/// `spans` unspecified, when `text` holds a byte that is not ASCII.
pub fn lowered_ascii_word_runs(text: &[u8], min: usize, lower: &mut Vec<u8>, spans: &mut Vec<(usize, usize)>) -> bool {
    let mut runs = Runs::new(min);
    lower.clear();
    lower.resize(text.len(), 0);
    for (b, (block, out)) in text.chunks(64).zip(lower.chunks_mut(64)).enumerate() {
        let Some(mask) = lowered_word_mask(block, out) else {
            return false;
        };
        runs.block(mask, b * 64, spans);
    }
    runs.finish(text.len(), spans);
    true
}

/// The scan's state between 64-byte blocks.
struct Runs {
    min: usize,
    /// Where the current run (or gap) started.
    start: usize,
    /// Whether the byte before the block is a word byte (a run goes on).
    inside: bool,
}

impl Runs {
    fn new(min: usize) -> Self {
        Runs { min: min.max(1), start: 0, inside: false }
    }

    /// The runs that end in the block at `base` whose word bytes are `mask`.
    #[inline]
    fn block(&mut self, mask: u64, base: usize, spans: &mut Vec<(usize, usize)>) {
        // Edges: a bit where a byte differs from the one before it.
        let mut edges = mask ^ (mask << 1 | self.inside as u64);
        while edges != 0 {
            let at = base + edges.trailing_zeros() as usize;
            if self.inside && at - self.start >= self.min {
                spans.push((self.start, at));
            }
            self.start = at;
            self.inside = !self.inside;
            edges &= edges - 1;
        }
    }

    /// The run that ends with the text (`len` bytes), if any.
    fn finish(&self, len: usize, spans: &mut Vec<(usize, usize)>) {
        if self.inside && len - self.start >= self.min {
            spans.push((self.start, len));
        }
    }
}

/// The word mask of `block` (up to 64 bytes) lowercased into `out` (as
/// long), or `None` when a byte is not ASCII.
#[inline]
fn lowered_word_mask(block: &[u8], out: &mut [u8]) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    if block.len() == 64 {
        // SAFETY: SSE2 is part of x86_64; both slices hold the 64 bytes read and written.
        return unsafe { sse2::lowered_word_mask64(block.as_ptr(), out.as_mut_ptr()) };
    }
    if !block.is_ascii() {
        return None;
    }
    out.copy_from_slice(block);
    out.make_ascii_lowercase();
    Some(word_mask(out))
}

/// Bit `i` set when `block[i]` (up to 64 bytes) is a word byte.
#[inline]
fn word_mask(block: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if block.len() == 64 {
        // SAFETY: SSE2 is part of x86_64; the loads read 64 bytes the slice holds.
        return unsafe { sse2::word_mask64(block.as_ptr()) };
    }
    block.iter().enumerate().fold(0, |m, (i, &b)| m | (is_word(b) as u64) << i)
}

#[inline]
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// The word bytes of 16 bytes at `p`, as a 16-bit mask.
    #[inline(always)]
    unsafe fn mask16(p: *const u8) -> u64 {
        let v = _mm_loadu_si128(p as *const __m128i);
        // Signed compares: the text is ASCII, so every byte is 0..=127.
        let within = |x: __m128i, lo: u8, hi: u8| {
            _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(lo as i8 - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8(hi as i8 + 1)))
        };
        let letter = within(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
        let digit = within(v, b'0', b'9');
        let under = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), under)) as u16 as u64
    }

    /// The word bytes of 64 bytes at `p`, as a 64-bit mask.
    #[inline(always)]
    pub unsafe fn word_mask64(p: *const u8) -> u64 {
        mask16(p) | mask16(p.add(16)) << 16 | mask16(p.add(32)) << 32 | mask16(p.add(48)) << 48
    }

    /// 16 bytes at `p` lowercased to `q`, and their word bytes as a 16-bit
    /// mask; `None` when a byte is not ASCII.
    #[inline(always)]
    unsafe fn lowered16(p: *const u8, q: *mut u8) -> Option<u64> {
        let v = _mm_loadu_si128(p as *const __m128i);
        if _mm_movemask_epi8(v) != 0 {
            return None;
        }
        let within = |x: __m128i, lo: u8, hi: u8| {
            _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(lo as i8 - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8(hi as i8 + 1)))
        };
        let lower = _mm_or_si128(v, _mm_and_si128(within(v, b'A', b'Z'), _mm_set1_epi8(0x20)));
        _mm_storeu_si128(q as *mut __m128i, lower);
        let letter = within(lower, b'a', b'z');
        let digit = within(lower, b'0', b'9');
        let under = _mm_cmpeq_epi8(lower, _mm_set1_epi8(b'_' as i8));
        Some(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), under)) as u16 as u64)
    }

    /// [`lowered16`] of 64 bytes, as a 64-bit mask.
    #[inline(always)]
    pub unsafe fn lowered_word_mask64(p: *const u8, q: *mut u8) -> Option<u64> {
        Some(lowered16(p, q)? | lowered16(p.add(16), q.add(16))? << 16 | lowered16(p.add(32), q.add(32))? << 32 | lowered16(p.add(48), q.add(48))? << 48)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs byte by byte, as the definition says.
    fn slow(text: &[u8], min: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if is_word(text[i]) {
                let s = i;
                while i < text.len() && is_word(text[i]) {
                    i += 1;
                }
                if i - s >= min.max(1) {
                    out.push((s, i));
                }
            } else {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn every_byte_class_and_block_edge() {
        // Every ASCII byte as a separator, and runs crossing the 64-byte blocks.
        let all: Vec<u8> = (0u8..128).collect();
        let mut state = 7u64;
        let mut text = Vec::new();
        for _ in 0..5_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pick = (state >> 33) as usize;
            text.push(if pick % 3 == 0 { all[pick % 128] } else { b"aZ09_q"[pick % 6] });
        }
        for n in [0, 1, 2, 15, 16, 63, 64, 65, 127, 128, 129, 1000, text.len()] {
            for min in [1, 2, 3] {
                let mut got = Vec::new();
                ascii_word_runs(&text[..n], min, &mut got);
                assert_eq!(got, slow(&text[..n], min), "n {n} min {min}");
            }
        }
        // Lowercased in the same pass: the same runs as over the text
        // lowercased first, and the lowercased text.
        let upper: Vec<u8> = text.iter().map(|&b| if b.is_ascii_lowercase() && b % 3 == 0 { b.to_ascii_uppercase() } else { b }).collect();
        for n in [0, 1, 15, 16, 63, 64, 65, 128, 129, 1000, upper.len()] {
            let (mut lower, mut got, mut want) = (Vec::new(), Vec::new(), Vec::new());
            assert!(lowered_ascii_word_runs(&upper[..n], 2, &mut lower, &mut got));
            ascii_word_runs(&upper[..n].to_ascii_lowercase(), 2, &mut want);
            assert_eq!((&lower[..], &got), (&upper[..n].to_ascii_lowercase()[..], &want), "n {n}");
        }
        // A byte that is not ASCII, in a whole block or in the tail.
        for at in [0, 17, 63, 64, 100, 130] {
            let mut t = upper[..140].to_vec();
            t[at] = 0xc3;
            assert!(!lowered_ascii_word_runs(&t, 2, &mut Vec::new(), &mut Vec::new()), "at {at}");
        }
        let mut got = Vec::new();
        ascii_word_runs(b"Hello, world! a I'm x_y 42 3.14", 2, &mut got);
        // As Python finds r"\b\w\w+\b" in it.
        assert_eq!(got, [(0, 5), (7, 12), (20, 23), (24, 26), (29, 31)]);
    }
}
