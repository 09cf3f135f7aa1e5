//! scikit-learn's character analyzers, `analyzer="char"` and `"char_wb"`
//! (`_char_ngrams`, `_char_wb_ngrams`), after the same preprocessing as
//! words (lowercase, accents).
//!
//! Both first replace every run of two or more whitespace characters by one
//! space (`re.sub(r"\s\s+", " ", text)`); a single tab or newline stays as
//! it is, and is a character of the n-grams. Then:
//!
//! - `char`: every run of `n` characters of the whole text, for each `n` of
//!   the range up to the text's length;
//! - `char_wb`: each word (split at whitespace as `str.split()` does) is
//!   padded with one space on each side, and n-grams are taken within it;
//!   a padded word shorter than `n` is counted once, whole, and longer `n`
//!   are skipped for it (sklearn's "count a short word only once").
//!
//! Whitespace is Python's (`str.isspace`, which `\s` also follows): Rust's
//! `char::is_whitespace` plus the four separators U+001C to U+001F.

use std::borrow::Cow;

/// Python's `str.isspace()` for one character.
#[inline]
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `re.sub(r"\s\s+", " ", text)`.
pub fn collapse_whitespace(text: &str) -> Cow<'_, str> {
    let has_run = |t: &str| {
        let mut prev = false;
        t.chars().any(|c| {
            let run = prev && is_py_space(c);
            prev = is_py_space(c);
            run
        })
    };
    if !has_run(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_py_space(c) && chars.peek().is_some_and(|&d| is_py_space(d)) {
            while chars.peek().is_some_and(|&d| is_py_space(d)) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The words of `char_wb` (`text.split()`): maximal runs of non-whitespace.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_py_space).filter(|w| !w.is_empty())
}

/// Byte offsets of every character boundary of `s`, its length included.
fn boundaries(s: &str, out: &mut Vec<usize>) {
    out.clear();
    out.extend(s.char_indices().map(|(i, _)| i));
    out.push(s.len());
}

/// `_char_ngrams` of collapsed `text`: calls `f` with each n-gram, in
/// sklearn's order (all of length `min_n`, then `min_n + 1`, ...).
pub fn char_ngrams(text: &str, (min_n, max_n): (usize, usize), bounds: &mut Vec<usize>, mut f: impl FnMut(&str)) {
    boundaries(text, bounds);
    let len = bounds.len() - 1;
    for n in min_n..=max_n.min(len) {
        for i in 0..=len - n {
            f(&text[bounds[i]..bounds[i + n]]);
        }
    }
}

/// `_char_wb_ngrams` of collapsed `text`: calls `f` with each n-gram of
/// each padded word, in sklearn's order. `padded` and `bounds` are scratch.
pub fn char_wb_ngrams(text: &str, (min_n, max_n): (usize, usize), padded: &mut String, bounds: &mut Vec<usize>, mut f: impl FnMut(&str)) {
    for w in words(text) {
        padded.clear();
        padded.push(' ');
        padded.push_str(w);
        padded.push(' ');
        boundaries(padded, bounds);
        let len = bounds.len() - 1;
        for n in min_n..=max_n {
            if n >= len {
                f(padded);
                break;
            }
            for i in 0..=len - n {
                f(&padded[bounds[i]..bounds[i + n]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(text: &str, range: (usize, usize), wb: bool) -> Vec<String> {
        let text = collapse_whitespace(text);
        let mut out = Vec::new();
        let (mut padded, mut bounds) = (String::new(), Vec::new());
        if wb {
            char_wb_ngrams(&text, range, &mut padded, &mut bounds, |g| out.push(g.to_owned()));
        } else {
            char_ngrams(&text, range, &mut bounds, |g| out.push(g.to_owned()));
        }
        out
    }

    #[test]
    fn whitespace_runs_collapse_but_a_single_tab_stays() {
        assert_eq!(collapse_whitespace("a\tb"), "a\tb");
        assert_eq!(collapse_whitespace("a \n\u{a0}b\u{1c}\u{1d}c  "), "a b c ");
        assert!(matches!(collapse_whitespace("plain text"), Cow::Borrowed(_)));
        assert!(is_py_space('\u{1f}') && is_py_space('\u{3000}') && !is_py_space('\u{200b}'));
    }

    #[test]
    fn char_ngrams_as_sklearn() {
        // sklearn's test_char_ngram_analyzer text, without preprocessing;
        // the expected n-grams are what CountVectorizer._char_ngrams returns.
        let g = grams("J'ai mangé du kangourou  ce midi, c'était pas très bon", (3, 6), false);
        assert_eq!(&g[..5], ["J'a", "'ai", "ai ", "i m", " ma"]);
        assert_eq!(&g[g.len() - 5..], ["s très", " très ", "très b", "rès bo", "ès bon"]);
        assert_eq!(grams("ab", (1, 3), false), ["a", "b", "ab"]);
        assert!(grams("ab", (3, 3), false).is_empty());
    }

    #[test]
    fn char_wb_ngrams_as_sklearn() {
        // sklearn's test_char_wb_ngram_analyzer text (expected values from
        // CountVectorizer._char_wb_ngrams, no preprocessing).
        let g = grams("This \n\tis a test, really.\n\n I met Harry yesterday", (3, 6), true);
        assert_eq!(&g[..5], [" Th", "Thi", "his", "is ", " Thi"]);
        assert_eq!(&g[g.len() - 5..], ["yester", "esterd", "sterda", "terday", "erday "]);
        // A padded word shorter than n is counted once, whole.
        assert_eq!(grams("a bc", (4, 5), true), [" a ", " bc "]);
        assert_eq!(grams("ab", (2, 9), true), [" a", "ab", "b ", " ab", "ab ", " ab "]);
    }
}
