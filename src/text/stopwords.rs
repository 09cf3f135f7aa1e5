//! Stop words: scikit-learn's built-in English list (`stop_words="english"`)
//! and lists of one's own (`stop_words=[...]`, here a file; the same reader
//! takes `--vocabulary` files).

use rustc_hash::FxHashSet;
use std::path::Path;
use std::sync::OnceLock;

const LIST: &str = include_str!("english_stop_words.txt");

/// The English stop words, loaded once.
pub fn english() -> &'static FxHashSet<&'static str> {
    static SET: OnceLock<FxHashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// A word-list file (`--stop-words FILE`, `--vocabulary FILE`): one entry
/// a line, the whole line without its line ending (`\n` or `\r\n`), as a
/// Python list of those strings would hold it; empty lines are skipped (an
/// empty entry matches no token).
pub fn read_list(flag: &str, path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{flag} '{}': {e}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{flag} '{}': not UTF-8 (byte {}); save the list as UTF-8", path.display(), e.utf8_error().valid_up_to()))?;
    Ok(text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty()).map(String::from).collect())
}

/// The stop words an analyzer drops.
pub enum StopSet {
    English(&'static FxHashSet<&'static str>),
    Custom(FxHashSet<String>),
}

impl StopSet {
    #[inline]
    pub fn contains(&self, token: &str) -> bool {
        match self {
            StopSet::English(s) => s.contains(token),
            StopSet::Custom(s) => s.contains(token),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_list_of_ones_own_is_the_lines() {
        let path = std::env::temp_dir().join(format!("textsaga-stop-{}.txt", std::process::id()));
        std::fs::write(&path, "the\r\nAnd\n\n x \nende").unwrap();
        assert_eq!(super::read_list("--stop-words", &path).unwrap(), ["the", "And", " x ", "ende"]);
        std::fs::write(&path, b"ok\n\xff\n").unwrap();
        assert!(super::read_list("--stop-words", &path).unwrap_err().to_string().contains("not UTF-8"));
        std::fs::remove_file(&path).unwrap();
        assert!(super::read_list("--stop-words", &path).is_err());
    }

    #[test]
    fn has_the_318_words() {
        let s = super::english();
        assert_eq!(s.len(), 318);
        assert!(s.contains("the") && s.contains("whereafter") && !s.contains("saga"));
    }
}
