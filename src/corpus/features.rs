//! The other input of `fit`: a features file, the rows of a TF-IDF (or any)
//! matrix as scipy's CSR arrays, so a corpus is vectorized once and fitted
//! many times (a C path, a requeued job, a second model).
//!
//! `vectorize` writes one: `X/data`, `X/indices`, `X/indptr` with a `shape`
//! attribute on `X`, `label`, `vocabulary`, `idf`, the vectorizer's settings
//! (`params`) and `text_offsets`. A file written with h5py from a scipy
//! matrix (`data`, `indices`, `indptr` at the root, a `shape` attribute,
//! `label`) is read too: features made elsewhere, with no vectorizer to
//! apply to new text.
//!
//! Each rank reads only its rows, split as the corpus they came from was
//! split: `text_offsets` (the documents' byte offsets in that corpus) give
//! `corpus::partition`'s byte-balanced split, so `fit --features` at P ranks
//! hands each rank the rows `fit --data` at P ranks would have made, and
//! the model's bits are the same. Without `text_offsets` (a corpus of h5py
//! strings, or features made elsewhere) rows are split by count, as h5py
//! string corpora are.

use super::labels::Labels;
use super::partition;
use super::reader::{members, read_labels, read_strings, LabelNeed};
use crate::error::Result;
use crate::h5::open_h5;
use crate::sparse::{Csr, RowBuilder};
use crate::tfidf::VectorizerOptions;
use anyhow::{anyhow, bail, Context};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group};
use std::path::Path;

/// One rank's rows of a features file and what every rank shares.
#[derive(Debug)]
pub struct FeatureSlice {
    /// Global index of this slice's first row.
    pub first: usize,
    /// Rows in the whole file.
    pub n_total: usize,
    /// This rank's rows: columns sorted and unique within each row.
    pub rows: Csr,
    pub n_features: usize,
    pub labels: Option<Labels>,
    pub label_names: Option<Vec<String>>,
    /// The vectorizer that made the file; `None` for features made elsewhere.
    pub vectorizer: Option<VectorizerOptions>,
    pub vocabulary: Option<Vec<Box<str>>>,
    pub idf: Option<Vec<f64>>,
}

/// Reads rank `rank` of `ranks`'s rows of the features file at `path`.
pub fn read_features(path: &Path, label_dataset: &str, rank: usize, ranks: usize, need: LabelNeed) -> Result<FeatureSlice> {
    let _crash = crate::crash::reading(path);
    let file = open_h5(path)?;
    let shown = path.display();
    let (group, prefix) = match file.group("X") {
        Ok(g) => (g, "X/"),
        Err(_) => ((*file).clone(), ""),
    };
    let ds = |name: &str| -> Result<Dataset> {
        group.dataset(name).map_err(|_| {
            anyhow!(
                "'{shown}' is not a features file: no '{prefix}{name}' (it holds: {}); make one with `textsaga vectorize`, \
                 or store a scipy CSR matrix as data, indices, indptr with a shape attribute",
                members(&file)
            )
        })
    };
    let (data, indices, indptr) = (ds("data")?, ds("indices")?, ds("indptr")?);
    let (n, d) = shape(&group, &file).with_context(|| format!("'{shown}'"))?;
    if indptr.size() != n + 1 {
        bail!("'{shown}': '{prefix}indptr' has {} entries but the shape says {n} rows (it needs {})", indptr.size(), n + 1);
    }
    let (start, end) = split(&file, n, rank, ranks).with_context(|| format!("'{shown}': dataset 'text_offsets'"))?;
    let rows = read_rows(&data, &indices, &indptr, (start, end), d).with_context(|| format!("'{shown}': the matrix '{prefix}data'"))?;
    let labels = labels(&file, label_dataset, (start, end), n, need).with_context(|| format!("'{shown}'"))?;
    let label_names = file.dataset("label_names").ok().map(|ds| read_strings(&ds, 0, ds.size())).transpose()?;
    let (vectorizer, vocabulary, idf) = vectorizer(&file).with_context(|| format!("'{shown}'"))?;
    let slice = FeatureSlice { first: start, n_total: n, rows, n_features: d, labels, label_names, vectorizer, vocabulary, idf };
    check(&slice).map_err(|e| anyhow!("'{shown}' is inconsistent: {e}"))?;
    Ok(slice)
}

/// `(rows, columns)` from the `shape` attribute of the matrix's group or of the file.
fn shape(group: &Group, file: &File) -> Result<(usize, usize)> {
    let attr = group.attr("shape").or_else(|_| file.attr("shape")).map_err(|_| {
        anyhow!("the matrix has no 'shape' attribute; store it beside the arrays (h5py: f.attrs['shape'] = X.shape)")
    })?;
    let v: Vec<i64> = attr.read_raw().context("its 'shape' attribute must hold two integers")?;
    match v[..] {
        [n, d] if n >= 0 && d >= 0 && d <= u32::MAX as i64 => Ok((n as usize, d as usize)),
        _ => bail!("its 'shape' attribute is {v:?}; it must be (rows, columns) with at most 2^32 - 1 columns"),
    }
}

/// This rank's rows: byte-balanced over `text_offsets` when the file has them.
fn split(file: &File, n: usize, rank: usize, ranks: usize) -> Result<(usize, usize)> {
    let Ok(offsets) = file.dataset("text_offsets") else {
        return Ok(partition::by_count(n, ranks, rank));
    };
    if offsets.size() != n + 1 {
        bail!("has {} entries for {n} rows (it needs {})", offsets.size(), n + 1);
    }
    let at = |i: usize| -> Result<u64> { Ok(offsets.read_slice_1d::<u64, _>(i..i + 1)?[0]) };
    partition::by_bytes(n, at(n)?, ranks, rank, at)
}

/// Rows `start..end` as a CSR matrix of `d` columns.
fn read_rows(data: &Dataset, indices: &Dataset, indptr: &Dataset, (start, end): (usize, usize), d: usize) -> Result<Csr> {
    let ptr: Vec<i64> = indptr.read_slice_1d::<i64, _>(start..end + 1)?.to_vec();
    let (lo, hi) = (ptr[0], ptr[ptr.len() - 1]);
    let nnz = data.size().min(indices.size()) as i64;
    if lo < 0 || hi < lo || hi > nnz || ptr.windows(2).any(|w| w[1] < w[0]) {
        bail!("indptr is not non-decreasing within 0..={nnz} at rows {start}..{end}");
    }
    let (lo, hi) = (lo as usize, hi as usize);
    let cols: Vec<i64> = if lo == hi { Vec::new() } else { indices.read_slice_1d::<i64, _>(lo..hi)?.into_raw_vec_and_offset().0 };
    let values: Vec<f64> = if lo == hi { Vec::new() } else { data.read_slice_1d::<f64, _>(lo..hi)?.into_raw_vec_and_offset().0 };
    let local: Vec<usize> = ptr.iter().map(|&p| p as usize - lo).collect();
    canonical_rows(local, &cols, values, d, start)
}

/// scipy's canonical form of CSR rows (`sum_duplicates`): columns sorted
/// and unique within each row, repeats summed. Rows are checked as
/// scikit-learn checks its input: columns inside the shape, values finite.
/// `first` is the global index of the first row, for the message. Rows
/// that are canonical already (`vectorize` writes them so) are taken as
/// they are, in one pass.
pub fn canonical_rows(indptr: Vec<usize>, cols: &[i64], values: Vec<f64>, d: usize, first: usize) -> Result<Csr> {
    for (r, w) in indptr.windows(2).enumerate() {
        if let Some(i) = (w[0]..w[1]).find(|&i| cols[i] < 0 || cols[i] as usize >= d) {
            bail!("row {} has column {}, outside the shape's {d} columns", first + r, cols[i]);
        }
        if let Some(i) = (w[0]..w[1]).find(|&i| !values[i].is_finite()) {
            bail!("row {} holds {} at column {}; features must be finite numbers", first + r, values[i], cols[i]);
        }
    }
    let sorted = indptr.windows(2).all(|w| cols[w[0]..w[1]].windows(2).all(|c| c[0] < c[1]));
    if sorted {
        let shape = (indptr.len() - 1, d);
        let cols = cols.iter().map(|&c| c as u32).collect();
        return Csr::try_new(shape, indptr, cols, values).map_err(|(_, _, _, e)| anyhow!("{e}"));
    }
    let mut b = RowBuilder::with_capacity(indptr.len().saturating_sub(1), cols.len());
    let mut pairs: Vec<(u32, f64)> = Vec::new();
    for w in indptr.windows(2) {
        pairs.clear();
        pairs.extend(cols[w[0]..w[1]].iter().zip(&values[w[0]..w[1]]).map(|(&c, &v)| (c as u32, v)));
        pairs.sort_by_key(|p| p.0);
        let mut i = 0;
        while i < pairs.len() {
            let (c, mut v) = pairs[i];
            while i + 1 < pairs.len() && pairs[i + 1].0 == c {
                i += 1;
                v += pairs[i].1;
            }
            b.push(c, v);
            i += 1;
        }
        b.end_row();
    }
    Ok(b.finish(d))
}

/// The labels of rows `start..end`, checked against the row count.
fn labels(file: &File, name: &str, (start, end): (usize, usize), n: usize, need: LabelNeed) -> Result<Option<Labels>> {
    let Ok(ds) = file.dataset(name) else {
        if need == LabelNeed::Required {
            bail!("has no labels: no dataset '{name}' (it holds: {}); fit needs one label a row (name it with --label-dataset)", members(file));
        }
        return Ok(None);
    };
    if ds.ndim() != 1 || ds.size() != n {
        bail!("'{name}' has shape {:?} for {n} rows; labels must be 1-D, one a row", ds.shape());
    }
    Ok(Some(read_labels(&ds, start, end).with_context(|| format!("dataset '{name}'"))?))
}

/// The vectorizer that made the file (its `params`), its vocabulary and its
/// idf at full precision (`idf_float64` when `idf` was stored as float32).
type Vectorizer = (Option<VectorizerOptions>, Option<Vec<Box<str>>>, Option<Vec<f64>>);

fn vectorizer(file: &File) -> Result<Vectorizer> {
    let options = match file.attr("params") {
        Ok(a) => {
            let text: VarLenUnicode = a.read_scalar().context("attribute 'params'")?;
            Some(serde_json::from_str::<VectorizerOptions>(text.as_str()).map_err(|e| {
                anyhow!("its 'params' were written by another textsaga version ({e}); vectorize the corpus again")
            })?)
        }
        Err(_) => None,
    };
    let vocabulary = match file.dataset("vocabulary") {
        Ok(ds) => Some(read_strings(&ds, 0, ds.size()).context("dataset 'vocabulary'")?.into_iter().map(Box::from).collect()),
        Err(_) => None,
    };
    let idf = match file.dataset("idf_float64").or_else(|_| file.dataset("idf")) {
        Ok(ds) => Some(ds.read_raw::<f64>().context("dataset 'idf'")?),
        Err(_) => None,
    };
    Ok((options, vocabulary, idf))
}

/// Sizes that must agree: the vocabulary and idf have a column each; a
/// textsaga file without a vocabulary is hashed into exactly its columns.
fn check(s: &FeatureSlice) -> Result<()> {
    let d = s.n_features;
    if let Some(v) = s.vocabulary.as_ref().filter(|v| v.len() != d) {
        bail!("its vocabulary has {} terms for {d} columns", v.len());
    }
    if let Some(idf) = s.idf.as_ref().filter(|v| v.len() != d) {
        bail!("its idf has {} values for {d} columns", idf.len());
    }
    if let Some(o) = &s.vectorizer {
        if s.vocabulary.is_none() && o.hashing != Some(d as u32) {
            bail!("it has no vocabulary, and its settings do not hash into its {d} columns");
        }
        if o.use_idf != s.idf.is_some() {
            bail!("its settings and its idf disagree (use_idf is {})", o.use_idf);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::row;

    #[test]
    fn unsorted_rows_are_sorted_and_repeats_summed() {
        let x = canonical_rows(vec![0, 3, 3, 5], &[4, 1, 4, 2, 0], vec![1.0, 2.0, 0.5, 3.0, 4.0], 5, 0).unwrap();
        assert_eq!(row(&x, 0), (&[1u32, 4][..], &[2.0, 1.5][..]));
        assert_eq!(row(&x, 1), (&[][..], &[][..]));
        assert_eq!(row(&x, 2), (&[0u32, 2][..], &[4.0, 3.0][..]));
    }

    #[test]
    fn canonical_rows_are_taken_as_they_are() {
        let x = canonical_rows(vec![0, 2, 3], &[1, 4, 0], vec![1.0, 2.0, 3.0], 5, 0).unwrap();
        assert_eq!(row(&x, 0), (&[1u32, 4][..], &[1.0, 2.0][..]));
        assert_eq!(row(&x, 1), (&[0u32][..], &[3.0][..]));
    }

    #[test]
    fn columns_outside_the_shape_and_nan_are_refused_by_row() {
        let e = canonical_rows(vec![0, 1, 2], &[0, 7], vec![1.0, 1.0], 5, 10).unwrap_err().to_string();
        assert!(e.contains("row 11 has column 7"), "{e}");
        let e = canonical_rows(vec![0, 1], &[0], vec![f64::NAN], 5, 0).unwrap_err().to_string();
        assert!(e.contains("finite"), "{e}");
        assert!(canonical_rows(vec![0, 1], &[-1], vec![1.0], 5, 0).is_err());
    }
}
