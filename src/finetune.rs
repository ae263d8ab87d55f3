//! Fine-tuning a trained model on a user's own digits ("My digits") without forgetting MNIST.
//!
//! Three things keep a few dozen drawings from wrecking a model trained on 37,000 digits:
//! - **replay**: every batch mixes the user's digits with rows of the original training data, so
//!   the gradient never pulls toward the new style alone;
//! - **augmentation**: each drawing enters as [`FinetuneConfig::copies`] randomly distorted
//!   copies (rotation, scale, shift, elastic: [`crate::augment`]), so the model learns the style,
//!   not the exact pixels;
//! - **a small learning rate** with Adam on a cosine schedule, for a few passes.
//!
//! The user's digits are measured honestly: a stratified part ([`FinetuneConfig::holdout`]) is
//! held out of a first run, whose curves and before/after numbers are computed on it alone.
//! A second run ([`FinetuneConfig::refit`]) then trains on all of them with the same settings:
//! that is the model the user gets (it never saw its own measurement, as in cross-validation's
//! refit). The MNIST dev rows are never trained on.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::augment::{Distortion, distort};
use crate::data::{CLASSES, Dataset, PIXELS, Split};
use crate::network::Mlp;
use crate::train::{
    Length, Optimizer, Preset, Run, Schedule, StopReason, TrainConfig, TrainControl, TrainEvent, accuracy,
};

/// How a fine-tuning run goes. The defaults need no tuning (see docs/performance.md's
/// "Fine-tuning on other writers" for what they were measured on).
#[derive(Clone, Debug, PartialEq)]
pub struct FinetuneConfig {
    /// Passes over the mixed set (the user's distorted copies plus the replayed rows).
    pub epochs: usize,
    /// How the weights move.
    pub optimizer: Optimizer,
    /// The learning rate at the start of the cosine schedule.
    pub alpha: f32,
    pub batch_size: usize,
    /// Distorted copies of each drawing in the mixed set (the first is the drawing itself).
    pub copies: usize,
    /// Replayed training rows per row of the user's copies.
    pub replay_ratio: f32,
    pub distortion: Distortion,
    /// The returned weights are `blend` of the fine-tuned ones plus `1 - blend` of the model's
    /// before (weight-space ensembling, "WiSE-FT"): most of the gain, less of the forgetting.
    pub blend: f32,
    /// Share of each digit's drawings held out to measure the first run on (at least one of each
    /// digit drawn twice or more).
    pub holdout: f32,
    /// Then train again on all the drawings, and return that model.
    pub refit: bool,
    pub seed: u64,
    /// Gradient threads (0 = the default).
    pub threads: usize,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            epochs: 4,
            optimizer: Optimizer::Adam,
            alpha: 1e-3,
            batch_size: 64,
            copies: 20,
            replay_ratio: 4.0,
            distortion: Distortion::DEFAULT,
            blend: 0.7,
            holdout: 0.25,
            refit: true,
            seed: 0,
            threads: 0,
        }
    }
}

impl FinetuneConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 {
            return Err("fine-tune for at least one epoch".into());
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(format!("alpha must be a positive number, got {}", self.alpha));
        }
        if !(self.replay_ratio.is_finite() && self.replay_ratio >= 0.0) {
            return Err(format!(
                "the replay ratio must be zero or positive, got {}",
                self.replay_ratio
            ));
        }
        if !(0.0..1.0).contains(&self.holdout) {
            return Err(format!("the held-out share must be in [0, 1), got {}", self.holdout));
        }
        if !(self.blend > 0.0 && self.blend <= 1.0) {
            return Err(format!("the blend must be in (0, 1], got {}", self.blend));
        }
        if self.copies == 0 || self.batch_size == 0 {
            return Err("copies and batch size must be at least 1".into());
        }
        Ok(())
    }

    /// The training settings of one run over `rows` mixed rows.
    fn train_config(&self) -> TrainConfig {
        TrainConfig {
            preset: Preset::Custom,
            optimizer: self.optimizer,
            alpha: self.alpha,
            schedule: Schedule::Cosine,
            length: Length::Epochs(self.epochs),
            batch_size: self.batch_size,
            l2: 0.0,
            dropout: 0.0,
            // The distortions already move the digits.
            augment_shift: 0,
            seed: self.seed,
            report_every: 5,
            threads: self.threads,
            ..TrainConfig::default()
        }
    }
}

/// The two runs of a fine-tuning: measured on held-out drawings, then on all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Trained without the held-out drawings, measured on them.
    Measure,
    /// Trained on every drawing: the model returned.
    Refit,
}

/// What a fine-tuning run reports while it runs.
#[derive(Clone, Debug)]
pub enum FinetuneEvent {
    Started {
        phase: Phase,
        total_steps: usize,
    },
    Progress(FinetuneProgress),
    /// The parameters after `step` (at most every [`FinetuneConfig`]-independent half second), for
    /// views that show the model while it learns.
    Snapshot {
        phase: Phase,
        step: usize,
        total_steps: usize,
        model: Arc<Mlp>,
    },
    Finished(FinetuneReport),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FinetuneProgress {
    pub phase: Phase,
    pub step: usize,
    pub total_steps: usize,
    /// Accuracy on the held-out drawings (the measuring run, when some are held out).
    pub mine_accuracy: Option<f32>,
    /// Accuracy on the MNIST dev rows (when there are any).
    pub mnist_accuracy: Option<f32>,
    pub loss: f32,
}

/// Before and after, and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinetuneReport {
    pub stop: StopReason,
    /// The user's drawings: all, and held out of the measuring run.
    pub mine_rows: usize,
    pub held_out_rows: usize,
    /// Replayed training rows per run, and the MNIST dev rows measured on.
    pub replay_rows: usize,
    pub mnist_rows: usize,
    /// On the held-out drawings: the model before, and after the measuring run.
    pub mine_before: Option<f32>,
    pub mine_after: Option<f32>,
    /// On all the drawings: the model before (they are new to it).
    pub mine_all_before: f32,
    /// On the MNIST dev rows: before, and the returned model.
    pub mnist_before: Option<f32>,
    pub mnist_after: Option<f32>,
    pub steps: usize,
    pub seconds: f64,
}

impl FinetuneReport {
    /// One line: "your digits 62% -> 95% (20 held out), MNIST 98.3% -> 98.2%, 3.1 s".
    pub fn summary(&self) -> String {
        let pct = |v: Option<f32>| v.map_or("-".to_owned(), |v| format!("{:.1}%", 100.0 * v));
        let mine = match (self.mine_before, self.mine_after) {
            (Some(_), _) => format!(
                "your held-out digits {} -> {} ({} of {} held out)",
                pct(self.mine_before),
                pct(self.mine_after),
                self.held_out_rows,
                self.mine_rows
            ),
            _ => format!(
                "your {} digits (too few to hold some out: {} before)",
                self.mine_rows,
                pct(Some(self.mine_all_before))
            ),
        };
        format!(
            "{mine}; MNIST dev {} -> {}; {:.1} s",
            pct(self.mnist_before),
            pct(self.mnist_after),
            self.seconds
        )
    }
}

/// Why `base` cannot be fine-tuned on `mine` while replaying `replay`, if it cannot: the model
/// must read 28x28 digits (the drawings are), and every image must have its input size and every
/// label one of its outputs (replaying another data set, say 25 sign-language letters, cannot
/// teach a digit model).
pub fn check_inputs(base: &Mlp, mine: &Dataset, replay: &Split) -> Result<(), String> {
    if base.inputs() != PIXELS || base.classes() != CLASSES {
        return Err(format!(
            "fine-tuning works on 28x28 digit models; this one has {} inputs and {} classes",
            base.inputs(),
            base.classes()
        ));
    }
    for (what, data) in [
        ("your digits", mine),
        ("the replayed training data", &replay.train),
        ("the replayed dev rows", &replay.dev),
    ] {
        if data.rows() > 0 && data.image_pixels() != PIXELS {
            return Err(format!(
                "{what} are {0}x{0} images; the model reads 28x28 digits",
                data.side
            ));
        }
        if let Some(&label) = data.labels.iter().max()
            && usize::from(label) >= CLASSES
        {
            return Err(format!("{what} have label {label}; the model knows the digits 0 to 9"));
        }
    }
    Ok(())
}

/// Fine-tunes a copy of `base` on `mine` (labelled drawings, Kaggle's 28x28 layout), replaying
/// rows of `replay.train` and measuring on `replay.dev`; refused (before any work) when
/// [`check_inputs`] or the config's `validate` says why. Returns the new model (the refit's, or
/// the measuring run's when `refit` is off) and the report; a cancelled run returns `base`
/// unchanged with [`StopReason::Cancelled`]. Deterministic for a given config (seed included),
/// whatever the thread count.
pub fn finetune(
    base: &Mlp,
    mine: &Dataset,
    replay: &Split,
    config: &FinetuneConfig,
    control: &TrainControl,
    on_event: &mut dyn FnMut(&FinetuneEvent),
) -> Result<(Mlp, FinetuneReport), String> {
    check_inputs(base, mine, replay)?;
    config.validate()?;
    let start = Instant::now();
    let (tune_rows, held_rows) = holdout_split(&mine.labels, config.holdout, config.seed);
    let held = mine.select(&held_rows);
    let no_rows = mine.select(&[]);
    let mnist = &replay.dev;
    let measure = |model: &Mlp, data: &Dataset| (data.rows() > 0).then(|| accuracy(model, data));
    let mut report = FinetuneReport {
        stop: StopReason::Completed,
        mine_rows: mine.rows(),
        held_out_rows: held.rows(),
        replay_rows: 0,
        mnist_rows: mnist.rows(),
        mine_before: measure(base, &held),
        mine_after: None,
        mine_all_before: measure(base, mine).unwrap_or(0.0),
        mnist_before: measure(base, mnist),
        mnist_after: None,
        steps: 0,
        seconds: 0.0,
    };
    let mut phases = Vec::new();
    if held.rows() > 0 {
        phases.push((Phase::Measure, tune_rows));
    }
    if config.refit || held.rows() == 0 {
        phases.push((Phase::Refit, (0..mine.rows()).collect()));
    }
    let mut result = base.clone();
    for (phase, rows) in phases {
        let mixed = mixed_set(mine, &rows, &replay.train, config);
        report.replay_rows = mixed.rows() - rows.len() * config.copies;
        let held = if phase == Phase::Measure { &held } else { &no_rows };
        let mut model = base.clone();
        let outcome = run_phase(&mut model, base, phase, mixed, held, mnist, config, control, on_event);
        report.steps += outcome.steps;
        if outcome.stop != StopReason::Completed {
            report.stop = outcome.stop;
            result = base.clone();
            break;
        }
        if phase == Phase::Measure {
            report.mine_after = measure(&model, held);
        }
        result = model;
    }
    if report.stop == StopReason::Completed {
        report.mnist_after = measure(&result, mnist);
    }
    report.seconds = start.elapsed().as_secs_f64();
    on_event(&FinetuneEvent::Finished(report.clone()));
    Ok((result, report))
}

struct PhaseOutcome {
    stop: StopReason,
    steps: usize,
}

/// One training run over the mixed set, measured every twentieth of the way.
#[allow(clippy::too_many_arguments)]
fn run_phase(
    model: &mut Mlp,
    base: &Mlp,
    phase: Phase,
    mixed: Dataset,
    held: &Dataset,
    mnist: &Dataset,
    config: &FinetuneConfig,
    control: &TrainControl,
    on_event: &mut dyn FnMut(&FinetuneEvent),
) -> PhaseOutcome {
    let train_config = config.train_config();
    let split = Split {
        dev: mixed.select(&[]),
        train: mixed,
    };
    // The run's own control: the caller's pause and learning rate do not apply to fine-tuning,
    // its cancel is passed on after each step.
    let inner = TrainControl::new();
    // The loss of the run's last progress report.
    let loss = Cell::new(f32::NAN);
    let mut on_train_event = |event: &TrainEvent| {
        if let TrainEvent::Progress(p) = event {
            loss.set(p.loss);
        }
    };
    let measure = |model: &Mlp, data: &Dataset| (data.rows() > 0).then(|| accuracy(model, data));
    let mut run = Run::new(model, &train_config, &split, &inner, &mut on_train_event);
    let total_steps = run.total_steps();
    let measure_every = (total_steps / 20).max(1);
    on_event(&FinetuneEvent::Started { phase, total_steps });
    // Step 0 is the model before: where the curves start.
    on_event(&FinetuneEvent::Progress(FinetuneProgress {
        phase,
        step: 0,
        total_steps,
        mine_accuracy: measure(base, held),
        mnist_accuracy: measure(base, mnist),
        loss: f32::NAN,
    }));
    let mut last_view = Instant::now();
    // After each step but the last, the model is read where it is: measured every twentieth of
    // the way, and copied only for the caller's views, at most as often as its control asks.
    loop {
        if control.is_cancelled() {
            inner.cancel();
        }
        if !run.step(&mut on_train_event) {
            break;
        }
        let step = run.steps();
        let measure_now = step.is_multiple_of(measure_every);
        let view_now = control
            .snapshot_every()
            .is_some_and(|every| last_view.elapsed() >= every);
        if !(measure_now || view_now) || !run.model().is_finite() {
            continue;
        }
        if measure_now {
            on_event(&FinetuneEvent::Progress(FinetuneProgress {
                phase,
                step,
                total_steps,
                mine_accuracy: measure(run.model(), held),
                mnist_accuracy: measure(run.model(), mnist),
                loss: loss.get(),
            }));
        }
        if view_now {
            on_event(&FinetuneEvent::Snapshot {
                phase,
                step,
                total_steps,
                model: Arc::new(run.model().clone()),
            });
            last_view = Instant::now();
        }
    }
    let report = run.report(&mut on_train_event);
    if report.stop == StopReason::Completed {
        blend(model, base, config.blend);
        on_event(&FinetuneEvent::Progress(FinetuneProgress {
            phase,
            step: report.steps,
            total_steps: report.steps,
            mine_accuracy: measure(model, held),
            mnist_accuracy: measure(model, mnist),
            loss: report.final_loss,
        }));
    }
    PhaseOutcome {
        stop: report.stop,
        steps: report.steps,
    }
}

/// `model = t * model + (1 - t) * base`, layer by layer.
fn blend(model: &mut Mlp, base: &Mlp, t: f32) {
    if t >= 1.0 {
        return;
    }
    for (layer, before) in model.layers.iter_mut().zip(&base.layers) {
        layer.w.zip_mut_with(&before.w, |w, &w0| *w = t * *w + (1.0 - t) * w0);
        layer.b.zip_mut_with(&before.b, |b, &b0| *b = t * *b + (1.0 - t) * b0);
    }
}

/// Splits row indices into (trained on, held out): per label, a `share` of its rows (rounded,
/// at least one when it has two or more, never all) chosen by `seed`.
fn holdout_split(labels: &[u8], share: f32, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x4010_D0D0);
    let (mut tune, mut held) = (Vec::new(), Vec::new());
    for label in 0..=u8::MAX {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == label).collect();
        if rows.is_empty() {
            continue;
        }
        rows.shuffle(&mut rng);
        let n = rows.len();
        let k = if n < 2 || share <= 0.0 {
            0
        } else {
            ((n as f32 * share).round() as usize).clamp(1, n - 1)
        };
        held.extend_from_slice(&rows[..k]);
        tune.extend_from_slice(&rows[k..]);
    }
    tune.sort_unstable();
    held.sort_unstable();
    (tune, held)
}

/// The training rows of one run: `copies` distorted copies of each of `mine`'s `rows` (the
/// first copy undistorted), then `replay_ratio` times as many rows of `replay`, drawn without
/// repeats while it has enough.
fn mixed_set(mine: &Dataset, rows: &[usize], replay: &Dataset, config: &FinetuneConfig) -> Dataset {
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x0A06_3E47);
    let own = rows.len() * config.copies;
    let replayed = if replay.rows() == 0 {
        0
    } else {
        (own as f32 * config.replay_ratio).round() as usize
    };
    let mut pixels = vec![0u8; (own + replayed) * PIXELS];
    let mut labels = Vec::with_capacity(own + replayed);
    let mut out = pixels.chunks_exact_mut(PIXELS);
    for &row in rows {
        let image = mine.image(row);
        for copy in 0..config.copies {
            let Some(dst) = out.next() else { break };
            if copy == 0 {
                dst.copy_from_slice(image);
            } else {
                distort(image, mine.side, &config.distortion, &mut rng, dst);
            }
            labels.push(mine.labels[row]);
        }
    }
    let mut order: Vec<usize> = (0..replay.rows()).collect();
    order.shuffle(&mut rng);
    for (dst, &row) in out.zip(order.iter().cycle()) {
        dst.copy_from_slice(replay.image(row));
        labels.push(replay.labels[row]);
    }
    let mut mixed = mine.select(&[]);
    mixed.pixels = pixels;
    mixed.labels = labels;
    mixed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataKind;

    #[test]
    fn holdout_is_stratified_disjoint_and_repeatable() {
        let labels: Vec<u8> = (0..40).map(|i| (i % 4) as u8).chain([7]).collect();
        let (tune, held) = holdout_split(&labels, 0.25, 3);
        assert_eq!(tune.len() + held.len(), labels.len());
        assert!(tune.iter().all(|i| !held.contains(i)));
        for d in 0..4u8 {
            let n = held.iter().filter(|&&i| labels[i] == d).count();
            assert!((2..=3).contains(&n), "digit {d}: {n} held out of 10");
        }
        // A digit drawn once is never held out: it would be missing from training.
        assert!(held.iter().all(|&i| labels[i] != 7));
        assert_eq!((tune, held), holdout_split(&labels, 0.25, 3));
        assert_ne!(holdout_split(&labels, 0.25, 3).1, holdout_split(&labels, 0.25, 4).1);
        assert!(holdout_split(&labels, 0.0, 3).1.is_empty());
    }

    #[test]
    fn the_mixed_set_holds_copies_then_replayed_rows() {
        let mine = Dataset::new(
            DataKind::Train,
            (0..2 * PIXELS).map(|i| if i % 7 == 0 { 200 } else { 0 }).collect(),
            vec![3, 5],
        );
        let replay = Dataset::new(DataKind::Train, vec![9; 50 * PIXELS], vec![1; 50]);
        let config = FinetuneConfig {
            copies: 4,
            replay_ratio: 1.5,
            ..FinetuneConfig::default()
        };
        let mixed = mixed_set(&mine, &[1], &replay, &config);
        assert_eq!(mixed.rows(), 4 + 6);
        assert_eq!(&mixed.labels[..4], &[5; 4]);
        assert_eq!(&mixed.labels[4..], &[1; 6]);
        assert_eq!(mixed.image(0), mine.image(1), "the first copy is the drawing itself");
        assert_ne!(mixed.image(1), mine.image(1), "the others are distorted");
        assert_eq!(mixed.image(9), replay.image(0));
        assert_eq!(mixed, mixed_set(&mine, &[1], &replay, &config));
    }
}
