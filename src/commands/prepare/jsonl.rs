//! JSON Lines: one object a line, the text and (optionally) the label as fields.

use super::{decoded, label_field, label_text, source};
use crate::cli::PrepareArgs;
use crate::corpus::CorpusWriter;
use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use std::path::Path;

/// Appends every record of `path` (plain, `.gz` or `.zst`). The first
/// record decides whether the file is labelled: if it has the label field,
/// every record must; if not, none may.
pub fn read(path: &Path, a: &PrepareArgs, w: &mut CorpusWriter) -> Result<()> {
    let mut reader = source::open(path)?;
    let mut line = Vec::new();
    let (mut number, mut labelled) = (0usize, None);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).with_context(|| format!("reading '{}'", path.display()))? == 0 {
            return Ok(());
        }
        number += 1;
        let at = || format!("'{}' line {number}", path.display());
        let text = decoded(&line, a.decoder(), at)?;
        if text.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value = serde_json::from_str(&text).map_err(|e| anyhow!("{}: not a JSON object ({e})", at()))?;
        let doc = match record.get(&a.text_field) {
            Some(serde_json::Value::String(s)) => s,
            Some(_) => bail!("{}: '{}' is not a string", at(), a.text_field),
            None => bail!("{}: no '{}' field (choose it with --text-field)", at(), a.text_field),
        };
        let field = label_field(a).and_then(|f| record.get(f));
        let has = *labelled.get_or_insert(field.is_some());
        let label = match (has, field) {
            (false, None) => None,
            (false, Some(_)) => bail!(
                "{}: has a '{}' field but the file's first record has none; label every record, or pass --label-field none",
                at(),
                a.label_field
            ),
            (true, f) => Some(f.and_then(label_text).ok_or_else(|| {
                anyhow!("{}: no string or number '{}' field (choose it with --label-field)", at(), a.label_field)
            })?),
        };
        w.push(doc.as_bytes(), label).with_context(at)?;
    }
}
