//! Each sample's weight in the objective, as scikit-learn's `fit` forms it:
//! its class's weight (`--class-weight balanced|LABEL:W,...`) times its own
//! (`--sample-weight NAME`, a dataset of the input file). A cross-validation
//! path scores its held-out documents by their own weights alone, as
//! `LogisticRegressionCV.fit(sample_weight=...)` hands them to its scorer.

use super::input::per_document;
use crate::classes::{balanced_from_sums, Classes};
use crate::cli::FitArgs;
use crate::collectives::Collectives;
use crate::error::Result;
use crate::solver::SolverOptions;
use anyhow::bail;

/// The weights of this rank's samples.
pub struct Weights {
    /// In the objective: the class's weight times the sample's own.
    pub fit: Vec<f64>,
    /// `--sample-weight`'s alone (none without it): what a held-out
    /// document weighs in a cross-validation score.
    pub own: Option<Vec<f64>>,
}

/// Collective: the weights of each local sample (`y`: class indices; `first`
/// the global index of `y[0]`, of `total` documents).
pub fn of_samples(comm: &dyn Collectives, args: &FitArgs, sopts: &SolverOptions, (classes, y): (&Classes, &[u32]), (first, total): (usize, usize)) -> Result<Weights> {
    let own = match &sopts.sample_weight {
        Some(name) => Some(comm.agree(sample_weights(args, name, (first, y.len()), total))?),
        None => None,
    };
    let class = match comm.agree(given(classes, sopts))? {
        Some(w) => w,
        None if sopts.class_weight_balanced => balanced(comm, y, classes.len(), own.as_deref()),
        None => vec![1.0; classes.len()],
    };
    let fit = y.iter().enumerate().map(|(i, &c)| class[c as usize] * own.as_ref().map_or(1.0, |w| w[i])).collect();
    Ok(Weights { fit, own })
}

/// `--sample-weight NAME`, checked as scikit-learn checks it: finite, none negative.
fn sample_weights(args: &FitArgs, name: &str, (first, n): (usize, usize), total: usize) -> Result<Vec<f64>> {
    let w: Vec<f64> = per_document(args, ("--sample-weight", "weight"), name, (first, n), total)?;
    if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        bail!("--sample-weight '{name}': document {} has weight {}; weights are finite numbers of 0 or more", first + i, w[i]);
    }
    Ok(w)
}

/// The weight of each class under `--class-weight LABEL:W,...` (1 for a
/// class not listed); a listed label that is no class is an error naming
/// the classes (a typo would otherwise weigh nothing).
fn given(classes: &Classes, sopts: &SolverOptions) -> Result<Option<Vec<f64>>> {
    let Some(given) = &sopts.class_weights else { return Ok(None) };
    let names: Vec<String> = (0..classes.len()).map(|c| classes.name(c)).collect();
    let mut w = vec![1.0; names.len()];
    for (label, weight) in given {
        match names.iter().position(|n| n == label) {
            Some(c) => w[c] = *weight,
            None => bail!("--class-weight: '{label}' is not one of the classes ({}); give the labels as in the corpus", names.join(", ")),
        }
    }
    Ok(Some(w))
}

/// Collective: `class_weight="balanced"` over the whole corpus, each class
/// counted by its summed sample weights (its documents when unweighted).
/// `LogisticRegressionCV` counts them so too, once over all the data, and
/// hands the result to every fold's fits: a fold's subset keeps these.
fn balanced(comm: &dyn Collectives, y: &[u32], k: usize, own: Option<&[f64]>) -> Vec<f64> {
    let mut sums = vec![0.0; k];
    for (i, &c) in y.iter().enumerate() {
        sums[c as usize] += own.map_or(1.0, |w| w[i]);
    }
    balanced_from_sums(&comm.sum_f64_vec_identical(&sums))
}
