//! `--threads`: threads inside a rank change the time, never the model. An
//! L-BFGS fit on 1 and 2 ranks gives every dataset and attribute of the
//! model bit for bit at 1, 2 and 3 threads a rank (L2, L1 through OWL-QN,
//! float32 rows); `vectorize` gives the same matrix bit for bit and names
//! the same bad document; the default follows the batch system; a bad
//! count ends with one line.

use crate::common::*;
use std::path::Path;

fn fit(ranks: usize, data: &Path, model: &Path, threads: &str, extra: &[&str]) -> Run {
    ok(ranks, &[&["fit", "--data", s(data), "--model", s(model), "--solver", "lbfgs", "--threads", threads, "--max-iter", "40"], extra].concat())
}

#[test]
fn threads_give_the_same_model_bit_for_bit() {
    let dir = scratch("threads");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "900", "--classes", "4", "--vocab-size", "1500", "--mean-length", "25", "--seed", "9", "--quiet"]);
    let cases: [&[&str]; 3] = [&["--ngram-range", "1,2", "--min-df", "2"], &["--l1-ratio", "1", "-C", "3"], &["--dtype", "float32"]];
    for (case, extra) in cases.iter().enumerate() {
        for ranks in [1, 2] {
            let one = dir.join(format!("m{case}-{ranks}x1.h5"));
            fit(ranks, &data, &one, "1", extra);
            for threads in ["2", "3"] {
                let many = dir.join(format!("m{case}-{ranks}x{threads}.h5"));
                let r = fit(ranks, &data, &many, threads, extra);
                assert!(r.stderr.contains(&format!("{ranks} ranks x {threads} threads:")), "the summary names the threads:\n{}", r.stderr);
                assert_eq!(model_bits(&one), model_bits(&many), "{extra:?} at {ranks} ranks: 1 thread against {threads}");
            }
        }
    }
}

#[test]
fn the_thread_count_defaults_to_the_batch_systems() {
    let dir = scratch("threads-env");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "200", "--classes", "3", "--seed", "2", "--quiet"]);
    let threads_of = |env: &[(&str, &str)], flag: &[&str]| {
        let metrics = dir.join("m.json");
        let r = textsaga_env(2, &[&["fit", "--data", s(&data), "--model", s(&dir.join("m.h5")), "--solver", "lbfgs", "--quiet", "--metrics", s(&metrics)], flag].concat(), env);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
        m["threads"].as_u64().expect("threads in the metrics")
    };
    assert_eq!(threads_of(&[], &[]), 1);
    assert_eq!(threads_of(&[("OMP_NUM_THREADS", "3")], &[]), 3);
    assert_eq!(threads_of(&[("SLURM_CPUS_PER_TASK", "2"), ("OMP_NUM_THREADS", "3")], &[]), 2);
    assert_eq!(threads_of(&[("SLURM_CPUS_PER_TASK", "2")], &["--threads", "1"]), 1, "the flag wins");
}

#[test]
fn a_bad_thread_count_ends_with_one_line() {
    let dir = scratch("threads-bad");
    for bad in ["0", "1.5", "many"] {
        let r = textsaga(2, &["fit", "--data", s(&dir.join("none.h5")), "--model", s(&dir.join("m.h5")), "--threads", bad]);
        assert_eq!(r.code, 2, "--threads {bad}: a usage error\n{}", r.stderr);
        assert!(r.stderr.contains("--threads"), "{}", r.stderr);
    }
}

/// A vectorized corpus's data, indices, indptr, vocabulary and idf.
type MatrixBits = (Vec<u64>, Vec<i64>, Vec<i64>, Option<Vec<String>>, Option<Vec<u64>>);

/// Every dataset of a vectorized corpus, values as their bits.
fn matrix_bits(path: &Path) -> MatrixBits {
    let m = read_matrix(path);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    (bits(&m.data), m.indices, m.indptr, m.vocabulary, m.idf.as_deref().map(bits))
}

/// `vectorize` tokenizes on the rank's threads: the same matrix, vocabulary
/// and idf bit for bit at 1 and 3 threads a rank, at 1 and 2 ranks.
#[test]
fn vectorize_threads_give_the_same_matrix() {
    let dir = scratch("threads-vectorize");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "700", "--classes", "3", "--vocab-size", "2000", "--mean-length", "30", "--seed", "4", "--quiet"]);
    let cases: [&[&str]; 4] = [&[], &["--ngram-range", "1,2", "--min-df", "2"], &["--analyzer", "char_wb", "--ngram-range", "2,4"], &["--hashing", "512"]];
    for (case, extra) in cases.iter().enumerate() {
        for ranks in [1, 2] {
            let run = |threads: &str| {
                let out = dir.join(format!("v{case}-{ranks}x{threads}.h5"));
                let r = ok(ranks, &[&["vectorize", "--data", s(&data), "-o", s(&out), "--threads", threads], *extra].concat());
                (out, r)
            };
            let (one, _) = run("1");
            let (many, r) = run("3");
            assert!(r.stderr.contains(&format!("{ranks} ranks x 3 threads,")), "the summary names the threads:\n{}", r.stderr);
            let (a, b) = (matrix_bits(&one), matrix_bits(&many));
            assert!(!a.0.is_empty() && a.3.is_some() == (case != 3), "{extra:?}: a real matrix");
            assert!(a == b, "{extra:?} at {ranks} ranks: 1 thread against 3");
        }
    }
}

/// A document that cannot be decoded ends the run with the same one line
/// at 3 threads a rank as at 1: the first bad document's, whichever thread
/// met it (two bad documents, in different threads' spans).
#[test]
fn vectorize_threads_name_the_first_bad_document() {
    let dir = scratch("threads-utf8");
    let mut docs: Vec<Vec<u8>> = (0..60).map(|i| format!("document number {i} with some words").into_bytes()).collect();
    docs[23] = b"bad \xff byte".to_vec();
    docs[50] = b"another \xfe one".to_vec();
    let data = dir.join("c.h5");
    write_h5(&data, |f| {
        let g = f.create_group("text").unwrap();
        let mut offsets = vec![0u64];
        docs.iter().for_each(|d| offsets.push(offsets.last().unwrap() + d.len() as u64));
        g.new_dataset_builder().with_data(&docs.concat()).create("bytes").unwrap();
        g.new_dataset_builder().with_data(&offsets).create("offsets").unwrap();
    });
    for ranks in [1, 2] {
        let line = |threads: &str| {
            let r = textsaga(ranks, &["vectorize", "--data", s(&data), "-o", s(&dir.join("out.h5")), "--threads", threads]);
            assert_eq!(r.code, 1, "{}", r.stderr);
            assert_eq!(r.error_lines().len(), 1, "one error line:\n{}", r.stderr);
            r.error_lines()[0].to_owned()
        };
        let one = line("1");
        assert!(one.contains("document 23: not valid UTF-8"), "{one}");
        assert_eq!(line("3"), one, "at {ranks} ranks");
        assert_no_output(&dir, "out.h5");
    }
}

/// `predict` and `evaluate` count the documents' terms on the rank's
/// threads: the same predictions, probabilities and report at 3 threads as
/// at 1 (a bigram vocabulary, at 1 and 2 ranks).
#[test]
fn predict_and_evaluate_threads_give_the_same_scores() {
    let dir = scratch("threads-predict");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "500", "--classes", "3", "--vocab-size", "1500", "--mean-length", "25", "--seed", "6", "--quiet"]);
    let model = dir.join("m.h5");
    ok(1, &["fit", "--data", s(&data), "--model", s(&model), "--ngram-range", "1,2", "--max-iter", "20", "--quiet"]);
    for ranks in [1, 2] {
        let scores = |threads: &str| {
            let out = dir.join(format!("p{ranks}x{threads}.csv"));
            ok(ranks, &["predict", "--model", s(&model), "--data", s(&data), "-o", s(&out), "--proba", "--threads", threads, "--quiet"]);
            let report = ok(ranks, &["evaluate", "--model", s(&model), "--data", s(&data), "--json", "--threads", threads]).stdout;
            (std::fs::read_to_string(&out).unwrap(), report)
        };
        let one = scores("1");
        assert!(one.0.lines().count() == 501 && one.1.contains("accuracy"), "{one:?}");
        assert!(scores("3") == one, "at {ranks} ranks: 1 thread against 3");
    }
}

/// A stop signal while a rank tokenizes on its threads (SIGUSR1 raised as
/// the phase starts) ends the job as at one thread: 128 + 10, one line, no
/// output.
#[test]
fn a_signal_stops_tokenizing_threads() {
    let dir = scratch("threads-signal");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "300", "--seed", "3", "--quiet"]);
    let out = dir.join("out.h5");
    for ranks in [1, 2] {
        for extra in [&[][..], &["--hashing", "256"]] {
            let signal = format!("tokenize:{}", ranks - 1);
            let args = [&["vectorize", "--data", s(&data), "-o", s(&out), "--threads", "3"], extra].concat();
            let r = textsaga_env(ranks, &args, &[("TEXTSAGA_TEST_SIGNAL", &signal)]);
            assert_eq!(r.code, 138, "{extra:?} at {ranks} ranks\n{}", r.stderr);
            assert_eq!(r.error_lines().len(), 1, "{}", r.stderr);
            assert!(r.error_lines()[0].contains("stopped by SIGUSR1"), "{}", r.stderr);
            assert_no_output(&dir, "out.h5");
        }
    }
}

/// Ranks with fewer documents than threads, and a rank with none: threads
/// that get no rows change nothing.
#[test]
fn threads_beyond_the_documents_change_nothing() {
    let dir = scratch("threads-few");
    let data = dir.join("c.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "5", "--classes", "2", "--seed", "3", "--quiet"]);
    for solver in ["lbfgs", "saga"] {
        let (one, many) = (dir.join(format!("{solver}1.h5")), dir.join(format!("{solver}4.h5")));
        let fit = |model: &Path, threads: &str| ok(3, &["fit", "--data", s(&data), "--model", s(model), "--solver", solver, "--threads", threads, "--quiet"]);
        fit(&one, "1");
        fit(&many, "4");
        assert_eq!(model_bits(&one), model_bits(&many), "{solver}: 5 documents on 3 ranks, 1 thread against 4");
    }
}
