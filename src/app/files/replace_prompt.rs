//! "X is a labelled training CSV. Replace it with a model? [Replace] [Keep the file]": the question a
//! save or export from the path field asks before it replaces an existing file
//! ([`crate::write_guard`]). Nothing is written until the user answers Replace.

use std::path::PathBuf;

use crate::app::files::actions::FileAction;

/// A save or export waiting for the user's consent to replace `path`.
#[derive(Clone, Debug)]
pub struct ReplaceQuestion {
    pub action: FileAction,
    pub path: PathBuf,
    pub question: String,
}

/// The user's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Replace,
    /// Keep the file: nothing is written.
    Cancel,
}

/// Draws the question as a modal window; returns the answer once given (Escape or a click
/// outside keeps the file).
pub fn ui(ctx: &egui::Context, question: &ReplaceQuestion) -> Option<Answer> {
    let mut answer = None;
    let modal = egui::Modal::new(egui::Id::unique("replace_prompt")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        // Not the action's title: that is also a path-field button's label, which tests find by it.
        ui.heading("Replace the file?");
        ui.label(&question.question);
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui.button("Replace").clicked() {
                answer = Some(Answer::Replace);
            }
            if ui.button("Keep the file").clicked() {
                answer = Some(Answer::Cancel);
            }
        });
    });
    if answer.is_none() && modal.should_close() {
        answer = Some(Answer::Cancel);
    }
    answer
}
