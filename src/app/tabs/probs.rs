//! The bar chart of the class probabilities (10 digits, or as many classes as the model has),
//! shared by the canvas and the sample grid.

use egui::Color32;
use egui_plot::{Bar, BarChart, Plot};

use crate::data::{CLASSES, class_caption, class_name};

/// One bar per class; the predicted class is highlighted, the true one (if known and different)
/// in red. `names` (in label order, may be empty) label the bars when the classes are few.
pub fn probability_chart(ui: &mut egui::Ui, id: &str, probs: &[f32], names: &[String], truth: Option<u8>, height: f32) {
    let predicted = crate::network::argmax(probs);
    let bars: Vec<Bar> = probs
        .iter()
        .enumerate()
        .map(|(class, &p)| {
            let color = if class == predicted {
                if truth.is_some_and(|t| usize::from(t) != predicted) {
                    Color32::from_rgb(220, 70, 60)
                } else {
                    Color32::from_rgb(70, 160, 240)
                }
            } else if truth.is_some_and(|t| usize::from(t) == class) {
                Color32::from_rgb(60, 190, 90)
            } else {
                Color32::from_gray(130)
            };
            Bar::new(class as f64, f64::from(p))
                .width(0.7)
                .fill(color)
                .name(format!("{}: {:.1}%", class_caption(names, class), p * 100.0))
        })
        .collect();
    let classes = probs.len();
    let digits = classes == CLASSES && names.is_empty();
    // Names fit under the bars of up to ten classes; more classes show their labels, smaller.
    let label_size = if classes <= CLASSES { 14.0 } else { 9.0 };
    Plot::new(id)
        .height(height)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_double_click_reset(false)
        .allow_boxed_zoom(false)
        .x_axis_label(if digits { "digit" } else { "class" })
        .include_y(1.0)
        .include_x(-0.6)
        .include_x(classes as f64 - 0.4)
        .include_y(-0.12)
        .show_axes([false, true])
        .show_grid([false, true])
        .y_axis_label("probability")
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("probability", bars));
            for class in 0..classes {
                let text = if classes <= CLASSES {
                    class_name(names, class)
                } else {
                    class.to_string()
                };
                plot.text(egui_plot::Text::new(
                    format!("class {class}"),
                    egui_plot::PlotPoint::new(class as f64, -0.06),
                    egui::RichText::new(text).size(label_size),
                ));
            }
        });
}
