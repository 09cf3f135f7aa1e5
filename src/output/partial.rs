//! The name of an output's partial file: `.NAME.textsaga-partial.<host>.<pid>`
//! beside the destination, `<host>.<pid>` being the job's rank 0.
//!
//! The name must be one no other job can share. With one name per
//! destination (`.NAME.textsaga-partial`, until issue 31), two jobs writing
//! one path truncated and removed each other's partial file, and both lost
//! their output; and the second one's HDF5 open failed on the first one's
//! file lock, reported as a permission error. A host name and a process id
//! are unique among the processes alive at one time, and every rank of a
//! job uses rank 0's (agreed by a broadcast, [`super::AtomicPath::shared`]),
//! so all of them open the same file for a parallel write.
//!
//! A job killed outright (SIGKILL: `srun` given SIGTERM kills its step so,
//! and mpirun after its grace) cannot remove its partial file. The next job
//! that commits the same destination on that host removes it ([`remove_stale`]):
//! the name says which host and process it was, and that process is gone.

use std::path::{Path, PathBuf};

/// This process's `<host>.<pid>`.
pub fn this_process() -> String {
    format!("{}.{}", host_name(), std::process::id())
}

/// `.NAME.textsaga-partial.<tag>` in `dest`'s folder.
pub fn partial_path(dest: &Path, tag: &str) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.textsaga-partial.{tag}"))
}

/// Removes the partial files of `dest` that jobs killed on this host left:
/// those named for this host and a process id no process has now. Another
/// host's, or a live process's (a job still writing), is never touched; a
/// host name is taken to name one process-id space (containers that share
/// a folder have host names of their own). Best effort: a file that cannot
/// be removed stays.
pub fn remove_stale(dest: &Path) {
    let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = format!(".{}.textsaga-partial.{}.", name.to_string_lossy(), host_name());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let pid = file.strip_prefix(&prefix).and_then(|p| p.parse::<libc::pid_t>().ok());
        if pid.is_some_and(|pid| pid > 0 && !alive(pid)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id runs on this host (one we may not signal runs too).
fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The host name, `/` and whitespace replaced so that it can be part of a
/// file name (`localhost` when the system has none).
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) } == 0;
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..len]).into_owned();
    if !ok || name.is_empty() {
        return "localhost".into();
    }
    name.chars().map(|c| if c == '/' || c.is_whitespace() { '_' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partial_name_carries_the_host_and_the_process() {
        let tag = this_process();
        assert!(tag.ends_with(&format!(".{}", std::process::id())), "{tag}");
        assert!(!tag.starts_with('.') && !tag.contains('/'), "{tag}");
        let p = partial_path(Path::new("/data/out.h5"), "node7.42");
        assert_eq!(p, Path::new("/data/.out.h5.textsaga-partial.node7.42"));
        assert_eq!(partial_path(Path::new("out.csv"), "h.1"), Path::new(".out.csv.textsaga-partial.h.1"));
    }

    /// A killed job's partial file (this host, a process id that has ended)
    /// goes; a live process's, another host's and another output's stay.
    #[test]
    fn a_dead_jobs_partial_file_is_removed_and_no_other() {
        let dir = std::env::temp_dir().join(format!("textsaga-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out.h5");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dead = format!("{}.{}", host_name(), child.id());
        let files = [
            (partial_path(&dest, &dead), false),
            (partial_path(&dest, &this_process()), true),
            (partial_path(&dest, &format!("another-host.{}", child.id())), true),
            (partial_path(&dir.join("other.h5"), &dead), true),
        ];
        for (f, _) in &files {
            std::fs::write(f, b"").unwrap();
        }
        remove_stale(&dest);
        for (f, kept) in &files {
            assert_eq!(f.exists(), *kept, "{}", f.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
