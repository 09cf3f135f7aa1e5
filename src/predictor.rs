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
    let k = model.classes.len();
    let mut raw = vec![0.0; model.width()];
    let mut pred = Vec::with_capacity(rows.rows());
    let mut proba = Vec::with_capacity(if want_proba { rows.rows() * k } else { 0 });
    let mut p = vec![0.0; k];
    for r in 0..rows.rows() {
        let (cols, values) = row(rows, r);
        model.decision(cols, values, &mut raw);
        pred.push(argmax_class(&raw) as u32);
        if want_proba {
            probabilities(&raw, &mut p);
            proba.extend_from_slice(&p);
        }
    }
    (pred, proba)
}
