//! Outputs written by every rank at once through MPI-IO (parallel HDF5, the
//! default build) and in turns (`TEXTSAGA_PARALLEL_HDF5=0`, what a serial
//! HDF5 does) are the same files, at 1-3 ranks.

use crate::common::*;

/// Predicted labels as text (integer or string classes) and probabilities.
fn read_predictions(path: &std::path::Path) -> (Vec<String>, Vec<f64>) {
    let f = hdf5::File::open(path).unwrap();
    let ds = f.dataset("predicted").unwrap();
    let labels = match ds.read_raw::<hdf5::types::VarLenUnicode>() {
        Ok(v) => v.iter().map(|s| s.as_str().to_string()).collect(),
        Err(_) => ds.read_raw::<i64>().unwrap().iter().map(i64::to_string).collect(),
    };
    (labels, f.dataset("proba").unwrap().read_raw().unwrap())
}

/// Labels of a vectorize output as text.
fn read_labels(path: &std::path::Path) -> Vec<String> {
    let ds = hdf5::File::open(path).unwrap().dataset("label").unwrap();
    match ds.read_raw::<hdf5::types::VarLenUnicode>() {
        Ok(v) => v.iter().map(|s| s.as_str().to_string()).collect(),
        Err(_) => ds.read_raw::<i64>().unwrap().iter().map(i64::to_string).collect(),
    }
}

#[test]
fn parallel_and_turn_based_writes_give_the_same_files() {
    let dir = scratch("parallel-write");
    let (data, model) = (dir.join("c.h5"), dir.join("m.h5"));
    // String classes: parallel HDF5 cannot write variable-length strings, so they go in turns.
    let jsonl = dir.join("c.jsonl");
    let lines: String = (0..900).map(|i| format!("{{\"text\": \"doc {i} word{} w{} topic{}\", \"label\": \"class-{}\"}}\n", i % 37, i % 11, i % 3, i % 3)).collect();
    std::fs::write(&jsonl, lines).unwrap();
    ok(1, &["prepare", s(&jsonl), "-o", s(&data), "--quiet"]);
    ok(2, &["fit", "--data", s(&data), "--model", s(&model), "--max-iter", "3", "--quiet"]);
    for ranks in 1..=3 {
        let mut outputs = Vec::new();
        for parallel in ["1", "0"] {
            let (v, p) = (dir.join(format!("v{ranks}{parallel}.h5")), dir.join(format!("p{ranks}{parallel}.h5")));
            let metrics = dir.join("metrics.json");
            let env = [("TEXTSAGA_PARALLEL_HDF5", parallel)];
            let run = textsaga_env(ranks, &["vectorize", "--data", s(&data), "-o", s(&v), "--ngram-range", "1,2", "--quiet", "--metrics", s(&metrics)], &env);
            assert_eq!(run.code, 0, "{}", run.stderr);
            let how: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
            let want = if ranks > 1 && parallel == "1" { "mpi-io" } else { "turns" };
            assert_eq!(how["hdf5_write"], want, "{ranks} ranks, TEXTSAGA_PARALLEL_HDF5={parallel}");
            let run = textsaga_env(ranks, &["predict", "--model", s(&model), "--data", s(&data), "-o", s(&p), "--proba", "--quiet"], &env);
            assert_eq!(run.code, 0, "{}", run.stderr);
            outputs.push((read_matrix(&v), read_labels(&v), read_predictions(&p)));
        }
        assert_eq!(outputs[0].0.indptr.len(), 901, "{ranks} ranks: every row");
        assert!(outputs[0] == outputs[1], "{ranks} ranks: parallel and turn-based writes differ");
    }
}
