//! An L-BFGS fit's state as whole vectors (the parameters, the gradient,
//! the preconditioner, the pairs), gathered from the ranks' blocks: saved
//! once, and cut into blocks again on restore at any rank count.

use super::history::Pair;
use super::Lbfgs;
use crate::error::Result;
use crate::solver::state::{Scope, SolverState, Values};
use anyhow::bail;

impl Lbfgs<'_> {
    /// Collective: the whole state, the same on every rank.
    pub(super) fn snapshot(&self) -> SolverState {
        let whole = |block: &[f64]| {
            let mut v = self.comm.all_gather_f64(block);
            v.truncate(self.blocks.n);
            Values::F64(v)
        };
        let mut s = SolverState::default();
        s.int("epoch", self.iter as i64).int("step", 0).int("started", self.started as i64).int("pairs", self.hist.pairs.len() as i64);
        s.int("passes", self.counters.passes as i64).int("trials", self.counters.trials as i64).int("skipped_pairs", self.counters.skipped_pairs as i64);
        s.float("objective", self.f).float("gamma", self.hist.gamma);
        s.array("x", Scope::Shared, Values::F64(self.x[..self.blocks.n].to_vec()));
        s.array("gradient", Scope::Shared, whole(&self.g));
        if let Some(d) = &self.hist.diag {
            s.array("preconditioner", Scope::Shared, whole(d));
        }
        s.array("rho", Scope::Shared, Values::F64(self.hist.pairs.iter().map(|p| p.rho).collect()));
        for (i, p) in self.hist.pairs.iter().enumerate() {
            s.array(&format!("s{i}"), Scope::Shared, whole(&p.s));
            s.array(&format!("y{i}"), Scope::Shared, whole(&p.y));
        }
        s
    }

    /// This rank's part of a [`Self::snapshot`], from any rank count.
    pub(super) fn load(&mut self, mut s: SolverState) -> Result<()> {
        let n = self.blocks.n;
        let preconditioned = s.arrays.iter().any(|a| a.name == "preconditioner");
        let mut take = |name: &str| -> Result<Vec<f64>> {
            let v = s.take_f64(name)?;
            if v.len() != n {
                bail!("its '{name}' holds {} values, not {n}", v.len());
            }
            Ok(v)
        };
        let x = take("x")?;
        let g = take("gradient")?;
        let diag = if preconditioned { Some(take("preconditioner")?) } else { None };
        let mut pairs = Vec::new();
        let count = s.get_int("pairs")? as usize;
        let rho = s.take_f64("rho")?;
        for i in 0..count {
            let (sv, yv) = (s.take_f64(&format!("s{i}"))?, s.take_f64(&format!("y{i}"))?);
            pairs.push(Pair { s: self.blocks.mine(&sv), y: self.blocks.mine(&yv), rho: *rho.get(i).unwrap_or(&f64::NAN) });
        }
        self.x[..n].copy_from_slice(&x);
        self.g = self.blocks.mine(&g);
        self.hist.diag = diag.map(|d| self.blocks.mine(&d));
        self.hist.pairs = pairs.into();
        self.hist.gamma = s.get_float("gamma")?;
        self.f = s.get_float("objective")?;
        self.iter = s.get_int("epoch")? as usize;
        self.started = s.get_int("started")? != 0;
        let c = &mut self.counters;
        (c.passes, c.trials, c.skipped_pairs) = (s.get_int("passes")? as usize, s.get_int("trials")? as usize, s.get_int("skipped_pairs")? as usize);
        Ok(())
    }
}
