//! `fit`: HDF5 slices in, model file out: the distributed vectorizer (or
//! `vectorize`'s rows, `--features`: see `input`), then a distributed solver (the mode `--solver` names or `auto` chooses: see
//! `solver::factory`), with checkpoints and signals.

mod cv;
mod hooks;
mod input;
mod weights;

use crate::checkpoint;
use crate::classes::Classes;
use crate::cli::FitArgs;
use crate::collectives::{Collectives, Counts};
use crate::error::Result;
use crate::model::{Model, Params, Selection};
use crate::selection::{Grid, PathHooks};
use crate::output::AtomicPath;
use crate::phase::Phase;
use crate::same_file::{named, refuse_overwriting};
use crate::signals;
use crate::sparse::Rows;
use crate::tfidf::{consistency, Dtype};
use crate::run_report::{collectives_json, phase_summary, RunReport};
use crate::checkpoint::Checkpointer;
use crate::solver::{fit, resolve, FitHooks, FitResult, Mode, Resume, SolverKind, SolverOptions, TrainingSet, WarmStart};
use clap::ValueEnum;
use crate::vectorizer::Features;
use anyhow::bail;
use hooks::Hooks;
use std::io::IsTerminal;

pub fn run(comm: &dyn Collectives, args: FitArgs) -> Result<()> {
    let mut report = RunReport::new("fit");
    crate::threads::set(args.solver.threads());
    report.set("threads", crate::threads::count());
    comm.agree(refuse_overwriting_inputs(&args))?;
    if args.ops.checkpoint.is_some() {
        signals::set_resumable();
    }
    let flags = comm.agree(args.vectorizer.options())?;
    let mut sopts = comm.agree(args.solver.options(args.selection.l1_ratios.is_some()))?;
    let grid = comm.agree(args.selection.grid(&args.solver).and_then(|g| match (&g, &args.solver.warm_start) {
        (Some(_), Some(_)) => Err(crate::error::usage("--warm-start cannot be combined with --Cs (each fit of the path is warm-started from the one before)")),
        (Some(_), None) => Mode::for_path(sopts.solver).check_path().map(|()| g),
        _ => Ok(g),
    }))?;
    let bound = crate::threads::affinity_warning();
    crate::log::warn_once(comm.is_root(), args.vectorizer.warnings().into_iter().chain(consistency::warnings(&flags)).chain(args.solver.warnings()).chain(bound));
    // Fail before the work when the model cannot be written.
    AtomicPath::probe(comm, &args.model)?;
    let warm_model = match &args.solver.warm_start {
        Some(p) => Some(comm.agree(Model::read(p))?),
        None => None,
    };
    let input::Input { classes, y, mut feats, first, vopts, external } = input::read(comm, &args, flags, &mut report)?;
    let warm = comm.agree(match &warm_model {
        Some(m) => check_warm_start(m, &feats.vocabulary, &classes, &vopts, args.solver.warm_start.as_deref())
            .map(|()| Some(WarmStart { coef: m.coef.clone(), intercept: m.intercept.clone() })),
        None => Ok(None),
    })?;
    let k = classes.len();
    let weights = weights::of_samples(comm, &args, &sopts, (&classes, &y), (first, feats.n_docs as usize))?;
    let rows = Rows::new(std::mem::replace(&mut feats.rows, crate::sparse::empty(0)), vopts.dtype == Dtype::Float32);
    let data = TrainingSet { x: &rows, y: &y, sample_weight: &weights.fit, n_features: feats.n_features, n_classes: k, n_total: feats.n_docs };
    let saved_mode = resumed_mode(comm, &args, &sopts)?;
    let mode = fix_mode(&mut sopts, grid.is_some(), saved_mode, &data, comm);
    let solver_name = mode.name();
    let fingerprint = fingerprint(&args, &vopts, &sopts, &feats, &classes);
    let resume = resume_state(comm, &args, &fingerprint, solver_name)?;
    if let Some(r) = &resume {
        let at = |n| r.head().get_int(n).unwrap_or(0);
        report.set("resumed_at", serde_json::json!({ "epoch": at("epoch"), "step": at("step"), "saved_by_ranks": at("saved_by_ranks") }));
    }
    let quiet = args.common.quiet || !comm.is_root();
    let bar = !quiet && std::io::stderr().is_terminal();
    let saver = args.ops.checkpoint.as_deref().map(|p| Checkpointer::new(p, &fingerprint, solver_name));
    let mut hooks = Hooks { comm, ops: &args.ops, saver, last_save: std::time::Instant::now(), stopped_by: None, quiet, bar, progress: true };
    let (t_fit, before) = (Phase::Fit.begin(comm.rank()), comm.tally().snapshot());
    let problem = Problem { data: &data, own_weight: weights.own.as_deref(), first, feats: &feats, vopts: &vopts, classes: &classes };
    let result = solve(comm, &args, &problem, &sopts, Start { warm: warm.as_ref(), resume }, &mut hooks, grid);
    // Without a checkpoint a stopped fit has saved nothing: say so, and exit 128 + signal.
    let result = match (result, hooks.stopped_by) {
        (Err(e), Some(sig)) if args.ops.checkpoint.is_none() && e.is::<crate::error::Interrupted>() => Err(signals::stopped(sig).into()),
        (r, _) => r,
    };
    // Failures inside the solver are agreed on by its collectives; agree once more for the others.
    let (mut result, sopts, selection) = comm.agree(result)?;
    report.since(Phase::Fit, t_fit);
    let communicated = comm.tally().since(&before);

    let model = Model {
        coef: std::mem::take(&mut result.coef),
        intercept: std::mem::take(&mut result.intercept),
        classes,
        vocabulary: feats.vocabulary.take(),
        idf: feats.idf.take(),
        n_features: feats.n_features,
        params: Params { vectorizer: vopts, solver: sopts.clone(), textsaga_version: env!("CARGO_PKG_VERSION").into(), external_features: external },
        n_iter: result.n_iter,
        objective: result.objective,
        converged: result.converged,
        selection,
    };
    let t_write = Phase::Write.begin(comm.rank());
    comm.agree(Ok(()))?; // the last point to stop: the model is written whole after it
    comm.on_root(|| model.write(&args.model))?;
    signals::finished();
    report.since(Phase::Write, t_write);

    record_fit(&mut report, comm, &feats, data.x.nnz(), k, &result, &communicated);
    if let Some(s) = &model.selection {
        report.set("cv", s.to_json());
    }
    let r = report.finish(comm, args.run.metrics.as_deref())?;
    if comm.is_root() {
        summary(&args, &sopts, &result, &model, comm.size(), &r);
    }
    Ok(())
}

/// Collective: fixes the mode before the fit (the model, the log and the
/// checkpoint name it): `auto`'s choice, or the path's mode for `--Cs`; a
/// resumed `auto` fit keeps the mode its checkpoint was saved by (at another
/// rank count `auto` may choose another).
fn fix_mode(sopts: &mut SolverOptions, path: bool, saved: Option<Mode>, data: &TrainingSet, comm: &dyn Collectives) -> Mode {
    let mode = match saved {
        _ if path => Mode::for_path(sopts.solver),
        Some(mode) => mode,
        None => resolve(data, sopts, comm),
    };
    sopts.solver = mode.kind();
    mode
}

/// Collective: the fit's sizes, outcome, solver details and communication in the run report.
fn record_fit(report: &mut RunReport, comm: &dyn Collectives, feats: &Features, nnz: usize, k: usize, result: &FitResult, communicated: &Counts) {
    report.set("documents", feats.n_docs);
    report.set("nnz", comm.sum_f64(nnz as f64) as u64);
    report.set("columns", feats.n_features);
    report.set("classes", k);
    report.set("epochs", result.n_iter);
    report.set("converged", result.converged);
    report.set("objective", result.objective);
    for (key, v) in &result.details {
        report.set(key, v);
    }
    report.set("bytes_communicated", comm.sum_f64(communicated.total_bytes() as f64) as u64);
    report.set("collectives_fit", collectives_json(comm, communicated));
}

/// The model, metrics and checkpoint may not be the data, the warm start
/// or each other (the checkpoint is read back only by `--resume`).
fn refuse_overwriting_inputs(args: &FitArgs) -> Result<()> {
    let mut inputs: Vec<_> = args.input.data.iter().map(|p| named("--data", p)).collect();
    inputs.extend(args.input.features.as_deref().map(|p| named("--features", p)));
    inputs.extend(args.solver.warm_start.as_deref().map(|p| named("--warm-start", p)));
    inputs.extend(args.vectorizer.input_files().into_iter().map(|(flag, p)| named(flag, p)));
    let mut outputs = vec![named("--model", &args.model)];
    outputs.extend(args.run.metrics.as_deref().map(|m| named("--metrics", m)));
    outputs.extend(args.ops.checkpoint.as_deref().map(|c| named("--checkpoint", c)));
    refuse_overwriting(&inputs, &outputs)
}

/// What the fit is of: this rank's training set and where it came from.
struct Problem<'a> {
    data: &'a TrainingSet<'a>,
    /// `--sample-weight`'s weights of this rank's documents (the class
    /// weights left out): what a held-out document weighs in a CV score.
    own_weight: Option<&'a [f64]>,
    /// Global index of this rank's first document.
    first: usize,
    feats: &'a Features,
    vopts: &'a crate::tfidf::VectorizerOptions,
    classes: &'a Classes,
}

/// Where a fit starts: a warm start's weights, or a checkpoint's state.
struct Start<'a, 'c> {
    warm: Option<&'a WarmStart>,
    resume: Option<Box<dyn Resume + 'c>>,
}

/// Collective: one fit; with `--Cs`, the cross-validation path, then the
/// chosen point refit on all the data. Returns the options it ended with.
fn solve(
    comm: &dyn Collectives,
    args: &FitArgs,
    p: &Problem,
    sopts: &SolverOptions,
    Start { warm, resume }: Start,
    hooks: &mut Hooks,
    grid: Option<(Grid, usize)>,
) -> Result<(FitResult, SolverOptions, Option<Selection>)> {
    let Some((grid, k)) = grid else {
        return Ok((fit(p.data, sopts, warm, resume, comm, hooks)?, sopts.clone(), None));
    };
    // Given folds (`--cv-folds`) set their own count.
    let given = match &args.selection.cv_folds {
        Some(name) => Some(comm.agree(cv::given_folds(comm, args, name, p))?),
        None => None,
    };
    let k = given.as_ref().map_or(k, |g| g.1);
    let folds = if args.selection.validation_data.is_some() { 1 } else { k };
    // A state of the refit also holds the path's scores: the path is skipped
    // (it reads them from the state's head), and the refit resumes.
    let (path_state, refit_state) = match resume {
        Some(r) if PathHooks::is_refit(r.head(), folds) => (Some(Box::new(r.head().clone()) as Box<dyn Resume>), Some(r)),
        r => (r, None),
    };
    let mut path_hooks = PathHooks::new(hooks);
    let chosen = cv::choose(comm, args, p, sopts, (&grid, k, given.map(|g| g.0)), &mut path_hooks, path_state)?;
    path_hooks.show_progress(true);
    let result = fit(p.data, &chosen.opts, None, refit_state, comm, &mut path_hooks)?;
    Ok((result, chosen.opts, Some(chosen.selection)))
}

/// What a checkpoint must match to be resumed by this fit (not the rank
/// count: a checkpoint resumes at any).
fn fingerprint(args: &FitArgs, vopts: &crate::tfidf::VectorizerOptions, sopts: &SolverOptions, feats: &Features, classes: &Classes) -> serde_json::Value {
    serde_json::json!({
        "vectorizer": vopts,
        "solver": SolverOptions { max_iter: 0, tol: 0.0, ..sopts.clone() },
        "documents": feats.n_docs,
        "features": feats.n_features,
        "classes": (0..classes.len()).map(|c| classes.name(c)).collect::<Vec<_>>(),
        "vocabulary_hash": vocabulary_hash(&feats.vocabulary),
        "warm_start": args.solver.warm_start.is_some(),
        "selection": [&args.selection.cs, &args.selection.cv.map(|k| k.to_string()), &args.selection.scoring.map(|s| format!("{s:?}")),
            &args.selection.l1_ratios, &args.selection.validation_data.as_ref().map(|p| p.display().to_string()),
            &args.selection.cv_shuffle.then(|| "shuffle".to_string()), &args.selection.cv_folds],
    })
}

/// Collective: the mode an `auto` fit resumes with: its checkpoint's.
fn resumed_mode(comm: &dyn Collectives, args: &FitArgs, sopts: &SolverOptions) -> Result<Option<Mode>> {
    match &args.ops.checkpoint {
        Some(path) if args.ops.resume && path.exists() && sopts.solver == SolverKind::Auto => {
            let name = comm.agree(checkpoint::solver_of(path))?;
            Ok(SolverKind::value_variants().iter().find(|k| k.name() == name).and_then(|&k| Mode::named(k)))
        }
        _ => Ok(None),
    }
}

/// Collective: the state to resume from (`--resume` with an existing checkpoint).
fn resume_state<'c>(comm: &'c dyn Collectives, args: &FitArgs, fingerprint: &serde_json::Value, solver: &str) -> Result<Option<Box<dyn Resume + 'c>>> {
    let say = comm.is_root() && !args.common.quiet;
    match (&args.ops.checkpoint, args.ops.resume) {
        (Some(path), true) if path.exists() => {
            let saved = comm.agree(checkpoint::Saved::open(comm, path, fingerprint, solver))?;
            if say {
                let at = |n| saved.head().get_int(n).unwrap_or(0);
                let by = match at("saved_by_ranks") as usize {
                    p if p == comm.size() => String::new(),
                    p => format!(" (saved by {p} ranks, now {})", comm.size()),
                };
                crate::say!("textsaga fit: resuming at epoch {} step {}{by}", at("epoch") + 1, at("step"));
            }
            Ok(Some(Box::new(saved)))
        }
        (Some(path), true) => {
            if say {
                crate::say!("textsaga fit: no checkpoint at '{}' yet; starting afresh", path.display());
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// The convergence warning and the run's one summary line (rank 0).
fn summary(args: &FitArgs, sopts: &SolverOptions, result: &FitResult, model: &Model, ranks: usize, r: &serde_json::Value) {
    if !result.converged {
        crate::say!(
            "textsaga: warning: --max-iter {} reached before the change fell below --tol {}; \
             the coefficients have not converged (sklearn's ConvergenceWarning)",
            sopts.max_iter, sopts.tol
        );
    }
    if args.common.quiet {
        return;
    }
    crate::say!(
        "textsaga fit: {} documents, {} classes, {} features, {} ranks{}: {}, objective {:.10e}, \
         {:.1} MB sent -> {} in {:.2} s ({}); peak RSS {:.0} MB per rank",
        r["documents"],
        model.classes.len(),
        model.n_features,
        ranks,
        crate::threads::summary(),
        result.summary,
        result.objective,
        r["bytes_communicated"].as_f64().unwrap_or(0.0) / 1e6,
        args.model.display(),
        r["total_seconds"].as_f64().unwrap_or(0.0),
        phase_summary(r),
        r["peak_rss_bytes_max_over_ranks"].as_f64().unwrap_or(0.0) / 1e6,
    );
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
