//! The vectorizer's settings, mirroring `TfidfVectorizer`'s parameters.

use crate::text::{AnalyzerOptions, Encoding};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A `min_df`/`max_df` bound: an integer is a document count, a number with a
/// dot is a fraction of the documents (sklearn's int-versus-float rule).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DfBound {
    Count(u64),
    Fraction(f64),
}

impl DfBound {
    /// The bound as a document count, `max_df * n_doc` for fractions (unrounded, as sklearn).
    pub fn doc_count(self, n_docs: u64) -> f64 {
        match self {
            DfBound::Count(c) => c as f64,
            DfBound::Fraction(f) => f * n_docs as f64,
        }
    }
}

impl FromStr for DfBound {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains('.') || s.contains('e') || s.contains('E') {
            let f: f64 = s.parse().map_err(|_| format!("'{s}' is neither a count nor a fraction"))?;
            if !(0.0..=1.0).contains(&f) {
                return Err(format!("a fraction must be within [0.0, 1.0], got {s}"));
            }
            Ok(DfBound::Fraction(f))
        } else {
            s.parse()
                .map(DfBound::Count)
                .map_err(|_| format!("'{s}' is neither a count (like 2) nor a fraction (like 0.5)"))
        }
    }
}

impl fmt::Display for DfBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DfBound::Count(c) => write!(f, "{c}"),
            DfBound::Fraction(x) => write!(f, "{x:?}"),
        }
    }
}

/// The stored values' type (`dtype`). Values are computed in float64 and
/// rounded once when stored (vectorize's file, fit's rows and SAGA's
/// shard; predict rounds its rows alike): within one float32 rounding of
/// sklearn's float32 arithmetic. The features' arithmetic stays float64;
/// SAGA keeps its weights and gradient memory in float32 over float32 rows
/// (`solver::saga::real`), as sklearn's saga over float32 features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    #[default]
    Float64,
    Float32,
}

/// Row normalisation (`norm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    L1,
    L2,
    None,
}

/// Everything that decides the feature matrix. Stored in output files so a
/// model is only ever applied with the settings it was trained with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VectorizerOptions {
    /// The corpus's text encoding (models made before it read as UTF-8).
    #[serde(default)]
    pub encoding: Encoding,
    pub analyzer: AnalyzerOptions,
    pub min_df: DfBound,
    pub max_df: DfBound,
    pub max_features: Option<usize>,
    pub binary: bool,
    pub use_idf: bool,
    pub smooth_idf: bool,
    pub sublinear_tf: bool,
    pub norm: Norm,
    /// `Some(n)`: HashingVectorizer with `n` columns instead of a vocabulary.
    pub hashing: Option<u32>,
    pub alternate_sign: bool,
    /// A fixed vocabulary (`--vocabulary FILE`, sklearn's `vocabulary=`):
    /// its terms are the columns in the given order, nothing is pruned and
    /// other terms are ignored. Only the fact is stored with the settings;
    /// the terms are the output's vocabulary.
    #[serde(default)]
    pub fixed_vocabulary: bool,
    /// The type of stored feature values (models made before it: float64).
    #[serde(default)]
    pub dtype: Dtype,
    #[serde(skip)]
    pub vocabulary: Option<Vec<Box<str>>>,
}

impl Default for VectorizerOptions {
    fn default() -> Self {
        VectorizerOptions {
            encoding: Encoding::Utf8,
            analyzer: AnalyzerOptions::default(),
            min_df: DfBound::Count(1),
            max_df: DfBound::Fraction(1.0),
            max_features: None,
            binary: false,
            use_idf: true,
            smooth_idf: true,
            sublinear_tf: false,
            norm: Norm::L2,
            hashing: None,
            alternate_sign: false,
            fixed_vocabulary: false,
            dtype: Dtype::Float64,
            vocabulary: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_bounds_follow_sklearn_int_float_rule() {
        assert_eq!("3".parse::<DfBound>().unwrap(), DfBound::Count(3));
        assert_eq!("1.0".parse::<DfBound>().unwrap(), DfBound::Fraction(1.0));
        assert_eq!("0.25".parse::<DfBound>().unwrap(), DfBound::Fraction(0.25));
        assert!("1.5".parse::<DfBound>().is_err());
        assert!("-1".parse::<DfBound>().is_err());
        assert!("x".parse::<DfBound>().is_err());
        assert_eq!(DfBound::Fraction(0.5).doc_count(7), 3.5);
    }
}
