//! The red banner above the central view that shows the last error until dismissed.

use egui::{Color32, RichText};

/// Draws `error` (if any) with a Dismiss button that clears it.
pub fn ui(ui: &mut egui::Ui, error: &mut Option<String>) {
    let Some(text) = error.as_deref() else { return };
    let mut dismissed = false;
    egui::Frame::new()
        .fill(Color32::from_rgb(90, 25, 25))
        .inner_margin(8.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            // Dismiss first, from the right, so that the message wraps in the width left over
            // instead of widening the panel past the window (long paths, long refusals).
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                dismissed = ui.button("Dismiss").clicked();
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Min), |ui| {
                    ui.label(RichText::new("Error").color(Color32::from_rgb(255, 120, 100)).strong());
                    ui.add(egui::Label::new(RichText::new(text).color(Color32::from_rgb(255, 210, 200))).wrap());
                });
            });
        });
    ui.add_space(6.0);
    if dismissed {
        *error = None;
    }
}
