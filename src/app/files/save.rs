//! Jobs that write the user's files: saving the model and exporting the submission, each
//! checked against the write rule ([`write_guard`]: never onto an input, another kind only when
//! allowed) on the job's thread before anything is written. The plot and curve exports are in
//! [`crate::app::tabs::training::plot_export`], My digits' export in [`crate::app::tabs::my_digits::collection`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::data::Dataset;
use crate::evaluate;
use crate::model_file::{self, ModelInfo};
use crate::network::Mlp;
use crate::write_guard::{self, Input, Output, Refusal, Replace};

use crate::app::files::replace_prompt::ReplaceQuestion;
use crate::app::format::{file_name, fmt_count};
use crate::app::jobs::runner::{Task, TaskEvent, lower_priority};
use crate::app::version::Version;
use crate::app::{App, AppEvent, FileAction, Job, Worker};

/// What a save or export checks before it writes ([`write_guard`]): the app's input files, never
/// written onto, and what existing file it may replace without asking.
#[derive(Clone, Debug)]
pub struct WriteCheck {
    pub inputs: Vec<Input>,
    pub replace: Replace,
}

/// What the saving and exporting jobs report besides their task's end.
pub enum SaveEvent {
    ModelSaved {
        id: u64,
        path: PathBuf,
        /// Which model was written.
        version: Version,
    },
    /// A save or export found a file it may only replace with the user's consent: nothing was
    /// written; ask (see [`crate::app::files::replace_prompt`]).
    ReplaceAsked {
        id: u64,
        action: FileAction,
        path: PathBuf,
        question: String,
    },
    /// A plot export's path passed its [`WriteCheck`]: the screenshot may be taken
    /// ([`crate::app::tabs::training::plot_export`]).
    WriteCleared { id: u64 },
}

impl WriteCheck {
    /// Checks `path` (reading its first bytes: on the job's thread, never the UI's). `Some` is
    /// the event to send instead of writing.
    pub(crate) fn run(&self, id: u64, action: FileAction, path: &std::path::Path, output: Output) -> Option<AppEvent> {
        match write_guard::check(path, output, &self.inputs, self.replace) {
            Ok(_) => None,
            Err(refusal @ Refusal::OwnInput { .. }) => Some(
                TaskEvent::Failed {
                    id,
                    message: format!("{refusal}. Nothing was written: choose another file."),
                }
                .into(),
            ),
            Err(Refusal::Exists { found, .. }) => Some(
                SaveEvent::ReplaceAsked {
                    id,
                    action,
                    path: path.to_path_buf(),
                    question: format!(
                        "{} is {}. Replace it with {}?",
                        path.display(),
                        found.describe(),
                        output.noun()
                    ),
                }
                .into(),
            ),
        }
    }
}

impl Worker {
    /// Saves `model`, known to the app as model `version`, atomically at `path`, if `check`
    /// allows writing there.
    pub fn save_model(
        &mut self,
        path: PathBuf,
        model: Arc<Mlp>,
        info: ModelInfo,
        version: Version,
        check: WriteCheck,
    ) -> Task {
        let mut task = self.task(format!("Saving model to {}", file_name(&path)));
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::SaveModel, Some(id), move |out, fault| {
            fault.point();
            if let Some(event) = check.run(id, FileAction::SaveModel, &path, Output::Model) {
                out.send(event);
                return;
            }
            match model_file::save(&path, &model, &info) {
                Ok(()) => out.send(SaveEvent::ModelSaved { id, path, version }),
                Err(e) => out.send(TaskEvent::Failed {
                    id,
                    message: format!("saving the model failed: {e}"),
                }),
            }
        });
        task
    }

    /// Predicts every row of `test` and writes a Kaggle submission atomically.
    /// `info`: the model's labels (the answers allowed) and whether its images were transposed.
    pub fn export(
        &mut self,
        path: PathBuf,
        model: Arc<Mlp>,
        test: Arc<Dataset>,
        info: &ModelInfo,
        check: WriteCheck,
    ) -> Task {
        let (labels, transposed) = (info.labels.clone(), info.transposed);
        let task = self.task(format!("Exporting {}", file_name(&path)));
        let (id, cancel) = (task.id, task.cancel.clone());
        self.spawn(Job::Export, Some(id), move |out, fault| {
            lower_priority();
            fault.point();
            // Before predicting, so that a refusal costs nothing.
            if let Some(event) = check.run(id, FileAction::ExportSubmission, &path, Output::Submission) {
                out.send(event);
                return;
            }
            if let Err(message) = crate::evaluate::check_fits(&model, &test, "the test data") {
                out.send(TaskEvent::Failed {
                    id,
                    message: format!("{message}: nothing was written"),
                });
                return;
            }
            // EMNIST: the model learnt upright images, the file stores them transposed.
            let test = if transposed {
                let mut upright = (*test).clone();
                upright.transpose_images();
                Arc::new(upright)
            } else {
                test
            };
            let rows = test.rows();
            let chunk = 1000;
            let mut predictions = Vec::with_capacity(rows);
            for start in (0..rows).step_by(chunk) {
                if cancel.load(Ordering::Relaxed) {
                    out.send(TaskEvent::Failed {
                        id,
                        message: "export cancelled: nothing was written".into(),
                    });
                    return;
                }
                let end = (start + chunk).min(rows);
                let n = test.image_pixels();
                predictions.extend(crate::evaluate::predict_among(
                    &model,
                    &labels,
                    &test.pixels[start * n..end * n],
                ));
                out.send_soon(TaskEvent::Progress {
                    id,
                    fraction: end as f32 / rows.max(1) as f32,
                });
            }
            match evaluate::write_submission(&path, &predictions, &test.ids) {
                Ok(()) => out.send(TaskEvent::Finished {
                    id,
                    notice: format!("Wrote {} predictions to {}", fmt_count(rows), path.display()),
                }),
                Err(e) => out.send(TaskEvent::Failed {
                    id,
                    message: format!("{}: cannot write the submission: {e}", path.display()),
                }),
            }
        });
        task
    }
}

impl App {
    /// Applies what a save or export reported.
    pub(crate) fn saved(&mut self, event: SaveEvent) {
        match event {
            SaveEvent::ModelSaved { id, path, version } => {
                self.task_done(id);
                match &mut self.session.model {
                    // The file holds the current model: it goes by the file's name now, and the
                    // file is one of the app's inputs (never exported onto).
                    Some(m) if version == m.version => {
                        m.name = file_name(&path);
                        self.messages.notice = Some(format!("Saved the model to {}", path.display()));
                        self.session.model_path = Some(path);
                    }
                    // A run or an open replaced the model during the save.
                    _ => {
                        self.messages.notice = Some(format!(
                            "Saved the model from before to {}; the current model is not saved",
                            path.display()
                        ));
                    }
                }
            }
            SaveEvent::ReplaceAsked {
                id,
                action,
                path,
                question,
            } => {
                self.task_done(id);
                self.files.pending_replace = Some(ReplaceQuestion { action, path, question });
            }
            SaveEvent::WriteCleared { id } => self.plot_path_cleared(id),
        }
    }
}
