//! Saving and restoring a fit's whole state (`--checkpoint`, `--resume`).
//!
//! One HDF5 file: rank 0 writes the replicated state (the model with its
//! lazy-update bookkeeping, the step counters); every rank writes its own
//! samples' gradient memory, seen flags and visiting order at its offset.
//! The file carries a fingerprint of the data and settings, so a checkpoint
//! is only ever resumed by the fit it belongs to, at the same rank count.
//! It is written to a temporary name and renamed, so a crash while writing
//! leaves the previous checkpoint intact.

use crate::comm::Comm;
use crate::corpus::reader::open_h5;
use crate::error::Result;
use crate::output::{create_1d, offset_of, to_vlen, write_1d, write_at, write_in_turns, AtomicPath};
use crate::solver::lazy::LazySnapshot;
use crate::solver::saga::SolverState;
use anyhow::{anyhow, bail, Context};
use hdf5::types::VarLenUnicode;
use hdf5::File;
use std::path::Path;

const FORMAT: i64 = 1;

/// Collective: writes `state` to `path`.
pub fn save(comm: &Comm, path: &Path, fingerprint: &serde_json::Value, state: &SolverState, k: usize) -> Result<()> {
    let n_local = state.local_seen.len();
    let (at, n_total) = offset_of(comm, n_local);
    let fp = fingerprint.to_string();
    let create = |f: &File| -> Result<()> {
        f.new_attr::<VarLenUnicode>().create("fingerprint")?.write_scalar(&to_vlen(&[fp.as_str()])?[0])?;
        f.new_attr::<i64>().create("format")?.write_scalar(&FORMAT)?;
        let ints = [
            ("epoch", state.epoch as i64),
            ("step", state.step as i64),
            ("dense", state.dense as i64),
            ("dense_epochs", state.dense_epochs as i64),
            ("epoch_steps", state.epoch_steps as i64),
            ("n_iter", state.n_iter as i64),
        ];
        for (name, v) in ints {
            f.new_attr::<i64>().create(name)?.write_scalar(&v)?;
        }
        let floats = [
            ("wscale", state.lazy.wscale),
            ("seen_total", state.seen_total),
            ("epoch_loss", state.epoch_loss),
            ("epoch_bytes", state.epoch_bytes),
        ];
        for (name, v) in floats {
            f.new_attr::<f64>().create(name)?.write_scalar(&v)?;
        }
        write_1d(f, "blocks", &state.lazy.blocks)?;
        write_1d(f, "cum", &state.lazy.cum)?;
        write_1d(f, "cum_prox", &state.lazy.cum_prox)?;
        write_1d(f, "seen_steps", &state.lazy.seen)?;
        write_1d(f, "intercept", &state.intercept)?;
        write_1d(f, "intercept_sum", &state.intercept_sum)?;
        write_1d(f, "prev", &state.prev)?;
        create_1d::<f64>(f, "memory", n_total * k)?;
        create_1d::<u8>(f, "seen", n_total)?;
        create_1d::<u32>(f, "order", n_total)?;
        Ok(())
    };
    let write = |f: &File| -> Result<()> {
        write_at(&f.dataset("memory")?, at * k, &state.local_memory)?;
        write_at(&f.dataset("seen")?, at, &state.local_seen)?;
        write_at(&f.dataset("order")?, at, &state.local_order)?;
        Ok(())
    };
    write_in_turns(comm, AtomicPath::new(path, comm.is_root()), create, write)
}

/// Reads this rank's state from `path`, checking that it belongs to this
/// fit (`fingerprint`) and this rank count. Run on every rank; agree after.
pub fn load(comm: &Comm, path: &Path, fingerprint: &serde_json::Value, n_local: usize, k: usize) -> Result<SolverState> {
    let (at, n_total) = offset_of(comm, n_local);
    let name = path.display().to_string();
    (|| -> Result<SolverState> {
        let f = open_h5(path)?;
        let stored: VarLenUnicode = f.attr("fingerprint").map_err(|_| anyhow!("it is not a textsaga checkpoint"))?.read_scalar()?;
        let stored: serde_json::Value = serde_json::from_str(stored.as_str()).map_err(|_| anyhow!("its fingerprint is damaged"))?;
        if let Some(what) = first_difference(&stored, fingerprint) {
            bail!("it belongs to another fit ({what}); resume with the same data, settings and rank count, or delete it");
        }
        let int = |n: &str| -> Result<usize> { Ok(f.attr(n)?.read_scalar::<i64>()? as usize) };
        let float = |n: &str| -> Result<f64> { Ok(f.attr(n)?.read_scalar::<f64>()?) };
        let vec = |n: &str| -> Result<Vec<f64>> { Ok(f.dataset(n)?.read_raw::<f64>()?) };
        let memory = f.dataset("memory")?;
        if memory.size() != n_total * k {
            bail!("its sample memory has {} values, not {}", memory.size(), n_total * k);
        }
        // This rank's part: `len` values per sample from sample `at` on.
        let part = |len: usize| at * len..(at + n_local) * len;
        let (mut local_memory, mut local_seen, mut local_order) = (Vec::new(), Vec::new(), Vec::new());
        if n_local > 0 {
            local_memory = memory.read_slice_1d::<f64, _>(part(k))?.to_vec();
            local_seen = f.dataset("seen")?.read_slice_1d::<u8, _>(part(1))?.to_vec();
            local_order = f.dataset("order")?.read_slice_1d::<u32, _>(part(1))?.to_vec();
        }
        if local_order.iter().any(|&i| i as usize >= n_local) {
            bail!("its visiting order is damaged");
        }
        Ok(SolverState {
            epoch: int("epoch")?,
            step: int("step")?,
            lazy: LazySnapshot {
                blocks: vec("blocks")?,
                wscale: float("wscale")?,
                cum: vec("cum")?,
                cum_prox: vec("cum_prox")?,
                seen: vec("seen_steps")?,
            },
            intercept: vec("intercept")?,
            intercept_sum: vec("intercept_sum")?,
            seen_total: float("seen_total")?,
            prev: vec("prev")?,
            dense: int("dense")? != 0,
            dense_epochs: int("dense_epochs")?,
            epoch_loss: float("epoch_loss")?,
            epoch_bytes: float("epoch_bytes")?,
            epoch_steps: int("epoch_steps")?,
            n_iter: int("n_iter")?,
            local_memory,
            local_seen,
            local_order,
        })
    })()
    .with_context(|| format!("cannot resume from checkpoint '{name}'"))
}

/// The first key whose value differs, as "key: stored vs now".
fn first_difference(stored: &serde_json::Value, now: &serde_json::Value) -> Option<String> {
    let (a, b) = (stored.as_object()?, now.as_object()?);
    for (key, value) in b {
        if a.get(key) != Some(value) {
            let show = |v: Option<&serde_json::Value>| {
                let s = v.map_or("nothing".to_string(), |v| v.to_string());
                if s.len() > 60 { format!("{}...", &s[..s.char_indices().nth(60).map_or(s.len(), |c| c.0)]) } else { s }
            };
            return Some(format!("{key}: {} there, {} now", show(a.get(key)), show(Some(value))));
        }
    }
    None
}
