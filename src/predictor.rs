//! A fitted model applied to a corpus: each rank's documents as rows under
//! the model's vectorizer (its vocabulary and idf, no collectives but the
//! agreements), or its rows of a features file; then the class and
//! probabilities of each row. `predict` writes them; `evaluate` scores them
//! against the labels.

use crate::collectives::Collectives;
use crate::corpus::{read_features, read_slice, CorpusSlice, FeatureSlice, LabelNeed, Labels, ReadOptions};
use crate::error::Result;
use crate::model::Model;
use crate::phase::Phase;
use crate::run_report::RunReport;
use crate::solver::loss::{argmax_class, probabilities};
use crate::sparse::{row, Csr};
use crate::text::DecodeError;
use crate::vectorizer::transform;

/// What a model is applied to: a corpus of text (`--data`), or rows
/// vectorized already (`--features`).
pub enum Source<'a> {
    Text(ReadOptions, DecodeError),
    Features { path: &'a std::path::Path, label_dataset: &'a str },
}

/// This rank's share of the input: its rows, where they start, the labels.
pub struct Share {
    pub first: usize,
    pub n_total: usize,
    pub labels: Option<Labels>,
    pub rows: Csr,
}

/// Collective: this rank's rows of `source` under the model.
pub fn share(comm: &dyn Collectives, model: &Model, source: &Source, need: LabelNeed, report: &mut RunReport) -> Result<Share> {
    match source {
        Source::Text(input, policy) => {
            comm.agree(text_model(model, &input.path))?;
            let (slice, rows) = model_rows(comm, model, input, *policy, need, report)?;
            Ok(Share { first: slice.first, n_total: slice.n_total, labels: slice.labels, rows })
        }
        Source::Features { path, label_dataset } => {
            let f = report.timed(Phase::Read, comm.rank(), || read_features(path, label_dataset, comm.rank(), comm.size(), need));
            let f = comm.agree(f.and_then(|f| same_columns(model, &f, path).map(|()| f)))?;
            Ok(Share { first: f.first, n_total: f.n_total, labels: f.labels, rows: f.rows })
        }
    }
}

/// A model of features made elsewhere has no vectorizer for text.
fn text_model(model: &Model, data: &std::path::Path) -> Result<()> {
    if model.params.external_features {
        anyhow::bail!(
            "the model was fitted on features made outside textsaga (fit --features with a scipy matrix): it has no vectorizer \
             for the text of '{}', and predicts on features files only (--features F.h5 with the same columns)",
            data.display()
        );
    }
    Ok(())
}

/// The features file's columns must be the model's: the same vectorizer
/// (settings, vocabulary) for a file `vectorize` wrote, the same count for
/// features made elsewhere.
fn same_columns(model: &Model, f: &FeatureSlice, path: &std::path::Path) -> Result<()> {
    let name = path.display();
    if f.n_features != model.n_features {
        anyhow::bail!("'{name}' has {} columns and the model {}; predict on features made as the model's were", f.n_features, model.n_features);
    }
    match (&f.vectorizer, model.params.external_features) {
        (Some(v), false) if *v != model.params.vectorizer || f.vocabulary != model.vocabulary => {
            anyhow::bail!("'{name}' was vectorized with other settings or another vocabulary than the model's; vectorize with the model's (or predict on the text with --data)")
        }
        (Some(_), true) => anyhow::bail!("'{name}' was made by textsaga vectorize, but the model was fitted on features made elsewhere"),
        (None, false) => anyhow::bail!("'{name}' was not made by textsaga vectorize, and the model has its own vectorizer: predict on the text with --data"),
        _ => Ok(()),
    }
}

/// Collective: this rank's documents and their rows under the model's
/// vectorizer (fixed vocabulary and idf).
pub fn model_rows(comm: &dyn Collectives, model: &Model, input: &ReadOptions, policy: DecodeError, need: LabelNeed, report: &mut RunReport) -> Result<(CorpusSlice, Csr)> {
    let slice = report.timed(Phase::Read, comm.rank(), || read_slice(input, comm.rank(), comm.size(), need));
    let slice = comm.agree(slice)?;
    let rows = report.timed(Phase::Transform, comm.rank(), || {
        transform(&slice, &model.params.vectorizer, model.vocabulary.as_deref(), model.idf.as_deref(), policy, &input.path)
    });
    let mut rows = comm.agree(rows)?;
    if model.params.vectorizer.dtype == crate::tfidf::Dtype::Float32 {
        // The features the model was fitted on were rounded to float32: so are these.
        rows.data_mut().iter_mut().for_each(|v| *v = *v as f32 as f64);
    }
    Ok((slice, rows))
}

/// Class index and (when asked) probabilities of every row.
pub fn score(model: &Model, rows: &Csr, want_proba: bool) -> (Vec<u32>, Vec<f64>) {
    let (pred, mut columns) = score_columns(model, rows, Wanted { proba: want_proba, ..Wanted::default() });
    (pred, columns.pop().map(|c| c.values).unwrap_or_default())
}

/// Which per-class values `predict` writes beside the classes, each as
/// sklearn's method of that name gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted {
    pub decision_function: bool,
    pub proba: bool,
    pub log_proba: bool,
}

/// Values of every row under one name, row-major (rows x `width`):
/// `decision_function` is one column for two classes (as sklearn's), K
/// otherwise; `proba` and `log_proba` are K columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub width: usize,
    pub values: Vec<f64>,
}

/// Class index of every row and the wanted columns, in the order
/// decision_function, proba, log_proba.
pub fn score_columns(model: &Model, rows: &Csr, want: Wanted) -> (Vec<u32>, Vec<Column>) {
    let (k, width, n) = (model.classes.len(), model.width(), rows.rows());
    let column = |on: bool, name, width| on.then(|| Column { name, width, values: Vec::with_capacity(n * width) });
    let mut columns: Vec<Column> = [column(want.decision_function, "decision_function", width), column(want.proba, "proba", k), column(want.log_proba, "log_proba", k)]
        .into_iter()
        .flatten()
        .collect();
    let (mut raw, mut p) = (vec![0.0; width], vec![0.0; k]);
    let mut pred = Vec::with_capacity(n);
    for r in 0..n {
        let (cols, values) = row(rows, r);
        model.decision(cols, values, &mut raw);
        pred.push(argmax_class(&raw) as u32);
        if want.proba || want.log_proba {
            probabilities(&raw, &mut p);
        }
        for c in &mut columns {
            match c.name {
                "decision_function" => c.values.extend_from_slice(&raw),
                "proba" => c.values.extend_from_slice(&p),
                // sklearn's predict_log_proba: the log of predict_proba.
                _ => c.values.extend(p.iter().map(|v| v.ln())),
            }
        }
    }
    (pred, columns)
}
