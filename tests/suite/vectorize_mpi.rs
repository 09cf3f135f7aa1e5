//! `vectorize` under real MPI launches at 1-4 ranks (oversubscribed on small
//! machines): the output must not depend on the rank count.

use crate::common::*;

fn generated(dir: &std::path::Path, docs: &str) -> std::path::PathBuf {
    let p = dir.join("corpus.h5");
    ok(1, &["generate", "-o", s(&p), "--docs", docs, "--classes", "4", "--vocab-size", "3000", "--mean-length", "30", "--seed", "3", "--quiet"]);
    p
}

#[test]
fn identical_output_at_every_rank_count() {
    let dir = scratch("ranks");
    let data = generated(&dir, "3000");
    let option_sets: [&[&str]; 3] = [
        &[],
        &["--ngram-range", "1,2", "--min-df", "2", "--max-df", "0.9", "--max-features", "2000", "--sublinear-tf"],
        &["--hashing", "4096", "--alternate-sign", "--binary"],
    ];
    for opts in option_sets {
        let mut first: Option<Matrix> = None;
        for ranks in 1..=4 {
            let out = dir.join(format!("v{ranks}.h5"));
            let mut args = vec!["vectorize", "--data", s(&data), "-o", s(&out), "--quiet"];
            args.extend_from_slice(opts);
            ok(ranks, &args);
            let m = read_matrix(&out);
            assert_eq!(m.shape[0], 3000);
            assert_eq!(m.indptr.len(), 3001);
            assert_eq!(m.label.as_ref().map(Vec::len), Some(3000));
            match &first {
                None => first = Some(m),
                Some(f) => assert!(f == &m, "{opts:?}: {ranks} ranks differ from 1 rank"),
            }
        }
    }
}

#[test]
fn fewer_documents_than_ranks_and_empty_documents() {
    let dir = scratch("tiny");
    let jsonl = dir.join("tiny.jsonl");
    std::fs::write(&jsonl, "{\"text\":\"alpha beta\",\"label\":1}\n{\"text\":\"\",\"label\":0}\n{\"text\":\"beta gamma gamma\",\"label\":1}\n").unwrap();
    let data = dir.join("tiny.h5");
    ok(1, &["prepare", s(&jsonl), "-o", s(&data), "--quiet"]);
    let one = dir.join("one.h5");
    ok(1, &["vectorize", "--data", s(&data), "-o", s(&one), "--quiet"]);
    let m1 = read_matrix(&one);
    assert_eq!(m1.vocabulary.as_deref(), Some(&["alpha".to_string(), "beta".into(), "gamma".into()][..]));
    assert_eq!(m1.indptr, [0, 2, 2, 4]);
    for ranks in [2, 4] {
        let out = dir.join(format!("o{ranks}.h5"));
        ok(ranks, &["vectorize", "--data", s(&data), "-o", s(&out), "--quiet"]);
        assert_eq!(read_matrix(&out), m1, "{ranks} ranks");
    }
}

#[test]
fn runs_without_a_launcher() {
    let dir = scratch("plain");
    let data = generated(&dir, "200");
    let out = dir.join("o.h5");
    let r = textsaga_plain(&["vectorize", "--data", s(&data), "-o", s(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("200 documents, 1 ranks"), "{}", r.stderr);
    assert_eq!(read_matrix(&out).shape[0], 200);
}

#[test]
fn generate_is_deterministic_per_seed() {
    let dir = scratch("seed");
    let a = dir.join("a.h5");
    let b = dir.join("b.h5");
    let c = dir.join("c.h5");
    for (p, seed) in [(&a, "5"), (&b, "5"), (&c, "6")] {
        ok(1, &["generate", "-o", s(p), "--docs", "500", "--classes", "3", "--seed", seed, "--quiet"]);
    }
    let read = |p: &std::path::Path| {
        let f = hdf5::File::open(p).unwrap();
        let bytes: Vec<u8> = f.dataset("text/bytes").unwrap().read_raw().unwrap();
        let labels: Vec<i64> = f.dataset("label").unwrap().read_raw().unwrap();
        (bytes, labels)
    };
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
    let labels = read(&a).1;
    assert!((0..3).all(|k| labels.contains(&k)));
}
