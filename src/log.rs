//! Lines on stderr. Ranks share one stderr (the launcher merges their
//! pipes), so each line goes out in a single write: lines of different
//! ranks never interleave mid-line in a batch log.

use std::io::Write;

/// Writes `s` and a newline to stderr in one `write` call.
pub fn line(s: &str) {
    let mut b = String::with_capacity(s.len() + 1);
    b.push_str(s);
    b.push('\n');
    let _ = std::io::stderr().lock().write_all(b.as_bytes());
}

/// `eprintln!` that writes the whole line at once (see [`line`]).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::log::line(&format!($($arg)*)) };
}

/// Prints each of `warnings` as one `textsaga: warning:` line, once for the
/// job: `root` is true on rank 0 only (the ranks all hold the same ones).
pub fn warn_once(root: bool, warnings: impl IntoIterator<Item = String>) {
    if root {
        warnings.into_iter().for_each(|w| line(&format!("textsaga: warning: {w}")));
    }
}
