//! A solver's whole state as named values, so that whatever stores it (the
//! checkpoint) needs to know nothing of the solver.
//!
//! Scalars are the same on every rank. An array is either [`Scope::Shared`]
//! (small and the same on every rank: stored once) or [`Scope::Rows`]: this
//! rank's rows of a table whose rows are a [`Space`] the ranks split between
//! them (the features, the samples, the flat parameters). A rank names the
//! rows it holds by their global index, so the store never gathers a table:
//! each rank writes its own rows, and a fit at another rank count reads the
//! rows its own split gives it ([`Space::rows`]).
//!
//! Arrays borrow the solver's buffers: taking a state for a checkpoint
//! copies nothing (an L-BFGS memory is most of a rank's memory).

use crate::error::Result;
use anyhow::anyhow;
use std::borrow::Cow;
use std::ops::Range;

/// Which rows of a space this rank holds, ascending.
#[derive(Debug, Clone, PartialEq)]
pub enum RowSet<'a> {
    /// A contiguous run. The ranks' runs tile the space in rank order.
    Range(Range<usize>),
    /// Rows anywhere (a feature split balanced by non-zeros).
    Listed(Cow<'a, [u32]>),
}

impl RowSet<'_> {
    pub fn len(&self) -> usize {
        match self {
            RowSet::Range(r) => r.len(),
            RowSet::Listed(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn into_owned(self) -> RowSet<'static> {
        match self {
            RowSet::Range(r) => RowSet::Range(r),
            RowSet::Listed(v) => RowSet::Listed(Cow::Owned(v.into_owned())),
        }
    }
}

/// A space of `total` rows split over the ranks, and this rank's rows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Space<'a> {
    pub name: &'static str,
    pub total: usize,
    pub rows: RowSet<'a>,
}

/// Where an array's values live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The same on every rank.
    Shared,
    /// This rank's rows of space `space`, `width` values a row, row by row.
    Rows { space: &'static str, width: usize },
}

/// An array's values, borrowed from the solver or owned (read back).
#[derive(Debug, Clone, PartialEq)]
pub enum Values<'a> {
    F64(Cow<'a, [f64]>),
    U8(Cow<'a, [u8]>),
}

impl Values<'_> {
    pub fn len(&self) -> usize {
        match self {
            Values::F64(v) => v.len(),
            Values::U8(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn f64(v: Vec<f64>) -> Values<'static> {
        Values::F64(Cow::Owned(v))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Array<'a> {
    pub name: String,
    pub scope: Scope,
    pub values: Values<'a>,
    /// Its values never change once saved under this name (an L-BFGS pair,
    /// named by the iteration that made it): a store may keep it from an
    /// earlier save instead of writing it again.
    pub kept: bool,
}

/// A scalar: integers (counters) stay integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Int(i64),
    Float(f64),
}

/// Named scalars and arrays (names are unique), the row spaces of its
/// [`Scope::Rows`] arrays, and at most how many kept arrays a state of this
/// fit holds at once ([`Array::kept`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SolverState<'a> {
    pub scalars: Vec<(String, Scalar)>,
    pub arrays: Vec<Array<'a>>,
    pub spaces: Vec<Space<'a>>,
    pub kept_capacity: usize,
}

impl<'a> SolverState<'a> {
    pub fn int(&mut self, name: &str, v: i64) -> &mut Self {
        self.scalars.push((name.into(), Scalar::Int(v)));
        self
    }
    pub fn float(&mut self, name: &str, v: f64) -> &mut Self {
        self.scalars.push((name.into(), Scalar::Float(v)));
        self
    }
    /// A shared array.
    pub fn shared(&mut self, name: &str, values: Values<'a>) -> &mut Self {
        self.arrays.push(Array { name: name.into(), scope: Scope::Shared, values, kept: false });
        self
    }
    /// This rank's rows of a table over `space`, `values.len() / rows` wide.
    pub fn rows(&mut self, name: &str, space: &'static str, values: Values<'a>) -> &mut Self {
        let rows = self.space(space).map_or(0, |s| s.rows.len());
        let width = if rows == 0 { 0 } else { values.len() / rows };
        self.arrays.push(Array { name: name.into(), scope: Scope::Rows { space, width }, values, kept: false });
        self
    }
    /// As [`Self::rows`] with the width given (a rank may hold no rows).
    pub fn rows_of_width(&mut self, name: &str, space: &'static str, width: usize, values: Values<'a>, kept: bool) -> &mut Self {
        self.arrays.push(Array { name: name.into(), scope: Scope::Rows { space, width }, values, kept });
        self
    }
    pub fn space_of(&mut self, space: Space<'a>) -> &mut Self {
        self.spaces.push(space);
        self
    }

    pub fn space(&self, name: &str) -> Option<&Space<'a>> {
        self.spaces.iter().find(|s| s.name == name)
    }
    fn scalar(&self, name: &str) -> Result<Scalar> {
        self.scalars.iter().find(|(n, _)| n == name).map(|(_, v)| *v).ok_or_else(|| anyhow!("it has no value '{name}'"))
    }
    pub fn get_int(&self, name: &str) -> Result<i64> {
        match self.scalar(name)? {
            Scalar::Int(v) => Ok(v),
            Scalar::Float(_) => Err(anyhow!("its '{name}' is not an integer")),
        }
    }
    pub fn get_float(&self, name: &str) -> Result<f64> {
        match self.scalar(name)? {
            Scalar::Float(v) => Ok(v),
            Scalar::Int(_) => Err(anyhow!("its '{name}' is not a float")),
        }
    }
    pub fn has(&self, name: &str) -> bool {
        self.arrays.iter().any(|a| a.name == name)
    }

    /// Takes array `name` out of the state.
    fn take(&mut self, name: &str) -> Result<Values<'a>> {
        let at = self.arrays.iter().position(|a| a.name == name).ok_or_else(|| anyhow!("it has no array '{name}'"))?;
        Ok(self.arrays.swap_remove(at).values)
    }
    pub fn take_f64(&mut self, name: &str) -> Result<Vec<f64>> {
        match self.take(name)? {
            Values::F64(v) => Ok(v.into_owned()),
            Values::U8(_) => Err(anyhow!("its '{name}' is not floating-point")),
        }
    }
    pub fn take_u8(&mut self, name: &str) -> Result<Vec<u8>> {
        match self.take(name)? {
            Values::U8(v) => Ok(v.into_owned()),
            Values::F64(_) => Err(anyhow!("its '{name}' is not bytes")),
        }
    }

    /// The same state, borrowing this one's values (cheap: a path adds its
    /// position to a fit's state without copying it).
    pub fn borrowed(&self) -> SolverState<'_> {
        SolverState {
            scalars: self.scalars.clone(),
            arrays: self.arrays.iter().map(|a| Array { name: a.name.clone(), scope: a.scope.clone(), values: borrow_values(&a.values), kept: a.kept }).collect(),
            spaces: self.spaces.iter().map(|s| Space { name: s.name, total: s.total, rows: borrow_rows(&s.rows) }).collect(),
            kept_capacity: self.kept_capacity,
        }
    }
}

/// Floats borrowed from a solver's buffer.
pub fn f64s(v: &[f64]) -> Values<'_> {
    Values::F64(Cow::Borrowed(v))
}

fn borrow_values<'b>(v: &'b Values<'_>) -> Values<'b> {
    match v {
        Values::F64(v) => Values::F64(Cow::Borrowed(&v[..])),
        Values::U8(v) => Values::U8(Cow::Borrowed(&v[..])),
    }
}

fn borrow_rows<'b>(r: &'b RowSet<'_>) -> RowSet<'b> {
    match r {
        RowSet::Range(r) => RowSet::Range(r.clone()),
        RowSet::Listed(v) => RowSet::Listed(Cow::Borrowed(&v[..])),
    }
}

/// A saved state, before the solver that resumes it says which rows this
/// rank holds: its scalars and shared arrays are read already (a path finds
/// its position in them), its row tables on [`Resume::load`].
pub trait Resume {
    /// The scalars and shared arrays.
    fn head(&self) -> &SolverState<'static>;
    /// Collective: the whole state for a solver whose rows on this rank are `spaces`.
    fn load(self: Box<Self>, spaces: &[Space]) -> Result<SolverState<'static>>;
}

/// A state held in memory resumes at the split it was taken at (tests).
impl Resume for SolverState<'static> {
    fn head(&self) -> &SolverState<'static> {
        self
    }
    fn load(self: Box<Self>, _spaces: &[Space]) -> Result<SolverState<'static>> {
        Ok(*self)
    }
}

impl SolverState<'_> {
    /// An owned copy (a test keeps a state past its solver).
    pub fn to_owned_state(&self) -> SolverState<'static> {
        SolverState {
            scalars: self.scalars.clone(),
            arrays: self
                .arrays
                .iter()
                .map(|a| Array {
                    name: a.name.clone(),
                    scope: a.scope.clone(),
                    values: match &a.values {
                        Values::F64(v) => Values::F64(Cow::Owned(v.to_vec())),
                        Values::U8(v) => Values::U8(Cow::Owned(v.to_vec())),
                    },
                    kept: a.kept,
                })
                .collect(),
            spaces: self.spaces.iter().map(|s| Space { name: s.name, total: s.total, rows: s.rows.clone().into_owned() }).collect(),
            kept_capacity: self.kept_capacity,
        }
    }
}
