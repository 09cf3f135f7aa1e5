//! Saving and restoring a fit's whole state (`--checkpoint`, `--resume`),
//! at any rank count, without any rank holding more than its own share.
//!
//! The state is the solver's named scalars and arrays ([`SolverState`]);
//! this module knows nothing of any solver. One HDF5 file:
//! - root attributes `fingerprint` (JSON of the data and settings),
//!   `format` and `solver`, written when the file is made;
//! - `tables/NAME.0` and `.1`: two buffers of each table rewritten at every
//!   save (the current point, SAGA's weights and gradient memory), rows of
//!   its space in global order, or in rank order for a space whose rows a
//!   rank lists (`spaces/NAME.index` holds their global rows then);
//! - `kept/SPACE.WIDTH.SLOT`: a pool of slots for tables that never change
//!   once saved (L-BFGS's pairs), each written once;
//! - `record`: two slots for the commit record ([`record`]): the scalars,
//!   the small shared arrays, and which buffer or slot holds each table.
//!
//! Every rank writes its own rows, through MPI-IO (or in turns). The first
//! save of a run writes a whole new file under a temporary name and renames
//! it over the old checkpoint. Later saves write into the buffers and slots
//! the last record does not use, then the record into the slot the last
//! record is not in: a crash at any point leaves the last saved state
//! whole, and a save every L-BFGS iteration writes the point, the gradient
//! and one new pair, not the whole memory. A save that does not fit the
//! file (a longer record, more new pairs than free slots) writes a new file.
//! Reading at another rank count re-splits the rows ([`resplit`]).

mod record;
mod resplit;
mod tables;

use crate::collectives::Collectives;
use crate::error::Result;
use crate::h5::{open_h5, to_vlen};
use crate::solver::state::{Resume, Scalar, Scope, SolverState, Space, Values};
use anyhow::{anyhow, bail, Context};
use hdf5::types::VarLenUnicode;
use record::{Place, Table};
use std::path::{Path, PathBuf};
use tables::{Lay, Made};

const FORMAT: i64 = 4;
/// Room a record slot leaves beyond the first record: SAGA's segment arrays
/// grow within an epoch (a save when a signal stops it mid-epoch).
const RECORD_ROOM: usize = 1 << 16;

/// Saves the states of one fit, remembering what its file holds.
pub struct Checkpointer {
    path: PathBuf,
    fingerprint: String,
    solver: &'static str,
    made: Option<Made>,
    /// Saves so far, and of them the ones that wrote a whole file.
    pub saves: usize,
    pub whole_files: usize,
}

impl Checkpointer {
    pub fn new(path: &Path, fingerprint: &serde_json::Value, solver: &'static str) -> Self {
        Checkpointer { path: path.to_owned(), fingerprint: fingerprint.to_string(), solver, made: None, saves: 0, whole_files: 0 }
    }

    /// Collective: saves `state`.
    pub fn save(&mut self, comm: &dyn Collectives, state: &SolverState) -> Result<()> {
        let lays = comm.agree(Lay::all(comm, state))?;
        let seq = self.made.as_ref().map_or(0, |m| m.last.seq + 1);
        let scalars = with_ranks(state, comm.size());
        let update = self.made.as_ref().and_then(|m| m.update(state, seq, scalars.clone()));
        // Every rank decides alike (from the same sizes and names); agree anyway.
        let incremental = comm.max_f64(update.is_none() as u8 as f64) == 0.0;
        let made = match update.filter(|_| incremental) {
            Some(record) => self.made.take().expect("a file to update").updated(comm, &self.path, state, &lays, record)?,
            None => {
                self.whole_files += 1;
                Made::create(comm, &self.path, (&self.fingerprint, self.solver), state, &lays, Made::fresh(state, seq, scalars))?
            }
        };
        self.made = Some(made);
        self.saves += 1;
        Ok(())
    }
}

/// The state's scalars and the rank count that saved it (said on resume).
fn with_ranks(state: &SolverState, ranks: usize) -> Vec<(String, Scalar)> {
    let mut s = state.scalars.clone();
    s.retain(|(n, _)| n != "saved_by_ranks");
    s.push(("saved_by_ranks".into(), Scalar::Int(ranks as i64)));
    s
}

/// A checkpoint opened for resuming: its record read, its tables read on
/// [`Resume::load`], for the rows the resuming solver holds.
pub struct Saved<'c> {
    comm: &'c dyn Collectives,
    path: PathBuf,
    tables: Vec<Table>,
    head: SolverState<'static>,
}

/// The solver that wrote the checkpoint at `path` (`--solver auto` resumes with it).
pub fn solver_of(path: &Path) -> Result<String> {
    let _crash = crate::crash::reading(path);
    open_h5(path).and_then(|f| read_str(&f, "solver")).with_context(|| format!("cannot resume from checkpoint '{}'", path.display()))
}

fn read_str(f: &hdf5::File, attr: &str) -> Result<String> {
    let v: VarLenUnicode = f.attr(attr).map_err(|_| anyhow!("it is not a textsaga checkpoint"))?.read_scalar()?;
    Ok(v.as_str().to_owned())
}

impl<'c> Saved<'c> {
    /// Opens the checkpoint at `path`, checking that it belongs to this fit
    /// (`fingerprint`) and solver. Run on every rank; agree after.
    pub fn open(comm: &'c dyn Collectives, path: &Path, fingerprint: &serde_json::Value, solver: &str) -> Result<Self> {
        let _crash = crate::crash::reading(path);
        (|| -> Result<Saved<'c>> {
            let f = open_h5(path)?;
            let stored: serde_json::Value = serde_json::from_str(&read_str(&f, "fingerprint")?).map_err(|_| anyhow!("its fingerprint is damaged"))?;
            let format: i64 = f.attr("format")?.read_scalar()?;
            if format != FORMAT {
                bail!("it was written by another textsaga version (format {format}, this one reads {FORMAT})");
            }
            if let Some(what) = first_difference(&stored, fingerprint) {
                bail!("it belongs to another fit ({what}); resume with the same data and settings, or delete it");
            }
            let by = read_str(&f, "solver")?;
            if by != solver {
                bail!("it was written by solver '{by}', not '{solver}'");
            }
            let record = tables::read_record(&f)?.ok_or_else(|| anyhow!("it holds no whole saved state"))?;
            let mut head = SolverState { scalars: record.scalars, ..Default::default() };
            for (name, values) in record.shared {
                head.shared(&name, values);
            }
            Ok(Saved { comm, path: path.to_owned(), tables: record.tables, head })
        })()
        .with_context(|| format!("cannot resume from checkpoint '{}'", path.display()))
    }
}

impl Resume for Saved<'_> {
    fn head(&self) -> &SolverState<'static> {
        &self.head
    }

    fn load(self: Box<Self>, spaces: &[Space]) -> Result<SolverState<'static>> {
        let Saved { comm, path, tables, mut head } = *self;
        let _crash = crate::crash::reading(&path);
        let name = path.display().to_string();
        let f = comm.agree(open_h5(&path).with_context(|| format!("cannot resume from checkpoint '{name}'")))?;
        let mut owners = tables::OwnersCache::default();
        for t in &tables {
            let space = comm.agree(spaces.iter().find(|s| s.name == t.space).ok_or_else(|| anyhow!("cannot resume from checkpoint '{name}': this solver has no rows '{}'", t.space)))?;
            let values = tables::read_rows(comm, &f, t, space, &mut owners).with_context(|| format!("cannot resume from checkpoint '{name}'"))?;
            head.arrays.push(crate::solver::state::Array { name: t.name.clone(), scope: Scope::Rows { space: space.name, width: t.width }, values, kept: t.kept });
        }
        Ok(head)
    }
}

/// A saved table's dataset.
fn dataset_name(t: &Table) -> String {
    match t.place {
        Place::Half(h) => format!("tables/{}.{h}", t.name),
        Place::Slot(s) => format!("kept/{}.{}.{s}", t.space, t.width),
    }
}

/// The values of a shared array or a table, as stored.
fn is_bytes(v: &Values) -> bool {
    matches!(v, Values::U8(_))
}

/// The shared arrays of a state, owned (they go into the record).
fn shared_of(state: &SolverState) -> Vec<(String, Values<'static>)> {
    state
        .arrays
        .iter()
        .filter(|a| a.scope == Scope::Shared)
        .map(|a| {
            let v = match &a.values {
                Values::F64(v) => Values::f64(v.to_vec()),
                Values::U8(v) => Values::U8(v.to_vec().into()),
            };
            (a.name.clone(), v)
        })
        .collect()
}

/// Writes the root attributes of a new file.
fn write_attrs(f: &hdf5::File, fingerprint: &str, solver: &str) -> Result<()> {
    f.new_attr::<VarLenUnicode>().create("fingerprint")?.write_scalar(&to_vlen(&[fingerprint])?[0])?;
    f.new_attr::<VarLenUnicode>().create("solver")?.write_scalar(&to_vlen(&[solver])?[0])?;
    f.new_attr::<i64>().create("format")?.write_scalar(&FORMAT)?;
    Ok(())
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
