//! The desktop app driven headless through its real widgets (egui_kittest: no display, no GPU),
//! one module per area. One test binary: each links eframe, so fewer binaries build faster.
#![cfg(feature = "gui")]

#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod datasets;
mod insight;
mod map;
mod math;
mod nudge;
mod ordering;
mod overwrite;
mod plots;
mod teach;
mod timeline;
mod window;
