//! The central view: the error banner, then the selected tab (learning curves, dev samples with
//! the confusion matrix, first-layer weights, or the drawing canvas).

use std::sync::Arc;

use super::App;
use super::error_banner;
use super::state::Tab;

impl App {
    pub(super) fn central_panel(&mut self, ui: &mut egui::Ui) {
        error_banner::ui(ui, &mut self.error);
        // The generation tells the views when the model changed.
        let model = self.model.as_ref().map(|m| (m.model.as_ref(), self.generation));
        match self.settings.tab {
            Tab::Training => self.plots.ui(ui),
            Tab::Samples => self.samples_tab(ui),
            Tab::Weights => self.weights.ui(ui, model),
            Tab::Draw => self.canvas.ui(ui, model),
        }
    }

    /// Dev samples on the left, the confusion matrix on the right; a click on a cell filters
    /// the samples to it (a second click clears the filter).
    fn samples_tab(&mut self, ui: &mut egui::Ui) {
        let Some(data) = &self.data else {
            ui.label("No training data: open a training CSV.");
            return;
        };
        if data.split.dev.rows() == 0 {
            ui.label("The dev set is empty: set a dev size and train.");
            return;
        }
        ui.columns(2, |columns| {
            // The split's address changes whenever the dev set does.
            let dev_key = Arc::as_ptr(&data.split) as u64;
            self.grid
                .ui(&mut columns[0], &data.split.dev, dev_key, self.eval.as_ref());
            match &self.eval {
                Some(eval) => {
                    if let Some(cell) = self.confusion.ui(&mut columns[1], &eval.evaluation, self.grid.filter) {
                        self.grid.filter = if self.grid.filter == Some(cell) {
                            None
                        } else {
                            Some(cell)
                        };
                        self.grid.mistakes_only = false;
                    }
                }
                None if self.model.is_none() => {
                    columns[1].label("No model: train one or open a model file.");
                }
                None => {
                    columns[1].spinner();
                }
            }
        });
    }
}
