//! `token_pattern`: scikit-learn tokenizes with `re.compile(pattern).findall`.
//! textsaga runs the pattern on a matcher of its own that follows Python's
//! `re` for every construct it accepts ([`parse`] lists them) and refuses
//! the rest with one line naming the construct, so a pattern never runs
//! differently from Python.
//!
//! Like `findall`: matches are searched left to right, each from where the
//! last ended; with one capturing group the token is the group's text (empty
//! when the group took no part), and more than one group is sklearn's error.
//! A pattern that could match an empty string is refused: Python would yield
//! empty tokens between matches, which sklearn counts as a term "".
//!
//! Why a matcher of its own and not the `regex` crate, `fancy-regex` or
//! PCRE2: each gives some token patterns other tokens than Python's `re`,
//! and the features must be scikit-learn's. What Python does (checked with
//! Python 3.11's `re`):
//! - `\w` is `str.isalnum()` or `_`: `\w+` on "cafe" + U+0301 (a combining
//!   accent) finds "cafe", and on "a" U+203F "b" (connector punctuation)
//!   finds "a" and "b". The `regex` crate's Unicode `\w`, which `fancy-regex`
//!   hands its classes to, holds every mark and connector punctuation: one
//!   token each. PCRE2's `\w` in UCP mode is letters, numbers and `_` (newer
//!   versions add marks and connector punctuation): it differs from Python's
//!   elsewhere (Python's numbers are `isnumeric`, PCRE2's `\p{N}`).
//! - `\s` is `str.isspace()`: it matches U+001C-U+001F; Unicode's White_Space
//!   (the `regex` crate's and PCRE2's `\s`) does not.
//! - `$` also matches before a final newline (`a$` finds "a" in "a\n"); the
//!   `regex` crate's `$` is the end of the text only.
//! - `\b` follows from `\w`, so every difference there moves word boundaries.
//!
//! The `regex` crate has no lookaround either. Mapping Python's classes onto
//! another engine's would mean rewriting each pattern's `\w`, `\s`, `\b` and
//! `$` as explicit sets and lookarounds, itself a parser of Python's syntax:
//! [`parse`] is that parser, and running its result ([`program`]) is a
//! backtracking machine of about 500 lines, tested against Python itself
//! (tests/oracle: every code point's class, fourteen patterns).

mod compile;
pub mod parse;
pub mod program;
mod run;

use program::{Program, Scratch, UNSET};

/// sklearn's default, which the built-in scanner runs.
pub const DEFAULT: &str = r"(?u)\b\w\w+\b";

/// How tokens are found.
pub enum Tokenizer {
    /// Maximal runs of at least `min` word characters: the default pattern
    /// (`min` 2) and `\b\w+\b` (`min` 1), by the fast scanner.
    Runs { min: usize },
    /// Any other pattern.
    Pattern(TokenPattern),
}

impl Tokenizer {
    /// The tokenizer of `pattern` (`None`: the default), or why it is refused.
    pub fn new(pattern: Option<&str>) -> Result<Tokenizer, String> {
        let Some(p) = pattern else { return Ok(Tokenizer::Runs { min: 2 }) };
        let bare = p.strip_prefix("(?u)").unwrap_or(p);
        match bare {
            r"\b\w\w+\b" => Ok(Tokenizer::Runs { min: 2 }),
            r"\b\w+\b" => Ok(Tokenizer::Runs { min: 1 }),
            _ => TokenPattern::new(p).map(Tokenizer::Pattern),
        }
    }
}

/// A compiled custom pattern.
pub struct TokenPattern {
    program: Program,
    groups: usize,
    scratch: Scratch,
}

impl TokenPattern {
    pub fn new(pattern: &str) -> Result<TokenPattern, String> {
        let parsed = parse::parse(pattern)?;
        if parsed.groups > 1 {
            return Err(format!("--token-pattern '{pattern}': more than 1 capturing group in token pattern; only a single group should be captured (scikit-learn's error)"));
        }
        if parsed.node.min_len() == 0 {
            return Err(format!("--token-pattern '{pattern}' can match an empty string (Python's findall would then yield empty tokens); make every match need a character, e.g. + instead of *"));
        }
        let program = Program::compile(&parsed, pattern)?;
        Ok(TokenPattern { program, groups: parsed.groups, scratch: Scratch::default() })
    }

    /// Appends the byte spans of `text`'s tokens (`findall`'s strings).
    pub fn spans(&mut self, text: &str, out: &mut Vec<(usize, usize)>) {
        let mut start = 0;
        while start <= text.len() {
            // Skip what cannot start a match (most separators, for most patterns).
            if let Some(c) = text[start..].chars().next().filter(|&c| !self.program.may_start(c)) {
                start += c.len_utf8();
                continue;
            }
            self.scratch.slots.clear();
            self.scratch.slots.resize(self.program.n_slots, UNSET);
            if let Some(end) = self.program.run(text, start, &mut self.scratch) {
                let s = &self.scratch.slots;
                out.push(match self.groups {
                    0 => (start, end),
                    _ if s[2] == UNSET || s[3] == UNSET => (end, end),
                    _ => (s[2], s[3]),
                });
                // Every match is non-empty, so the search moves on.
                start = end;
                continue;
            }
            match text[start..].chars().next() {
                Some(c) => start += c.len_utf8(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findall(pattern: &str, text: &str) -> Vec<String> {
        let mut p = TokenPattern::new(pattern).unwrap();
        let mut spans = Vec::new();
        p.spans(text, &mut spans);
        spans.iter().map(|&(a, b)| text[a..b].to_string()).collect()
    }

    // Expected values are what Python 3.11's re.findall returns.
    #[test]
    fn findall_as_python() {
        let corpus = "This is the 1st document in my corpus. This document is the 2nd sample.";
        assert_eq!(findall(r"[0-9]{1,3}(?:st|nd|rd|th)\s\b(\w{2,})\b", corpus), ["document", "sample"]);
        assert_eq!(findall(r"(?u)\b\w+\b", "a bc, d_e 3.14"), ["a", "bc", "d_e", "3", "14"]);
        assert_eq!(findall(r"\w+(?:'\w+)?", "don't rock'n'roll"), ["don't", "rock'n", "roll"]);
        assert_eq!(findall(r"a|ab", "abab"), ["a", "a"]);
        assert_eq!(findall(r"a+?", "aaa"), ["a", "a", "a"]);
        assert_eq!(findall(r"(a)|b", "ab"), ["a", ""]);
        assert_eq!(findall(r"(?<=#)\w+|@\w+", "#tag @user x#y"), ["tag", "@user", "y"]);
        assert_eq!(findall(r"\w+(?!\d)", "abc12 xy"), ["abc12", "xy"]);
        assert_eq!(findall(r"[a-z]+(?!\d)", "abc12 xy"), ["ab", "xy"]);
        assert_eq!(findall(r"\w+$", "one two\n"), ["two"]);
        assert_eq!(findall(r"\w+\Z", "one two\n"), Vec::<String>::new());
        assert_eq!(findall(r"(?a)\w+", "café x²"), ["caf", "x"]);
        assert_eq!(findall(r"\w+", "café x² ½"), ["café", "x²", "½"]);
        assert_eq!(findall(r"(a*)+b", "aab b"), ["", ""]);
        assert_eq!(findall(r"[^\W\d]+", "ab12cd"), ["ab", "cd"]);
        assert_eq!(findall(r"\S+", "a\u{1c}b c\u{a0}d"), ["a", "b", "c", "d"]);
        // One-character repeats over multi-byte characters: giving back, taking more.
        assert_eq!(findall(r"\w+é", "caféé éé"), ["caféé", "éé"]);
        assert_eq!(findall(r".*?é", "aéb é"), ["aé", "b é"]);
        assert_eq!(findall(r"\w{2,3}", "ééééé"), ["ééé", "éé"]);
        assert_eq!(findall(r"[^ ]{2,}?x", "ééx ééé"), ["ééx"]);
        assert_eq!(findall(r"\w+?\d", "日本2語3"), ["日本2", "語3"]);
    }

    #[test]
    fn refusals() {
        let err = |p: &str| TokenPattern::new(p).err().expect(p);
        assert!(err(r"\w*").contains("empty string"));
        assert!(err(r"(\w)(\w)").contains("more than 1 capturing group"));
        assert!(err(r"(?<=a+)b").contains("variable width"));
        assert!(matches!(Tokenizer::new(Some(r"\b\w+\b")), Ok(Tokenizer::Runs { min: 1 })));
        assert!(matches!(Tokenizer::new(Some(DEFAULT)), Ok(Tokenizer::Runs { min: 2 })));
    }
}
