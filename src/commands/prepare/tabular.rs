//! CSV and TSV with a header row: the text, the label, the id and the
//! weight as columns.

use super::sink::{Loc, Sink};
use super::split::{range_reader, Lines, Span};
use super::{decoded, source};
use crate::cli::PrepareArgs;
use crate::corpus::parts::{PartId, Record};
use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use std::io::Read;
use std::path::Path;

/// Appends every row of `span` of `path` (a whole file plain, `.gz` or
/// `.zst`, or bytes of a plain one starting at a record). Without a label
/// column (or with `--label-field none`) the file is unlabelled.
pub fn read(path: &Path, delimiter: u8, span: Span, a: &PrepareArgs, sink: &mut Sink) -> Result<()> {
    let builder = || {
        let mut b = csv::ReaderBuilder::new();
        // Field counts are checked against the header here, not by the reader:
        // a reader starting inside the file has not seen the header.
        b.delimiter(delimiter).flexible(true);
        b
    };
    let opened: Box<dyn Read> = Box::new(source::open(path)?);
    let mut whole = builder().from_reader(opened);
    let headers = whole.byte_headers().with_context(|| format!("'{}': reading the header", path.display()))?.clone();
    // Records, and where the stretch read starts (lines count from the file's start).
    let (mut reader, start): (csv::Reader<Box<dyn Read>>, u64) = match span {
        Span::Whole => (whole, 0),
        Span::Bytes { start, end } => {
            let start = start.unwrap_or(whole.position().byte());
            drop(whole);
            // A record before the stretch: the reader has started (no UTF-8
            // BOM is stripped from a record), and lines count from 1 before it.
            let bytes: Box<dyn Read> = Box::new(std::io::Cursor::new(b"a\n".to_vec()).chain(range_reader(path, start, end)?));
            let mut r = builder().has_headers(false).from_reader(bytes);
            r.read_byte_record(&mut csv::ByteRecord::new()).context("reading a CSV record")?;
            (r, start)
        }
    };
    let lines = Lines::new(path, start);
    let skip_line = matches!(span, Span::Bytes { .. }) as u64;
    let names: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
    let position = |name: &str| headers.iter().position(|h| h == name.as_bytes());
    let missing = |name: &str, flag: &str| {
        anyhow!("'{}' has no column '{name}' (columns: {}); choose with {flag}", path.display(), names.join(", "))
    };
    let ti = position(&a.text_field).ok_or_else(|| missing(&a.text_field, "--text-field / --label-field"))?;
    let li = a.label_field().and_then(position);
    let ii = a.id_field.as_deref().map(|f| position(f).ok_or_else(|| missing(f, "--id-field"))).transpose()?;
    let wi = a.weight_field.as_deref().map(|f| position(f).map(|i| (i, f)).ok_or_else(|| missing(f, "--weight-field"))).transpose()?;
    if li.is_none() && sink.wants_fields() {
        names.iter().for_each(|n| sink.saw_field(n));
    }
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader.read_byte_record(&mut record);
        let line = record.position().map_or(0, |p| p.line()).saturating_sub(skip_line);
        let at = || lines.at(line);
        match more {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => bail!("{}: {e}", at()),
        }
        if record.len() != headers.len() {
            bail!("{}: found a record with {} fields, but the header has {}", at(), record.len(), headers.len());
        }
        let text = decoded(&record[ti], a.decoder(), at)?;
        let label = li.map(|li| decoded(&record[li], a.decoder(), at)).transpose()?;
        let id_text = ii.map(|ii| decoded(&record[ii], a.decoder(), at)).transpose()?;
        let id = match (&id_text, a.id_field.as_deref()) {
            (Some(s), Some(f)) if s.is_empty() => bail!("{}: no '{f}' value", at()),
            (Some(s), _) => Some(id_of(s)),
            _ => None,
        };
        let weight = wi.map(|(wi, f)| decoded(&record[wi], a.decoder(), at).and_then(|s| super::weight::from_text(&s, f, &at))).transpose()?;
        let r = Record { text: text.as_bytes(), label: label.as_deref(), id, weight };
        sink.push(r, &|| Loc::Line { path: path.to_path_buf(), start, line })?;
    }
}

/// An id from text: an integer when it is one written plainly (`42`, `-7`;
/// not `007` or `+7`, which stay strings, as ids they are), else the text.
fn id_of(s: &str) -> PartId<'_> {
    match s.parse::<i64>() {
        Ok(v) if v.to_string() == s => PartId::Int(v),
        _ => PartId::Str(s),
    }
}
