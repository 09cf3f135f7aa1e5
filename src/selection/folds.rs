//! The folds of scikit-learn's `StratifiedKFold(n_splits)`, shuffled or not,
//! computed across ranks without gathering the labels.
//!
//! scikit-learn numbers the classes by first appearance, sorts the encoded
//! labels, and deals the sorted list round-robin to the folds; how many of
//! class `k` each fold gets (`allocation[f][k]`) follows from the counts
//! alone: class `k` fills positions `[start_k, start_k + count_k)` of the
//! sorted list and fold `f` takes the positions `j` with `j % n_splits == f`.
//! The documents of class `k` then go to the folds in document order: the
//! first `allocation[0][k]` to fold 0, the next ones to fold 1, and so on.
//! So each rank needs per class: the global counts, the first global
//! document (the numbering), and how many of its documents earlier ranks
//! hold (its position): one allreduce each and one all-gather.
//!
//! With `shuffle=True, random_state=S`, scikit-learn shuffles each class's
//! list of fold labels (the blocks above) with `RandomState(S)`, class by
//! class in the order of first appearance, before handing them out in
//! document order. Every rank replays the same draws ([`RandomState`]) and
//! keeps the labels of its own documents: O(n) draws on every rank, and one
//! class's labels in memory at a time.

use super::numpy_rng::RandomState;
use crate::collectives::{Collectives, Op};
use crate::error::Result;
use anyhow::bail;

/// Fold of every local document (`y`: class index of each, `first`: the
/// global index of `y[0]`; `shuffle`: sklearn's `random_state` with
/// `shuffle=True`). Collective. Errors as scikit-learn when no class has
/// `n_splits` members; returns also the smallest class's size (to warn).
pub fn stratified_folds(comm: &dyn Collectives, y: &[u32], first: usize, classes: usize, n_splits: usize, shuffle: Option<u32>) -> Result<(Vec<u32>, u64)> {
    let (mut counts, mut first_seen) = (vec![0u64; classes], vec![u64::MAX; classes]);
    for (i, &c) in y.iter().enumerate() {
        counts[c as usize] += 1;
        first_seen[c as usize] = first_seen[c as usize].min((first + i) as u64);
    }
    let before = ranks_before(comm, &counts);
    comm.all_reduce_u64(&mut first_seen, Op::Min);
    let totals = comm.sum_u64_vec(&counts);
    if totals.iter().all(|&t| (n_splits as u64) > t) {
        bail!("n_splits={n_splits} cannot be greater than the number of members in each class.");
    }
    let bounds = fold_bounds(&totals, &first_seen, n_splits);
    let smallest = totals.iter().copied().filter(|&t| t > 0).min().unwrap_or(0);
    if let Some(seed) = shuffle {
        return Ok((shuffled(y, (&totals, &first_seen, &before, &counts), &bounds, seed), smallest));
    }
    let mut seen = before;
    let folds = y
        .iter()
        .map(|&c| {
            let c = c as usize;
            let position = seen[c];
            seen[c] += 1;
            bounds[c].iter().position(|&end| position < end).expect("every position has a fold") as u32
        })
        .collect();
    Ok((folds, smallest))
}

/// The folds of the local documents when each class's fold labels are
/// shuffled: per class (global total, first appearance, documents before
/// this rank, documents here), the whole list is shuffled and this rank's
/// window of it kept.
fn shuffled(y: &[u32], (totals, first_seen, before, here): (&[u64], &[u64], &[u64], &[u64]), bounds: &[Vec<u64>], seed: u32) -> Vec<u32> {
    let mut order: Vec<usize> = (0..totals.len()).filter(|&k| totals[k] > 0).collect();
    order.sort_by_key(|&k| (first_seen[k], k));
    let mut rng = RandomState::new(seed);
    let mut windows: Vec<Vec<u32>> = vec![Vec::new(); totals.len()];
    for k in order {
        let mut labels: Vec<u32> = Vec::with_capacity(totals[k] as usize);
        let mut start = 0;
        for (f, &end) in bounds[k].iter().enumerate() {
            labels.extend(std::iter::repeat_n(f as u32, (end - start) as usize));
            start = end;
        }
        rng.shuffle(&mut labels);
        let at = before[k] as usize;
        windows[k] = labels[at..at + here[k] as usize].to_vec();
    }
    let mut next = vec![0usize; totals.len()];
    y.iter()
        .map(|&c| {
            let c = c as usize;
            next[c] += 1;
            windows[c][next[c] - 1]
        })
        .collect()
}

/// Per class, how many of its documents the ranks before this one hold.
fn ranks_before(comm: &dyn Collectives, counts: &[u64]) -> Vec<u64> {
    let bytes: Vec<u8> = counts.iter().flat_map(|c| c.to_le_bytes()).collect();
    let lens = vec![bytes.len(); comm.size()];
    let all = comm.all_gather_varcount(&bytes, &lens);
    let mut before = vec![0u64; counts.len()];
    for rank in all.chunks_exact(bytes.len().max(1)).take(comm.rank()) {
        for (b, c) in before.iter_mut().zip(rank.chunks_exact(8)) {
            *b += u64::from_le_bytes(c.try_into().expect("8 bytes"));
        }
    }
    before
}

/// Per class, the end (exclusive) of each fold's block among the class's
/// documents in document order: scikit-learn's allocation, cumulated.
pub fn fold_bounds(totals: &[u64], first_seen: &[u64], n_splits: usize) -> Vec<Vec<u64>> {
    // Classes in order of first appearance; absent classes (count 0) anywhere.
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by_key(|&k| (first_seen[k], k));
    let mut start = vec![0u64; totals.len()];
    let mut at = 0;
    for &k in &order {
        start[k] = at;
        at += totals[k];
    }
    let m = n_splits as u64;
    // Positions j < x with j % m == f.
    let below = |x: u64, f: u64| if x > f { (x - f).div_ceil(m) } else { 0 };
    (0..totals.len())
        .map(|k| {
            let (a, b) = (start[k], start[k] + totals[k]);
            let mut end = 0;
            (0..m).map(|f| {
                end += below(b, f) - below(a, f);
                end
            })
            .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectives::local::run_ranks;

    /// scikit-learn's `_make_test_folds` written the way it is there: encode
    /// by first appearance, sort, deal round-robin, assign in blocks.
    fn sklearn_folds(y: &[u32], n_splits: usize) -> Vec<u32> {
        let mut first: Vec<(u32, usize)> = Vec::new();
        for (i, &c) in y.iter().enumerate() {
            if !first.iter().any(|&(k, _)| k == c) {
                first.push((c, i));
            }
        }
        let encode = |c: u32| first.iter().position(|&(k, _)| k == c).unwrap();
        let mut sorted: Vec<usize> = y.iter().map(|&c| encode(c)).collect();
        sorted.sort_unstable();
        let n_classes = first.len();
        let allocation: Vec<Vec<usize>> = (0..n_splits)
            .map(|i| (0..n_classes).map(|k| sorted.iter().skip(i).step_by(n_splits).filter(|&&e| e == k).count()).collect())
            .collect();
        let mut folds = vec![0u32; y.len()];
        for k in 0..n_classes {
            let blocks: Vec<u32> = (0..n_splits).flat_map(|f| std::iter::repeat_n(f as u32, allocation[f][k])).collect();
            let docs = (0..y.len()).filter(|&i| encode(y[i]) == k);
            for (i, f) in docs.zip(blocks) {
                folds[i] = f;
            }
        }
        folds
    }

    #[test]
    fn the_folds_of_sklearn_at_every_rank_count() {
        let mut state = 12345u64;
        for case in 0..40 {
            let (n, classes, splits) = (20 + case * 7, 2 + case % 4, 2 + case % 5);
            let y: Vec<u32> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    // Skewed classes, the last one rare.
                    let r = (state >> 33) % 100;
                    (if r < 5 { classes - 1 } else { r as usize % (classes - 1) }) as u32
                })
                .collect();
            if y.iter().all(|&c| y.iter().filter(|&&d| d == c).count() < splits) {
                continue;
            }
            let want = sklearn_folds(&y, splits);
            for p in [1, 2, 3, 5] {
                let got: Vec<u32> = run_ranks(p, |c| {
                    let (a, b) = crate::corpus::partition::by_count(n, c.size(), c.rank());
                    stratified_folds(c, &y[a..b], a, classes, splits, None).unwrap().0
                })
                .concat();
                assert_eq!(got, want, "case {case}: {n} documents, {classes} classes, {splits} splits, {p} ranks");
            }
        }
    }

    #[test]
    fn shuffled_folds_are_sklearns_at_every_rank_count() {
        // sklearn: y as below; for i, (_, te) in enumerate(StratifiedKFold(3, shuffle=True,
        // random_state=7).split(np.zeros(40), y)): folds[te] = i
        let y = [2, 1, 2, 0, 1, 0, 1, 2, 0, 1, 0, 2, 2, 0, 1, 0, 1, 2, 0, 1, 0, 1, 2, 0, 1, 0, 1, 2, 0, 1, 0, 1, 2, 2, 1, 0, 1, 2, 0, 1];
        let want = [2, 0, 1, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 2, 2, 0, 2, 2, 0, 1, 1, 0, 2, 1, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 0, 2];
        for p in [1, 2, 3, 7] {
            let got: Vec<u32> = run_ranks(p, |c| {
                let (a, b) = crate::corpus::partition::by_count(y.len(), c.size(), c.rank());
                stratified_folds(c, &y[a..b], a, 3, 3, Some(7)).unwrap().0
            })
            .concat();
            assert_eq!(got, want, "{p} ranks");
        }
    }

    #[test]
    fn too_many_splits_is_sklearns_error() {
        let err = run_ranks(2, |c| stratified_folds(c, &[0, 1], c.rank(), 2, 3, None).unwrap_err().to_string());
        assert!(err[0].contains("n_splits=3 cannot be greater than the number of members in each class."));
    }
}
