//! The vocabulary decided where each term is owned.
//!
//! Terms arrive here as sequences of word ids every rank shares (the words
//! were merged first, in sorted order: see [`crate::tfidf::tokens`]). Every
//! distinct term has one owner rank, a hash of its word ids.
//!
//! 1. Each rank sends every local term it does not own, with its local
//!    document frequency and total count, to the owner (one all-to-all of a
//!    few varints a term: no strings).
//! 2. The owner adds what arrives to its own n-gram table: it now holds the
//!    global counts of exactly the terms it owns, and prunes them there:
//!    `min_df` and `max_df` by themselves, `max_features` by a distributed
//!    selection (a bisection on the count threshold with scalar allreduces,
//!    then the terms tied at the threshold, in term order).
//! 3. Only kept terms travel further: an all-gather of each owner's sorted
//!    kept terms and their document frequencies gives every rank the
//!    vocabulary (a P-way merge gives sklearn's sorted column order) and the
//!    idf's input.
//! 4. The owner answers each rank's terms with their columns (an all-to-all
//!    of four bytes a term), so no rank looks a term up in the vocabulary.
//!
//! A term seen once on one rank and dropped by `min_df` costs a few bytes to
//! its owner and four bytes back; it is never sorted, gathered, or given a
//! slot in a collective over the vocabulary. At one rank nothing is sent.
//! Term order: word ids are in byte order of the words, and the space that
//! joins words sorts below every word character, so comparing word-id
//! sequences compares the joined strings (for the character analyzers,
//! ids in code point order joined by nothing, trivially).

use crate::collectives::{Collectives, Op};
use crate::error::Result;
use crate::tfidf::counts::LocalVocabulary;
use crate::tfidf::prune::{DfWindow, PruneError};
use crate::tfidf::terms::AHEAD;
use crate::tfidf::tokens::Sequences;
use crate::tfidf::VectorizerOptions;
use crate::prefetch::prefetch;
use crate::varint;
use anyhow::bail;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// No column (a dropped term).
pub const NONE: u32 = u32::MAX;

/// The fitted vocabulary, the same on every rank but for `local_to_col`.
pub struct Fitted {
    /// Kept terms in column (sorted) order.
    pub vocabulary: Vec<Box<str>>,
    /// Document frequency of each column over the whole corpus.
    pub df: Vec<u64>,
    /// Each local term id's column; [`NONE`] for dropped terms and prefixes
    /// (a plain `u32`: half the bytes of an `Option`, and the map of a large
    /// vocabulary is read once a non-zero).
    pub local_to_col: Vec<u32>,
}

/// The rank that owns the term with word ids `words`: the same on every rank.
pub fn owner_of(words: &[u32], ranks: usize) -> usize {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &w in words {
        h = (h ^ w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
    }
    (h % ranks as u64) as usize
}

/// Collective: the vocabulary of every rank's terms after `min_df`,
/// `max_df` and `max_features`, with each local term's column. Terms that
/// only other ranks have seen are added to `local`'s table (as uncounted
/// nodes) while their owner tallies them.
pub fn fit_vocabulary(comm: &dyn Collectives, local: &mut LocalVocabulary, n_docs: u64, opts: &VectorizerOptions) -> Result<Fitted> {
    let n_local = local.terms.len();
    let (ldf, ltf) = local.df_and_tf();
    let (outgoing, sent, own) = route(local, &ldf, &ltf, comm.size(), comm.rank());
    let (received, lens) = comm.all_to_all_parts(&outgoing)?;
    drop(outgoing);
    let mut owned = Owned::new(&own, ldf, ltf);
    let received_nodes = owned.add_received(local, &received, &lens);
    drop(received);
    let keep = prune(comm, local, &owned, n_docs, opts)?;
    let kept = sorted_terms(local, owned.nodes.iter().copied().filter(|&n| keep[n as usize]));
    let Gathered { vocabulary, df, mine } = gather_kept(comm, local, &kept, &owned.df)?;
    if vocabulary.is_empty() {
        bail!(PruneError::NothingLeft);
    }
    let mut node_col = vec![NONE; owned.df.len()];
    for (&node, col) in kept.nodes.iter().zip(mine) {
        node_col[node as usize] = col;
    }
    let local_to_col = answer(comm, &node_col, &received_nodes, &sent, &own, n_local)?;
    Ok(Fitted { vocabulary, df, local_to_col })
}

/// Word-id sequences on the wire, as LEB128: each its length, then its ids.
fn pack(seqs: &Sequences) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..seqs.len() {
        varint::put(&mut out, seqs.get(i).len() as u64);
        seqs.get(i).iter().for_each(|&w| varint::put(&mut out, w as u64));
    }
    out
}

/// The inverse of [`pack`].
fn unpack(buf: &[u8]) -> Sequences {
    let (mut at, mut out) = (0, Sequences::new());
    while at < buf.len() {
        let n = varint::get(buf, &mut at) as usize;
        out.push((0..n).map(|_| varint::get(buf, &mut at) as u32));
    }
    out
}

/// Collective: every rank's sequences, in rank order. At one rank they
/// are this rank's own, and are not packed and read back.
fn all_gather_sequences(comm: &dyn Collectives, seqs: &Sequences) -> Result<Sequences> {
    if comm.size() == 1 {
        return Ok(seqs.clone());
    }
    Ok(unpack(&comm.all_gather_bytes(&pack(seqs))?))
}

/// Nodes with their word ids, in term order.
struct SortedTerms {
    nodes: Vec<u32>,
    words: Sequences,
}

fn sorted_terms(local: &LocalVocabulary, nodes: impl Iterator<Item = u32>) -> SortedTerms {
    let nodes: Vec<u32> = nodes.collect();
    if let Some(keyed) = nodes.iter().map(|&n| local.terms.pair_key(n).map(|k| (k, n))).collect() {
        return sorted_pairs(keyed);
    }
    let (mut unsorted, mut w) = (Sequences::new(), Vec::new());
    for &n in &nodes {
        local.terms.sequence(n, &mut w);
        unsorted.push(w.iter().copied());
    }
    let mut order: Vec<usize> = (0..unsorted.len()).collect();
    order.sort_unstable_by(|&a, &b| unsorted.get(a).cmp(unsorted.get(b)));
    let mut words = Sequences::new();
    order.iter().for_each(|&i| words.push(unsorted.get(i).iter().copied()));
    SortedTerms { nodes: order.iter().map(|&i| nodes[i]).collect(), words }
}

/// [`sorted_terms`] when every term has one or two words (word n-grams up
/// to bigrams, the common case): each term is its
/// [`pair key`](crate::tfidf::terms::TermTable::pair_key), whose integer
/// order is term order, and the sequences are read back from the keys in
/// order. Keys are distinct (one node a term), so the sort needs no
/// tie-break.
fn sorted_pairs(mut keyed: Vec<(u64, u32)>) -> SortedTerms {
    keyed.sort_unstable_by_key(|&(k, _)| k);
    let mut words = Sequences::new();
    for &(k, _) in &keyed {
        words.push_word((k >> 32) as u32);
        if k as u32 != 0 {
            words.push_word(k as u32 - 1);
        }
        words.close();
    }
    SortedTerms { nodes: keyed.into_iter().map(|(_, n)| n).collect(), words }
}

/// What this rank sends each owner (per term: its length, word ids, df and
/// tf, all LEB128), the local ids sent to each owner in that order, and the
/// local ids this rank owns. Prefixes (df 0) are not terms.
fn route(local: &LocalVocabulary, ldf: &[u64], ltf: &[u64], p: usize, me: usize) -> (Vec<Vec<u8>>, Vec<Vec<u32>>, Vec<u32>) {
    let mut out = vec![Vec::new(); p];
    let mut sent = vec![Vec::new(); p];
    let mut own = Vec::new();
    let mut words = Vec::new();
    for id in (0..local.terms.len() as u32).filter(|&id| ldf[id as usize] > 0) {
        if p == 1 {
            own.push(id);
            continue;
        }
        local.terms.sequence(id, &mut words);
        let o = owner_of(&words, p);
        if o == me {
            own.push(id);
            continue;
        }
        let buf = &mut out[o];
        varint::put(buf, words.len() as u64);
        words.iter().for_each(|&w| varint::put(buf, w as u64));
        varint::put(buf, ldf[id as usize]);
        varint::put(buf, ltf[id as usize]);
        sent[o].push(id);
    }
    (out, sent, own)
}

/// The global counts of the terms this rank owns, by node of its table:
/// its own local terms, then the nodes of terms only others have seen.
struct Owned {
    /// Owned nodes, in the order met.
    nodes: Vec<u32>,
    /// Per node (owned or not): the counts added here.
    df: Vec<u64>,
    tf: Vec<u64>,
    /// Whether a node is already in `nodes`.
    is_owned: Vec<bool>,
}

impl Owned {
    fn new(own: &[u32], mut df: Vec<u64>, mut tf: Vec<u64>) -> Self {
        let mut is_owned = vec![false; df.len()];
        own.iter().for_each(|&n| is_owned[n as usize] = true);
        // Terms owned elsewhere keep only what arrives here: nothing.
        for (n, owned) in is_owned.iter().enumerate() {
            if !owned {
                df[n] = 0;
                tf[n] = 0;
            }
        }
        Owned { nodes: own.to_vec(), df, tf, is_owned }
    }

    /// Adds every received term's counts; returns, per sending rank, the
    /// node of each term it sent, in its order.
    fn add_received(&mut self, local: &mut LocalVocabulary, buf: &[u8], lens: &[usize]) -> Vec<Vec<u32>> {
        let mut at = 0;
        let mut nodes = Vec::with_capacity(lens.len());
        for &len in lens {
            let (terms, counts) = parse_part(&buf[at..at + len]);
            at += len;
            // Two passes, each with its misses asked for ahead: the nodes
            // (the table is far larger than the caches: a bigram's slot a
            // few terms ahead), then their counts (a node's counts are as
            // scattered, and known only once its node is).
            let mut from = Vec::with_capacity(counts.len());
            for i in 0..counts.len() {
                if let Some(&[w1, w2]) = (i + AHEAD < terms.len()).then(|| terms.get(i + AHEAD)) {
                    local.terms.prefetch_pair(w1, w2);
                }
                from.push(local.terms.node_of(terms.get(i)));
            }
            if let Some(&top) = from.iter().max() {
                self.cover(top);
            }
            for (i, (&node, &(df, tf))) in from.iter().zip(&counts).enumerate() {
                if let Some(&ahead) = from.get(i + AHEAD) {
                    let n = ahead as usize;
                    prefetch(&self.df[n..][..1]);
                    prefetch(&self.tf[n..][..1]);
                    prefetch(&self.is_owned[n..][..1]);
                }
                self.add(node, df, tf);
            }
            nodes.push(from);
        }
        nodes
    }

    /// Room for counts of nodes up to `top`.
    fn cover(&mut self, top: u32) {
        let n = top as usize + 1;
        if n > self.df.len() {
            self.df.resize(n, 0);
            self.tf.resize(n, 0);
            self.is_owned.resize(n, false);
        }
    }

    /// Adds a node's counts (its entries made by [`Self::cover`]).
    fn add(&mut self, node: u32, df: u64, tf: u64) {
        let n = node as usize;
        if !self.is_owned[n] {
            self.is_owned[n] = true;
            self.nodes.push(node);
        }
        self.df[n] += df;
        self.tf[n] += tf;
    }
}

/// One sender's records: the terms' word ids, and their (df, tf).
fn parse_part(part: &[u8]) -> (Sequences, Vec<(u64, u64)>) {
    let (mut terms, mut counts, mut at) = (Sequences::new(), Vec::new(), 0);
    while at < part.len() {
        let n = varint::get(part, &mut at) as usize;
        terms.push((0..n).map(|_| varint::get(part, &mut at) as u32));
        counts.push((varint::get(part, &mut at), varint::get(part, &mut at)));
    }
    (terms, counts)
}

/// Collective: which nodes survive `min_df`, `max_df` and `max_features`
/// (indexed by node; only owned nodes can be true). Every rank takes the
/// same branches (the tests are on global figures), so a failure is the
/// same error on every rank.
fn prune(comm: &dyn Collectives, local: &LocalVocabulary, owned: &Owned, n_docs: u64, opts: &VectorizerOptions) -> Result<Vec<bool>> {
    if global_sum(comm, owned.nodes.len() as u64) == 0 {
        bail!("empty vocabulary: the documents hold no tokens (or only stop words)");
    }
    let window = DfWindow::new(n_docs, opts.min_df, opts.max_df)?;
    let mut keep = vec![false; owned.df.len()];
    owned.nodes.iter().for_each(|&n| keep[n as usize] = window.keeps(owned.df[n as usize]));
    if let Some(k) = opts.max_features {
        let counts = if opts.binary { &owned.df } else { &owned.tf };
        cap(comm, local, counts, &mut keep, k as u64)?;
    }
    Ok(keep)
}

/// Collective: keeps the `k` kept terms with the largest counts over all
/// owners; ties at the threshold go to the terms that sort first, as
/// [`crate::tfidf::prune::keep_mask`] breaks them.
fn cap(comm: &dyn Collectives, local: &LocalVocabulary, counts: &[u64], keep: &mut [bool], k: u64) -> Result<()> {
    let kept = |keep: &[bool]| (0..keep.len()).filter(|&n| keep[n]).collect::<Vec<usize>>();
    let candidates = kept(keep);
    let at_least = |t: u64| global_sum(comm, candidates.iter().filter(|&&n| counts[n] >= t).count() as u64);
    if at_least(0) <= k {
        return Ok(());
    }
    let mut top = [candidates.iter().map(|&n| counts[n]).max().unwrap_or(0)];
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
    let tied = sorted_terms(local, candidates.iter().filter(|&&n| counts[n] == lo).map(|&n| n as u32));
    let every = all_gather_sequences(comm, &tied.words)?;
    let mut order: Vec<usize> = (0..every.len()).collect();
    let cutoff = every.get(*order.select_nth_unstable_by(room - 1, |&a, &b| every.get(a).cmp(every.get(b))).1);
    for &n in &candidates {
        keep[n] = counts[n] > lo;
    }
    for (i, &n) in tied.nodes.iter().enumerate() {
        keep[n as usize] = tied.words.get(i) <= cutoff;
    }
    Ok(())
}

fn global_sum(comm: &dyn Collectives, x: u64) -> u64 {
    let mut v = [x];
    comm.all_reduce_u64(&mut v, Op::Sum);
    v[0]
}

/// The kept terms of every owner in column order.
struct Gathered {
    vocabulary: Vec<Box<str>>,
    df: Vec<u64>,
    /// The column of each of this rank's kept terms, in its order.
    mine: Vec<u32>,
}

/// Collective: every owner's kept terms (each list sorted) merged into the
/// sorted vocabulary, each column's df, and the column of each of this
/// rank's `kept` terms.
fn gather_kept(comm: &dyn Collectives, local: &LocalVocabulary, kept: &SortedTerms, df: &[u64]) -> Result<Gathered> {
    let all = all_gather_sequences(comm, &kept.words)?;
    let dfs: Vec<u8> = kept.nodes.iter().flat_map(|&n| df[n as usize].to_le_bytes()).collect();
    let dfs = comm.all_gather_bytes(&dfs)?;
    let dfs: Vec<u64> = dfs.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).collect();
    let counts = comm.all_gather_u64(kept.nodes.len() as u64);
    // Owner r's terms are all.get(starts[r]..ends[r]), each list sorted.
    let ends: Vec<usize> = counts.iter().scan(0, |acc, &n| { *acc += n as usize; Some(*acc) }).collect();
    let mut next: Vec<usize> = ends.iter().zip(&counts).map(|(&e, &n)| e - n as usize).collect();
    let mut heads: BinaryHeap<Reverse<(&[u32], usize)>> = (0..counts.len()).filter(|&r| next[r] < ends[r]).map(|r| Reverse((all.get(next[r]), r))).collect();
    let (mut vocabulary, mut mine) = (Vec::with_capacity(all.len()), Vec::with_capacity(kept.nodes.len()));
    let mut column_df = Vec::with_capacity(all.len());
    let mut term = String::new();
    while let Some(Reverse((seq, r))) = heads.pop() {
        if r == comm.rank() {
            mine.push(vocabulary.len() as u32);
        }
        term.clear();
        local.terms.write_words(seq, &mut term);
        vocabulary.push(Box::from(term.as_str()));
        column_df.push(dfs[next[r]]);
        next[r] += 1;
        if next[r] < ends[r] {
            heads.push(Reverse((all.get(next[r]), r)));
        }
    }
    Ok(Gathered { vocabulary, df: column_df, mine })
}

/// Collective: each rank's local terms' columns, answered by their owners.
fn answer(comm: &dyn Collectives, node_col: &[u32], received: &[Vec<u32>], sent: &[Vec<u32>], own: &[u32], n_local: usize) -> Result<Vec<u32>> {
    let replies: Vec<Vec<u8>> = received.iter().map(|nodes| nodes.iter().flat_map(|&n| node_col[n as usize].to_le_bytes()).collect()).collect();
    let (back, lens) = comm.all_to_all_parts(&replies)?;
    drop(replies);
    let mut local_to_col = vec![NONE; n_local];
    for &id in own {
        local_to_col[id as usize] = node_col[id as usize];
    }
    let mut at = 0;
    for (ids, len) in sent.iter().zip(lens) {
        debug_assert_eq!(ids.len() * 4, len);
        for (id, b) in ids.iter().zip(back[at..at + len].chunks_exact(4)) {
            local_to_col[*id as usize] = u32::from_le_bytes(b.try_into().unwrap());
        }
        at += len;
    }
    Ok(local_to_col)
}

/// LEB128: counts and word ids are mostly small, so a byte or three
/// instead of eight.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_roundtrip() {
        let mut seqs = Sequences::new();
        for s in [&[][..], &[5], &[300, 0, u32::MAX]] {
            seqs.push(s.iter().copied());
        }
        assert_eq!(unpack(&pack(&seqs)), seqs);
    }

    /// A table over sorted words (as after the merge), with every n-gram of
    /// `docs` up to `max_n` counted.
    fn counted(docs: &[&str], max_n: usize) -> LocalVocabulary {
        let mut words: Vec<&str> = docs.iter().flat_map(|d| d.split(' ')).collect();
        words.sort_unstable();
        words.dedup();
        let mut interner = crate::tfidf::interner::Interner::new();
        words.iter().for_each(|w| {
            interner.intern(w);
        });
        let grams = crate::text::Grams { range: (1, max_n), within_words: false, joiner: crate::text::Joiner::Space };
        let mut v = LocalVocabulary::with_words(crate::tfidf::terms::TermTable::with_words(interner, grams.joiner));
        for d in docs {
            let ids: Vec<u32> = d.split(' ').map(|w| v.terms.words().find(w).unwrap()).collect();
            v.add_words(&ids, grams);
        }
        v
    }

    #[test]
    fn sorted_terms_are_in_string_order() {
        // Words that are prefixes of others, and bigrams that start with
        // them: "a b" < "a" + "b..." as strings because ' ' < every word byte.
        let docs = ["ab a b a", "b ab a b", "a_ a ab", "b a_ ab b", "a0 b a"];
        for max_n in [1, 2, 3] {
            let local = counted(&docs, max_n);
            let kept = sorted_terms(&local, (0..local.terms.len() as u32).rev());
            let terms: Vec<String> = kept.nodes.iter().map(|&n| local.terms.term(n)).collect();
            let mut want = terms.clone();
            want.sort_unstable();
            assert_eq!(terms, want, "max_n {max_n}");
            assert_eq!(terms.len(), local.terms.len());
            for (i, &n) in kept.nodes.iter().enumerate() {
                let mut w = Vec::new();
                local.terms.sequence(n, &mut w);
                assert_eq!(kept.words.get(i), &w[..]);
            }
        }
    }

    #[test]
    fn owners_spread_and_are_stable() {
        let owners: Vec<usize> = (0..1000u32).map(|i| owner_of(&[i / 7, i % 7], 4)).collect();
        for r in 0..4 {
            assert!(owners.iter().filter(|&&o| o == r).count() > 150);
        }
        assert_eq!(owner_of(&[3, 9], 7), owner_of(&[3, 9], 7));
    }
}
