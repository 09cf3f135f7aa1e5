//! Single-rank throughput of the vectorizer's pure stages on generated text:
//! tokenizing alone, tokenizing and counting (the interner), and weighting.
//! Run with `cargo bench --bench vectorize`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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
            let mut v = LocalVocabulary::new();
            for d in &docs {
                v.add_document(&mut a, d);
            }
            v.rows.nnz()
        })
    });
    g.bench_function("tokenize_bigrams_and_count", |b| {
        let mut a = Analyzer::new(AnalyzerOptions { ngram_range: (1, 2), ..Default::default() });
        b.iter(|| {
            let mut v = LocalVocabulary::new();
            for d in &docs {
                v.add_document(&mut a, d);
            }
            v.rows.nnz()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
