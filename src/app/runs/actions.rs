//! What the app does for the runs: records each run's checkpoints and curve, moves the timeline
//! (the views follow through [`App::shown_model`]), predicts the dev set for the checkpoint on
//! screen through the evaluation job (cached per checkpoint, the last result shown meanwhile),
//! and carries out the runs table's and the timeline's actions.

use std::io::Write;
use std::sync::Arc;

use crate::model_file::ModelInfo;
use crate::train::{Checkpoint, Progress, TrainConfig, TrainReport};

use crate::app::App;
use crate::app::files::actions::FileAction;
use crate::app::runs::table::TableAction;
use crate::app::runs::timeline::{self, Size, TimelineAction};
use crate::app::runs::{Parent, Position, RunRecord};
use crate::app::tabs::Tab;
use crate::app::tabs::samples::evaluation::{EvalKey, Evaluated, Urgency};

/// The longest a training run waits for a timeline move's prediction.
const HOLD_AT_MOST: std::time::Duration = std::time::Duration::from_millis(500);

impl App {
    /// A run started: its record (`parent`: the checkpoint it branches from).
    pub(crate) fn run_started(
        &mut self,
        id: usize,
        config: TrainConfig,
        info: ModelInfo,
        parent: Option<(Parent, Arc<Checkpoint>)>,
    ) {
        let (parent, from) = match parent {
            Some((p, checkpoint)) => (Some(p), Some(checkpoint)),
            None => (None, None),
        };
        let mut record = RunRecord::new(id, config, parent);
        record.info = info;
        if let Some(checkpoint) = from {
            // The branch's curve starts at the branch step, with the loss and accuracy of the
            // parent's last step before it.
            if let Some(first) = crate::run_folder::progress_at(&checkpoint) {
                let first = Progress {
                    alpha: record.config.alpha,
                    ..first
                };
                self.tabs.training.plots.push_to(id, &first);
                record.reports.push(first);
            }
            let kept = crate::app::runs::Kept::new(checkpoint);
            record.checkpoints.push(kept, usize::MAX, |_| false);
        }
        if let Some(run) = self.tabs.training.plots.runs.last_mut() {
            run.branch = record.parent.is_some();
            run.label = record.plot_label();
        }
        self.runs.start(record);
    }

    /// A progress report of run `id`.
    pub(crate) fn run_progress(&mut self, id: usize, progress: &Progress) {
        if let Some(record) = self.runs.get_mut(id) {
            record.reports.push(progress.clone());
            record.total_steps = record.total_steps.max(progress.total_steps);
        }
    }

    pub(crate) fn run_checkpoint(&mut self, id: usize, checkpoint: Arc<Checkpoint>) {
        if let Some(record) = self.runs.get_mut(id) {
            record.total_steps = record.total_steps.max(checkpoint.total_steps);
        }
        self.runs.add_checkpoint(id, checkpoint);
    }

    pub(crate) fn run_finished(&mut self, id: usize, report: &TrainReport) {
        if let Some(record) = self.runs.get_mut(id) {
            record.training = false;
            record.report = Some(report.clone());
        }
    }

    /// Before every frame: Play moves on, the views get the predictions of the checkpoint on
    /// screen (from the cache, else predicted off the UI thread), and while idle the timeline's
    /// other checkpoints are predicted ahead, nearest first.
    pub(crate) fn sync_timeline(&mut self, ctx: &egui::Context) {
        // Never hold a run for long, whatever became of the prediction.
        if self
            .runs
            .holding
            .is_some_and(|(_, since)| since.elapsed() > HOLD_AT_MOST)
        {
            self.release_training();
        }
        if let Some(record) = self.runs.timeline_record() {
            let id = record.id;
            let steps: Vec<usize> = record.checkpoints.iter().map(|k| k.step()).collect();
            if let Some(next) = self.runs.timeline.tick(self.runs.position, &steps, ctx) {
                match next {
                    Some(step) => self.runs.go_to(id, step),
                    None => self.runs.timeline.playing = false,
                }
            }
        }
        let Some(data) = &self.session.data else { return };
        let dev = data.dev_version;
        let split = data.split.clone();
        let Some((record, kept)) = self.runs.on_screen() else {
            // Back to live: the predictions kept for it return.
            if self.runs.given.take().is_some() {
                self.session.evals.shown = self.runs.stash.take();
                if self.session.evals.shown.is_none() {
                    self.model_replaced();
                }
            }
            self.predict_ahead(split, dev);
            return;
        };
        let (version, kept_step) = (kept.version, kept.step());
        if self.runs.given != Some(version) || self.session.evals.shown.is_none() {
            if let Some(cached) = self.runs.cached(version, dev) {
                let cached = cached.clone();
                if self.runs.given.is_none() {
                    self.runs.stash = self.session.evals.shown.take();
                }
                self.session.evals.shown = Some(cached);
                self.runs.given = Some(version);
                // Measured with DIGIT_RECOGNIZER_FRAME_STATS=1: from the move to the views having
                // the checkpoint's model and predictions (they draw it in this frame).
                if let Some(moved) = self.runs.moved.take()
                    && self.frame_stats.enabled
                {
                    let _ = writeln!(
                        std::io::stderr(),
                        "timeline: step {} on screen {:.1} ms after the move",
                        kept_step,
                        moved.elapsed().as_secs_f64() * 1000.0
                    );
                }
            } else if !self.runs.asked.contains(&version)
                // Beside one prediction ahead at most (the first move after a run waited 150 ms
                // behind one), never behind another move's: a fast drag skips checkpoints
                // instead of queueing them.
                && self.runs.asked.iter().all(|v| Some(*v) == self.runs.ahead)
                && split.dev.rows() > 0
                // An opened run of another data set's images cannot read this dev set.
                && crate::evaluate::check_fits(&kept.checkpoint.model, &split.dev, "").is_ok()
            {
                let caption = crate::app::runs::caption(record, kept);
                let model = kept.checkpoint.model.clone();
                self.ask_checkpoint(version, model, split, caption, Urgency::Waited);
            }
            return;
        }
        self.predict_ahead(split, dev);
    }

    /// Lets a run held for a timeline move go on (see [`Self::ask_checkpoint`]).
    pub(crate) fn release_training(&mut self) {
        self.runs.holding = None;
        if let Some(run) = &self.training.run {
            run.control.release();
        }
    }

    /// Ahead of the user: the timeline's other checkpoints, one at a time, while nothing trains
    /// (live too, so that the first drag back after a run finds them ready).
    fn predict_ahead(&mut self, split: Arc<crate::data::Split>, dev: crate::app::version::Version) {
        if self.runs.asked.is_empty()
            && self.training.run.is_none()
            && split.dev.rows() > 0
            && let Some((record, kept)) = self.runs.next_to_predict(dev)
            && crate::evaluate::check_fits(&kept.checkpoint.model, &split.dev, "").is_ok()
        {
            let caption = crate::app::runs::caption(record, kept);
            let (version, model) = (kept.version, kept.checkpoint.model.clone());
            self.ask_checkpoint(version, model, split, caption, Urgency::Background);
            self.runs.ahead = Some(version);
        }
    }

    fn ask_checkpoint(
        &mut self,
        version: crate::app::version::Version,
        model: Arc<crate::network::Mlp>,
        split: Arc<crate::data::Split>,
        caption: String,
        urgency: Urgency,
    ) {
        self.runs.asked.push(version);
        // A run training takes every core: it waits at its next step until the views have the
        // checkpoint (during `best`, such a move took 176-288 ms beside it).
        if urgency == Urgency::Waited
            && let Some(run) = &self.training.run
        {
            run.control.hold();
            self.runs.holding = Some((version, std::time::Instant::now()));
        }
        let key = EvalKey {
            predicted: version,
            base: self.session.eval_base(),
        };
        self.jobs.runner.evaluate(key, model, split, caption, true, urgency);
    }

    /// A checkpoint's predictions arrived: cached, and shown at the next frame if it is still
    /// on screen. Returned when they are not a checkpoint's (the caller handles them).
    pub(crate) fn checkpoint_evaluated(&mut self, evaluated: Evaluated) -> Option<Evaluated> {
        let version = evaluated.key.predicted;
        let Some(i) = self.runs.asked.iter().position(|v| *v == version) else {
            return Some(evaluated);
        };
        self.runs.asked.remove(i);
        if self.runs.ahead == Some(version) {
            self.runs.ahead = None;
        }
        if self.runs.holding.is_some_and(|(v, _)| v == version) {
            self.release_training();
        }
        let dev = self.session.data.as_ref().map(|d| d.dev_version)?;
        if evaluated.key.base.1 == Some(dev) {
            self.runs.cache(version, dev, evaluated.eval);
        }
        None
    }

    /// The dev set's predictions arrived: a checkpoint's go to the timeline's cache; others
    /// are applied as usual, to the live predictions kept aside while the timeline is back.
    pub(crate) fn dev_predicted(&mut self, evaluated: Evaluated) {
        let Some(evaluated) = self.checkpoint_evaluated(evaluated) else {
            return;
        };
        if self.runs.given.is_some() {
            std::mem::swap(&mut self.session.evals.shown, &mut self.runs.stash);
            self.evaluated(evaluated);
            std::mem::swap(&mut self.session.evals.shown, &mut self.runs.stash);
        } else {
            self.evaluated(evaluated);
        }
    }

    /// Carries out a timeline action.
    pub(crate) fn timeline_action(&mut self, action: TimelineAction) {
        match action {
            TimelineAction::Go { run, step } => {
                self.runs.timeline.playing = false;
                self.runs.go_to(run, step);
            }
            TimelineAction::Live => self.runs.go_live(),
            TimelineAction::Play => {
                if let Some(record) = self.runs.timeline_record() {
                    let (id, first, last) = (
                        record.id,
                        record.checkpoints.first().map(|k| k.step()),
                        record.checkpoints.last().map(|k| k.step()),
                    );
                    // From the start when at the end.
                    let at_end = match self.runs.position {
                        Position::At { step, .. } => Some(step) == last,
                        Position::Live => true,
                    };
                    if at_end && let Some(first) = first {
                        self.runs.go_to(id, first);
                    }
                    self.runs.timeline.start();
                }
            }
            TimelineAction::Pause => self.runs.timeline.playing = false,
            TimelineAction::TrainFromHere => self.train_from_here(),
        }
    }

    /// Why Train from here cannot start now (None: it can).
    pub(crate) fn cannot_branch(&self) -> Option<String> {
        if self.training.run.is_some() || self.teaching.run.is_some() {
            return Some("A run is under way: stop it or wait for it first.".into());
        }
        let Some((_, kept)) = self.runs.on_screen() else {
            return Some("Drag the timeline back to a checkpoint first.".into());
        };
        let data = self.session.data.as_ref()?;
        kept.checkpoint
            .check_resume(&self.settings.config, &data.split)
            .err()
            .map(|why| format!("Cannot train from here: {why}."))
    }

    /// Starts a run from the checkpoint on screen with the current settings.
    pub(crate) fn train_from_here(&mut self) {
        if let Some(why) = self.cannot_branch() {
            self.messages.error = Some(why);
            return;
        }
        let Some((record, kept)) = self.runs.on_screen() else {
            return;
        };
        let parent = Parent {
            id: record.id,
            name: record.name.clone(),
            step: kept.step(),
        };
        let checkpoint = kept.checkpoint.clone();
        self.start_run(Some((parent, checkpoint)));
        // The new run's curves and checkpoints come live.
        self.runs.go_live();
    }

    /// Carries out a runs table action.
    pub(crate) fn table_action(&mut self, action: TableAction) {
        match action {
            TableAction::Show(id, visible) => {
                if let Some(record) = self.runs.get_mut(id) {
                    record.visible = visible;
                }
                self.tabs.training.plots.set_hidden(id, !visible);
            }
            TableAction::Select(id) => {
                self.tabs.training.table.selected = Some(id);
                self.runs.timeline_run = Some(id);
                // A chosen run's timeline starts at its end.
                if let Some(last) = self.runs.get(id).and_then(|r| r.checkpoints.last()).map(|k| k.step())
                    && !self.runs.get(id).is_some_and(|r| r.training)
                {
                    self.runs.go_to(id, last);
                }
            }
            TableAction::Rename(id, name) => {
                if let Some(record) = self.runs.get_mut(id) {
                    record.name = name;
                    let label = record.plot_label();
                    self.tabs.training.plots.rename(id, label);
                }
            }
            TableAction::Delete(id) => {
                if let Some(record) = self.runs.delete(id) {
                    self.tabs.training.plots.remove(id);
                    self.messages.notice = Some(format!(
                        "Deleted {} and its {} checkpoints.",
                        record.name,
                        record.checkpoints.len()
                    ));
                }
            }
            TableAction::Save(id) => {
                self.runs.to_save = Some(id);
                self.start_file_action(FileAction::SaveRun);
            }
            TableAction::Open => self.start_file_action(FileAction::OpenRun),
            TableAction::Export => self.start_file_action(FileAction::ExportRuns),
        }
    }

    /// The Training tab: the curves with the timeline's marker, the timeline, the runs table.
    pub(crate) fn training_tab(&mut self, ui: &mut egui::Ui) {
        self.tabs.training.plots.marker = self.runs.on_screen().map(|(r, k)| (r.id, k.step()));
        let table_height = (ui.available_height() * 0.28).clamp(120.0, 260.0);
        let plots_height = (ui.available_height() - table_height - 40.0).max(240.0);
        ui.allocate_ui(egui::vec2(ui.available_width(), plots_height), |ui| {
            self.tabs.training.ui(ui);
        });
        let cannot = self.cannot_branch();
        if let Some(action) = timeline::ui(ui, &self.runs, Size::Full, cannot.as_deref()) {
            self.timeline_action(action);
        }
        ui.separator();
        if let Some(action) = self.tabs.training.table.ui(ui, &self.runs) {
            self.table_action(action);
        }
    }

    /// The status bar's compact timeline (every tab).
    pub(crate) fn status_timeline(&mut self, ui: &mut egui::Ui) {
        if self.settings.tab == Tab::Training || self.runs.records.is_empty() {
            return;
        }
        if let Some(action) = timeline::ui(ui, &self.runs, Size::Compact, None) {
            self.timeline_action(action);
        }
    }
}
