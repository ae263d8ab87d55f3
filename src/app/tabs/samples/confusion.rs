//! The dev set's confusion matrix as a heat map: correct predictions (the diagonal) in blue,
//! mistakes in orange, coloured by count (on a log scale, so 1 and 11 mistakes differ at a glance)
//! or by share of the true digit's row, with a colour bar for each hue. Clicking a cell filters
//! the sample grid; precision and recall per digit below.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Vec2};
use serde::{Deserialize, Serialize};

use crate::data::{CLASSES, class_caption};
use crate::evaluate::Evaluation;

/// What a cell's colour stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfusionColor {
    /// The count, on a log scale.
    #[default]
    Count,
    /// The count's share of its row (of the dev digits with that true label).
    RowShare,
}

impl ConfusionColor {
    pub const ALL: [ConfusionColor; 2] = [ConfusionColor::Count, ConfusionColor::RowShare];

    pub fn title(self) -> &'static str {
        match self {
            ConfusionColor::Count => "count (log)",
            ConfusionColor::RowShare => "share of row",
        }
    }
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ConfusionPanel {
    pub color: ConfusionColor,
}

const CELL: f32 = 38.0;
/// The weakest colour of a non-zero cell, so a single mistake still shows.
const MIN_INTENSITY: f32 = 0.18;

/// How strongly a cell is coloured, 0..=1: 0 for an empty cell, at least [`MIN_INTENSITY`]
/// otherwise. Counts go on a log scale, ln(1 + v) / ln(1 + max); shares on a square-root scale
/// (mistakes are a small share of a row), both relative to the largest value of the same hue.
pub fn intensity(value: f64, max: f64, color: ConfusionColor) -> f32 {
    if value <= 0.0 || max <= 0.0 {
        return 0.0;
    }
    let t = match color {
        ConfusionColor::Count => value.ln_1p() / max.ln_1p(),
        ConfusionColor::RowShare => (value / max).sqrt(),
    };
    MIN_INTENSITY + (1.0 - MIN_INTENSITY) * (t.clamp(0.0, 1.0) as f32)
}

/// A cell's fill: from the empty cell's colour (near the panel's) to the full hue, blue on the
/// diagonal and orange off it; deeper hues on a light background, brighter on a dark one.
pub fn cell_color(t: f32, diagonal: bool, dark: bool) -> Color32 {
    let empty = if dark {
        [48.0, 48.0, 52.0]
    } else {
        [236.0, 236.0, 238.0]
    };
    let full = match (diagonal, dark) {
        (true, true) => [60.0, 135.0, 255.0],
        (true, false) => [25.0, 80.0, 190.0],
        (false, true) => [255.0, 125.0, 30.0],
        (false, false) => [215.0, 75.0, 10.0],
    };
    let t = t.clamp(0.0, 1.0);
    let c = |i: usize| (empty[i] + (full[i] - empty[i]) * t).round() as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

/// Black or white text, whichever reads on `fill`.
pub fn text_on(fill: Color32) -> Color32 {
    let luma = 0.299 * f32::from(fill.r()) + 0.587 * f32::from(fill.g()) + 0.114 * f32::from(fill.b());
    if luma > 150.0 {
        Color32::from_gray(20)
    } else {
        Color32::from_gray(245)
    }
}

/// The values the colours stand for, and their largest value per hue (diagonal, mistakes).
struct Values {
    values: Vec<Vec<f64>>,
    max_diagonal: f64,
    max_mistake: f64,
}

fn values(eval: &Evaluation, color: ConfusionColor) -> Values {
    let classes = eval.confusion.len();
    let mut values = vec![vec![0.0; classes]; classes];
    let (mut max_diagonal, mut max_mistake) = (0.0f64, 0.0f64);
    for (t, row) in eval.confusion.iter().enumerate() {
        let total: usize = row.iter().sum();
        for (p, &count) in row.iter().enumerate() {
            let v = match color {
                ConfusionColor::Count => count as f64,
                ConfusionColor::RowShare if total > 0 => count as f64 / total as f64,
                ConfusionColor::RowShare => 0.0,
            };
            values[t][p] = v;
            if t == p {
                max_diagonal = max_diagonal.max(v);
            } else {
                max_mistake = max_mistake.max(v);
            }
        }
    }
    Values {
        values,
        max_diagonal,
        max_mistake,
    }
}

impl ConfusionPanel {
    /// Returns the (true, predicted) cell the user clicked.
    /// `names`: class names in label order (may be empty), shown on hover and in the table.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        eval: &Evaluation,
        selected: Option<(u8, u8)>,
        names: &[String],
    ) -> Option<(u8, u8)> {
        ui.heading("Confusion matrix (dev)");
        let classes = eval.confusion.len();
        let word = if classes == CLASSES && names.is_empty() {
            "digit"
        } else {
            "class"
        };
        ui.label(format!(
            "{} rows · accuracy {:.2}% · rows: true {word}, columns: predicted",
            eval.rows,
            eval.accuracy * 100.0
        ));
        ui.horizontal(|ui| {
            ui.label("Colour by");
            for color in ConfusionColor::ALL {
                ui.selectable_value(&mut self.color, color, color.title())
                    .on_hover_text(match color {
                        ConfusionColor::Count => "The number of digits, on a log scale: 1 and 11 differ clearly",
                        ConfusionColor::RowShare => {
                            "The share of the true digit's row: how often each digit goes where"
                        }
                    });
            }
        });
        let dark = ui.visuals().dark_mode;
        let values = values(eval, self.color);
        let mut clicked = None;
        let margin = 22.0;
        // Ten classes get full-size cells; more (Sign Language MNIST's 25, EMNIST's 47) shrink to
        // fit the column.
        let cell_size = CELL.min(((ui.available_width() - margin) / classes as f32).max(8.0));
        let font = (13.0 * cell_size / CELL).clamp(7.0, 13.0);
        let size = Vec2::new(margin + cell_size * classes as f32, margin + cell_size * classes as f32);
        let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
        let origin = rect.min + Vec2::splat(margin);
        let painter = ui.painter_at(rect);
        let text_color = ui.visuals().text_color();
        for d in 0..classes {
            let x = origin.x + (d as f32 + 0.5) * cell_size;
            painter.text(
                Pos2::new(x, rect.min.y + 10.0),
                Align2::CENTER_CENTER,
                d.to_string(),
                FontId::monospace(font),
                text_color,
            );
            let y = origin.y + (d as f32 + 0.5) * cell_size;
            painter.text(
                Pos2::new(rect.min.x + 10.0, y),
                Align2::CENTER_CENTER,
                d.to_string(),
                FontId::monospace(font),
                text_color,
            );
        }
        let (selected_stroke, hover_stroke) = if dark {
            (Color32::from_rgb(250, 210, 60), Color32::WHITE)
        } else {
            (Color32::from_rgb(20, 20, 20), Color32::from_gray(90))
        };
        for (t, row) in eval.confusion.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (p, &count) in row.iter().enumerate() {
                let cell = Rect::from_min_size(
                    origin + Vec2::new(p as f32 * cell_size, t as f32 * cell_size),
                    Vec2::splat(cell_size),
                );
                let share = if total > 0 { count as f32 / total as f32 } else { 0.0 };
                let max = if t == p {
                    values.max_diagonal
                } else {
                    values.max_mistake
                };
                let fill = cell_color(intensity(values.values[t][p], max, self.color), t == p, dark);
                let id = ui.scope_id().with(("confusion", t, p));
                let response = ui.interact(cell.shrink(1.0), id, Sense::click());
                response.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::Button, true, format!("true {t}, predicted {p}: {count}"))
                });
                painter.rect_filled(cell.shrink(1.0), 2.0, fill);
                if selected == Some((t as u8, p as u8)) {
                    painter.rect_stroke(cell.shrink(1.0), 2.0, (2.5, selected_stroke), egui::StrokeKind::Inside);
                } else if response.hovered() {
                    painter.rect_stroke(cell.shrink(1.0), 2.0, (1.5, hover_stroke), egui::StrokeKind::Inside);
                }
                if count > 0 {
                    painter.text(
                        cell.center(),
                        Align2::CENTER_CENTER,
                        count.to_string(),
                        FontId::proportional(font),
                        text_on(fill),
                    );
                }
                let (true_name, predicted_name) = (class_caption(names, t), class_caption(names, p));
                let response = response.on_hover_text(format!(
                    "true {true_name}, predicted {predicted_name}: {count} ({:.1}% of the {true_name}s)\nclick to show them in the grid",
                    share * 100.0
                ));
                if response.clicked() {
                    clicked = Some((t as u8, p as u8));
                }
            }
        }
        ui.add_space(2.0);
        self.legend(ui, &values, dark);
        ui.add_space(4.0);
        // Many classes (25, 47) do not fit the column: the table scrolls sideways.
        egui::ScrollArea::horizontal()
            .id_salt("per_class_scroll")
            .show(ui, |ui| {
                self.per_class_table(ui, eval, classes, names, word);
            });
        clicked
    }

    fn per_class_table(
        &self,
        ui: &mut egui::Ui,
        eval: &crate::evaluate::Evaluation,
        classes: usize,
        names: &[String],
        word: &str,
    ) {
        egui::Grid::new("per_class").striped(true).show(ui, |ui| {
            ui.label(word);
            for d in 0..classes {
                ui.label(d.to_string()).on_hover_text(class_caption(names, d));
            }
            ui.end_row();
            for (name, values) in [("precision", &eval.precision), ("recall", &eval.recall)] {
                ui.label(name);
                for v in values {
                    ui.label(v.map_or("-".into(), |v| format!("{:.0}", v * 100.0)));
                }
                ui.end_row();
            }
        });
    }

    /// One colour bar per hue, from the smallest non-zero value to the largest.
    fn legend(&self, ui: &mut egui::Ui, values: &Values, dark: bool) {
        let fmt = |v: f64| match self.color {
            ConfusionColor::Count => format!("{v:.0}"),
            ConfusionColor::RowShare => format!("{:.1}%", v * 100.0),
        };
        let low = match self.color {
            ConfusionColor::Count => "1".to_owned(),
            ConfusionColor::RowShare => "0%".to_owned(),
        };
        for (name, diagonal, max) in [
            ("correct", true, values.max_diagonal),
            ("mistakes", false, values.max_mistake),
        ] {
            ui.horizontal(|ui| {
                ui.add_sized([64.0, 16.0], egui::Label::new(name));
                ui.label(&low);
                let (bar, _) = ui.allocate_exact_size(Vec2::new(160.0, 14.0), Sense::hover());
                let steps = 32;
                for i in 0..steps {
                    let t = MIN_INTENSITY + (1.0 - MIN_INTENSITY) * i as f32 / (steps - 1) as f32;
                    let x0 = bar.min.x + bar.width() * i as f32 / steps as f32;
                    let r = Rect::from_min_max(
                        Pos2::new(x0, bar.min.y),
                        Pos2::new(x0 + bar.width() / steps as f32 + 0.5, bar.max.y),
                    );
                    ui.painter().rect_filled(r, 0.0, cell_color(t, diagonal, dark));
                }
                ui.label(if max > 0.0 { fmt(max) } else { "-".into() });
                if self.color == ConfusionColor::Count {
                    ui.weak("(log scale)");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: Color32, b: Color32) -> i32 {
        (0..3).map(|i| (i32::from(a[i]) - i32::from(b[i])).abs()).sum()
    }

    #[test]
    fn one_and_eleven_mistakes_look_different() {
        let max = 40.0;
        let one = intensity(1.0, max, ConfusionColor::Count);
        let eleven = intensity(11.0, max, ConfusionColor::Count);
        assert!(eleven - one > 0.3, "{one} vs {eleven}");
        assert_eq!(intensity(0.0, max, ConfusionColor::Count), 0.0);
        assert!(one >= MIN_INTENSITY);
        assert_eq!(intensity(max, max, ConfusionColor::Count), 1.0);
        for dark in [false, true] {
            let (a, b) = (cell_color(one, false, dark), cell_color(eleven, false, dark));
            assert!(distance(a, b) > 100, "dark {dark}: {a:?} vs {b:?}");
        }
    }

    #[test]
    fn shares_of_the_row() {
        assert_eq!(intensity(0.5, 0.5, ConfusionColor::RowShare), 1.0);
        assert!(intensity(0.02, 0.5, ConfusionColor::RowShare) < intensity(0.1, 0.5, ConfusionColor::RowShare));
    }

    #[test]
    fn the_diagonal_has_its_own_hue_and_text_reads_in_both_themes() {
        for dark in [false, true] {
            let empty = cell_color(0.0, true, dark);
            assert_eq!(empty, cell_color(0.0, false, dark), "empty cells look alike");
            let (diagonal, mistake) = (cell_color(1.0, true, dark), cell_color(1.0, false, dark));
            assert!(diagonal.b() > diagonal.r() && mistake.r() > mistake.b());
            assert!(distance(diagonal, mistake) > 200);
            for t in [0.0, MIN_INTENSITY, 0.5, 1.0] {
                for diag in [false, true] {
                    let fill = cell_color(t, diag, dark);
                    assert!(distance(text_on(fill), fill) > 250, "t {t} dark {dark}: {fill:?}");
                }
            }
        }
        // The empty cells follow the theme.
        assert!(cell_color(0.0, true, true).r() < 100 && cell_color(0.0, true, false).r() > 200);
    }
}
