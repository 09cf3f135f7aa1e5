//! `predict`: labels (and decision function, probabilities and log
//! probabilities, as asked) for every document, each rank its
//! own slice, written in document order beside each document's id (the
//! corpus's `id`, else its row number) as HDF5, CSV or JSON Lines.

mod csv;
mod h5;
mod jsonl;

use crate::classes::Classes;
use crate::cli::{PredictArgs, PredictFormat};
use crate::collectives::Collectives;
use crate::corpus::ids::read_ids;
use crate::corpus::{LabelNeed, Labels};
use crate::error::Result;
use crate::model::Model;
use crate::output::{write_text_from_all_ranks, AtomicPath};
use crate::phase::Phase;
use super::source;
use crate::predictor::{score_columns, share, Column, Share, Wanted};
use crate::run_report::{phase_summary, RunReport};
use crate::same_file::{named, refuse_overwriting};
use std::borrow::Cow;

/// One rank's predictions, in document order: what every format writes.
pub struct Predictions<'a> {
    /// The documents' ids.
    pub ids: Labels,
    /// The predicted classes, of the model's classes' type.
    pub labels: Labels,
    /// `--decision-function`, `--proba`, `--log-proba`: the values asked
    /// for, in that order (a rank with no documents has none, yet writes
    /// the CSV header's columns).
    pub columns: Vec<Column>,
    /// The model's classes, in the order of each column's values.
    pub classes: &'a Classes,
}

impl Predictions<'_> {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Document `i`'s values of `column`.
    pub fn row<'c>(&self, column: &'c Column, i: usize) -> &'c [f64] {
        &column.values[i * column.width..(i + 1) * column.width]
    }
}

/// Value `i` of an id or label column as text.
fn text(values: &Labels, i: usize) -> Cow<'_, str> {
    match values {
        Labels::Int(v) => Cow::Owned(v[i].to_string()),
        Labels::Str(v) => Cow::Borrowed(&v[i]),
    }
}

pub fn run(comm: &dyn Collectives, args: PredictArgs) -> Result<()> {
    let mut report = RunReport::new("predict");
    crate::threads::set(args.threads.threads());
    report.set("threads", crate::threads::count());
    crate::log::warn_once(comm.is_root(), crate::threads::affinity_warning());
    let format = args.format();
    let mut outputs = vec![named("-o", &args.output)];
    outputs.extend(args.run.metrics.as_deref().map(|m| named("--metrics", m)));
    let (flag, input) = args.input.named();
    comm.agree(refuse_overwriting(&[named("--model", &args.model), named(flag, input)], &outputs))?;
    match format {
        PredictFormat::H5 => AtomicPath::probe(comm, &args.output)?,
        PredictFormat::Csv | PredictFormat::Jsonl => AtomicPath::probe_file(comm, &args.output)?,
    }
    let model = comm.agree(Model::read(&args.model))?;
    let source = source(&args.input);
    let Share { first, n_total, rows, .. } = share(comm, &model, &source, LabelNeed::Optional, &mut report)?;
    let t = std::time::Instant::now();
    let ids = comm.agree(read_ids(input, first, rows.rows(), n_total))?;
    report.since(Phase::Read, t);
    let want = Wanted { decision_function: args.decision_function, proba: args.proba, log_proba: args.log_proba };
    let (pred, columns) = report.timed(Phase::Predict, comm.rank(), || score_columns(&model, &rows, want));
    let t = Phase::Write.begin(comm.rank());
    let p = Predictions { ids, labels: model.classes.decode(&pred), columns, classes: &model.classes };
    let n = comm.offset_of(p.len()).1;
    match format {
        PredictFormat::H5 => report.set("hdf5_write", h5::write(comm, &args.output, &p)?),
        PredictFormat::Csv => write_text_from_all_ranks(comm, &args.output, |w| csv::write_rows(w, &p, comm.is_root()))?,
        PredictFormat::Jsonl => write_text_from_all_ranks(comm, &args.output, |w| jsonl::write_rows(w, &p))?,
    }
    crate::signals::finished();
    report.set("format", format.name());
    report.since(Phase::Write, t);
    report.set("documents", n);
    let r = report.finish(comm, args.run.metrics.as_deref())?;
    if comm.is_root() && !args.common.quiet {
        crate::say!(
            "textsaga predict: {n} documents, {} ranks{} -> {} in {:.2} s ({})",
            comm.size(),
            crate::threads::summary(),
            args.output.display(),
            r["total_seconds"].as_f64().unwrap_or(0.0),
            phase_summary(&r)
        );
    }
    Ok(())
}
