//! Per-rank reading of an HDF5 corpus: each rank selects only its own
//! hyperslab of the text (and labels), never the whole file.

use super::labels::Labels;
use super::partition;
use super::text_bytes;
use crate::error::Result;
use crate::h5::open_h5;
use anyhow::{anyhow, bail, Context};
use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, File};
use std::path::{Path, PathBuf};

/// Whether a command needs labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelNeed {
    /// `fit`, `evaluate`: a missing label dataset is an error.
    Required,
    /// `vectorize`, `predict`: read them when present.
    Optional,
}

/// Where the corpus is and which datasets hold what.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub path: PathBuf,
    pub text_dataset: String,
    pub label_dataset: String,
}

/// The documents one rank owns: `docs[i]` is global document `first + i`.
#[derive(Debug, Default)]
pub struct CorpusSlice {
    /// Global index of the first document of this slice.
    pub first: usize,
    /// Documents in the whole corpus.
    pub n_total: usize,
    /// Concatenated bytes of this slice's documents, in the corpus's
    /// encoding (UTF-8 unless the user names another: `--encoding`).
    pub bytes: Vec<u8>,
    /// The file declares the text UTF-8 (h5py's `str`), so `--encoding`
    /// does not apply to it; the fast layout and ASCII-declared strings
    /// (h5py's `bytes`) are raw bytes in the corpus's encoding.
    pub declared_utf8: bool,
    /// `offsets[i]..offsets[i + 1]` is document `i` of the slice in `bytes`.
    pub offsets: Vec<usize>,
    pub labels: Option<Labels>,
    /// The optional `label_names` dataset (class names for integer labels).
    pub label_names: Option<Vec<String>>,
}

impl CorpusSlice {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn doc(&self, i: usize) -> &[u8] {
        &self.bytes[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Reads rank `rank` of `ranks`'s slice.
pub fn read_slice(opts: &ReadOptions, rank: usize, ranks: usize, need: LabelNeed) -> Result<CorpusSlice> {
    let path = &opts.path;
    let _crash = crate::crash::reading(path);
    crate::faults::crash_if_asked(rank);
    let file = open_h5(path)?;
    let name = &opts.text_dataset;
    let mut slice = if let Ok(group) = file.group(name) {
        read_fast_layout(&group, path, name, rank, ranks)?
    } else if let Ok(ds) = file.dataset(name) {
        read_string_layout(&ds, path, name, rank, ranks)?
    } else {
        bail!(
            "'{}' has no dataset '{}' (it holds: {}); name the text with --text-dataset",
            path.display(),
            name,
            members(&file)
        );
    };
    let (start, end) = (slice.first, slice.first + slice.len());
    match file.dataset(&opts.label_dataset) {
        Ok(ds) => {
            let n = ds.shape().iter().product::<usize>();
            if ds.ndim() != 1 {
                bail!(
                    "'{}': '{}' has shape {:?}; labels must be 1-D, one per document (in numpy: label.ravel())",
                    path.display(),
                    opts.label_dataset,
                    ds.shape()
                );
            }
            if n != slice.n_total {
                bail!(
                    "'{}': '{}' has {} documents but '{}' has {} labels",
                    path.display(),
                    name,
                    slice.n_total,
                    opts.label_dataset,
                    n
                );
            }
            slice.labels = Some(
                read_labels(&ds, start, end)
                    .with_context(|| format!("'{}': dataset '{}'", path.display(), opts.label_dataset))?,
            );
        }
        Err(_) if need == LabelNeed::Required => bail!(
            "'{}' has no labels: no dataset '{}' (it holds: {}); fit and evaluate need labels: name them with --label-dataset, \
             or prepare the corpus with its label field (an unlabelled corpus is for predict)",
            path.display(),
            opts.label_dataset,
            members(&file)
        ),
        Err(_) => {}
    }
    if let Ok(ds) = file.dataset("label_names") {
        slice.label_names = Some(
            read_strings(&ds, 0, ds.size()).with_context(|| format!("'{}': dataset 'label_names'", path.display()))?,
        );
    }
    Ok(slice)
}

pub(super) fn members(file: &File) -> String {
    match file.member_names() {
        Ok(m) if !m.is_empty() => m.join(", "),
        _ => "nothing".into(),
    }
}

/// `text/bytes` (uint8, or bytes in another integer type) and
/// `text/offsets` (uint64, n+1 entries).
fn read_fast_layout(g: &hdf5::Group, path: &Path, name: &str, rank: usize, ranks: usize) -> Result<CorpusSlice> {
    let at = |what: &str| format!("'{}': '{}/{}'", path.display(), name, what);
    let bytes_ds = g.dataset("bytes").map_err(|_| anyhow!("{} is missing (fast layout needs bytes and offsets)", at("bytes")))?;
    let offs_ds = g.dataset("offsets").map_err(|_| anyhow!("{} is missing (fast layout needs bytes and offsets)", at("offsets")))?;
    text_bytes::check_type(&bytes_ds, &at("bytes"))?;
    expect_integer(&offs_ds, &at("offsets"), "uint64")?;
    let n_offsets = offs_ds.size();
    if offs_ds.ndim() != 1 || n_offsets == 0 {
        bail!("{} must be 1-D with n+1 entries", at("offsets"));
    }
    let n = n_offsets - 1;
    let total = bytes_ds.size() as u64;
    let read_one = |i: usize| -> Result<u64> {
        let v = offs_ds.read_slice_1d::<u64, _>(i..i + 1).with_context(|| at("offsets"))?;
        Ok(v[0])
    };
    let first = read_one(0)?;
    let last = read_one(n)?;
    if first != 0 || last != total {
        bail!(
            "{} is inconsistent: it runs from {first} to {last} but text/bytes holds {total} bytes",
            at("offsets")
        );
    }
    let (start, end) = partition::by_bytes(n, total, ranks, rank, read_one)?;
    let offs = offs_ds.read_slice_1d::<u64, _>(start..end + 1).with_context(|| at("offsets"))?.to_vec();
    let lo = offs[0];
    let hi = offs[offs.len() - 1];
    if offs.windows(2).any(|w| w[1] < w[0]) || hi > total {
        bail!("{} is not non-decreasing within documents {start}..{end}", at("offsets"));
    }
    let bytes = text_bytes::read_text_bytes(&bytes_ds, lo, hi, &at("bytes"))?;
    let offsets = offs.iter().map(|&o| (o - lo) as usize).collect();
    Ok(CorpusSlice { first: start, n_total: n, bytes, offsets, declared_utf8: false, labels: None, label_names: None })
}

/// What h5py writes for a list of str: 1-D variable-length strings.
fn read_string_layout(ds: &Dataset, path: &Path, name: &str, rank: usize, ranks: usize) -> Result<CorpusSlice> {
    if ds.ndim() != 1 {
        bail!("'{}': '{}' must be 1-D, one string per document", path.display(), name);
    }
    let n = ds.size();
    let (start, end) = partition::by_count(n, ranks, rank);
    let mut bytes = Vec::new();
    let mut offsets = vec![0usize];
    for_each_string(ds, start, end, |s| {
        bytes.extend_from_slice(s);
        offsets.push(bytes.len());
    })
    .with_context(|| format!("'{}': dataset '{}'", path.display(), name))?;
    let declared_utf8 = matches!(ds.dtype()?.to_descriptor()?, TypeDescriptor::VarLenUnicode | TypeDescriptor::FixedUnicode(_));
    Ok(CorpusSlice { first: start, n_total: n, bytes, offsets, declared_utf8, labels: None, label_names: None })
}

fn expect_integer(ds: &Dataset, at: &str, want: &str) -> Result<()> {
    match ds.dtype()?.to_descriptor()? {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => Ok(()),
        other => bail!("{at} holds {}, expected {want}", describe(&other)),
    }
}

/// Calls `f` with the raw bytes of strings `start..end` of a string dataset.
pub(super) fn for_each_string(ds: &Dataset, start: usize, end: usize, mut f: impl FnMut(&[u8])) -> Result<()> {
    if start == end {
        return Ok(());
    }
    // Read in blocks so a huge slice does not hold two copies of itself.
    const BLOCK: usize = 65_536;
    match ds.dtype()?.to_descriptor()? {
        TypeDescriptor::VarLenUnicode => {
            for a in (start..end).step_by(BLOCK) {
                for s in ds.read_slice_1d::<VarLenUnicode, _>(a..(a + BLOCK).min(end))?.iter() {
                    f(s.as_bytes());
                }
            }
        }
        TypeDescriptor::VarLenAscii => {
            for a in (start..end).step_by(BLOCK) {
                for s in ds.read_slice_1d::<VarLenAscii, _>(a..(a + BLOCK).min(end))?.iter() {
                    f(s.as_bytes());
                }
            }
        }
        TypeDescriptor::FixedAscii(width) | TypeDescriptor::FixedUnicode(width) => read_fixed(ds, width, start, end, f)?,
        other => bail!(
            "holds {}, expected strings (h5py's str or bytes) or the fast layout (text/bytes, text/offsets)",
            describe(&other)
        ),
    }
    Ok(())
}

/// Fixed-length strings (what numpy's `S` dtype gives h5py), NUL padding
/// stripped as numpy strips it. HDF5 converts each string to the next
/// supported width (a fixed set, since widths are compile-time here).
fn read_fixed(ds: &Dataset, width: usize, start: usize, end: usize, f: impl FnMut(&[u8])) -> Result<()> {
    let unicode = matches!(ds.dtype()?.to_descriptor()?, TypeDescriptor::FixedUnicode(_));
    macro_rules! widths {
        ($($n:literal)*) => {
            $(if width <= $n {
                return if unicode {
                    read_fixed_as::<hdf5::types::FixedUnicode<$n>>(ds, $n, start, end, f, |s| s.as_bytes())
                } else {
                    read_fixed_as::<hdf5::types::FixedAscii<$n>>(ds, $n, start, end, f, |s| s.as_bytes())
                };
            })*
        };
    }
    widths!(16 64 256 1024 4096 16384 65536);
    bail!("holds fixed-length strings of {width} bytes, longer than textsaga reads (65536); store variable-length strings (h5py's str)")
}

fn read_fixed_as<T: hdf5::H5Type>(ds: &Dataset, width: usize, start: usize, end: usize, mut f: impl FnMut(&[u8]), bytes: impl Fn(&T) -> &[u8]) -> Result<()> {
    // About 64 MB a block, whatever the width.
    let block = ((64 << 20) / width).max(1);
    for a in (start..end).step_by(block) {
        for s in ds.read_slice_1d::<T, _>(a..(a + block).min(end))?.iter() {
            f(bytes(s));
        }
    }
    Ok(())
}

pub(super) fn read_strings(ds: &Dataset, start: usize, end: usize) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(end - start);
    for_each_string(ds, start, end, |b| out.push(String::from_utf8_lossy(b).into_owned()))?;
    Ok(out)
}

pub(super) fn read_labels(ds: &Dataset, start: usize, end: usize) -> Result<Labels> {
    match ds.dtype()?.to_descriptor()? {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            if start == end {
                return Ok(Labels::Int(Vec::new()));
            }
            Ok(Labels::Int(ds.read_slice_1d::<i64, _>(start..end)?.to_vec()))
        }
        TypeDescriptor::Float(_) => {
            let v: Vec<f64> = if start == end { Vec::new() } else { ds.read_slice_1d::<f64, _>(start..end)?.to_vec() };
            whole_numbers(&v, start).map(Labels::Int)
        }
        TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii | TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_) => {
            Ok(Labels::Str(read_strings(ds, start, end)?))
        }
        other => bail!("holds {}, expected integer or string labels", describe(&other)),
    }
}

/// Float labels that are whole numbers (pandas often stores 0.0/1.0) as
/// integers, as scikit-learn accepts them; NaN or a fraction names the
/// document (`first` is the global index of `v[0]`).
fn whole_numbers(v: &[f64], first: usize) -> Result<Vec<i64>> {
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            if x.fract() == 0.0 && x.abs() < 9.0e15 {
                Ok(x as i64)
            } else {
                Err(anyhow!("the label of document {} is {x}, not a whole number; classes must be integers or strings", first + i))
            }
        })
        .collect()
}

pub(super) fn describe(t: &TypeDescriptor) -> String {
    match t {
        TypeDescriptor::Integer(s) => format!("int{}", *s as usize * 8),
        TypeDescriptor::Unsigned(s) => format!("uint{}", *s as usize * 8),
        TypeDescriptor::Float(s) => format!("float{}", *s as usize * 8),
        TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n) => format!("fixed-length strings ({n} bytes)"),
        other => format!("{other}"),
    }
}
