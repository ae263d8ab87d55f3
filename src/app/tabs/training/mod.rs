//! The Training tab: the learning curves, their exports, and the side panel's training controls.

pub mod controls;
pub mod plot_export;
pub mod plots;
