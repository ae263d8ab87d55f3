//! Test scaffolding, compiled only for tests (`cfg(test)` or the `test-support` feature, which the
//! integration tests turn on): a fake file picker, panic injection into jobs, and read
//! access to the app's state. The shipped binary has none of it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::app::App;
use crate::app::files::actions::FileAction;
use crate::app::files::dialog::FilePicker;
pub use crate::app::jobs::runner::JobGate;
use crate::app::session::{ModelState, TestData, TrainData};
use crate::app::tabs::my_digits::MyDigitsEvent;
use crate::app::tabs::samples::evaluation::EvalResult;
use crate::app::tabs::training::run::TrainingEvent;
use crate::app::{AppEvent, Job};

/// A file picker that gives its `answer` once, then `None` (as rfd does where no dialog can
/// open), and records what it was asked for.
#[derive(Default)]
pub struct FakePicker {
    pub answer: Mutex<Option<PathBuf>>,
    pub asked: Mutex<Vec<FileAction>>,
}

impl FilePicker for FakePicker {
    fn pick(&self, action: FileAction) -> Option<PathBuf> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(action);
        }
        self.answer.lock().ok().and_then(|mut a| a.take())
    }
}

/// Copies of a model's parameters waiting for the UI thread: how many, and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotsWaiting {
    pub count: usize,
    pub bytes: usize,
}

/// A snapshot of what the app holds about the current run and its workers.
#[derive(Clone, Debug)]
pub struct TestState {
    pub run_label: Option<String>,
    /// The settings the run in progress started with.
    pub run_config: Option<crate::train::TrainConfig>,
    pub run_alpha: Option<f32>,
    pub run_total_steps: Option<usize>,
    pub paused: bool,
    pub train_threads: usize,
    pub tasks: usize,
    pub dialog_open: bool,
}

impl App {
    pub fn state_for_tests(&self) -> TestState {
        TestState {
            run_label: self.training.run.as_ref().map(|t| t.label()),
            run_config: self.training.run.as_ref().map(|t| t.config.clone()),
            run_alpha: self.training.run.as_ref().map(|t| t.alpha),
            run_total_steps: self.training.run.as_ref().map(|t| t.total_steps),
            paused: self.training.run.as_ref().is_some_and(|t| t.is_paused()),
            train_threads: self.training.threads_alive.load(std::sync::atomic::Ordering::SeqCst),
            tasks: self.jobs.tasks.len(),
            dialog_open: self.files.dialog_open,
        }
    }

    /// The next background job of kind `job` waits until the returned gate opens.
    pub fn hold_next(&self, job: Job) -> Arc<JobGate> {
        let gate = Arc::new(JobGate::default());
        self.jobs.runner.hold_next(job, gate.clone());
        gate
    }

    /// The run snapshots the workers sent that the UI thread has not taken yet (as when no frame
    /// is drawn). Counting empties the channel: the events are then handled as a frame would.
    pub fn snapshots_waiting(&mut self) -> SnapshotsWaiting {
        let events = self.jobs.runner.drain();
        let mut waiting = SnapshotsWaiting::default();
        for event in &events {
            let model = match event {
                AppEvent::Training(TrainingEvent::Progress(crate::train::TrainEvent::Snapshot(s))) => &s.model,
                AppEvent::MyDigits(MyDigitsEvent::Finetune(crate::finetune::FinetuneEvent::Snapshot {
                    model, ..
                })) => model,
                _ => continue,
            };
            waiting.count += 1;
            waiting.bytes += model.parameter_count() * std::mem::size_of::<f32>();
        }
        // And the latest, waiting in the run's (or fine-tuning's) control.
        let controls = [
            self.training.run.as_ref().map(|t| &t.control),
            self.teaching.run.as_ref().map(|r| &r.control),
        ];
        for snapshot in controls.into_iter().flatten().filter_map(|c| c.peek_snapshot()) {
            waiting.count += 1;
            waiting.bytes += snapshot.model.parameter_count() * std::mem::size_of::<f32>();
        }
        for event in events {
            self.handle(event);
        }
        waiting
    }

    /// The next background job of kind `job` panics (see [`crate::app::jobs::runner::Fault`]).
    pub fn inject_panic(&self, job: Job) {
        self.jobs.runner.inject_panic(job);
    }

    pub fn is_training(&self) -> bool {
        self.training.run.is_some()
    }

    /// Work in flight: a task in the status bar or a run.
    pub fn busy(&self) -> bool {
        !self.jobs.tasks.is_empty() || self.training.run.is_some()
    }

    pub fn error(&self) -> Option<&str> {
        self.messages.error.as_deref()
    }

    pub fn notice(&self) -> Option<&str> {
        self.messages.notice.as_deref()
    }

    /// The question a save or export waits on before replacing a file.
    pub fn replace_question(&self) -> Option<&str> {
        self.files.pending_replace.as_ref().map(|q| q.question.as_str())
    }

    pub fn last_run(&self) -> Option<&str> {
        self.training.last_run.as_deref()
    }

    pub fn train_data(&self) -> Option<&TrainData> {
        self.session.data.as_ref()
    }

    pub fn test_data(&self) -> Option<&TestData> {
        self.session.test.as_ref()
    }

    pub fn model(&self) -> Option<&ModelState> {
        self.session.model.as_ref()
    }

    pub fn evaluation(&self) -> Option<&EvalResult> {
        self.session.evals.shown.as_ref()
    }

    /// My digits (None while they are read at start).
    pub fn my_digits(&self) -> Option<&crate::my_digits::MyDigits> {
        self.teaching.digits.as_ref()
    }

    pub fn is_finetuning(&self) -> bool {
        self.teaching.run.is_some()
    }

    /// The last fine-tuning's report (cleared by Undo).
    pub fn finetune_report(&self) -> Option<&crate::finetune::FinetuneReport> {
        self.teaching.last_report.as_ref()
    }

    /// Undo fine-tuning would bring a model back.
    pub fn can_undo_finetune(&self) -> bool {
        self.teaching.before.is_some()
    }

    /// The curve of the run in progress or the last one.
    pub fn finetune_curve(&self) -> &[crate::finetune::FinetuneProgress] {
        self.teaching
            .run
            .as_ref()
            .map_or(&self.teaching.last_curve, |r| &r.curve)
    }

    /// Why My digits are read-only in this window, if they are.
    pub fn my_digits_read_only(&self) -> Option<&str> {
        self.teaching.read_only.as_deref()
    }

    /// The most dropped pictures ever decoded at once (0 before the first drop).
    pub fn peak_picture_decodes(&self) -> usize {
        self.teaching
            .pictures
            .as_ref()
            .map_or(0, crate::app::tabs::my_digits::picture_queue::PictureQueue::peak)
    }

    /// Dropped pictures waiting for a label.
    pub fn unlabelled_pictures(&self) -> usize {
        self.teaching.unlabelled.len()
    }
}

/// The runs and the timeline, for the timeline's tests.
impl App {
    pub fn runs(&self) -> &crate::app::runs::Runs {
        &self.runs
    }

    pub fn runs_mut(&mut self) -> &mut crate::app::runs::Runs {
        &mut self.runs
    }

    /// Does what the timeline's or the runs table's widgets do.
    pub fn timeline_do(&mut self, action: crate::app::runs::timeline::TimelineAction) {
        self.timeline_action(action);
    }

    pub fn table_do(&mut self, action: crate::app::runs::table::TableAction) {
        self.table_action(action);
    }
}
