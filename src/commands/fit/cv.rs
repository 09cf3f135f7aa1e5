//! `fit --Cs ...`: choose C (and the elastic-net mix) by cross-validation
//! over a regularization path (`selection`), then the caller refits the
//! chosen point on all the data. One line per point in the log; the model
//! records the choice as scikit-learn's `C_`, `Cs_`, `scores_`.

use crate::classes::Classes;
use crate::cli::FitArgs;
use crate::collectives::Collectives;
use crate::corpus::{read_slice, LabelNeed};
use crate::error::Result;
use crate::model::Selection;
use crate::selection::folds::stratified_folds;
use crate::selection::{path_scores, Grid, Holdout, PathHooks, PathPoint};
use crate::solver::{Resume, SolverOptions};
use crate::sparse::Rows;
use crate::tfidf::VectorizerOptions;
use crate::vectorizer::{transform, Features};
use super::Problem;

/// What the path chose: the options to refit with, and the model's record
/// (with every point of the path, for --metrics).
pub struct Chosen {
    pub opts: SolverOptions,
    pub selection: Selection,
}

/// Collective: runs the path (resuming it from `resume` when that state is
/// of the path) and picks the best point.
pub fn choose(
    comm: &dyn Collectives,
    args: &FitArgs,
    p: &Problem,
    sopts: &SolverOptions,
    (grid, k, given): (&Grid, usize, Option<Vec<u32>>),
    hooks: &mut PathHooks,
    resume: Option<Box<dyn Resume + '_>>,
) -> Result<Chosen> {
    let (data, classes) = (p.data, p.classes);
    comm.agree(grid.scoring.check(classes.len()))?;
    let validation = match &args.selection.validation_data {
        Some(path) => Some(comm.agree(validation_rows(comm, args, path, p.feats, p.vopts, classes))?),
        None => None,
    };
    let shuffle = args.selection.cv_shuffle.then_some(sopts.seed as u32);
    let folds = match (&validation, given) {
        (Some(_), _) => Vec::new(),
        (None, Some(given)) => given,
        (None, None) => comm.agree(stratified_folds(comm, data.y, p.first, classes.len(), k, shuffle))?.0,
    };
    let holdout = match &validation {
        Some((x, y)) => Holdout::Validation { x, y },
        None => Holdout::Folds { fold_of: &folds, k, weight: p.own_weight },
    };
    let say = comm.is_root() && !args.common.quiet;
    let name = grid.scoring.name();
    let mut points = Vec::new();
    let mut log = |p: &PathPoint| {
        if say {
            let mix = p.l1_ratio.map_or(String::new(), |r| format!("  l1_ratio {r:<5}"));
            crate::say!("cv fold {:>2}  C {:<10.4e}{mix}  {name} {:.6}  epochs {:>5}  {:>7.2} s", p.fold + 1, p.c, p.score, p.epochs, p.seconds);
        }
        points.push(p.clone());
    };
    let scores = path_scores(comm, data, sopts, (grid, &holdout), hooks, resume, &mut log)?;
    if comm.is_root() {
        warn_unconverged(&points, sopts);
    }
    let (c, m) = scores.best();
    let l1_ratio = grid.l1_ratios.as_ref().map(|r| r[m]);
    let opts = SolverOptions { c: grid.cs[c], l1_ratio: l1_ratio.unwrap_or(sopts.l1_ratio), ..sopts.clone() };
    if say {
        crate::say!("cv: best C {} {}(mean {name} {:.6} over {} fold(s)); refitting on all the data", grid.cs[c], l1_ratio.map_or(String::new(), |r| format!("l1_ratio {r} ")), scores.mean(c, m), scores.folds);
    }
    let selection = Selection { c: grid.cs[c], l1_ratio, cs: grid.cs.clone(), l1_ratios: grid.l1_ratios.clone(), folds: scores.folds, scores: scores.values, points: Vec::new() };
    Ok(Chosen { opts, selection: selection.with_points(points) })
}

/// sklearn's ConvergenceWarning for the path's fits that stopped at
/// --max-iter, said once for the job (with --quiet too, as a single fit's):
/// their scores, and so the choice of C, are of unconverged coefficients.
fn warn_unconverged(points: &[PathPoint], sopts: &SolverOptions) {
    let short: Vec<&PathPoint> = points.iter().filter(|p| !p.converged).collect();
    if let Some(first) = short.first() {
        crate::say!(
            "textsaga: warning: --max-iter {} reached before the change fell below --tol {} in {} of the path's {} fits \
             (the first: fold {}, C {}); their scores are of coefficients that have not converged (sklearn's ConvergenceWarning)",
            sopts.max_iter, sopts.tol, short.len(), points.len(), first.fold + 1, first.c
        );
    }
}

/// Collective: `--cv-folds NAME`, sklearn's `PredefinedSplit`: the fold of
/// each local document (its rank among the distinct fold numbers of the
/// whole file, in sorted order; `u32::MAX` for -1, never held out) and the
/// number of folds.
pub fn given_folds(comm: &dyn Collectives, args: &FitArgs, name: &str, p: &Problem) -> Result<(Vec<u32>, usize)> {
    let local = comm.agree(fold_numbers(args, name, (p.first, p.data.y.len()), p.data.n_total as usize))?;
    let mut mine: Vec<i64> = local.iter().copied().filter(|&f| f >= 0).collect();
    mine.sort_unstable();
    mine.dedup();
    let bytes: Vec<u8> = mine.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut all: Vec<i64> = comm.all_gather_bytes(&bytes)?.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
    all.sort_unstable();
    all.dedup();
    comm.agree(if all.is_empty() { Err(anyhow::anyhow!("--cv-folds '{name}': every document is -1 (never held out); give at least one fold")) } else { Ok(()) })?;
    let folds = local.iter().map(|f| all.binary_search(f).map_or(u32::MAX, |i| i as u32)).collect();
    Ok((folds, all.len()))
}

/// Fold numbers `first..first + n` of dataset `name`, checked: integers, one
/// a document, none below -1.
fn fold_numbers(args: &FitArgs, name: &str, (first, n): (usize, usize), total: usize) -> Result<Vec<i64>> {
    let v: Vec<i64> = super::input::per_document(args, ("--cv-folds", "fold number"), name, (first, n), total)?;
    if let Some(i) = v.iter().position(|&f| f < -1) {
        anyhow::bail!("--cv-folds '{name}': document {} has fold {}; folds are 0, 1, ... or -1 (never held out)", first + i, v[i]);
    }
    Ok(v)
}

/// This rank's rows and class indices of `--validation-data`, under the
/// vectorizer fitted on the training data.
fn validation_rows(comm: &dyn Collectives, args: &FitArgs, path: &std::path::Path, feats: &Features, vopts: &VectorizerOptions, classes: &Classes) -> Result<(Rows, Vec<u32>)> {
    let opts = args.input.text.read_options(path);
    let slice = read_slice(&opts, comm.rank(), comm.size(), LabelNeed::Required)?;
    let rows = transform(&slice, vopts, feats.vocabulary.as_deref(), feats.idf.as_deref(), args.input.text.decode_error, path)?;
    let y = classes.encode(slice.labels.as_ref().expect("labels are required"))?;
    Ok((Rows::new(rows, vopts.dtype == crate::tfidf::Dtype::Float32), y))
}
