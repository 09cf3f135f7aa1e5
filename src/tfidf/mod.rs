//! TF-IDF as scikit-learn's `TfidfVectorizer` computes it, split into the pure
//! pieces each rank runs on its own documents:
//!
//! - [`options`]: every vectorizer setting, with sklearn's names and defaults;
//! - [`counts`]: per-rank term counting (exact vocabulary or hashing trick),
//!   over [`terms`], the rank's words and n-grams as integer keys;
//! - [`prune`]: `min_df` / `max_df` / `max_features` on global counts;
//! - [`sketch`]: an upper bound on each n-gram's count, so that n-grams
//!   certain to fall below `min_df` are never counted;
//! - [`weighting`]: idf, sublinear tf, and row normalisation;
//! - [`consistency`]: what scikit-learn warns of in the settings and goes on.
//!
//! The collective steps that join ranks live in `crate::vectorizer`.

pub mod consistency;
pub mod counts;
pub mod idset;
pub mod interner;
pub mod options;
pub mod prune;
pub mod sketch;
pub mod terms;
pub mod tokens;
pub mod weighting;

pub use options::{DfBound, Dtype, Norm, VectorizerOptions};
