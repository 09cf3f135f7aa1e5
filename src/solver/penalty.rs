//! The regulariser, as scikit-learn 1.8+ derives it: not a parameter of its
//! own (sklearn deprecated `penalty` in 1.8 and removes it in 1.10) but a
//! consequence of `C` and `l1_ratio`. [`Penalty::of`] is the one place that
//! rule lives; `--penalty` is only an alias resolved onto `C` and `l1_ratio`
//! at the command line (`cli::SolverArgs`).

use serde::{Deserialize, Serialize};

/// The regulariser (`penalty` before scikit-learn 1.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// `0.5 * ||W||^2` (the same as --l1-ratio 0).
    L2,
    /// `||W||_1` (the same as --l1-ratio 1).
    L1,
    /// `(1 - l1_ratio) / 2 * ||W||^2 + l1_ratio * ||W||_1` (give --l1-ratio R).
    Elasticnet,
    /// No penalty (the same as -C inf).
    None,
}

impl Penalty {
    /// scikit-learn 1.8+'s rule (`LogisticRegression.fit`): `C = inf` is no
    /// penalty; otherwise `l1_ratio` 0 is L2, 1 is L1, and between the elastic net.
    pub fn of(c: f64, l1_ratio: f64) -> Penalty {
        if c == f64::INFINITY {
            Penalty::None
        } else if l1_ratio == 0.0 {
            Penalty::L2
        } else if l1_ratio == 1.0 {
            Penalty::L1
        } else {
            Penalty::Elasticnet
        }
    }

    /// The name `--penalty` and the model's params use.
    pub fn name(self) -> &'static str {
        match self {
            Penalty::L2 => "l2",
            Penalty::L1 => "l1",
            Penalty::Elasticnet => "elasticnet",
            Penalty::None => "none",
        }
    }

    /// The strengths `(l2, l1)` of the penalty's two terms for this mix.
    pub fn strengths(self, l1_ratio: f64) -> (f64, f64) {
        match self {
            Penalty::L2 => (1.0, 0.0),
            Penalty::L1 => (0.0, 1.0),
            Penalty::Elasticnet => (1.0 - l1_ratio, l1_ratio),
            Penalty::None => (0.0, 0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sklearn_18_rule() {
        assert_eq!(Penalty::of(1.0, 0.0), Penalty::L2);
        assert_eq!(Penalty::of(3.0, 1.0), Penalty::L1);
        assert_eq!(Penalty::of(0.5, 0.25), Penalty::Elasticnet);
        // C = inf wins over any mix, as in sklearn.
        assert_eq!(Penalty::of(f64::INFINITY, 0.0), Penalty::None);
        assert_eq!(Penalty::of(f64::INFINITY, 0.5), Penalty::None);
        assert_eq!(Penalty::Elasticnet.strengths(0.25), (0.75, 0.25));
    }
}
