//! Hot loops of the sparse first layer, compiled three times: for AVX-512, for AVX2 + FMA (picked
//! at run time, best first, when the CPU has them) and for the baseline x86-64 / other targets.
//! Rows are padded to a multiple of 8 floats so every inner step is whole vector operations (a
//! padded row of 16 is one AVX-512 register). All builds with FMA give bit-identical results:
//! only the vector width differs, not the order of the operations.

/// Lanes per vector step.
pub const LANES: usize = 8;

/// `width` rounded up to a whole number of vector steps.
pub fn padded(width: usize) -> usize {
    width.div_ceil(LANES) * LANES
}

/// Pixel value `p` as a network input, `p / 255` rounded as `p * (1 / 255)` (the same value the
/// dense path computes).
pub const PIXEL_INPUTS: [f32; 256] = {
    let mut table = [0.0; 256];
    let mut p = 0;
    while p < 256 {
        table[p] = p as f32 * (1.0 / 255.0);
        p += 1;
    }
    table
};

/// A sparse matrix of u8 pixel values in CSR form: row `r` owns entries
/// `offsets[r]..offsets[r + 1]` of `columns` and `pixels` (the value, scaled to [0, 1] by the
/// kernels). For images, a row is an image and a column a pixel index; [`CsrBuf::transpose`]
/// gives the other way round. Three bytes per entry: the full-batch pass streams all of them
/// every step. Offsets are absolute indices, so a range of rows of a larger matrix is a view
/// without copying.
///
/// Invariants, checked where a `Csr` is made and relied on by the kernels: offsets never
/// decrease and stay within the entries, and every column is below `width`.
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

    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Columns are below this.
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

    /// Row `r`'s entries as `(columns, pixels)`.
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

    pub fn view(&self) -> Csr<'_> {
        // The invariants hold by construction: push_row checks columns, offsets only grow.
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
        assert!(
            csr.rows() <= usize::from(u16::MAX) + 1,
            "{} rows do not fit u16 columns",
            csr.rows()
        );
        let (first, last) = (csr.offsets[0], csr.offsets[csr.rows()]);
        let mut counts = vec![0usize; csr.width + 1];
        for &c in &csr.columns[first..last] {
            counts[usize::from(c) + 1] += 1;
        }
        for j in 0..csr.width {
            counts[j + 1] += counts[j];
        }
        let offsets = counts.clone();
        let mut next = counts;
        let mut columns = vec![0u16; last - first];
        let mut pixels = vec![0u8; last - first];
        for r in 0..csr.rows() {
            let (row_columns, row_pixels) = csr.row(r);
            for (&c, &p) in row_columns.iter().zip(row_pixels) {
                let slot = &mut next[usize::from(c)];
                columns[*slot] = r as u16;
                pixels[*slot] = p;
                *slot += 1;
            }
        }
        CsrBuf {
            offsets,
            columns,
            pixels,
            width: csr.rows(),
        }
    }
}

/// `out (rows, pw) = csr · w (inputs, pw)`, `pw` a multiple of [`LANES`].
pub fn csr_times_dense(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { csr_times_dense_avx512(csr, w, pw, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { csr_times_dense_fma(csr, w, pw, out) };
        return;
    }
    csr_times_dense_impl::<false>(csr, w, pw, out);
}

/// `dw (inputs, pw) += csrᵀ · dz (rows, pw)`, `pw` a multiple of [`LANES`].
pub fn csr_transposed_times_dense(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { csr_transposed_times_dense_avx512(csr, dz, pw, dw) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { csr_transposed_times_dense_fma(csr, dz, pw, dw) };
        return;
    }
    csr_transposed_times_dense_impl::<false>(csr, dz, pw, dw);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn csr_times_dense_avx512(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    csr_times_dense_impl::<true>(csr, w, pw, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn csr_times_dense_fma(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    csr_times_dense_impl::<true>(csr, w, pw, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn csr_transposed_times_dense_avx512(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    csr_transposed_times_dense_impl::<true>(csr, dz, pw, dw);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn csr_transposed_times_dense_fma(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    csr_transposed_times_dense_impl::<true>(csr, dz, pw, dw);
}

/// Copies `a` (rows of `width`) into `out` (rows of `pw >= width`) with zeros in the padding.
/// Row copies of a run-time length would each be a `memcpy` call, which for rows of 10 floats
/// cost more than the copy (measured: 5% of a `seed` step); fixed widths copy whole vectors.
pub fn pad_rows(a: &[f32], width: usize, pw: usize, out: &mut [f32]) {
    assert!(width > 0 && width <= pw && a.len().is_multiple_of(width) && out.len() >= a.len() / width * pw);
    match pw {
        8 => pad_rows_fixed::<8>(a, width, out),
        16 => pad_rows_fixed::<16>(a, width, out),
        32 => pad_rows_fixed::<32>(a, width, out),
        _ => {
            for (row, padded) in a.chunks_exact(width).zip(out.chunks_exact_mut(pw)) {
                padded[..width].copy_from_slice(row);
                padded[width..].fill(0.0);
            }
        }
    }
}

fn pad_rows_fixed<const PW: usize>(a: &[f32], width: usize, out: &mut [f32]) {
    let keep: [u32; PW] = std::array::from_fn(|i| if i < width { u32::MAX } else { 0 });
    for (r, padded) in out.chunks_exact_mut(PW).take(a.len() / width).enumerate() {
        let start = r * width;
        let padded: &mut [f32; PW] = padded.try_into().expect("PW floats");
        match a.get(start..start + PW) {
            // Reads PW floats (into the next rows) and keeps the first `width`.
            Some(source) => {
                for i in 0..PW {
                    padded[i] = f32::from_bits(source[i].to_bits() & keep[i]);
                }
            }
            // The last rows.
            None => {
                for (i, p) in padded.iter_mut().enumerate() {
                    *p = if i < width { a[start + i] } else { 0.0 };
                }
            }
        }
    }
}

/// Copies the first `width` floats of each row of `padded` (rows of `pw`) into `out` (rows of
/// `width`): the inverse of [`pad_rows`].
pub fn unpad_rows(padded: &[f32], pw: usize, width: usize, out: &mut [f32]) {
    assert!(width > 0 && width <= pw && out.len().is_multiple_of(width) && padded.len() >= out.len() / width * pw);
    match pw {
        8 => unpad_rows_fixed::<8>(padded, width, out),
        16 => unpad_rows_fixed::<16>(padded, width, out),
        32 => unpad_rows_fixed::<32>(padded, width, out),
        _ => {
            for (row, padded) in out.chunks_exact_mut(width).zip(padded.chunks_exact(pw)) {
                row.copy_from_slice(&padded[..width]);
            }
        }
    }
}

fn unpad_rows_fixed<const PW: usize>(padded: &[f32], width: usize, out: &mut [f32]) {
    for (r, source) in padded.chunks_exact(PW).take(out.len() / width).enumerate() {
        let start = r * width;
        let source: &[f32; PW] = source.try_into().expect("PW floats");
        match out.get_mut(start..start + PW) {
            // Writes PW floats: the ones past `width` land in the next rows, which are written
            // after this one.
            Some(row) => {
                let row: &mut [f32; PW] = row.try_into().expect("PW floats");
                *row = *source;
            }
            None => out[start..start + width].copy_from_slice(&source[..width]),
        }
    }
}

/// `y += a * x` over 8-lane blocks; `FMA` fuses the multiply-add (only where the CPU has it:
/// elsewhere `mul_add` would be a slow library call).
#[inline(always)]
fn axpy_blocks<const FMA: bool>(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.chunks_exact_mut(LANES).zip(x.chunks_exact(LANES)) {
        for i in 0..LANES {
            y[i] = madd::<FMA>(a, x[i], y[i]);
        }
    }
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, x: f32, acc: f32) -> f32 {
    if FMA { a.mul_add(x, acc) } else { acc + a * x }
}

#[inline(always)]
fn csr_times_dense_impl<const FMA: bool>(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    assert!(w.len() >= csr.width * pw && out.len() >= csr.rows() * pw);
    // Narrow layers (the notebook's 10 units pad to 16) keep the output row in registers.
    match pw {
        8 => return csr_times_dense_fixed::<FMA, 8>(csr, w, out),
        16 => return csr_times_dense_fixed::<FMA, 16>(csr, w, out),
        32 => return csr_times_dense_fixed::<FMA, 32>(csr, w, out),
        _ => {}
    }
    for (r, z) in out.chunks_exact_mut(pw).enumerate().take(csr.rows()) {
        z.fill(0.0);
        let (columns, pixels) = csr.row(r);
        for (&column, &pixel) in columns.iter().zip(pixels) {
            let start = usize::from(column) * pw;
            axpy_blocks::<FMA>(PIXEL_INPUTS[usize::from(pixel)], &w[start..start + pw], z);
        }
    }
}

/// Rows summed side by side in the narrow forward kernel.
const INTERLEAVE: usize = 4;

/// The fixed-width forward product; the caller has checked `w.len() >= csr.width * PW`.
#[inline(always)]
fn csr_times_dense_fixed<const FMA: bool, const PW: usize>(csr: Csr<'_>, w: &[f32], out: &mut [f32]) {
    /// One row being summed: its entries not yet added and the running sum.
    #[derive(Clone, Copy)]
    struct Lane<'a, const PW: usize> {
        row: usize,
        columns: &'a [u16],
        pixels: &'a [u8],
        acc: [f32; PW],
    }
    #[inline(always)]
    fn add_entry<const FMA: bool, const PW: usize>(acc: &mut [f32; PW], w: &[f32], column: u16, pixel: u8) {
        debug_assert!((usize::from(column) + 1) * PW <= w.len());
        // SAFETY: column < csr.width (a Csr invariant) and w holds csr.width rows of PW floats
        // (checked by the caller), so the row is inside `w`.
        let w = unsafe { &*w.as_ptr().add(usize::from(column) * PW).cast::<[f32; PW]>() };
        let a = PIXEL_INPUTS[usize::from(pixel)];
        for i in 0..PW {
            acc[i] = madd::<FMA>(a, w[i], acc[i]);
        }
    }
    let rows = csr.rows();
    let lane_at = |row: usize| {
        let (columns, pixels) = csr.row(row);
        Lane {
            row,
            columns,
            pixels,
            acc: [0.0; PW],
        }
    };
    // Four rows side by side: one row's sum is a chain of dependent multiply-adds that waits on
    // the FMA latency at every step, while four independent chains keep the unit busy. A lane
    // that finishes its row takes the next one, so all four stay busy until the last rows. Each
    // row still adds its entries in their own order: the sums are bit-identical to one row at a
    // time.
    let mut next = INTERLEAVE.min(rows);
    let mut lanes: [Option<Lane<PW>>; INTERLEAVE] = std::array::from_fn(|i| (i < rows).then(|| lane_at(i)));
    while let [Some(a), Some(b), Some(c), Some(d)] = &mut lanes {
        let common = a
            .columns
            .len()
            .min(b.columns.len())
            .min(c.columns.len())
            .min(d.columns.len());
        for k in 0..common {
            for lane in [&mut *a, &mut *b, &mut *c, &mut *d] {
                // SAFETY: k < common, the shortest lane's length.
                let (column, pixel) = unsafe { (*lane.columns.get_unchecked(k), *lane.pixels.get_unchecked(k)) };
                add_entry::<FMA, PW>(&mut lane.acc, w, column, pixel);
            }
        }
        for slot in &mut lanes {
            let lane = slot.as_mut().expect("all four lanes are busy");
            lane.columns = &lane.columns[common..];
            lane.pixels = &lane.pixels[common..];
            if lane.columns.is_empty() {
                out[lane.row * PW..(lane.row + 1) * PW].copy_from_slice(&lane.acc);
                *slot = (next < rows).then(|| lane_at(next));
                next += 1;
            }
        }
    }
    // The last rows, one at a time.
    for mut lane in lanes.into_iter().flatten() {
        for (&column, &pixel) in lane.columns.iter().zip(lane.pixels) {
            add_entry::<FMA, PW>(&mut lane.acc, w, column, pixel);
        }
        out[lane.row * PW..(lane.row + 1) * PW].copy_from_slice(&lane.acc);
    }
}

#[inline(always)]
fn csr_transposed_times_dense_impl<const FMA: bool>(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    assert!(dw.len() >= csr.width * pw && dz.len() >= csr.rows() * pw);
    match pw {
        8 => return csr_transposed_times_dense_fixed::<FMA, 8>(csr, dz, dw),
        16 => return csr_transposed_times_dense_fixed::<FMA, 16>(csr, dz, dw),
        32 => return csr_transposed_times_dense_fixed::<FMA, 32>(csr, dz, dw),
        _ => {}
    }
    for (r, dz) in dz.chunks_exact(pw).enumerate().take(csr.rows()) {
        let (columns, pixels) = csr.row(r);
        for (&column, &pixel) in columns.iter().zip(pixels) {
            let start = usize::from(column) * pw;
            axpy_blocks::<FMA>(PIXEL_INPUTS[usize::from(pixel)], dz, &mut dw[start..start + pw]);
        }
    }
}

/// The fixed-width scatter product; the caller has checked `dw.len() >= csr.width * PW`.
#[inline(always)]
fn csr_transposed_times_dense_fixed<const FMA: bool, const PW: usize>(csr: Csr<'_>, dz: &[f32], dw: &mut [f32]) {
    for (r, dz) in dz.chunks_exact(PW).enumerate().take(csr.rows()) {
        let dz: &[f32; PW] = dz.try_into().expect("PW floats");
        let (columns, pixels) = csr.row(r);
        for (&column, &pixel) in columns.iter().zip(pixels) {
            debug_assert!((usize::from(column) + 1) * PW <= dw.len());
            // SAFETY: column < csr.width and dw holds csr.width rows of PW floats.
            let row = unsafe { &mut *dw.as_mut_ptr().add(usize::from(column) * PW).cast::<[f32; PW]>() };
            let a = PIXEL_INPUTS[usize::from(pixel)];
            for i in 0..PW {
                row[i] = madd::<FMA>(a, dz[i], row[i]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random matrix of `rows` rows over `width` columns, some rows empty, some long.
    fn random_csr(rows: usize, width: usize, seed: u64) -> CsrBuf {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut csr = CsrBuf::new(width);
        for _ in 0..rows {
            let density = [0, 5, 20, 60][next() % 4];
            let mut entries = Vec::new();
            for c in 0..width {
                if next() % 100 < density {
                    entries.push((c as u16, (next() % 256) as u8));
                }
            }
            csr.push_row(entries);
        }
        csr
    }

    #[test]
    fn every_width_matches_a_dense_product_and_the_gather_matches_the_scatter() {
        let (rows, width) = (37, 50);
        let buf = random_csr(rows, width, 7);
        let csr = buf.view();
        for pw in [8, 16, 24, 32, 40] {
            let w: Vec<f32> = (0..width * pw).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01).collect();
            let mut out = vec![f32::NAN; rows * pw];
            csr_times_dense(csr, &w, pw, &mut out);
            let mut plain = vec![f32::NAN; rows * pw];
            csr_times_dense_impl::<false>(csr, &w, pw, &mut plain);
            for r in 0..rows {
                let (columns, pixels) = csr.row(r);
                for u in 0..pw {
                    let exact: f64 = columns
                        .iter()
                        .zip(pixels)
                        .map(|(&c, &p)| f64::from(PIXEL_INPUTS[p as usize]) * f64::from(w[c as usize * pw + u]))
                        .sum();
                    for got in [out[r * pw + u], plain[r * pw + u]] {
                        assert!(
                            (f64::from(got) - exact).abs() < 1e-4,
                            "pw {pw} row {r}: {got} vs {exact}"
                        );
                    }
                }
            }
            // dW = Xᵀ·dZ by scattering rows and by gathering the transpose: the same sums in the
            // same order, so the same bits.
            let dz: Vec<f32> = (0..rows * pw).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.02).collect();
            let mut scattered = vec![0.0; width * pw];
            csr_transposed_times_dense(csr, &dz, pw, &mut scattered);
            let transposed = CsrBuf::transpose(csr);
            assert_eq!((transposed.rows(), transposed.view().width()), (width, rows));
            let mut gathered = vec![f32::NAN; width * pw];
            csr_times_dense(transposed.view(), &dz, pw, &mut gathered);
            assert_eq!(scattered, gathered, "pw {pw}");
        }
    }

    #[test]
    fn padding_round_trips_at_every_width() {
        for pw in [8, 16, 24, 32] {
            for width in [1, 3, 7, pw / 2 + 1, pw] {
                for rows in [1, 2, 5, 40] {
                    let a: Vec<f32> = (0..rows * width).map(|i| i as f32 + 0.5).collect();
                    let mut padded = vec![f32::NAN; rows * pw];
                    pad_rows(&a, width, pw, &mut padded);
                    for (r, row) in padded.chunks_exact(pw).enumerate() {
                        assert_eq!(row[..width], a[r * width..(r + 1) * width]);
                        assert!(row[width..].iter().all(|&v| v == 0.0), "pw {pw} width {width}");
                    }
                    let mut back = vec![f32::NAN; rows * width];
                    unpad_rows(&padded, pw, width, &mut back);
                    assert_eq!(back, a, "pw {pw} width {width} rows {rows}");
                }
            }
        }
    }

    #[test]
    fn views_and_validation() {
        let buf = random_csr(10, 20, 3);
        let csr = buf.view();
        let part = csr.row_range(3, 7);
        assert_eq!(part.rows(), 4);
        assert_eq!(part.row(0), csr.row(3));
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
        assert!(Csr::new(&[], &columns, &pixels, 5).is_none());
        assert!(std::panic::catch_unwind(|| CsrBuf::new(3).push_row([(3, 1)])).is_err());
    }

    #[test]
    fn both_builds_agree_with_a_dense_product() {
        // 3 rows over 5 inputs, width 8.
        let offsets = [0usize, 2, 2, 5];
        let columns = [1u16, 4, 0, 2, 4];
        let pixels = [51u8, 255, 102, 1, 204];
        let csr = Csr::new(&offsets, &columns, &pixels, 5).unwrap();
        let value = |k: usize| f32::from(pixels[k]) / 255.0;
        let w: Vec<f32> = (0..5 * 8).map(|i| i as f32 * 0.1).collect();
        let mut out = vec![9.0; 3 * 8];
        csr_times_dense(csr, &w, 8, &mut out);
        let mut plain = vec![0.0; 3 * 8];
        csr_times_dense_impl::<false>(csr, &w, 8, &mut plain);
        for u in 0..8 {
            let expect0 = value(0) * w[8 + u] + value(1) * w[4 * 8 + u];
            assert!((out[u] - expect0).abs() < 1e-5 && (plain[u] - expect0).abs() < 1e-5);
            assert_eq!(out[8 + u], 0.0);
        }
        let mut dw = vec![0.0; 5 * 8];
        csr_transposed_times_dense(csr, &plain, 8, &mut dw);
        // Input 4 appears in rows 0 (entry 1) and 2 (entry 4).
        for u in 0..8 {
            let expect = value(1) * plain[u] + value(4) * plain[16 + u];
            assert!((dw[4 * 8 + u] - expect).abs() < 1e-4);
        }
        assert_eq!(padded(10), 16);
        assert_eq!(padded(16), 16);
    }
}
