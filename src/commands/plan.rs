//! `plan`: how many ranks to ask for. Reads the corpus's size and a sample
//! of its documents spread over the file (never the whole corpus), runs the
//! vectorizer on the sample in this process to measure non-zeros a document
//! and how the vocabulary grows, and prints the sizing rule's table
//! ([`crate::sizing`]). Rank 0 does the work; other ranks only wait.

use crate::cli::PlanArgs;
use crate::collectives::{local, Collectives};
use crate::corpus::{read_slice, CorpusSlice, LabelNeed, Labels, ReadOptions};
use crate::error::Result;
use crate::sizing::{plan, Corpus, Plan};
use crate::tfidf::{consistency, DfBound, VectorizerOptions};
use crate::vectorizer::fit_transform;

/// Pieces the sample is read in, spread evenly over the corpus.
const PIECES: usize = 40;

pub fn run(comm: &dyn Collectives, args: PlanArgs) -> Result<()> {
    let result = if comm.is_root() { estimate(&args) } else { Ok(()) };
    comm.agree(result)
}

/// What the sample tells of the corpus.
struct Estimate {
    corpus: Corpus,
    classes: usize,
    sample: usize,
    heaps: f64,
}

fn estimate(args: &PlanArgs) -> Result<()> {
    let opts = args.vectorizer.options()?;
    crate::log::warn_once(true, args.vectorizer.warnings().into_iter().chain(consistency::warnings(&opts)));
    let read = args.input.read_options();
    let (sample, n_total) = read_sample(&read, args.sample as usize)?;
    if sample.is_empty() {
        anyhow::bail!("'{}' holds no documents: nothing to plan", read.path.display());
    }
    let e = measure(&sample, n_total, &opts, args)?;
    let gb = args.mem_per_rank.or_else(slurm_memory_gb).unwrap_or(4.0);
    let p = plan(&e.corpus, args.max_ranks as usize, args.ranks.map(|r| r as usize), gb, crate::solver::Mode::named(args.solver));
    if args.json {
        let v = serde_json::json!({
            "documents": e.corpus.docs, "text_bytes": e.corpus.text_bytes, "nnz_per_doc": e.corpus.nnz_per_doc,
            "features": e.corpus.features, "classes": e.classes, "sample": e.sample, "gb_per_rank": gb,
            "stops_paying": p.stops_paying, "fits_memory": p.fits_memory, "recommended": p.recommended, "rows": p.rows,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", report(&read, &e, &p, gb, args.ranks));
    }
    Ok(())
}

/// Documents from `PIECES` places of the corpus, about `want` in all, and
/// the corpus's document count.
fn read_sample(read: &ReadOptions, want: usize) -> Result<(CorpusSlice, usize)> {
    // A slice of (almost) nothing tells the document count without reading text.
    let n_total = read_slice(read, 0, usize::MAX / 2, LabelNeed::Optional)?.n_total;
    let per_piece = want.div_ceil(PIECES).max(1);
    let parts = (n_total / per_piece).max(1);
    let mut sample = CorpusSlice { n_total: 0, offsets: vec![0], ..Default::default() };
    let mut labels: Vec<String> = Vec::new();
    let mut last = usize::MAX;
    for i in 0..PIECES.min(parts) {
        let part = i * parts / PIECES.min(parts);
        if part == last {
            continue;
        }
        last = part;
        let s = read_slice(read, part, parts, LabelNeed::Optional)?;
        sample.declared_utf8 = s.declared_utf8;
        for d in 0..s.len() {
            sample.bytes.extend_from_slice(s.doc(d));
            sample.offsets.push(sample.bytes.len());
        }
        match &s.labels {
            Some(Labels::Int(v)) => labels.extend(v.iter().map(i64::to_string)),
            Some(Labels::Str(v)) => labels.extend(v.iter().cloned()),
            None => {}
        }
        sample.label_names = s.label_names;
    }
    sample.n_total = sample.len();
    sample.labels = (!labels.is_empty()).then_some(Labels::Str(labels));
    Ok((sample, n_total))
}

/// The vocabulary and non-zeros of `docs` documents of the sample (its first ones).
fn vocabulary_of(sample: &CorpusSlice, docs: usize, opts: &VectorizerOptions, args: &PlanArgs) -> Result<(f64, f64)> {
    let part = CorpusSlice {
        n_total: docs,
        bytes: sample.bytes[..sample.offsets[docs]].to_vec(),
        offsets: sample.offsets[..=docs].to_vec(),
        declared_utf8: sample.declared_utf8,
        ..Default::default()
    };
    let comm = local::single_rank();
    let f = fit_transform(&comm, &part, opts, args.input.text.decode_error, &args.input.data)?;
    Ok((f.n_features as f64, f.rows.nnz() as f64))
}

fn measure(sample: &CorpusSlice, n_total: usize, opts: &VectorizerOptions, args: &PlanArgs) -> Result<Estimate> {
    // Pruning needs the whole corpus's counts: measure the sample unpruned.
    let unpruned = VectorizerOptions { min_df: DfBound::Count(1), max_df: DfBound::Fraction(1.0), max_features: None, ..opts.clone() };
    let s = sample.len();
    let (v_all, nnz) = vocabulary_of(sample, s, &unpruned, args)?;
    let (v_half, _) = vocabulary_of(sample, (s / 2).max(1), &unpruned, args)?;
    // Heaps' law V(n) = k n^beta through the two points; a fixed or hashed column count caps it.
    let heaps = if s >= 4 && v_half > 0.0 { (v_all / v_half).log2().clamp(0.3, 1.0) } else { 1.0 };
    // Never fewer than the sample holds; then the caps a fixed, hashed or limited vocabulary sets.
    let mut features = (v_all * (n_total as f64 / s as f64).powf(heaps)).max(v_all);
    if let Some(n) = opts.hashing {
        features = features.min(n as f64);
    }
    if let Some(v) = &opts.vocabulary {
        features = v.len() as f64;
    }
    if let Some(m) = opts.max_features {
        features = features.min(m as f64);
    }
    let classes = classes_seen(sample).max(2);
    let corpus = Corpus {
        docs: n_total as f64,
        text_bytes: sample.bytes.len() as f64 / s as f64 * n_total as f64,
        nnz_per_doc: nnz / s as f64,
        features,
        width: if classes == 2 { 1.0 } else { classes as f64 },
    };
    Ok(Estimate { corpus, classes, sample: s, heaps })
}

fn classes_seen(sample: &CorpusSlice) -> usize {
    let seen = match &sample.labels {
        Some(Labels::Str(v)) => v.iter().collect::<std::collections::HashSet<_>>().len(),
        _ => 0,
    };
    seen.max(sample.label_names.as_ref().map_or(0, Vec::len))
}

/// Memory a rank from Slurm's allocation (`--mem-per-cpu` x `--cpus-per-task`), in GB.
fn slurm_memory_gb() -> Option<f64> {
    let mb: f64 = std::env::var("SLURM_MEM_PER_CPU").ok()?.parse().ok()?;
    let cpus: f64 = std::env::var("SLURM_CPUS_PER_TASK").ok().and_then(|c| c.parse().ok()).unwrap_or(1.0);
    Some(mb * cpus / 1024.0)
}

/// The plan as a batch log reads it.
fn report(read: &ReadOptions, e: &Estimate, p: &Plan, gb: f64, asked: Option<u64>) -> String {
    let c = &e.corpus;
    let mut out = format!(
        "textsaga plan: {}: {} documents, {:.2} GB of text, {} classes{}\n\
         estimated from {} sampled documents: {:.0} non-zeros a document, about {:.0} features \
         (vocabulary growth n^{:.2}; before --min-df/--max-df)\n\
         modelled time to a 1e-6 objective gap (docs/design.md; InfiniBand network), memory a rank:\n\n",
        read.path.display(),
        c.docs,
        c.text_bytes / 1e9,
        e.classes,
        if e.classes > 2 { " (seen in the sample)" } else { "" },
        e.sample,
        c.nnz_per_doc,
        c.features,
        e.heaps,
    );
    out += "  ranks    saga s  saga GB   lbfgs s  lbfgs GB  auto    speedup  efficiency  vectorize GB\n";
    for r in &p.rows {
        let mark = if Some(r.ranks as u64) == asked { "  <- --ranks" } else { "" };
        out += &format!(
            "  {:>5}  {:>8.1}  {:>7.2}  {:>8.1}  {:>8.2}  {:<6}  {:>7.1}x  {:>9.0} %  {:>12.2}{mark}\n",
            r.ranks, r.saga_seconds, r.saga_gb, r.lbfgs_seconds, r.lbfgs_gb, r.auto, r.speedup, r.efficiency * 100.0, r.vectorize_gb
        );
    }
    out += &format!("\nadding ranks stops paying past {} ranks (a doubling then buys less than 1.25x)\n", p.stops_paying);
    out += &match p.fits_memory {
        Some(f) => format!("memory: {gb:.1} GB a rank holds the fit and vectorize from {f} ranks\n"),
        None => format!("memory: {gb:.1} GB a rank is too little at every rank count above: ask for more memory a rank\n"),
    };
    out += &format!("recommended: {} ranks\n", p.recommended);
    out
}
