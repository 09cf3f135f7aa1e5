//! `prepare`: JSON Lines, CSV, TSV and class folders into the fast layout.

use crate::common::*;
use hdf5::types::VarLenUnicode;
use std::path::Path;

/// (documents, labels as text, label_names) of a fast-layout file.
fn read_corpus(p: &Path) -> (Vec<String>, Vec<String>, Option<Vec<String>>) {
    let f = hdf5::File::open(p).unwrap();
    let bytes: Vec<u8> = f.dataset("text/bytes").unwrap().read_raw().unwrap();
    let offsets: Vec<u64> = f.dataset("text/offsets").unwrap().read_raw().unwrap();
    let docs = offsets.windows(2).map(|w| String::from_utf8(bytes[w[0] as usize..w[1] as usize].to_vec()).unwrap()).collect();
    let label = f.dataset("label").unwrap();
    let labels = match label.read_raw::<i64>() {
        Ok(v) => v.iter().map(|x| x.to_string()).collect(),
        Err(_) => label.read_raw::<VarLenUnicode>().unwrap().iter().map(|x| x.as_str().to_owned()).collect(),
    };
    let names = f
        .dataset("label_names")
        .ok()
        .map(|d| d.read_raw::<VarLenUnicode>().unwrap().iter().map(|x| x.as_str().to_owned()).collect());
    (docs, labels, names)
}

#[test]
fn jsonl_csv_and_tsv() {
    let dir = scratch("formats");
    let jsonl = dir.join("a.jsonl");
    std::fs::write(&jsonl, "{\"text\":\"Hello, wörld\",\"label\":\"spam\"}\n\n{\"text\":\"\",\"label\":\"ham\"}\n").unwrap();
    let csv = dir.join("b.csv");
    std::fs::write(&csv, "id,body,cls\n1,\"quoted, with comma\nand newline\",ham\n2,plain,spam\n").unwrap();
    let tsv = dir.join("c.tsv");
    std::fs::write(&tsv, "body\tcls\nthe tab doc\tspam\n").unwrap();

    let out = dir.join("j.h5");
    ok(1, &["prepare", s(&jsonl), "-o", s(&out), "--quiet"]);
    assert_eq!(read_corpus(&out), (vec!["Hello, wörld".into(), "".into()], vec!["spam".into(), "ham".into()], None));

    let out = dir.join("ct.h5");
    ok(2, &["prepare", s(&csv), s(&tsv), "-o", s(&out), "--text-field", "body", "--label-field", "cls", "--quiet"]);
    let (docs, labels, _) = read_corpus(&out);
    assert_eq!(docs, ["quoted, with comma\nand newline", "plain", "the tab doc"]);
    assert_eq!(labels, ["ham", "spam", "spam"]);

    // Integer labels stay integers.
    let ints = dir.join("i.jsonl");
    std::fs::write(&ints, "{\"text\":\"a b\",\"label\":3}\n{\"text\":\"c d\",\"label\":-1}\n").unwrap();
    let out = dir.join("i.h5");
    ok(1, &["prepare", s(&ints), "-o", s(&out), "--quiet"]);
    let f = hdf5::File::open(&out).unwrap();
    assert_eq!(f.dataset("label").unwrap().read_raw::<i64>().unwrap(), [3, -1]);
}

#[test]
fn class_folders_as_sklearn_load_files() {
    let dir = scratch("folders");
    let root = dir.join("news");
    for (class, files) in [("sport", vec![("b.txt", "goal!"), ("a.txt", "match report")]), ("economy", vec![("x.txt", "rates rise")])] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for (name, text) in files {
            std::fs::write(root.join(class).join(name), text).unwrap();
        }
    }
    let out = dir.join("f.h5");
    ok(1, &["prepare", s(&root), "-o", s(&out), "--quiet"]);
    let (docs, labels, names) = read_corpus(&out);
    assert_eq!(docs, ["rates rise", "match report", "goal!"]);
    assert_eq!(labels, ["0", "1", "1"]);
    assert_eq!(names.unwrap(), ["economy", "sport"]);
}

#[test]
fn strict_decoding_names_the_file_and_record() {
    let dir = scratch("strict");
    let jsonl = dir.join("bad.jsonl");
    std::fs::write(&jsonl, b"{\"text\":\"fine\",\"label\":0}\n{\"text\":\"caf\xe9\",\"label\":1}\n").unwrap();
    let out = dir.join("o.h5");
    for ranks in [1, 2] {
        let r = textsaga(ranks, &["prepare", s(&jsonl), "-o", s(&out)]);
        assert_eq!(r.code, 1);
        assert_eq!(r.error_lines().len(), 1, "{}", r.stderr);
        assert!(r.error_lines()[0].contains("bad.jsonl' line 2: not valid UTF-8"), "{}", r.stderr);
        assert_no_output(&dir, "o.h5");
    }
    ok(1, &["prepare", s(&jsonl), "-o", s(&out), "--decode-error", "replace", "--quiet"]);
    assert_eq!(read_corpus(&out).0[1], "caf\u{fffd}");
    ok(1, &["prepare", s(&jsonl), "-o", s(&out), "--decode-error", "ignore", "--quiet"]);
    assert_eq!(read_corpus(&out).0[1], "caf");
}

#[test]
fn clear_errors_for_malformed_records() {
    let dir = scratch("malformed");
    let csv = dir.join("a.csv");
    std::fs::write(&csv, "body,cls\nx,1\n").unwrap();
    let r = textsaga(1, &["prepare", s(&csv), "-o", s(&dir.join("o.h5"))]);
    assert_eq!(r.code, 1);
    assert!(r.error_lines()[0].contains("has no column 'text' (columns: body, cls)"), "{}", r.stderr);
    let jsonl = dir.join("a.jsonl");
    std::fs::write(&jsonl, "{\"text\":\"ok\",\"label\":0}\n{\"text\":\"no label\"}\n").unwrap();
    let r = textsaga(1, &["prepare", s(&jsonl), "-o", s(&dir.join("o.h5"))]);
    assert!(r.error_lines()[0].contains("a.jsonl' line 2: no string or number 'label' field"), "{}", r.stderr);
    let r = textsaga(1, &["prepare", s(&dir.join("a.txt")), "-o", s(&dir.join("o.h5"))]);
    assert!(r.error_lines()[0].contains("no such file"), "{}", r.stderr);
    assert_no_output(&dir, "o.h5");
}
