//! The Training tab's plots, the curve exports, the confusion heat map's colouring and the theme,
//! driven headless through the app's widgets (egui_kittest).

use crate::common;

use std::collections::HashMap;

use common::app::{AppHarness, harness, tiny_config, wait_for, with_path};
use digit_recognizer::app::confusion::ConfusionColor;
use digit_recognizer::app::plots::{EMPTY_HINT, PlotScale, Series};
use digit_recognizer::app::{Settings, TABS_KEY, Tabs, ThemeChoice};
use egui_kittest::kittest::Queryable;

/// eframe's settings storage in memory.
#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// What the app would persist now: the window's settings and the tabs' own.
fn saved_settings(h: &mut AppHarness) -> (Settings, Tabs) {
    let mut storage = MemoryStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    (
        eframe::get_value(&storage, eframe::APP_KEY).expect("the settings were saved"),
        eframe::get_value(&storage, TABS_KEY).expect("the tabs' settings were saved"),
    )
}

/// Presses Train and waits for the run to end.
fn train(h: &mut AppHarness) {
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().is_training(), "pressing Train starts a run");
    wait_for(h, "the run to finish", |app| !app.is_training());
}

#[test]
fn empty_plots_show_the_planned_steps_and_whole_ranges_with_a_hint() {
    let mut h = harness();
    h.run_ok();
    assert!(h.state().tabs.training.plots.runs.is_empty());
    let hint = h.get_by_label(EMPTY_HINT).rect();
    // The hint sits inside the loss plot and takes no room: the plots are one above the other.
    let [loss_rect, accuracy_rect] = h.state().tabs.training.plots.plot_rects.unwrap();
    assert!(loss_rect.contains_rect(hint), "{hint:?} in {loss_rect:?}");
    assert!(
        loss_rect.max.y <= accuracy_rect.min.y,
        "{loss_rect:?} over {accuracy_rect:?}"
    );
    assert!(accuracy_rect.height() > 150.0, "{accuracy_rect:?}");
    // The seed preset: 500 iterations.
    let [loss, accuracy] = h.state().tabs.training.plots.shown.expect("the plots were drawn");
    assert_eq!(accuracy, ([0.0, 0.0], [500.0, 1.0]), "steps 0..500, accuracy 0..1");
    assert_eq!(loss, ([0.0, 0.0], [500.0, 2.5]), "steps 0..500, loss 0..2.5");

    // The x range follows the configured run.
    h.state_mut().settings.config = tiny_config(40);
    h.run_ok();
    let [_, accuracy] = h.state().tabs.training.plots.shown.unwrap();
    assert_eq!(accuracy.1[0], 40.0);

    // Once a run reports, the hint goes and the plots fit the curves.
    train(&mut h);
    assert!(h.query_by_label(EMPTY_HINT).is_none());
    let [loss, _] = h.state().tabs.training.plots.shown.unwrap();
    let max_loss = h.state().tabs.training.plots.runs[0]
        .loss
        .iter()
        .map(|p| p[1])
        .fold(0.0, f64::max);
    assert!(
        loss.1[1] >= max_loss && loss.1[1] < max_loss * 1.5,
        "{loss:?} for a loss up to {max_loss}"
    );
}

#[test]
fn the_error_rate_toggle_plots_log_error_and_persists() {
    let mut h = harness();
    h.state_mut().settings.config = tiny_config(20);
    h.run_ok();
    train(&mut h);
    let run = h.state().tabs.training.plots.runs[0].clone();
    assert!(!run.dev_accuracy.is_empty());
    let plots = &h.state().tabs.training.plots;
    assert_eq!(plots.scale, PlotScale::Accuracy);
    assert_eq!(plots.plotted(Series::Accuracy, &run.dev_accuracy), run.dev_accuracy);
    let linear_top = plots.shown.unwrap()[1].1[1];

    h.get_by_label("error rate (log)").click();
    h.run_ok();
    let plots = &h.state().tabs.training.plots;
    assert_eq!(plots.scale, PlotScale::ErrorLog);
    let drawn = plots.plotted(Series::Accuracy, &run.dev_accuracy);
    for (d, p) in drawn.iter().zip(&run.dev_accuracy) {
        assert_eq!(d[0], p[0]);
        assert!((d[1] - (1.0 - p[1]).log10()).abs() < 1e-9, "{d:?} for accuracy {p:?}");
    }
    let loss = plots.plotted(Series::Loss, &run.loss);
    assert!((loss[0][1] - run.loss[0][1].log10()).abs() < 1e-9);
    // The accuracy plot now shows log10 of the error rates: below 0 (100%), not 0..1.
    let [_, accuracy] = plots.shown.unwrap();
    assert!(accuracy.1[1] <= 0.1 && accuracy.1[1] != linear_top, "{accuracy:?}");
    assert_eq!(saved_settings(&mut h).1.training.plots.scale, PlotScale::ErrorLog);

    h.get_by_label("accuracy").click();
    h.run_ok();
    assert_eq!(h.state().tabs.training.plots.scale, PlotScale::Accuracy);
    assert_eq!(saved_settings(&mut h).1.training.plots.scale, PlotScale::Accuracy);
}

#[test]
fn csv_export_writes_every_run_on_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("curves.csv");
    let mut h = harness();
    let first = tiny_config(10);
    let mut second = tiny_config(6);
    second.alpha = 0.05;
    h.state_mut().settings.config = first.clone();
    h.run_ok();
    train(&mut h);
    h.state_mut().settings.config = second.clone();
    h.run_ok();
    train(&mut h);
    assert_eq!(h.state().tabs.training.plots.runs.len(), 2);

    with_path(&mut h, "Export curves", &out);
    wait_for(&mut h, "the export", |app| !app.busy());
    let notice = h.state().notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains("Wrote 8 rows of 2 runs"),
        "{notice}; {:?}",
        h.state().error()
    );

    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "run",
            "label",
            "step",
            "epoch",
            "loss",
            "train_accuracy",
            "dev_accuracy",
            "alpha",
            "seconds"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // 10 and 6 steps reported every 2 steps.
    let of = |run: &str| rows.iter().filter(|r| &r[0] == run).collect::<Vec<_>>();
    let (a, b) = (of("1"), of("2"));
    assert_eq!((a.len(), b.len(), rows.len()), (5, 3, 8));
    assert!(a.iter().all(|r| r[1] == *first.label()));
    assert!(b.iter().all(|r| r[1] == *second.label()));
    let steps: Vec<&str> = b.iter().map(|r| &r[2]).collect();
    assert_eq!(steps, ["2", "4", "6"]);
    for r in &rows {
        let loss: f64 = r[4].parse().unwrap();
        let train: f64 = r[5].parse().unwrap();
        assert!(loss > 0.0 && (0.0..=1.0).contains(&train), "{r:?}");
        assert!(r[6].is_empty() || r[6].parse::<f64>().is_ok(), "{r:?}");
    }
    assert!(
        (b[0][7].parse::<f64>().unwrap() - 0.05).abs() < 1e-6,
        "alpha {:?}",
        &b[0][7]
    );
    // The last report of a run has the dev accuracy.
    assert!(!b[2][6].is_empty());
}

#[test]
fn exports_need_curves_and_a_missing_screenshot_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("plot.png");
    let mut h = harness();
    h.state_mut().settings.config = tiny_config(4);
    h.run_ok();
    with_path(&mut h, "Export curves", &dir.path().join("none.csv"));
    assert!(
        h.state().error().unwrap_or_default().contains("no curves"),
        "{:?}",
        h.state().error()
    );
    h.get_by_label("Dismiss").click();
    h.run_ok();

    train(&mut h);
    h.get_by_label("Weights").click();
    h.run_ok();
    with_path(&mut h, "Save plot PNG", &png);
    wait_for(&mut h, "the screenshot answer", |app| !app.busy());
    // The harness renders nothing: the app says so and writes nothing.
    let notice = h.state().notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains("no screenshot") && notice.contains("not written"),
        "{notice}"
    );
    assert!(!png.exists());
    assert_eq!(
        h.state().settings.tab,
        digit_recognizer::app::Tab::Training,
        "the plot is shown"
    );
}

#[test]
fn the_theme_switch_changes_the_visuals_and_persists() {
    let mut h = harness();
    h.run_ok();
    for (choice, theme) in [
        (ThemeChoice::Light, egui::Theme::Light),
        (ThemeChoice::Dark, egui::Theme::Dark),
    ] {
        h.get_by_label("View").click();
        h.run_ok();
        h.get_by_label(choice.title()).click();
        h.run_ok();
        assert_eq!(h.state().settings.theme, choice);
        assert_eq!(h.ctx.theme(), theme);
        assert_eq!(h.ctx.global_style().visuals.dark_mode, theme == egui::Theme::Dark);
        assert_eq!(saved_settings(&mut h).0.theme, choice);
    }
}

#[test]
fn the_confusion_colouring_toggle_persists_and_cells_still_filter() {
    let mut h = harness();
    let model = digit_recognizer::train::init_model(&tiny_config(1));
    h.state_mut().set_model(model, Default::default(), "random".into());
    wait_for(&mut h, "the dev predictions", |app| app.evaluation().is_some());
    h.get_by_label("Samples").click();
    h.run_ok();
    h.get_by_label("share of row").click();
    h.run_ok();
    assert_eq!(
        saved_settings(&mut h).1.samples.confusion.color,
        ConfusionColor::RowShare
    );
    let eval = h.state().evaluation().unwrap().evaluation.clone();
    let count = eval.confusion[3][5];
    h.get_by_label(&format!("true 3, predicted 5: {count}")).click();
    h.run_ok();
    assert_eq!(h.state().tabs.samples.grid.filter, Some((3, 5)));
    h.get_by_label("count (log)").click();
    h.run_ok();
    assert_eq!(saved_settings(&mut h).1.samples.confusion.color, ConfusionColor::Count);
}
