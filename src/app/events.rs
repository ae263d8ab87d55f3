//! What the app does with each report from the worker threads ([`WorkerEvent`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::data::DataKind;
use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::train::{StopReason, TrainConfig, TrainEvent, TrainReport};

use crate::app::App;
use crate::app::files::actions::FileAction;
use crate::app::files::replace_prompt::ReplaceQuestion;
use crate::app::format::{describe_model, fmt_count};
use crate::app::jobs::runner::{DataRole, EvalResult, Job, LoadedData, WorkerEvent, file_name};
use crate::app::session::{LoadSlot, TestData, TrainData};

impl App {
    /// Applies one worker report to the app's state.
    pub(crate) fn handle(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Progress { id, fraction } => {
                if let Some(t) = self.tasks.iter_mut().find(|t| t.id == id) {
                    t.progress = Some(fraction);
                }
            }
            WorkerEvent::DataLoaded { id, data } => {
                self.task_done(id);
                self.data_loaded(id, data);
            }
            WorkerEvent::ModelLoaded { id, path, model, info } => {
                self.task_done(id);
                // A model asked for since wins, even if this one took longer.
                if !self.newest_loads.claim(LoadSlot::Model, id) {
                    return;
                }
                let name = file_name(&path);
                self.notice = Some(format!("Opened model {name}: {}", describe_model(&model)));
                self.set_model(model, info, name);
                self.model_path = Some(path);
                self.finetuned_model_replaced();
                self.error = None;
            }
            WorkerEvent::ModelSaved { id, path, version } => {
                self.task_done(id);
                match &mut self.model {
                    // The file holds the current model: it goes by the file's name now, and the
                    // file is one of the app's inputs (never exported onto).
                    Some(m) if version == self.model_version => {
                        m.name = file_name(&path);
                        self.notice = Some(format!("Saved the model to {}", path.display()));
                        self.model_path = Some(path);
                    }
                    // A run or an open replaced the model during the save.
                    _ => {
                        self.notice = Some(format!(
                            "Saved the model from before to {}; the current model is not saved",
                            path.display()
                        ));
                    }
                }
            }
            WorkerEvent::Exported { id, path, rows } => {
                self.task_done(id);
                self.notice = Some(format!("Wrote {} predictions to {}", fmt_count(rows), path.display()));
            }
            WorkerEvent::Wrote { id, message } => {
                self.task_done(id);
                self.notice = Some(message);
            }
            WorkerEvent::Failed { id, message } => self.task_failed(id, message),
            WorkerEvent::ReplaceAsked {
                id,
                action,
                path,
                question,
            } => {
                self.task_done(id);
                self.pending_replace = Some(ReplaceQuestion { action, path, question });
            }
            WorkerEvent::Evaluated { generation, eval } => self.evaluated(generation, eval),
            WorkerEvent::TrainSplit { dataset, key, split } => {
                // Only for the data the run started with: other data may have been loaded since.
                if let Some(data) = &mut self.data
                    && Arc::ptr_eq(&data.dataset, &dataset)
                {
                    data.split = split;
                    data.split_key = key;
                    self.changed();
                }
            }
            WorkerEvent::Crashed { job, task, message } => self.job_crashed(job, task, &message),
            WorkerEvent::Train(event) => self.training_progress(event),
            WorkerEvent::SnapshotReady => self.snapshot_ready(),
            WorkerEvent::TrainDone { model, report, config } => self.training_done(model, &report, &config),
            WorkerEvent::Picked { action, path } => self.file_picked(action, path),
            WorkerEvent::WriteCleared { id } => self.plot_path_cleared(id),
            WorkerEvent::Teach(event) => self.teach_event(event),
        }
    }

    /// Transposes the training images (the side panel's EMNIST toggle), or turns them back.
    pub(crate) fn transpose_data(&mut self) {
        if self.training.is_some() {
            return;
        }
        let Some(data) = &mut self.data else { return };
        let mut dataset = (*data.dataset).clone();
        dataset.transpose_images();
        data.split = Arc::new(dataset.split(data.split_key.0, data.split_key.1));
        data.dataset = Arc::new(dataset);
        data.transposed = !data.transposed;
        self.changed();
    }

    fn data_loaded(&mut self, id: u64, loaded: LoadedData) {
        let LoadedData {
            path,
            role,
            dataset,
            split,
            split_key,
            seconds,
            class_names,
            label_warning,
        } = loaded;
        let name = file_name(&path);
        let summary = format!(
            "Loaded {name}: {} rows of {} data in {seconds:.2} s",
            fmt_count(dataset.rows()),
            dataset.kind
        );
        let is_train = matches!(
            (role, dataset.kind, &split),
            (DataRole::Train | DataRole::Any, DataKind::Train, Some(_))
        );
        let slot = if is_train {
            LoadSlot::TrainData
        } else {
            LoadSlot::TestData
        };
        // Data of the kind asked for since wins, even if this load took longer.
        if !self.newest_loads.claim(slot, id) {
            return;
        }
        match (role, dataset.kind, split) {
            (DataRole::Train | DataRole::Any, DataKind::Train, Some(split)) => {
                self.data = Some(TrainData {
                    name,
                    path: Some(path),
                    class_names,
                    transposed: false,
                    dataset,
                    split,
                    split_key,
                    seconds,
                });
                self.changed();
            }
            _ => {
                self.test = Some(TestData {
                    name,
                    path,
                    dataset,
                    seconds,
                });
                if std::mem::take(&mut self.pending_export) {
                    self.start_file_action(FileAction::ExportSubmission);
                }
            }
        }
        let mut notice = summary;
        for problem in label_warning.into_iter().chain(self.fit_problem()) {
            notice = format!("{notice} · {problem}");
        }
        self.notice = Some(notice);
        self.error = None;
    }

    /// Why the current model cannot predict the training data's dev set, if it cannot (a model
    /// of another image size or label space).
    pub(crate) fn fit_problem(&self) -> Option<String> {
        let (model, data) = (self.model.as_ref()?, self.data.as_ref()?);
        crate::evaluate::check_fits(&model.model, &data.split.dev, &data.name)
            .err()
            .map(|e| format!("{e}: train a model on it, or open one that fits"))
    }

    fn task_failed(&mut self, id: u64, message: String) {
        let cancelled = self
            .tasks
            .iter()
            .find(|t| t.id == id)
            .is_some_and(|t| t.cancel.load(Ordering::Relaxed));
        self.task_done(id);
        if cancelled {
            self.notice = Some(format!("Cancelled: {message}"));
        } else {
            self.error = Some(message);
        }
        self.pending_export = false;
    }

    /// A job panicked: say so, and drop whatever it was doing (the state before it stays).
    fn job_crashed(&mut self, job: Job, task: Option<u64>, message: &str) {
        let mut text = format!("Internal error while {}: {message}.", job.doing());
        match job {
            Job::Train => {
                self.training = None;
                let run = "the run crashed · the previous model stays".to_owned();
                self.last_run = Some(run.clone());
                self.notice = Some(run);
                text.push_str(" The run was abandoned; the data and model from before are kept.");
            }
            Job::Pick => {
                self.dialog_open = false;
                self.pending_export = false;
            }
            Job::Finetune => {
                self.teaching.run = None;
                text.push_str(" Fine-tuning was abandoned; the model from before is kept.");
            }
            Job::MyDigits => {
                if self.teaching.digits.is_none() {
                    // Reading them failed: never save over the file.
                    self.teaching.stop_saving();
                    self.teaching.digits = Some(crate::my_digits::MyDigits::default());
                    text.push_str(" My digits on disk are unchanged, and new ones are not saved this session.");
                }
            }
            Job::Evaluate => {
                self.evals_in_flight = self.evals_in_flight.saturating_sub(1);
                text.push_str(" The dev predictions are not shown.");
            }
            Job::LoadData | Job::LoadModel | Job::SaveModel | Job::Export | Job::ExportCurves | Job::ExportPlot => {
                self.pending_export = false;
                text.push_str(" The data and model from before are kept.");
            }
        }
        if let Some(id) = task {
            self.task_done(id);
        }
        self.error = Some(text);
    }

    fn evaluated(&mut self, generation: u64, eval: EvalResult) {
        self.evals_in_flight = self.evals_in_flight.saturating_sub(1);
        // Predictions of a model or dev set replaced since are dropped, and while a run trains
        // the model from before it does not replace a snapshot's.
        let replaces_live = self.training.is_some() && !eval.live && self.eval.as_ref().is_some_and(|e| e.live);
        if generation == self.generation && !replaces_live {
            self.eval = Some(eval);
        }
    }

    fn training_progress(&mut self, event: TrainEvent) {
        let Some(training) = &mut self.training else { return };
        match event {
            TrainEvent::Snapshot(snapshot) => {
                training.live = Some(snapshot);
                self.view_key += 1;
                self.evaluate_live();
            }
            TrainEvent::Started { total_steps, .. } => training.total_steps = total_steps,
            TrainEvent::Progress(p) => {
                self.plots.push(&p);
                if p.dev_accuracy.is_some() {
                    training.last_dev = p.dev_accuracy;
                }
                training.last = Some(p);
            }
            TrainEvent::Finished(_) => {}
        }
    }

    /// Takes the latest snapshot of the run or the fine-tuning in progress (see
    /// [`WorkerEvent::SnapshotReady`]).
    fn snapshot_ready(&mut self) {
        if let Some(snapshot) = self.training.as_ref().and_then(|t| t.control.take_snapshot()) {
            self.training_progress(TrainEvent::Snapshot(snapshot));
        }
        if let Some(run) = &mut self.teaching.run
            && let Some(snapshot) = run.control.take_snapshot()
        {
            run.live = Some((snapshot.step, snapshot.total_steps, snapshot.model));
            self.view_key += 1;
        }
    }

    fn training_done(&mut self, model: Mlp, report: &TrainReport, config: &TrainConfig) {
        let run = self.training.take();
        self.live_eval_wanted = false;
        let mut message = report.message();
        if let Some(dev) = report.dev_accuracy {
            message.push_str(&format!(" · dev accuracy {:.2}%", dev * 100.0));
        }
        if report.steps > 0 {
            // The data it started with, whatever was loaded since. (Without a run, which a
            // TrainDone always has, the file says no labels: every output, which reopens.)
            let learnt_from = run.map(|r| r.learnt_from).unwrap_or_else(|| ModelInfo {
                preset: Some(config.effective_preset().to_string()),
                config: Some(config.clone()),
                ..ModelInfo::default()
            });
            let info = ModelInfo {
                dev_accuracy: report.dev_accuracy,
                ..learnt_from
            };
            // The views keep the last snapshot's predictions until the final model's arrive
            // (the model from before the run's are dropped at once).
            if !self.eval.as_ref().is_some_and(|e| e.live) {
                self.eval = None;
            }
            self.install_model(model, info, format!("trained: {}", config.label()));
            self.finetuned_model_replaced();
        } else {
            // Back to the model from before: its predictions are not the snapshot's.
            self.changed();
            message.push_str(" · the previous model stays");
        }
        if let StopReason::Diverged { .. } = report.stop {
            self.error = Some(format!("{message} (the last good model is kept)"));
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
        self.last_run = Some(message.clone());
        self.notice = Some(message);
    }

    fn file_picked(&mut self, action: FileAction, path: Option<PathBuf>) {
        self.dialog_open = false;
        match path {
            Some(path) => {
                self.side_panel.path_field.show_hint = false;
                self.settings.path = path.display().to_string();
                self.run_file_action(action, path);
            }
            None => {
                self.pending_export = false;
                self.side_panel.path_field.show_hint = true;
                self.notice = Some(format!(
                    "{}: no file chosen. If no dialog appeared, this system has no file dialog \
                     (xdg-desktop-portal or zenity): type the path in the Path field on the left, \
                     or drop the file onto the window.",
                    action.title()
                ));
            }
        }
    }
}
