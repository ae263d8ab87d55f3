//! "Make it a d" on the Draw tab, headless through egui_kittest: the drawing is nudged step by
//! step until the embedded model reads another digit, goes on the canvas, and comes off again.

use crate::common;

use common::app::{AppHarness, draw_seven, tall_harness, wait_for};
use egui_kittest::kittest::Queryable;

/// The app on the Draw tab with a seven drawn and read by the embedded model.
fn a_seven_drawn() -> AppHarness {
    let mut h = tall_harness(1600.0);
    h.run_ok();
    h.get_by_label("Draw").click();
    h.run_ok();
    draw_seven(&mut h);
    wait_for(&mut h, "the drawing's prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some()
    });
    h
}

#[test]
fn a_drawing_is_made_into_another_digit_put_on_the_canvas_and_undone() {
    let mut h = a_seven_drawn();
    let before = h.state().tabs.draw.canvas.prediction().unwrap().clone();
    let target = if before.digit == 3 { 5 } else { 3 };
    h.state_mut().tabs.draw.canvas.nudge.target = target;
    h.step();
    h.get_by_label(&format!("Make it a {target}")).click();
    wait_for(&mut h, "the nudge's steps", |app| {
        app.tabs.draw.canvas.nudge.shown().is_some()
    });

    let steps = h.state().tabs.draw.canvas.nudge.shown().unwrap().to_vec();
    let taken = steps.len() - 1;
    assert!(taken >= 1, "no step taken");
    assert!(taken <= h.state().tabs.draw.canvas.nudge.settings.steps);
    assert_eq!(steps[0].pixels, before.model_input, "the nudge starts from the drawing");
    let last = steps.last().unwrap();
    assert_eq!(last.predicted(), target, "{:?}", last.probabilities);
    assert!(
        steps
            .windows(2)
            .all(|w| w[1].probabilities[target] >= w[0].probabilities[target])
    );
    // The strip shows every step, and says how it ended.
    h.get_by_label("start");
    for k in 1..=taken {
        h.get_by_label(&format!("step {k}"));
    }
    h.get_by_label_contains(&format!("Read as {target} ("));

    // On the canvas: the model now reads the nudged image, exactly.
    h.get_by_label(&format!("Put step {taken} on the canvas")).click();
    wait_for(&mut h, "the nudged drawing's prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some_and(|p| p.digit == target)
    });
    let placed = h.state().tabs.draw.canvas.prediction().unwrap().clone();
    assert_eq!(placed.model_input, last.pixels);
    assert_eq!(placed.probs, last.probabilities);
    assert!(
        h.state().tabs.draw.canvas.nudge.is_open(),
        "the strip stays open for Undo"
    );

    // Undo puts the drawing back.
    h.get_by_label("Undo").click();
    wait_for(&mut h, "the drawing back", |app| {
        app.tabs
            .draw
            .canvas
            .prediction()
            .is_some_and(|p| p.digit == before.digit)
    });
    let undone = h.state().tabs.draw.canvas.prediction().unwrap().clone();
    assert_eq!(undone.model_input, before.model_input);
    assert_eq!(undone.probs, before.probs);
    assert!(!h.state().tabs.draw.canvas.can_undo_placing());

    // Back closes the strip and leaves the canvas alone.
    h.get_by_label("Back").click();
    h.run_ok();
    assert!(!h.state().tabs.draw.canvas.nudge.is_open());
    assert!(h.query_by_label("step 1").is_none());
    assert_eq!(
        h.state().tabs.draw.canvas.prediction().unwrap().model_input,
        before.model_input
    );
}

#[test]
fn a_new_drawing_closes_the_strip() {
    let mut h = a_seven_drawn();
    let target = h.state().tabs.draw.canvas.nudge.target;
    h.get_by_label(&format!("Make it a {target}")).click();
    wait_for(&mut h, "the nudge's steps", |app| {
        app.tabs.draw.canvas.nudge.shown().is_some()
    });
    // A stroke down the middle: the drawing is no longer the one nudged.
    let rect = h.get_by_label("canvas").rect();
    let at = |y: f32| rect.min + egui::vec2(0.5 * rect.width(), y * rect.height());
    h.hover_at(at(0.2));
    h.step();
    h.drag_at(at(0.2));
    h.step();
    for y in [0.4, 0.6, 0.8] {
        h.hover_at(at(y));
        h.step();
    }
    h.drop_at(at(0.8));
    h.step();
    wait_for(&mut h, "the strip to close", |app| {
        !app.tabs.draw.canvas.nudge.is_open()
    });
}
