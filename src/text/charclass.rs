//! Python's `\w` for `str` patterns, which is what scikit-learn's default
//! `token_pattern = r"(?u)\b\w\w+\b"` matches.
//!
//! CPython's `_sre` defines a word character as `str.isalnum()` or `_`, and
//! `isalnum` is `isalpha` (general category L*) or `isdecimal`/`isdigit`/
//! `isnumeric` (a Unicode numeric value: in practice categories Nd, Nl, No and
//! some ideographs that are already L*). Rust's `regex` `\w` is a different set:
//! it includes combining marks (Mn, Mc, Me) and connector punctuation (Pc) and
//! excludes No (superscripts, vulgar fractions). Using it would split "café"
//! written with a combining acute differently from scikit-learn, so we classify
//! characters ourselves.

use unicode_general_category::{get_general_category, GeneralCategory as G};

/// Byte lookup for ASCII: letters, digits and `_` (false for every byte >= 128).
pub const ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_';
        c += 1;
    }
    t
};

/// True when Python's `re` would match `c` with `\w` (Unicode mode).
#[inline]
pub fn is_word_char(c: char) -> bool {
    let u = c as u32;
    if u < 128 {
        return ASCII_WORD[u as usize];
    }
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
    )
}

#[cfg(test)]
mod tests {
    use super::is_word_char;

    #[test]
    fn ascii() {
        assert!(is_word_char('a') && is_word_char('Z') && is_word_char('7') && is_word_char('_'));
        assert!(!is_word_char(' ') && !is_word_char('\'') && !is_word_char('-') && !is_word_char('.'));
    }

    #[test]
    fn differs_from_regex_word_class() {
        // Combining acute accent (Mn): a word character for Rust's regex, not for Python.
        assert!(!is_word_char('\u{301}'));
        // Superscript two and one half (No): word characters for Python, not for Rust's regex.
        assert!(is_word_char('²') && is_word_char('½'));
        // Undertie (Pc): not a word character for Python (only '_' is).
        assert!(!is_word_char('‿'));
        // Greek, CJK, Roman numeral (Nl), Arabic-Indic digit (Nd).
        assert!(is_word_char('λ') && is_word_char('中') && is_word_char('Ⅻ') && is_word_char('٣'));
    }
}
