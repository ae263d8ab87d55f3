//! The central view: the error banner, then the selected tab (learning curves, dev samples with
//! the confusion matrix, first-layer weights, or the drawing canvas).

pub mod draw;
pub mod insight;
pub mod my_digits;
pub mod probs;
pub mod samples;
pub mod training;
pub mod weights;

use std::sync::Arc;

use crate::network::Mlp;

use crate::app::App;
use crate::app::files::actions::FileAction;
use crate::app::session::Tab;
use crate::app::tabs::my_digits::panel::{MyDigitsAction, MyDigitsView};
use crate::app::window::error_banner;

impl App {
    pub(crate) fn central_panel(&mut self, ui: &mut egui::Ui) {
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
                let strip = self.my_digits_strip(ui);
                let names = self.class_names();
                let labelled = self
                    .canvas
                    .ui(ui, shown.as_ref().map(|m| (&m.model, m.key)), dev, &names);
                if let Some(digit) = labelled {
                    self.label_drawing(digit);
                }
                if let Some(action) = strip {
                    self.my_digits_action(action);
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
                    replay_name: self.data.as_ref().map(|d| d.name.as_str()),
                    path: path.as_deref(),
                    read_only: self.teaching.read_only.as_deref(),
                    unlabelled: self
                        .teaching
                        .unlabelled
                        .first()
                        .map(|(name, image)| (name.as_str(), image, self.teaching.unlabelled.len())),
                };
                if let Some(action) = self.my_digits_panel.ui(ui, &view) {
                    self.my_digits_action(action);
                }
            }
        }
    }

    /// Why Fine-tune cannot start now, if it cannot (a run in progress is not a reason: the
    /// button becomes Stop then).
    pub(crate) fn finetune_blocked(&self) -> Option<String> {
        if self.training.is_some() {
            return Some("A training run is under way.".into());
        }
        let Some(model) = &self.model else {
            return Some("No model: train one or open a model file.".into());
        };
        let Some(data) = &self.data else {
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
