//! A string interner for the counting hot loop: term bytes to dense ids.
//!
//! Counting is one lookup per token, so this table is where tokenizing time
//! goes, and its time is the wait for memory: a table of 50,000 words is
//! larger than the core's caches. So a slot holds what a probe needs to
//! decide without touching other memory: a 16-bit hash tag, the term's
//! length and its first eight bytes; a term of eight bytes or fewer (most
//! words) is found in its slot alone, a longer one compares the rest with
//! the byte arena. [`Interner::intern_spans`] takes a document's tokens at
//! once, hashes them all, and asks for each slot a few tokens ahead of its
//! probe, so that the misses overlap instead of queueing.

/// How many tokens ahead of its probe a slot is prefetched.
const AHEAD: usize = 8;

/// One slot of the open-addressing table (linear probing).
#[derive(Clone, Copy, Default)]
struct Slot {
    /// The term's first `min(len, 8)` bytes, little-endian, zero-padded.
    head: u64,
    /// `tag << 48 | min(len, 0xffff) << 32 | (id + 1)`, or 0 when empty.
    meta: u64,
}

/// Interned terms with ids in first-seen order.
pub struct Interner {
    slots: Vec<Slot>,
    /// Every term's full hash, to rehash on growth.
    hashes: Vec<u64>,
    /// `arena[starts[id]..starts[id + 1]]` is term `id`.
    starts: Vec<usize>,
    arena: Vec<u8>,
    /// Scratch of [`Interner::intern_spans`]: each token's hash and head.
    keys: Vec<(u64, u64)>,
}

impl Default for Interner {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn le32(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64
}

#[inline]
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The first `min(len, 8)` bytes of `b` as a little-endian word, zero
/// above: overlapping loads, no loop and no read past the slice.
#[inline]
fn head(b: &[u8]) -> u64 {
    let n = b.len();
    match n {
        0 => 0,
        1..=3 => b[0] as u64 | (b[n / 2] as u64) << (8 * (n / 2)) | (b[n - 1] as u64) << (8 * (n - 1)),
        4..=7 => le32(b, 0) | le32(b, n - 4) << (8 * (n - 4)),
        _ => le64(b, 0),
    }
}

/// A mask of the low `min(n, 8)` bytes of a word.
#[inline]
fn low_bytes(n: usize) -> u64 {
    if n >= 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 }
}

/// 64 x 64 -> 128-bit multiply, folded: the mixing step of wyhash-like hashes.
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let r = a as u128 * b as u128;
    r as u64 ^ (r >> 64) as u64
}

const SEED: [u64; 3] = [0xa076_1d64_78bd_642f, 0xe703_7ed1_a0b4_28db, 0x8ebc_6af0_9c88_c6e3];

/// The term's hash, from its head (already loaded) and the rest of its bytes.
#[inline]
fn hash(b: &[u8], head: u64) -> u64 {
    let n = b.len();
    let mut acc = (n as u64).wrapping_mul(SEED[2]);
    if n > 8 {
        // Whole words after the head, then the last eight bytes (overlapping).
        let mut at = 8;
        while at + 8 < n {
            acc = mix(acc ^ le64(b, at), SEED[1]);
            at += 8;
        }
        acc ^= le64(b, n - 8).rotate_left(29);
    }
    mix(head ^ SEED[0], acc ^ SEED[1])
}

/// A slot's `meta` without the id: the tag and the length it must match.
#[inline]
fn signature(h: u64, len: usize) -> u64 {
    (h >> 48) << 48 | (len.min(0xffff) as u64) << 32
}

impl Interner {
    pub fn new() -> Self {
        Interner { slots: vec![Slot::default(); 1 << 12], hashes: Vec::new(), starts: vec![0], arena: Vec::new(), keys: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Term `id`.
    pub fn get(&self, id: u32) -> &str {
        // Only whole `&str`s are ever added.
        std::str::from_utf8(self.bytes(id as usize)).expect("interned terms are UTF-8")
    }

    fn bytes(&self, id: usize) -> &[u8] {
        &self.arena[self.starts[id]..self.starts[id + 1]]
    }

    /// Every term in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len() as u32).map(|i| self.get(i))
    }

    /// The id of `term`, adding it when new.
    #[inline]
    pub fn intern(&mut self, term: &str) -> u32 {
        let b = term.as_bytes();
        let head = head(b);
        self.intern_keyed(b, hash(b, head), head)
    }

    /// Pushes to `out` the id of `text[a..b]` for each span `(a, b)`, in
    /// order, adding new terms: [`Interner::intern`] of each, with the
    /// table's memory asked for ahead of the probes.
    pub fn intern_spans(&mut self, text: &str, spans: &[(usize, usize)], out: &mut Vec<u32>) {
        let text = text.as_bytes();
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        keys.extend(spans.iter().map(|&(a, b)| {
            // One load and a mask where eight bytes are there to load: no
            // branch on the token's length.
            let h = if a + 8 <= text.len() { le64(text, a) & low_bytes(b - a) } else { head(&text[a..b]) };
            (hash(&text[a..b], h), h)
        }));
        for (i, (&(a, b), &(h, head))) in spans.iter().zip(&keys).enumerate() {
            if let Some(&(ahead, _)) = keys.get(i + AHEAD) {
                crate::prefetch::prefetch(&self.slots[ahead as usize & (self.slots.len() - 1)..][..1]);
            }
            out.push(self.intern_keyed(&text[a..b], h, head));
        }
        self.keys = keys;
    }

    #[inline]
    fn intern_keyed(&mut self, b: &[u8], h: u64, head: u64) -> u32 {
        match self.probe(b, h, head) {
            Ok(id) => id,
            Err(empty) => {
                let id = self.hashes.len() as u32;
                self.slots[empty] = Slot { head, meta: signature(h, b.len()) | (id as u64 + 1) };
                self.hashes.push(h);
                self.arena.extend_from_slice(b);
                self.starts.push(self.arena.len());
                if self.hashes.len() * 2 > self.slots.len() {
                    self.grow();
                }
                id
            }
        }
    }

    /// The id of `term`, if interned.
    pub fn find(&self, term: &str) -> Option<u32> {
        let b = term.as_bytes();
        let head = head(b);
        self.probe(b, hash(b, head), head).ok()
    }

    /// `Ok(id)` of the term with bytes `b`, hash `h` and head `head`, or
    /// `Err` of the empty slot where it would go.
    #[inline]
    fn probe(&self, b: &[u8], h: u64, head: u64) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let sig = signature(h, b.len());
        let mut i = h as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.meta == 0 {
                return Err(i);
            }
            if slot.meta & !0xffff_ffff == sig && slot.head == head {
                let id = (slot.meta as u32 - 1) as usize;
                if self.rest_matches(id, b) {
                    return Ok(id as u32);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether term `id`, whose head, tag and length match `b`'s, is `b`.
    /// The head holds a term of eight bytes or fewer whole; one of up to
    /// sixteen compares its last eight bytes in one load (overlapping the
    /// head), not through a call to `memcmp` (2.6 % of a vectorize of the
    /// real corpus, whose words are longer); a longer one compares its rest.
    #[inline]
    fn rest_matches(&self, id: usize, b: &[u8]) -> bool {
        let n = b.len();
        if n <= 8 {
            return true;
        }
        let t = self.bytes(id);
        if n <= 16 && t.len() == n {
            return le64(t, n - 8) == le64(b, n - 8);
        }
        t[8..] == b[8..]
    }

    fn grow(&mut self) {
        let mut slots = vec![Slot::default(); self.slots.len() * 2];
        let mask = slots.len() - 1;
        for old in self.slots.iter().filter(|s| s.meta != 0) {
            let id = (old.meta as u32 - 1) as usize;
            let mut i = self.hashes[id] as usize & mask;
            while slots[i].meta != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = *old;
        }
        self.slots = slots;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_the_first_eight_bytes() {
        for t in ["", "a", "ab", "abc", "abcd", "abcde", "abcdefg", "abcdefgh", "abcdefghijk"] {
            let mut want = [0u8; 8];
            let n = t.len().min(8);
            want[..n].copy_from_slice(&t.as_bytes()[..n]);
            assert_eq!(head(t.as_bytes()), u64::from_le_bytes(want), "{t:?}");
        }
    }

    #[test]
    fn terms_alike_in_head_or_padding_stay_apart() {
        // Same heads (NUL padding, a shared first eight bytes), other lengths or tails.
        let terms = ["a", "a\0", "a\0\0", "\0", "", "abcdefgh", "abcdefgh\0", "abcdefghi", "abcdefghj", "abcdefghijklmnopq", "abcdefghijklmnopr"];
        let mut t = Interner::new();
        for (i, w) in terms.iter().enumerate() {
            assert_eq!(t.intern(w), i as u32, "{w:?}");
        }
        for (i, w) in terms.iter().enumerate() {
            assert_eq!((t.find(w), t.get(i as u32)), (Some(i as u32), *w));
        }
        let mut ids = Vec::new();
        let text = "abcdefghi a abcdefghj zz a zz";
        t.intern_spans(text, &[(0, 9), (10, 11), (12, 21), (22, 24), (25, 26), (27, 29)], &mut ids);
        assert_eq!(ids, [7, 0, 8, 11, 0, 11]);
    }

    #[test]
    fn a_term_past_its_head_is_compared_whole() {
        // What a probe asks once the tag, length and head agree (a tag
        // collision, rare among few terms, so asked directly here).
        let mut t = Interner::new();
        let ids: Vec<usize> = ["abcdefghXjklmn", "abcdefghijklmnoX", "abcdefghijklmnopqX"].iter().map(|w| t.intern(w) as usize).collect();
        for (id, same, other) in [(ids[0], "abcdefghXjklmn", "abcdefghYjklmn"), (ids[1], "abcdefghijklmnoX", "abcdefghijklmnoY"), (ids[2], "abcdefghijklmnopqX", "abcdefghijklmnopqY")] {
            assert!(t.rest_matches(id, same.as_bytes()), "{same}");
            assert!(!t.rest_matches(id, other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn ids_in_first_seen_order_across_growth() {
        let mut t = Interner::new();
        let words: Vec<String> = (0..20_000).map(|i| format!("w{i}é")).collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(t.intern(w), i as u32);
        }
        for (i, w) in words.iter().enumerate().rev() {
            assert_eq!(t.intern(w), i as u32);
        }
        // The same through the batch path, across the table's growth.
        let text = words.join(" ");
        let mut spans = Vec::new();
        let mut at = 0;
        for w in &words {
            spans.push((at, at + w.len()));
            at += w.len() + 1;
        }
        let mut fresh = Interner::new();
        let mut ids = Vec::new();
        fresh.intern_spans(&text, &spans, &mut ids);
        fresh.intern_spans(&text, &spans, &mut ids);
        assert!(ids.iter().enumerate().all(|(i, &id)| id as usize == i % 20_000));
        assert_eq!(t.len(), 20_000);
        assert_eq!(t.get(7), "w7é");
        assert_eq!(t.intern(""), 20_000);
        assert_eq!(t.iter().nth(19_999), Some("w19999é"));
        assert_eq!((t.len(), t.get(3)), (20_001, "w3é"));
        assert_eq!((t.find("w3é"), t.find("w3"), t.find("")), (Some(3), None, Some(20_000)));
    }
}
