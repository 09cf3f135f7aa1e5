//! Sparse rows in CSR form: the type the vectorizer hands to the solver.
//!
//! It lives below both (`tfidf` and `vectorizer` build it, `solver`,
//! `commands` and the model read it), so neither depends on the other.
//!
//! A finished matrix is sprs's [`Csr`] = `CsMatI<f64, u32, usize>`: u32
//! column indices (half the index memory of usize; 4 billion columns is
//! more than any vocabulary or hashing size), usize row pointers (a rank's
//! non-zeros may pass 4 billion), columns sorted and unique within a row,
//! which sprs checks when [`RowBuilder::finish`] hands the rows over.
//!
//! Rows are built by [`RowBuilder`], one at a time and appended, because
//! that is how counting works: a document's columns are local term ids in
//! first-seen order (not yet sorted, and the column count grows while
//! counting), and the values of a row are incremented in place as its
//! terms repeat. sprs's own builders do not fit that: `TriMat` stores a
//! triplet per token occurrence and sorts them at the end (three times the
//! memory of the counts), and `CsMat::append_outer` needs the final column
//! count up front and sorted rows.
//!
//! Hot loops (the solver's steps, the Gram products of its plan) read the
//! three raw arrays once through [`parts`] rather than `outer_view(i)` per
//! row, which re-checks bounds on every call.

/// A finished CSR matrix (see the module docs for the index types).
pub type Csr = sprs::CsMatI<f64, u32, usize>;

/// The same with float32 values (`--dtype float32`): 8 bytes a non-zero
/// instead of 12.
pub type Csr32 = sprs::CsMatI<f32, u32, usize>;

/// A rank's training rows, their values stored as float64 or float32. The
/// solver's loops take either through [`with_parts!`], reading each value
/// as [`Value::to_f64`]: arithmetic is float64 whatever the storage (SAGA
/// stores its own state in float32 over float32 rows: `solver::saga::real`).
#[derive(Clone, Debug, PartialEq)]
pub enum Rows {
    F64(Csr),
    F32(Csr32),
}

impl Rows {
    /// `x` stored as asked: float32 rounds each value once.
    pub fn new(x: Csr, float32: bool) -> Rows {
        if !float32 {
            return Rows::F64(x);
        }
        let (shape, (indptr, cols, values)) = (x.shape(), x.into_raw_storage());
        let values = values.into_iter().map(|v| v as f32).collect();
        Rows::F32(Csr32::try_new(shape, indptr, cols, values).unwrap_or_else(|(_, _, _, e)| panic!("a valid matrix stays valid: {e}")))
    }

    pub fn rows(&self) -> usize {
        match self {
            Rows::F64(x) => x.rows(),
            Rows::F32(x) => x.rows(),
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            Rows::F64(x) => x.cols(),
            Rows::F32(x) => x.cols(),
        }
    }

    pub fn nnz(&self) -> usize {
        match self {
            Rows::F64(x) => x.nnz(),
            Rows::F32(x) => x.nnz(),
        }
    }

    /// The column index of every entry.
    pub fn indices(&self) -> &[u32] {
        match self {
            Rows::F64(x) => x.indices(),
            Rows::F32(x) => x.indices(),
        }
    }

    /// A copy of the rows `range`, with every column.
    pub fn slice_rows(&self, range: std::ops::Range<usize>) -> Rows {
        fn copy<V: Clone>(x: &sprs::CsMatI<V, u32, usize>, range: std::ops::Range<usize>) -> sprs::CsMatI<V, u32, usize> {
            let (indptr, cols, values) = parts(x);
            let (a, b) = (indptr[range.start], indptr[range.end]);
            let ptr = indptr[range.start..=range.end].iter().map(|p| p - a).collect();
            sprs::CsMatI::try_new((range.len(), x.cols()), ptr, cols[a..b].to_vec(), values[a..b].to_vec())
                .unwrap_or_else(|(_, _, _, e)| panic!("rows of a valid matrix stay valid: {e}"))
        }
        match self {
            Rows::F64(x) => Rows::F64(copy(x, range)),
            Rows::F32(x) => Rows::F32(copy(x, range)),
        }
    }

    /// Whether values are stored as float32.
    pub fn is_f32(&self) -> bool {
        matches!(self, Rows::F32(_))
    }
}

/// A stored value: read as float64 wherever it is used.
pub trait Value: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
}

impl Value for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

impl Value for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// Runs `$body` with `$indptr`, `$cols`, `$values` bound to the raw arrays
/// of a [`Rows`], once compiled for each value type.
#[macro_export]
macro_rules! with_parts {
    ($rows:expr, |$indptr:ident, $cols:ident, $values:ident| $body:expr) => {
        match $rows {
            $crate::sparse::Rows::F64(x) => {
                let ($indptr, $cols, $values) = $crate::sparse::parts(x);
                $body
            }
            $crate::sparse::Rows::F32(x) => {
                let ($indptr, $cols, $values) = $crate::sparse::parts(x);
                $body
            }
        }
    };
}

/// Row pointers, column indices and values of `x`.
#[inline]
pub fn parts<V>(x: &sprs::CsMatI<V, u32, usize>) -> (&[usize], &[u32], &[V]) {
    // An owned matrix's row pointers start at 0, so sprs lends them as they are.
    let indptr = match x.proper_indptr() {
        std::borrow::Cow::Borrowed(p) => p,
        std::borrow::Cow::Owned(_) => unreachable!("an owned CSR matrix's row pointers start at 0"),
    };
    (indptr, x.indices(), x.data())
}

/// Row `i`'s columns and values.
#[inline]
pub fn row<V>(x: &sprs::CsMatI<V, u32, usize>, i: usize) -> (&[u32], &[V]) {
    let (indptr, cols, values) = parts(x);
    let (a, b) = (indptr[i], indptr[i + 1]);
    (&cols[a..b], &values[a..b])
}

/// An empty matrix of `n_cols` columns.
pub fn empty(n_cols: usize) -> Csr {
    RowBuilder::new().finish(n_cols)
}

/// Rows appended one at a time: `indptr.len() == rows + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowBuilder {
    pub indptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub values: Vec<f64>,
}

impl Default for RowBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RowBuilder {
    pub fn new() -> Self {
        RowBuilder { indptr: vec![0], cols: Vec::new(), values: Vec::new() }
    }

    /// Room for `rows` rows and `nnz` entries.
    pub fn with_capacity(rows: usize, nnz: usize) -> Self {
        let mut indptr = Vec::with_capacity(rows + 1);
        indptr.push(0);
        RowBuilder { indptr, cols: Vec::with_capacity(nnz), values: Vec::with_capacity(nnz) }
    }

    /// Room for `nnz` more entries and `rows` more rows, allocated at once
    /// on huge pages ([`crate::hugepages::reserve`]).
    pub fn reserve_huge(&mut self, nnz: usize, rows: usize) {
        crate::hugepages::reserve(&mut self.cols, nnz);
        crate::hugepages::reserve(&mut self.values, nnz);
        crate::hugepages::reserve(&mut self.indptr, rows);
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Appends an entry to the row being built.
    #[inline]
    pub fn push(&mut self, col: u32, value: f64) {
        self.cols.push(col);
        self.values.push(value);
    }

    /// Closes the row being built (possibly empty).
    #[inline]
    pub fn end_row(&mut self) {
        self.indptr.push(self.cols.len());
    }

    /// Row `i`'s range in `cols` and `values`.
    #[inline]
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.indptr[i]..self.indptr[i + 1]
    }

    /// Appends `other`'s rows after these (rows counted apart, on threads,
    /// joined in document order).
    pub fn append(&mut self, other: RowBuilder) {
        let base = self.cols.len();
        crate::hugepages::reserve(&mut self.cols, other.cols.len());
        crate::hugepages::reserve(&mut self.values, other.values.len());
        self.cols.extend_from_slice(&other.cols);
        self.values.extend_from_slice(&other.values);
        self.indptr.extend(other.indptr[1..].iter().map(|&p| p + base));
    }

    /// The finished matrix with `n_cols` columns. The rows must have sorted,
    /// unique columns below `n_cols`: anything else is a bug, and sprs's
    /// check (one pass over the indices) finds it.
    pub fn finish(self, n_cols: usize) -> Csr {
        let n_rows = self.n_rows();
        Csr::try_new((n_rows, n_cols), self.indptr, self.cols, self.values)
            .unwrap_or_else(|(_, _, _, e)| panic!("rows with unsorted, repeated or out-of-range columns: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_rows_read_back() {
        let mut b = RowBuilder::new();
        b.push(0, 1.0);
        b.push(3, 2.0);
        b.end_row();
        b.end_row();
        b.push(1, 4.0);
        b.end_row();
        let x = b.finish(4);
        assert_eq!((x.rows(), x.cols(), x.nnz()), (3, 4, 3));
        assert_eq!(row(&x, 0), (&[0u32, 3][..], &[1.0, 2.0][..]));
        assert_eq!(row(&x, 1), (&[][..], &[][..]));
        assert_eq!(row(&x, 2), (&[1u32][..], &[4.0][..]));
        assert_eq!(empty(7).rows(), 0);
    }

    #[test]
    fn a_slice_of_rows_is_those_rows() {
        let mut b = RowBuilder::new();
        for r in 0..5u32 {
            (0..r).for_each(|j| b.push(j, (r * 10 + j) as f64));
            b.end_row();
        }
        let x = Rows::F64(b.finish(6));
        let Rows::F64(s) = x.slice_rows(2..4) else { unreachable!() };
        assert_eq!((s.rows(), s.cols(), s.nnz()), (2, 6, 5));
        assert_eq!(row(&s, 0), (&[0u32, 1][..], &[20.0, 21.0][..]));
        assert_eq!(row(&s, 1), (&[0u32, 1, 2][..], &[30.0, 31.0, 32.0][..]));
    }

    #[test]
    fn appended_rows_follow_in_order() {
        let (mut a, mut b) = (RowBuilder::new(), RowBuilder::new());
        a.push(1, 2.0);
        a.end_row();
        b.end_row();
        b.push(0, 3.0);
        b.push(2, 4.0);
        b.end_row();
        a.append(b);
        assert_eq!((a.indptr, a.cols, a.values), (vec![0, 1, 1, 3], vec![1, 0, 2], vec![2.0, 3.0, 4.0]));
    }

    #[test]
    #[should_panic(expected = "unsorted")]
    fn unsorted_rows_are_a_bug() {
        let mut b = RowBuilder::new();
        b.push(2, 1.0);
        b.push(1, 1.0);
        b.end_row();
        b.finish(3);
    }
}
