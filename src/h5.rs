//! Small HDF5 helpers every file format of textsaga uses (corpus, features,
//! model, checkpoint): opening with errors that say what to do, 1-D datasets
//! written whole or in slices, and strings as h5py reads them back.

use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group, H5Type};
use std::path::Path;

/// Opens an HDF5 file for reading with errors that say what to do.
pub fn open_h5(path: &Path) -> Result<File> {
    if !path.exists() {
        bail!("'{}': no such file", path.display());
    }
    if path.is_dir() {
        bail!("'{}' is a directory, not an HDF5 file", path.display());
    }
    // HDF5's own reason last: a lock held by another process reads differently from a bad signature.
    File::open(path).map_err(|e| anyhow!("'{}' is not an HDF5 file (or it is damaged): {e}", path.display()))
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

/// Writes `src` converted element by element (`convert`) at `offset` of a
/// 1-D dataset, 262,144 elements at a time through one buffer: a converted
/// copy of a whole column (a billion indices as int64) would be gigabytes
/// of fresh memory for the kernel to zero. Measured: with four million
/// elements a chunk (32 MB of int64) the write phase of the generated
/// bigrams (28.5 M indices) took 1.10-1.13 s, against 0.38-0.39 s with
/// this 2 MB one, small enough to stay in cache between the conversion
/// and HDF5's copy of it (the likely cause).
pub fn write_converted_at<S: Copy, T: H5Type>(ds: &Dataset, offset: usize, src: &[S], convert: impl Fn(S) -> T) -> Result<()> {
    const CHUNK: usize = 1 << 18;
    let mut buf: Vec<T> = Vec::with_capacity(CHUNK.min(src.len()));
    for (i, part) in src.chunks(CHUNK).enumerate() {
        buf.clear();
        buf.extend(part.iter().map(|&x| convert(x)));
        write_at(ds, offset + i * CHUNK, &buf)?;
    }
    Ok(())
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
