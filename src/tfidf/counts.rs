//! Per-rank counting: each document becomes a sparse row of raw counts.
//!
//! In vocabulary mode columns are *local* term ids, turned into global
//! columns once the ranks have merged their vocabularies. In hashing mode the
//! column is final at once and the value carries the alternate sign.

use crate::text::tokenizer::Analyzer;
use crate::text::murmur::hashed_column;
use super::idset::IdSet;
use super::interner::Interner;
use super::terms::{TermTable, AHEAD, WORD_END};
use crate::text::{Grams, Joiner};
use crate::prefetch::prefetch;
use crate::sparse::RowBuilder;
use rustc_hash::FxHashMap;

/// One local term's counts.
#[derive(Clone, Copy, Default)]
struct TermCount {
    /// Last row the term was seen in (+1, 0 = never) and its entry's
    /// position within that row.
    row: u32,
    pos: u32,
    /// Documents with the term, and its occurrences modulo 2^32 (the
    /// carries are in [`LocalVocabulary::tf_carries`]): 16 bytes a term.
    df: u32,
    tf: u32,
}

/// Terms seen on this rank, with the local count matrix.
pub struct LocalVocabulary {
    /// Local term ids (nodes of the n-gram trie), in first-seen order.
    pub terms: TermTable,
    /// One row per document; columns are local ids, values raw counts.
    pub rows: RowBuilder,
    /// Per local id: the counts so far and where it was last seen, in one
    /// place so a token touches one cache line.
    counts: Vec<TermCount>,
    /// Local ids whose occurrence count wrapped past 2^32, once a wrap.
    tf_carries: Vec<u32>,
    /// Scratch: the document's word ids, the n-gram prefixes' nodes, and
    /// its terms' ids.
    words: Vec<u32>,
    prefix: Vec<u32>,
    ids: Vec<u32>,
    /// Unigram counting only ([`Self::with_unigrams`]): a document's
    /// distinct words, in order, and the words' totals, in place of `counts`.
    distinct: Option<IdSet>,
}

impl LocalVocabulary {
    /// Counting with words (or characters) interned as they come; terms'
    /// strings join them with `joiner` ([`Grams::joiner`]).
    pub fn new(joiner: Joiner) -> Self {
        Self::with_words(TermTable::new(joiner))
    }

    /// Counting over the n-gram table `terms` (with its word list).
    pub fn with_words(terms: TermTable) -> Self {
        LocalVocabulary { terms, rows: RowBuilder::new(), counts: Vec::new(), tf_carries: Vec::new(), words: Vec::new(), prefix: Vec::new(), ids: Vec::new(), distinct: None }
    }

    /// Unigram counting over the fixed, sorted word list `words`: every word
    /// is its own term ([`TermTable::with_unigrams`]), counted by
    /// [`Self::add_unigrams`].
    pub fn with_unigrams(words: Interner, joiner: Joiner) -> Self {
        let n = words.len();
        LocalVocabulary { distinct: Some(IdSet::new(n)), ..Self::with_words(TermTable::with_unigrams(words, joiner)) }
    }

    /// Counts the terms of one document as a new row, interning new words.
    pub fn add_document(&mut self, analyzer: &mut Analyzer, doc: &str) {
        let mut words = std::mem::take(&mut self.words);
        words.clear();
        match analyzer.word_spans(doc) {
            Some((text, spans)) => self.terms.words_of(&text, spans, &mut words),
            None => analyzer.for_each_unit(doc, |unit| words.push(unit.map_or(WORD_END, |u| self.terms.word(u)))),
        }
        self.add_words(&words, analyzer.grams());
        self.words = words;
    }

    /// Counts the n-grams of one document given as word ids (of the table's
    /// word list) as a new row.
    pub fn add_words(&mut self, words: &[u32], grams: Grams) {
        let row = self.rows.n_rows() as u32 + 1;
        let row_start = self.rows.cols.len();
        let LocalVocabulary { terms, rows, counts, tf_carries, prefix, ids, .. } = self;
        ids.clear();
        terms.ngrams(words, grams, prefix, ids);
        if let Some(&top) = ids.iter().max() {
            // Amortised growth; ids of uncounted prefixes leave gaps.
            if top as usize >= counts.len() {
                crate::hugepages::grow_to(counts, top as usize + 1, TermCount::default());
            }
        }
        // Counts are asked for `AHEAD` terms before their update (the first
        // ones before the loop).
        for &id in ids.iter().take(AHEAD) {
            prefetch(&counts[id as usize..][..1]);
        }
        for (i, &id) in ids.iter().enumerate() {
            if let Some(&next) = ids.get(i + AHEAD) {
                prefetch(&counts[next as usize..][..1]);
            }
            let c = &mut counts[id as usize];
            c.tf = c.tf.wrapping_add(1);
            if c.tf == 0 {
                tf_carries.push(id);
            }
            if c.row == row {
                rows.values[row_start + c.pos as usize] += 1.0;
            } else {
                c.row = row;
                c.pos = (rows.cols.len() - row_start) as u32;
                c.df += 1;
                rows.cols.push(id);
                rows.values.push(1.0);
            }
        }
        self.rows.end_row();
    }

    /// Counts the words of one document (ids mapped by `map` to the table's
    /// words) as unigram terms, over a table whose nodes are its words
    /// ([`Self::with_unigrams`]), as a new row sorted by node: the
    /// document's distinct words are read back in order from an [`IdSet`]
    /// (sorted instead when the vocabulary is large and the document
    /// short), each with its count. With the words in sorted order every map
    /// to columns of sorted terms keeps the row's order, so the row needs no
    /// sort after its relabelling (see the vectorizer's `relabel`).
    pub fn add_unigrams(&mut self, words: &[u32], map: &[u32]) {
        let LocalVocabulary { rows, ids, distinct, .. } = self;
        let distinct = distinct.as_mut().expect("unigrams are counted by a vocabulary made with_unigrams");
        let mut entry = |w: u32, n: u32| {
            rows.cols.push(w);
            rows.values.push(n as f64);
        };
        if distinct.worth_it(words.len()) {
            words.iter().for_each(|&w| distinct.add(map[w as usize]));
            distinct.drain(entry);
        } else {
            ids.clear();
            ids.extend(words.iter().map(|&w| map[w as usize]));
            ids.sort_unstable();
            for run in ids.chunk_by(|a, b| a == b) {
                distinct.count(run[0], run.len() as u32);
                entry(run[0], run.len() as u32);
            }
        }
        rows.end_row();
    }

    /// Local document frequency and total count of every local id (zero
    /// for the prefixes that are not terms).
    pub fn df_and_tf(&self) -> (Vec<u64>, Vec<u64>) {
        if let Some(distinct) = &self.distinct {
            // Counted by [`Self::add_unigrams`]: every word is a term.
            return distinct.totals();
        }
        let mut df: Vec<u64> = self.counts.iter().map(|c| c.df as u64).collect();
        let mut tf: Vec<u64> = self.counts.iter().map(|c| c.tf as u64).collect();
        self.tf_carries.iter().for_each(|&id| tf[id as usize] += 1 << 32);
        // Prefixes created after the last counted term have no entry yet.
        df.resize(self.terms.len(), 0);
        tf.resize(self.terms.len(), 0);
        (df, tf)
    }

    /// The count matrix alone: the term table and counts are freed here,
    /// before the rows are weighted and written.
    pub fn into_rows(self) -> RowBuilder {
        self.rows
    }

    /// Drops the counting scratch once counting is over.
    pub fn finish_counting(&mut self) {
        self.terms.admit_by(None);
        self.prefix = Vec::new();
        self.words = Vec::new();
        self.ids = Vec::new();
    }
}

/// Counts one document into hashed columns, summing collisions. Like sklearn's
/// `FeatureHasher` it keeps a column whose signed counts cancel to zero as an
/// explicit entry, and that entry counts towards the document frequency.
pub struct HashedCounter {
    n_features: u32,
    alternate_sign: bool,
    pub rows: RowBuilder,
    scratch: FxHashMap<u32, f64>,
}

impl HashedCounter {
    pub fn new(n_features: u32, alternate_sign: bool) -> Self {
        HashedCounter { n_features, alternate_sign, rows: RowBuilder::new(), scratch: FxHashMap::default() }
    }

    pub fn add_document(&mut self, analyzer: &mut Analyzer, doc: &str) {
        self.scratch.clear();
        let (n, alt, scratch) = (self.n_features, self.alternate_sign, &mut self.scratch);
        analyzer.for_each_term(doc, |term| {
            let (col, sign) = hashed_column(term, n, alt);
            *scratch.entry(col).or_insert(0.0) += sign;
        });
        let mut entries: Vec<(u32, f64)> = self.scratch.iter().map(|(&c, &v)| (c, v)).collect();
        entries.sort_unstable_by_key(|e| e.0);
        for (c, v) in entries {
            self.rows.cols.push(c);
            self.rows.values.push(v);
        }
        self.rows.end_row();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::AnalyzerOptions;

    #[test]
    fn local_counts() {
        let mut a = Analyzer::new(AnalyzerOptions::default());
        let mut v = LocalVocabulary::new(Joiner::Space);
        v.add_document(&mut a, "b a b");
        v.add_document(&mut a, "");
        v.add_document(&mut a, "aa bb aa");
        assert_eq!((v.terms.term(0), v.terms.term(1), v.terms.len()), ("aa".into(), "bb".into(), 2));
        assert_eq!(v.rows.indptr, [0, 0, 0, 2]);
        assert_eq!(v.rows.values, [2.0, 1.0]);
        let (df, tf) = v.df_and_tf();
        assert_eq!((df, tf), (vec![1, 1], vec![2, 1]));
    }

    /// Unigram counting of `docs` (ids into `names`) against first-seen
    /// counting: the same terms with the same counts, rows sorted by id.
    fn unigrams_against_first_seen(names: &[String], docs: &[Vec<u32>]) -> RowBuilder {
        let mut words = crate::tfidf::interner::Interner::new();
        names.iter().for_each(|t| {
            words.intern(t);
        });
        let grams = Grams { range: (1, 1), within_words: false, joiner: Joiner::Space };
        let mut by_id = LocalVocabulary::with_unigrams(words, Joiner::Space);
        let mut by_seen = LocalVocabulary::with_words(TermTable::new(Joiner::Space));
        // The documents given in local ids, numbered backwards: `map` takes
        // them to the table's words.
        let last = names.len() as u32 - 1;
        let map: Vec<u32> = (0..=last).map(|l| last - l).collect();
        for d in docs {
            let local: Vec<u32> = d.iter().map(|&w| last - w).collect();
            by_id.add_unigrams(&local, &map);
            let ids: Vec<u32> = d.iter().map(|&w| by_seen.terms.word(&names[w as usize])).collect();
            by_seen.add_words(&ids, grams);
        }
        // Node w is word w; the same terms' counts as counting in first-seen order.
        let (df, tf) = by_id.df_and_tf();
        let (seen_df, seen_tf) = by_seen.df_and_tf();
        for node in 0..by_seen.terms.len() as u32 {
            let w = by_id.terms.lookup(&by_seen.terms.term(node)).unwrap() as usize;
            assert_eq!((df[w], tf[w]), (seen_df[node as usize], seen_tf[node as usize]));
        }
        assert_eq!((df.len(), by_id.terms.term(3)), (names.len(), names[3].clone()));
        by_id.into_rows()
    }

    #[test]
    fn unigram_rows_come_sorted_with_the_same_counts() {
        let names: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|t| t.to_string()).collect();
        let docs = [vec![3, 1, 3, 0, 3], vec![], vec![2, 2], vec![4, 0, 1, 4]];
        let r = unigrams_against_first_seen(&names, &docs);
        assert_eq!((&r.indptr[..], &r.cols[..], &r.values[..]), (&[0, 3, 3, 4, 7][..], &[0, 1, 3, 2, 0, 1, 4][..], &[1.0, 1.0, 3.0, 2.0, 1.0, 1.0, 2.0][..]));
    }

    #[test]
    fn unigram_rows_of_a_large_vocabulary_by_sort_and_by_bitmap_alike() {
        // 400,000 words: a 3-word document is sorted (the id set's summary
        // is too long for it), a 40-word one read from the id set.
        let names: Vec<String> = (0..400_000).map(|i| format!("w{i:06}")).collect();
        let set = IdSet::new(names.len());
        assert!(!set.worth_it(3) && set.worth_it(40));
        let mut state = 3u64;
        let mut docs: Vec<Vec<u32>> = Vec::new();
        for len in [3, 40, 3, 40, 0, 1] {
            docs.push(
                (0..len)
                    .map(|i| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        // Repeats, and ids at both ends of the vocabulary.
                        [(state >> 33) as u32 % 400_000, 399_999, 0, 7][i % 4]
                    })
                    .collect(),
            );
        }
        let r = unigrams_against_first_seen(&names, &docs);
        for (d, doc) in docs.iter().enumerate() {
            let mut want: Vec<(u32, f64)> = Vec::new();
            let mut sorted = doc.clone();
            sorted.sort_unstable();
            sorted.chunk_by(|a, b| a == b).for_each(|run| want.push((run[0], run.len() as f64)));
            let (lo, hi) = (r.indptr[d], r.indptr[d + 1]);
            let got: Vec<(u32, f64)> = (lo..hi).map(|k| (r.cols[k], r.values[k])).collect();
            assert_eq!(got, want, "document {d}");
        }
    }

    #[test]
    fn a_sketch_keeps_every_term_counted_often_enough_with_its_counts() {
        // Word ids as documents; some bigrams and trigrams repeat, most not.
        let mut state = 5u64;
        let docs: Vec<Vec<u32>> = (0..300)
            .map(|_| {
                (0..20)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        ((state >> 33) % 60) as u32
                    })
                    .collect()
            })
            .collect();
        let grams = Grams { range: (1, 3), within_words: false, joiner: Joiner::Space };
        let words = || {
            let mut w = crate::tfidf::interner::Interner::new();
            (0..60).for_each(|i| {
                w.intern(&format!("w{i:02}"));
            });
            w
        };
        // Without a sketch, and with sketches from roomy to tiny (most
        // rare n-grams collide into admitted counters there).
        let count = |sketch: Option<crate::tfidf::sketch::Sketch>| {
            let mut v = LocalVocabulary::with_words(TermTable::with_words(words(), Joiner::Space));
            v.terms.admit_by(sketch);
            docs.iter().for_each(|d| v.add_words(d, grams));
            v.finish_counting();
            let (df, tf) = v.df_and_tf();
            (0..v.terms.len() as u32).filter(|&n| df[n as usize] > 0).map(|n| (v.terms.term(n), (df[n as usize], tf[n as usize]))).collect::<std::collections::BTreeMap<_, _>>()
        };
        let all = count(None);
        for (log2, cap) in [(16, 2), (10, 2), (6, 3)] {
            let mut s = crate::tfidf::sketch::Sketch::new(log2, cap);
            for d in &docs {
                for i in 0..d.len() {
                    let mut key = crate::tfidf::sketch::chain(crate::tfidf::sketch::START, d[i]);
                    for &w in d[i + 1..].iter().take(2) {
                        key = crate::tfidf::sketch::chain(key, w);
                        s.add(key);
                    }
                }
            }
            let kept = count(Some(s));
            for (term, &counts) in &all {
                if counts.1 >= cap as u64 || !term.contains(' ') {
                    assert_eq!(kept.get(term), Some(&counts), "{term} (log2 {log2}, cap {cap})");
                }
            }
            assert!(kept.iter().all(|(t, c)| all.get(t) == Some(c)));
            if log2 == 16 {
                assert!(kept.len() * 2 < all.len(), "a roomy sketch keeps out most rare n-grams: {} of {}", kept.len(), all.len());
            }
        }
    }

    #[test]
    fn occurrence_counts_carry_past_32_bits() {
        let mut a = Analyzer::new(AnalyzerOptions::default());
        let mut v = LocalVocabulary::new(Joiner::Space);
        v.add_document(&mut a, "aa bb");
        // As if "aa" had been seen 2^32 - 1 times: two more wrap it once.
        v.counts[0].tf = u32::MAX;
        v.add_document(&mut a, "aa aa");
        let (df, tf) = v.df_and_tf();
        assert_eq!((df, tf), (vec![2, 1], vec![u32::MAX as u64 + 2, 1]));
    }

    #[test]
    fn hashed_counts_sum_signed_terms_into_sorted_columns() {
        let mut a = Analyzer::new(AnalyzerOptions::default());
        let mut h = HashedCounter::new(8, true);
        h.add_document(&mut a, "one two three four one");
        // The row by definition: each term's signed unit summed into its column.
        let mut want = std::collections::BTreeMap::new();
        for t in ["one", "two", "three", "four", "one"] {
            let (c, sign) = hashed_column(t, 8, true);
            *want.entry(c).or_insert(0.0) += sign;
        }
        let r = &h.rows;
        assert_eq!(r.cols, want.keys().copied().collect::<Vec<_>>());
        assert_eq!(r.values, want.values().copied().collect::<Vec<_>>());
    }
}
