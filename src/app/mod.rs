//! The desktop app (eframe/egui).

use crate::cli::GuiArgs;

/// Opens the app window.
pub fn run(_args: GuiArgs) -> anyhow::Result<()> {
    anyhow::bail!("the desktop app is not built yet: use the train, eval, predict, classify and inspect commands")
}
