//! The Map tab: the dev digits projected from a layer of the model shown, hover, click, the
//! layer choice, axes that stay fixed while the model changes, and the grand tour of the axes.

use digit_recognizer::app::Tab;
use digit_recognizer::class_map::MapLayer;
use digit_recognizer::model_file::ModelInfo;
use digit_recognizer::network::{Init, Mlp};
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

use crate::common::app::{AppHarness, harness, wait_for};

/// The app on the Map tab, with the map of the embedded model drawn.
fn map_shown() -> AppHarness {
    let mut h = harness();
    h.get_by_label("Map").click();
    h.step();
    wait_for(&mut h, "the map", |app| app.tabs.map.current_map().is_some());
    h
}

/// The key of the model the app holds now.
fn model_key(h: &AppHarness) -> u64 {
    h.state().model().unwrap().version.get()
}

/// Waits until the map on screen is the current model's (and its glide has ended).
fn wait_for_map_of_current_model(h: &mut AppHarness) {
    let key = model_key(h);
    wait_for(h, "the map of the new model", |app| {
        app.tabs.map.mapped_model() == Some(key)
    });
    // Let the points glide to their places (0.35 s).
    std::thread::sleep(std::time::Duration::from_millis(400));
    h.step();
    h.step();
}

#[test]
fn the_map_shows_one_dot_per_dev_digit_of_the_model() {
    let h = map_shown();
    let app = h.state();
    let dev_rows = app.train_data().unwrap().split.dev.rows();
    let (source, coords) = app.tabs.map.current_map().unwrap();
    assert_eq!(coords.len(), dev_rows.min(2000));
    assert_eq!(app.tabs.map.drawn_points().len(), coords.len());
    assert_eq!(
        source, "embedded model",
        "the axes come from the current model by default"
    );
    // Spread over the canvas, not piled up.
    let canvas = h.get_by_label("class map").rect();
    let drawn = app.tabs.map.drawn_points();
    assert!(drawn.iter().all(|p| canvas.expand(1.0).contains(*p)));
    let xs: Vec<f32> = drawn.iter().map(|p| p.x).collect();
    let spread = xs.iter().copied().fold(f32::MIN, f32::max) - xs.iter().copied().fold(f32::MAX, f32::min);
    assert!(spread > canvas.width() * 0.5, "spread {spread} of {}", canvas.width());
    h.get_by_label_contains("Axes: the PCA of");
    h.get_by_label_contains("× a mistake");
}

/// A point the pointer can single out: the one farthest from its neighbours among the first
/// `among`, and where each point is drawn.
fn lonely_point(h: &AppHarness, among: usize) -> (usize, Vec<egui::Pos2>) {
    lonely_point_away_from(h, among, &[])
}

/// [`lonely_point`] among those more than 12 points from each of `avoid`.
fn lonely_point_away_from(h: &AppHarness, among: usize, avoid: &[egui::Pos2]) -> (usize, Vec<egui::Pos2>) {
    let drawn = h.state().tabs.map.drawn_points().to_vec();
    let row = (0..drawn.len().min(among))
        .filter(|&i| avoid.iter().all(|a| a.distance(drawn[i]) > 12.0))
        .max_by(|&a, &b| {
            let gap = |i: usize| {
                drawn
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, p)| p.distance(drawn[i]))
                    .fold(f32::MAX, f32::min)
            };
            gap(a).total_cmp(&gap(b))
        })
        .unwrap();
    (row, drawn)
}

/// A click on dev row `row`'s dot drawn `at` (press and release there) opens it in Samples.
fn click_opens_in_samples(h: &mut AppHarness, row: usize, at: egui::Pos2) {
    h.drag_at(at);
    h.step();
    h.drop_at(at);
    h.step();
    h.step();
    assert_eq!(h.state().settings.tab, Tab::Samples);
    assert_eq!(h.state().tabs.samples.grid.selected(), Some(row));
}

#[test]
fn hovering_a_dot_shows_its_digit_and_a_click_opens_it_in_samples() {
    let mut h = map_shown();
    let (row, drawn) = lonely_point(&h, 200);
    h.hover_at(drawn[row]);
    h.step();
    h.step();
    let wanted = format!("dev row {row}:");
    let tooltip = h.get_by_label_contains(&wanted);
    let text = format!("{tooltip:?}");
    let label = h.state().train_data().unwrap().split.dev.labels[row];
    assert!(text.contains(&label.to_string()), "{text}");
    h.get_by_label("Click to open it in Samples");
    h.get_by_label("Right-click (or Ctrl+click) to open it in Math");
    click_opens_in_samples(&mut h, row, drawn[row]);
    // The row's caption says what the model predicted: it waits for the dev set's predictions,
    // made off the UI thread (two frames were not always enough on a loaded machine).
    wait_for(&mut h, "the dev set's predictions", |app| app.evaluation().is_some());
    h.get_by_label_contains(&format!("Dev row {row}: true {label}"));
}

/// Waits until the Math tab shows dev row `row` of the dev set the map shows.
fn wait_for_math_on_row(h: &mut AppHarness, row: usize) {
    assert_eq!(h.state().settings.tab, Tab::Math);
    let image = h.state().train_data().unwrap().split.dev.image(row).to_vec();
    let label = h.state().train_data().unwrap().split.dev.labels[row];
    wait_for(h, "the Math tab on the row", |app| {
        app.tabs.math.shown().is_some_and(|r| r.input.first_row == Some(row))
    });
    let shown = h.state().tabs.math.shown().unwrap().clone();
    // The same dev row: its picture and label.
    assert_eq!(shown.input.pixels, image);
    assert_eq!(shown.input.labels, [label]);
    h.get_by_label_contains(&format!("dev row {row}"));
}

#[test]
fn a_right_click_or_ctrl_click_opens_a_dot_in_the_math_tab() {
    let mut h = map_shown();
    // Another dot than the first test's, away from its neighbours.
    let (row, drawn) = lonely_point(&h, 400);
    let at = drawn[row];
    h.hover_at(at);
    h.step();
    for pressed in [true, false] {
        h.input_mut().events.push(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Secondary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
        h.step();
    }
    h.step();
    h.get_by_label(&format!("Dev row {row}"));
    // The pointer goes to the menu: the row stays the one right-clicked.
    h.get_by_label("Open in Math").hover();
    h.step();
    h.get_by_label("Open in Math").click();
    h.step();
    h.step();
    wait_for_math_on_row(&mut h, row);

    // Ctrl+click on another dot, back on the map.
    h.get_by_label("Map").click();
    h.step();
    h.step();
    let (other, drawn) = lonely_point(&h, 150);
    let other = if other == row { (other + 1) % 150 } else { other };
    h.hover_at(drawn[other]);
    h.step();
    h.input_mut()
        .events
        .push(egui::Event::ModifiersChanged(egui::Modifiers::COMMAND));
    h.drag_at(drawn[other]);
    h.step();
    h.drop_at(drawn[other]);
    h.step();
    h.input_mut()
        .events
        .push(egui::Event::ModifiersChanged(egui::Modifiers::default()));
    h.step();
    wait_for_math_on_row(&mut h, other);
}

#[test]
fn another_layer_gives_another_projection() {
    let mut h = map_shown();
    let hidden = h.state().tabs.map.current_map().unwrap().1.to_vec();
    let model = h.state().model().unwrap().model.clone();
    // The last hidden layer by default.
    let last_hidden = MapLayer::Hidden(model.layers.len() - 2);
    assert_eq!(h.state().tabs.map.layer_for(&model), last_hidden);
    // Through the drop-down: open it and pick the output.
    h.get_by_role_and_label(Role::ComboBox, "Layer").click();
    h.step();
    h.step();
    h.step();
    h.get_by_label(&MapLayer::Output.describe(&model)).click();
    h.step();
    assert_eq!(h.state().tabs.map.layer, Some(MapLayer::Output));
    wait_for(&mut h, "the output's map", |app| {
        app.tabs
            .map
            .current_map()
            .is_some_and(|(_, c)| c.len() == hidden.len() && c != hidden.as_slice())
    });
    h.get_by_label_contains("Axes: the PCA of output (10 probabilities)");
}

#[test]
fn fixed_axes_stay_fixed_when_the_model_changes() {
    let mut h = map_shown();
    let (source, before) = {
        let (s, c) = h.state().tabs.map.current_map().unwrap();
        (s.to_owned(), c.to_vec())
    };
    h.get_by_label("Fix axes here").click();
    h.step();
    assert!(h.state().tabs.map.is_pinned());
    // Another model of the same shape (as a timeline or a run would show).
    let sizes = h.state().model().unwrap().model.sizes();
    h.state_mut().set_model(
        Mlp::new(&sizes, Init::He, 99),
        ModelInfo::default(),
        "a fresh network".into(),
    );
    wait_for_map_of_current_model(&mut h);
    let (pinned_source, pinned) = {
        let (s, c) = h.state().tabs.map.current_map().unwrap();
        (s.to_owned(), c.to_vec())
    };
    assert_eq!(
        pinned_source, source,
        "the axes still come from the state they were fixed at"
    );
    assert_ne!(pinned, before, "the points moved: the network changed");
    let model = h.state().model().unwrap().model.clone();
    let layer = h.state().tabs.map.layer_for(&model).describe(&model);
    h.get_by_label_contains(&format!("Axes fixed: the PCA of {layer} at embedded model"));
    // Unpinned, the axes are the new model's own PCA.
    h.get_by_label("Unpin axes").click();
    h.step();
    wait_for(&mut h, "the new model's own axes", |app| {
        app.tabs.map.current_map().is_some_and(|(s, _)| s == "a fresh network")
    });
}

/// Steps `frames` frames (a quarter of a second each on the harness's clock) and returns where
/// the map's points were drawn.
fn drawn_after(h: &mut AppHarness, frames: usize) -> Vec<egui::Pos2> {
    for _ in 0..frames {
        h.step();
    }
    h.state().tabs.map.drawn_points().to_vec()
}

/// The farthest any point moved between two drawings of the map (screen points).
fn largest_move(a: &[egui::Pos2], b: &[egui::Pos2]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(p, q)| p.distance(*q)).fold(0.0, f32::max)
}

#[test]
fn the_grand_tour_turns_the_view_pauses_and_resets_to_axes_one_and_two() {
    let mut h = map_shown();
    let start = drawn_after(&mut h, 3);
    assert_eq!(drawn_after(&mut h, 2), start, "an idle map stays where it is");
    h.get_by_label_contains("Axes 1 and 2.");
    assert!(h.query_by_label("PC1 axis").is_none(), "no handles on the plain map");

    h.get_by_label("Tour").click();
    let first = drawn_after(&mut h, 2);
    let second = drawn_after(&mut h, 2);
    assert!(largest_move(&start, &first) > 1.0, "the tour moves the points");
    assert!(largest_move(&first, &second) > 1.0, "and keeps moving them");
    h.get_by_label_contains("Grand tour through the top 6 principal axes");
    for axis in 1..=6 {
        h.get_by_label(&format!("PC{axis} axis"));
    }
    // The view's extent holds every frame: the points stay on the canvas as it turns.
    let canvas = h.get_by_label("class map").rect();
    assert!(second.iter().all(|p| canvas.expand(1.0).contains(*p)));

    // Off: the view freezes where it is.
    h.get_by_label("Tour").click();
    let paused = drawn_after(&mut h, 1);
    assert_eq!(drawn_after(&mut h, 3), paused, "a paused tour stays");
    assert!(largest_move(&start, &paused) > 1.0);
    h.get_by_label_contains("Grand tour through the top 6 principal axes; paused");

    // Reset view glides back to exactly the first picture.
    h.get_by_label("Reset view").click();
    let back = drawn_after(&mut h, 8);
    assert!(largest_move(&start, &back) < 1e-3, "{}", largest_move(&start, &back));
    h.get_by_label_contains("Axes 1 and 2.");
    assert!(h.query_by_label("PC1 axis").is_none());
}

#[test]
fn dragging_an_axis_end_steers_the_view_and_the_dots_still_answer_the_pointer() {
    let mut h = map_shown();
    h.get_by_label("Tour").click();
    let touring = drawn_after(&mut h, 3);
    // Axis 1's end, pulled up and to the left in a few moves.
    h.hover_at(h.get_by_label("PC1 axis").rect().center());
    h.step();
    // Pressed where the end was last drawn (it turns a little each frame).
    let tip = h.get_by_label("PC1 axis").rect().center();
    let to = tip + egui::vec2(-60.0, -80.0);
    h.drag_at(tip);
    h.step();
    // Where the end was when grabbed (the tour turned it a little since `tip` was read).
    let grabbed = h.get_by_label("PC1 axis").rect().center();
    assert!(grabbed.distance(tip) < 8.0);
    for i in 1..=4 {
        h.hover_at(tip + (to - tip) * (i as f32 / 4.0));
        h.step();
    }
    let held = drawn_after(&mut h, 1);
    let moved_tip = h.get_by_label("PC1 axis").rect().center();
    let expected = grabbed + (to - tip);
    assert!(
        moved_tip.distance(expected) < 1.0,
        "the end follows the pointer: {moved_tip:?} vs {expected:?}"
    );
    assert!(largest_move(&touring, &held) > 1.0, "the points move with the view");
    h.drop_at(to);
    let dropped = drawn_after(&mut h, 1);
    assert_eq!(drawn_after(&mut h, 3), dropped, "a drag pauses the tour");
    h.get_by_label_contains("; paused");

    // A dot on the steered view still shows its digit under the pointer and opens on a click.
    let handles: Vec<egui::Pos2> = (1..=6)
        .map(|axis| h.get_by_label(&format!("PC{axis} axis")).rect().center())
        .collect();
    let (row, drawn) = lonely_point_away_from(&h, 200, &handles);
    h.hover_at(drawn[row]);
    h.step();
    h.step();
    h.get_by_label_contains(&format!("dev row {row}:"));
    click_opens_in_samples(&mut h, row, drawn[row]);
}
