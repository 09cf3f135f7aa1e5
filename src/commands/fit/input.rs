//! Where `fit`'s training rows come from: a corpus vectorized here
//! (`--data`), or the file `vectorize` made of one (`--features`: read, not
//! tokenized, so a C path, a requeued job or a second model pays the
//! vectorizer once). Either way every rank ends with its rows, its labels as
//! class indices and the classes of the whole corpus.

use crate::classes::{global_classes, Classes};
use crate::cli::FitArgs;
use crate::collectives::Collectives;
use crate::corpus::{read_features, read_slice, LabelNeed, Labels};
use crate::error::{usage, Result};
use crate::phase::Phase;
use crate::run_report::RunReport;
use crate::tfidf::VectorizerOptions;
use crate::vectorizer::{fit_transform, Features, PhaseTimes};
use anyhow::{anyhow, bail};

/// A fit's input, every rank's share of it.
pub struct Input {
    pub classes: Classes,
    /// This rank's labels as class indices.
    pub y: Vec<u32>,
    pub feats: Features,
    /// Global index of this rank's first document.
    pub first: usize,
    /// The vectorizer the rows were made with: the flags' for `--data`, the
    /// file's for `--features`.
    pub vopts: VectorizerOptions,
    /// The rows came from features made outside textsaga: there is no
    /// vectorizer to apply to text, and the model says so.
    pub external: bool,
}

/// Collective: reads (and for `--data`, vectorizes) this rank's share.
/// `flags` are the vectorizer options of the command line.
pub fn read(comm: &dyn Collectives, args: &FitArgs, flags: VectorizerOptions, report: &mut RunReport) -> Result<Input> {
    let (labels, feats, first, vopts) = match (&args.input.features, &args.input.data) {
        (Some(path), _) => {
            comm.agree(if flags == VectorizerOptions::default() {
                Ok(())
            } else {
                Err(usage(format!(
                    "vectorizer flags do not apply with --features: '{}' holds rows vectorized already (its settings go into the model); drop them",
                    path.display()
                )))
            })?;
            from_features(comm, args, path, report)?
        }
        (None, Some(path)) => from_text(comm, args, path, flags, report)?,
        (None, None) => unreachable!("clap requires --data or --features"),
    };
    let external = vopts.is_none();
    let vopts = vopts.unwrap_or_default();
    let classes = classes(comm, &labels)?;
    let y = classes.encode(&labels)?;
    Ok(Input { classes, y, feats, first, vopts, external })
}

type Share = (Labels, Features, usize, Option<VectorizerOptions>);

/// Collective: the corpus's slice, vectorized with the flags' options.
fn from_text(comm: &dyn Collectives, args: &FitArgs, path: &std::path::Path, vopts: VectorizerOptions, report: &mut RunReport) -> Result<Share> {
    let read = args.input.text.read_options(path);
    let slice = report.timed(Phase::Read, comm.rank(), || read_slice(&read, comm.rank(), comm.size(), LabelNeed::Required));
    let mut slice = comm.agree(slice)?;
    let feats = fit_transform(comm, &slice, &vopts, args.input.text.decode_error, path)?;
    report.phases(&feats.timings.phases());
    let labels = slice.labels.take().expect("labels are required");
    Ok((labels, feats, slice.first, Some(vopts)))
}

/// Collective: this rank's rows of a features file, as they are.
fn from_features(comm: &dyn Collectives, args: &FitArgs, path: &std::path::Path, report: &mut RunReport) -> Result<Share> {
    let read = || read_features(path, &args.input.text.label_dataset, comm.rank(), comm.size(), LabelNeed::Required);
    let f = comm.agree(report.timed(Phase::Read, comm.rank(), read))?;
    let feats = Features { rows: f.rows, n_features: f.n_features, n_docs: f.n_total as u64, vocabulary: f.vocabulary, idf: f.idf, timings: PhaseTimes::default() };
    Ok((f.labels.expect("labels are required"), feats, f.first, f.vectorizer))
}

/// Collective: the classes of the whole corpus; at least two, no NUL in a name.
fn classes(comm: &dyn Collectives, labels: &Labels) -> Result<Classes> {
    comm.agree(match labels {
        Labels::Str(v) if v.iter().any(|s| s.contains('\0')) => bail!("a label contains a NUL character"),
        _ => Ok(()),
    })?;
    let classes = global_classes(comm, labels)?;
    comm.agree(if classes.len() < 2 {
        Err(anyhow!(
            "the data holds only one class ({}); logistic regression needs at least 2",
            if classes.is_empty() { "none".into() } else { classes.name(0) }
        ))
    } else {
        Ok(())
    })?;
    Ok(classes)
}

/// One value a document of dataset `name` of the input file (`--data` or
/// `--features`), for documents `first..first + n` of `total`: `flag` and
/// `what` (one `what` a document) name it in the messages.
pub fn per_document<T: hdf5::H5Type>(args: &FitArgs, (flag, what): (&str, &str), name: &str, (first, n): (usize, usize), total: usize) -> Result<Vec<T>> {
    let path = args.input.named().1;
    let file = crate::h5::open_h5(path)?;
    let ds = file.dataset(name).map_err(|_| anyhow!("{flag}: '{}' has no dataset '{name}'", path.display()))?;
    if ds.ndim() != 1 || ds.size() != total {
        bail!("{flag}: '{}': '{name}' has shape {:?}; it needs one {what} a document ({total})", path.display(), ds.shape());
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let v = ds.read_slice_1d::<T, _>(first..first + n).map_err(|e| anyhow!("{flag}: '{}': '{name}' does not hold a {what} a document ({e})", path.display()))?;
    Ok(v.into_raw_vec_and_offset().0)
}
