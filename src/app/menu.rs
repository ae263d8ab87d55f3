//! The top bar: the File menu (from the file-action table) and the tabs.

use super::file_actions::FileAction;
use super::state::Tab;

/// Draws the bar; returns the file action chosen from the menu.
pub fn ui(ui: &mut egui::Ui, tab: &mut Tab) -> Option<FileAction> {
    let mut chosen = None;
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            for action in FileAction::ALL {
                let shortcut = ui.ctx().format_shortcut(&action.shortcut());
                if ui
                    .add(egui::Button::new(format!("{}...", action.title())).shortcut_text(shortcut))
                    .clicked()
                {
                    chosen = Some(action);
                    ui.close();
                }
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
        ui.separator();
        for t in Tab::ALL {
            ui.selectable_value(tab, t, t.title());
        }
    });
    chosen
}
