//! `evaluate`: accuracy, macro-F1, balanced accuracy, log-loss, the
//! confusion matrix and sklearn's classification report of a model on a
//! labelled corpus; ranks score their slices and add up counts.

use crate::cli::EvaluateArgs;
use crate::collectives::Collectives;
use crate::corpus::LabelNeed;
use crate::error::Result;
use crate::scores::{log_loss_term, report};
use crate::model::Model;
use super::source;
use crate::predictor::{score, share, Share};
use crate::run_report::{write_json, RunReport};
use crate::same_file::{named, refuse_overwriting};

pub fn run(comm: &dyn Collectives, args: EvaluateArgs) -> Result<()> {
    crate::threads::set(args.threads.threads());
    crate::log::warn_once(comm.is_root(), crate::threads::affinity_warning());
    let outputs: Vec<_> = args.metrics.iter().map(|m| named("--metrics", m)).collect();
    let (flag, input) = args.input.named();
    comm.agree(refuse_overwriting(&[named("--model", &args.model), named(flag, input)], &outputs))?;
    let model = comm.agree(Model::read(&args.model))?;
    let Share { labels, rows, .. } = share(comm, &model, &source(&args.input), LabelNeed::Required, &mut RunReport::new("evaluate"))?;
    let truth = comm.agree(model.classes.encode(labels.as_ref().expect("labels are required")))?;
    let k = model.classes.len();
    let (pred, proba) = score(&model, &rows, true);
    let mut confusion = vec![0u64; k * k];
    let mut loss = 0.0;
    for (i, (&t, &p)) in truth.iter().zip(&pred).enumerate() {
        confusion[t as usize * k + p as usize] += 1;
        loss += log_loss_term(proba[i * k + t as usize]);
    }
    let confusion = comm.sum_u64_vec(&confusion);
    let loss = comm.sum_f64(loss);
    let r = report(&confusion, loss, (0..k).map(|c| model.classes.name(c)).collect());
    let written = match &args.metrics {
        Some(path) if comm.is_root() => write_json(path, &serde_json::to_value(&r)?),
        _ => Ok(()),
    };
    comm.agree(written)?;
    if comm.is_root() {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else if !args.common.quiet {
            print!("{}", r.to_text());
        }
    }
    Ok(())
}
