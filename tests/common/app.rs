//! The app driven headless through its widgets (egui_kittest: no display, no GPU).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use digit_recognizer::app::test_support::FakePicker;
use digit_recognizer::app::{App, StartupFiles};
use digit_recognizer::train::{Length, Preset, TrainConfig};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

pub type AppHarness = Harness<'static, App>;

/// How long [`wait_for`] waits before calling the app stuck. Generous: the tests share two
/// cores with builds and other tests, and a hang fails either way.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub fn harness_with(files: StartupFiles, picker: Arc<FakePicker>) -> AppHarness {
    harness_sized(files, picker, 900.0)
}

fn harness_sized(files: StartupFiles, picker: Arc<FakePicker>, height: f32) -> AppHarness {
    Harness::builder()
        .with_size([1400.0, height])
        .build_eframe(move |cc| App::new(cc, files, picker))
}

/// The app on fresh settings in a window `height` points tall (long views fit without
/// scrolling: widgets scrolled out of sight are not in the accessibility tree the tests query).
pub fn tall_harness(height: f32) -> AppHarness {
    harness_sized(StartupFiles::default(), Arc::new(FakePicker::default()), height)
}

/// The app on fresh settings, with a picker that answers nothing (as where no dialog opens).
pub fn harness() -> AppHarness {
    harness_with(StartupFiles::default(), Arc::new(FakePicker::default()))
}

/// Steps frames (the worker threads run meanwhile) until `done` holds; fails after [`PATIENCE`].
pub fn wait_for(h: &mut AppHarness, what: &str, done: impl Fn(&App) -> bool) {
    let start = Instant::now();
    h.step();
    while !done(h.state()) {
        assert!(
            start.elapsed() < PATIENCE,
            "timed out after {PATIENCE:?} waiting for {what}; error: {:?}, notice: {:?}, state: {:?}",
            h.state().error(),
            h.state().notice(),
            h.state().state_for_tests()
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
    h.step();
}

/// A run of a fraction of a second on the embedded sample: 784-16-10, full batch.
pub fn tiny_config(iterations: usize) -> TrainConfig {
    TrainConfig {
        hidden: vec![16],
        length: Length::Iterations(iterations),
        report_every: 2,
        dev_size: 500,
        ..TrainConfig::preset(Preset::Seed)
    }
}

/// Opens the "Open or save by path" section (if closed) and focuses its Path field.
pub fn focus_path_field(h: &mut AppHarness) {
    if h.query_by_role_and_label(Role::TextInput, "Path").is_none() {
        h.get_by_label("Open or save by path").click();
        h.run_ok();
    }
    h.get_by_role_and_label(Role::TextInput, "Path").focus();
    h.step();
}

/// Types `path` into the path field (its text is kept from the previous use: tests start empty).
pub fn type_path(h: &mut AppHarness, path: &Path) {
    focus_path_field(h);
    h.get_by_role_and_label(Role::TextInput, "Path")
        .type_text(&path.display().to_string());
    h.step();
}

/// Puts `path` in the path field and presses the path button `button`.
pub fn with_path(h: &mut AppHarness, button: &str, path: &Path) {
    if h.query_by_role_and_label(Role::TextInput, "Path").is_none() {
        h.get_by_label("Open or save by path").click();
        h.step();
        h.step();
    }
    h.state_mut().settings.path = path.display().to_string();
    h.step();
    h.get_by_label(button).click();
    h.step();
}

/// Draws a "7" on the Draw tab's canvas (the tab must be open): across the top, then down to the
/// bottom left, as one mouse drag.
pub fn draw_seven(h: &mut AppHarness) {
    let rect = h.get_by_label("canvas").rect();
    let at = |x: f32, y: f32| rect.min + egui::vec2(x * rect.width(), y * rect.height());
    let points = [
        (0.3, 0.25),
        (0.5, 0.25),
        (0.7, 0.25),
        (0.62, 0.45),
        (0.55, 0.6),
        (0.48, 0.78),
    ];
    h.hover_at(at(0.3, 0.25));
    h.step();
    h.drag_at(at(0.3, 0.25));
    h.step();
    for &(x, y) in &points[1..] {
        h.hover_at(at(x, y));
        h.step();
    }
    h.drop_at(at(0.48, 0.78));
    h.step();
    h.step();
}

/// A file dropped on the window (its path, as egui reports a dropped file).
#[derive(Debug)]
pub struct Dropped(pub std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}
