//! The dense layer, `Z = A_prev·W + b`, and the ReLU after it in hidden layers, `A = max(Z, 0)`:
//! forward and backward. A first layer reading sparse pixels takes its products from
//! [`super::sparse_input`].

use ndarray::{Array1, ArrayView2, ArrayViewMut2, Zip};

use super::{Kernels, sparse_input};
use crate::kernels::{GemmScratch, matmul_into};
use crate::network::{Input, Layer};

/// Forward of the product, without the bias: `z (n, outputs) = input (n, inputs) · w (inputs,
/// outputs)`.
pub(crate) fn linear_forward(
    input: Input<'_>,
    w: &ndarray::Array2<f32>,
    z: &mut ArrayViewMut2<'_, f32>,
    kernels: &mut Kernels<'_>,
) {
    match input {
        Input::Dense(x) => matmul_into(&x, &w.view(), false, z, kernels.gemm),
        Input::Sparse { images, .. } => sparse_input::forward(images, w, z, kernels.sparse),
    }
}

/// Backward of the product, the parameters' part: `dW (inputs, outputs) += inputᵀ (inputs, n) ·
/// dz (n, outputs)` and `db (outputs) += Σ_rows dz`.
pub(crate) fn linear_backward_parameters(
    input: Input<'_>,
    dz: &ArrayView2<'_, f32>,
    grad: &mut Layer,
    kernels: &mut Kernels<'_>,
) {
    match input {
        Input::Dense(x) => matmul_into(&x.t(), dz, true, &mut grad.w.view_mut(), kernels.gemm),
        Input::Sparse { images, by_pixel } => {
            sparse_input::backward_weights(images, by_pixel, dz, &mut grad.w, kernels.sparse);
        }
    }
    add_row_sums(dz, grad.b.as_slice_mut().expect("biases are contiguous"));
}

/// Rows `a`'s columns of the weights' gradient: `dw (rows, outputs) = a (n, rows)ᵀ · dz (n,
/// outputs)`, or `dw += ...` with `accumulate` (training shares `dW` by rows between threads:
/// [`crate::network::Workspace::weight_gradient_rows`]).
pub(crate) fn linear_backward_weight_rows(
    a: &ArrayView2<'_, f32>,
    dz: &ArrayView2<'_, f32>,
    dw: &mut ArrayViewMut2<'_, f32>,
    accumulate: bool,
    gemm: &mut GemmScratch,
) {
    matmul_into(&a.t(), dz, accumulate, dw, gemm);
}

/// Backward of the product, the input's part: `d_input (n, inputs) = dz (n, outputs) · wᵀ
/// (outputs, inputs)`.
pub(crate) fn linear_backward_input(
    dz: &ArrayView2<'_, f32>,
    w: &ndarray::Array2<f32>,
    d_input: &mut ArrayViewMut2<'_, f32>,
    kernels: &mut Kernels<'_>,
) {
    matmul_into(dz, &w.t(), false, d_input, kernels.gemm);
}

/// `db (outputs) += Σ_rows dz (n, outputs)`, row after row: the bias gradient.
#[inline]
pub(crate) fn add_row_sums(dz: &ArrayView2<'_, f32>, db: &mut [f32]) {
    for dz_row in dz.rows() {
        // Rows as slices: once this left `Mlp::backward` for its own function, LLVM no longer
        // vectorised the loop over ndarray's row iterator (perf: 6% of a seed step, scalar).
        match dz_row.as_slice() {
            Some(row) => {
                for (g, &d) in db.iter_mut().zip(row) {
                    *g += d;
                }
            }
            None => {
                for (g, &d) in db.iter_mut().zip(dz_row) {
                    *g += d;
                }
            }
        }
    }
}

/// Forward of the bias and ReLU, in place on `z` `(n, outputs)`: `A = ReLU(Z + b)`. With
/// `keep_z` `(n, outputs)`, `Z + b` is copied there first.
pub(crate) fn bias_relu_forward(
    z: &mut ArrayViewMut2<'_, f32>,
    b: &Array1<f32>,
    keep_z: Option<&mut ArrayViewMut2<'_, f32>>,
) {
    if let Some(keep_z) = keep_z {
        *z += b;
        keep_z.assign(z);
        z.mapv_inplace(|z| z.max(0.0));
        return;
    }
    for mut row in z.rows_mut() {
        Zip::from(&mut row).and(b).for_each(|z, &b| *z = (*z + b).max(0.0));
    }
}

/// Backward of the ReLU, in place on `d` `(n, outputs)`: `dZ = dA · (A > 0)`, read from the
/// layer's output `a` `(n, outputs)`.
pub(crate) fn relu_backward(d: &mut ArrayViewMut2<'_, f32>, a: &ArrayView2<'_, f32>) {
    Zip::from(d).and(a).for_each(|d, &a| {
        *d = if a > 0.0 { *d } else { 0.0 };
    });
}
