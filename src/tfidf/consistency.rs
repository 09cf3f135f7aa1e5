//! What scikit-learn warns of in a vectorizer's settings and then goes on
//! with: stop words that its own preprocessing turns into tokens the list
//! does not hold (`_check_stop_words_consistency`: "you'll" is tokenized to
//! "you" and "ll", and "ll" is kept), and upper-case terms of a fixed
//! vocabulary that lowercased documents never match. Both settings run as
//! they do in scikit-learn; the warning tells the user why the output may
//! not be what they meant. (The word flags that a character analyzer
//! ignores are warned of where the flags are read: `cli::VectorizerArgs`.)

use std::collections::BTreeSet;

use super::VectorizerOptions;
use crate::text::stopwords;
use crate::text::{Analyzer, AnalyzerKind, AnalyzerOptions};

/// The warnings, in scikit-learn's words and order (the vocabulary's when
/// it is validated, then the stop words' when the analyzer is built), each
/// with what to do about it.
pub fn warnings(opts: &VectorizerOptions) -> Vec<String> {
    let mut out = Vec::new();
    if let (true, Some(terms)) = (opts.analyzer.lowercase, &opts.vocabulary) {
        if let Some(term) = terms.iter().find(|t| t.chars().any(char::is_uppercase)) {
            out.push(format!(
                "Upper case characters found in vocabulary while 'lowercase' is True. These entries will not be matched \
                 with any documents (--vocabulary has {}; --no-lowercase matches them)",
                py_repr(term)
            ));
        }
    }
    let stray = stray_stop_tokens(&opts.analyzer);
    if !stray.is_empty() {
        let list: Vec<String> = stray.iter().map(|t| py_repr(t)).collect();
        out.push(format!(
            "Your stop_words may be inconsistent with your preprocessing. Tokenizing the stop words generated tokens \
             [{}] not in stop_words. (--stop-words: those tokens are kept; list them too to drop them)",
            list.join(", ")
        ));
    }
    out
}

/// The tokens that preprocessing and tokenizing the stop words give and the
/// list does not hold, sorted (Python sorts strings by code point, as Rust
/// does). None with a character analyzer, which uses no stop words.
fn stray_stop_tokens(a: &AnalyzerOptions) -> BTreeSet<String> {
    if a.kind != AnalyzerKind::Word {
        return BTreeSet::new();
    }
    let words: Vec<&str> = match (&a.stop_words, a.stop_words_english) {
        (Some(list), _) => list.iter().map(String::as_str).collect(),
        (None, true) => stopwords::english().iter().copied().collect(),
        (None, false) => return BTreeSet::new(),
    };
    let listed: BTreeSet<&str> = words.iter().copied().collect();
    let mut tokenize = Analyzer::new(AnalyzerOptions { stop_words: None, stop_words_english: false, ngram_range: (1, 1), ..a.clone() });
    words.iter().flat_map(|w| tokenize.terms(w)).filter(|t| !listed.contains(t.as_str())).collect()
}

/// Python's `repr` of a str, as scikit-learn's messages print them: single
/// quotes unless the text holds one and no double quote; backslashes, the
/// quote and control characters escaped. (Python also escapes the other
/// non-printable characters, format and separator ones; tokens rarely hold
/// them.)
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_stop_words(list: &[&str]) -> VectorizerOptions {
        let mut o = VectorizerOptions::default();
        o.analyzer.stop_words = Some(list.iter().map(|s| s.to_string()).collect());
        o
    }

    /// scikit-learn's own case (test_text.py, test_vectorizer_stop_words_inconsistent).
    #[test]
    fn stop_words_that_tokenize_to_others_are_named_as_sklearn_does() {
        let w = warnings(&with_stop_words(&["you've", "you", "you'll", "AND"]));
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("Your stop_words may be inconsistent with your preprocessing. Tokenizing the stop words generated tokens ['and', 'll', 've'] not in stop_words."), "{}", w[0]);
        assert!(warnings(&with_stop_words(&["you", "and", "the"])).is_empty());
        assert!(warnings(&VectorizerOptions { analyzer: AnalyzerOptions { stop_words_english: true, ..Default::default() }, ..Default::default() }).is_empty());
        let mut chars = with_stop_words(&["AND"]);
        chars.analyzer.kind = AnalyzerKind::Char;
        assert!(warnings(&chars).is_empty(), "a character analyzer uses no stop words");
    }

    #[test]
    fn upper_case_vocabulary_warns_only_when_lowercasing() {
        let terms: Vec<Box<str>> = ["sample", "Upper"].iter().map(|t| Box::from(*t)).collect();
        let upper = VectorizerOptions { vocabulary: Some(terms), fixed_vocabulary: true, ..Default::default() };
        let w = warnings(&upper);
        assert!(w.len() == 1 && w[0].contains("Upper case characters found in vocabulary while 'lowercase' is True") && w[0].contains("'Upper'"), "{w:?}");
        let mut kept = upper.clone();
        kept.analyzer.lowercase = false;
        assert!(warnings(&kept).is_empty());
    }

    #[test]
    fn reprs_are_pythons() {
        assert_eq!(py_repr("ll"), "'ll'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(py_repr("tab\there\\"), "'tab\\there\\\\'");
        assert_eq!(py_repr("\u{7}x"), "'\\x07x'");
    }
}
