//! A folder tree as scikit-learn's `load_files` reads it.

use super::decoded;
use crate::corpus::CorpusWriter;
use crate::error::Result;
use crate::text::Decoder;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// sklearn's `load_files`: classes are the sorted sub-folders, documents the
/// sorted files in each; labels are class indices, `label_names` the folders.
pub fn read(root: &Path, dec: Decoder, w: &mut CorpusWriter) -> Result<Vec<String>> {
    let classes = sorted_entries(root, Path::is_dir)?;
    if classes.is_empty() {
        bail!("'{}' has no sub-folders; expected one sub-folder per class", root.display());
    }
    let mut names = Vec::new();
    for (k, dir) in classes.iter().enumerate() {
        names.push(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        for f in sorted_entries(dir, Path::is_file)? {
            let bytes = std::fs::read(&f).with_context(|| format!("cannot read '{}'", f.display()))?;
            let text = decoded(&bytes, dec, || format!("'{}'", f.display()))?;
            w.push_int(text.as_bytes(), k as i64)?;
        }
    }
    Ok(names)
}

/// The entries of `dir` that `keep` accepts, sorted by path (as `load_files`).
fn sorted_entries(dir: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list '{}'", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    out.sort();
    Ok(out)
}
