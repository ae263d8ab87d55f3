//! The central view: the error banner, then the selected tab (learning curves, dev samples with
//! the confusion matrix, first-layer weights, or the drawing canvas).

use std::sync::Arc;

use crate::network::Mlp;

use super::App;
use super::error_banner;
use super::state::Tab;

impl App {
    pub(super) fn central_panel(&mut self, ui: &mut egui::Ui) {
        error_banner::ui(ui, &mut self.error);
        if self.settings.tab == Tab::Training {
            self.plots.ui(ui);
            return;
        }
        // While a run trains, the views show its latest snapshot; the key tells them when the
        // model they show changed.
        let shown = self.shown_model();
        let model = shown.as_ref().map(|m| (m.model.as_ref(), m.key));
        let dev = self
            .data
            .as_ref()
            .map(|d| (d.split.clone(), Arc::as_ptr(&d.split) as u64));
        let caption = shown.as_ref().map(|m| m.caption.clone());
        match self.settings.tab {
            Tab::Training => {}
            Tab::Samples => self.samples_tab(ui, shown.as_ref().map(|m| (&m.model, m.key))),
            Tab::Weights => {
                model_caption(ui, caption.as_deref());
                self.weights.ui(ui, model);
            }
            Tab::Draw => {
                model_caption(ui, caption.as_deref());
                let names = self.class_names();
                self.canvas
                    .ui(ui, shown.as_ref().map(|m| (&m.model, m.key)), dev, &names);
            }
        }
    }

    /// Dev samples on the left, the confusion matrix on the right; a click on a cell filters
    /// the samples to it (a second click clears the filter).
    /// The class names the views show: the model's (saved with it), else those of the training
    /// data's `classes.txt`; while a run trains, the data's. Empty: classes show their labels.
    pub fn class_names(&self) -> Vec<String> {
        let data = self.data.as_ref().map(|d| d.class_names.clone()).unwrap_or_default();
        match &self.model {
            Some(m) if self.training.is_none() && !m.info.class_names.is_empty() => m.info.class_names.clone(),
            _ => data,
        }
    }

    fn samples_tab(&mut self, ui: &mut egui::Ui, model: Option<(&Arc<Mlp>, u64)>) {
        let Some(data) = &self.data else {
            ui.label("No training data: open a training CSV.");
            return;
        };
        if data.split.dev.rows() == 0 {
            ui.label("The dev set is empty: set a dev size and train.");
            return;
        }
        let caption = self.eval.as_ref().map(|e| e.caption.as_str());
        model_caption(ui, caption);
        let class_names = self.class_names();
        ui.columns(2, |columns| {
            // The split's address changes whenever the dev set does.
            let dev_key = Arc::as_ptr(&data.split) as u64;
            egui::ScrollArea::vertical()
                .id_salt("samples")
                .show(&mut columns[0], |ui| {
                    self.grid
                        .ui(ui, &data.split, dev_key, self.eval.as_ref(), model, &class_names);
                });
            match &self.eval {
                Some(eval) => {
                    let filter = self.grid.filter;
                    if let Some(cell) = self
                        .confusion
                        .ui(&mut columns[1], &eval.evaluation, filter, &class_names)
                    {
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

/// Which model a view shows: "Model: run #3, step 1,200 of 6,420" while a run trains.
fn model_caption(ui: &mut egui::Ui, caption: Option<&str>) {
    if let Some(caption) = caption {
        ui.weak(format!("Model: {caption}"))
            .on_hover_text("While a run trains, the views show a snapshot of it taken every half second.");
    }
}
