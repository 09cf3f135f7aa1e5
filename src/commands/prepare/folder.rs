//! A folder tree as scikit-learn's `load_files` reads it.

use super::decoded;
use crate::corpus::CorpusWriter;
use crate::error::Result;
use crate::text::DecodeError;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// sklearn's `load_files`: classes are the sorted sub-folders, documents the
/// sorted files in each; labels are class indices, `label_names` the folders.
pub fn read(root: &Path, policy: DecodeError, w: &mut CorpusWriter) -> Result<Vec<String>> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("cannot list '{}'", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    if classes.is_empty() {
        bail!("'{}' has no sub-folders; expected one sub-folder per class", root.display());
    }
    let mut names = Vec::new();
    for (k, dir) in classes.iter().enumerate() {
        names.push(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list '{}'", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).with_context(|| format!("cannot read '{}'", f.display()))?;
            let text = decoded(&bytes, policy, || format!("'{}'", f.display()))?;
            w.push_int(text.as_bytes(), k as i64)?;
        }
    }
    Ok(names)
}
