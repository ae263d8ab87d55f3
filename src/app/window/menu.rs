//! The top bar: the File menu (from the file-action table), the View menu (the theme) and the
//! tabs.

use crate::app::files::actions::FileAction;
use crate::app::tabs::Tab;
use crate::app::window::settings::ThemeChoice;

/// Draws the bar; returns the file action chosen from the menu.
pub fn ui(ui: &mut egui::Ui, tab: &mut Tab, theme: &mut ThemeChoice) -> Option<FileAction> {
    let mut chosen = None;
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            for action in FileAction::ALL {
                let mut button = egui::Button::new(format!("{}...", action.title()));
                if let Some(shortcut) = action.shortcut() {
                    button = button.shortcut_text(ui.ctx().format_shortcut(&shortcut));
                }
                if ui.add(button).clicked() {
                    chosen = Some(action);
                    ui.close();
                }
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
        ui.menu_button("View", |ui| {
            ui.label("Theme");
            for choice in ThemeChoice::ALL {
                if ui.radio_value(theme, choice, choice.title()).clicked() {
                    ui.close();
                }
            }
        });
        ui.separator();
        for t in Tab::ALL {
            ui.selectable_value(tab, t, t.title());
        }
    });
    chosen
}
