//! An L-BFGS fit's state as each rank's blocks of the flat parameters (the
//! point, the gradient, the preconditioner, the pairs): never gathered. A
//! checkpoint writes each block where it lies in the whole vector and keeps
//! a pair, once written, under its id ([`Pair::id`]), so that a checkpoint
//! every iteration writes one new pair, not all of them. On restore, each
//! rank reads its own blocks at whatever rank count it now runs.

use super::history::Pair;
use super::Lbfgs;
use crate::error::Result;
use crate::solver::state::{f64s, RowSet, SolverState, Space, Values};
use anyhow::bail;

/// The space of the flat parameters (d x K weights, then K intercepts).
const PARAMS: &str = "params";

impl Lbfgs<'_> {
    /// This rank's rows of the flat parameters: its block, without the padding.
    pub(super) fn params_space(&self) -> Space<'static> {
        let (n, r) = (self.blocks.n, self.blocks.range());
        Space { name: PARAMS, total: n, rows: RowSet::Range(r.start.min(n)..r.end.min(n)) }
    }

    /// The state, borrowing the solver's buffers.
    pub(super) fn snapshot(&self) -> SolverState<'_> {
        let space = self.params_space();
        let len = space.rows.len();
        let RowSet::Range(mine) = space.rows.clone() else { unreachable!("a block is a range") };
        let mut s = SolverState::default();
        s.int("epoch", self.iter as i64).int("step", 0).int("started", self.started as i64).int("next_pair", self.hist.next_id as i64);
        s.int("passes", self.counters.passes as i64).int("trials", self.counters.trials as i64).int("skipped_pairs", self.counters.skipped_pairs as i64);
        s.float("objective", self.f).float("gamma", self.hist.gamma);
        s.spaces.push(space);
        // Two vectors a pair, every pair remembered, and one new pair a save.
        s.kept_capacity = 2 * self.hist.m;
        s.rows_of_width("x", PARAMS, 1, f64s(&self.x[mine]), false);
        s.rows_of_width("gradient", PARAMS, 1, f64s(&self.g[..len]), false);
        if let Some(d) = &self.hist.diag {
            s.rows_of_width("preconditioner", PARAMS, 1, f64s(&d[..len]), false);
        }
        let ids: Vec<f64> = self.hist.pairs.iter().map(|p| p.id as f64).collect();
        s.shared("pair_ids", Values::f64(ids));
        s.shared("rho", Values::f64(self.hist.pairs.iter().map(|p| p.rho).collect()));
        for p in &self.hist.pairs {
            s.rows_of_width(&format!("s{}", p.id), PARAMS, 1, f64s(&p.s[..len]), true);
            s.rows_of_width(&format!("y{}", p.id), PARAMS, 1, f64s(&p.y[..len]), true);
        }
        s
    }

    /// Collective: restores a state read for this rank's block
    /// ([`Self::params_space`]), saved at any rank count.
    pub(super) fn load(&mut self, mut s: SolverState<'_>) -> Result<()> {
        let parsed = self.parse(&mut s);
        // Collective, so that a damaged state on one rank stops every rank.
        if self.comm.max_f64(parsed.is_err() as u8 as f64) > 0.0 {
            let cause = parsed.err().map_or(String::new(), |e| format!(" ({e})"));
            bail!("the checkpoint does not match this fit{cause}; delete it and start afresh");
        }
        let (x, g, diag, pairs) = parsed?;
        // The point is whole on every rank (the margins need all of it).
        let n = self.blocks.n;
        let whole = self.comm.all_gather_f64(&x);
        self.x[..n].copy_from_slice(&whole[..n]);
        self.g = g;
        self.hist.diag = diag;
        self.hist.pairs = pairs.into();
        self.hist.gamma = s.get_float("gamma")?;
        self.hist.next_id = s.get_int("next_pair")? as u64;
        self.f = s.get_float("objective")?;
        self.iter = s.get_int("epoch")? as usize;
        self.started = s.get_int("started")? != 0;
        let c = &mut self.counters;
        (c.passes, c.trials, c.skipped_pairs) = (s.get_int("passes")? as usize, s.get_int("trials")? as usize, s.get_int("skipped_pairs")? as usize);
        Ok(())
    }

    /// This rank's blocks of the point, the gradient, the preconditioner and the pairs, padded as the solver keeps them.
    #[allow(clippy::type_complexity)]
    fn parse(&self, s: &mut SolverState<'_>) -> Result<(Vec<f64>, Vec<f64>, Option<Vec<f64>>, Vec<Pair>)> {
        let (len, width) = (self.params_space().rows.len(), self.blocks.block);
        for name in ["gamma", "objective"] {
            s.get_float(name)?;
        }
        for name in ["next_pair", "epoch", "started", "passes", "trials", "skipped_pairs"] {
            s.get_int(name)?;
        }
        let (ids, rho) = (s.take_f64("pair_ids")?, s.take_f64("rho")?);
        let preconditioned = s.has("preconditioner");
        let mut take = |name: &str| -> Result<Vec<f64>> {
            let mut v = s.take_f64(name)?;
            if v.len() != len {
                bail!("its '{name}' holds {} values for this rank, not {len}", v.len());
            }
            v.resize(width, 0.0);
            Ok(v)
        };
        let (x, g) = (take("x")?, take("gradient")?);
        let diag = if preconditioned { Some(take("preconditioner")?) } else { None };
        let mut pairs = Vec::with_capacity(ids.len());
        for (&id, &rho) in ids.iter().zip(&rho) {
            let (sv, yv) = (take(&format!("s{id}"))?, take(&format!("y{id}"))?);
            pairs.push(Pair { s: sv, y: yv, rho, id: id as u64 });
        }
        Ok((x, g, diag, pairs))
    }
}
