//! textsaga: scikit-learn's `TfidfVectorizer` + `LogisticRegression(solver="saga")`
//! as an MPI program.
//!
//! Layers, each importing only from the ones above it in this list (no
//! module cycles):
//!
//! 1. foundations: `error`, `log`, `faults`, `phase` (the phases of a run,
//!    one list), `signals` (stop requests),
//!    `crash` (a crash inside HDF5: one line), `same_file` (no output over
//!    an input), `sparse` (CSR on sprs), `varint`, `prefetch` and `hugepages`
//!    (random memory reads), `h5` (HDF5 helpers), `collectives` (the trait
//!    every collective goes through; MPI and in-process backends), `output`
//!    (outputs that appear whole or not at all);
//! 2. pure computation: `text` (decoding, tokenizer), `tfidf` (counting,
//!    pruning, weighting), `scores`;
//! 3. `corpus`: the HDF5 layouts, the split among ranks, reading and writing;
//! 4. distributed algorithms over `&dyn Collectives`: `vectorizer`,
//!    `classes`, `solver` (the problem, the `Solver` trait, SAGA, L-BFGS,
//!    the factory of modes, `--solver auto`), `selection` (the CV path);
//! 5. results: `model`, `checkpoint` (named arrays), `run_report`, `predictor`,
//!    `sizing` (the cost model's rule for how many ranks a job asks for);
//! 6. the program: `cli` (flags resolved into the options above once), `commands`.
//!
//! The maths never names MPI, so every multi-rank behaviour runs at any rank
//! count inside one process (`collectives::local`, `tests/suite/in_process.rs`).

pub mod checkpoint;
pub mod classes;
pub mod cli;
pub mod collectives;
pub mod crash;
pub mod commands;
pub mod corpus;
pub mod error;
pub mod faults;
pub mod h5;
pub mod hugepages;
pub mod log;
pub mod model;
pub mod output;
pub mod phase;
pub mod prefetch;
pub mod predictor;
pub mod roc_auc;
pub mod run_report;
pub mod same_file;
pub mod scores;
pub mod selection;
pub mod signals;
pub mod sizing;
pub mod solver;
pub mod sparse;
pub mod text;
pub mod threads;
pub mod varint;
pub mod tfidf;
pub mod vectorizer;
