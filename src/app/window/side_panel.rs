//! The left panel: what is loaded (training data, test data, model), the path field, and the
//! training controls with the last run's result.

use std::path::PathBuf;

use crate::data::{CLASSES, MAX_LABEL};
use crate::train::TrainConfig;

use crate::app::files::actions::FileAction;
use crate::app::files::path_field::PathField;
use crate::app::format::{describe_model, fmt_count};
use crate::app::session::{ModelState, TestData, TrainData};
use crate::app::tabs::samples::evaluation::EvalResult;
use crate::app::tabs::training::controls::{RunState, TrainAction, TrainingPanel};

/// What the user asked for in the panel this frame.
#[derive(Debug)]
pub enum SidePanelAction {
    /// A path-field button.
    File(FileAction, PathBuf),
    Train(TrainAction),
    /// Transpose the training data's images (EMNIST stores them transposed), or undo it.
    Transpose,
}

/// What the panel shows.
pub struct SidePanelView<'a> {
    pub data: Option<&'a TrainData>,
    pub test: Option<&'a TestData>,
    pub model: Option<&'a ModelState>,
    pub eval: Option<&'a EvalResult>,
    pub run: RunState,
    pub last_run: Option<&'a str>,
}

#[derive(Default)]
pub struct SidePanel {
    pub path_field: PathField,
    training: TrainingPanel,
}

impl SidePanel {
    /// Draws the panel; `path`, `class_count` and `config` are the persisted path text, class
    /// count and training settings.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        view: SidePanelView<'_>,
        path: &mut String,
        class_count: &mut Option<usize>,
        config: &mut TrainConfig,
    ) -> Option<SidePanelAction> {
        ui.heading("Data and model");
        let transpose = loaded_files(ui, &view);
        ui.add_space(6.0);
        let mut action = self
            .path_field
            .ui(ui, path)
            .map(|(file, path)| SidePanelAction::File(file, path))
            .or(transpose);
        class_count_setting(ui, class_count);

        ui.separator();
        ui.heading("Training");
        if let Some(train) = self.training.ui(ui, config, view.run) {
            action = Some(SidePanelAction::Train(train));
        }
        if let Some(message) = view.last_run {
            ui.add_space(4.0);
            ui.label(message);
        }
        action
    }
}

/// "Classes: auto", or a count that training files loaded from now on must keep their labels
/// within (a label outside it is refused with its line, and the data from before stays).
fn class_count_setting(ui: &mut egui::Ui, class_count: &mut Option<usize>) {
    ui.horizontal(|ui| {
        let mut auto = class_count.is_none();
        let toggle = ui.checkbox(&mut auto, "Classes: auto").on_hover_text(
            "Auto: as many classes as the labels need (a rare label above 0-9 is warned about). \
             Off: training files with a label outside 0..N-1 are refused when loaded.",
        );
        if toggle.changed() {
            *class_count = (!auto).then_some(CLASSES);
        }
        if let Some(count) = class_count {
            let most = usize::from(MAX_LABEL) + 1;
            ui.add(egui::DragValue::new(count).range(1..=most))
                .on_hover_text("Labels 0..N-1 are accepted when a training file is loaded");
        }
    });
}

/// One line and a weak detail line each for the training data, the test data and the model;
/// the training data's transpose toggle, when clicked.
fn loaded_files(ui: &mut egui::Ui, view: &SidePanelView<'_>) -> Option<SidePanelAction> {
    let mut action = None;
    match view.data {
        Some(d) => {
            ui.label(format!("Training: {}", d.name));
            let loaded = if d.seconds > 0.0 {
                format!(" · loaded in {:.2} s", d.seconds)
            } else {
                String::new()
            };
            let classes = d.dataset.labels_present().len();
            ui.weak(format!(
                "{} rows of {s}x{s} · {classes} classes · {} train / {} dev{loaded}",
                fmt_count(d.dataset.rows()),
                fmt_count(d.split.train.rows()),
                fmt_count(d.split.dev.rows()),
                s = d.dataset.side,
            ));
            let mut transposed = d.transposed;
            let toggle = ui
                .add_enabled(
                    !view.run.training,
                    egui::Checkbox::new(&mut transposed, "Transpose images (EMNIST)"),
                )
                .on_hover_text("EMNIST stores its images transposed: this turns them upright, so they match the canvas. Models trained so remember it.");
            if toggle.changed() {
                action = Some(SidePanelAction::Transpose);
            }
        }
        None => {
            ui.label("Training: none");
        }
    }
    match view.test {
        Some(t) => {
            ui.label(format!("Test: {}", t.name));
            ui.weak(format!(
                "{} rows · loaded in {:.2} s",
                fmt_count(t.dataset.rows()),
                t.seconds
            ));
        }
        None => {
            ui.weak("Test: none (needed for the submission)");
        }
    }
    match view.model {
        Some(m) => {
            ui.label(format!("Model: {}", m.name));
            let mut line = describe_model(&m.model);
            if let Some(eval) = view.eval {
                line.push_str(&format!(" · dev {:.2}%", eval.evaluation.accuracy * 100.0));
            }
            ui.weak(line);
        }
        None => {
            ui.label("Model: none");
        }
    }
    action
}
