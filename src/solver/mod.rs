//! Logistic regression by synchronous distributed SAGA, minimising
//! scikit-learn's objective `C * sum_i s_i * loss_i + penalty(W)`.
//!
//! - [`options`]: the solver's settings (sklearn's `LogisticRegression` names);
//! - [`loss`]: binary and multinomial log loss, gradients, objective;
//! - [`lazy`]: a rank's weights with just-in-time updates, so a step costs
//!   O(batch nnz x K) rather than O(d x K);
//! - [`shard`]: which rank owns which features, and the corpus's entries in them;
//! - [`combine`]: the collectives (one allreduce a step), or none on one rank;
//! - [`step_size`]: step and smoothness;
//! - [`saga`]: the epoch and step loop.
//!
//! Everything but `combine`'s MPI side is pure and unit-tested on one rank.

pub mod combine;
pub mod lazy;
pub mod loss;
pub mod options;
pub mod saga;
pub mod shard;
pub mod step_size;

pub use options::{Penalty, SolverOptions};
pub use saga::{fit, FitResult, TrainingSet};
