//! A text output (CSV, JSON Lines) written by every rank at once: each rank
//! formats its own rows, in document order, at its own byte offset of one
//! partial file, and rank 0 moves the finished file into place.
//!
//! The offsets come from one pass that formats the rows into a counter
//! (nothing kept), then the rows are formatted again straight into the file:
//! a rank holds no text of its rows, and no rank waits for another, unlike
//! writing in turns. Formatting is deterministic, so both passes agree; a
//! difference is an error rather than a file with a gap.

use super::AtomicPath;
use crate::collectives::Collectives;
use crate::error::Result;
use anyhow::{ensure, Context};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

/// Collective: writes `dest` from every rank's `rows` (called twice on
/// each rank: it must write the same bytes each time), rank 0's first, so
/// rank 0 writes any header. A failure anywhere ends every rank with the
/// error and removes the partial file.
pub fn write_text_from_all_ranks(comm: &dyn Collectives, dest: &Path, mut rows: impl FnMut(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let out = AtomicPath::shared(comm, dest)?;
    let at_dest = || format!("writing '{}'", dest.display());
    let mut counter = Counter::default();
    let len = comm.agree(rows(&mut counter).map(|()| counter.0).with_context(at_dest))?;
    let (at, total) = comm.offset_of(len as usize);
    let created = if comm.is_root() { out.create_file().and_then(|f| {
            crate::faults::await_signal_if_asked("partial", 0);
            Ok(f.set_len(total as u64)?)
        }) } else { Ok(()) };
    comm.agree(created.with_context(at_dest))?;
    let written = (|| -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let mut file = std::fs::OpenOptions::new().write(true).open(out.tmp())?;
        file.seek(SeekFrom::Start(at as u64))?;
        let mut w = Counted { inner: BufWriter::with_capacity(1 << 20, file), count: 0 };
        rows(&mut w)?;
        w.flush()?;
        ensure!(w.count == len, "rows formatted to {} bytes, then to {len} (a bug, please report it)", w.count);
        Ok(())
    })();
    comm.agree(written.with_context(at_dest))?;
    comm.agree_final(if comm.is_root() { out.commit() } else { Ok(()) })
}

/// A writer that only counts.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that counts what it passes on.
struct Counted<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectives::local::run_ranks;

    /// Every rank's rows land in rank order at 1-4 ranks, the header once,
    /// ranks with no rows included.
    #[test]
    fn ranks_write_their_rows_in_rank_order() {
        let dir = std::env::temp_dir().join(format!("textsaga-text-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for ranks in 1..=4 {
            let dest = dir.join(format!("out{ranks}.csv"));
            run_ranks(ranks, |comm| {
                let r = comm.rank();
                write_text_from_all_ranks(comm, &dest, |w| {
                    if r == 0 {
                        w.write_all(b"h\n")?;
                    }
                    (0..r).try_for_each(|i| writeln!(w, "{r}.{i}"))
                })
                .unwrap();
            });
            let want: String = std::iter::once("h\n".to_string()).chain((0..ranks).flat_map(|r| (0..r).map(move |i| format!("{r}.{i}\n")))).collect();
            assert_eq!(std::fs::read_to_string(&dest).unwrap(), want, "{ranks} ranks");
        }
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains("partial")).collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
