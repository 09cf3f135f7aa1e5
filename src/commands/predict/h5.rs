//! Predictions as HDF5: `predicted` (the classes' type), `proba` and
//! `log_proba` (n, K) with `--proba` and `--log-proba`,
//! `decision_function` ((n,) for two classes, (n, K) otherwise) with
//! `--decision-function`, and `id` (int64 or strings, as the corpus's ids).

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
    write_from_all_ranks(
        comm,
        dest,
        |f| {
            create_labels(f, "predicted", &p.labels, n)?;
            create_labels(f, "id", &p.ids, n)?;
            for c in &p.columns {
                match c.width {
                    1 => f.new_dataset::<f64>().shape(n).create(c.name)?,
                    w => f.new_dataset::<f64>().shape((n, w)).create(c.name)?,
                };
            }
            Ok(())
        },
        |f| {
            for c in p.columns.iter().filter(|_| !p.is_empty()) {
                match c.width {
                    1 => write_at(&f.dataset(c.name)?, at, &c.values)?,
                    w => {
                        let arr = ndarray::ArrayView2::from_shape((p.len(), w), &c.values)?;
                        f.dataset(c.name)?.write_slice(arr, ndarray::s![at..at + p.len(), ..])?;
                    }
                }
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
