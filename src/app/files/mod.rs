//! Files: the actions table, the file dialog, dropped files, the path field, and the jobs that
//! write the user's files.

pub mod actions;
pub mod dialog;
pub mod drop;
pub mod load;
pub mod path_field;
pub mod replace_prompt;
pub mod save;

use std::path::PathBuf;
use std::sync::Arc;

use crate::write_guard::{Input, Replace};

use crate::app::App;
use actions::FileAction;
use dialog::FilePicker;
use load::DataRole;
use replace_prompt::ReplaceQuestion;
use save::WriteCheck;

/// File dialogs, and the saves and exports waiting on the user.
pub struct FileState {
    pub picker: Arc<dyn FilePicker>,
    /// A file dialog is open (one at a time).
    pub dialog_open: bool,
    /// Export was asked for before a test CSV was loaded: export once one is.
    pub pending_export: bool,
    /// A save or export from the path field waiting for consent to replace a file.
    pub pending_replace: Option<ReplaceQuestion>,
}

impl FileState {
    pub fn new(picker: Arc<dyn FilePicker>) -> FileState {
        FileState {
            picker,
            dialog_open: false,
            pending_export: false,
            pending_replace: None,
        }
    }
}

/// Messages shared by the dialog and path routes.
const NO_MODEL_TO_SAVE: &str = "There is no model to save: train one first.";
const NO_MODEL_TO_PREDICT: &str = "There is no model to predict with: train or open one first.";
const NO_CURVES: &str = "There are no curves to export: press Train first.";
const NO_DIGITS: &str = "My digits is empty: draw a digit on the Draw tab and label it first.";

impl App {
    /// Starts `action` with a file dialog (File menu, shortcut). Export without test data asks for
    /// the test CSV first and then goes on to the export dialog.
    pub(crate) fn start_file_action(&mut self, action: FileAction) {
        if self.files.dialog_open {
            return;
        }
        let mut ask_for = action;
        match action {
            FileAction::SaveModel if self.session.model.is_none() => {
                self.messages.error = Some(NO_MODEL_TO_SAVE.into());
                return;
            }
            FileAction::ExportSubmission if self.session.model.is_none() => {
                self.messages.error = Some(NO_MODEL_TO_PREDICT.into());
                return;
            }
            FileAction::ExportCurves | FileAction::ExportPlot if self.tabs.training.plots.runs.is_empty() => {
                self.messages.error = Some(NO_CURVES.into());
                return;
            }
            FileAction::ExportMyDigits if self.teaching.count() == 0 => {
                self.messages.error = Some(NO_DIGITS.into());
                return;
            }
            FileAction::SaveRun | FileAction::ExportRuns if self.runs.records.is_empty() => {
                self.messages.error = Some("There are no runs yet: press Train first.".into());
                return;
            }
            FileAction::ExportSubmission if self.session.test.is_none() => {
                self.files.pending_export = true;
                self.messages.notice = Some("Export: choose the test CSV to predict first.".into());
                ask_for = FileAction::OpenTest;
            }
            _ => {}
        }
        self.files.dialog_open = true;
        self.jobs.runner.pick(self.files.picker.clone(), ask_for);
    }

    /// Does `action` with a path chosen in a file dialog (which asked before replacing a file)
    /// or dropped.
    pub(crate) fn run_file_action(&mut self, action: FileAction, path: PathBuf) {
        self.run_file_action_with(action, path, Replace::Anything);
    }

    /// Does `action` with `path`; a save or export replaces an existing file only as `replace`
    /// allows, asks the user otherwise, and never writes onto a file the app has loaded.
    pub(crate) fn run_file_action_with(&mut self, action: FileAction, path: PathBuf, replace: Replace) {
        match action {
            FileAction::OpenTraining => self.load_data(path, DataRole::Train),
            FileAction::OpenTest => self.load_data(path, DataRole::Test),
            FileAction::OpenModel => self.load_model(path),
            FileAction::SaveModel => match &self.session.model {
                Some(m) => {
                    // The open model's own file may be replaced by the model (as the same kind).
                    let check = WriteCheck {
                        inputs: self.input_files(false),
                        replace,
                    };
                    let (model, info) = (m.model.clone(), m.info.clone());
                    let version = m.version;
                    let task = self.jobs.runner.save_model(path, model, info, version, check);
                    self.jobs.tasks.push(task);
                }
                None => self.messages.error = Some(NO_MODEL_TO_SAVE.into()),
            },
            FileAction::ExportSubmission => match (&self.session.model, &self.session.test) {
                (Some(m), Some(t)) => {
                    let check = WriteCheck {
                        inputs: self.input_files(true),
                        replace,
                    };
                    let task = self
                        .jobs
                        .runner
                        .export(path, m.model.clone(), t.dataset.clone(), &m.info, check);
                    self.jobs.tasks.push(task);
                }
                (None, _) => self.messages.error = Some(NO_MODEL_TO_PREDICT.into()),
                (_, None) => {
                    self.messages.error = Some(format!(
                        "Load a test CSV first (File > {}, or type its path and press {}).",
                        FileAction::OpenTest.title(),
                        FileAction::OpenTest.path_button()
                    ));
                }
            },
            FileAction::ExportCurves | FileAction::ExportPlot if self.tabs.training.plots.runs.is_empty() => {
                self.messages.error = Some(NO_CURVES.into());
            }
            FileAction::ExportCurves => {
                let check = WriteCheck {
                    inputs: self.input_files(true),
                    replace,
                };
                let task = self
                    .jobs
                    .runner
                    .export_curves(path, self.tabs.training.plots.runs.clone(), check);
                self.jobs.tasks.push(task);
            }
            FileAction::ExportPlot => {
                let check = WriteCheck {
                    inputs: self.input_files(true),
                    replace,
                };
                self.export_plot(path, check);
            }
            FileAction::ImportMyDigits => {
                let task = self.jobs.runner.import_my_digits(path);
                self.jobs.tasks.push(task);
            }
            FileAction::ExportMyDigits => match self.teaching.digits.as_ref().filter(|d| !d.is_empty()) {
                Some(digits) => {
                    let check = WriteCheck {
                        inputs: self.input_files(true),
                        replace,
                    };
                    let task = self.jobs.runner.export_my_digits(path, digits.clone(), check);
                    self.jobs.tasks.push(task);
                }
                None => self.messages.error = Some(NO_DIGITS.into()),
            },
            FileAction::SaveRun => self.save_run_to(path),
            FileAction::OpenRun => {
                let task = self.jobs.runner.open_run(path);
                self.jobs.tasks.push(task);
            }
            FileAction::ExportRuns => {
                let check = WriteCheck {
                    inputs: self.input_files(true),
                    replace,
                };
                self.export_runs_to(path, check);
            }
        }
    }

    /// The files the app has read its data from: never written onto. `with_model`: the open
    /// model's file too.
    pub(crate) fn input_files(&self, with_model: bool) -> Vec<Input> {
        let mut inputs = Vec::new();
        if let Some(path) = self.session.data.as_ref().and_then(|d| d.path.clone()) {
            inputs.push(Input::new(path, "the training data loaded"));
        }
        if let Some(test) = &self.session.test {
            inputs.push(Input::new(&test.path, "the test data loaded"));
        }
        if with_model && let Some(path) = &self.session.model_path {
            inputs.push(Input::new(path, "the open model's file"));
        }
        if let Some(path) = self.teaching.path() {
            inputs.push(Input::new(path, "your My digits collection"));
        }
        inputs
    }

    /// Ctrl+O and friends open the action's dialog.
    pub(crate) fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        for action in FileAction::ALL {
            let Some(shortcut) = action.shortcut() else { continue };
            if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                self.start_file_action(action);
            }
        }
    }
}

impl App {
    /// Asks whether to replace a file, and carries out the answer.
    pub(crate) fn replace_prompt(&mut self, ctx: &egui::Context) {
        let Some(question) = &self.files.pending_replace else {
            return;
        };
        let Some(answer) = replace_prompt::ui(ctx, question) else {
            return;
        };
        let question = self.files.pending_replace.take().expect("checked above");
        match answer {
            replace_prompt::Answer::Replace => {
                self.run_file_action_with(question.action, question.path, Replace::Anything);
            }
            replace_prompt::Answer::Cancel => {
                self.messages.notice = Some(format!("Nothing was written: {} is kept.", question.path.display()));
            }
        }
    }
}
