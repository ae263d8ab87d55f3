//! The dev set's confusion matrix as a heat map with counts; clicking a cell filters the grid.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Vec2};

use crate::data::CLASSES;
use crate::evaluate::Evaluation;

#[derive(Default)]
pub struct ConfusionPanel;

const CELL: f32 = 38.0;

impl ConfusionPanel {
    /// Returns the (true, predicted) cell the user clicked.
    pub fn ui(&mut self, ui: &mut egui::Ui, eval: &Evaluation, selected: Option<(u8, u8)>) -> Option<(u8, u8)> {
        ui.heading("Confusion matrix (dev)");
        ui.label(format!(
            "{} rows · accuracy {:.2}% · rows: true digit, columns: predicted",
            eval.rows,
            eval.accuracy * 100.0
        ));
        let mut clicked = None;
        let margin = 22.0;
        let size = Vec2::new(margin + CELL * CLASSES as f32, margin + CELL * CLASSES as f32);
        let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
        let origin = rect.min + Vec2::splat(margin);
        let painter = ui.painter_at(rect);
        let text_color = ui.visuals().text_color();
        for d in 0..CLASSES {
            let x = origin.x + (d as f32 + 0.5) * CELL;
            painter.text(
                Pos2::new(x, rect.min.y + 10.0),
                Align2::CENTER_CENTER,
                d.to_string(),
                FontId::monospace(13.0),
                text_color,
            );
            let y = origin.y + (d as f32 + 0.5) * CELL;
            painter.text(
                Pos2::new(rect.min.x + 10.0, y),
                Align2::CENTER_CENTER,
                d.to_string(),
                FontId::monospace(13.0),
                text_color,
            );
        }
        for (t, row) in eval.confusion.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (p, &count) in row.iter().enumerate() {
                let cell = Rect::from_min_size(origin + Vec2::new(p as f32 * CELL, t as f32 * CELL), Vec2::splat(CELL));
                let share = if total > 0 { count as f32 / total as f32 } else { 0.0 };
                let fill = heat(share, t == p);
                let id = ui.scope_id().with(("confusion", t, p));
                let response = ui.interact(cell.shrink(1.0), id, Sense::click());
                response.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::Button, true, format!("true {t}, predicted {p}: {count}"))
                });
                painter.rect_filled(cell.shrink(1.0), 2.0, fill);
                if selected == Some((t as u8, p as u8)) {
                    painter.rect_stroke(
                        cell.shrink(1.0),
                        2.0,
                        (2.5, Color32::from_rgb(250, 200, 60)),
                        egui::StrokeKind::Inside,
                    );
                } else if response.hovered() {
                    painter.rect_stroke(cell.shrink(1.0), 2.0, (1.5, Color32::WHITE), egui::StrokeKind::Inside);
                }
                if count > 0 {
                    let color = if share > 0.5 { Color32::WHITE } else { text_color };
                    painter.text(
                        cell.center(),
                        Align2::CENTER_CENTER,
                        count.to_string(),
                        FontId::proportional(13.0),
                        color,
                    );
                }
                let response = response.on_hover_text(format!(
                    "true {t}, predicted {p}: {count} ({:.1}% of the {t}s)\nclick to show them in the grid",
                    share * 100.0
                ));
                if response.clicked() {
                    clicked = Some((t as u8, p as u8));
                }
            }
        }
        ui.add_space(4.0);
        egui::Grid::new("per_class").striped(true).show(ui, |ui| {
            ui.label("digit");
            for d in 0..CLASSES {
                ui.label(d.to_string());
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
        clicked
    }
}

/// Diagonal cells in blue, mistakes in red; stronger for a larger share of the true class.
fn heat(share: f32, diagonal: bool) -> Color32 {
    if share <= 0.0 {
        return Color32::from_gray(40);
    }
    // Mistakes are rare: stretch small shares so one error is visible.
    let s = if diagonal { share } else { share.sqrt().min(1.0) };
    let (r, g, b) = if diagonal {
        (40.0, 110.0, 220.0)
    } else {
        (220.0, 50.0, 40.0)
    };
    let base = 40.0;
    let mix = |c: f32| (base + (c - base) * (0.25 + 0.75 * s)) as u8;
    Color32::from_rgb(mix(r), mix(g), mix(b))
}
