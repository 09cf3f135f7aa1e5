//! Streaming writer for the fast layout: `text/bytes` (uint8, chunked),
//! `text/offsets` (uint64, n+1 entries), `label`, optional `label_names`.
//! Text is appended in blocks, so a corpus of any size is written with a
//! bounded buffer; only the labels are kept until the end. One writer
//! (`generate`); `parts.rs` is the fast layout written by every rank.

use super::labels::{LabelBuilder, Labels};
use crate::error::Result;
use crate::h5::{to_vlen, write_1d};
use crate::output::AtomicPath;
use anyhow::Context;
use hdf5::{Dataset, File};
use std::path::Path;

const BYTES_CHUNK: usize = 1 << 20;
const OFFSETS_CHUNK: usize = 1 << 16;
const FLUSH_BYTES: usize = 8 << 20;

pub struct CorpusWriter {
    out: AtomicPath,
    file: File,
    bytes_ds: Dataset,
    offsets_ds: Dataset,
    bytes_buf: Vec<u8>,
    offsets_buf: Vec<u64>,
    bytes_written: usize,
    offsets_written: usize,
    total_bytes: u64,
    labels: LabelBuilder,
    int_labels: Vec<i64>,
    /// Whether the documents carry labels, set by the first one.
    labelled: Option<bool>,
}

impl CorpusWriter {
    pub fn create(dest: &Path) -> Result<Self> {
        let out = AtomicPath::new(dest, true);
        let file = out.create_h5()?;
        crate::faults::await_signal_if_asked("partial", 0);
        let g = file.create_group("text")?;
        let bytes_ds = g.new_dataset::<u8>().chunk(BYTES_CHUNK).shape(0..).create("bytes")?;
        let offsets_ds = g.new_dataset::<u64>().chunk(OFFSETS_CHUNK).shape(0..).create("offsets")?;
        Ok(CorpusWriter {
            out,
            file,
            bytes_ds,
            offsets_ds,
            bytes_buf: Vec::with_capacity(FLUSH_BYTES),
            offsets_buf: vec![0],
            bytes_written: 0,
            offsets_written: 0,
            total_bytes: 0,
            labels: LabelBuilder::default(),
            int_labels: Vec::new(),
            labelled: None,
        })
    }

    pub fn len(&self) -> usize {
        self.offsets_written + self.offsets_buf.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one document whose label, if any, is text (type inferred at
    /// the end). Every document has a label, or none has.
    pub fn push(&mut self, text: &[u8], label: Option<String>) -> Result<()> {
        self.expect_labels(label.is_some())?;
        if let Some(label) = label {
            self.labels.push(label);
        }
        self.push_text(text)
    }

    /// Appends one document with an integer label.
    pub fn push_int(&mut self, text: &[u8], label: i64) -> Result<()> {
        self.expect_labels(true)?;
        self.int_labels.push(label);
        self.push_text(text)
    }

    fn expect_labels(&mut self, labelled: bool) -> Result<()> {
        match *self.labelled.get_or_insert(labelled) == labelled {
            true => Ok(()),
            false if labelled => anyhow::bail!("a labelled document after unlabelled ones; give every input labels, or pass --label-field none"),
            false => anyhow::bail!("a document without a label after labelled ones; give every input labels, or pass --label-field none"),
        }
    }

    fn push_text(&mut self, text: &[u8]) -> Result<()> {
        // `generate` writes on rank 0 alone: a stop signal ends the loop here.
        // By the document's index, which meets every multiple of the check's
        // period (the buffer's length restarts at each flush, and met none
        // below 4096 documents: a small corpus went on to the end).
        crate::signals::check_every(self.len())?;
        self.bytes_buf.extend_from_slice(text);
        self.total_bytes += text.len() as u64;
        self.offsets_buf.push(self.total_bytes);
        if self.bytes_buf.len() >= FLUSH_BYTES || self.offsets_buf.len() >= OFFSETS_CHUNK * 4 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let at = |what: &str| format!("writing text/{what} of '{}'", self.out.dest().display());
        append(&self.bytes_ds, self.bytes_written, &self.bytes_buf).with_context(|| at("bytes"))?;
        self.bytes_written += self.bytes_buf.len();
        self.bytes_buf.clear();
        append(&self.offsets_ds, self.offsets_written, &self.offsets_buf).with_context(|| at("offsets"))?;
        self.offsets_written += self.offsets_buf.len();
        self.offsets_buf.clear();
        Ok(())
    }

    /// Writes the labels, closes the file and moves it into place.
    pub fn finish(mut self, label_names: Option<&[String]>) -> Result<()> {
        // The last point to stop: a signal during the last documents stops the run.
        crate::signals::check()?;
        self.flush()?;
        if self.labelled != Some(false) {
            let labels = if self.int_labels.is_empty() { self.labels.finish() } else { Labels::Int(std::mem::take(&mut self.int_labels)) };
            match &labels {
                Labels::Int(v) => write_1d(&self.file, "label", v)?,
                Labels::Str(v) => write_1d(&self.file, "label", &to_vlen(v)?)?,
            };
        }
        if let Some(names) = label_names {
            write_1d(&self.file, "label_names", &to_vlen(names)?)?;
        }
        let CorpusWriter { out, file, bytes_ds, offsets_ds, .. } = self;
        drop((bytes_ds, offsets_ds));
        file.close().context("closing the output file")?;
        out.commit()
    }
}

fn append<T: hdf5::H5Type>(ds: &Dataset, at: usize, data: &[T]) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    ds.resize(at + data.len())?;
    ds.write_slice(data, at..at + data.len())?;
    Ok(())
}
