//! One module per command; each turns parsed arguments into work on the
//! communicator and returns errors only through `agree` (see `collectives`), so that every
//! rank leaves a command together.

pub mod evaluate;
pub mod fit;
pub mod generate;
pub mod plan;
pub mod predict;
pub mod prepare;
pub mod vectorize;

use crate::cli::Command;
use crate::collectives::Collectives;
use crate::error::Result;

pub fn run(comm: &dyn Collectives, command: Command) -> Result<()> {
    match command {
        Command::Prepare(a) => prepare::run(comm, a),
        Command::Generate(a) => generate::run(comm, a),
        Command::Vectorize(a) => vectorize::run(comm, a),
        Command::Fit(a) => fit::run(comm, a),
        Command::Predict(a) => predict::run(comm, a),
        Command::Evaluate(a) => evaluate::run(comm, a),
        Command::Plan(a) => plan::run(comm, a),
    }
}

/// What `predict` and `evaluate` apply the model to: the text of `--data`,
/// or the rows of `--features`.
fn source(args: &crate::cli::SourceArgs) -> crate::predictor::Source<'_> {
    match (&args.features, &args.data) {
        (Some(path), _) => crate::predictor::Source::Features { path, label_dataset: &args.text.label_dataset },
        (None, Some(data)) => crate::predictor::Source::Text(args.text.read_options(data), args.text.decode_error),
        (None, None) => unreachable!("clap requires --data or --features"),
    }
}
