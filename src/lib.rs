//! textsaga: scikit-learn's `TfidfVectorizer` + `LogisticRegression(solver="saga")`
//! as an MPI program.
//!
//! Layout: pure computation (`text`, `tfidf`, `corpus::partition`) is kept apart
//! from MPI (`comm`, `vocab_merge`, `features`) and from I/O (`corpus`,
//! `output`), so the maths is unit-tested on one rank.

pub mod checkpoint;
pub mod classes;
pub mod cli;
pub mod collectives;
pub mod commands;
pub mod corpus;
pub mod error;
pub mod faults;
pub mod h5;
pub mod log;
pub mod scores;
pub mod model;
pub mod output;
pub mod predictor;
pub mod run_report;
pub mod solver;
pub mod sparse;
pub mod text;
pub mod tfidf;
pub mod vectorizer;
