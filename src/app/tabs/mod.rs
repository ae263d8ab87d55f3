//! The tabs of the central view, each its own struct with a `ui` method (as in egui's demo app)
//! and its own persisted settings: Training (learning curves), Samples (dev digits and the
//! confusion matrix), Weights (the first layer), Map (the class map), Draw (a canvas), Math (the
//! notebook's step on real numbers), My digits. The app shows the
//! error banner, then the selected tab, handing it a view of what it shows.

pub mod draw;
pub mod insight;
pub mod map;
pub mod math;
pub mod my_digits;
pub mod probs;
pub mod samples;
pub mod training;
pub mod weights;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::app::files::actions::FileAction;
use crate::app::tabs::my_digits::panel::{MyDigitsAction, MyDigitsView};
use crate::app::window::error_banner;

/// The central view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    #[default]
    Training,
    Samples,
    Weights,
    Map,
    Draw,
    Math,
    MyDigits,
}

impl Tab {
    /// In the order of the tab bar.
    pub const ALL: [Tab; 7] = [
        Tab::Training,
        Tab::Samples,
        Tab::Weights,
        Tab::Map,
        Tab::Draw,
        Tab::Math,
        Tab::MyDigits,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Training => "Training",
            Tab::Samples => "Samples",
            Tab::Weights => "Weights",
            Tab::Map => "Map",
            Tab::Draw => "Draw",
            Tab::Math => "Math",
            Tab::MyDigits => "My digits",
        }
    }
}

/// Every tab, with its own settings (persisted under [`crate::app::TABS_KEY`]).
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Tabs {
    pub training: training::TrainingTab,
    pub samples: samples::SamplesTab,
    pub weights: weights::WeightsPanel,
    pub map: map::MapTab,
    pub draw: draw::DrawTab,
    pub math: math::MathTab,
    pub my_digits: my_digits::MyDigitsTab,
}

impl App {
    pub(crate) fn central_panel(&mut self, ui: &mut egui::Ui) {
        error_banner::ui(ui, &mut self.messages.error);
        if self.settings.tab == Tab::Training {
            self.training_tab(ui);
            return;
        }
        // While a run trains, the views show its latest snapshot; the key tells them when the
        // model they show changed.
        let shown = self.shown_model();
        let model = shown.as_ref().map(|m| (m.model.as_ref(), m.key));
        let dev = self
            .session
            .data
            .as_ref()
            .map(|d| (d.split.clone(), d.dev_version.get()));
        let caption = shown.as_ref().map(|m| m.caption.clone());
        match self.settings.tab {
            Tab::Training => {}
            Tab::Samples => {
                let class_names = self.class_names();
                let view = samples::SamplesView {
                    data: self.session.data.as_ref(),
                    eval: self.session.evals.shown.as_ref(),
                    model: shown.as_ref().map(|m| (&m.model, m.key)),
                    has_model: self.session.model.is_some(),
                    class_names: &class_names,
                };
                if let Some(row) = self.tabs.samples.ui(ui, view) {
                    self.tabs.math.open_dev_row(row);
                    self.settings.tab = Tab::Math;
                }
            }
            Tab::Weights => {
                model_caption(ui, caption.as_deref());
                self.tabs.weights.ui(ui, model);
            }
            Tab::Map => {
                model_caption(ui, caption.as_deref());
                let names = self.class_names();
                // The current model gives the axes by default; a run in progress has none yet.
                let idle = self.training.run.is_none() && self.teaching.run.is_none();
                let current = self.session.model.as_ref().filter(|_| idle);
                let view = map::MapView {
                    shown: shown.as_ref().map(|m| (&m.model, m.key, m.caption.as_str())),
                    current: current.map(|m| (&m.model, m.version.get(), m.name.as_str())),
                    dev: self.session.data.as_ref().map(|d| (&d.split, d.dev_version.get())),
                    class_names: &names,
                };
                // The map's point i is dev row i, as in Samples and the Math tab.
                match self.tabs.map.ui(ui, view) {
                    Some(map::MapAction::OpenInSamples(row)) => {
                        if let Some(data) = &self.session.data {
                            let grid = &mut self.tabs.samples.grid;
                            grid.select(row, data.dev_version.get(), data.split.dev.rows());
                            self.settings.tab = Tab::Samples;
                        }
                    }
                    Some(map::MapAction::OpenInMath(row)) => {
                        self.tabs.math.open_dev_row(row);
                        self.settings.tab = Tab::Math;
                    }
                    None => {}
                }
            }
            Tab::Draw => {
                model_caption(ui, caption.as_deref());
                let strip = self.my_digits_strip(ui);
                let names = self.class_names();
                let labelled = self
                    .tabs
                    .draw
                    .ui(ui, shown.as_ref().map(|m| (&m.model, m.key)), dev, &names);
                if let Some(digit) = labelled {
                    self.label_drawing(digit);
                }
                if let Some(action) = strip {
                    self.my_digits_action(action);
                }
            }
            Tab::Math => {
                model_caption(ui, caption.as_deref());
                let drawing = self.tabs.draw.canvas.prediction().map(|p| p.input);
                let replace_blocked = if self.training.run.is_some() {
                    Some("A training run is under way: its model will replace the current one.".to_owned())
                } else if self.teaching.run.is_some() {
                    Some("Fine-tuning is under way.".to_owned())
                } else {
                    None
                };
                let view = math::MathView {
                    model: shown.as_ref().map(|m| (&m.model, m.key)),
                    sources: math::input::Sources {
                        dev: self
                            .session
                            .data
                            .as_ref()
                            .map(|d| (d.split.as_ref(), d.dev_version.get())),
                        drawing: drawing.as_ref(),
                    },
                    replace_blocked,
                    current: self.session.model.as_ref().map(|m| m.version),
                };
                let action = self.tabs.math.ui(ui, view);
                if let Some(action) = action {
                    self.math_action(action);
                }
            }
            Tab::MyDigits => {
                model_caption(ui, caption.as_deref());
                let blocked = self.finetune_blocked();
                let path = self.teaching.path();
                let view = MyDigitsView {
                    digits: self.teaching.digits.as_ref(),
                    version: self.teaching.version,
                    model: shown.as_ref().map(|m| (&m.model, m.key)),
                    run: self.teaching.run.as_ref(),
                    last_curve: &self.teaching.last_curve,
                    last_report: self.teaching.last_report.as_ref(),
                    can_undo: self.teaching.before.is_some(),
                    blocked: blocked.as_deref(),
                    replay_name: self.session.data.as_ref().map(|d| d.name.as_str()),
                    path: path.as_deref(),
                    read_only: self.teaching.read_only.as_deref(),
                    unlabelled: self
                        .teaching
                        .unlabelled
                        .first()
                        .map(|(name, image)| (name.as_str(), image, self.teaching.unlabelled.len())),
                };
                if let Some(action) = self.tabs.my_digits.ui(ui, &view) {
                    self.my_digits_action(action);
                }
            }
        }
    }

    /// Why Fine-tune cannot start now, if it cannot (a run in progress is not a reason: the
    /// button becomes Stop then).
    pub(crate) fn finetune_blocked(&self) -> Option<String> {
        if self.training.run.is_some() {
            return Some("A training run is under way.".into());
        }
        let Some(model) = &self.session.model else {
            return Some("No model: train one or open a model file.".into());
        };
        let Some(data) = &self.session.data else {
            return Some("No training data to replay: open a training CSV.".into());
        };
        let digits = self.teaching.digits.as_ref().filter(|d| !d.is_empty());
        let Some(digits) = digits else {
            return Some("My digits is empty: draw a digit on the Draw tab and label it.".into());
        };
        // The drawings are 28x28 digits; a model or replayed data of another data set (issue 12)
        // cannot be fine-tuned with them.
        crate::finetune::check_inputs(&model.model, digits.dataset(), &data.split)
            .err()
            .map(|why| format!("Cannot fine-tune: {why}."))
    }

    /// My digits in one line on the Draw tab: how many, Fine-tune (or its progress), Undo.
    fn my_digits_strip(&mut self, ui: &mut egui::Ui) -> Option<MyDigitsAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.label(format!("My digits: {}", self.teaching.count()));
            if let Some(run) = &self.teaching.run {
                let done = run
                    .curve
                    .last()
                    .map_or(0.0, |p| p.step as f32 / p.total_steps.max(1) as f32);
                ui.add(egui::ProgressBar::new(done).desired_width(160.0).text("fine-tuning"));
                if ui.button("Stop fine-tuning").clicked() {
                    action = Some(MyDigitsAction::StopFineTune);
                }
            } else {
                let blocked = self.finetune_blocked();
                let button = ui.add_enabled(blocked.is_none(), egui::Button::new("Fine-tune on My digits"));
                let button = match blocked.as_deref() {
                    Some(why) => button.on_disabled_hover_text(why),
                    None => button.on_hover_text("Teach the model your handwriting (curves on the My digits tab)"),
                };
                if button.clicked() {
                    action = Some(MyDigitsAction::FineTune);
                }
            }
            if self.teaching.before.is_some()
                && self.teaching.run.is_none()
                && ui
                    .button("Undo fine-tuning")
                    .on_hover_text("Back to the model from before the last fine-tuning")
                    .clicked()
            {
                action = Some(MyDigitsAction::Undo);
            }
            if let Some(report) = &self.teaching.last_report
                && self.teaching.run.is_none()
            {
                ui.weak(report.summary());
            }
        });
        action
    }

    fn my_digits_action(&mut self, action: MyDigitsAction) {
        match action {
            MyDigitsAction::Relabel(i, d) => {
                self.edit_my_digits(|m| m.relabel(i, d));
            }
            MyDigitsAction::Delete(i) => {
                self.edit_my_digits(|m| m.remove(i));
            }
            MyDigitsAction::FineTune => {
                self.start_finetune();
            }
            MyDigitsAction::StopFineTune => {
                if let Some(run) = &self.teaching.run {
                    run.control.cancel();
                }
            }
            MyDigitsAction::Undo => self.undo_finetune(),
            MyDigitsAction::Import => self.start_file_action(FileAction::ImportMyDigits),
            MyDigitsAction::Export => self.start_file_action(FileAction::ExportMyDigits),
            MyDigitsAction::LabelDropped(digit) => self.label_dropped(digit),
        }
    }

    /// Dev samples on the left, the confusion matrix on the right; a click on a cell filters
    /// the samples to it (a second click clears the filter).
    /// The class names the views show: the model's (saved with it), else those of the training
    /// data's `classes.txt`; while a run trains, the data's. Empty: classes show their labels.
    pub fn class_names(&self) -> Vec<String> {
        let data = self
            .session
            .data
            .as_ref()
            .map(|d| d.class_names.clone())
            .unwrap_or_default();
        match &self.session.model {
            Some(m) if self.training.run.is_none() && !m.info.class_names.is_empty() => m.info.class_names.clone(),
            _ => data,
        }
    }
}

/// Which model a view shows: "Model: run #3, step 1,200 of 6,420" while a run trains.
pub fn model_caption(ui: &mut egui::Ui, caption: Option<&str>) {
    if let Some(caption) = caption {
        ui.weak(format!("Model: {caption}"))
            .on_hover_text("While a run trains, the views show a snapshot of it taken every half second.");
    }
}
