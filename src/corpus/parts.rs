//! The fast layout written by every rank at once (`prepare`): each rank
//! streams its share of the documents, in document order, to spill files of
//! its own ([`CorpusPart`]); then the ranks learn their offsets and write one
//! corpus together, each its share at its place ([`write_parts`]).
//!
//! Memory is a few buffers whatever a rank's share (a 100 GB input works);
//! the disk holds the shares twice until the end (spill, then corpus).
//! Every dataset is created at its final size, contiguous, by rank 0, so
//! the file is the same, dataset for dataset, at every rank count.

use crate::collectives::Collectives;
use crate::error::Result;
use crate::h5::{create_1d, to_vlen, write_1d, write_at};
use crate::output::write_from_all_ranks;
use anyhow::{anyhow, bail, Context};
use hdf5::types::VarLenUnicode;
use hdf5::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// What bounds a rank's memory: the text spill's buffer, a block of text
/// copied into the corpus, and the entries (offsets, labels, ids) converted
/// and written at a time.
const SPILL_BUFFER: usize = 8 << 20;
const COPY_BLOCK: usize = 16 << 20;
const COPY_ENTRIES: usize = 1 << 16;

/// A document's id as [`CorpusPart::push`] takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartId<'a> {
    Int(i64),
    Str(&'a str),
}

/// One document as a reader found it: its text and, when the corpus has
/// them, its label, id and sample weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record<'a> {
    pub text: &'a [u8],
    pub label: Option<&'a str>,
    pub id: Option<PartId<'a>>,
    pub weight: Option<f64>,
}

/// How a column of labels or ids is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// int64: labels that all parse as integers, ids that all are integers.
    Int,
    /// Variable-length UTF-8 strings, as h5py writes a list of str.
    Str,
}

/// What the ranks agreed the corpus holds besides its text.
#[derive(Debug, Clone, PartialEq)]
pub struct PartsLayout {
    /// `label`, or none (then no document has one).
    pub labels: Option<Column>,
    /// `id`, or none (then no document has one).
    pub ids: Option<Column>,
    /// `weight` (float64), or none (then no document has one).
    pub weights: bool,
    /// `label_names` (the classes of a folder), written by rank 0.
    pub label_names: Option<Vec<String>>,
}

/// One rank's share of a corpus, spilled to two files beside the output:
/// the text bytes, and per document its length, label, weight and id ("meta").
///
/// The spill files are unlinked as soon as they are created and used
/// through their handles only: they vanish when the process ends, however
/// it ends (an error, a signal, an abort, a kill), leaving nothing behind.
pub struct CorpusPart {
    text: BufWriter<std::fs::File>,
    meta: BufWriter<std::fs::File>,
    docs: u64,
    bytes: u64,
    labels: u64,
    labels_int: bool,
    ids: u64,
    ids_int: bool,
}

impl CorpusPart {
    /// Empty spill files for rank `rank` of a corpus to be written at `dest`.
    pub fn create(dest: &Path, rank: usize) -> Result<Self> {
        Ok(CorpusPart {
            text: BufWriter::with_capacity(SPILL_BUFFER, spill_file(dest, rank, "text")?),
            meta: BufWriter::with_capacity(1 << 20, spill_file(dest, rank, "meta")?),
            docs: 0,
            bytes: 0,
            labels: 0,
            labels_int: true,
            ids: 0,
            ids_int: true,
        })
    }

    /// Appends one document. The caller sees to it that every document of
    /// the corpus has a label or none has, an id or none has, a weight or
    /// none has: [`write_parts`] reads the spill back by the layout the
    /// ranks agreed.
    pub fn push(&mut self, r: &Record) -> Result<()> {
        let Record { text, label, id, .. } = *r;
        if let Some(l) = label {
            no_nul("the label", l)?;
        }
        if let Some(PartId::Str(s)) = id {
            no_nul("the id", s)?;
        }
        self.spill(r).map_err(|e| anyhow!("writing a spill file beside the output: {e}"))?;
        self.docs += 1;
        self.bytes += text.len() as u64;
        if let Some(l) = label {
            self.labels += 1;
            // Integers when every label of the corpus parses as one (`LabelBuilder`'s rule).
            self.labels_int &= l.trim().parse::<i64>().is_ok();
        }
        self.ids += id.is_some() as u64;
        self.ids_int &= !matches!(id, Some(PartId::Str(_)));
        Ok(())
    }

    fn spill(&mut self, &Record { text, label, id, weight }: &Record) -> std::io::Result<()> {
        self.text.write_all(text)?;
        self.meta.write_all(&(text.len() as u64).to_le_bytes())?;
        if let Some(l) = label {
            put_str(&mut self.meta, l)?;
        }
        if let Some(w) = weight {
            self.meta.write_all(&w.to_le_bytes())?;
        }
        match id {
            Some(PartId::Int(v)) => {
                self.meta.write_all(&[0])?;
                self.meta.write_all(&v.to_le_bytes())
            }
            Some(PartId::Str(s)) => {
                self.meta.write_all(&[1])?;
                put_str(&mut self.meta, s)
            }
            None => Ok(()),
        }
    }

    pub fn docs(&self) -> u64 {
        self.docs
    }
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Labels pushed, and whether every one parses as an integer.
    pub fn labels(&self) -> (u64, bool) {
        (self.labels, self.labels_int)
    }
    /// Ids pushed, and whether every one is an integer.
    pub fn ids(&self) -> (u64, bool) {
        (self.ids, self.ids_int)
    }
}

/// Creates a file beside `dest` for this process alone, and unlinks it at once.
fn spill_file(dest: &Path, rank: usize, kind: &str) -> Result<std::fs::File> {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = dest.with_file_name(format!(".{name}.textsaga-partial.{}.{rank}.{kind}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create the spill file '{}' beside the output", path.display()))?;
    std::fs::remove_file(&path).with_context(|| format!("cannot unlink the spill file '{}'", path.display()))?;
    Ok(file)
}

fn no_nul(what: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        bail!("{what} {s:?} cannot be stored in HDF5 (it contains a NUL)");
    }
    Ok(())
}

fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    let len = u32::try_from(s.len()).map_err(|_| std::io::Error::other("a label or id longer than 4 GiB"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// Where a rank's share goes in the corpus.
struct Place {
    docs: usize,
    bytes: usize,
    doc_at: usize,
    byte_at: usize,
    /// Documents and text bytes of the whole corpus.
    n: usize,
    total_bytes: usize,
    last: bool,
}

/// Collective: writes the corpus at `dest` from every rank's part. Numbers
/// (text, offsets, integer labels and ids) go through MPI-IO where HDF5 is
/// built for it, otherwise in turns; strings always in turns (see
/// [`write_from_all_ranks`]). Returns how the numbers were written.
pub fn write_parts(comm: &dyn Collectives, dest: &Path, part: CorpusPart, layout: &PartsLayout) -> Result<&'static str> {
    let unspill = |w: BufWriter<std::fs::File>| w.into_inner().map_err(|e| anyhow!("writing a spill file beside the output: {}", e.error()));
    let (text, meta) = comm.agree(unspill(part.text).and_then(|t| Ok((t, unspill(part.meta)?))))?;
    let (doc_at, n) = comm.offset_of(part.docs as usize);
    let (byte_at, total_bytes) = comm.offset_of(part.bytes as usize);
    let last = comm.rank() + 1 == comm.size();
    let place = Place { docs: part.docs as usize, bytes: part.bytes as usize, doc_at, byte_at, n, total_bytes, last };
    write_from_all_ranks(
        comm,
        dest,
        |file| create_datasets(file, layout, n, total_bytes),
        |file| {
            copy_text(file, &text, &place)?;
            write_numbers(file, &meta, layout, &place)
        },
        |file| write_strings(file, &meta, layout, &place),
    )
}

/// Rank 0: every dataset at its final size.
fn create_datasets(file: &File, layout: &PartsLayout, n: usize, total_bytes: usize) -> Result<()> {
    let g = file.create_group("text")?;
    create_1d::<u8>(&g, "bytes", total_bytes)?;
    create_1d::<u64>(&g, "offsets", n + 1)?;
    for (name, column) in [("label", layout.labels), ("id", layout.ids)] {
        match column {
            Some(Column::Int) => drop(create_1d::<i64>(file, name, n)?),
            Some(Column::Str) => drop(create_1d::<VarLenUnicode>(file, name, n)?),
            None => {}
        }
    }
    if layout.weights {
        create_1d::<f64>(file, "weight", n)?;
    }
    if let Some(names) = &layout.label_names {
        write_1d(file, "label_names", &to_vlen(names)?)?;
    }
    Ok(())
}

/// The text spill into `text/bytes` at this rank's offset, block by block.
fn copy_text(file: &File, text: &std::fs::File, p: &Place) -> Result<()> {
    let ds = file.dataset("text/bytes")?;
    let mut r = rewound(text)?;
    let mut block = vec![0u8; COPY_BLOCK.min(p.bytes)];
    let mut done = 0;
    while done < p.bytes {
        let k = block.len().min(p.bytes - done);
        r.read_exact(&mut block[..k]).context("reading a spill file back")?;
        write_at(&ds, p.byte_at + done, &block[..k]).context("writing text/bytes")?;
        done += k;
    }
    Ok(())
}

/// Offsets, the weights, and the labels and ids stored as integers: one
/// pass over the meta spill. The last rank adds the closing offset (the
/// text's length).
fn write_numbers(file: &File, meta: &std::fs::File, layout: &PartsLayout, p: &Place) -> Result<()> {
    let offsets_ds = file.dataset("text/offsets")?;
    let labels_ds = (layout.labels == Some(Column::Int)).then(|| file.dataset("label")).transpose()?;
    let ids_ds = (layout.ids == Some(Column::Int)).then(|| file.dataset("id")).transpose()?;
    let weights_ds = layout.weights.then(|| file.dataset("weight")).transpose()?;
    let mut m = MetaReader::new(meta, layout)?;
    let (mut offsets, mut labels, mut ids, mut weights) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut at = p.byte_at as u64;
    for i in 0..p.docs {
        let e = m.next()?;
        offsets.push(at);
        at += e.len;
        if labels_ds.is_some() {
            let l = e.label.unwrap_or_default();
            labels.push(l.trim().parse::<i64>().map_err(|_| anyhow!("label {l:?} is not an integer"))?);
        }
        if ids_ds.is_some() {
            ids.push(match e.id {
                Some(MetaId::Int(v)) => v,
                _ => bail!("a document without an integer id in a column of integer ids"),
            });
        }
        weights.extend(e.weight);
        if offsets.len() == COPY_ENTRIES || i + 1 == p.docs {
            let first = p.doc_at + i + 1 - offsets.len();
            write_at(&offsets_ds, first, &offsets).context("writing text/offsets")?;
            if let Some(ds) = &weights_ds {
                write_at(ds, first, &weights).context("writing weight")?;
            }
            weights.clear();
            for (ds, values) in [(&labels_ds, &mut labels), (&ids_ds, &mut ids)] {
                if let Some(ds) = ds {
                    write_at(ds, first, values).with_context(|| format!("writing {}", ds.name()))?;
                }
                values.clear();
            }
            offsets.clear();
        }
    }
    if p.last {
        write_at(&offsets_ds, p.n, &[p.total_bytes as u64]).context("writing text/offsets")?;
    }
    Ok(())
}

/// The labels and ids stored as strings (in turns: parallel HDF5 cannot
/// write variable-length data); integer ids among string ones as their digits.
fn write_strings(file: &File, meta: &std::fs::File, layout: &PartsLayout, p: &Place) -> Result<()> {
    let labels_ds = (layout.labels == Some(Column::Str)).then(|| file.dataset("label")).transpose()?;
    let ids_ds = (layout.ids == Some(Column::Str)).then(|| file.dataset("id")).transpose()?;
    if labels_ds.is_none() && ids_ds.is_none() {
        return Ok(());
    }
    let mut m = MetaReader::new(meta, layout)?;
    let (mut labels, mut ids, mut pending) = (Vec::new(), Vec::new(), 0);
    for i in 0..p.docs {
        let e = m.next()?;
        if labels_ds.is_some() {
            labels.push(vlen(&e.label.unwrap_or_default())?);
        }
        if ids_ds.is_some() {
            ids.push(vlen(&match e.id {
                Some(MetaId::Int(v)) => v.to_string(),
                Some(MetaId::Str(s)) => s,
                None => bail!("a document without an id in a column of ids"),
            })?);
        }
        pending += 1;
        if pending == COPY_ENTRIES || i + 1 == p.docs {
            let first = p.doc_at + i + 1 - pending;
            for (ds, values) in [(&labels_ds, &mut labels), (&ids_ds, &mut ids)] {
                if let Some(ds) = ds {
                    write_at(ds, first, values).with_context(|| format!("writing {}", ds.name()))?;
                }
                values.clear();
            }
            pending = 0;
        }
    }
    Ok(())
}

fn vlen(s: &str) -> Result<VarLenUnicode> {
    s.parse::<VarLenUnicode>().map_err(|_| anyhow!("string {s:?} cannot be stored in HDF5 (it contains a NUL)"))
}

/// A spill file back at its start, for reading.
fn rewound(f: &std::fs::File) -> Result<BufReader<&std::fs::File>> {
    let mut f = f;
    f.seek(SeekFrom::Start(0)).context("reading a spill file back")?;
    Ok(BufReader::with_capacity(1 << 20, f))
}

enum MetaId {
    Int(i64),
    Str(String),
}

/// One document's entry in the meta spill: its text's length, then its
/// label, weight and id when the corpus has them.
struct MetaEntry {
    len: u64,
    label: Option<String>,
    weight: Option<f64>,
    id: Option<MetaId>,
}

/// The meta spill read back, document by document, as the layout says it
/// was written.
struct MetaReader<'a> {
    r: BufReader<&'a std::fs::File>,
    labelled: bool,
    with_weights: bool,
    with_ids: bool,
}

impl<'a> MetaReader<'a> {
    fn new(meta: &'a std::fs::File, layout: &PartsLayout) -> Result<Self> {
        Ok(MetaReader { r: rewound(meta)?, labelled: layout.labels.is_some(), with_weights: layout.weights, with_ids: layout.ids.is_some() })
    }

    fn next(&mut self) -> Result<MetaEntry> {
        self.entry().context("reading a spill file back")
    }

    fn entry(&mut self) -> Result<MetaEntry> {
        let mut b8 = [0u8; 8];
        self.r.read_exact(&mut b8)?;
        let len = u64::from_le_bytes(b8);
        let label = if self.labelled { Some(get_str(&mut self.r)?) } else { None };
        let weight = if self.with_weights {
            self.r.read_exact(&mut b8)?;
            Some(f64::from_le_bytes(b8))
        } else {
            None
        };
        let id = if self.with_ids {
            let mut tag = [0u8; 1];
            self.r.read_exact(&mut tag)?;
            Some(if tag[0] == 0 {
                self.r.read_exact(&mut b8)?;
                MetaId::Int(i64::from_le_bytes(b8))
            } else {
                MetaId::Str(get_str(&mut self.r)?)
            })
        } else {
            None
        };
        Ok(MetaEntry { len, label, weight, id })
    }
}

fn get_str(r: &mut impl Read) -> Result<String> {
    let mut b4 = [0u8; 4];
    r.read_exact(&mut b4)?;
    let mut buf = vec![0u8; u32::from_le_bytes(b4) as usize];
    r.read_exact(&mut buf)?;
    String::from_utf8(buf).map_err(|_| anyhow!("a label or id in a spill file is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectives::local::run_ranks;

    /// Every rank's documents at their place, whichever way they were
    /// shared; labels and ids as the ranks' agreed columns say.
    #[test]
    fn parts_make_one_corpus_at_any_rank_count() {
        let dir = std::env::temp_dir().join(format!("textsaga-parts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let docs: Vec<String> = (0..23).map(|i| "d".repeat(i % 5) + &i.to_string()).collect();
        let layout = PartsLayout { labels: Some(Column::Str), ids: Some(Column::Int), weights: true, label_names: None };
        for p in 1..=4 {
            let dest = dir.join(format!("c{p}.h5"));
            run_ranks(p, |comm| {
                let (lo, hi) = (comm.rank() * docs.len() / p, (comm.rank() + 1) * docs.len() / p);
                let mut part = CorpusPart::create(&dest, comm.rank()).unwrap();
                for (i, d) in docs.iter().enumerate().take(hi).skip(lo) {
                    let label = format!("l{}", i % 3);
                    let r = Record { text: d.as_bytes(), label: Some(&label), id: Some(PartId::Int(i as i64 * 2)), weight: Some(i as f64 / 4.0) };
                    part.push(&r).unwrap();
                }
                write_parts(comm, &dest, part, &layout).unwrap();
            });
            let f = File::open(&dest).unwrap();
            let bytes: Vec<u8> = f.dataset("text/bytes").unwrap().read_raw().unwrap();
            let offsets: Vec<u64> = f.dataset("text/offsets").unwrap().read_raw().unwrap();
            let got: Vec<String> = offsets.windows(2).map(|w| String::from_utf8(bytes[w[0] as usize..w[1] as usize].to_vec()).unwrap()).collect();
            assert_eq!(got, docs, "{p} ranks");
            let labels: Vec<VarLenUnicode> = f.dataset("label").unwrap().read_raw().unwrap();
            assert_eq!(labels.iter().map(|l| l.as_str().to_owned()).collect::<Vec<_>>(), (0..23).map(|i| format!("l{}", i % 3)).collect::<Vec<_>>());
            assert_eq!(f.dataset("id").unwrap().read_raw::<i64>().unwrap(), (0..23).map(|i| i * 2).collect::<Vec<i64>>());
            assert_eq!(f.dataset("weight").unwrap().read_raw::<f64>().unwrap(), (0..23).map(|i| i as f64 / 4.0).collect::<Vec<f64>>());
            // No spill file is left beside the output.
            let left: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains("partial")).collect();
            assert!(left.is_empty(), "{left:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
