//! A solver's whole state as named values, so that whatever stores it (the
//! checkpoint) needs to know nothing of the solver.
//!
//! Scalars are the same on every rank. An array is either [`Scope::Shared`]
//! (the same on every rank: stored once) or [`Scope::PerRank`] (this rank's
//! own part, such as its features' weights or its samples' gradient memory:
//! stored as every rank's part in rank order).

use crate::error::Result;
use anyhow::anyhow;

/// Where an array's values live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Shared,
    PerRank,
}

/// An array's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    F64(Vec<f64>),
    U8(Vec<u8>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::F64(v) => v.len(),
            Values::U8(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub name: String,
    pub scope: Scope,
    pub values: Values,
}

/// A scalar: integers (counters) stay integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Int(i64),
    Float(f64),
}

/// Named scalars and arrays; names are unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SolverState {
    pub scalars: Vec<(String, Scalar)>,
    pub arrays: Vec<Array>,
}

impl SolverState {
    pub fn int(&mut self, name: &str, v: i64) -> &mut Self {
        self.scalars.push((name.into(), Scalar::Int(v)));
        self
    }
    pub fn float(&mut self, name: &str, v: f64) -> &mut Self {
        self.scalars.push((name.into(), Scalar::Float(v)));
        self
    }
    pub fn array(&mut self, name: &str, scope: Scope, values: Values) -> &mut Self {
        self.arrays.push(Array { name: name.into(), scope, values });
        self
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

    /// Takes array `name` out of the state.
    fn take(&mut self, name: &str) -> Result<Values> {
        let at = self.arrays.iter().position(|a| a.name == name).ok_or_else(|| anyhow!("it has no array '{name}'"))?;
        Ok(self.arrays.swap_remove(at).values)
    }
    pub fn take_f64(&mut self, name: &str) -> Result<Vec<f64>> {
        match self.take(name)? {
            Values::F64(v) => Ok(v),
            Values::U8(_) => Err(anyhow!("its '{name}' is not floating-point")),
        }
    }
    pub fn take_u8(&mut self, name: &str) -> Result<Vec<u8>> {
        match self.take(name)? {
            Values::U8(v) => Ok(v),
            Values::F64(_) => Err(anyhow!("its '{name}' is not bytes")),
        }
    }
}
