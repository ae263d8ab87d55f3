//! The views follow a run while it trains (snapshots), headless through egui_kittest.

#![cfg(feature = "gui")]

mod common;

use common::app::{harness, tiny_config, wait_for};
use digit_recognizer::app::Tab;
use egui_kittest::kittest::Queryable;

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
