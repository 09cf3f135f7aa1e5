//! `vectorize`: the global TF-IDF matrix of a corpus, written as CSR.

use crate::cli::VectorizeArgs;
use crate::collectives::Collectives;
use crate::corpus::ids::{read_ids, ID_DATASET};
use crate::corpus::{read_slice, CorpusSlice, LabelNeed, Labels};
use crate::error::Result;
use crate::vectorizer::{fit_transform, Features};
use crate::corpus::labels::{create_labels, write_labels_at};
use crate::h5::{create_1d, to_vlen, write_1d, write_at, write_converted_at};
use crate::phase::Phase;
use crate::output::{write_from_all_ranks, AtomicPath};
use crate::same_file::{named, refuse_overwriting};
use crate::sparse::parts;
use crate::run_report::{phase_summary, RunReport};
use crate::tfidf::{consistency, Dtype, VectorizerOptions};

pub fn run(comm: &dyn Collectives, args: VectorizeArgs) -> Result<()> {
    let mut report = RunReport::new("vectorize");
    crate::threads::set(args.threads.threads());
    report.set("threads", crate::threads::count());
    let mut outputs = vec![named("-o", &args.output)];
    outputs.extend(args.run.metrics.as_deref().map(|m| named("--metrics", m)));
    let mut inputs = vec![named("--data", &args.input.data)];
    inputs.extend(args.vectorizer.input_files().into_iter().map(|(flag, p)| named(flag, p)));
    comm.agree(refuse_overwriting(&inputs, &outputs))?;
    let opts = comm.agree(args.vectorizer.options())?;
    crate::log::warn_once(comm.is_root(), args.vectorizer.warnings().into_iter().chain(consistency::warnings(&opts)).chain(crate::threads::affinity_warning()));
    // Fail before the work, not after it, when the output cannot be written.
    AtomicPath::probe(comm, &args.output)?;

    let slice = report.timed(Phase::Read, comm.rank(), || read_slice(&args.input.read_options(), comm.rank(), comm.size(), LabelNeed::Optional));
    let slice = comm.agree(slice)?;
    let bytes_local = slice.bytes.len() as f64;
    let feats = fit_transform(comm, &slice, &opts, args.input.text.decode_error, &args.input.data)?;
    report.phases(&feats.timings.phases());
    let t = Phase::Write.begin(comm.rank());
    // The byte-balanced split of the fast layout, kept so `fit --features` splits rows as
    // `fit --data` does; the ids, so that predictions from the features carry them.
    let (by_bytes, has_ids) = crate::h5::open_h5(&args.input.data)
        .map(|f| (f.group(&args.input.text.text_dataset).is_ok(), f.dataset(ID_DATASET).is_ok()))
        .unwrap_or((false, false));
    let ids = match has_ids {
        true => Some(comm.agree(read_ids(&args.input.data, slice.first, slice.len(), slice.n_total))?),
        false => None,
    };
    let how = write_matrix(comm, &args.output, &feats, Corpus { slice: &slice, by_bytes, ids: ids.as_ref() }, &opts)?;
    report.set("hdf5_write", how);
    crate::signals::finished();
    report.since(Phase::Write, t);

    let nnz = comm.sum_f64(feats.rows.nnz() as f64) as u64;
    let text_bytes = comm.sum_f64(bytes_local) as u64;
    report.set("documents", feats.n_docs);
    report.set("text_bytes", text_bytes);
    report.set("nnz", nnz);
    report.set("columns", feats.n_features);
    let r = report.finish(comm, args.run.metrics.as_deref())?;
    if comm.is_root() && !args.common.quiet {
        crate::say!(
            "textsaga vectorize: {} documents, {} ranks{}, {} columns, {} non-zeros -> {} in {:.2} s ({}); peak RSS {:.0} MB per rank",
            feats.n_docs,
            comm.size(),
            crate::threads::summary(),
            feats.n_features,
            nnz,
            args.output.display(),
            r["total_seconds"].as_f64().unwrap_or(0.0),
            phase_summary(&r),
            r["peak_rss_bytes_max_over_ranks"].as_f64().unwrap_or(0.0) / 1e6,
        );
    }
    Ok(())
}

/// What the features carry from the corpus beside the rows.
struct Corpus<'a> {
    slice: &'a CorpusSlice,
    /// The corpus was split by bytes (the fast layout): `text_offsets` are written.
    by_bytes: bool,
    ids: Option<&'a Labels>,
}

/// Collective: writes the matrix, every rank its rows at their offsets, with
/// what `fit --features` needs to fit from it and to make a model that
/// predicts on text: labels, vocabulary, idf, the settings (`params`) and,
/// when the corpus was split by bytes, the documents' `text_offsets`.
fn write_matrix(comm: &dyn Collectives, out: &std::path::Path, f: &Features, corpus: Corpus, opts: &VectorizerOptions) -> Result<&'static str> {
    let Corpus { slice, by_bytes, ids } = corpus;
    let (nnz_at, nnz_total) = comm.offset_of(f.rows.nnz());
    let (text_at, text_total) = comm.offset_of(slice.bytes.len());
    let (row_at, _) = comm.offset_of(f.rows.rows());
    let n = f.n_docs as usize;
    let last = comm.rank() + 1 == comm.size();
    let create = |file: &hdf5::File| -> Result<()> {
        let x = file.create_group("X")?;
        match opts.dtype {
            Dtype::Float64 => create_1d::<f64>(&x, "data", nnz_total)?,
            Dtype::Float32 => create_1d::<f32>(&x, "data", nnz_total)?,
        };
        create_1d::<i64>(&x, "indices", nnz_total)?;
        create_1d::<i64>(&x, "indptr", n + 1)?;
        x.new_attr_builder().with_data(&[n as i64, f.n_features as i64]).create("shape")?;
        if let Some(v) = &f.vocabulary {
            write_1d(file, "vocabulary", &to_vlen(v)?)?;
        }
        if let Some(idf) = &f.idf {
            match opts.dtype {
                Dtype::Float64 => write_1d(file, "idf", idf)?,
                Dtype::Float32 => {
                    // float32 as sklearn stores it; float64 for a model fitted from this file.
                    write_1d(file, "idf_float64", idf)?;
                    write_1d(file, "idf", &idf.iter().map(|&v| v as f32).collect::<Vec<f32>>())?
                }
            };
        }
        if by_bytes {
            create_1d::<u64>(file, "text_offsets", n + 1)?;
        }
        if let Some(labels) = &slice.labels {
            create_labels(file, "label", labels, n)?;
        }
        if let Some(ids) = ids {
            create_labels(file, ID_DATASET, ids, n)?;
        }
        if let Some(names) = &slice.label_names {
            write_1d(file, "label_names", &to_vlen(names)?)?;
        }
        let params = serde_json::to_string(opts)?;
        file.new_attr::<hdf5::types::VarLenUnicode>().create("params")?.write_scalar(&to_vlen(&[params])?[0])?;
        Ok(())
    };
    let write = |file: &hdf5::File| -> Result<()> {
        let x = file.group("X")?;
        let (rows_indptr, cols, values) = parts(&f.rows);
        match opts.dtype {
            Dtype::Float64 => write_at(&x.dataset("data")?, nnz_at, values)?,
            Dtype::Float32 => write_converted_at(&x.dataset("data")?, nnz_at, values, |v| v as f32)?,
        }
        write_converted_at(&x.dataset("indices")?, nnz_at, cols, |c| c as i64)?;
        let mut indptr: Vec<i64> = rows_indptr[..f.rows.rows()].iter().map(|&p| (p + nnz_at) as i64).collect();
        if last {
            indptr.push(nnz_total as i64);
        }
        write_at(&x.dataset("indptr")?, row_at, &indptr)?;
        if by_bytes {
            let mut offsets: Vec<u64> = slice.offsets[..slice.len()].iter().map(|&o| (o + text_at) as u64).collect();
            if last {
                offsets.push(text_total as u64);
            }
            write_at(&file.dataset("text_offsets")?, row_at, &offsets)?;
        }
        Ok(())
    };
    // Labels and ids may be strings, which parallel HDF5 cannot write: in turns.
    let labels = |file: &hdf5::File| -> Result<()> {
        if let Some(ids) = ids {
            write_labels_at(&file.dataset(ID_DATASET)?, row_at, ids)?;
        }
        match &slice.labels {
            Some(labels) => write_labels_at(&file.dataset("label")?, row_at, labels),
            None => Ok(()),
        }
    };
    write_from_all_ranks(comm, out, create, write, labels)
}
