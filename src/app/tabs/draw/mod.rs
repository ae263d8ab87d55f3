//! The Draw tab: a canvas the model reads as you draw.

pub mod canvas;
pub mod nudge;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::Split;
use crate::network::Mlp;

use canvas::DrawingCanvas;

/// The Draw tab: the canvas, the model's reading of it, and the buttons that label it.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DrawTab {
    pub canvas: DrawingCanvas,
}

impl DrawTab {
    /// The digit the user labelled the drawing with, if any (see [`DrawingCanvas::ui`]).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        model: Option<(&Arc<Mlp>, u64)>,
        dev: Option<(Arc<Split>, u64)>,
        class_names: &[String],
    ) -> Option<u8> {
        self.canvas.ui(ui, model, dev, class_names)
    }
}
