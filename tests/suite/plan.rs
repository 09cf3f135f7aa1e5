//! `plan`: the sizing rule's estimates checked against the corpus's real
//! figures (vectorize's matrix), its table and recommendation, and one
//! report from a multi-rank launch.

use crate::common::*;

fn plan_json(ranks: usize, data: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", "--data", data, "--json", "--max-ranks", "8", "--mem-per-rank", "1"];
    args.extend_from_slice(extra);
    let run = ok(ranks, &args);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("plan --json printed no JSON ({e}): {}", run.stdout))
}

#[test]
fn estimates_match_the_corpus_and_the_table_is_complete() {
    let dir = scratch("plan");
    let data = dir.join("corpus.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "8000", "--classes", "5", "--vocab-size", "3000", "--mean-length", "40", "--seed", "5", "--quiet"]);
    let feats = dir.join("features.h5");
    ok(1, &["vectorize", "--data", s(&data), "-o", s(&feats), "--quiet"]);
    let m = read_matrix(&feats);
    let (docs, nnz, columns) = (m.shape[0] as f64, m.data.len() as f64, m.shape[1] as f64);

    let p = plan_json(1, s(&data), &[]);
    assert_eq!(p["documents"].as_f64(), Some(docs));
    assert_eq!(p["classes"].as_u64(), Some(5));
    let z = p["nnz_per_doc"].as_f64().unwrap();
    assert!((z / (nnz / docs) - 1.0).abs() < 0.1, "non-zeros a document: estimated {z}, real {}", nnz / docs);
    // Heaps' law from a sample: not below the real vocabulary by much, not wildly above.
    let d = p["features"].as_f64().unwrap();
    assert!(d > 0.8 * columns && d < 5.0 * columns, "features: estimated {d}, real {columns}");
    let ranks: Vec<u64> = p["rows"].as_array().unwrap().iter().map(|r| r["ranks"].as_u64().unwrap()).collect();
    assert_eq!(ranks, [1, 2, 4, 8]);
    let rec = p["recommended"].as_u64().unwrap();
    assert!((1..=8).contains(&rec) && rec >= p["fits_memory"].as_u64().unwrap_or(8));

    // Bigrams: more non-zeros a document, measured on the sample as vectorize would make them.
    let bigrams = plan_json(1, s(&data), &["--ngram-range", "1,2"]);
    assert!(bigrams["nnz_per_doc"].as_f64().unwrap() > 1.5 * z);
}

#[test]
fn one_report_from_many_ranks_with_the_asked_count_marked() {
    let dir = scratch("plan-ranks");
    let data = dir.join("corpus.h5");
    ok(1, &["generate", "-o", s(&data), "--docs", "2000", "--classes", "3", "--seed", "2", "--quiet"]);
    let run = ok(2, &["plan", "--data", s(&data), "--ranks", "6", "--max-ranks", "16"]);
    assert_eq!(run.stdout.matches("textsaga plan:").count(), 1, "{}", run.stdout);
    assert!(run.stdout.lines().any(|l| l.trim_start().starts_with("6 ") && l.ends_with("<- --ranks")), "{}", run.stdout);
    assert!(run.stdout.contains("recommended:"));
}
