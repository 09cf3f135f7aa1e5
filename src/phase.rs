//! The phases of a run, in one list. A phase's name is what `--metrics`
//! reports its seconds under, what the fault hook takes
//! (`TEXTSAGA_TEST_SIGNAL=PHASE:RANK`, see `faults`), and what the scaling
//! and benchmark scripts read back from the metrics (they keep no copy of
//! this list; `compare_sklearn.py` names the phases it sums).
//!
//! [`Phase::begin`] is where a phase starts (the fault hook, then its
//! clock); [`Phase::run`] is a whole phase that ends at an agreement point:
//! the hook, the clock and `agree`, written once here instead of at every
//! boundary.

use crate::collectives::Collectives;
use crate::error::Result;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Read,
    Tokenize,
    VocabularyMerge,
    DfAllreduce,
    Transform,
    Fit,
    Predict,
    Write,
}

impl Phase {
    /// Every phase, in the order a run goes through them.
    pub const ALL: [Phase; 8] =
        [Phase::Read, Phase::Tokenize, Phase::VocabularyMerge, Phase::DfAllreduce, Phase::Transform, Phase::Fit, Phase::Predict, Phase::Write];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Read => "read",
            Phase::Tokenize => "tokenize",
            Phase::VocabularyMerge => "vocabulary_merge",
            Phase::DfAllreduce => "df_allreduce",
            Phase::Transform => "transform",
            Phase::Fit => "fit",
            Phase::Predict => "predict",
            Phase::Write => "write",
        }
    }

    /// The phase starts on this rank: the test's fault hook, then its clock.
    pub fn begin(self, rank: usize) -> Instant {
        crate::faults::signal_if_asked(self.name(), rank);
        crate::faults::await_signal_if_asked(self.name(), rank);
        Instant::now()
    }

    /// Collective: runs `f` as this phase: the fault hook at its start, its
    /// wall seconds added to `secs`, and the ranks' agreement on its result.
    pub fn run<T>(self, comm: &dyn Collectives, secs: &mut f64, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let t = self.begin(comm.rank());
        let out = comm.agree(f());
        *secs += t.elapsed().as_secs_f64();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are distinct and in `ALL`'s order: the metrics' keys and
    /// the scripts' columns come out in pipeline order.
    #[test]
    fn names_are_distinct() {
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique);
        assert_eq!(names.iter().collect::<std::collections::HashSet<_>>().len(), Phase::ALL.len());
    }
}
