//! What the app does with each report from its jobs ([`AppEvent`]): each feature's own
//! handler, and what is common to every job (its status-bar task, a crash).

use std::sync::atomic::Ordering;

use crate::app::jobs::runner::{Crash, TaskEvent};
use crate::app::{App, AppEvent, Job};

impl App {
    /// Applies one job's report to the app's state.
    pub(crate) fn handle(&mut self, event: AppEvent) {
        match event {
            AppEvent::Task(event) => self.task_event(event),
            AppEvent::Crashed(Crash { job, task, message }) => self.job_crashed(job, task, &message),
            AppEvent::Load(event) => self.loaded(event),
            AppEvent::Save(event) => self.saved(event),
            AppEvent::Picked(picked) => self.file_picked(picked),
            AppEvent::Evaluated(evaluated) => self.dev_predicted(evaluated),
            AppEvent::Training(event) => self.training_event(event),
            AppEvent::MyDigits(event) => self.my_digits_event(event),
            AppEvent::Runs(event) => self.runs_event(event),
        }
    }

    fn task_event(&mut self, event: TaskEvent) {
        match event {
            TaskEvent::Progress { id, fraction } => {
                if let Some(t) = self.jobs.tasks.iter_mut().find(|t| t.id == id) {
                    t.progress = Some(fraction);
                }
            }
            TaskEvent::Finished { id, notice } => {
                self.task_done(id);
                self.messages.notice = Some(notice);
            }
            TaskEvent::Failed { id, message } => self.task_failed(id, message),
        }
    }

    /// Why the current model cannot predict the training data's dev set, if it cannot (a model
    /// of another image size or label space).
    pub(crate) fn fit_problem(&self) -> Option<String> {
        let (model, data) = (self.session.model.as_ref()?, self.session.data.as_ref()?);
        crate::evaluate::check_fits(&model.model, &data.split.dev, &data.name)
            .err()
            .map(|e| format!("{e}: train a model on it, or open one that fits"))
    }

    fn task_failed(&mut self, id: u64, message: String) {
        let cancelled = self
            .jobs
            .tasks
            .iter()
            .find(|t| t.id == id)
            .is_some_and(|t| t.cancel.load(Ordering::Relaxed));
        self.task_done(id);
        if cancelled {
            self.messages.notice = Some(format!("Cancelled: {message}"));
        } else {
            self.messages.error = Some(message);
        }
        self.files.pending_export = false;
    }

    /// A job panicked: say so, and drop whatever it was doing (the state before it stays).
    fn job_crashed(&mut self, job: Job, task: Option<u64>, message: &str) {
        let mut text = format!("Internal error while {}: {message}.", job.doing());
        match job {
            Job::Train => {
                if let Some(run) = self.training.run.take()
                    && let Some(record) = self.runs.get_mut(run.id)
                {
                    record.training = false;
                }
                let run = "the run crashed · the previous model stays".to_owned();
                self.training.last_run = Some(run.clone());
                self.messages.notice = Some(run);
                text.push_str(" The run was abandoned; the data and model from before are kept.");
            }
            Job::Pick => {
                self.files.dialog_open = false;
                self.files.pending_export = false;
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
                self.session.evals.crashed();
                self.runs.asked.clear();
                self.runs.ahead = None;
                self.release_training();
                text.push_str(" The dev predictions are not shown.");
            }
            Job::LoadData
            | Job::LoadModel
            | Job::Transpose
            | Job::SaveModel
            | Job::Export
            | Job::ExportCurves
            | Job::ExportPlot
            | Job::Runs => {
                self.session.transposing = None;
                self.files.pending_export = false;
                text.push_str(" The data and model from before are kept.");
            }
        }
        if let Some(id) = task {
            self.task_done(id);
        }
        self.messages.error = Some(text);
    }
}
