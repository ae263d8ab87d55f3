//! Issue 20, "Models that always reopen, results that arrive in order" and the training half of
//! "Bounded memory": a run's model carries the labels of the data it learnt from, the newest load
//! of each kind wins over a slower older one, a save renames only the model it wrote, and a
//! window that draws no frames holds at most one snapshot of a run.
use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::app::{AppHarness, harness, harness_with, tiny_config, wait_for, with_path};
use common::{csv_of, sample_rows, write, write_csv};
use digit_recognizer::app::Job;
use digit_recognizer::app::StartupFiles;
use digit_recognizer::app::test_support::FakePicker;
use digit_recognizer::data::DataKind;
use digit_recognizer::embedded;
use digit_recognizer::model_file;
use digit_recognizer::train::{Length, Preset, TrainConfig};
use egui_kittest::kittest::Queryable;

/// Sign Language MNIST's labels (A-Y without J), one per digit of the sample.
const LETTERS: [u8; 10] = [0, 3, 6, 8, 10, 13, 16, 19, 22, 24];

/// A 28x28 CSV of 25 classes (sample digits relabelled as letters) with its `classes.txt`.
fn letters_csv(dir: &Path) -> std::path::PathBuf {
    let mut data = sample_rows(DataKind::Train, 0..600);
    for label in &mut data.labels {
        *label = LETTERS[usize::from(*label)];
    }
    let path = dir.join("letters.csv");
    write_csv(&path, &data);
    let names: Vec<String> = ('A'..='Y').map(String::from).collect();
    std::fs::write(dir.join("classes.txt"), names.join("\n")).unwrap();
    path
}

fn start_run(h: &mut AppHarness, config: TrainConfig) {
    h.state_mut().settings.config = config;
    h.run_ok();
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().is_training(), "the run started");
}

fn stop_run(h: &mut AppHarness) {
    h.get_by_label("Stop").click();
    wait_for(h, "the run to stop", |app| !app.is_training());
}

#[test]
fn a_model_trained_while_other_data_loaded_reopens_with_its_own_labels() {
    let dir = tempfile::tempdir().unwrap();
    let letters = letters_csv(dir.path());
    let picker = Arc::new(FakePicker::default());
    let mut h = harness_with(StartupFiles::default(), picker.clone());
    // Long enough to be running when the letters arrive; stopped by hand below.
    start_run(&mut h, tiny_config(10_000));
    // Through the dialog: the side panel's layout changes while a run trains, so a click on a
    // path button could land on its neighbour.
    *picker.answer.lock().unwrap() = Some(letters.clone());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for(&mut h, "the letters to load", |app| {
        app.train_data().is_some_and(|d| d.name == "letters.csv")
    });
    assert!(h.state().is_training(), "the letters loaded while the run trained");
    // Steps taken before the stop (a busy machine may not have taken one yet): a run stopped
    // at step 0 keeps the model from before and would test nothing.
    wait_for(&mut h, "the run's first report", |app| {
        app.tabs.training.plots.current_points() > 0
    });
    stop_run(&mut h);

    let model = h.state().model().unwrap();
    assert!(model.name.starts_with("trained:"), "{}", model.name);
    assert_eq!(model.model.classes(), 10);
    let digits: Vec<u8> = (0..10).collect();
    assert_eq!(model.info.labels, digits, "the run's labels, not the letters'");
    assert!(model.info.class_names.is_empty(), "{:?}", model.info.class_names);

    let out = dir.path().join("digits.safetensors");
    with_path(&mut h, "Save model", &out);
    wait_for(&mut h, "the save", |app| !app.busy());
    let (reopened, info) = model_file::load(&out).expect("the saved model reopens");
    assert_eq!(reopened.classes(), 10);
    assert_eq!(
        (info.labels, info.class_names, info.transposed),
        (digits.clone(), Vec::new(), false)
    );

    // And in the app.
    with_path(&mut h, "Load model", &out);
    wait_for(&mut h, "the model to open", |app| !app.busy());
    assert_eq!(h.state().error(), None);
    let model = h.state().model().unwrap();
    assert_eq!(
        (model.name.as_str(), &model.info.labels),
        ("digits.safetensors", &digits)
    );
}

/// Loads `older` (held until `newer` has loaded, then let go) and then `newer` with the path
/// button `button`; returns the app once both have ended.
fn older_load_ends_last(
    job: Job,
    button: &str,
    older: &Path,
    newer: &Path,
    loaded: fn(&AppHarness) -> String,
) -> AppHarness {
    let mut h = harness();
    let gate = h.state().hold_next(job);
    with_path(&mut h, button, older);
    with_path(&mut h, button, newer);
    let newer_name = newer.file_name().unwrap().to_string_lossy().into_owned();
    let start = Instant::now();
    while loaded(&h) != newer_name {
        assert!(start.elapsed() < common::app::PATIENCE, "{newer_name} never loaded");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    gate.open();
    wait_for(&mut h, "the older load to end", |app| !app.busy());
    h
}

#[test]
fn the_newest_training_data_load_wins() {
    let dir = tempfile::tempdir().unwrap();
    let older = write(dir.path(), "older.csv", &csv_of(DataKind::Train, 300));
    let newer = write(dir.path(), "newer.csv", &csv_of(DataKind::Train, 400));
    let h = older_load_ends_last(Job::LoadData, "Load training", &older, &newer, |h| {
        h.state().train_data().map(|d| d.name.clone()).unwrap_or_default()
    });
    let data = h.state().train_data().unwrap();
    assert_eq!((data.name.as_str(), data.dataset.rows()), ("newer.csv", 400));
    assert_eq!(h.state().error(), None);
}

#[test]
fn the_newest_test_data_load_wins() {
    let dir = tempfile::tempdir().unwrap();
    let older = write(dir.path(), "older.csv", &csv_of(DataKind::Test, 30));
    let newer = write(dir.path(), "newer.csv", &csv_of(DataKind::Test, 40));
    let h = older_load_ends_last(Job::LoadData, "Load test", &older, &newer, |h| {
        h.state().test_data().map(|d| d.name.clone()).unwrap_or_default()
    });
    let test = h.state().test_data().unwrap();
    assert_eq!((test.name.as_str(), test.dataset.rows()), ("newer.csv", 40));
}

#[test]
fn the_newest_model_load_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (model, info) = embedded::model().unwrap();
    let (older, newer) = (
        dir.path().join("older.safetensors"),
        dir.path().join("newer.safetensors"),
    );
    model_file::save(&older, &model, &info).unwrap();
    model_file::save(&newer, &model, &info).unwrap();
    let h = older_load_ends_last(Job::LoadModel, "Load model", &older, &newer, |h| {
        h.state().model().map(|m| m.name.clone()).unwrap_or_default()
    });
    assert_eq!(h.state().model().unwrap().name, "newer.safetensors");
}

#[test]
fn a_save_that_ends_after_a_run_names_the_model_it_wrote_not_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("before.safetensors");
    let mut h = harness();
    assert_eq!(h.state().model().unwrap().name, embedded::MODEL_NAME);
    // Saving the embedded model; the write waits until the run below has replaced it.
    let gate = h.state().hold_next(Job::SaveModel);
    with_path(&mut h, "Save model", &out);
    start_run(&mut h, tiny_config(20));
    wait_for(&mut h, "the run to end", |app| !app.is_training());
    let trained = h.state().model().unwrap().name.clone();
    assert!(trained.starts_with("trained:"), "{trained}");
    gate.open();
    wait_for(&mut h, "the save", |app| !app.busy());

    assert_eq!(
        h.state().model().unwrap().name,
        trained,
        "the trained model was not saved"
    );
    let notice = h.state().notice().unwrap_or_default();
    assert!(notice.contains("before.safetensors"), "{notice}");
    let (written, _) = model_file::load(&out).unwrap();
    assert_eq!(
        written,
        embedded::model().unwrap().0,
        "the file holds the model from before"
    );
}

/// A run of `best`'s size (2 MB of parameters) that goes on until stopped.
fn endless_best() -> TrainConfig {
    TrainConfig {
        length: Length::Iterations(100_000_000),
        dev_size: 500,
        ..TrainConfig::preset(Preset::Best)
    }
}

#[test]
fn a_window_that_draws_no_frames_holds_at_most_one_snapshot() {
    let mut h = harness();
    start_run(&mut h, endless_best());
    wait_for(&mut h, "the first snapshot", |app| {
        app.shown_model().is_some_and(|m| m.caption.contains(", step "))
    });
    h.state_mut().snapshots_waiting();
    // Six snapshot intervals with no frame drawn (as a minimised window on Wayland).
    std::thread::sleep(digit_recognizer::app::SNAPSHOT_EVERY * 6 + Duration::from_millis(200));
    let waiting = h.state_mut().snapshots_waiting();
    let model_bytes = h.state().shown_model().unwrap().model.parameter_count() * 4;
    assert!(
        waiting.count <= 1 && waiting.bytes <= model_bytes,
        "{waiting:?} waiting after six intervals (one model is {model_bytes} bytes)"
    );
    stop_run(&mut h);
}

/// Resident memory of this process, from /proc/self/statm.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// `best` trains for a minute with no frame drawn: the memory stays flat. Slow: run by hand with
/// `cargo test --test app -- --ignored --nocapture memory_stays_flat`.
#[test]
#[ignore]
fn memory_stays_flat_while_best_trains_a_minute_with_no_frames() {
    let mut h = harness();
    start_run(&mut h, endless_best());
    wait_for(&mut h, "the first snapshot", |app| {
        app.shown_model().is_some_and(|m| m.caption.contains(", step "))
    });
    std::thread::sleep(Duration::from_secs(5));
    let baseline = resident_bytes();
    let mut peak = baseline;
    for second in (10..=60).step_by(10) {
        std::thread::sleep(Duration::from_secs(10));
        let now = resident_bytes();
        peak = peak.max(now);
        eprintln!("{second:>2} s without frames: RSS {:.1} MB", now as f64 / 1e6);
    }
    let waiting = h.state_mut().snapshots_waiting();
    eprintln!(
        "baseline {:.1} MB, peak {:.1} MB, {waiting:?} waiting at the end",
        baseline as f64 / 1e6,
        peak as f64 / 1e6
    );
    stop_run(&mut h);
    assert!(
        peak - baseline < 40_000_000,
        "RSS grew by {:.1} MB in a minute",
        (peak - baseline) as f64 / 1e6
    );
}
