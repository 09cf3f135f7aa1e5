//! Output files appear whole or not at all: everything is written to a
//! temporary file beside the destination and renamed into place at the end.
//! A failed or interrupted run leaves no half-written file behind.

use crate::corpus::Labels;
use crate::error::Result;
use anyhow::{anyhow, Context};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group, H5Type};
use std::path::{Path, PathBuf};

/// A destination path and the temporary file that becomes it.
#[derive(Debug)]
pub struct AtomicPath {
    dest: PathBuf,
    tmp: PathBuf,
    committed: bool,
    /// Only the rank that owns the file removes it on failure.
    owner: bool,
}

impl AtomicPath {
    /// The temporary name is derived from the destination alone, so every
    /// rank of a job agrees on it without communicating.
    pub fn new(dest: &Path, owner: bool) -> Self {
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.textsaga-partial"));
        AtomicPath { dest: dest.to_path_buf(), tmp, committed: false, owner }
    }

    pub fn tmp(&self) -> &Path {
        &self.tmp
    }
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Creates the temporary HDF5 file (truncating a stale one).
    pub fn create_h5(&self) -> Result<File> {
        if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                anyhow::bail!("cannot write '{}': folder '{}' does not exist", self.dest.display(), dir.display());
            }
        }
        File::create(&self.tmp).map_err(|_| {
            anyhow!("cannot write '{}': permission denied or read-only folder", self.dest.display())
        })
    }

    /// Moves the finished file into place.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("cannot move the finished file to '{}'", self.dest.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicPath {
    fn drop(&mut self) {
        if self.owner && !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Collective: writes one file from every rank's part. Rank 0 runs `create`
/// (datasets at their final sizes) on the temporary file; then the ranks
/// take turns running `write` on it (a serial HDF5 file admits one writer at
/// a time); then rank 0 moves the finished file into place. A failure
/// anywhere ends every rank with the error and removes the temporary file.
pub fn write_in_turns(
    comm: &crate::comm::Comm,
    out: AtomicPath,
    create: impl FnOnce(&File) -> Result<()>,
    write: impl FnOnce(&File) -> Result<()>,
) -> Result<()> {
    let dest = out.dest().display().to_string();
    let created = if comm.is_root() {
        (|| -> Result<()> {
            let file = out.create_h5()?;
            create(&file)?;
            file.close()?;
            Ok(())
        })()
        .with_context(|| format!("writing '{dest}'"))
    } else {
        Ok(())
    };
    comm.agree(created)?;
    let mut result = Ok(());
    let mut write = Some(write);
    for turn in 0..comm.size() {
        if turn == comm.rank() {
            result = (|| -> Result<()> {
                let file = File::open_rw(out.tmp())?;
                (write.take().expect("one turn per rank"))(&file)?;
                file.close()?;
                Ok(())
            })()
            .with_context(|| format!("writing '{dest}'"));
        }
        comm.barrier();
    }
    comm.agree(result)?;
    comm.agree(if comm.is_root() { out.commit() } else { Ok(()) })
}

/// Offset of this rank's part in a concatenation of every rank's `count`.
pub fn offset_of(comm: &crate::comm::Comm, count: usize) -> (usize, usize) {
    let all = comm.all_gather_u64(count as u64);
    let before: u64 = all[..comm.rank()].iter().sum();
    (before as usize, all.iter().sum::<u64>() as usize)
}

/// Writes a whole 1-D dataset.
pub fn write_1d<T: H5Type>(g: &Group, name: &str, data: &[T]) -> Result<Dataset> {
    g.new_dataset_builder()
        .with_data(data)
        .create(name)
        .with_context(|| format!("writing dataset '{name}'"))
}

/// Creates an empty 1-D dataset of `n` elements, to be filled in slices.
pub fn create_1d<T: H5Type>(g: &Group, name: &str, n: usize) -> Result<Dataset> {
    g.new_dataset::<T>().shape(n).create(name).with_context(|| format!("creating dataset '{name}'"))
}

/// Writes `data` at `offset` of a 1-D dataset.
pub fn write_at<T: H5Type>(ds: &Dataset, offset: usize, data: &[T]) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    ds.write_slice(data, offset..offset + data.len()).context("writing a slice")
}

/// Strings as HDF5 variable-length UTF-8 (what h5py reads back as str).
pub fn to_vlen<S: AsRef<str>>(items: &[S]) -> Result<Vec<VarLenUnicode>> {
    items
        .iter()
        .map(|s| {
            s.as_ref()
                .parse::<VarLenUnicode>()
                .map_err(|_| anyhow!("string {:?} cannot be stored in HDF5 (it contains a NUL)", s.as_ref()))
        })
        .collect()
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
