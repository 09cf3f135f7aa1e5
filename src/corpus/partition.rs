//! Which documents each rank reads.
//!
//! In the fast layout the split balances *bytes*, since tokenizing cost grows
//! with text length, not with document count: rank `r` starts at the first
//! document whose start offset is at least `r * total_bytes / P`. Each rank
//! finds its two bounds by binary search over `text/offsets`, reading a few
//! dozen single values instead of the whole offsets array. Where bytes are
//! unknown (h5py's variable-length strings) or all documents are empty, the
//! split balances document counts.

use crate::error::Result;

/// `[start, end)` of rank `rank` when splitting `n` documents by count.
pub fn by_count(n: usize, ranks: usize, rank: usize) -> (usize, usize) {
    let at = |r: usize| ((r as u128 * n as u128) / ranks as u128) as usize;
    (at(rank), at(rank + 1))
}

/// First document of rank `rank` (or `n` for `rank == ranks`) when splitting
/// by bytes. `offset_at(i)` is `offsets[i]` for `i` in `0..=n`, non-decreasing,
/// with `offsets[n] == total`.
pub fn byte_balanced_start(
    n: usize,
    total: u64,
    ranks: usize,
    rank: usize,
    mut offset_at: impl FnMut(usize) -> Result<u64>,
) -> Result<usize> {
    if rank == 0 {
        return Ok(0);
    }
    if rank >= ranks {
        return Ok(n);
    }
    if total == 0 {
        return Ok(by_count(n, ranks, rank).0);
    }
    let target = ((rank as u128 * total as u128) / ranks as u128) as u64;
    // Smallest i in [0, n] with offsets[i] >= target; offsets[n] == total >= target.
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if offset_at(mid)? >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

/// `[start, end)` of `rank` when splitting by bytes.
pub fn by_bytes(
    n: usize,
    total: u64,
    ranks: usize,
    rank: usize,
    mut offset_at: impl FnMut(usize) -> Result<u64>,
) -> Result<(usize, usize)> {
    let start = byte_balanced_start(n, total, ranks, rank, &mut offset_at)?;
    let end = byte_balanced_start(n, total, ranks, rank + 1, &mut offset_at)?;
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(offsets: &[u64], ranks: usize) -> Vec<(usize, usize)> {
        let n = offsets.len() - 1;
        let total = *offsets.last().unwrap();
        (0..ranks).map(|r| by_bytes(n, total, ranks, r, |i| Ok(offsets[i])).unwrap()).collect()
    }

    #[test]
    fn covers_every_document_once() {
        for ranks in 1..7 {
            for offsets in [vec![0, 10, 11, 12, 50, 51, 90, 100], vec![0, 0, 0, 0], vec![0, 5], vec![0]] {
                let s = split(&offsets, ranks);
                assert_eq!(s[0].0, 0);
                assert_eq!(s.last().unwrap().1, offsets.len() - 1);
                assert!(s.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 <= w[0].1));
            }
        }
    }

    #[test]
    fn balances_bytes_not_counts() {
        // One long document and many short ones: the long one gets a rank to itself.
        let mut offsets = vec![0u64, 1000];
        for i in 1..=100 {
            offsets.push(1000 + 10 * i);
        }
        assert_eq!(split(&offsets, 2), vec![(0, 1), (1, 101)]);
    }

    #[test]
    fn more_ranks_than_documents() {
        assert_eq!(split(&[0, 4, 8], 4), vec![(0, 1), (1, 1), (1, 2), (2, 2)]);
        assert_eq!(by_count(2, 4, 0), (0, 0));
        assert_eq!((0..4).map(|r| by_count(2, 4, r).1 - by_count(2, 4, r).0).sum::<usize>(), 2);
    }
}
