//! `evaluate`: accuracy, macro-F1, log-loss and the confusion matrix of a
//! model on a labelled corpus; ranks score their slices and add up counts.

use crate::cli::EvaluateArgs;
use crate::collectives::Collectives;
use crate::corpus::LabelNeed;
use crate::error::Result;
use crate::scores::{log_loss_term, report};
use crate::model::Model;
use crate::predictor::{model_rows, score};
use crate::run_report::RunReport;

pub fn run(comm: &dyn Collectives, args: EvaluateArgs) -> Result<()> {
    let model = comm.agree(Model::read(&args.model))?;
    let (slice, rows) = model_rows(comm, &model, &args.input.read_options(), args.input.text.decode_error, LabelNeed::Required, &mut RunReport::new("evaluate"))?;
    let truth = comm.agree(model.classes.encode(slice.labels.as_ref().expect("labels are required")))?;
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
    if comm.is_root() {
        let names = (0..k).map(|c| model.classes.name(c)).collect();
        let r = report(&confusion, loss, names);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else if !args.common.quiet {
            print!("{}", r.to_text());
        }
    }
    Ok(())
}
