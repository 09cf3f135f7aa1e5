//! Class labels as they come from HDF5: integers or strings, and their
//! label datasets in the files textsaga writes.

use crate::error::Result;
use crate::h5::{create_1d, to_vlen, write_at};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, Group};

/// One rank's labels, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl Labels {
    pub fn len(&self) -> usize {
        match self {
            Labels::Int(v) => v.len(),
            Labels::Str(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Labels::Int(_) => "integer",
            Labels::Str(_) => "string",
        }
    }
}

/// Labels collected while streaming a corpus in (`prepare`): integers while
/// every label parses as one, otherwise strings, as pandas or numpy would infer.
#[derive(Debug, Default)]
pub struct LabelBuilder {
    raw: Vec<String>,
}

impl LabelBuilder {
    pub fn push(&mut self, label: String) {
        self.raw.push(label);
    }
    pub fn len(&self) -> usize {
        self.raw.len()
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    pub fn finish(self) -> Labels {
        let ints: Option<Vec<i64>> = self.raw.iter().map(|s| s.trim().parse::<i64>().ok()).collect();
        match ints {
            Some(v) if !self.raw.is_empty() => Labels::Int(v),
            _ => Labels::Str(self.raw),
        }
    }
}

/// Creates a label dataset of `n` entries of the same kind as `like`.
pub fn create_labels(g: &Group, name: &str, like: &Labels, n: usize) -> Result<Dataset> {
    match like {
        Labels::Int(_) => create_1d::<i64>(g, name, n),
        Labels::Str(_) => create_1d::<VarLenUnicode>(g, name, n),
    }
}

/// Writes labels at `offset` of a dataset made by [`create_labels`].
pub fn write_labels_at(ds: &Dataset, offset: usize, labels: &Labels) -> Result<()> {
    match labels {
        Labels::Int(v) => write_at(ds, offset, v),
        Labels::Str(v) => write_at(ds, offset, &to_vlen(v)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_integer_labels_only_when_all_parse() {
        let mut b = LabelBuilder::default();
        b.push("1".into());
        b.push(" -2".into());
        assert_eq!(b.finish(), Labels::Int(vec![1, -2]));
        let mut b = LabelBuilder::default();
        b.push("1".into());
        b.push("spam".into());
        assert_eq!(b.finish(), Labels::Str(vec!["1".into(), "spam".into()]));
    }
}
