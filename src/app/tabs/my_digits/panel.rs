//! The My digits tab: the user's labelled digits by label with the model's reading of each
//! (wrong ones marked), relabel and delete, import and export, and fine-tuning with its live
//! curves, before/after summary and undo.

use std::path::Path;
use std::sync::Arc;

use egui::{Color32, ColorImage, RichText, Sense, TextureHandle, TextureOptions, Vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::data::{CLASSES, PIXELS, SIDE};
use crate::finetune::{FinetuneProgress, FinetuneReport, Phase};
use crate::my_digits::MyDigits;
use crate::network::Mlp;

use crate::app::jobs::background::Latest;
use crate::app::tabs::my_digits::finetune::FinetuneRun;

/// What the user asked for on the tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MyDigitsAction {
    Relabel(usize, u8),
    Delete(usize),
    FineTune,
    StopFineTune,
    Undo,
    Import,
    Export,
    /// The first dropped picture's label, or None to skip it.
    LabelDropped(Option<u8>),
}

/// What the tab shows.
pub struct MyDigitsView<'a> {
    pub digits: Option<&'a MyDigits>,
    pub version: u64,
    /// The model the views show, with its key.
    pub model: Option<(&'a Arc<Mlp>, u64)>,
    pub run: Option<&'a FinetuneRun>,
    pub last_curve: &'a [FinetuneProgress],
    pub last_report: Option<&'a FinetuneReport>,
    pub can_undo: bool,
    /// Why Fine-tune is not possible now, if it is not.
    pub blocked: Option<&'a str>,
    pub replay_name: Option<&'a str>,
    pub path: Option<&'a Path>,
    /// Why the digits cannot be changed in this window, if so.
    pub read_only: Option<&'a str>,
    /// The first dropped picture waiting for a label, and how many wait.
    pub unlabelled: Option<(&'a str, &'a [u8; PIXELS], usize)>,
}

#[derive(Default)]
pub struct MyDigitsPanel {
    selected: Option<usize>,
    thumbs: Vec<TextureHandle>,
    thumbs_version: Option<u64>,
    /// The digits' pixels as of `thumbs_version`, shared with the prediction thread (one copy
    /// per change, not per frame).
    pixels: Arc<Vec<u8>>,
    dropped_texture: Option<TextureHandle>,
    /// The shown model's reading of every digit, keyed by (digits version, model key).
    predictions: Latest<(u64, u64), Vec<u8>>,
}

/// `path` with the home folder written `~`, as people write it.
fn home_relative(path: &Path) -> String {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    match home.as_deref().and_then(|home| path.strip_prefix(home).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

const ORANGE: Color32 = Color32::from_rgb(230, 159, 0);
const SKY_BLUE: Color32 = Color32::from_rgb(86, 180, 233);
const WRONG: Color32 = Color32::from_rgb(220, 60, 50);

impl MyDigitsPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &MyDigitsView<'_>) -> Option<MyDigitsAction> {
        let mut action = None;
        let Some(digits) = view.digits else {
            ui.spinner();
            ui.label("Reading My digits...");
            return None;
        };
        ui.horizontal(|ui| {
            ui.heading("My digits");
            let counts = digits.counts();
            let per_digit: Vec<String> = (0..CLASSES)
                .filter(|&d| counts[d] > 0)
                .map(|d| format!("{d}: {}", counts[d]))
                .collect();
            ui.label(format!(
                "{} in all{}",
                digits.len(),
                if per_digit.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", per_digit.join(", "))
                }
            ));
        });
        match (view.read_only, view.path) {
            (Some(why), _) => ui.colored_label(WRONG, why),
            (None, Some(path)) => ui
                .weak(format!("Saved after every change in {}", home_relative(path)))
                .on_hover_text(path.display().to_string()),
            (None, None) => ui.weak("Kept for this session only (no data folder)."),
        };
        ui.horizontal_wrapped(|ui| {
            if view.run.is_some() {
                if ui.button("Stop fine-tuning").clicked() {
                    action = Some(MyDigitsAction::StopFineTune);
                }
            } else {
                let button = ui.add_enabled(view.blocked.is_none(), egui::Button::new("Fine-tune on My digits"));
                let button = match view.blocked {
                    Some(why) => button.on_disabled_hover_text(why),
                    None => button.on_hover_text(format!(
                        "Teach the current model your handwriting: a few passes over your digits (with small random \
                         distortions) mixed with replayed rows of {}, so it keeps what it knew.",
                        view.replay_name.unwrap_or("the training data")
                    )),
                };
                if button.clicked() {
                    action = Some(MyDigitsAction::FineTune);
                }
            }
            if ui
                .add_enabled(
                    view.can_undo && view.run.is_none(),
                    egui::Button::new("Undo fine-tuning"),
                )
                .on_hover_text("Back to the model from before the last fine-tuning")
                .clicked()
            {
                action = Some(MyDigitsAction::Undo);
            }
            if ui
                .button("Import...")
                .on_hover_text(
                    "A `file,label` CSV naming pictures (paths relative to it), or a training CSV \
                     (an export of My digits). Pictures dropped on the window are added too.",
                )
                .clicked()
            {
                action = Some(MyDigitsAction::Import);
            }
            if ui
                .add_enabled(!digits.is_empty(), egui::Button::new("Export..."))
                .on_hover_text("Save My digits as a Kaggle training CSV (label,pixel0..pixel783)")
                .clicked()
            {
                action = Some(MyDigitsAction::Export);
            }
        });
        if let Some((name, image, waiting)) = view.unlabelled
            && let Some(a) = self.dropped_ui(ui, name, image, waiting)
        {
            action = Some(a);
        }
        ui.separator();
        self.finetune_ui(ui, view);
        ui.separator();
        if let Some(a) = self.gallery(ui, digits, view) {
            action = Some(a);
        }
        if let Some(MyDigitsAction::Delete(_)) = action {
            self.selected = None;
        }
        action
    }

    fn dropped_ui(
        &mut self,
        ui: &mut egui::Ui,
        name: &str,
        image: &[u8; PIXELS],
        waiting: usize,
    ) -> Option<MyDigitsAction> {
        let mut action = None;
        let texture = self.dropped_texture.get_or_insert_with(|| {
            ui.ctx().load_texture(
                "dropped",
                ColorImage::from_gray([SIDE, SIDE], image),
                TextureOptions::NEAREST,
            )
        });
        texture.set(ColorImage::from_gray([SIDE, SIDE], image), TextureOptions::NEAREST);
        let id = texture.id();
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.add(egui::Image::new((id, Vec2::splat(56.0))));
                ui.vertical(|ui| {
                    let more = if waiting > 1 {
                        format!(" ({} more waiting)", waiting - 1)
                    } else {
                        String::new()
                    };
                    ui.label(format!("What digit is {name}?{more}"));
                    ui.horizontal(|ui| {
                        for d in 0..CLASSES as u8 {
                            if ui.button(d.to_string()).on_hover_text(format!("It is a {d}")).clicked() {
                                action = Some(MyDigitsAction::LabelDropped(Some(d)));
                            }
                        }
                        if ui.button("Skip").clicked() {
                            action = Some(MyDigitsAction::LabelDropped(None));
                        }
                    });
                });
            });
        });
        action
    }

    /// The curves of the run in progress (or the last one) and the before/after summary.
    fn finetune_ui(&mut self, ui: &mut egui::Ui, view: &MyDigitsView<'_>) {
        let curve = view.run.map_or(view.last_curve, |r| r.curve.as_slice());
        if let Some(run) = view.run {
            let (phase, step, total) = curve
                .last()
                .map_or((Phase::Measure, 0, 1), |p| (p.phase, p.step, p.total_steps.max(1)));
            let what = match phase {
                Phase::Measure => "measuring on held-out digits",
                Phase::Refit => "training on all your digits",
            };
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "Fine-tuning, {what}: step {step} of {total} · {:.1} s",
                    run.started.elapsed().as_secs_f32()
                ));
            });
            ui.add(egui::ProgressBar::new(step as f32 / total as f32).desired_width(320.0));
        } else if let Some(report) = view.last_report {
            ui.label(RichText::new(format!("Fine-tuned: {}", report.summary())).strong());
        } else {
            ui.weak(
                "Draw digits the way you write them on the Draw tab and label them (0-9 keys or the buttons), \
                 then press Fine-tune: the model learns your style and keeps MNIST.",
            );
            return;
        }
        if curve.is_empty() {
            return;
        }
        // The two runs one after the other on the x axis.
        let measure_steps = curve
            .iter()
            .filter(|p| p.phase == Phase::Measure)
            .map(|p| p.total_steps)
            .max()
            .unwrap_or(0);
        let x = |p: &FinetuneProgress| (p.step + if p.phase == Phase::Refit { measure_steps } else { 0 }) as f64;
        let mine: Vec<[f64; 2]> = curve
            .iter()
            .filter_map(|p| p.mine_accuracy.map(|a| [x(p), f64::from(a)]))
            .collect();
        let mnist: Vec<[f64; 2]> = curve
            .iter()
            .filter_map(|p| p.mnist_accuracy.map(|a| [x(p), f64::from(a)]))
            .collect();
        Plot::new("finetune_curves")
            .height(170.0)
            .include_y(0.0)
            .include_y(1.0)
            .include_x(0.0)
            .allow_scroll(false)
            .allow_drag(false)
            .allow_zoom(false)
            .x_axis_label("step (held-out run, then all your digits)")
            .legend(Legend::default().follow_insertion_order(true))
            .show(ui, |plot| {
                plot.line(
                    Line::new("your held-out digits", PlotPoints::new(mine))
                        .color(ORANGE)
                        .width(2.0),
                );
                plot.line(
                    Line::new("MNIST dev", PlotPoints::new(mnist))
                        .color(SKY_BLUE)
                        .width(2.0),
                );
            });
    }

    fn gallery(&mut self, ui: &mut egui::Ui, digits: &MyDigits, view: &MyDigitsView<'_>) -> Option<MyDigitsAction> {
        if digits.is_empty() {
            ui.label("No digits yet.");
            return None;
        }
        if self.thumbs_version != Some(view.version) {
            self.thumbs = (0..digits.len())
                .map(|i| {
                    ui.ctx().load_texture(
                        format!("my_digit_{i}"),
                        ColorImage::from_gray([SIDE, SIDE], digits.image(i)),
                        TextureOptions::NEAREST,
                    )
                })
                .collect();
            self.pixels = Arc::new(digits.dataset().pixels.clone());
            self.thumbs_version = Some(view.version);
            if self.selected.is_some_and(|s| s >= digits.len()) {
                self.selected = None;
            }
        }
        let predictions = view.model.and_then(|(model, key)| {
            let model = model.clone();
            let pixels = self.pixels.clone();
            self.predictions
                .get(ui.ctx(), (view.version, key), move || model.predict(&pixels))
                .map(|(_, p)| p.clone())
        });
        let predictions = predictions.filter(|p| p.len() == digits.len());
        let wrong: usize = predictions
            .as_ref()
            .map_or(0, |p| (0..digits.len()).filter(|&i| p[i] != digits.label(i)).count());
        if predictions.is_some() {
            ui.label(format!(
                "The model reads {} of {} right; the ones it misreads are framed in red.",
                digits.len() - wrong,
                digits.len()
            ));
        }
        let mut action = None;
        if let Some(i) = self.selected.filter(|&i| i < digits.len()) {
            let read = predictions.as_ref().map(|p| p[i]);
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "Digit #{} labelled {}{}. Relabel as:",
                    i + 1,
                    digits.label(i),
                    read.map_or(String::new(), |r| format!(", read as {r}"))
                ));
                for d in 0..CLASSES as u8 {
                    if ui
                        .add_enabled(d != digits.label(i), egui::Button::new(d.to_string()))
                        .clicked()
                    {
                        action = Some(MyDigitsAction::Relabel(i, d));
                    }
                }
                if ui.button("Delete").clicked() {
                    action = Some(MyDigitsAction::Delete(i));
                }
            });
        }
        egui::ScrollArea::vertical()
            .id_salt("my_digits_gallery")
            .show(ui, |ui| {
                for d in 0..CLASSES as u8 {
                    let rows: Vec<usize> = (0..digits.len()).filter(|&i| digits.label(i) == d).collect();
                    if rows.is_empty() {
                        continue;
                    }
                    ui.horizontal_wrapped(|ui| {
                        ui.label(RichText::new(format!("{d}")).size(22.0).strong());
                        for i in rows {
                            let read = predictions.as_ref().map(|p| p[i]);
                            let misread = read.is_some_and(|r| r != d);
                            let (rect, response) = ui.allocate_exact_size(Vec2::splat(44.0), Sense::click());
                            response.widget_info(|| {
                                egui::WidgetInfo::labeled(egui::Role::Button, true, format!("my digit {}", i + 1))
                            });
                            ui.painter().image(
                                self.thumbs[i].id(),
                                rect,
                                egui::Rect::from_min_max(egui::Pos2::ZERO, egui::Pos2::new(1.0, 1.0)),
                                Color32::WHITE,
                            );
                            let stroke = if self.selected == Some(i) {
                                egui::Stroke::new(3.0, Color32::from_rgb(250, 200, 60))
                            } else if misread {
                                egui::Stroke::new(2.0, WRONG)
                            } else {
                                egui::Stroke::new(1.0, Color32::from_gray(70))
                            };
                            ui.painter().rect_stroke(rect, 2.0, stroke, egui::StrokeKind::Outside);
                            if let Some(r) = read.filter(|_| misread) {
                                ui.painter().text(
                                    rect.right_bottom() - Vec2::new(3.0, 2.0),
                                    egui::Align2::RIGHT_BOTTOM,
                                    r.to_string(),
                                    egui::FontId::proportional(13.0),
                                    WRONG,
                                );
                            }
                            let hover = match read {
                                Some(r) if r != d => {
                                    format!("#{}: labelled {d}, read as {r}. Click to relabel or delete.", i + 1)
                                }
                                _ => format!("#{}: labelled {d}. Click to relabel or delete.", i + 1),
                            };
                            if response.on_hover_text(hover).clicked() {
                                self.selected = if self.selected == Some(i) { None } else { Some(i) };
                            }
                        }
                    });
                }
            });
        action
    }
}
