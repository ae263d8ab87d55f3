//! File dialogs behind a small trait, so tests answer with a fake and never open a real dialog.

use std::path::PathBuf;
use std::sync::Arc;

use crate::app::files::actions::{DialogKind, FileAction};
use crate::app::{App, Job, Worker};

/// Chooses a file for `action`; blocks its thread (the app calls it on a worker thread). `None`
/// means cancelled, or no dialog available.
pub trait FilePicker: Send + Sync + 'static {
    fn pick(&self, action: FileAction) -> Option<PathBuf>;
}

/// The native dialog through rfd (xdg-desktop-portal on Linux, falling back to zenity).
pub struct RfdPicker;

impl FilePicker for RfdPicker {
    fn pick(&self, action: FileAction) -> Option<PathBuf> {
        let spec = action.spec();
        let (filter_name, extensions) = spec.filter;
        let dialog = rfd::FileDialog::new()
            .set_title(spec.title)
            .add_filter(filter_name, extensions);
        match spec.dialog {
            DialogKind::Open => dialog.add_filter("All files", &["*"]).pick_file(),
            DialogKind::Save { file_name } => dialog.set_file_name(file_name).save_file(),
            DialogKind::Folder => rfd::FileDialog::new().set_title(spec.title).pick_folder(),
        }
    }
}

/// A dialog's answer: the path chosen for `action` (None: cancelled, or no dialog).
pub struct Picked {
    pub action: FileAction,
    pub path: Option<PathBuf>,
}

impl Worker {
    /// Opens a file dialog on its own thread (dialogs block their thread).
    pub fn pick(&self, picker: Arc<dyn FilePicker>, action: FileAction) {
        self.spawn(Job::Pick, None, move |out, fault| {
            fault.point();
            let path = picker.pick(action);
            out.send(Picked { action, path });
        });
    }
}

impl App {
    pub(crate) fn file_picked(&mut self, Picked { action, path }: Picked) {
        self.files.dialog_open = false;
        match path {
            Some(path) => {
                self.side_panel.path_field.show_hint = false;
                self.settings.path = path.display().to_string();
                self.run_file_action(action, path);
            }
            None => {
                self.files.pending_export = false;
                self.side_panel.path_field.show_hint = true;
                self.messages.notice = Some(format!(
                    "{}: no file chosen. If no dialog appeared, this system has no file dialog \
                     (xdg-desktop-portal or zenity): type the path in the Path field on the left, \
                     or drop the file onto the window.",
                    action.title()
                ));
            }
        }
    }
}
