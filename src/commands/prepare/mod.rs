//! `prepare`: JSON Lines, CSV/TSV (each also `.gz` or `.zst`), Parquet or a
//! folder tree into the fast layout, streaming record by record (a corpus
//! larger than memory is fine). Labels are optional: without a label field
//! (or with `--label-field none`) the corpus is one to predict on.

mod folder;
mod jsonl;
mod parquet;
mod source;
mod tabular;

use crate::cli::{InputFormat, PrepareArgs};
use crate::collectives::Collectives;
use crate::same_file::{named, refuse_overwriting, Named};
use crate::corpus::CorpusWriter;
use crate::error::Result;
use crate::text::Decoder;
use anyhow::{anyhow, bail};
use std::path::Path;
use std::time::Instant;

pub fn run(comm: &dyn Collectives, args: PrepareArgs) -> Result<()> {
    let inputs: Vec<Named> = args.inputs.iter().map(|p| named("input", p)).collect();
    comm.agree(refuse_overwriting(&inputs, &[named("-o", &args.output)]))?;
    comm.on_root(|| prepare(&args))
}

fn prepare(a: &PrepareArgs) -> Result<()> {
    let started = Instant::now();
    let mut plan = Vec::new();
    for input in &a.inputs {
        plan.push((input, format_of(input, a.format)?));
    }
    if plan.iter().any(|(_, f)| *f == InputFormat::Folder) && plan.len() > 1 {
        bail!("a folder of classes must be the only input");
    }
    let mut w = CorpusWriter::create(&a.output)?;
    let mut label_names = None;
    for (input, format) in plan {
        match format {
            InputFormat::Jsonl => jsonl::read(input, a, &mut w)?,
            InputFormat::Csv => tabular::read(input, b',', a, &mut w)?,
            InputFormat::Tsv => tabular::read(input, b'\t', a, &mut w)?,
            InputFormat::Parquet => parquet::read(input, a, &mut w)?,
            InputFormat::Folder => label_names = Some(folder::read(input, a.decoder(), &mut w)?),
            InputFormat::Auto => unreachable!("resolved by format_of"),
        }
    }
    let n = w.len();
    w.finish(label_names.as_deref())?;
    if !a.common.quiet {
        crate::say!(
            "textsaga prepare: {n} documents -> {} in {:.2} s",
            a.output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The format of one input, guessing from its name under `auto`.
fn format_of(input: &Path, format: InputFormat) -> Result<InputFormat> {
    if !input.exists() {
        bail!("'{}': no such file or folder", input.display());
    }
    if format != InputFormat::Auto {
        return Ok(format);
    }
    if input.is_dir() {
        return Ok(InputFormat::Folder);
    }
    let name = source::inner_name(input);
    let ext = name.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
        "csv" => InputFormat::Csv,
        "tsv" | "tab" => InputFormat::Tsv,
        "parquet" | "pq" => InputFormat::Parquet,
        _ => bail!("'{}': cannot tell the format from the name; pass --format jsonl|csv|tsv|parquet|folder", input.display()),
    })
}

fn decoded<'a>(bytes: &'a [u8], dec: Decoder, what: impl FnOnce() -> String) -> Result<std::borrow::Cow<'a, str>> {
    dec.decode(bytes).map_err(|e| anyhow!("{}", dec.failure(&what(), e.at)))
}

/// The label field to look for: none with `--label-field none` (a corpus
/// to predict on, whatever fields the records have).
fn label_field(a: &PrepareArgs) -> Option<&str> {
    Some(a.label_field.as_str()).filter(|f| *f != "none")
}

/// A JSON value as label text: strings as they are, numbers as written.
fn label_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

