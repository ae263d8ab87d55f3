//! The Training tab: the learning curves, their exports, and the side panel's training controls;
//! the timeline and the runs table under the curves are drawn by [`crate::app::runs`].

pub mod controls;
pub mod plot_export;
pub mod plots;
pub mod run;

use serde::{Deserialize, Serialize};

use crate::app::runs::table::RunsTable;
use plot_export::PendingPlot;
use plots::PlotsPanel;

/// The Training tab: the learning curves of this session's runs.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingTab {
    pub plots: PlotsPanel,
    /// The runs table under the timeline.
    pub table: RunsTable,
    /// Save plot (PNG) waiting for its screenshot.
    #[serde(skip)]
    pub pending_plot: Option<PendingPlot>,
}

impl TrainingTab {
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.plots.ui(ui);
    }
}
