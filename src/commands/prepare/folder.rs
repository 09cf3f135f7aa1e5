//! A folder tree as scikit-learn's `load_files` reads it (the files, their
//! classes and `label_names` are listed by `plan.rs`).

use super::decoded;
use super::plan::ClassFile;
use super::sink::{Loc, Sink};
use crate::cli::PrepareArgs;
use crate::corpus::parts::{PartId, Record};
use crate::error::Result;
use anyhow::Context;
use std::path::Path;

/// Appends `files` of the folder `root`, each with its class index as the
/// label (and, with `--id-field path`, its path under `root` as the id).
pub fn read(root: &Path, files: &[ClassFile], a: &PrepareArgs, sink: &mut Sink) -> Result<()> {
    for (k, f) in files {
        let bytes = std::fs::read(f).with_context(|| format!("cannot read '{}'", f.display()))?;
        let text = decoded(&bytes, a.decoder(), || format!("'{}'", f.display()))?;
        let id = a.id_field.is_some().then(|| f.strip_prefix(root).unwrap_or(f).to_string_lossy());
        let label = k.to_string();
        let r = Record { text: text.as_bytes(), label: Some(&label), id: id.as_deref().map(PartId::Str), weight: None };
        sink.push(r, &|| Loc::File(f.clone()))?;
    }
    Ok(())
}
