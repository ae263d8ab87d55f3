//! The Training tab: the learning curves, their exports, and the side panel's training controls.

pub mod controls;
pub mod plot_export;
pub mod plots;
pub mod run;

use serde::{Deserialize, Serialize};

use plot_export::PendingPlot;
use plots::PlotsPanel;

/// The Training tab: the learning curves of this session's runs.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingTab {
    pub plots: PlotsPanel,
    /// Save plot (PNG) waiting for its screenshot.
    #[serde(skip)]
    pub pending_plot: Option<PendingPlot>,
}

impl TrainingTab {
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.plots.ui(ui);
    }
}
