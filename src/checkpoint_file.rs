//! Checkpoint files: a [`Checkpoint`] as a model file ([`crate::model_file`]: the same tensors
//! `W1, b1, ...` and metadata, so a checkpoint also opens as a model) plus the optimizer's
//! moments as tensors `optimizer.m.W1, ...` (momentum and Adam) and `optimizer.v.W1, ...`
//! (Adam), and a `checkpoint` metadata key holding the step, the random streams' position and
//! the data's layout as JSON (the config is the model file's `config`). See docs/formats.md.

use std::path::Path;
use std::sync::Arc;

use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::model_file::{self, ModelError, ModelInfo, OPTIMIZER_PREFIX};
use crate::network::Mlp;
use crate::train::{Checkpoint, DataLayout, OptimizerState, RunPosition, TrainConfig};

/// The version of the `checkpoint` metadata's layout.
pub const CHECKPOINT_VERSION: u32 = 1;
/// Files larger than this are refused before reading.
const MAX_FILE_BYTES: u64 = 1 << 31;

/// The `checkpoint` metadata.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    version: u32,
    step: usize,
    total_steps: usize,
    /// Adam's step count `t`.
    optimizer_updates: i32,
    /// Which moments the file holds: 0 (gradient descent), 1 (momentum) or 2 (Adam).
    moments: usize,
    position: RunPosition,
    data: DataLayout,
}

/// The file's bytes for `checkpoint`, with `info` (labels, class names, orientation) as a model
/// file keeps it; `info.config` is replaced by the checkpoint's.
pub fn to_bytes(checkpoint: &Checkpoint, info: &ModelInfo) -> Vec<u8> {
    let info = ModelInfo {
        preset: Some(checkpoint.config.effective_preset().to_string()),
        config: Some(checkpoint.config.clone()),
        ..info.clone()
    };
    let mut metadata = model_file::metadata(&checkpoint.model, &info);
    let (first, second) = (
        checkpoint.optimizer.first_moment(),
        checkpoint.optimizer.second_moment(),
    );
    let moments = usize::from(!first.layers.is_empty()) + usize::from(!second.layers.is_empty());
    let header = Header {
        version: CHECKPOINT_VERSION,
        step: checkpoint.step,
        total_steps: checkpoint.total_steps,
        optimizer_updates: checkpoint.optimizer.updates(),
        moments,
        position: checkpoint.position.clone(),
        data: checkpoint.data,
    };
    metadata.insert(
        "checkpoint".to_owned(),
        serde_json::to_string(&header).expect("plain numbers serialize"),
    );
    let mut tensors = model_file::layer_tensors(&checkpoint.model, "");
    tensors.extend(model_file::layer_tensors(first, &format!("{OPTIMIZER_PREFIX}m.")));
    tensors.extend(model_file::layer_tensors(second, &format!("{OPTIMIZER_PREFIX}v.")));
    model_file::serialize(&tensors, metadata)
}

/// Saves atomically (temporary file, then rename).
pub fn save(path: &Path, checkpoint: &Checkpoint, info: &ModelInfo) -> Result<(), ModelError> {
    let bytes = to_bytes(checkpoint, info);
    write_atomic(path, |w| std::io::Write::write_all(w, &bytes))
        .map_err(|e| ModelError::Io(path.display().to_string(), e))
}

/// Reads a checkpoint file, refusing a model file or a damaged one with a message naming the
/// file and what is wrong.
pub fn load(path: &Path) -> Result<(Checkpoint, ModelInfo), String> {
    let name = path.display().to_string();
    let len = std::fs::metadata(path).map_err(|e| format!("{name}: {e}"))?.len();
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "{name}: not a valid checkpoint: file is {len} bytes, larger than any checkpoint"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    from_bytes(&name, &bytes)
}

/// Parses and checks a checkpoint file's bytes: everything a model file's are checked for
/// ([`model_file::from_bytes`]), then the checkpoint metadata, the config and the moments.
pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<(Checkpoint, ModelInfo), String> {
    let invalid = |why: String| format!("{name}: not a valid checkpoint: {why}");
    let (model, info) = model_file::from_bytes(name, bytes).map_err(|e| match e {
        ModelError::Invalid(_, why) => invalid(why),
        other => other.to_string(),
    })?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| invalid(e.to_string()))?;
    let (_, file_header) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(e.to_string()))?;
    let metadata = file_header.metadata().clone().unwrap_or_default();
    let Some(json) = metadata.get("checkpoint") else {
        return Err(format!(
            "{name}: a model file, not a checkpoint: it holds no optimizer state or step to resume from (train writes checkpoints with --checkpoints DIR)"
        ));
    };
    let header: Header =
        serde_json::from_str(json).map_err(|e| invalid(format!("its 'checkpoint' metadata is unreadable ({e})")))?;
    if header.version != CHECKPOINT_VERSION {
        return Err(invalid(format!(
            "checkpoint version {} is not supported (this program reads {CHECKPOINT_VERSION})",
            header.version
        )));
    }
    let config: TrainConfig = metadata
        .get("config")
        .ok_or_else(|| invalid("no 'config' metadata".into()))
        .and_then(|c| serde_json::from_str(c).map_err(|e| invalid(format!("its 'config' is unreadable ({e})"))))?;
    let sizes = model.sizes();
    if config.hidden != sizes[1..sizes.len() - 1] {
        return Err(invalid(format!(
            "its config's hidden layers {:?} are not its network's {:?}",
            config.hidden,
            &sizes[1..sizes.len() - 1]
        )));
    }
    if header.data.pixels != model.inputs() {
        return Err(invalid(format!(
            "its data has {} pixels per image, its network reads {}",
            header.data.pixels,
            model.inputs()
        )));
    }
    if header.step > header.total_steps {
        return Err(invalid(format!(
            "step {} is past the run's {} steps",
            header.step, header.total_steps
        )));
    }
    let expected_moments = match config.optimizer {
        crate::train::Optimizer::Gd => 0,
        crate::train::Optimizer::Momentum => 1,
        crate::train::Optimizer::Adam => 2,
    };
    if header.moments != expected_moments {
        return Err(invalid(format!(
            "{} optimizer moments for {}, which keeps {expected_moments}",
            header.moments, config.optimizer
        )));
    }
    let moment = |key: &str, present: bool| -> Result<Mlp, String> {
        if !present {
            return Ok(Mlp { layers: Vec::new() });
        }
        model_file::read_layers(&tensors, &format!("{OPTIMIZER_PREFIX}{key}."), &sizes)
            .map(|layers| Mlp { layers })
            .map_err(&invalid)
    };
    let first = moment("m", header.moments >= 1)?;
    let second = moment("v", header.moments >= 2)?;
    let held = tensors.names().len();
    let expected = 2 * (sizes.len() - 1) * (1 + header.moments);
    if held != expected {
        return Err(invalid(format!(
            "{held} tensors, expected {expected} (W and b per layer, for the parameters and each moment)"
        )));
    }
    let checkpoint = Checkpoint {
        step: header.step,
        total_steps: header.total_steps,
        model: Arc::new(model),
        optimizer: OptimizerState::from_moments(first, second, header.optimizer_updates),
        position: header.position,
        config,
        data: header.data,
    };
    Ok((checkpoint, info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{CheckpointPlan, Length, Optimizer, Preset, TrainControl, TrainEvent, init_model, train};

    /// The checkpoints of a short run of `optimizer` on the embedded sample.
    fn checkpoints(optimizer: Optimizer) -> Vec<Arc<Checkpoint>> {
        let split = crate::embedded::sample()
            .unwrap()
            .select(&(0..600).collect::<Vec<_>>())
            .split(100, 0);
        let config = TrainConfig {
            hidden: vec![16],
            optimizer,
            batch_size: 128,
            dropout: 0.1,
            length: Length::Iterations(8),
            ..TrainConfig::preset(Preset::Seed)
        };
        let mut model = init_model(&config);
        let control = TrainControl::new().with_checkpoints(CheckpointPlan::every(4));
        let mut out = Vec::new();
        train(&mut model, &config, &split, &control, &mut |e| {
            if let TrainEvent::Checkpoint(c) = e {
                out.push(c.clone());
            }
        });
        out
    }

    #[test]
    fn checkpoints_round_trip_and_open_as_models() {
        let info = ModelInfo {
            class_names: (0..10).map(|d| format!("d{d}")).collect(),
            ..ModelInfo::default()
        };
        for optimizer in [Optimizer::Gd, Optimizer::Momentum, Optimizer::Adam] {
            let checkpoint = &checkpoints(optimizer)[1];
            assert_eq!(checkpoint.step, 4);
            let bytes = to_bytes(checkpoint, &info);
            let (back, back_info) = from_bytes("c.safetensors", &bytes).unwrap();
            assert_eq!(back, **checkpoint, "{optimizer:?}");
            assert_eq!(back_info.class_names, info.class_names);
            assert_eq!(back_info.config.as_ref(), Some(&checkpoint.config));
            // A model file reader sees the parameters.
            let (model, _) = model_file::from_bytes("c.safetensors", &bytes).unwrap();
            assert_eq!(model, *checkpoint.model);
        }
    }

    #[test]
    fn model_files_truncated_and_foreign_files_are_refused() {
        let checkpoint = &checkpoints(Optimizer::Adam)[1];
        let bytes = to_bytes(checkpoint, &ModelInfo::default());
        let model = model_file::to_bytes(&checkpoint.model, &ModelInfo::default());
        let message = from_bytes("m.safetensors", &model).unwrap_err();
        assert!(
            message.contains("m.safetensors: a model file, not a checkpoint"),
            "{message}"
        );
        for cut in [10, bytes.len() / 2, bytes.len() - 1] {
            let message = from_bytes("c.safetensors", &bytes[..cut]).unwrap_err();
            assert!(
                message.starts_with("c.safetensors: not a valid checkpoint"),
                "cut at {cut}: {message}"
            );
        }
        let message = from_bytes("x.csv", b"label,pixel0\n1,0\n").unwrap_err();
        assert!(message.contains("x.csv: not a valid checkpoint"), "{message}");
        // A moment missing.
        let mut tensors = model_file::layer_tensors(&checkpoint.model, "");
        tensors.extend(model_file::layer_tensors(
            checkpoint.optimizer.first_moment(),
            "optimizer.m.",
        ));
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = header.metadata().clone().unwrap();
        let message = from_bytes("c", &model_file::serialize(&tensors, metadata)).unwrap_err();
        assert!(message.contains("optimizer.v.W1 is missing"), "{message}");
    }
}
