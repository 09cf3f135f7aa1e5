//! The solvers textsaga has, in one place: the concrete modes `--solver`
//! resolves to, each mode's optimiser, what the fits of a regularization
//! path share, and what a caller must know before a solver exists (does a
//! checkpoint of it resume only at the rank count that wrote it?).
//!
//! Every match on [`Mode`] is exhaustive and here, but for its cost in the
//! model (`mode::cost`), so a new mode does not compile until each arm says
//! what it does. Adding a solver touches its own folder, this file, the flag
//! (`SolverKind` in `options.rs`, whose doc comment is `--solver`'s help),
//! and its line in the cost model that `auto` and `textsaga plan` price.

use super::options::{SolverKind, SolverOptions};
use super::{lbfgs, saga, Solver, TrainingSet, WarmStart};
use crate::collectives::Collectives;
use crate::error::{usage, Result};
use std::time::Instant;

/// L-BFGS's starts are local SAGA fits and its state is whole vectors: a
/// path of warm starts gains nothing from it that SAGA's path lacks.
const NO_LBFGS_PATH: &str = "--solver lbfgs does not run the --Cs path; use --solver saga (or auto, which runs the path with SAGA)";

/// A concrete optimiser: what a fit runs once `auto` is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Saga,
    Lbfgs,
}

impl Mode {
    /// The mode a flag names; `None` for `auto`, which needs the problem's
    /// sizes (`solver::resolve`).
    pub fn named(kind: SolverKind) -> Option<Mode> {
        match kind {
            SolverKind::Saga => Some(Mode::Saga),
            SolverKind::Lbfgs => Some(Mode::Lbfgs),
            SolverKind::Auto => None,
        }
    }

    /// The flag's value for this mode (what a model records).
    pub fn kind(self) -> SolverKind {
        match self {
            Mode::Saga => SolverKind::Saga,
            Mode::Lbfgs => SolverKind::Lbfgs,
        }
    }

    /// The name logs, metrics and checkpoints use.
    pub fn name(self) -> &'static str {
        self.kind().name()
    }

    /// Ok when the mode runs a regularization path (`--Cs`); otherwise the
    /// usage error that says what to use instead (checked before any work).
    pub fn check_path(self) -> Result<()> {
        match self {
            Mode::Saga => Ok(()),
            Mode::Lbfgs => Err(usage(NO_LBFGS_PATH)),
        }
    }

    /// The mode a path runs when the flag asks for `kind`: `auto` runs it
    /// with SAGA, whose fits share their plan and column split along it.
    pub fn for_path(kind: SolverKind) -> Mode {
        Mode::named(kind).unwrap_or(Mode::Saga)
    }

    /// Collective: the optimiser, from scratch or a warm start.
    pub fn build<'a>(
        self,
        data: &'a TrainingSet<'a>,
        opts: &'a SolverOptions,
        warm: Option<&WarmStart>,
        comm: &'a dyn Collectives,
    ) -> Result<Box<dyn Solver + 'a>> {
        Ok(match self {
            Mode::Saga => saga::boxed(data, opts, warm, comm)?,
            Mode::Lbfgs => Box::new(lbfgs::Lbfgs::new(data, opts, warm, comm)?),
        })
    }

    /// Collective: what the fits of a path on `data` share (computed once),
    /// or the error that says this mode runs no path.
    pub fn path<'a>(self, data: &'a TrainingSet<'a>, base: &SolverOptions, comm: &'a dyn Collectives) -> Result<Box<dyn PathFits<'a> + 'a>> {
        match self {
            Mode::Saga => Ok(Box::new(saga::path::SagaPath::new(data, base, comm)?)),
            Mode::Lbfgs => Err(usage(NO_LBFGS_PATH)),
        }
    }
}

/// The fits of a regularization path over one training set: each point a
/// solver, warm-started from the point before, built from what the points
/// share.
pub trait PathFits<'a> {
    /// Collective: the solver of one point of the path.
    fn solver<'s>(&'s self, opts: &'s SolverOptions, warm: Option<&WarmStart>, started: Instant) -> Result<Box<dyn Solver + 's>>
    where
        'a: 's;
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// Every value of `--solver` but `auto` is a mode, and back: the flag and
    /// the factory cannot drift apart.
    #[test]
    fn every_flag_value_but_auto_names_a_mode() {
        for &kind in SolverKind::value_variants() {
            match Mode::named(kind) {
                Some(mode) => assert_eq!(mode.kind(), kind),
                None => assert_eq!(kind, SolverKind::Auto),
            }
        }
        assert_eq!(Mode::for_path(SolverKind::Auto), Mode::Saga);
        assert!(Mode::Saga.check_path().is_ok() && Mode::Lbfgs.check_path().is_err());
    }
}
