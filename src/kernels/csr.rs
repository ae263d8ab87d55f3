//! Sparse matrices of u8 pixels in CSR (compressed sparse row) form: a borrowed view [`Csr`], the
//! owned [`CsrBuf`] it views, and [`SparseBatch`], images as their non-zero pixels.

use crate::data::PIXELS;

/// A sparse matrix of u8 pixel values in CSR form: row `r` owns entries
/// `offsets[r]..offsets[r + 1]` of `columns` and `pixels` (the value, scaled to [0, 1] by the
/// kernels). For images, a row is an image and a column a pixel index; [`CsrBuf::transpose`]
/// gives the other way round. Three bytes per entry: the full-batch pass streams all of them
/// every step. Offsets are absolute indices, so a range of rows of a larger matrix is a view
/// without copying.
///
/// Invariants, checked where a `Csr` is made and relied on by the kernels' unchecked indexing:
/// offsets never decrease and stay within the entries, `columns` and `pixels` have the same
/// length, and every column of a row is below `width`. The fields are private to this file, so
/// only the constructors here can make a `Csr`.
#[derive(Clone, Copy, Debug)]
pub struct Csr<'a> {
    offsets: &'a [usize],
    columns: &'a [u16],
    pixels: &'a [u8],
    width: usize,
}

impl<'a> Csr<'a> {
    /// `None` unless the parts satisfy the invariants above.
    pub fn new(offsets: &'a [usize], columns: &'a [u16], pixels: &'a [u8], width: usize) -> Option<Csr<'a>> {
        let (&first, &last) = (offsets.first()?, offsets.last()?);
        let valid = columns.len() == pixels.len()
            && last <= columns.len()
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && columns[first..last].iter().all(|&c| usize::from(c) < width);
        valid.then_some(Csr {
            offsets,
            columns,
            pixels,
            width,
        })
    }

    #[inline]
    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Columns are below this.
    #[inline]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Rows `start..end` as a view.
    pub fn row_range(&self, start: usize, end: usize) -> Csr<'a> {
        assert!(
            start <= end && end <= self.rows(),
            "rows {start}..{end} of {}",
            self.rows()
        );
        Csr {
            offsets: &self.offsets[start..=end],
            ..*self
        }
    }

    /// Row `r`'s entries as `(columns, pixels)`, two slices of the same length.
    #[inline(always)]
    pub fn row(&self, r: usize) -> (&'a [u16], &'a [u8]) {
        let range = self.offsets[r]..self.offsets[r + 1];
        (&self.columns[range.clone()], &self.pixels[range])
    }
}

/// An owned [`Csr`], built row by row.
#[derive(Clone, Debug, PartialEq)]
pub struct CsrBuf {
    /// Row `r` owns entries `offsets[r]..offsets[r + 1]`; `offsets[0] = 0`.
    offsets: Vec<usize>,
    columns: Vec<u16>,
    pixels: Vec<u8>,
    width: usize,
}

impl CsrBuf {
    /// An empty matrix whose columns will be below `width`.
    pub fn new(width: usize) -> CsrBuf {
        CsrBuf {
            offsets: vec![0],
            columns: Vec::new(),
            pixels: Vec::new(),
            width,
        }
    }

    pub fn clear(&mut self) {
        self.offsets.truncate(1);
        self.columns.clear();
        self.pixels.clear();
    }

    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Makes room for `rows` more rows with `entries` entries in all.
    pub fn reserve(&mut self, rows: usize, entries: usize) {
        self.offsets.reserve(rows);
        self.columns.reserve(entries);
        self.pixels.reserve(entries);
    }

    /// Appends one row given by its `(column, pixel)` entries; panics on a column outside the
    /// width.
    pub fn push_row(&mut self, entries: impl IntoIterator<Item = (u16, u8)>) {
        for (column, pixel) in entries {
            assert!(usize::from(column) < self.width, "column {column} of {}", self.width);
            self.columns.push(column);
            self.pixels.push(pixel);
        }
        self.offsets.push(self.columns.len());
    }

    /// Appends row `r` of `other`, a matrix of the same width, as it is (two slice copies: the
    /// entry-by-entry [`CsrBuf::push_row`] was 4% of a mini-batch step).
    pub fn push_row_of(&mut self, other: Csr<'_>, r: usize) {
        assert_eq!(other.width(), self.width, "rows of another width");
        let (columns, pixels) = other.row(r);
        self.columns.extend_from_slice(columns);
        self.pixels.extend_from_slice(pixels);
        self.offsets.push(self.columns.len());
    }

    pub fn view(&self) -> Csr<'_> {
        // The invariants hold by construction: push_row checks columns and pushes a column and
        // a pixel together, offsets only grow and end at the entry count.
        Csr {
            offsets: &self.offsets,
            columns: &self.columns,
            pixels: &self.pixels,
            width: self.width,
        }
    }

    /// `csr`'s transpose: row `j` lists, in row order, the rows of `csr` with an entry in column
    /// `j` (so `dW = Xᵀ·dZ` becomes a gather like the forward product, adding each pixel's terms
    /// in the same order as the scatter form).
    pub fn transpose(csr: Csr<'_>) -> CsrBuf {
        let mut out = CsrBuf::new(0);
        out.transpose_into(csr);
        out
    }

    /// [`CsrBuf::transpose`] into `self`, reusing its buffers (training transposes every
    /// mini-batch without allocating).
    pub fn transpose_into(&mut self, csr: Csr<'_>) {
        assert!(
            csr.rows() <= usize::from(u16::MAX) + 1,
            "{} rows do not fit u16 columns",
            csr.rows()
        );
        let (first, last) = (csr.offsets[0], csr.offsets[csr.rows()]);
        // offsets[j + 1]: entries in column j; then, summed, where row j of the transpose starts.
        self.offsets.clear();
        self.offsets.resize(csr.width + 1, 0);
        for &c in &csr.columns[first..last] {
            self.offsets[usize::from(c) + 1] += 1;
        }
        for j in 0..csr.width {
            self.offsets[j + 1] += self.offsets[j];
        }
        self.columns.clear();
        self.columns.resize(last - first, 0);
        self.pixels.clear();
        self.pixels.resize(last - first, 0);
        self.width = csr.rows();
        // next[j]: where column j's next entry goes; it ends at offsets[j + 1], so offsets[..width]
        // is used as `next` and shifted back afterwards.
        for r in 0..csr.rows() {
            let (row_columns, row_pixels) = csr.row(r);
            for (&c, &p) in row_columns.iter().zip(row_pixels) {
                let slot = &mut self.offsets[usize::from(c)];
                self.columns[*slot] = r as u16;
                self.pixels[*slot] = p;
                *slot += 1;
            }
        }
        // Now offsets[j] is where row j ends, which is where row j + 1 starts.
        self.offsets.copy_within(0..csr.width, 1);
        self.offsets[0] = 0;
    }
}

/// Images stored as (pixel index, u8 value) pairs of their non-zero pixels: a [`CsrBuf`] of
/// width 784. MNIST is about 81% zeros, so a first layer fed this way does about a fifth of the
/// dense work in the forward product and in dW1.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseBatch(CsrBuf);

impl Default for SparseBatch {
    fn default() -> Self {
        SparseBatch::new()
    }
}

impl SparseBatch {
    pub fn new() -> SparseBatch {
        SparseBatch::with_width(PIXELS)
    }

    /// For images of `pixels` pixels (other data sets than the Digit Recognizer).
    pub fn with_width(pixels: usize) -> SparseBatch {
        SparseBatch(CsrBuf::new(pixels))
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn rows(&self) -> usize {
        self.0.rows()
    }

    /// Makes room for `rows` more images with `entries` non-zero pixels in all.
    pub fn reserve(&mut self, rows: usize, entries: usize) {
        self.0.reserve(rows, entries);
    }

    /// Appends one image given by its non-zero `(pixel index, value)` entries.
    pub fn push_row(&mut self, entries: impl IntoIterator<Item = (u16, u8)>) {
        self.0.push_row(entries);
    }

    /// Appends row `r` of `other` (images too) as it is.
    pub fn push_row_of(&mut self, other: Csr<'_>, r: usize) {
        self.0.push_row_of(other, r);
    }

    /// Appends the non-zero pixels of each image (of the batch's width).
    pub fn push_images(&mut self, pixels: &[u8]) {
        for image in pixels.chunks_exact(self.0.width) {
            self.0.push_row(
                image
                    .iter()
                    .enumerate()
                    .filter(|&(_, &p)| p != 0)
                    .map(|(column, &p)| (column as u16, p)),
            );
        }
    }

    pub fn csr(&self) -> Csr<'_> {
        self.0.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_and_validation() {
        let mut buf = CsrBuf::new(20);
        for r in 0..10u16 {
            buf.push_row((0..r).map(|c| (c * 2, c as u8 + 1)));
        }
        let csr = buf.view();
        let part = csr.row_range(3, 7);
        assert_eq!(part.rows(), 4);
        assert_eq!(part.row(0), csr.row(3));
        assert_eq!(part.row(3), (&[0u16, 2, 4, 6, 8, 10][..], &[1u8, 2, 3, 4, 5, 6][..]));
        let (offsets, columns, pixels) = ([0usize, 1, 3], [0u16, 4, 2], [9u8, 8, 7]);
        assert!(Csr::new(&offsets, &columns, &pixels, 5).is_some());
        assert!(
            Csr::new(&offsets, &columns, &pixels, 4).is_none(),
            "column 4 of width 4"
        );
        assert!(
            Csr::new(&[0, 2, 1], &columns, &pixels, 5).is_none(),
            "decreasing offsets"
        );
        assert!(Csr::new(&[0, 4], &columns, &pixels, 5).is_none(), "past the entries");
        assert!(Csr::new(&offsets, &columns, &pixels[..2], 5).is_none(), "fewer pixels");
        assert!(Csr::new(&[], &columns, &pixels, 5).is_none());
        assert!(std::panic::catch_unwind(|| CsrBuf::new(3).push_row([(3, 1)])).is_err());
    }

    #[test]
    fn transpose_lists_each_columns_rows_in_order() {
        // Rows 0: {1: 10, 3: 11}; 1: {}; 2: {0: 12, 3: 13}.
        let mut buf = CsrBuf::new(4);
        buf.push_row([(1, 10), (3, 11)]);
        buf.push_row([]);
        buf.push_row([(0, 12), (3, 13)]);
        let t = CsrBuf::transpose(buf.view());
        let t = t.view();
        assert_eq!((t.rows(), t.width()), (4, 3));
        assert_eq!(t.row(0), (&[2u16][..], &[12u8][..]));
        assert_eq!(t.row(1), (&[0u16][..], &[10u8][..]));
        assert_eq!(t.row(2), (&[][..], &[][..]));
        assert_eq!(t.row(3), (&[0u16, 2][..], &[11u8, 13][..]));
    }

    #[test]
    fn sparse_batch_keeps_the_non_zero_pixels() {
        let mut image = vec![0u8; 2 * PIXELS];
        image[5] = 7;
        image[PIXELS + 783] = 255;
        let mut batch = SparseBatch::new();
        batch.push_images(&image);
        assert_eq!(batch.rows(), 2);
        assert_eq!(batch.csr().row(0), (&[5u16][..], &[7u8][..]));
        assert_eq!(batch.csr().row(1), (&[783u16][..], &[255u8][..]));
    }
}
