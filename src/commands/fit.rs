//! `fit`: HDF5 slices in, model file out — TF-IDF then synchronous
//! distributed SAGA.

use crate::classes::{balanced_weights, global_classes, Classes};
use crate::cli::FitArgs;
use crate::comm::Comm;
use crate::corpus::{read_slice, LabelNeed};
use crate::error::Result;
use crate::features::fit_transform;
use crate::model::{Model, Params};
use crate::output::AtomicPath;
use crate::run_report::{phase_summary, RunReport};
use crate::solver::combine::MpiCombiner;
use crate::solver::saga::WarmStart;
use crate::solver::{fit, TrainingSet};
use anyhow::bail;
use std::time::Instant;

pub fn run(comm: &Comm, args: FitArgs) -> Result<()> {
    let mut report = RunReport::new("fit");
    let vopts = comm.agree(args.vectorizer.options())?;
    let sopts = comm.agree(args.solver.options())?;
    // Fail before the work when the model cannot be written.
    let probe = AtomicPath::new(&args.model, comm.is_root());
    comm.agree(if comm.is_root() { probe.create_h5().map(drop) } else { Ok(()) })?;
    drop(probe);
    let warm = match &args.solver.warm_start {
        Some(p) => Some(comm.agree(Model::read(p))?),
        None => None,
    };

    let slice = report.timed("read", || read_slice(&args.input.read_options(), comm.rank(), comm.size(), LabelNeed::Required));
    let slice = comm.agree(slice)?;
    let labels = slice.labels.as_ref().expect("labels are required");
    comm.agree(match labels {
        crate::corpus::Labels::Str(v) if v.iter().any(|s| s.contains('\0')) => bail!("a label contains a NUL character"),
        _ => Ok(()),
    })?;
    let classes = global_classes(comm, labels)?;
    comm.agree(if classes.len() < 2 {
        Err(anyhow::anyhow!(
            "the data holds only one class ({}); logistic regression needs at least 2",
            if classes.is_empty() { "none".into() } else { classes.name(0) }
        ))
    } else {
        Ok(())
    })?;
    let y = classes.encode(labels)?;

    let feats = fit_transform(comm, &slice, &vopts, args.input.decode_error, &args.input.data)?;
    feats.timings.record(&mut report);
    drop(slice);
    let warm = comm.agree(match &warm {
        Some(m) => check_warm_start(m, &feats.vocabulary, &classes, &vopts, args.solver.warm_start.as_deref()).map(|()| {
            Some(WarmStart { coef: m.coef.clone(), intercept: m.intercept.clone() })
        }),
        None => Ok(None),
    })?;

    let k = classes.len();
    let sample_weight = if sopts.class_weight_balanced {
        let mut counts = vec![0u64; k];
        y.iter().for_each(|&c| counts[c as usize] += 1);
        let counts = comm.sum_u64_vec(&counts);
        let w = balanced_weights(&counts);
        y.iter().map(|&c| w[c as usize]).collect()
    } else {
        vec![1.0; y.len()]
    };
    let data = TrainingSet {
        x: &feats.rows,
        y: &y,
        sample_weight: &sample_weight,
        n_features: feats.n_features,
        n_classes: k,
        n_total: feats.n_docs,
    };
    let mut comb = MpiCombiner::new(comm);
    let quiet = args.common.quiet || !comm.is_root();
    let t_fit = Instant::now();
    let result = fit(&data, &sopts, warm.as_ref(), &mut comb, |r| {
        if !quiet {
            eprintln!(
                "epoch {:>4}  objective~ {:<14.8e}  change {:<10.3e}  elapsed {:>8.2} s  {:>10.0} docs/s",
                r.epoch, r.objective_estimate, r.relative_change, r.elapsed, r.samples_per_second
            );
        }
    });
    // Every rank computes the same failure from the same replicated state.
    let result = comm.agree(result)?;
    report.phase("fit", t_fit.elapsed().as_secs_f64());

    let model = Model {
        coef: result.coef,
        intercept: result.intercept,
        classes,
        vocabulary: feats.vocabulary,
        idf: feats.idf,
        n_features: feats.n_features,
        params: Params { vectorizer: vopts, solver: sopts.clone(), textsaga_version: env!("CARGO_PKG_VERSION").into() },
        n_iter: result.n_iter,
        objective: result.objective,
        converged: result.converged,
    };
    let t_write = Instant::now();
    comm.agree(if comm.is_root() { model.write(&args.model) } else { Ok(()) })?;
    report.phase("write", t_write.elapsed().as_secs_f64());

    let bytes = comm.sum_f64(result.bytes_sent as f64) as u64;
    let nnz = comm.sum_f64(feats.rows.nnz() as f64) as u64;
    report.set("documents", feats.n_docs);
    report.set("nnz", nnz);
    report.set("columns", model.n_features);
    report.set("classes", k);
    report.set("epochs", result.n_iter);
    report.set("converged", result.converged);
    report.set("objective", result.objective);
    report.set("step_size", result.plan.step);
    report.set("batch_size_per_rank", result.plan.batch_size);
    report.set("steps_per_epoch", result.plan.steps_per_epoch);
    report.set("bytes_communicated", bytes);
    let r = report.finish(comm, args.run.metrics.as_deref())?;
    if comm.is_root() {
        if !result.converged {
            eprintln!(
                "textsaga: warning: --max-iter {} reached before the change fell below --tol {}; \
                 the coefficients have not converged (sklearn's ConvergenceWarning)",
                sopts.max_iter, sopts.tol
            );
        }
        if !args.common.quiet {
            eprintln!(
                "textsaga fit: {} documents, {} classes, {} features, {} ranks: {} epochs, objective {:.10e}, \
                 step {:.4}, batch {} per rank, {} steps/epoch, {:.1} MB sent -> {} in {:.2} s ({}); peak RSS {:.0} MB per rank",
                feats.n_docs,
                k,
                model.n_features,
                comm.size(),
                result.n_iter,
                result.objective,
                result.plan.step,
                result.plan.batch_size,
                result.plan.steps_per_epoch,
                bytes as f64 / 1e6,
                args.model.display(),
                r["total_seconds"].as_f64().unwrap_or(0.0),
                phase_summary(&r),
                r["peak_rss_bytes_max_over_ranks"].as_f64().unwrap_or(0.0) / 1e6,
            );
        }
    }
    Ok(())
}

/// A warm start must come from a model over the same columns and classes.
fn check_warm_start(
    m: &Model,
    vocabulary: &Option<Vec<Box<str>>>,
    classes: &Classes,
    vopts: &crate::tfidf::VectorizerOptions,
    path: Option<&std::path::Path>,
) -> Result<()> {
    let name = path.map(|p| p.display().to_string()).unwrap_or_default();
    if m.params.vectorizer.hashing != vopts.hashing || &m.vocabulary != vocabulary {
        bail!("--warm-start '{name}' was fitted with a different vocabulary; use the same data and vectorizer settings");
    }
    if &m.classes != classes {
        bail!("--warm-start '{name}' has other classes than the data");
    }
    Ok(())
}
