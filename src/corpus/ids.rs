//! Document ids: the corpus's optional `id` dataset (`prepare --id-field`,
//! or any h5py file), one per document, which `predict` writes beside each
//! prediction so that predictions join back to their source rows. A corpus
//! without one has its row numbers (0-based) as ids.
//!
//! Ids take the two forms labels take, integers or strings, as h5py stores
//! them, so they are held, and written, as [`Labels`] are.

use super::labels::Labels;
use super::reader::{describe, for_each_string};
use crate::error::Result;
use crate::h5::open_h5;
use anyhow::{anyhow, bail, Context};
use hdf5::types::{IntSize, TypeDescriptor};
use hdf5::Dataset;
use std::path::Path;

/// The corpus dataset that holds the ids.
pub const ID_DATASET: &str = "id";

/// Ids of documents `first..first + len` of a corpus of `n_total`: its `id`
/// dataset's (any integer type, or strings, variable or fixed length),
/// else the row numbers.
pub fn read_ids(path: &Path, first: usize, len: usize, n_total: usize) -> Result<Labels> {
    let _crash = crate::crash::reading(path);
    let file = open_h5(path)?;
    let Ok(ds) = file.dataset(ID_DATASET) else {
        return Ok(Labels::Int((first..first + len).map(|i| i as i64).collect()));
    };
    let at = || format!("'{}': dataset '{ID_DATASET}'", path.display());
    if ds.ndim() != 1 || ds.size() != n_total {
        bail!("{} has shape {:?} but the corpus has {n_total} documents; ids must be 1-D, one per document", at(), ds.shape());
    }
    read_values(&ds, first, first + len).with_context(at)
}

/// Ids `start..end`, of the dataset's kind even when there are none (a
/// rank with no documents creates the output's `id` of the right type).
fn read_values(ds: &Dataset, start: usize, end: usize) -> Result<Labels> {
    match ds.dtype()?.to_descriptor()? {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) if start == end => Ok(Labels::Int(Vec::new())),
        // The one integer type whose values int64 may not hold.
        TypeDescriptor::Unsigned(IntSize::U8) => {
            let v = ds.read_slice_1d::<u64, _>(start..end)?;
            v.iter()
                .enumerate()
                .map(|(i, &x)| i64::try_from(x).map_err(|_| anyhow!("the id of document {} is {x}, more than int64 holds", start + i)))
                .collect::<Result<_>>()
                .map(Labels::Int)
        }
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => Ok(Labels::Int(ds.read_slice_1d::<i64, _>(start..end)?.to_vec())),
        TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii | TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_) => {
            read_string_ids(ds, start, end).map(Labels::Str)
        }
        other => bail!("holds {}, expected integer or string ids", describe(&other)),
    }
}

/// String ids, which must be UTF-8 (they are written as UTF-8 strings).
fn read_string_ids(ds: &Dataset, start: usize, end: usize) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(end - start);
    let mut bad = None;
    for_each_string(ds, start, end, |b| {
        match std::str::from_utf8(b) {
            Ok(s) => ids.push(s.to_owned()),
            Err(_) => {
                bad.get_or_insert(start + ids.len());
                ids.push(String::new());
            }
        }
    })?;
    match bad {
        Some(doc) => bail!("the id of document {doc} is not UTF-8; store ids as UTF-8 strings or integers"),
        None => Ok(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdf5::types::{FixedAscii, VarLenUnicode};

    fn corpus_with(name: &str, id: impl FnOnce(&hdf5::File)) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("textsaga-ids-{}-{name}.h5", std::process::id()));
        let f = hdf5::File::create(&path).unwrap();
        id(&f);
        f.close().unwrap();
        path
    }

    #[test]
    fn ids_of_every_integer_type_and_strings_are_read() {
        let cases: Vec<(&str, Box<dyn Fn(&hdf5::File)>, Labels)> = vec![
            ("i8", Box::new(|f| drop(f.new_dataset_builder().with_data(&[-3i8, 0, 7, 9]).create("id").unwrap())), Labels::Int(vec![0, 7])),
            ("u32", Box::new(|f| drop(f.new_dataset_builder().with_data(&[4u32, 5, 4_000_000_000, 1]).create("id").unwrap())), Labels::Int(vec![5, 4_000_000_000])),
            ("vlen", Box::new(|f| {
                let v: Vec<VarLenUnicode> = ["a", "b,\"c\"", "é", "d"].iter().map(|s| s.parse().unwrap()).collect();
                drop(f.new_dataset_builder().with_data(&v).create("id").unwrap())
            }), Labels::Str(vec!["b,\"c\"".into(), "é".into()])),
            ("fixed", Box::new(|f| {
                let v: Vec<FixedAscii<8>> = ["x1", "x2", "x3", "x4"].iter().map(|s| FixedAscii::from_ascii(s.as_bytes()).unwrap()).collect();
                drop(f.new_dataset_builder().with_data(&v).create("id").unwrap())
            }), Labels::Str(vec!["x2".into(), "x3".into()])),
            ("none", Box::new(|_| {}), Labels::Int(vec![1, 2])),
        ];
        for (name, write, want) in cases {
            let path = corpus_with(name, write);
            assert_eq!(read_ids(&path, 1, 2, 4).unwrap(), want, "{name}");
            let none = read_ids(&path, 4, 0, 4).unwrap();
            assert!(none.is_empty() && none.kind() == want.kind(), "{name}: an empty slice keeps the kind");
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn unusable_ids_say_what_is_wrong() {
        let cases: Vec<(&str, Box<dyn Fn(&hdf5::File)>, &str)> = vec![
            ("float", Box::new(|f| drop(f.new_dataset_builder().with_data(&[1.5f64, 2.0, 3.0, 4.0]).create("id").unwrap())), "holds float64, expected integer or string ids"),
            ("short", Box::new(|f| drop(f.new_dataset_builder().with_data(&[1i64, 2, 3]).create("id").unwrap())), "has shape [3] but the corpus has 4 documents"),
            ("huge", Box::new(|f| drop(f.new_dataset_builder().with_data(&[1u64, u64::MAX, 3, 4]).create("id").unwrap())), "the id of document 1 is 18446744073709551615"),
        ];
        for (name, write, needle) in cases {
            let path = corpus_with(name, write);
            let e = format!("{:#}", read_ids(&path, 0, 4, 4).unwrap_err());
            assert!(e.contains(needle) && e.contains("dataset 'id'"), "{name}: {e}");
            std::fs::remove_file(&path).unwrap();
        }
    }
}
