//! No output may be the same file as an input: a swapped argument in a
//! batch script (`vectorize --data c.h5 -o c.h5`) would otherwise replace a
//! corpus that took days to collect with the result.
//!
//! Files are compared by identity (device and inode), so a symlink or a hard
//! link to an input is caught as well as the same path. Two outputs may not
//! be the same file either. Checked before any work, on every rank alike.

use crate::error::Result;
use anyhow::bail;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file a command reads or writes, named by its flag for the message.
pub struct Named<'a> {
    pub flag: &'static str,
    pub path: &'a Path,
}

pub fn named<'a>(flag: &'static str, path: &'a Path) -> Named<'a> {
    Named { flag, path }
}

/// The file's identity when it exists (following symlinks).
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| (m.dev(), m.ino()))
}

/// Where a path that may not exist yet would be: its folder resolved.
fn location(path: &Path) -> PathBuf {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = parent.canonicalize().unwrap_or_else(|_| parent.to_path_buf());
    dir.join(path.file_name().unwrap_or_default())
}

fn same(a: &Path, b: &Path) -> bool {
    match (identity(a), identity(b)) {
        (Some(x), Some(y)) => x == y,
        _ => location(a) == location(b),
    }
}

/// An error naming the first output that is the same file as an input or
/// as another output.
pub fn refuse_overwriting(inputs: &[Named], outputs: &[Named]) -> Result<()> {
    for (i, out) in outputs.iter().enumerate() {
        if let Some(input) = inputs.iter().find(|input| identity(input.path).is_some() && same(out.path, input.path)) {
            bail!(
                "{} '{}' is the same file as {} '{}': refusing to overwrite an input; choose another path",
                out.flag,
                out.path.display(),
                input.flag,
                input.path.display()
            );
        }
        if let Some(other) = outputs[..i].iter().find(|other| same(out.path, other.path)) {
            bail!("{} '{}' is the same file as {} '{}'; give each output its own path", out.flag, out.path.display(), other.flag, other.path.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_path_symlink_and_hard_link_are_refused() {
        let dir = std::env::temp_dir().join(format!("textsaga-same-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("c.h5");
        std::fs::write(&data, b"corpus").unwrap();
        let (link, hard) = (dir.join("link.h5"), dir.join("hard.h5"));
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_file(&hard);
        std::os::unix::fs::symlink(&data, &link).unwrap();
        std::fs::hard_link(&data, &hard).unwrap();
        let input = [named("--data", &data)];
        let dotted = dir.join(".").join("c.h5");
        for out in [&data, &link, &hard, &dotted] {
            let err = refuse_overwriting(&input, &[named("-o", out)]).unwrap_err().to_string();
            assert!(err.contains("same file as --data"), "{}: {err}", out.display());
        }
        let fresh = dir.join("new.h5");
        assert!(refuse_overwriting(&input, &[named("-o", &fresh)]).is_ok());
        let err = refuse_overwriting(&input, &[named("--model", &fresh), named("--metrics", &fresh)]).unwrap_err();
        assert!(err.to_string().contains("give each output its own path"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
