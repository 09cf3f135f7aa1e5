//! JSON Lines: one object a line, the text, the label, the id and the
//! weight as fields.

use super::sink::{Loc, Sink};
use super::split::{Lines, Span};
use super::{decoded, label_text, source};
use crate::cli::PrepareArgs;
use crate::corpus::parts::{PartId, Record};
use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;

/// Appends every record of `span` of `path` (a whole file plain, `.gz` or
/// `.zst`, or bytes of a plain one starting at a line). The file's first
/// record decides whether it is labelled: if it has the label field, every
/// record must; if not, none may.
pub fn read(path: &Path, span: Span, a: &PrepareArgs, sink: &mut Sink) -> Result<()> {
    let (mut reader, start): (Box<dyn BufRead>, u64) = match span {
        Span::Whole => (source::open(path)?, 0),
        Span::Bytes { start, end } => {
            let start = start.unwrap_or(0);
            (Box::new(super::split::range_reader(path, start, end)?), start)
        }
    };
    let lines = Lines::new(path, start);
    let label_field = a.label_field();
    let mut line = Vec::new();
    let (mut number, mut labelled) = (0u64, None);
    let mut big_id;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).with_context(|| format!("reading '{}'", path.display()))? == 0 {
            return Ok(());
        }
        number += 1;
        let at = || lines.at(number);
        let Some(record) = record_of(&line, a, &at)? else { continue };
        let field = label_field.and_then(|f| record.get(f));
        // The file's first record decides; a rank starting inside the file looks it up.
        let has = match labelled {
            Some(has) => has,
            None => *labelled.insert(if start == 0 { field.is_some() } else { first_labelled(path, a)? }),
        };
        let label = match (has, field) {
            (false, None) => None,
            (false, Some(_)) => bail!(
                "{}: has a '{}' field but the file's first record has none; label every record, or pass --label-field none",
                at(),
                label_field.unwrap_or_default()
            ),
            (true, f) => Some(f.and_then(label_text).ok_or_else(|| {
                anyhow!("{}: no string or number '{}' field (choose it with --label-field)", at(), label_field.unwrap_or_default())
            })?),
        };
        if !has && sink.wants_fields() {
            if let Some(object) = record.as_object() {
                object.keys().for_each(|k| sink.saw_field(k));
            }
        }
        let id = match a.id_field.as_deref() {
            None => None,
            Some(f) => Some(match record.get(f) {
                Some(Value::String(s)) => PartId::Str(s),
                Some(Value::Number(n)) if n.is_i64() => PartId::Int(n.as_i64().expect("an i64")),
                Some(Value::Number(n)) if n.is_u64() => {
                    big_id = n.to_string();
                    PartId::Str(&big_id)
                }
                Some(_) => bail!("{}: '{f}' is not a string or an integer", at()),
                None => bail!("{}: no '{f}' field (choose it with --id-field)", at()),
            }),
        };
        let weight = a.weight_field.as_deref().map(|f| super::weight::from_json(record.get(f), f, &at)).transpose()?;
        let text = record[&a.text_field].as_str().expect("checked by record_of");
        let r = Record { text: text.as_bytes(), label: label.as_deref(), id, weight };
        sink.push(r, &|| Loc::Line { path: path.to_path_buf(), start, line: number })?;
    }
}

/// The record on `line`, its text field checked; `None` for a blank line.
fn record_of(line: &[u8], a: &PrepareArgs, at: &dyn Fn() -> String) -> Result<Option<Value>> {
    let text = decoded(line, a.decoder(), at)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let record: Value = serde_json::from_str(&text).map_err(|e| anyhow!("{}: not a JSON object ({e})", at()))?;
    match record.get(&a.text_field) {
        Some(Value::String(_)) => Ok(Some(record)),
        Some(_) => bail!("{}: '{}' is not a string", at(), a.text_field),
        None => bail!("{}: no '{}' field (choose it with --text-field)", at(), a.text_field),
    }
}

/// Whether the file's first record has the label field: what decides, for
/// a rank reading from inside the file. A first record that fails fails
/// here as it fails the rank that reads it (an earlier rank, whose error
/// is the one reported).
fn first_labelled(path: &Path, a: &PrepareArgs) -> Result<bool> {
    let mut reader = source::open(path)?;
    let lines = Lines::new(path, 0);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).with_context(|| format!("reading '{}'", path.display()))? == 0 {
            return Ok(false);
        }
        number += 1;
        if let Some(record) = record_of(&line, a, &|| lines.at(number))? {
            return Ok(a.label_field().is_some_and(|f| record.get(f).is_some()));
        }
    }
}
