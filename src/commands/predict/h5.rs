//! Predictions as HDF5: `predicted` (the classes' type), `proba` (n, K)
//! with `--proba`, and `id` (int64 or strings, as the corpus's ids).

use super::Predictions;
use crate::collectives::Collectives;
use crate::corpus::labels::{create_labels, write_labels_at};
use crate::corpus::Labels;
use crate::error::Result;
use crate::h5::write_at;
use crate::output::write_from_all_ranks;
use std::path::Path;

/// Collective: writes every rank's predictions at their offsets; returns
/// how the numbers were written (see [`write_from_all_ranks`]).
pub fn write(comm: &dyn Collectives, dest: &Path, p: &Predictions) -> Result<&'static str> {
    let (at, n) = comm.offset_of(p.len());
    let k = p.classes.len();
    write_from_all_ranks(
        comm,
        dest,
        |f| {
            create_labels(f, "predicted", &p.labels, n)?;
            create_labels(f, "id", &p.ids, n)?;
            if p.with_proba {
                f.new_dataset::<f64>().shape((n, k)).create("proba")?;
            }
            Ok(())
        },
        |f| {
            if p.with_proba && !p.is_empty() {
                let arr = ndarray::ArrayView2::from_shape((p.len(), k), &p.proba)?;
                f.dataset("proba")?.write_slice(arr, ndarray::s![at..at + p.len(), ..])?;
            }
            match &p.ids {
                Labels::Int(ids) => write_at(&f.dataset("id")?, at, ids),
                Labels::Str(_) => Ok(()),
            }
        },
        // Labels and ids may be strings, which parallel HDF5 cannot write: in turns.
        |f| {
            write_labels_at(&f.dataset("predicted")?, at, &p.labels)?;
            match &p.ids {
                Labels::Str(_) => write_labels_at(&f.dataset("id")?, at, &p.ids),
                Labels::Int(_) => Ok(()),
            }
        },
    )
}
