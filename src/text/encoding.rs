//! sklearn's `encoding`: the codec that turns a document's bytes into text,
//! as Python's `bytes.decode(encoding, decode_error)` does.
//!
//! UTF-8 and the three single-byte codecs corpora come in (Latin-1, Windows
//! cp1252, ASCII), byte for byte as Python's codecs: cp1252 leaves five
//! bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) where the WHATWG table
//! browsers use maps them to C1 controls; ASCII rejects every byte from
//! 0x80. An undecodable byte is an error (`strict`), one U+FFFD (`replace`)
//! or nothing (`ignore`). Names are matched as Python's codec registry
//! matches them (case, punctuation and its aliases).

use super::decode::{decode as decode_utf8, DecodeError, Undecodable};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A codec of Python's that textsaga decodes exactly.
/// Stored by the name Python's `codecs.lookup` takes, so an exported
/// model's `TfidfVectorizer(encoding=...)` takes it as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "latin-1")]
    Latin1,
    #[serde(rename = "cp1252")]
    Cp1252,
    #[serde(rename = "ascii")]
    Ascii,
}

/// Python's codec names (`encodings.aliases`, normalised) of each codec.
const NAMES: [(Encoding, &[&str]); 4] = [
    (Encoding::Utf8, &["utf_8", "cp65001", "u8", "utf", "utf8", "utf8_ucs2", "utf8_ucs4"]),
    (Encoding::Latin1, &["latin_1", "8859", "cp819", "csisolatin1", "ibm819", "iso8859", "iso8859_1", "iso_8859_1", "iso_8859_1_1987", "iso_ir_100", "l1", "latin", "latin1"]),
    (Encoding::Cp1252, &["cp1252", "1252", "windows_1252"]),
    (Encoding::Ascii, &["ascii", "646", "ansi_x3.4_1968", "ansi_x3.4_1986", "ansi_x3_4_1968", "cp367", "csascii", "ibm367", "iso646_us", "iso_646.irv_1991", "iso_ir_6", "us", "us_ascii"]),
];

/// cp1252's bytes 0x80 to 0x9F (`None`: undefined in Python's codec).
const CP1252_HIGH: [Option<char>; 32] = [
    Some('\u{20ac}'), None, Some('\u{201a}'), Some('\u{192}'), Some('\u{201e}'), Some('\u{2026}'), Some('\u{2020}'), Some('\u{2021}'),
    Some('\u{2c6}'), Some('\u{2030}'), Some('\u{160}'), Some('\u{2039}'), Some('\u{152}'), None, Some('\u{17d}'), None,
    None, Some('\u{2018}'), Some('\u{2019}'), Some('\u{201c}'), Some('\u{201d}'), Some('\u{2022}'), Some('\u{2013}'), Some('\u{2014}'),
    Some('\u{2dc}'), Some('\u{2122}'), Some('\u{161}'), Some('\u{203a}'), Some('\u{153}'), None, Some('\u{17e}'), Some('\u{178}'),
];

/// Python's `encodings.normalize_encoding`, lowercased: runs of anything
/// but ASCII letters, digits and dots become one `_` between words.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut punct = false;
    for c in name.chars() {
        if c.is_alphanumeric() || c == '.' {
            if punct && !out.is_empty() {
                out.push('_');
            }
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            }
            punct = false;
        } else {
            punct = true;
        }
    }
    out
}

impl FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let n = normalize(s);
        let dotless = n.replace('.', "_");
        NAMES
            .iter()
            .find(|(_, names)| names.contains(&n.as_str()) || names.contains(&dotless.as_str()))
            .map(|(e, _)| *e)
            .ok_or_else(|| format!("'{s}' is not an encoding textsaga decodes; use utf-8, latin-1, cp1252 or ascii (or convert the corpus to UTF-8)"))
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Encoding {
    /// The codec's common name (one Python's registry takes).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Latin1 => "latin-1",
            Encoding::Cp1252 => "cp1252",
            Encoding::Ascii => "ascii",
        }
    }

    /// The character of byte `b`, `None` where the codec has none.
    #[inline]
    fn char_of(self, b: u8) -> Option<char> {
        match (self, b) {
            (_, 0..=0x7f) => Some(b as char),
            (Encoding::Ascii, _) => None,
            (Encoding::Cp1252, 0x80..=0x9f) => CP1252_HIGH[b as usize - 0x80],
            _ => Some(b as char),
        }
    }

    /// `bytes.decode(self, errors)`, borrowing when the bytes are ASCII (or
    /// valid UTF-8 for UTF-8).
    pub fn decode(self, bytes: &[u8], errors: DecodeError) -> Result<Cow<'_, str>, Undecodable> {
        if self == Encoding::Utf8 {
            return decode_utf8(bytes, errors);
        }
        if bytes.is_ascii() {
            return Ok(Cow::Borrowed(std::str::from_utf8(bytes).expect("ASCII is UTF-8")));
        }
        let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
        for (at, &b) in bytes.iter().enumerate() {
            match (self.char_of(b), errors) {
                (Some(c), _) => out.push(c),
                (None, DecodeError::Strict) => return Err(Undecodable { at }),
                (None, DecodeError::Replace) => out.push('\u{fffd}'),
                (None, DecodeError::Ignore) => {}
            }
        }
        Ok(Cow::Owned(out))
    }
}

/// How a corpus's bytes become text: the codec and what to do with bytes
/// it cannot decode (sklearn's `encoding` and `decode_error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoder {
    pub encoding: Encoding,
    pub errors: DecodeError,
}

impl Decoder {
    pub fn new(encoding: Encoding, errors: DecodeError) -> Self {
        Decoder { encoding, errors }
    }

    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, str>, Undecodable> {
        self.encoding.decode(bytes, self.errors)
    }

    /// What a strict failure at byte `at` of `what` says.
    pub fn failure(&self, what: &str, at: usize) -> String {
        match self.encoding {
            Encoding::Utf8 => format!("{what}: not valid UTF-8 (byte {at}); use --decode-error replace or ignore, or name its --encoding"),
            e => format!("{what}: byte {at} is not {e}; use --decode-error replace or ignore, or another --encoding"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_pythons_registry() {
        for (name, e) in [("UTF-8", Encoding::Utf8), ("utf8", Encoding::Utf8), ("Latin-1", Encoding::Latin1), ("ISO-8859-1", Encoding::Latin1), ("iso_8859_1", Encoding::Latin1), ("Windows-1252", Encoding::Cp1252), ("CP1252", Encoding::Cp1252), ("US-ASCII", Encoding::Ascii), ("ANSI_X3.4-1968", Encoding::Ascii), (" latin 1 ", Encoding::Latin1)] {
            assert_eq!(name.parse::<Encoding>(), Ok(e), "{name}");
        }
        for bad in ["utf-16", "koi8-r", "", "latin-2"] {
            assert!(bad.parse::<Encoding>().is_err(), "{bad}");
        }
    }

    #[test]
    fn single_byte_codecs_and_policies() {
        let b = b"caf\xe9 \x80\x81\x9d";
        assert_eq!(Encoding::Latin1.decode(b, DecodeError::Strict).unwrap(), "café \u{80}\u{81}\u{9d}");
        assert_eq!(Encoding::Cp1252.decode(b, DecodeError::Strict), Err(Undecodable { at: 6 }));
        assert_eq!(Encoding::Cp1252.decode(b, DecodeError::Replace).unwrap(), "café €\u{fffd}\u{fffd}");
        assert_eq!(Encoding::Cp1252.decode(b, DecodeError::Ignore).unwrap(), "café €");
        assert_eq!(Encoding::Ascii.decode(b, DecodeError::Ignore).unwrap(), "caf ");
        assert!(matches!(Encoding::Cp1252.decode(b"plain", DecodeError::Strict).unwrap(), Cow::Borrowed(_)));
    }
}
