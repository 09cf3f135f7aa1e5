//! Bad input ends every rank quickly with one clear error line, a non-zero
//! exit, no panic trace and no output file, at 1 and 3 ranks.

use crate::common::*;
use std::path::Path;

/// Runs a failing vectorize at 1 and 3 ranks and checks how it fails.
fn fails(dir: &Path, args: &[&str], code: i32, needle: &str) {
    for ranks in [1, 3] {
        let mut full = vec!["vectorize", "-o", s(&dir.join("out.h5")).to_owned().leak()];
        full.extend_from_slice(args);
        let r = textsaga(ranks, &full);
        assert_eq!(r.code, code, "{args:?} at {ranks} ranks: exit {}\n{}", r.code, r.stderr);
        assert!(!r.stderr.contains("panicked"), "panic trace:\n{}", r.stderr);
        let lines = r.error_lines();
        if code == 2 {
            assert!(r.stderr.contains(needle), "{args:?}: expected '{needle}' in\n{}", r.stderr);
        } else {
            assert_eq!(lines.len(), 1, "{args:?} at {ranks} ranks: want one error line, got\n{}", r.stderr);
            assert!(lines[0].contains(needle), "{args:?}: expected '{needle}' in '{}'", lines[0]);
        }
        assert_no_output(dir, "out.h5");
    }
}

fn h5(dir: &Path, name: &str, build: impl FnOnce(&hdf5::File)) -> String {
    let p = dir.join(name);
    write_h5(&p, build);
    s(&p).to_owned()
}

fn strings(items: &[&str]) -> Vec<hdf5::types::VarLenUnicode> {
    items.iter().map(|x| x.parse().unwrap()).collect()
}

#[test]
fn missing_file() {
    let dir = scratch("missing");
    fails(&dir, &["--data", s(&dir.join("nope.h5"))], 1, "no such file");
}

#[test]
fn not_hdf5() {
    let dir = scratch("nothdf5");
    let p = dir.join("fake.h5");
    std::fs::write(&p, "this is not HDF5\n").unwrap();
    fails(&dir, &["--data", s(&p)], 1, "is not an HDF5 file");
}

#[test]
fn missing_dataset() {
    let dir = scratch("missingds");
    let p = h5(&dir, "c.h5", |f| {
        f.new_dataset_builder().with_data(&strings(&["one doc", "two doc"])).create("body").unwrap();
    });
    fails(&dir, &["--data", &p], 1, "has no dataset 'text' (it holds: body)");
}

#[test]
fn wrong_dtype() {
    let dir = scratch("dtype");
    let p = h5(&dir, "c.h5", |f| {
        f.new_dataset_builder().with_data(&[1.0f64, 2.0]).create("text").unwrap();
    });
    fails(&dir, &["--data", &p], 1, "holds float64, expected strings (h5py's str or bytes)");
    let q = h5(&dir, "d.h5", |f| {
        f.new_dataset_builder().with_data(&strings(&["a doc", "b doc"])).create("text").unwrap();
        f.new_dataset_builder().with_data(&[0.5f64, 1.5]).create("label").unwrap();
    });
    // Floats are labels only when whole numbers (pandas' 0.0/1.0); a fraction names its document.
    fails(&dir, &["--data", &q], 1, "the label of document 0 is 0.5, not a whole number");
}

#[test]
fn text_and_labels_of_different_lengths() {
    let dir = scratch("lengths");
    let p = h5(&dir, "c.h5", |f| {
        f.new_dataset_builder().with_data(&strings(&["a doc", "b doc", "c doc"])).create("text").unwrap();
        f.new_dataset_builder().with_data(&[0i64, 1]).create("label").unwrap();
    });
    fails(&dir, &["--data", &p], 1, "'text' has 3 documents but 'label' has 2 labels");
}

#[test]
fn inconsistent_fast_layout() {
    let dir = scratch("offsets");
    let p = h5(&dir, "c.h5", |f| {
        let g = f.create_group("text").unwrap();
        g.new_dataset_builder().with_data(b"hello world".as_slice()).create("bytes").unwrap();
        g.new_dataset_builder().with_data(&[0u64, 5, 99]).create("offsets").unwrap();
    });
    fails(&dir, &["--data", &p], 1, "is inconsistent");
}

/// Invalid UTF-8 only in the last document, so at 3 ranks only the last
/// rank meets it: it must name itself and the document, and nobody hangs.
#[test]
fn invalid_utf8_in_the_last_ranks_slice() {
    let dir = scratch("utf8");
    let mut docs: Vec<Vec<u8>> = (0..30).map(|i| format!("document number {i}").into_bytes()).collect();
    docs.push(b"bad \xff byte".to_vec());
    let p = h5(&dir, "c.h5", |f| {
        let g = f.create_group("text").unwrap();
        let bytes: Vec<u8> = docs.concat();
        let mut offsets = vec![0u64];
        for d in &docs {
            offsets.push(offsets.last().unwrap() + d.len() as u64);
        }
        g.new_dataset_builder().with_data(&bytes).create("bytes").unwrap();
        g.new_dataset_builder().with_data(&offsets).create("offsets").unwrap();
    });
    fails(&dir, &["--data", &p], 1, "document 30: not valid UTF-8");
    let r = textsaga(3, &["vectorize", "--data", &p, "-o", s(&dir.join("out.h5"))]);
    assert!(r.error_lines()[0].starts_with("textsaga: error: rank 2:"), "{}", r.stderr);
    // The same file is fine under the lenient policies.
    ok(3, &["vectorize", "--data", &p, "-o", s(&dir.join("ok.h5")), "--decode-error", "replace", "--quiet"]);
}

#[test]
fn unwritable_output() {
    let dir = scratch("unwritable");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "50", "--quiet"]);
    for ranks in [1, 3] {
        let out = dir.join("no/such/folder/out.h5");
        let r = textsaga(ranks, &["vectorize", "--data", s(&data), "-o", s(&out)]);
        assert_eq!(r.code, 1);
        assert_eq!(r.error_lines().len(), 1, "{}", r.stderr);
        assert!(r.error_lines()[0].contains("does not exist"), "{}", r.stderr);
    }
}

#[test]
fn pruning_everything_away() {
    let dir = scratch("prune");
    let jsonl = dir.join("c.jsonl");
    std::fs::write(&jsonl, "{\"text\":\"alpha and\",\"label\":0}\n{\"text\":\"beta the\",\"label\":1}\n{\"text\":\"gamma of\",\"label\":0}\n").unwrap();
    let data = dir.join("c.h5");
    ok(1, &["prepare", s(&jsonl), "-o", s(&data), "--quiet"]);
    fails(&dir, &["--data", s(&data), "--min-df", "2"], 1, "no terms remain");
    fails(&dir, &["--data", s(&data), "--min-df", "5"], 1, "max_df corresponds to < documents than min_df");
    let only_stop = dir.join("stop.jsonl");
    std::fs::write(&only_stop, "{\"text\":\"the and of\",\"label\":0}\n{\"text\":\"\",\"label\":1}\n").unwrap();
    let data = dir.join("stop.h5");
    ok(1, &["prepare", s(&only_stop), "-o", s(&data), "--quiet"]);
    fails(&dir, &["--data", s(&data), "--stop-words", "english"], 1, "empty vocabulary");
}

#[test]
fn bad_command_lines_exit_2() {
    let dir = scratch("usage");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "20", "--quiet"]);
    fails(&dir, &["--data", s(&data), "--hashing", "64", "--max-features", "5"], 2, "cannot be used with --hashing");
    fails(&dir, &["--data", s(&data), "--ngram-range", "3,1"], 2, "need 1 <= MIN <= MAX");
    fails(&dir, &["--data", s(&data), "--max-df", "1.5"], 2, "within [0.0, 1.0]");
    fails(&dir, &["--data", s(&data), "--norm", "l3"], 2, "invalid value 'l3'");
    fails(&dir, &["--data", s(&data), "--alternate-sign"], 2, "only applies with --hashing");
    fails(&dir, &["--data", s(&data), "--no-alternate-sign"], 2, "--no-alternate-sign only applies with --hashing");
    // Usage errors print once per job, not once per rank.
    let r = textsaga(3, &["vectorize", "--data", s(&data), "-o", "x.h5", "--bogus"]);
    assert_eq!(r.stderr.matches("unexpected argument").count(), 1, "{}", r.stderr);
}

/// `text/bytes` in another integer type than uint8 (issue 31): int8 and
/// int64 (what numpy gives `np.frombuffer(b, np.int8)` and
/// `np.array(list(b))`) read as the same bytes at 2 ranks; a value that is
/// no byte is refused in one line saying what to store.
#[test]
fn text_bytes_of_another_integer_type() {
    let dir = scratch("text-bytes-type");
    let docs: Vec<String> = (0..40).map(|i| format!("dokument {i} über wörter w{}", i % 7)).collect();
    let bytes: Vec<u8> = docs.concat().into_bytes();
    let mut offsets = vec![0u64];
    for d in &docs {
        offsets.push(offsets.last().unwrap() + d.len() as u64);
    }
    let corpus = |name: &str, write: &dyn Fn(&hdf5::Group)| -> String {
        h5(&dir, name, |f| {
            let g = f.create_group("text").unwrap();
            write(&g);
            g.new_dataset_builder().with_data(&offsets).create("offsets").unwrap();
        })
    };
    let matrix = |data: &str, name: &str| {
        let out = dir.join(name);
        ok(2, &["vectorize", "--data", data, "-o", s(&out), "--quiet"]);
        read_matrix(&out)
    };
    let want = matrix(&corpus("u8.h5", &|g| drop(g.new_dataset_builder().with_data(&bytes).create("bytes").unwrap())), "u8-out.h5");
    let i8s: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
    let i64s: Vec<i64> = bytes.iter().map(|&b| b as i64).collect();
    assert!(matrix(&corpus("i8.h5", &|g| drop(g.new_dataset_builder().with_data(&i8s).create("bytes").unwrap())), "i8-out.h5") == want);
    assert!(matrix(&corpus("i64.h5", &|g| drop(g.new_dataset_builder().with_data(&i64s).create("bytes").unwrap())), "i64-out.h5") == want);
    let mut wide: Vec<i32> = bytes.iter().map(|&b| b as i32).collect();
    wide[5] = 300;
    let p = corpus("i32.h5", &|g| drop(g.new_dataset_builder().with_data(&wide).create("bytes").unwrap()));
    fails(&dir, &["--data", &p], 1, "'text/bytes' is int32 and holds 300 at byte 5, not a byte (0..=255); store the UTF-8 bytes as uint8 (numpy: np.frombuffer(b, dtype=np.uint8))");
}
