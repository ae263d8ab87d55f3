//! The My digits tab: the user's labelled digits, fine-tuning on them, and undo.

pub mod collection;
pub mod finetune;
pub mod kept_finetune;
pub mod panel;
pub mod picture_queue;
pub mod saver;

/// What the My digits and fine-tuning jobs report to the UI thread. (Few and short-lived: variant sizes do not
/// matter.)
#[allow(clippy::large_enum_variant)]
pub enum MyDigitsEvent {
    /// My digits read at start, or why not and whether the unreadable file is still in the way
    /// (then nothing may be saved over it).
    Loaded(Result<crate::my_digits::MyDigits, (String, bool)>),
    /// A save failed (successes are silent: saves happen after every change).
    SaveFailed(String),
    /// Digits to add, from an import (already checked, every row).
    Imported {
        id: u64,
        source: String,
        result: Result<crate::my_digits::MyDigits, String>,
    },
    /// A dropped picture, preprocessed, waiting for its label.
    PictureRead {
        name: String,
        result: Result<[u8; crate::data::PIXELS], String>,
    },
    /// The fine-tuned model kept from the last session (None: there is none).
    Restored(Result<Option<kept_finetune::Restored>, String>),
    Finetune(crate::finetune::FinetuneEvent),
    FinetuneDone {
        model: crate::network::Mlp,
        report: crate::finetune::FinetuneReport,
    },
    /// The model, the digits and the replayed data do not fit together: nothing was done.
    FinetuneRefused(String),
    /// The fine-tuning's latest snapshot waits in its control (sent once per take).
    SnapshotReady,
}

/// The My digits tab: the collection, the fine-tuning curves, and the dropped pictures waiting
/// for a label.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MyDigitsTab {
    #[serde(skip)]
    pub panel: panel::MyDigitsPanel,
}

impl MyDigitsTab {
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &panel::MyDigitsView<'_>) -> Option<panel::MyDigitsAction> {
        self.panel.ui(ui, view)
    }
}
