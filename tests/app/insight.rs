//! Watching it learn and asking it why, headless through egui_kittest: the views follow a run
//! while it trains (snapshots), and the Draw and Samples tabs explain a digit.

use crate::common;

use common::app::{AppHarness, draw_seven, harness, tall_harness, tiny_config, wait_for};
use digit_recognizer::app::Tab;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};

/// Clicks the "Explain:" button of digit `digit` (a selectable label whose text is the digit).
fn explain_digit(h: &mut AppHarness, digit: usize) {
    let text = digit.to_string();
    let button = h
        .get_all_by_label(&text)
        .find(|n| n.accesskit_node().role() == Role::Button)
        .unwrap_or_else(|| panic!("no Explain button for {digit}"));
    button.click();
    h.step();
}

#[test]
fn a_drawing_is_explained_for_any_digit_and_its_units_open() {
    let mut h = tall_harness(1600.0);
    h.run_ok();
    h.get_by_label("Draw").click();
    h.run_ok();
    draw_seven(&mut h);
    wait_for(&mut h, "the drawing's attribution", |app| {
        app.tabs.draw.canvas.insight.up_to_date()
    });
    let digit = h.state().tabs.draw.canvas.prediction().unwrap().digit;
    let first = h.state().tabs.draw.canvas.insight.shown().unwrap().clone();
    assert_eq!(first.target, digit, "the prediction is explained first");
    assert_eq!(first.predicted, digit);
    assert!(first.pixels.iter().any(|&v| v > 0.0), "no evidence for the prediction");
    // The overlay's legend and the method's name are on screen.
    h.get_by_label(&format!("pushes toward {digit}"));
    h.get_by_label(&format!("pushes away from {digit}"));
    h.get_by_label(&format!("Why {digit}?"));

    // "Why not a 1?" (or a 7, when it reads a 1).
    let other = if digit == 1 { 7 } else { 1 };
    explain_digit(&mut h, other);
    wait_for(&mut h, "the attribution for another digit", |app| {
        app.tabs.draw.canvas.insight.up_to_date()
    });
    let second = h.state().tabs.draw.canvas.insight.shown().unwrap().clone();
    assert_eq!(second.target, other);
    assert_eq!(second.predicted, digit);
    assert_ne!(
        second.pixels, first.pixels,
        "switching the digit left the map unchanged"
    );
    h.get_by_label(&format!("pushes toward {other}"));

    // Inside the network: the embedded model's hidden layers, and its strongest first-layer units.
    let hidden = second.hidden.len();
    assert!(hidden >= 1);
    for l in 1..=hidden {
        h.get_by_label_contains(&format!("Hidden layer {l}: "));
    }
    let unit_label = h
        .get_all_by_label_contains(": open it large")
        .find_map(|n| n.accesskit_node().label())
        .expect("the top units are listed");
    let unit: usize = unit_label["unit ".len()..].split(':').next().unwrap().parse().unwrap();
    h.get_by_label_contains(&format!("#{unit} "));
    h.get_by_label(&unit_label).click();
    h.step();
    assert_eq!(h.state().tabs.draw.canvas.insight.opened_unit, Some(unit));
    let start = std::time::Instant::now();
    while h.query_by_label("Dev digits that excite it most:").is_none() {
        assert!(
            start.elapsed().as_secs() < 60,
            "the unit window never showed its digits"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.get_by_label(&format!("First-layer unit {unit}"));
}

#[test]
fn a_clicked_sample_is_explained() {
    let mut h = harness();
    wait_for(&mut h, "the dev predictions", |app| app.evaluation().is_some());
    h.get_by_label("Samples").click();
    h.run_ok();
    h.get_all_by_label_contains("dev row ").next().unwrap().click();
    h.step();
    wait_for(&mut h, "the sample's attribution", |app| {
        app.tabs.samples.grid.insight.up_to_date()
    });
    let e = h.state().tabs.samples.grid.insight.shown().unwrap();
    let (digit, predicted) = (e.target, e.predicted);
    assert_eq!(digit, predicted);
    h.get_by_label(&format!("pushes toward {digit}"));
    h.get_by_label_contains("Hidden layer 1: ");
}

#[test]
fn the_sample_grid_follows_the_run_before_it_ends() {
    let mut h = harness();
    wait_for(&mut h, "the embedded model's dev predictions", |app| {
        app.evaluation().is_some()
    });
    let before = h.state().evaluation().unwrap().clone();
    assert!(!before.live);
    // A run far longer than the test: 784-32-10 from scratch for 200,000 full-batch steps.
    let mut config = tiny_config(200_000);
    config.hidden = vec![32];
    h.state_mut().settings.config = config;
    h.state_mut().settings.tab = Tab::Samples;
    h.run_ok();
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().is_training());

    // A snapshot's predictions replace the embedded model's, and then a later snapshot's.
    wait_for(&mut h, "the first snapshot's predictions", |app| {
        app.evaluation().is_some_and(|e| e.live)
    });
    let first = h.state().evaluation().unwrap().clone();
    assert!(first.caption.starts_with("run #1, step "), "{}", first.caption);
    assert_ne!(first.predictions, before.predictions);
    h.get_by_label_contains("Model: run #1, step ");
    wait_for(&mut h, "a later snapshot's predictions", |app| {
        app.evaluation().is_some_and(|e| e.live && e.caption != first.caption)
    });
    let later = h.state().evaluation().unwrap().clone();
    assert!(h.state().is_training(), "the run ended before the views changed twice");
    assert_ne!(
        later.predictions, first.predictions,
        "the grid did not change while training"
    );
    // The current model (saved, exported) is still the one from before the run.
    assert!(!h.state().model().unwrap().name.starts_with("trained"));

    // The Weights and Draw tabs show the same snapshot.
    h.get_by_label("Weights").click();
    h.step();
    h.get_by_label_contains("Model: run #1, step ");
    h.get_by_label("Draw").click();
    h.step();
    h.get_by_label_contains("Model: run #1, step ");

    // Stopping keeps what was learned: the final model's predictions replace the snapshot's.
    h.get_by_label("Stop").click();
    wait_for(&mut h, "the run to stop and its model to be predicted", |app| {
        !app.is_training() && app.evaluation().is_some_and(|e| !e.live)
    });
    let after = h.state().evaluation().unwrap();
    assert!(after.caption.starts_with("trained"), "{}", after.caption);
}
