//! Tokenizing on the rank's threads (`--threads`): the slice's documents in
//! contiguous spans of about equal bytes, each tokenized on a thread of its
//! own with an analyzer of its own, the spans' results joined in span order
//! on the calling thread. A join in document order gives what one pass
//! gives (see [`crate::tfidf::tokens::DocTokens::append`]), so the output
//! does not depend on the thread count.
//!
//! Errors keep their one-thread meaning: the error reported is that of the
//! earliest span that failed, which is the first bad document of the slice
//! (a span stops at its first one); later spans give up once an earlier one
//! has failed, since their work would be thrown away.

use crate::corpus::CorpusSlice;
use crate::error::Result;
use crate::text::Analyzer;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One span of documents being tokenized, and what it needs to know of
/// the others.
pub struct Span<'a> {
    /// The span's documents (indices into the slice).
    pub docs: Range<usize>,
    index: usize,
    /// The lowest index of a span that failed (`usize::MAX`: none yet).
    failed: &'a AtomicUsize,
}

impl Span<'_> {
    /// Whether an earlier span failed: this one's result would be dropped.
    pub fn given_up(&self) -> bool {
        self.failed.load(Ordering::Relaxed) < self.index
    }
}

/// The span's result, recording a failure so that later spans give up.
fn settle<T>(span: &Span, r: Result<T>) -> Result<T> {
    if r.is_err() {
        span.failed.fetch_min(span.index, Ordering::Relaxed);
    }
    r
}

/// Contiguous spans of the slice's documents for `threads` threads, about
/// equal in bytes (tokenizing's work goes with the bytes), empty ones
/// dropped (at least one span, maybe empty).
fn doc_spans(slice: &CorpusSlice, threads: usize) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    if threads > 1 && slice.len() > 1 {
        spans.extend(crate::threads::spans(&slice.offsets, threads).into_iter().filter(|s| !s.is_empty()));
    }
    if spans.is_empty() {
        spans.push(0..slice.len());
    }
    spans
}

/// `f(span, analyzer)` on each of `threads` spans of the slice's documents,
/// each on a thread of its own (the first on this one, with `analyzer`; the
/// others with a [`Analyzer::fork`] of it): the spans' results in document
/// order, or the earliest span's error.
pub fn on_spans<T: Send>(
    slice: &CorpusSlice,
    analyzer: &mut Analyzer,
    threads: usize,
    f: impl Fn(&Span, &mut Analyzer) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let ranges = doc_spans(slice, threads);
    let failed = AtomicUsize::new(usize::MAX);
    let mut forks: Vec<Analyzer> = ranges.iter().skip(1).map(|_| analyzer.fork()).collect();
    let mut results: Vec<Option<Result<T>>> = ranges.iter().map(|_| None).collect();
    let analyzers = std::iter::once(analyzer).chain(forks.iter_mut());
    let work: Vec<_> = ranges.into_iter().enumerate().zip(analyzers).zip(results.iter_mut()).collect();
    crate::threads::each(work, |(((index, docs), a), out)| {
        let span = Span { docs, index, failed: &failed };
        *out = Some(settle(&span, f(&span, a)));
    });
    results.into_iter().map(|r| r.expect("every span ran")).collect()
}
