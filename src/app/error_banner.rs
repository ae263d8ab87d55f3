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
            ui.horizontal(|ui| {
                ui.label(RichText::new("Error").color(Color32::from_rgb(255, 120, 100)).strong());
                ui.label(RichText::new(text).color(Color32::from_rgb(255, 210, 200)));
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    dismissed = ui.button("Dismiss").clicked();
                });
            });
        });
    ui.add_space(6.0);
    if dismissed {
        *error = None;
    }
}
