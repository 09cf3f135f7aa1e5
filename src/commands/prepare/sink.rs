//! Where a rank's readers put its documents: its [`CorpusPart`], with the
//! checks one rank reading everything would make as it goes (labelled and
//! unlabelled documents are not mixed), and what the ranks must agree on
//! at the end: whether the corpus is labelled (the first document decides),
//! whether every label and id is an integer, the fields seen.

use crate::cli::PrepareArgs;
use crate::corpus::parts::{CorpusPart, Record};
use crate::error::Result;
use anyhow::{anyhow, Context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Where a document is, for an error message.
#[derive(Debug, Clone)]
pub enum Loc {
    /// Line `line` of the stretch of `path` read from byte `start`.
    Line { path: PathBuf, start: u64, line: u64 },
    /// Row `row` of a Parquet file.
    Row { path: PathBuf, row: u64 },
    /// A file of a folder.
    File(PathBuf),
}

impl Loc {
    pub fn describe(&self) -> String {
        match self {
            Loc::Line { path, start, line } => super::split::Lines::new(path, *start).at(*line),
            Loc::Row { path, row } => format!("'{}' row {row}", path.display()),
            Loc::File(path) => format!("'{}'", path.display()),
        }
    }
}

/// The error of a document whose labelling differs from the corpus's first.
pub fn mixed_labels(labelled: bool) -> anyhow::Error {
    if labelled {
        anyhow!("a labelled document after unlabelled ones; give every input labels, or pass --label-field none")
    } else {
        anyhow!("a document without a label after labelled ones; give every input labels, or pass --label-field none")
    }
}

/// The field names seen, for the message when `--label-field` names none of
/// them: the alphabetically first [`FieldSet::KEEP`] (so that the ranks'
/// sets merge into the set one rank would have), and whether there were more.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSet {
    names: BTreeSet<String>,
    more: bool,
}

impl FieldSet {
    const KEEP: usize = 24;

    pub fn insert(&mut self, name: &str) {
        if self.names.contains(name) {
            return;
        }
        if self.names.len() == Self::KEEP {
            self.more = true;
            if self.names.last().is_some_and(|last| name > last.as_str()) {
                return;
            }
            self.names.pop_last();
        }
        self.names.insert(name.to_owned());
    }

    pub fn merge(&mut self, other: &FieldSet) {
        self.more |= other.more;
        for n in &other.names {
            self.insert(n);
        }
    }

    pub fn describe(&self) -> String {
        let mut s = self.names.iter().cloned().collect::<Vec<_>>().join(", ");
        if self.names.is_empty() {
            s = "(none)".into();
        }
        if self.more {
            s.push_str(", ...");
        }
        s
    }
}

/// What a rank tells the others once it has read its share.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Its reading failed (the error is its own until the ranks settle).
    pub failed: bool,
    /// Whether its first document has a label (none: no document).
    pub first: Option<bool>,
    pub docs: u64,
    pub labels: u64,
    pub labels_int: bool,
    pub ids: u64,
    pub ids_int: bool,
    pub fields: FieldSet,
}

pub struct Sink<'a> {
    pub part: CorpusPart,
    args: &'a PrepareArgs,
    /// Whether this rank's first document has a label.
    labelled: Option<bool>,
    /// Where this rank's first document is.
    pub first: Option<Loc>,
    fields: FieldSet,
}

impl<'a> Sink<'a> {
    pub fn new(part: CorpusPart, args: &'a PrepareArgs) -> Self {
        Sink { part, args, labelled: None, first: None, fields: FieldSet::default() }
    }

    /// Whether fields should be collected: only an explicit `--label-field`
    /// that an unlabelled input lacks can need them.
    pub fn wants_fields(&self) -> bool {
        self.args.explicit_label_field().is_some()
    }

    pub fn saw_field(&mut self, name: &str) {
        self.fields.insert(name);
    }

    /// Appends one document found at `loc` (called for this rank's first
    /// document and for errors only).
    pub fn push(&mut self, r: Record, loc: &dyn Fn() -> Loc) -> Result<()> {
        let labelled = r.label.is_some();
        if *self.labelled.get_or_insert(labelled) != labelled {
            return Err(mixed_labels(labelled).context(loc().describe()));
        }
        if self.first.is_none() {
            self.first = Some(loc());
        }
        self.part.push(&r).with_context(|| loc().describe())?;
        // A stop signal ends the rank's reading within a few thousand documents.
        crate::signals::check_every(self.part.docs() as usize)
    }

    pub fn summary(&self, failed: bool) -> Summary {
        let (labels, labels_int) = self.part.labels();
        let (ids, ids_int) = self.part.ids();
        Summary { failed, first: self.labelled, docs: self.part.docs(), labels, labels_int, ids, ids_int, fields: self.fields.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_field_sets_are_the_set_of_all() {
        let names: Vec<String> = (0..60).map(|i| format!("f{:02}", (i * 37) % 60)).collect();
        let mut whole = FieldSet::default();
        names.iter().for_each(|n| whole.insert(n));
        for parts in [2, 3, 7] {
            let mut merged = FieldSet::default();
            for chunk in names.chunks(names.len().div_ceil(parts)) {
                let mut s = FieldSet::default();
                chunk.iter().for_each(|n| s.insert(n));
                merged.merge(&s);
            }
            assert_eq!(merged, whole);
        }
        assert!(whole.describe().starts_with("f00, f01, "));
        assert!(whole.describe().ends_with("f23, ..."));
    }
}
