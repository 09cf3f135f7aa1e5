//! A fitted model applied to a corpus: each rank's documents as rows under
//! the model's vectorizer (its vocabulary and idf, no collectives but the
//! agreements), then the class and probabilities of each row. `predict`
//! writes them; `evaluate` scores them against the labels.

use crate::collectives::Collectives;
use crate::corpus::{read_slice, CorpusSlice, LabelNeed, ReadOptions};
use crate::error::Result;
use crate::model::Model;
use crate::phase::Phase;
use crate::run_report::RunReport;
use crate::solver::loss::{argmax_class, probabilities};
use crate::sparse::{row, Csr};
use crate::text::DecodeError;
use crate::vectorizer::transform;

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
