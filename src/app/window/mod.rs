//! The window around the tabs: the menu bar, the side panel, the status bar and the error banner.

pub mod error_banner;
pub mod frame_stats;
pub mod menu;
pub mod settings;
pub mod side_panel;
pub mod status_bar;

/// What the app last said: an error (the banner above the tabs) and a notice (the status bar).
#[derive(Default)]
pub struct Messages {
    pub error: Option<String>,
    pub notice: Option<String>,
}
