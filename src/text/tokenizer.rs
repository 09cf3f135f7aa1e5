//! scikit-learn's analyzers: `preprocess` (lowercase, then strip accents),
//! then for words tokenize with `(?u)\b\w\w+\b`, drop stop words and build
//! word n-grams; for characters see [`super::chars`].
//!
//! The regex `\b\w\w+\b` matches exactly the maximal runs of two or more word
//! characters (a `\b` cannot fall inside a run), so no regex engine is needed:
//! a scan over characters with [`is_word_char`] gives the same tokens, and an
//! ASCII fast path keeps the common case at memory speed.

use super::charclass::is_word_char;
use super::chars;
use super::pattern::Tokenizer;
use super::stopwords::{self, StopSet};
use std::borrow::Cow;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

/// sklearn's `strip_accents`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StripAccents {
    /// NFKD, then drop every non-ASCII character (`strip_accents_ascii`).
    Ascii,
    /// NFKD, then drop combining characters (`strip_accents_unicode`).
    Unicode,
}

/// sklearn's `analyzer`: what the n-grams are made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalyzerKind {
    /// Word n-grams of the tokens.
    #[default]
    Word,
    /// Character n-grams of the whole text.
    Char,
    /// Character n-grams within words padded with a space on each side.
    #[value(name = "char_wb")]
    CharWb,
}

impl AnalyzerKind {
    /// sklearn's name of the analyzer.
    pub fn name(self) -> &'static str {
        match self {
            AnalyzerKind::Word => "word",
            AnalyzerKind::Char => "char",
            AnalyzerKind::CharWb => "char_wb",
        }
    }
}

/// How a document's units (words or characters) make n-grams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grams {
    /// `(min_n, max_n)`.
    pub range: (usize, usize),
    /// `char_wb`: the units come word by word, each word ended by a break;
    /// n-grams stay within a word, and a word shorter than `min_n` is one
    /// n-gram of its own.
    pub within_words: bool,
    /// How a term's string is made of its units.
    pub joiner: Joiner,
}

/// How a term's string is made of its units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joiner {
    /// Words, joined by one space.
    Space,
    /// Characters, joined by nothing.
    Nothing,
    /// Each unit is a whole term already: a custom token pattern's tokens
    /// may hold spaces (two word sequences could make one string), so its
    /// n-grams are made as strings, one unit each.
    Whole,
}

impl Joiner {
    /// What goes between two units.
    pub fn separator(self) -> &'static str {
        if self == Joiner::Space { " " } else { "" }
    }
}

/// The analyzer settings of `TfidfVectorizer` (all but callables).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnalyzerOptions {
    /// `analyzer` (models made before it existed read as `word`).
    #[serde(default)]
    pub kind: AnalyzerKind,
    pub lowercase: bool,
    pub strip_accents: Option<StripAccents>,
    pub ngram_range: (usize, usize),
    pub stop_words_english: bool,
    /// A stop-word list of one's own (`--stop-words FILE`), kept in the
    /// model so that `predict` drops the same words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_words: Option<Vec<String>>,
    /// `token_pattern` when not the default (checked when the options are
    /// made: see [`super::pattern`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_pattern: Option<String>,
}

impl Default for AnalyzerOptions {
    fn default() -> Self {
        AnalyzerOptions { kind: AnalyzerKind::Word, lowercase: true, strip_accents: None, ngram_range: (1, 1), stop_words_english: false, stop_words: None, token_pattern: None }
    }
}

/// A token's byte range `(start, end)` in its preprocessed text.
pub type Span = (usize, usize);

/// Turns documents into terms. Holds scratch buffers, so keep one per thread.
pub struct Analyzer {
    opts: AnalyzerOptions,
    tokenizer: Tokenizer,
    stop_words: Option<StopSet>,
    spans: Vec<Span>,
    /// The preprocessed text of the document being tokenized, when it is
    /// not the document itself.
    lowered: String,
    /// Whether the last tokenized text is `lowered` (else the document).
    in_lowered: bool,
    ngram: String,
    bounds: Vec<usize>,
}

impl Analyzer {
    pub fn new(opts: AnalyzerOptions) -> Self {
        let stop_words = match &opts.stop_words {
            Some(list) => Some(StopSet::Custom(list.iter().cloned().collect())),
            None => opts.stop_words_english.then(|| StopSet::English(stopwords::english())),
        };
        let tokenizer = Tokenizer::new(opts.token_pattern.as_deref()).unwrap_or_else(|e| panic!("token patterns are checked when the options are made: {e}"));
        Analyzer { opts, tokenizer, stop_words, spans: Vec::new(), lowered: String::new(), in_lowered: false, ngram: String::new(), bounds: Vec::new() }
    }

    /// A new analyzer of the same options with scratch of its own, for
    /// another thread (scratch cannot be shared; the options can).
    pub fn fork(&self) -> Analyzer {
        Analyzer::new(self.opts.clone())
    }

    /// How this analyzer's units make n-grams.
    pub fn grams(&self) -> Grams {
        let kind = self.opts.kind;
        if matches!(self.tokenizer, Tokenizer::Pattern(_)) {
            return Grams { range: (1, 1), within_words: false, joiner: Joiner::Whole };
        }
        let joiner = if kind == AnalyzerKind::Word { Joiner::Space } else { Joiner::Nothing };
        Grams { range: self.opts.ngram_range, within_words: kind == AnalyzerKind::CharWb, joiner }
    }

    /// `doc` preprocessed, and for characters with whitespace runs collapsed.
    fn prepare<'d>(&self, doc: &'d str) -> Cow<'d, str> {
        let text = preprocess(doc, self.opts.lowercase, self.opts.strip_accents);
        if self.opts.kind == AnalyzerKind::Word {
            return text;
        }
        match chars::collapse_whitespace(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(s) => Cow::Owned(s),
        }
    }

    /// Preprocesses `doc` and leaves the spans of its tokens, stop words
    /// removed, in `self.spans`, of the text [`Analyzer::tokenized`] gives.
    /// ASCII text under the default pattern is lowercased into a buffer
    /// kept from one document to the next (a fresh string a document was a
    /// malloc and a free each) and scanned for words in the same pass; other
    /// text is preprocessed as sklearn does, into that buffer when it is
    /// not the document itself.
    fn tokenize(&mut self, doc: &str) {
        self.spans.clear();
        if let (true, Tokenizer::Runs { min }) = (self.opts.lowercase, &self.tokenizer) {
            // SAFETY: the buffer is left holding ASCII bytes (lowered ones,
            // or zeros where nothing was written) or is cleared.
            let lower = unsafe { self.lowered.as_mut_vec() };
            if super::word_runs::lowered_ascii_word_runs(doc.as_bytes(), *min, lower, &mut self.spans) {
                self.in_lowered = true;
                return self.drop_stop_words(doc);
            }
            lower.clear();
            self.spans.clear();
        }
        // A word analyzer's preprocessing borrows only the document whole.
        self.in_lowered = match self.prepare(doc) {
            Cow::Borrowed(_) => false,
            Cow::Owned(t) => {
                self.lowered = t;
                true
            }
        };
        let text: &str = if self.in_lowered { &self.lowered } else { doc };
        match &mut self.tokenizer {
            Tokenizer::Runs { min } => token_spans(text, *min, &mut self.spans),
            Tokenizer::Pattern(p) => p.spans(text, &mut self.spans),
        }
        self.drop_stop_words(doc);
    }

    /// Removes the stop words from the spans of [`Analyzer::tokenize`].
    fn drop_stop_words(&mut self, doc: &str) {
        if let Some(stop) = &self.stop_words {
            let text: &str = if self.in_lowered { &self.lowered } else { doc };
            self.spans.retain(|&(a, b)| !stop.contains(&text[a..b]));
        }
    }

    /// The text the last [`Analyzer::tokenize`] of `doc` found its spans in.
    fn tokenized<'a>(&'a self, doc: &'a str) -> &'a str {
        if self.in_lowered { &self.lowered } else { doc }
    }

    /// The word tokens of `doc` (after preprocessing and stop words) as byte
    /// spans of its preprocessed text, for a caller that takes a document's
    /// tokens at once; `None` when the units are not word tokens (the
    /// character analyzers, a custom token pattern's whole terms): see
    /// [`Analyzer::for_each_unit`].
    pub fn word_spans<'a>(&'a mut self, doc: &'a str) -> Option<(&'a str, &'a [Span])> {
        if self.opts.kind != AnalyzerKind::Word || self.grams().joiner == Joiner::Whole {
            return None;
        }
        self.tokenize(doc);
        Some((self.tokenized(doc), &self.spans))
    }

    /// Calls `f` with each unit of `doc` the n-grams are made of, in order:
    /// `Some(token)` for words (after preprocessing and stop words),
    /// `Some(character)` for characters; with `char_wb` each word comes
    /// padded (`" "`, its characters, `" "`) and is followed by `None`.
    pub fn for_each_unit(&mut self, doc: &str, mut f: impl FnMut(Option<&str>)) {
        if let Some((text, spans)) = self.word_spans(doc) {
            return spans.iter().for_each(|&(a, b)| f(Some(&text[a..b])));
        }
        if self.grams().joiner == Joiner::Whole {
            return self.for_each_term(doc, |t| f(Some(t)));
        }
        let text = self.prepare(doc);
        if self.opts.kind == AnalyzerKind::Char {
            text.char_indices().for_each(|(i, c)| f(Some(&text[i..i + c.len_utf8()])));
            return;
        }
        for w in chars::words(&text) {
            f(Some(" "));
            w.char_indices().for_each(|(i, c)| f(Some(&w[i..i + c.len_utf8()])));
            f(Some(" "));
            f(None);
        }
    }

    /// Calls `f` once per term occurrence of `doc`, in sklearn's order
    /// (all unigrams, then bigrams, ...). Order does not affect counts.
    pub fn for_each_term(&mut self, doc: &str, mut f: impl FnMut(&str)) {
        match self.opts.kind {
            AnalyzerKind::Word => {}
            AnalyzerKind::Char => {
                let text = self.prepare(doc);
                return chars::char_ngrams(&text, self.opts.ngram_range, &mut self.bounds, f);
            }
            AnalyzerKind::CharWb => {
                let text = self.prepare(doc);
                return chars::char_wb_ngrams(&text, self.opts.ngram_range, &mut self.ngram, &mut self.bounds, f);
            }
        }
        self.tokenize(doc);
        let text: &str = if self.in_lowered { &self.lowered } else { doc };
        let (min_n, max_n) = self.opts.ngram_range;
        let spans = &self.spans;
        if min_n <= 1 {
            for &(a, b) in spans {
                f(&text[a..b]);
            }
        }
        for n in min_n.max(2)..=max_n.min(spans.len()) {
            for window in spans.windows(n) {
                self.ngram.clear();
                for (i, &(a, b)) in window.iter().enumerate() {
                    if i > 0 {
                        self.ngram.push(' ');
                    }
                    self.ngram.push_str(&text[a..b]);
                }
                f(&self.ngram);
            }
        }
    }

    /// Collects the terms of `doc` (for tests and small inputs).
    pub fn terms(&mut self, doc: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_term(doc, |t| out.push(t.to_owned()));
        out
    }
}

/// sklearn's `_preprocess`: `str.lower()` first, then the accent function.
pub fn preprocess(doc: &str, lowercase: bool, strip: Option<StripAccents>) -> Cow<'_, str> {
    let mut text: Cow<'_, str> = Cow::Borrowed(doc);
    if lowercase {
        if doc.is_ascii() {
            if doc.bytes().any(|b| b.is_ascii_uppercase()) {
                text = Cow::Owned(doc.to_ascii_lowercase());
            }
        } else {
            // Full Unicode lowercasing with the final-sigma rule, as Python's str.lower().
            text = Cow::Owned(doc.to_lowercase());
        }
    }
    match strip {
        None => text,
        Some(_) if text.is_ascii() => text,
        Some(StripAccents::Ascii) => Cow::Owned(text.nfkd().filter(char::is_ascii).collect()),
        Some(StripAccents::Unicode) => {
            Cow::Owned(text.nfkd().filter(|&c| canonical_combining_class(c) == 0).collect())
        }
    }
}

/// Byte spans of the maximal runs of at least `min` word characters
/// (`\b\w{min,}\b`: a `\b` cannot fall inside a run).
pub fn token_spans(text: &str, min: usize, spans: &mut Vec<(usize, usize)>) {
    if text.is_ascii() {
        return super::word_runs::ascii_word_runs(text.as_bytes(), min, spans);
    }
    let mut start: Option<(usize, usize)> = None; // (byte offset, chars so far)
    for (i, c) in text.char_indices() {
        if is_word_char(c) {
            start = match start {
                None => Some((i, 1)),
                Some((s, n)) => Some((s, n + 1)),
            };
        } else if let Some((s, n)) = start.take() {
            if n >= min {
                spans.push((s, i));
            }
        }
    }
    if let Some((s, n)) = start {
        if n >= min {
            spans.push((s, text.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(doc: &str, opts: AnalyzerOptions) -> Vec<String> {
        Analyzer::new(opts).terms(doc)
    }

    #[test]
    fn default_pattern() {
        let t = terms("Hello, world! a I'm don't x_y 42 3.14 e-mail", AnalyzerOptions::default());
        assert_eq!(t, ["hello", "world", "don", "x_y", "42", "14", "mail"]);
    }

    #[test]
    fn unicode_words() {
        // Combining acute splits "cafe\u{301}s" into "cafe" and nothing (the lone "s" is too short).
        let t = terms("Cafe\u{301}s ΟΔΟΣ x² ½½ 中文", AnalyzerOptions::default());
        assert_eq!(t, ["cafe", "οδος", "x²", "½½", "中文"]);
    }

    #[test]
    fn accents() {
        let mut o = AnalyzerOptions { strip_accents: Some(StripAccents::Unicode), ..Default::default() };
        assert_eq!(terms("Cafe\u{301}s naïve ﬁne", o.clone()), ["cafes", "naive", "fine"]);
        o.strip_accents = Some(StripAccents::Ascii);
        assert_eq!(terms("Ελλάδα naïve 中文 x²", o), ["naive", "x2"]);
    }

    #[test]
    fn ngrams_after_stop_words() {
        let o = AnalyzerOptions { ngram_range: (1, 3), stop_words_english: true, ..Default::default() };
        assert_eq!(
            terms("The cat sat on the mat", o),
            ["cat", "sat", "mat", "cat sat", "sat mat", "cat sat mat"]
        );
        let o = AnalyzerOptions { ngram_range: (2, 2), lowercase: false, ..Default::default() };
        assert_eq!(terms("A Big Cat", o), ["Big Cat"]);
        let o = AnalyzerOptions { ngram_range: (3, 4), ..Default::default() };
        assert!(terms("just two", o).is_empty());
    }
}
