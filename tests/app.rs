//! The desktop app driven headless through its real widgets (egui_kittest: no display, no GPU).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use digit_recognizer::app::App;
use digit_recognizer::app::files::FakePicker;
use digit_recognizer::cli::GuiArgs;
use digit_recognizer::model_file::ModelInfo;
use digit_recognizer::train::{self, Length, Preset, TrainConfig};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn harness_with(args: GuiArgs, picker: Arc<FakePicker>) -> Harness<'static, App> {
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_eframe(move |cc| App::new(cc, args, picker))
}

fn harness() -> Harness<'static, App> {
    harness_with(GuiArgs::default(), Arc::new(FakePicker::default()))
}

/// Steps frames (the worker threads run meanwhile) until `done` holds.
fn wait_for(h: &mut Harness<'static, App>, what: &str, timeout_s: u64, done: impl Fn(&App) -> bool) {
    let start = Instant::now();
    h.step();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(timeout_s),
            "timed out waiting for {what}; error: {:?}, notice: {:?}",
            h.state().error(),
            h.state().notice()
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
    h.step();
}

/// A run that takes a fraction of a second on the embedded sample.
fn tiny_config(iterations: usize) -> TrainConfig {
    TrainConfig {
        hidden: vec![16],
        length: Length::Iterations(iterations),
        report_every: 2,
        dev_size: 500,
        ..TrainConfig::preset(Preset::Custom)
    }
}

#[test]
fn starts_with_the_embedded_sample() {
    let mut h = harness();
    h.run_ok();
    let data = h.state().train_data().expect("the embedded sample is loaded at start");
    assert_eq!(data.dataset.rows(), 5000);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}

#[test]
fn train_streams_progress_into_the_plots() {
    let mut h = harness();
    h.state_mut().settings.config = tiny_config(20);
    h.run_ok();
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().is_training(), "pressing Train starts a run");
    wait_for(&mut h, "the run to finish", 60, |app| !app.is_training());
    let app = h.state();
    // 20 steps reported every 2 steps: 10 points on the current run's curves.
    assert_eq!(app.plots.runs.len(), 1);
    let run = &app.plots.runs[0];
    assert_eq!(run.loss.len(), 10, "{run:?}");
    assert!(run.label.contains("784-16-10"), "{}", run.label);
    assert!(!run.dev_accuracy.is_empty());
    assert!(
        app.last_run().unwrap().contains("finished 20 steps"),
        "{:?}",
        app.last_run()
    );
    assert!(app.model().unwrap().name.starts_with("trained"));
    // The status bar shows the result.
    assert!(h.get_all_by_label_contains("finished 20 steps").count() >= 1);

    // A second run keeps the first as a faded line.
    h.get_by_label("Train").click();
    h.step();
    wait_for(&mut h, "the second run", 60, |app| !app.is_training());
    assert_eq!(h.state().plots.runs.len(), 2);
    h.get_by_label("Clear earlier runs").click();
    h.step();
    assert_eq!(h.state().plots.runs.len(), 1);
}

#[test]
fn stop_ends_a_run() {
    let mut h = harness();
    let mut config = tiny_config(10_000);
    config.report_every = 1;
    h.state_mut().settings.config = config;
    h.run_ok();
    h.get_by_label("Train").click();
    wait_for(&mut h, "the first progress event", 30, |app| {
        app.plots.current_points() > 0
    });
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop", 30, |app| !app.is_training());
    let message = h.state().last_run().unwrap().to_string();
    assert!(message.starts_with("stopped at step"), "{message}");
    assert!(h.state().plots.current_points() < 10_000);
}

#[test]
fn drawing_a_stroke_gives_a_prediction() {
    let mut h = harness();
    // Whatever the embedded model is, use a small trained one so the test does not depend on it.
    let config = tiny_config(1);
    let model = train::init_model(&config);
    h.state_mut()
        .set_model(model, ModelInfo::default(), "test model".into());
    h.run_ok();
    h.get_by_label("Draw").click();
    h.run_ok();
    assert!(
        h.state().canvas.prediction().is_none(),
        "an empty canvas predicts nothing"
    );

    let rect = h.get_by_label("canvas").rect();
    // A "7": across the top, then down to the bottom left.
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

    let canvas = &h.state().canvas;
    assert!(canvas.has_ink());
    let prediction = canvas.prediction().expect("a drawn stroke is classified");
    let sum: f32 = prediction.probs.iter().sum();
    assert!((sum - 1.0).abs() < 1e-3);
    // The network's 28x28 input has ink, centred like MNIST.
    assert!(prediction.input.iter().filter(|&&v| v > 0).count() > 20);
    let digit = prediction.digit;
    h.get_by_label(&format!("Prediction: {digit}"));

    h.get_by_label("Clear").click();
    h.step();
    assert!(!h.state().canvas.has_ink());
    assert!(h.state().canvas.prediction().is_none());
}

fn open_path_field(h: &mut Harness<'static, App>, path: &Path) {
    if h.query_by_role_and_label(Role::TextInput, "Path").is_none() {
        h.get_by_label("Open or save by path").click();
        h.run_ok();
    }
    let field = h.get_by_role_and_label(Role::TextInput, "Path");
    field.focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Path")
        .type_text(&path.display().to_string());
    h.step();
}

#[test]
fn a_malformed_csv_shows_the_error_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    let header: Vec<String> = std::iter::once("label".to_string())
        .chain((0..784).map(|i| format!("pixel{i}")))
        .collect();
    let row: Vec<String> = std::iter::once("3".to_string())
        .chain((0..784).map(|i| if i == 100 { "x".into() } else { "0".into() }))
        .collect();
    std::fs::write(&bad, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();

    let mut h = harness();
    h.run_ok();
    open_path_field(&mut h, &bad);
    assert_eq!(h.state().settings.path, bad.display().to_string());
    h.get_by_label("Load training").click();
    h.step();
    wait_for(&mut h, "the load to fail", 30, |app| !app.busy());

    let error = h.state().error().expect("the error is shown").to_string();
    assert!(error.contains("bad.csv") && error.contains("line 2"), "{error}");
    h.get_by_label_contains("line 2");
    // The data loaded before stays.
    let data = h.state().train_data().unwrap();
    assert_eq!(data.dataset.rows(), 5000);
    h.get_by_label("Dismiss").click();
    h.step();
    assert!(h.state().error().is_none());
}

#[test]
fn loads_test_data_and_exports_a_submission() {
    let dir = tempfile::tempdir().unwrap();
    let test_csv = dir.path().join("test.csv");
    let header: Vec<String> = (0..784).map(|i| format!("pixel{i}")).collect();
    let mut text = header.join(",") + "\n";
    for r in 0..3 {
        let row: Vec<String> = (0..784).map(|i| ((i * 7 + r * 31) % 256).to_string()).collect();
        text += &(row.join(",") + "\n");
    }
    std::fs::write(&test_csv, text).unwrap();
    let out = dir.path().join("submission.csv");

    let mut h = harness();
    h.state_mut()
        .set_model(train::init_model(&tiny_config(1)), ModelInfo::default(), "m".into());
    h.run_ok();
    open_path_field(&mut h, &test_csv);
    h.get_by_label("Load test").click();
    wait_for(&mut h, "the test data", 30, |app| app.test_data().is_some());
    assert_eq!(h.state().test_data().unwrap().dataset.rows(), 3);

    h.state_mut().settings.path = out.display().to_string();
    h.step();
    h.get_by_label("Export submission").click();
    wait_for(&mut h, "the export", 30, |app| !app.busy());
    let notice = h.state().notice().unwrap_or_default().to_string();
    assert!(notice.contains("Wrote 3 predictions"), "{notice}");
    let written = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "ImageId,Label");
    assert_eq!(lines.len(), 4);
    assert!(lines[1].starts_with("1,"));

    // Save model through the same path field; the file opens again through the core.
    let saved = dir.path().join("saved.safetensors");
    h.state_mut().settings.path = saved.display().to_string();
    h.step();
    h.get_by_label("Save model").click();
    wait_for(&mut h, "the save", 30, |app| !app.busy());
    let (model, _) = digit_recognizer::model_file::load(&saved).unwrap();
    assert_eq!(model.sizes(), vec![784, 16, 10]);
    assert!(h.state().notice().unwrap().contains("Saved the model"));
}

#[test]
fn no_dialog_points_to_the_path_field() {
    // The fake picker answers None, as rfd does where no dialog can open.
    let mut h = harness();
    h.run_ok();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for(&mut h, "the dialog answer", 10, |app| {
        app.notice().is_some_and(|n| n.contains("no file chosen"))
    });
    h.run_ok();
    h.get_by_label_contains("No file dialog opened");
    h.get_by_role_and_label(Role::TextInput, "Path");
}

#[test]
fn dialog_answer_loads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.csv");
    let data = digit_recognizer::embedded::sample()
        .unwrap()
        .select(&(0..50).collect::<Vec<_>>());
    let mut bytes = Vec::new();
    digit_recognizer::data::write_csv(&data, &mut bytes).unwrap();
    std::fs::write(&path, bytes).unwrap();

    let picker = Arc::new(FakePicker::default());
    *picker.answer.lock().unwrap() = Some(path);
    let mut h = harness_with(GuiArgs::default(), picker);
    h.run_ok();
    h.get_by_label("File").click();
    h.run_ok();
    h.get_by_label_contains("Open training CSV").click();
    wait_for(&mut h, "the training data", 30, |app| {
        app.train_data().is_some_and(|d| d.dataset.rows() == 50)
    });
    assert_eq!(h.state().train_data().unwrap().name, "train.csv");
}

#[test]
fn samples_confusion_and_weights_views() {
    let mut h = harness();
    let model = train::init_model(&tiny_config(1));
    h.state_mut().set_model(model, ModelInfo::default(), "random".into());
    wait_for(&mut h, "the dev predictions", 30, |app| app.evaluation().is_some());
    h.get_by_label("Samples").click();
    h.run_ok();
    // 24 samples with captions, and the confusion matrix.
    assert_eq!(h.get_all_by_label_contains(" · true ").count(), 24);
    let eval = h.state().evaluation().unwrap().evaluation.clone();
    // Click a mistake cell: the grid shows only those samples.
    let (t, p) = (0..10)
        .flat_map(|t| (0..10).map(move |p| (t, p)))
        .find(|&(t, p)| t != p && eval.confusion[t][p] > 0)
        .expect("an untrained model makes mistakes");
    let count = eval.confusion[t][p];
    h.get_by_label(&format!("true {t}, predicted {p}: {count}")).click();
    h.run_ok();
    assert_eq!(h.state().grid.filter, Some((t as u8, p as u8)));
    let shown = h.get_all_by_label_contains(&format!("pred {p} · true {t}")).count();
    assert_eq!(shown, count.min(24));
    h.get_by_label("Weights").click();
    h.run_ok();
    h.get_by_label_contains("input weights");
}

#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropped_files_are_routed_by_content() {
    let dir = tempfile::tempdir().unwrap();
    // A test CSV (no label column) and a model file.
    let rows = digit_recognizer::embedded::sample().unwrap().select(&[0, 1, 2, 3]);
    let test = digit_recognizer::data::Dataset {
        kind: digit_recognizer::data::DataKind::Test,
        pixels: rows.pixels,
        labels: Vec::new(),
    };
    let csv = dir.path().join("dropped.csv");
    let mut bytes = Vec::new();
    digit_recognizer::data::write_csv(&test, &mut bytes).unwrap();
    std::fs::write(&csv, bytes).unwrap();
    let model_path = dir.path().join("dropped.safetensors");
    let model = train::init_model(&tiny_config(1));
    digit_recognizer::model_file::save(&model_path, &model, &ModelInfo::default()).unwrap();

    let mut h = harness();
    h.run_ok();
    h.input_mut().dropped_files.push(Arc::new(Dropped(csv)));
    h.input_mut().dropped_files.push(Arc::new(Dropped(model_path)));
    h.step();
    wait_for(&mut h, "both files", 30, |app| !app.busy());
    assert_eq!(
        h.state().test_data().map(|t| t.dataset.rows()),
        Some(4),
        "{:?}",
        h.state().error()
    );
    assert_eq!(h.state().model().unwrap().name, "dropped.safetensors");
    // The training data did not change.
    assert_eq!(h.state().train_data().unwrap().dataset.rows(), 5000);
}

#[test]
fn divergence_is_explained_and_the_last_good_model_kept() {
    let mut h = harness();
    let mut config = tiny_config(50);
    // The alpha slider's top (1.0) with Adam blows up at once.
    config.optimizer = digit_recognizer::train::Optimizer::Adam;
    config.alpha = 1.0;
    config.report_every = 1;
    h.state_mut().settings.config = config;
    h.run_ok();
    h.get_by_label("Train").click();
    wait_for(&mut h, "the run to end", 60, |app| !app.is_training());
    let error = h
        .state()
        .error()
        .unwrap_or_else(|| panic!("no error; run: {:?}", h.state().last_run()))
        .to_string();
    assert!(
        error.contains("diverged at step") && error.contains("smaller alpha"),
        "{error}"
    );
    assert!(h.get_all_by_label_contains("diverged at step").count() >= 1);
    let model = &h.state().model().unwrap().model;
    assert!(model.is_finite(), "the last good model is kept");
}
