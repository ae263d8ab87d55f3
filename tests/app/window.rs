//! The desktop app driven headless through its real widgets (egui_kittest: no display, no GPU).

use crate::common;

use std::sync::Arc;

use common::app::{
    AppHarness, Dropped, draw_seven, focus_path_field, harness, harness_with, tiny_config, type_path, wait_for,
};
use common::{sample_rows, write_csv};
use digit_recognizer::app::StartupFiles;
use digit_recognizer::app::test_support::FakePicker;
use digit_recognizer::data::DataKind;
use digit_recognizer::model_file::ModelInfo;
use digit_recognizer::train::{self, Preset, TrainConfig};
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};

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
    wait_for(&mut h, "the run to finish", |app| !app.is_training());
    let app = h.state();
    // 20 steps reported every 2 steps: 10 points on the current run's curves.
    assert_eq!(app.tabs.training.plots.runs.len(), 1);
    let run = &app.tabs.training.plots.runs[0];
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
    wait_for(&mut h, "the second run", |app| !app.is_training());
    assert_eq!(h.state().tabs.training.plots.runs.len(), 2);
    h.get_by_label("Clear earlier runs").click();
    h.step();
    assert_eq!(h.state().tabs.training.plots.runs.len(), 1);
}

#[test]
fn stop_ends_a_run() {
    let mut h = harness();
    let mut config = tiny_config(10_000);
    config.report_every = 1;
    h.state_mut().settings.config = config;
    h.run_ok();
    h.get_by_label("Train").click();
    wait_for(&mut h, "the first progress event", |app| {
        app.tabs.training.plots.current_points() > 0
    });
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop", |app| !app.is_training());
    let message = h.state().last_run().unwrap().to_owned();
    assert!(message.starts_with("stopped at step"), "{message}");
    assert!(h.state().tabs.training.plots.current_points() < 10_000);
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
        h.state().tabs.draw.canvas.prediction().is_none(),
        "an empty canvas predicts nothing"
    );

    draw_seven(&mut h);

    let canvas = &h.state().tabs.draw.canvas;
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
    assert!(!h.state().tabs.draw.canvas.has_ink());
    assert!(h.state().tabs.draw.canvas.prediction().is_none());
}

#[test]
fn a_malformed_csv_shows_the_error_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    let header: Vec<String> = std::iter::once("label".to_owned())
        .chain((0..784).map(|i| format!("pixel{i}")))
        .collect();
    let row: Vec<String> = std::iter::once("3".to_owned())
        .chain((0..784).map(|i| if i == 100 { "x".into() } else { "0".into() }))
        .collect();
    std::fs::write(&bad, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();

    let mut h = harness();
    h.run_ok();
    type_path(&mut h, &bad);
    assert_eq!(h.state().settings.path, bad.display().to_string());
    h.get_by_label("Load training").click();
    h.step();
    wait_for(&mut h, "the load to fail", |app| !app.busy());

    let error = h.state().error().expect("the error is shown").to_owned();
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
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..3));
    let out = dir.path().join("submission.csv");

    let mut h = harness();
    h.state_mut()
        .set_model(train::init_model(&tiny_config(1)), ModelInfo::default(), "m".into());
    h.run_ok();
    type_path(&mut h, &test_csv);
    h.get_by_label("Load test").click();
    wait_for(&mut h, "the test data", |app| app.test_data().is_some());
    assert_eq!(h.state().test_data().unwrap().dataset.rows(), 3);

    h.state_mut().settings.path = out.display().to_string();
    h.step();
    h.get_by_label("Export submission").click();
    wait_for(&mut h, "the export", |app| !app.busy());
    let notice = h.state().notice().unwrap_or_default().to_owned();
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
    wait_for(&mut h, "the save", |app| !app.busy());
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
    wait_for(&mut h, "the dialog answer", |app| {
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
    write_csv(&path, &sample_rows(DataKind::Train, 0..50));

    let picker = Arc::new(FakePicker::default());
    *picker.answer.lock().unwrap() = Some(path);
    let mut h = harness_with(StartupFiles::default(), picker);
    h.run_ok();
    h.get_by_label("File").click();
    h.run_ok();
    h.get_by_label_contains("Open training CSV").click();
    wait_for(&mut h, "the training data", |app| {
        app.train_data().is_some_and(|d| d.dataset.rows() == 50)
    });
    assert_eq!(h.state().train_data().unwrap().name, "train.csv");
}

#[test]
fn samples_confusion_and_weights_views() {
    let mut h = harness();
    let model = train::init_model(&tiny_config(1));
    h.state_mut().set_model(model, ModelInfo::default(), "random".into());
    wait_for(&mut h, "the dev predictions", |app| app.evaluation().is_some());
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
    assert_eq!(h.state().tabs.samples.grid.filter, Some((t as u8, p as u8)));
    let shown = h.get_all_by_label_contains(&format!("pred {p} · true {t}")).count();
    assert_eq!(shown, count.min(24));
    h.get_by_label("Weights").click();
    h.run_ok();
    h.get_by_label_contains("input weights");
}

#[test]
fn dropped_files_are_routed_by_content() {
    let dir = tempfile::tempdir().unwrap();
    // A test CSV (no label column) and a model file.
    let csv = dir.path().join("dropped.csv");
    write_csv(&csv, &sample_rows(DataKind::Test, 0..4));
    let model_path = dir.path().join("dropped.safetensors");
    let model = train::init_model(&tiny_config(1));
    digit_recognizer::model_file::save(&model_path, &model, &ModelInfo::default()).unwrap();

    let mut h = harness();
    h.run_ok();
    h.input_mut().dropped_files.push(Arc::new(Dropped(csv)));
    h.input_mut().dropped_files.push(Arc::new(Dropped(model_path)));
    h.step();
    wait_for(&mut h, "both files", |app| !app.busy());
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
    wait_for(&mut h, "the run to end", |app| !app.is_training());
    let error = h
        .state()
        .error()
        .unwrap_or_else(|| panic!("no error; run: {:?}", h.state().last_run()))
        .to_owned();
    assert!(
        error.contains("diverged at step") && error.contains("smaller alpha"),
        "{error}"
    );
    assert!(h.get_all_by_label_contains("diverged at step").count() >= 1);
    let model = &h.state().model().unwrap().model;
    assert!(model.is_finite(), "the last good model is kept");
}

/// Opens the drop-down labelled `combo` and clicks its option `option`.
fn choose(h: &mut AppHarness, combo: &str, option: &str) {
    h.get_by_role_and_label(Role::ComboBox, combo).click();
    h.run_ok();
    h.query_all_by_label(option)
        .find(|n| n.accesskit_node().role() != Role::ComboBox)
        .unwrap_or_else(|| panic!("{combo} has no option {option}"))
        .click();
    h.run_ok();
}

/// The text a drop-down shows.
fn shown(h: &AppHarness, combo: &str) -> String {
    h.get_by_role_and_label(Role::ComboBox, combo)
        .value()
        .unwrap_or_default()
}

/// The options a drop-down offers.
fn options(h: &mut AppHarness, combo: &str) -> Vec<String> {
    h.get_by_role_and_label(Role::ComboBox, combo).click();
    h.run_ok();
    let mut names = Vec::new();
    for name in [
        "seed", "best", "custom", "gd", "momentum", "adam", "uniform", "he", "xavier",
    ] {
        if h.query_all_by_label(name)
            .any(|n| n.accesskit_node().role() != Role::ComboBox)
        {
            names.push(name.to_owned());
        }
    }
    h.key_press(egui::Key::Escape);
    h.run_ok();
    names
}

#[test]
fn drop_downs_offer_the_command_line_choices() {
    let mut h = harness();
    h.run_ok();
    assert_eq!(options(&mut h, "Preset"), ["seed", "best"], "custom is not offered");
    assert_eq!(options(&mut h, "Optimizer"), ["gd", "momentum", "adam"]);
    assert_eq!(options(&mut h, "Init"), ["uniform", "he", "xavier"]);
}

#[test]
fn reset_returns_to_the_preset_the_user_started_from() {
    let mut h = harness();
    h.run_ok();
    choose(&mut h, "Preset", "best");
    assert_eq!(h.state().settings.config, TrainConfig::preset(Preset::Best));

    // An edit keeps the preset and shows it as edited.
    h.get_by_role_and_label(Role::Slider, "alpha").set_value_accesskit(0.05);
    h.run_ok();
    let config = &h.state().settings.config;
    assert_eq!(config.alpha, 0.05);
    assert_eq!(config.preset, Preset::Best, "an edit does not forget the preset");
    assert_eq!(config.effective_preset(), Preset::Custom);
    assert_eq!(shown(&h, "Preset"), "best (edited)");

    h.get_by_label("Reset").click();
    h.run_ok();
    assert_eq!(h.state().settings.config, TrainConfig::preset(Preset::Best));
    assert!(
        h.state().notice().unwrap().contains("best preset"),
        "{:?}",
        h.state().notice()
    );
    assert_eq!(shown(&h, "Preset"), "best");

    // Choosing the edited preset again restores it too.
    h.get_by_role_and_label(Role::Slider, "alpha").set_value_accesskit(0.2);
    h.run_ok();
    assert_eq!(shown(&h, "Preset"), "best (edited)");
    choose(&mut h, "Preset", "best");
    assert_eq!(h.state().settings.config, TrainConfig::preset(Preset::Best));
}

#[test]
fn settings_saved_as_custom_reset_to_seed() {
    let mut h = harness();
    // What older versions saved after any edit.
    h.state_mut().settings.config = TrainConfig {
        alpha: 0.3,
        hidden: vec![32],
        ..TrainConfig::preset(Preset::Custom)
    };
    h.run_ok();
    assert_eq!(shown(&h, "Preset"), "custom");
    h.get_by_label("Reset").click();
    h.run_ok();
    assert_eq!(h.state().settings.config, TrainConfig::preset(Preset::Seed));
    // The hidden-layer field follows the reset.
    assert_eq!(
        h.get_by_role_and_label(Role::TextInput, "Hidden layers")
            .value()
            .as_deref(),
        Some("10")
    );
}

#[test]
fn a_trained_model_records_whether_its_recipe_was_edited() {
    let mut h = harness();
    // The seed preset with a smaller network and fewer iterations: an edited seed.
    h.state_mut().settings.config = tiny_config(4);
    h.run_ok();
    assert_eq!(shown(&h, "Preset"), "seed (edited)");
    h.get_by_label("Train").click();
    h.step();
    wait_for(&mut h, "the run", |app| !app.is_training());
    let info = &h.state().model().unwrap().info;
    assert_eq!(info.preset.as_deref(), Some("custom"));
    assert_eq!(
        info.config.as_ref().unwrap().preset,
        Preset::Seed,
        "the starting point is kept"
    );
    assert_eq!(h.state().settings.config.preset, Preset::Seed);
}

#[test]
fn a_pasted_path_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pasted.csv");
    write_csv(&path, &sample_rows(DataKind::Train, 0..40));

    let mut h = harness();
    h.run_ok();
    focus_path_field(&mut h);
    // What eframe sends for Ctrl+V (or a middle click) with a path on the clipboard.
    h.event(egui::Event::Paste(path.display().to_string()));
    h.step();
    assert_eq!(h.state().settings.path, path.display().to_string());
    h.get_by_label("Load training").click();
    wait_for(&mut h, "the pasted file", |app| {
        app.train_data().is_some_and(|d| d.dataset.rows() == 40)
    });
    assert_eq!(h.state().train_data().unwrap().name, "pasted.csv");
}

#[test]
fn export_without_test_data_asks_for_the_test_csv_first() {
    let dir = tempfile::tempdir().unwrap();
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..6));
    let picker = Arc::new(FakePicker::default());
    *picker.answer.lock().unwrap() = Some(test_csv);

    let mut h = harness_with(StartupFiles::default(), picker.clone());
    h.run_ok();
    assert!(h.state().test_data().is_none());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    wait_for(&mut h, "the test data", |app| app.test_data().is_some());
    // Then the export dialog: the fake answers nothing the second time, as a cancelled dialog.
    wait_for(&mut h, "the export dialog", |app| {
        app.notice().is_some_and(|n| n.contains("no file chosen"))
    });
    use digit_recognizer::app::FileAction;
    assert_eq!(
        *picker.asked.lock().unwrap(),
        [FileAction::OpenTest, FileAction::ExportSubmission]
    );
    assert!(h.state().notice().unwrap().starts_with("Export submission"));
}

#[test]
fn startup_files_load_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = dir.path().join("start.csv");
    write_csv(&train_csv, &sample_rows(DataKind::Train, 0..30));
    let files = StartupFiles {
        train: Some(train_csv),
        ..StartupFiles::default()
    };
    let mut h = harness_with(files, Arc::new(FakePicker::default()));
    wait_for(&mut h, "the training file", |app| {
        app.train_data().is_some_and(|d| d.name == "start.csv")
    });
    assert_eq!(h.state().train_data().unwrap().dataset.rows(), 30);
}
