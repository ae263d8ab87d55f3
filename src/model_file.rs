//! Model files: safetensors with the weights as `W1, b1, W2, b2, ...` (f32, little-endian) and
//! the architecture, preset, training config and format version in the header's metadata.
//!
//! The metadata's `activation` and `output` must be `relu` and `softmax` (the only network
//! [`Mlp`] computes) when present; files written by this program always hold them, hand-made
//! files may leave them out.
//!
//! Other data sets than the Digit Recognizer: `side` (the image side; the first layer has
//! `side * side` inputs), `labels` (the labels the training data held, e.g. `0,1,...,8,10,...`;
//! the last layer has an output per label up to the largest), `class_names` (a JSON list of
//! names in label order) and `transposed` (`true` when the images were transposed before
//! training, as EMNIST's need). A file without them is 28x28 digits 0-9, like every file written
//! before they existed.
//!
//! `W{k}` is stored in the notebook's orientation `(outputs, inputs)` (so `Z = W·X + b` with
//! samples in columns) and `b{k}` as `(outputs)`. Python reads a model with
//! `safetensors.numpy.load_file("model.safetensors")`.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array1, Array2};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use thiserror::Error;

use crate::atomic::write_atomic;
use crate::data::{CLASSES, Dataset, MAX_LABEL, square_side};
use crate::network::{Layer, Mlp};
use crate::train::TrainConfig;

/// The value of the `format` metadata key.
pub const FORMAT: &str = "digit-recognizer-mlp";
/// Bumped when the layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;
/// Files larger than this are refused before reading (the largest allowed network is far smaller).
const MAX_FILE_BYTES: u64 = 1 << 30;

/// What a model file says about itself besides the weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelInfo {
    pub preset: Option<String>,
    pub config: Option<TrainConfig>,
    pub dev_accuracy: Option<f32>,
    /// The labels of the training data, ascending; empty means every output (digits 0-9).
    pub labels: Vec<u8>,
    /// Class names in label order; empty when none were given.
    pub class_names: Vec<String>,
    /// The images were transposed before training (EMNIST): data fed to the model is too.
    pub transposed: bool,
}

impl ModelInfo {
    /// What a model trained with `config` on `data` says about itself: its config and score, and
    /// the data's labels, `class_names` and orientation (`transposed` before training). Take it
    /// from the data the run started with: other data may be loaded before it ends.
    pub fn trained(
        config: &TrainConfig,
        dev_accuracy: Option<f32>,
        data: &Dataset,
        class_names: Vec<String>,
        transposed: bool,
    ) -> ModelInfo {
        ModelInfo {
            preset: Some(config.effective_preset().to_string()),
            config: Some(config.clone()),
            dev_accuracy,
            labels: data.labels_present(),
            class_names,
            transposed,
        }
    }

    /// The labels the model was trained on: [`ModelInfo::labels`], or every output when the
    /// file does not say.
    pub fn labels_of(&self, model: &Mlp) -> Vec<u8> {
        if self.labels.is_empty() {
            (0..model.classes().min(usize::from(MAX_LABEL) + 1) as u8).collect()
        } else {
            self.labels.clone()
        }
    }
}

/// Why a model file could not be saved or loaded; the first field is the file's name.
#[derive(Debug, Error)]
pub enum ModelError {
    /// Reading or writing failed. (The I/O error is part of the message, not a `source`, so
    /// that error chains print it once.)
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The bytes are not a model this program can run: the reason.
    #[error("{0}: not a valid digit-recognizer model: {1}")]
    Invalid(String, String),
}

/// The hidden layers' activation, the only one [`Mlp`] computes.
pub const ACTIVATION: &str = "relu";
/// The output layer's function, the only one [`Mlp`] computes.
pub const OUTPUT: &str = "softmax";

/// The file's bytes for `model`.
pub fn to_bytes(model: &Mlp, info: &ModelInfo) -> Vec<u8> {
    let buffers = layer_tensors(model, "");
    serialize(&buffers, metadata(model, info))
}

/// The metadata of `model`'s file: format, architecture and `info`.
pub(crate) fn metadata(model: &Mlp, info: &ModelInfo) -> HashMap<String, String> {
    let mut metadata = HashMap::new();
    metadata.insert("format".to_owned(), FORMAT.to_owned());
    metadata.insert("format_version".to_owned(), FORMAT_VERSION.to_string());
    let sizes: Vec<String> = model.sizes().iter().map(usize::to_string).collect();
    metadata.insert("layers".to_owned(), sizes.join(","));
    metadata.insert("activation".to_owned(), ACTIVATION.to_owned());
    metadata.insert("output".to_owned(), OUTPUT.to_owned());
    if let Some(preset) = &info.preset {
        metadata.insert("preset".to_owned(), preset.clone());
    }
    if let Some(config) = &info.config
        && let Ok(json) = serde_json::to_string(config)
    {
        metadata.insert("config".to_owned(), json);
    }
    if let Some(acc) = info.dev_accuracy {
        metadata.insert("dev_accuracy".to_owned(), format!("{acc}"));
    }
    metadata.insert("side".to_owned(), model.inputs().isqrt().to_string());
    if !info.labels.is_empty() {
        let labels: Vec<String> = info.labels.iter().map(u8::to_string).collect();
        metadata.insert("labels".to_owned(), labels.join(","));
    }
    if !info.class_names.is_empty()
        && let Ok(json) = serde_json::to_string(&info.class_names)
    {
        metadata.insert("class_names".to_owned(), json);
    }
    if info.transposed {
        metadata.insert("transposed".to_owned(), "true".to_owned());
    }
    metadata
}

/// A tensor's name, shape and little-endian bytes.
pub(crate) type TensorBytes = (String, Vec<usize>, Vec<u8>);

/// `{prefix}W{k}` (transposed to `(outputs, inputs)`) and `{prefix}b{k}` for each layer of
/// `model` (or of arrays shaped like it: an optimizer's moments).
pub(crate) fn layer_tensors(model: &Mlp, prefix: &str) -> Vec<TensorBytes> {
    model
        .layers
        .iter()
        .enumerate()
        .flat_map(|(i, layer)| {
            let w = layer.w.t();
            let w_bytes: Vec<u8> = w
                .rows()
                .into_iter()
                .flat_map(|r| r.to_vec())
                .flat_map(f32::to_le_bytes)
                .collect();
            let b_bytes: Vec<u8> = layer.b.iter().flat_map(|v| v.to_le_bytes()).collect();
            [
                (
                    format!("{prefix}W{}", i + 1),
                    vec![layer.outputs(), layer.inputs()],
                    w_bytes,
                ),
                (format!("{prefix}b{}", i + 1), vec![layer.outputs()], b_bytes),
            ]
        })
        .collect()
}

/// A safetensors file of `buffers` with `metadata`.
pub(crate) fn serialize(buffers: &[TensorBytes], metadata: HashMap<String, String>) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            (
                name.clone(),
                TensorView::new(Dtype::F32, shape.clone(), bytes).expect("shape matches the data"),
            )
        })
        .collect();
    safetensors::serialize(views, Some(metadata)).expect("in-memory serialization of f32 tensors")
}

/// Saves atomically (temporary file, then rename).
pub fn save(path: &Path, model: &Mlp, info: &ModelInfo) -> Result<(), ModelError> {
    let bytes = to_bytes(model, info);
    write_atomic(path, |w| std::io::Write::write_all(w, &bytes))
        .map_err(|e| ModelError::Io(path.display().to_string(), e))
}

pub fn load(path: &Path) -> Result<(Mlp, ModelInfo), ModelError> {
    let name = path.display().to_string();
    let len = std::fs::metadata(path)
        .map_err(|e| ModelError::Io(name.clone(), e))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(ModelError::Invalid(
            name,
            format!("file is {len} bytes, larger than any model"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| ModelError::Io(name.clone(), e))?;
    from_bytes(&name, &bytes)
}

/// Parses and validates a model file's bytes: format, architecture, every tensor's dtype and
/// shape, and finite values.
pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<(Mlp, ModelInfo), ModelError> {
    let invalid = |why: String| ModelError::Invalid(name.to_owned(), why);
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| invalid(format!("not a safetensors file ({e})")))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(e.to_string()))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    match metadata.get("format").map(String::as_str) {
        Some(FORMAT) => {}
        Some(other) => return Err(invalid(format!("format is {other:?}, expected {FORMAT:?}"))),
        None => {
            return Err(invalid(
                "no 'format' metadata (a safetensors file from another program?)".into(),
            ));
        }
    }
    let version: u32 = metadata.get("format_version").and_then(|v| v.parse().ok()).unwrap_or(0);
    if version != FORMAT_VERSION {
        return Err(invalid(format!(
            "format version {version} is not supported (this program reads {FORMAT_VERSION})"
        )));
    }
    // Every file this program wrote names both; a file made by hand may leave them out, and
    // then means the only network there is. Anything else would run as the wrong network.
    for (key, wanted) in [("activation", ACTIVATION), ("output", OUTPUT)] {
        if let Some(found) = metadata.get(key)
            && !found.trim().eq_ignore_ascii_case(wanted)
        {
            return Err(invalid(format!(
                "'{key}' is {found:?}, but this program only computes {wanted:?}"
            )));
        }
    }
    let sizes: Vec<usize> = metadata
        .get("layers")
        .ok_or_else(|| invalid("no 'layers' metadata".into()))?
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| invalid("'layers' metadata is not a list of sizes".into()))?;
    let classes = sizes.last().copied().unwrap_or(0);
    let side = sizes.first().copied().and_then(square_side);
    if sizes.len() < 2
        || side.is_none()
        || !(CLASSES..=usize::from(MAX_LABEL) + 1).contains(&classes)
        || sizes.contains(&0)
    {
        return Err(invalid(format!(
            "layers {sizes:?} must start at a square image's pixels (784 for 28x28) and end at {CLASSES} to {} classes",
            usize::from(MAX_LABEL) + 1
        )));
    }
    if let Some(stated) = metadata.get("side")
        && stated.trim().parse::<usize>().ok() != side
    {
        return Err(invalid(format!(
            "'side' is {stated:?}, but the first layer has {} inputs",
            sizes[0]
        )));
    }
    let labels: Vec<u8> = match metadata.get("labels").map(|l| l.trim()) {
        None | Some("") => Vec::new(),
        Some(list) => {
            let labels: Vec<u8> = list
                .split(',')
                .map(|l| l.trim().parse::<u8>())
                .collect::<Result<_, _>>()
                .map_err(|_| invalid(format!("'labels' is {list:?}, not a list of labels")))?;
            if labels.iter().any(|&l| usize::from(l) >= classes) || !labels.is_sorted() {
                return Err(invalid(format!(
                    "'labels' {list:?} must be ascending and below the {classes} outputs"
                )));
            }
            labels
        }
    };
    let class_names: Vec<String> = match metadata.get("class_names") {
        None => Vec::new(),
        Some(json) => {
            serde_json::from_str(json).map_err(|_| invalid("'class_names' is not a JSON list of names".into()))?
        }
    };
    // A checkpoint (`crate::checkpoint_file`) holds its optimizer's moments beside the
    // parameters, under `optimizer.`: it opens as a model too.
    let parameter_tensors = tensors
        .names()
        .iter()
        .filter(|n| !n.starts_with(OPTIMIZER_PREFIX))
        .count();
    if parameter_tensors != 2 * (sizes.len() - 1) {
        return Err(invalid(format!(
            "{parameter_tensors} tensors for {} layers (expected W and b per layer)",
            sizes.len() - 1
        )));
    }
    let layers = read_layers(&tensors, "", &sizes).map_err(&invalid)?;
    let info = ModelInfo {
        preset: metadata.get("preset").cloned(),
        config: metadata.get("config").and_then(|c| serde_json::from_str(c).ok()),
        dev_accuracy: metadata.get("dev_accuracy").and_then(|a| a.parse().ok()),
        labels,
        class_names,
        transposed: metadata.get("transposed").is_some_and(|t| t.trim() == "true"),
    };
    Ok((Mlp { layers }, info))
}

/// The prefix of the optimizer's tensors in a checkpoint file, which a model ignores.
pub(crate) const OPTIMIZER_PREFIX: &str = "optimizer.";

/// The layers `sizes` of tensors `{prefix}W{k}` and `{prefix}b{k}` (as [`layer_tensors`] writes
/// them), each checked for its dtype, shape and finite values.
pub(crate) fn read_layers(tensors: &SafeTensors<'_>, prefix: &str, sizes: &[usize]) -> Result<Vec<Layer>, String> {
    let mut layers = Vec::new();
    for (i, pair) in sizes.windows(2).enumerate() {
        let (inputs, outputs) = (pair[0], pair[1]);
        let w = read_tensor(tensors, &format!("{prefix}W{}", i + 1), &[outputs, inputs])?;
        let b = read_tensor(tensors, &format!("{prefix}b{}", i + 1), &[outputs])?;
        let w = Array2::from_shape_vec((outputs, inputs), w).map_err(|e| e.to_string())?;
        layers.push(Layer {
            w: w.reversed_axes().as_standard_layout().into_owned(),
            b: Array1::from(b),
        });
    }
    Ok(layers)
}

fn read_tensor(tensors: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
    let view = tensors.tensor(name).map_err(|_| format!("tensor {name} is missing"))?;
    if view.dtype() != Dtype::F32 {
        return Err(format!("tensor {name} is {:?}, expected F32", view.dtype()));
    }
    if view.shape() != shape {
        return Err(format!(
            "tensor {name} has shape {:?}, the layers say {shape:?}",
            view.shape()
        ));
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(format!("tensor {name} holds NaN or infinite values"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Init;
    use crate::train::Preset;

    fn info() -> ModelInfo {
        ModelInfo {
            preset: Some("seed".into()),
            config: Some(TrainConfig::preset(Preset::Seed)),
            dev_accuracy: Some(0.85),
            ..ModelInfo::default()
        }
    }

    #[test]
    fn other_data_sets_round_trip_with_side_labels_and_names() {
        // Sign Language MNIST-like: 32x32 images, labels 0-24 without 9, named.
        let model = Mlp::new(&[1024, 16, 25], Init::He, 4);
        let labels: Vec<u8> = (0..25).filter(|&l| l != 9).collect();
        let names: Vec<String> = (b'A'..=b'Y').map(|c| (c as char).to_string()).collect();
        let info = ModelInfo {
            labels: labels.clone(),
            class_names: names.clone(),
            transposed: true,
            ..info()
        };
        let bytes = to_bytes(&model, &info);
        let (loaded, loaded_info) = from_bytes("m", &bytes).unwrap();
        assert_eq!((loaded, &loaded_info), (model.clone(), &info));
        assert_eq!(loaded_info.labels_of(&model), labels);
        // Old files (no side, labels or names) are 28x28 digits.
        let old = with_metadata(&Mlp::new(&[784, 8, 10], Init::He, 1), |m| {
            m.remove("side");
        });
        let (old_model, old_info) = from_bytes("m", &old).unwrap();
        assert_eq!(
            (
                old_info.labels_of(&old_model),
                old_info.class_names.len(),
                old_info.transposed
            ),
            ((0..10).collect(), 0, false)
        );
        // Metadata that disagrees with the weights.
        let e = from_bytes(
            "m",
            &with_metadata(&model, |m| {
                m.insert("side".into(), "28".into());
            }),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("'side' is \"28\", but the first layer has 1024 inputs"),
            "{e}"
        );
        let e = from_bytes(
            "m",
            &with_metadata(&model, |m| {
                m.insert("labels".into(), "3,30".into());
            }),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("below the 25 outputs"), "{e}");
        let not_square = to_bytes(&Mlp::new(&[785, 4, 10], Init::He, 1), &ModelInfo::default());
        let e = from_bytes("m", &not_square).unwrap_err().to_string();
        assert!(e.contains("square image"), "{e}");
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let model = Mlp::new(&[784, 32, 16, 10], Init::He, 4);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        save(&path, &model, &info()).unwrap();
        let (loaded, loaded_info) = load(&path).unwrap();
        assert_eq!(loaded, model);
        assert_eq!(loaded_info, info());
    }

    #[test]
    fn stored_in_notebook_orientation() {
        let model = Mlp::new(&[784, 10, 10], Init::Uniform, 0);
        let bytes = to_bytes(&model, &ModelInfo::default());
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("W1").unwrap().shape(), &[10, 784]);
        assert_eq!(st.tensor("b2").unwrap().shape(), &[10]);
    }

    fn error_for(bytes: &[u8]) -> String {
        from_bytes("m.safetensors", bytes).unwrap_err().to_string()
    }

    #[test]
    fn bad_files_are_clear_errors() {
        assert!(error_for(b"hello world, not a model").contains("not a safetensors file"));
        let model = Mlp::new(&[784, 8, 10], Init::He, 1);
        let good = to_bytes(&model, &ModelInfo::default());
        assert!(error_for(&good[..good.len() - 7]).contains("not a safetensors file"));
        // A safetensors file from another program.
        let data = vec![0u8; 8];
        let other =
            safetensors::serialize([("x", TensorView::new(Dtype::F32, vec![2], &data).unwrap())], None).unwrap();
        assert!(error_for(&other).contains("format"));
        // Shapes disagreeing with the metadata.
        let mut edited = good.clone();
        let at = edited.windows(8).position(|w| w == b"784,8,10").unwrap();
        edited[at + 4] = b'9';
        assert!(error_for(&edited).contains("shape"), "{}", error_for(&edited));
        // NaN weights.
        let mut nan = model.clone();
        nan.layers[1].w[(0, 0)] = f32::NAN;
        assert!(error_for(&to_bytes(&nan, &ModelInfo::default())).contains("NaN"));
    }

    /// `model`'s file with the metadata changed by `edit`.
    fn with_metadata(model: &Mlp, edit: impl FnOnce(&mut HashMap<String, String>)) -> Vec<u8> {
        let bytes = to_bytes(model, &ModelInfo::default());
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let mut metadata = header.metadata().clone().unwrap();
        edit(&mut metadata);
        let tensors = SafeTensors::deserialize(&bytes).unwrap();
        safetensors::serialize(tensors.tensors(), Some(metadata)).unwrap()
    }

    #[test]
    fn other_activations_and_outputs_are_refused() {
        let model = Mlp::new(&[784, 8, 10], Init::He, 1);
        for (key, value) in [
            ("activation", "tanh"),
            ("activation", "sigmoid"),
            ("output", "sigmoid"),
            ("output", ""),
        ] {
            let bytes = with_metadata(&model, |m| {
                m.insert(key.to_owned(), value.to_owned());
            });
            let e = error_for(&bytes);
            assert!(
                e.starts_with("m.safetensors: not a valid digit-recognizer model: ") && e.contains(key),
                "{key}={value}: {e}"
            );
            assert!(e.contains(&format!("{value:?}")), "names the value: {e}");
        }
    }

    #[test]
    fn activation_and_output_may_be_missing_or_differently_cased() {
        let model = Mlp::new(&[784, 8, 10], Init::He, 1);
        let bare = with_metadata(&model, |m| {
            m.remove("activation");
            m.remove("output");
        });
        assert_eq!(from_bytes("m", &bare).unwrap().0, model);
        let cased = with_metadata(&model, |m| {
            m.insert("activation".to_owned(), "ReLU".to_owned());
            m.insert("output".to_owned(), " Softmax".to_owned());
        });
        assert_eq!(from_bytes("m", &cased).unwrap().0, model);
    }
}
