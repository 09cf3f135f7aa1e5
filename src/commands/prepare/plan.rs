//! Which rank reads what. Every rank makes the same plan from the inputs'
//! names, sizes and Parquet footers alone (no communication), then takes
//! its share of it.
//!
//! The inputs, in order, are laid end to end on one line of work, each as
//! long as its bytes on disk (a folder: one unit per file). Rank `r` takes
//! the stretch `[r W / P, (r+1) W / P)` of that line, so the ranks' shares
//! are consecutive and in input order: rank order is document order, as
//! one rank would read them. What can be cut is cut at those points:
//!
//! - an uncompressed JSON Lines, CSV or TSV file at any byte; the cut is
//!   then moved to the next record start (`split.rs`), so one large file is
//!   read by all ranks at once;
//! - Parquet between row groups;
//! - a folder of classes between files.
//!
//! What cannot be cut (a `.gz` or `.zst` file, whose bytes only decompress
//! from the start; a pipe; a row group; a file of a folder) goes whole to
//! the rank whose stretch holds its middle.

use super::source;
use crate::cli::{InputFormat, PrepareArgs};
use crate::error::Result;
use anyhow::{anyhow, bail, Context};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::{Path, PathBuf};

/// One input and how it can be cut.
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    /// Resolved: never `Auto`.
    pub format: InputFormat,
    pub kind: Kind,
    /// Where the input starts on the line of work.
    start: u64,
}

#[derive(Debug)]
pub enum Kind {
    /// An uncompressed regular file of `len` bytes (JSON Lines, CSV or TSV):
    /// cut at any byte.
    Bytes { len: u64 },
    /// Read whole by one rank (compressed, or not a regular file).
    Whole { weight: u64 },
    /// A Parquet file's row groups: (rows, compressed bytes) each.
    RowGroups(Vec<(u64, u64)>),
    /// A folder's documents in `load_files` order.
    Files(Vec<ClassFile>),
}

/// A document of a folder of classes: its class index and its file.
pub type ClassFile = (usize, PathBuf);

impl Input {
    /// The indivisible units of the input, as (weight) each; none for `Bytes`.
    fn units(&self) -> Vec<u64> {
        match &self.kind {
            Kind::Bytes { .. } => Vec::new(),
            Kind::Whole { weight } => vec![*weight],
            // A file without row groups is still read (its columns are checked).
            Kind::RowGroups(groups) if groups.is_empty() => vec![1],
            Kind::RowGroups(groups) => groups.iter().map(|&(_, w)| w.max(1)).collect(),
            Kind::Files(files) => vec![1; files.len()],
        }
    }

    fn weight(&self) -> u64 {
        match &self.kind {
            Kind::Bytes { len } => *len,
            _ => self.units().iter().sum(),
        }
    }
}

/// What a rank reads of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Bytes of a `Bytes` input: from the file's start, or from the cut at
    /// `start` (a byte offset, moved to the next record start); to the
    /// file's end, or to the cut at `end`.
    Bytes { start: Option<u64>, end: Option<u64> },
    Whole,
    /// Row groups `first..end`; the first holds the file's row `first_row`.
    RowGroups { first: usize, end: usize, first_row: u64 },
    /// A folder's files `first..end`.
    Files { first: usize, end: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub input: usize,
    pub part: Part,
}

#[derive(Debug)]
pub struct Plan {
    pub inputs: Vec<Input>,
    /// The class folders' names (a folder input).
    pub label_names: Option<Vec<String>>,
    total: u64,
}

impl Plan {
    /// The plan of `a`'s inputs: formats, sizes, Parquet row groups, a
    /// folder's files. Every rank makes the same one (and fails alike).
    pub fn new(a: &PrepareArgs) -> Result<Plan> {
        let mut formats = Vec::new();
        for input in &a.inputs {
            formats.push(format_of(input, a.format)?);
        }
        if formats.contains(&InputFormat::Folder) && formats.len() > 1 {
            bail!("a folder of classes must be the only input");
        }
        let mut inputs = Vec::new();
        let mut label_names = None;
        let mut start = 0;
        for (path, format) in a.inputs.iter().zip(formats) {
            let kind = match format {
                InputFormat::Folder => {
                    if let Some(f) = a.id_field.as_deref().filter(|f| *f != "path") {
                        bail!("--id-field '{f}': a folder's documents have no fields; --id-field path keeps each file's path (relative to the folder) as its id");
                    }
                    if let Some(f) = &a.weight_field {
                        bail!("--weight-field '{f}': a folder's documents have no fields to hold a weight; give the weights in JSON Lines, CSV/TSV or Parquet, or add a 'weight' dataset to the corpus with h5py");
                    }
                    let (names, files) = folder_files(path)?;
                    label_names = Some(names);
                    Kind::Files(files)
                }
                InputFormat::Parquet => Kind::RowGroups(row_groups(path)?),
                _ => {
                    let meta = std::fs::metadata(path).with_context(|| format!("cannot read '{}'", path.display()))?;
                    if meta.is_file() && meta.len() > 0 && source::Compression::of(path) == source::Compression::None {
                        Kind::Bytes { len: meta.len() }
                    } else {
                        Kind::Whole { weight: meta.len().max(1) }
                    }
                }
            };
            let input = Input { path: path.clone(), format, kind, start };
            start += input.weight();
            inputs.push(input);
        }
        Ok(Plan { inputs, label_names, total: start })
    }

    /// Where rank `k`'s stretch of the line of work starts, of `size` ranks
    /// (`k == size`: the end of the line).
    fn bound(&self, k: usize, size: usize) -> u64 {
        (k as u128 * self.total as u128 / size as u128) as u64
    }

    /// The rank whose stretch holds point `x` of the line (`x < total`).
    fn owner(&self, x: u64, size: usize) -> usize {
        let mut r = ((x as u128 * size as u128) / self.total.max(1) as u128) as usize;
        r = r.min(size - 1);
        while r + 1 < size && self.bound(r + 1, size) <= x {
            r += 1;
        }
        while r > 0 && self.bound(r, size) > x {
            r -= 1;
        }
        r
    }

    /// What rank `rank` of `size` reads, in document order.
    pub fn share(&self, rank: usize, size: usize) -> Vec<Piece> {
        let (lo, hi) = (self.bound(rank, size), self.bound(rank + 1, size));
        let mut out = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if let Kind::Bytes { len } = input.kind {
                let (a, b) = (lo.max(input.start), hi.min(input.start + len));
                if a < b {
                    let start = (a > input.start).then(|| a - input.start);
                    let end = (b < input.start + len).then(|| b - input.start);
                    out.push(Piece { input: i, part: Part::Bytes { start, end } });
                }
                continue;
            }
            // Units go whole to the rank holding their middle: consecutive
            // units of one rank make one piece.
            let mut at = input.start;
            let mut mine: Option<(usize, usize)> = None;
            for (u, w) in input.units().into_iter().enumerate() {
                if self.owner(at + (w - 1) / 2, size) == rank {
                    mine = Some(mine.map_or((u, u + 1), |(f, _)| (f, u + 1)));
                }
                at += w;
            }
            let Some((first, end)) = mine else { continue };
            let part = match &input.kind {
                Kind::Whole { .. } => Part::Whole,
                Kind::RowGroups(groups) => {
                    let end = end.min(groups.len());
                    Part::RowGroups { first, end, first_row: groups[..first.min(groups.len())].iter().map(|g| g.0).sum() }
                }
                Kind::Files(_) => Part::Files { first, end },
                Kind::Bytes { .. } => unreachable!(),
            };
            out.push(Piece { input: i, part });
        }
        out
    }

    /// The cut where rank `k`'s stretch starts (`0 < k < size`), when it
    /// falls strictly inside a `Bytes` input: (input, byte offset in it).
    pub fn cut(&self, k: usize, size: usize) -> Option<(usize, u64)> {
        if k == 0 || k >= size {
            return None;
        }
        let x = self.bound(k, size);
        self.inputs.iter().enumerate().find_map(|(i, input)| match input.kind {
            Kind::Bytes { len } if input.start < x && x < input.start + len => Some((i, x - input.start)),
            _ => None,
        })
    }
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
    let name = source::inner_name(input);
    let ext = name.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
        "csv" => InputFormat::Csv,
        "tsv" | "tab" => InputFormat::Tsv,
        "parquet" | "pq" => InputFormat::Parquet,
        _ => bail!("'{}': cannot tell the format from the name; pass --format jsonl|csv|tsv|parquet|folder", input.display()),
    })
}

/// A Parquet file's row groups: (rows, compressed bytes) each.
fn row_groups(path: &Path) -> Result<Vec<(u64, u64)>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read '{name}'"))?;
    let reader = SerializedFileReader::new(file).map_err(|e| anyhow!("'{name}' is not a Parquet file ({e})"))?;
    Ok(reader.metadata().row_groups().iter().map(|g| (g.num_rows().max(0) as u64, g.compressed_size().max(0) as u64)).collect())
}

/// sklearn's `load_files`: classes are the sorted sub-folders, documents the
/// sorted files in each. Returns the class names and every (class, file).
fn folder_files(root: &Path) -> Result<(Vec<String>, Vec<ClassFile>)> {
    let classes = sorted_entries(root, Path::is_dir)?;
    if classes.is_empty() {
        bail!("'{}' has no sub-folders; expected one sub-folder per class", root.display());
    }
    let mut names = Vec::new();
    let mut files = Vec::new();
    for (k, dir) in classes.iter().enumerate() {
        names.push(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        files.extend(sorted_entries(dir, Path::is_file)?.into_iter().map(|f| (k, f)));
    }
    Ok((names, files))
}

/// The entries of `dir` that `keep` accepts, sorted by path (as `load_files`).
fn sorted_entries(dir: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list '{}'", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(kinds: Vec<Kind>) -> Plan {
        let mut start = 0;
        let inputs = kinds
            .into_iter()
            .map(|kind| {
                let input = Input { path: PathBuf::from("x"), format: InputFormat::Jsonl, kind, start };
                start += input.weight();
                input
            })
            .collect();
        Plan { inputs, label_names: None, total: start }
    }

    #[test]
    fn shares_cover_every_unit_once_in_order() {
        let p = plan(vec![
            Kind::Whole { weight: 10 },
            Kind::Bytes { len: 1000 },
            Kind::RowGroups(vec![(5, 100), (5, 100), (5, 300)]),
            Kind::Bytes { len: 7 },
            Kind::Whole { weight: 1 },
        ]);
        for size in 1..=9 {
            let shares: Vec<Vec<Piece>> = (0..size).map(|r| p.share(r, size)).collect();
            // Whole units: exactly one owner each, owners non-decreasing.
            let owners = |input: usize| -> Vec<usize> { (0..size).filter(|&r| shares[r].iter().any(|q| q.input == input)).collect() };
            assert_eq!(owners(0).len(), 1);
            assert_eq!(owners(4).len(), 1);
            let mut groups = Vec::new();
            for (r, share) in shares.iter().enumerate() {
                for q in share {
                    if let Part::RowGroups { first, end, first_row } = q.part {
                        assert_eq!(first_row, 5 * first as u64);
                        groups.extend((first..end).map(|g| (g, r)));
                    }
                }
            }
            assert_eq!(groups.iter().map(|g| g.0).collect::<Vec<_>>(), [0, 1, 2]);
            assert!(groups.windows(2).all(|w| w[0].1 <= w[1].1));
            // Byte pieces: consecutive, covering the file, cut where the next rank starts.
            for input in [1, 3] {
                let mut at = 0;
                for (r, share) in shares.iter().enumerate() {
                    for q in share.iter().filter(|q| q.input == input) {
                        let Part::Bytes { start, end } = q.part else { panic!() };
                        assert_eq!(start.unwrap_or(0), at);
                        assert_eq!(start, p.cut(r, size).filter(|c| c.0 == input).map(|c| c.1));
                        at = end.unwrap_or(if input == 1 { 1000 } else { 7 });
                        if end.is_some() {
                            assert_eq!(p.cut(r + 1, size).map(|c| (c.0, c.1)), Some((input, at)));
                        }
                    }
                }
                assert_eq!(at, if input == 1 { 1000 } else { 7 });
            }
        }
    }
}
