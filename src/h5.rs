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
    File::open(path).map_err(|e| match lock_cause(&e) {
        Some(cause) => anyhow!("cannot read '{}': {cause}", path.display()),
        // HDF5's own reason last.
        None => anyhow!("'{}' is not an HDF5 file (or it is damaged): {e}", path.display()),
    })
}

/// The cause of an HDF5 error when it is HDF5's file lock, which HDF5 only
/// reports as "unable to lock file, errno = N" inside a longer message: the
/// lock held by another process (EAGAIN, EWOULDBLOCK), or a file system that
/// has no locks (ENOSYS, ENOLCK, EOPNOTSUPP: some network file systems).
/// `None` for any other error.
pub fn lock_cause(e: &hdf5::Error) -> Option<String> {
    let text = e.to_string();
    let at = text.find("unable to lock file")?;
    let errno = text[at..]
        .split("errno = ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse::<i32>().ok());
    Some(match errno {
        Some(n) if n == libc::EAGAIN || n == libc::EWOULDBLOCK => {
            "another process has it open for writing (HDF5's file lock is taken); wait for that process to end, or write elsewhere".into()
        }
        Some(n) => format!(
            "the file system refuses HDF5's file lock (errno {n}: {}); run with HDF5_USE_FILE_LOCKING=FALSE in the environment",
            std::io::Error::from_raw_os_error(n)
        ),
        None => format!("HDF5 could not lock it ({})", text[at..].trim()),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An input another process is writing (it holds HDF5's exclusive lock,
    /// taken here by the test itself) is named as such, not as damaged.
    #[test]
    fn an_input_being_written_is_named_as_locked() {
        use std::os::fd::AsRawFd;
        let path = std::env::temp_dir().join(format!("textsaga-h5-locked-{}.h5", std::process::id()));
        File::create(&path).unwrap().close().unwrap();
        let held = std::fs::File::open(&path).unwrap();
        // SAFETY: flock on an open descriptor this test owns.
        assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
        let e = open_h5(&path).unwrap_err().to_string();
        assert!(e.contains("another process has it open for writing") && !e.contains("damaged"), "{e}");
        drop(held);
        assert!(open_h5(&path).is_ok());
        std::fs::remove_file(&path).unwrap();
    }
}
