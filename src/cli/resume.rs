//! `train --checkpoints DIR [--checkpoint-every N]` and `train --resume FILE`: the settings of a
//! resumed run, and the checkpoint files written while training.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::UsageError;
use super::args::TrainArgs;
use super::commands::guard_output;
use crate::checkpoint_file;
use crate::model_file::ModelInfo;
use crate::train::{Checkpoint, CheckpointPlan, TrainConfig};
use crate::write_guard::{Input, Output};

/// The settings of a run resumed from `checkpoint`: its own, with the flags given over them.
/// A flag that would change what cannot change (the network, the seed, the dev rows, the
/// initial weights) is refused, naming it.
pub(super) fn resumed_config(args: &TrainArgs, checkpoint: &Checkpoint) -> Result<TrainConfig, String> {
    let mut config = checkpoint.config.clone();
    let flags = &args.settings;
    flags.apply(&mut config)?;
    let theirs = &checkpoint.config;
    if let Some(hidden) = &flags.hidden
        && config.hidden != checkpoint.hidden()
    {
        return Err(format!(
            "--hidden {hidden} does not match the checkpoint's hidden layers {}: a run resumes with its own network",
            widths(&checkpoint.hidden())
        ));
    }
    if let Some(seed) = flags.seed
        && seed != theirs.seed
    {
        return Err(format!(
            "--seed {seed} differs from the checkpoint's seed {}: the seed chooses the dev rows and every random stream of the run",
            theirs.seed
        ));
    }
    if let Some(dev_size) = flags.dev_size
        && dev_size != theirs.dev_size
    {
        return Err(format!(
            "--dev-size {dev_size} differs from the checkpoint's {}: the run must see the same training rows",
            theirs.dev_size
        ));
    }
    if let Some(init) = flags.init
        && init != theirs.init
    {
        return Err(format!(
            "--init {init} differs from the checkpoint's {}: it only shapes the initial weights, and a resumed run has the checkpoint's",
            theirs.init
        ));
    }
    config.validate()?;
    Ok(config)
}

fn widths(hidden: &[usize]) -> String {
    if hidden.is_empty() {
        "none".to_owned()
    } else {
        hidden.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
    }
}

/// Writes the run's checkpoints into `--checkpoints DIR` as they come.
pub(super) struct CheckpointWriter {
    folder: PathBuf,
    inputs: Vec<Input>,
    force: bool,
    info: ModelInfo,
    /// Files written, in order.
    pub written: Vec<PathBuf>,
}

impl CheckpointWriter {
    /// A writer into `folder` (created now if missing), never over one of `inputs`. `info`
    /// (labels, class names, orientation) goes into every file.
    pub(super) fn new(folder: &Path, inputs: Vec<Input>, force: bool, info: ModelInfo) -> Result<CheckpointWriter> {
        if folder.exists() && !folder.is_dir() {
            return Err(UsageError(format!("--checkpoints {}: not a folder", folder.display())).into());
        }
        if let Err(e) = std::fs::create_dir_all(folder) {
            bail!("cannot create the checkpoint folder {}: {e}", folder.display());
        }
        Ok(CheckpointWriter {
            folder: folder.to_owned(),
            inputs,
            force,
            info,
            written: Vec::new(),
        })
    }

    /// The plan of `--checkpoint-every N`, or about 64 spread over the run. N = 0 is refused.
    pub(super) fn plan(every: Option<usize>) -> Result<CheckpointPlan, UsageError> {
        match every {
            Some(0) => Err(UsageError("--checkpoint-every must be at least 1".into())),
            Some(n) => Ok(CheckpointPlan::every(n)),
            None => Ok(CheckpointPlan::default()),
        }
    }

    /// The file of the checkpoint at `step`.
    pub(super) fn path(&self, step: usize) -> PathBuf {
        self.folder.join(format!("step-{step:06}.safetensors"))
    }

    /// Saves `checkpoint` (atomically), unless its path is an input or a file of another kind
    /// (without --force).
    pub(super) fn write(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let path = self.path(checkpoint.step);
        guard_output(&path, Output::Model, &self.inputs, self.force, "--checkpoints")?;
        checkpoint_file::save(&path, checkpoint, &self.info)?;
        self.written.push(path);
        Ok(())
    }
}
