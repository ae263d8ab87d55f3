//! The Draw tab's "Make it a d": the drawing nudged step by step towards another class
//! ([`crate::nudge`]), shown as a strip of small images with what the model reads after each step
//! and the changed pixels marked; a step can be put on the canvas, and taken off again.

use std::sync::Arc;

use egui::{Color32, ColorImage, Pos2, Rect, RichText, Sense, TextureHandle, TextureOptions, Vec2};
use serde::{Deserialize, Serialize};

use crate::app::jobs::background::Latest;
use crate::data::class_caption;
use crate::network::Mlp;
use crate::nudge::{NudgeError, NudgeSettings, NudgeStep, nudge};

/// What a nudge is computed for.
#[derive(Clone, Debug, PartialEq)]
pub struct NudgeKey {
    model_key: u64,
    /// The start image, the model's input size.
    start: Vec<u8>,
    target: usize,
    settings: NudgeSettings,
}

/// A finished nudge: its steps (start first), or why it was refused.
pub type NudgeResult = Arc<Result<Vec<NudgeStep>, NudgeError>>;

/// What the panel asks of the canvas.
#[derive(Clone, Debug, PartialEq)]
pub enum NudgeAction {
    /// Put this image (the model's input size) on the canvas, as the model reads it.
    Apply(Vec<u8>),
    /// Put back the drawing from before the last [`NudgeAction::Apply`].
    Undo,
}

/// What the panel works on this frame.
pub struct NudgeSubject<'a> {
    pub model: &'a Arc<Mlp>,
    /// Changes whenever the model does.
    pub model_key: u64,
    /// The image the model reads now, its input size.
    pub image: &'a [u8],
    /// Class names (may be empty).
    pub names: &'a [String],
    /// The canvas holds a drawing from before an apply to put back.
    pub can_undo: bool,
}

/// Side of one image of the strip, in points.
const CELL: f32 = 84.0;

/// "Make it a d" on the Draw tab: its settings persist, the nudge runs off the UI thread.
#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct NudgePanel {
    pub settings: NudgeSettings,
    /// The class to make of the drawing.
    pub target: usize,
    /// Mark the pixels that differ from the start (red: ink added, blue: ink taken away).
    pub mark_changes: bool,
    /// The nudge the strip shows (None: the strip is closed).
    #[serde(skip)]
    request: Option<NudgeKey>,
    /// The image of the shown nudge put on the canvas, while it is there.
    #[serde(skip)]
    applied: Option<Vec<u8>>,
    /// The step to put on the canvas (None: the last).
    #[serde(skip)]
    selected: Option<usize>,
    #[serde(skip)]
    job: Latest<NudgeKey, NudgeResult>,
    /// The result on show and what it was computed for.
    #[serde(skip)]
    shown: Option<(NudgeKey, NudgeResult)>,
    /// The strip's images side by side, and what they were drawn for.
    #[serde(skip)]
    texture: Option<(TextureHandle, NudgeKey, bool)>,
}

impl Default for NudgePanel {
    fn default() -> Self {
        NudgePanel {
            settings: NudgeSettings::default(),
            target: 9,
            mark_changes: true,
            request: None,
            applied: None,
            selected: None,
            job: Latest::default(),
            shown: None,
            texture: None,
        }
    }
}

impl NudgePanel {
    /// The steps of the nudge on show, once computed for the current request (for tests).
    pub fn shown(&self) -> Option<&[NudgeStep]> {
        let (key, result) = self.shown.as_ref()?;
        if self.request.as_ref() != Some(key) {
            return None;
        }
        result.as_ref().as_ref().ok().map(Vec::as_slice)
    }

    /// The strip is open.
    pub fn is_open(&self) -> bool {
        self.request.is_some()
    }

    /// The button, the settings and, once asked, the strip. Returns what to do to the canvas.
    pub fn ui(&mut self, ui: &mut egui::Ui, subject: &NudgeSubject<'_>) -> Option<NudgeAction> {
        let classes = subject.model.classes();
        if classes == 0 {
            return None;
        }
        self.target = self.target.min(classes - 1);
        self.settings = self.settings.clamped();
        let mut action = None;
        ui.separator();
        ui.horizontal(|ui| {
            let target = self.target;
            let make = ui
                .button(RichText::new(format!("Make it a {target}")).strong())
                .on_hover_text(format!(
                    "Change the drawing a little at a time until the network reads {}: each step \
                     follows −dX of the loss for {target}, the gradient at the pixels (an adversarial \
                     example)",
                    class_caption(subject.names, target)
                ));
            egui::ComboBox::from_id_salt("nudge_target")
                .selected_text(class_caption(subject.names, target))
                .width(48.0)
                .show_ui(ui, |ui| {
                    for c in 0..classes {
                        ui.selectable_value(&mut self.target, c, class_caption(subject.names, c));
                    }
                })
                .response
                .on_hover_text("The class to make of the drawing");
            if make.clicked() {
                self.request = Some(self.key_for(subject, subject.image.to_vec()));
                self.applied = None;
                self.selected = None;
            }
        });
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.settings.steps, 1..=NudgeSettings::MAX_STEPS).text("steps at most"));
            ui.add(
                egui::Slider::new(
                    &mut self.settings.step_size,
                    NudgeSettings::MIN_STEP_SIZE..=NudgeSettings::MAX_STEP_SIZE,
                )
                .step_by(1.0)
                .text("step size"),
            )
            .on_hover_text(
                "Intensity levels (of 255) the most influential pixel changes by in one step; pixels \
                 with at least half its gradient change in proportion, the rest stay put",
            );
        });
        self.settings = self.settings.clamped();

        let Some(request) = &self.request else {
            return None;
        };
        // A new drawing closes the strip; the strip's own image on the canvas does not.
        let drawn_over = subject.image != request.start.as_slice() && Some(subject.image) != self.applied.as_deref();
        if drawn_over {
            self.close();
            return None;
        }
        // Follows the model, the target and the settings while open.
        let key = self.key_for(subject, request.start.clone());
        if self.request.as_ref() != Some(&key) {
            self.selected = None;
        }
        self.request = Some(key.clone());
        let model = Arc::clone(subject.model);
        let work_key = key.clone();
        let latest = self.job.get(ui.ctx(), key.clone(), move || {
            Arc::new(nudge(&model, &work_key.start, work_key.target, &work_key.settings))
        });
        // The last result for this drawing is shown while a newer one computes.
        let Some((done_key, result)) = latest
            .filter(|(k, _)| k.start == key.start)
            .map(|(k, r)| (k.clone(), Arc::clone(r)))
        else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Nudging towards {}…", key.target));
            });
            return None;
        };
        self.shown = Some((done_key.clone(), Arc::clone(&result)));
        if done_key != key {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak("updating…");
            });
        }
        match result.as_ref() {
            Err(error) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Cannot nudge: {error}."));
            }
            Ok(steps) => action = self.strip_ui(ui, subject, &done_key, steps),
        }
        action
    }

    fn key_for(&self, subject: &NudgeSubject<'_>, start: Vec<u8>) -> NudgeKey {
        NudgeKey {
            model_key: subject.model_key,
            start,
            target: self.target,
            settings: self.settings,
        }
    }

    fn close(&mut self) {
        self.request = None;
        self.shown = None;
        self.applied = None;
        self.selected = None;
    }

    /// The steps side by side, the outcome in words, and the buttons.
    fn strip_ui(
        &mut self,
        ui: &mut egui::Ui,
        subject: &NudgeSubject<'_>,
        key: &NudgeKey,
        steps: &[NudgeStep],
    ) -> Option<NudgeAction> {
        let mut action = None;
        let target = key.target;
        let side = key.start.len().isqrt();
        let square = side * side == key.start.len() && side > 0;
        ui.label(outcome(steps, key, subject.names));
        if square {
            self.update_texture(ui.ctx(), key, steps, side);
        }
        let selected = self.selected.unwrap_or(steps.len() - 1).min(steps.len() - 1);
        egui::ScrollArea::horizontal().id_salt("nudge_strip").show(ui, |ui| {
            ui.horizontal_top(|ui| {
                for (k, step) in steps.iter().enumerate() {
                    ui.vertical(|ui| {
                        ui.set_width(CELL);
                        let (rect, response) = ui.allocate_exact_size(Vec2::splat(CELL), Sense::click());
                        let name = if k == 0 {
                            "start".to_owned()
                        } else {
                            format!("step {k}")
                        };
                        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, name.clone()));
                        if let Some((texture, _, _)) = &self.texture {
                            let n = steps.len() as f32;
                            let uv =
                                Rect::from_min_max(Pos2::new(k as f32 / n, 0.0), Pos2::new((k + 1) as f32 / n, 1.0));
                            ui.painter().image(texture.id(), rect, uv, Color32::WHITE);
                        }
                        let stroke = if k == selected {
                            ui.visuals().selection.stroke
                        } else {
                            ui.visuals().widgets.inactive.bg_stroke
                        };
                        ui.painter().rect_stroke(rect, 2.0, stroke, egui::StrokeKind::Outside);
                        if response
                            .on_hover_text(format!(
                                "{}\nClick to choose this image to put on the canvas",
                                top_classes(step, subject.names)
                            ))
                            .clicked()
                        {
                            self.selected = Some(k);
                        }
                        let predicted = step.predicted();
                        let read = RichText::new(format!("{name}: {}", class_caption(subject.names, predicted)));
                        ui.label(if predicted == target { read.strong() } else { read });
                        ui.label(format!("P({target}) {:.1}%", step.probabilities[target] * 100.0));
                        if k > 0 {
                            ui.weak(format!("{} px", step.changed_pixels));
                        }
                    });
                }
            });
        });
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.mark_changes, "mark changes")
                .on_hover_text("Red: ink added since the start; blue: ink taken away");
            let chosen = &steps[selected].pixels;
            let on_canvas = self.applied.as_ref() == Some(chosen);
            let label = if selected == 0 {
                "Put the start on the canvas".to_owned()
            } else {
                format!("Put step {selected} on the canvas")
            };
            if ui
                .add_enabled(!on_canvas && selected > 0, egui::Button::new(label))
                .on_hover_text("Replace the drawing with this image, exactly as the network reads it")
                .on_disabled_hover_text("Already on the canvas")
                .clicked()
            {
                self.applied = Some(chosen.clone());
                action = Some(NudgeAction::Apply(chosen.clone()));
            }
            if ui
                .add_enabled(subject.can_undo, egui::Button::new("Undo"))
                .on_hover_text("Put back the drawing from before the nudged image went on the canvas")
                .clicked()
            {
                self.applied = None;
                action = Some(NudgeAction::Undo);
            }
            if ui
                .button("Back")
                .on_hover_text("Close the steps; the canvas stays as it is")
                .clicked()
            {
                self.close();
            }
        });
        action
    }

    /// Draws the strip's images into one texture, `side` pixels each, when the nudge or the
    /// marking changed.
    fn update_texture(&mut self, ctx: &egui::Context, key: &NudgeKey, steps: &[NudgeStep], side: usize) {
        if self
            .texture
            .as_ref()
            .is_some_and(|(_, k, mark)| k == key && *mark == self.mark_changes)
        {
            return;
        }
        let width = side * steps.len();
        let mut image = ColorImage::filled([width, side], Color32::BLACK);
        let start = &steps[0].pixels;
        for (k, step) in steps.iter().enumerate() {
            for (i, (&v, &s)) in step.pixels.iter().zip(start).enumerate() {
                let (y, x) = (i / side, i % side);
                image.pixels[y * width + k * side + x] = pixel_colour(v, s, self.mark_changes);
            }
        }
        match &mut self.texture {
            Some((texture, k, mark)) => {
                texture.set(image, TextureOptions::NEAREST);
                *k = key.clone();
                *mark = self.mark_changes;
            }
            None => {
                let texture = ctx.load_texture("nudge_strip", image, TextureOptions::NEAREST);
                self.texture = Some((texture, key.clone(), self.mark_changes));
            }
        }
    }
}

/// A pixel of value `v` whose start value was `start`: gray, or with `mark`, red where ink was
/// added and blue where it was taken away (bright enough to see even for a small change).
fn pixel_colour(v: u8, start: u8, mark: bool) -> Color32 {
    if !mark || v == start {
        return Color32::from_gray(v);
    }
    let strength = 110 + (u16::from(v.abs_diff(start)) * 145 / 255) as u8;
    let dim = v / 3;
    if v > start {
        Color32::from_rgb(strength.max(v), dim, dim)
    } else {
        Color32::from_rgb(dim, dim, strength.max(v))
    }
}

/// The three most probable classes of a step, for its tooltip: "9 94.1%, 4 5.2%, 8 0.4%".
fn top_classes(step: &NudgeStep, names: &[String]) -> String {
    let mut order: Vec<usize> = (0..step.probabilities.len()).collect();
    order.sort_by(|&a, &b| step.probabilities[b].total_cmp(&step.probabilities[a]));
    order
        .iter()
        .take(3)
        .map(|&c| format!("{} {:.1}%", class_caption(names, c), step.probabilities[c] * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The nudge's outcome in a sentence.
fn outcome(steps: &[NudgeStep], key: &NudgeKey, names: &[String]) -> String {
    let target = key.target;
    let (first, last) = (&steps[0], &steps[steps.len() - 1]);
    let taken = steps.len() - 1;
    let p = |s: &NudgeStep| s.probabilities[target] * 100.0;
    let caption = class_caption(names, target);
    let reached = last.predicted() == target && last.probabilities[target] >= NudgeSettings::STOP_PROBABILITY;
    if taken == 0 && reached {
        format!("The network already reads {caption} ({:.1}%).", p(last))
    } else if reached {
        format!(
            "Read as {caption} ({:.1}%) after {taken} step{}: {} of {} pixels changed.",
            p(last),
            if taken == 1 { "" } else { "s" },
            last.changed_pixels,
            last.pixels.len()
        )
    } else if taken == key.settings.steps {
        format!(
            "All {taken} steps taken: P({target}) rose from {:.1}% to {:.1}%, the network reads {}. Allow \
             more steps or a bigger step size.",
            p(first),
            p(last),
            class_caption(names, last.predicted())
        )
    } else {
        format!(
            "Stopped after {taken} step{}: no step raised P({target}) further (from {:.1}% to {:.1}%).",
            if taken == 1 { "" } else { "s" },
            p(first),
            p(last)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(pixels: Vec<u8>, probabilities: Vec<f32>, changed_pixels: usize) -> NudgeStep {
        NudgeStep {
            pixels,
            probabilities,
            changed_pixels,
        }
    }

    fn key(steps: usize) -> NudgeKey {
        NudgeKey {
            model_key: 0,
            start: vec![0; 4],
            target: 1,
            settings: NudgeSettings { steps, step_size: 8.0 },
        }
    }

    #[test]
    fn the_outcome_says_how_the_nudge_ended() {
        let start = step(vec![0; 4], vec![0.8, 0.2], 0);
        let reached = step(vec![9, 0, 0, 0], vec![0.05, 0.95], 1);
        let short = step(vec![9, 0, 0, 0], vec![0.4, 0.6], 1);
        assert_eq!(
            outcome(&[start.clone(), reached.clone()], &key(5), &[]),
            "Read as 1 (95.0%) after 1 step: 1 of 4 pixels changed."
        );
        assert!(outcome(&[start.clone(), short.clone()], &key(1), &[]).starts_with("All 1 steps taken"));
        assert!(outcome(&[start.clone(), short], &key(5), &[]).starts_with("Stopped after 1 step:"));
        assert!(outcome(&[reached], &key(5), &[]).starts_with("The network already reads 1"));
    }

    #[test]
    fn the_tooltip_lists_the_likeliest_classes() {
        let s = step(vec![0; 4], vec![0.1, 0.6, 0.05, 0.25], 0);
        assert_eq!(top_classes(&s, &[]), "1 60.0%, 3 25.0%, 0 10.0%");
    }

    #[test]
    fn changed_pixels_are_marked_by_direction() {
        assert_eq!(pixel_colour(40, 40, true), Color32::from_gray(40));
        assert_eq!(pixel_colour(40, 0, false), Color32::from_gray(40));
        let added = pixel_colour(40, 0, true);
        assert!(added.r() > added.b() && added.r() >= 110);
        let removed = pixel_colour(0, 200, true);
        assert!(removed.b() > removed.r() && removed.b() >= 110);
    }
}
