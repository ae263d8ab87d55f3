//! The window around the tabs: the menu bar, the side panel, the status bar and the error banner.

pub mod error_banner;
pub mod frame_stats;
pub mod menu;
pub mod side_panel;
pub mod status_bar;
