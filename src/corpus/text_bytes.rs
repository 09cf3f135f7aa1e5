//! The fast layout's `text/bytes` as bytes, whatever integer type holds
//! them. `prepare` and `generate` write uint8, but a corpus made in numpy
//! may hold the same bytes as int8 (`np.frombuffer(b, dtype=np.int8)`) or
//! as int64 (`np.array(list(b))`), which HDF5 refuses to read as uint8 in
//! its own words ("required conversion no-op; available: hard"). int8 is
//! the same bytes; a wider type is read when every value is a byte.

use crate::error::Result;
use anyhow::{bail, Context};
use hdf5::types::{IntSize, TypeDescriptor};
use hdf5::Dataset;

/// What to store instead, ending every refusal.
const STORE_UINT8: &str = "store the UTF-8 bytes as uint8 (numpy: np.frombuffer(b, dtype=np.uint8))";

/// Fails at once, naming what was found, when `text/bytes` (at `at`) is
/// not of an integer type.
pub fn check_type(ds: &Dataset, at: &str) -> Result<()> {
    match ds.dtype()?.to_descriptor()? {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => Ok(()),
        other => bail!("{at} is {}; {STORE_UINT8}", super::reader::describe(&other)),
    }
}

/// Bytes `lo..hi` of `text/bytes` (at `at`, which every error names).
pub fn read_text_bytes(ds: &Dataset, lo: u64, hi: u64, at: &str) -> Result<Vec<u8>> {
    let t = ds.dtype().and_then(|t| t.to_descriptor()).with_context(|| at.to_string())?;
    match t {
        TypeDescriptor::Unsigned(IntSize::U1) => read_bytes(ds, lo, hi).with_context(|| at.to_string()),
        _ if lo == hi => Ok(Vec::new()),
        TypeDescriptor::Integer(IntSize::U1) => {
            let v = ds.read_slice_1d::<i8, _>(lo as usize..hi as usize).with_context(|| at.to_string())?;
            // A fresh 1-D array is its vector whole; collected in place (the same size and alignment).
            Ok(v.into_raw_vec_and_offset().0.into_iter().map(|b| b as u8).collect())
        }
        _ => read_wide(ds, lo as usize, hi as usize, &super::reader::describe(&t), at),
    }
}

/// A wider integer type, read in blocks (no whole copy at 8 bytes a byte),
/// each value checked to be a byte.
fn read_wide(ds: &Dataset, lo: usize, hi: usize, kind: &str, at: &str) -> Result<Vec<u8>> {
    const BLOCK: usize = 1 << 22;
    let mut bytes = Vec::with_capacity(hi - lo);
    for a in (lo..hi).step_by(BLOCK) {
        let block = ds.read_slice_1d::<i64, _>(a..(a + BLOCK).min(hi)).with_context(|| at.to_string())?;
        for (i, &v) in block.iter().enumerate() {
            match u8::try_from(v) {
                Ok(b) => bytes.push(b),
                Err(_) => bail!("{at} is {kind} and holds {v} at byte {}, not a byte (0..=255); {STORE_UINT8}", a + i),
            }
        }
    }
    Ok(bytes)
}

/// Bytes `lo..hi` of a uint8 dataset, read straight into memory offered
/// huge pages: the corpus text is a rank's largest input, and read into
/// fresh 4 KiB pages it cost a page fault every 4 KiB (25,000 for the
/// generated 200k corpus's 101 MB).
fn read_bytes(ds: &Dataset, lo: u64, hi: u64) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let n = (hi - lo) as usize;
    let mut bytes = crate::hugepages::filled_vec(n, 0u8);
    if n > 0 {
        let mut reader = ds.as_byte_reader()?;
        reader.seek(SeekFrom::Start(lo))?;
        reader.read_exact(&mut bytes)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same text stored as each integer type numpy might give it reads
    /// as the same bytes; a value that is no byte, or floats, are refused in
    /// one line saying what to store.
    #[test]
    fn text_bytes_of_any_integer_type() {
        let text = "héllo wörld".as_bytes();
        let path = std::env::temp_dir().join(format!("textsaga-text-bytes-{}.h5", std::process::id()));
        let f = hdf5::File::create(&path).unwrap();
        f.new_dataset_builder().with_data(text).create("u8").unwrap();
        f.new_dataset_builder().with_data(&text.iter().map(|&b| b as i8).collect::<Vec<_>>()).create("i8").unwrap();
        f.new_dataset_builder().with_data(&text.iter().map(|&b| b as i16).collect::<Vec<_>>()).create("i16").unwrap();
        f.new_dataset_builder().with_data(&text.iter().map(|&b| b as u32).collect::<Vec<_>>()).create("u32").unwrap();
        f.new_dataset_builder().with_data(&text.iter().map(|&b| b as i64).collect::<Vec<_>>()).create("i64").unwrap();
        f.new_dataset_builder().with_data(&[104i32, 300, 1]).create("big").unwrap();
        f.new_dataset_builder().with_data(&[104i64, -1]).create("negative").unwrap();
        f.new_dataset_builder().with_data(&[104.0f32]).create("float").unwrap();
        for name in ["u8", "i8", "i16", "u32", "i64"] {
            let ds = f.dataset(name).unwrap();
            check_type(&ds, name).unwrap();
            assert_eq!(read_text_bytes(&ds, 0, text.len() as u64, name).unwrap(), text, "{name}");
            assert_eq!(read_text_bytes(&ds, 2, 5, name).unwrap(), &text[2..5], "{name}");
            assert!(read_text_bytes(&ds, 3, 3, name).unwrap().is_empty(), "{name}");
        }
        let e = read_text_bytes(&f.dataset("big").unwrap(), 0, 3, "text/bytes").unwrap_err().to_string();
        assert_eq!(e, format!("text/bytes is int32 and holds 300 at byte 1, not a byte (0..=255); {STORE_UINT8}"));
        assert!(read_text_bytes(&f.dataset("negative").unwrap(), 0, 2, "b").unwrap_err().to_string().contains("holds -1 at byte 1"));
        let e = check_type(&f.dataset("float").unwrap(), "text/bytes").unwrap_err().to_string();
        assert_eq!(e, format!("text/bytes is float32; {STORE_UINT8}"));
        f.close().unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}
