//! Random dev samples with predicted vs true labels, mistakes in red; click one for its
//! probabilities. The notebook's `test_prediction` helper, for 24 digits at a time.

use std::sync::Arc;

use egui::{Color32, ColorImage, Pos2, Rect, RichText, Sense, TextureHandle, TextureOptions, Vec2};
use rand::seq::SliceRandom;

use crate::data::{CLASSES, Dataset, PIXELS, Split, class_name};
use crate::network::Mlp;

use crate::app::tabs::insight::{InsightPanel, Subject};
use crate::app::tabs::samples::evaluation::EvalResult;

pub const COLS: usize = 6;
pub const ROWS: usize = 4;
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SampleGrid {
    pub mistakes_only: bool,
    /// Only samples with this (true, predicted) pair: set by clicking the confusion matrix.
    #[serde(skip)]
    pub filter: Option<(u8, u8)>,
    /// Dev rows in a random order.
    #[serde(skip)]
    order: Vec<usize>,
    /// Identity of the dev set `order` was made for.
    #[serde(skip)]
    order_key: u64,
    #[serde(skip)]
    selected: Option<usize>,
    #[serde(skip)]
    atlas: Option<TextureHandle>,
    #[serde(skip)]
    atlas_rows: Vec<usize>,
    /// Why the network reads the clicked sample as it does.
    #[serde(skip)]
    pub insight: InsightPanel,
}

impl Default for SampleGrid {
    fn default() -> Self {
        SampleGrid {
            mistakes_only: false,
            filter: None,
            order: Vec::new(),
            order_key: 0,
            selected: None,
            atlas: None,
            atlas_rows: Vec::new(),
            insight: InsightPanel::new("sample"),
        }
    }
}

impl SampleGrid {
    /// Shows dev row `row`'s probabilities and explanation under the grid (as a click on it
    /// would), whether or not the grid shows it: for other views that open a digit here.
    /// `dev_key` and `dev_rows` are the dev set's (a selection for another dev set is dropped).
    pub fn select(&mut self, row: usize, dev_key: u64, dev_rows: usize) {
        self.follow_dev(dev_key, dev_rows);
        self.selected = (row < dev_rows).then_some(row);
    }

    /// A new random order (and no selection) when the dev set changed.
    fn follow_dev(&mut self, dev_key: u64, dev_rows: usize) {
        if self.order_key != dev_key || self.order.len() != dev_rows {
            self.order = (0..dev_rows).collect();
            self.reshuffle();
            self.order_key = dev_key;
            self.selected = None;
        }
    }

    /// The dev row whose details are shown.
    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    pub fn reshuffle(&mut self) {
        self.order.shuffle(&mut rand::rng());
    }

    /// The dev rows shown now.
    pub fn visible(&self, dev: &Dataset, eval: Option<&EvalResult>) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&row| {
                let label = dev.label(row).unwrap_or(0);
                let predicted = eval.and_then(|e| e.predictions.get(row).copied());
                let mistake_ok = !self.mistakes_only || predicted.is_some_and(|p| p != label);
                let filter_ok = self.filter.is_none_or(|(t, p)| label == t && predicted == Some(p));
                mistake_ok && filter_ok
            })
            .take(COLS * ROWS)
            .collect()
    }

    /// Shows `split`'s dev set; `dev_key` changes whenever it does. `model` (with a key that
    /// changes with it) explains the clicked sample; `names` are the class names (may be empty).
    /// Returns the dev row the user asked to open in the Math tab.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        split: &Arc<Split>,
        dev_key: u64,
        eval: Option<&EvalResult>,
        model: Option<(&Arc<Mlp>, u64)>,
        names: &[String],
    ) -> Option<usize> {
        let mut open_in_math = None;
        let dev = &split.dev;
        // The data set's image side: 28 for digits, 32 or 64 for others.
        let side = dev.side;
        self.follow_dev(dev_key, dev.rows());
        ui.horizontal(|ui| {
            ui.heading("Dev samples");
            if ui
                .button("Reshuffle")
                .on_hover_text("Show other random samples")
                .clicked()
            {
                self.reshuffle();
            }
            ui.checkbox(&mut self.mistakes_only, "Mistakes only");
            if let Some((t, p)) = self.filter
                && ui
                    .button(format!("true {t}, predicted {p} (clear filter)"))
                    .on_hover_text("Remove the confusion-matrix filter")
                    .clicked()
            {
                self.filter = None;
            }
        });
        let visible = self.visible(dev, eval);
        if visible.is_empty() {
            ui.label(if eval.is_none() {
                "No predictions yet."
            } else {
                "No samples match the filter."
            });
            return None;
        }
        if self.atlas_rows != visible || self.atlas.is_none() {
            let mut gray = vec![0u8; COLS * side * ROWS * side];
            for (i, &row) in visible.iter().enumerate() {
                let (cx, cy) = (i % COLS, i / COLS);
                for (y, line) in dev.image(row).chunks(side).enumerate() {
                    let start = (cy * side + y) * COLS * side + cx * side;
                    gray[start..start + side].copy_from_slice(line);
                }
            }
            let image = ColorImage::from_gray([COLS * side, ROWS * side], &gray);
            match &mut self.atlas {
                Some(t) => t.set(image, TextureOptions::NEAREST),
                None => self.atlas = Some(ui.ctx().load_texture("sample_atlas", image, TextureOptions::NEAREST)),
            }
            self.atlas_rows = visible.clone();
        }
        let atlas = self.atlas.clone()?;
        let spacing = 8.0;
        let cell = ((ui.available_width() - spacing * (COLS as f32 - 1.0) - 4.0) / COLS as f32).clamp(40.0, 100.0);
        egui::Grid::new("sample_grid").spacing([spacing, 6.0]).show(ui, |ui| {
            for (i, &row) in visible.iter().enumerate() {
                let label = dev.label(row).unwrap_or(0);
                let predicted = eval.and_then(|e| e.predictions.get(row).copied());
                let wrong = predicted.is_some_and(|p| p != label);
                ui.vertical(|ui| {
                    ui.set_max_width(cell);
                    let (rect, response) = ui.allocate_exact_size(Vec2::splat(cell), Sense::click());
                    response
                        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("dev row {row}")));
                    let (cx, cy) = ((i % COLS) as f32, (i / COLS) as f32);
                    let uv = Rect::from_min_max(
                        Pos2::new(cx / COLS as f32, cy / ROWS as f32),
                        Pos2::new((cx + 1.0) / COLS as f32, (cy + 1.0) / ROWS as f32),
                    );
                    ui.painter().image(atlas.id(), rect, uv, Color32::WHITE);
                    let stroke = if self.selected == Some(row) {
                        egui::Stroke::new(3.0, Color32::from_rgb(250, 200, 60))
                    } else if wrong {
                        egui::Stroke::new(2.0, Color32::from_rgb(220, 60, 50))
                    } else {
                        egui::Stroke::new(1.0, Color32::from_gray(70))
                    };
                    ui.painter().rect_stroke(rect, 2.0, stroke, egui::StrokeKind::Outside);
                    let response =
                        response.on_hover_text("Click for its probabilities and why; right-click to open it in Math");
                    if response.clicked() {
                        self.selected = Some(row);
                    }
                    response.context_menu(|ui| {
                        if ui.button("Open in Math").clicked() {
                            open_in_math = Some(row);
                            ui.close();
                        }
                    });
                    let name = |l: u8| class_name(names, usize::from(l));
                    let caption = match predicted {
                        Some(p) => format!("pred {} · true {}", name(p), name(label)),
                        None => format!("true {}", name(label)),
                    };
                    let text = RichText::new(caption).size(if cell < 80.0 { 10.5 } else { 12.5 });
                    ui.add(
                        egui::Label::new(if wrong {
                            text.color(Color32::from_rgb(230, 80, 70)).strong()
                        } else {
                            text
                        })
                        .truncate(),
                    );
                });
                if i % COLS == COLS - 1 {
                    ui.end_row();
                }
            }
        });
        ui.add_space(6.0);
        match (self.selected, eval) {
            (Some(row), Some(eval)) if row < eval.probs.len() => {
                let label = dev.label(row);
                let name = |l: u8| crate::data::class_caption(names, usize::from(l));
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "Dev row {row}: true {}, predicted {}",
                        label.map_or("?".into(), name),
                        name(eval.predictions[row])
                    ));
                    if ui
                        .button("Open in Math")
                        .on_hover_text("Run the notebook's step on this digit, line by line")
                        .clicked()
                    {
                        open_in_math = Some(row);
                    }
                });
                crate::app::tabs::probs::probability_chart(ui, "sample_probs", &eval.probs[row], names, label, 140.0);
                // The explanations are written for 28x28 digits.
                let digits_model = model.filter(|(m, _)| m.inputs() == PIXELS && m.classes() == CLASSES);
                if model.is_some() && digits_model.is_none() {
                    ui.weak("Why? explanations are for 28x28 digit models only.");
                }
                if let Some((model, model_key)) = digits_model {
                    let mut image = [0u8; PIXELS];
                    image.copy_from_slice(dev.image(row));
                    let subject = Subject {
                        model,
                        model_key,
                        image: &image,
                        dev: Some((split.clone(), dev_key)),
                    };
                    self.insight.ui(ui, &subject);
                }
            }
            _ => {
                ui.weak("Click a sample to see its probabilities and why the network reads it so.");
            }
        }
        open_in_math
    }
}
