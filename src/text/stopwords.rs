//! scikit-learn's built-in English stop word list (`stop_words="english"`).

use rustc_hash::FxHashSet;
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

#[cfg(test)]
mod tests {
    #[test]
    fn has_the_318_words() {
        let s = super::english();
        assert_eq!(s.len(), 318);
        assert!(s.contains("the") && s.contains("whereafter") && !s.contains("saga"));
    }
}
