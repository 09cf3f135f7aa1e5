//! `--threads`: threads inside a rank change the time, never the model. An
//! L-BFGS fit on 1 and 2 ranks gives every dataset and attribute of the
//! model bit for bit at 1, 2 and 3 threads a rank (L2, L1 through OWL-QN,
//! float32 rows); the default follows the batch system; a bad count ends
//! with one line.

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
