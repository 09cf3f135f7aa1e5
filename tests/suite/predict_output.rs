//! `predict` writes each document's id beside its prediction, in document
//! order, as HDF5, CSV or JSON Lines (issue 31), at 1-3 ranks: the same
//! labels and probabilities (bit for bit) in every format at every rank
//! count, with the corpus's integer ids (stored as uint32), its string ids,
//! or, without ids, the row numbers.

use crate::common::*;
use hdf5::types::VarLenUnicode;
use serde_json::Value;
use std::path::Path;

const DOCS: usize = 200;

/// Ids, labels (typed as JSON values) and probabilities, row-major.
#[derive(Debug, PartialEq)]
struct Rows {
    ids: Vec<Value>,
    labels: Vec<Value>,
    proba: Vec<f64>,
}

fn vlen(items: &[String]) -> Vec<VarLenUnicode> {
    items.iter().map(|s| s.parse().unwrap()).collect()
}

/// A corpus as h5py writes one: `text` strings, then `label` and `id` as given.
fn corpus(path: &Path, extra: impl FnOnce(&hdf5::File)) {
    let texts: Vec<String> = (0..DOCS).map(|i| format!("doc {i} word{} w{} topic{} topic{}", i % 37, i % 11, i % 3, i % 3)).collect();
    write_h5(path, |f| {
        f.new_dataset_builder().with_data(&vlen(&texts)).create("text").unwrap();
        extra(f);
    });
}

/// Values of an integer or string dataset as JSON values.
fn typed(ds: &hdf5::Dataset) -> Vec<Value> {
    match ds.read_raw::<VarLenUnicode>() {
        Ok(v) => v.iter().map(|s| Value::from(s.as_str())).collect(),
        Err(_) => ds.read_raw::<i64>().unwrap().into_iter().map(Value::from).collect(),
    }
}

fn read_h5(path: &Path) -> Rows {
    let f = hdf5::File::open(path).unwrap();
    Rows { ids: typed(&f.dataset("id").unwrap()), labels: typed(&f.dataset("predicted").unwrap()), proba: f.dataset("proba").unwrap().read_raw().unwrap() }
}

/// A value as CSV has it (CSV has no types).
fn as_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The CSV file, its header checked against the model's classes.
fn read_csv(path: &Path, classes: &[Value], want: &Rows) -> Rows {
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut header = vec!["id".to_string(), "label".to_string()];
    header.extend(classes.iter().map(|c| format!("proba_{}", as_text(c))));
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), header);
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    // Typed back from the expectation: CSV's text must be the value's text.
    let retype = |i: usize, col: usize, like: &[Value]| -> Value {
        assert_eq!(records[i][col], as_text(&like[i]), "{}: row {i} column {col}", path.display());
        like[i].clone()
    };
    Rows {
        ids: (0..records.len()).map(|i| retype(i, 0, &want.ids)).collect(),
        labels: (0..records.len()).map(|i| retype(i, 1, &want.labels)).collect(),
        proba: records.iter().flat_map(|r| r.iter().skip(2).map(|x| x.parse::<f64>().unwrap()).collect::<Vec<_>>()).collect(),
    }
}

/// The JSON Lines file. Probabilities are read from the text as Rust reads
/// floats (serde_json's own parsing is not always correctly rounded).
fn read_jsonl(path: &Path, classes: &[Value]) -> Rows {
    let mut rows = Rows { ids: vec![], labels: vec![], proba: vec![] };
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        rows.ids.push(v["id"].clone());
        rows.labels.push(v["label"].clone());
        let after = &line[line.find("\"proba\":{").expect("proba") + 9..];
        for c in classes {
            let key = format!("{}:", serde_json::to_string(&as_text(c)).unwrap());
            let at = after.find(&key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
            let end = after[at..].find([',', '}']).unwrap() + at;
            rows.proba.push(after[at..end].parse().unwrap());
        }
    }
    rows
}

#[test]
fn predictions_carry_ids_in_every_format_at_every_rank_count() {
    let dir = scratch("predict-ids");
    let (int_ids, str_ids, no_ids) = (dir.join("int.h5"), dir.join("str.h5"), dir.join("none.h5"));
    let ints: Vec<u32> = (0..DOCS as u32).map(|i| 4_000_000_000 - 7 * i).collect();
    corpus(&int_ids, |f| {
        f.new_dataset_builder().with_data(&(0..DOCS as i64).map(|i| i % 3).collect::<Vec<_>>()).create("label").unwrap();
        f.new_dataset_builder().with_data(&ints).create("id").unwrap();
    });
    // Class names and ids CSV must quote; ids not ASCII.
    let names = ["a,b", "say \"hi\"", "über"];
    let strs: Vec<String> = (0..DOCS).map(|i| match i % 4 { 0 => format!("r{i}"), 1 => format!("with,comma {i}"), 2 => format!("quo\"te {i}"), _ => format!("é{i}") }).collect();
    corpus(&str_ids, |f| {
        let labels: Vec<String> = (0..DOCS).map(|i| names[i % 3].to_string()).collect();
        f.new_dataset_builder().with_data(&vlen(&labels)).create("label").unwrap();
        f.new_dataset_builder().with_data(&vlen(&strs)).create("id").unwrap();
    });
    corpus(&no_ids, |_| {});
    let (int_model, str_model) = (dir.join("mi.h5"), dir.join("ms.h5"));
    ok(1, &["fit", "--data", s(&int_ids), "--model", s(&int_model), "--max-iter", "3", "--quiet"]);
    ok(1, &["fit", "--data", s(&str_ids), "--model", s(&str_model), "--max-iter", "3", "--quiet"]);
    let cases = [
        (&int_ids, &int_model, ints.iter().map(|&i| Value::from(i)).collect::<Vec<_>>()),
        (&str_ids, &str_model, strs.iter().map(|s| Value::from(s.as_str())).collect()),
        (&no_ids, &int_model, (0..DOCS).map(Value::from).collect()),
    ];
    for (data, model, ids) in cases {
        let classes = typed(&hdf5::File::open(model).unwrap().dataset("classes").unwrap());
        let mut want: Option<Rows> = None;
        for ranks in 1..=3 {
            for ext in ["h5", "csv", "jsonl"] {
                let out = dir.join(format!("p{ranks}.{ext}"));
                ok(ranks, &["predict", "--model", s(model), "--data", s(data), "-o", s(&out), "--proba", "--quiet"]);
                let got = match ext {
                    "h5" => read_h5(&out),
                    "csv" => read_csv(&out, &classes, want.as_ref().unwrap()),
                    _ => read_jsonl(&out, &classes),
                };
                let want = want.get_or_insert_with(|| {
                    assert_eq!(got.ids, ids, "{}: the ids in document order", data.display());
                    assert_eq!(got.proba.len(), DOCS * classes.len());
                    Rows { ids: got.ids.clone(), labels: got.labels.clone(), proba: got.proba.clone() }
                });
                assert!(got == *want, "{} at {ranks} ranks as {ext}: not the 1-rank HDF5 rows", data.display());
            }
        }
    }
    assert_no_output(&dir, "nothing");
}
