//! The layer kinds a network is made of, each in its own file as a forward/backward pair with the
//! shapes of what it reads and writes (one sample per row, `n` rows):
//! - `dense_relu`: `Z = A_prev·W + b`, then `A = ReLU(Z)` for a hidden layer; the products'
//!   backward gives `dW`, `db` and `dA_prev = dZ·Wᵀ`;
//! - `sparse_input`: the same product and `dW` for a first layer that reads only the non-zero
//!   pixels ([`super::Input::Sparse`]);
//! - `dropout`: hidden units dropped at random while training, the kept ones scaled;
//! - `softmax_cross_entropy`: the loss head on the logits, its forward (probabilities, loss) and
//!   backward (`dZ = P - T`) in one pass.
//!
//! [`LayerKind`] is the one place that says which kinds there are and what each layer's forward
//! and backward run: the whole-network passes in [`super::Mlp`] (prediction, training's chunk
//! passes, input gradients, hidden activations, [`super::Mlp::trace`]) call
//! [`LayerKind::forward`] and [`LayerKind::backward`] for each layer, and nothing else.
//!
//! Adding a layer kind (a convolution, say): write its file here with a `forward` and a
//! `backward` (and a shape comment on each), then register it: a variant of [`LayerKind`], its
//! arms in [`LayerKind::forward`] and [`LayerKind::backward`], and where [`LayerKind::of`] puts
//! it in a network. The passes, training and the trace pick it up from there.

use ndarray::{ArrayView2, ArrayViewMut2};
use rand::rngs::StdRng;

use super::{Input, Layer};
use crate::kernels::{GemmScratch, SparseScratch};

pub(super) mod dense_relu;
pub(super) mod dropout;
pub(super) mod softmax_cross_entropy;
pub(super) mod sparse_input;

/// What a layer does with its parameters `W` `(inputs, outputs)` and `b` `(outputs)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// A hidden layer: `A = dropout(ReLU(A_prev·W + b))` (`dense_relu`, `dropout`).
    DenseRelu,
    /// The output layer: the logits `Z = A_prev·W + b`, which the loss head reads
    /// (`softmax_cross_entropy`).
    DenseLogits,
}

/// The buffers a layer's products borrow: padded copies for the sparse product, packed ones for
/// the dense products.
pub(super) struct Kernels<'a> {
    pub(super) sparse: &'a mut SparseScratch,
    pub(super) gemm: &'a mut GemmScratch,
}

impl LayerKind {
    /// The kind of layer `l` of a network of `count` layers: ReLU layers, then the logits.
    pub fn of(l: usize, count: usize) -> LayerKind {
        if l + 1 < count {
            LayerKind::DenseRelu
        } else {
            LayerKind::DenseLogits
        }
    }

    /// Forward of one layer, into `out` `(n, outputs)` from `input` `(n, inputs)`: `A` for a
    /// hidden layer (with units dropped with probability `dropout`, drawn from `rng`), the logits
    /// for the output layer. With `keep_z` `(n, outputs)`, also copies `Z = A_prev·W + b` there
    /// (before the activation: what the trace shows).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn forward(
        self,
        layer: &Layer,
        input: Input<'_>,
        out: &mut ArrayViewMut2<'_, f32>,
        dropout: f32,
        rng: &mut StdRng,
        keep_z: Option<&mut ArrayViewMut2<'_, f32>>,
        kernels: &mut Kernels<'_>,
    ) {
        // Z = A_prev·W: (n, outputs), the bias added below
        dense_relu::linear_forward(input, &layer.w, out, kernels);
        match self {
            LayerKind::DenseRelu => {
                // A = ReLU(Z + b), in place, then dropped out
                dense_relu::bias_relu_forward(out, &layer.b, keep_z);
                dropout::forward(out, dropout, rng);
            }
            LayerKind::DenseLogits => {
                // Logits Z + b
                *out += &layer.b;
                if let Some(keep_z) = keep_z {
                    keep_z.assign(out);
                }
            }
        }
    }

    /// Backward of one layer. `d` `(n, outputs)` holds the gradient at the layer's output (`dA`
    /// for a hidden layer, `dZ` for the logits) and becomes `dZ`, in place; `out` `(n, outputs)`
    /// is what [`LayerKind::forward`] wrote (a hidden layer's `A`). Then adds the parameters'
    /// gradient to `grad` (`dW += A_prevᵀ·dZ`, `db += Σ_rows dZ`) when given, and writes the
    /// input's `dA_prev = dZ·Wᵀ` `(n, inputs)` to `d_input` when given.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward(
        self,
        layer: &Layer,
        input: Input<'_>,
        out: Option<ArrayView2<'_, f32>>,
        d: &mut ArrayViewMut2<'_, f32>,
        dropout: f32,
        grad: Option<&mut Layer>,
        d_input: Option<&mut ArrayViewMut2<'_, f32>>,
        kernels: &mut Kernels<'_>,
    ) {
        if self == LayerKind::DenseRelu {
            let a = out.expect("a hidden layer's backward reads its output A");
            // dA before the dropout -> dZ, in place
            dropout::backward(d, &a, dropout);
            dense_relu::relu_backward(d, &a);
        }
        let dz = d.view();
        if let Some(grad) = grad {
            dense_relu::linear_backward_parameters(input, &dz, grad, kernels);
        }
        if let Some(d_input) = d_input {
            dense_relu::linear_backward_input(&dz, &layer.w, d_input, kernels);
        }
    }
}
