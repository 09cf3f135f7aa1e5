//! SAGA along a regularization path: the fits of one training set share its
//! spectrum (the step and batch depend on C only through a closed form) and
//! its column split, so both are computed once for the path.

use super::plan::{self, Spectrum};
use crate::collectives::Collectives;
use crate::error::Result;
use crate::solver::factory::PathFits;
use crate::solver::shard::FeatureShard;
use crate::solver::{Solver, SolverOptions, TrainingSet, WarmStart};
use std::time::Instant;

pub struct SagaPath<'a> {
    data: &'a TrainingSet<'a>,
    comm: &'a dyn Collectives,
    spectrum: Spectrum,
    shard: FeatureShard<'a>,
}

impl<'a> SagaPath<'a> {
    /// Collective: the spectrum and the column split of `data`.
    pub fn new(data: &'a TrainingSet<'a>, base: &SolverOptions, comm: &'a dyn Collectives) -> Result<Self> {
        let spectrum = plan::spectrum(data, base, comm);
        let shard = FeatureShard::build(data.x, data.n_features, comm)?;
        Ok(SagaPath { data, comm, spectrum, shard })
    }
}

impl<'a> PathFits<'a> for SagaPath<'a> {
    fn solver<'s>(&'s self, opts: &'s SolverOptions, warm: Option<&WarmStart>, started: Instant) -> Result<Box<dyn Solver + 's>>
    where
        'a: 's,
    {
        let plan = plan::plan_from(&self.spectrum, self.data, opts, self.comm);
        super::boxed_with_shard(self.data, opts, warm, self.comm, plan, self.shard.view(), started)
    }
}
