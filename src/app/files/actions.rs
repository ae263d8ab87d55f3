//! The file actions (open training CSV, open test CSV, open model, save model, export
//! submission, export the learning curves as CSV or the plot as PNG) in one table that the File
//! menu, the keyboard shortcuts, the path-field buttons and the file dialog all read. How the app
//! carries them out is in [`crate::app::files`].

use egui::{Key, KeyboardShortcut, Modifiers};

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
    /// A run of the runs table as a folder (checkpoints, curve, settings).
    SaveRun,
    /// A run folder saved earlier.
    OpenRun,
    /// The runs table as one CSV.
    ExportRuns,
}

/// How a file dialog for an action looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogKind {
    /// Choose an existing file.
    Open,
    /// Choose where to write, suggesting this name.
    Save { file_name: &'static str },
    /// Choose an existing folder.
    Folder,
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
const TABLE: [FileActionSpec; 12] = [
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
    FileActionSpec {
        action: FileAction::SaveRun,
        title: "Save run (folder)",
        path_button: "Save run",
        key: None,
        // The name given becomes the run's folder.
        dialog: DialogKind::Save { file_name: "run" },
        filter: ("Folder", &[""]),
    },
    FileActionSpec {
        action: FileAction::OpenRun,
        title: "Open run (folder)",
        path_button: "Open run",
        key: None,
        dialog: DialogKind::Folder,
        filter: ("Folder", &[""]),
    },
    FileActionSpec {
        action: FileAction::ExportRuns,
        title: "Export runs table (CSV)",
        path_button: "Export runs table",
        key: None,
        dialog: DialogKind::Save { file_name: "runs.csv" },
        filter: ("CSV", &["csv"]),
    },
];

impl FileAction {
    /// Every action, in menu order.
    pub const ALL: [FileAction; 12] = [
        FileAction::OpenTraining,
        FileAction::OpenTest,
        FileAction::OpenModel,
        FileAction::SaveModel,
        FileAction::ExportSubmission,
        FileAction::ExportCurves,
        FileAction::ExportPlot,
        FileAction::ImportMyDigits,
        FileAction::ExportMyDigits,
        FileAction::SaveRun,
        FileAction::OpenRun,
        FileAction::ExportRuns,
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
