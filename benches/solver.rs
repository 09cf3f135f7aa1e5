//! Single-rank cost of the solver's and the vectorizer's number crunching on
//! a generated TF-IDF matrix shaped like the generated corpus of docs/measured.md (Zipf columns,
//! ~68 non-zeros a row, L2-normalised rows):
//!
//! - `tfidf_transform`: idf weighting and L2 normalisation of counted rows;
//! - `saga_epoch/binary` and `saga_epoch/classes20`: one epoch of SAGA at
//!   batch 1 (the step size planned once, outside the timing);
//! - `saga_epoch/classes20_d1.3m`: the same over 1.3 M columns (the size
//!   of a bigram vocabulary), where the weights no longer fit in cache.
//!
//! Throughput is in samples (documents). The combine step's collective is
//! measured under MPI by `benches/combine.rs` (scripts/bench_combine.sh).
//! Run with `cargo bench --bench solver`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use textsaga::vectorizer::weight_rows;
use textsaga::collectives::local::single_rank;
use textsaga::solver::{EpochReport, Progress, SolverOptions, TrainingSet};
use textsaga::sparse::{RowBuilder, Rows};
use textsaga::tfidf::VectorizerOptions;

const DOCS: usize = 20_000;
const FEATURES: usize = 50_000;

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Raw counts: ~68 distinct Zipf-distributed terms (of `features`) a
/// document, plus label-dependent topic terms so that the classes can be learnt.
fn counts(classes: usize, features: usize) -> (RowBuilder, Vec<u32>) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut x = RowBuilder::new();
    let mut y = Vec::with_capacity(DOCS);
    for _ in 0..DOCS {
        let label = (rng.next() % classes as u64) as u32;
        let mut row: Vec<u32> = (0..90).map(|_| (features as f64).powf(rng.unit()) as u32 - 1).collect();
        row.extend((0..8).map(|t| (features - 1 - (label as usize * 8 + t)) as u32));
        row.sort_unstable();
        let mut at = 0;
        while at < row.len() {
            let run = row[at..].iter().take_while(|&&j| j == row[at]).count();
            x.push(row[at], run as f64);
            at += run;
        }
        x.end_row();
        y.push(label);
    }
    (x, y)
}

fn idf(x: &RowBuilder, features: usize) -> Vec<f64> {
    let mut df = vec![0u64; features];
    x.cols.iter().for_each(|&j| df[j as usize] += 1);
    textsaga::tfidf::weighting::idf(&df, DOCS as u64, true)
}

fn bench(c: &mut Criterion) {
    let opts = VectorizerOptions::default();
    let (raw, _) = counts(2, FEATURES);
    let idf_all = idf(&raw, FEATURES);
    let mut g = c.benchmark_group("tfidf");
    g.throughput(Throughput::Elements(DOCS as u64));
    g.bench_function("tfidf_transform", |b| {
        b.iter_batched_ref(|| raw.clone(), |rows| weight_rows(rows, Some(&idf_all), &opts), criterion::BatchSize::LargeInput)
    });
    g.finish();

    let mut g = c.benchmark_group("saga_epoch");
    g.throughput(Throughput::Elements(DOCS as u64));
    g.sample_size(10);
    // `_f32`: the same rows stored as float32 (--dtype float32), fitted in float32.
    for (name, classes, features, f32) in [
        ("binary", 2, FEATURES, false),
        ("classes20", 20, FEATURES, false),
        ("classes20_f32", 20, FEATURES, true),
        ("classes20_d1.3m", 20, 1_300_000, false),
        ("classes20_d1.3m_f32", 20, 1_300_000, true),
    ] {
        let (mut x, y) = counts(classes, features);
        let weights = idf(&x, features);
        weight_rows(&mut x, Some(&weights), &opts);
        let x = Rows::new(x.finish(features), f32);
        let sw = vec![1.0; DOCS];
        let data = TrainingSet { x: &x, y: &y, sample_weight: &sw, n_features: features, n_classes: classes, n_total: DOCS as u64 };
        let sopts = SolverOptions { max_iter: 1, batch_size: Some(1), ..Default::default() };
        let comm = single_rank();
        g.bench_function(name, |b| {
            b.iter_batched(
                || textsaga::solver::saga::boxed(&data, &sopts, None, &comm).unwrap(),
                |mut saga| saga.epoch(&mut Progress(|_: &EpochReport| {})).unwrap(),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
