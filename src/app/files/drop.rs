//! Files dropped on the window: a model opens as a model, a picture (PNG, JPEG) waits on the My
//! digits tab for its label, a CSV loads as training or test data by its content; while files hover, an overlay says what can be dropped.

use egui::Color32;

use crate::app::App;
use crate::app::files::actions::FileAction;
use crate::app::files::load::DataRole;

impl App {
    pub(crate) fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        for file in dropped {
            let path = file.path().to_path_buf();
            if path.as_os_str().is_empty() {
                self.messages.error = Some("The dropped file has no path: use File > Open instead.".into());
                continue;
            }
            let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
            let is_model = extension.as_deref() == Some("safetensors");
            let is_picture = matches!(extension.as_deref(), Some("png" | "jpg" | "jpeg"));
            if is_picture {
                // A picture joins My digits once the user says which digit it is.
                self.read_picture(path);
            } else if is_model {
                self.run_file_action(FileAction::OpenModel, path);
            } else {
                self.load_data(path, DataRole::Any);
            }
        }
    }
}

/// Darkens the window and names what can be dropped, while files hover over it.
pub fn hover_overlay(ctx: &egui::Context) {
    if ctx.input(|i| i.raw.hovered_files.is_empty()) {
        return;
    }
    let rect = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop_overlay"),
    ));
    painter.rect_filled(rect, 0.0, Color32::from_black_alpha(160));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop a CSV (train or test, .gz too), a .safetensors model, or pictures for My digits",
        egui::FontId::proportional(24.0),
        Color32::WHITE,
    );
}
