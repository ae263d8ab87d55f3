//! The training loop: a [`Run`] takes one step at a time (gradient, divergence check, update),
//! reports progress and snapshots as they fall due, and scores the result at the end; [`train`]
//! is the loop over it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::checkpoint::{Checkpoint, DataLayout, RunPosition};
use super::control::TrainControl;
use super::events::{Progress, Snapshot, StopReason, TrainEvent, TrainReport};
use super::gradient::{self, Inputs, Workers, batch_gradients};
use super::optimizer::OptimizerState;
use super::subnormal::flushed;
use super::{Length, Schedule, TrainConfig};
use crate::data::{Dataset, Split};
use crate::network::{BatchStats, Mlp};

/// Trains `model` (already initialised, e.g. by [`Mlp::new`]) on `split.train`, evaluating on
/// `split.dev`. Call [`init_model`] for a fresh model from the config.
pub fn train(
    model: &mut Mlp,
    config: &TrainConfig,
    split: &Split,
    control: &TrainControl,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> TrainReport {
    let mut run = Run::new(model, config, split, control, on_event);
    while run.step(on_event) {}
    run.report(on_event)
}

/// Continues the run of `checkpoint` with `config` (its own or changed settings, see
/// [`Checkpoint::check_resume`]) on `split` into `model`, to the end `config` gives. Refuses,
/// naming what differs, before taking any step or sending any event.
pub fn train_from(
    checkpoint: &Checkpoint,
    model: &mut Mlp,
    config: &TrainConfig,
    split: &Split,
    control: &TrainControl,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainReport, String> {
    let mut run = Run::resume(model, config, split, control, checkpoint, on_event)?;
    while run.step(on_event) {}
    Ok(run.report(on_event))
}

/// A training run in progress: [`Run::step`] until it returns false, then [`Run::report`].
/// Between steps the caller may read the model ([`Run::model`], borrowed: fine-tuning measures it
/// this way) or copy it ([`Run::snapshot`]).
pub struct Run<'a> {
    model: &'a mut Mlp,
    config: &'a TrainConfig,
    split: &'a Split,
    control: &'a TrainControl,
    /// `None` if cancelled while preparing.
    inputs: Option<Inputs<'a>>,
    workers: Workers,
    state: OptimizerState,
    /// Rows per step, steps per pass over the rows, steps in all.
    batch: usize,
    steps_per_epoch: usize,
    total_steps: usize,
    /// Steps between dev evaluations.
    dev_every: usize,
    parameters: usize,
    /// The training rows in this epoch's order.
    order: Vec<usize>,
    shuffle_rng: StdRng,
    /// Shuffles of `order` done so far (a checkpoint's record of `shuffle_rng`'s position).
    shuffles: u64,
    /// The learning rate before the schedule: the config's, or the last one set through the
    /// control.
    base_alpha: f32,
    /// The parameters at the last report, restored if the run diverges.
    last_good: Mlp,
    since_report: BatchStats,
    last_stats: BatchStats,
    /// The first step's loss, against which divergence is judged.
    first_loss: Option<f32>,
    step: usize,
    /// Set when the run stops before its last step.
    stop: Option<StopReason>,
    start: Instant,
    paused_time: Duration,
    /// Training time before this run started (a resumed run's checkpoint's).
    elapsed_before: Duration,
    last_snapshot: Instant,
    /// The steps still to checkpoint, ascending (empty without a plan).
    checkpoint_steps: std::collections::VecDeque<usize>,
    /// The step of the last checkpoint sent.
    last_checkpoint: Option<usize>,
    /// The data's layout, hashed at the first checkpoint.
    data_layout: Option<DataLayout>,
}

impl<'a> Run<'a> {
    /// Prepares a run of `model` on `split` and sends [`TrainEvent::Started`].
    pub fn new(
        model: &'a mut Mlp,
        config: &'a TrainConfig,
        split: &'a Split,
        control: &'a TrainControl,
        on_event: &mut dyn FnMut(&TrainEvent),
    ) -> Run<'a> {
        let mut run = Run::prepare(model, config, split, control, 0, on_event);
        run.send_due_checkpoint(on_event);
        run
    }

    /// Prepares a run continuing from `checkpoint` with `config` (the checkpoint's settings or
    /// changed ones: [`Checkpoint::check_resume`] says which may change) and sends
    /// [`TrainEvent::Started`] with `first_step` at the checkpoint's step. `model` is set to the
    /// checkpoint's parameters. Steps count on from the checkpoint's; the run ends where
    /// `config`'s length says. An error (nothing sent, `model` untouched) names what differs.
    pub fn resume(
        model: &'a mut Mlp,
        config: &'a TrainConfig,
        split: &'a Split,
        control: &'a TrainControl,
        checkpoint: &Checkpoint,
        on_event: &mut dyn FnMut(&TrainEvent),
    ) -> Result<Run<'a>, String> {
        checkpoint.check_resume(config, split)?;
        model.clone_from(&checkpoint.model);
        let mut run = Run::prepare(model, config, split, control, checkpoint.step, on_event);
        let position = &checkpoint.position;
        run.step = checkpoint.step;
        // Moments of another optimizer mean something else (momentum's velocity is not Adam's
        // mean): a change of optimizer starts its moments afresh.
        if config.optimizer == checkpoint.config.optimizer {
            run.state = checkpoint.optimizer.expanded(run.model);
        }
        for _ in 0..position.shuffles {
            run.order.shuffle(&mut run.shuffle_rng);
        }
        run.shuffles = position.shuffles;
        // An alpha set mid-run carries on, unless the settings change alpha themselves.
        if config.alpha == checkpoint.config.alpha {
            run.base_alpha = position.base_alpha;
        }
        run.first_loss = position.first_loss;
        run.since_report = position.since_report.into();
        run.last_stats = position.last_stats.into();
        run.elapsed_before = position.elapsed;
        run.last_checkpoint = Some(checkpoint.step);
        run.data_layout = Some(checkpoint.data);
        run.checkpoint_steps.retain(|&s| s > checkpoint.step);
        Ok(run)
    }

    fn prepare(
        model: &'a mut Mlp,
        config: &'a TrainConfig,
        split: &'a Split,
        control: &'a TrainControl,
        first_step: usize,
        on_event: &mut dyn FnMut(&TrainEvent),
    ) -> Run<'a> {
        let train = &split.train;
        let n = train.rows();
        let batch = if config.batch_size == 0 || config.batch_size >= n {
            n
        } else {
            config.batch_size
        };
        let steps_per_epoch = n.div_ceil(batch.max(1)).max(1);
        let total_steps = match config.length {
            Length::Iterations(k) => k,
            Length::Epochs(e) => e * steps_per_epoch,
        };
        let parameters = model.parameter_count();
        on_event(&TrainEvent::Started {
            first_step,
            total_steps,
            steps_per_epoch,
            parameters,
            train_rows: n,
            dev_rows: split.dev.rows(),
        });

        let chunk_rows = gradient::chunk_rows(batch);
        // Full batches without augmentation cut the rows into the same chunks every step.
        let fixed_chunks = (batch == n && !config.augments()).then_some(chunk_rows);
        let inputs = Inputs::new(train, model, config.first_layer, fixed_chunks, control.cancel_flag());
        let dev_every = if batch == n {
            config.report_every.max(1)
        } else {
            (steps_per_epoch / 4).max(config.report_every).max(1)
        };
        Run {
            workers: Workers::new(model, gradient::worker_threads(config.threads), chunk_rows),
            state: OptimizerState::new(model),
            last_good: model.clone(),
            model,
            config,
            split,
            control,
            inputs,
            batch,
            steps_per_epoch,
            total_steps,
            dev_every,
            parameters,
            order: (0..n).collect(),
            shuffle_rng: StdRng::seed_from_u64(config.seed ^ 0x5EED_0F0D),
            shuffles: 0,
            base_alpha: config.alpha,
            since_report: BatchStats::default(),
            last_stats: BatchStats::default(),
            first_loss: None,
            step: 0,
            stop: None,
            start: Instant::now(),
            paused_time: Duration::ZERO,
            elapsed_before: Duration::ZERO,
            last_snapshot: Instant::now(),
            checkpoint_steps: control
                .checkpoint_plan()
                .map(|plan| plan.steps(total_steps).into())
                .unwrap_or_default(),
            last_checkpoint: None,
            data_layout: None,
        }
    }

    /// One step (waiting first while paused), then the progress report and the snapshot if they
    /// are due. False when the run is over: every step taken, cancelled or diverged.
    pub fn step(&mut self, on_event: &mut dyn FnMut(&TrainEvent)) -> bool {
        if self.stop.is_some() || self.step >= self.total_steps {
            return false;
        }
        self.paused_time += self.control.wait_while_paused();
        let n = self.split.train.rows();
        let Some(inputs) = self.inputs.as_ref().filter(|_| !self.control.is_cancelled() && n > 0) else {
            self.stop = Some(StopReason::Cancelled);
            return false;
        };
        if let Some(alpha) = self.control.take_alpha() {
            self.base_alpha = alpha;
        }
        let (step, batch) = (self.step, self.batch);
        let in_epoch = step % self.steps_per_epoch;
        if in_epoch == 0 && batch < n {
            self.order.shuffle(&mut self.shuffle_rng);
            self.shuffles += 1;
        }
        let rows = &self.order[in_epoch * batch..((in_epoch + 1) * batch).min(n)];
        let cancel = self.control.cancel_flag();
        let Some(gradient) = batch_gradients(self.model, inputs, rows, self.config, step, &mut self.workers, cancel)
        else {
            self.stop = Some(StopReason::Cancelled);
            return false;
        };
        let stats = gradient.stats;
        let first_loss = *self.first_loss.get_or_insert(stats.loss());
        if diverging(stats.loss(), first_loss) {
            self.model.clone_from(&self.last_good);
            self.stop = Some(StopReason::Diverged { step: step + 1 });
            return false;
        }
        let alpha = scheduled_alpha(
            self.config,
            self.base_alpha,
            step,
            self.total_steps,
            self.steps_per_epoch,
        );
        self.workers
            .apply_update(self.model, &gradient, &mut self.state, self.config, alpha);
        self.step += 1;
        self.since_report.add(stats);
        self.last_stats = stats;

        let step = self.step;
        if (step.is_multiple_of(self.config.report_every.max(1)) || step == self.total_steps)
            && !self.progress(alpha, on_event)
        {
            return false;
        }
        if let Some(every) = self.control.snapshot_every()
            && self.last_snapshot.elapsed() >= every
            && step < self.total_steps
            && self.model.is_finite()
        {
            on_event(&TrainEvent::Snapshot(self.snapshot()));
            self.last_snapshot = Instant::now();
        }
        self.send_due_checkpoint(on_event);
        step < self.total_steps
    }

    /// Sends a checkpoint if the plan has one at the current step (and the parameters are
    /// finite: a diverging run's are not worth resuming from).
    fn send_due_checkpoint(&mut self, on_event: &mut dyn FnMut(&TrainEvent)) {
        while self.checkpoint_steps.front().is_some_and(|&s| s < self.step) {
            self.checkpoint_steps.pop_front();
        }
        if self.checkpoint_steps.front() == Some(&self.step) && self.model.is_finite() {
            self.checkpoint_steps.pop_front();
            on_event(&TrainEvent::Checkpoint(Arc::new(self.checkpoint())));
        }
    }

    /// The run's whole state as it is now: resuming from it continues this run exactly.
    /// Copies the parameters and the moments the optimizer uses (6 MB for `best` with Adam).
    pub fn checkpoint(&mut self) -> Checkpoint {
        let split = self.split;
        let data = *self.data_layout.get_or_insert_with(|| DataLayout::of(split));
        self.last_checkpoint = Some(self.step);
        Checkpoint {
            step: self.step,
            total_steps: self.total_steps,
            model: Arc::new(self.model.clone()),
            optimizer: self.state.compact(self.config.optimizer),
            position: RunPosition {
                shuffles: self.shuffles,
                base_alpha: self.base_alpha,
                first_loss: self.first_loss,
                since_report: self.since_report.into(),
                last_stats: self.last_stats.into(),
                elapsed: self.elapsed(),
            },
            config: self.config.clone(),
            data,
        }
    }

    /// Training time so far, pauses excluded (with a resumed run's time before it).
    fn elapsed(&self) -> Duration {
        self.elapsed_before + self.start.elapsed().saturating_sub(self.paused_time)
    }

    /// Sends a progress report, with the dev accuracy when due, after checking that the
    /// parameters are finite (else restores the last good ones and stops: false).
    fn progress(&mut self, alpha: f32, on_event: &mut dyn FnMut(&TrainEvent)) -> bool {
        let step = self.step;
        if !self.model.is_finite() {
            self.model.clone_from(&self.last_good);
            self.stop = Some(StopReason::Diverged { step });
            return false;
        }
        self.last_good.clone_from(self.model);
        let dev = &self.split.dev;
        let evaluate_dev = dev.rows() > 0 && (step.is_multiple_of(self.dev_every) || step == self.total_steps);
        let model = &*self.model;
        let dev_accuracy = evaluate_dev.then(|| flushed(|| accuracy(model, dev)));
        on_event(&TrainEvent::Progress(Progress {
            step,
            total_steps: self.total_steps,
            epoch: step as f32 / self.steps_per_epoch as f32,
            loss: self.since_report.loss(),
            train_accuracy: self.since_report.accuracy(),
            dev_accuracy,
            alpha,
            elapsed: self.elapsed(),
        }));
        self.since_report = BatchStats::default();
        true
    }

    /// A copy of the parameters as they are now (one copy, 2 MB for `best`: the views share it).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            step: self.step,
            total_steps: self.total_steps,
            model: Arc::new(self.model.clone()),
        }
    }

    /// The parameters as they are now.
    pub fn model(&self) -> &Mlp {
        self.model
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Steps the run takes if nothing stops it.
    pub fn total_steps(&self) -> usize {
        self.total_steps
    }

    /// Ends the run: scores it, sends [`TrainEvent::Finished`] and returns the report.
    pub fn report(mut self, on_event: &mut dyn FnMut(&TrainEvent)) -> TrainReport {
        let train_seconds = self.elapsed().as_secs_f64();
        let stop = self.stop.clone().unwrap_or(StopReason::Completed);
        // A run stopped early still checkpoints where it stopped (a diverged one holds older
        // parameters than its step: none).
        if stop == StopReason::Cancelled
            && self.control.checkpoint_plan().is_some()
            && self.last_checkpoint != Some(self.step)
            && self.model.is_finite()
        {
            on_event(&TrainEvent::Checkpoint(Arc::new(self.checkpoint())));
        }
        let model = self.model;
        if stop == StopReason::Cancelled && !model.is_finite() {
            model.clone_from(&self.last_good);
        }
        let (train, dev) = (&self.split.train, &self.split.dev);
        // A finished run is scored on all its rows. A stopped or diverged one returns at once
        // instead of scoring 41,000 rows: its train accuracy is the last batches', and it claims
        // no dev accuracy (the last one measured belongs to earlier weights).
        let completed = stop == StopReason::Completed;
        let report = TrainReport {
            final_loss: self.last_stats.loss(),
            train_accuracy: if completed && train.rows() > 0 {
                flushed(|| accuracy(model, train))
            } else {
                self.last_stats.accuracy()
            },
            dev_accuracy: if completed && dev.rows() > 0 {
                Some(flushed(|| accuracy(model, dev)))
            } else {
                None
            },
            stop,
            steps: self.step,
            epochs: self.step as f32 / self.steps_per_epoch as f32,
            train_seconds,
            parameters: self.parameters,
        };
        on_event(&TrainEvent::Finished(report.clone()));
        report
    }
}

/// A run diverges when its loss becomes NaN or infinite, or explodes: the stable log-softmax
/// keeps the loss finite where the notebook's softmax overflowed, so a learning rate far too
/// large shows instead as a loss many times its starting value (and far above chance,
/// ln 10 = 2.3), after which the ReLUs die and the network outputs garbage.
fn diverging(loss: f32, first_loss: f32) -> bool {
    !loss.is_finite() || (loss > 10.0 * first_loss && loss > 10.0 * std::f32::consts::LN_10)
}

/// A freshly initialised model for `config` (28x28 digits).
pub fn init_model(config: &TrainConfig) -> Mlp {
    Mlp::new(&config.layer_sizes(), config.init, config.seed)
}

/// A freshly initialised model for `config` and the images and labels of `data`.
pub fn init_model_for(config: &TrainConfig, data: &Dataset) -> Mlp {
    let sizes = config.layer_sizes_for(data.image_pixels(), data.class_count());
    Mlp::new(&sizes, config.init, config.seed)
}

/// Accuracy of `model` on labelled `data`.
pub fn accuracy(model: &Mlp, data: &Dataset) -> f32 {
    if data.rows() == 0 {
        return 0.0;
    }
    let predictions = model.predict(&data.pixels);
    let correct = predictions.iter().zip(&data.labels).filter(|(p, l)| p == l).count();
    correct as f32 / data.rows() as f32
}

/// The learning rate of step `step` of `total`: `base` (the config's alpha, or the last one set
/// through [`TrainControl::set_alpha`]) on the config's schedule.
fn scheduled_alpha(config: &TrainConfig, base: f32, step: usize, total: usize, steps_per_epoch: usize) -> f32 {
    match config.schedule {
        Schedule::Constant => base,
        Schedule::Cosine => {
            let progress = step as f32 / total.max(1) as f32;
            base * 0.5 * (1.0 + (std::f32::consts::PI * progress).cos())
        }
        Schedule::Exponential(gamma) => base * gamma.powi((step / steps_per_epoch) as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Preset;
    use crate::train::test_support::{run, small_split};

    #[test]
    fn schedules() {
        let mut config = TrainConfig::preset(Preset::Best);
        assert_eq!(config.schedule, Schedule::Cosine);
        let alpha = |config: &TrainConfig, step| scheduled_alpha(config, 2.0, step, 100, 10);
        // Cosine: from alpha down to 0 over the run, half way at the middle.
        assert_eq!(alpha(&config, 0), 2.0);
        assert!((alpha(&config, 50) - 1.0).abs() < 1e-6, "{}", alpha(&config, 50));
        assert!((alpha(&config, 75) - (1.0 + (0.75 * std::f32::consts::PI).cos())).abs() < 1e-6);
        assert!(
            alpha(&config, 99) > 0.0 && alpha(&config, 99) < 1e-2,
            "{}",
            alpha(&config, 99)
        );
        // Exponential: times gamma after every epoch of 10 steps, constant within one.
        config.schedule = Schedule::Exponential(0.5);
        assert_eq!(alpha(&config, 9), 2.0);
        assert_eq!(alpha(&config, 10), 1.0);
        assert_eq!(alpha(&config, 25), 0.5);
        config.schedule = Schedule::Constant;
        assert_eq!(alpha(&config, 99), 2.0);
    }

    #[test]
    fn same_seed_same_model() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Best);
        config.hidden = vec![32];
        config.length = Length::Iterations(15);
        config.dropout = 0.1;
        let (a, ra) = run(&config, &split);
        let (b, rb) = run(&config, &split);
        assert_eq!(a, b);
        assert_eq!(ra.final_loss, rb.final_loss);
        config.seed = 1;
        assert_ne!(run(&config, &split).0, a);
    }

    #[test]
    fn seed_preset_learns_and_reports() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(200);
        let mut events = Vec::new();
        let mut model = init_model(&config);
        let report = train(&mut model, &config, &split, &TrainControl::new(), &mut |e| {
            events.push(e.clone());
        });
        assert_eq!(report.stop, StopReason::Completed);
        assert!(report.dev_accuracy.unwrap() > 0.6, "{report:?}");
        let progress: Vec<&Progress> = events
            .iter()
            .filter_map(|e| if let TrainEvent::Progress(p) = e { Some(p) } else { None })
            .collect();
        assert_eq!(progress.len(), 20);
        assert!(progress.last().unwrap().loss < progress[0].loss);
        assert!(matches!(events[0], TrainEvent::Started { total_steps: 200, .. }));
        assert!(matches!(events.last(), Some(TrainEvent::Finished(_))));
    }

    #[test]
    fn snapshots_show_the_model_as_it_learns_and_change_nothing() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(30);
        let (plain, _) = run(&config, &split);
        let mut model = init_model(&config);
        let mut snapshots = Vec::new();
        let control = TrainControl::with_snapshots(Duration::ZERO);
        train(&mut model, &config, &split, &control, &mut |e| {
            if let TrainEvent::Snapshot(s) = e {
                snapshots.push(s.clone());
            }
        });
        assert_eq!(model, plain, "taking snapshots changed the training");
        // Every step but the last (the finished model is the run's result).
        let steps: Vec<usize> = snapshots.iter().map(|s| s.step).collect();
        assert_eq!(steps, (1..30).collect::<Vec<_>>());
        assert!(snapshots.iter().all(|s| s.total_steps == 30));
        assert_ne!(*snapshots[0].model, *snapshots[28].model);
        assert_ne!(*snapshots[28].model, model);
        // A run without snapshot interval sends none.
        let mut count = 0;
        let mut model = init_model(&config);
        train(&mut model, &config, &split, &TrainControl::new(), &mut |e| {
            count += usize::from(matches!(e, TrainEvent::Snapshot(_)));
        });
        assert_eq!(count, 0);
    }

    /// The run flushes subnormals only inside its compute jobs: the caller's `on_event` runs in
    /// the caller's own floating-point mode (IEEE subnormals), at every event, for 1 and 2
    /// threads.
    #[test]
    fn events_reach_the_caller_in_its_own_floating_point_mode() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(20);
        config.report_every = 5;
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        for threads in [1, 2] {
            config.threads = threads;
            let mut model = init_model(&config);
            let (mut events, mut flushed) = (0, 0);
            train(&mut model, &config, &split, &TrainControl::new(), &mut |_| {
                events += 1;
                flushed += usize::from(std::hint::black_box(tiny) / 2.0 == 0.0);
            });
            assert!(events >= 5, "{events} events");
            assert_eq!(
                flushed, 0,
                "{flushed} of {events} events saw subnormals flushed ({threads} threads)"
            );
        }
    }

    #[test]
    fn a_run_stepped_by_hand_is_train() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(12);
        let (trained, report) = run(&config, &split);
        let mut model = init_model(&config);
        let control = TrainControl::new();
        let mut run = Run::new(&mut model, &config, &split, &control, &mut |_| {});
        assert_eq!(run.total_steps(), 12);
        let mut snapshots = Vec::new();
        while run.step(&mut |_| {}) {
            snapshots.push(run.snapshot());
            assert_eq!(snapshots.last().unwrap().step, run.steps());
            assert_eq!(*snapshots.last().unwrap().model, *run.model());
        }
        assert_eq!(run.steps(), 12);
        assert_eq!(snapshots.len(), 11, "after every step but the last");
        let by_hand = run.report(&mut |_| {});
        assert_eq!(model, trained);
        assert_eq!(by_hand.final_loss, report.final_loss);
        assert_eq!(by_hand.steps, report.steps);
    }

    #[test]
    fn huge_alpha_diverges_and_keeps_finite_weights() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.alpha = 10.0;
        config.length = Length::Iterations(300);
        let (model, report) = run(&config, &split);
        assert!(report.diverged(), "{report:?}");
        assert!(model.is_finite());
        assert!(report.message().contains("try a smaller alpha"));
    }

    #[test]
    fn divergence_rule() {
        assert!(diverging(f32::NAN, 2.3));
        assert!(diverging(f32::INFINITY, 2.3));
        assert!(diverging(500.0, 3.0));
        assert!(!diverging(2.4, 2.3));
        assert!(
            !diverging(25.0, 9.0),
            "a loss that starts high is not divergence by itself"
        );
    }
}
