//! Predictions as JSON Lines: one object a document,
//! `{"id": .., "label": .., "proba": {"<class>": p, ..}}` (`proba` with
//! `--proba`, its keys the model's classes in order; `decision_function`
//! and `log_proba` alike, a binary decision function a number), ids and labels of
//! their own type (integers as JSON numbers), probabilities in the shortest
//! text that reads back as the same float (ryu).

use super::Predictions;
use crate::corpus::Labels;
use std::io::Write;

/// This rank's lines.
pub fn write_rows(w: &mut dyn Write, p: &Predictions) -> std::io::Result<()> {
    let keys: Vec<String> = (0..p.classes.len()).map(|c| json_string(&p.classes.name(c))).collect();
    let mut float = ryu::Buffer::new();
    let mut line = Vec::with_capacity(256);
    for i in 0..p.len() {
        line.clear();
        line.extend_from_slice(b"{\"id\":");
        value(&mut line, &p.ids, i);
        line.extend_from_slice(b",\"label\":");
        value(&mut line, &p.labels, i);
        for column in &p.columns {
            line.extend_from_slice(format!(",\"{}\":", column.name).as_bytes());
            let row = p.row(column, i);
            if column.width == 1 {
                number(&mut line, &mut float, row[0]);
                continue;
            }
            line.push(b'{');
            for (c, (key, &v)) in keys.iter().zip(row).enumerate() {
                if c > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(key.as_bytes());
                line.push(b':');
                number(&mut line, &mut float, v);
            }
            line.push(b'}');
        }
        line.extend_from_slice(b"}\n");
        w.write_all(&line)?;
    }
    Ok(())
}

/// A float as JSON: as serde_json writes one JSON cannot hold (NaN,
/// infinities: a log probability of 0 is -inf), null.
fn number(line: &mut Vec<u8>, float: &mut ryu::Buffer, v: f64) {
    line.extend_from_slice(if v.is_finite() { float.format_finite(v) } else { "null" }.as_bytes());
}

/// Value `i` of an id or label column as JSON.
fn value(line: &mut Vec<u8>, values: &Labels, i: usize) {
    match values {
        Labels::Int(v) => line.extend_from_slice(v[i].to_string().as_bytes()),
        Labels::Str(v) => line.extend_from_slice(json_string(&v[i]).as_bytes()),
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::Classes;
    use crate::predictor::Column;

    #[test]
    fn lines_keep_the_types_and_the_floats() {
        let classes = Classes::Int(vec![-1, 3]);
        let p = Predictions { ids: Labels::Str(vec!["a\"b".into()]), labels: Labels::Int(vec![3]), columns: vec![Column { name: "proba", width: 2, values: vec![0.1 + 0.2, 7e-310] }], classes: &classes };
        let mut out = Vec::new();
        write_rows(&mut out, &p).unwrap();
        let text = String::from_utf8(out).unwrap();
        // serde_json's own float parsing is not always correctly rounded: read the numbers as Rust does.
        assert_eq!(text, "{\"id\":\"a\\\"b\",\"label\":3,\"proba\":{\"-1\":0.30000000000000004,\"3\":7e-310}}\n");
        assert_eq!("0.30000000000000004".parse::<f64>().unwrap(), 0.1 + 0.2);
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!((v["id"].as_str(), v["label"].as_i64()), (Some("a\"b"), Some(3)));
        // A binary decision function is one number; -inf (a log of 0) is null.
        let scores = vec![Column { name: "decision_function", width: 1, values: vec![-2.5] }, Column { name: "log_proba", width: 2, values: vec![f64::NEG_INFINITY, 0.0] }];
        let other = Predictions { columns: scores, ..p };
        let mut out = Vec::new();
        write_rows(&mut out, &other).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\"id\":\"a\\\"b\",\"label\":3,\"decision_function\":-2.5,\"log_proba\":{\"-1\":null,\"3\":0.0}}\n");
    }
}
