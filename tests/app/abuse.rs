//! The app under abuse: its real widgets clicked in seeded random order while training runs, with
//! the state checked after every step; and panics inside worker threads reported as errors.

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::app::{AppHarness as H, harness, wait_for, with_path};
use common::{sample_rows, write_csv};
use digit_recognizer::app::Job;
use digit_recognizer::data::{DataKind, Dataset};
use digit_recognizer::evaluate::Evaluation;
use digit_recognizer::network::Mlp;
use digit_recognizer::train::{self, Length, StopReason, TrainConfig, TrainControl};
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A run of a fraction of a second on the embedded sample, in mini-batches.
fn tiny_config(iterations: usize, seed: u64, dev_size: usize) -> TrainConfig {
    TrainConfig {
        batch_size: 64,
        dev_size,
        seed,
        ..common::app::tiny_config(iterations)
    }
}

/// Whether a run of `config` ends by itself in well under a second (a preset may take minutes).
fn is_tiny(config: &TrainConfig) -> bool {
    config.hidden == [16] && matches!(config.length, Length::Iterations(n) if n <= 100)
}

fn is_disabled(h: &H, label: &str) -> bool {
    h.get_by_label(label).accesskit_node().is_disabled()
}

/// The run the test started, as it knows it.
struct Started {
    config: TrainConfig,
    dataset: Arc<Dataset>,
    /// Alpha was changed while it ran (its result cannot be reproduced from the config).
    alpha_changed: bool,
}

/// Dev-set predictions of `model`, computed here (not by the app).
fn evaluate(model: &Mlp, dev: &Dataset) -> Evaluation {
    Evaluation::from_predictions(&model.predict(&dev.pixels), &dev.labels)
}

struct Checker {
    /// (model, dev set) pointers whose evaluation was already compared.
    checked_eval: Option<(usize, usize)>,
    completed_runs: usize,
    reproduced_runs: usize,
    evaluations_checked: usize,
}

impl Checker {
    /// Everything that must hold between any two frames.
    fn invariants(&mut self, h: &H, started: &Option<Started>, step: usize, action: &str) {
        let ctx = format!("step {step} ({action})");
        let app = h.state();
        let ts = app.state_for_tests();

        // At most one run, and the app knows about every live training thread.
        assert!(ts.train_threads <= 1, "{ctx}: {} training threads", ts.train_threads);
        if ts.train_threads == 1 {
            assert!(
                app.is_training(),
                "{ctx}: a training thread runs but the app shows no run"
            );
        }
        assert_eq!(app.is_training(), ts.run_label.is_some(), "{ctx}");

        // The plots belong to the run shown.
        if let Some(label) = &ts.run_label {
            let started = started
                .as_ref()
                .unwrap_or_else(|| panic!("{ctx}: a run the test did not start"));
            assert_eq!(
                label,
                &started.config.label(),
                "{ctx}: the run shown is not the one started"
            );
            let run = app.tabs.training.plots.runs.last().expect("a run has curves");
            assert!(
                run.label.ends_with(&format!(" {label}")),
                "{ctx}: current curves {:?} for run {label:?}",
                run.label
            );
            let number = format!("#{} ", app.tabs.training.plots.started);
            assert!(
                run.label.starts_with(&number),
                "{ctx}: run {number}is named {:?}",
                run.label
            );
            let total = ts.run_total_steps.unwrap_or(0);
            for pair in run.train_accuracy.windows(2) {
                assert!(
                    pair[0][0] < pair[1][0],
                    "{ctx}: steps out of order in {}: {pair:?}",
                    run.label
                );
            }
            if total > 0
                && let Some(last) = run.train_accuracy.last()
            {
                assert!(last[0] <= total as f64, "{ctx}: step {} of a {total}-step run", last[0]);
            }
            // The alpha slider shows the learning rate the run uses.
            assert_eq!(
                ts.run_alpha,
                Some(app.settings.config.alpha),
                "{ctx}: alpha slider and the run disagree"
            );
        }

        // Buttons match the state.
        let training = app.is_training();
        let can_train = !training && app.train_data().is_some() && app.settings.config.validate().is_ok();
        assert_eq!(is_disabled(h, "Train"), !can_train, "{ctx}: Train enabled is wrong");
        assert_eq!(is_disabled(h, "Stop"), !training, "{ctx}: Stop");
        assert_eq!(is_disabled(h, "Reset"), training, "{ctx}: Reset");
        let pause = if ts.paused { "Resume" } else { "Pause" };
        assert_eq!(is_disabled(h, pause), !training, "{ctx}: {pause}");

        // The evaluation shown belongs to the model and dev set shown. (A snapshot's, from a
        // run in progress or one that just ended and whose model is being predicted, is labelled
        // live and kept out of the side panel.)
        if let (Some(eval), Some(model), Some(data)) = (app.evaluation(), app.model(), app.train_data()) {
            let dev = &data.split.dev;
            assert_eq!(
                eval.predictions.len(),
                dev.rows(),
                "{ctx}: predictions of another dev set"
            );
            let key = (Arc::as_ptr(&model.model) as usize, Arc::as_ptr(&data.split) as usize);
            if !eval.live && self.checked_eval != Some(key) {
                let expected = evaluate(&model.model, dev);
                assert_eq!(
                    eval.evaluation, expected,
                    "{ctx}: the dev accuracy shown is not the model's"
                );
                self.checked_eval = Some(key);
                self.evaluations_checked += 1;
                let shown = format!("dev {:.2}%", expected.accuracy * 100.0);
                assert!(
                    h.query_all_by_label_contains(&shown).count() >= 1,
                    "{ctx}: the side panel does not show {shown}"
                );
            }
        }
    }

    /// A run just ended (the app no longer trains): its model must be the one shown.
    fn run_ended(&mut self, h: &H, started: Started, step: usize) {
        let ctx = format!("step {step} (run ended)");
        let app = h.state();
        let message = app.last_run().unwrap_or_default().to_owned();
        let Some(model) = app.model() else {
            panic!("{ctx}: no model after the run: {message}");
        };
        if message.starts_with("finished") {
            self.completed_runs += 1;
            assert_eq!(model.name, format!("trained: {}", started.config.label()), "{ctx}");
            assert_eq!(model.model.sizes(), started.config.layer_sizes(), "{ctx}");
            let info_config = model.info.config.as_ref().expect("a trained model records its config");
            assert_eq!(info_config.label(), started.config.label(), "{ctx}");
            if !started.alpha_changed {
                // Training is deterministic for a seed: the same run here gives the same model.
                let split = started.dataset.split(started.config.dev_size, started.config.seed);
                let mut expected = train::init_model(&started.config);
                let report = train::train(
                    &mut expected,
                    &started.config,
                    &split,
                    &TrainControl::new(),
                    &mut |_| {},
                );
                assert_eq!(report.stop, StopReason::Completed);
                assert_eq!(info_config, &started.config, "{ctx}: the model records another config");
                assert!(
                    *model.model == expected,
                    "{ctx}: the model shown is not the one the run made ({}; {report:?}; {message})",
                    started.config.label()
                );
                assert_eq!(
                    model.info.dev_accuracy,
                    Some(evaluate(&expected, &split.dev).accuracy),
                    "{ctx}: the run's dev accuracy is not its model's"
                );
                self.reproduced_runs += 1;
            }
        }
    }
}

#[test]
fn random_clicks_while_training_keep_the_state_consistent() {
    let started_at = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // Two training files to switch between (one gzip), and a test file for the submission.
    let train_a = dir.path().join("train_a.csv");
    let train_b = dir.path().join("train_b.csv.gz");
    write_csv(&train_a, &sample_rows(DataKind::Train, 0..1200));
    write_csv(&train_b, &sample_rows(DataKind::Train, 1200..2000));
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 2000..2300));
    let submission = dir.path().join("submission.csv");
    let steps: usize = std::env::var("ABUSE_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("ABUSE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);

    let mut h = harness();
    h.state_mut().settings.config = tiny_config(40, 1, 500);
    h.step();
    with_path(&mut h, "Load test", &test_csv);
    wait_for(&mut h, "the test data", |app| app.test_data().is_some());

    let mut rng = StdRng::seed_from_u64(seed);
    let mut checker = Checker {
        checked_eval: None,
        completed_runs: 0,
        reproduced_runs: 0,
        evaluations_checked: 0,
    };
    let mut started: Option<Started> = None;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut exports = 0;
    let mut loads_while_training = 0;
    let mut exports_while_training = 0;

    for step in 0..steps {
        let action = match rng.random_range(0..100) {
            0..=17 => "train",
            18..=27 => "stop",
            28..=35 => "pause",
            36..=41 => "reset",
            42..=53 => "alpha",
            54..=61 => "preset",
            62..=71 => "tiny config",
            72..=77 => "open data",
            78..=83 => "export",
            84..=89 => "wait for the run",
            90..=93 => "dismiss",
            94..=95 => "clear runs",
            _ => "idle",
        };
        *counts.entry(action).or_default() += 1;
        let was_training = h.state().is_training();
        match action {
            "train" => {
                let runs = h.state().tabs.training.plots.started;
                h.get_by_label("Train").click();
                h.step();
                if h.state().tabs.training.plots.started != runs {
                    // Also when the shown run ended in this very frame (its TrainDone drained
                    // before the click landed): check that one first.
                    if let Some(s) = started.take() {
                        checker.run_ended(&h, s, step);
                    }
                    assert!(h.state().is_training(), "step {step}: a new curve without a run");
                    // What the run started with: a number typed into a field (say the dev size)
                    // commits in the very frame Train is clicked.
                    // Likewise data that finished loading in that frame is what it trains on.
                    let config = h.state().state_for_tests().run_config.expect("a run's config");
                    let dataset = h.state().train_data().expect("a run has data").dataset.clone();
                    started = Some(Started {
                        config,
                        dataset,
                        alpha_changed: false,
                    });
                }
            }
            "stop" => {
                h.get_by_label("Stop").click();
                h.step();
            }
            "pause" => {
                let label = if h.state().state_for_tests().paused {
                    "Resume"
                } else {
                    "Pause"
                };
                h.get_by_label(label).click();
                h.step();
            }
            "reset" => {
                h.get_by_label("Reset").click();
                h.step();
            }
            "alpha" => {
                // Log-uniform over the slider's range, 1e-4..=1 (the top end diverges with Adam).
                let alpha = 10f64.powf(rng.random_range(-4.0..=0.0));
                let before = h.state().settings.config.alpha;
                h.get_by_role_and_label(Role::Slider, "alpha")
                    .set_value_accesskit(alpha);
                h.step();
                if was_training
                    && h.state().settings.config.alpha != before
                    && let Some(s) = &mut started
                {
                    s.alpha_changed = true;
                }
            }
            "preset" => {
                let choice = ["seed", "best"][rng.random_range(0..2)];
                h.get_by_role_and_label(Role::ComboBox, "Preset").click();
                h.step();
                h.step();
                let option = h
                    .query_all_by_label(choice)
                    .find(|n| n.accesskit_node().role() != Role::ComboBox);
                match option {
                    Some(node) => node.click(),
                    // The combo did not open (disabled): close whatever is open.
                    None => h.key_press(egui::Key::Escape),
                }
                h.step();
                h.step();
            }
            "tiny config" => {
                // What a user does by typing into the fields, which are only enabled between runs.
                if !was_training {
                    let iterations = rng.random_range(4..64);
                    let seed = rng.random_range(1..=2);
                    let dev = [300, 500][rng.random_range(0..2)];
                    h.state_mut().settings.config = tiny_config(iterations, seed, dev);
                }
                h.step();
            }
            "open data" => {
                let path = if rng.random::<bool>() { &train_a } else { &train_b };
                with_path(&mut h, "Load training", path);
                loads_while_training += usize::from(was_training);
            }
            "export" => {
                with_path(&mut h, "Export submission", &submission);
                exports += 1;
                exports_while_training += usize::from(was_training);
            }
            "wait for the run" => {
                if h.state().is_training() {
                    if h.state().state_for_tests().paused {
                        h.get_by_label("Resume").click();
                        h.step();
                    }
                    if started.as_ref().is_some_and(|s| is_tiny(&s.config)) {
                        // It ends by itself, however long a busy machine takes.
                        wait_for(&mut h, "a tiny run to finish", |app| !app.is_training());
                    } else {
                        // A preset may take minutes: give it a moment, then Stop must end it.
                        let deadline = Instant::now() + Duration::from_secs(2);
                        while h.state().is_training() && Instant::now() < deadline {
                            h.step();
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        if h.state().is_training() {
                            h.get_by_label("Stop").click();
                            wait_for(&mut h, "Stop to end the run", |app| !app.is_training());
                        }
                    }
                }
                h.step();
            }
            "dismiss" => {
                if let Some(node) = h.query_by_label("Dismiss") {
                    node.click();
                }
                h.step();
            }
            "clear runs" => {
                h.get_by_label("Clear earlier runs").click();
                h.step();
            }
            _ => {
                std::thread::sleep(Duration::from_millis(rng.random_range(0..20)));
                h.step();
            }
        }
        // One frame without input: the widgets then show the state the step left (a click is
        // handled while its frame is drawn, so that frame's widgets show the state before it).
        h.step();
        if !h.state().is_training()
            && let Some(s) = started.take()
        {
            checker.run_ended(&h, s, step);
        }
        checker.invariants(&h, &started, step, action);
    }

    // Wind down: end any run, let every task finish, then a clean run must still work.
    if h.state().is_training() {
        if h.state().state_for_tests().paused {
            h.get_by_label("Resume").click();
            h.step();
        }
        h.get_by_label("Stop").click();
    }
    wait_for(&mut h, "all work to end", |app| !app.busy());
    if let Some(s) = started.take() {
        checker.run_ended(&h, s, steps);
    }
    assert_eq!(h.state().state_for_tests().train_threads, 0);

    // Loading and exporting while a run trains, whatever the random walk did: a run too long
    // to end by itself, a load and an export during it, then Stop.
    let mut config = tiny_config(20, 1, 500);
    config.length = Length::Iterations(1_000_000);
    h.state_mut().settings.config = config.clone();
    h.step();
    let dataset = h.state().train_data().unwrap().dataset.clone();
    h.get_by_label("Train").click();
    h.step();
    started = Some(Started {
        config,
        dataset,
        alpha_changed: false,
    });
    assert!(h.state().is_training());
    // Each must be seen to happen while the run trains: a new data set in place, and a
    // submission written where there was none.
    let data_before = h.state().train_data().unwrap().dataset.clone();
    let _ = std::fs::remove_file(&submission);
    with_path(&mut h, "Load training", &train_b);
    with_path(&mut h, "Export submission", &submission);
    assert!(h.state().is_training(), "the run outlasts the clicks");
    wait_for(&mut h, "the load and the export", |app| {
        app.state_for_tests().tasks == 0
    });
    checker.invariants(&h, &started, steps, "load and export while training");
    assert!(h.state().is_training());
    assert!(
        !Arc::ptr_eq(&data_before, &h.state().train_data().unwrap().dataset),
        "the load during the run did not replace the data"
    );
    loads_while_training += 1;
    assert!(submission.exists(), "the export during the run wrote no submission");
    exports_while_training += 1;
    exports += 1;
    h.get_by_label("Stop").click();
    wait_for(&mut h, "Stop to end the long run", |app| !app.is_training());
    checker.run_ended(&h, started.take().unwrap(), steps);
    assert_eq!(h.state().train_data().unwrap().name, "train_b.csv.gz");

    h.state_mut().settings.config = tiny_config(20, 1, 500);
    h.step();
    let dataset = h.state().train_data().unwrap().dataset.clone();
    let config = h.state().settings.config.clone();
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().is_training(), "Train works after the abuse");
    started = Some(Started {
        config,
        dataset,
        alpha_changed: false,
    });
    h.step();
    checker.invariants(&h, &started, steps, "final train");
    wait_for(&mut h, "the final run", |app| !app.is_training());
    checker.run_ended(&h, started.take().unwrap(), steps);
    wait_for(&mut h, "the final evaluation", |app| app.evaluation().is_some());
    checker.invariants(&h, &started, steps, "final");

    // The last export is a complete submission; no temporary files are left behind.
    assert!(exports > 0, "no export happened");
    let text = std::fs::read_to_string(&submission)
        .unwrap_or_else(|e| panic!("{exports} exports, but no submission at {}: {e}", submission.display()));
    assert_eq!(text.lines().count(), 301, "{text}");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| ![&train_a, &train_b, &test_csv, &submission].contains(&p))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    eprintln!(
        "{steps} steps in {:.1} s: {counts:?}; {} runs completed ({} reproduced), {} evaluations \
         checked, {loads_while_training} loads and {exports_while_training} exports while training",
        started_at.elapsed().as_secs_f64(),
        checker.completed_runs,
        checker.reproduced_runs,
        checker.evaluations_checked,
    );
    assert!(
        checker.completed_runs >= 3,
        "too few runs completed to check the model shown"
    );
    assert!(
        loads_while_training >= 1 && exports_while_training >= 1,
        "the load or the export while the run trained did not happen: {loads_while_training} loads, \
         {exports_while_training} exports"
    );
}

#[test]
fn a_panic_in_a_worker_is_reported_and_the_app_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = dir.path().join("train.csv");
    write_csv(&train_csv, &sample_rows(DataKind::Train, 0..300));
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..5));
    let submission = dir.path().join("submission.csv");

    let mut h = harness();
    h.state_mut().settings.config = tiny_config(20, 1, 500);
    h.step();
    h.get_by_label("Train").click();
    h.step();
    wait_for(&mut h, "the first run", |app| !app.is_training());
    wait_for(&mut h, "its evaluation", |app| app.evaluation().is_some());
    let model = h.state().model().unwrap().model.clone();
    let data = h.state().train_data().unwrap().dataset.clone();
    let points = h.state().tabs.training.plots.current_points();

    // Training panics mid-run (after its first progress report).
    h.state().inject_panic(Job::Train);
    let mut config = tiny_config(2000, 1, 500);
    config.report_every = 1;
    h.state_mut().settings.config = config;
    h.step();
    h.get_by_label("Train").click();
    h.step();
    wait_for(&mut h, "the crashed run to end", |app| !app.is_training());
    let error = h.state().error().expect("the panic is shown as an error").to_owned();
    assert!(
        error.contains("Internal error while training") && error.contains("injected fault"),
        "{error}"
    );
    h.get_by_label_contains("Internal error while training");
    assert!(
        Arc::ptr_eq(&h.state().model().unwrap().model, &model),
        "the model from before stays"
    );
    assert!(
        Arc::ptr_eq(&h.state().train_data().unwrap().dataset, &data),
        "the data stays"
    );
    assert!(h.state().evaluation().is_some(), "the dev predictions stay");
    assert_eq!(h.state().state_for_tests().train_threads, 0);
    assert!(h.state().last_run().unwrap().contains("crashed"));
    assert!(
        !is_disabled(&h, "Train") && is_disabled(&h, "Stop"),
        "ready for the next action"
    );
    h.get_by_label("Dismiss").click();
    h.step();
    assert!(h.state().error().is_none());

    // Loading data panics: the task ends, the data stays.
    h.state().inject_panic(Job::LoadData);
    with_path(&mut h, "Load training", &train_csv);
    wait_for(&mut h, "the crashed load", |app| !app.busy());
    h.get_by_label_contains("Internal error while loading data");
    assert!(Arc::ptr_eq(&h.state().train_data().unwrap().dataset, &data));
    assert_eq!(h.state().state_for_tests().tasks, 0, "no task left spinning");

    // Exporting panics: nothing is written.
    with_path(&mut h, "Load test", &test_csv);
    wait_for(&mut h, "the test data", |app| app.test_data().is_some());
    h.state().inject_panic(Job::Export);
    with_path(&mut h, "Export submission", &submission);
    wait_for(&mut h, "the crashed export", |app| !app.busy());
    h.get_by_label_contains("Internal error while exporting");
    assert!(!submission.exists());

    // The dev-set evaluation panics: reported; a later one works.
    h.state().inject_panic(Job::Evaluate);
    h.state_mut()
        .set_model(Mlp::clone(&model), Default::default(), "reopened".into());
    wait_for(&mut h, "the crashed evaluation", |app| {
        app.error().is_some_and(|e| e.contains("predicting the dev set"))
    });

    // Train still works, and then export too.
    h.state_mut().settings.config = tiny_config(20, 2, 500);
    h.step();
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().is_training());
    wait_for(&mut h, "a run after the crashes", |app| !app.is_training());
    assert!(
        h.state().last_run().unwrap().starts_with("finished"),
        "{:?}",
        h.state().last_run()
    );
    assert!(h.state().tabs.training.plots.current_points() > 0 && points > 0);
    assert!(!Arc::ptr_eq(&h.state().model().unwrap().model, &model));
    wait_for(&mut h, "its evaluation", |app| app.evaluation().is_some());
    with_path(&mut h, "Export submission", &submission);
    wait_for(&mut h, "the export", |app| !app.busy());
    assert_eq!(std::fs::read_to_string(&submission).unwrap().lines().count(), 6);
}
