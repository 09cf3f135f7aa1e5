//! The terms of one rank, counted without building their strings.
//!
//! A word n-gram is its sequence of words: sklearn joins the words with a
//! space, and a token never contains one, so two different sequences never
//! make the same string. Words are interned once ([`Interner`]); an n-gram
//! is then a node of a trie kept in one hash table, keyed by
//! `(parent node, word)`: a bigram is one table probe on two integers, with
//! no string built, hashed or compared. Unigram nodes are found by indexing
//! a vector with the word id. Strings are made only for the terms that leave
//! the rank ([`TermTable::write_term`]), and a string is found again by
//! splitting it at its spaces ([`TermTable::lookup`]).
//!
//! Nodes shorter than the n-gram range's lower end (the prefixes of longer
//! n-grams) exist in the table but are never counted.
//!
//! The character analyzers use the same table with characters as the words
//! and nothing joining them ([`Joiner`]): each unit is exactly one
//! character, so a sequence again makes one string only. A custom token
//! pattern's terms are whole strings, one unit each.

use super::interner::Interner;
use super::sketch::{self, Sketch};
use crate::text::tokenizer::Span;
use crate::text::{Grams, Joiner};

/// No node: the parent of a unigram, and the empty marker of a slot.
const NONE: u32 = u32::MAX;

/// One slot of the open-addressing table: `(parent << 32 | word)` and the
/// node it names; `key == u64::MAX` marks an empty slot.
#[derive(Clone, Copy)]
struct Slot {
    key: u64,
    node: u32,
}

const EMPTY: Slot = Slot { key: u64::MAX, node: NONE };

/// How many n-grams ahead a slot is prefetched.
pub const AHEAD: usize = 16;

/// In a document's word ids: the end of a word (`char_wb`'s units come
/// word by word, and no n-gram crosses a word end).
pub const WORD_END: u32 = u32::MAX;

/// Words and the n-gram trie over them, with node ids in first-seen order.
pub struct TermTable {
    words: Interner,
    /// Word id to its unigram node (`NONE` until seen as a unigram).
    unigram: Vec<u32>,
    /// Node id to `(parent node or NONE, last word)`.
    nodes: Vec<(u32, u32)>,
    slots: Vec<Slot>,
    /// Nodes in `slots` (the n >= 2 ones).
    in_slots: usize,
    /// How a term's string is made of its words.
    joiner: Joiner,
    /// When set, an n-gram of two or more words gets a node only if the
    /// sketch admits it ([`Self::admit_by`]); `keys` is its scratch.
    admission: Option<Sketch>,
    keys: Vec<u64>,
}

#[inline]
fn slot_of(key: u64, mask: usize) -> usize {
    // Fibonacci hashing: the multiply spreads both halves into the top bits.
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask
}

impl TermTable {
    /// An empty table whose terms' strings are their words joined by
    /// `joiner` ([`Grams::joiner`]).
    pub fn new(joiner: Joiner) -> Self {
        Self::with_words(Interner::new(), joiner)
    }

    /// A table over a fixed word list (the ranks' merged words: word ids
    /// are then the same on every rank).
    pub fn with_words(words: Interner, joiner: Joiner) -> Self {
        let unigram = vec![NONE; words.len()];
        TermTable { words, unigram, nodes: Vec::new(), slots: vec![EMPTY; 1 << 12], in_slots: 0, joiner, admission: None, keys: Vec::new() }
    }

    /// A table over a fixed word list in which every word is already a
    /// unigram node, numbered as the word: node order is then word order
    /// (for unigram counting, [`super::counts::LocalVocabulary::add_unigrams`]).
    pub fn with_unigrams(words: Interner, joiner: Joiner) -> Self {
        let mut t = Self::with_words(words, joiner);
        t.nodes = (0..t.unigram.len() as u32).map(|w| (NONE, w)).collect();
        t.unigram = (0..t.nodes.len() as u32).collect();
        t
    }

    /// From now on, n-grams of two or more words that are not yet nodes
    /// become nodes only if `sketch` admits them (their key chained from
    /// their word ids, [`sketch::chain`]); the others are skipped, and so
    /// is every longer n-gram that extends one (it occurs no more often).
    /// `None` admits everything again and frees the sketch.
    pub fn admit_by(&mut self, sketch: Option<Sketch>) {
        self.admission = sketch;
        if self.admission.is_none() {
            self.keys = Vec::new();
        }
    }

    /// The words the n-grams are made of.
    pub fn words(&self) -> &Interner {
        &self.words
    }

    /// Nodes so far (counted terms and prefixes alike).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The id of word `w`, adding it when new.
    #[inline]
    pub fn word(&mut self, w: &str) -> u32 {
        let id = self.words.intern(w);
        if id as usize == self.unigram.len() {
            self.unigram.push(NONE);
        }
        id
    }

    /// Pushes to `out` the ids of the words at `spans` of `text`, adding
    /// new ones: [`Self::word`] of each, a document at once
    /// ([`Interner::intern_spans`]).
    pub fn words_of(&mut self, text: &str, spans: &[Span], out: &mut Vec<u32>) {
        self.words.intern_spans(text, spans, out);
        self.unigram.resize(self.words.len(), NONE);
    }

    /// The node of the n-gram `parent` followed by `word` (`parent == None`:
    /// the unigram `word`), adding it when new.
    #[inline]
    pub fn child(&mut self, parent: Option<u32>, word: u32) -> u32 {
        let Some(p) = parent else {
            let n = self.unigram[word as usize];
            if n != NONE {
                return n;
            }
            let n = self.new_node(NONE, word);
            self.unigram[word as usize] = n;
            return n;
        };
        match self.probe(p, word) {
            Ok(n) => n,
            Err(i) => self.insert_at(i, p, word),
        }
    }

    /// [`Self::child`] of a node, adding a new child only if the sketch
    /// admits its `key`; [`NONE`] when it does not.
    #[inline]
    fn child_admitted(&mut self, p: u32, word: u32, key: u64) -> u32 {
        match self.probe(p, word) {
            Ok(n) => n,
            Err(_) if !self.admission.as_ref().is_some_and(|a| a.admits(key)) => NONE,
            Err(i) => self.insert_at(i, p, word),
        }
    }

    /// The node of the child `word` of node `p`, or the empty slot where
    /// it would go.
    #[inline]
    fn probe(&self, p: u32, word: u32) -> Result<u32, usize> {
        let key = (p as u64) << 32 | word as u64;
        let mask = self.slots.len() - 1;
        let mut i = slot_of(key, mask);
        loop {
            let s = self.slots[i];
            if s.key == key {
                return Ok(s.node);
            }
            if s.node == NONE {
                return Err(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds the child `word` of node `p` at the empty slot `i` ([`Self::probe`]'s).
    #[inline]
    fn insert_at(&mut self, i: usize, p: u32, word: u32) -> u32 {
        let n = self.new_node(p, word);
        self.slots[i] = Slot { key: (p as u64) << 32 | word as u64, node: n };
        self.in_slots += 1;
        if self.in_slots * 2 > self.slots.len() {
            self.grow();
        }
        n
    }

    fn new_node(&mut self, parent: u32, word: u32) -> u32 {
        self.nodes.push((parent, word));
        assert!(self.nodes.len() < NONE as usize, "more than 4 billion distinct terms on one rank");
        (self.nodes.len() - 1) as u32
    }

    fn grow(&mut self) {
        let mut slots = crate::hugepages::filled_vec(self.slots.len() * 2, EMPTY);
        let mask = slots.len() - 1;
        for s in self.slots.iter().filter(|s| s.node != NONE) {
            let mut i = slot_of(s.key, mask);
            while slots[i].node != NONE {
                i = (i + 1) & mask;
            }
            slots[i] = *s;
        }
        self.slots = slots;
    }

    /// Appends the node of every n-gram of a document's `words` to `out`
    /// (see [`Grams`]); with `within_words`, word by word, a word shorter
    /// than `min_n` being one n-gram (sklearn's `_char_wb_ngrams`).
    pub fn ngrams(&mut self, words: &[u32], grams: Grams, prefix: &mut Vec<u32>, out: &mut Vec<u32>) {
        if !grams.within_words {
            return self.ngrams_of(words, grams.range, prefix, out);
        }
        for word in words.split(|&w| w == WORD_END).filter(|w| !w.is_empty()) {
            if word.len() < grams.range.0 {
                let node = self.node_of(word);
                out.push(node);
            } else {
                self.ngrams_of(word, grams.range, prefix, out);
            }
        }
    }

    /// Appends the node of every n-gram of `words` with `min_n <= n <=
    /// max_n` to `out`, in sklearn's order (all unigrams, then all bigrams,
    /// ...). Order does not change counts; it keeps first-seen ids
    /// comparable with the string analyzer's. `prefix` is scratch.
    fn ngrams_of(&mut self, words: &[u32], (min_n, max_n): (usize, usize), prefix: &mut Vec<u32>, out: &mut Vec<u32>) {
        // prefix[i]: the node of the (n-1)-gram starting at i (NONE when
        // the sketch rejected it); keys[i]: its sketch key.
        prefix.clear();
        prefix.extend(words.iter().map(|&w| self.child(None, w)));
        if min_n <= 1 {
            out.extend_from_slice(prefix);
        }
        let admitting = self.admission.is_some();
        let mut keys = std::mem::take(&mut self.keys);
        if admitting {
            keys.clear();
            keys.extend(words.iter().map(|&w| sketch::chain(sketch::START, w)));
        }
        for n in 2..=max_n.min(words.len()) {
            // The table is far larger than the caches: ask for each slot
            // `AHEAD` n-grams before its probe (the first ones before the loop).
            for i in 0..AHEAD.min(words.len() + 1 - n) {
                self.ask_ahead(prefix, &mut keys, words, i, n);
            }
            for i in 0..=words.len() - n {
                if i + AHEAD + n - 1 < words.len() {
                    self.ask_ahead(prefix, &mut keys, words, i + AHEAD, n);
                }
                let node = if !admitting {
                    self.child(Some(prefix[i]), words[i + n - 1])
                } else if prefix[i] == NONE {
                    continue;
                } else {
                    self.child_admitted(prefix[i], words[i + n - 1], keys[i])
                };
                prefix[i] = node;
                if n >= min_n && node != NONE {
                    out.push(node);
                }
            }
        }
        self.keys = keys;
    }

    /// Asks the CPU for the slot of the `n`-gram starting at `i`. With a
    /// sketch, also chains that n-gram's key into `keys[i]` (which held its
    /// (n-1)-gram's) and asks for the key's line: an n-gram the sketch
    /// rejects is looked up there at each occurrence. Every n-gram of a
    /// length is asked for once, before its probe, so its key is ready then.
    #[inline]
    fn ask_ahead(&self, prefix: &[u32], keys: &mut [u64], words: &[u32], i: usize, n: usize) {
        let w = words[i + n - 1];
        self.prefetch_child(prefix[i], w);
        if let Some(a) = &self.admission {
            keys[i] = sketch::chain(keys[i], w);
            a.prefetch(keys[i]);
        }
    }

    /// Asks the CPU for the slot of the child `word` of node `parent`.
    #[inline]
    fn prefetch_child(&self, parent: u32, word: u32) {
        let key = (parent as u64) << 32 | word as u64;
        crate::prefetch::prefetch(&self.slots[slot_of(key, self.slots.len() - 1)..][..1]);
    }

    /// Asks the CPU for the slot where the bigram `(w1, w2)` is, or would
    /// go if `w1` is a known unigram.
    #[inline]
    pub fn prefetch_pair(&self, w1: u32, w2: u32) {
        let p = self.unigram[w1 as usize];
        if p != NONE {
            self.prefetch_child(p, w2);
        }
    }

    /// Appends node `id`'s string (its words joined by the joiner).
    pub fn write_term(&self, id: u32, out: &mut String) {
        let (parent, word) = self.nodes[id as usize];
        // Recursion as deep as the n-gram is long.
        if parent != NONE {
            self.write_term(parent, out);
            out.push_str(self.joiner.separator());
        }
        out.push_str(self.words.get(word));
    }

    /// Appends the string of the word sequence `words`.
    pub fn write_words(&self, words: &[u32], out: &mut String) {
        for (i, &w) in words.iter().enumerate() {
            if i > 0 {
                out.push_str(self.joiner.separator());
            }
            out.push_str(self.words.get(w));
        }
    }

    /// Node `id`'s word ids, first word first, replacing `out`'s contents.
    pub fn sequence(&self, id: u32, out: &mut Vec<u32>) {
        out.clear();
        let mut node = id;
        while node != NONE {
            let (parent, word) = self.nodes[node as usize];
            out.push(word);
            node = parent;
        }
        out.reverse();
    }

    /// Node `id` as one integer when it has at most two words: the first
    /// word's id in the high half, the second's plus one in the low (0 for
    /// none). With word ids in byte order of the words, the keys' order is
    /// the terms' string order: a word sorts before every bigram it starts,
    /// as the joining space sorts below every word character. `None` for a
    /// longer n-gram.
    #[inline]
    pub fn pair_key(&self, id: u32) -> Option<u64> {
        let (parent, word) = self.nodes[id as usize];
        if parent == NONE {
            return Some((word as u64) << 32);
        }
        let (grand, first) = self.nodes[parent as usize];
        (grand == NONE).then_some((first as u64) << 32 | (word as u64 + 1))
    }

    /// The node of the word sequence `words`, adding it (and its prefixes)
    /// when new.
    pub fn node_of(&mut self, words: &[u32]) -> u32 {
        let mut node = None;
        for &w in words {
            node = Some(self.child(node, w));
        }
        node.expect("a term has at least one word")
    }

    /// Node `id`'s string.
    pub fn term(&self, id: u32) -> String {
        let mut s = String::new();
        self.write_term(id, &mut s);
        s
    }

    /// The node of the term `s` (words joined by the joiner), if this
    /// rank has seen it. Finds nothing and adds nothing for unknown words.
    pub fn lookup(&self, s: &str) -> Option<u32> {
        let units: Vec<&str> = match self.joiner {
            Joiner::Nothing => s.char_indices().map(|(i, c)| &s[i..i + c.len_utf8()]).collect(),
            Joiner::Space => s.split(' ').collect(),
            Joiner::Whole => vec![s],
        };
        if units.is_empty() {
            return None;
        }
        let mut node = NONE;
        for (k, w) in units.into_iter().enumerate() {
            let word = self.words.find(w)?;
            node = if k == 0 { self.unigram[word as usize] } else { self.find_child(node, word) };
            if node == NONE {
                return None;
            }
        }
        Some(node)
    }

    fn find_child(&self, parent: u32, word: u32) -> u32 {
        self.probe(parent, word).unwrap_or(NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_terms(t: &mut TermTable, doc: &str, range: (usize, usize)) -> Vec<String> {
        let words: Vec<u32> = doc.split_whitespace().map(|w| t.word(w)).collect();
        let mut ids = Vec::new();
        t.ngrams(&words, Grams { range, within_words: false, joiner: Joiner::Space }, &mut Vec::new(), &mut ids);
        ids.iter().map(|&n| t.term(n)).collect()
    }

    #[test]
    fn ngrams_in_sklearn_order() {
        let mut t = TermTable::new(Joiner::Space);
        assert_eq!(table_terms(&mut t, "a b c a b", (1, 3)), ["a", "b", "c", "a", "b", "a b", "b c", "c a", "a b", "a b c", "b c a", "c a b"]);
        assert_eq!(table_terms(&mut t, "a b c", (2, 2)), ["a b", "b c"]);
        assert_eq!(table_terms(&mut t, "a b", (3, 4)), Vec::<String>::new());
        assert_eq!(table_terms(&mut t, "é中 xy", (2, 2)), ["é中 xy"]);
    }

    #[test]
    fn ids_are_stable_and_lookup_finds_them() {
        let mut t = TermTable::new(Joiner::Space);
        let words: Vec<String> = (0..3000).map(|i| format!("w{i}")).collect();
        let doc = words.join(" ");
        let first = table_terms(&mut t, &doc, (1, 3));
        let n = t.len();
        assert_eq!(table_terms(&mut t, &doc, (1, 3)), first);
        assert_eq!(t.len(), n, "nothing new the second time, across growth");
        for term in &first {
            let id = t.lookup(term).unwrap_or_else(|| panic!("{term}"));
            assert_eq!(&t.term(id), term);
        }
        assert_eq!(t.lookup("w1 w3"), None);
        assert_eq!(t.lookup("nope"), None);
        assert_eq!(t.lookup("w1  w2"), None);
    }
}
