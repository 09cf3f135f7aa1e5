//! `--weight-field NAME`: each record's sample weight, read from its field
//! (a JSON number, a CSV/TSV cell, a Parquet number) and checked as
//! scikit-learn's `fit(sample_weight=...)` checks it (finite, not
//! negative) when the corpus is made, where the message can name the file
//! and line, rather than when `fit --sample-weight weight` reads it.
//! The corpus keeps it as the float64 dataset `weight`.

use crate::error::Result;
use anyhow::{anyhow, bail};
use parquet::record::Field;

/// A weight of a JSON record's field `f` (`at`: where the record is).
pub fn from_json(v: Option<&serde_json::Value>, f: &str, at: &dyn Fn() -> String) -> Result<f64> {
    match v {
        // serde_json's `float_roundtrip`: the nearest f64 to the text, as Python's json.
        Some(serde_json::Value::Number(n)) => checked(n.as_f64().expect("a JSON number is an f64 without arbitrary_precision"), f, at),
        Some(other) => bail!("{}: '{f}' is not a number ({other}); a weight is a finite number of 0 or more", at()),
        None => bail!("{}: no '{f}' field (choose it with --weight-field)", at()),
    }
}

/// A weight of a CSV/TSV cell of column `f` (`2`, `0.5`, `1e-3`; spaces around it ignored).
pub fn from_text(s: &str, f: &str, at: &dyn Fn() -> String) -> Result<f64> {
    let s = s.trim();
    if s.is_empty() {
        bail!("{}: no '{f}' value", at());
    }
    let v = s.parse::<f64>().map_err(|_| anyhow!("{}: '{f}' is not a number ({s:?}); a weight is a finite number of 0 or more", at()))?;
    checked(v, f, at)
}

/// A weight of a Parquet value of column `f`: any float or integer type.
pub fn from_parquet(field: &Field, f: &str, at: &dyn Fn() -> String) -> Result<f64> {
    let v = match field {
        Field::Null => bail!("{}: no '{f}' value", at()),
        Field::Float(v) => *v as f64,
        Field::Double(v) => *v,
        Field::Byte(v) => *v as f64,
        Field::Short(v) => *v as f64,
        Field::Int(v) => *v as f64,
        Field::Long(v) => *v as f64,
        Field::UByte(v) => *v as f64,
        Field::UShort(v) => *v as f64,
        Field::UInt(v) => *v as f64,
        Field::ULong(v) => *v as f64,
        other => bail!("{}: '{f}' is not a number ({other}); a weight is a finite number of 0 or more", at()),
    };
    checked(v, f, at)
}

/// scikit-learn's `_check_sample_weight(ensure_non_negative=True)` and its
/// finiteness check, as one line naming the record.
fn checked(v: f64, f: &str, at: &dyn Fn() -> String) -> Result<f64> {
    if !(v.is_finite() && v >= 0.0) {
        bail!("{}: '{f}' is {v}; a weight is a finite number of 0 or more", at());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_finite_numbers_of_zero_or_more() {
        let at = || "'a.csv' line 3".to_string();
        assert_eq!(from_text(" 2.5 ", "w", &at).unwrap(), 2.5);
        assert_eq!(from_text("1e-3", "w", &at).unwrap(), 1e-3);
        assert_eq!(from_text("0", "w", &at).unwrap(), 0.0);
        for (bad, needle) in [("-1", "'w' is -1;"), ("inf", "'w' is inf;"), ("nan", "'w' is NaN;"), ("heavy", "not a number (\"heavy\")"), ("", "no 'w' value")] {
            let e = from_text(bad, "w", &at).unwrap_err().to_string();
            assert!(e.starts_with("'a.csv' line 3: ") && e.contains(needle), "{bad:?}: {e}");
        }
        let json: serde_json::Value = serde_json::from_str(r#"{"w": 0.1, "s": "1", "n": null}"#).unwrap();
        assert_eq!(from_json(json.get("w"), "w", &at).unwrap(), 0.1);
        assert!(from_json(json.get("s"), "s", &at).unwrap_err().to_string().contains("'s' is not a number (\"1\")"));
        assert!(from_json(json.get("n"), "n", &at).is_err());
        assert!(from_json(json.get("x"), "x", &at).unwrap_err().to_string().contains("no 'x' field (choose it with --weight-field)"));
        assert_eq!(from_parquet(&Field::Float(0.5), "w", &at).unwrap(), 0.5);
        assert_eq!(from_parquet(&Field::Int(3), "w", &at).unwrap(), 3.0);
        assert!(from_parquet(&Field::Double(-0.5), "w", &at).is_err());
        assert!(from_parquet(&Field::Null, "w", &at).unwrap_err().to_string().contains("no 'w' value"));
    }

    #[test]
    fn json_numbers_read_as_python_reads_them() {
        // Texts whose nearest double serde_json without `float_roundtrip` misses
        // (found by comparing it with Rust's own, correctly rounded, parse).
        for text in ["0.90768913134073e-19", "0.46005955498067979e-9", "0.88340891191995778e-6", "0.38162386273626841e15", "0.3"] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(from_json(Some(&v), "w", &String::new).unwrap(), text.parse::<f64>().unwrap(), "{text}");
        }
    }
}
