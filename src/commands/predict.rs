//! `predict`: labels (and probabilities) for every document, each rank its
//! own slice, written in document order.

use crate::cli::{InputArgs, PredictArgs};
use crate::comm::Comm;
use crate::corpus::{read_slice, CorpusSlice, LabelNeed};
use crate::error::Result;
use crate::features::transform;
use crate::model::Model;
use crate::output::{create_labels, offset_of, write_in_turns, write_labels_at, AtomicPath};
use crate::solver::loss::{argmax_class, probabilities};
use crate::run_report::{phase_summary, RunReport};
use crate::tfidf::counts::Rows;
use std::time::Instant;

/// Collective: this rank's documents and their rows under the model's
/// vectorizer (fixed vocabulary and idf).
pub fn model_rows(comm: &Comm, model: &Model, input: &InputArgs, need: LabelNeed, report: &mut RunReport) -> Result<(CorpusSlice, Rows)> {
    let slice = report.timed("read", || read_slice(&input.read_options(), comm.rank(), comm.size(), need));
    let slice = comm.agree(slice)?;
    let rows = report.timed("transform", || {
        transform(&slice, &model.params.vectorizer, model.vocabulary.as_deref(), model.idf.as_deref(), input.decode_error, &input.data)
    });
    let rows = comm.agree(rows)?;
    Ok((slice, rows))
}

/// Class index and (when asked) probabilities of every row.
pub fn score(model: &Model, rows: &Rows, want_proba: bool) -> (Vec<u32>, Vec<f64>) {
    let k = model.classes.len();
    let mut raw = vec![0.0; model.width()];
    let mut pred = Vec::with_capacity(rows.n_rows());
    let mut proba = Vec::with_capacity(if want_proba { rows.n_rows() * k } else { 0 });
    let mut p = vec![0.0; k];
    for r in 0..rows.n_rows() {
        let (a, b) = (rows.indptr[r], rows.indptr[r + 1]);
        model.decision(&rows.cols[a..b], &rows.values[a..b], &mut raw);
        pred.push(argmax_class(&raw) as u32);
        if want_proba {
            probabilities(&raw, &mut p);
            proba.extend_from_slice(&p);
        }
    }
    (pred, proba)
}

pub fn run(comm: &Comm, args: PredictArgs) -> Result<()> {
    let mut report = RunReport::new("predict");
    let out = AtomicPath::new(&args.output, comm.is_root());
    comm.agree(if comm.is_root() { out.create_h5().map(drop) } else { Ok(()) })?;
    let model = comm.agree(Model::read(&args.model))?;
    let (_, rows) = model_rows(comm, &model, &args.input, LabelNeed::Optional, &mut report)?;
    let (pred, proba) = report.timed("predict", || score(&model, &rows, args.proba));
    let t = Instant::now();
    let labels = model.classes.decode(&pred);
    let (at, n) = offset_of(comm, pred.len());
    let k = model.classes.len();
    write_in_turns(
        comm,
        out,
        |f| {
            create_labels(f, "predicted", &labels, n)?;
            if args.proba {
                f.new_dataset::<f64>().shape((n, k)).create("proba")?;
            }
            Ok(())
        },
        |f| {
            write_labels_at(&f.dataset("predicted")?, at, &labels)?;
            if args.proba && !pred.is_empty() {
                let arr = ndarray::Array2::from_shape_vec((pred.len(), k), proba.clone())?;
                f.dataset("proba")?.write_slice(&arr, ndarray::s![at..at + pred.len(), ..])?;
            }
            Ok(())
        },
    )?;
    report.phase("write", t.elapsed().as_secs_f64());
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
