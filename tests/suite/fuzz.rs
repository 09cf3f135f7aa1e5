//! Property tests over arbitrary input (issue 12): the decoder, the
//! tokenizer, the split of the fast layout's offsets and the corpus reader on
//! damaged HDF5 files never panic and never hang; bad input is an error that
//! names the file.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use textsaga::corpus::partition::{by_bytes, by_count};
use textsaga::corpus::{read_slice, CorpusWriter, LabelNeed, ReadOptions};
use textsaga::text::{decode, Analyzer, AnalyzerKind, AnalyzerOptions, DecodeError, StripAccents};
use textsaga::tfidf::counts::LocalVocabulary;

/// A failing case is saved beside this file (`fuzz.regressions`) and tried
/// first on every later run, so that a failure found once reproduces.
fn config(cases: u32) -> ProptestConfig {
    let persistence = proptest::test_runner::FileFailurePersistence::WithSource("regressions");
    ProptestConfig { cases, failure_persistence: Some(Box::new(persistence)), ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(2000))]

    /// Strict decoding fails exactly on invalid UTF-8; replace and ignore always give text.
    #[test]
    fn decoding_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let valid = std::str::from_utf8(&bytes).is_ok();
        let strict = decode(&bytes, DecodeError::Strict);
        prop_assert_eq!(strict.is_ok(), valid);
        if let Err(e) = strict {
            prop_assert!(e.at < bytes.len());
        }
        let replaced = decode(&bytes, DecodeError::Replace).unwrap();
        let ignored = decode(&bytes, DecodeError::Ignore).unwrap();
        prop_assert!(ignored.len() <= bytes.len());
        if valid {
            prop_assert_eq!(&*replaced, std::str::from_utf8(&bytes).unwrap());
        }
    }

    /// Any printable text, any analyzer: terms are non-empty and hold no
    /// NUL (HDF5 strings could not store them in the vocabulary).
    #[test]
    fn tokenizing_arbitrary_text(text in "\\PC{0,120}", lower in any::<bool>(), accents in 0u8..3, n in 1usize..4, stop in any::<bool>(), kind in 0usize..3) {
        let strip_accents = [None, Some(StripAccents::Ascii), Some(StripAccents::Unicode)][accents as usize];
        let kind = [AnalyzerKind::Word, AnalyzerKind::Char, AnalyzerKind::CharWb][kind];
        let opts = AnalyzerOptions { kind, lowercase: lower, strip_accents, ngram_range: (1, n), stop_words_english: stop, stop_words: None, token_pattern: None };
        let mut a = Analyzer::new(opts);
        let mut terms = Vec::new();
        a.for_each_term(&text, |t| terms.push(t.to_string()));
        prop_assert!(terms.iter().all(|t| !t.is_empty() && !t.contains('\0')), "{:?}", terms);
    }

    /// Any offsets array: the split by bytes never panics; for a valid
    /// (non-decreasing, 0 to total) array the ranks' ranges tile 0..n.
    #[test]
    fn splitting_arbitrary_offsets(mut offsets in proptest::collection::vec(0u64..1000, 1..60), ranks in 1usize..9, sort in any::<bool>()) {
        if sort {
            offsets.sort_unstable();
            offsets[0] = 0;
        }
        let n = offsets.len() - 1;
        let total = *offsets.last().unwrap();
        let ranges: Vec<_> = (0..ranks).map(|r| by_bytes(n, total, ranks, r, |i| Ok(offsets[i]))).collect();
        if sort {
            let ranges: Vec<(usize, usize)> = ranges.into_iter().map(|r| r.unwrap()).collect();
            prop_assert_eq!(ranges[0].0, 0);
            prop_assert_eq!(ranges[ranks - 1].1, n);
            prop_assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 <= w[0].1));
        }
        let counted: Vec<_> = (0..ranks).map(|r| by_count(n, ranks, r)).collect();
        prop_assert_eq!(counted.last().unwrap().1, n);
    }
}

proptest! {
    // Each case builds an analyzer (and compiles a pattern): fewer cases.
    #![proptest_config(config(400))]

    /// The counting path (units as ids, n-grams as trie nodes) gives the
    /// same terms as the string path (the analyzer's terms), for every
    /// analyzer, on text full of whitespace of every kind.
    #[test]
    fn ids_and_strings_count_the_same_terms(text in "[ab \t\n\u{1c}\u{a0}\u{3000}é]{0,40}|\\PC{0,60}", lo in 1usize..5, span in 0usize..4, kind in 0usize..5) {
        // Kinds 3 and 4: word tokens of custom patterns (tokens with spaces inside, one-letter ones).
        let pattern = [None, None, None, Some(r"\w+(?: \w+)?"), Some(r"\b\w+\b")][kind].map(String::from);
        let kind = [AnalyzerKind::Word, AnalyzerKind::Char, AnalyzerKind::CharWb, AnalyzerKind::Word, AnalyzerKind::Word][kind];
        let opts = AnalyzerOptions { kind, ngram_range: (lo, lo + span), token_pattern: pattern, ..Default::default() };
        let mut a = Analyzer::new(opts);
        let mut want: Vec<String> = Vec::new();
        a.for_each_term(&text, |t| want.push(t.to_string()));
        let mut v = LocalVocabulary::new(a.grams().joiner);
        v.add_document(&mut a, &text);
        let mut got: Vec<String> = Vec::new();
        for (k, &col) in v.rows.cols.iter().enumerate() {
            (0..v.rows.values[k] as usize).for_each(|_| got.push(v.terms.term(col)));
        }
        want.sort();
        got.sort();
        prop_assert_eq!(got, want);
    }
}

/// A valid fast-layout corpus of a few documents, written once.
fn valid_corpus() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let p = std::env::temp_dir().join(format!("textsaga-fuzz-valid-{}.h5", std::process::id()));
        let mut w = CorpusWriter::create(&p).unwrap();
        for i in 0..50 {
            w.push(format!("document {i} with some words, café {}", "x ".repeat(i % 7)).as_bytes(), Some(format!("c{}", i % 3))).unwrap();
        }
        w.finish(None).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        bytes
    })
}

fn read_all_ranks(path: &Path) -> Vec<Result<usize, String>> {
    let opts = ReadOptions { path: path.to_path_buf(), text_dataset: "text".into(), label_dataset: "label".into() };
    (0..3).map(|r| read_slice(&opts, r, 3, LabelNeed::Optional).map(|s| s.len()).map_err(|e| format!("{e:#}"))).collect()
}

fn damaged(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("textsaga-fuzz-{}-{name}.h5", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

proptest! {
    #![proptest_config(config(40))]

    /// A corpus file with bytes overwritten, or cut short, vectorized by the
    /// real binary (the HDF5 C library may crash on a damaged file, so each
    /// case is its own process): it succeeds, or it exits 1 with one line
    /// naming the file; never a signal, a panic or a hang.
    #[test]
    fn reading_damaged_corpora(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in proptest::option::of(any::<prop::sample::Index>())) {
        let mut bytes = valid_corpus().to_vec();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let path = damaged("edit", &bytes);
        let out = path.with_extension("out.h5");
        let run = crate::common::textsaga_plain(&["vectorize", "--data", path.to_str().unwrap(), "-o", out.to_str().unwrap(), "--quiet"]);
        let _ = std::fs::remove_file(&out);
        std::fs::remove_file(&path).unwrap();
        prop_assert!(run.code == 0 || run.code == 1, "exit {} (a signal is -1)\n{}", run.code, run.stderr);
        prop_assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        if run.code == 1 {
            let lines = run.error_lines();
            prop_assert_eq!(lines.len(), 1, "{}", run.stderr);
            prop_assert!(lines[0].contains(&*path.to_string_lossy()), "the error names the file: {}", lines[0]);
        }
    }
}

#[test]
fn the_valid_corpus_reads_whole() {
    let path = damaged("valid", valid_corpus());
    let lens: Vec<usize> = read_all_ranks(&path).into_iter().map(|r| r.unwrap()).collect();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(lens.iter().sum::<usize>(), 50);
}
