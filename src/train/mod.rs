//! Training: full-batch gradient descent (the notebook), mini-batch SGD, momentum and Adam, with
//! L2 weight decay, dropout, shift augmentation and a learning-rate schedule.
//!
//! [`train`] runs on the caller's thread (the app puts it on a worker) and reports typed
//! [`TrainEvent`]s through a callback. A shared [`TrainControl`] pauses, resumes, cancels and
//! changes the learning rate from another thread. Results are deterministic for a given seed and
//! config, whatever the number of threads: rows are split into fixed chunks, each chunk has its
//! own seeded random stream, and the chunks' gradients are summed in a fixed order. (Machines
//! with different vector extensions may differ in the last bits: see [`crate::kernels`].)
//!
//! Files, in reading order:
//! - `config`: [`TrainConfig`], its presets and choices, and the checks on user input.
//! - `run`: a [`Run`] of steps, [`train`] the loop over it, with [`init_model`] and [`accuracy`].
//! - `gradient`: one step's gradient over the batch, on worker threads.
//! - `optimizer`: the update rule (gradient descent, momentum, Adam) and its state.
//! - `update`: a step's update from its gradient, shared between the threads by parameter rows.
//! - `pool`: the worker threads both run on, started once per run.
//! - `events` and `control`: what a run reports, and how another thread steers it.
//! - `checkpoint`: a run's whole state at a step, to resume from exactly, and when to take one.
//! - `checkpoint_store`: a session's checkpoints within a count per run and a byte budget.

mod checkpoint;
mod checkpoint_store;
mod config;
mod control;
mod events;
mod gradient;
mod optimizer;
mod pool;
mod run;
mod subnormal;
mod update;

pub use checkpoint::{Checkpoint, CheckpointPlan, DataLayout, RunPosition, StatsRecord};
pub use checkpoint_store::{CheckpointStore, DEFAULT_BUDGET, RunCheckpoints, fit_budget, max_per_run};
pub use config::{
    FirstLayer, Length, MAX_HIDDEN_LAYERS, MAX_UNITS, Optimizer, Preset, Schedule, TrainConfig, parse_hidden,
};
pub use control::TrainControl;
pub use events::{Progress, Snapshot, StopReason, TrainEvent, TrainReport};
pub use gradient::{default_threads, threads_beside_a_ui};
pub use optimizer::OptimizerState;
pub use run::{Run, accuracy, init_model, init_model_for, train, train_from};

/// Helpers shared by the unit tests of the files above.
#[cfg(test)]
mod test_support {
    use super::{TrainConfig, TrainControl, TrainReport, init_model, train};
    use crate::data::Split;
    use crate::network::Mlp;

    /// 1,000 training and 200 dev rows of the embedded sample.
    pub(super) fn small_split() -> Split {
        let data = crate::embedded::sample().unwrap();
        data.select(&(0..1200).collect::<Vec<_>>()).split(200, 3)
    }

    /// A fresh model for `config` trained on `split`.
    pub(super) fn run(config: &TrainConfig, split: &Split) -> (Mlp, TrainReport) {
        let mut model = init_model(config);
        let report = train(&mut model, config, split, &TrainControl::new(), &mut |_| {});
        (model, report)
    }
}
