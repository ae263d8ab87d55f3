//! Training controls: preset, hyper-parameters and the Train / Pause / Stop / Reset buttons.

use egui::RichText;

use crate::network::Init;
use crate::train::{Length, Optimizer, Preset, Schedule, TrainConfig};

/// What the user asked for this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrainAction {
    Train,
    Pause,
    Resume,
    Stop,
    Reset,
    /// Alpha changed while training: applied at once.
    Alpha(f32),
}

/// What the panel needs to know about the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunState {
    pub training: bool,
    pub paused: bool,
    pub has_data: bool,
    pub train_rows: usize,
}

#[derive(Default)]
pub struct TrainingPanel {
    /// The hidden sizes as typed (e.g. "512,256").
    hidden_text: Option<String>,
    hidden_error: Option<String>,
}

impl TrainingPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, config: &mut TrainConfig, run: RunState) -> Option<TrainAction> {
        let mut action = None;
        let before = config.clone();
        let mut preset_changed = false;
        let hidden_text = self.hidden_text.get_or_insert_with(|| hidden_string(&config.hidden));

        // Not while training: a preset sets the fields that are locked during a run, and its alpha
        // would show on the slider without reaching the run.
        ui.add_enabled_ui(!run.training, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Preset");
                let mut preset = config.preset;
                egui::ComboBox::from_id_salt("preset")
                    .selected_text(preset.to_string())
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut preset, Preset::Seed, "seed").on_hover_text(
                            "The notebook: 784-10-10, full-batch gradient descent, alpha 0.1, 500 iterations",
                        );
                        ui.selectable_value(&mut preset, Preset::Best, "best").on_hover_text(
                            "784-512-256-10, Adam, mini-batches of 128, cosine decay, L2, dropout 0.1, 1-pixel shifts, 20 epochs",
                        );
                        ui.selectable_value(&mut preset, Preset::Custom, "custom");
                    })
                    .response
                    .labelled_by(label.id);
                if preset != config.preset {
                    preset_changed = true;
                    if preset == Preset::Custom {
                        config.preset = Preset::Custom;
                    } else {
                        *config = TrainConfig::preset(preset);
                        *hidden_text = hidden_string(&config.hidden);
                        self.hidden_error = None;
                    }
                }
            });
        });

        // Alpha: logarithmic, and live while training.
        let alpha = ui.add(
            egui::Slider::new(&mut config.alpha, 1e-4..=1.0)
                .logarithmic(true)
                .text("alpha")
                .custom_formatter(|v, _| format!("{v:.4}")),
        );
        let alpha = alpha.on_hover_text("Learning rate. Changing it while training takes effect at the next step.");
        if alpha.changed() && run.training {
            action = Some(TrainAction::Alpha(config.alpha));
        }

        ui.add_enabled_ui(!run.training, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Hidden layers");
                let response = ui
                    .add(egui::TextEdit::singleline(hidden_text).desired_width(90.0))
                    .labelled_by(label.id)
                    .on_hover_text("Comma-separated widths, e.g. 512,256 (empty: no hidden layer)");
                if response.changed() {
                    match crate::train::parse_hidden(hidden_text) {
                        Ok(hidden) => {
                            config.hidden = hidden;
                            self.hidden_error = None;
                        }
                        Err(e) => self.hidden_error = Some(e),
                    }
                }
            });
            if let Some(e) = &self.hidden_error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }

            ui.horizontal(|ui| {
                let label = ui.label("Batch size");
                ui.add(egui::DragValue::new(&mut config.batch_size).range(0..=8192).speed(4))
                    .labelled_by(label.id)
                    .on_hover_text("Rows per step; 0 = the whole training set (full-batch gradient descent)");
                ui.weak(if config.batch_size == 0 {
                    "full batch"
                } else {
                    "mini-batch"
                });
            });

            let full_batch = config.batch_size == 0;
            match &mut config.length {
                Length::Iterations(n) => {
                    ui.add(egui::Slider::new(n, 1..=10_000).logarithmic(true).text("iterations"));
                }
                Length::Epochs(n) => {
                    ui.add(egui::Slider::new(n, 1..=200).logarithmic(true).text("epochs"));
                }
            }
            ui.horizontal(|ui| {
                let mut epochs = matches!(config.length, Length::Epochs(_));
                ui.radio_value(&mut epochs, false, "iterations");
                ui.add_enabled(!full_batch, egui::RadioButton::new(epochs, "epochs"))
                    .on_hover_text("Passes over the training rows (mini-batch only)")
                    .clicked()
                    .then(|| epochs = true);
                if full_batch {
                    epochs = false;
                }
                match (epochs, config.length) {
                    (true, Length::Iterations(_)) => config.length = Length::Epochs(5),
                    (false, Length::Epochs(_)) => config.length = Length::Iterations(500),
                    _ => {}
                }
            });

            ui.horizontal(|ui| {
                choice(
                    ui,
                    "Optimizer",
                    &mut config.optimizer,
                    &[Optimizer::Gd, Optimizer::Momentum, Optimizer::Adam],
                );
                choice(ui, "Init", &mut config.init, &[Init::Uniform, Init::He, Init::Xavier]);
            });
            ui.horizontal(|ui| {
                let label = ui.label("Schedule");
                let text = match config.schedule {
                    Schedule::Constant => "constant",
                    Schedule::Cosine => "cosine",
                    Schedule::Exponential(_) => "exponential",
                };
                egui::ComboBox::from_id_salt("schedule")
                    .selected_text(text)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut config.schedule, Schedule::Constant, "constant");
                        ui.selectable_value(&mut config.schedule, Schedule::Cosine, "cosine");
                        ui.selectable_value(
                            &mut config.schedule,
                            Schedule::Exponential(0.9),
                            "exponential (x0.9 per epoch)",
                        );
                    })
                    .response
                    .labelled_by(label.id);
            });
            ui.add(
                egui::Slider::new(&mut config.l2, 0.0..=1e-2)
                    .logarithmic(true)
                    .smallest_positive(1e-7)
                    .text("L2")
                    .custom_formatter(|v, _| if v == 0.0 { "0".into() } else { format!("{v:.1e}") }),
            );
            ui.horizontal(|ui| {
                let label = ui.label("Seed");
                ui.add(egui::DragValue::new(&mut config.seed)).labelled_by(label.id);
                let label = ui.label("Dev size");
                let max = run.train_rows.saturating_sub(1).max(1);
                ui.add(egui::DragValue::new(&mut config.dev_size).range(0..=max).speed(10))
                    .labelled_by(label.id)
                    .on_hover_text("Rows held out to measure accuracy on unseen digits");
            });
        });

        if !preset_changed && *config != before {
            // Any edit of a preset's values makes it a custom config.
            config.preset = Preset::Custom;
        }
        ui.label(RichText::new(config.label()).monospace().weak());
        if let Err(e) = config.validate() {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }

        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let can_train = !run.training && run.has_data && config.validate().is_ok() && self.hidden_error.is_none();
            let train = ui
                .add_enabled(can_train, egui::Button::new(RichText::new("Train").strong()))
                .on_hover_text("Train a fresh network with these settings");
            let train = if run.has_data {
                train
            } else {
                train.on_disabled_hover_text("Load training data first")
            };
            if train.clicked() {
                action = Some(TrainAction::Train);
            }
            if run.paused {
                if ui.add_enabled(run.training, egui::Button::new("Resume")).clicked() {
                    action = Some(TrainAction::Resume);
                }
            } else if ui.add_enabled(run.training, egui::Button::new("Pause")).clicked() {
                action = Some(TrainAction::Pause);
            }
            if ui
                .add_enabled(run.training, egui::Button::new("Stop"))
                .on_hover_text("End the run; the network keeps what it learned so far")
                .clicked()
            {
                action = Some(TrainAction::Stop);
            }
            if ui
                .add_enabled(!run.training, egui::Button::new("Reset"))
                .on_hover_text("Restore the preset's settings")
                .clicked()
            {
                action = Some(TrainAction::Reset);
            }
        });
        if matches!(action, Some(TrainAction::Reset)) {
            let preset = if config.preset == Preset::Custom {
                Preset::Seed
            } else {
                config.preset
            };
            *config = TrainConfig::preset(preset);
            self.hidden_text = Some(hidden_string(&config.hidden));
            self.hidden_error = None;
        }
        action
    }
}

fn hidden_string(hidden: &[usize]) -> String {
    hidden.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// A labelled drop-down choosing one of `options`, shown by their `Display` text.
fn choice<T: PartialEq + Copy + std::fmt::Display>(ui: &mut egui::Ui, name: &str, value: &mut T, options: &[T]) {
    let label = ui.label(name);
    egui::ComboBox::from_id_salt(name)
        .selected_text(value.to_string())
        .show_ui(ui, |ui| {
            for &option in options {
                ui.selectable_value(value, option, option.to_string());
            }
        })
        .response
        .labelled_by(label.id);
}
