//! A fit's first pass: each document's tokens as word ids, before any
//! n-gram is formed.
//!
//! The ranks merge their words next (a small vocabulary next to the
//! n-grams'), so that n-grams are then counted over word ids every rank
//! shares: a term travels between ranks as a few integers, its owner is a
//! hash of them, and sorting word ids in the merged (byte) order sorts the
//! joined terms as sklearn does (the space that joins words sorts below
//! every word character).
//!
//! Both rest on what the word analyzer's tokens are: runs of word
//! characters, never holding a space or a byte below it. A token pattern
//! whose tokens could (a custom `token_pattern`) breaks both: two word
//! sequences could join into one string, and id order would no longer be
//! string order. Such an analyzer must count its terms as whole strings
//! (each term one "word" of its own here). The character analyzers keep
//! both: their units are single characters joined by nothing, so a sequence
//! is one string and id (code point) order is string order.

use super::interner::Interner;
use super::terms::WORD_END;
use crate::text::Analyzer;

/// Word-id sequences in one buffer (documents here, terms in the
/// vectorizer's owners): sequence `i` is `ids[starts[i]..starts[i + 1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequences {
    ids: Vec<u32>,
    starts: Vec<usize>,
}

impl Default for Sequences {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequences {
    pub fn new() -> Self {
        Sequences { ids: Vec::new(), starts: vec![0] }
    }

    /// Appends a word to the sequence being built.
    pub fn push_word(&mut self, w: u32) {
        self.ids.push(w);
    }

    /// Ends the sequence being built (empty if no word was pushed).
    pub fn close(&mut self) {
        self.starts.push(self.ids.len());
    }

    /// Appends a whole sequence.
    pub fn push(&mut self, words: impl IntoIterator<Item = u32>) {
        self.ids.extend(words);
        self.close();
    }

    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence `i`.
    pub fn get(&self, i: usize) -> &[u32] {
        &self.ids[self.starts[i]..self.starts[i + 1]]
    }
}

/// Every document's tokens as ids into `words`.
pub struct DocTokens {
    pub words: Interner,
    docs: Sequences,
}

impl Default for DocTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl DocTokens {
    pub fn new() -> Self {
        DocTokens { words: Interner::new(), docs: Sequences::new() }
    }

    /// Appends one document's tokens (after preprocessing and stop words).
    pub fn add_document(&mut self, analyzer: &mut Analyzer, doc: &str) {
        let DocTokens { words, docs } = self;
        if let Some((text, spans)) = analyzer.word_spans(doc) {
            words.intern_spans(&text, spans, &mut docs.ids);
            return docs.close();
        }
        analyzer.for_each_unit(doc, |unit| docs.push_word(unit.map_or(WORD_END, |u| words.intern(u))));
        docs.close();
    }

    /// Room for `units` more units, allocated at once on huge pages.
    pub fn reserve(&mut self, units: usize) {
        crate::hugepages::reserve(&mut self.docs.ids, units);
    }

    /// Units over all documents (word ids and word ends).
    pub fn n_units(&self) -> usize {
        self.docs.ids.len()
    }

    pub fn n_docs(&self) -> usize {
        self.docs.len()
    }

    /// Document `d`'s word ids.
    pub fn doc(&self, d: usize) -> &[u32] {
        self.docs.get(d)
    }

    /// Appends `other`'s documents after these, its words interned here in
    /// its own id order: documents tokenized in contiguous spans apart (on
    /// threads) and appended in span order get the ids one pass over them
    /// all gives, first appearance in document order, since a span's new
    /// words are new in its own first-appearance order.
    pub fn append(&mut self, other: DocTokens) {
        let map: Vec<u32> = other.words.iter().map(|w| self.words.intern(w)).collect();
        let base = self.docs.ids.len();
        crate::hugepages::reserve(&mut self.docs.ids, other.n_units());
        self.docs.ids.extend(other.docs.ids.iter().map(|&w| if w == WORD_END { w } else { map[w as usize] }));
        self.docs.starts.extend(other.docs.starts[1..].iter().map(|&s| s + base));
    }

    /// The words of the documents (as strings) and each document's word
    /// ids: what two tokenizings must agree on to be the same.
    #[cfg(test)]
    pub fn parts(&self) -> (Vec<&str>, &Sequences) {
        (self.words.iter().collect(), &self.docs)
    }

    /// Replaces every word id `w` by `map[w]` (local ids to shared ones);
    /// the local word list is dropped.
    pub fn remap(&mut self, map: &[u32]) {
        self.docs.ids.iter_mut().filter(|w| **w != WORD_END).for_each(|w| *w = map[*w as usize]);
        self.words = Interner::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::AnalyzerOptions;

    #[test]
    fn documents_as_word_ids() {
        let mut a = Analyzer::new(AnalyzerOptions::default());
        let mut t = DocTokens::new();
        t.add_document(&mut a, "bb aa bb");
        t.add_document(&mut a, "");
        t.add_document(&mut a, "cc aa");
        assert_eq!((t.n_docs(), t.doc(0), t.doc(1), t.doc(2)), (3, &[0, 1, 0][..], &[][..], &[2, 1][..]));
        t.remap(&[7, 5, 6]);
        assert_eq!((t.doc(0), t.doc(2)), (&[7, 5, 7][..], &[6, 5][..]));
    }

    #[test]
    fn appended_spans_number_words_as_one_pass() {
        let docs = ["bb aa bb", "", "cc aa", "dd bb ee", "aa ff"];
        let mut a = Analyzer::new(AnalyzerOptions::default());
        let mut whole = DocTokens::new();
        docs.iter().for_each(|d| whole.add_document(&mut a, d));
        for cut in 0..=docs.len() {
            let (mut head, mut tail) = (DocTokens::new(), DocTokens::new());
            docs[..cut].iter().for_each(|d| head.add_document(&mut a, d));
            docs[cut..].iter().for_each(|d| tail.add_document(&mut a, d));
            head.append(tail);
            assert_eq!(head.parts(), whole.parts(), "cut at {cut}");
        }
    }
}
