//! The file actions (open training CSV, open test CSV, open model, save model, export
//! submission, export the learning curves as CSV or the plot as PNG) in one table that the File
//! menu, the keyboard shortcuts, the path-field buttons and the file dialog all read; and how the
//! app carries them out.

use std::path::PathBuf;

use egui::{Key, KeyboardShortcut, Modifiers};

use crate::app::App;
use crate::app::files::save::WriteCheck;
use crate::app::jobs::runner::DataRole;
use crate::write_guard::{Input, Replace};

/// Something done with a file the user chooses or types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAction {
    OpenTraining,
    OpenTest,
    OpenModel,
    SaveModel,
    ExportSubmission,
    /// Every run's curves on the plot as one CSV.
    ExportCurves,
    /// The two plots as a PNG image.
    ExportPlot,
    /// Add pictures (a `file,label` list) or a training CSV to My digits.
    ImportMyDigits,
    /// My digits as a Kaggle training CSV.
    ExportMyDigits,
}

/// How a file dialog for an action looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogKind {
    /// Choose an existing file.
    Open,
    /// Choose where to write, suggesting this name.
    Save { file_name: &'static str },
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct FileActionSpec {
    pub action: FileAction,
    /// The File menu entry and the dialog's title.
    pub title: &'static str,
    /// The button under the path field.
    pub path_button: &'static str,
    /// Ctrl (Cmd on macOS) and this key, if any.
    pub key: Option<Key>,
    pub dialog: DialogKind,
    /// The dialog's filter: its name and the extensions it shows.
    pub filter: (&'static str, &'static [&'static str]),
}

const CSV_FILTER: (&str, &[&str]) = ("CSV (plain or gzip)", &["csv", "gz"]);
const MODEL_FILTER: (&str, &[&str]) = ("safetensors model", &["safetensors"]);

/// The table, in menu order (`FileAction as usize` indexes it).
const TABLE: [FileActionSpec; 9] = [
    FileActionSpec {
        action: FileAction::OpenTraining,
        title: "Open training CSV",
        path_button: "Load training",
        key: Some(Key::O),
        dialog: DialogKind::Open,
        filter: CSV_FILTER,
    },
    FileActionSpec {
        action: FileAction::OpenTest,
        title: "Open test CSV",
        path_button: "Load test",
        key: Some(Key::T),
        dialog: DialogKind::Open,
        filter: CSV_FILTER,
    },
    FileActionSpec {
        action: FileAction::OpenModel,
        title: "Open model",
        path_button: "Load model",
        key: Some(Key::M),
        dialog: DialogKind::Open,
        filter: MODEL_FILTER,
    },
    FileActionSpec {
        action: FileAction::SaveModel,
        title: "Save model",
        path_button: "Save model",
        key: Some(Key::S),
        dialog: DialogKind::Save {
            file_name: "model.safetensors",
        },
        filter: MODEL_FILTER,
    },
    FileActionSpec {
        action: FileAction::ExportSubmission,
        title: "Export submission",
        path_button: "Export submission",
        key: Some(Key::E),
        dialog: DialogKind::Save {
            file_name: "submission.csv",
        },
        filter: ("CSV", &["csv"]),
    },
    FileActionSpec {
        action: FileAction::ExportCurves,
        title: "Export curves (CSV)",
        path_button: "Export curves",
        key: None,
        dialog: DialogKind::Save {
            file_name: "curves.csv",
        },
        filter: ("CSV", &["csv"]),
    },
    FileActionSpec {
        action: FileAction::ExportPlot,
        title: "Save plot (PNG)",
        path_button: "Save plot PNG",
        key: None,
        dialog: DialogKind::Save { file_name: "plot.png" },
        filter: ("PNG image", &["png"]),
    },
    FileActionSpec {
        action: FileAction::ImportMyDigits,
        title: "Import into My digits",
        path_button: "Import my digits",
        key: None,
        dialog: DialogKind::Open,
        filter: CSV_FILTER,
    },
    FileActionSpec {
        action: FileAction::ExportMyDigits,
        title: "Export My digits (CSV)",
        path_button: "Export my digits",
        key: None,
        dialog: DialogKind::Save {
            file_name: "my_digits.csv",
        },
        filter: ("CSV", &["csv"]),
    },
];

impl FileAction {
    /// Every action, in menu order.
    pub const ALL: [FileAction; 9] = [
        FileAction::OpenTraining,
        FileAction::OpenTest,
        FileAction::OpenModel,
        FileAction::SaveModel,
        FileAction::ExportSubmission,
        FileAction::ExportCurves,
        FileAction::ExportPlot,
        FileAction::ImportMyDigits,
        FileAction::ExportMyDigits,
    ];

    pub fn spec(self) -> &'static FileActionSpec {
        &TABLE[self as usize]
    }

    pub fn title(self) -> &'static str {
        self.spec().title
    }

    pub fn path_button(self) -> &'static str {
        self.spec().path_button
    }

    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        self.spec()
            .key
            .map(|key| KeyboardShortcut::new(Modifiers::COMMAND, key))
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
        if self.dialog_open {
            return;
        }
        let mut ask_for = action;
        match action {
            FileAction::SaveModel if self.model.is_none() => {
                self.error = Some(NO_MODEL_TO_SAVE.into());
                return;
            }
            FileAction::ExportSubmission if self.model.is_none() => {
                self.error = Some(NO_MODEL_TO_PREDICT.into());
                return;
            }
            FileAction::ExportCurves | FileAction::ExportPlot if self.plots.runs.is_empty() => {
                self.error = Some(NO_CURVES.into());
                return;
            }
            FileAction::ExportMyDigits if self.teaching.count() == 0 => {
                self.error = Some(NO_DIGITS.into());
                return;
            }
            FileAction::ExportSubmission if self.test.is_none() => {
                self.pending_export = true;
                self.notice = Some("Export: choose the test CSV to predict first.".into());
                ask_for = FileAction::OpenTest;
            }
            _ => {}
        }
        self.dialog_open = true;
        self.worker.pick(self.picker.clone(), ask_for);
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
            FileAction::SaveModel => match &self.model {
                Some(m) => {
                    // The open model's own file may be replaced by the model (as the same kind).
                    let check = WriteCheck {
                        inputs: self.input_files(false),
                        replace,
                    };
                    let (model, info) = (m.model.clone(), m.info.clone());
                    let task = self.worker.save_model(path, model, info, self.model_version, check);
                    self.tasks.push(task);
                }
                None => self.error = Some(NO_MODEL_TO_SAVE.into()),
            },
            FileAction::ExportSubmission => match (&self.model, &self.test) {
                (Some(m), Some(t)) => {
                    let check = WriteCheck {
                        inputs: self.input_files(true),
                        replace,
                    };
                    let task = self
                        .worker
                        .export(path, m.model.clone(), t.dataset.clone(), &m.info, check);
                    self.tasks.push(task);
                }
                (None, _) => self.error = Some(NO_MODEL_TO_PREDICT.into()),
                (_, None) => {
                    self.error = Some(format!(
                        "Load a test CSV first (File > {}, or type its path and press {}).",
                        FileAction::OpenTest.title(),
                        FileAction::OpenTest.path_button()
                    ));
                }
            },
            FileAction::ExportCurves | FileAction::ExportPlot if self.plots.runs.is_empty() => {
                self.error = Some(NO_CURVES.into());
            }
            FileAction::ExportCurves => {
                let check = WriteCheck {
                    inputs: self.input_files(true),
                    replace,
                };
                let task = self.worker.export_curves(path, self.plots.runs.clone(), check);
                self.tasks.push(task);
            }
            FileAction::ExportPlot => {
                let check = WriteCheck {
                    inputs: self.input_files(true),
                    replace,
                };
                self.export_plot(path, check);
            }
            FileAction::ImportMyDigits => {
                let task = self.worker.import_my_digits(path);
                self.tasks.push(task);
            }
            FileAction::ExportMyDigits => match self.teaching.digits.as_ref().filter(|d| !d.is_empty()) {
                Some(digits) => {
                    let check = WriteCheck {
                        inputs: self.input_files(true),
                        replace,
                    };
                    let task = self.worker.export_my_digits(path, digits.clone(), check);
                    self.tasks.push(task);
                }
                None => self.error = Some(NO_DIGITS.into()),
            },
        }
    }

    /// The files the app has read its data from: never written onto. `with_model`: the open
    /// model's file too.
    fn input_files(&self, with_model: bool) -> Vec<Input> {
        let mut inputs = Vec::new();
        if let Some(path) = self.data.as_ref().and_then(|d| d.path.clone()) {
            inputs.push(Input::new(path, "the training data loaded"));
        }
        if let Some(test) = &self.test {
            inputs.push(Input::new(&test.path, "the test data loaded"));
        }
        if with_model && let Some(path) = &self.model_path {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_with_distinct_keys_and_labels() {
        for (i, action) in FileAction::ALL.into_iter().enumerate() {
            assert_eq!(action as usize, i);
            assert_eq!(action.spec().action, action, "row {i} describes another action");
        }
        for a in FileAction::ALL {
            for b in FileAction::ALL {
                if a != b {
                    if a.spec().key.is_some() {
                        assert_ne!(a.spec().key, b.spec().key, "{a:?} and {b:?} share a shortcut");
                    }
                    assert_ne!(a.title(), b.title());
                    assert_ne!(a.path_button(), b.path_button());
                }
            }
        }
    }
}
