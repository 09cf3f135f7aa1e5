//! `fit`: HDF5 slices in, model file out — TF-IDF then synchronous
//! distributed SAGA.

use crate::classes::{balanced_weights, global_classes, Classes};
use crate::cli::FitArgs;
use crate::comm::Comm;
use crate::corpus::{read_slice, LabelNeed};
use crate::error::Result;
use crate::features::fit_transform;
use crate::model::{Model, Params};
use crate::output::AtomicPath;
use crate::run_report::{phase_summary, RunReport};
use crate::solver::combine::MpiCombiner;
use crate::checkpoint;
use crate::solver::saga::{EpochReport, FitHooks, SolverState, WarmStart};
use crate::solver::SolverOptions;
use signal_hook::consts::{SIGTERM, SIGUSR1, SIGUSR2};
use std::sync::atomic::{AtomicBool, Ordering};
use std::io::IsTerminal;
use std::sync::Arc;
use crate::solver::{fit, TrainingSet};
use anyhow::bail;
use std::time::Instant;

pub fn run(comm: &Comm, args: FitArgs) -> Result<()> {
    let mut report = RunReport::new("fit");
    let vopts = comm.agree(args.vectorizer.options())?;
    let sopts = comm.agree(args.solver.options())?;
    // Fail before the work when the model cannot be written.
    let probe = AtomicPath::new(&args.model, comm.is_root());
    comm.agree(if comm.is_root() { probe.create_h5().map(drop) } else { Ok(()) })?;
    drop(probe);
    let warm = match &args.solver.warm_start {
        Some(p) => Some(comm.agree(Model::read(p))?),
        None => None,
    };

    let slice = report.timed("read", || read_slice(&args.input.read_options(), comm.rank(), comm.size(), LabelNeed::Required));
    let slice = comm.agree(slice)?;
    let labels = slice.labels.as_ref().expect("labels are required");
    comm.agree(match labels {
        crate::corpus::Labels::Str(v) if v.iter().any(|s| s.contains('\0')) => bail!("a label contains a NUL character"),
        _ => Ok(()),
    })?;
    let classes = global_classes(comm, labels)?;
    comm.agree(if classes.len() < 2 {
        Err(anyhow::anyhow!(
            "the data holds only one class ({}); logistic regression needs at least 2",
            if classes.is_empty() { "none".into() } else { classes.name(0) }
        ))
    } else {
        Ok(())
    })?;
    let y = classes.encode(labels)?;

    let feats = fit_transform(comm, &slice, &vopts, args.input.decode_error, &args.input.data)?;
    feats.timings.record(&mut report);
    drop(slice);
    let warm = comm.agree(match &warm {
        Some(m) => check_warm_start(m, &feats.vocabulary, &classes, &vopts, args.solver.warm_start.as_deref()).map(|()| {
            Some(WarmStart { coef: m.coef.clone(), intercept: m.intercept.clone() })
        }),
        None => Ok(None),
    })?;

    let k = classes.len();
    let sample_weight = if sopts.class_weight_balanced {
        let mut counts = vec![0u64; k];
        y.iter().for_each(|&c| counts[c as usize] += 1);
        let counts = comm.sum_u64_vec(&counts);
        let w = balanced_weights(&counts);
        y.iter().map(|&c| w[c as usize]).collect()
    } else {
        vec![1.0; y.len()]
    };
    let data = TrainingSet {
        x: &feats.rows,
        y: &y,
        sample_weight: &sample_weight,
        n_features: feats.n_features,
        n_classes: k,
        n_total: feats.n_docs,
    };
    let mut comb = MpiCombiner::new(comm);
    let quiet = args.common.quiet || !comm.is_root();
    let fingerprint = serde_json::json!({
        "vectorizer": vopts,
        "solver": SolverOptions { max_iter: 0, tol: 0.0, ..sopts.clone() },
        "documents": feats.n_docs,
        "features": feats.n_features,
        "classes": (0..k).map(|c| classes.name(c)).collect::<Vec<_>>(),
        "vocabulary_hash": vocabulary_hash(&feats.vocabulary),
        "ranks": comm.size(),
        "warm_start": args.solver.warm_start.is_some(),
    });
    let resume = match (&args.ops.checkpoint, args.ops.resume) {
        (Some(path), true) if path.exists() => {
            Some(comm.agree(checkpoint::load(comm, path, &fingerprint, y.len(), data.width()))?)
        }
        (Some(path), true) => {
            if comm.is_root() && !args.common.quiet {
                crate::say!("textsaga fit: no checkpoint at '{}' yet; starting afresh", path.display());
            }
            None
        }
        _ => None,
    };
    if let (Some(state), true) = (&resume, comm.is_root() && !args.common.quiet) {
        crate::say!("textsaga fit: resuming at epoch {} step {}", state.epoch + 1, state.step);
    }
    let stop = Arc::new(AtomicBool::new(false));
    if args.ops.checkpoint.is_some() {
        for sig in [SIGTERM, SIGUSR1, SIGUSR2] {
            comm.agree(signal_hook::flag::register(sig, Arc::clone(&stop)).map(drop).map_err(anyhow::Error::from))?;
        }
    }
    let bar = !quiet && std::io::stderr().is_terminal();
    let mut hooks = Hooks { comm, args: &args.ops, fingerprint: &fingerprint, k: data.width(), stop: &stop, quiet, bar };
    let t_fit = Instant::now();
    let result = fit(&data, &sopts, warm.as_ref(), resume, &mut comb, &mut hooks);
    // Failures inside the solver are agreed on by its collectives; agree once more for the others.
    let result = comm.agree(result)?;
    report.phase("fit", t_fit.elapsed().as_secs_f64());

    let model = Model {
        coef: result.coef,
        intercept: result.intercept,
        classes,
        vocabulary: feats.vocabulary,
        idf: feats.idf,
        n_features: feats.n_features,
        params: Params { vectorizer: vopts, solver: sopts.clone(), textsaga_version: env!("CARGO_PKG_VERSION").into() },
        n_iter: result.n_iter,
        objective: result.objective,
        converged: result.converged,
    };
    let t_write = Instant::now();
    comm.agree(if comm.is_root() { model.write(&args.model) } else { Ok(()) })?;
    report.phase("write", t_write.elapsed().as_secs_f64());

    let bytes = comm.sum_f64(result.bytes_sent as f64) as u64;
    let nnz = comm.sum_f64(feats.rows.nnz() as f64) as u64;
    report.set("documents", feats.n_docs);
    report.set("nnz", nnz);
    report.set("columns", model.n_features);
    report.set("classes", k);
    report.set("epochs", result.n_iter);
    report.set("converged", result.converged);
    report.set("objective", result.objective);
    report.set("step_size", result.plan.step);
    report.set("batch_total", result.plan.batch_total);
    report.set("batch_size_per_rank", result.plan.batch_total as f64 / comm.size() as f64);
    report.set("steps_per_epoch", result.plan.steps_per_epoch);
    report.set("smoothness_per_sample", result.plan.l_max);
    report.set("smoothness_full", result.plan.l_full);
    report.set("intercept_scale", result.plan.intercept_scale);
    report.set("shard_imbalance", result.shard_imbalance);
    report.set("bytes_communicated", bytes);
    let r = report.finish(comm, args.run.metrics.as_deref())?;
    if comm.is_root() {
        if !result.converged {
            crate::say!(
                "textsaga: warning: --max-iter {} reached before the change fell below --tol {}; \
                 the coefficients have not converged (sklearn's ConvergenceWarning)",
                sopts.max_iter, sopts.tol
            );
        }
        if !args.common.quiet {
            crate::say!(
                "textsaga fit: {} documents, {} classes, {} features, {} ranks: {} epochs, objective {:.10e}, \
                 step {:.4}, batch {} a step, {} steps/epoch, {:.1} MB sent -> {} in {:.2} s ({}); peak RSS {:.0} MB per rank",
                feats.n_docs,
                k,
                model.n_features,
                comm.size(),
                result.n_iter,
                result.objective,
                result.plan.step,
                result.plan.batch_total,
                result.plan.steps_per_epoch,
                bytes as f64 / 1e6,
                args.model.display(),
                r["total_seconds"].as_f64().unwrap_or(0.0),
                phase_summary(&r),
                r["peak_rss_bytes_max_over_ranks"].as_f64().unwrap_or(0.0) / 1e6,
            );
        }
    }
    Ok(())
}

/// Progress lines, checkpoints and the stop flag for the solver.
struct Hooks<'a> {
    comm: &'a Comm,
    args: &'a crate::cli::OpsArgs,
    fingerprint: &'a serde_json::Value,
    k: usize,
    stop: &'a AtomicBool,
    quiet: bool,
    /// A progress bar within epochs, only when stderr is a terminal (batch logs get plain lines).
    bar: bool,
}

impl FitHooks for Hooks<'_> {
    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    fn checkpoint_due(&self, epochs_done: usize) -> bool {
        self.args.checkpoint.is_some() && epochs_done as u64 % self.args.checkpoint_every == 0
    }
    fn checkpoint(&mut self, state: &SolverState) -> Result<()> {
        match &self.args.checkpoint {
            Some(path) => checkpoint::save(self.comm, path, self.fingerprint, state, self.k),
            None => Ok(()),
        }
    }
    fn step(&mut self, epoch: usize, done: usize, steps: usize) {
        if self.bar {
            Self::draw_bar(epoch, done, steps);
        }
    }
    fn epoch(&mut self, r: &EpochReport) {
        // Test hook for the no-hang guarantee: a panic on one rank, mid-fit.
        if std::env::var("TEXTSAGA_TEST_PANIC_RANK").ok().and_then(|v| v.parse::<usize>().ok()) == Some(self.comm.rank()) {
            panic!("injected fault (TEXTSAGA_TEST_PANIC_RANK) after epoch {}", r.epoch);
        }
        if self.bar {
            // Clear the progress bar before the epoch's line.
            eprint!("\r{:79}\r", "");
        }
        if !self.quiet {
            crate::say!(
                "epoch {:>4}  objective~ {:<14.8e}  change {:<10.3e}  elapsed {:>8.2} s  {:>10.0} docs/s",
                r.epoch, r.objective_estimate, r.relative_change, r.elapsed, r.samples_per_second
            );
        }
    }
}

impl Hooks<'_> {
    fn draw_bar(epoch: usize, done: usize, steps: usize) {
        let width = 40;
        let filled = done * width / steps.max(1);
        eprint!("\repoch {:>4} [{}{}] {:>3}%", epoch + 1, "#".repeat(filled), ".".repeat(width - filled), done * 100 / steps.max(1));
    }
}

/// Identifies a vocabulary in the checkpoint fingerprint.
fn vocabulary_hash(v: &Option<Vec<Box<str>>>) -> String {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for t in v.iter().flatten() {
        h.write(t.as_bytes());
        h.write_u8(0);
    }
    format!("{:016x}", h.finish())
}

/// A warm start must come from a model over the same columns and classes.
fn check_warm_start(
    m: &Model,
    vocabulary: &Option<Vec<Box<str>>>,
    classes: &Classes,
    vopts: &crate::tfidf::VectorizerOptions,
    path: Option<&std::path::Path>,
) -> Result<()> {
    let name = path.map(|p| p.display().to_string()).unwrap_or_default();
    if m.params.vectorizer.hashing != vopts.hashing || &m.vocabulary != vocabulary {
        bail!("--warm-start '{name}' was fitted with a different vocabulary; use the same data and vectorizer settings");
    }
    if &m.classes != classes {
        bail!("--warm-start '{name}' has other classes than the data");
    }
    Ok(())
}
