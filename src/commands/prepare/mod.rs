//! `prepare`: JSON Lines, CSV/TSV (each also `.gz` or `.zst`), Parquet or a
//! folder tree into the fast layout, streaming record by record (a corpus
//! larger than memory is fine). Labels are optional: without a label field
//! (or with `--label-field none`) the corpus is one to predict on.
//!
//! On P ranks each rank reads a consecutive share of the inputs (`plan.rs`:
//! whole files, byte ranges of large uncompressed text files cut at record
//! starts by `split.rs`, Parquet row groups, a folder's files) into spill
//! files of its own (`CorpusPart`), so that its memory is a buffer whatever
//! the input's size. The ranks then exchange what they found ([`settle`]):
//! the first error in document order wins, as one rank reading everything
//! would meet it; whether the corpus is labelled, and whether labels and
//! ids are integers, is decided over all documents. Finally every rank
//! writes its documents at their offsets into one file (`write_parts`). The
//! corpus is the same, byte for byte in every dataset, at any rank count.
//!
//! Spilling costs one more write and read of the text (sequential, mostly
//! in the page cache) and the space of the corpus beside the output until
//! the end; the alternative, reading the inputs twice (once to count, once
//! to write), would parse and decompress everything twice, which is the
//! expensive part.

mod folder;
mod jsonl;
mod parquet;
mod plan;
mod sink;
mod source;
mod split;
mod tabular;
mod weight;

use crate::cli::{InputFormat, PrepareArgs};
use crate::collectives::Collectives;
use crate::corpus::parts::{write_parts, Column, CorpusPart, PartsLayout};
use crate::error::Result;
use crate::output::AtomicPath;
use crate::phase::Phase;
use crate::same_file::{named, refuse_overwriting, Named};
use crate::text::Decoder;
use anyhow::anyhow;
use plan::{Kind, Part, Piece, Plan};
use sink::{mixed_labels, FieldSet, Sink, Summary};
use split::Span;
use std::time::Instant;

pub fn run(comm: &dyn Collectives, args: PrepareArgs) -> Result<()> {
    let started = Instant::now();
    let inputs: Vec<Named> = args.inputs.iter().map(|p| named("input", p)).collect();
    comm.agree(refuse_overwriting(&inputs, &[named("-o", &args.output)]))?;
    let plan = comm.agree(Plan::new(&args))?;
    // Fail before the work, not after it, when the output cannot be written.
    AtomicPath::probe(comm, &args.output)?;
    let share = plan.share(comm.rank(), comm.size());
    let spans = split::resolve(comm, &plan, &share)?;
    let part = comm.agree(CorpusPart::create(&args.output, comm.rank()))?;
    let mut sink = Sink::new(part, &args);
    Phase::Read.begin(comm.rank());
    let read = read_share(&plan, &share, &spans, &args, &mut sink);
    let layout = settle(comm, &args, &plan, &sink, read)?;
    let n = comm.sum_u64_vec(&[sink.part.docs()])[0];
    Phase::Write.begin(comm.rank());
    let how = write_parts(comm, &args.output, sink.part, &layout)?;
    crate::signals::finished();
    if comm.is_root() && !args.common.quiet {
        crate::say!(
            "textsaga prepare: {n} documents, {} rank{} -> {} in {:.2} s (written by {how})",
            comm.size(),
            if comm.size() == 1 { "" } else { "s" },
            args.output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Reads this rank's pieces, in order, into `sink`; stops at the first error.
fn read_share(plan: &Plan, share: &[Piece], spans: &[Span], a: &PrepareArgs, sink: &mut Sink) -> Result<()> {
    for (piece, &span) in share.iter().zip(spans) {
        let input = &plan.inputs[piece.input];
        let path = &input.path;
        match (input.format, &piece.part) {
            (InputFormat::Jsonl, _) => jsonl::read(path, span, a, sink)?,
            (InputFormat::Csv, _) => tabular::read(path, b',', span, a, sink)?,
            (InputFormat::Tsv, _) => tabular::read(path, b'\t', span, a, sink)?,
            (InputFormat::Parquet, &Part::RowGroups { first, end, first_row }) => parquet::read(path, first..end, first_row, a, sink)?,
            (InputFormat::Folder, &Part::Files { first, end }) => {
                let Kind::Files(files) = &input.kind else { unreachable!("a folder lists files") };
                folder::read(path, &files[first..end], a, sink)?
            }
            (format, part) => unreachable!("{format:?} read as {part:?}"),
        }
    }
    Ok(())
}

/// Collective: what the ranks found, settled as one rank reading every
/// input in order would have: the first error in document order is the one
/// reported (a rank's own, or its first document's labelling differing from
/// the corpus's first); otherwise whether the corpus is labelled (an
/// explicit `--label-field` no record has is an error naming the fields
/// seen), and how labels and ids are stored.
fn settle(comm: &dyn Collectives, a: &PrepareArgs, plan: &Plan, sink: &Sink, read: Result<()>) -> Result<PartsLayout> {
    let all = gather(comm, &sink.summary(read.is_err()))?;
    let (labelled, culprit) = first_failure(&all);
    let outcome = match culprit {
        Some((r, _)) if r != comm.rank() => Ok(()),
        Some((_, Some(first))) => Err(mixed_labels(first).context(sink.first.as_ref().map(|l| l.describe()).unwrap_or_default())),
        Some((_, None)) => read,
        None => Ok(()),
    };
    comm.agree(outcome)?;
    if let (Some(field), Some(false)) = (a.explicit_label_field(), labelled) {
        let mut fields = FieldSet::default();
        all.iter().for_each(|s| fields.merge(&s.fields));
        return comm.agree(Err(anyhow!("--label-field '{field}': no record has it; the records have fields: {}", fields.describe())));
    }
    // No document: labelled unless told otherwise (what one rank wrote before).
    let labelled = labelled.unwrap_or(a.label_field().is_some());
    let column = |count: u64, all_int: bool| if count > 0 && all_int { Column::Int } else { Column::Str };
    let labels = labelled.then(|| column(all.iter().map(|s| s.labels).sum(), all.iter().all(|s| s.labels_int)));
    let ids = a.id_field.is_some().then(|| column(all.iter().map(|s| s.ids).sum(), all.iter().all(|s| s.ids_int)));
    Ok(PartsLayout { labels, ids, weights: a.weight_field.is_some(), label_names: plan.label_names.clone() })
}

/// Collective: every rank's summary, in rank order.
fn gather(comm: &dyn Collectives, mine: &Summary) -> Result<Vec<Summary>> {
    // One JSON document a line (JSON text holds no raw newline).
    let mut line = serde_json::to_vec(mine).expect("a summary is JSON");
    line.push(b'\n');
    let all = comm.all_gather_bytes(&line)?;
    let parsed = all.split(|&b| b == b'\n').filter(|s| !s.is_empty()).map(serde_json::from_slice).collect::<std::result::Result<Vec<Summary>, _>>();
    comm.agree(parsed.map_err(anyhow::Error::from))
}

/// Whether the corpus's first document has a label, and the rank whose
/// failure comes first in document order (ranks in order; within a rank,
/// its first document before its own error): with `Some(labelled)` when it
/// is that document's labelling, which differs from the corpus's first.
fn first_failure(all: &[Summary]) -> (Option<bool>, Option<(usize, Option<bool>)>) {
    let mut labelled = None;
    for (r, s) in all.iter().enumerate() {
        if let (Some(first), Some(corpus)) = (s.first, labelled) {
            if first != corpus {
                return (labelled, Some((r, Some(first))));
            }
        }
        labelled = labelled.or(s.first);
        if s.failed {
            return (labelled, Some((r, None)));
        }
    }
    (labelled, None)
}

fn decoded<'a>(bytes: &'a [u8], dec: Decoder, what: impl FnOnce() -> String) -> Result<std::borrow::Cow<'a, str>> {
    dec.decode(bytes).map_err(|e| anyhow!("{}", dec.failure(&what(), e.at)))
}

/// A JSON value as label text: strings as they are, numbers as written.
fn label_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(first: Option<bool>, failed: bool) -> Summary {
        Summary { failed, first, docs: first.is_some() as u64, labels: 0, labels_int: true, ids: 0, ids_int: true, fields: FieldSet::default() }
    }

    #[test]
    fn the_first_failure_in_document_order_wins() {
        let (l, u, none) = (Some(true), Some(false), None);
        // A rank without documents between; the labelling differs on rank 2.
        let all = [summary(l, false), summary(none, false), summary(u, false), summary(none, true)];
        assert_eq!(first_failure(&all), (l, Some((2, u))));
        // A rank's first document comes before its own error.
        let all = [summary(u, false), summary(l, true)];
        assert_eq!(first_failure(&all), (u, Some((1, l))));
        // An error before any document decides nothing.
        let all = [summary(none, true), summary(l, false)];
        assert_eq!(first_failure(&all), (none, Some((0, None))));
        let all = [summary(none, false), summary(u, false), summary(u, false)];
        assert_eq!(first_failure(&all), (u, None));
    }
}
