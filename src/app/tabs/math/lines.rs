//! The forward and backward lines of the notebook, each with its names and shapes in the
//! notebook's orientation (features × examples: X is 784×m, W1 is n1×784, Z1 is n1×m; the
//! network keeps examples in rows, so every matrix here is shown transposed), drawn readably:
//! images for X, dW1 and dX, bars per unit with their values, ReLU's zeroed units greyed,
//! heat maps for the deeper dW.

use egui::{RichText, Vec2};

use crate::network::argmax;

use super::compute::MathResult;
use super::paint::{self, BarStyle, Textures, short};
use super::units::SHOW_ALL_UP_TO;

/// A bar the pointer is on (or clicked): which layer's Z and which unit.
pub struct Touched {
    pub layer: usize,
    pub unit: usize,
    pub clicked: bool,
    pub response: egui::Response,
}

/// What the lines read.
pub struct Lines<'a> {
    pub result: &'a MathResult,
    /// The example shown (a column of X).
    pub example: usize,
    /// Per layer, the units shown.
    pub shown: &'a [Vec<usize>],
    pub textures: &'a mut Textures,
    /// Changes with the result (the textures' version).
    pub version: u64,
}

fn line_title(ui: &mut egui::Ui, formula: &str, shape: &str) {
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(formula).strong().monospace());
        ui.label(RichText::new(shape).weak().monospace().size(11.0));
    });
}

/// "showing 12 of 512 units, the largest by |activation|" under a wide layer's line.
fn subset_note(ui: &mut egui::Ui, shown: usize, total: usize) {
    if total > SHOW_ALL_UP_TO {
        ui.weak(format!("{shown} of {total} units shown (see \"Units of wide layers\")"));
    }
}

impl Lines<'_> {
    fn m(&self) -> usize {
        self.result.input.m()
    }

    /// X and Y, then for each layer Z, A, and the loss. Returns the Z bar the pointer is on.
    pub fn forward(&mut self, ui: &mut egui::Ui) -> Option<Touched> {
        let r = self.result;
        let (m, j) = (self.m(), self.example);
        let input = &r.input;
        let inputs = input.x.ncols();
        let side = input.side;
        let mut touched = None;
        line_title(
            ui,
            "X",
            &format!(
                "{inputs}×{m}: one column per example, the pixels / 255 ({})",
                input.caption
            ),
        );
        // Y beside the image, or under the strip when there is one (the strip takes the width).
        let classes = r.trace.layers.last().map_or(0, |l| l.a.ncols());
        let y_lines = |ui: &mut egui::Ui| {
            ui.monospace(format!("Y: {classes}×{m} one-hot"));
            ui.label(format!("y = {} (example {j})", input.labels[j]));
        };
        let strip_shown = side * side == inputs && m > 1;
        ui.horizontal(|ui| {
            if side * side == inputs {
                let t = self.textures.get(ui.ctx(), "x", self.version ^ j as u64, || {
                    paint::gray_image(input.image(j), side)
                });
                paint::image(ui, &t, Vec2::splat(112.0), "X image");
                if m > 1 {
                    let count = m.min(24);
                    let t = self.textures.get(ui.ctx(), "x_strip", self.version, || {
                        paint::strip(&input.pixels, side, count)
                    });
                    let size = t.size_vec2();
                    let scale = (ui.available_width() / size.x).clamp(0.5, 3.0);
                    ui.vertical(|ui| {
                        paint::image(ui, &t, size * scale, "X strip");
                        ui.weak(format!(
                            "the first {count} of the m = {m} columns; example {j} is shown large"
                        ));
                        y_lines(ui);
                    });
                }
            }
            if !strip_shown {
                ui.vertical(y_lines);
            }
        });
        let count = r.trace.layers.len();
        for (l, t) in r.trace.layers.iter().enumerate() {
            let n = l + 1;
            let (outputs, prev) = (t.z.ncols(), r.model.layers[l].inputs());
            let a_prev = if l == 0 { "X".to_owned() } else { format!("A{l}") };
            line_title(
                ui,
                &format!("Z{n} = W{n}·{a_prev} + b{n}"),
                &format!(
                    "{outputs}×{m} = ({outputs}×{prev})·({prev}×{m}) + ({outputs}×1), broadcast over the m columns"
                ),
            );
            let units = &self.shown[l];
            subset_note(ui, units.len(), outputs);
            let z = t.z.row(j).to_vec();
            let style = BarStyle {
                name: &format!("Z{n}"),
                greyed: None,
                probabilities: false,
                highlight: None,
            };
            if let Some((unit, response)) = paint::unit_bars(ui, &z, units, &style) {
                let clicked = response.clicked();
                touched = Some(Touched {
                    layer: l,
                    unit,
                    clicked,
                    response,
                });
            }
            if l + 1 < count {
                let a = t.a.row(j).to_vec();
                let off: Vec<bool> = z.iter().map(|&v| v <= 0.0).collect();
                let zeros = off.iter().filter(|&&o| o).count();
                line_title(
                    ui,
                    &format!("A{n} = ReLU(Z{n})"),
                    &format!("{outputs}×{m}: negative values become 0"),
                );
                ui.weak(format!(
                    "{zeros} of {outputs} units are 0 for this example (grey): they pass nothing on, and get no gradient"
                ));
                paint::unit_bars(
                    ui,
                    &a,
                    units,
                    &BarStyle {
                        name: &format!("A{n}"),
                        greyed: Some(&off),
                        probabilities: false,
                        highlight: None,
                    },
                );
            } else {
                let p = t.a.row(j).to_vec();
                let predicted = argmax(&p);
                let y = usize::from(input.labels[j]);
                line_title(
                    ui,
                    &format!("A{n} = softmax(Z{n})"),
                    &format!("{outputs}×{m}: e^Z / Σ e^Z per column, the probabilities"),
                );
                ui.label(format!(
                    "reads it as {predicted} ({:.1}%); the label y = {y} has {:.1}%",
                    p[predicted] * 100.0,
                    p[y] * 100.0
                ));
                paint::unit_bars(
                    ui,
                    &p,
                    units,
                    &BarStyle {
                        name: &format!("A{n}"),
                        greyed: None,
                        probabilities: true,
                        highlight: Some(y),
                    },
                );
                line_title(
                    ui,
                    &format!("loss = −1/m·Σ log A{n}[y] = {:.4}", r.trace.loss),
                    &format!("the mean cross-entropy over the m = {m} examples"),
                );
            }
        }
        touched
    }

    /// dZ, dW, db per layer from the last back to the first, then dX.
    pub fn backward(&mut self, ui: &mut egui::Ui) {
        let r = self.result;
        let (m, j) = (self.m(), self.example);
        let layers = &r.trace.layers;
        let count = layers.len();
        let last = count - 1;
        let classes = layers[last].dz.ncols();
        line_title(
            ui,
            &format!("dZ{count} = A{count} − Y"),
            &format!("{classes}×{m}: the probabilities minus the one-hot label"),
        );
        paint::unit_bars(
            ui,
            &layers[last].dz.row(j).to_vec(),
            &self.shown[last],
            &BarStyle {
                name: &format!("dZ{count}"),
                greyed: None,
                probabilities: false,
                highlight: None,
            },
        );
        for l in (0..count).rev() {
            let n = l + 1;
            let t = &layers[l];
            let (prev, outputs) = t.dw.dim();
            let a_prev = if l == 0 { "X".to_owned() } else { format!("A{l}") };
            line_title(
                ui,
                &format!("dW{n} = 1/m·dZ{n}·{a_prev}^T"),
                &format!("{outputs}×{prev}: how each weight is about to change (the step moves against it)"),
            );
            let side = r.input.side;
            if l == 0 && side * side == prev {
                let units = &self.shown[0];
                let max = paint::largest(units.iter().flat_map(|&u| t.dw.column(u).to_vec()));
                ui.weak(format!(
                    "one {side}×{side} image per unit (red: the gradient is positive, so the weight will fall; scale ±{})",
                    short(max)
                ));
                ui.horizontal_wrapped(|ui| {
                    for &u in units {
                        let tex = self.textures.get(ui.ctx(), &format!("dw1_{u}"), self.version, || {
                            paint::diverging_image(t.dw.column(u).iter().copied(), side, max)
                        });
                        ui.vertical(|ui| {
                            paint::image(ui, &tex, Vec2::splat(56.0), &format!("dW1 unit {u}"))
                                .on_hover_text(format!("dW1 of unit {u}: the gradient of its {prev} input weights"));
                            ui.weak(format!("#{u}"));
                        });
                    }
                });
            } else {
                let rows = &self.shown[l];
                let cols: Vec<usize> = if l == 0 {
                    (0..prev.min(64)).collect()
                } else {
                    self.shown[l - 1].clone()
                };
                ui.weak(format!(
                    "rows: {} units of layer {n}; columns: {} inputs{}",
                    rows.len(),
                    cols.len(),
                    if cols.len() < prev {
                        " (the shown units of the layer before)"
                    } else {
                        ""
                    }
                ));
                paint::heat_map(ui, rows, &cols, |r, c| t.dw[(c, r)], &format!("dW{n}"));
            }
            line_title(
                ui,
                &format!("db{n} = 1/m·Σ dZ{n} over the examples"),
                &format!("{outputs}×1: one number per unit (the notebook sums over the units too, below)"),
            );
            paint::unit_bars(
                ui,
                &t.db.to_vec(),
                &self.shown[l],
                &BarStyle {
                    name: &format!("db{n}"),
                    greyed: None,
                    probabilities: false,
                    highlight: None,
                },
            );
            if l > 0 {
                let below = &layers[l - 1];
                let off: Vec<bool> = below.z.row(j).iter().map(|&v| v <= 0.0).collect();
                line_title(
                    ui,
                    &format!("dZ{l} = W{n}^T·dZ{n} ⊙ ReLU′(Z{l})"),
                    &format!(
                        "{}×{m} = ({}×{outputs})·({outputs}×{m}) ⊙ ({}×{m}): 0 where the unit was off (grey)",
                        below.z.ncols(),
                        below.z.ncols(),
                        below.z.ncols()
                    ),
                );
                paint::unit_bars(
                    ui,
                    &below.dz.row(j).to_vec(),
                    &self.shown[l - 1],
                    &BarStyle {
                        name: &format!("dZ{l}"),
                        greyed: Some(&off),
                        probabilities: false,
                        highlight: None,
                    },
                );
            }
        }
        let inputs = r.trace.dx.ncols();
        let first_outputs = layers[0].z.ncols();
        line_title(
            ui,
            "dX = W1^T·dZ1",
            &format!("{inputs}×{m} = ({inputs}×{first_outputs})·({first_outputs}×{m}): how each pixel pushes the loss"),
        );
        let side = r.input.side;
        if side * side == inputs {
            let dx = r.trace.dx.row(j);
            let max = paint::largest(dx.iter().copied());
            let tex = self.textures.get(ui.ctx(), "dx", self.version ^ j as u64, || {
                paint::diverging_image(dx.iter().copied(), side, max)
            });
            ui.horizontal(|ui| {
                paint::image(ui, &tex, Vec2::splat(112.0), "dX image");
                ui.weak(format!(
                    "Red: more ink here would raise the loss; blue: lower it (scale ±{}). \
                     \"Make it a d\" follows −dX of another digit's loss.",
                    short(max)
                ));
            });
        }
    }
}
