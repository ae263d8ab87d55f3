//! The Samples tab: dev digits with the model's readings, and the confusion matrix.

pub mod confusion;
pub mod evaluation;
pub mod sample_grid;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::app::session::TrainData;
use crate::network::Mlp;

use confusion::ConfusionPanel;
use evaluation::EvalResult;
use sample_grid::SampleGrid;

/// The Samples tab: the grid of dev digits and the confusion matrix, which filters it.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplesTab {
    pub grid: SampleGrid,
    pub confusion: ConfusionPanel,
}

/// What the Samples tab shows.
pub struct SamplesView<'a> {
    pub data: Option<&'a TrainData>,
    /// The dev set's predictions by the model shown.
    pub eval: Option<&'a EvalResult>,
    /// The model shown, with its version's key.
    pub model: Option<(&'a Arc<Mlp>, u64)>,
    pub has_model: bool,
    pub class_names: &'a [String],
}

impl SamplesTab {
    /// Dev samples on the left, the confusion matrix on the right; a click on a cell filters
    /// the samples to it (a second click clears the filter). Returns the dev row to open in the
    /// Math tab, if the user asked.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: SamplesView<'_>) -> Option<usize> {
        let SamplesView {
            data,
            eval,
            model,
            has_model,
            class_names,
        } = view;
        let Some(data) = data else {
            ui.label("No training data: open a training CSV.");
            return None;
        };
        if data.split.dev.rows() == 0 {
            ui.label("The dev set is empty: set a dev size and train.");
            return None;
        }
        let caption = eval.map(|e| e.caption.as_str());
        crate::app::tabs::model_caption(ui, caption);
        let mut open_in_math = None;
        ui.columns(2, |columns| {
            let dev_key = data.dev_version.get();
            egui::ScrollArea::vertical()
                .id_salt("samples")
                .show(&mut columns[0], |ui| {
                    open_in_math = self.grid.ui(ui, &data.split, dev_key, eval, model, class_names);
                });
            match eval {
                Some(eval) => {
                    let filter = self.grid.filter;
                    if let Some(cell) = self
                        .confusion
                        .ui(&mut columns[1], &eval.evaluation, filter, class_names)
                    {
                        self.grid.filter = if self.grid.filter == Some(cell) {
                            None
                        } else {
                            Some(cell)
                        };
                        self.grid.mistakes_only = false;
                    }
                }
                None if !has_model => {
                    columns[1].label("No model: train one or open a model file.");
                }
                None => {
                    columns[1].spinner();
                }
            }
        });
        open_in_math
    }
}
