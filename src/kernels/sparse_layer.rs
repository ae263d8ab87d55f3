//! The sparse first layer's two matrix products on ndarray matrices, as the network calls them:
//! `Z = X·W` forward and `dW += Xᵀ·dZ` backward, with `X` the images' non-zero pixels. Each pads
//! the dense operand's rows to whole vectors in aligned scratch buffers, runs the kernel, and
//! copies the result back; rows that are whole vectors already (wide layers) go straight in.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::aligned::AlignedBuffer;
use super::csr::{Csr, CsrBuf};
use super::padding::{pad_rows, padded, unpad_rows};
use super::{csr_times_dense, csr_transposed_times_dense, wide_csr_times_dense, wide_kernel_serves};

impl Csr<'_> {
    /// `z (rows, outputs) = self (rows, inputs) · w (inputs, outputs)`: each row of `z` is a sum
    /// of the rows of `w` picked by the row's non-zero inputs.
    pub(crate) fn matmul(&self, w: &Array2<f32>, z: &mut ArrayViewMut2<'_, f32>, scratch: &mut SparseScratch) {
        let (width, pw) = (w.ncols(), padded(w.ncols()));
        if width == pw {
            // Rows already whole vectors (wide layers): no copies, which for 784x512 weights
            // cost more than the product saved (measured: memmove was 5% of a step).
            let z = z.as_slice_mut().expect("z is contiguous");
            let w = w.as_slice().expect("w is contiguous");
            if wide_kernel_serves(pw) {
                wide_csr_times_dense(*self, w, pw, z, false);
            } else {
                csr_times_dense(*self, w, pw, z);
            }
            return;
        }
        // w padded: (inputs, pw)
        let padded_w = scratch.w.get(w.nrows() * pw);
        pad_rows(w.as_slice().expect("w is contiguous"), width, pw, padded_w);
        // z padded: (rows, pw), every row written by the kernel.
        let out = scratch.rows.get(self.rows() * pw);
        csr_times_dense(*self, padded_w, pw, out);
        unpad_rows(out, pw, width, z.as_slice_mut().expect("z is contiguous"));
    }

    /// `dw (inputs, outputs) += selfᵀ (inputs, rows) · dz (rows, outputs)`: only the rows of `dw`
    /// of non-zero inputs change. With `by_pixel`, self's transpose, each row of `dw` is summed
    /// in registers and written once instead of updated at every entry.
    pub(crate) fn accumulate_transposed_product(
        &self,
        by_pixel: Option<Csr<'_>>,
        dz: &ArrayView2<'_, f32>,
        dw: &mut Array2<f32>,
        scratch: &mut SparseScratch,
    ) {
        if let Some(by_pixel) = by_pixel {
            assert_eq!((by_pixel.rows(), by_pixel.width()), (dw.nrows(), self.rows()));
            by_pixel.transposed_rows_product(dz, &mut dw.view_mut(), true, scratch);
            return;
        }
        let (width, pw, rows) = (dw.ncols(), padded(dw.ncols()), dz.nrows());
        let dz = dz.as_slice().expect("dz is contiguous");
        if width == pw && wide_kernel_serves(pw) {
            // Wide layers: the chunk's transpose, its rows summed in registers and added to dW's.
            scratch.transposed.transpose_into(*self);
            let dw = dw.as_slice_mut().expect("dw is contiguous");
            wide_csr_times_dense(scratch.transposed.view(), dz, pw, dw, true);
            return;
        }
        if width == pw {
            // Whole-vector rows: added straight into `dw`, no copies.
            csr_transposed_times_dense(*self, dz, pw, dw.as_slice_mut().expect("dw is contiguous"));
            return;
        }
        // dz padded: (rows, pw)
        let padded_dz = scratch.rows.get(rows * pw);
        pad_rows(dz, width, pw, padded_dz);
        // This chunk's dW alone, padded: (inputs, pw)
        let padded_dw = scratch.w.get(dw.nrows() * pw);
        padded_dw.fill(0.0);
        csr_transposed_times_dense(*self, padded_dz, pw, padded_dw);
        let dw = dw.as_slice_mut().expect("dw is contiguous");
        for (dw_row, padded_row) in dw.chunks_exact_mut(width).zip(padded_dw.chunks_exact(pw)) {
            for (g, &p) in dw_row.iter_mut().zip(&padded_row[..width]) {
                *g += p;
            }
        }
    }
}

impl Csr<'_> {
    /// `dw (self.rows(), outputs) = self · dz (self.width(), outputs)`, or `dw += ...` with
    /// `accumulate`, where `self` is a range of rows of a chunk's transpose (pixels by the chunk's
    /// rows) and `dz` the chunk's `dZ`: those pixels' rows of `dW`, each summed once over the
    /// pixel's entries. Every row of `dw` is written.
    pub(crate) fn transposed_rows_product(
        &self,
        dz: &ArrayView2<'_, f32>,
        dw: &mut ArrayViewMut2<'_, f32>,
        accumulate: bool,
        scratch: &mut SparseScratch,
    ) {
        assert_eq!(
            (self.width(), self.rows()),
            (dz.nrows(), dw.nrows()),
            "transpose rows against dZ and dW"
        );
        let (width, pw) = (dw.ncols(), padded(dw.ncols()));
        let dz = dz.as_slice().expect("dz is contiguous");
        if width == pw && wide_kernel_serves(pw) {
            let dw = dw.as_slice_mut().expect("dw's rows are contiguous");
            wide_csr_times_dense(*self, dz, pw, dw, accumulate);
            return;
        }
        // dz padded: (chunk rows, pw)
        let padded_dz = scratch.rows.get(self.width() * pw);
        pad_rows(dz, width, pw, padded_dz);
        // These rows of dW alone, padded: (self.rows(), pw), every row written.
        let padded_dw = scratch.w.get(self.rows() * pw);
        csr_times_dense(*self, padded_dz, pw, padded_dw);
        // On slices, with `accumulate` decided once per row: LLVM then vectorises both loops.
        // Through ndarray's row iterator with the branch inside, one build did and the next did
        // not (scalar addss: this copy went from 2% to 10% of a one-thread 784-512-256-10 epoch).
        for (mut dw_row, padded_row) in dw.rows_mut().into_iter().zip(padded_dw.chunks_exact(pw)) {
            let padded_row = &padded_row[..width];
            match (dw_row.as_slice_mut(), accumulate) {
                (Some(dw_row), true) => dw_row.iter_mut().zip(padded_row).for_each(|(g, &p)| *g += p),
                (Some(dw_row), false) => dw_row.copy_from_slice(padded_row),
                (None, _) => {
                    for (g, &p) in dw_row.iter_mut().zip(padded_row) {
                        *g = if accumulate { *g + p } else { p };
                    }
                }
            }
        }
    }
}

impl SparseScratch {
    /// Makes and keeps `csr`'s transpose, for [`SparseScratch::kept_transpose`].
    pub(crate) fn keep_transpose(&mut self, csr: Csr<'_>) {
        self.transposed.transpose_into(csr);
    }

    /// The transpose made by the last [`SparseScratch::keep_transpose`] (or by the wide `dW`
    /// product, which uses the same buffer).
    pub(crate) fn kept_transpose(&self) -> Csr<'_> {
        self.transposed.view()
    }
}

impl Default for SparseScratch {
    fn default() -> SparseScratch {
        SparseScratch {
            w: AlignedBuffer::default(),
            rows: AlignedBuffer::default(),
            transposed: CsrBuf::new(0),
        }
    }
}

/// Padded copies used by the sparse first layer: one of the weights (or of dW), one of the rows
/// (Z or dZ). Kept in the network's workspace so training does not allocate.
pub(crate) struct SparseScratch {
    w: AlignedBuffer,
    rows: AlignedBuffer,
    /// The chunk's transpose, for `dW` of wide layers.
    transposed: CsrBuf,
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::kernels::PIXEL_INPUTS;

    /// `x · d` in f64 for the sparse `x`: `(x.rows(), d.ncols())`.
    fn exact(x: Csr<'_>, d: &Array2<f32>) -> Array2<f64> {
        let mut out = Array2::zeros((x.rows(), d.ncols()));
        for r in 0..x.rows() {
            let (columns, pixels) = x.row(r);
            for (&c, &p) in columns.iter().zip(pixels) {
                for u in 0..d.ncols() {
                    out[[r, u]] += f64::from(PIXEL_INPUTS[p as usize]) * f64::from(d[[c as usize, u]]);
                }
            }
        }
        out
    }

    fn assert_close(got: &Array2<f32>, want: &Array2<f64>, what: &str) {
        assert_eq!(got.dim(), want.dim(), "{what}");
        for ((i, j), &w) in want.indexed_iter() {
            let g = f64::from(got[[i, j]]);
            assert!((g - w).abs() < 1e-4 * (1.0 + w.abs()), "{what} [{i},{j}]: {g} vs {w}");
        }
    }

    /// The layer's products at widths that pad (20, 33, 47, 100) and ones that do not (16, 64),
    /// against f64 sums: forward, dW by scatter and by the kept transpose, and rows of dW.
    #[test]
    fn the_layer_products_match_f64_sums_at_ragged_widths() {
        let (rows, inputs) = (13, 70);
        let mut rng = StdRng::seed_from_u64(21);
        let mut x = CsrBuf::new(inputs);
        for _ in 0..rows {
            let mut entries = Vec::new();
            for column in 0..inputs as u16 {
                if rng.random_bool(0.3) {
                    entries.push((column, rng.random::<u8>()));
                }
            }
            x.push_row(entries);
        }
        let x = x.view();
        let transposed = CsrBuf::transpose(x);
        let mut scratch = SparseScratch::default();
        for outputs in [16, 20, 33, 47, 64, 100] {
            let w = Array2::from_shape_fn((inputs, outputs), |_| rng.random_range(-1.0..1.0));
            let mut z = Array2::from_elem((rows, outputs), f32::NAN);
            x.matmul(&w, &mut z.view_mut(), &mut scratch);
            assert_close(&z, &exact(x, &w), &format!("Z = X·W, {outputs} outputs"));

            let dz = Array2::from_shape_fn((rows, outputs), |_| rng.random_range(-1.0..1.0));
            let start = Array2::from_shape_fn((inputs, outputs), |_| rng.random_range(-1.0..1.0));
            let want = exact(transposed.view(), &dz) + start.mapv(f64::from);
            for by_pixel in [None, Some(transposed.view())] {
                let mut dw = start.clone();
                x.accumulate_transposed_product(by_pixel, &dz.view(), &mut dw, &mut scratch);
                let how = if by_pixel.is_some() { "by pixel" } else { "by row" };
                assert_close(&dw, &want, &format!("dW += Xᵀ·dZ {how}, {outputs} outputs"));
            }
            // Pixels 5..38 of dW, written (not accumulated).
            let some = transposed.view().row_range(5, 38);
            let mut dw = Array2::from_elem((33, outputs), f32::NAN);
            some.transposed_rows_product(&dz.view(), &mut dw.view_mut(), false, &mut scratch);
            assert_close(&dw, &exact(some, &dz), &format!("rows of dW, {outputs} outputs"));
        }
    }
}
