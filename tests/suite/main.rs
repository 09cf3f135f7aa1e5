//! The integration tests, one test binary: each file below is one concern,
//! as a module. One binary links (and thin-LTOs) the library once instead
//! of once a file, which was most of the tests' release build.
//!
//! Run one concern with a filter: `cargo test --release --test suite fit_mpi::`.

mod bad_input;
mod checkpoint_mpi;
mod common;
mod data_safety;
mod features;
mod fit_mpi;
mod fuzz;
mod in_process;
mod outside_signals;
mod parallel_write;
mod plan;
mod predict_output;
mod prepare;
mod threads;
mod vectorize_mpi;
