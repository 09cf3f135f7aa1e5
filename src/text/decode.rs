//! Bytes to text with scikit-learn's `decode_error` policies.
//!
//! `strict` fails on the first invalid sequence; `replace` puts one U+FFFD per
//! maximal invalid subpart (what both Python and `String::from_utf8_lossy` do);
//! `ignore` drops invalid bytes, so that "ab\xffcd" becomes one token "abcd"
//! exactly as Python's `bytes.decode("utf-8", "ignore")` makes it.

use std::borrow::Cow;

/// How to treat bytes that are not valid UTF-8 (sklearn's `decode_error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecodeError {
    /// Fail, naming the file and the document.
    #[default]
    Strict,
    /// Replace each invalid sequence with U+FFFD.
    Replace,
    /// Drop invalid bytes.
    Ignore,
}

/// Where strict decoding failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    /// Byte offset of the first invalid byte within the input.
    pub at: usize,
}

/// Decodes `bytes` as UTF-8 under `policy`, borrowing when the input is valid.
pub fn decode(bytes: &[u8], policy: DecodeError) -> Result<Cow<'_, str>, Undecodable> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(e) => match policy {
            DecodeError::Strict => Err(Undecodable { at: e.valid_up_to() }),
            DecodeError::Replace => Ok(String::from_utf8_lossy(bytes)),
            DecodeError::Ignore => Ok(Cow::Owned(drop_invalid(bytes))),
        },
    }
}

fn drop_invalid(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let good = e.valid_up_to();
                // The prefix up to `valid_up_to` is valid UTF-8 by definition.
                out.push_str(std::str::from_utf8(&bytes[..good]).expect("valid prefix"));
                let skip = e.error_len().unwrap_or(bytes.len() - good);
                bytes = &bytes[good + skip..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let b = b"ab\xffcd\xe2\x82";
        assert_eq!(decode(b, DecodeError::Strict), Err(Undecodable { at: 2 }));
        assert_eq!(decode(b, DecodeError::Replace).unwrap(), "ab\u{fffd}cd\u{fffd}");
        assert_eq!(decode(b, DecodeError::Ignore).unwrap(), "abcd");
        assert!(matches!(decode("é".as_bytes(), DecodeError::Strict).unwrap(), Cow::Borrowed(_)));
    }
}
