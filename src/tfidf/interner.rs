//! A string interner for the counting hot loop: term bytes to dense ids.
//!
//! Counting is one lookup per token, so this table is where tokenizing time
//! goes. Compared with a `HashMap<Box<str>, u32>` it keeps every term in one
//! byte arena (no allocation per term), stores each term's full 64-bit hash
//! (a probe compares bytes only when the hashes agree, which almost always
//! means a hit) and compares short terms inline instead of calling `memcmp`.

use std::hash::Hasher;

/// Interned terms with ids in first-seen order.
pub struct Interner {
    /// Open addressing, linear probing: the high 32 bits of the term's hash
    /// and `id + 1` in the low 32 bits, or 0 when empty. Keeping the hash tag
    /// in the slot means a probe that misses touches no other memory.
    slots: Vec<u64>,
    hashes: Vec<u64>,
    /// `arena[starts[id]..starts[id + 1]]` is term `id`.
    starts: Vec<usize>,
    arena: Vec<u8>,
}

impl Default for Interner {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn hash(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    // Mix the high bits down: slots are chosen by the low bits.
    let x = h.finish();
    x ^ (x >> 29) ^ (x >> 47)
}

/// Byte equality without a `memcmp` call or a per-byte loop for short
/// terms: two overlapping word loads cover any length from 2 to 16.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    #[inline]
    fn w8(x: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(x[at..at + 8].try_into().unwrap())
    }
    #[inline]
    fn w4(x: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(x[at..at + 4].try_into().unwrap())
    }
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => a[0] == b[0] && a[1] == b[1] && a[n - 1] == b[n - 1],
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

impl Interner {
    pub fn new() -> Self {
        Interner { slots: vec![0; 1 << 12], hashes: Vec::new(), starts: vec![0], arena: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Term `id`.
    pub fn get(&self, id: u32) -> &str {
        let b = &self.arena[self.starts[id as usize]..self.starts[id as usize + 1]];
        // Only whole `&str`s are ever added.
        std::str::from_utf8(b).expect("interned terms are UTF-8")
    }

    /// Every term in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len() as u32).map(|i| self.get(i))
    }

    /// The id of `term`, adding it when new.
    #[inline]
    pub fn intern(&mut self, term: &str) -> u32 {
        let bytes = term.as_bytes();
        let h = hash(bytes);
        match self.probe(bytes, h) {
            Ok(id) => id,
            Err(empty) => {
                let id = self.hashes.len() as u32;
                self.slots[empty] = (h & !0xffff_ffff) | (id as u64 + 1);
                self.hashes.push(h);
                self.arena.extend_from_slice(bytes);
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
        self.probe(term.as_bytes(), hash(term.as_bytes())).ok()
    }

    /// `Ok(id)` of the term with bytes `bytes` and hash `h`, or `Err` of the
    /// empty slot where it would go.
    #[inline]
    fn probe(&self, bytes: &[u8], h: u64) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let tag = h & !0xffff_ffff;
        let mut i = h as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return Err(i);
            }
            if slot & !0xffff_ffff == tag {
                let id = (slot as u32 - 1) as usize;
                let (a, b) = (self.starts[id], self.starts[id + 1]);
                if same(&self.arena[a..b], bytes) {
                    return Ok(id as u32);
                }
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let mut slots = vec![0u64; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for (id, &h) in self.hashes.iter().enumerate() {
            let mut i = h as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (h & !0xffff_ffff) | (id as u64 + 1);
        }
        self.slots = slots;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_comparisons() {
        for (a, b, eq) in [("ab", "ab", true), ("ab", "ac", false), ("abc", "abd", false), ("abcde", "abcdf", false),
            ("abcdefghij", "abcdefghij", true), ("abcdefghij", "abcdefghiJ", false), ("abcdefghij", "Abcdefghij", false),
            ("abcdefghijklmnopq", "abcdefghijklmnopq", true), ("abcdefghijklmnopq", "abcdefghijkXmnopq", false)] {
            assert_eq!(same(a.as_bytes(), b.as_bytes()), eq, "{a} {b}");
        }
        assert!(!same(b"ab", b"abc"));
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
        assert_eq!(t.len(), 20_000);
        assert_eq!(t.get(7), "w7é");
        assert_eq!(t.intern(""), 20_000);
        assert_eq!(t.iter().nth(19_999), Some("w19999é"));
        assert_eq!((t.len(), t.get(3)), (20_001, "w3é"));
        assert_eq!((t.find("w3é"), t.find("w3"), t.find("")), (Some(3), None, Some(20_000)));
    }
}
