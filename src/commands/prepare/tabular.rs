//! CSV and TSV with a header row: the text and (optionally) the label as columns.

use super::{decoded, label_field, source};
use crate::cli::PrepareArgs;
use crate::corpus::CorpusWriter;
use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use std::path::Path;

/// Appends every row of `path` (plain, `.gz` or `.zst`). Without a label
/// column (or with `--label-field none`) the corpus is unlabelled.
pub fn read(path: &Path, delimiter: u8, a: &PrepareArgs, w: &mut CorpusWriter) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(source::open(path)?);
    let headers = reader.byte_headers().with_context(|| format!("'{}': reading the header", path.display()))?.clone();
    let position = |name: &str| headers.iter().position(|h| h == name.as_bytes());
    let ti = position(&a.text_field).ok_or_else(|| {
        let found: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
        anyhow!("'{}' has no column '{}' (columns: {}); choose with --text-field / --label-field", path.display(), a.text_field, found.join(", "))
    })?;
    let li = label_field(a).and_then(position);
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => bail!("'{}': {e}", path.display()),
        }
        let line = record.position().map_or(0, |p| p.line());
        let at = || format!("'{}' line {line}", path.display());
        let text = decoded(&record[ti], a.decoder(), at)?;
        let label = li.map(|li| decoded(&record[li], a.decoder(), at).map(|l| l.into_owned())).transpose()?;
        w.push(text.as_bytes(), label).with_context(at)?;
    }
}
