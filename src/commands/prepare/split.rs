//! Cutting one text file among ranks: a cut at any byte moves to the next
//! record start, found the same way by the rank that ends there and the
//! rank that starts there, so that every record is read by exactly one
//! rank and ranks' records, in rank order, are the file's.
//!
//! **JSON Lines**: a record starts after each `\n`; the cut moves past the
//! next one.
//!
//! **CSV/TSV**: a quoted field may hold newlines (and delimiters, and lines
//! that look like records), so no byte tells on its own whether it starts a
//! record; whether it does depends on the whole file before it. That
//! dependence is a finite automaton: the CSV reader's own (`csv-core`, for
//! the settings `prepare` uses: `"` quotes, `""` escapes a quote, `\r`,
//! `\n` or `\r\n` end a record, blank lines are skipped), reduced here to
//! the seven states that decide where records end ([`Csv`]). A rank cannot
//! know the state at its cut without the bytes before it, but it can run
//! its own stretch of the file from *every* state at once and record where
//! each ends ([`transitions`]: a map of 7 states to 7, in one read of its
//! stretch, runs that meet merged). The ranks exchange these maps (7 bytes
//! each); composing the maps of the stretches before a cut, from the known
//! state at the end of the header, gives the exact state at the cut, as a
//! reading from the start of the file would have it; from there the rank
//! runs on to the end of the next record. Correct for any file the reader
//! accepts (quotes in the middle of unquoted fields, CRLF, blank lines,
//! quoted fields longer than a rank's stretch), at the cost of reading the
//! rank's stretch twice (once for the map, once to parse), in parallel,
//! instead of one rank pre-scanning the whole file alone.
//!
//! Line numbers of errors are counted from the file's start, and only when
//! an error needs one ([`Lines`]).

use super::plan::{Kind, Part, Piece, Plan};
use crate::cli::InputFormat;
use crate::collectives::Collectives;
use crate::error::Result;
use anyhow::Context;
use std::cell::OnceCell;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The bytes of a file a rank reads: from `start` (`None`: the file's
/// start, or for CSV the end of its header) to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The whole file (decompressed as its name says).
    Whole,
    Bytes { start: Option<u64>, end: u64 },
}

/// Collective: the spans of this rank's `Bytes` pieces, one per piece (and
/// `Whole` for the others), their cuts moved to record starts.
pub fn resolve(comm: &dyn Collectives, plan: &Plan, share: &[Piece]) -> Result<Vec<Span>> {
    let (rank, size) = (comm.rank(), comm.size());
    let csv = |i: usize| delimiter(plan.inputs[i].format);
    // 1. Each rank's map of its stretch of a CSV file cut at its end.
    let map = comm.agree((|| -> Result<[u8; STATES]> {
        let Some((i, end)) = plan.cut(rank + 1, size) else { return Ok(IDENTITY) };
        let Some(delim) = csv(i) else { return Ok(IDENTITY) };
        let path = &plan.inputs[i].path;
        let data = header_end(path, delim)?;
        let start = match plan.cut(rank, size) {
            Some((j, start)) if j == i => start,
            _ => 0,
        };
        transitions_of_file(path, start.max(data), end.max(data), delim)
    })())?;
    let maps = comm.all_gather_bytes(&map)?;
    let map_of = |r: usize| -> [u8; STATES] { maps[r * STATES..(r + 1) * STATES].try_into().expect("7 states") };
    // 2. Each rank moves the cut where its stretch starts to a record start.
    let start = comm.agree((|| -> Result<u64> {
        let Some((i, cut)) = plan.cut(rank, size) else { return Ok(0) };
        let path = &plan.inputs[i].path;
        match csv(i) {
            None => next_line_start(path, cut),
            Some(delim) => {
                let data = header_end(path, delim)?;
                // The state at the cut: from the header's end, through every earlier stretch of this file.
                let mut state = Csv::EndRecord as u8;
                for r in 0..rank {
                    if plan.cut(r + 1, size).is_some_and(|(j, _)| j == i) {
                        state = map_of(r)[state as usize];
                    }
                }
                next_record_start(path, cut.max(data), state, delim)
            }
        }
    })())?;
    let starts = comm.all_gather_u64(start);
    Ok(share
        .iter()
        .map(|piece| match piece.part {
            Part::Bytes { start, end } => {
                let Kind::Bytes { len } = plan.inputs[piece.input].kind else { unreachable!("bytes of a Bytes input") };
                Span::Bytes { start: start.map(|_| starts[rank]), end: end.map_or(len, |_| starts[rank + 1]) }
            }
            _ => Span::Whole,
        })
        .collect())
}

/// The delimiter of a CSV or TSV input; `None` for other formats.
fn delimiter(format: InputFormat) -> Option<u8> {
    match format {
        InputFormat::Csv => Some(b','),
        InputFormat::Tsv => Some(b'\t'),
        _ => None,
    }
}

/// Where the header of a CSV file ends: its records start there.
pub fn header_end(path: &Path, delim: u8) -> Result<u64> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().delimiter(delim).flexible(true).from_reader(BufReader::with_capacity(1 << 16, file));
    reader.byte_headers().with_context(|| format!("'{}': reading the header", path.display()))?;
    Ok(reader.position().byte())
}

/// The start of the first line at or after byte `cut` (> 0) of `path`, or
/// the file's end.
fn next_line_start(path: &Path, cut: u64) -> Result<u64> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    file.seek(SeekFrom::Start(cut - 1))?;
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut at = cut - 1;
    loop {
        let buf = r.fill_buf().with_context(|| format!("reading '{}'", path.display()))?;
        if buf.is_empty() {
            return Ok(at);
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            return Ok(at + i as u64 + 1);
        }
        let n = buf.len();
        at += n as u64;
        r.consume(n);
    }
}

/// The states of a CSV reader that decide where records end (`csv-core`'s
/// DFA with its transient states folded in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Csv {
    /// Between records (blank lines are skipped here).
    StartRecord = 0,
    /// A record just ended with `\n` (or the header did).
    EndRecord = 1,
    /// A record just ended with `\r` (a `\n` next is skipped).
    Crlf = 2,
    StartField = 3,
    InField = 4,
    InQuoted = 5,
    /// A `"` inside a quoted field: the field's end, or half of `""`.
    QuoteInQuoted = 6,
}

pub const STATES: usize = 7;
const IDENTITY: [u8; STATES] = [0, 1, 2, 3, 4, 5, 6];

/// The next state from `state` on byte `b`.
fn step(state: u8, b: u8, delim: u8) -> u8 {
    use Csv::*;
    #[derive(PartialEq)]
    enum C {
        Quote,
        Delim,
        Cr,
        Lf,
        Other,
    }
    let c = match b {
        b'"' => C::Quote,
        _ if b == delim => C::Delim,
        b'\r' => C::Cr,
        b'\n' => C::Lf,
        _ => C::Other,
    };
    let field_end = |c: &C, other: Csv| match c {
        C::Delim => StartField,
        C::Cr => Crlf,
        C::Lf => EndRecord,
        _ => other,
    };
    (match state {
        0 | 1 if c == C::Cr || c == C::Lf => StartRecord,
        2 if c == C::Cr || c == C::Lf => StartRecord,
        0..=3 if c == C::Quote => InQuoted,
        0..=3 => field_end(&c, InField),
        4 => field_end(&c, InField),
        5 if c == C::Quote => QuoteInQuoted,
        5 => InQuoted,
        _ if c == C::Quote => InQuoted,
        _ => field_end(&c, InField),
    }) as u8
}

/// [`step`] for every state and byte.
fn table(delim: u8) -> Vec<u8> {
    let mut t = vec![0u8; STATES * 256];
    for s in 0..STATES {
        for b in 0..=255u8 {
            t[s * 256 + b as usize] = step(s as u8, b, delim);
        }
    }
    t
}

/// A record has just ended: the next one starts here.
fn at_record_start(state: u8) -> bool {
    state == Csv::EndRecord as u8 || state == Csv::Crlf as u8
}

/// Where a run from each state over `bytes` ends: `map[s]` is the state
/// after `bytes` when it was `s` before. Continues `map` (start from
/// [`IDENTITY`]). Runs that meet are merged, so a stretch costs one pass
/// per distinct state (usually one or two).
fn transitions(map: &mut [u8; STATES], bytes: &[u8], table: &[u8]) {
    let mut distinct: Vec<u8> = map.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    for block in bytes.chunks(1 << 16) {
        let mut ends = Vec::with_capacity(distinct.len());
        for &s in &distinct {
            let mut s = s as usize;
            for &b in block {
                s = table[s << 8 | b as usize] as usize;
            }
            ends.push(s as u8);
        }
        for m in map.iter_mut() {
            let k = distinct.iter().position(|d| d == m).expect("a tracked state");
            *m = ends[k];
        }
        distinct = map.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
    }
}

/// [`transitions`] over bytes `start..end` of a file.
fn transitions_of_file(path: &Path, start: u64, end: u64, delim: u8) -> Result<[u8; STATES]> {
    let mut map = IDENTITY;
    let t = table(delim);
    let mut r = range_reader(path, start, end)?;
    loop {
        let buf = r.fill_buf().with_context(|| format!("reading '{}'", path.display()))?;
        if buf.is_empty() {
            return Ok(map);
        }
        transitions(&mut map, buf, &t);
        let n = buf.len();
        r.consume(n);
    }
}

/// The first record start at or after `pos` of a CSV file, where the
/// reader's state is `state`; or the file's end.
fn next_record_start(path: &Path, pos: u64, state: u8, delim: u8) -> Result<u64> {
    if at_record_start(state) {
        return Ok(pos);
    }
    let t = table(delim);
    let mut r = range_reader(path, pos, u64::MAX)?;
    let (mut s, mut at) = (state as usize, pos);
    loop {
        let buf = r.fill_buf().with_context(|| format!("reading '{}'", path.display()))?;
        if buf.is_empty() {
            return Ok(at);
        }
        for (i, &b) in buf.iter().enumerate() {
            s = t[s << 8 | b as usize] as usize;
            if at_record_start(s as u8) {
                return Ok(at + i as u64 + 1);
            }
        }
        let n = buf.len();
        at += n as u64;
        r.consume(n);
    }
}

/// Bytes `start..end` of a file (to its end if shorter), buffered.
pub fn range_reader(path: &Path, start: u64, end: u64) -> Result<BufReader<std::io::Take<std::fs::File>>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    file.seek(SeekFrom::Start(start)).with_context(|| format!("reading '{}'", path.display()))?;
    Ok(BufReader::with_capacity(1 << 20, file.take(end.saturating_sub(start))))
}

/// Line numbers in a file read from byte `start`: line `n` of the stretch
/// is line `n` + the newlines before `start`, counted (once) only when an
/// error names a line.
pub struct Lines {
    path: PathBuf,
    start: u64,
    before: OnceCell<Option<u64>>,
}

impl Lines {
    pub fn new(path: &Path, start: u64) -> Self {
        let before = OnceCell::new();
        if start == 0 {
            let _ = before.set(Some(0));
        }
        Lines { path: path.to_path_buf(), start, before }
    }

    /// `'path' line N` for line `local` (1 = the first) of the stretch.
    pub fn at(&self, local: u64) -> String {
        match self.before.get_or_init(|| newlines_before(&self.path, self.start).ok()) {
            Some(before) => format!("'{}' line {}", self.path.display(), before + local),
            None => format!("'{}' line {local} after byte {}", self.path.display(), self.start),
        }
    }
}

fn newlines_before(path: &Path, end: u64) -> Result<u64> {
    let mut r = range_reader(path, 0, end)?;
    let mut n = 0u64;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let k = buf.len();
        r.consume(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every record of `data` as the csv crate reads it from `from`, with
    /// the byte where each read began (relative to `data`).
    fn records(data: &[u8], from: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        // A dummy record first, as the readers do: no BOM is stripped mid-file.
        let input: Vec<u8> = [b"a\n".as_slice(), &data[from..]].concat();
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&input[..]);
        let mut rec = csv::ByteRecord::new();
        assert!(r.read_byte_record(&mut rec).unwrap());
        let mut out = Vec::new();
        while r.read_byte_record(&mut rec).unwrap() {
            let at = rec.position().unwrap().byte() - 2 + from as u64;
            out.push((at, rec.iter().map(|f| f.to_vec()).collect()));
        }
        out
    }

    /// The state after `data[..pos]`, from a record start.
    fn state_at(data: &[u8], pos: usize, t: &[u8]) -> u8 {
        data[..pos].iter().fold(Csv::EndRecord as u8, |s, &b| t[(s as usize) << 8 | b as usize])
    }

    fn boundary(data: &[u8], cut: usize, t: &[u8]) -> usize {
        let mut s = state_at(data, cut, t);
        if at_record_start(s) {
            return cut;
        }
        for (i, &b) in data[cut..].iter().enumerate() {
            s = t[(s as usize) << 8 | b as usize];
            if at_record_start(s) {
                return cut + i + 1;
            }
        }
        data.len()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Reading from a boundary gives exactly the records a reading from
        /// the start gives from there on, at the same positions; cut at
        /// every boundary, the pieces' records are the file's.
        #[test]
        fn boundaries_are_true_record_starts(data in proptest::collection::vec(prop::sample::select(b"ab,\"\r\n".to_vec()), 0..60), cuts in proptest::collection::vec(0usize..60, 0..4)) {
            let t = table(b',');
            let all = records(&data, 0);
            let mut bounds: Vec<usize> = cuts.iter().map(|&c| boundary(&data, c.min(data.len()), &t)).collect();
            bounds.sort_unstable();
            for &b in &bounds {
                let from_b = records(&data, b);
                let expected: Vec<_> = all.iter().filter(|r| r.0 >= b as u64).cloned().collect();
                prop_assert_eq!(&from_b, &expected, "boundary {}", b);
            }
            // Pieces between consecutive boundaries concatenate to the whole.
            bounds.insert(0, 0);
            bounds.push(data.len());
            let mut joined = Vec::new();
            for w in bounds.windows(2) {
                let piece = &data[..w[1]];
                joined.extend(records(piece, w[0]));
            }
            prop_assert_eq!(joined, all);
        }

        /// The maps of consecutive stretches, composed, give the state a
        /// run from the start has at their end.
        #[test]
        fn composed_maps_give_the_state_at_a_cut(data in proptest::collection::vec(prop::sample::select(b"ab,\"\r\n".to_vec()), 0..200), cuts in proptest::collection::vec(0usize..200, 0..5)) {
            let t = table(b',');
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            cuts.push(data.len());
            let (mut state, mut at) = (Csv::EndRecord as u8, 0);
            for c in cuts {
                let mut map = IDENTITY;
                transitions(&mut map, &data[at..c], &t);
                state = map[state as usize];
                prop_assert_eq!(state, state_at(&data, c, &t));
                at = c;
            }
        }
    }

    #[test]
    fn the_automaton_agrees_with_csv_core_on_quotes_and_crlf() {
        let t = table(b',');
        let data = b"id,text\r\n1,\"a\nb,\"\"c\"\"\"\r\n2,x\"y\n\n\r\n3,\"\"\r4,z";
        let all = records(data, 0);
        assert_eq!(all.len(), 5, "{all:?}");
        for cut in 0..=data.len() {
            let b = boundary(data, cut, &t);
            let expected: Vec<_> = all.iter().filter(|r| r.0 >= b as u64).cloned().collect();
            assert_eq!(records(data, b), expected, "cut {cut} -> {b}");
        }
    }
}
