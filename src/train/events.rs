//! What a run tells its caller: [`TrainEvent`]s while it runs, a [`TrainReport`] at the end.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::checkpoint::Checkpoint;
use crate::network::Mlp;

/// What the training loop reports.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainEvent {
    Started {
        /// The step the run starts from: 0, or a resumed run's checkpoint step.
        first_step: usize,
        total_steps: usize,
        steps_per_epoch: usize,
        parameters: usize,
        train_rows: usize,
        dev_rows: usize,
    },
    Progress(Progress),
    /// The parameters as they are after `step`, for views that show the model while it learns
    /// (sent only when the run's [`super::TrainControl`] asks for snapshots).
    Snapshot(Snapshot),
    /// Everything needed to resume the run from `step` exactly (sent only when the run's
    /// [`super::TrainControl`] has a [`super::CheckpointPlan`], at the steps it plans).
    Checkpoint(Arc<Checkpoint>),
    Finished(TrainReport),
}

/// A copy of the parameters taken during a run. Shared: one copy per snapshot, however many
/// views hold it.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub step: usize,
    pub total_steps: usize,
    pub model: Arc<Mlp>,
}

/// A progress report: loss and train accuracy averaged over the steps since the last report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub step: usize,
    pub total_steps: usize,
    pub epoch: f32,
    pub loss: f32,
    pub train_accuracy: f32,
    /// Accuracy on the dev set, when it was evaluated for this report.
    pub dev_accuracy: Option<f32>,
    pub alpha: f32,
    /// Training time so far, pauses excluded.
    pub elapsed: Duration,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "status")]
pub enum StopReason {
    Completed,
    Cancelled,
    /// The loss became NaN or infinite; the model holds the last good parameters.
    Diverged {
        step: usize,
    },
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub stop: StopReason,
    pub steps: usize,
    pub epochs: f32,
    pub final_loss: f32,
    pub train_accuracy: f32,
    pub dev_accuracy: Option<f32>,
    pub train_seconds: f64,
    pub parameters: usize,
}

impl TrainReport {
    pub fn diverged(&self) -> bool {
        matches!(self.stop, StopReason::Diverged { .. })
    }

    pub fn message(&self) -> String {
        match self.stop {
            StopReason::Completed => format!("finished {} steps in {:.1} s", self.steps, self.train_seconds),
            StopReason::Cancelled => format!("stopped at step {}", self.steps),
            StopReason::Diverged { step } => {
                format!(
                    "diverged at step {step}: the loss exploded (NaN, infinite or far above its start), try a smaller alpha"
                )
            }
        }
    }
}
