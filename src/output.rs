//! Output files appear whole or not at all: everything is written to a
//! partial file beside the destination, unique to the job (see
//! [`partial`]), and renamed into place at the end. A failed or
//! interrupted run leaves no half-written file behind and the previous
//! output, if any, as it was; two jobs writing one path each end with their
//! own whole file in place, the later one's last.

mod partial;
mod text;

pub use text::write_text_from_all_ranks;

use crate::collectives::Collectives;
use crate::error::Result;
use crate::h5::lock_cause;
use anyhow::{anyhow, Context};
use hdf5::File;
use std::path::{Path, PathBuf};

/// A destination path and the partial file that becomes it.
#[derive(Debug)]
pub struct AtomicPath {
    dest: PathBuf,
    tmp: PathBuf,
    committed: bool,
    /// Only the rank that owns the file removes it on failure.
    owner: bool,
}

impl AtomicPath {
    /// A file this process alone writes (rank 0's model, corpus, report):
    /// the partial name carries this process's host and id. Every rank of a
    /// job that writes one file together takes [`Self::shared`] instead.
    pub fn new(dest: &Path, owner: bool) -> Self {
        Self::tagged(dest, &partial::this_process(), owner)
    }

    /// Collective: a file every rank writes a part of. Rank 0's host and
    /// process id name the partial file, broadcast so that every rank opens
    /// the same one; rank 0 owns it.
    pub fn shared(comm: &dyn Collectives, dest: &Path) -> Result<Self> {
        let mine = if comm.is_root() { partial::this_process() } else { String::new() };
        let tag = comm.all_gather_bytes(mine.as_bytes())?;
        Ok(Self::tagged(dest, &String::from_utf8_lossy(&tag), comm.is_root()))
    }

    fn tagged(dest: &Path, tag: &str, owner: bool) -> Self {
        AtomicPath { dest: dest.to_path_buf(), tmp: partial::partial_path(dest, tag), committed: false, owner }
    }

    pub fn tmp(&self) -> &Path {
        &self.tmp
    }
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Creates the partial file empty. An error names its cause as the
    /// system gave it: a missing folder, a folder the user may not write, a
    /// read-only or full file system.
    pub fn create_file(&self) -> Result<std::fs::File> {
        let dir = self.dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.is_dir() {
            anyhow::bail!("cannot write '{}': folder '{}' does not exist", self.dest.display(), dir.display());
        }
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.tmp)
            .map_err(|e| anyhow!("cannot write '{}': {}", self.dest.display(), io_cause(&e, dir)))
    }

    /// Creates the partial HDF5 file. Beyond [`Self::create_file`]'s causes,
    /// HDF5's own: its file lock (another process has the file open, or the
    /// file system has no locks), told apart from a permission error.
    pub fn create_h5(&self) -> Result<File> {
        drop(self.create_file()?);
        File::create(&self.tmp).map_err(|e| match lock_cause(&e) {
            Some(cause) => anyhow!("cannot write '{}': its partial file '{}': {cause}", self.dest.display(), self.tmp.display()),
            None => anyhow!("cannot write '{}': {e}", self.dest.display()),
        })
    }

    /// Collective: fails on every rank, before any work, when `dest` cannot
    /// be written as HDF5 (rank 0 creates the partial file and removes it
    /// again, so nothing is left on disk while the work runs). The file is
    /// gone before the ranks agree: a rank that fails right after the
    /// agreement gets rank 0 killed, with no time to clean up, by some
    /// launchers.
    pub fn probe(comm: &dyn Collectives, dest: &Path) -> Result<()> {
        comm.on_root(|| AtomicPath::new(dest, true).create_h5().map(drop))
    }

    /// [`Self::probe`] for a file that is not HDF5 (no file lock to try).
    pub fn probe_file(comm: &dyn Collectives, dest: &Path) -> Result<()> {
        comm.on_root(|| AtomicPath::new(dest, true).create_file().map(drop))
    }

    /// Moves the finished file into place by rename(2), which replaces a
    /// file already at `dest` (the previous run's output) in one step: a
    /// run that fails before or in the rename leaves that output as it was,
    /// and two jobs renaming onto one path leave one whole file. Removing
    /// the old file first would have spared ext4 (`auto_da_alloc`, the
    /// default) writing the new file to disk before the rename returns (1.6 s
    /// of a 2.7 GB matrix), at the price of a window with no output at all.
    /// Then the partial files that killed jobs left for `dest` on this host
    /// go ([`partial::remove_stale`]).
    pub fn commit(mut self) -> Result<()> {
        crate::faults::pause_before_commit();
        std::fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("cannot move the finished file to '{}'", self.dest.display()))?;
        self.committed = true;
        partial::remove_stale(&self.dest);
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

/// The cause of a failure to create a file in `dir`, in the user's terms.
fn io_cause(e: &std::io::Error, dir: &Path) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::PermissionDenied => format!("permission denied: you may not create files in '{}'", dir.display()),
        ErrorKind::ReadOnlyFilesystem => format!("'{}' is on a read-only file system", dir.display()),
        ErrorKind::NotFound => format!("folder '{}' does not exist", dir.display()),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => format!("no space left for it in '{}' ({e})", dir.display()),
        _ => e.to_string(),
    }
}

/// Collective: writes one file from every rank's part. Rank 0 runs `create`
/// (datasets at their final sizes) on the job's partial file; then every rank
/// runs `write` (numbers) on it: all at once through MPI-IO where the HDF5
/// library is built for MPI (`Collectives::open_shared_h5`; a cluster file
/// system then serves P writers), otherwise in turns (a serial HDF5 file
/// admits one writer at a time); then `strings`, always in turns, since
/// parallel HDF5 cannot write variable-length strings; then rank 0 moves the
/// finished file into place. A failure anywhere ends every rank with the
/// error and removes the temporary file. `TEXTSAGA_PARALLEL_HDF5=0` forces
/// the turns. Returns how the numbers were written: `"mpi-io"` or `"turns"`.
pub fn write_from_all_ranks(
    comm: &dyn Collectives,
    dest: &Path,
    create: impl FnOnce(&File) -> Result<()>,
    write: impl FnOnce(&File) -> Result<()>,
    strings: impl FnOnce(&File) -> Result<()>,
) -> Result<&'static str> {
    let out = AtomicPath::shared(comm, dest)?;
    let dest = dest.display().to_string();
    let created = if comm.is_root() {
        (|| -> Result<()> {
            let file = out.create_h5()?;
            crate::faults::await_signal_if_asked("partial", 0);
            create(&file)?;
            file.close()?;
            Ok(())
        })()
        .with_context(|| format!("writing '{dest}'"))
    } else {
        Ok(())
    };
    comm.agree(created)?;
    let how = match comm.open_shared_h5(out.tmp()) {
        Some(opened) => {
            let result = opened.and_then(|file| {
                write(&file)?;
                file.close()?;
                Ok(())
            });
            comm.agree(result.with_context(|| format!("writing '{dest}'")))?;
            comm.agree(in_turns(comm, out.tmp(), strings).with_context(|| format!("writing '{dest}'")))?;
            "mpi-io"
        }
        None => {
            let both = |f: &File| -> Result<()> {
                write(f)?;
                strings(f)
            };
            comm.agree(in_turns(comm, out.tmp(), both).with_context(|| format!("writing '{dest}'")))?;
            "turns"
        }
    };
    comm.agree_final(if comm.is_root() { out.commit() } else { Ok(()) }).map(|()| how)
}

/// Collective: each rank in turn opens `tmp` alone and runs `work` on it.
pub(crate) fn in_turns(comm: &dyn Collectives, tmp: &Path, work: impl FnOnce(&File) -> Result<()>) -> Result<()> {
    let mut result = Ok(());
    let mut work = Some(work);
    for turn in 0..comm.size() {
        if turn == comm.rank() {
            result = (|| -> Result<()> {
                let file = File::open_rw(tmp).map_err(|e| match lock_cause(&e) {
                    Some(cause) => anyhow!("'{}': {cause}", tmp.display()),
                    None => e.into(),
                })?;
                (work.take().expect("one turn per rank"))(&file)?;
                file.close()?;
                Ok(())
            })();
        }
        comm.barrier();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rename that fails (the partial file is gone) leaves the previous
    /// output in place: nothing is removed before the rename.
    #[test]
    fn a_failed_commit_keeps_the_previous_output() {
        let dir = std::env::temp_dir().join(format!("textsaga-commit-failed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out.h5");
        std::fs::write(&dest, b"old").unwrap();
        let out = AtomicPath::new(&dest, true);
        assert!(!out.tmp().exists());
        let e = out.commit().unwrap_err();
        assert!(format!("{e:#}").contains("cannot move the finished file"), "{e:#}");
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// HDF5's lock on the partial file (taken here by this test, as another
    /// process writing it would hold it) is named as a lock, not as a
    /// permission error.
    #[test]
    fn a_locked_partial_file_is_named_as_locked() {
        use std::os::fd::AsRawFd;
        let dir = std::env::temp_dir().join(format!("textsaga-locked-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = AtomicPath::new(&dir.join("out.h5"), true);
        let held = std::fs::File::create(out.tmp()).unwrap();
        // SAFETY: flock on an open descriptor this test owns.
        assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
        let e = format!("{:#}", out.create_h5().unwrap_err());
        assert!(e.contains("another process has it open") && !e.contains("permission"), "{e}");
        drop(held);
        assert!(out.create_h5().is_ok());
        drop(out);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_named() {
        let out = AtomicPath::new(Path::new("/no/such/folder/out.h5"), true);
        let e = out.create_file().unwrap_err().to_string();
        assert!(e.contains("folder '/no/such/folder' does not exist"), "{e}");
    }

    #[test]
    fn a_commit_replaces_the_previous_output_and_not_what_a_link_points_to() {
        let dir = std::env::temp_dir().join(format!("textsaga-commit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (dest, kept, link) = (dir.join("out.h5"), dir.join("kept.h5"), dir.join("link.h5"));
        std::fs::write(&dest, b"old").unwrap();
        std::fs::write(&kept, b"kept").unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&kept, &link).unwrap();
        for (path, new) in [(&dest, b"new"), (&link, b"via")] {
            let out = AtomicPath::new(path, true);
            std::fs::write(out.tmp(), new).unwrap();
            let tmp = out.tmp().to_path_buf();
            out.commit().unwrap();
            assert!(!tmp.exists());
            assert_eq!(std::fs::read(path).unwrap(), new);
        }
        // The link itself was replaced (as a rename over it does); its target is untouched.
        assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&kept).unwrap(), b"kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
