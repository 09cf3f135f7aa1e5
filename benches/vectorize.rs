//! Throughput of the vectorizer's stages on generated text: tokenizing
//! alone, tokenizing and counting (unigrams, bigrams), and the vocabulary
//! merge of word bigrams with `min_df 2` (`owners::fit_vocabulary`: owners
//! tally, prune, gather the kept terms, answer the columns) at 1, 2 and 4
//! ranks in one process (ranks as threads; the slowest rank's time).
//! Run with `cargo bench --bench vectorize`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::Path;
use std::time::{Duration, Instant};
use textsaga::collectives::local::run_ranks;
use textsaga::corpus::CorpusSlice;
use textsaga::text::{Decoder, Joiner};
use textsaga::tfidf::{DfBound, VectorizerOptions};
use textsaga::vectorizer::{count_ngrams, owners, read_tokens, shared_words};
use textsaga::commands::generate::word;
use textsaga::text::{Analyzer, AnalyzerOptions};
use textsaga::tfidf::counts::LocalVocabulary;

/// Zipf-like text without the generator's file I/O: word i with weight ~1/i.
fn corpus(docs: usize, words_per_doc: usize) -> Vec<String> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..docs)
        .map(|_| {
            let mut d = String::new();
            for j in 0..words_per_doc {
                if j > 0 {
                    d.push(' ');
                }
                // Inverse-CDF of a 1/x law over 50k words.
                let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
                word((50_000f64.powf(u) - 1.0) as u64, &mut d);
            }
            d
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let docs = corpus(5_000, 100);
    let bytes: usize = docs.iter().map(String::len).sum();
    let mut g = c.benchmark_group("vectorize");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("tokenize", |b| {
        let mut a = Analyzer::new(AnalyzerOptions::default());
        b.iter(|| {
            let mut n = 0usize;
            for d in &docs {
                a.for_each_term(d, |t| n += t.len());
            }
            n
        })
    });
    g.bench_function("tokenize_and_count", |b| {
        let mut a = Analyzer::new(AnalyzerOptions::default());
        b.iter(|| {
            let mut v = LocalVocabulary::new(Joiner::Space);
            for d in &docs {
                v.add_document(&mut a, d);
            }
            v.rows.nnz()
        })
    });
    g.bench_function("tokenize_bigrams_and_count", |b| {
        let mut a = Analyzer::new(AnalyzerOptions { ngram_range: (1, 2), ..Default::default() });
        b.iter(|| {
            let mut v = LocalVocabulary::new(Joiner::Space);
            for d in &docs {
                v.add_document(&mut a, d);
            }
            v.rows.nnz()
        })
    });
    g.finish();
    merge(c, &docs);
}

/// Rank `r` of `p`'s documents as a corpus slice (contiguous blocks).
fn slice_of(docs: &[String], p: usize, r: usize) -> CorpusSlice {
    let (a, b) = (docs.len() * r / p, docs.len() * (r + 1) / p);
    let mut offsets = vec![0usize];
    docs[a..b].iter().for_each(|d| offsets.push(offsets.last().unwrap() + d.len()));
    CorpusSlice { first: a, n_total: docs.len(), bytes: docs[a..b].concat().into_bytes(), offsets, declared_utf8: true, labels: None, label_names: None }
}

fn merge(c: &mut Criterion, docs: &[String]) {
    let mut opts = VectorizerOptions::default();
    opts.analyzer.ngram_range = (1, 2);
    opts.min_df = DfBound::Count(2);
    let mut g = c.benchmark_group("vocabulary_merge_bigrams_min_df2");
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.sample_size(10);
    for p in [1, 2, 4] {
        g.bench_with_input(BenchmarkId::from_parameter(format!("{p}_ranks")), &p, |b, &p| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let times = run_ranks(p, |comm| {
                            let slice = slice_of(docs, p, comm.rank());
                            let mut a = Analyzer::new(opts.analyzer.clone());
                            let mut tokens = read_tokens(&slice, &mut a, Decoder::default(), Path::new("bench")).unwrap();
                            let (words, to_shared) = shared_words(comm, &tokens).unwrap();
                            tokens.remap(&to_shared);
                            let mut local = count_ngrams(&tokens, words, a.grams(), None).unwrap();
                            comm.barrier();
                            let t = Instant::now();
                            owners::fit_vocabulary(comm, &mut local, docs.len() as u64, &opts).unwrap();
                            t.elapsed()
                        });
                        times.into_iter().max().unwrap()
                    })
                    .sum::<Duration>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
