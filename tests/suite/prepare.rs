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

/// One dataset of a file, as comparable values: its type, shape, maximum
/// shape, whether chunked, and every value.
#[derive(Debug, PartialEq)]
struct Dataset {
    dtype: String,
    shape: Vec<usize>,
    maxdims: Vec<Option<usize>>,
    chunked: bool,
    values: Values,
}

#[derive(Debug, PartialEq)]
enum Values {
    U8(Vec<u8>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Str(Vec<String>),
}

type Datasets = std::collections::BTreeMap<String, Dataset>;

/// Every dataset of a file, by path.
fn datasets(p: &Path) -> Datasets {
    use hdf5::types::{FloatSize, IntSize, TypeDescriptor as T};
    fn walk(g: &hdf5::Group, prefix: &str, out: &mut Datasets) {
        for name in g.member_names().unwrap() {
            let path = format!("{prefix}{name}");
            if let Ok(sub) = g.group(&name) {
                walk(&sub, &format!("{path}/"), out);
                continue;
            }
            let ds = g.dataset(&name).unwrap();
            let dtype = ds.dtype().unwrap().to_descriptor().unwrap();
            let values = match dtype {
                T::Unsigned(IntSize::U1) => Values::U8(ds.read_raw().unwrap()),
                T::Unsigned(IntSize::U8) => Values::U64(ds.read_raw().unwrap()),
                T::Integer(IntSize::U8) => Values::I64(ds.read_raw().unwrap()),
                T::Float(FloatSize::U8) => Values::F64(ds.read_raw().unwrap()),
                T::VarLenUnicode => Values::Str(ds.read_raw::<VarLenUnicode>().unwrap().iter().map(|s| s.as_str().to_owned()).collect()),
                other => panic!("{path}: unexpected type {other:?}"),
            };
            let space = ds.space().unwrap();
            out.insert(path, Dataset { dtype: format!("{dtype:?}"), shape: ds.shape(), maxdims: space.maxdims(), chunked: ds.is_chunked(), values });
        }
    }
    let mut out = Datasets::new();
    walk(&hdf5::File::open(p).unwrap(), "", &mut out);
    out
}

/// Runs `prepare INPUTS -o OUT ARGS` at 1, 2, 3 and 4 ranks: every dataset
/// is the same at every rank count. Returns the datasets.
fn same_at_every_rank_count(dir: &Path, inputs: &[&Path], args: &[&str]) -> Datasets {
    let mut first: Option<Datasets> = None;
    for ranks in 1..=4 {
        let out = dir.join(format!("out{ranks}.h5"));
        let mut all: Vec<&str> = vec!["prepare"];
        all.extend(inputs.iter().map(|p| s(p)));
        all.extend(["-o", s(&out), "--quiet"]);
        all.extend(args);
        ok(ranks, &all);
        let got = datasets(&out);
        match &first {
            None => first = Some(got),
            Some(one) => assert_eq!(&got, one, "{args:?}: {ranks} ranks differ from 1"),
        }
        std::fs::remove_file(&out).unwrap();
    }
    assert_no_output(dir, "out1.h5");
    first.unwrap()
}

fn strings(d: &Datasets, name: &str) -> Vec<String> {
    match &d[name].values {
        Values::Str(v) => v.clone(),
        other => panic!("{name} holds {other:?}, not strings"),
    }
}

fn ints(d: &Datasets, name: &str) -> Vec<i64> {
    match &d[name].values {
        Values::I64(v) => v.clone(),
        other => panic!("{name} holds {other:?}, not int64"),
    }
}

fn floats(d: &Datasets, name: &str) -> Vec<f64> {
    match &d[name].values {
        Values::F64(v) => v.clone(),
        other => panic!("{name} holds {other:?}, not float64"),
    }
}

/// Sample weights of every kind a field can hold: integers, shortest reprs,
/// 17 digits, zero, large and tiny.
fn weight(i: usize) -> f64 {
    [1.0, 0.1, 2.5e-7, 0.0, 0.30000000000000004, 1e300, 7.0][i % 7] * (1 + i / 7) as f64
}

fn docs(d: &Datasets) -> Vec<String> {
    let (Values::U8(bytes), Values::U64(offsets)) = (&d["text/bytes"].values, &d["text/offsets"].values) else { panic!("the fast layout") };
    offsets.windows(2).map(|w| String::from_utf8(bytes[w[0] as usize..w[1] as usize].to_vec()).unwrap()).collect()
}

/// Documents of varied lengths (so that cuts fall inside them), some with
/// characters of several bytes, some empty.
fn texts(n: usize, seed: usize) -> Vec<String> {
    let words = ["alpha", "beta", "gamma", "δέλτα", "\u{1F600}", "e", "zeta-eta"];
    (0..n).map(|i| (0..(i * 7 + seed) % 23).map(|j| words[(i + j + seed) % words.len()]).collect::<Vec<_>>().join(" ")).collect()
}

/// True when byte `k * len / p` of `bytes` is not a line start, for some k.
fn cut_mid_line(bytes: &[u8], p: usize) -> bool {
    (1..p).any(|k| {
        let c = k * bytes.len() / p;
        bytes[c - 1] != b'\n'
    })
}

#[test]
fn jsonl_is_the_same_at_every_rank_count() {
    let dir = scratch("same-jsonl");
    let texts = texts(90, 1);
    let mut body = String::new();
    for (i, t) in texts.iter().enumerate() {
        if i % 13 == 0 {
            body.push('\n'); // blank lines count as lines, and are skipped
        }
        let label = ["spam", "ham", "eggs"][i % 3];
        body.push_str(&serde_json::json!({"id": i as i64 * 10 - 50, "text": t, "label": label, "w": weight(i)}).to_string());
        body.push('\n');
    }
    let jsonl = dir.join("a.jsonl");
    std::fs::write(&jsonl, &body).unwrap();
    assert!((2..=4).all(|p| cut_mid_line(body.as_bytes(), p)));
    let args = ["--id-field", "id", "--weight-field", "w"];
    let d = same_at_every_rank_count(&dir, &[&jsonl], &args);
    assert_eq!(docs(&d), texts);
    assert_eq!(ints(&d, "id"), (0..90).map(|i| i * 10 - 50).collect::<Vec<i64>>());
    assert_eq!(floats(&d, "weight"), (0..90).map(weight).collect::<Vec<f64>>());
    assert_eq!(strings(&d, "label")[..4], ["spam", "ham", "eggs", "spam"]);
    assert!(!d["text/bytes"].chunked);
    // Ranks writing in turns (a serial HDF5) write the same file as through MPI-IO.
    let out = dir.join("turns.h5");
    let r = textsaga_env(3, &["prepare", s(&jsonl), "-o", s(&out), "--id-field", "id", "--weight-field", "w"], &[("TEXTSAGA_PARALLEL_HDF5", "0")]);
    assert!(r.code == 0 && r.stderr.contains("written by turns"), "{}", r.stderr);
    assert_eq!(datasets(&out), d);
    // A compressed copy, read whole by one rank, gives the same datasets.
    let gz = dir.join("a.jsonl.gz");
    let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, body.as_bytes()).unwrap();
    e.finish().unwrap();
    assert_eq!(same_at_every_rank_count(&dir, &[&gz], &args), d);
}

#[test]
fn csv_cut_inside_quoted_fields_is_the_same_at_every_rank_count() {
    let dir = scratch("same-csv");
    // Long quoted fields with newlines, commas, escaped quotes and lines that
    // look like records, so that the cuts fall inside them.
    let texts: Vec<String> = texts(40, 2)
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{t}, and \"{i}\"\n{i},fake,row\n\n{}", "x,".repeat(i % 9)))
        .collect();
    let mut body = String::from("id,weight,text,label\n");
    for (i, t) in texts.iter().enumerate() {
        body.push_str(&format!("r{i},{:?},\"{}\",{}\n", weight(i), t.replace('"', "\"\""), i % 4));
    }
    let csv = dir.join("b.csv");
    std::fs::write(&csv, &body).unwrap();
    // Every cut at 2, 3 and 4 ranks falls inside a quoted field.
    let inside = |c: usize| body.as_bytes()[..c].iter().filter(|&&b| b == b'"').count() % 2 == 1;
    assert!((2..=4).all(|p| (1..p).all(|k| inside(k * body.len() / p))), "a cut outside quotes: change the sizes");
    let d = same_at_every_rank_count(&dir, &[&csv], &["--id-field", "id", "--weight-field", "weight"]);
    assert_eq!(docs(&d), texts);
    assert_eq!(strings(&d, "id"), (0..40).map(|i| format!("r{i}")).collect::<Vec<_>>());
    assert_eq!(floats(&d, "weight"), (0..40).map(weight).collect::<Vec<f64>>());
    assert_eq!(ints(&d, "label"), (0..40).map(|i| i % 4).collect::<Vec<i64>>());
}

#[test]
fn tsv_with_crlf_and_no_labels_is_the_same_at_every_rank_count() {
    let dir = scratch("same-tsv");
    let texts: Vec<String> = texts(60, 3).iter().map(|t| format!("{t}\ttab\r\nnext")).collect();
    let mut body = String::from("\u{feff}num\ttext\r\n");
    for (i, t) in texts.iter().enumerate() {
        body.push_str(&format!("{}\t\"{t}\"\r\n", 1000 + i));
    }
    let tsv = dir.join("c.tsv");
    std::fs::write(&tsv, &body).unwrap();
    let d = same_at_every_rank_count(&dir, &[&tsv], &["--id-field", "num"]);
    assert_eq!(docs(&d), texts);
    assert_eq!(ints(&d, "id"), (1000..1060).collect::<Vec<i64>>());
    assert!(!d.contains_key("label"), "no label column: an unlabelled corpus");
}

/// A Parquet file of row groups of `rows` rows: text, an int64 label, a
/// string id (`doc-N`) in column `id` and a double `weight`.
fn write_parquet(path: &Path, texts: &[String], rows: usize, id: &str) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = parquet::schema::parser::parse_message_type(&format!(
        "message m {{ REQUIRED BYTE_ARRAY text (UTF8); REQUIRED INT64 label; REQUIRED BYTE_ARRAY {id} (UTF8); REQUIRED DOUBLE weight; }}"
    ))
    .unwrap();
    let props = std::sync::Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(std::fs::File::create(path).unwrap(), std::sync::Arc::new(schema), props).unwrap();
    for (g, chunk) in texts.chunks(rows).enumerate() {
        let mut rg = w.next_row_group().unwrap();
        let mut column = 0;
        while let Some(mut c) = rg.next_column().unwrap() {
            let first = g * rows;
            match column {
                0 => drop(c.typed::<ByteArrayType>().write_batch(&chunk.iter().map(|t| ByteArray::from(t.as_str())).collect::<Vec<_>>(), None, None).unwrap()),
                1 => drop(c.typed::<Int64Type>().write_batch(&(first..first + chunk.len()).map(|i| (i % 3) as i64).collect::<Vec<_>>(), None, None).unwrap()),
                2 => drop(c.typed::<ByteArrayType>().write_batch(&(first..first + chunk.len()).map(|i| ByteArray::from(format!("doc-{i}").as_str())).collect::<Vec<_>>(), None, None).unwrap()),
                _ => drop(c.typed::<DoubleType>().write_batch(&(first..first + chunk.len()).map(weight).collect::<Vec<_>>(), None, None).unwrap()),
            }
            c.close().unwrap();
            column += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

#[test]
fn parquet_row_groups_are_the_same_at_every_rank_count() {
    let dir = scratch("same-parquet");
    let texts = texts(45, 4);
    let pq = dir.join("d.parquet");
    write_parquet(&pq, &texts, 7, "doc");
    let d = same_at_every_rank_count(&dir, &[&pq], &["--id-field", "doc", "--weight-field", "weight"]);
    assert_eq!(docs(&d), texts);
    assert_eq!(floats(&d, "weight"), (0..45).map(weight).collect::<Vec<f64>>());
    assert_eq!(ints(&d, "label"), (0..45).map(|i| i % 3).collect::<Vec<i64>>());
    assert_eq!(strings(&d, "id")[44], "doc-44");
}

#[test]
fn a_folder_is_the_same_at_every_rank_count() {
    let dir = scratch("same-folder");
    let root = dir.join("news");
    let mut expected = Vec::new();
    for (k, class) in ["economy", "sport", "weather"].iter().enumerate() {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..(3 + k) {
            let text = format!("{class} story {i}");
            std::fs::write(root.join(class).join(format!("{i:02}.txt")), &text).unwrap();
            expected.push((text, k as i64, format!("{class}/{i:02}.txt")));
        }
    }
    let d = same_at_every_rank_count(&dir, &[&root], &["--id-field", "path"]);
    assert_eq!(docs(&d), expected.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
    assert_eq!(ints(&d, "label"), expected.iter().map(|e| e.1).collect::<Vec<_>>());
    assert_eq!(strings(&d, "id"), expected.iter().map(|e| e.2.clone()).collect::<Vec<_>>());
    assert_eq!(strings(&d, "label_names"), ["economy", "sport", "weather"]);
    fails_alike(&dir, &[s(&root), "--weight-field", "w"], "--weight-field 'w': a folder's documents have no fields to hold a weight");
}

#[test]
fn mixed_inputs_agree_on_label_and_id_types_over_all_ranks() {
    let dir = scratch("same-mixed");
    let jsonl = dir.join("a.jsonl");
    let body: String = texts(30, 5).iter().enumerate().map(|(i, t)| format!("{}\n", serde_json::json!({"text": t, "label": i % 2, "id": i}))).collect();
    std::fs::write(&jsonl, body).unwrap();
    let csv = dir.join("b.csv");
    let body: String = texts(20, 6).iter().enumerate().map(|(i, t)| format!("{},\"{t}\n\",{}\n", 100 + i, i % 2)).collect();
    std::fs::write(&csv, format!("id,text,label\n{body}")).unwrap();
    let gz = dir.join("c.jsonl.gz");
    let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, b"{\"text\":\"zipped\",\"label\":1,\"id\":\"z-1\"}\n").unwrap();
    e.finish().unwrap();
    let pq = dir.join("d.parquet");
    write_parquet(&pq, &texts(12, 7), 5, "id");
    let ids = ["--id-field", "id"];
    // Integer ids and labels everywhere: int64.
    let d = same_at_every_rank_count(&dir, &[&jsonl, &csv], &ids);
    assert_eq!(ints(&d, "id")[28..32], [28, 29, 100, 101]);
    assert_eq!(ints(&d, "label").len(), 50);
    // Some string ids (in the later files, on the later ranks alone): every id is a string, at every rank count.
    let d = same_at_every_rank_count(&dir, &[&jsonl, &csv, &gz, &pq], &ids);
    let ids = strings(&d, "id");
    assert_eq!([&ids[0], &ids[30], &ids[50], &ids[51]], ["0", "100", "z-1", "doc-0"]);
    assert_eq!(ints(&d, "label").len(), 63);
    // A string label in the last file alone: every label is a string.
    let last = dir.join("f.jsonl");
    std::fs::write(&last, "{\"text\":\"x\",\"label\":\"other\"}\n").unwrap();
    let d = same_at_every_rank_count(&dir, &[&jsonl, &csv, &pq, &last], &[]);
    assert_eq!(strings(&d, "label")[..3], ["0", "1", "0"]);
    assert_eq!(strings(&d, "label").last().unwrap(), "other");
}

#[test]
fn more_ranks_than_documents_or_files() {
    let dir = scratch("few");
    let two = dir.join("two.jsonl");
    std::fs::write(&two, "{\"text\":\"a long first document\",\"label\":1}\n{\"text\":\"b\",\"label\":2}\n").unwrap();
    let d = same_at_every_rank_count(&dir, &[&two], &[]);
    assert_eq!(docs(&d), ["a long first document", "b"]);
    let gz = |name: &str, text: &str| {
        let p = dir.join(name);
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
        e.finish().unwrap();
        p
    };
    let (g1, g2) = (gz("1.jsonl.gz", "{\"text\":\"one\"}\n"), gz("2.jsonl.gz", "{\"text\":\"two\"}\n{\"text\":\"three\"}\n"));
    let d = same_at_every_rank_count(&dir, &[&g1, &g2], &[]);
    assert_eq!(docs(&d), ["one", "two", "three"]);
    assert!(!d.contains_key("label"));
    // No document at all.
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "\n\n").unwrap();
    let d = same_at_every_rank_count(&dir, &[&empty], &["--id-field", "id"]);
    assert_eq!(d["text/offsets"].values, Values::U64(vec![0]));
    assert_eq!(d["text/bytes"].shape, [0]);
}

/// `prepare` fails at 1 and 3 ranks with the same line, leaving nothing.
fn fails_alike(dir: &Path, args: &[&str], needle: &str) {
    let mut lines = Vec::new();
    for ranks in [1, 3] {
        let out = dir.join("o.h5");
        let mut all = vec!["prepare"];
        all.extend(args);
        all.extend(["-o", s(&out)]);
        let r = textsaga(ranks, &all);
        assert_eq!(r.code, 1, "{args:?} at {ranks} ranks:\n{}", r.stderr);
        assert_eq!(r.error_lines().len(), 1, "{}", r.stderr);
        let line = r.error_lines()[0].to_string();
        assert!(line.contains(needle), "{args:?} at {ranks} ranks: wanted '{needle}' in\n{line}");
        assert_no_output(dir, "o.h5");
        // The same cause, whichever rank met it.
        lines.push(line.split_once(": rank ").map_or(line.clone(), |(a, b)| format!("{a}: {}", b.split_once(": ").unwrap().1)));
    }
    assert_eq!(lines[0], lines[1]);
}

#[test]
fn errors_name_the_same_record_at_every_rank_count() {
    let dir = scratch("errors-alike");
    // A record deep in a file (read by a later rank) names its line from the file's start.
    let mut body: String = texts(80, 9).iter().enumerate().map(|(i, t)| format!("{}\n", serde_json::json!({"text": t, "label": i % 2, "id": i}))).collect();
    body.push_str("{\"text\":\"no label\",\"id\":80}\n");
    let a = dir.join("a.jsonl");
    std::fs::write(&a, &body).unwrap();
    fails_alike(&dir, &[s(&a)], "a.jsonl' line 81: no string or number 'label' field");
    let no_id = dir.join("no-id.jsonl");
    std::fs::write(&no_id, body.replace("{\"text\":\"no label\",\"id\":80}", "{\"text\":\"no id\",\"label\":1}")).unwrap();
    fails_alike(&dir, &[s(&no_id), "--id-field", "id"], "no-id.jsonl' line 81: no 'id' field (choose it with --id-field)");
    // A weight sklearn refuses, deep in the file; and one that is no number, in a CSV.
    let weighted = dir.join("w.jsonl");
    let with_w = |i: usize, t: &String| format!("{}\n", serde_json::json!({"text": t, "label": i % 2, "w": if i == 79 { -0.5 } else { 1.5 }}));
    std::fs::write(&weighted, texts(80, 9).iter().enumerate().map(|(i, t)| with_w(i, t)).collect::<String>()).unwrap();
    fails_alike(&dir, &[s(&weighted), "--weight-field", "w"], "w.jsonl' line 80: 'w' is -0.5; a weight is a finite number of 0 or more");
    let wcsv = dir.join("w.csv");
    std::fs::write(&wcsv, "text,label,w\n\"a\nb\",1,2\nc,0,heavy\n").unwrap();
    fails_alike(&dir, &[s(&wcsv), "--weight-field", "w"], "w.csv' line 4: 'w' is not a number (\"heavy\")");
    // A labelled file then an unlabelled one: the same error as one rank's.
    let b = dir.join("b.jsonl");
    std::fs::write(&b, "\n{\"text\":\"unlabelled\"}\n").unwrap();
    let ok_a = dir.join("ok.jsonl");
    std::fs::write(&ok_a, body.lines().take(80).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    fails_alike(&dir, &[s(&ok_a), s(&b)], "b.jsonl' line 2: a document without a label after labelled ones");
    // A CSV whose bad row follows rows with quoted newlines.
    let mut csv = String::from("text,label\n");
    for i in 0..60 {
        csv.push_str(&format!("\"row {i}\nsecond line\",{}\n", i % 2));
    }
    let mut bytes = csv.into_bytes();
    bytes.extend_from_slice(b"\"bad \xff\",1\n");
    let c = dir.join("c.csv");
    std::fs::write(&c, &bytes).unwrap();
    fails_alike(&dir, &[s(&c)], "c.csv' line 122: not valid UTF-8");
    let short = dir.join("short.csv");
    std::fs::write(&short, "text,label\n\"a\nb\",1\nc\n").unwrap();
    fails_alike(&dir, &[s(&short)], "short.csv' line 4: found a record with 1 fields, but the header has 2");
}

#[test]
fn an_explicit_label_field_must_be_found() {
    let dir = scratch("label-field");
    let a = dir.join("a.jsonl");
    std::fs::write(&a, "{\"id\":1,\"text\":\"x\",\"topic\":\"t\"}\n{\"id\":2,\"text\":\"y\",\"topic\":\"u\",\"extra\":0}\n").unwrap();
    fails_alike(&dir, &[s(&a), "--label-field", "cls"], "--label-field 'cls': no record has it; the records have fields: extra, id, text, topic");
    let c = dir.join("c.csv");
    std::fs::write(&c, "text,topic\nx,t\n").unwrap();
    fails_alike(&dir, &[s(&c), "--label-field", "cls"], "--label-field 'cls': no record has it; the records have fields: text, topic");
    // Without the flag, no `label` field is an unlabelled corpus; with it, the field is used.
    let d = same_at_every_rank_count(&dir, &[&a], &[]);
    assert!(!d.contains_key("label"));
    let d = same_at_every_rank_count(&dir, &[&a], &["--label-field", "topic"]);
    assert_eq!(strings(&d, "label"), ["t", "u"]);
    let d = same_at_every_rank_count(&dir, &[&a], &["--label-field", "none"]);
    assert!(!d.contains_key("label"));
}

#[test]
fn a_signal_while_reading_or_writing_stops_every_rank_cleanly() {
    let dir = scratch("prepare-signal");
    let a = dir.join("a.jsonl");
    let body: String = texts(50, 10).iter().map(|t| format!("{}\n", serde_json::json!({"text": t, "label": 1}))).collect();
    std::fs::write(&a, body).unwrap();
    let out = dir.join("o.h5");
    for phase in ["read:1", "write:2"] {
        let r = textsaga_env(3, &["prepare", s(&a), "-o", s(&out)], &[("TEXTSAGA_TEST_SIGNAL", phase)]);
        assert_eq!(r.code, 138, "{phase}: {}", r.stderr);
        assert_eq!(r.error_lines().len(), 1, "{}", r.stderr);
        assert_no_output(&dir, "o.h5");
    }
}
