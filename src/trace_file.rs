//! Trace files: one plain gradient-descent step ([`Mlp::trace`], [`Mlp::stepped`]) as named f32
//! safetensors in the notebook's orientation, features × examples, for NumPy users to check
//! against the notebook's lines (`bench/check_trace.py` does).
//!
//! For `m` examples and layers `l = 1..L` (the notebook's numbering):
//! - `X` `(inputs × m)`, the pixels / 255; `Y` `(classes × m)`, one-hot;
//! - `W{l}` `(outputs × inputs)`, `b{l}` `(outputs × 1)`;
//! - `Z{l} = W{l}·A{l-1} + b{l}`, `A{l}` (ReLU, softmax for the last), `dZ{l}`: `(outputs × m)`;
//! - `dW{l} = 1/m·dZ{l}·A{l-1}ᵀ` `(outputs × inputs)`, `db{l} = 1/m·Σ_columns dZ{l}`
//!   `(outputs × 1)`;
//! - `W{l}_next = W{l} − α·dW{l}`, `b{l}_next = b{l} − α·db{l}`;
//! - `loss` `(1)`, the mean cross-entropy; `dX = W1ᵀ·dZ1` `(inputs × m)`.
//!
//! As in the notebook, `dZ` and `dX` are gradients of the *summed* loss (`dZ{L} = A{L} − Y`),
//! while `dW` and `db` carry the `1/m` of the mean: the mean loss's gradient at `X` is `dX / m`.
//! The metadata says so too, and names the format ([`FORMAT`]), `alpha`, `layers`, `m`, the
//! `labels`, where the examples came from (`source`) and, for data rows, `rows` (`A..B`).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use ndarray::{ArrayView2, Axis};
use safetensors::tensor::{Dtype, TensorView};

use crate::atomic::write_atomic;
use crate::network::{Mlp, Trace};

/// The value of the `format` metadata key (how [`crate::write_guard`] knows a trace).
pub const FORMAT: &str = "digit-recognizer-trace";
/// Bumped when the layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// One traced step: the model, its inputs and labels, the trace and the step size.
pub struct TraceRecord<'a> {
    pub model: &'a Mlp,
    /// `(m, inputs)` scaled to [0, 1], as the trace read them.
    pub x: ArrayView2<'a, f32>,
    /// `(m)`
    pub labels: &'a [u8],
    /// `model.trace(x, labels)`.
    pub trace: &'a Trace,
    pub alpha: f32,
    /// Where the examples came from, e.g. `train.csv rows 0..64`.
    pub source: String,
    /// The data rows traced, when they came from a CSV (metadata `rows`, `A..B`).
    pub rows: Option<Range<usize>>,
}

/// A tensor to write: name, shape, values in row-major order.
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl NamedTensor {
    /// `a` `(rows, columns)` as the notebook holds it, `(columns × rows)`.
    fn transposed(name: String, a: ArrayView2<'_, f32>) -> NamedTensor {
        let t = a.t();
        NamedTensor {
            name,
            shape: vec![t.nrows(), t.ncols()],
            values: t.iter().copied().collect(),
        }
    }

    /// A vector `(n)` as a column `(n × 1)`.
    fn column(name: String, values: impl Iterator<Item = f32>) -> NamedTensor {
        let values: Vec<f32> = values.collect();
        NamedTensor {
            name,
            shape: vec![values.len(), 1],
            values,
        }
    }
}

impl TraceRecord<'_> {
    /// Every tensor of the file, in the notebook's orientation (see the module's documentation).
    pub fn tensors(&self) -> Vec<NamedTensor> {
        let m = self.x.nrows();
        let classes = self.model.classes();
        let next = self.model.stepped(self.trace, self.alpha);
        let mut out = vec![NamedTensor::transposed("X".into(), self.x)];
        // Y: (classes × m), one-hot by column
        let mut y = vec![0.0f32; classes * m];
        for (j, &label) in self.labels.iter().enumerate() {
            if usize::from(label) < classes {
                y[usize::from(label) * m + j] = 1.0;
            }
        }
        out.push(NamedTensor {
            name: "Y".into(),
            shape: vec![classes, m],
            values: y,
        });
        for (i, ((layer, t), stepped)) in self
            .model
            .layers
            .iter()
            .zip(&self.trace.layers)
            .zip(&next.layers)
            .enumerate()
        {
            let l = i + 1;
            out.push(NamedTensor::transposed(format!("W{l}"), layer.w.view()));
            out.push(NamedTensor::column(format!("b{l}"), layer.b.iter().copied()));
            out.push(NamedTensor::transposed(format!("Z{l}"), t.z.view()));
            out.push(NamedTensor::transposed(format!("A{l}"), t.a.view()));
            out.push(NamedTensor::transposed(format!("dZ{l}"), t.dz.view()));
            out.push(NamedTensor::transposed(format!("dW{l}"), t.dw.view()));
            out.push(NamedTensor::column(format!("db{l}"), t.db.iter().copied()));
            out.push(NamedTensor::transposed(format!("W{l}_next"), stepped.w.view()));
            out.push(NamedTensor::column(format!("b{l}_next"), stepped.b.iter().copied()));
        }
        out.push(NamedTensor {
            name: "loss".into(),
            shape: vec![1],
            values: vec![self.trace.loss],
        });
        out.push(NamedTensor::transposed("dX".into(), self.trace.dx.view()));
        out
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let sizes: Vec<String> = self.model.sizes().iter().map(usize::to_string).collect();
        let labels: Vec<String> = self.labels.iter().map(u8::to_string).collect();
        let metadata: HashMap<String, String> = [
            ("format", FORMAT.to_owned()),
            ("format_version", FORMAT_VERSION.to_string()),
            ("layers", sizes.join(",")),
            ("m", self.x.nrows().to_string()),
            ("alpha", self.alpha.to_string()),
            ("labels", labels.join(",")),
            ("source", self.source.clone()),
            (
                "orientation",
                "features x examples (the notebook's): X is inputs x m, W{l} outputs x inputs".to_owned(),
            ),
            (
                "gradients",
                "dZ and dX of the summed loss (dZ{L} = A{L} - Y, dX = W1^T dZ1); dW and db of the mean (1/m)"
                    .to_owned(),
            ),
        ]
        .into_iter()
        .chain(self.rows.as_ref().map(|r| ("rows", format!("{}..{}", r.start, r.end))))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let tensors = self.tensors();
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .zip(&bytes)
            .map(|(t, b)| {
                let view = TensorView::new(Dtype::F32, t.shape.clone(), b).expect("shape matches the data");
                (t.name.clone(), view)
            })
            .collect();
        safetensors::serialize(views, Some(metadata)).expect("in-memory serialization of f32 tensors")
    }

    /// Writes the file atomically: a failure leaves no partial file.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = self.to_bytes();
        write_atomic(path, |w| std::io::Write::write_all(w, &bytes))
    }
}

/// The Frobenius norm `sqrt(Σ v²)` of a tensor (for summaries), summed in f64.
pub fn norm<'a>(values: impl IntoIterator<Item = &'a f32>) -> f64 {
    values.into_iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt()
}

/// The most probable class of each example from the trace's last `A` `(m, classes)`.
pub fn predictions(trace: &Trace) -> Vec<usize> {
    trace.layers.last().map_or_else(Vec::new, |last| {
        last.a
            .axis_iter(Axis(0))
            .map(|p| crate::network::argmax(p.as_slice().unwrap_or(&[])))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use safetensors::SafeTensors;

    use super::*;
    use crate::network::Init;

    #[test]
    fn the_file_holds_every_tensor_in_the_notebooks_orientation() {
        let model = Mlp::new(&[6, 5, 4, 3], Init::Uniform, 2);
        let x = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f32 / 30.0);
        let labels = [2u8, 0, 1, 2];
        let trace = model.trace(x.view(), &labels);
        let record = TraceRecord {
            model: &model,
            x: x.view(),
            labels: &labels,
            trace: &trace,
            alpha: 0.5,
            source: "test rows".into(),
            rows: Some(3..7),
        };
        let bytes = record.to_bytes();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = header.metadata().clone().unwrap();
        assert_eq!(metadata["format"], FORMAT);
        assert_eq!(metadata["layers"], "6,5,4,3");
        assert_eq!(metadata["labels"], "2,0,1,2");
        assert_eq!(metadata["rows"], "3..7");
        let read = |name: &str| -> (Vec<usize>, Vec<f32>) {
            let t = file.tensor(name).unwrap_or_else(|_| panic!("{name} is in the file"));
            assert_eq!(t.dtype(), Dtype::F32);
            let values = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (t.shape().to_vec(), values)
        };
        assert_eq!(file.len(), 2 + 3 * 9 + 2);
        let (shape, values) = read("X");
        assert_eq!(shape, [6, 4]);
        assert_eq!(values[1], x[(1, 0)], "X[0, 1] is pixel 0 of example 1");
        assert_eq!(values[4 + 2], x[(2, 1)], "X[1, 2] is pixel 1 of example 2");
        let (shape, y) = read("Y");
        assert_eq!(shape, [3, 4]);
        assert_eq!(y, [0., 1., 0., 0., 0., 0., 1., 0., 1., 0., 0., 1.]);
        let (shape, w2) = read("W2");
        assert_eq!(shape, [4, 5]);
        assert_eq!(
            w2[5 + 3],
            model.layers[1].w[(3, 1)],
            "W2[1, 3]: unit 1's weight from input 3"
        );
        assert_eq!(read("b3").0, [3, 1]);
        let (shape, z1) = read("Z1");
        assert_eq!(shape, [5, 4]);
        assert_eq!(z1[2 * 4 + 3], trace.layers[0].z[(3, 2)]);
        let (_, dw1) = read("dW1");
        let (_, w1) = read("W1");
        let (_, w1_next) = read("W1_next");
        for ((w, dw), next) in w1.iter().zip(&dw1).zip(&w1_next) {
            assert_eq!(next.to_bits(), (w - 0.5 * dw).to_bits());
        }
        assert_eq!(read("loss"), (vec![1], vec![trace.loss]));
        assert_eq!(read("dX").0, [6, 4]);
        // Saved, it is known as a trace (which a later trace may replace).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        record.save(&path).unwrap();
        let saved = std::fs::read(&path).unwrap();
        assert_eq!(
            saved.len(),
            bytes.len(),
            "the same file (its metadata's order may differ)"
        );
        assert_eq!(crate::write_guard::sniff(&path), crate::write_guard::FileKind::Trace);
    }

    #[test]
    fn norms_and_predictions() {
        assert_eq!(norm(&[3.0f32, 4.0]), 5.0);
        let model = Mlp::new(&[4, 3], Init::Uniform, 1);
        let x = Array2::from_elem((2, 4), 0.5f32);
        let trace = model.trace(x.view(), &[0, 1]);
        let p = model.forward(x.view());
        assert_eq!(
            predictions(&trace),
            (0..2)
                .map(|r| crate::network::argmax(p.row(r).as_slice().unwrap()))
                .collect::<Vec<_>>()
        );
    }
}
