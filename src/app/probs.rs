//! The bar chart of the 10 class probabilities, shared by the canvas and the sample grid.

use egui::Color32;
use egui_plot::{Bar, BarChart, Plot};

use crate::data::CLASSES;

/// Bars 0..9; the predicted digit is highlighted, the true one (if known and different) in red.
pub fn probability_chart(ui: &mut egui::Ui, id: &str, probs: &[f32; CLASSES], truth: Option<u8>, height: f32) {
    let predicted = crate::network::argmax(probs);
    let bars: Vec<Bar> = probs
        .iter()
        .enumerate()
        .map(|(digit, &p)| {
            let color = if digit == predicted {
                if truth.is_some_and(|t| usize::from(t) != predicted) {
                    Color32::from_rgb(220, 70, 60)
                } else {
                    Color32::from_rgb(70, 160, 240)
                }
            } else if truth.is_some_and(|t| usize::from(t) == digit) {
                Color32::from_rgb(60, 190, 90)
            } else {
                Color32::from_gray(130)
            };
            Bar::new(digit as f64, f64::from(p))
                .width(0.7)
                .fill(color)
                .name(format!("{digit}: {:.1}%", p * 100.0))
        })
        .collect();
    Plot::new(id)
        .height(height)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_double_click_reset(false)
        .allow_boxed_zoom(false)
        .x_axis_label("digit")
        .include_y(1.0)
        .include_x(-0.6)
        .include_x(9.6)
        .include_y(-0.12)
        .show_axes([false, true])
        .show_grid([false, true])
        .y_axis_label("probability")
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("probability", bars));
            for digit in 0..CLASSES {
                plot.text(egui_plot::Text::new(
                    format!("digit {digit}"),
                    egui_plot::PlotPoint::new(digit as f64, -0.06),
                    egui::RichText::new(digit.to_string()).size(14.0),
                ));
            }
        });
}
