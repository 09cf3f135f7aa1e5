//! Apache Parquet (Hugging Face datasets, Spark outputs), read row group by
//! row group through the `parquet` crate's record reader: the text column
//! and, when present, the label column; the id and weight columns when
//! asked for.

use super::sink::{Loc, Sink};
use crate::cli::PrepareArgs;
use crate::corpus::parts::{PartId, Record};
use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::path::Path;

/// Appends every row of row groups `groups` of `path`, whose first row is
/// the file's row `first_row`.
pub fn read(path: &Path, groups: std::ops::Range<usize>, first_row: u64, a: &PrepareArgs, sink: &mut Sink) -> Result<()> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read '{name}'"))?;
    let reader = SerializedFileReader::new(file).map_err(|e| anyhow!("'{name}' is not a Parquet file ({e})"))?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let columns: Vec<String> = schema.root_schema().get_fields().iter().map(|f| f.name().to_string()).collect();
    let missing = |c: &str, flag: &str| anyhow!("'{name}' has no column '{c}' (columns: {}); choose with {flag}", columns.join(", "));
    if !columns.contains(&a.text_field) {
        return Err(missing(&a.text_field, "--text-field / --label-field"));
    }
    if let Some(f) = a.id_field.as_deref().filter(|f| !columns.iter().any(|c| c == f)) {
        return Err(missing(f, "--id-field"));
    }
    if let Some(f) = a.weight_field.as_deref().filter(|f| !columns.iter().any(|c| c == f)) {
        return Err(missing(f, "--weight-field"));
    }
    let label_field = a.label_field().filter(|f| columns.iter().any(|c| c == f));
    if label_field.is_none() && sink.wants_fields() {
        columns.iter().for_each(|c| sink.saw_field(c));
    }
    let mut i = first_row;
    let mut big_id;
    for g in groups {
        let group = reader.get_row_group(g).map_err(|e| anyhow!("'{name}' row group {g}: {e}"))?;
        let rows = group.get_row_iter(None).map_err(|e| anyhow!("'{name}' row group {g}: {e}"))?;
        for row in rows {
            let at = || format!("'{name}' row {i}");
            let row = row.map_err(|e| anyhow!("{}: {e}", at()))?;
            let (mut text, mut label, mut id, mut weight) = (None, None, None, None);
            for (column, field) in row.get_column_iter() {
                if *column == a.text_field {
                    text = Some(match field {
                        Field::Str(s) => s.as_str(),
                        Field::Null => "",
                        other => bail!("{}: '{column}' is not a string ({other})", at()),
                    });
                }
                if Some(column.as_str()) == label_field {
                    label = Some(label_of(field).ok_or_else(|| anyhow!("{}: '{column}' is not a string or whole number ({field})", at()))?);
                }
                if Some(column.as_str()) == a.weight_field.as_deref() {
                    weight = Some(super::weight::from_parquet(field, column, &at)?);
                }
                if Some(column.as_str()) == a.id_field.as_deref() {
                    id = Some(match field {
                        Field::Null => bail!("{}: no '{column}' value", at()),
                        Field::ULong(v) if *v > i64::MAX as u64 => {
                            big_id = v.to_string();
                            PartId::Str(&big_id)
                        }
                        Field::Str(s) => PartId::Str(s),
                        other => PartId::Int(int_of(other).ok_or_else(|| anyhow!("{}: '{column}' is not a string or an integer ({other})", at()))?),
                    });
                }
            }
            let text = text.ok_or_else(|| anyhow!("{}: no '{}' value", at(), a.text_field))?;
            if let (Some(f), None) = (label_field, &label) {
                bail!("{}: no '{f}' value", at());
            }
            let row_at = i;
            let r = Record { text: text.as_bytes(), label: label.as_deref(), id, weight };
            sink.push(r, &|| Loc::Row { path: path.to_path_buf(), row: row_at })?;
            i += 1;
        }
    }
    Ok(())
}

/// An integer column's value.
fn int_of(field: &Field) -> Option<i64> {
    Some(match field {
        Field::Byte(v) => *v as i64,
        Field::Short(v) => *v as i64,
        Field::Int(v) => *v as i64,
        Field::Long(v) => *v,
        Field::UByte(v) => *v as i64,
        Field::UShort(v) => *v as i64,
        Field::UInt(v) => *v as i64,
        Field::ULong(v) => i64::try_from(*v).ok()?,
        _ => return None,
    })
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
