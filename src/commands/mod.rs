//! One module per command; each turns parsed arguments into work on the
//! communicator and returns errors only through `Comm::agree`, so that every
//! rank leaves a command together.

pub mod evaluate;
pub mod fit;
pub mod generate;
pub mod predict;
pub mod prepare;
pub mod vectorize;

use crate::cli::Command;
use crate::comm::Comm;
use crate::error::Result;

pub fn run(comm: &Comm, command: Command) -> Result<()> {
    match command {
        Command::Prepare(a) => prepare::run(comm, a),
        Command::Generate(a) => generate::run(comm, a),
        Command::Vectorize(a) => vectorize::run(comm, a),
        Command::Fit(a) => fit::run(comm, a),
        Command::Predict(a) => predict::run(comm, a),
        Command::Evaluate(a) => evaluate::run(comm, a),
    }
}

/// Runs `work` on rank 0 only (serial writers: prepare, generate) and lets
/// every rank leave with its result.
pub fn on_root(comm: &Comm, work: impl FnOnce() -> Result<()>) -> Result<()> {
    let result = if comm.is_root() { work() } else { Ok(()) };
    comm.agree(result)
}
