//! Training controls: preset, hyper-parameters and the Train / Pause / Stop / Reset buttons.
//!
//! The drop-downs list the same choices as the command line's flags (the enums' [`Choice`]
//! values). Editing a setting keeps the preset the user started from (`config.preset`) and
//! shows it as e.g. "best (edited)"; Reset returns to that preset.

use egui::RichText;

use crate::choice::Choice;
use crate::train::{Length, Preset, Schedule, TrainConfig, parse_hidden};

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
    hidden_text: String,
    hidden_error: Option<String>,
}

impl TrainingPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, config: &mut TrainConfig, run: RunState) -> Option<TrainAction> {
        let mut action = None;
        // Not while training: a preset sets the fields that are locked during a run, and its alpha
        // would show on the slider without reaching the run.
        ui.add_enabled_ui(!run.training, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Preset");
                // Choosing a preset (also the one edited) restores all its settings.
                if let Some(preset) = pick_value(ui, "preset", &preset_text(config), &config.preset, label.id) {
                    *config = TrainConfig::preset(preset);
                    self.hidden_error = None;
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

        // The field follows the config unless it holds a half-typed value (an error shown below):
        // a preset, Reset or settings loaded at start change the sizes without typing.
        if self.hidden_error.is_none() && parse_hidden(&self.hidden_text).ok().as_ref() != Some(&config.hidden) {
            self.hidden_text = hidden_string(&config.hidden);
        }
        ui.add_enabled_ui(!run.training, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Hidden layers");
                let response = ui
                    .add(egui::TextEdit::singleline(&mut self.hidden_text).desired_width(90.0))
                    .labelled_by(label.id)
                    .on_hover_text("Comma-separated widths, e.g. 512,256 (empty: no hidden layer)");
                if response.changed() {
                    match parse_hidden(&self.hidden_text) {
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
                choice(ui, "Optimizer", &mut config.optimizer);
                choice(ui, "Init", &mut config.init);
            });
            ui.horizontal(|ui| {
                let label = ui.label("Schedule");
                // The decay factor of an exponential schedule is kept when switching to it.
                let gamma = match config.schedule {
                    Schedule::Exponential(g) => g,
                    _ => 0.9,
                };
                egui::ComboBox::from_id_salt("schedule")
                    .selected_text(config.schedule.to_string())
                    .show_ui(ui, |ui| {
                        for schedule in [Schedule::Constant, Schedule::Cosine, Schedule::Exponential(gamma)] {
                            ui.selectable_value(&mut config.schedule, schedule, schedule.to_string());
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text(Schedule::CHOICES);
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
                .on_hover_text(format!("Restore the {} preset's settings", reset_target(config)))
                .clicked()
            {
                action = Some(TrainAction::Reset);
            }
        });
        if matches!(action, Some(TrainAction::Reset)) {
            *config = TrainConfig::preset(reset_target(config));
            self.hidden_error = None;
        }
        action
    }
}

/// The preset Reset returns to: the one the user started from (`seed` for settings saved by
/// older versions as `custom`).
pub fn reset_target(config: &TrainConfig) -> Preset {
    match config.preset {
        Preset::Custom => Preset::Seed,
        preset => preset,
    }
}

/// The preset drop-down's text: "best", or "best (edited)" once the recipe differs from it.
pub fn preset_text(config: &TrainConfig) -> String {
    if config.preset != Preset::Custom && config.effective_preset() == Preset::Custom {
        format!("{} (edited)", config.preset)
    } else {
        config.preset.to_string()
    }
}

fn hidden_string(hidden: &[usize]) -> String {
    hidden.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// A labelled drop-down setting `value` to one of its type's command-line choices.
fn choice<T: Choice + std::fmt::Display>(ui: &mut egui::Ui, name: &str, value: &mut T) {
    let label = ui.label(name);
    if let Some(chosen) = pick_value(ui, name, &value.to_string(), value, label.id) {
        *value = chosen;
    }
}

/// A drop-down listing the choices the command line accepts for `T` (its [`Choice`] values,
/// hidden ones left out), each with its help as hover text; returns the one clicked.
fn pick_value<T: Choice>(ui: &mut egui::Ui, id: &str, selected_text: &str, current: &T, label: egui::Id) -> Option<T> {
    let mut clicked = None;
    egui::ComboBox::from_id_salt(id)
        .selected_text(selected_text)
        .show_ui(ui, |ui| {
            for &option in T::ALL.iter().filter(|v| !v.hidden()) {
                let item = ui
                    .selectable_label(option == *current, option.name())
                    .on_hover_text(option.help());
                if item.clicked() {
                    clicked = Some(option);
                }
            }
        })
        .response
        .labelled_by(label);
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_preset_says_so_and_resets_to_itself() {
        let mut config = TrainConfig::preset(Preset::Best);
        assert_eq!(preset_text(&config), "best");
        config.seed = 7;
        assert_eq!(preset_text(&config), "best", "the seed does not change the recipe");
        config.alpha = 0.01;
        assert_eq!(preset_text(&config), "best (edited)");
        assert_eq!(reset_target(&config), Preset::Best);
    }

    #[test]
    fn old_custom_settings_reset_to_seed() {
        let config = TrainConfig {
            alpha: 0.3,
            ..TrainConfig::preset(Preset::Custom)
        };
        assert_eq!(preset_text(&config), "custom");
        assert_eq!(reset_target(&config), Preset::Seed);
    }

    #[test]
    fn hidden_sizes_round_trip_through_the_text() {
        for hidden in [vec![], vec![10], vec![512, 256]] {
            assert_eq!(parse_hidden(&hidden_string(&hidden)), Ok(hidden));
        }
    }
}
