//! Text processing that mirrors scikit-learn's `CountVectorizer` analyzers:
//! decoding, Python's notion of a word character, tokenization, stop words,
//! n-grams and the hashing trick. Everything here is pure and single-rank.

pub mod charclass;
pub mod chars;
pub mod decode;
pub mod encoding;
pub mod murmur;
pub mod pattern;
pub mod stopwords;
pub mod tokenizer;
pub mod word_runs;

pub use decode::{decode, DecodeError};
pub use encoding::{Decoder, Encoding};
pub use tokenizer::{Analyzer, AnalyzerKind, AnalyzerOptions, Grams, Joiner, StripAccents};
