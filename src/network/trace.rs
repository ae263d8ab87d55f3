//! [`Mlp::trace`]: each layer's `Z`, `A`, `dZ`, `dW` and `db` for a batch, plus the loss and
//! `dX`, from the very layer functions training runs (the Math tab shows the notebook's math on
//! these numbers).

use ndarray::{Array1, Array2, ArrayView2, Axis, concatenate, s};

use super::layers::softmax_cross_entropy;
use super::{BackwardRecord, BatchStats, Gradients, Input, Layer, Mlp, Workspace, softmax_in_place};

/// One layer's numbers in a [`Trace`] of `m` examples.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace {
    /// `Z = A_prev·W + b`: `(m, outputs)`.
    pub z: Array2<f32>,
    /// `A = ReLU(Z)` for a hidden layer, the probabilities `softmax(Z)` for the last: `(m,
    /// outputs)`.
    pub a: Array2<f32>,
    /// The gradient of the summed loss at `Z`: `(m, outputs)` (`P - Y` for the last layer).
    pub dz: Array2<f32>,
    /// The gradient of the mean loss at `W`, `(1/m) A_prevᵀ·dZ`: `(inputs, outputs)`.
    pub dw: Array2<f32>,
    /// The gradient of the mean loss at `b`, `(1/m) Σ_rows dZ`: `(outputs)`.
    pub db: Array1<f32>,
}

impl LayerTrace {
    /// The notebook's `db = 1/m·np.sum(dZ)`: one number, summed over the `m` examples *and* the
    /// units, that the notebook adds to every bias of the layer. The trace's own [`Self::db`]
    /// gives each unit its own `1/m·Σ_rows dZ` (the true gradient); this is the sum of those,
    /// kept for the Math tab to show the difference. Summed in f64.
    pub fn notebook_db(&self) -> f32 {
        let m = self.dz.nrows().max(1);
        let sum: f64 = self.dz.iter().map(|&v| f64::from(v)).sum();
        (sum / m as f64) as f32
    }
}

/// What [`Mlp::trace`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Input layer first.
    pub layers: Vec<LayerTrace>,
    /// The mean cross-entropy loss over the `m` examples.
    pub loss: f32,
    /// The gradient of the summed loss at the input, `dX = dZ_1·W_1ᵀ`: `(m, 784)`.
    pub dx: Array2<f32>,
}

/// Traces of at least this much work (multiply-adds, about m × parameters × 3) run as two
/// halves on two threads: 784-512-256-10 at m = 256 (the Math tab's largest batch) took 25-28 ms
/// in one piece on this project's 2-core machine, 22-24 ms split. Smaller traces are too quick
/// for the split to pay, and the Math tab runs traces under 4M on the UI thread, where a join
/// would wait for rayon's global pool (busy loading a CSV, say): this limit stays well above.
const SPLIT_WORK: usize = 16_000_000;

/// One piece of a trace before the `1/m` scaling: the layers' rows and the summed gradient.
struct TracedRows {
    /// `(m_rows, outputs_l)` each.
    z: Vec<Array2<f32>>,
    a: Vec<Array2<f32>>,
    dz: Vec<Array2<f32>>,
    /// The gradient of the summed loss over the piece's rows.
    grads: Gradients,
    stats: BatchStats,
    /// `(m_rows, 784)`.
    dx: Array2<f32>,
}

impl Mlp {
    /// Every layer's forward and backward numbers for `x` `(m, 784)` scaled to [0, 1] with
    /// `labels` `(m)`: one training pass (dropout off, one-hot targets) through the same
    /// [`super::LayerKind`] functions, loss head and backward as [`Mlp::accumulate_gradients`],
    /// with their intermediate values copied out. `dW` and `db` are the summed gradient that
    /// training computes, scaled by `1/m` as the update scales it.
    ///
    /// From [`SPLIT_WORK`] on, the two halves of the batch run on two threads and their
    /// gradients are added first half first, as training adds its chunks': the same bits
    /// whatever the number of threads.
    pub fn trace(&self, x: ArrayView2<'_, f32>, labels: &[u8]) -> Trace {
        let m = x.nrows();
        assert_eq!(labels.len(), m, "one label per row");
        let piece = if self.splits(m) {
            let half = m.div_ceil(2);
            let (first, second) = rayon::join(
                || self.trace_rows(x.slice(s![..half, ..]), &labels[..half]),
                || self.trace_rows(x.slice(s![half.., ..]), &labels[half..]),
            );
            first.joined(second)
        } else {
            self.trace_rows(x, labels)
        };
        // As the update scales the summed gradient (`UpdateRule`'s `scale`).
        let scale = 1.0 / m.max(1) as f32;
        let layers = piece
            .z
            .into_iter()
            .zip(piece.a)
            .zip(piece.dz)
            .zip(piece.grads.layers)
            .map(|(((z, a), dz), grad)| {
                let Layer { w: mut dw, b: mut db } = grad;
                dw *= scale;
                db *= scale;
                LayerTrace { z, a, dz, dw, db }
            })
            .collect();
        Trace {
            layers,
            loss: piece.stats.loss(),
            dx: piece.dx,
        }
    }

    /// Whether [`Mlp::trace`] of `m` rows runs as two halves ([`SPLIT_WORK`]).
    fn splits(&self, m: usize) -> bool {
        m >= 2 && m * self.parameter_count() * 3 >= SPLIT_WORK
    }

    /// The forward and backward pass of [`Mlp::trace`] over `x` `(n, 784)`, unscaled.
    fn trace_rows(&self, x: ArrayView2<'_, f32>, labels: &[u8]) -> TracedRows {
        let m = x.nrows();
        let count = self.layers.len();
        let last = count - 1;
        let mut ws = Workspace::new(self, m);
        // Z_l: (m, outputs_l) each
        let mut z: Vec<Array2<f32>> = self.layers.iter().map(|l| Array2::zeros((m, l.outputs()))).collect();
        self.forward_layers(Input::Dense(x), &mut ws, 0.0, count, Some(&mut z));
        // A_l of the hidden layers: (m, outputs_l); P = softmax(Z_L) for the last, with the
        // loss head's own softmax
        let mut a: Vec<Array2<f32>> = ws.acts[..last]
            .iter()
            .map(|a| a.slice(s![..m, ..]).to_owned())
            .collect();
        let mut probabilities = z[last].clone();
        for mut row in probabilities.rows_mut() {
            softmax_in_place(row.as_slice_mut().expect("rows are contiguous"));
        }
        a.push(probabilities);
        // Logits become dZ_L = P - Y, in place.
        let stats = softmax_cross_entropy::forward_backward(ws.acts[last].slice_mut(s![..m, ..]), labels, 0.0);
        let mut grads = self.zeros_like();
        let mut record = BackwardRecord::new(self, m, true);
        self.backward(Input::Dense(x), &mut ws, Some(&mut grads), Some(&mut record), 0.0);
        let dz = record.dz.take().expect("asked for dZ");
        TracedRows {
            z,
            a,
            dz,
            grads,
            stats,
            dx: record.dx,
        }
    }
}

impl TracedRows {
    /// This piece's rows then `next`'s, and the two gradients added (this one first).
    fn joined(mut self, next: TracedRows) -> TracedRows {
        let rows = |first: Vec<Array2<f32>>, second: Vec<Array2<f32>>| -> Vec<Array2<f32>> {
            first
                .iter()
                .zip(&second)
                .map(|(f, s)| concatenate(Axis(0), &[f.view(), s.view()]).expect("same columns"))
                .collect()
        };
        self.grads.add_assign(&next.grads);
        self.stats.add(next.stats);
        TracedRows {
            z: rows(self.z, next.z),
            a: rows(self.a, next.a),
            dz: rows(self.dz, next.dz),
            grads: self.grads,
            stats: self.stats,
            dx: concatenate(Axis(0), &[self.dx.view(), next.dx.view()]).expect("same columns"),
        }
    }
}

impl Mlp {
    /// The notebook's plain gradient-descent step from `trace` (a trace of this model):
    /// `W ← W − α·dW`, `b ← b − α·db` for every layer, each element `w - alpha * dw` in f32 and
    /// nothing else (no momentum, no weight decay, whatever the model was trained with).
    ///
    /// Panics if the trace is not of a model with this one's layer sizes.
    pub fn stepped(&self, trace: &Trace, alpha: f32) -> Mlp {
        assert_eq!(
            self.layers.len(),
            trace.layers.len(),
            "the trace has one entry per layer of the model"
        );
        let layers = self
            .layers
            .iter()
            .zip(&trace.layers)
            .map(|(layer, t)| {
                assert_eq!(layer.w.dim(), t.dw.dim(), "dW is shaped like W");
                assert_eq!(layer.b.dim(), t.db.dim(), "db is shaped like b");
                // W_next, dW: (inputs, outputs); b_next, db: (outputs)
                let mut w = layer.w.clone();
                w.zip_mut_with(&t.dw, |w, &dw| *w -= alpha * dw);
                let mut b = layer.b.clone();
                b.zip_mut_with(&t.db, |b, &db| *b -= alpha * db);
                Layer { w, b }
            })
            .collect();
        Mlp { layers }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::network::{Init, Input, Mlp, Workspace};

    fn batch() -> (Array2<f32>, Vec<u8>) {
        let x = Array2::from_shape_fn((7, 6), |(i, j)| ((i * 6 + j) as f32 * 0.37).sin().abs());
        (x, vec![0, 1, 2, 1, 0, 2, 2])
    }

    #[test]
    fn the_trace_is_the_training_gradient() {
        let net = Mlp::new(&[6, 5, 4, 3], Init::Uniform, 3);
        let (x, labels) = batch();
        let trace = net.trace(x.view(), &labels);
        let mut ws = Workspace::new(&net, 7);
        let mut grads = net.zeros_like();
        let stats = net.accumulate_gradients(Input::Dense(x.view()), &labels, &mut ws, &mut grads, 0.0);
        assert_eq!(trace.loss, stats.loss());
        let scale = 1.0 / 7.0f32;
        for (l, (t, g)) in trace.layers.iter().zip(&grads.layers).enumerate() {
            assert_eq!(
                t.dw,
                g.w.mapv(|v| v * scale),
                "layer {l}: dW is training's, bit for bit"
            );
            assert_eq!(t.db, g.b.mapv(|v| v * scale), "layer {l}: db");
        }
        // The forward numbers: A = ReLU(Z) in hidden layers, probabilities at the end, whose
        // dZ is P - Y.
        for t in &trace.layers[..2] {
            assert_eq!(t.a, t.z.mapv(|z| z.max(0.0)));
        }
        let out = &trace.layers[2];
        assert_eq!(out.a, net.forward(x.view()));
        for (r, &label) in labels.iter().enumerate() {
            for c in 0..3 {
                let y = if c == usize::from(label) { 1.0 } else { 0.0 };
                assert!((out.dz[(r, c)] - (out.a[(r, c)] - y)).abs() < 1e-6);
            }
        }
        // dZ of a hidden layer is zero wherever its ReLU was off.
        let hidden = &trace.layers[1];
        assert!(hidden.dz.iter().zip(&hidden.z).all(|(&d, &z)| z > 0.0 || d == 0.0));
        // dX matches the attribution's backward.
        let dz_logits = out.dz.clone();
        assert_eq!(trace.dx, net.input_gradients(x.view(), dz_logits.view()).dx);
    }

    /// A batch of 127 rows of a 784-64-10 is traced as two halves on two threads: the same
    /// numbers as one pass (up to the order of the gradient's sums), and the same bits on one
    /// thread as on two. The notebook's 784-10-10 on the Math tab's largest batch is not split.
    #[test]
    fn a_split_trace_matches_one_pass() {
        assert!(!Mlp::new(&[784, 10, 10], Init::Uniform, 3).splits(256));
        let net = Mlp::new(&[784, 64, 10], Init::He, 3);
        let m = 127;
        assert!(net.splits(m));
        let x = Array2::from_shape_fn((m, 784), |(i, j)| ((i * 784 + j) as f32 * 0.37).sin().abs());
        let labels: Vec<u8> = (0..m).map(|i| (i % 10) as u8).collect();
        let split = net.trace(x.view(), &labels);
        let whole = net.trace_rows(x.view(), &labels);
        let close = |a: &Array2<f32>, b: &Array2<f32>, tol: f32, what: &str| {
            assert_eq!(a.dim(), b.dim(), "{what}");
            for (&u, &v) in a.iter().zip(b) {
                assert!((u - v).abs() <= tol * (1.0 + v.abs()), "{what}: {u} vs {v}");
            }
        };
        let scale = 1.0 / m as f32;
        for (l, (t, g)) in split.layers.iter().zip(&whole.grads.layers).enumerate() {
            close(&t.z, &whole.z[l], 1e-6, "Z");
            close(&t.a, &whole.a[l], 1e-6, "A");
            close(&t.dz, &whole.dz[l], 1e-6, "dZ");
            close(&t.dw, &g.w.mapv(|v| v * scale), 1e-5, "dW");
            let db = g.b.mapv(|v| v * scale).insert_axis(ndarray::Axis(0));
            close(&t.db.clone().insert_axis(ndarray::Axis(0)), &db, 1e-5, "db");
        }
        close(&split.dx, &whole.dx, 1e-6, "dX");
        assert!((split.loss - whole.stats.loss()).abs() < 1e-6);
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(one_thread.install(|| net.trace(x.view(), &labels)), split);
    }

    #[test]
    fn the_trace_dw_matches_finite_differences() {
        let net = Mlp::new(&[6, 5, 4, 3], Init::Uniform, 3);
        let (x, labels) = batch();
        let trace = net.trace(x.view(), &labels);
        let eps = 1e-3f32;
        let mut checked = 0;
        for l in 0..net.layers.len() {
            let (rows, cols) = net.layers[l].w.dim();
            for (r, c) in (0..rows).flat_map(|r| (0..cols).map(move |c| (r, c))) {
                let loss = |delta: f32| {
                    let mut bumped = net.clone();
                    bumped.layers[l].w[(r, c)] += delta;
                    f64::from(bumped.trace(x.view(), &labels).loss)
                };
                let numeric = (loss(eps) - loss(-eps)) / (2.0 * f64::from(eps));
                let analytic = f64::from(trace.layers[l].dw[(r, c)]);
                let err = (numeric - analytic).abs() / (numeric.abs() + analytic.abs()).max(1e-2);
                assert!(
                    err < 2e-2,
                    "layer {l} W ({r},{c}): numeric {numeric} analytic {analytic}"
                );
                checked += 1;
            }
            let db_sum: f32 = trace.layers[l].db.sum();
            assert!(db_sum.is_finite());
        }
        assert_eq!(checked, 6 * 5 + 5 * 4 + 4 * 3);
    }

    #[test]
    fn stepped_is_w_minus_alpha_dw_bit_for_bit() {
        let net = Mlp::new(&[6, 5, 4, 3], Init::Uniform, 3);
        let (x, labels) = batch();
        let trace = net.trace(x.view(), &labels);
        let alpha = 0.37f32;
        let next = net.stepped(&trace, alpha);
        assert_eq!(next.sizes(), net.sizes());
        for (l, ((before, after), t)) in net.layers.iter().zip(&next.layers).zip(&trace.layers).enumerate() {
            for ((&w, &w_next), &dw) in before.w.iter().zip(&after.w).zip(&t.dw) {
                assert_eq!(w_next.to_bits(), (w - alpha * dw).to_bits(), "layer {l} W");
            }
            for ((&b, &b_next), &db) in before.b.iter().zip(&after.b).zip(&t.db) {
                assert_eq!(b_next.to_bits(), (b - alpha * db).to_bits(), "layer {l} b");
            }
            assert_ne!(before.w, after.w, "layer {l}: the step moved W");
        }
        // alpha 0 is no step; a few steps lower the loss on the batch.
        assert_eq!(net.stepped(&trace, 0.0), net);
        let mut model = net.clone();
        for _ in 0..5 {
            let t = model.trace(x.view(), &labels);
            model = model.stepped(&t, 0.5);
        }
        assert!(model.trace(x.view(), &labels).loss < trace.loss);
    }

    #[test]
    fn notebook_db_sums_over_examples_and_units() {
        let net = Mlp::new(&[6, 5, 4, 3], Init::Uniform, 3);
        let (x, labels) = batch();
        let trace = net.trace(x.view(), &labels);
        for t in &trace.layers {
            let m = t.dz.nrows() as f32;
            let mut plain = 0.0f32;
            for &v in &t.dz {
                plain += v;
            }
            assert!((t.notebook_db() - plain / m).abs() < 1e-6);
            // It is the sum of the per-unit db, not any one of them.
            assert!((t.notebook_db() - t.db.sum()).abs() < 1e-6);
        }
        // The output layer's per-unit db sums to zero (P - Y sums to 0 in each row) while its
        // units differ: the notebook's single number is 0 there.
        let out = &trace.layers[2];
        assert!(out.notebook_db().abs() < 1e-6);
        assert!(out.db.iter().any(|v| v.abs() > 1e-3));
        let hidden = &trace.layers[0];
        assert!(hidden.notebook_db().abs() > 1e-6);
    }

    /// A matrix of the notebook, row by row.
    type Matrix = Vec<Vec<f64>>;

    /// The notebook's lines in f64 with samples in columns, written out plainly (no production
    /// function): `W` is `(outputs, inputs)` per layer as the notebook holds it.
    struct Notebook {
        /// Per layer `(W (outputs × inputs), b (outputs))`.
        params: Vec<(Vec<Vec<f64>>, Vec<f64>)>,
    }

    /// What [`Notebook::step`] computes; every matrix `(rows × columns)` in the notebook's
    /// orientation, `m` examples in the columns.
    struct NotebookTrace {
        z: Vec<Matrix>,
        a: Vec<Matrix>,
        dz: Vec<Matrix>,
        dw: Vec<Matrix>,
        db: Vec<Vec<f64>>,
        loss: f64,
        /// `(inputs × m)`
        dx: Vec<Vec<f64>>,
    }

    impl Notebook {
        fn of(net: &Mlp) -> Notebook {
            let params = net
                .layers
                .iter()
                .map(|layer| {
                    let (inputs, outputs) = layer.w.dim();
                    let w = (0..outputs)
                        .map(|o| (0..inputs).map(|i| f64::from(layer.w[(i, o)])).collect())
                        .collect();
                    (w, layer.b.iter().map(|&b| f64::from(b)).collect())
                })
                .collect();
            Notebook { params }
        }

        /// Z = W·A_prev + b, A = ReLU(Z) (softmax for the last layer).
        fn forward(&self, x: &[Vec<f64>]) -> (Vec<Matrix>, Vec<Matrix>) {
            let m = x[0].len();
            let (mut zs, mut acts): (Vec<Matrix>, Vec<Matrix>) = (Vec::new(), Vec::new());
            for (l, (w, b)) in self.params.iter().enumerate() {
                let input: &[Vec<f64>] = if l == 0 { x } else { &acts[l - 1] };
                let mut z = vec![vec![0.0; m]; w.len()];
                for (o, row) in w.iter().enumerate() {
                    for j in 0..m {
                        let mut sum = b[o];
                        for (i, &wi) in row.iter().enumerate() {
                            sum += wi * input[i][j];
                        }
                        z[o][j] = sum;
                    }
                }
                let a = if l + 1 < self.params.len() {
                    z.iter().map(|r| r.iter().map(|&v| v.max(0.0)).collect()).collect()
                } else {
                    let mut a = z.clone();
                    for j in 0..m {
                        let top = (0..z.len()).map(|o| z[o][j]).fold(f64::NEG_INFINITY, f64::max);
                        let total: f64 = (0..z.len()).map(|o| (z[o][j] - top).exp()).sum();
                        for o in 0..z.len() {
                            a[o][j] = (z[o][j] - top).exp() / total;
                        }
                    }
                    a
                };
                zs.push(z);
                acts.push(a);
            }
            (zs, acts)
        }

        /// −mean log A_L[y], from the logits by log-sum-exp.
        fn loss(&self, x: &[Vec<f64>], labels: &[u8]) -> f64 {
            let (z, _) = self.forward(x);
            let logits = z.last().unwrap();
            let m = labels.len();
            let mut total = 0.0;
            for (j, &y) in labels.iter().enumerate() {
                let top = logits.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max);
                let lse = top + logits.iter().map(|r| (r[j] - top).exp()).sum::<f64>().ln();
                total += lse - logits[usize::from(y)][j];
            }
            total / m as f64
        }

        fn step(&self, x: &[Vec<f64>], labels: &[u8]) -> NotebookTrace {
            let m = labels.len();
            let count = self.params.len();
            let (z, a) = self.forward(x);
            let loss = self.loss(x, labels);
            let mut dz = vec![Vec::new(); count];
            let mut dw = vec![Vec::new(); count];
            let mut db = vec![Vec::new(); count];
            // dZ_L = A_L − Y
            let mut d = a[count - 1].clone();
            for (j, &y) in labels.iter().enumerate() {
                d[usize::from(y)][j] -= 1.0;
            }
            let mut dx = Vec::new();
            for l in (0..count).rev() {
                let (w, _) = &self.params[l];
                let input: &[Vec<f64>] = if l == 0 { x } else { &a[l - 1] };
                // dW = 1/m·dZ·A_prevᵀ, db = 1/m·Σ_columns dZ
                dw[l] = (0..w.len())
                    .map(|o| {
                        (0..w[0].len())
                            .map(|i| (0..m).map(|j| d[o][j] * input[i][j]).sum::<f64>() / m as f64)
                            .collect()
                    })
                    .collect();
                db[l] = d.iter().map(|r| r.iter().sum::<f64>() / m as f64).collect();
                // dA_prev = Wᵀ·dZ; dZ_prev = dA_prev ⊙ ReLU′(Z_prev); dX for the first layer
                let mut back = vec![vec![0.0; m]; w[0].len()];
                for (o, row) in w.iter().enumerate() {
                    for (i, &wi) in row.iter().enumerate() {
                        for j in 0..m {
                            back[i][j] += wi * d[o][j];
                        }
                    }
                }
                dz[l] = std::mem::take(&mut d);
                if l == 0 {
                    dx = back;
                } else {
                    d = back
                        .iter()
                        .zip(&z[l - 1])
                        .map(|(br, zr)| {
                            br.iter()
                                .zip(zr)
                                .map(|(&v, &zv)| if zv > 0.0 { v } else { 0.0 })
                                .collect()
                        })
                        .collect();
                }
            }
            NotebookTrace {
                z,
                a,
                dz,
                dw,
                db,
                loss,
                dx,
            }
        }
    }

    /// Max |ours − reference| over max |reference|, `ours` being `(m, n)` against a reference
    /// `(n × m)` in the notebook's orientation.
    fn relative_error(ours: &Array2<f32>, reference: &[Vec<f64>]) -> f64 {
        assert_eq!((ours.ncols(), ours.nrows()), (reference.len(), reference[0].len()));
        let (mut worst, mut scale) = (0.0f64, 0.0f64);
        for (n, row) in reference.iter().enumerate() {
            for (j, &r) in row.iter().enumerate() {
                worst = worst.max((f64::from(ours[(j, n)]) - r).abs());
                scale = scale.max(r.abs());
            }
        }
        worst / scale.max(1e-12)
    }

    /// `m` digits of the embedded sample scaled to [0, 1] `(m, 784)`, their labels, and the
    /// same inputs in the notebook's orientation `(784 × m)`, f64.
    fn digits(m: usize) -> (Array2<f32>, Vec<u8>, Vec<Vec<f64>>) {
        let data = crate::embedded::sample().unwrap();
        let pixels = &data.pixels[..m * crate::data::PIXELS];
        let mut x = Array2::zeros((m, crate::data::PIXELS));
        crate::network::fill_inputs(&mut x.view_mut(), pixels);
        let columns = (0..crate::data::PIXELS)
            .map(|i| (0..m).map(|j| f64::from(x[(j, i)])).collect())
            .collect();
        (x, data.labels[..m].to_vec(), columns)
    }

    #[test]
    fn every_quantity_equals_the_notebook_in_f64() {
        // Tolerance: max error over the tensor's largest value. Measured: at most 4e-7 (f32
        // sums of 784 products).
        const TOLERANCE: f64 = 2e-6;
        for sizes in [&[784, 10, 10][..], &[784, 32, 16, 10]] {
            for m in [1, 64] {
                let net = Mlp::new(sizes, Init::He, 21);
                let (x, labels, columns) = digits(m);
                let trace = net.trace(x.view(), &labels);
                let reference = Notebook::of(&net).step(&columns, &labels);
                let case = format!("{sizes:?} m={m}");
                let loss_error = (f64::from(trace.loss) - reference.loss).abs() / reference.loss;
                assert!(
                    loss_error < TOLERANCE,
                    "{case}: loss {} vs {}",
                    trace.loss,
                    reference.loss
                );
                for (l, t) in trace.layers.iter().enumerate() {
                    let checks = [
                        ("Z", relative_error(&t.z, &reference.z[l])),
                        ("A", relative_error(&t.a, &reference.a[l])),
                        ("dZ", relative_error(&t.dz, &reference.dz[l])),
                        // dW is (inputs, outputs) here, the notebook's (outputs × inputs).
                        ("dW", relative_error(&t.dw, &reference.dw[l])),
                        (
                            "db",
                            relative_error(
                                &t.db.clone().insert_axis(ndarray::Axis(0)),
                                &reference.db[l].iter().map(|&v| vec![v]).collect::<Vec<_>>(),
                            ),
                        ),
                    ];
                    for (name, error) in checks {
                        assert!(error < TOLERANCE, "{case}: {name}{} off by {error:e}", l + 1);
                    }
                }
                let dx_error = relative_error(&trace.dx, &reference.dx);
                assert!(dx_error < TOLERANCE, "{case}: dX off by {dx_error:e}");
            }
        }
    }

    #[test]
    fn dw_and_dx_match_f64_finite_differences() {
        // Central differences of the notebook's mean loss in f64 (step 1e-6) on the very f32
        // weights, for the 48 largest and 48 other entries of each dW and of dX. The trace's
        // dX is the summed loss's gradient (the notebook's W1ᵀ·dZ1), so the mean loss's is dX/m.
        // Measured: at most 5e-7 of the largest entry.
        const TOLERANCE: f64 = 5e-6;
        let eps = 1e-6;
        for sizes in [&[784, 10, 10][..], &[784, 32, 16, 10]] {
            for m in [1, 64] {
                let net = Mlp::new(sizes, Init::He, 5);
                let (x, labels, columns) = digits(m);
                let trace = net.trace(x.view(), &labels);
                let notebook = Notebook::of(&net);
                let case = format!("{sizes:?} m={m}");
                // Picks the entries to check: the largest |gradient| and a spread of the rest.
                let pick = |values: &Array2<f32>| -> Vec<(usize, usize)> {
                    let mut all: Vec<(usize, usize)> = values.indexed_iter().map(|(ix, _)| ix).collect();
                    all.sort_by(|&p, &q| values[q].abs().total_cmp(&values[p].abs()));
                    let stride = (all.len() / 48).max(1);
                    let mut chosen: Vec<(usize, usize)> = all[..48.min(all.len())].to_vec();
                    chosen.extend(all.iter().step_by(stride).take(48));
                    chosen
                };
                for (l, t) in trace.layers.iter().enumerate() {
                    let scale = t.dw.iter().fold(0.0f64, |s, &v| s.max(f64::from(v).abs()));
                    for (i, o) in pick(&t.dw) {
                        let at = |delta: f64| {
                            let mut bumped = Notebook {
                                params: notebook.params.clone(),
                            };
                            bumped.params[l].0[o][i] += delta;
                            bumped.loss(&columns, &labels)
                        };
                        let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
                        let analytic = f64::from(t.dw[(i, o)]);
                        assert!(
                            (numeric - analytic).abs() / scale < TOLERANCE,
                            "{case}: dW{} [{o}, {i}]: numeric {numeric} analytic {analytic}",
                            l + 1
                        );
                    }
                }
                let scale = trace.dx.iter().fold(0.0f64, |s, &v| s.max(f64::from(v).abs())) / m as f64;
                for (j, i) in pick(&trace.dx) {
                    let at = |delta: f64| {
                        let mut bumped = columns.clone();
                        bumped[i][j] += delta;
                        notebook.loss(&bumped, &labels)
                    };
                    let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
                    let analytic = f64::from(trace.dx[(j, i)]) / m as f64;
                    assert!(
                        (numeric - analytic).abs() / scale < TOLERANCE,
                        "{case}: dX [{i}, {j}]: numeric {numeric} analytic {analytic}"
                    );
                }
            }
        }
    }
}
