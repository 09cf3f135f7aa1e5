//! Reading a table saved at one split of its rows for another split (a job
//! requeued on another allocation), without any rank reading the whole
//! table: each rank reads an equal stripe of the rows as stored, and one
//! all-to-all sends every row to the rank that holds it now (two-phase
//! I/O). Memory a rank: its stripe and its rows, about two shares.

use crate::collectives::Collectives;
use crate::error::Result;
use crate::solver::state::RowSet;
use anyhow::bail;

/// Which rank holds each row of a space now.
pub enum Owners {
    /// Every rank's run, in rank order (the runs tile the space).
    Runs(Vec<usize>),
    /// The rank of each row (`u32::MAX`: no rank).
    Each(Vec<u32>),
}

impl Owners {
    /// Collective: from every rank's rows. Runs cost two numbers a rank;
    /// listed rows a number a row on every rank (the features: a few MB).
    pub fn gather(comm: &dyn Collectives, rows: &RowSet, total: usize) -> Result<Owners> {
        let listed = comm.max_f64(matches!(rows, RowSet::Listed(_)) as u8 as f64) > 0.0;
        if !listed {
            let RowSet::Range(r) = rows else { unreachable!("no rank lists its rows") };
            let starts: Vec<usize> = comm.all_gather_u64(r.start as u64).into_iter().map(|s| s as usize).collect();
            return Ok(Owners::Runs(starts));
        }
        let mine: Vec<u8> = match rows {
            RowSet::Range(r) => r.clone().flat_map(|i| (i as u32).to_le_bytes()).collect(),
            RowSet::Listed(v) => v.iter().flat_map(|i| i.to_le_bytes()).collect(),
        };
        let lens: Vec<usize> = comm.all_gather_u64(mine.len() as u64).into_iter().map(|l| l as usize).collect();
        let all = comm.all_gather_varcount(&mine, &lens);
        let mut owner = vec![u32::MAX; total];
        let mut at = 0;
        for (rank, &len) in lens.iter().enumerate() {
            for c in all[at..at + len].chunks_exact(4) {
                let row = u32::from_le_bytes(c.try_into().expect("4 bytes")) as usize;
                match owner.get_mut(row) {
                    Some(o) => *o = rank as u32,
                    None => bail!("row {row} is outside the space of {total} rows"),
                }
            }
            at += len;
        }
        Ok(Owners::Each(owner))
    }

    /// The rank that holds `row` now.
    pub fn of(&self, row: usize) -> Option<usize> {
        match self {
            // The last run that starts at or before the row (empty runs share a start).
            Owners::Runs(starts) => starts.partition_point(|&s| s <= row).checked_sub(1),
            Owners::Each(owner) => owner.get(row).filter(|&&o| o != u32::MAX).map(|&o| o as usize),
        }
    }
}

/// The stripe of `stored` rows rank `rank` of `ranks` reads.
pub fn stripe(stored: usize, rank: usize, ranks: usize) -> std::ops::Range<usize> {
    stored * rank / ranks..stored * (rank + 1) / ranks
}

/// Pure: the stripe's rows (`ids[i]` the global row of stored row `i`,
/// `values` `row_bytes` a row) packed for their ranks: each a row id (u64)
/// then its bytes, in one buffer by destination, with each one's length.
pub fn route(ids: &[u64], values: &[u8], row_bytes: usize, owners: &Owners, ranks: usize) -> Result<(Vec<u8>, Vec<usize>)> {
    let mut dest = Vec::with_capacity(ids.len());
    let mut lens = vec![0usize; ranks];
    for &id in ids {
        let Some(r) = owners.of(id as usize).filter(|&r| r < ranks) else { bail!("no rank holds row {id} now") };
        dest.push(r);
        lens[r] += 8 + row_bytes;
    }
    let mut starts: Vec<usize> = lens.iter().scan(0, |a, &l| Some(std::mem::replace(a, *a + l))).collect();
    let mut packed = vec![0u8; lens.iter().sum()];
    for (i, (&id, &r)) in ids.iter().zip(&dest).enumerate() {
        let at = starts[r];
        packed[at..at + 8].copy_from_slice(&id.to_le_bytes());
        packed[at + 8..at + 8 + row_bytes].copy_from_slice(&values[i * row_bytes..(i + 1) * row_bytes]);
        starts[r] += 8 + row_bytes;
    }
    Ok((packed, lens))
}

/// Pure: the rows received ([`route`]'s records from every rank) in the
/// order of this rank's `rows`; every row must come exactly once.
pub fn place(received: &[u8], rows: &RowSet, row_bytes: usize) -> Result<Vec<u8>> {
    let n = rows.len();
    let mut out = vec![0u8; n * row_bytes];
    let mut filled = vec![false; n];
    for rec in received.chunks_exact(8 + row_bytes) {
        let id = u64::from_le_bytes(rec[..8].try_into().expect("8 bytes")) as usize;
        let at = match rows {
            RowSet::Range(r) => r.contains(&id).then(|| id - r.start),
            RowSet::Listed(v) => v.binary_search(&(id as u32)).ok(),
        };
        let Some(at) = at else { bail!("row {id} was sent to a rank that does not hold it") };
        if std::mem::replace(&mut filled[at], true) {
            bail!("row {id} is saved twice");
        }
        out[at * row_bytes..(at + 1) * row_bytes].copy_from_slice(&rec[8..]);
    }
    if let Some(missing) = filled.iter().position(|f| !f) {
        bail!("{} of this rank's {n} rows are not saved (the first: its row {missing})", filled.iter().filter(|f| !**f).count());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// Rows saved in one rank order (listed, scattered) reach the ranks of
    /// another split, each row once, in each rank's order.
    #[test]
    fn rows_reach_their_new_ranks() {
        let total = 11;
        // Saved by 2 ranks holding the odd and the even rows, in that order.
        let stored: Vec<u64> = (1..total as u64).step_by(2).chain((0..total as u64).step_by(2)).collect();
        let value = |id: u64| [id as u8, 100 + id as u8];
        let new: Vec<RowSet> = vec![RowSet::Listed(Cow::Owned(vec![0, 5, 9])), RowSet::Listed(Cow::Owned(vec![1, 2, 3, 4])), RowSet::Listed(Cow::Owned(vec![6, 7, 8, 10]))];
        let mut owner = vec![u32::MAX; total];
        for (r, rows) in new.iter().enumerate() {
            if let RowSet::Listed(v) = rows {
                v.iter().for_each(|&i| owner[i as usize] = r as u32);
            }
        }
        let owners = Owners::Each(owner);
        // Each of 3 readers reads its stripe of the stored rows.
        let mut inbox = vec![Vec::new(); 3];
        for reader in 0..3 {
            let ids = &stored[stripe(total, reader, 3)];
            let values: Vec<u8> = ids.iter().flat_map(|&i| value(i)).collect();
            let (packed, lens) = route(ids, &values, 2, &owners, 3).unwrap();
            let mut at = 0;
            for (r, l) in lens.iter().enumerate() {
                inbox[r].extend_from_slice(&packed[at..at + l]);
                at += l;
            }
        }
        for (r, rows) in new.iter().enumerate() {
            let got = place(&inbox[r], rows, 2).unwrap();
            let RowSet::Listed(v) = rows else { unreachable!() };
            let want: Vec<u8> = v.iter().flat_map(|&i| value(i as u64)).collect();
            assert_eq!(got, want, "rank {r}");
        }
    }

    #[test]
    fn runs_own_their_rows_and_gaps_are_errors() {
        let owners = Owners::Runs(vec![0, 4, 4, 9]);
        assert_eq!([0, 3, 4, 8, 9, 20].map(|r| owners.of(r)), [Some(0), Some(0), Some(2), Some(2), Some(3), Some(3)]);
        let rows = RowSet::Range(4..6);
        let rec = |id: u64| [id.to_le_bytes().to_vec(), vec![id as u8]].concat();
        assert_eq!(place(&[rec(5), rec(4)].concat(), &rows, 1).unwrap(), [4, 5]);
        assert!(place(&rec(4), &rows, 1).is_err(), "row 5 missing");
        assert!(place(&[rec(4), rec(4), rec(5)].concat(), &rows, 1).is_err(), "row 4 twice");
        assert!(place(&rec(7), &rows, 1).is_err(), "not this rank's row");
    }
}
