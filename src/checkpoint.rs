//! Saving and restoring a fit's whole state (`--checkpoint`, `--resume`).
//!
//! One HDF5 file: rank 0 writes what every rank holds alike (the step
//! counters, the lazy-update bookkeeping, the intercept); every rank writes
//! its own features' weights and its own samples' gradient memory and seen
//! flags at its offset. The visiting order is not stored: it is redrawn
//! from the seed and the epoch.
//! The file carries a fingerprint of the data and settings, so a checkpoint
//! is only ever resumed by the fit it belongs to, at the same rank count.
//! It is written to a temporary name and renamed, so a crash while writing
//! leaves the previous checkpoint intact.

use crate::comm::Comm;
use crate::corpus::reader::open_h5;
use crate::error::Result;
use crate::output::{create_1d, offset_of, to_vlen, write_1d, write_at, write_in_turns, AtomicPath};
use crate::solver::lazy::{block_len, LazySnapshot};
use crate::solver::saga::SolverState;
use anyhow::{anyhow, bail, Context};
use hdf5::types::VarLenUnicode;
use hdf5::File;
use std::path::Path;

const FORMAT: i64 = 2;

/// Collective: writes `state` to `path`.
pub fn save(comm: &Comm, path: &Path, fingerprint: &serde_json::Value, state: &SolverState, k: usize) -> Result<()> {
    let n_local = state.local_seen.len();
    let (at, n_total) = offset_of(comm, n_local);
    let features = state.prev.len() / k;
    let shard_sizes = comm.all_gather_u64(features as u64);
    let f_at = shard_sizes[..comm.rank()].iter().sum::<u64>() as usize;
    let f_total = shard_sizes.iter().sum::<u64>() as usize;
    let fp = fingerprint.to_string();
    let create = |f: &File| -> Result<()> {
        f.new_attr::<VarLenUnicode>().create("fingerprint")?.write_scalar(&to_vlen(&[fp.as_str()])?[0])?;
        f.new_attr::<i64>().create("format")?.write_scalar(&FORMAT)?;
        let ints = [
            ("epoch", state.epoch as i64),
            ("step", state.step as i64),
            ("n_iter", state.n_iter as i64),
        ];
        for (name, v) in ints {
            f.new_attr::<i64>().create(name)?.write_scalar(&v)?;
        }
        let floats = [
            ("wscale", state.lazy.wscale),
            ("seen_total", state.seen_total),
            ("epoch_loss", state.epoch_loss),
        ];
        for (name, v) in floats {
            f.new_attr::<f64>().create(name)?.write_scalar(&v)?;
        }
        write_1d(f, "shard_sizes", &shard_sizes)?;
        create_1d::<f64>(f, "blocks", f_total * block_len(k))?;
        create_1d::<f64>(f, "prev", f_total * k)?;
        write_1d(f, "cum", &state.lazy.cum)?;
        write_1d(f, "cum_prox", &state.lazy.cum_prox)?;
        write_1d(f, "seen_steps", &state.lazy.seen)?;
        write_1d(f, "intercept", &state.intercept)?;
        write_1d(f, "intercept_sum", &state.intercept_sum)?;
        create_1d::<f64>(f, "memory", n_total * k)?;
        create_1d::<u8>(f, "seen", n_total)?;
        Ok(())
    };
    let write = |f: &File| -> Result<()> {
        write_at(&f.dataset("memory")?, at * k, &state.local_memory)?;
        write_at(&f.dataset("seen")?, at, &state.local_seen)?;
        write_at(&f.dataset("blocks")?, f_at * block_len(k), &state.lazy.blocks)?;
        write_at(&f.dataset("prev")?, f_at * k, &state.prev)?;
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
        let (mut local_memory, mut local_seen) = (Vec::new(), Vec::new());
        if n_local > 0 {
            local_memory = memory.read_slice_1d::<f64, _>(part(k))?.to_vec();
            local_seen = f.dataset("seen")?.read_slice_1d::<u8, _>(part(1))?.to_vec();
        }
        // This rank's features: the split is the same for the same data and rank count.
        let sizes = f.dataset("shard_sizes")?.read_raw::<u64>()?;
        if sizes.len() != comm.size() {
            bail!("it was written by {} ranks, not {}", sizes.len(), comm.size());
        }
        let f_at: usize = sizes[..comm.rank()].iter().sum::<u64>() as usize;
        let features = sizes[comm.rank()] as usize;
        let slice = |name: &str, len: usize| -> Result<Vec<f64>> {
            Ok(if features == 0 { Vec::new() } else { f.dataset(name)?.read_slice_1d::<f64, _>(f_at * len..(f_at + features) * len)?.to_vec() })
        };
        Ok(SolverState {
            epoch: int("epoch")?,
            step: int("step")?,
            lazy: LazySnapshot {
                blocks: slice("blocks", block_len(k))?,
                wscale: float("wscale")?,
                cum: vec("cum")?,
                cum_prox: vec("cum_prox")?,
                seen: vec("seen_steps")?,
            },
            intercept: vec("intercept")?,
            intercept_sum: vec("intercept_sum")?,
            seen_total: float("seen_total")?,
            prev: slice("prev", k)?,
            epoch_loss: float("epoch_loss")?,
            n_iter: int("n_iter")?,
            local_memory,
            local_seen,
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
