//! Predictions as CSV: a header `id,label` (then `<name>_<class>`, one
//! column a class in the model's order, for each of `decision_function`,
//! `proba` and `log_proba` asked for; a binary decision function is one
//! column, `decision_function`), one record a
//! document, quoted where CSV needs it (the csv crate), probabilities in
//! the shortest text that reads back as the same float (ryu).

use super::{text, Predictions};
use std::io::Write;

/// This rank's records, after the header when `header`.
pub fn write_rows(w: &mut dyn Write, p: &Predictions, header: bool) -> std::io::Result<()> {
    let mut out = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(w);
    if header {
        let mut names = vec!["id".to_string(), "label".to_string()];
        for c in &p.columns {
            match c.width {
                1 => names.push(c.name.to_string()),
                _ => names.extend((0..p.classes.len()).map(|k| format!("{}_{}", c.name, p.classes.name(k)))),
            }
        }
        out.write_record(&names)?;
    }
    let mut float = ryu::Buffer::new();
    for i in 0..p.len() {
        out.write_field(text(&p.ids, i).as_bytes())?;
        out.write_field(text(&p.labels, i).as_bytes())?;
        for c in &p.columns {
            for &v in p.row(c, i) {
                out.write_field(float.format(v))?;
            }
        }
        out.write_record(None::<&[u8]>)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::Classes;
    use crate::corpus::Labels;
    use crate::predictor::Column;

    #[test]
    fn fields_are_quoted_and_floats_read_back_equal() {
        let classes = Classes::Str(vec!["a,b".into(), "say \"hi\"".into()]);
        let p = Predictions {
            ids: Labels::Str(vec!["x\ny".into(), "7".into()]),
            labels: Labels::Str(vec!["a,b".into(), "say \"hi\"".into()]),
            columns: vec![Column { name: "proba", width: 2, values: vec![0.1 + 0.2, 1.0 - (0.1 + 0.2), 1e-300, 1.0] }],
            classes: &classes,
        };
        let mut out = Vec::new();
        write_rows(&mut out, &p, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("id,label,\"proba_a,b\",\"proba_say \"\"hi\"\"\"\n\"x\ny\",\"a,b\","), "{text}");
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(&rows[1][1], "say \"hi\"");
        let back: Vec<f64> = rows.iter().flat_map(|r| [r[2].parse::<f64>().unwrap(), r[3].parse().unwrap()]).collect();
        assert_eq!(back, p.columns[0].values);
    }
}
