//! Checkpoints: a run's whole state at a step (parameters, optimizer moments, the position of
//! every random stream), from which [`super::Run::resume`] continues exactly, and the
//! [`CheckpointPlan`] saying at which steps a run takes them.
//!
//! What makes a resumed run the same as one that never stopped:
//! - the parameters and the optimizer's moments and step count `t` (copied);
//! - the order of the training rows: it is shuffled in place once per epoch by one seeded
//!   stream, so a checkpoint counts the shuffles done and a resumed run replays them from the
//!   seed (a few milliseconds per epoch) instead of storing the order or the stream;
//! - dropout masks and augmentations: each chunk of rows draws from a stream seeded by (seed,
//!   step, chunk) ([`super::gradient`]), so they need nothing;
//! - the learning-rate schedule: a function of the step and the run's length;
//! - the base learning rate, which the app may have changed mid-run through the control;
//! - the loss statistics since the last report and the first step's loss (divergence is judged
//!   against it), so that progress reports and the final loss come out the same;
//! - the thread count does not matter: gradients are summed over fixed chunks in a fixed order.
//!
//! The one thing not kept is the copy of the parameters at the last report that a diverging run
//! falls back to: a resumed run falls back to the checkpoint's parameters until its next report.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::TrainConfig;
use super::optimizer::OptimizerState;
use crate::data::{Dataset, Split};
use crate::network::{BatchStats, Mlp};

/// When a run takes checkpoints: always at its first and last steps, and in between either
/// every `every` steps, or `count` in all, log-spaced over the first tenth of the run (where
/// the model changes fastest) and evenly over the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointPlan {
    /// About how many checkpoints a run takes (without `every`).
    pub count: usize,
    /// A fixed spacing in steps (the command line's `--checkpoint-every`), instead of `count`.
    pub every: Option<usize>,
}

impl Default for CheckpointPlan {
    fn default() -> Self {
        CheckpointPlan {
            count: DEFAULT_COUNT,
            every: None,
        }
    }
}

/// Checkpoints per run by default.
pub const DEFAULT_COUNT: usize = 64;

impl CheckpointPlan {
    /// A checkpoint every `steps` steps (and at the first and last).
    pub fn every(steps: usize) -> CheckpointPlan {
        CheckpointPlan {
            count: DEFAULT_COUNT,
            every: Some(steps.max(1)),
        }
    }

    /// About `count` checkpoints per run, log-spaced then even.
    pub fn spread(count: usize) -> CheckpointPlan {
        CheckpointPlan { count, every: None }
    }

    /// The steps of a run of `total` steps that get a checkpoint, ascending, from 0 to `total`.
    pub fn steps(&self, total: usize) -> Vec<usize> {
        let mut steps = vec![0];
        match self.every {
            Some(every) => steps.extend((1..=total / every.max(1)).map(|k| k * every.max(1))),
            None if total > 0 => {
                // A quarter of them log-spaced over [1, total/10], the rest even over the rest.
                let early_end = (total / 10).max(1);
                let early = (self.count / 4).max(1);
                let late = self.count.saturating_sub(early + 2).max(1);
                let ratio = (early_end as f64).ln();
                for i in 0..early {
                    let t = if early == 1 { 1.0 } else { i as f64 / (early - 1) as f64 };
                    steps.push((ratio * t).exp().round() as usize);
                }
                let rest = (total - early_end) as f64;
                for j in 1..=late {
                    steps.push(early_end + (rest * j as f64 / late as f64).round() as usize);
                }
            }
            None => {}
        }
        steps.push(total);
        steps.sort_unstable();
        steps.dedup();
        steps.retain(|&s| s <= total);
        steps
    }
}

/// A run's whole state after `step` steps: resuming from it with the same settings ends
/// bit-identical to the run that never stopped ([`super::Run::resume`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Steps taken.
    pub step: usize,
    /// The steps the run meant to take in all.
    pub total_steps: usize,
    /// The parameters (shared with the views that show them).
    pub model: Arc<Mlp>,
    /// The optimizer's moments (only those its optimizer uses) and step count.
    pub optimizer: OptimizerState,
    /// Where the random streams and running statistics stand.
    pub position: RunPosition,
    /// The settings the run was trained with up to here.
    pub config: TrainConfig,
    /// The data it was trained on.
    pub data: DataLayout,
}

/// The rest of a run's state at a checkpoint besides the parameters and optimizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPosition {
    /// Epoch shuffles of the training rows done so far (replayed from the seed on resume).
    pub shuffles: u64,
    /// The learning rate before the schedule: the config's, or the last one set mid-run.
    pub base_alpha: f32,
    /// The first step's loss, against which divergence is judged.
    pub first_loss: Option<f32>,
    /// Loss and accuracy counts since the last progress report.
    pub since_report: StatsRecord,
    /// The last step's batch statistics (the report's final loss).
    pub last_stats: StatsRecord,
    /// Training time so far, pauses excluded.
    pub elapsed: Duration,
}

/// [`BatchStats`] as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsRecord {
    pub loss_sum: f64,
    pub correct: usize,
    pub rows: usize,
}

impl From<BatchStats> for StatsRecord {
    fn from(s: BatchStats) -> StatsRecord {
        StatsRecord {
            loss_sum: s.loss_sum,
            correct: s.correct,
            rows: s.rows,
        }
    }
}

impl From<StatsRecord> for BatchStats {
    fn from(s: StatsRecord) -> BatchStats {
        BatchStats {
            loss_sum: s.loss_sum,
            correct: s.correct,
            rows: s.rows,
        }
    }
}

/// What a run's data looked like: a resumed run must see the same rows in the same places.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLayout {
    pub train_rows: usize,
    pub dev_rows: usize,
    /// Pixels per image.
    pub pixels: usize,
    /// A hash of the training rows' pixels and labels, in order.
    pub fingerprint: u64,
}

impl DataLayout {
    /// The layout of `split` (hashes its training rows: about 10 ms for 41,000 rows).
    pub fn of(split: &Split) -> DataLayout {
        DataLayout {
            train_rows: split.train.rows(),
            dev_rows: split.dev.rows(),
            pixels: split.train.image_pixels(),
            fingerprint: fingerprint(&split.train),
        }
    }
}

/// FNV-1a over the labels and 8-byte words of the pixels: cheap, and any changed, moved or
/// missing row changes it.
fn fingerprint(data: &Dataset) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01B3;
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    let mut eat = |word: u64| hash = (hash ^ word).wrapping_mul(PRIME);
    let words = data.pixels.chunks_exact(8);
    let tail = words.remainder();
    for word in words {
        eat(u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    for &b in tail {
        eat(u64::from(b));
    }
    for &l in &data.labels {
        eat(u64::from(l));
    }
    eat(data.rows() as u64);
    hash
}

impl Checkpoint {
    /// Memory held: parameters and moments (4 bytes each) and a little bookkeeping.
    pub fn approx_bytes(&self) -> usize {
        4 * self.model.parameter_count() + self.optimizer.bytes() + 1024
    }

    /// The hidden layers' widths of the checkpoint's network.
    pub fn hidden(&self) -> Vec<usize> {
        let sizes = self.model.sizes();
        sizes[1..sizes.len().saturating_sub(1).max(1)].to_vec()
    }

    /// Why a run with `config` on `split` cannot continue from this checkpoint, naming what
    /// differs; Ok when it can. Every other setting may change (alpha, batch, optimizer,
    /// schedule, length, L2, dropout, augmentation, threads).
    pub fn check_resume(&self, config: &TrainConfig, split: &Split) -> Result<(), String> {
        let hidden = self.hidden();
        if config.hidden != hidden {
            return Err(format!(
                "the checkpoint's network has hidden layers {}, the settings ask for {}",
                widths(&hidden),
                widths(&config.hidden)
            ));
        }
        if config.seed != self.config.seed {
            return Err(format!(
                "the checkpoint's run has seed {}, the settings say {}: the seed chooses the dev rows and every random stream",
                self.config.seed, config.seed
            ));
        }
        if config.dev_size != self.config.dev_size {
            return Err(format!(
                "the checkpoint's run held out {} dev rows, the settings say {}",
                self.config.dev_size, config.dev_size
            ));
        }
        let data = &split.train;
        if data.image_pixels() != self.model.inputs() {
            return Err(format!(
                "the checkpoint's network reads {} pixels per image, the data has {}",
                self.model.inputs(),
                data.image_pixels()
            ));
        }
        if data.class_count() > self.model.classes() {
            return Err(format!(
                "the data has labels up to {}, the checkpoint's network has {} outputs",
                data.class_count() - 1,
                self.model.classes()
            ));
        }
        if data.rows() != self.data.train_rows {
            return Err(format!(
                "the checkpoint's run trained on {} rows, this data has {}",
                self.data.train_rows,
                data.rows()
            ));
        }
        if fingerprint(data) != self.data.fingerprint {
            return Err(format!(
                "the training rows differ from the checkpoint's run ({} rows either way, other pixels or labels): another data file?",
                data.rows()
            ));
        }
        Ok(())
    }
}

fn widths(hidden: &[usize]) -> String {
    if hidden.is_empty() {
        "none".to_owned()
    } else {
        hidden.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::test_support::small_split;
    use crate::train::{Length, Optimizer, Preset, Progress, TrainControl, TrainEvent, init_model, train, train_from};

    /// A run of `config` with checkpoints every `every` steps: its final model, its
    /// checkpoints and its progress reports.
    fn recorded(config: &TrainConfig, split: &Split, every: usize) -> (Mlp, Vec<Arc<Checkpoint>>, Vec<Progress>) {
        let mut model = init_model(config);
        let control = TrainControl::new().with_checkpoints(CheckpointPlan::every(every));
        let (mut checkpoints, mut progress) = (Vec::new(), Vec::new());
        train(&mut model, config, split, &control, &mut |e| match e {
            TrainEvent::Checkpoint(c) => checkpoints.push(c.clone()),
            TrainEvent::Progress(p) => progress.push(p.clone()),
            _ => {}
        });
        (model, checkpoints, progress)
    }

    /// Resumes from `checkpoint` with `config`: the final model, the first step sent, and the
    /// progress reports.
    fn resumed(checkpoint: &Checkpoint, config: &TrainConfig, split: &Split) -> (Mlp, usize, Vec<Progress>) {
        let mut model = Mlp { layers: Vec::new() };
        let (mut first, mut progress) = (usize::MAX, Vec::new());
        train_from(
            checkpoint,
            &mut model,
            config,
            split,
            &TrainControl::new(),
            &mut |e| match e {
                TrainEvent::Started { first_step, .. } => first = *first_step,
                TrainEvent::Progress(p) => progress.push(p.clone()),
                _ => {}
            },
        )
        .unwrap();
        (model, first, progress)
    }

    /// Progress reports without their times, which differ run to run.
    fn untimed(progress: &[Progress]) -> Vec<Progress> {
        progress
            .iter()
            .map(|p| Progress {
                elapsed: Duration::ZERO,
                ..p.clone()
            })
            .collect()
    }

    fn assert_resumes_exactly(config: &TrainConfig, every: usize) {
        let split = small_split();
        let (plain, _) = crate::train::test_support::run(config, &split);
        let (model, checkpoints, progress) = recorded(config, &split, every);
        assert_eq!(model, plain, "taking checkpoints changed the run");
        assert!(checkpoints.len() >= 4, "{} checkpoints", checkpoints.len());
        assert_eq!(checkpoints[0].step, 0);
        assert_eq!(*checkpoints[0].model, init_model(config));
        assert_eq!(
            *checkpoints.last().unwrap().model,
            model,
            "the last checkpoint is the result"
        );
        for checkpoint in &checkpoints[..checkpoints.len() - 1] {
            let (again, first, again_progress) = resumed(checkpoint, config, &split);
            assert_eq!(first, checkpoint.step);
            assert!(
                again == model,
                "resumed from step {} of {}: not the same model",
                checkpoint.step,
                checkpoint.total_steps
            );
            let after: Vec<Progress> = progress.iter().filter(|p| p.step > checkpoint.step).cloned().collect();
            assert_eq!(
                untimed(&again_progress),
                untimed(&after),
                "from step {}",
                checkpoint.step
            );
        }
    }

    #[test]
    fn full_batch_gradient_descent_resumes_bit_for_bit() {
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(40);
        assert_resumes_exactly(&config, 10);
    }

    #[test]
    fn adam_mini_batches_with_dropout_and_shifts_resume_bit_for_bit() {
        let mut config = TrainConfig::preset(Preset::Best);
        config.hidden = vec![32, 16];
        config.batch_size = 96; // 11 steps per epoch of 1,000 rows: checkpoints fall mid-epoch
        config.length = Length::Epochs(3);
        config.dropout = 0.1;
        config.augment_shift = 2;
        config.augment_rotate = 0.0;
        config.augment_scale = 0.0;
        config.augment_elastic = 0.0;
        config.report_every = 4;
        config.threads = 2;
        assert_resumes_exactly(&config, 7);
        // And with every distortion, momentum and an exponential schedule.
        let mut config = TrainConfig::preset(Preset::Best);
        config.hidden = vec![24];
        config.batch_size = 128;
        config.length = Length::Iterations(20);
        config.optimizer = Optimizer::Momentum;
        config.schedule = crate::train::Schedule::Exponential(0.9);
        assert_resumes_exactly(&config, 6);
    }

    #[test]
    fn the_thread_count_does_not_matter() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Best);
        config.hidden = vec![16];
        config.batch_size = 100;
        config.length = Length::Iterations(12);
        config.threads = 2;
        let (model, checkpoints, _) = recorded(&config, &split, 5);
        let one_thread = TrainConfig {
            threads: 1,
            ..config.clone()
        };
        assert_eq!(resumed(&checkpoints[1], &one_thread, &split).0, model);
    }

    #[test]
    fn branches_continue_the_step_count_with_other_settings() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(30);
        let (model, checkpoints, _) = recorded(&config, &split, 10);
        let at_10 = &checkpoints[1];
        assert_eq!(at_10.step, 10);
        let branch = TrainConfig {
            alpha: 0.3,
            length: Length::Iterations(50),
            optimizer: Optimizer::Adam,
            ..config.clone()
        };
        let (branched, first, progress) = resumed(at_10, &branch, &split);
        assert_eq!(first, 10);
        assert_eq!(
            progress[0].step, 20,
            "the branch's first report follows the branch step"
        );
        assert_eq!(progress.last().unwrap().step, 50);
        assert_eq!(progress.last().unwrap().total_steps, 50);
        assert_ne!(branched, model);
        // A length already reached: nothing more to do.
        let short = TrainConfig {
            length: Length::Iterations(5),
            ..config.clone()
        };
        assert_eq!(resumed(at_10, &short, &split).0, *at_10.model);
    }

    #[test]
    fn resuming_refuses_what_cannot_continue_naming_it() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(10);
        let (_, checkpoints, _) = recorded(&config, &split, 5);
        let checkpoint = &checkpoints[1];
        let refusal = |config: &TrainConfig, split: &Split| {
            let mut model = Mlp { layers: Vec::new() };
            let mut events = 0;
            let result = train_from(checkpoint, &mut model, config, split, &TrainControl::new(), &mut |_| {
                events += 1;
            });
            assert_eq!(events, 0, "nothing sent before refusing");
            assert!(model.layers.is_empty(), "the model untouched");
            result.unwrap_err()
        };
        let wider = TrainConfig {
            hidden: vec![32],
            ..config.clone()
        };
        let message = refusal(&wider, &split);
        assert!(
            message.contains("hidden layers 10") && message.contains("32"),
            "{message}"
        );
        let reseeded = TrainConfig {
            seed: 4,
            ..config.clone()
        };
        assert!(refusal(&reseeded, &split).contains("seed 0"));
        let data = crate::embedded::sample().unwrap();
        let other_rows = data.select(&(1..1201).collect::<Vec<_>>()).split(200, 3);
        assert!(
            refusal(&config, &other_rows).contains("differ"),
            "same count, other rows"
        );
        let fewer = data.select(&(0..1100).collect::<Vec<_>>()).split(200, 3);
        assert!(refusal(&config, &fewer).contains("1000 rows"));
    }

    #[test]
    fn cancelled_runs_checkpoint_where_they_stopped() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(100);
        let control = TrainControl::new().with_checkpoints(CheckpointPlan::every(50));
        let mut model = init_model(&config);
        let mut steps = Vec::new();
        train(&mut model, &config, &split, &control, &mut |e| match e {
            TrainEvent::Progress(p) if p.step == 20 => control.cancel(),
            TrainEvent::Checkpoint(c) => steps.push(c.step),
            _ => {}
        });
        assert_eq!(steps, vec![0, 20]);
    }

    #[test]
    fn checkpoints_keep_only_the_moments_their_optimizer_uses() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(2);
        let parameters = init_model(&config).parameter_count();
        for (optimizer, moments) in [(Optimizer::Gd, 0), (Optimizer::Momentum, 1), (Optimizer::Adam, 2)] {
            config.optimizer = optimizer;
            let (_, checkpoints, _) = recorded(&config, &split, 1);
            let bytes = checkpoints[1].approx_bytes();
            assert_eq!(bytes, 4 * parameters * (1 + moments) + 1024, "{optimizer:?}");
        }
    }

    #[test]
    fn plans_start_and_end_and_are_dense_early() {
        let steps = CheckpointPlan::default().steps(4800);
        assert_eq!(steps.first(), Some(&0));
        assert_eq!(steps.last(), Some(&4800));
        assert!((56..=66).contains(&steps.len()), "{} checkpoints", steps.len());
        assert!(steps.windows(2).all(|w| w[0] < w[1]));
        let early = steps.iter().filter(|&&s| s <= 480).count();
        assert!(early >= 14, "{early} in the first tenth: {steps:?}");
        // Evenly spaced after the first tenth.
        let late: Vec<usize> = steps.iter().copied().filter(|&s| s >= 480).collect();
        let gaps: Vec<usize> = late.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().max().unwrap() - gaps.iter().min().unwrap() <= 1, "{gaps:?}");

        assert_eq!(CheckpointPlan::every(150).steps(500), vec![0, 150, 300, 450, 500]);
        assert_eq!(CheckpointPlan::every(100).steps(300), vec![0, 100, 200, 300]);
        assert_eq!(CheckpointPlan::default().steps(0), vec![0]);
        assert_eq!(CheckpointPlan::default().steps(3), vec![0, 1, 2, 3]);
    }
}
