//! "Open or save by path": a text field and one button per file action, for systems without a
//! file dialog (and for pasting a path).

use std::path::{Path, PathBuf};

use egui::Color32;

use crate::app::files::actions::FileAction;

#[derive(Default)]
pub struct PathField {
    /// A dialog returned nothing: open the section and say why.
    pub show_hint: bool,
}

impl PathField {
    /// Edits `path` (the persisted text); returns the action whose button was pressed, with the
    /// path to do it with.
    pub fn ui(&mut self, ui: &mut egui::Ui, path: &mut String) -> Option<(FileAction, PathBuf)> {
        let mut chosen = None;
        egui::CollapsingHeader::new("Open or save by path")
            .default_open(self.show_hint)
            .open(self.show_hint.then_some(true))
            .show(ui, |ui| {
                if self.show_hint {
                    ui.colored_label(
                        Color32::from_rgb(230, 180, 60),
                        "No file dialog opened: type a path here instead (or drop a file on the window).",
                    );
                }
                ui.horizontal(|ui| {
                    let label = ui.label("Path");
                    ui.add(
                        egui::TextEdit::singleline(path)
                            .hint_text("/path/to/train.csv.gz")
                            .desired_width(f32::INFINITY),
                    )
                    .labelled_by(label.id);
                });
                let typed = path.trim();
                ui.add_enabled_ui(!typed.is_empty(), |ui| {
                    ui.horizontal_wrapped(|ui| {
                        for action in FileAction::ALL {
                            if ui.button(action.path_button()).clicked() {
                                chosen = Some((action, expand_home(typed)));
                            }
                        }
                    });
                });
            });
        if chosen.is_some() {
            self.show_hint = false;
        }
        chosen
    }
}

/// `~/x` -> `$HOME/x`, so typed paths work as in a shell.
fn expand_home(path: &str) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return Path::new(&home).join(rest);
    }
    PathBuf::from(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_expanded_only_at_the_start() {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(home) = home {
            assert_eq!(expand_home("~/data/train.csv"), home.join("data/train.csv"));
        }
        assert_eq!(expand_home("/a/~/b"), PathBuf::from("/a/~/b"));
        assert_eq!(expand_home("~user/x"), PathBuf::from("~user/x"));
    }
}
