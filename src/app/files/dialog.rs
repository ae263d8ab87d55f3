//! File dialogs behind a small trait, so tests answer with a fake and never open a real dialog.

use std::path::PathBuf;

use crate::app::files::actions::{DialogKind, FileAction};

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
        }
    }
}
