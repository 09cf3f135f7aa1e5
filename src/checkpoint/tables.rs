//! A checkpoint file's datasets: where each rank's rows go, making a new
//! file, saving into a file made earlier in the run, reading rows back.

use super::record::{newest, Place, Record, Table};
use super::resplit::{place, route, stripe, Owners};
use super::{dataset_name, is_bytes, shared_of, write_attrs, RECORD_ROOM};
use crate::collectives::Collectives;
use crate::error::Result;
use crate::h5::write_at;
use crate::output::{in_turns, write_from_all_ranks};
use crate::solver::state::{RowSet, Scalar, Scope, SolverState, Space, Values};
use anyhow::{anyhow, bail};
use hdf5::plist::dataset_create::{AllocTime, FillTime};
use hdf5::{File, H5Type};
use std::borrow::Cow;
use std::path::Path;

/// Where this rank's rows of a space go in the file.
pub struct Lay {
    pub name: &'static str,
    pub total: usize,
    /// Stored in rank order with an index of global rows (some rank lists
    /// its rows), else in global order.
    pub listed: bool,
    /// This rank's first row as stored.
    pub offset: usize,
}

impl Lay {
    /// Collective: every space of `state`, with this rank's place in it.
    pub fn all(comm: &dyn Collectives, state: &SolverState) -> Result<Vec<Lay>> {
        let mut lays = Vec::new();
        for s in &state.spaces {
            let listed = comm.max_f64(matches!(s.rows, RowSet::Listed(_)) as u8 as f64) > 0.0;
            let offset = match (&s.rows, listed) {
                (RowSet::Range(r), false) => r.start,
                _ => comm.offset_of(s.rows.len()).0,
            };
            lays.push(Lay { name: s.name, total: s.total, listed, offset });
        }
        Ok(lays)
    }
}

/// A table of a state: (name, space, width, bytes, kept).
fn tables_of<'s>(state: &'s SolverState) -> impl Iterator<Item = (&'s str, &'static str, usize, bool, bool)> + 's {
    state.arrays.iter().filter_map(|a| match a.scope {
        Scope::Rows { space, width } => Some((a.name.as_str(), space, width, is_bytes(&a.values), a.kept)),
        Scope::Shared => None,
    })
}

/// What a file made in this run holds, and its last record.
pub struct Made {
    pub last: Record,
    /// The kept pools: (space, width, slots).
    pools: Vec<(String, usize, usize)>,
    record_bytes: usize,
    /// The spaces it was made for: name, rows, and a hash of this rank's
    /// rows. The fits of a `--Cs` path share one checkpoint but each fold
    /// has its own samples and its own split of the features: their saves
    /// need a new file.
    spaces: Vec<(&'static str, usize, u64)>,
}

/// The spaces of a state as [`Made`] remembers them.
fn space_keys(state: &SolverState) -> Vec<(&'static str, usize, u64)> {
    use std::hash::{Hash, Hasher};
    state
        .spaces
        .iter()
        .map(|s| {
            let mut h = rustc_hash::FxHasher::default();
            match &s.rows {
                RowSet::Range(r) => (0u8, r.start, r.end).hash(&mut h),
                RowSet::Listed(v) => (1u8, &v[..]).hash(&mut h),
            }
            (s.name, s.total, h.finish())
        })
        .collect()
}

/// Where a state is in its fit: (epoch, step). Saves of one fit only move
/// forward; a state at or before the last saved one is another fit's (the
/// next C of a path starts again at epoch 0), whose kept tables may share
/// names with the last one's.
fn position(scalars: &[(String, Scalar)]) -> (i64, i64) {
    let get = |name: &str| scalars.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| if let Scalar::Int(i) = v { *i } else { 0 });
    (get("epoch"), get("step"))
}

impl Made {
    /// The record of `state` in a new file: tables in buffer 0, kept ones in
    /// the first slots of their pools.
    pub fn fresh(state: &SolverState, seq: u64, scalars: Vec<(String, Scalar)>) -> Record {
        let mut used: Vec<(String, usize, usize)> = Vec::new();
        let tables = tables_of(state)
            .map(|(name, space, width, bytes, kept)| {
                let place = if kept {
                    let at = match used.iter_mut().find(|(s, w, _)| s == space && *w == width) {
                        Some(p) => p,
                        None => {
                            used.push((space.to_string(), width, 0));
                            used.last_mut().expect("pushed")
                        }
                    };
                    at.2 += 1;
                    Place::Slot(at.2 - 1)
                } else {
                    Place::Half(0)
                };
                Table { name: name.into(), space: space.into(), width, bytes, kept, place }
            })
            .collect();
        Record { seq, scalars, shared: shared_of(state), tables }
    }

    /// The record of `state` saved into this file, when it fits: the same
    /// tables (each into the buffer the last record does not use), kept
    /// tables saved before where they are, new ones in free slots, and a
    /// record that fits its slot.
    pub fn update(&self, state: &SolverState, seq: u64, scalars: Vec<(String, Scalar)>) -> Option<Record> {
        if space_keys(state) != self.spaces || position(&scalars) <= position(&self.last.scalars) {
            return None;
        }
        let last = &self.last.tables;
        let current = |t: &&Table| !t.kept;
        let mut tables = Vec::new();
        let mut taken: Vec<(String, usize, usize)> = Vec::new();
        for (name, space, width, bytes, kept) in tables_of(state) {
            let before = last.iter().find(|t| t.name == name && t.space == space && t.width == width && t.bytes == bytes && t.kept == kept);
            let place = match (kept, before) {
                (false, Some(Table { place: Place::Half(h), .. })) => Place::Half(1 - h),
                (false, _) => return None,
                (true, Some(t)) => t.place,
                (true, None) => Place::Slot(self.free_slot(space, width, &taken)?),
            };
            if let Place::Slot(s) = place {
                taken.push((space.into(), width, s));
            }
            tables.push(Table { name: name.into(), space: space.into(), width, bytes, kept, place });
        }
        if tables.iter().filter(|t| !t.kept).count() != last.iter().filter(current).count() {
            return None;
        }
        let record = Record { seq, scalars, shared: shared_of(state), tables };
        (record.encode().len() <= self.record_bytes).then_some(record)
    }

    /// A slot of pool (space, width) that neither the last record nor this one uses.
    fn free_slot(&self, space: &str, width: usize, taken: &[(String, usize, usize)]) -> Option<usize> {
        let (_, _, slots) = self.pools.iter().find(|(s, w, _)| s == space && *w == width)?;
        let used = |slot: usize| {
            taken.iter().any(|(s, w, k)| s == space && *w == width && *k == slot)
                || self.last.tables.iter().any(|t| t.kept && t.space == space && t.width == width && t.place == Place::Slot(slot))
        };
        (0..*slots).find(|&k| !used(k))
    }

    /// Collective: a new file at `path` holding `state` (under a temporary
    /// name, renamed over the old checkpoint once whole).
    pub fn create(comm: &dyn Collectives, path: &Path, (fingerprint, solver): (&str, &str), state: &SolverState, lays: &[Lay], record: Record) -> Result<Made> {
        let bytes = record.encode();
        let record_bytes = bytes.len() + RECORD_ROOM;
        let mut pools: Vec<(String, usize, usize)> = Vec::new();
        for t in record.tables.iter().filter(|t| t.kept) {
            if !pools.iter().any(|(s, w, _)| *s == t.space && *w == t.width) {
                // Room for every table the fit keeps at once, and one new pair.
                let n = record.tables.iter().filter(|u| u.kept && u.space == t.space && u.width == t.width).count();
                pools.push((t.space.clone(), t.width, n.max(state.kept_capacity) + 2));
            }
        }
        let create = |f: &File| -> Result<()> {
            write_attrs(f, fingerprint, solver)?;
            let (tg, kg, sg) = (f.create_group("tables")?, f.create_group("kept")?, f.create_group("spaces")?);
            let total = |space: &str| lays.iter().find(|l| l.name == space).map_or(0, |l| l.total);
            for t in record.tables.iter().filter(|t| !t.kept) {
                for h in 0..2 {
                    allocate(&tg, &format!("{}.{h}", t.name), total(&t.space) * t.width, t.bytes)?;
                }
            }
            for (space, width, slots) in &pools {
                for k in 0..*slots {
                    allocate(&kg, &format!("{space}.{width}.{k}"), total(space) * width, false)?;
                }
            }
            for l in lays.iter().filter(|l| l.listed) {
                sg.new_dataset::<u32>().shape(l.total).create(format!("{}.index", l.name).as_str())?;
            }
            let rec = allocate(f, "record", 2 * record_bytes, true)?;
            write_at(&rec, (record.seq % 2) as usize * record_bytes, &bytes)
        };
        let write = |f: &File| -> Result<()> {
            write_rows(f, state, lays, &record.tables, |_| true)?;
            write_indices(f, state, lays)
        };
        write_from_all_ranks(comm, path, create, write, |_| Ok(()))?;
        Ok(Made { last: record, pools, record_bytes, spaces: space_keys(state) })
    }

    /// Collective: saves `state` into this file ([`Self::update`]'s
    /// `record`): the tables, then, once every rank's are written, the record.
    pub fn updated(mut self, comm: &dyn Collectives, path: &Path, state: &SolverState, lays: &[Lay], record: Record) -> Result<Made> {
        let last = &self.last.tables;
        let fresh = |t: &Table| !t.kept || !last.iter().any(|u| u.kept && u.name == t.name);
        if comm.is_root() {
            // A save in progress, as a new file's partial file is (the signal tests wait here).
            crate::faults::await_signal_if_asked("partial", 0);
        }
        let write = |f: &File| write_rows(f, state, lays, &record.tables, fresh);
        let name = path.display().to_string();
        let what = || format!("writing checkpoint '{name}'");
        match comm.open_shared_h5(path) {
            Some(opened) => comm.agree(opened.and_then(|f| write(&f).and_then(|()| Ok(f.close()?))).map_err(|e| e.context(what())))?,
            None => comm.agree(in_turns(comm, path, write).map_err(|e| e.context(what())))?,
        }
        let bytes = record.encode();
        let at = (record.seq % 2) as usize * self.record_bytes;
        comm.on_root(|| {
            let f = File::open_rw(path).map_err(|e| anyhow!("{}: {e}", what()))?;
            write_at(&f.dataset("record")?, at, &bytes)?;
            Ok(f.close()?)
        })?;
        self.last = record;
        Ok(self)
    }
}

/// A dataset of `len` values whose space is taken when it is made, so that
/// saving into it later changes no HDF5 metadata (only these bytes).
fn allocate(g: &hdf5::Group, name: &str, len: usize, bytes: bool) -> Result<hdf5::Dataset> {
    fn make<T: H5Type>(g: &hdf5::Group, name: &str, len: usize) -> Result<hdf5::Dataset> {
        Ok(g.new_dataset::<T>().shape(len).alloc_time(Some(AllocTime::Early)).fill_time(FillTime::Never).create(name)?)
    }
    if bytes { make::<u8>(g, name, len) } else { make::<f64>(g, name, len) }
}

/// Writes this rank's rows of every table `which` selects, where `tables` places them.
fn write_rows(f: &File, state: &SolverState, lays: &[Lay], tables: &[Table], which: impl Fn(&Table) -> bool) -> Result<()> {
    for a in &state.arrays {
        let Scope::Rows { space, width } = a.scope else { continue };
        let t = tables.iter().find(|t| t.name == a.name).ok_or_else(|| anyhow!("table '{}' has no place", a.name))?;
        if !which(t) {
            continue;
        }
        let lay = lays.iter().find(|l| l.name == space).ok_or_else(|| anyhow!("space '{space}' has no layout"))?;
        let ds = f.dataset(&dataset_name(t))?;
        match &a.values {
            Values::F64(v) => write_at(&ds, lay.offset * width, v)?,
            Values::U8(v) => write_at(&ds, lay.offset * width, v)?,
        }
    }
    Ok(())
}

/// Writes the global rows of this rank's rows of each space stored in rank order.
fn write_indices(f: &File, state: &SolverState, lays: &[Lay]) -> Result<()> {
    for (s, l) in state.spaces.iter().zip(lays).filter(|(_, l)| l.listed) {
        let rows: Cow<[u32]> = match &s.rows {
            RowSet::Listed(v) => Cow::Borrowed(&v[..]),
            RowSet::Range(r) => Cow::Owned(r.clone().map(|i| i as u32).collect()),
        };
        write_at(&f.dataset(&format!("spaces/{}.index", l.name))?, l.offset, &rows)?;
    }
    Ok(())
}

/// The newest whole record of the file.
pub fn read_record(f: &File) -> Result<Option<Record>> {
    let ds = f.dataset("record").map_err(|_| anyhow!("it holds no saved state"))?;
    let all: Vec<u8> = ds.read_raw()?;
    let half = all.len() / 2;
    Ok(newest(&[&all[..half], &all[half..]]))
}

/// Who holds the rows of each space now (gathered once a space).
#[derive(Default)]
pub struct OwnersCache(Vec<(&'static str, Owners)>);

/// Collective: this rank's rows of saved table `t`, for its rows of `space` now.
pub fn read_rows(comm: &dyn Collectives, f: &File, t: &Table, space: &Space, cache: &mut OwnersCache) -> Result<Values<'static>> {
    let index = format!("spaces/{}.index", t.space);
    let opened = (|| -> Result<(hdf5::Dataset, bool)> {
        let ds = f.dataset(&dataset_name(t)).map_err(|_| anyhow!("its table '{}' is missing", t.name))?;
        if ds.size() != space.total * t.width {
            bail!("its table '{}' holds {} values, not {} x {} (another data set?)", t.name, ds.size(), space.total, t.width);
        }
        Ok((ds, f.link_exists(&index)))
    })();
    let (ds, listed) = comm.agree(opened)?;
    // Every rank takes the same branch (the other one is collective).
    let any_listed = comm.max_f64(matches!(space.rows, RowSet::Listed(_)) as u8 as f64) > 0.0;
    if let (RowSet::Range(r), false, false) = (&space.rows, listed, any_listed) {
        let part = r.start * t.width..r.end * t.width;
        return comm.agree(if t.bytes { read_part::<u8>(&ds, part).map(|v| Values::U8(v.into())) } else { read_part::<f64>(&ds, part).map(Values::f64) });
    }
    if !cache.0.iter().any(|(n, _)| *n == space.name) {
        let owners = comm.agree(Owners::gather(comm, &space.rows, space.total))?;
        cache.0.push((space.name, owners));
    }
    let owners = &cache.0.iter().find(|(n, _)| *n == space.name).expect("gathered").1;
    let rows = stripe(space.total, comm.rank(), comm.size());
    let row_bytes = t.width * if t.bytes { 1 } else { 8 };
    let stripe_read = (|| -> Result<(Vec<u64>, Vec<u8>)> {
        let ids: Vec<u64> = if listed { read_part::<u32>(&f.dataset(&index)?, rows.clone())?.into_iter().map(u64::from).collect() } else { rows.clone().map(|i| i as u64).collect() };
        let part = rows.start * t.width..rows.end * t.width;
        let raw = if t.bytes { read_part::<u8>(&ds, part)? } else { read_part::<f64>(&ds, part)?.iter().flat_map(|x| x.to_le_bytes()).collect() };
        Ok((ids, raw))
    })();
    let (ids, raw) = comm.agree(stripe_read)?;
    let (packed, lens) = comm.agree(route(&ids, &raw, row_bytes, owners, comm.size()))?;
    drop(raw);
    let (received, _) = comm.all_to_all_packed(&packed, &lens)?;
    let mine = comm.agree(place(&received, &space.rows, row_bytes))?;
    Ok(if t.bytes { Values::U8(mine.into()) } else { Values::f64(mine.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()) })
}

fn read_part<T: H5Type + Copy>(ds: &hdf5::Dataset, part: std::ops::Range<usize>) -> Result<Vec<T>> {
    if part.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ds.read_slice_1d::<T, _>(part)?.to_vec())
}
