//! "Make it a d" on the Math tab: follows −dX of digit d's loss for k small steps on the
//! example's 28x28 pixels ([`crate::nudge`]), showing the image and the probabilities after
//! each step. Computed off the UI thread.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use egui::{RichText, Vec2};
use serde::{Deserialize, Serialize};

use crate::app::jobs::background::Latest;
use crate::network::{Mlp, argmax};
use crate::nudge::{NudgeSettings, NudgeStep, nudge};

use super::paint::{self, Textures};

/// (model key, pixels' hash, target, steps, step size's bits): what a nudge depends on.
type NudgeKey = (u64, u64, usize, usize, u32);

/// The panel: the digit and the settings (persisted), the steps of the last run.
#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct MakeIt {
    pub target: usize,
    pub steps: usize,
    pub step_size: f32,
    /// The user pressed the button for this key (None: nothing asked yet).
    #[serde(skip)]
    asked: Option<NudgeKey>,
    #[serde(skip)]
    worker: Latest<NudgeKey, Arc<Result<Vec<NudgeStep>, String>>>,
}

impl Default for MakeIt {
    fn default() -> Self {
        let settings = NudgeSettings::default();
        MakeIt {
            target: 9,
            steps: settings.steps,
            step_size: settings.step_size,
            asked: None,
            worker: Latest::default(),
        }
    }
}

impl MakeIt {
    /// The result shown: of the last asked key, when it is done.
    pub fn result(&self) -> Option<&[NudgeStep]> {
        self.worker
            .latest()
            .and_then(|r| r.as_ref().as_ref().ok())
            .map(Vec::as_slice)
    }

    /// The button, the settings and the steps for `pixels` (one example's 784 bytes).
    pub fn ui(&mut self, ui: &mut egui::Ui, model: &Arc<Mlp>, model_key: u64, pixels: &[u8], textures: &mut Textures) {
        let classes = model.classes();
        ui.horizontal_wrapped(|ui| {
            ui.label("Make it a");
            for d in 0..classes.min(10) {
                ui.selectable_value(&mut self.target, d, d.to_string());
            }
        });
        ui.add(egui::Slider::new(&mut self.steps, 1..=NudgeSettings::MAX_STEPS).text("steps"));
        ui.add(
            egui::Slider::new(
                &mut self.step_size,
                NudgeSettings::MIN_STEP_SIZE..=NudgeSettings::MAX_STEP_SIZE,
            )
            .logarithmic(true)
            .text("step size"),
        )
        .on_hover_text(
            "Intensity levels (of 255) the most influential pixel moves per step along −dX; \
             pixels stay in 0-255",
        );
        let mut h = std::collections::hash_map::DefaultHasher::new();
        pixels.hash(&mut h);
        let key: NudgeKey = (model_key, h.finish(), self.target, self.steps, self.step_size.to_bits());
        if ui
            .button(format!("Make it a {}", self.target))
            .on_hover_text(format!(
                "Follow −dX of the loss for {} for {} small steps on this image",
                self.target, self.steps
            ))
            .clicked()
        {
            self.asked = Some(key);
        }
        let Some(asked) = self.asked else {
            ui.weak("Follows −dX of the chosen digit's loss: a few pixel changes can turn a 4 into a 9.");
            return;
        };
        let (model, image) = (model.clone(), pixels.to_vec());
        let done = self.worker.get(ui.ctx(), asked, move || {
            let settings = NudgeSettings {
                steps: asked.3,
                step_size: f32::from_bits(asked.4),
            };
            Arc::new(nudge(&model, &image, asked.2, &settings).map_err(|e| e.to_string()))
        });
        let Some((done_key, steps)) = done else {
            ui.spinner();
            return;
        };
        let (done_key, steps) = (*done_key, steps.clone());
        let steps = match steps.as_ref() {
            Ok(steps) => steps,
            Err(why) => {
                ui.label(format!("Cannot nudge: {why}."));
                return;
            }
        };
        if done_key != asked {
            ui.spinner();
        }
        if asked != key {
            ui.weak("The image, model or settings changed: press the button again.");
        }
        let side = (pixels.len() as f64).sqrt() as usize;
        let version = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            done_key.hash(&mut h);
            h.finish()
        };
        let Some(last) = steps.last() else { return };
        let d = done_key.2;
        let read = argmax(&last.probabilities);
        ui.label(
            RichText::new(format!(
                "After {} step(s): P({d}) = {:.1}%, read as {read}; {} pixels changed",
                steps.len() - 1,
                last.probabilities.get(d).copied().unwrap_or(0.0) * 100.0,
                last.changed_pixels
            ))
            .strong(),
        );
        ui.horizontal_wrapped(|ui| {
            for (i, step) in steps.iter().enumerate() {
                let tex = textures.get(ui.ctx(), &format!("nudge_{i}"), version, || {
                    paint::gray_image(&step.pixels, side)
                });
                ui.vertical(|ui| {
                    paint::image(ui, &tex, Vec2::splat(56.0), &format!("nudge step {i}"));
                    let p = step.probabilities.get(d).copied().unwrap_or(0.0);
                    ui.weak(format!("{i}: P({d}) {:.0}%", p * 100.0)).on_hover_text(format!(
                        "step {i}: read as {}, {} pixels changed from the start",
                        argmax(&step.probabilities),
                        step.changed_pixels
                    ));
                });
            }
        });
    }
}
