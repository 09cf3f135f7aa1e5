//! Convergence study of the fit's modes: epochs (SAGA) and iterations
//! (L-BFGS) to each objective gap, at any rank count, in one process.
//!
//! Ranks are threads over the in-process collectives, so the rounds, the
//! passes and what each rank communicates (calls and bytes per kind of
//! collective, counted by the collectives themselves) are exactly what an
//! MPI run at that rank count does; only the wall time is not, so each
//! rank's compute is its thread's CPU time. After every epoch the exact
//! objective is computed (outside the counts and the CPU time).
//!
//!     cargo bench --bench rounds -- --corpus C.h5 --ranks 1,2,4,8,16,32 \
//!         --modes saga,lbfgs,lbfgs:0 --max-epochs 60 --out rounds.json
//!
//! `lbfgs:L` starts L-BFGS from L epochs of local SAGA (default 3).
//! `scripts/cost_model.py --rounds rounds.json` turns the output into gaps,
//! the convergence table, and the model's rounds; `scripts/scaling.sh` runs it.

use serde_json::{json, Value};
use std::path::PathBuf;
use textsaga::classes::global_classes;
use textsaga::collectives::local::{run_ranks, single_rank};
use textsaga::collectives::{Collectives, Counts, Kind};
use textsaga::corpus::partition::by_count;
use textsaga::corpus::{read_slice, LabelNeed, ReadOptions};
use textsaga::solver::lbfgs::Lbfgs;
use textsaga::solver::saga::Saga;
use textsaga::solver::{problem, Epoch, NoHooks, Solver, SolverKind, SolverOptions, TrainingSet};
use textsaga::sparse::{row, Csr, RowBuilder, Rows};
use textsaga::text::DecodeError;
use textsaga::tfidf::VectorizerOptions;
use textsaga::vectorizer::fit_transform;

struct Args {
    corpus: PathBuf,
    ranks: Vec<usize>,
    modes: Vec<String>,
    max_epochs: usize,
    c: f64,
    out: PathBuf,
}

fn args() -> Args {
    let mut a = Args { corpus: PathBuf::new(), ranks: vec![1, 2, 4], modes: vec!["saga".into(), "lbfgs".into()], max_epochs: 50, c: 1.0, out: "rounds.json".into() };
    let argv: Vec<String> = std::env::args().skip(1).filter(|s| s != "--bench").collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--corpus" => a.corpus = v.into(),
            "--ranks" => a.ranks = v.split(',').map(|r| r.parse().expect("--ranks 1,2,4")).collect(),
            "--modes" => a.modes = v.split(',').map(String::from).collect(),
            "--max-epochs" => a.max_epochs = v.parse().expect("--max-epochs N"),
            "-C" | "--c" => a.c = v.parse().expect("-C C"),
            "--out" => a.out = v.into(),
            other => panic!("unknown argument {other}; see the doc comment of benches/rounds.rs"),
        }
    }
    assert!(!a.corpus.as_os_str().is_empty(), "--corpus C.h5 (a corpus in the fast layout, e.g. from textsaga generate)");
    a
}

/// The corpus vectorized once (scikit-learn's defaults), and its labels.
fn load(path: &std::path::Path) -> (Csr, Vec<u32>, usize) {
    let opts = ReadOptions { path: path.to_path_buf(), text_dataset: "text".into(), label_dataset: "label".into() };
    let slice = read_slice(&opts, 0, 1, LabelNeed::Required).expect("read the corpus");
    let comm = single_rank();
    let classes = global_classes(&comm, slice.labels.as_ref().expect("labels")).expect("classes");
    let y = classes.encode(slice.labels.as_ref().expect("labels")).expect("labels");
    let feats = fit_transform(&comm, &slice, &VectorizerOptions::default(), DecodeError::Strict, path).expect("vectorize");
    (feats.rows, y, classes.len())
}

fn part(x: &Csr, ranks: usize, rank: usize) -> (Csr, std::ops::Range<usize>) {
    let (a, b) = by_count(x.rows(), ranks, rank);
    let mut rows = RowBuilder::new();
    for i in a..b {
        let (cols, vals) = row(x, i);
        cols.iter().zip(vals).for_each(|(&j, &v)| rows.push(j, v));
        rows.end_row();
    }
    (rows.finish(x.cols()), a..b)
}

fn thread_cpu() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn counts_json(c: &Counts) -> Value {
    let per = |v: &[u64; 7]| Value::Object(Kind::ALL.iter().zip(v).map(|(k, n)| (k.name().to_string(), json!(n))).collect());
    json!({ "calls": per(&c.calls), "bytes": per(&c.bytes) })
}

/// One fit at this rank: a record per epoch (the objective, this rank's CPU seconds and counts so far).
fn study(comm: &dyn Collectives, x: &Csr, y: &[u32], k: usize, mode: &str, a: &Args) -> Vec<Value> {
    let (rows, range) = part(x, comm.size(), comm.rank());
    let rows = Rows::F64(rows);
    let y = &y[range];
    let sw = vec![1.0; y.len()];
    let data = TrainingSet { x: &rows, y, sample_weight: &sw, n_features: x.cols(), n_classes: k, n_total: x.rows() as u64 };
    let kind = if mode.starts_with("lbfgs") { SolverKind::Lbfgs } else { SolverKind::Saga };
    let opts = SolverOptions { c: a.c, tol: 0.0, max_iter: a.max_epochs, solver: kind, ..Default::default() };
    let mut cpu = 0.0;
    // Counts of the fit alone: the objective's collectives are subtracted.
    let mut excluded = Counts::default();
    let before = comm.tally().snapshot();
    let mut since = thread_cpu();
    let mut solver: Box<dyn Solver> = match mode.split_once(':') {
        Some((_, l)) => Box::new(Lbfgs::new(&data, &opts, None, comm).unwrap().with_local_epochs(l.parse().expect("lbfgs:L"))),
        None if kind == SolverKind::Lbfgs => Box::new(Lbfgs::new(&data, &opts, None, comm).unwrap()),
        None => Box::new(Saga::<f64>::new(&data, &opts, None, comm).unwrap()),
    };
    let mut out = Vec::new();
    for _ in 0..a.max_epochs {
        let report = match solver.epoch(&mut NoHooks).unwrap() {
            Epoch::Done(r) => r,
            Epoch::Stopped { .. } => unreachable!("no stop requests"),
        };
        cpu += thread_cpu() - since;
        let fit = comm.tally().since(&before).minus(&excluded);
        let details = solver.details();
        let mark = comm.tally().snapshot();
        let s = solver.current();
        let objective = problem::objective(&data, &s.coef, &s.intercept, &opts, comm);
        let spent = comm.tally().since(&mark);
        excluded = excluded.plus(&spent);
        out.push(json!({ "epoch": report.epoch, "objective": objective, "cpu": cpu, "passes": details.get("passes"), "comm": counts_json(&fit) }));
        since = thread_cpu();
    }
    out
}

fn main() {
    let a = args();
    let (x, y, k) = load(&a.corpus);
    eprintln!("rounds: {} documents, {} features, {} classes, {} non-zeros", x.rows(), x.cols(), k, x.nnz());
    let mut runs = Vec::new();
    for mode in &a.modes {
        for &p in &a.ranks {
            let per_rank = run_ranks(p, |comm| study(comm, &x, &y, k, mode, &a));
            let epochs: Vec<Value> = (0..per_rank[0].len())
                .map(|e| {
                    let cpu: Vec<f64> = per_rank.iter().map(|r| r[e]["cpu"].as_f64().unwrap()).collect();
                    let mut rec = per_rank[0][e].clone();
                    rec["cpu_max"] = json!(cpu.iter().cloned().fold(0.0, f64::max));
                    rec["cpu_mean"] = json!(cpu.iter().sum::<f64>() / p as f64);
                    rec
                })
                .collect();
            let last = epochs.last().map(|e| e["objective"].clone());
            eprintln!("rounds: {mode} at {p} ranks: {} epochs, objective {:?}", epochs.len(), last);
            runs.push(json!({ "mode": mode, "ranks": p, "epochs": epochs }));
            // Written after every run: a long study keeps what it measured so far.
            let doc = json!({ "corpus": a.corpus, "documents": x.rows(), "features": x.cols(), "classes": k, "nnz": x.nnz(), "C": a.c, "runs": runs });
            std::fs::write(&a.out, serde_json::to_string(&doc).unwrap()).expect("write --out");
        }
    }
    eprintln!("rounds: wrote {}", a.out.display());
}
