//! Draw a digit with the mouse: thick anti-aliased strokes on a 280x280 gray raster, classified
//! live through the same preprocessing as `classify` (`preprocess_gray`), and explained (the
//! [`InsightPanel`]); "make it a d" nudges it towards another digit ([`NudgePanel`]).

use std::sync::Arc;

use egui::{Color32, ColorImage, Event, Key, Pos2, RichText, Sense, TextureHandle, TextureOptions, Vec2};

use crate::data::{CLASSES, PIXELS, SIDE, Split, class_caption};
use crate::network::{Mlp, argmax};
use crate::preprocess::{preprocess_gray, resize_to_side};

use crate::app::tabs::insight::{InsightPanel, Subject};

use super::nudge::{NudgeAction, NudgePanel, NudgeSubject};

/// Side of the raster the strokes are drawn into, in pixels.
pub const RASTER: usize = 280;

/// What the network made of the drawing.
#[derive(Clone, Debug)]
pub struct CanvasPrediction {
    /// The predicted class (a digit for digit models).
    pub digit: usize,
    /// One per class of the model.
    pub probs: Vec<f32>,
    /// The 28x28 image the network sees (scaled to the model's side for other data sets).
    pub input: [u8; PIXELS],
    /// The image at the model's input size: what it read.
    pub model_input: Vec<u8>,
}

/// The canvas as it was before a nudged image went on it (for Undo).
struct BeforePlacing {
    raster: Vec<u8>,
    has_ink: bool,
    placed: Option<Vec<u8>>,
}
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DrawingCanvas {
    /// White ink on black, `RASTER * RASTER`.
    #[serde(skip)]
    raster: Vec<u8>,
    /// The previous point of the stroke being drawn, in raster pixels.
    #[serde(skip)]
    last: Option<Pos2>,
    /// The raster changed since the prediction and texture were made.
    #[serde(skip)]
    dirty: bool,
    #[serde(skip)]
    has_ink: bool,
    #[serde(skip)]
    texture: Option<TextureHandle>,
    #[serde(skip)]
    input_texture: Option<TextureHandle>,
    #[serde(skip)]
    prediction: Option<CanvasPrediction>,
    /// Generation of the model the prediction was made with.
    #[serde(skip)]
    model_generation: u64,
    /// Brush radius in raster pixels.
    pub brush: f32,
    /// Why the network reads the drawing as it does.
    #[serde(skip)]
    pub insight: InsightPanel,
    /// "Make it a d".
    pub nudge: NudgePanel,
    /// An image put on the canvas by the nudge, at the model's input size: the model reads it as
    /// it is (no cropping and centring again) until the next stroke.
    #[serde(skip)]
    placed: Option<Vec<u8>>,
    #[serde(skip)]
    before_placing: Option<BeforePlacing>,
}

impl Default for DrawingCanvas {
    fn default() -> Self {
        DrawingCanvas {
            raster: vec![0; RASTER * RASTER],
            last: None,
            dirty: true,
            has_ink: false,
            texture: None,
            input_texture: None,
            prediction: None,
            model_generation: u64::MAX,
            brush: 11.0,
            insight: InsightPanel::new("draw"),
            nudge: NudgePanel::default(),
            placed: None,
            before_placing: None,
        }
    }
}

impl DrawingCanvas {
    pub fn prediction(&self) -> Option<&CanvasPrediction> {
        self.prediction.as_ref()
    }

    pub fn has_ink(&self) -> bool {
        self.has_ink
    }

    pub fn clear(&mut self) {
        self.raster.fill(0);
        self.placed = None;
        self.last = None;
        self.has_ink = false;
        self.prediction = None;
        self.dirty = true;
    }

    /// Adds a point to the current stroke (raster coordinates), joining it to the previous one.
    pub fn add_point(&mut self, p: Pos2) {
        let from = self.last.unwrap_or(p);
        stamp_segment(&mut self.raster, from, p, self.brush);
        // A stroke over a nudged image makes it a drawing again, read the usual way.
        self.placed = None;
        self.last = Some(p);
        self.has_ink = true;
        self.dirty = true;
    }

    pub fn end_stroke(&mut self) {
        self.last = None;
    }

    /// Puts `image` (`side * side` values, the model's input) on the canvas, scaled up, for the
    /// model to read exactly as it is; [`DrawingCanvas::undo_placing`] puts back what was there.
    pub fn place_image(&mut self, image: &[u8], side: usize) {
        if side == 0 || image.len() != side * side {
            return;
        }
        self.before_placing = Some(BeforePlacing {
            raster: self.raster.clone(),
            has_ink: self.has_ink,
            placed: self.placed.take(),
        });
        for (y, row) in self.raster.chunks_exact_mut(RASTER).enumerate() {
            let source = &image[(y * side / RASTER) * side..][..side];
            for (x, v) in row.iter_mut().enumerate() {
                *v = source[x * side / RASTER];
            }
        }
        self.placed = Some(image.to_vec());
        self.has_ink = image.iter().any(|&v| v > 0);
        self.last = None;
        self.dirty = true;
    }

    /// The canvas can go back to before the last [`DrawingCanvas::place_image`].
    pub fn can_undo_placing(&self) -> bool {
        self.before_placing.is_some()
    }

    /// Puts back the canvas from before the last [`DrawingCanvas::place_image`].
    pub fn undo_placing(&mut self) {
        if let Some(before) = self.before_placing.take() {
            self.raster = before.raster;
            self.has_ink = before.has_ink;
            self.placed = before.placed;
            self.last = None;
            self.dirty = true;
        }
    }

    /// Recomputes the prediction when the drawing or the model changed.
    fn update_prediction(&mut self, model: Option<(&Mlp, u64)>) {
        let model_changed = model.map(|(_, g)| g) != Some(self.model_generation);
        if !(self.dirty || model_changed) {
            return;
        }
        self.model_generation = model.map_or(u64::MAX, |(_, g)| g);
        self.prediction = None;
        let (Some((model, _)), true) = (model, self.has_ink) else {
            return;
        };
        let preprocessed = preprocess_gray(RASTER as u32, RASTER as u32, &self.raster);
        let (input, model_input) = match self.placed.as_ref().filter(|p| p.len() == model.inputs()) {
            // A nudged image, read as it is.
            Some(placed) => {
                let input = <[u8; PIXELS]>::try_from(placed.as_slice())
                    .ok()
                    .or(preprocessed.ok())
                    .unwrap_or([0; PIXELS]);
                (input, placed.clone())
            }
            None => {
                let Ok(input) = preprocessed else {
                    return;
                };
                (input, resize_to_side(&input, model.inputs().isqrt()))
            }
        };
        let proba = model.predict_proba(&model_input);
        let probs = proba.row(0).to_vec();
        self.prediction = Some(CanvasPrediction {
            digit: argmax(&probs),
            probs,
            input,
            model_input,
        });
    }

    /// `model` with a key that changes whenever it does; `dev` (with its key) shows the digits a
    /// hidden unit likes; `names` are the class names (may be empty). Returns the digit the user
    /// labelled the drawing with ("this is a 4": a button or a number key), for My digits.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        model: Option<(&Arc<Mlp>, u64)>,
        dev: Option<(Arc<Split>, u64)>,
        names: &[String],
    ) -> Option<u8> {
        let keys_free = !ui.ctx().egui_wants_keyboard_input();
        // Clear with Delete or Backspace, unless a text field has the keyboard.
        if keys_free && ui.input(|i| i.key_pressed(Key::Delete) || i.key_pressed(Key::Backspace)) {
            self.clear();
        }
        let mut labelled = None;
        if keys_free && self.prediction.is_some() {
            labelled = ui.input(|i| (0..CLASSES as u8).find(|&d| i.key_pressed(digit_key(d))));
        }
        ui.horizontal(|ui| {
            ui.heading("Draw a digit");
            if ui
                .button("Clear")
                .on_hover_text("Erase the drawing (Delete or Backspace)")
                .clicked()
            {
                self.clear();
            }
            ui.add(egui::Slider::new(&mut self.brush, 4.0..=24.0).text("brush"));
            ui.weak("Draw anywhere, any size: the digit is cropped, scaled and centred like MNIST.");
        });
        ui.horizontal(|ui| {
            let ready = self.prediction.is_some();
            ui.label("This is a:").on_hover_text(
                "Label your drawing: it joins My digits (what the network sees, 28x28), and the canvas clears \
                 for the next one. Number keys 0-9 do the same.",
            );
            for d in 0..CLASSES as u8 {
                let button = ui
                    .add_enabled(ready, egui::Button::new(RichText::new(d.to_string()).strong()))
                    .on_hover_text(format!("This is a {d}: add it to My digits (key {d})"))
                    .on_disabled_hover_text("Draw a digit first");
                // Named apart from the Explain buttons' digits (screen readers, tests).
                button.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, ready, format!("This is a {d}")));
                if button.clicked() {
                    labelled = Some(d);
                }
            }
        });
        ui.add_space(4.0);
        let mut nudge_action = None;
        ui.horizontal_top(|ui| {
            let side = ui
                .available_height()
                .min(ui.available_width() * 0.5)
                .clamp(200.0, 480.0);
            self.canvas(ui, side);
            self.update_prediction(model.map(|(m, key)| (m.as_ref(), key)));
            ui.add_space(12.0);
            egui::ScrollArea::vertical().id_salt("draw_prediction").show(ui, |ui| {
                ui.vertical(|ui| {
                    self.prediction_ui(ui, model.is_some(), names);
                    if let (Some(prediction), Some((model, model_key))) = (&self.prediction, model) {
                        let subject = NudgeSubject {
                            model,
                            model_key,
                            image: &prediction.model_input,
                            names,
                            can_undo: self.before_placing.is_some(),
                        };
                        nudge_action = self.nudge.ui(ui, &subject);
                    }
                    // The explanations are written for 28x28 digits.
                    let model = model.filter(|(m, _)| m.inputs() == PIXELS && m.classes() == CLASSES);
                    if let (Some(prediction), Some((model, model_key))) = (&self.prediction, model) {
                        ui.add_space(8.0);
                        let subject = Subject {
                            model,
                            model_key,
                            image: &prediction.input,
                            dev,
                        };
                        self.insight.ui(ui, &subject);
                    }
                });
            });
        });
        if let Some(action) = nudge_action {
            match action {
                NudgeAction::Apply(image) => self.place_image(&image, image.len().isqrt()),
                NudgeAction::Undo => self.undo_placing(),
            }
            ui.ctx().request_repaint();
        }
        labelled
    }

    fn canvas(&mut self, ui: &mut egui::Ui, side: f32) {
        let (response, painter) = ui.allocate_painter(Vec2::splat(side), Sense::drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "canvas"));
        let response = response.on_hover_cursor(egui::CursorIcon::Crosshair);
        let rect = response.rect;
        let scale = RASTER as f32 / rect.width();
        let to_raster = |p: Pos2| Pos2::new((p.x - rect.min.x) * scale, (p.y - rect.min.y) * scale);

        if response.drag_started() {
            self.end_stroke();
            if let Some(origin) = ui.input(|i| i.pointer.press_origin()) {
                self.add_point(to_raster(origin));
            }
        }
        if response.dragged() || response.drag_stopped() {
            // Every pointer position of the frame, not only the last: fast strokes stay smooth at
            // low frame rates.
            let moves: Vec<Pos2> = ui.input(|i| {
                i.events
                    .iter()
                    .filter_map(|e| match e {
                        Event::PointerMoved(p) => Some(*p),
                        _ => None,
                    })
                    .collect()
            });
            for p in moves {
                self.add_point(to_raster(p));
            }
            if response.drag_stopped() {
                if let Some(p) = response
                    .interact_pointer_pos()
                    .or_else(|| ui.input(|i| i.pointer.latest_pos()))
                {
                    self.add_point(to_raster(p));
                }
                self.end_stroke();
            }
        }

        if self.dirty || self.texture.is_none() {
            let image = ColorImage::from_gray([RASTER, RASTER], &self.raster);
            match &mut self.texture {
                Some(t) => t.set(image, TextureOptions::LINEAR),
                None => self.texture = Some(ui.ctx().load_texture("canvas", image, TextureOptions::LINEAR)),
            }
        }
        if let Some(texture) = &self.texture {
            painter.image(
                texture.id(),
                rect,
                egui::Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        painter.rect_stroke(
            rect,
            4.0,
            ui.visuals().widgets.inactive.bg_stroke,
            egui::StrokeKind::Outside,
        );
        if !self.has_ink {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "draw here",
                egui::FontId::proportional(20.0),
                Color32::from_gray(90),
            );
        }
    }

    fn prediction_ui(&mut self, ui: &mut egui::Ui, has_model: bool, names: &[String]) {
        let Some(prediction) = &self.prediction else {
            ui.label(if !has_model {
                "No model: train one or open a model file."
            } else if self.has_ink {
                "Too faint to read: draw a bigger stroke."
            } else {
                "Draw a digit on the canvas to see what the network thinks."
            });
            self.dirty = false;
            return;
        };
        let confidence = prediction.probs[prediction.digit];
        if self.dirty || self.input_texture.is_none() {
            let image = ColorImage::from_gray([SIDE, SIDE], &prediction.input);
            match &mut self.input_texture {
                Some(t) => t.set(image, TextureOptions::NEAREST),
                None => {
                    self.input_texture = Some(ui.ctx().load_texture("canvas_input", image, TextureOptions::NEAREST));
                }
            }
        }
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(prediction.digit.to_string()).size(72.0).strong());
            ui.vertical(|ui| {
                ui.label(format!("Prediction: {}", class_caption(names, prediction.digit)));
                ui.label(format!("confidence {:.1}%", confidence * 100.0));
            });
            if let Some(texture) = &self.input_texture {
                ui.add(egui::Image::new((texture.id(), Vec2::splat(84.0))))
                    .on_hover_text("What the network sees: 28x28, after cropping, scaling and centring");
            }
        });
        crate::app::tabs::probs::probability_chart(ui, "canvas_probs", &prediction.probs, names, None, 130.0);
        self.dirty = false;
    }
}

/// The key for digit `d` (0-9).
fn digit_key(d: u8) -> Key {
    const KEYS: [Key; 10] = [
        Key::Num0,
        Key::Num1,
        Key::Num2,
        Key::Num3,
        Key::Num4,
        Key::Num5,
        Key::Num6,
        Key::Num7,
        Key::Num8,
        Key::Num9,
    ];
    KEYS[usize::from(d)]
}

/// Draws a round-capped segment of radius `r` into `raster` (max blending, 1 px anti-aliasing).
fn stamp_segment(raster: &mut [u8], a: Pos2, b: Pos2, r: f32) {
    let n = RASTER as i32;
    let x0 = ((a.x.min(b.x) - r - 1.0).floor() as i32).clamp(0, n);
    let x1 = ((a.x.max(b.x) + r + 1.0).ceil() as i32).clamp(0, n);
    let y0 = ((a.y.min(b.y) - r - 1.0).floor() as i32).clamp(0, n);
    let y1 = ((a.y.max(b.y) + r + 1.0).ceil() as i32).clamp(0, n);
    let ab = b - a;
    let len2 = ab.length_sq();
    for y in y0..y1 {
        for x in x0..x1 {
            let p = Pos2::new(x as f32 + 0.5, y as f32 + 0.5);
            let t = if len2 > 0.0 {
                ((p - a).dot(ab) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let d = (p - (a + ab * t)).length();
            let v = ((r + 0.5 - d).clamp(0.0, 1.0) * 255.0) as u8;
            let px = &mut raster[y as usize * RASTER + x as usize];
            *px = (*px).max(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strokes_are_continuous_and_clipped() {
        let mut c = DrawingCanvas::default();
        c.add_point(Pos2::new(20.0, 140.0));
        c.add_point(Pos2::new(260.0, 140.0));
        // The whole line is inked, not only its end points.
        assert!((30..250).all(|x| c.raster[140 * RASTER + x] == 255));
        // Points outside the raster do not panic.
        c.add_point(Pos2::new(-50.0, 400.0));
        c.clear();
        assert!(c.raster.iter().all(|&v| v == 0));
    }
}
