//! Saving and restoring a fit's whole state (`--checkpoint`, `--resume`).
//!
//! The state is the solver's named scalars and arrays ([`SolverState`]);
//! this module knows nothing of any solver. One HDF5 file:
//! - root attributes: `fingerprint` (JSON of the data and settings),
//!   `format`, `solver`, and every scalar under its name;
//! - group `shared`: the arrays every rank holds alike, written by rank 0;
//! - group `per_rank`: each rank's part of the others, concatenated in rank
//!   order, with each rank's length in `rank_lengths/<name>`.
//!
//! The fingerprint makes a checkpoint resumable only by the fit it belongs
//! to, at the same rank count. The file is written to a temporary name and
//! renamed, so a crash while writing leaves the previous checkpoint intact.

use crate::collectives::Collectives;
use crate::error::Result;
use crate::h5::{create_1d, open_h5, to_vlen, write_1d, write_at};
use crate::output::write_from_all_ranks;
use crate::solver::state::{Array, Scalar, Scope, SolverState, Values};
use anyhow::{anyhow, bail, Context};
use hdf5::types::{TypeDescriptor, VarLenUnicode};
use hdf5::{File, Group};
use std::path::Path;

const FORMAT: i64 = 3;
/// Root attributes that are not the solver's scalars.
const RESERVED: [&str; 3] = ["fingerprint", "format", "solver"];

/// Collective: writes `state` of solver `solver` to `path`.
pub fn save(comm: &dyn Collectives, path: &Path, fingerprint: &serde_json::Value, solver: &str, state: &SolverState) -> Result<()> {
    // Every per-rank array's offset here and total length.
    let layout: Vec<(usize, usize, Vec<u64>)> = state
        .arrays
        .iter()
        .filter(|a| a.scope == Scope::PerRank)
        .map(|a| {
            let lens = comm.all_gather_u64(a.values.len() as u64);
            let at = lens[..comm.rank()].iter().sum::<u64>() as usize;
            (at, lens.iter().sum::<u64>() as usize, lens)
        })
        .collect();
    let per_rank = || state.arrays.iter().filter(|a| a.scope == Scope::PerRank).zip(&layout);
    let fp = fingerprint.to_string();
    let create = |f: &File| -> Result<()> {
        f.new_attr::<VarLenUnicode>().create("fingerprint")?.write_scalar(&to_vlen(&[fp.as_str()])?[0])?;
        f.new_attr::<VarLenUnicode>().create("solver")?.write_scalar(&to_vlen(&[solver])?[0])?;
        f.new_attr::<i64>().create("format")?.write_scalar(&FORMAT)?;
        for (name, v) in &state.scalars {
            match v {
                Scalar::Int(v) => f.new_attr::<i64>().create(name.as_str())?.write_scalar(v)?,
                Scalar::Float(v) => f.new_attr::<f64>().create(name.as_str())?.write_scalar(v)?,
            }
        }
        let shared = f.create_group("shared")?;
        for a in state.arrays.iter().filter(|a| a.scope == Scope::Shared) {
            write_values(&shared, &a.name, &a.values)?;
        }
        let (group, lengths) = (f.create_group("per_rank")?, f.create_group("rank_lengths")?);
        for (a, (_, total, lens)) in per_rank() {
            match a.values {
                Values::F64(_) => create_1d::<f64>(&group, &a.name, *total)?,
                Values::U8(_) => create_1d::<u8>(&group, &a.name, *total)?,
            };
            write_1d(&lengths, &a.name, lens)?;
        }
        Ok(())
    };
    let write = |f: &File| -> Result<()> {
        let group = f.group("per_rank")?;
        for (a, (at, _, _)) in per_rank() {
            let ds = group.dataset(&a.name)?;
            match &a.values {
                Values::F64(v) => write_at(&ds, *at, v)?,
                Values::U8(v) => write_at(&ds, *at, v)?,
            }
        }
        Ok(())
    };
    write_from_all_ranks(comm, path, create, write, |_| Ok(())).map(drop)
}

fn write_values(g: &Group, name: &str, v: &Values) -> Result<()> {
    match v {
        Values::F64(v) => write_1d(g, name, v)?,
        Values::U8(v) => write_1d(g, name, v)?,
    };
    Ok(())
}

/// Reads this rank's state of solver `solver` from `path`, checking that it
/// belongs to this fit (`fingerprint`) and this rank count. Run on every
/// rank; agree after.
pub fn load(rank: usize, ranks: usize, path: &Path, fingerprint: &serde_json::Value, solver: &str) -> Result<SolverState> {
    let name = path.display().to_string();
    let _crash = crate::crash::reading(path);
    (|| -> Result<SolverState> {
        let f = open_h5(path)?;
        let read_str = |attr: &str| -> Result<String> {
            let v: VarLenUnicode = f.attr(attr).map_err(|_| anyhow!("it is not a textsaga checkpoint"))?.read_scalar()?;
            Ok(v.as_str().to_owned())
        };
        let stored: serde_json::Value = serde_json::from_str(&read_str("fingerprint")?).map_err(|_| anyhow!("its fingerprint is damaged"))?;
        let format: i64 = f.attr("format")?.read_scalar()?;
        if format != FORMAT {
            bail!("it was written by another textsaga version (format {format}, this one reads {FORMAT})");
        }
        if let Some(what) = first_difference(&stored, fingerprint) {
            bail!("it belongs to another fit ({what}); resume with the same data, settings and rank count, or delete it");
        }
        let by = read_str("solver")?;
        if by != solver {
            bail!("it was written by solver '{by}', not '{solver}'");
        }
        let mut state = SolverState { scalars: read_scalars(&f)?, arrays: Vec::new() };
        let shared = f.group("shared")?;
        for n in shared.member_names()? {
            let values = read_values(&shared, &n, None)?;
            state.arrays.push(Array { name: n, scope: Scope::Shared, values });
        }
        let (group, lengths) = (f.group("per_rank")?, f.group("rank_lengths")?);
        for n in group.member_names()? {
            let lens = lengths.dataset(&n)?.read_raw::<u64>()?;
            if lens.len() != ranks {
                bail!("it was written by {} ranks, not {ranks}", lens.len());
            }
            let at = lens[..rank].iter().sum::<u64>() as usize;
            let values = read_values(&group, &n, Some(at..at + lens[rank] as usize))?;
            state.arrays.push(Array { name: n, scope: Scope::PerRank, values });
        }
        Ok(state)
    })()
    .with_context(|| format!("cannot resume from checkpoint '{name}'"))
}

/// Every root attribute but the reserved ones, integers as integers.
fn read_scalars(f: &File) -> Result<Vec<(String, Scalar)>> {
    let mut out = Vec::new();
    for n in f.attr_names()? {
        if RESERVED.contains(&n.as_str()) {
            continue;
        }
        let a = f.attr(&n)?;
        let v = match a.dtype()?.to_descriptor()? {
            TypeDescriptor::Integer(_) => Scalar::Int(a.read_scalar::<i64>()?),
            _ => Scalar::Float(a.read_scalar::<f64>()?),
        };
        out.push((n, v));
    }
    Ok(out)
}

/// A dataset's values (or the slice `part` of them), typed as stored.
fn read_values(g: &Group, name: &str, part: Option<std::ops::Range<usize>>) -> Result<Values> {
    let ds = g.dataset(name)?;
    let bytes = matches!(ds.dtype()?.to_descriptor()?, TypeDescriptor::Unsigned(hdf5::types::IntSize::U1));
    let len = part.as_ref().map_or(ds.size(), |r| r.len());
    Ok(match (bytes, part) {
        (_, _) if len == 0 => if bytes { Values::U8(Vec::new()) } else { Values::F64(Vec::new()) },
        (true, None) => Values::U8(ds.read_raw()?),
        (true, Some(r)) => Values::U8(ds.read_slice_1d::<u8, _>(r)?.to_vec()),
        (false, None) => Values::F64(ds.read_raw()?),
        (false, Some(r)) => Values::F64(ds.read_slice_1d::<f64, _>(r)?.to_vec()),
    })
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
