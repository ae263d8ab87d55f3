//! A chunk's gradient taken by rows of the parameters instead of all at once.
//! [`Mlp::forward_backward`] runs a chunk's forward and backward pass and keeps in its workspace
//! what the parameters' gradient is made of: each layer's input `A_{l-1}` and `dZ_l` (and the
//! transpose of a sparse input). [`Workspace::weight_gradient_rows`] and
//! [`Workspace::bias_gradient`] then give any rows of it. Training uses this to share a
//! mini-batch's gradient and update between threads by parameter rows (`crate::train`): each
//! thread sums its rows of `dW` over the chunks and updates them while they are in its cache.
//! The rows of `dW` come from the layers' own products (`dense_relu`, `sparse_input`); a new
//! layer kind with parameters gives its rows of `dW` here too.

use std::ops::Range;

use ndarray::{ArrayView2, ArrayViewMut2, s};

use super::layers::dense_relu::add_row_sums;
use super::layers::{dense_relu, softmax_cross_entropy, sparse_input};
use super::{BatchStats, Gradients, Input, Mlp, Workspace};

/// Where the caller put a chunk's input in its workspace before [`Mlp::forward_backward`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkInput {
    /// `ws.x`: `(n, 784)` pixels scaled to [0, 1].
    Dense,
    /// `ws.sparse`: the `n` images' non-zero pixels.
    Sparse,
}

impl Mlp {
    /// Forward and backward over the chunk of `labels.len()` rows the caller put in `ws` (as
    /// `input` says). With `grads`, adds the parameters' gradient to it, as
    /// [`Mlp::accumulate_smoothed_gradients`]; without, keeps the passes in `ws` instead, for
    /// [`Workspace::weight_gradient_rows`] and [`Workspace::bias_gradient`] (until its next
    /// pass). Returns the chunk's loss and accuracy counts.
    pub fn forward_backward(
        &self,
        input: ChunkInput,
        labels: &[u8],
        ws: &mut Workspace,
        grads: Option<&mut Gradients>,
        dropout: f32,
        label_smoothing: f32,
    ) -> BatchStats {
        let n = labels.len();
        let last = self.layers.len() - 1;
        // Lent out while the passes borrow the rest of `ws`, put back below.
        let (x, sparse) = (std::mem::take(&mut ws.x), std::mem::take(&mut ws.sparse));
        let chunk = match input {
            ChunkInput::Dense => Input::Dense(x.slice(s![..n, ..])),
            ChunkInput::Sparse => Input::sparse(sparse.csr()),
        };
        assert_eq!(chunk.rows(), n, "one label per row");
        let stats = match grads {
            Some(grads) => self.accumulate_smoothed_gradients(chunk, labels, ws, grads, dropout, label_smoothing),
            None => {
                self.forward_into(chunk, ws, dropout);
                // Logits (n, 10) become dZ_L = P - T, in place; the backward leaves dZ_l in
                // ws.deltas.
                let stats = softmax_cross_entropy::forward_backward(
                    ws.acts[last].slice_mut(s![..n, ..]),
                    labels,
                    label_smoothing,
                );
                self.backward(chunk, ws, None, None, dropout);
                if input == ChunkInput::Sparse {
                    // dW_1's rows are rows of Xᵀ·dZ_1: the transpose's rows are the pixels.
                    ws.scratch.keep_transpose(sparse.csr());
                }
                ws.kept = Some((input, n));
                stats
            }
        };
        (ws.x, ws.sparse) = (x, sparse);
        stats
    }
}

impl Workspace {
    /// Rows `rows` (inputs of layer `l`) of the weight gradient of the chunk kept by
    /// [`Mlp::forward_backward`]: `dw (rows.len(), outputs_l) = A_{l-1}[:, rows]ᵀ · dZ_l`, or
    /// `dw += ...` with `accumulate`. `scratch` lends its buffers to the product. Each element is
    /// summed over the chunk's rows in order, whichever rows are asked for, so cutting a layer's
    /// rows between threads does not change the bits.
    pub fn weight_gradient_rows(
        &self,
        l: usize,
        rows: Range<usize>,
        accumulate: bool,
        dw: &mut ArrayViewMut2<'_, f32>,
        scratch: &mut Workspace,
    ) {
        let (input, n) = self.kept.expect("forward_backward ran on this chunk");
        // dZ_l: (n, outputs_l)
        let dz = self.kept_dz(l, n);
        // A_{l-1}[:, rows]: (n, rows.len()), the input X for the first layer
        let a = match (l, input) {
            (0, ChunkInput::Sparse) => {
                let by_pixel = self.scratch.kept_transpose().row_range(rows.start, rows.end);
                sparse_input::backward_weight_rows(by_pixel, &dz, dw, accumulate, &mut scratch.scratch);
                return;
            }
            (0, ChunkInput::Dense) => self.x.slice(s![..n, rows]),
            _ => self.acts[l - 1].slice(s![..n, rows]),
        };
        dense_relu::linear_backward_weight_rows(&a, &dz, dw, accumulate, &mut scratch.gemm);
    }

    /// The bias gradient of layer `l` of the kept chunk: `db (outputs_l) = Σ_rows dZ_l`, or
    /// `db += ...` with `accumulate`.
    pub fn bias_gradient(&self, l: usize, accumulate: bool, db: &mut [f32]) {
        let (_, n) = self.kept.expect("forward_backward ran on this chunk");
        if !accumulate {
            db.fill(0.0);
        }
        add_row_sums(&self.kept_dz(l, n), db);
    }

    /// `dZ_l` of the kept chunk's `n` rows: the last layer's is where its logits were.
    fn kept_dz(&self, l: usize, n: usize) -> ArrayView2<'_, f32> {
        let dz = if l + 1 == self.acts.len() {
            &self.acts[l]
        } else {
            &self.deltas[l]
        };
        dz.slice(s![..n, ..])
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, s};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::ChunkInput;
    use crate::data::PIXELS;
    use crate::network::{Init, Input, Mlp, SparseBatch, Workspace, fill_inputs};

    /// Two chunks of MNIST-like images (a fifth of the pixels inked) and their labels.
    fn chunks() -> Vec<(Vec<u8>, Vec<u8>)> {
        [(5, 3), (7, 11)]
            .iter()
            .map(|&(rows, salt)| {
                let pixels = (0..rows * PIXELS)
                    .map(|i| if (i * salt) % 5 == 0 { ((i * 37) % 256) as u8 } else { 0 })
                    .collect();
                let labels = (0..rows).map(|r| ((r * salt) % 3) as u8).collect();
                (pixels, labels)
            })
            .collect()
    }

    /// Puts a chunk's input in `ws` as `input` says.
    fn put(ws: &mut Workspace, input: ChunkInput, pixels: &[u8]) {
        match input {
            ChunkInput::Dense => fill_inputs(&mut ws.x.slice_mut(s![..pixels.len() / PIXELS, ..]), pixels),
            ChunkInput::Sparse => {
                ws.sparse.clear();
                ws.sparse.push_images(pixels);
            }
        }
    }

    #[test]
    fn rows_of_the_kept_gradient_make_the_whole_gradient() {
        // 10 units: the padded narrow kernels; 48: the generic ones; 512: the wide AVX-512 one.
        for width in [10, 48, 512] {
            for input in [ChunkInput::Dense, ChunkInput::Sparse] {
                let case = format!("width {width}, {input:?}");
                let net = Mlp::new(&[PIXELS, width, 16, 3], Init::He, 4);
                let (dropout, smoothing) = (0.2, 0.1);
                // The whole gradient as training's other path sums it, chunk after chunk.
                let mut whole = net.zeros_like();
                let mut ws = Workspace::new(&net, 8);
                let mut expected_stats = Vec::new();
                for (c, (pixels, labels)) in chunks().iter().enumerate() {
                    ws.rng = StdRng::seed_from_u64(c as u64);
                    let n = labels.len();
                    let mut x = Array2::zeros((n, PIXELS));
                    fill_inputs(&mut x.view_mut(), pixels);
                    let mut sparse = SparseBatch::new();
                    sparse.push_images(pixels);
                    let chunk = match input {
                        ChunkInput::Dense => Input::Dense(x.view()),
                        ChunkInput::Sparse => Input::sparse(sparse.csr()),
                    };
                    let stats =
                        net.accumulate_smoothed_gradients(chunk, labels, &mut ws, &mut whole, dropout, smoothing);
                    expected_stats.push(stats);
                }
                // The chunks kept, then each layer's rows taken in two ranges and in one.
                let mut kept: Vec<Workspace> = Vec::new();
                for (c, (pixels, labels)) in chunks().iter().enumerate() {
                    let mut ws = Workspace::new(&net, 8);
                    ws.rng = StdRng::seed_from_u64(c as u64);
                    put(&mut ws, input, pixels);
                    let stats = net.forward_backward(input, labels, &mut ws, None, dropout, smoothing);
                    assert_eq!(stats, expected_stats[c], "{case}");
                    kept.push(ws);
                }
                let mut scratch = Workspace::new(&net, 1);
                for (l, layer) in whole.layers.iter().enumerate() {
                    let (inputs, outputs) = layer.w.dim();
                    let mut split = Array2::zeros((inputs, outputs));
                    let mut at_once = Array2::zeros((inputs, outputs));
                    let cut = inputs / 3;
                    for (c, chunk) in kept.iter().enumerate() {
                        for rows in [0..cut, cut..inputs] {
                            let mut dw = split.slice_mut(s![rows.clone(), ..]);
                            chunk.weight_gradient_rows(l, rows, c > 0, &mut dw, &mut scratch);
                        }
                        chunk.weight_gradient_rows(l, 0..inputs, c > 0, &mut at_once.view_mut(), &mut scratch);
                    }
                    assert_eq!(split, at_once, "{case}, layer {l}: cutting the rows changes no bit");
                    let scale = layer.w.iter().fold(1e-3f32, |m, g| m.max(g.abs()));
                    for (a, b) in split.iter().zip(&layer.w) {
                        assert!((a - b).abs() <= 1e-5 * scale, "{case}, layer {l}: {a} against {b}");
                    }
                    let mut db = vec![f32::NAN; outputs];
                    for (c, chunk) in kept.iter().enumerate() {
                        chunk.bias_gradient(l, c > 0, &mut db);
                    }
                    assert_eq!(
                        db,
                        layer.b.to_vec(),
                        "{case}, layer {l}: the bias adds the same rows in order"
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "forward_backward ran on this chunk")]
    fn a_chunk_without_kept_passes_has_no_gradient() {
        let net = Mlp::new(&[PIXELS, 10, 3], Init::He, 4);
        let ws = Workspace::new(&net, 4);
        ws.bias_gradient(0, false, &mut [0.0; 10]);
    }
}
