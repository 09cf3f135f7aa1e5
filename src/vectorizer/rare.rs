//! Collective: which n-grams can reach `min_df`, decided before any is
//! counted.
//!
//! Every rank sketches the occurrences of its documents' n-grams
//! ([`crate::tfidf::sketch`]), the ranks sum their sketches, and the n-gram
//! table then admits only n-grams the sum says may occur `min_df` times
//! ([`crate::tfidf::terms::TermTable::admit_by`]). The rest, most distinct
//! word n-grams, never take a node, a count, a row entry or a place in the
//! owners' tally.

use crate::collectives::{Collectives, Op};
use crate::text::{Grams, Joiner};
use crate::tfidf::prune::DfWindow;
use crate::tfidf::sketch::{self, Sketch};
use crate::tfidf::terms::WORD_END;
use crate::tfidf::tokens::DocTokens;
use crate::tfidf::VectorizerOptions;

/// The n-grams of two or more units of a document, as the n-gram table
/// forms them: within each word for `char_wb` (its units come word by word,
/// each followed by [`WORD_END`]), across the whole document otherwise.
fn each_long_ngram_key(doc: &[u32], grams: Grams, mut f: impl FnMut(u64)) {
    for piece in doc.split(|&w| grams.within_words && w == WORD_END) {
        for i in 0..piece.len() {
            let mut key = sketch::chain(sketch::START, piece[i]);
            for &w in piece[i + 1..].iter().take(grams.range.1.saturating_sub(1)) {
                key = sketch::chain(key, w);
                f(key);
            }
        }
    }
}

/// How many keys [`each_long_ngram_key`] gives for `doc`.
fn long_ngrams(doc: &[u32], grams: Grams) -> u64 {
    let per_piece = |len: usize| (2..=grams.range.1).map(|n| (len + 1).saturating_sub(n) as u64).sum::<u64>();
    doc.split(|&w| grams.within_words && w == WORD_END).map(|p| per_piece(p.len())).sum()
}

/// The largest sketch worth its pass. Its reads and writes are random, one
/// cache line each, and they pay while the sketch stays in the last-level
/// cache: measured here, the 200k corpus's bigrams (17 M occurrences, an
/// 8 MB sketch) vectorize faster with it (2.73 -> 2.55 s at 1 rank, 1.82 ->
/// 1.65 s at 2) and in 37-44 % less memory, while the 1M corpus's (85 M, 32 MB)
/// took 13.4-13.7 s without and 15.4-16.0 s with it at 2 ranks (its count
/// 3.9 -> 6.5 s), in 26 % less memory. Larger corpora are counted as before.
const MAX_BYTES: usize = 16 << 20;

/// Collective: the sketch of every rank's n-gram occurrences
/// ([`crate::tfidf::sketch`]), when `min_df` can drop some (a term must be
/// in at least two documents), the terms are word n-grams longer than one
/// word, and the sketch, a counter an occurrence of the whole corpus's,
/// fits [`MAX_BYTES`] (it is whole on every rank).
///
/// Word n-grams only: most distinct word bigrams are rare (three quarters
/// seen once, on the generated corpus), while character n-grams repeat; on
/// the real corpus's `char_wb` 2-5 the sketch's pass cost more than the
/// few n-grams it kept out (1.80 -> 2.40 s, measured) and it was dropped.
pub fn ngram_sketch(comm: &dyn Collectives, tokens: &DocTokens, grams: Grams, n_docs: u64, opts: &VectorizerOptions) -> Option<Sketch> {
    let min_count = DfWindow::new(n_docs, opts.min_df, opts.max_df).map_or(0, |w| w.min_count());
    if min_count < 2 || grams.range.1 < 2 || grams.joiner != Joiner::Space {
        return None;
    }
    let local: u64 = (0..tokens.n_docs()).map(|d| long_ngrams(tokens.doc(d), grams)).sum();
    let total = comm.sum_u64_vec(&[local])[0];
    let (log2, cap) = (Sketch::log2_for(total), min_count.min(255) as u8);
    if Sketch::bytes_for(log2, cap) > MAX_BYTES {
        return None;
    }
    let bits = Sketch::lane_bits(comm.size(), cap)?;
    let mut sketch = Sketch::new(log2, cap);
    // Keys are gathered over many documents and each line is asked for
    // 16 keys ahead: the sketch is far larger than the caches.
    let mut keys = Vec::with_capacity(1 << 14);
    let flush = |sketch: &mut Sketch, keys: &mut Vec<u64>| {
        for (i, &k) in keys.iter().enumerate() {
            if let Some(&ahead) = keys.get(i + 16) {
                sketch.prefetch(ahead);
            }
            sketch.add(k);
        }
        keys.clear();
    };
    for d in 0..tokens.n_docs() {
        each_long_ngram_key(tokens.doc(d), grams, |k| keys.push(k));
        if keys.len() >= 1 << 13 {
            flush(&mut sketch, &mut keys);
        }
    }
    flush(&mut sketch, &mut keys);
    if comm.size() > 1 {
        let mut lanes = sketch.pack_lanes(bits);
        comm.all_reduce_u64(&mut lanes, Op::Sum);
        sketch.unpack_lanes(&lanes, bits);
    }
    Some(sketch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Joiner;

    #[test]
    fn keys_are_the_tables_ngrams_and_counted_alike() {
        for (within_words, range) in [(false, (1, 2)), (false, (2, 3)), (true, (2, 4))] {
            let grams = Grams { range, within_words, joiner: if within_words { Joiner::Nothing } else { Joiner::Space } };
            for doc in [&[][..], &[7], &[1, 2, 3, 4, 5], &[1, 2, WORD_END, 3, 4, 5, 6, WORD_END]] {
                let mut keys = Vec::new();
                each_long_ngram_key(doc, grams, |k| keys.push(k));
                assert_eq!(keys.len() as u64, long_ngrams(doc, grams), "{doc:?} {range:?}");
                // The key of an n-gram is its words chained: "2 3" here.
                if doc.len() == 5 {
                    assert!(keys.contains(&sketch::chain(sketch::chain(sketch::START, 2), 3)));
                }
            }
        }
    }
}
