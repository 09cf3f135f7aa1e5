//! Logistic regression by synchronous distributed SAGA, minimising
//! scikit-learn's objective `C * sum_i s_i * loss_i + penalty(W)`.
//!
//! - [`options`]: the solver's settings (sklearn's `LogisticRegression` names);
//! - [`loss`]: binary and multinomial log loss, gradients, objective;
//! - [`lazy`]: the replicated weights with just-in-time updates, so a step
//!   costs O(batch nnz x K) rather than O(d x K);
//! - [`combine`]: how the ranks' gradient corrections are summed each step;
//! - [`saga`]: the epoch and step loop.
//!
//! Everything but `combine`'s MPI side is pure and unit-tested on one rank.

pub mod combine;
pub mod lazy;
pub mod loss;
pub mod options;
pub mod saga;
pub mod step_size;

pub use options::{Penalty, SolverOptions};
pub use saga::{fit, FitResult, TrainingSet};
