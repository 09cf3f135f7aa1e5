//! The distributed vectorizer: from each rank's documents to its rows of the
//! global TF-IDF matrix (`TfidfVectorizer.fit_transform`, every rank its
//! own documents).
//!
//! Local and collective steps alternate, with an agreement point after each
//! fallible local step (see `agree` in [`crate::collectives`]):
//!
//! 1. tokenize and count the local documents (fallible: strict decoding);
//! 2. merge the ranks' terms into one sorted vocabulary ([`vocabulary`]);
//! 3. allreduce the document frequencies (and, for `max_features`, the total
//!    counts) over that shared column order;
//! 4. prune and compute idf identically on every rank;
//! 5. weight the local rows.
//!
//! In hashing mode steps 2 and 4's pruning vanish and the allreduce covers
//! the `N` hashed columns.

use crate::collectives::Collectives;
use crate::corpus::CorpusSlice;
use crate::error::Result;
use crate::text::{decode, Analyzer, DecodeError};
use crate::sparse::{Csr, RowBuilder};
use crate::tfidf::counts::{HashedCounter, LocalVocabulary};
use crate::tfidf::prune::{keep_mask, remap};
use crate::tfidf::weighting::{idf, weight_row};
use crate::tfidf::VectorizerOptions;
use vocabulary::{global_ids, merge_vocabulary};
use anyhow::bail;
use std::path::Path;

pub mod vocabulary;
use std::time::Instant;

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

/// Wall seconds of each phase on this rank.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PhaseTimes {
    pub tokenize: f64,
    pub vocabulary_merge: f64,
    pub df_allreduce: f64,
    pub transform: f64,
}

impl PhaseTimes {
    /// The phases with their names, in pipeline order.
    pub fn phases(&self) -> [(&'static str, f64); 4] {
        [("tokenize", self.tokenize), ("vocabulary_merge", self.vocabulary_merge), ("df_allreduce", self.df_allreduce), ("transform", self.transform)]
    }
}

/// Decodes document `i` of the slice, naming it on failure.
fn doc_text<'a>(slice: &'a CorpusSlice, i: usize, policy: DecodeError, path: &Path) -> Result<std::borrow::Cow<'a, str>> {
    decode(slice.doc(i), policy).map_err(|e| {
        anyhow::anyhow!(
            "'{}': document {} is not valid UTF-8 (byte {}); use --decode-error replace or ignore",
            path.display(),
            slice.first + i,
            e.at
        )
    })
}

/// Raw counts of this rank's documents over a local vocabulary.
fn count_terms(slice: &CorpusSlice, analyzer: &mut Analyzer, policy: DecodeError, path: &Path) -> Result<LocalVocabulary> {
    let mut v = LocalVocabulary::new();
    for i in 0..slice.len() {
        // A signalled rank reaches the next agreement point within a few thousand documents.
        crate::signals::check_every(i)?;
        v.add_document(analyzer, &doc_text(slice, i, policy, path)?);
    }
    v.finish_counting();
    Ok(v)
}

/// Raw signed counts of this rank's documents in `n` hashed columns.
fn count_hashed(slice: &CorpusSlice, analyzer: &mut Analyzer, n: u32, alternate_sign: bool, policy: DecodeError, path: &Path) -> Result<HashedCounter> {
    let mut h = HashedCounter::new(n, alternate_sign);
    for i in 0..slice.len() {
        crate::signals::check_every(i)?;
        h.add_document(analyzer, &doc_text(slice, i, policy, path)?);
    }
    Ok(h)
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
    if let Some(n_features) = opts.hashing {
        return fit_transform_hashed(comm, slice, opts, n_features, &mut analyzer, policy, path);
    }
    crate::faults::signal_if_asked("tokenize", comm.rank());
    let t0 = Instant::now();
    let local = comm.agree(count_terms(slice, &mut analyzer, policy, path))?;
    timings.tokenize = t0.elapsed().as_secs_f64();

    crate::faults::signal_if_asked("vocabulary", comm.rank());
    let t1 = Instant::now();
    let vocab = merge_vocabulary(comm, local.terms.iter());
    let vocab = comm.agree(vocab)?;
    let to_global = global_ids(local.terms.iter(), &vocab);
    timings.vocabulary_merge = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let (df, tf) = global_frequencies(comm, &local, &to_global, vocab.len(), opts);
    timings.df_allreduce = t2.elapsed().as_secs_f64();

    crate::faults::signal_if_asked("transform", comm.rank());
    let t3 = Instant::now();
    let n_docs = slice.n_total as u64;
    let (mask, new_col) = comm.agree(prune(&df, &tf, n_docs, opts))?;
    let kept_df: Vec<u64> = df.iter().zip(&mask).filter(|(_, &m)| m).map(|(&d, _)| d).collect();
    let vocabulary: Vec<Box<str>> = vocab.into_iter().zip(&mask).filter(|(_, &m)| m).map(|(t, _)| t).collect();
    let idf = opts.use_idf.then(|| idf(&kept_df, n_docs, opts.smooth_idf));
    let local_to_col: Vec<Option<u32>> = to_global.iter().map(|&g| new_col[g as usize]).collect();
    let mut rows = relabel(&local.rows, &local_to_col);
    drop(local);
    weight_rows(&mut rows, idf.as_deref(), opts);
    let rows = rows.finish(vocabulary.len());
    timings.transform = t3.elapsed().as_secs_f64();
    Ok(Features { rows, n_features: vocabulary.len(), n_docs, vocabulary: Some(vocabulary), idf, timings })
}

/// Collective: [`fit_transform`] in hashing mode: no vocabulary, one
/// allreduce of the `n_features` hashed columns' document frequencies.
fn fit_transform_hashed(
    comm: &dyn Collectives,
    slice: &CorpusSlice,
    opts: &VectorizerOptions,
    n_features: u32,
    analyzer: &mut Analyzer,
    policy: DecodeError,
    path: &Path,
) -> Result<Features> {
    let n_docs = slice.n_total as u64;
    let mut timings = PhaseTimes::default();
    let t0 = Instant::now();
    let counter = comm.agree(count_hashed(slice, analyzer, n_features, opts.alternate_sign, policy, path))?;
    timings.tokenize = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let df = comm.sum_u64_vec(&counter.df());
    timings.df_allreduce = t1.elapsed().as_secs_f64();
    comm.agree(if n_docs == 0 { Err(anyhow::anyhow!("the corpus has no documents")) } else { Ok(()) })?;
    let t2 = Instant::now();
    let idf = opts.use_idf.then(|| idf(&df, n_docs, opts.smooth_idf));
    let mut rows = counter.rows;
    weight_rows(&mut rows, idf.as_deref(), opts);
    let rows = rows.finish(n_features as usize);
    timings.transform = t2.elapsed().as_secs_f64();
    Ok(Features { rows, n_features: n_features as usize, n_docs, vocabulary: None, idf, timings })
}

/// Collective: document frequencies (and, for `max_features`, total
/// counts) of every column of the merged vocabulary, in one allreduce.
fn global_frequencies(comm: &dyn Collectives, local: &LocalVocabulary, to_global: &[u32], v: usize, opts: &VectorizerOptions) -> (Vec<u64>, Vec<u64>) {
    let (ldf, ltf) = local.df_and_tf();
    let width = if opts.max_features.is_some() { 2 * v } else { v };
    let mut send = vec![0u64; width];
    for (l, &g) in to_global.iter().enumerate() {
        send[g as usize] = ldf[l];
        if opts.max_features.is_some() {
            send[v + g as usize] = if opts.binary { ldf[l] } else { ltf[l] };
        }
    }
    let mut summed = comm.sum_u64_vec(&send);
    let tf = summed.split_off(v);
    (summed, tf)
}

/// The columns kept by `min_df`, `max_df` and `max_features`, and each old
/// column's new index. Every rank computes the same from the same numbers.
fn prune(df: &[u64], tf: &[u64], n_docs: u64, opts: &VectorizerOptions) -> Result<(Vec<bool>, Vec<Option<u32>>)> {
    if df.is_empty() {
        bail!("empty vocabulary: the documents hold no tokens (or only stop words)");
    }
    let mask = keep_mask(df, tf, n_docs, opts.min_df, opts.max_df, opts.max_features)?;
    let new_col = remap(&mask);
    Ok((mask, new_col))
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
    let mut rows = match (opts.hashing, vocabulary) {
        (Some(n), _) => count_hashed(slice, &mut analyzer, n, opts.alternate_sign, policy, path)?.rows,
        (None, Some(vocab)) => {
            let index: rustc_hash::FxHashMap<&str, u32> = vocab.iter().enumerate().map(|(i, t)| (&**t, i as u32)).collect();
            let local = count_terms(slice, &mut analyzer, policy, path)?;
            let map: Vec<Option<u32>> = local.terms.iter().map(|t| index.get(t).copied()).collect();
            relabel(&local.rows, &map)
        }
        (None, None) => bail!("the model has neither a vocabulary nor a hashing size"),
    };
    weight_rows(&mut rows, idf, opts);
    let n_cols = opts.hashing.map_or(vocabulary.map_or(0, |v| v.len()), |n| n as usize);
    Ok(rows.finish(n_cols))
}

/// Rows with local ids mapped to kept global columns (dropped ones removed),
/// each row sorted by column.
fn relabel(rows: &RowBuilder, map: &[Option<u32>]) -> RowBuilder {
    let mut out = RowBuilder::new();
    out.cols.reserve(rows.nnz());
    out.values.reserve(rows.nnz());
    // Sort keys `column << 32 | position`: a plain u64 sort, no comparator.
    let mut keys: Vec<u64> = Vec::new();
    for r in 0..rows.n_rows() {
        keys.clear();
        let start = rows.indptr[r];
        for k in start..rows.indptr[r + 1] {
            if let Some(c) = map[rows.cols[k] as usize] {
                keys.push((c as u64) << 32 | (k - start) as u64);
            }
        }
        keys.sort_unstable();
        for &key in &keys {
            out.cols.push((key >> 32) as u32);
            out.values.push(rows.values[start + (key & 0xffff_ffff) as usize]);
        }
        out.indptr.push(out.cols.len());
    }
    out
}

/// Applies tf-idf weighting row by row.
pub fn weight_rows(rows: &mut RowBuilder, idf: Option<&[f64]>, opts: &VectorizerOptions) {
    for r in 0..rows.n_rows() {
        let (a, b) = (rows.indptr[r], rows.indptr[r + 1]);
        weight_row(&rows.cols[a..b], &mut rows.values[a..b], idf, opts);
    }
}
