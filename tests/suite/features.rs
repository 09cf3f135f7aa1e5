//! `fit --features`: a model fitted from `vectorize`'s file is the model
//! fitted from the text (every dataset and attribute, bit for bit) at the
//! same rank count, whatever rank count wrote the file; for both solvers, a
//! CV path, hashing with float32, and a corpus of h5py strings. Misuse ends
//! with one line.

use crate::common::*;
use std::path::{Path, PathBuf};

/// Vectorizes `data` at `vec_ranks`, then fits from the file and from the
/// text at `fit_ranks` with the same flags; the two models must be equal.
fn same_model(dir: &Path, data: &Path, (vec_ranks, fit_ranks): (usize, usize), vectorizer: &[&str], solver: &[&str]) {
    let tag = format!("{vec_ranks}{fit_ranks}{}", vectorizer.join("").replace(['-', ',', '.'], ""));
    let feats = dir.join(format!("f{tag}.h5"));
    let (from_text, from_feats) = (dir.join(format!("t{tag}.h5")), dir.join(format!("m{tag}.h5")));
    ok(vec_ranks, &[&["vectorize", "--data", s(data), "-o", s(&feats), "--quiet"], vectorizer].concat());
    ok(fit_ranks, &[&["fit", "--data", s(data), "--model", s(&from_text), "--quiet"], vectorizer, solver].concat());
    let r = ok(fit_ranks, &[&["fit", "--features", s(&feats), "--model", s(&from_feats)], solver].concat());
    assert!(!r.stderr.contains("tokenize"), "fit --features tokenized again:\n{}", r.stderr);
    assert_eq!(model_bits(&from_text), model_bits(&from_feats), "{vectorizer:?} {solver:?}: vectorized at {vec_ranks}, fitted at {fit_ranks}");
}

fn corpus(dir: &Path) -> PathBuf {
    let p = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&p), "--docs", "600", "--classes", "3", "--vocab-size", "900", "--mean-length", "20", "--seed", "4", "--quiet"]);
    p
}

#[test]
fn a_model_from_features_is_the_model_from_text() {
    let dir = scratch("features");
    let data = corpus(&dir);
    let bigrams: &[&str] = &["--ngram-range", "1,2", "--min-df", "2"];
    for ranks in [1, 2, 3] {
        same_model(&dir, &data, (ranks, ranks), bigrams, &["--solver", "saga"]);
    }
    // Any rank count reads a file written at another.
    same_model(&dir, &data, (3, 2), bigrams, &["--solver", "saga"]);
    same_model(&dir, &data, (1, 3), &[], &["--solver", "lbfgs"]);
    same_model(&dir, &data, (2, 2), bigrams, &["--Cs", "3", "--cv", "3"]);
    same_model(&dir, &data, (2, 2), &["--hashing", "512", "--dtype", "float32"], &["--solver", "saga"]);
}

#[test]
fn a_corpus_of_h5py_strings_splits_by_count_alike() {
    let dir = scratch("features-strings");
    let data = dir.join("s.h5");
    let words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"];
    let docs: Vec<String> = (0..90).map(|i| (0..(3 + i % 7)).map(|j| words[(i * j + i / 3) % 8]).collect::<Vec<_>>().join(" ")).collect();
    write_h5(&data, |f| {
        let text: Vec<hdf5::types::VarLenUnicode> = docs.iter().map(|d| d.parse().unwrap()).collect();
        f.new_dataset_builder().with_data(&text).create("text").unwrap();
        f.new_dataset_builder().with_data(&(0..90).map(|i| (i % 3) as i64).collect::<Vec<_>>()).create("label").unwrap();
    });
    same_model(&dir, &data, (2, 3), &[], &["--solver", "saga"]);
}

#[test]
fn misuse_of_features_ends_with_one_line() {
    let dir = scratch("features-bad");
    let data = corpus(&dir);
    let feats = dir.join("f.h5");
    ok(2, &["vectorize", "--data", s(&data), "-o", s(&feats), "--quiet"]);
    let model = dir.join("m.h5");
    let refused = |ranks: usize, args: &[&str], code: i32, needle: &str| {
        let r = textsaga(ranks, &[&["fit", "--model", s(&model)], args].concat());
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: expected '{needle}' in\n{}", r.stderr);
        assert_no_output(&dir, "m.h5");
    };
    refused(2, &["--features", s(&feats), "--min-df", "2"], 2, "vectorizer flags do not apply with --features");
    refused(1, &["--features", s(&feats), "--data", s(&data)], 2, "cannot be used with");
    refused(1, &[], 2, "--data");
    refused(2, &["--features", s(&data)], 1, "is not a features file: no 'data' (it holds: label");
    // Features of an unlabelled corpus.
    let unlabelled = dir.join("u.h5");
    write_h5(&unlabelled, |f| {
        let docs: Vec<hdf5::types::VarLenUnicode> = ["one doc", "two doc"].iter().map(|x| x.parse().unwrap()).collect();
        f.new_dataset_builder().with_data(&docs).create("text").unwrap();
    });
    let uf = dir.join("uf.h5");
    ok(1, &["vectorize", "--data", s(&unlabelled), "-o", s(&uf), "--quiet"]);
    refused(2, &["--features", s(&uf)], 1, "has no labels");
}

#[test]
fn predictions_from_features_are_those_from_text_with_the_ids() {
    let dir = scratch("features-predict");
    let data = corpus(&dir);
    {
        let f = hdf5::File::open_rw(&data).unwrap();
        let ids: Vec<i64> = (0..600).map(|i| 1000 + 7 * i).collect();
        f.new_dataset_builder().with_data(&ids).create("id").unwrap();
    }
    let (feats, model) = (dir.join("f.h5"), dir.join("m.h5"));
    ok(3, &["vectorize", "--data", s(&data), "-o", s(&feats), "--min-df", "2", "--quiet"]);
    ok(2, &["fit", "--features", s(&feats), "--model", s(&model), "--quiet"]);
    let read = |p: &Path| {
        let f = hdf5::File::open(p).unwrap();
        (f.dataset("predicted").unwrap().read_raw::<i64>().unwrap(), f.dataset("proba").unwrap().read_raw::<f64>().unwrap(), f.dataset("id").unwrap().read_raw::<i64>().unwrap())
    };
    let (from_text, from_feats) = (dir.join("pt.h5"), dir.join("pf.h5"));
    ok(2, &["predict", "--model", s(&model), "--data", s(&data), "-o", s(&from_text), "--proba", "--quiet"]);
    ok(3, &["predict", "--model", s(&model), "--features", s(&feats), "-o", s(&from_feats), "--proba", "--quiet"]);
    let (a, b) = (read(&from_text), read(&from_feats));
    assert_eq!(a, b);
    assert_eq!(b.2[..3], [1000, 1007, 1014]);
    let r = ok(2, &["evaluate", "--model", s(&model), "--features", s(&feats)]);
    assert!(r.stdout.contains("weighted avg"), "{}", r.stdout);
    // Features of other settings have other columns: refused in one line.
    let other = dir.join("o.h5");
    ok(1, &["vectorize", "--data", s(&data), "-o", s(&other), "--quiet"]);
    let r = textsaga(2, &["predict", "--model", s(&model), "--features", s(&other), "-o", s(&dir.join("po.h5"))]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("columns and the model"), "{}", r.stderr);
    assert_no_output(&dir, "po.h5");
}
