//! `prepare`: JSON Lines, CSV/TSV or a folder tree into the fast layout,
//! streaming record by record (a corpus larger than memory is fine).

use crate::cli::{InputFormat, PrepareArgs};
use crate::collectives::Collectives;
use crate::same_file::{named, refuse_overwriting, Named};
use crate::corpus::CorpusWriter;
use crate::error::Result;
use crate::text::{decode, DecodeError};
use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
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
            InputFormat::Jsonl => read_jsonl(input, a, &mut w)?,
            InputFormat::Csv => read_csv(input, b',', a, &mut w)?,
            InputFormat::Tsv => read_csv(input, b'\t', a, &mut w)?,
            InputFormat::Folder => label_names = Some(read_folder(input, a.decode_error, &mut w)?),
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
    let ext = input.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
        "csv" => InputFormat::Csv,
        "tsv" | "tab" => InputFormat::Tsv,
        _ => bail!("'{}': cannot tell the format from the name; pass --format jsonl|csv|tsv|folder", input.display()),
    })
}

fn decoded<'a>(bytes: &'a [u8], policy: DecodeError, what: impl FnOnce() -> String) -> Result<std::borrow::Cow<'a, str>> {
    decode(bytes, policy).map_err(|e| {
        anyhow!("{}: not valid UTF-8 (byte {}); use --decode-error replace or ignore", what(), e.at)
    })
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

fn read_jsonl(path: &Path, a: &PrepareArgs, w: &mut CorpusWriter) -> Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).with_context(|| format!("reading '{}'", path.display()))? == 0 {
            return Ok(());
        }
        number += 1;
        let at = || format!("'{}' line {number}", path.display());
        let text = decoded(&line, a.decode_error, at)?;
        if text.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| anyhow!("{}: not a JSON object ({e})", at()))?;
        let doc = match record.get(&a.text_field) {
            Some(serde_json::Value::String(s)) => s,
            Some(_) => bail!("{}: '{}' is not a string", at(), a.text_field),
            None => bail!("{}: no '{}' field (choose it with --text-field)", at(), a.text_field),
        };
        let label = record
            .get(&a.label_field)
            .and_then(label_text)
            .ok_or_else(|| anyhow!("{}: no string or number '{}' field (choose it with --label-field)", at(), a.label_field))?;
        w.push(doc.as_bytes(), label)?;
    }
}

fn read_csv(path: &Path, delimiter: u8, a: &PrepareArgs, w: &mut CorpusWriter) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("cannot read '{}'", path.display()))?;
    let headers = reader.byte_headers().with_context(|| format!("'{}': reading the header", path.display()))?.clone();
    let column = |name: &str| -> Result<usize> {
        headers.iter().position(|h| h == name.as_bytes()).ok_or_else(|| {
            let found: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
            anyhow!(
                "'{}' has no column '{name}' (columns: {}); choose with --text-field / --label-field",
                path.display(),
                found.join(", ")
            )
        })
    };
    let (ti, li) = (column(&a.text_field)?, column(&a.label_field)?);
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => bail!("'{}': {e}", path.display()),
        }
        let line = record.position().map_or(0, |p| p.line());
        let at = || format!("'{}' line {line}", path.display());
        let text = decoded(&record[ti], a.decode_error, at)?;
        let label = decoded(&record[li], a.decode_error, at)?.into_owned();
        w.push(text.as_bytes(), label)?;
    }
}

/// sklearn's `load_files`: classes are the sorted sub-folders, documents the
/// sorted files in each; labels are class indices, `label_names` the folders.
fn read_folder(root: &Path, policy: DecodeError, w: &mut CorpusWriter) -> Result<Vec<String>> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("cannot list '{}'", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    if classes.is_empty() {
        bail!("'{}' has no sub-folders; expected one sub-folder per class", root.display());
    }
    let mut names = Vec::new();
    for (k, dir) in classes.iter().enumerate() {
        names.push(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list '{}'", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).with_context(|| format!("cannot read '{}'", f.display()))?;
            let text = decoded(&bytes, policy, || format!("'{}'", f.display()))?;
            w.push_int(text.as_bytes(), k as i64)?;
        }
    }
    Ok(names)
}
