//! The vocabulary decided where each term is owned.
//!
//! Every distinct term has one owner rank, [`owner_of`]`(term)`.
//!
//! 1. Each rank sends every local term it does not own, with its local
//!    document frequency and total count, to the owner (one all-to-all).
//! 2. The owner adds what arrives to its own counts: it now holds the global
//!    counts of exactly the terms it owns, and prunes them there: `min_df`
//!    and `max_df` by themselves, `max_features` by a distributed selection
//!    (a bisection on the count threshold with scalar allreduces, then the
//!    terms tied at the threshold, by name).
//! 3. Only kept terms travel further: an all-gather of each owner's sorted
//!    kept terms and their document frequencies gives every rank the
//!    vocabulary (a P-way merge gives sklearn's sorted column order) and the
//!    idf's input.
//! 4. The owner answers each rank's terms with their columns (an all-to-all
//!    of four bytes a term), so no rank looks a string up in the vocabulary.
//!
//! A term seen once on one rank and dropped by `min_df` costs its bytes to
//! its owner and four bytes back; it is never sorted, gathered or given a
//! slot in a collective over the vocabulary. At one rank nothing is sent,
//! and the only strings built are the kept terms'.

use super::vocabulary::{owner_of, pack_terms, unpack_terms};
use crate::collectives::{Collectives, Op};
use crate::error::Result;
use crate::tfidf::counts::LocalVocabulary;
use crate::tfidf::interner::Interner;
use crate::tfidf::prune::{DfWindow, PruneError};
use crate::tfidf::VectorizerOptions;
use anyhow::bail;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// No column (a dropped term) and no slot.
const NONE: u32 = u32::MAX;

/// The fitted vocabulary, the same on every rank but for `local_to_col`.
pub struct Fitted {
    /// Kept terms in column (sorted) order.
    pub vocabulary: Vec<Box<str>>,
    /// Document frequency of each column over the whole corpus.
    pub df: Vec<u64>,
    /// Each local term id's column; `None` for dropped terms and prefixes.
    pub local_to_col: Vec<Option<u32>>,
}

/// Collective: the vocabulary of every rank's terms after `min_df`,
/// `max_df` and `max_features`, with each local term's column.
pub fn fit_vocabulary(comm: &dyn Collectives, local: &LocalVocabulary, n_docs: u64, opts: &VectorizerOptions) -> Result<Fitted> {
    let (ldf, ltf) = local.df_and_tf();
    let (outgoing, sent, own) = route(local, &ldf, &ltf, comm.size(), comm.rank());
    let (received, lens) = comm.all_to_all_parts(&outgoing)?;
    drop(outgoing);
    let mut owned = Owned::new(local, own, &ldf, &ltf);
    let received_slots = owned.add_received(&received, &lens);
    drop(received);
    let keep = prune(comm, &owned, n_docs, opts)?;
    let mut kept: Vec<(String, u32)> = (0..owned.df.len() as u32).filter(|&s| keep[s as usize]).map(|s| (owned.name(s), s)).collect();
    kept.sort_unstable();
    let (vocabulary, df, mine) = gather_kept(comm, &kept, &owned.df)?;
    if vocabulary.is_empty() {
        bail!(PruneError::NothingLeft);
    }
    let mut owned_cols = vec![NONE; owned.df.len()];
    for ((_, slot), col) in kept.iter().zip(mine) {
        owned_cols[*slot as usize] = col;
    }
    let local_to_col = answer(comm, &owned_cols, &received_slots, &sent, &owned.own, local.terms.len())?;
    Ok(Fitted { vocabulary, df, local_to_col })
}

/// What this rank sends each owner (per term its df and tf as LEB128, then
/// the term and a NUL), the local ids sent to each owner in that order, and
/// the local ids this rank owns. Prefixes (df 0) are not terms.
fn route(local: &LocalVocabulary, ldf: &[u64], ltf: &[u64], p: usize, me: usize) -> (Vec<Vec<u8>>, Vec<Vec<u32>>, Vec<u32>) {
    let mut out = vec![Vec::new(); p];
    let mut sent = vec![Vec::new(); p];
    let mut own = Vec::new();
    let mut term = String::new();
    for id in (0..local.terms.len() as u32).filter(|&id| ldf[id as usize] > 0) {
        if p == 1 {
            own.push(id);
            continue;
        }
        term.clear();
        local.terms.write_term(id, &mut term);
        let o = owner_of(&term, p);
        if o == me {
            own.push(id);
        } else {
            put_varint(&mut out[o], ldf[id as usize]);
            put_varint(&mut out[o], ltf[id as usize]);
            pack_terms([term.as_str()], &mut out[o]);
            sent[o].push(id);
        }
    }
    (out, sent, own)
}

/// The global counts of the terms this rank owns: its own local terms
/// first (slot `i` is local id `own[i]`), then terms only other ranks have.
struct Owned<'a> {
    local: &'a LocalVocabulary,
    own: Vec<u32>,
    /// Each local id's slot, `NONE` for terms owned elsewhere.
    slot_of_local: Vec<u32>,
    foreign: Interner,
    df: Vec<u64>,
    tf: Vec<u64>,
}

impl<'a> Owned<'a> {
    fn new(local: &'a LocalVocabulary, own: Vec<u32>, ldf: &[u64], ltf: &[u64]) -> Self {
        let mut slot_of_local = vec![NONE; local.terms.len()];
        for (slot, &id) in own.iter().enumerate() {
            slot_of_local[id as usize] = slot as u32;
        }
        let df = own.iter().map(|&id| ldf[id as usize]).collect();
        let tf = own.iter().map(|&id| ltf[id as usize]).collect();
        Owned { local, own, slot_of_local, foreign: Interner::new(), df, tf }
    }

    /// Adds every received term's counts; returns, per sending rank, the
    /// slot of each term it sent, in its order.
    fn add_received(&mut self, buf: &[u8], lens: &[usize]) -> Vec<Vec<u32>> {
        let mut at = 0;
        let mut slots = Vec::with_capacity(lens.len());
        for &len in lens {
            let part = &buf[at..at + len];
            at += len;
            let mut from = Vec::new();
            let mut i = 0;
            while i < part.len() {
                let df = get_varint(part, &mut i);
                let tf = get_varint(part, &mut i);
                let end = i + part[i..].iter().position(|&b| b == 0).expect("a packed term ends with NUL");
                let term = std::str::from_utf8(&part[i..end]).expect("packed terms are UTF-8");
                from.push(self.add(term, df, tf));
                i = end + 1;
            }
            slots.push(from);
        }
        slots
    }

    fn add(&mut self, term: &str, df: u64, tf: u64) -> u32 {
        let slot = match self.local.terms.lookup(term).map(|id| self.slot_of_local[id as usize]) {
            Some(s) if s != NONE => s as usize,
            _ => self.own.len() + self.foreign.intern(term) as usize,
        };
        if slot == self.df.len() {
            self.df.push(0);
            self.tf.push(0);
        }
        self.df[slot] += df;
        self.tf[slot] += tf;
        slot as u32
    }

    fn name(&self, slot: u32) -> String {
        match self.own.get(slot as usize) {
            Some(&id) => self.local.terms.term(id),
            None => self.foreign.get(slot - self.own.len() as u32).to_owned(),
        }
    }
}

/// Collective: which owned slots survive `min_df`, `max_df` and
/// `max_features`. Every rank takes the same branches (the tests are on
/// global figures), so a failure is the same error on every rank.
fn prune(comm: &dyn Collectives, owned: &Owned, n_docs: u64, opts: &VectorizerOptions) -> Result<Vec<bool>> {
    if global_sum(comm, owned.df.len() as u64) == 0 {
        bail!("empty vocabulary: the documents hold no tokens (or only stop words)");
    }
    let window = DfWindow::new(n_docs, opts.min_df, opts.max_df)?;
    let mut keep: Vec<bool> = owned.df.iter().map(|&d| window.keeps(d)).collect();
    if let Some(k) = opts.max_features {
        let counts = if opts.binary { &owned.df } else { &owned.tf };
        cap(comm, counts, &mut keep, |s| owned.name(s), k as u64)?;
    }
    Ok(keep)
}

/// Collective: keeps the `k` kept slots with the largest counts over all
/// owners; ties at the threshold go to the terms that sort first, as
/// [`crate::tfidf::prune::keep_mask`] breaks them.
fn cap(comm: &dyn Collectives, counts: &[u64], keep: &mut [bool], name: impl Fn(u32) -> String, k: u64) -> Result<()> {
    let at_least = |t: u64| global_sum(comm, counts.iter().zip(keep.iter()).filter(|&(&c, &m)| m && c >= t).count() as u64);
    if at_least(0) <= k {
        return Ok(());
    }
    let mut top = [counts.iter().zip(keep.iter()).filter(|p| *p.1).map(|p| *p.0).max().unwrap_or(0)];
    comm.all_reduce_u64(&mut top, Op::Max);
    // Invariant: at_least(lo) >= k > at_least(hi); lo ends as the threshold.
    let (mut lo, mut hi) = (0, top[0] + 1);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at_least(mid) >= k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let room = (k - at_least(lo + 1)) as usize;
    let mut tied: Vec<(String, usize)> = (0..keep.len()).filter(|&s| keep[s] && counts[s] == lo).map(|s| (name(s as u32), s)).collect();
    tied.sort_unstable();
    let mut packed = Vec::new();
    pack_terms(tied.iter().map(|(t, _)| t.as_str()), &mut packed);
    let every_tied = comm.all_gather_bytes(&packed)?;
    let mut every: Vec<&str> = unpack_terms(&every_tied).collect();
    let cutoff: &str = every.select_nth_unstable(room - 1).1;
    for (s, m) in keep.iter_mut().enumerate() {
        *m = *m && counts[s] > lo;
    }
    for (t, s) in &tied {
        keep[*s] = t.as_str() <= cutoff;
    }
    Ok(())
}

fn global_sum(comm: &dyn Collectives, x: u64) -> u64 {
    let mut v = [x];
    comm.all_reduce_u64(&mut v, Op::Sum);
    v[0]
}

/// Collective: every owner's kept terms (each list sorted) merged into the
/// sorted vocabulary, each column's df, and the column of each entry of
/// this rank's `kept`.
fn gather_kept(comm: &dyn Collectives, kept: &[(String, u32)], df: &[u64]) -> Result<(Vec<Box<str>>, Vec<u64>, Vec<u32>)> {
    let mut packed = Vec::new();
    pack_terms(kept.iter().map(|(t, _)| t.as_str()), &mut packed);
    let terms = comm.all_gather_bytes(&packed)?;
    drop(packed);
    let dfs: Vec<u8> = kept.iter().flat_map(|&(_, s)| df[s as usize].to_le_bytes()).collect();
    let dfs = comm.all_gather_bytes(&dfs)?;
    let dfs: Vec<u64> = dfs.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).collect();
    let counts = comm.all_gather_u64(kept.len() as u64);
    let mut all = unpack_terms(&terms);
    let lists: Vec<Vec<&str>> = counts.iter().map(|&n| all.by_ref().take(n as usize).collect()).collect();
    let starts: Vec<usize> = counts.iter().scan(0, |acc, &n| { *acc += n as usize; Some(*acc - n as usize) }).collect();
    let mut heads: BinaryHeap<Reverse<(&str, usize)>> = lists.iter().enumerate().filter_map(|(r, l)| l.first().map(|&t| Reverse((t, r)))).collect();
    let mut next = vec![0usize; lists.len()];
    let (mut vocabulary, mut column_df, mut mine) = (Vec::with_capacity(dfs.len()), Vec::with_capacity(dfs.len()), Vec::with_capacity(kept.len()));
    while let Some(Reverse((term, r))) = heads.pop() {
        if r == comm.rank() {
            mine.push(vocabulary.len() as u32);
        }
        vocabulary.push(Box::from(term));
        column_df.push(dfs[starts[r] + next[r]]);
        next[r] += 1;
        if let Some(&t) = lists[r].get(next[r]) {
            heads.push(Reverse((t, r)));
        }
    }
    Ok((vocabulary, column_df, mine))
}

/// Collective: each rank's local terms' columns, answered by their owners.
fn answer(comm: &dyn Collectives, owned_cols: &[u32], received_slots: &[Vec<u32>], sent: &[Vec<u32>], own: &[u32], n_local: usize) -> Result<Vec<Option<u32>>> {
    let replies: Vec<Vec<u8>> = received_slots.iter().map(|slots| slots.iter().flat_map(|&s| owned_cols[s as usize].to_le_bytes()).collect()).collect();
    let (back, lens) = comm.all_to_all_parts(&replies)?;
    drop(replies);
    let column = |c: u32| (c != NONE).then_some(c);
    let mut local_to_col = vec![None; n_local];
    for (slot, &id) in own.iter().enumerate() {
        local_to_col[id as usize] = column(owned_cols[slot]);
    }
    let mut at = 0;
    for (ids, len) in sent.iter().zip(lens) {
        debug_assert_eq!(ids.len() * 4, len);
        for (id, b) in ids.iter().zip(back[at..at + len].chunks_exact(4)) {
            local_to_col[*id as usize] = column(u32::from_le_bytes(b.try_into().unwrap()));
        }
        at += len;
    }
    Ok(local_to_col)
}

/// LEB128: counts are mostly small, so a byte or two instead of eight.
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn get_varint(buf: &[u8], at: &mut usize) -> u64 {
    let (mut x, mut shift) = (0u64, 0);
    loop {
        let b = buf[*at];
        *at += 1;
        x |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return x;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip() {
        let xs = [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        let mut b = Vec::new();
        xs.iter().for_each(|&x| put_varint(&mut b, x));
        let mut at = 0;
        assert_eq!(xs.iter().map(|_| get_varint(&b, &mut at)).collect::<Vec<_>>(), xs);
        assert_eq!(at, b.len());
    }
}
