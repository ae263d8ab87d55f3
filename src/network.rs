//! The multilayer perceptron: ReLU hidden layers, a softmax output, cross-entropy loss; forward
//! pass, one-hot targets and backprop written by hand on ndarray, in f32.
//!
//! Layout: one sample per row. A batch `X` is `(n, 784)`; layer `l` has weights `W` of shape
//! `(inputs, outputs)` and bias `b` of shape `(outputs)`, so `Z = X·W + b` is `(n, outputs)`.
//! (The notebook keeps samples in columns and writes `Z1 = W1·X + b1`; the model file stores `W`
//! in the notebook's `(outputs, inputs)` orientation.)
//!
//! Reading order: `Mlp::forward_layers` and `Mlp::backward` run the layers, each through its
//! [`LayerKind`]'s forward and backward; the layer kinds, a forward and its backward side by
//! side, are in `layers/` (dense + ReLU, the sparse first layer, dropout, and the softmax
//! cross-entropy loss head), whose module doc says how to add one. The first layer may read its
//! inputs as non-zero pixels ([`Input::Sparse`]); those products live in [`crate::kernels`].
//! Every whole-network pass composes the same layer functions: prediction ([`Mlp::forward`]),
//! training's gradient ([`Mlp::accumulate_gradients`], [`Mlp::forward_backward`]), attribution
//! ([`Mlp::input_gradients`], which continues the backward to the input), the hidden
//! activations, and [`Mlp::trace`] (each layer's `Z`, `A`, `dZ`, `dW`, `db`, for the Math tab).
//!
//! Beside this file: `workspace` holds what a pass reads and writes ([`Input`], [`Workspace`],
//! the pixels scaled to inputs); `kept_chunk` keeps a chunk's passes so that training can take
//! its gradient by parameter rows ([`Mlp::forward_backward`]); `trace` is [`Mlp::trace`] and the
//! plain step [`Mlp::stepped`]; `ablation` is the break-it switches ([`Ablation`]).

use ndarray::{Array1, Array2, ArrayView2, s};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::choice::Choice;
/// Moved to [`crate::kernels`] with the sparse products; still importable from here.
pub use crate::kernels::SparseBatch;

mod ablation;
mod kept_chunk;
mod layers;
mod trace;
mod workspace;
pub use ablation::Ablation;
pub use kept_chunk::ChunkInput;
use layers::Kernels;
pub use layers::LayerKind;
pub use layers::softmax_cross_entropy::{argmax, softmax_in_place};
pub use trace::{LayerTrace, Trace};
pub use workspace::{Input, Workspace, fill_inputs, fill_shifted};

/// How the weights are drawn before training (each one's formula: [`Choice::help`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    Uniform,
    He,
    Xavier,
}

impl Choice for Init {
    const ALL: &'static [Init] = &[Init::Uniform, Init::He, Init::Xavier];
    fn name(self) -> &'static str {
        match self {
            Init::Uniform => "uniform",
            Init::He => "he",
            Init::Xavier => "xavier",
        }
    }
    fn help(self) -> &'static str {
        match self {
            Init::Uniform => "The notebook's `np.random.rand(..) - 0.5`: U(-0.5, 0.5) for weights and biases",
            Init::He => "He (Kaiming) uniform, U(-sqrt(6/fan_in), sqrt(6/fan_in)), zero biases: suits ReLU",
            Init::Xavier => "Xavier (Glorot) uniform, U(-sqrt(6/(fan_in+fan_out)), ..), zero biases",
        }
    }
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Init::Xavier => &["glorot"],
            _ => &[],
        }
    }
}

crate::choice::named_by_choice!(Init);

/// One fully connected layer: `Z = A_prev·W + b`.
#[derive(Debug, PartialEq)]
pub struct Layer {
    /// `(inputs, outputs)`
    pub w: Array2<f32>,
    /// `(outputs)`
    pub b: Array1<f32>,
}

impl Clone for Layer {
    fn clone(&self) -> Layer {
        Layer {
            w: self.w.clone(),
            b: self.b.clone(),
        }
    }

    /// Copies into the arrays already there (a derived `clone_from` would allocate new ones:
    /// training keeps a copy of the last good parameters this way every report).
    fn clone_from(&mut self, source: &Layer) {
        self.w.clone_from(&source.w);
        self.b.clone_from(&source.b);
    }
}

impl Layer {
    pub fn zeros(inputs: usize, outputs: usize) -> Layer {
        Layer {
            w: Array2::zeros((inputs, outputs)),
            b: Array1::zeros(outputs),
        }
    }

    pub fn inputs(&self) -> usize {
        self.w.nrows()
    }

    pub fn outputs(&self) -> usize {
        self.w.ncols()
    }
}

/// A multilayer perceptron 784 → hidden... → 10.
#[derive(Debug, PartialEq)]
pub struct Mlp {
    pub layers: Vec<Layer>,
}

impl Clone for Mlp {
    fn clone(&self) -> Mlp {
        Mlp {
            layers: self.layers.clone(),
        }
    }

    /// Layer by layer into the arrays already there, as [`Layer::clone_from`].
    fn clone_from(&mut self, source: &Mlp) {
        self.layers.clone_from(&source.layers);
    }
}

/// Gradients have the same shapes as the parameters.
pub type Gradients = Mlp;

/// Loss and accuracy counts of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchStats {
    /// Sum over the rows of the cross-entropy loss.
    pub loss_sum: f64,
    /// Rows whose most probable class is the label.
    pub correct: usize,
    pub rows: usize,
}

impl BatchStats {
    pub fn add(&mut self, other: BatchStats) {
        self.loss_sum += other.loss_sum;
        self.correct += other.correct;
        self.rows += other.rows;
    }

    pub fn loss(&self) -> f32 {
        (self.loss_sum / self.rows.max(1) as f64) as f32
    }

    pub fn accuracy(&self) -> f32 {
        self.correct as f32 / self.rows.max(1) as f32
    }
}

impl Mlp {
    /// A network with layer sizes `sizes` (e.g. `[784, 10, 10]`), weights drawn with `init`.
    pub fn new(sizes: &[usize], init: Init, seed: u64) -> Mlp {
        assert!(sizes.len() >= 2, "a network needs an input and an output size");
        let mut rng = StdRng::seed_from_u64(seed);
        let layers = sizes
            .windows(2)
            .map(|pair| {
                let (inputs, outputs) = (pair[0], pair[1]);
                let (limit, bias_limit) = match init {
                    Init::Uniform => (0.5, 0.5),
                    Init::He => ((6.0 / inputs as f32).sqrt(), 0.0),
                    Init::Xavier => ((6.0 / (inputs + outputs) as f32).sqrt(), 0.0),
                };
                let mut draw = |limit: f32| {
                    if limit == 0.0 {
                        0.0
                    } else {
                        rng.random_range(-limit..limit)
                    }
                };
                // The notebook draws W1 as (outputs, inputs); draw in that order, store transposed.
                let w_out_in = Array2::from_shape_fn((outputs, inputs), |_| draw(limit));
                let b = Array1::from_shape_fn(outputs, |_| draw(bias_limit));
                Layer {
                    w: w_out_in.reversed_axes().as_standard_layout().into_owned(),
                    b,
                }
            })
            .collect();
        Mlp { layers }
    }

    /// Zeros shaped like `self` (for gradients and optimizer state).
    pub fn zeros_like(&self) -> Mlp {
        Mlp {
            layers: self
                .layers
                .iter()
                .map(|l| Layer::zeros(l.inputs(), l.outputs()))
                .collect(),
        }
    }

    /// Layer sizes, input first: `[784, 10, 10]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.layers[0].inputs()];
        sizes.extend(self.layers.iter().map(Layer::outputs));
        sizes
    }

    /// Pixels per input image (784 for the Digit Recognizer).
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, Layer::inputs)
    }

    /// Output classes (10 for the Digit Recognizer).
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, Layer::outputs)
    }

    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(|l| l.w.len() + l.b.len()).sum()
    }

    /// True when every parameter is a finite number.
    pub fn is_finite(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.w.iter().chain(l.b.iter()).all(|v| v.is_finite()))
    }

    pub fn fill_zero(&mut self) {
        for layer in &mut self.layers {
            layer.w.fill(0.0);
            layer.b.fill(0.0);
        }
    }

    /// `self += other`, layer by layer.
    pub fn add_assign(&mut self, other: &Mlp) {
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            a.w += &b.w;
            a.b += &b.b;
        }
    }

    /// Forward pass of `x` `(n, 784)` scaled to [0, 1]: class probabilities `(n, 10)`.
    pub fn forward(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        let mut ws = Workspace::new(self, x.nrows());
        let n = x.nrows();
        self.forward_into(Input::Dense(x), &mut ws, 0.0);
        let mut out = ws.acts.pop().unwrap_or_default().slice_move(s![..n, ..]);
        for mut row in out.rows_mut() {
            softmax_in_place(row.as_slice_mut().expect("rows are contiguous"));
        }
        out
    }

    /// Class probabilities for u8 images (`rows * 784` values), computed in chunks of
    /// [`Self::PREDICT_CHUNK`] rows so the activations stay in cache; the same values as
    /// [`Mlp::forward`] on all the rows at once.
    pub fn predict_proba(&self, pixels: &[u8]) -> Array2<f32> {
        let (inputs, classes) = (self.inputs(), self.classes());
        let rows = pixels.len() / inputs.max(1);
        let chunk = Self::PREDICT_CHUNK;
        // out: (rows, classes); x: (chunk, inputs), the chunk's inputs
        let mut out = Array2::zeros((rows, classes));
        let mut x = Array2::zeros((chunk, inputs));
        for start in (0..rows).step_by(chunk) {
            let n = chunk.min(rows - start);
            fill_inputs(
                &mut x.slice_mut(s![..n, ..]),
                &pixels[start * inputs..(start + n) * inputs],
            );
            let probs = self.forward(x.slice(s![..n, ..]));
            out.slice_mut(s![start..start + n, ..]).assign(&probs);
        }
        out
    }

    /// Rows per chunk in [`Mlp::predict_proba`].
    pub const PREDICT_CHUNK: usize = 256;

    /// The most probable digit of each image.
    pub fn predict(&self, pixels: &[u8]) -> Vec<u8> {
        self.predict_proba(pixels)
            .rows()
            .into_iter()
            .map(|p| argmax(p.as_slice().unwrap_or(&[])) as u8)
            .collect()
    }

    /// Forward pass into the workspace: `ws.acts[l]` holds `A_l` (ReLU output) for hidden
    /// layers and the logits `Z_L` for the last. `dropout` is the drop probability of hidden
    /// units (0 = off); kept units are scaled by `1/(1-p)` so inference needs no change.
    fn forward_into(&self, x: Input<'_>, ws: &mut Workspace, dropout: f32) {
        self.forward_layers(x, ws, dropout, self.layers.len(), None);
    }

    /// [`Mlp::forward_into`] through the first `count` layers only (the rest of `ws.acts` is
    /// left as it was). With `keep_z`, each layer's `Z_l = A_{l-1}·W_l + b_l` `(n, outputs_l)`
    /// is also copied into `keep_z[l]` (for [`Mlp::trace`]).
    fn forward_layers(
        &self,
        x: Input<'_>,
        ws: &mut Workspace,
        dropout: f32,
        count: usize,
        mut keep_z: Option<&mut [Array2<f32>]>,
    ) {
        ws.kept = None;
        let n = x.rows();
        let mut kernels = Kernels {
            sparse: &mut ws.scratch,
            gemm: &mut ws.gemm,
        };
        for (l, layer) in self.layers.iter().enumerate().take(count) {
            let (before, after) = ws.acts.split_at_mut(l);
            // A_{l-1}: (n, inputs_l), the network's input X for the first layer
            let input = if l == 0 {
                x.reborrow()
            } else {
                Input::Dense(before[l - 1].slice(s![..n, ..]))
            };
            // A_l, or the logits for the last layer: (n, outputs_l)
            let mut out = after[0].slice_mut(s![..n, ..]);
            let mut z = keep_z.as_deref_mut().map(|z| z[l].view_mut());
            LayerKind::of(l, self.layers.len()).forward(
                layer,
                input,
                &mut out,
                dropout,
                &mut ws.rng,
                z.as_mut(),
                &mut kernels,
            );
        }
    }

    /// Forward and backward pass over one chunk `x` `(n, 784)` with labels `(n)`: adds the
    /// gradient of the summed loss to `grads` (the caller divides by the batch size) and returns
    /// the chunk's loss and accuracy counts.
    pub fn accumulate_gradients(
        &self,
        x: Input<'_>,
        labels: &[u8],
        ws: &mut Workspace,
        grads: &mut Gradients,
        dropout: f32,
    ) -> BatchStats {
        self.accumulate_smoothed_gradients(x, labels, ws, grads, dropout, 0.0)
    }

    /// [`Mlp::accumulate_gradients`] with label smoothing: `label_smoothing` moves that share of
    /// each target's probability from its label to all classes evenly (0 = one-hot targets).
    pub fn accumulate_smoothed_gradients(
        &self,
        x: Input<'_>,
        labels: &[u8],
        ws: &mut Workspace,
        grads: &mut Gradients,
        dropout: f32,
        label_smoothing: f32,
    ) -> BatchStats {
        let n = x.rows();
        let last = self.layers.len() - 1;
        self.forward_into(x, ws, dropout);

        // Logits (n, 10) become dZ_L = P - T (the targets), in place.
        let stats = layers::softmax_cross_entropy::forward_backward(
            ws.acts[last].slice_mut(s![..n, ..]),
            labels,
            label_smoothing,
        );
        self.backward(x, ws, Some(grads), None, dropout);
        stats
    }

    /// The backward pass from a chosen gradient at the logits, continued down to the input:
    /// what attribution needs ([`crate::attribution`]). `x` is `(n, 784)` scaled to [0, 1] and
    /// `dz_logits` `(n, 10)` is `dZ_L`, the gradient of some function of the logits (the same
    /// for every row or not). Runs the training's own forward and backward (dropout off, no
    /// parameter gradients) and returns the logits, every hidden layer's `A_l` and `dA_l`, and
    /// `dX = dZ_1·W_1ᵀ`.
    pub fn input_gradients(&self, x: ArrayView2<'_, f32>, dz_logits: ArrayView2<'_, f32>) -> InputGradients {
        let n = x.nrows();
        assert_eq!(
            dz_logits.dim(),
            (n, self.layers[self.layers.len() - 1].outputs()),
            "dZ_L is (n, outputs)"
        );
        let last = self.layers.len() - 1;
        let mut ws = Workspace::new(self, n);
        self.forward_into(Input::Dense(x), &mut ws, 0.0);
        // logits: (n, 10), kept before acts[L] becomes dZ_L
        let logits = ws.acts[last].clone();
        ws.acts[last].assign(&dz_logits);
        let mut record = BackwardRecord::new(self, n, false);
        self.backward(Input::Dense(x), &mut ws, None, Some(&mut record), 0.0);
        // A_l of the hidden layers: (n, outputs_l) each; the backward reads but never writes them.
        ws.acts.truncate(last);
        InputGradients {
            logits,
            hidden: ws.acts,
            d_hidden: record.d_hidden,
            dx: record.dx,
        }
    }

    /// The hidden activations `A_0 .. A_layer` of `x` `(n, 784)` scaled to [0, 1] (dropout off):
    /// a forward pass through the first `layer + 1` layers only, into `ws` (capacity at least
    /// `n`), whose buffers the returned views `(n, outputs_l)` borrow. `layer` must be a hidden
    /// layer (`layer + 1 < self.layers.len()`).
    pub fn hidden_activations<'w>(
        &self,
        x: ArrayView2<'_, f32>,
        ws: &'w mut Workspace,
        layer: usize,
    ) -> Vec<ArrayView2<'w, f32>> {
        assert!(layer + 1 < self.layers.len(), "layer {layer} is not a hidden layer");
        let n = x.nrows();
        self.forward_layers(Input::Dense(x), ws, 0.0, layer + 1, None);
        ws.acts[..=layer].iter().map(|a| a.slice(s![..n, ..])).collect()
    }

    /// Backward, last layer first, from `dZ_L` in `ws.acts[L]` after [`Mlp::forward_into`] of
    /// `x`, each layer through its [`LayerKind::backward`]. Adds the parameters' gradients to
    /// `grads` when given (training); with `record`, copies each hidden layer's `dA_l`, each
    /// layer's `dZ_l` (if it keeps them) and the input's `dX` into it (attribution, the trace).
    /// For l < L, `dA_l` and then `dZ_l` live in `ws.deltas[l]`.
    fn backward(
        &self,
        x: Input<'_>,
        ws: &mut Workspace,
        mut grads: Option<&mut Gradients>,
        mut record: Option<&mut BackwardRecord>,
        dropout: f32,
    ) {
        let n = x.rows();
        let last = self.layers.len() - 1;
        let mut kernels = Kernels {
            sparse: &mut ws.scratch,
            gemm: &mut ws.gemm,
        };
        for l in (0..=last).rev() {
            let (acts_before, acts_rest) = ws.acts.split_at_mut(l);
            let (deltas_before, deltas_rest) = ws.deltas.split_at_mut(l);
            // The gradient at the layer's output, (n, outputs_l): dZ_L where the logits were, dA_l
            // for a hidden layer beside its output A_l.
            let (mut d, out) = if l == last {
                (acts_rest[0].slice_mut(s![..n, ..]), None)
            } else {
                (
                    deltas_rest[0].slice_mut(s![..n, ..]),
                    Some(acts_rest[0].slice(s![..n, ..])),
                )
            };
            if l < last
                && let Some(record) = record.as_deref_mut()
            {
                record.d_hidden[l].assign(&d);
            }
            // A_{l-1}: (n, inputs_l), the network's input X for the first layer
            let input = if l == 0 {
                x.reborrow()
            } else {
                Input::Dense(acts_before[l - 1].slice(s![..n, ..]))
            };
            // dA_{l-1} = dZ_l·W_lᵀ: (n, inputs_l), into deltas[l - 1]; dX only when recorded
            let mut d_input = if l > 0 {
                Some(deltas_before[l - 1].slice_mut(s![..n, ..]))
            } else {
                record.as_deref_mut().map(|r| r.dx.view_mut())
            };
            LayerKind::of(l, self.layers.len()).backward(
                &self.layers[l],
                input,
                out,
                &mut d,
                dropout,
                grads.as_deref_mut().map(|g| &mut g.layers[l]),
                d_input.as_mut(),
                &mut kernels,
            );
            if let Some(dz) = record.as_deref_mut().and_then(|r| r.dz.as_mut()) {
                dz[l].assign(&d);
            }
        }
    }
}

/// What [`Mlp::backward`] copies out besides the parameters' gradient, for `n` rows.
struct BackwardRecord {
    /// Per hidden layer, `dA_l`: `(n, outputs_l)`.
    d_hidden: Vec<Array2<f32>>,
    /// Per layer, `dZ_l`: `(n, outputs_l)` (when asked for).
    dz: Option<Vec<Array2<f32>>>,
    /// `dX = dZ_1·W_1ᵀ`: `(n, 784)`.
    dx: Array2<f32>,
}

impl BackwardRecord {
    fn new(net: &Mlp, n: usize, with_dz: bool) -> BackwardRecord {
        let last = net.layers.len() - 1;
        let buffers = |layers: &[Layer]| layers.iter().map(|l| Array2::zeros((n, l.outputs()))).collect();
        BackwardRecord {
            d_hidden: buffers(&net.layers[..last]),
            dz: with_dz.then(|| buffers(&net.layers)),
            dx: Array2::zeros((n, net.inputs())),
        }
    }
}

/// What [`Mlp::input_gradients`] returns for a batch of `n` rows.
#[derive(Clone, Debug, PartialEq)]
pub struct InputGradients {
    /// The logits `Z_L + b_L`: `(n, 10)`.
    pub logits: Array2<f32>,
    /// Per hidden layer `l`, its activations `A_l = ReLU(Z_l + b_l)`: `(n, outputs_l)` each.
    pub hidden: Vec<Array2<f32>>,
    /// Per hidden layer `l`, the gradient `dA_l` of the chosen function at `A_l` (before the
    /// ReLU's backward): `(n, outputs_l)` each.
    pub d_hidden: Vec<Array2<f32>>,
    /// The gradient at the input, `dX = dZ_1·W_1ᵀ`: `(n, 784)`.
    pub dx: Array2<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{CLASSES, PIXELS};
    use crate::kernels::CsrBuf;

    fn mean_loss(net: &Mlp, x: &Array2<f32>, labels: &[u8]) -> f64 {
        smoothed_mean_loss(net, x, labels, 0.0)
    }

    fn smoothed_mean_loss(net: &Mlp, x: &Array2<f32>, labels: &[u8], smoothing: f32) -> f64 {
        let mut ws = Workspace::new(net, x.nrows());
        let mut grads = net.zeros_like();
        net.accumulate_smoothed_gradients(Input::Dense(x.view()), labels, &mut ws, &mut grads, 0.0, smoothing)
            .loss_sum
            / x.nrows() as f64
    }

    #[test]
    fn smoothed_loss_is_the_cross_entropy_with_spread_targets() {
        let net = Mlp::new(&[4, 3], Init::Uniform, 5);
        let x = Array2::from_shape_fn((1, 4), |(_, j)| j as f32 * 0.3);
        let probabilities = net.forward(x.view());
        let p = probabilities.row(0);
        // Label 2, smoothing 0.3: targets 0.1, 0.1, 0.8.
        let expected = -(0.1 * f64::from(p[0]).ln() + 0.1 * f64::from(p[1]).ln() + 0.8 * f64::from(p[2]).ln());
        let loss = smoothed_mean_loss(&net, &x, &[2], 0.3);
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
        assert_eq!(smoothed_mean_loss(&net, &x, &[2], 0.0), mean_loss(&net, &x, &[2]));
    }

    #[test]
    fn loss_is_finite_for_confident_wrong_predictions() {
        let mut net = Mlp::new(&[4, 3], Init::He, 1);
        net.layers[0].w.fill(0.0);
        net.layers[0].b.assign(&ndarray::arr1(&[500.0, -500.0, 0.0]));
        let x = Array2::from_elem((1, 4), 0.5);
        let loss = mean_loss(&net, &x, &[1]);
        assert!((loss - 1000.0).abs() < 1e-3, "{loss}");
    }

    #[test]
    fn gradients_match_finite_differences() {
        for smoothing in [0.0, 0.2] {
            gradients_match_finite_differences_with(smoothing);
        }
    }

    fn gradients_match_finite_differences_with(smoothing: f32) {
        let sizes = [6, 5, 4, 3];
        let net = Mlp::new(&sizes, Init::Uniform, 3);
        let x = Array2::from_shape_fn((7, 6), |(i, j)| ((i * 6 + j) as f32 * 0.37).sin().abs());
        let labels = [0u8, 1, 2, 1, 0, 2, 2];
        let mut ws = Workspace::new(&net, 7);
        let mut grads = net.zeros_like();
        net.accumulate_smoothed_gradients(Input::Dense(x.view()), &labels, &mut ws, &mut grads, 0.0, smoothing);
        let eps = 1e-3f32;
        let mut checked = 0;
        for l in 0..net.layers.len() {
            let (rows, cols) = net.layers[l].w.dim();
            let mut params: Vec<(bool, usize, usize)> =
                (0..rows).flat_map(|r| (0..cols).map(move |c| (true, r, c))).collect();
            params.extend((0..cols).map(|c| (false, 0, c)));
            for (is_w, r, c) in params {
                let bump = |delta: f32| {
                    let mut n = net.clone();
                    if is_w {
                        n.layers[l].w[(r, c)] += delta;
                    } else {
                        n.layers[l].b[c] += delta;
                    }
                    smoothed_mean_loss(&n, &x, &labels, smoothing) * x.nrows() as f64
                };
                let numeric = (bump(eps) - bump(-eps)) / (2.0 * f64::from(eps));
                let analytic = f64::from(if is_w {
                    grads.layers[l].w[(r, c)]
                } else {
                    grads.layers[l].b[c]
                });
                let err = (numeric - analytic).abs() / (numeric.abs() + analytic.abs()).max(1e-2);
                assert!(
                    err < 1e-2,
                    "smoothing {smoothing} layer {l} {} ({r},{c}): numeric {numeric} analytic {analytic}",
                    if is_w { "W" } else { "b" }
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    }

    #[test]
    fn sparse_inputs_give_the_dense_gradients() {
        // 5 units (padded rows), 16 (one fixed-width kernel) and 24 (whole vectors, no copies).
        for width in [5, 16, 24] {
            sparse_inputs_give_the_dense_gradients_for(width);
        }
    }

    fn sparse_inputs_give_the_dense_gradients_for(width: usize) {
        let net = Mlp::new(&[PIXELS, width, 3], Init::He, 8);
        let pixels: Vec<u8> = (0..6 * PIXELS)
            .map(|i| if (i * 7) % 5 == 0 { (i % 256) as u8 } else { 0 })
            .collect();
        let mut x = Array2::zeros((6, PIXELS));
        fill_inputs(&mut x.view_mut(), &pixels);
        let labels = [0u8, 1, 2, 2, 1, 0];
        let mut sparse = SparseBatch::new();
        sparse.push_images(&pixels);
        let mut ws = Workspace::new(&net, 6);
        let (mut dense_grads, mut sparse_grads) = (net.zeros_like(), net.zeros_like());
        let a = net.accumulate_gradients(Input::Dense(x.view()), &labels, &mut ws, &mut dense_grads, 0.0);
        let b = net.accumulate_gradients(Input::sparse(sparse.csr()), &labels, &mut ws, &mut sparse_grads, 0.0);
        let transposed = CsrBuf::transpose(sparse.csr());
        let mut gather_grads = net.zeros_like();
        let by_pixel = Input::Sparse {
            images: sparse.csr(),
            by_pixel: Some(transposed.view()),
        };
        let c = net.accumulate_gradients(by_pixel, &labels, &mut ws, &mut gather_grads, 0.0);
        // The gather form adds the same terms in the same order as the scatter form.
        assert_eq!(b, c);
        assert_eq!(sparse_grads, gather_grads);
        assert!((a.loss_sum - b.loss_sum).abs() < 1e-5);
        for (d, s) in dense_grads.layers.iter().zip(&sparse_grads.layers) {
            assert!(d.w.iter().zip(&s.w).all(|(x, y)| (x - y).abs() < 1e-5));
            assert!(d.b.iter().zip(&s.b).all(|(x, y)| (x - y).abs() < 1e-5));
        }
    }

    #[test]
    fn clone_from_copies_into_the_arrays_already_there() {
        let mut copy = Mlp::new(&[PIXELS, 16, 3], Init::He, 1);
        let source = Mlp::new(&[PIXELS, 16, 3], Init::He, 2);
        let buffers: Vec<*const f32> = copy.layers.iter().map(|l| l.w.as_ptr()).collect();
        copy.clone_from(&source);
        assert_eq!(copy, source);
        let after: Vec<*const f32> = copy.layers.iter().map(|l| l.w.as_ptr()).collect();
        assert_eq!(after, buffers, "no new allocation");
        // Other shapes still copy whole.
        copy.clone_from(&Mlp::new(&[PIXELS, 32, 16, 3], Init::He, 3));
        assert_eq!(copy.sizes(), vec![PIXELS, 32, 16, 3]);
    }

    #[test]
    fn bias_gradients_are_per_unit() {
        let net = Mlp::new(&[3, 4, 3], Init::He, 9);
        let x = Array2::from_shape_fn((5, 3), |(i, j)| (i + j) as f32 * 0.1);
        let mut ws = Workspace::new(&net, 5);
        let mut grads = net.zeros_like();
        net.accumulate_gradients(Input::Dense(x.view()), &[0, 1, 2, 0, 1], &mut ws, &mut grads, 0.0);
        let db = &grads.layers[1].b;
        // The output bias gradient is Σ_rows (P - Y): it sums to zero over the units but the
        // units differ (the notebook's scalar bias gradient would make them all equal).
        assert!(db.sum().abs() < 1e-5);
        assert!(db.iter().any(|&v| (v - db[0]).abs() > 1e-4));
    }

    #[test]
    fn init_schemes_have_their_ranges() {
        let uniform = Mlp::new(&[784, 10, 10], Init::Uniform, 0);
        assert!(uniform.layers[0].w.iter().all(|v| v.abs() <= 0.5));
        assert!(uniform.layers[0].b.iter().any(|&v| v != 0.0));
        let he = Mlp::new(&[784, 512, 10], Init::He, 0);
        let limit = (6.0f32 / 784.0).sqrt();
        assert!(he.layers[0].w.iter().all(|v| v.abs() <= limit));
        assert!(he.layers[0].b.iter().all(|&v| v == 0.0));
        assert_eq!(he.parameter_count(), 784 * 512 + 512 + 512 * 10 + 10);
        assert_eq!(
            Mlp::new(&[784, 10, 10], Init::Xavier, 5),
            Mlp::new(&[784, 10, 10], Init::Xavier, 5)
        );
    }

    #[test]
    fn predict_proba_rows_sum_to_one() {
        let net = Mlp::new(&[784, 16, 10], Init::He, 2);
        let pixels: Vec<u8> = (0..PIXELS * 300).map(|i| (i % 251) as u8).collect();
        let probs = net.predict_proba(&pixels);
        assert_eq!(probs.dim(), (300, 10));
        for row in probs.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-5);
        }
        assert_eq!(net.predict(&pixels).len(), 300);
    }

    #[test]
    fn chunked_predictions_equal_one_forward_pass() {
        // 600 real rows: two full chunks of 256 and a partial one.
        let data = crate::embedded::sample().unwrap();
        let rows = 2 * Mlp::PREDICT_CHUNK + 88;
        let pixels = &data.pixels[..rows * PIXELS];
        let net = Mlp::new(&[PIXELS, 32, 16, 10], Init::He, 4);
        let chunked = net.predict_proba(pixels);
        let mut x = Array2::zeros((rows, PIXELS));
        fill_inputs(&mut x.view_mut(), pixels);
        let whole = net.forward(x.view());
        assert_eq!(chunked.dim(), (rows, CLASSES));
        // Each row's products and softmax do not depend on the other rows in the matrix, so
        // the chunks give the very same bits.
        assert_eq!(chunked, whole);
        let distinct = whole.rows().into_iter().filter(|r| *r != whole.row(0)).count();
        assert!(
            distinct > rows / 2,
            "rows should differ: a swapped chunk would go unnoticed"
        );
        let predicted = net.predict(pixels);
        for (r, &digit) in predicted.iter().enumerate() {
            assert_eq!(usize::from(digit), argmax(whole.row(r).as_slice().unwrap()));
        }
    }
}
