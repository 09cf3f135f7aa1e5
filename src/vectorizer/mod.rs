//! The distributed vectorizer: from each rank's documents to its rows of the
//! global TF-IDF matrix (`TfidfVectorizer.fit_transform`, every rank its
//! own documents).
//!
//! Local and collective steps alternate, with an agreement point after each
//! fallible local step (see `agree` in [`crate::collectives`]):
//!
//! 1. tokenize the local documents into word ids (fallible: strict decoding),
//!    on the rank's threads ([`spans`]);
//! 2. merge the ranks' words (a sorted list every rank holds) and count the
//!    local n-grams over the shared word ids ([`crate::tfidf::tokens`]);
//! 3. decide each term's document frequency and fate where the term is owned,
//!    and gather only the kept terms ([`owners`]): every rank then holds the
//!    same sorted vocabulary and its columns' document frequencies;
//! 4. compute idf identically on every rank;
//! 5. relabel and weight the local rows.
//!
//! In hashing mode there is no vocabulary: one allreduce sums the document
//! frequencies of the `N` hashed columns.

use crate::collectives::Collectives;
use crate::corpus::CorpusSlice;
use crate::error::Result;
use crate::phase::Phase;
use crate::text::{Analyzer, DecodeError, Decoder, Encoding, Grams, Joiner};
use crate::sparse::{Csr, RowBuilder};
use crate::tfidf::counts::{HashedCounter, LocalVocabulary};
use crate::tfidf::interner::Interner;
use crate::tfidf::sketch::Sketch;
use crate::tfidf::terms::TermTable;
use crate::tfidf::tokens::DocTokens;
use spans::Span;
use vocabulary::merge_vocabulary;
use crate::tfidf::weighting::{idf, weight_row};
use crate::tfidf::VectorizerOptions;
use anyhow::bail;
use std::path::Path;
use std::time::Instant;

pub mod owners;
pub mod rare;
mod spans;
pub mod vocabulary;

/// This rank's rows of the global matrix and what every rank shares.
pub struct Features {
    /// Local documents; columns are global and sorted within each row.
    pub rows: Csr,
    pub n_features: usize,
    /// Documents over all ranks.
    pub n_docs: u64,
    /// Column names (absent in hashing mode).
    pub vocabulary: Option<Vec<Box<str>>>,
    /// Per-column idf (absent with `use_idf = false`).
    pub idf: Option<Vec<f64>>,
    pub timings: PhaseTimes,
}

/// Wall seconds of each phase on this rank. With a fitted vocabulary the
/// document frequencies travel with the merge (`vocabulary_merge`);
/// `df_allreduce` is the allreduce over hashed or fixed-vocabulary columns.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PhaseTimes {
    pub tokenize: f64,
    pub vocabulary_merge: f64,
    pub df_allreduce: f64,
    pub transform: f64,
}

impl PhaseTimes {
    /// The phases, in pipeline order.
    pub fn phases(&self) -> [(Phase, f64); 4] {
        [(Phase::Tokenize, self.tokenize), (Phase::VocabularyMerge, self.vocabulary_merge), (Phase::DfAllreduce, self.df_allreduce), (Phase::Transform, self.transform)]
    }
}

/// How the slice's documents are decoded: text the file declares UTF-8 is
/// UTF-8; raw bytes are in the corpus's encoding (`--encoding`).
fn decoder(slice: &CorpusSlice, opts: &VectorizerOptions, policy: DecodeError) -> Decoder {
    Decoder::new(if slice.declared_utf8 { Encoding::Utf8 } else { opts.encoding }, policy)
}

/// Calls `f` with each decoded document of the span, naming a document
/// that cannot be decoded. A signalled rank stops within a few thousand
/// documents a thread and reaches the next agreement point; a span whose
/// result would be dropped (an earlier one failed) stops as soon.
fn each_document(slice: &CorpusSlice, span: &Span, dec: Decoder, path: &Path, mut f: impl FnMut(&str)) -> Result<()> {
    for i in span.docs.clone() {
        let k = i - span.docs.start;
        crate::signals::check_every(k)?;
        if k.is_multiple_of(crate::signals::CHECK_EVERY) && span.given_up() {
            bail!("given up: an earlier span of documents failed");
        }
        let text = dec.decode(slice.doc(i)).map_err(|e| anyhow::anyhow!("{}", dec.failure(&format!("'{}': document {}", path.display(), slice.first + i), e.at)))?;
        f(&text);
    }
    Ok(())
}

/// Raw counts of the span's documents over a local vocabulary of its own.
fn count_terms(slice: &CorpusSlice, span: &Span, analyzer: &mut Analyzer, dec: Decoder, path: &Path) -> Result<LocalVocabulary> {
    let mut v = LocalVocabulary::new(analyzer.grams().joiner);
    each_document(slice, span, dec, path, |doc| v.add_document(analyzer, doc))?;
    v.finish_counting();
    Ok(v)
}

/// This rank's documents as word ids (a fit's first pass), tokenized on the
/// rank's threads ([`crate::threads::count`]); the same at any count.
pub fn read_tokens(slice: &CorpusSlice, analyzer: &mut Analyzer, dec: Decoder, path: &Path) -> Result<DocTokens> {
    read_tokens_on(slice, analyzer, dec, path, crate::threads::count())
}

/// [`read_tokens`] on `threads` threads: spans tokenized apart, appended
/// in order ([`DocTokens::append`]).
fn read_tokens_on(slice: &CorpusSlice, analyzer: &mut Analyzer, dec: Decoder, path: &Path, threads: usize) -> Result<DocTokens> {
    let parts = spans::on_spans(slice, analyzer, threads, |span, a| {
        let mut t = DocTokens::new();
        // Room for a word in every three bytes (two word characters and a
        // separator, the default pattern's shortest), the most word tokens a
        // text can hold; more for the character analyzers, which grow the
        // buffer. The first span's buffer takes the others' tokens after it,
        // so it has room for the whole slice's (address space, not memory,
        // until they are written).
        let docs = if span.docs.start == 0 { 0..slice.len() } else { span.docs.clone() };
        t.reserve((slice.offsets[docs.end] - slice.offsets[docs.start]) / 3 + docs.len());
        each_document(slice, span, dec, path, |doc| t.add_document(a, doc))?;
        Ok(t)
    })?;
    Ok(join(parts, DocTokens::append))
}

/// Collective: every rank's words merged in sorted order, and the map from
/// this rank's word ids to their ids in it (entry `w` for local word `w`).
pub fn shared_words(comm: &dyn Collectives, tokens: &DocTokens) -> Result<(Interner, Vec<u32>)> {
    if comm.size() == 1 {
        return Ok(sorted_words(&tokens.words));
    }
    let merged = merge_vocabulary(comm, tokens.words.iter())?;
    let mut words = Interner::new();
    merged.iter().for_each(|w| {
        words.intern(w);
    });
    drop(merged);
    let map: Vec<u32> = tokens.words.iter().map(|w| words.find(w).expect("every local word is in the merged list")).collect();
    Ok((words, map))
}

/// [`shared_words`] at one rank: the words are this rank's, distinct
/// already, and only need sorting. Their ids are sorted by string and
/// numbered in that order, where the collective path would pack, copy,
/// unpack, sort and dedupe them, then look each one up again (a third of
/// the real corpus's vocabulary merge).
fn sorted_words(local: &Interner) -> (Interner, Vec<u32>) {
    let mut order: Vec<(&str, u32)> = local.iter().zip(0..).collect();
    order.sort_unstable();
    let mut words = Interner::new();
    let mut map = vec![0; order.len()];
    for &(w, id) in &order {
        map[id as usize] = words.intern(w);
    }
    (words, map)
}

/// Whether the terms are the units themselves (unigrams, no word ends):
/// then they are counted by [`count_unigrams`], into rows already in
/// column order.
fn unigrams_only(grams: Grams) -> bool {
    grams.range == (1, 1) && !grams.within_words
}

/// Raw counts of this rank's units as unigram terms over the shared
/// `words` ([`LocalVocabulary::add_unigrams`]). The tokens keep their local
/// ids: `to_shared` maps each as its document is counted, not in a pass of
/// its own over every token (0.03 s of the generated corpus's vocabulary
/// merge, of which the counting took back up to half).
pub fn count_unigrams(tokens: &DocTokens, to_shared: &[u32], words: Interner, grams: Grams) -> Result<LocalVocabulary> {
    let mut v = LocalVocabulary::with_unigrams(words, grams.joiner);
    v.rows.reserve_huge(tokens.n_units(), tokens.n_docs());
    for d in 0..tokens.n_docs() {
        crate::signals::check_every(d)?;
        v.add_unigrams(tokens.doc(d), to_shared);
    }
    v.finish_counting();
    Ok(v)
}

/// Raw counts of this rank's n-grams over the shared words (the tokens
/// already [`DocTokens::remap`]ped to them); with a `sketch`, only of the
/// n-grams it admits (and all unigrams).
pub fn count_ngrams(tokens: &DocTokens, words: Interner, grams: Grams, sketch: Option<Sketch>) -> Result<LocalVocabulary> {
    let mut v = LocalVocabulary::with_words(TermTable::with_words(words, grams.joiner));
    v.terms.admit_by(sketch);
    // At most one n-gram of each length starts at each unit: for words,
    // close to what is counted. Character n-grams repeat within a document
    // far more, and their bound (four entries a character for 2-5) could
    // exceed what the system lets one allocation reserve: their rows grow
    // as they are filled.
    if grams.joiner == Joiner::Space {
        let sizes = grams.range.1 + 1 - grams.range.0.min(grams.range.1);
        v.rows.reserve_huge(tokens.n_units() * sizes, tokens.n_docs());
    }
    for d in 0..tokens.n_docs() {
        crate::signals::check_every(d)?;
        v.add_words(tokens.doc(d), grams);
    }
    v.finish_counting();
    Ok(v)
}

/// Raw signed counts of this rank's documents in `n` hashed columns, on
/// the rank's threads: spans counted apart, their rows appended in order
/// (a row depends on its document alone).
fn count_hashed(slice: &CorpusSlice, analyzer: &mut Analyzer, n: u32, alternate_sign: bool, dec: Decoder, path: &Path) -> Result<RowBuilder> {
    count_hashed_on(slice, analyzer, n, alternate_sign, dec, path, crate::threads::count())
}

/// [`count_hashed`] on `threads` threads (the tests' count, not the process's).
fn count_hashed_on(slice: &CorpusSlice, analyzer: &mut Analyzer, n: u32, alternate_sign: bool, dec: Decoder, path: &Path, threads: usize) -> Result<RowBuilder> {
    let parts = spans::on_spans(slice, analyzer, threads, |span, a| {
        let mut h = HashedCounter::new(n, alternate_sign);
        each_document(slice, span, dec, path, |doc| h.add_document(a, doc))?;
        Ok(h.rows)
    })?;
    Ok(join(parts, RowBuilder::append))
}

/// The spans' results (tokens or rows), each appended to the first in span order.
fn join<T>(parts: Vec<T>, append: impl Fn(&mut T, T)) -> T {
    let mut parts = parts.into_iter();
    let mut whole = parts.next().expect("at least one span");
    parts.for_each(|p| append(&mut whole, p));
    whole
}

/// Collective: the TF-IDF rows of this rank's documents, fitting the
/// vocabulary and idf on the whole corpus.
pub fn fit_transform(
    comm: &dyn Collectives,
    slice: &CorpusSlice,
    opts: &VectorizerOptions,
    policy: DecodeError,
    path: &Path,
) -> Result<Features> {
    let mut analyzer = Analyzer::new(opts.analyzer.clone());
    let mut timings = PhaseTimes::default();
    let dec = decoder(slice, opts, policy);
    if let Some(n) = opts.hashing {
        return fit_transform_fixed(comm, slice, opts, n as usize, None, || count_hashed(slice, &mut analyzer, n, opts.alternate_sign, dec, path));
    }
    if let Some(vocabulary) = &opts.vocabulary {
        return fit_transform_fixed(comm, slice, opts, vocabulary.len(), Some(vocabulary), || count_in_vocabulary(slice, &mut analyzer, dec, path, vocabulary));
    }
    let mut tokens = Phase::Tokenize.run(comm, &mut timings.tokenize, || read_tokens(slice, &mut analyzer, dec, path))?;
    let (words, to_shared) = Phase::VocabularyMerge.run(comm, &mut timings.vocabulary_merge, || shared_words(comm, &tokens))?;

    // Counting the n-grams is tokenizing's work; their rare-term sketch is collective.
    let t2 = Instant::now();
    let grams = analyzer.grams();
    let mut local = if unigrams_only(grams) {
        comm.agree(count_unigrams(&tokens, &to_shared, words, grams))?
    } else {
        tokens.remap(&to_shared);
        let sketch = rare::ngram_sketch(comm, &tokens, grams, slice.n_total as u64, opts);
        comm.agree(count_ngrams(&tokens, words, grams, sketch))?
    };
    drop(tokens);
    timings.tokenize += t2.elapsed().as_secs_f64();

    let n_docs = slice.n_total as u64;
    let fitted = Phase::VocabularyMerge.run(comm, &mut timings.vocabulary_merge, || owners::fit_vocabulary(comm, &mut local, n_docs, opts))?;
    comm.agree(storable(&fitted.vocabulary))?;

    let t4 = Phase::Transform.begin(comm.rank());
    let idf = opts.use_idf.then(|| idf(&fitted.df, n_docs, opts.smooth_idf));
    let mut rows = local.into_rows();
    // Rows in column order are weighted as they are relabelled, while in
    // cache (0.064 -> 0.056 s on the generated corpus); rows sorted there
    // are weighted in a pass of their own, which measured faster for them
    // (bigrams 0.51-0.54 s against 0.56-0.58 fused).
    if unigrams_only(grams) {
        relabel(&mut rows, &fitted.local_to_col, true, |cols, values| weight_row(cols, values, idf.as_deref(), opts));
    } else {
        relabel(&mut rows, &fitted.local_to_col, false, |_, _| {});
        weight_rows(&mut rows, idf.as_deref(), opts);
    }
    drop(fitted.local_to_col);
    let n_features = fitted.vocabulary.len();
    let rows = rows.finish(n_features);
    timings.transform = t4.elapsed().as_secs_f64();
    Ok(Features { rows, n_features, n_docs, vocabulary: Some(fitted.vocabulary), idf, timings })
}

/// HDF5 strings end at a NUL: a vocabulary holding one (a character
/// n-gram of a corpus with NUL characters) cannot be written. Said before
/// the rows are weighted (every rank holds the same vocabulary).
fn storable(vocabulary: &[Box<str>]) -> Result<()> {
    match vocabulary.iter().position(|t| t.contains('\0')) {
        Some(i) => bail!("the vocabulary's term {:?} (column {i}) holds a NUL character, which HDF5 strings cannot store; remove NUL characters from the corpus, or use --hashing N", vocabulary[i]),
        None => Ok(()),
    }
}

/// Collective: [`fit_transform`] over columns fixed before counting:
/// hashed (`vocabulary` absent) or a fixed vocabulary (`--vocabulary`: its
/// terms are the columns in the given order, the others are ignored).
/// `count` gives the local rows; one allreduce sums the columns' document
/// frequencies for idf.
fn fit_transform_fixed(
    comm: &dyn Collectives,
    slice: &CorpusSlice,
    opts: &VectorizerOptions,
    n_cols: usize,
    vocabulary: Option<&[Box<str>]>,
    count: impl FnOnce() -> Result<RowBuilder>,
) -> Result<Features> {
    let n_docs = slice.n_total as u64;
    let mut timings = PhaseTimes::default();
    let mut rows = Phase::Tokenize.run(comm, &mut timings.tokenize, count)?;
    let t1 = Phase::DfAllreduce.begin(comm.rank());
    let mut df = vec![0u64; n_cols];
    rows.cols.iter().for_each(|&c| df[c as usize] += 1);
    let df = comm.sum_u64_vec(&df);
    timings.df_allreduce = t1.elapsed().as_secs_f64();
    comm.agree(if n_docs == 0 { Err(anyhow::anyhow!("the corpus has no documents")) } else { Ok(()) })?;
    let t2 = Phase::Transform.begin(comm.rank());
    let idf = opts.use_idf.then(|| idf(&df, n_docs, opts.smooth_idf));
    weight_rows(&mut rows, idf.as_deref(), opts);
    let rows = rows.finish(n_cols);
    timings.transform = t2.elapsed().as_secs_f64();
    Ok(Features { rows, n_features: n_cols, n_docs, vocabulary: vocabulary.map(<[Box<str>]>::to_vec), idf, timings })
}

/// This rank's raw counts in the columns of a fixed `vocabulary` (terms
/// outside it dropped), rows sorted by column, on the rank's threads: each
/// span counts over a local vocabulary of its own and maps it to the
/// columns; a row's columns and counts do not depend on the local ids, so
/// the spans' rows appended in order are one pass's.
fn count_in_vocabulary(slice: &CorpusSlice, analyzer: &mut Analyzer, dec: Decoder, path: &Path, vocabulary: &[Box<str>]) -> Result<RowBuilder> {
    count_in_vocabulary_on(slice, analyzer, dec, path, vocabulary, crate::threads::count())
}

/// [`count_in_vocabulary`] on `threads` threads (the tests' count, not the process's).
fn count_in_vocabulary_on(slice: &CorpusSlice, analyzer: &mut Analyzer, dec: Decoder, path: &Path, vocabulary: &[Box<str>], threads: usize) -> Result<RowBuilder> {
    let parts = spans::on_spans(slice, analyzer, threads, |span, a| {
        let local = count_terms(slice, span, a, dec, path)?;
        let map = vocabulary_columns(&local, vocabulary);
        let mut rows = local.into_rows();
        relabel(&mut rows, &map, false, |_, _| {});
        Ok(rows)
    })?;
    Ok(join(parts, RowBuilder::append))
}

/// Each local term's column in `vocabulary` ([`owners::NONE`] outside it).
fn vocabulary_columns(local: &LocalVocabulary, vocabulary: &[Box<str>]) -> Vec<u32> {
    let mut map = vec![owners::NONE; local.terms.len()];
    for (col, term) in vocabulary.iter().enumerate() {
        if let Some(id) = local.terms.lookup(term) {
            map[id as usize] = col as u32;
        }
    }
    map
}

/// The rows of this rank's documents under an already fitted vectorizer
/// (`predict`, `evaluate`): a fixed vocabulary and idf, no collectives.
/// Terms outside the vocabulary are ignored, as sklearn's `transform` does.
pub fn transform(
    slice: &CorpusSlice,
    opts: &VectorizerOptions,
    vocabulary: Option<&[Box<str>]>,
    idf: Option<&[f64]>,
    policy: DecodeError,
    path: &Path,
) -> Result<Csr> {
    let mut analyzer = Analyzer::new(opts.analyzer.clone());
    let dec = decoder(slice, opts, policy);
    let mut rows = match (opts.hashing, vocabulary) {
        (Some(n), _) => count_hashed(slice, &mut analyzer, n, opts.alternate_sign, dec, path)?,
        (None, Some(vocab)) => count_in_vocabulary(slice, &mut analyzer, dec, path, vocab)?,
        (None, None) => bail!("the model has neither a vocabulary nor a hashing size"),
    };
    weight_rows(&mut rows, idf, opts);
    let n_cols = opts.hashing.map_or(vocabulary.map_or(0, |v| v.len()), |n| n as usize);
    Ok(rows.finish(n_cols))
}

/// Maps local ids to kept global columns in place, dropping the others
/// (mapped to [`owners::NONE`]), and
/// sorts each row by column unless `in_order` says the rows are sorted and
/// the map keeps their order; then hands each finished row to `weigh`.
/// Rows only shrink, so row `r` is written at or before where it was read.
fn relabel(rows: &mut RowBuilder, map: &[u32], in_order: bool, mut weigh: impl FnMut(&[u32], &mut [f64])) {
    let mut keys = Vec::<u64>::new();
    let (mut start, mut write) = (0, 0);
    for r in 0..rows.n_rows() {
        let end = rows.indptr[r + 1];
        let n = if in_order {
            relabel_in_order(&mut rows.cols, &mut rows.values, start..end, write, map)
        } else {
            relabel_row(&mut rows.cols, &mut rows.values, start..end, write, map, &mut keys)
        };
        weigh(&rows.cols[write..write + n], &mut rows.values[write..write + n]);
        write += n;
        rows.indptr[r + 1] = write;
        start = end;
    }
    rows.cols.truncate(write);
    rows.values.truncate(write);
}

/// Relabels the row at `range`, whose order the map keeps, writing its kept
/// entries from `write` on; returns their number. Every entry is written and
/// the kept ones counted: whether a term was kept is a coin toss the branch
/// predictor loses. The map is small enough here (the words) to stay cached.
fn relabel_in_order(cols: &mut [u32], values: &mut [f64], range: std::ops::Range<usize>, write: usize, map: &[u32]) -> usize {
    let mut n = write;
    for k in range {
        let c = map[cols[k] as usize];
        (cols[n], values[n]) = (c, values[k]);
        n += (c != owners::NONE) as usize;
    }
    debug_assert!(cols[write..n].is_sorted(), "rows said to be in column order are not");
    n - write
}

/// Relabels and sorts the row at `range`, writing it from `write` on;
/// returns its kept length. The values are raw counts: when each is a
/// whole number below 2^32 it travels in the low half of its column's sort
/// key, so one plain `u64` sort orders the row and nothing is gathered
/// afterwards; otherwise (never for counts in practice) the key carries the
/// entry's position.
fn relabel_row(cols: &mut [u32], values: &mut [f64], range: std::ops::Range<usize>, write: usize, map: &[u32], keys: &mut Vec<u64>) -> usize {
    /// Map entries asked for this many entries ahead, across rows (the map
    /// of a large vocabulary is far larger than the caches, rows are in no
    /// order, and an entry's own work is a few nanoseconds against ~100 for
    /// a miss). The entries ahead are not relabelled yet: `write <= k`.
    const AHEAD: usize = 64;
    let small = values[range.clone()].iter().all(|&v| (v as u32) as f64 == v);
    // Every entry's key is written and the kept ones counted: whether a
    // term was kept is a coin toss the branch predictor loses.
    keys.clear();
    keys.resize(range.len(), 0);
    let mut n = 0;
    for k in range.clone() {
        if let Some(&ahead) = cols.get(k + AHEAD) {
            crate::prefetch::prefetch(&map[ahead as usize..][..1]);
        }
        let c = map[cols[k] as usize];
        let low = if small { values[k] as u32 } else { (k - range.start) as u32 };
        keys[n] = (c as u64) << 32 | low as u64;
        n += (c != owners::NONE) as usize;
    }
    keys.truncate(n);
    keys.sort_unstable();
    if !small {
        let held: Vec<f64> = keys.iter().map(|&key| values[range.start + (key as u32) as usize]).collect();
        for (i, (&key, v)) in keys.iter().zip(held).enumerate() {
            (cols[write + i], values[write + i]) = ((key >> 32) as u32, v);
        }
        return keys.len();
    }
    for (i, &key) in keys.iter().enumerate() {
        (cols[write + i], values[write + i]) = ((key >> 32) as u32, (key as u32) as f64);
    }
    keys.len()
}

/// Applies tf-idf weighting row by row.
pub fn weight_rows(rows: &mut RowBuilder, idf: Option<&[f64]>, opts: &VectorizerOptions) {
    for r in 0..rows.n_rows() {
        let (a, b) = (rows.indptr[r], rows.indptr[r + 1]);
        weight_row(&rows.cols[a..b], &mut rows.values[a..b], idf, opts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slice of `docs` (raw bytes, declared UTF-8), starting at document 5
    /// of the corpus.
    fn slice_of(docs: &[&[u8]]) -> CorpusSlice {
        let mut offsets = vec![0];
        docs.iter().for_each(|d| offsets.push(offsets.last().unwrap() + d.len()));
        CorpusSlice { first: 5, n_total: docs.len() + 5, bytes: docs.concat(), offsets, declared_utf8: true, labels: None, label_names: None }
    }

    /// Repeated and unique words, across documents of very unequal lengths
    /// (spans by bytes cut between different documents at each count).
    fn corpus() -> Vec<Vec<u8>> {
        let mut docs: Vec<String> = (0..40).map(|i| format!("w{} shared w{} Café {}", i % 7, i * 13 % 11, "x ".repeat(i % 5))).collect();
        docs.insert(3, String::new());
        docs.insert(9, "long ".repeat(60) + "only-here");
        docs.push("last words: shared w3 zed".into());
        docs.into_iter().map(String::into_bytes).collect()
    }

    fn analyzers() -> Vec<crate::text::AnalyzerOptions> {
        let word = crate::text::AnalyzerOptions::default();
        let bigrams = crate::text::AnalyzerOptions { ngram_range: (1, 2), ..word.clone() };
        let char_wb = crate::text::AnalyzerOptions { kind: crate::text::AnalyzerKind::CharWb, ngram_range: (2, 4), ..word.clone() };
        vec![word, bigrams, char_wb]
    }

    /// Tokenizing, hashing and counting in a fixed vocabulary give the same
    /// words, ids and rows at any thread count.
    #[test]
    fn threads_tokenize_as_one_pass() {
        let docs = corpus();
        let slice = slice_of(&docs.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let (dec, path) = (Decoder::default(), Path::new("c.h5"));
        let vocabulary: Vec<Box<str>> = ["w3", "shared", "zed", "caf", "w1 shared", "ne"].iter().map(|&t| t.into()).collect();
        for opts in analyzers() {
            let mut a = Analyzer::new(opts.clone());
            let one = read_tokens_on(&slice, &mut a, dec, path, 1).unwrap();
            let hashed = count_hashed_on(&slice, &mut a, 64, true, dec, path, 1).unwrap();
            let fixed = count_in_vocabulary_on(&slice, &mut a, dec, path, &vocabulary, 1).unwrap();
            assert!(one.words.len() > 10 && hashed.nnz() > 40, "{opts:?}");
            for threads in [2, 3, 7] {
                let many = read_tokens_on(&slice, &mut a, dec, path, threads).unwrap();
                assert_eq!(many.parts(), one.parts(), "{opts:?} at {threads} threads");
                assert_eq!(count_hashed_on(&slice, &mut a, 64, true, dec, path, threads).unwrap(), hashed, "{opts:?} at {threads} threads");
                assert_eq!(count_in_vocabulary_on(&slice, &mut a, dec, path, &vocabulary, threads).unwrap(), fixed, "{opts:?} at {threads} threads");
            }
        }
    }

    /// The error names the first bad document, whichever thread met it.
    #[test]
    fn threads_name_the_first_bad_document() {
        let mut docs = corpus();
        docs[30] = b"bad \xff here".to_vec();
        docs[12] = b"\xfe first".to_vec();
        let slice = slice_of(&docs.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let mut a = Analyzer::new(crate::text::AnalyzerOptions::default());
        for threads in [1, 2, 3, 7] {
            let e = read_tokens_on(&slice, &mut a, Decoder::default(), Path::new("c.h5"), threads).err().expect("a bad document");
            assert_eq!(e.to_string(), "'c.h5': document 17: not valid UTF-8 (byte 0); use --decode-error replace or ignore, or name its --encoding", "{threads} threads");
            let e = count_hashed_on(&slice, &mut a, 8, true, Decoder::default(), Path::new("c.h5"), threads).expect_err("a bad document");
            assert!(e.to_string().starts_with("'c.h5': document 17:"), "{e}");
        }
    }

    #[test]
    fn relabelled_rows_keep_their_counts_in_column_order() {
        // Row 0 has small counts; row 1 a count beyond 32 bits and a fraction
        // (the positional path); local id 2 is dropped.
        let mut rows = RowBuilder::new();
        for (c, v) in [(0, 3.0), (1, 1.0), (2, 7.0), (3, 2.0)] {
            rows.push(c, v);
        }
        rows.end_row();
        rows.end_row();
        for (c, v) in [(3, 5e9), (2, 1.0), (0, 0.5), (1, 4.0)] {
            rows.push(c, v);
        }
        rows.end_row();
        let map = [9, 4, owners::NONE, 0];
        relabel(&mut rows, &map, false, |_, _| {});
        assert_eq!(rows.indptr, [0, 3, 3, 6]);
        assert_eq!(rows.cols, [0, 4, 9, 0, 4, 9]);
        assert_eq!(rows.values, [2.0, 1.0, 3.0, 5e9, 4.0, 0.5]);
    }

    #[test]
    fn one_rank_sorts_its_words_as_the_collective_merge() {
        let mut tokens = DocTokens::new();
        let mut a = crate::text::Analyzer::new(crate::text::AnalyzerOptions::default());
        tokens.add_document(&mut a, "zeta alpha éclair beta alpha");
        tokens.add_document(&mut a, "zz alphabet al beta");
        let (words, map) = sorted_words(&tokens.words);
        let merged = crate::collectives::local::run_ranks(1, |comm| merge_vocabulary(comm, tokens.words.iter()).unwrap()).remove(0);
        assert_eq!(words.iter().collect::<Vec<_>>(), merged.iter().map(|w| &**w).collect::<Vec<_>>());
        for (local, w) in tokens.words.iter().enumerate() {
            assert_eq!(words.get(map[local]), w);
        }
        assert_eq!(words.get(0), "al");
    }

    #[test]
    fn rows_in_order_keep_it_through_a_monotone_map() {
        // Local ids 1 and 4 dropped, the others mapped in increasing order;
        // the rows compact over the dropped entries.
        let mut rows = RowBuilder::new();
        for row in [&[(0, 2.0), (1, 1.0), (3, 4.0)][..], &[], &[(1, 6.0), (4, 1.0)], &[(2, 1.0), (3, 0.5), (4, 3.0)]] {
            row.iter().for_each(|&(c, v)| rows.push(c, v));
            rows.end_row();
        }
        let map = [3, owners::NONE, 5, 8, owners::NONE];
        relabel(&mut rows, &map, true, |_, _| {});
        assert_eq!(rows.indptr, [0, 2, 2, 2, 4]);
        assert_eq!(rows.cols, [3, 8, 5, 8]);
        assert_eq!(rows.values, [2.0, 4.0, 1.0, 0.5]);
    }
}
