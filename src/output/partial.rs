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
//! A job killed outright (SIGKILL) cannot remove its partial file: it stays,
//! under a name no later job reuses, until someone removes it.

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
}
