//! Solver settings, as scikit-learn's `LogisticRegression` names them, and
//! `--solver`: the mode to run (`factory::Mode` once `auto` is resolved).

mod stored;

use super::penalty::Penalty;
use serde::{Deserialize, Serialize};

/// Which optimiser fits the model (`--solver`); every one reaches the same optimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SolverKind {
    /// Chosen from the cost model by the problem's size and the rank count ([`super::mode`]).
    #[default]
    Auto,
    /// Synchronous distributed SAGA over a column-split model: one allreduce a step.
    Saga,
    /// Rows stay where they were read; L-BFGS (OWL-QN with L1) on the full
    /// gradient, started from averaged local SAGA fits: one reduce-scatter an iteration.
    Lbfgs,
}

impl SolverKind {
    /// The name logs, metrics and checkpoints use (`Solver::name` of the mode).
    pub fn name(self) -> &'static str {
        match self {
            SolverKind::Auto => "auto",
            SolverKind::Saga => "saga",
            SolverKind::Lbfgs => "lbfgs",
        }
    }
}

/// The settings of a fit. The penalty is not one of them: as in scikit-learn
/// 1.8+ it follows from `c` and `l1_ratio` ([`Self::penalty`]), so a path
/// that changes either (`--Cs`, `--l1-ratios`) changes it too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "stored::Stored", into = "stored::Stored")]
pub struct SolverOptions {
    /// Inverse regularisation strength; `f64::INFINITY` is no penalty.
    pub c: f64,
    /// The elastic-net mix: 0 is L2, 1 is L1.
    pub l1_ratio: f64,
    pub fit_intercept: bool,
    pub class_weight_balanced: bool,
    /// `--class-weight LABEL:W,...`: the weight of each listed class (the
    /// label as text), 1 for the others.
    pub class_weights: Option<Vec<(String, f64)>>,
    /// `--sample-weight NAME`: the input file's dataset of per-document weights.
    pub sample_weight: Option<String>,
    /// Epochs at most.
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    /// Samples per rank per step; `None` chooses (see `saga::auto_batch`).
    pub batch_size: Option<usize>,
    /// SAGA steps of one sample per allreduce (`saga::block`); `None` is 1.
    pub sync_steps: Option<usize>,
    /// The optimiser (models written before it existed were fitted by SAGA).
    pub solver: SolverKind,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            c: 1.0,
            l1_ratio: 0.0,
            fit_intercept: true,
            class_weight_balanced: false,
            class_weights: None,
            sample_weight: None,
            max_iter: 100,
            tol: 1e-4,
            seed: 0,
            batch_size: None,
            sync_steps: None,
            solver: SolverKind::Auto,
        }
    }
}

impl SolverOptions {
    /// The regulariser `c` and `l1_ratio` make ([`Penalty::of`]).
    pub fn penalty(&self) -> Penalty {
        Penalty::of(self.c, self.l1_ratio)
    }

    /// The factor of the data term in the objective (`C * sum_i s_i loss_i +
    /// penalty`). Without a penalty every C has the same optimum, and C = inf
    /// would make the objective infinite: it is then the loss itself (C = 1).
    pub fn loss_scale(&self) -> f64 {
        if self.c.is_finite() {
            self.c
        } else {
            1.0
        }
    }

    /// sklearn's split of `1 / C` into the L2 part (`alpha`) and the L1 part
    /// (`beta`), before scaling by `1 / n`.
    pub fn alpha_beta(&self) -> (f64, f64) {
        let inv_c = 1.0 / self.c;
        let (l2, l1) = self.penalty_strengths();
        (inv_c * l2, inv_c * l1)
    }

    /// The problems sklearn rejects, in its words where it has them.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.c > 0.0) {
            return Err(format!("C must be a positive number (inf: no penalty), got {}", self.c));
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(format!("--l1-ratio must be within [0, 1], got {}", self.l1_ratio));
        }
        if !(self.tol >= 0.0) {
            return Err(format!("--tol must be >= 0, got {}", self.tol));
        }
        if self.max_iter == 0 {
            return Err("--max-iter must be at least 1".into());
        }
        if self.batch_size == Some(0) {
            return Err("--batch-size must be at least 1".into());
        }
        if let Some(n) = self.sync_steps.filter(|&n| n > 1) {
            if self.batch_size.is_some() {
                return Err(format!("--sync-steps {n} takes steps of one sample: leave --batch-size at auto"));
            }
            if self.penalty_strengths().1 > 0.0 {
                return Err(format!("--sync-steps {n} needs a penalty without an L1 term (l2 or none): the L1 proximal step is not linear"));
            }
        }
        Ok(())
    }

    /// The strengths `(l2, l1)` of the penalty's two terms:
    /// [`Self::penalty_value`] is `l2 |W|^2 / 2 + l1 |W|_1`.
    pub fn penalty_strengths(&self) -> (f64, f64) {
        self.penalty().strengths(self.l1_ratio)
    }

    /// Penalty value of the weights (intercept excluded), sklearn's definition.
    pub fn penalty_value(&self, w: &[f64]) -> f64 {
        let l2 = || 0.5 * w.iter().map(|x| x * x).sum::<f64>();
        let l1 = || w.iter().map(|x| x.abs()).sum::<f64>();
        match self.penalty() {
            Penalty::L2 => l2(),
            Penalty::L1 => l1(),
            Penalty::Elasticnet => (1.0 - self.l1_ratio) * l2() + self.l1_ratio * l1(),
            Penalty::None => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalties() {
        let o = SolverOptions { c: 2.0, l1_ratio: 0.25, ..Default::default() };
        assert_eq!(o.penalty(), Penalty::Elasticnet);
        assert_eq!(o.alpha_beta(), (0.375, 0.125));
        assert_eq!(o.penalty_value(&[3.0, -4.0]), 0.75 * 12.5 + 0.25 * 7.0);
        let (l2, l1) = o.penalty_strengths();
        assert_eq!(o.penalty_value(&[3.0, -4.0]), l2 * 12.5 + l1 * 7.0);
        assert_eq!(SolverOptions { c: 4.0, l1_ratio: 1.0, ..Default::default() }.alpha_beta(), (0.0, 0.25));
        let none = SolverOptions { c: f64::INFINITY, ..Default::default() };
        assert_eq!((none.penalty(), none.alpha_beta(), none.loss_scale(), none.penalty_value(&[3.0])), (Penalty::None, (0.0, 0.0), 1.0, 0.0));
        assert!(none.validate().is_ok());
        assert!(SolverOptions { c: f64::NAN, ..Default::default() }.validate().is_err());
        assert!(SolverOptions { c: -1.0, ..Default::default() }.validate().is_err());
        assert!(SolverOptions { c: f64::NEG_INFINITY, ..Default::default() }.validate().is_err());
        assert!(SolverOptions { l1_ratio: 1.5, ..Default::default() }.validate().is_err());
        assert!(SolverOptions::default().validate().is_ok());
    }
}
