//! "Why this digit?" and what the hidden units do, for one 28x28 image (the drawing or a
//! clicked dev sample): the attribution map of [`crate::attribution`] over the image for the
//! predicted digit or any other, each hidden layer's activations, and the first-layer units that
//! contributed most; a click on one opens it large with the dev digits that excite it most. The
//! computations run off the UI thread ([`Latest`]).

use std::sync::Arc;

use egui::{Color32, ColorImage, RichText, Sense, TextureHandle, TextureOptions, Vec2};

use crate::attribution::{self, Explanation};
use crate::data::{CLASSES, Dataset, PIXELS, SIDE, Split};
use crate::network::Mlp;

use crate::app::jobs::background::Latest;
use crate::app::tabs::weights::diverging;

/// Evidence for the digit explained (with [`AWAY`], a colour-blind safe pair: Okabe-Ito sky
/// blue and orange).
pub const TOWARD: Color32 = Color32::from_rgb(86, 180, 233);
/// Evidence against it.
pub const AWAY: Color32 = Color32::from_rgb(230, 159, 0);

/// The method, for the tooltips (docs/architecture.md says the same).
pub const METHOD: &str = "Integrated gradients (Sundararajan et al., 2017): each pixel times the gradient \
    of the digit's score, averaged along the straight path from a black image to this one (32 \
    steps). The score is the digit's logit minus the mean of the 10 logits, so a pixel that raises \
    every digit alike counts for none. The map adds up to the score's change from a black image.";

/// First-layer units listed as the strongest contributors.
const TOP_UNITS: usize = 8;
/// Dev digits shown for an opened unit.
const TOP_DIGITS: usize = 12;

/// (model key, image, target): what an explanation depends on.
type ExplainKey = (u64, [u8; PIXELS], Option<usize>);

/// The image a panel explains and the model it asks.
pub struct Subject<'a> {
    pub model: &'a Arc<Mlp>,
    /// Changes whenever the model does.
    pub model_key: u64,
    pub image: &'a [u8; PIXELS],
    /// The split whose dev digits show what a unit likes, with a key that changes with it.
    pub dev: Option<(Arc<Split>, u64)>,
}

/// The "why" view of one image; the Draw tab and the Samples tab each have one.
pub struct InsightPanel {
    /// Names this panel's textures and widgets (two panels live in a session).
    id: &'static str,
    /// The digit explained; None: the predicted one.
    pub target: Option<usize>,
    explanation: Latest<ExplainKey, Arc<Explanation>>,
    /// What the view asked for last.
    requested: Option<ExplainKey>,
    /// The overlay, hidden-layer strips and unit images drawn for this explanation.
    drawn: Option<ExplainKey>,
    overlay: Option<TextureHandle>,
    strips: Vec<TextureHandle>,
    /// First-layer units that count most, strongest first, with their contributions.
    top_units: Vec<(usize, f32)>,
    unit_images: Vec<TextureHandle>,
    /// The first-layer unit opened large.
    pub opened_unit: Option<usize>,
    unit_digits: Latest<(u64, usize, u64), Vec<(usize, f32)>>,
    opened_images: Option<((u64, usize, u64), TextureHandle, TextureHandle)>,
}

impl InsightPanel {
    pub fn new(id: &'static str) -> InsightPanel {
        InsightPanel {
            id,
            target: None,
            explanation: Latest::default(),
            requested: None,
            drawn: None,
            overlay: None,
            strips: Vec::new(),
            top_units: Vec::new(),
            unit_images: Vec::new(),
            opened_unit: None,
            unit_digits: Latest::default(),
            opened_images: None,
        }
    }

    /// The explanation on screen, if one has arrived (it may be for an earlier image or model
    /// while the next one is computed).
    pub fn shown(&self) -> Option<&Explanation> {
        self.drawn.as_ref()?;
        self.explanation.latest().map(Arc::as_ref)
    }

    /// Whether the explanation on screen is the one for the image, model and digit asked for
    /// last (not an earlier one kept while it is computed).
    pub fn up_to_date(&self) -> bool {
        self.drawn.is_some() && self.drawn == self.requested
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, subject: &Subject<'_>) {
        let key = (subject.model_key, *subject.image, self.target);
        self.requested = Some(key);
        let (model, image, target) = (subject.model.clone(), *subject.image, self.target);
        let Some((done_key, explanation)) = self.explanation.get(ui.ctx(), key, move || {
            Arc::new(attribution::explain(&model, &image, target))
        }) else {
            ui.spinner();
            return;
        };
        if self.drawn.as_ref() != Some(done_key) {
            let (done_key, explanation) = (*done_key, explanation.clone());
            self.draw(ui.ctx(), subject.model, &done_key.1, &explanation);
            self.drawn = Some(done_key);
        }
        let Some(explanation) = self.explanation.latest().cloned() else {
            return;
        };
        self.target_picker(ui, &explanation);
        self.attribution_ui(ui, &explanation);
        ui.add_space(6.0);
        egui::CollapsingHeader::new("Inside the network")
            .id_salt((self.id, "inside"))
            .default_open(true)
            .show(ui, |ui| self.inside_ui(ui, &explanation, subject.model));
        self.opened_unit_window(ui.ctx(), subject);
    }

    fn target_picker(&mut self, ui: &mut egui::Ui, e: &Explanation) {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Why {}?", e.target)).strong())
                .on_hover_text(METHOD);
            ui.weak("Explain:");
            let predicted = format!("predicted ({})", e.predicted);
            if ui
                .selectable_label(self.target.is_none(), predicted)
                .on_hover_text("Why the network gave the answer it gave")
                .clicked()
            {
                self.target = None;
            }
            for digit in 0..CLASSES {
                let response = ui
                    .selectable_label(self.target == Some(digit), digit.to_string())
                    .on_hover_text(format!("What makes it a {digit}, and what keeps it from being one"));
                if response.clicked() {
                    self.target = Some(digit);
                }
            }
        });
    }

    fn attribution_ui(&mut self, ui: &mut egui::Ui, e: &Explanation) {
        let (toward, away) = e.pixels.iter().fold(
            (0.0f32, 0.0f32),
            |(t, a), &v| {
                if v > 0.0 { (t + v, a) } else { (t, a - v) }
            },
        );
        ui.horizontal(|ui| {
            if let Some(overlay) = &self.overlay {
                ui.add(egui::Image::new((overlay.id(), Vec2::splat(196.0))))
                    .on_hover_text(METHOD);
            }
            ui.vertical(|ui| {
                legend(ui, TOWARD, &format!("pushes toward {}", e.target));
                legend(ui, AWAY, &format!("pushes away from {}", e.target));
                ui.weak("On the ink: what it did. Faint, off the ink: what more ink there would do.");
                ui.add_space(4.0);
                ui.label(format!("P({}) = {:.1}%", e.target, e.probabilities[e.target] * 100.0));
                ui.weak(format!("evidence for {toward:.2}, against {away:.2}"));
                if e.target != e.predicted {
                    ui.weak(format!(
                        "To make it a {}: add ink where it is faint blue, remove the orange strokes.",
                        e.target
                    ));
                }
            });
        });
    }

    fn inside_ui(&mut self, ui: &mut egui::Ui, e: &Explanation, model: &Mlp) {
        if e.hidden.is_empty() {
            ui.weak(
                "This network has no hidden layer: each pixel's evidence is exactly its value \
                 times its weight for the digit (minus the mean weight over the digits).",
            );
            return;
        }
        for (l, (activations, strip)) in e.hidden.iter().zip(&self.strips).enumerate() {
            let active = activations.iter().filter(|&&a| a > 0.0).count();
            ui.weak(format!(
                "Hidden layer {}: {active} of {} units active",
                l + 1,
                activations.len()
            ))
            .on_hover_text("Each cell is one unit's output for this image (ReLU: dark = off, bright = strongly on).");
            let size = strip.size_vec2();
            let scale = (ui.available_width().min(256.0) / size.x).min(8.0);
            ui.add(egui::Image::new((strip.id(), size * scale)));
        }
        ui.add_space(4.0);
        ui.label(format!("First-layer units that count most for {}:", e.target))
            .on_hover_text(
                "Each unit's output times the gradient of the digit's score with respect to it. \
                 The images are the units' input weights (red excites, blue inhibits). Click one.",
            );
        let inputs = model.layers.first().map_or(0, |l| l.inputs());
        ui.horizontal_wrapped(|ui| {
            for (&(unit, contribution), texture) in self.top_units.iter().zip(&self.unit_images) {
                ui.vertical(|ui| {
                    let response = ui
                        .add(egui::Image::new((texture.id(), Vec2::splat(56.0))).sense(Sense::click()))
                        .on_hover_text(format!("unit {unit}: open it large with the dev digits it likes"));
                    let text = RichText::new(format!("#{unit} {contribution:+.2}")).size(11.0);
                    let caption = ui.add(
                        egui::Label::new(text.color(if contribution >= 0.0 { TOWARD } else { AWAY }))
                            .sense(Sense::click()),
                    );
                    if (response.clicked() || caption.clicked()) && inputs == PIXELS {
                        self.opened_unit = Some(unit);
                    }
                });
            }
        });
    }

    /// A window with one first-layer unit: its weights large and the dev digits that excite it.
    fn opened_unit_window(&mut self, ctx: &egui::Context, subject: &Subject<'_>) {
        let Some(unit) = self.opened_unit else { return };
        let Some(layer) = subject.model.layers.first() else {
            return;
        };
        if unit >= layer.outputs() || layer.inputs() != PIXELS {
            self.opened_unit = None;
            return;
        }
        let mut open = true;
        egui::Window::new(format!("First-layer unit {unit}"))
            .id(egui::Id::unique((self.id, "unit")))
            .open(&mut open)
            .resizable(false)
            .show(ctx, |ui| {
                let dev_key = subject.dev.as_ref().map_or(0, |(_, k)| *k);
                let key = (subject.model_key, unit, dev_key);
                let digits = subject.dev.as_ref().and_then(|(dev, _)| {
                    let (model, dev) = (subject.model.clone(), dev.clone());
                    self.unit_digits
                        .get(ctx, key, move || {
                            attribution::top_activating(&model, &dev.dev.pixels, 0, unit, TOP_DIGITS)
                        })
                        .map(|(k, d)| (*k, d.clone()))
                });
                let stale = self.opened_images.as_ref().is_none_or(|(k, _, _)| *k != key);
                if stale && let Some((done, digits)) = digits.as_ref().filter(|(k, _)| *k == key) {
                    let weights = unit_weights_image(subject.model, unit);
                    let atlas = digit_atlas(subject.dev.as_ref().map(|(split, _)| &split.dev), digits);
                    self.opened_images = Some((
                        *done,
                        ctx.load_texture(format!("{}_unit", self.id), weights, TextureOptions::NEAREST),
                        ctx.load_texture(format!("{}_unit_digits", self.id), atlas, TextureOptions::NEAREST),
                    ));
                }
                match (&self.opened_images, &digits) {
                    (Some((k, weights, atlas)), Some((_, digits))) if *k == key => {
                        ui.horizontal_top(|ui| {
                            ui.add(egui::Image::new((weights.id(), Vec2::splat(224.0))));
                            ui.vertical(|ui| {
                                ui.label("Dev digits that excite it most:");
                                let size = atlas.size_vec2();
                                ui.add(egui::Image::new((atlas.id(), size * 2.0)));
                                let values: Vec<String> = digits.iter().map(|(_, a)| format!("{a:.1}")).collect();
                                ui.weak(format!("activations: {}", values.join(", ")));
                            });
                        });
                        ui.weak("Red pixels excite the unit, blue ones inhibit it.");
                    }
                    _ if subject.dev.is_none() => {
                        ui.label("No dev set: load training data to see the digits it likes.");
                    }
                    _ => {
                        ui.spinner();
                    }
                }
            });
        if !open {
            self.opened_unit = None;
        }
    }

    /// Makes the textures for `e`: the overlay, one strip per hidden layer and the top units'
    /// weight images.
    fn draw(&mut self, ctx: &egui::Context, model: &Mlp, image: &[u8; PIXELS], e: &Explanation) {
        let overlay = attribution_image(image, &e.pixels, &e.ink_gradient);
        match &mut self.overlay {
            Some(t) => t.set(overlay, TextureOptions::NEAREST),
            None => {
                self.overlay = Some(ctx.load_texture(format!("{}_overlay", self.id), overlay, TextureOptions::NEAREST));
            }
        }
        self.strips = e
            .hidden
            .iter()
            .enumerate()
            .map(|(l, a)| {
                ctx.load_texture(
                    format!("{}_strip{l}", self.id),
                    activation_strip(a),
                    TextureOptions::NEAREST,
                )
            })
            .collect();
        self.top_units = top_units(e.units.first().map_or(&[], Vec::as_slice), TOP_UNITS);
        self.unit_images = self
            .top_units
            .iter()
            .map(|&(unit, _)| {
                ctx.load_texture(
                    format!("{}_unit{unit}", self.id),
                    unit_weights_image(model, unit),
                    TextureOptions::NEAREST,
                )
            })
            .collect();
    }
}

fn legend(ui: &mut egui::Ui, color: Color32, text: &str) {
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::hover());
        ui.painter().rect_filled(rect, 2.0, color);
        ui.label(text);
    });
}

/// The image the network saw, dimmed, with the attribution over it: [`TOWARD`] where a pixel
/// counts for the digit, [`AWAY`] where it counts against, stronger colour for more evidence
/// (scaled by the largest |value|, square-rooted so weak evidence stays visible). Blank pixels,
/// which integrated gradients leave at zero, show at most half strength where ink would push
/// (`ink`: [`Explanation::ink_gradient`], scaled by its own largest |value|).
pub fn attribution_image(input: &[u8; PIXELS], pixels: &[f32; PIXELS], ink: &[f32; PIXELS]) -> ColorImage {
    let largest = |values: &[f32; PIXELS]| values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let (max, max_ink) = (largest(pixels), largest(ink));
    let colours = input
        .iter()
        .zip(pixels)
        .zip(ink)
        .map(|((&x, &v), &more)| {
            let base = Color32::from_gray((f32::from(x) * 0.45) as u8);
            let (v, strength) = if x > 0 {
                (v, if max > 0.0 { (v.abs() / max).sqrt() } else { 0.0 })
            } else {
                (more, faint(more, max_ink))
            };
            lerp(base, if v >= 0.0 { TOWARD } else { AWAY }, strength)
        })
        .collect();
    ColorImage::new([SIDE, SIDE], colours)
}

/// Off the ink only the strongest hints show (from [`HINT_FROM`] of the largest |value|), at
/// most half strength: weaker ones would tint the whole background.
fn faint(value: f32, max: f32) -> f32 {
    if max <= 0.0 {
        return 0.0;
    }
    let share = value.abs() / max;
    if share < HINT_FROM {
        0.0
    } else {
        0.5 * ((share - HINT_FROM) / (1.0 - HINT_FROM)).sqrt()
    }
}

/// The share of the largest off-ink value below which a blank pixel shows no hint.
const HINT_FROM: f32 = 0.3;

fn lerp(a: Color32, b: Color32, t: f32) -> Color32 {
    let t = t.clamp(0.0, 1.0);
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

/// One cell per unit, in rows of up to 32, brightness by activation (scaled by the largest).
fn activation_strip(activations: &[f32]) -> ColorImage {
    let columns = activations.len().clamp(1, 32);
    let rows = activations.len().div_ceil(columns).max(1);
    let max = activations.iter().fold(0.0f32, |m, &a| m.max(a));
    let mut colours = vec![Color32::from_gray(20); columns * rows];
    for (cell, &a) in colours.iter_mut().zip(activations) {
        let t = if max > 0.0 { (a / max).clamp(0.0, 1.0) } else { 0.0 };
        *cell = lerp(Color32::from_gray(20), Color32::from_rgb(250, 220, 90), t.sqrt());
    }
    ColorImage::new([columns, rows], colours)
}

/// The `k` units with the largest |contribution|, largest first (ties by unit number); units
/// that contribute nothing (switched off for this image) are not listed.
pub fn top_units(contributions: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut units: Vec<(usize, f32)> = contributions
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, c)| c != 0.0)
        .collect();
    units.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    units.truncate(k);
    units
}

/// A first-layer unit's 784 input weights as a 28x28 image in the weights tab's colours.
fn unit_weights_image(model: &Mlp, unit: usize) -> ColorImage {
    let Some(layer) = model
        .layers
        .first()
        .filter(|l| unit < l.outputs() && l.inputs() == PIXELS)
    else {
        return ColorImage::new([SIDE, SIDE], vec![Color32::BLACK; PIXELS]);
    };
    let column = layer.w.column(unit);
    let max = column.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    ColorImage::new([SIDE, SIDE], column.iter().map(|&w| diverging(w / max)).collect())
}

/// The dev digits `rows` side by side in one gray image.
fn digit_atlas(dev: Option<&Dataset>, rows: &[(usize, f32)]) -> ColorImage {
    let count = rows.len().max(1);
    let columns = count.min(6);
    let lines = count.div_ceil(columns);
    let width = columns * (SIDE + 1);
    let mut gray = vec![40u8; width * lines * (SIDE + 1)];
    if let Some(dev) = dev {
        for (i, &(row, _)) in rows.iter().enumerate() {
            let (cx, cy) = (i % columns, i / columns);
            for (y, line) in dev.image(row).chunks(SIDE).enumerate() {
                let start = (cy * (SIDE + 1) + y) * width + cx * (SIDE + 1);
                gray[start..start + SIDE].copy_from_slice(line);
            }
        }
    }
    ColorImage::from_gray([width, lines * (SIDE + 1)], &gray)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_colours_follow_the_sign_and_size_of_the_evidence() {
        let mut input = [0u8; PIXELS];
        input[0] = 255;
        let mut pixels = [0.0f32; PIXELS];
        pixels[0] = 2.0;
        pixels[1] = -2.0;
        pixels[2] = 0.5;
        input[1] = 255;
        input[2] = 255;
        let mut ink = [0.0f32; PIXELS];
        ink[4] = -1.0;
        ink[5] = 0.2;
        let image = attribution_image(&input, &pixels, &ink);
        assert_eq!(image.pixels[0], TOWARD);
        assert_eq!(image.pixels[1], AWAY);
        // Weaker evidence: between the background and the full colour.
        let weak = image.pixels[2];
        assert!(weak.b() < TOWARD.b() && weak.b() > 0, "{weak:?}");
        // No evidence: the dimmed image.
        assert_eq!(image.pixels[3], Color32::from_gray(0));
        // A blank pixel where ink would count against: half-strength orange.
        assert_eq!(image.pixels[4], lerp(Color32::from_gray(0), AWAY, 0.5));
        // A weak hint (20% of the largest) is not shown.
        assert_eq!(image.pixels[5], Color32::from_gray(0));
    }

    #[test]
    fn top_units_by_size_of_contribution() {
        assert_eq!(
            top_units(&[0.1, -3.0, 2.0, 0.0, 2.0], 3),
            vec![(1, -3.0), (2, 2.0), (4, 2.0)]
        );
        assert!(top_units(&[], 3).is_empty());
        assert_eq!(top_units(&[0.0, 0.5, 0.0], 3), vec![(1, 0.5)]);
    }
}
