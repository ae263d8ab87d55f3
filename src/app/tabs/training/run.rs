//! A training run: its job, its events, and what the app does with them.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::data::{Dataset, Split};
use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::train::{
    self, Checkpoint, CheckpointPlan, Progress, Snapshot, StopReason, TrainConfig, TrainControl, TrainEvent,
    TrainReport,
};
use crate::trained::{TrainedModel, TrainingData, train_model, train_model_from};

use crate::app::runs::Parent;
use crate::app::tabs::training::controls::TrainAction;
use crate::app::version::Version;
use crate::app::{App, Job, SNAPSHOT_EVERY, Worker};

/// What a training job reports. (Few and short-lived: variant sizes do not matter.)
#[allow(clippy::large_enum_variant)]
pub enum TrainingEvent {
    /// The training thread made a new dev split (dev size or seed changed).
    Split {
        /// The data the split was made from (the app may have loaded other data meanwhile).
        dataset: Arc<Dataset>,
        key: (usize, u64),
        split: Arc<Split>,
    },
    Progress(TrainEvent),
    /// The run's latest snapshot waits in its [`TrainControl`]: sent once per take, so the
    /// channel holds no copies of the parameters.
    SnapshotReady,
    /// A checkpoint for the timeline (a few dozen per run, each sent once).
    Checkpoint(Arc<Checkpoint>),
    /// A branch could not start from its checkpoint (the message says why); nothing trained.
    Refused(String),
    Done {
        model: Mlp,
        /// What its file says (the data it learnt from, the settings as the user set them).
        info: ModelInfo,
        report: TrainReport,
        config: TrainConfig,
    },
}

/// Training in this session: the run in progress, how many were started, how the last ended.
#[derive(Default)]
pub struct Training {
    pub run: Option<TrainingRun>,
    /// Runs started this session (for "run #3").
    pub runs_started: usize,
    /// The last finished run's message.
    pub last_run: Option<String>,
    /// Training threads alive (at most one unless the app has a bug).
    pub threads_alive: Arc<AtomicUsize>,
}

/// A training run in progress.
pub struct TrainingRun {
    pub control: Arc<TrainControl>,
    /// Runs are numbered from 1 in each session ("run #3").
    pub number: usize,
    /// Its record in the runs table and its curves on the plot.
    pub id: usize,
    /// The settings it started with (a value typed into a field commits when Train is clicked,
    /// so this can differ from the settings of the frame before).
    pub config: TrainConfig,
    /// The learning rate the run uses now (the alpha slider while it runs).
    pub alpha: f32,
    pub total_steps: usize,
    pub last: Option<Progress>,
    pub last_dev: Option<f32>,
    /// The latest snapshot of its parameters: what the views show while it trains.
    pub live: Option<Snapshot>,
    /// Changes with `live`.
    pub live_version: Version,
}

impl TrainingRun {
    pub fn is_paused(&self) -> bool {
        self.control.is_paused()
    }

    /// The run's name, from its config ("784-10-10 gd full a=0.1").
    pub fn label(&self) -> String {
        self.config.label()
    }

    /// "run #3, step 1,200 of 6,420" for the latest snapshot (or "run #3, starting").
    pub fn caption(&self) -> String {
        match &self.live {
            Some(s) => format!(
                "run #{}, step {} of {}",
                self.number,
                crate::app::format::fmt_count(s.step),
                crate::app::format::fmt_count(s.total_steps)
            ),
            None => format!("run #{}, starting", self.number),
        }
    }
}

/// Counts a training thread as alive until dropped (also when it unwinds).
struct Alive(Arc<AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Worker {
    /// Trains a fresh model for `config` on a thread; `split` is reused when it was made with the
    /// config's dev size and seed. `class_names` and `transposed` describe `dataset` for the
    /// model's file, taken now: other data may be loaded before the run ends.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &self,
        threads_alive: &Arc<AtomicUsize>,
        config: TrainConfig,
        dataset: Arc<Dataset>,
        split: Option<Arc<Split>>,
        class_names: Vec<String>,
        transposed: bool,
        control: Arc<TrainControl>,
        from: Option<Arc<Checkpoint>>,
    ) {
        threads_alive.fetch_add(1, Ordering::SeqCst);
        let alive = Alive(threads_alive.clone());
        // Training keeps the normal priority. At nice 10 it lost the CPU to every other process
        // that woke up, the X server among them, and ran about 15% slower than the command line
        // (bench/app_vs_cli.sh); at the normal priority the scheduler still favours the UI
        // thread, which mostly sleeps: with the UI repainting continuously while `seed` trains,
        // frames stayed at p95 23 ms.
        self.spawn(Job::Train, None, move |out, fault| {
            let split = match split {
                Some(split) => split,
                None => {
                    let split = Arc::new(dataset.split(config.dev_size, config.seed));
                    out.send(TrainingEvent::Split {
                        dataset: dataset.clone(),
                        key: (config.dev_size, config.seed),
                        split: split.clone(),
                    });
                    split
                }
            };
            // Left to us, the threads leave the UI a core when there are more than two. Only
            // this run's copy says so: the model records the config as the user set it (the
            // model is the same for any count).
            let threads = match config.threads {
                0 => train::threads_beside_a_ui(),
                n => n,
            };
            let data = TrainingData {
                dataset: &dataset,
                split: &split,
                class_names: &class_names,
                transposed,
            };
            let mut on_event = |event: &TrainEvent| {
                match event {
                    // Only the latest is wanted: it waits in the control, not in the channel.
                    TrainEvent::Snapshot(snapshot) => {
                        if control.offer_snapshot(snapshot.clone()) {
                            out.send_throttled(TrainingEvent::SnapshotReady);
                        }
                    }
                    // Every one is kept: never dropped or merged. Handed over at once, not at
                    // the next throttled repaint: a run's first checkpoints come a few steps
                    // apart, and `best`'s (6.4 MB each) piled up in the channel for 400 ms at a
                    // time before the app could thin them (+50 MB at a branch's start).
                    TrainEvent::Checkpoint(checkpoint) => {
                        out.send(TrainingEvent::Checkpoint(checkpoint.clone()));
                    }
                    _ => out.send_throttled(TrainingEvent::Progress(event.clone())),
                }
                if let TrainEvent::Progress(_) = event {
                    // Mid-run, after the plots have points.
                    fault.point();
                }
            };
            let trained = match &from {
                None => train_model(data, &config, threads, &control, &mut on_event),
                Some(checkpoint) => match train_model_from(data, checkpoint, &config, threads, &control, &mut on_event)
                {
                    Ok(trained) => trained,
                    Err(why) => {
                        drop(alive);
                        out.send(TrainingEvent::Refused(why));
                        return;
                    }
                },
            };
            // No longer counted once the app can see the run end.
            drop(alive);
            let TrainedModel { model, info, report } = trained;
            out.send(TrainingEvent::Done {
                model,
                info,
                report,
                config,
            });
        });
    }
}

impl App {
    /// Applies what the training job reported.
    pub(crate) fn training_event(&mut self, event: TrainingEvent) {
        match event {
            TrainingEvent::Split { dataset, key, split } => {
                // Only for the data the run started with: other data may have been loaded since.
                if let Some(data) = &mut self.session.data
                    && Arc::ptr_eq(&data.dataset, &dataset)
                {
                    data.set_split(split, key);
                    self.changed();
                }
            }
            TrainingEvent::Progress(event) => self.training_progress(event),
            TrainingEvent::SnapshotReady => {
                if let Some(snapshot) = self.training.run.as_ref().and_then(|t| t.control.take_snapshot()) {
                    self.training_progress(TrainEvent::Snapshot(snapshot));
                }
            }
            TrainingEvent::Checkpoint(checkpoint) => {
                if let Some(id) = self.training.run.as_ref().map(|t| t.id) {
                    self.run_checkpoint(id, checkpoint);
                }
            }
            TrainingEvent::Refused(why) => {
                if let Some(run) = self.training.run.take() {
                    self.runs.delete_refused(run.id);
                    self.tabs.training.plots.remove(run.id);
                }
                self.messages.error = Some(format!("Cannot train from here: {why}."));
                self.changed();
            }
            TrainingEvent::Done {
                model,
                info,
                report,
                config,
            } => self.training_done(model, info, &report, &config),
        }
    }

    pub(crate) fn train_action(&mut self, action: TrainAction) {
        match action {
            TrainAction::Train => self.start_run(None),
            TrainAction::Pause => {
                if let Some(t) = &self.training.run {
                    t.control.pause();
                }
            }
            TrainAction::Resume => {
                if let Some(t) = &self.training.run {
                    t.control.resume();
                }
            }
            TrainAction::Stop => {
                if let Some(t) = &self.training.run {
                    t.control.cancel();
                }
            }
            TrainAction::Alpha(alpha) => {
                if let Some(t) = &mut self.training.run {
                    t.control.set_alpha(alpha);
                    t.alpha = alpha;
                }
            }
            TrainAction::Reset => {
                self.messages.notice = Some(format!("Settings reset to the {} preset.", self.settings.config.preset));
            }
        }
    }

    /// Starts a run: from scratch, or from a checkpoint (a branch of the run `Parent`).
    pub(crate) fn start_run(&mut self, from: Option<(Parent, Arc<Checkpoint>)>) {
        if self.training.run.is_some() {
            return;
        }
        if self.teaching.run.is_some() {
            self.messages.error = Some("Fine-tuning is under way: stop it or wait for it before training.".into());
            return;
        }
        let Some(data) = &self.session.data else {
            self.messages.error = Some("Load training data first.".into());
            return;
        };
        let config = self.settings.config.clone();
        if let Err(e) = config.validate() {
            self.messages.error = Some(e);
            return;
        }
        // The split made at loading is reused when the dev size and seed still match.
        let key = (config.dev_size, config.seed);
        let split = (data.split_key == key).then(|| data.split.clone());
        let control =
            Arc::new(TrainControl::with_snapshots(SNAPSHOT_EVERY).with_checkpoints(CheckpointPlan::default()));
        self.training.runs_started += 1;
        self.tabs.training.plots.start_run(config.label());
        let id = self.tabs.training.plots.started;
        let checkpoint = from.as_ref().map(|(_, c)| c.clone());
        // What its checkpoints' files will say about the data.
        let info = ModelInfo::trained(&config, None, &data.dataset, data.class_names.clone(), data.transposed);
        let alpha = config.alpha;
        self.jobs.runner.train(
            &self.training.threads_alive,
            config.clone(),
            data.dataset.clone(),
            split,
            data.class_names.clone(),
            data.transposed,
            control.clone(),
            checkpoint,
        );
        self.run_started(id, config.clone(), info, from);
        self.training.run = Some(TrainingRun {
            control,
            number: self.training.runs_started,
            id,
            config,
            alpha,
            total_steps: 0,
            last: None,
            last_dev: None,
            live: None,
            live_version: Version::next(),
        });
        self.messages.error = None;
        self.training.last_run = None;
    }

    fn training_progress(&mut self, event: TrainEvent) {
        let Some(training) = &mut self.training.run else { return };
        let id = training.id;
        match event {
            TrainEvent::Snapshot(snapshot) => {
                training.live = Some(snapshot);
                training.live_version = Version::next();
                self.evaluate_live();
            }
            TrainEvent::Started { total_steps, .. } => {
                training.total_steps = total_steps;
                if let Some(record) = self.runs.get_mut(id) {
                    record.total_steps = total_steps;
                }
            }
            TrainEvent::Progress(p) => {
                self.tabs.training.plots.push_to(id, &p);
                self.run_progress(id, &p);
                let Some(training) = &mut self.training.run else { return };
                if p.dev_accuracy.is_some() {
                    training.last_dev = p.dev_accuracy;
                }
                training.last = Some(p);
            }
            TrainEvent::Finished(_) | TrainEvent::Checkpoint(_) => {}
        }
    }

    fn training_done(&mut self, model: Mlp, info: ModelInfo, report: &TrainReport, config: &TrainConfig) {
        if let Some(run) = self.training.run.take() {
            self.run_finished(run.id, report);
        }
        let mut message = report.message();
        if let Some(dev) = report.dev_accuracy {
            message.push_str(&format!(" · dev accuracy {:.2}%", dev * 100.0));
        }
        if report.steps > 0 {
            // The views keep the last snapshot's predictions until the final model's arrive
            // (the model from before the run's are dropped at once).
            if !self.session.evals.shown.as_ref().is_some_and(|e| e.live) {
                self.session.evals.shown = None;
            }
            self.install_model(model, info, format!("trained: {}", config.label()));
            self.finetuned_model_replaced();
        } else {
            // Back to the model from before: its predictions are not the snapshot's.
            self.changed();
            message.push_str(" · the previous model stays");
        }
        if let StopReason::Diverged { .. } = report.stop {
            self.messages.error = Some(format!("{message} (the last good model is kept)"));
        }
        // One line per run on stderr, for whoever started the app from a terminal (and for
        // timing the app against the command line: bench/app_vs_cli.sh).
        // Not `eprintln!`, which panics when stderr is a closed pipe.
        let _ = writeln!(
            std::io::stderr(),
            "training: {message} ({}) [{:.3} s]",
            config.label(),
            report.train_seconds
        );
        self.training.last_run = Some(message.clone());
        self.messages.notice = Some(message);
    }
}
