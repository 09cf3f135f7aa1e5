//! Multi-rank behaviour in one process: the vectorizer and the solver at
//! 1-8 ranks over the in-process collectives (ranks as threads), with the
//! assertions the MPI tests make (the same result at every rank count,
//! errors agreed by every rank) plus what only one process can see: the
//! optimality conditions at every rank count, resuming a stopped fit bit for
//! bit, and exactly what a step communicates.

use textsaga::collectives::local::run_ranks;
use textsaga::collectives::{Collectives, Kind};
use textsaga::corpus::partition::by_bytes;
use textsaga::corpus::{CorpusSlice, Labels};
use textsaga::error::Interrupted;
use textsaga::solver::loss::loss_and_gradient;
use textsaga::solver::saga::Saga;
use textsaga::solver::lbfgs::Lbfgs;
use textsaga::solver::{drive, fit, EpochReport, FitHooks, FitResult, NoHooks, Progress, Solver, SolverKind, SolverOptions, SolverState, TrainingSet};
use textsaga::sparse::{row, Csr, RowBuilder, Rows};
use textsaga::text::{Analyzer, AnalyzerKind, DecodeError, StripAccents};
use textsaga::tfidf::prune::keep_mask;
use textsaga::tfidf::{DfBound, Norm, VectorizerOptions};
use textsaga::vectorizer::{fit_transform, Features};
use std::path::Path;

const RANKS: std::ops::RangeInclusive<usize> = 1..=8;

/// A small labelled corpus with what trips tokenizers: accents, Greek final
/// sigma, stop words, digits, underscores, one-letter words, empty documents.
fn corpus(n: usize, classes: usize) -> (Vec<String>, Vec<i64>) {
    let common = ["the", "and", "of", "café", "naïve", "ΣΊΣΥΦΟΣ", "data_set", "x", "42", "mpi", "rank", "straße", "ﬁle", "over", "under"];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut docs, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let label = (next() % classes as u64) as i64;
        let len = if i % 37 == 5 { 0 } else { 3 + next() % 12 };
        let words: Vec<String> = (0..len)
            .map(|_| match next() % 4 {
                0 => format!("topic{label}w{}", next() % 4),
                1 => format!("w{}", next() % 60),
                _ => common[(next() % common.len() as u64) as usize].to_string(),
            })
            .collect();
        docs.push(words.join(if i % 3 == 0 { " " } else { ", " }));
        labels.push(label);
    }
    (docs, labels)
}

/// Rank `rank`'s slice of `docs`, split by bytes as the HDF5 reader splits the fast layout.
fn slice(docs: &[String], labels: &[i64], ranks: usize, rank: usize) -> CorpusSlice {
    let mut offsets = vec![0usize];
    docs.iter().for_each(|d| offsets.push(offsets.last().unwrap() + d.len()));
    let total = *offsets.last().unwrap() as u64;
    let (a, b) = by_bytes(docs.len(), total, ranks, rank, |i| Ok(offsets[i] as u64)).unwrap();
    CorpusSlice {
        first: a,
        n_total: docs.len(),
        bytes: docs[a..b].concat().into_bytes(),
        offsets: offsets[a..=b].iter().map(|o| o - offsets[a]).collect(),
        declared_utf8: false,
        labels: Some(Labels::Int(labels[a..b].to_vec())),
        label_names: None,
    }
}

/// Every rank's rows, in document order, with the shared vocabulary and idf.
fn vectorize(p: usize, docs: &[String], labels: &[i64], opts: &VectorizerOptions) -> (Vec<Vec<(u32, u64)>>, Option<Vec<Box<str>>>, Option<Vec<u64>>) {
    let feats: Vec<Features> = run_ranks(p, |c| {
        let s = slice(docs, labels, c.size(), c.rank());
        fit_transform(c, &s, opts, DecodeError::Strict, Path::new("in-memory")).unwrap()
    });
    // Values compared bit for bit.
    let rows = feats.iter().flat_map(|f| (0..f.rows.rows()).map(|i| {
        let (cols, vals) = row(&f.rows, i);
        cols.iter().zip(vals).map(|(&j, v)| (j, v.to_bits())).collect()
    }));
    let rows: Vec<Vec<(u32, u64)>> = rows.collect();
    let idf = feats[0].idf.as_ref().map(|v| v.iter().map(|x| x.to_bits()).collect());
    for f in &feats[1..] {
        assert_eq!(f.vocabulary, feats[0].vocabulary, "every rank holds the same vocabulary");
        assert_eq!(f.idf, feats[0].idf, "every rank holds the same idf");
    }
    (rows, feats[0].vocabulary.clone(), idf)
}

fn option_sets() -> Vec<(&'static str, VectorizerOptions)> {
    let d = VectorizerOptions::default;
    let mut bigrams = d();
    bigrams.analyzer.ngram_range = (1, 2);
    bigrams.min_df = DfBound::Count(2);
    let mut capped = d();
    capped.max_features = Some(40);
    capped.max_df = DfBound::Fraction(0.6);
    capped.analyzer.stop_words_english = true;
    let mut hashed = d();
    hashed.hashing = Some(64);
    hashed.alternate_sign = true;
    let mut weighted = d();
    weighted.sublinear_tf = true;
    weighted.norm = Norm::L1;
    weighted.smooth_idf = false;
    weighted.analyzer.strip_accents = Some(StripAccents::Unicode);
    let mut raw = d();
    raw.binary = true;
    raw.use_idf = false;
    raw.norm = Norm::None;
    raw.analyzer.lowercase = false;
    let mut fixed = d();
    fixed.analyzer.ngram_range = (1, 2);
    fixed.fixed_vocabulary = true;
    fixed.vocabulary = Some(["w7", "café", "topic1w2", "rank mpi", "never seen", "the", "w12", "and", "of", "mpi", "over", "under", "data_set", "42", "rank"].map(Box::from).to_vec());
    let mut char_wb = d();
    char_wb.analyzer.kind = AnalyzerKind::CharWb;
    char_wb.analyzer.ngram_range = (2, 5);
    char_wb.min_df = DfBound::Count(2);
    char_wb.max_features = Some(300);
    let mut chars = d();
    chars.analyzer.kind = AnalyzerKind::Char;
    chars.analyzer.ngram_range = (1, 3);
    chars.fixed_vocabulary = true;
    chars.vocabulary = Some(["w", " ", "w1", "1 w", "é", "af", "zzz", "mpi", "a", "q"].map(Box::from).to_vec());
    vec![("defaults", d()), ("bigrams_min_df", bigrams), ("max_features", capped), ("hashing", hashed), ("weighted", weighted), ("raw", raw), ("fixed_vocabulary", fixed), ("char_wb", char_wb), ("char_fixed_vocabulary", chars)]
}

#[test]
fn vectorize_is_the_same_at_every_rank_count() {
    let (docs, labels) = corpus(240, 3);
    for (name, opts) in option_sets() {
        let one = vectorize(1, &docs, &labels, &opts);
        assert_eq!(one.0.len(), docs.len());
        assert!(one.0.iter().map(Vec::len).sum::<usize>() > docs.len(), "{name}: a real matrix");
        for p in RANKS.skip(1) {
            assert!(vectorize(p, &docs, &labels, &opts) == one, "{name}: {p} ranks differ from 1");
        }
    }
}

/// The vocabulary by definition: every term of the string analyzer counted
/// in one process, pruned by `keep_mask` (the one-process rule).
fn reference_vocabulary(docs: &[String], opts: &VectorizerOptions) -> Vec<String> {
    let mut analyzer = Analyzer::new(opts.analyzer.clone());
    let (mut df, mut tf) = (std::collections::BTreeMap::<String, u64>::new(), std::collections::BTreeMap::<String, u64>::new());
    for d in docs {
        let terms = analyzer.terms(d);
        for t in &terms {
            *tf.entry(t.clone()).or_default() += 1;
        }
        for t in terms.into_iter().collect::<std::collections::BTreeSet<_>>() {
            *df.entry(t).or_default() += 1;
        }
    }
    let (names, dfs): (Vec<String>, Vec<u64>) = df.into_iter().unzip();
    let counts: Vec<u64> = if opts.binary { dfs.clone() } else { names.iter().map(|t| tf[t]).collect() };
    let mask = keep_mask(&dfs, &counts, docs.len() as u64, opts.min_df, opts.max_df, opts.max_features).unwrap();
    names.into_iter().zip(mask).filter(|p| p.1).map(|p| p.0).collect()
}

#[test]
fn owners_prune_as_one_process_would() {
    // Many ties: max_features cuts through runs of equal counts, whichever
    // ranks own the tied terms.
    let (docs, labels) = corpus(90, 3);
    for (kind, range) in [(AnalyzerKind::Word, (1, 3)), (AnalyzerKind::CharWb, (2, 4))] {
        let mut opts = VectorizerOptions::default();
        opts.analyzer.kind = kind;
        opts.analyzer.ngram_range = range;
        let all = reference_vocabulary(&docs, &opts).len();
        for (max_features, min_df, binary) in [(1, 1, false), (7, 1, false), (40, 2, false), (41, 1, true), (all / 2, 1, false), (all - 1, 1, false), (all + 5, 1, false)] {
            opts.max_features = Some(max_features);
            opts.min_df = DfBound::Count(min_df);
            opts.binary = binary;
            let want = reference_vocabulary(&docs, &opts);
            for p in 1..=4 {
                let got = vectorize(p, &docs, &labels, &opts).1.unwrap();
                assert!(got.iter().map(|t| &**t).eq(want.iter().map(String::as_str)), "{kind:?}: max_features {max_features}, min_df {min_df}, {p} ranks");
            }
        }
    }
}

#[test]
fn fewer_documents_than_ranks() {
    let (docs, labels) = corpus(3, 2);
    let one = vectorize(1, &docs, &labels, &VectorizerOptions::default());
    assert_eq!(vectorize(5, &docs, &labels, &VectorizerOptions::default()), one);
}

#[test]
fn a_bad_document_on_one_rank_fails_every_rank() {
    let (docs, labels) = corpus(60, 2);
    let failed = run_ranks(4, |c| {
        let mut s = slice(&docs, &labels, c.size(), c.rank());
        if c.rank() == 3 {
            s.bytes.push(0xff); // invalid UTF-8 at the end of the last rank's last document
            *s.offsets.last_mut().unwrap() += 1;
        }
        fit_transform(c, &s, &VectorizerOptions::default(), DecodeError::Strict, Path::new("c.h5")).is_err()
    });
    assert_eq!(failed, [true; 4], "no rank goes on alone");
}

/// The training rows of the corpus, vectorized once, and each rank's share.
struct Problem {
    x: Csr,
    y: Vec<u32>,
    classes: usize,
}

impl Problem {
    /// `noise`: one document in `noise` gets another label; `hashed`: that
    /// many hashed columns instead of a vocabulary (few columns and noise
    /// make a problem no hyperplane separates).
    fn new(n: usize, classes: usize, noise: u64, hashed: Option<u32>) -> Self {
        let (docs, mut labels) = corpus(n, classes);
        // Relabel some documents at random: a non-separable problem (penalty none has an optimum).
        for (i, l) in labels.iter_mut().enumerate() {
            if noise > 0 && (i as u64 * 2_654_435_761) % noise == 0 {
                *l = (*l + 1) % classes as i64;
            }
        }
        let opts = VectorizerOptions { hashing: hashed, ..Default::default() };
        let f = run_ranks(1, |c| fit_transform(c, &slice(&docs, &labels, 1, 0), &opts, DecodeError::Strict, Path::new("m")).unwrap()).remove(0);
        Problem { x: f.rows, y: labels.iter().map(|&l| l as u32).collect(), classes }
    }

    /// Rank `rank`'s rows (split by count).
    fn part(&self, ranks: usize, rank: usize) -> (Rows, Vec<u32>) {
        let (a, b) = textsaga::corpus::partition::by_count(self.y.len(), ranks, rank);
        let mut rows = RowBuilder::new();
        for i in a..b {
            let (cols, vals) = row(&self.x, i);
            cols.iter().zip(vals).for_each(|(&j, &v)| rows.push(j, v));
            rows.end_row();
        }
        (Rows::F64(rows.finish(self.x.cols())), self.y[a..b].to_vec())
    }

    /// Fits at `p` ranks; every rank's result.
    fn fit(&self, p: usize, opts: &SolverOptions) -> Vec<FitResult> {
        run_ranks(p, |c| {
            let (x, y) = self.part(c.size(), c.rank());
            let sw = self.sample_weights(&y, opts);
            let data = self.data(&x, &y, &sw);
            fit(&data, opts, None, None, c, &mut Progress(|_: &EpochReport| {})).unwrap()
        })
    }

    fn data<'a>(&self, x: &'a Rows, y: &'a [u32], sw: &'a [f64]) -> TrainingSet<'a> {
        TrainingSet { x, y, sample_weight: sw, n_features: self.x.cols(), n_classes: self.classes, n_total: self.y.len() as u64 }
    }

    /// sklearn's class_weight="balanced" from the whole corpus's counts.
    fn sample_weights(&self, y: &[u32], opts: &SolverOptions) -> Vec<f64> {
        if !opts.class_weight_balanced {
            return vec![1.0; y.len()];
        }
        let mut counts = vec![0u64; self.classes];
        self.y.iter().for_each(|&c| counts[c as usize] += 1);
        let w = textsaga::classes::balanced_weights(&counts);
        y.iter().map(|&c| w[c as usize]).collect()
    }

    /// The largest violation of the optimality conditions of
    /// `C sum_i s_i loss_i + (1 - r) |W|^2 / 2 + r |W|_1` at the model,
    /// computed here from the definition, apart from the solver.
    fn kkt_violation(&self, r: &FitResult, opts: &SolverOptions) -> f64 {
        let (d, k) = (self.x.cols(), r.intercept.len());
        let sw = self.sample_weights(&self.y, opts);
        let (mut gw, mut gb) = (vec![0.0; k * d], vec![0.0; k]);
        let (mut raw, mut grad) = (vec![0.0; k], vec![0.0; k]);
        let scale = if opts.c.is_finite() { opts.c } else { 1.0 };
        for i in 0..self.y.len() {
            let (cols, vals) = row(&self.x, i);
            for c in 0..k {
                raw[c] = r.intercept[c] + cols.iter().zip(vals).map(|(&j, &v)| v * r.coef[[c, j as usize]]).sum::<f64>();
            }
            loss_and_gradient(&raw, self.y[i] as usize, &mut grad);
            for c in 0..k {
                gb[c] += scale * sw[i] * grad[c];
                cols.iter().zip(vals).for_each(|(&j, &v)| gw[c * d + j as usize] += scale * sw[i] * grad[c] * v);
            }
        }
        // sklearn 1.8+: C = inf is no penalty (the loss then counts once), else l1_ratio mixes L1 into L2.
        let (l1, l2) = if opts.c.is_finite() { (opts.l1_ratio, 1.0 - opts.l1_ratio) } else { (0.0, 0.0) };
        let coef = gw.iter().zip(r.coef.iter()).map(|(&g, &w)| {
            let g = g + l2 * w;
            if w != 0.0 { (g + l1 * w.signum()).abs() } else { (g.abs() - l1).max(0.0) }
        });
        let intercept = gb.iter().map(|g| if opts.fit_intercept { g.abs() } else { 0.0 });
        coef.chain(intercept).fold(0.0, f64::max)
    }
}

/// Every penalty, binary and multinomial, class weights, with and without
/// intercept, both modes: the optimum is reached at every rank count (its
/// optimality conditions hold) and is the same optimum as 1-rank SAGA's
/// (objectives agree to 1e-9).
#[test]
fn the_saga_fit_reaches_the_optimum_at_every_rank_count() {
    the_optimum_at_every_rank_count(SolverKind::Saga);
}

/// As above for the scale-out L-BFGS (a test of its own: the harness runs
/// the two side by side).
#[test]
fn the_lbfgs_fit_reaches_the_optimum_at_every_rank_count() {
    the_optimum_at_every_rank_count(SolverKind::Lbfgs);
}

fn the_optimum_at_every_rank_count(kind: SolverKind) {
    let tight = |o: SolverOptions| SolverOptions { tol: 1e-9, max_iter: 20_000, solver: SolverKind::Saga, ..o };
    let cases = [
        ("l2 multinomial", Problem::new(150, 3, 0, None), tight(SolverOptions::default())),
        ("l1 binary", Problem::new(150, 2, 0, None), tight(SolverOptions { l1_ratio: 1.0, c: 4.0, ..Default::default() })),
        (
            "elasticnet balanced",
            Problem::new(150, 3, 0, None),
            tight(SolverOptions { l1_ratio: 0.4, class_weight_balanced: true, ..Default::default() }),
        ),
        ("none, no intercept", Problem::new(150, 2, 4, Some(16)), tight(SolverOptions { fit_intercept: false, c: f64::INFINITY, ..Default::default() })),
    ];
    for (name, problem, opts) in &cases {
        let one = problem.fit(1, opts).remove(0);
        let opts = &SolverOptions { solver: kind, ..opts.clone() };
        for p in RANKS {
            let results = problem.fit(p, opts);
            let name = format!("{name} ({kind:?})");
            let r = &results[0];
            assert!(r.converged, "{name} at {p} ranks: not converged in {} epochs", r.n_iter);
            assert!(results.iter().all(|o| o.coef == r.coef && o.intercept == r.intercept), "{name}: every rank holds the same model");
            let kkt = problem.kkt_violation(r, opts);
            assert!(kkt < 1e-5, "{name} at {p} ranks: optimality conditions violated by {kkt:e}");
            let gap = (r.objective - one.objective).abs() / one.objective;
            assert!(gap < 1e-9, "{name} at {p} ranks: objective {} vs {} at 1 rank", r.objective, one.objective);
        }
    }
}

#[test]
fn same_seed_and_rank_count_same_model() {
    let problem = Problem::new(120, 3, 0, None);
    let opts = SolverOptions { max_iter: 4, seed: 11, solver: SolverKind::Saga, ..Default::default() };
    for p in [1, 3, 6] {
        let (a, b) = (problem.fit(p, &opts).remove(0), problem.fit(p, &opts).remove(0));
        assert_eq!((a.coef, a.intercept), (b.coef, b.intercept), "{p} ranks");
    }
}

/// float32 rows (`--dtype float32`) hold each value rounded once. L-BFGS
/// reads them as float64: its fit is, bit for bit, the fit over float64
/// rows holding the same rounded values. SAGA fits them in float32, as
/// sklearn's sag32 (issue 33): every coefficient a float32 value, within
/// 1e-5 of the largest weight of the float64 fit after 5 epochs (170
/// float32 roundings; a wrong step moves a weight by its own size).
#[test]
fn float32_rows_fit_lbfgs_in_float64_and_saga_in_float32() {
    let problem = Problem::new(150, 3, 0, None);
    let rounded = |x: Rows| match x {
        Rows::F64(mut x) => {
            x.data_mut().iter_mut().for_each(|v| *v = *v as f32 as f64);
            Rows::F64(x)
        }
        other => other,
    };
    for (p, solver) in [(1, SolverKind::Saga), (3, SolverKind::Saga), (2, SolverKind::Lbfgs)] {
        let opts = SolverOptions { max_iter: 5, seed: 3, solver, ..Default::default() };
        let fit_with = |f32: bool| {
            run_ranks(p, |c| {
                let (x, y) = problem.part(c.size(), c.rank());
                let x = match x {
                    Rows::F64(x) if f32 => Rows::new(x, true),
                    x => rounded(x),
                };
                assert_eq!(x.is_f32(), f32);
                let sw = problem.sample_weights(&y, &opts);
                fit(&problem.data(&x, &y, &sw), &opts, None, None, c, &mut Progress(|_: &EpochReport| {})).unwrap()
            })
            .remove(0)
        };
        let (a, b) = (fit_with(true), fit_with(false));
        if solver == SolverKind::Lbfgs {
            assert_eq!((a.coef, a.intercept), (b.coef, b.intercept), "{solver:?} at {p} ranks");
            continue;
        }
        let all = |r: &FitResult| r.coef.iter().chain(&r.intercept).copied().collect::<Vec<f64>>();
        let (w32, w64) = (all(&a), all(&b));
        assert!(w32.iter().all(|v| *v as f32 as f64 == *v), "{p} ranks: a coefficient float32 cannot hold");
        let scale = w64.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let diff = w32.iter().zip(&w64).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(w32 != w64 && diff <= 1e-5 * scale, "{p} ranks: differ by {diff:e} of {scale}");
    }
}

/// Asks to stop on one rank after a number of steps, and keeps the state
/// the driver saves then.
struct StopAt {
    stop_after_steps: Option<usize>,
    steps: std::cell::Cell<usize>,
    saved: Option<SolverState<'static>>,
}

impl FitHooks for StopAt {
    fn stop_requested(&self) -> bool {
        self.steps.set(self.steps.get() + 1);
        self.stop_after_steps.is_some_and(|s| self.steps.get() > s)
    }
    fn checkpoint(&mut self, state: &SolverState) -> textsaga::error::Result<()> {
        self.saved = Some(state.to_owned_state());
        Ok(())
    }
}

/// A fit stopped mid-epoch on one rank stops every rank at the same step;
/// a new solver restored from the saved states ends with the model an
/// uninterrupted fit gives, bit for bit.
#[test]
fn a_stopped_fit_resumes_bit_for_bit() {
    let problem = Problem::new(150, 3, 0, None);
    let opts = SolverOptions { max_iter: 5, batch_size: Some(2), l1_ratio: 0.5, ..Default::default() };
    for p in [1, 3, 4] {
        let whole = problem.fit(p, &opts).remove(0);
        let resumed = run_ranks(p, |c| {
            let (x, y) = problem.part(c.size(), c.rank());
            let sw = vec![1.0; y.len()];
            let data = problem.data(&x, &y, &sw);
            // The last rank asks to stop in the middle of the third epoch.
            let steps = 150usize.div_ceil(2 * p);
            let at = (c.rank() + 1 == c.size()).then_some(2 * steps + 7);
            let mut hooks = StopAt { stop_after_steps: at, steps: Default::default(), saved: None };
            let mut first = Saga::<f64>::new(&data, &opts, None, c).unwrap();
            let err = drive(&mut first, opts.max_iter, &mut hooks).unwrap_err();
            let stopped = err.downcast_ref::<Interrupted>().expect("stopped by the request");
            assert_eq!(stopped.epoch, 2, "rank {} stopped in another epoch", c.rank());
            let mut again = Saga::<f64>::new(&data, &opts, None, c).unwrap();
            again.restore(hooks.saved.expect("a state was saved")).unwrap();
            drive(&mut again, opts.max_iter, &mut Progress(|_: &EpochReport| {})).unwrap();
            again.solution()
        });
        assert_eq!((&resumed[0].coef, &resumed[0].intercept), (&whole.coef, &whole.intercept), "{p} ranks");
    }
}

/// Stopped after some steps on one rank, every rank stops there; saved
/// through a real checkpoint file (each rank its own rows) and restored at
/// the same rank count the fit ends with the uninterrupted model bit for
/// bit; restored at other rank counts (a requeued job on another
/// allocation) it resumes where it stopped and reaches the same optimum.
/// Both solvers: L-BFGS's blocks of the flat parameters, SAGA's features
/// (listed by non-zeros) and samples.
#[test]
fn a_checkpoint_resumes_at_any_rank_count() {
    use textsaga::checkpoint::{Checkpointer, Saved};
    let problem = Problem::new(150, 3, 0, None);
    let dir = std::env::temp_dir().join(format!("textsaga-resplit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fingerprint = serde_json::json!({ "test": "resplit" });
    let lbfgs = SolverOptions { max_iter: 60, tol: 1e-10, solver: SolverKind::Lbfgs, l1_ratio: 0.3, ..Default::default() };
    let saga = SolverOptions { max_iter: 400, tol: 1e-9, batch_size: Some(2), l1_ratio: 0.3, solver: SolverKind::Saga, ..Default::default() };
    fn build<'a>(opts: &'a SolverOptions, data: &'a TrainingSet<'a>, c: &'a dyn Collectives) -> Box<dyn Solver + 'a> {
        textsaga::solver::Mode::named(opts.solver).expect("a solver named").build(data, opts, None, c).unwrap()
    }
    // L-BFGS asks once an iteration: it stops after the sixth. SAGA asks once
    // a step (150 / 2p steps an epoch): it stops a third into the fourth epoch.
    for (name, opts) in [("lbfgs", &lbfgs), ("saga", &saga)] {
        for p in [1, 3] {
            let whole = problem.fit(p, opts).remove(0);
            let path = dir.join(format!("{name}-{p}.h5"));
            let stopped = run_ranks(p, |c| {
                let (x, y) = problem.part(c.size(), c.rank());
                let sw = vec![1.0; y.len()];
                let data = problem.data(&x, &y, &sw);
                let steps = 150usize.div_ceil(2 * p);
                let stop_after = if name == "saga" { 3 * steps + steps / 3 } else { 5 };
                let at = (c.rank() + 1 == c.size()).then_some(stop_after);
                let mut hooks = StopAt { stop_after_steps: at, steps: Default::default(), saved: None };
                let mut first = build(opts, &data, c);
                let err = drive(first.as_mut(), opts.max_iter, &mut hooks).unwrap_err();
                let epoch = err.downcast_ref::<Interrupted>().expect("stopped by the request").epoch;
                let mut saver = Checkpointer::new(&path, &fingerprint, if name == "saga" { "saga" } else { "lbfgs" });
                saver.save(c, &first.state()).unwrap();
                epoch
            });
            assert!(stopped.iter().all(|&e| e == stopped[0]), "{name} at {p} ranks: {stopped:?}");
            assert_eq!(stopped[0], if name == "saga" { 3 } else { 6 }, "{name} at {p} ranks");
            for q in [p, 1, 2, 4] {
                let (s, objective, done_before, passes) = run_ranks(q, |c| {
                    let (x, y) = problem.part(c.size(), c.rank());
                    let sw = vec![1.0; y.len()];
                    let data = problem.data(&x, &y, &sw);
                    let mut again = build(opts, &data, c);
                    let saved = Saved::open(c, &path, &fingerprint, again.name()).unwrap();
                    textsaga::solver::restore(again.as_mut(), Box::new(saved)).unwrap();
                    let done_before = again.epochs_done();
                    let outcome = drive(again.as_mut(), opts.max_iter, &mut Progress(|_: &EpochReport| {})).unwrap();
                    let s = again.solution();
                    let objective = textsaga::solver::problem::objective(&data, &s.coef, &s.intercept, opts, c);
                    (s, objective, done_before, outcome.n_iter)
                })
                .remove(0);
                // It resumed where it stopped, not from the start.
                assert_eq!(done_before, stopped[0], "{name} {p} -> {q} ranks resumed at another epoch");
                assert!(passes > done_before, "{name} {p} -> {q}");
                if q == p {
                    assert_eq!((&s.coef, &s.intercept), (&whole.coef, &whole.intercept), "{name} at {p} ranks: resumed bit for bit");
                }
                let gap = (objective - whole.objective).abs() / whole.objective;
                assert!(gap < 1e-7, "{name} {p} ranks resumed at {q}: objective {objective} vs {}", whole.objective);
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Hooks that save through a real checkpoint file at every epoch end.
struct SaveEvery<'c> {
    comm: &'c dyn Collectives,
    saver: textsaga::checkpoint::Checkpointer,
    stop_after_steps: Option<usize>,
    steps: std::cell::Cell<usize>,
}

impl FitHooks for SaveEvery<'_> {
    fn stop_requested(&self) -> bool {
        self.steps.set(self.steps.get() + 1);
        self.stop_after_steps.is_some_and(|s| self.steps.get() > s)
    }
    fn checkpoint_due(&self, _epochs_done: usize) -> bool {
        true
    }
    fn checkpoint(&mut self, state: &SolverState) -> textsaga::error::Result<()> {
        self.saver.save(self.comm, state)
    }
}

/// An L-BFGS checkpoint every iteration writes one whole file, then only
/// what changed (the point, the gradient, one new pair) into buffers the
/// last record does not use: after many such saves the file still resumes
/// bit for bit at the same rank count, and at another.
#[test]
fn a_checkpoint_every_iteration_saves_only_what_changed() {
    use textsaga::checkpoint::{Checkpointer, Saved};
    let problem = Problem::new(150, 3, 0, None);
    let opts = SolverOptions { max_iter: 80, tol: 1e-10, solver: SolverKind::Lbfgs, ..Default::default() };
    let dir = std::env::temp_dir().join(format!("textsaga-incremental-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ck.h5");
    let fingerprint = serde_json::json!({ "test": "incremental" });
    let whole = problem.fit(2, &opts).remove(0);
    let counts = run_ranks(2, |c| {
        let (x, y) = problem.part(c.size(), c.rank());
        let sw = vec![1.0; y.len()];
        let data = problem.data(&x, &y, &sw);
        let mut first = Lbfgs::new(&data, &opts, None, c).unwrap();
        let at = (c.rank() == 0).then_some(12);
        let mut hooks = SaveEvery { comm: c, saver: Checkpointer::new(&path, &fingerprint, "lbfgs"), stop_after_steps: at, steps: Default::default() };
        drive(&mut first, opts.max_iter, &mut hooks).unwrap_err();
        (hooks.saver.saves, hooks.saver.whole_files, first.epochs_done())
    });
    let (saves, whole_files, stopped) = counts[0];
    // A save after each iteration and one at the stop; a whole file only at
    // the first and at the stop (whose state is at the position of the save
    // before it: a state not past the last saved one may be another fit's).
    assert!(stopped >= 12 && saves == stopped + 1, "{counts:?}");
    assert_eq!(whole_files, 2, "{whole_files} whole files of {saves} saves");
    for q in [2, 3] {
        let resumed = run_ranks(q, |c| {
            let (x, y) = problem.part(c.size(), c.rank());
            let sw = vec![1.0; y.len()];
            let data = problem.data(&x, &y, &sw);
            let mut again = Lbfgs::new(&data, &opts, None, c).unwrap();
            textsaga::solver::restore(&mut again, Box::new(Saved::open(c, &path, &fingerprint, "lbfgs").unwrap())).unwrap();
            assert_eq!(again.epochs_done(), stopped);
            drive(&mut again, opts.max_iter, &mut NoHooks).unwrap();
            let s = again.solution();
            (textsaga::solver::problem::objective(&data, &s.coef, &s.intercept, &opts, c), s)
        })
        .remove(0);
        if q == 2 {
            assert_eq!((&resumed.1.coef, &resumed.1.intercept), (&whole.coef, &whole.intercept), "resumed bit for bit after {saves} saves");
        }
        assert!((resumed.0 - whole.objective).abs() <= 1e-9 * whole.objective, "at {q} ranks: {} vs {}", resumed.0, whole.objective);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What an L-BFGS iteration communicates: one reduce-scatter of the d x K
/// gradient (P equal blocks), an all-gather of each line-search trial's
/// point (one block a rank), and scalar allreduces whose count does not
/// depend on the data's size.
#[test]
fn an_lbfgs_iteration_sends_one_reduce_scatter() {
    let problem = Problem::new(150, 3, 0, None);
    let n = (problem.x.cols() + 1) * 3;
    for p in [2, 5, 8] {
        let counts = run_ranks(p, |c| {
            let (x, y) = problem.part(c.size(), c.rank());
            let sw = vec![1.0; y.len()];
            let opts = SolverOptions { tol: 0.0, solver: SolverKind::Lbfgs, ..Default::default() };
            let data = problem.data(&x, &y, &sw);
            let mut s = Lbfgs::new(&data, &opts, None, c).unwrap();
            let mut hooks = Progress(|_: &EpochReport| {});
            for _ in 0..3 {
                s.epoch(&mut hooks).unwrap();
            }
            let before = c.tally().snapshot();
            s.epoch(&mut hooks).unwrap();
            c.tally().since(&before)
        });
        let block = n.div_ceil(p) as u64;
        for spent in counts {
            let (rs, ag) = (Kind::ReduceScatter as usize, Kind::AllGather as usize);
            assert_eq!((spent.calls[rs], spent.bytes[rs]), (1, 8 * block * p as u64), "{p} ranks: one reduce-scatter of the padded gradient");
            assert!(spent.calls[ag] >= 1 && spent.bytes[ag] == spent.calls[ag] * 8 * block, "{p} ranks: all-gathers of this rank's block");
            let scalars = spent.calls[Kind::AllReduce as usize];
            assert!(spent.bytes[Kind::AllReduce as usize] <= 8 * 4 * scalars && scalars <= 70, "{p} ranks: {scalars} small allreduces");
        }
    }
}

/// A state from another split of the data is refused on every rank.
#[test]
fn a_state_from_another_split_is_refused() {
    let problem = Problem::new(80, 2, 0, None);
    let opts = SolverOptions { max_iter: 1, ..Default::default() };
    let states = run_ranks(2, |c| {
        let (x, y) = problem.part(c.size(), c.rank());
        let sw = vec![1.0; y.len()];
        Saga::<f64>::new(&problem.data(&x, &y, &sw), &opts, None, c).unwrap().state().to_owned_state()
    });
    let refused = run_ranks(3, |c| {
        let (x, y) = problem.part(c.size(), c.rank());
        let sw = vec![1.0; y.len()];
        let data = problem.data(&x, &y, &sw);
        let mut s = Saga::<f64>::new(&data, &opts, None, c).unwrap();
        s.restore(states[c.rank().min(1)].clone()).is_err()
    });
    assert_eq!(refused, [true; 3]);
}

/// What an epoch communicates, counted by the collectives: one allreduce a
/// step of (2K + 3) b + 1 doubles, then four scalar allreduces (overflow,
/// largest weight, largest change, penalty). Nothing at one rank.
#[test]
fn an_epoch_sends_one_allreduce_a_step() {
    let problem = Problem::new(150, 3, 0, None);
    let k = 3;
    for p in [1, 2, 5, 8] {
        let counts = run_ranks(p, |c| {
            let (x, y) = problem.part(c.size(), c.rank());
            let sw = vec![1.0; y.len()];
            let opts = SolverOptions { batch_size: Some(3), ..Default::default() };
            let data = problem.data(&x, &y, &sw);
            let mut saga = Saga::<f64>::new(&data, &opts, None, c).unwrap();
            let steps = saga.details()["steps_per_epoch"].as_u64().unwrap();
            let before = c.tally().snapshot();
            saga.epoch(&mut Progress(|_: &EpochReport| {})).unwrap();
            let spent = c.tally().since(&before);
            (steps, spent.calls[Kind::AllReduce as usize], spent.bytes[Kind::AllReduce as usize], spent.total_calls())
        });
        for (steps, calls, bytes, all) in counts {
            if p == 1 {
                assert_eq!(all, 0, "one rank communicates nothing");
                continue;
            }
            assert_eq!(steps, (150f64 / (3 * p) as f64).ceil() as u64);
            assert_eq!((calls, all), (steps + 4, steps + 4), "{p} ranks: only allreduces");
            assert_eq!(bytes, 8 * ((2 * k as u64 + 3) * 150 + steps) + 8 * 4, "{p} ranks");
        }
    }
}

/// The collectives' own contract at every rank count, through the trait.
#[test]
fn collectives_agree_at_every_rank_count() {
    for p in RANKS {
        let out = run_ranks(p, |c: &dyn Collectives| {
            let v = c.sum_f64_vec_identical(&[c.rank() as f64, 1.0]);
            let (at, total) = c.offset_of(c.rank() + 1);
            (v, at, total)
        });
        for (r, (v, at, total)) in out.into_iter().enumerate() {
            assert_eq!(v, [(p * (p - 1) / 2) as f64, p as f64]);
            assert_eq!((at, total), (r * (r + 1) / 2, p * (p + 1) / 2));
        }
    }
}

