//! Apache Parquet (Hugging Face datasets, Spark outputs), read row group by
//! row group through the `parquet` crate's record reader: the text column
//! and, when present, the label column.

use super::label_field;
use crate::cli::PrepareArgs;
use crate::corpus::CorpusWriter;
use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::path::Path;

/// Appends every row of `path`.
pub fn read(path: &Path, a: &PrepareArgs, w: &mut CorpusWriter) -> Result<()> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read '{name}'"))?;
    let reader = SerializedFileReader::new(file).map_err(|e| anyhow!("'{name}' is not a Parquet file ({e})"))?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let columns: Vec<String> = schema.root_schema().get_fields().iter().map(|f| f.name().to_string()).collect();
    if !columns.contains(&a.text_field) {
        bail!("'{name}' has no column '{}' (columns: {}); choose with --text-field / --label-field", a.text_field, columns.join(", "));
    }
    let label_field = label_field(a).filter(|f| columns.iter().any(|c| c == f));
    let rows = reader.get_row_iter(None).map_err(|e| anyhow!("'{name}': {e}"))?;
    for (i, row) in rows.enumerate() {
        let at = || format!("'{name}' row {i}");
        let row = row.map_err(|e| anyhow!("{}: {e}", at()))?;
        let (mut text, mut label) = (None, None);
        for (column, field) in row.get_column_iter() {
            if *column == a.text_field {
                text = Some(match field {
                    Field::Str(s) => s.as_str(),
                    Field::Null => "",
                    other => bail!("{}: '{column}' is not a string ({other})", at()),
                });
            } else if Some(column.as_str()) == label_field {
                label = Some(label_of(field).ok_or_else(|| anyhow!("{}: '{column}' is not a string or whole number ({field})", at()))?);
            }
        }
        let text = text.ok_or_else(|| anyhow!("{}: no '{}' value", at(), a.text_field))?;
        if label_field.is_some() && label.is_none() {
            bail!("{}: no '{}' value", at(), a.label_field);
        }
        w.push(text.as_bytes(), label).with_context(at)?;
    }
    Ok(())
}

/// A label as text: strings as they are, integers and whole-number floats as integers.
fn label_of(field: &Field) -> Option<String> {
    Some(match field {
        Field::Str(s) => s.clone(),
        Field::Bool(b) => b.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float(v) if v.fract() == 0.0 => (*v as i64).to_string(),
        Field::Double(v) if v.fract() == 0.0 => (*v as i64).to_string(),
        _ => return None,
    })
}
