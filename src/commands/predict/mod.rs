//! `predict`: labels (and probabilities) for every document, each rank its
//! own slice, written in document order.

use crate::cli::PredictArgs;
use crate::collectives::Collectives;
use crate::corpus::LabelNeed;
use crate::error::Result;
use crate::model::Model;
use crate::predictor::{model_rows, score};
use crate::corpus::labels::{create_labels, write_labels_at};
use crate::phase::Phase;
use crate::output::{write_from_all_ranks, AtomicPath};
use crate::same_file::{named, refuse_overwriting};
use crate::run_report::{phase_summary, RunReport};

pub fn run(comm: &dyn Collectives, args: PredictArgs) -> Result<()> {
    let mut report = RunReport::new("predict");
    let mut outputs = vec![named("-o", &args.output)];
    outputs.extend(args.run.metrics.as_deref().map(|m| named("--metrics", m)));
    comm.agree(refuse_overwriting(&[named("--model", &args.model), named("--data", &args.input.data)], &outputs))?;
    AtomicPath::probe(comm, &args.output)?;
    let model = comm.agree(Model::read(&args.model))?;
    let (_, rows) = model_rows(comm, &model, &args.input.read_options(), args.input.decode_error, LabelNeed::Optional, &mut report)?;
    let (pred, proba) = report.timed(Phase::Predict, comm.rank(), || score(&model, &rows, args.proba));
    let t = Phase::Write.begin(comm.rank());
    let labels = model.classes.decode(&pred);
    let (at, n) = comm.offset_of(pred.len());
    let k = model.classes.len();
    let how = write_from_all_ranks(
        comm,
        AtomicPath::new(&args.output, comm.is_root()),
        |f| {
            create_labels(f, "predicted", &labels, n)?;
            if args.proba {
                f.new_dataset::<f64>().shape((n, k)).create("proba")?;
            }
            Ok(())
        },
        |f| {
            if args.proba && !pred.is_empty() {
                let arr = ndarray::Array2::from_shape_vec((pred.len(), k), proba.clone())?;
                f.dataset("proba")?.write_slice(&arr, ndarray::s![at..at + pred.len(), ..])?;
            }
            Ok(())
        },
        // Labels may be strings, which parallel HDF5 cannot write: in turns.
        |f| write_labels_at(&f.dataset("predicted")?, at, &labels),
    )?;
    crate::signals::finished();
    report.set("hdf5_write", how);
    report.since(Phase::Write, t);
    report.set("documents", n);
    let r = report.finish(comm, args.run.metrics.as_deref())?;
    if comm.is_root() && !args.common.quiet {
        crate::say!(
            "textsaga predict: {n} documents, {} ranks -> {} in {:.2} s ({})",
            comm.size(),
            args.output.display(),
            r["total_seconds"].as_f64().unwrap_or(0.0),
            phase_summary(&r)
        );
    }
    Ok(())
}
