//! Outputs written by every rank at once through MPI-IO (parallel HDF5, the
//! default build) and in turns (`TEXTSAGA_PARALLEL_HDF5=0`, what a serial
//! HDF5 does) are the same files, at 1-3 ranks.

mod common;
use common::*;

fn read_predictions(path: &std::path::Path) -> (Vec<i64>, Vec<f64>) {
    let f = hdf5::File::open(path).unwrap();
    (f.dataset("predicted").unwrap().read_raw().unwrap(), f.dataset("proba").unwrap().read_raw().unwrap())
}

#[test]
fn parallel_and_turn_based_writes_give_the_same_files() {
    let dir = scratch("parallel-write");
    let (data, model) = (dir.join("c.h5"), dir.join("m.h5"));
    ok(1, &["generate", "-o", s(&data), "--docs", "900", "--classes", "3", "--seed", "9", "--quiet"]);
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
            outputs.push((read_matrix(&v), read_predictions(&p)));
        }
        assert_eq!(outputs[0].0.indptr.len(), 901, "{ranks} ranks: every row");
        assert!(outputs[0] == outputs[1], "{ranks} ranks: parallel and turn-based writes differ");
    }
}
