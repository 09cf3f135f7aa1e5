//! `min_df`, `max_df` and `max_features` applied to global counts, as
//! sklearn's `CountVectorizer._limit_features`.
//!
//! [`DfWindow`] is the `min_df`/`max_df` test the distributed vectorizer
//! applies where each term is owned; [`keep_mask`] is the whole rule on one
//! process's complete counts, the reference the distributed selection is
//! tested against.

use super::options::DfBound;

/// Why pruning left no usable vocabulary; the texts are sklearn's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PruneError {
    #[error("max_df corresponds to < documents than min_df")]
    Inverted,
    #[error("after pruning, no terms remain; try a lower --min-df or a higher --max-df")]
    NothingLeft,
}

/// `min_df` and `max_df` as document counts for a corpus of `n_docs`.
#[derive(Clone, Copy, Debug)]
pub struct DfWindow {
    low: f64,
    high: f64,
}

impl DfWindow {
    pub fn new(n_docs: u64, min_df: DfBound, max_df: DfBound) -> Result<Self, PruneError> {
        let (low, high) = (min_df.doc_count(n_docs), max_df.doc_count(n_docs));
        if high < low {
            return Err(PruneError::Inverted);
        }
        Ok(DfWindow { low, high })
    }

    /// The fewest documents a kept term can be in.
    pub fn min_count(&self) -> u64 {
        self.low.max(0.0).ceil() as u64
    }

    /// Whether a term in `df` documents is kept (sklearn compares unrounded).
    pub fn keeps(&self, df: u64) -> bool {
        (df as f64) <= self.high && (df as f64) >= self.low
    }
}

/// Which vocabulary columns survive. `df[j]` is the number of documents with
/// term `j`; `tf[j]` its total count (only read for `max_features`); columns
/// are in vocabulary (sorted) order.
///
/// Ties at the `max_features` cut are broken in favour of the term that sorts
/// first, which is what sklearn's `argsort` gives with a stable sort. sklearn
/// itself calls numpy's default (unstable) sort there, whose order among equal
/// counts depends on the CPU's SIMD sort, so no fixed rule reproduces it on
/// every machine.
pub fn keep_mask(
    df: &[u64],
    tf: &[u64],
    n_docs: u64,
    min_df: DfBound,
    max_df: DfBound,
    max_features: Option<usize>,
) -> Result<Vec<bool>, PruneError> {
    let window = DfWindow::new(n_docs, min_df, max_df)?;
    let mut mask: Vec<bool> = df.iter().map(|&d| window.keeps(d)).collect();
    if let Some(limit) = max_features {
        let kept: Vec<usize> = (0..df.len()).filter(|&j| mask[j]).collect();
        if kept.len() > limit {
            let mut order = kept.clone();
            // Stable sort by descending total count: equal counts keep vocabulary order.
            order.sort_by(|&a, &b| tf[b].cmp(&tf[a]));
            mask.iter_mut().for_each(|m| *m = false);
            for &j in &order[..limit] {
                mask[j] = true;
            }
        }
    }
    if !mask.iter().any(|&m| m) {
        return Err(PruneError::NothingLeft);
    }
    Ok(mask)
}

/// Maps old column indices to new ones (`None` for dropped columns).
pub fn remap(mask: &[bool]) -> Vec<Option<u32>> {
    let mut next = 0u32;
    mask.iter()
        .map(|&keep| {
            keep.then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use DfBound::*;

    #[test]
    fn df_bounds() {
        let df = [1, 2, 3, 4];
        let tf = [9, 9, 9, 9];
        let m = keep_mask(&df, &tf, 4, Count(2), Fraction(0.75), None).unwrap();
        assert_eq!(m, [false, true, true, false]);
        assert_eq!(keep_mask(&df, &tf, 4, Count(3), Count(2), None), Err(PruneError::Inverted));
        assert_eq!(keep_mask(&df, &tf, 4, Count(5), Count(9), None), Err(PruneError::NothingLeft));
    }

    #[test]
    fn max_features_ties_keep_vocabulary_order() {
        let df = [1, 1, 1, 1, 1];
        let tf = [2, 5, 2, 5, 2];
        let m = keep_mask(&df, &tf, 3, Count(1), Fraction(1.0), Some(3)).unwrap();
        assert_eq!(m, [true, true, false, true, false]);
        assert_eq!(remap(&m), [Some(0), Some(1), None, Some(2), None]);
    }
}
