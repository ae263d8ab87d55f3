//! File dialogs behind a small trait, so tests use a fake and never open a real dialog.

use std::path::PathBuf;

/// What the user is choosing a file for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    TrainCsv,
    TestCsv,
    OpenModel,
    SaveModel,
    ExportSubmission,
}

impl Pick {
    pub fn title(self) -> &'static str {
        match self {
            Pick::TrainCsv => "Open training CSV",
            Pick::TestCsv => "Open test CSV",
            Pick::OpenModel => "Open model",
            Pick::SaveModel => "Save model",
            Pick::ExportSubmission => "Export submission",
        }
    }
}

/// Chooses a file; blocks its thread (the app calls it on its own thread). `None` means cancelled
/// or no dialog available.
pub trait FilePicker: Send + Sync + 'static {
    fn pick(&self, what: Pick) -> Option<PathBuf>;
}

/// The native dialog through rfd (xdg-desktop-portal on Linux, falling back to zenity).
pub struct RfdPicker;

impl FilePicker for RfdPicker {
    fn pick(&self, what: Pick) -> Option<PathBuf> {
        let dialog = rfd::FileDialog::new().set_title(what.title());
        match what {
            Pick::TrainCsv | Pick::TestCsv => dialog
                .add_filter("CSV (plain or gzip)", &["csv", "gz"])
                .add_filter("All files", &["*"])
                .pick_file(),
            Pick::OpenModel => dialog
                .add_filter("safetensors model", &["safetensors"])
                .add_filter("All files", &["*"])
                .pick_file(),
            Pick::SaveModel => dialog
                .add_filter("safetensors model", &["safetensors"])
                .set_file_name("model.safetensors")
                .save_file(),
            Pick::ExportSubmission => dialog
                .add_filter("CSV", &["csv"])
                .set_file_name("submission.csv")
                .save_file(),
        }
    }
}

/// A picker that answers from a fixed list (tests), or never opens anything.
#[derive(Default)]
pub struct FakePicker {
    pub answer: std::sync::Mutex<Option<PathBuf>>,
}

impl FilePicker for FakePicker {
    fn pick(&self, _what: Pick) -> Option<PathBuf> {
        self.answer.lock().ok().and_then(|mut a| a.take())
    }
}
