//! An input file as a stream of bytes, decompressed on the fly by its name:
//! `.gz` (gzip, concatenated members too) and `.zst` (Zstandard), else as it is.

use crate::error::Result;
use anyhow::Context;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The compression an input's name announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("gz") => Compression::Gzip,
            Some("zst") | Some("zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// The name without a compression suffix (`a.jsonl.gz` -> `a.jsonl`), to tell the format.
pub fn inner_name(path: &Path) -> &Path {
    match Compression::of(path) {
        Compression::None => path,
        _ => path.file_stem().map(Path::new).unwrap_or(path),
    }
}

/// A buffered reader of the decompressed bytes.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let raw: Box<dyn Read> = match Compression::of(path) {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file).with_context(|| format!("'{}': not Zstandard data", path.display()))?),
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, raw)))
}
