//! How one value of Z was computed: `Z[u] = Σ_i W[u, i]·A_prev[i] + b[u]`, its largest w·a terms
//! one by one, the rest summed, and the bias. For the first layer the terms are also drawn over
//! the 28x28 image.

use egui::{Color32, ColorImage, RichText, Vec2};
use ndarray::ArrayView1;

use crate::app::tabs::weights::diverging;

/// One term `w·a` of a dot product.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Term {
    /// The input's index (a pixel for the first layer, a unit of the layer before otherwise).
    pub input: usize,
    pub w: f32,
    pub a: f32,
}

impl Term {
    pub fn value(&self) -> f32 {
        self.w * self.a
    }
}

/// `Z[u]` taken apart.
#[derive(Clone, Debug, PartialEq)]
pub struct Breakdown {
    /// The largest terms by |w·a|, largest first (ties by input index); zero terms are left out.
    pub top: Vec<Term>,
    /// How many other terms are non-zero, and their sum.
    pub rest_count: usize,
    pub rest_sum: f32,
    /// Terms that are zero because the input is zero (black pixels, ReLU units that are off).
    pub zero_inputs: usize,
    pub bias: f32,
    /// Every term plus the bias, summed here in f64: equals the network's Z to rounding.
    pub total: f32,
}

/// Takes `Σ_i w[i]·a[i] + bias` apart, keeping the `k` largest terms: `w` is unit u's input
/// weights (a column of the layer's `(inputs, outputs)` W), `a` the example's inputs.
pub fn break_down(w: ArrayView1<'_, f32>, a: ArrayView1<'_, f32>, bias: f32, k: usize) -> Breakdown {
    let mut terms: Vec<Term> = w
        .iter()
        .zip(a.iter())
        .enumerate()
        .map(|(input, (&w, &a))| Term { input, w, a })
        .collect();
    let zero_inputs = terms.iter().filter(|t| t.a == 0.0).count();
    let total = terms.iter().map(|t| f64::from(t.value())).sum::<f64>() + f64::from(bias);
    terms.retain(|t| t.value() != 0.0);
    terms.sort_by(|x, y| y.value().abs().total_cmp(&x.value().abs()).then(x.input.cmp(&y.input)));
    let rest = terms.split_off(k.min(terms.len()));
    Breakdown {
        top: terms,
        rest_count: rest.len(),
        rest_sum: rest.iter().map(|t| f64::from(t.value())).sum::<f64>() as f32,
        zero_inputs,
        bias,
        total: total as f32,
    }
}

impl Breakdown {
    /// The top terms, the rest and the bias added up (what the popup's last line says).
    pub fn shown_sum(&self) -> f32 {
        (self.top.iter().map(|t| f64::from(t.value())).sum::<f64>() + f64::from(self.rest_sum) + f64::from(self.bias))
            as f32
    }

    /// The first layer's terms over the image: the image dimmed in gray, every non-zero term
    /// `w·x` coloured (red raises Z, blue lowers it), the top ones at full strength.
    pub fn image(&self, w: ArrayView1<'_, f32>, x: ArrayView1<'_, f32>, side: usize) -> ColorImage {
        let max = w
            .iter()
            .zip(x.iter())
            .fold(0.0f32, |m, (&w, &x)| m.max((w * x).abs()))
            .max(1e-12);
        let mut colours: Vec<Color32> = w
            .iter()
            .zip(x.iter())
            .map(|(&w, &x)| {
                if x == 0.0 {
                    Color32::from_gray(25)
                } else {
                    diverging((w * x / max).signum() * ((w * x).abs() / max).sqrt())
                }
            })
            .collect();
        colours.resize(side * side, Color32::from_gray(25));
        ColorImage::new([side, side], colours)
    }

    /// The lines of the popup: each top term, the rest, the bias and the sum, which is Z.
    pub fn ui(&self, ui: &mut egui::Ui, z_name: &str, input_name: &str, z: f32, image: Option<&egui::TextureHandle>) {
        ui.label(RichText::new(format!("{z_name} = Σ w·{input_name} + b = {z:.4}")).strong());
        ui.horizontal_top(|ui| {
            if let Some(texture) = image {
                ui.add(egui::Image::new((texture.id(), Vec2::splat(168.0))))
                    .on_hover_text("Each pixel's term w·x: red raises Z, blue lowers it, dark pixels are black in X.");
            }
            egui::Grid::new((z_name, "terms")).striped(true).show(ui, |ui| {
                ui.weak("input");
                ui.weak("w");
                ui.weak(input_name);
                ui.weak("w·x");
                ui.end_row();
                for t in &self.top {
                    ui.label(term_input_name(input_name, t.input));
                    ui.monospace(format!("{:+.4}", t.w));
                    ui.monospace(format!("{:.4}", t.a));
                    ui.monospace(RichText::new(format!("{:+.4}", t.value())).color(sign_colour(t.value())));
                    ui.end_row();
                }
                ui.label(format!("{} other terms", self.rest_count));
                ui.label("");
                ui.label("");
                ui.monospace(format!("{:+.4}", self.rest_sum));
                ui.end_row();
                ui.label(format!("{} zero inputs", self.zero_inputs));
                ui.label("");
                ui.label("");
                ui.monospace("+0");
                ui.end_row();
                ui.label("bias b");
                ui.label("");
                ui.label("");
                ui.monospace(format!("{:+.4}", self.bias));
                ui.end_row();
                ui.label(RichText::new("sum").strong());
                ui.label("");
                ui.label("");
                ui.monospace(RichText::new(format!("= {:.4}", self.shown_sum())).strong());
                ui.end_row();
            });
        });
    }
}

/// "pixel (row 5, col 14)" for the first layer's inputs, "A1[37]" for a unit's.
fn term_input_name(input_name: &str, input: usize) -> String {
    if input_name == "x" {
        format!("pixel {input} (r{}, c{})", input / 28, input % 28)
    } else {
        format!("{input_name}[{input}]")
    }
}

fn sign_colour(v: f32) -> Color32 {
    if v >= 0.0 {
        Color32::from_rgb(220, 80, 70)
    } else {
        Color32::from_rgb(80, 130, 230)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn the_terms_rest_and_bias_add_up_to_z() {
        let w = arr1(&[0.5f32, -2.0, 1.0, 3.0, 0.1, 7.0]);
        let a = arr1(&[1.0f32, 0.5, 0.0, 0.25, 2.0, 0.0]);
        let b = break_down(w.view(), a.view(), 0.3, 2);
        // Terms: 0.5, -1.0, 0, 0.75, 0.2, 0 -> the two largest by size: -1.0 (input 1), 0.75 (3).
        assert_eq!(b.top.iter().map(|t| t.input).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(b.rest_count, 2);
        assert!((b.rest_sum - 0.7).abs() < 1e-6);
        assert_eq!(b.zero_inputs, 2);
        let z = w.dot(&a) + 0.3;
        assert!((b.total - z).abs() < 1e-6);
        assert!((b.shown_sum() - z).abs() < 1e-6);
    }

    #[test]
    fn fewer_terms_than_asked_leave_no_rest() {
        let w = arr1(&[1.0f32, 2.0]);
        let a = arr1(&[1.0f32, 1.0]);
        let b = break_down(w.view(), a.view(), -1.0, 10);
        assert_eq!(b.top.len(), 2);
        assert_eq!((b.rest_count, b.rest_sum), (0, 0.0));
        assert_eq!(b.shown_sum(), 2.0);
        // Largest first.
        assert_eq!(b.top[0].input, 1);
    }
}
