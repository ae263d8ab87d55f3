//! The first layer's products when its input is the images' non-zero pixels (about a fifth of
//! MNIST's): the forward `Z = X·W` and the weights' gradient `dW = Xᵀ·dZ`. The kernels and the
//! measurements behind them live in [`crate::kernels`]; the first layer needs no `dX`.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::kernels::{Csr, SparseScratch};

/// Forward: `z (n, outputs) = images (n, 784, sparse) · w (784, outputs)`.
pub(crate) fn forward(images: Csr<'_>, w: &Array2<f32>, z: &mut ArrayViewMut2<'_, f32>, scratch: &mut SparseScratch) {
    images.matmul(w, z, scratch);
}

/// Backward, the weights' part: `dw (784, outputs) += imagesᵀ · dz (n, outputs)`, as a gather
/// over `by_pixel` (the images' transpose: rows are pixels) when given.
pub(crate) fn backward_weights(
    images: Csr<'_>,
    by_pixel: Option<Csr<'_>>,
    dz: &ArrayView2<'_, f32>,
    dw: &mut Array2<f32>,
    scratch: &mut SparseScratch,
) {
    images.accumulate_transposed_product(by_pixel, dz, dw, scratch);
}

/// Rows of the weights' gradient from the transpose's rows `by_pixel_rows` (pixels `rows`):
/// `dw (rows, outputs) = imagesᵀ[rows] · dz (n, outputs)`, or `dw += ...` with `accumulate`.
pub(crate) fn backward_weight_rows(
    by_pixel_rows: Csr<'_>,
    dz: &ArrayView2<'_, f32>,
    dw: &mut ArrayViewMut2<'_, f32>,
    accumulate: bool,
    scratch: &mut SparseScratch,
) {
    by_pixel_rows.transposed_rows_product(dz, dw, accumulate, scratch);
}
