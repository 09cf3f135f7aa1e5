//! The model split by columns: which rank owns which feature, and every
//! sample's entries in this rank's features.
//!
//! With a replicated model every rank applies every sample's update, so half
//! of a step's work (the update pass) never shrinks with more ranks. With the
//! columns split, each rank does 1/P of both passes: for a step's batch it
//! computes the samples' partial scores over its own columns, one allreduce
//! sums them (see `saga`), and it updates only its own columns. For that a
//! rank needs, for *every* sample of the corpus, the entries in its columns.
//! They are gathered once before the first epoch by one all-to-all of the
//! local rows, so the steps move no rows at all; the memory per rank stays
//! about the corpus's non-zeros / P, plus one row pointer per sample.

use crate::collectives::Collectives;
use crate::error::Result;
use crate::sparse::{RowBuilder, Rows, Value};
use crate::with_parts;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// This rank's columns and the corpus's entries in them.
pub struct FeatureShard<'a> {
    /// Global index of each owned column, ascending (local column `l` is `owned[l]`).
    pub owned: Vec<u32>,
    /// Every sample of the corpus in global order, restricted to the owned
    /// columns, with local column indices (still ascending within a row),
    /// values stored as the rank's rows store them.
    pub x: Cow<'a, Rows>,
    /// Global index of this rank's first local sample; local samples are
    /// `first_sample..first_sample + n_local`.
    pub first_sample: usize,
    pub n_local: usize,
    /// The busiest rank's non-zeros over the mean (1 = perfectly balanced).
    pub imbalance: f64,
}

impl<'a> FeatureShard<'a> {
    /// Collective: the shard of this rank. On one rank it borrows `x`.
    pub fn build(x: &'a Rows, d: usize, comm: &dyn Collectives) -> Result<Self> {
        let (p, me) = (comm.size(), comm.rank());
        if p == 1 {
            return Ok(FeatureShard { owned: (0..d as u32).collect(), x: Cow::Borrowed(x), first_sample: 0, n_local: x.rows(), imbalance: 1.0 });
        }
        // Sample counts of every rank (a one-hot sum: exact).
        let mut counts = vec![0.0; p];
        counts[me] = x.rows() as f64;
        let counts: Vec<usize> = comm.sum_f64_vec_identical(&counts).iter().map(|&c| c as usize).collect();
        let first_sample = counts[..me].iter().sum();

        let mut col_nnz = vec![0.0; d];
        for &j in x.indices() {
            col_nnz[j as usize] += 1.0;
        }
        let col_nnz = comm.sum_f64_vec_identical(&col_nnz);
        let owner = assign_owners(&col_nnz, p);
        let (local, owned) = local_indices(&owner, p, me);
        let mut load = vec![0.0; p];
        for (&o, &c) in owner.iter().zip(&col_nnz) {
            load[o as usize] += c;
        }
        let mean = load.iter().sum::<f64>() / p as f64;
        let imbalance = if mean > 0.0 { load.iter().cloned().fold(0.0, f64::max) / mean } else { 1.0 };

        let (send, lens) = split_rows(x, &owner, &local, p);
        let (recv, _) = comm.all_to_all_packed(&send, &lens)?;
        drop(send);
        let sx = Rows::new(join_rows(&recv, &counts).finish(owned.len()), x.is_f32());
        Ok(FeatureShard { owned, x: Cow::Owned(sx), first_sample, n_local: x.rows(), imbalance })
    }

    /// The same shard with its rows borrowed: the fits of a path over one
    /// fold share one split of the rows (at 2 ranks an all-to-all of the
    /// fold's rows, ~30 ms on the real corpus, fifty fits a path).
    pub fn view(&self) -> FeatureShard<'_> {
        FeatureShard { owned: self.owned.clone(), x: Cow::Borrowed(&*self.x), first_sample: self.first_sample, n_local: self.n_local, imbalance: self.imbalance }
    }

    /// Frees the corpus's entries in this rank's features (the fit is over).
    pub fn release_rows(&mut self) {
        self.x = Cow::Owned(Rows::F64(crate::sparse::empty(self.owned.len())));
    }

    /// The local index of global sample `i`, when this rank holds it.
    #[inline]
    pub fn local_sample(&self, i: usize) -> Option<usize> {
        i.checked_sub(self.first_sample).filter(|&l| l < self.n_local)
    }
}

/// The owner of each column: heaviest columns first, each to the rank with
/// the fewest non-zeros so far (ties to the lower rank), so every rank gets
/// about the same share of a step's work. Deterministic: every rank computes
/// the same map from the same (allreduced) counts.
pub fn assign_owners(col_nnz: &[f64], p: usize) -> Vec<u32> {
    let mut by_weight: Vec<u32> = (0..col_nnz.len() as u32).collect();
    by_weight.sort_by(|&a, &b| col_nnz[b as usize].total_cmp(&col_nnz[a as usize]).then(a.cmp(&b)));
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> = (0..p as u32).map(|r| Reverse((0, r))).collect();
    let mut owner = vec![0u32; col_nnz.len()];
    for j in by_weight {
        let Reverse((load, r)) = heap.pop().expect("at least one rank");
        owner[j as usize] = r;
        heap.push(Reverse((load + col_nnz[j as usize] as u64, r)));
    }
    owner
}

/// Each column's index among its owner's columns (ascending global order
/// keeps rows sorted), and the global indices of `me`'s columns.
fn local_indices(owner: &[u32], p: usize, me: usize) -> (Vec<u32>, Vec<u32>) {
    let mut next = vec![0u32; p];
    let mut owned = Vec::new();
    let local = owner
        .iter()
        .enumerate()
        .map(|(j, &o)| {
            if o as usize == me {
                owned.push(j as u32);
            }
            let l = next[o as usize];
            next[o as usize] += 1;
            l
        })
        .collect();
    (local, owned)
}

/// Wire format, per destination rank and per local row in order: the row's
/// entry count (u32 LE) then its entries as (local column u32, value f64:
/// exact for float32 values too). Every rank's part in one buffer, in rank
/// order (returned with each part's length), sized exactly first and then
/// filled in place: this runs over every non-zero, and each fresh page
/// costs (3 us a 4 KiB page measured on a KVM guest), so no second copy
/// joins the parts.
fn split_rows(x: &Rows, owner: &[u32], local: &[u32], p: usize) -> (Vec<u8>, Vec<usize>) {
    with_parts!(x, |indptr, cols, values| split_parts(indptr, cols, values, owner, local, p))
}

fn split_parts<V: Value>(indptr: &[usize], cols: &[u32], values: &[V], owner: &[u32], local: &[u32], p: usize) -> (Vec<u8>, Vec<usize>) {
    let n_rows = indptr.len() - 1;
    let mut entries = vec![0usize; p];
    for &j in cols {
        entries[owner[j as usize] as usize] += 1;
    }
    let lens: Vec<usize> = entries.iter().map(|&e| 4 * n_rows + 12 * e).collect();
    let mut send = vec![0u8; lens.iter().sum()];
    // Where each rank's part goes on: its start, then moving through it.
    let mut at: Vec<usize> = lens.iter().scan(0, |start, &l| Some(std::mem::replace(start, *start + l))).collect();
    let mut count_at = vec![0usize; p];
    for r in 0..n_rows {
        for q in 0..p {
            count_at[q] = at[q];
            at[q] += 4;
        }
        for pos in indptr[r]..indptr[r + 1] {
            let j = cols[pos] as usize;
            let q = owner[j] as usize;
            let a = at[q];
            send[a..a + 4].copy_from_slice(&local[j].to_le_bytes());
            send[a + 4..a + 12].copy_from_slice(&values[pos].to_f64().to_le_bytes());
            at[q] = a + 12;
        }
        for q in 0..p {
            let n = ((at[q] - count_at[q] - 4) / 12) as u32;
            send[count_at[q]..count_at[q] + 4].copy_from_slice(&n.to_le_bytes());
        }
    }
    (send, lens)
}

/// Decodes what every rank sent (concatenated in rank order, `counts[r]` rows from rank `r`).
fn join_rows(recv: &[u8], counts: &[usize]) -> RowBuilder {
    let total: usize = counts.iter().sum();
    let nnz = (recv.len() - 4 * total) / 12;
    let mut x = RowBuilder::with_capacity(total, nnz);
    let u32_at = |i: usize| u32::from_le_bytes(recv[i..i + 4].try_into().unwrap());
    let mut at = 0;
    for _ in 0..total {
        let n = u32_at(at) as usize;
        at += 4;
        for _ in 0..n {
            x.push(u32_at(at), f64::from_le_bytes(recv[at + 4..at + 12].try_into().unwrap()));
            at += 12;
        }
        x.end_row();
    }
    debug_assert_eq!(at, recv.len());
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_balance_the_non_zeros() {
        // A Zipf-like spread: the heaviest column alone is a third of the work.
        let nnz: Vec<f64> = (1..=100).map(|r| (1000 / r) as f64).collect();
        let owner = assign_owners(&nnz, 3);
        let mut load = [0.0; 3];
        for (o, c) in owner.iter().zip(&nnz) {
            load[*o as usize] += c;
        }
        let mean = load.iter().sum::<f64>() / 3.0;
        assert!(load.iter().all(|&l| (l - mean).abs() / mean < 0.01), "{load:?}");
        assert_eq!(owner[0], 0, "the heaviest column goes to rank 0");
    }

    /// Splitting the rows by owner and joining every rank's part gives each
    /// rank exactly the corpus restricted to its columns.
    #[test]
    fn split_then_join_restricts_rows_to_owned_columns() {
        let mut b = RowBuilder::new();
        for row in [vec![(0u32, 1.0), (2, 2.0), (3, 3.0)], vec![], vec![(1, 4.0), (3, 5.0)]] {
            for (j, v) in row {
                b.push(j, v);
            }
            b.end_row();
        }
        let x = Rows::F64(b.clone().finish(4));
        let owner = [1, 0, 1, 0];
        for me in 0..2 {
            let (local, owned) = local_indices(&owner, 2, me);
            let (sent, lens) = split_rows(&x, &owner, &local, 2);
            assert_eq!(lens.iter().sum::<usize>(), sent.len());
            // One source rank holding all three rows: `me`'s part of its buffer.
            let start = lens[..me].iter().sum::<usize>();
            let got = join_rows(&sent[start..start + lens[me]], &[3]);
            let expect: Vec<Vec<(u32, f64)>> = (0..3)
                .map(|r| b.range(r).filter(|&p| owner[b.cols[p] as usize] as usize == me).map(|p| (b.cols[p], b.values[p])).collect())
                .collect();
            for r in 0..3 {
                let row: Vec<(u32, f64)> = got.range(r).map(|p| (owned[got.cols[p] as usize], got.values[p])).collect();
                assert_eq!(row, expect[r], "rank {me} row {r}");
            }
        }
    }

    #[test]
    fn local_sample_range() {
        let x = Rows::F64(crate::sparse::empty(0));
        let s = FeatureShard { owned: vec![], x: Cow::Borrowed(&x), first_sample: 10, n_local: 5, imbalance: 1.0 };
        assert_eq!((s.local_sample(9), s.local_sample(10), s.local_sample(14), s.local_sample(15)), (None, Some(0), Some(4), None));
    }
}
