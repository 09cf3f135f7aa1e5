//! Choosing C (and the elastic-net mix) as scikit-learn's
//! `LogisticRegressionCV` does: for each fold of `StratifiedKFold` (or one
//! held-out file), a path of fits over the Cs in the order given (from the
//! strongest regularization to the weakest for `--Cs N`), each warm-started
//! from the one before; the mean score over folds picks the best point,
//! which the caller refits on all the data.
//!
//! With sample weights, as `LogisticRegressionCV.fit(X, y, sample_weight=w)`
//! in scikit-learn 1.9 (metadata routing off, its default): a fold's fits
//! weigh each training document by its weight in the objective (class
//! weights included, `balanced` counted once over all the data: the subset
//! keeps them), and its score weighs each held-out document by `w` alone.
//!
//! Every rank works on every fit: a fold is the subset of each rank's own
//! documents outside it, so the path gains from every rank the way a single
//! fit does, and no document moves.
//!
//! Checkpoints cover the whole path: [`PathHooks`] adds the point being fitted
//! and the scores so far to the solver's state, and [`path_scores`] given
//! such a state skips the points done and resumes the fit in progress.

pub mod folds;
mod numpy_rng;
pub mod scoring;

use crate::collectives::Collectives;
use crate::error::Result;
use crate::solver::state::Values;
use std::borrow::Cow;
use crate::solver::{drive, restore, EpochReport, FitHooks, Mode, PathFits, Resume, SolverOptions, SolverState, TrainingSet, WarmStart};
use crate::sparse::{RowBuilder, Rows, Value};
use crate::with_parts;
use scoring::{score, Scoring};
use std::time::Instant;

/// The points to try and how to score them.
#[derive(Debug, Clone)]
pub struct Grid {
    pub cs: Vec<f64>,
    /// Elastic-net mixes (`--l1-ratios`); `None`: the options' own penalty.
    pub l1_ratios: Option<Vec<f64>>,
    pub scoring: Scoring,
}

impl Grid {
    fn mixes(&self) -> Vec<Option<f64>> {
        self.l1_ratios.as_ref().map_or(vec![None], |v| v.iter().map(|&r| Some(r)).collect())
    }
}

/// `--Cs N`: N values from `np.logspace(-4, 4, N)`, as scikit-learn.
pub fn logspace_cs(n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![1e-4],
        _ => (0..n).map(|i| 10f64.powf(-4.0 + 8.0 * i as f64 / (n - 1) as f64)).collect(),
    }
}

/// Where each fit is scored.
pub enum Holdout<'a> {
    /// `fold_of[i]`: the fold of local document `i`, of `k` folds;
    /// `weight[i]`: what it weighs in its fold's score (`--sample-weight`'s
    /// own weight: `LogisticRegressionCV` scores with the held-out part of
    /// `fit`'s `sample_weight`, class weights left out), 1 each without.
    Folds { fold_of: &'a [u32], k: usize, weight: Option<&'a [f64]> },
    /// A held-out file's rows and class indices (this rank's share); its
    /// documents weigh 1 each (the weights are the training file's).
    Validation { x: &'a Rows, y: &'a [u32] },
}

/// One fit of the path, for the log and `--metrics`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PathPoint {
    pub fold: usize,
    pub c: f64,
    pub l1_ratio: Option<f64>,
    pub score: f64,
    pub epochs: usize,
    /// Whether the fit met --tol before --max-iter (sklearn warns of each
    /// that did not: a fold's score of unconverged coefficients).
    pub converged: bool,
    pub seconds: f64,
}

/// Scores of every point, `[fold][c][mix]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub folds: usize,
    pub cs: usize,
    pub mixes: usize,
    pub values: Vec<f64>,
}

impl Scores {
    /// The summed score over folds of point (C index `c`, mix index `m`).
    fn sum(&self, c: usize, m: usize) -> f64 {
        (0..self.folds).map(|f| self.values[(f * self.cs + c) * self.mixes + m]).sum::<f64>()
    }

    /// The mean score over folds of point (`c`, `m`).
    pub fn mean(&self, c: usize, m: usize) -> f64 {
        self.sum(c, m) / self.folds as f64
    }

    /// The best (C index, mix index): the highest mean over folds, the first
    /// in (C, mix) order among equals (numpy's argmax of `scores.sum(axis=0)`).
    pub fn best(&self) -> (usize, usize) {
        let mut best = (0, 0);
        for c in 0..self.cs {
            for m in 0..self.mixes {
                if self.sum(c, m) > self.sum(best.0, best.1) {
                    best = (c, m);
                }
            }
        }
        best
    }
}

/// Collective: scores every point of the grid, calling `on_point` after each
/// fit; from a saved state (`resume`), only the points not done yet.
pub fn path_scores(
    comm: &dyn Collectives,
    data: &TrainingSet,
    base: &SolverOptions,
    (grid, holdout): (&Grid, &Holdout),
    hooks: &mut PathHooks,
    mut resume: Option<Box<dyn Resume + '_>>,
    on_point: &mut dyn FnMut(&PathPoint),
) -> Result<Scores> {
    let folds = match holdout {
        Holdout::Folds { k, .. } => *k,
        Holdout::Validation { .. } => 1,
    };
    let mixes = grid.mixes();
    let mut values = vec![f64::NAN; folds * grid.cs.len() * mixes.len()];
    let start = match &resume {
        Some(saved) => PathHooks::position_in(saved.head(), &mut values)?,
        None => [0; 3],
    };
    for fold in start[0]..folds {
        let train = match holdout {
            Holdout::Folds { fold_of, .. } => Some(Subset::of(data, |i| fold_of[i] as usize != fold)),
            Holdout::Validation { .. } => None,
        };
        let n_train = train.as_ref().map(|t| comm.sum_f64(t.y.len() as f64) as u64);
        let fold_data = train.as_ref().map(|t| t.training_set(data, n_train.unwrap_or(0)));
        let train_data = fold_data.as_ref().unwrap_or(data);
        // What every C and mix of the fold share, computed once (the solver's own business).
        let fits = Mode::for_path(base.solver).path(train_data, base, comm)?;
        for (m, &mix) in mixes.iter().enumerate() {
            if [fold, m] < [start[0], start[1]] {
                continue;
            }
            let mut path = Path { all: data, fits: fits.as_ref(), base, grid, mix, mixes: mixes.len(), holdout, at: [fold, m, 0], values: &mut values };
            path.run(comm, hooks, resume.take(), on_point)?;
        }
    }
    hooks.position = [folds, 0, 0];
    hooks.scores = values.clone();
    Ok(Scores { folds, cs: grid.cs.len(), mixes: mixes.len(), values })
}

/// The path over the Cs for one fold and one mix.
struct Path<'a, 'd, 'f> {
    all: &'a TrainingSet<'d>,
    fits: &'a dyn PathFits<'f>,
    base: &'a SolverOptions,
    grid: &'a Grid,
    mix: Option<f64>,
    /// How many mixes the grid has (the stride of `values`).
    mixes: usize,
    holdout: &'a Holdout<'a>,
    /// [fold, mix, first C index to fit].
    at: [usize; 3],
    /// Every point's score, `[fold][c][mix]`.
    values: &'a mut Vec<f64>,
}

impl Path<'_, '_, '_> {
    /// Collective: the fits, warm-started along the way (the first from a
    /// saved state when resuming at it), each scored.
    fn run(&mut self, comm: &dyn Collectives, hooks: &mut PathHooks, mut resume: Option<Box<dyn Resume + '_>>, on_point: &mut dyn FnMut(&PathPoint)) -> Result<()> {
        let [fold, m, first] = self.at;
        let mut warm: Option<WarmStart> = None;
        for (ci, &c) in self.grid.cs.iter().enumerate().skip(if resume.is_some() { first } else { 0 }) {
            let started = Instant::now();
            let opts = SolverOptions { c, l1_ratio: self.mix.unwrap_or(self.base.l1_ratio), ..self.base.clone() };
            let mut solver = self.fits.solver(&opts, warm.as_ref(), started)?;
            if let Some(saved) = resume.take() {
                restore(solver.as_mut(), saved)?;
            }
            hooks.position = [fold, m, ci];
            hooks.scores = self.values.clone();
            let outcome = drive(solver.as_mut(), opts.max_iter, hooks)?;
            let solution = solver.solution();
            drop(solver);
            let s = match self.holdout {
                Holdout::Folds { fold_of, weight, .. } => {
                    let held_out = |i: usize| (fold_of[i] as usize == fold).then(|| weight.map_or(1.0, |w| w[i]));
                    score(comm, self.grid.scoring, (self.all.x, self.all.y), held_out, &solution.coef, &solution.intercept)?
                }
                Holdout::Validation { x, y } => score(comm, self.grid.scoring, (x, y), |_| Some(1.0), &solution.coef, &solution.intercept)?,
            };
            self.values[(fold * self.grid.cs.len() + ci) * self.mixes + m] = s;
            on_point(&PathPoint { fold, c, l1_ratio: self.mix, score: s, epochs: outcome.n_iter, converged: outcome.converged, seconds: started.elapsed().as_secs_f64() });
            warm = Some(WarmStart { coef: solution.coef, intercept: solution.intercept });
        }
        Ok(())
    }
}

/// The caller's hooks for the fits of a path (and its refit): everything
/// goes through, with the path's position and scores added to the saved
/// state; progress is off for the path (it logs one line a point).
pub struct PathHooks<'h> {
    inner: &'h mut dyn FitHooks,
    /// [fold, mix, C index] of the fit in progress; `[folds, 0, 0]`: the refit.
    pub position: [usize; 3],
    pub scores: Vec<f64>,
}

impl<'h> PathHooks<'h> {
    pub fn new(inner: &'h mut dyn FitHooks) -> Self {
        inner.show_progress(false);
        PathHooks { inner, position: [0; 3], scores: Vec::new() }
    }

    /// The position saved in `state`, with the scores done written into `values`.
    fn position_in(state: &SolverState, values: &mut [f64]) -> Result<[usize; 3]> {
        let at = |n: &str| state.get_int(n).map(|v| v as usize);
        let saved = state.arrays.iter().find(|a| a.name == "path_scores").map(|a| &a.values);
        match saved {
            Some(Values::F64(v)) if v.len() == values.len() => values.copy_from_slice(v),
            _ => anyhow::bail!("the checkpoint holds no cross-validation path of this grid; delete it and start afresh"),
        }
        Ok([at("path_fold")?, at("path_mix")?, at("path_c")?])
    }

    /// Whether a saved state is of the refit (the path done).
    pub fn is_refit(state: &SolverState, folds: usize) -> bool {
        state.get_int("path_fold").is_ok_and(|f| f as usize >= folds)
    }
}

impl FitHooks for PathHooks<'_> {
    fn stop_requested(&self) -> bool {
        self.inner.stop_requested()
    }
    fn stopping(&mut self) {
        self.inner.stopping()
    }
    fn checkpoint_due(&self, epochs_done: usize) -> bool {
        self.inner.checkpoint_due(epochs_done)
    }
    fn checkpoint(&mut self, state: &SolverState) -> Result<()> {
        let mut s = state.borrowed();
        let [fold, mix, c] = self.position;
        s.int("path_fold", fold as i64).int("path_mix", mix as i64).int("path_c", c as i64);
        s.shared("path_scores", Values::F64(Cow::Borrowed(&self.scores)));
        self.inner.checkpoint(&s)
    }
    fn epoch(&mut self, report: &EpochReport) {
        self.inner.epoch(report)
    }
    fn step(&mut self, epoch: usize, done: usize, steps: usize) {
        self.inner.step(epoch, done, steps)
    }
    fn show_progress(&mut self, on: bool) {
        self.inner.show_progress(on)
    }
}

/// This rank's documents of one fold's training part (copied rows).
struct Subset {
    x: Rows,
    y: Vec<u32>,
    sample_weight: Vec<f64>,
}

impl Subset {
    fn of(data: &TrainingSet, keep: impl Fn(usize) -> bool) -> Self {
        let mut rows = RowBuilder::new();
        let (mut y, mut sample_weight) = (Vec::new(), Vec::new());
        with_parts!(data.x, |indptr, cols, values| {
            for i in (0..data.y.len()).filter(|&i| keep(i)) {
                (indptr[i]..indptr[i + 1]).for_each(|p| rows.push(cols[p], values[p].to_f64()));
                rows.end_row();
                y.push(data.y[i]);
                sample_weight.push(data.sample_weight[i]);
            }
        });
        // float32 values came from float32: rounding them again is exact.
        Subset { x: Rows::new(rows.finish(data.n_features), data.x.is_f32()), y, sample_weight }
    }

    fn training_set<'a>(&'a self, all: &TrainingSet, n_total: u64) -> TrainingSet<'a> {
        TrainingSet { x: &self.x, y: &self.y, sample_weight: &self.sample_weight, n_features: all.n_features, n_classes: all.n_classes, n_total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logspace_is_numpys() {
        let cs = logspace_cs(5);
        let want = [1e-4, 1e-2, 1.0, 1e2, 1e4];
        assert!(cs.iter().zip(want).all(|(a, b)| (a - b).abs() <= 1e-12 * b), "{cs:?}");
        assert_eq!(logspace_cs(1), [1e-4]);
    }

    #[test]
    fn the_best_point_is_the_first_highest_mean() {
        // 2 folds, 3 Cs, 1 mix: means 0.5, 0.75, 0.75 -> the first 0.75.
        let s = Scores { folds: 2, cs: 3, mixes: 1, values: vec![0.5, 0.5, 1.0, 0.5, 1.0, 0.5] };
        assert_eq!(s.best(), (1, 0));
    }
}
