//! The sorted union of every rank's strings, by collectives only: the
//! words a fit's n-grams are counted over (see [`super::owners`] for the
//! terms themselves), and the class names of string labels.
//!
//! 1. Each string has an owner rank, `hash(string) % P`. An all-to-all sends
//!    every local string to its owner, which deduplicates what it receives.
//! 2. An all-gather of the owners' (disjoint) sets gives every rank the
//!    union exactly once; sorting it gives sklearn's order (Python compares
//!    `str` by code point, which is UTF-8 byte order).
//!
//! Each rank sends its own strings once and receives the union once: no
//! rank sees another's documents, nothing funnels through rank 0, and there
//! is no chain of P point-to-point steps.

use crate::collectives::Collectives;
use crate::error::Result;
use crate::varint;
use std::hash::{Hash, Hasher};

/// The rank that deduplicates `term`: the same on every rank and every run.
pub fn owner_of(term: &str, ranks: usize) -> usize {
    let mut h = rustc_hash::FxHasher::default();
    term.hash(&mut h);
    (h.finish() % ranks as u64) as usize
}

/// Terms as one buffer, each its length (a varint) then its bytes: any
/// string travels, a NUL character included (a unit of the character
/// analyzers when a corpus holds one).
pub fn pack_terms<'a>(terms: impl IntoIterator<Item = &'a str>, out: &mut Vec<u8>) {
    for t in terms {
        varint::put(out, t.len() as u64);
        out.extend_from_slice(t.as_bytes());
    }
}

/// The inverse of [`pack_terms`].
pub fn unpack_terms(buf: &[u8]) -> impl Iterator<Item = &str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        (at < buf.len()).then(|| {
            let n = varint::get(buf, &mut at) as usize;
            at += n;
            std::str::from_utf8(&buf[at - n..at]).expect("packed terms are UTF-8")
        })
    })
}

/// Collective: the sorted union of every rank's `local` terms.
pub fn merge_vocabulary<'a>(comm: &dyn Collectives, local: impl IntoIterator<Item = &'a str>) -> Result<Vec<Box<str>>> {
    let p = comm.size();
    let mut outgoing = vec![Vec::new(); p];
    for t in local {
        pack_terms([t], &mut outgoing[owner_of(t, p)]);
    }
    let received = comm.all_to_all_bytes(&outgoing)?;
    drop(outgoing);
    let mut owned: Vec<&str> = unpack_terms(&received).collect();
    owned.sort_unstable();
    owned.dedup();
    let mut mine = Vec::new();
    pack_terms(owned.iter().copied(), &mut mine);
    drop(owned);
    drop(received);
    let all = comm.all_gather_bytes(&mine)?;
    let mut vocab: Vec<Box<str>> = unpack_terms(&all).map(Box::from).collect();
    vocab.sort_unstable();
    Ok(vocab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_roundtrip() {
        let mut b = Vec::new();
        pack_terms(["", "ab", "c d", "é", "\0", &"x".repeat(300)], &mut b);
        assert_eq!(unpack_terms(&b).collect::<Vec<_>>(), ["", "ab", "c d", "é", "\0", &"x".repeat(300)]);
        assert_eq!(unpack_terms(&[]).count(), 0);
    }

    #[test]
    fn owners_spread_and_are_stable() {
        let owners: Vec<usize> = (0..1000).map(|i| owner_of(&format!("t{i}"), 4)).collect();
        for r in 0..4 {
            assert!(owners.iter().filter(|&&o| o == r).count() > 150);
        }
        assert_eq!(owner_of("saga", 7), owner_of("saga", 7));
    }

    #[test]
    fn byte_order_is_code_point_order() {
        let mut v: Vec<Box<str>> = vec!["z".into(), "é".into(), "中".into(), "a".into(), "\u{10000}".into()];
        v.sort_unstable();
        let cps: Vec<u32> = v.iter().map(|s| s.chars().next().unwrap() as u32).collect();
        assert!(cps.windows(2).all(|w| w[0] < w[1]));
    }
}
