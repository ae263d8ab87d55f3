//! The Math tab clicked through headless: a sample's step line by line, "Take this step" on the
//! sandbox (exactly W − α·dW, and the loss falls), "Use this model" and Undo, break-it switches
//! and Restore, a Z value taken apart, "Open in Math" from Samples, the drawing and a batch.

use crate::common;

use common::app::{AppHarness, draw_seven, harness, tall_harness, wait_for};
use digit_recognizer::app::Tab;
use digit_recognizer::app::tabs::math::breakdown::break_down;
use digit_recognizer::app::tabs::math::input::Source;
use digit_recognizer::network::Ablation;
use egui_kittest::kittest::{NodeT, Queryable};

/// The Math tab open on a dev row where the embedded model is unsure (a loss worth lowering).
fn math_tab_on_an_unsure_row(h: &mut AppHarness) -> usize {
    h.run_ok();
    let app = h.state();
    let model = app.model().unwrap().model.clone();
    let dev = &app.train_data().unwrap().split.dev;
    let row = (0..dev.rows())
        .find(|&r| {
            let p = model.predict_proba(dev.image(r));
            let y = usize::from(dev.label(r).unwrap());
            (0.05..0.9).contains(&p[(0, y)]) && digit_recognizer::network::argmax(p.row(0).as_slice().unwrap()) != 0
        })
        .expect("an unsure dev row");
    h.state_mut().tabs.math.open_dev_row(row);
    h.get_by_label("Math").click();
    h.run_ok();
    wait_for(h, "the trace", |app| app.tabs.math.shown().is_some());
    row
}

#[test]
fn a_step_by_hand_is_w_minus_alpha_dw_lowers_the_loss_and_can_be_used_and_undone() {
    let mut h = tall_harness(3200.0);
    let row = math_tab_on_an_unsure_row(&mut h);
    let first = h.state().tabs.math.shown().unwrap().clone();
    assert_eq!(first.input.caption, format!("dev row {row}"));
    // Every line of the notebook is on the tab, with the notebook's names and shapes.
    let layers = first.trace.layers.len();
    for n in 1..=layers {
        h.get_by_label_contains(&format!("Z{n} = W{n}·"));
        h.get_by_label_contains(&format!("dW{n} = 1/m·dZ{n}·"));
        h.get_by_label_contains(&format!("db{n} = 1/m·Σ dZ{n}"));
    }
    h.get_by_label_contains("A1 = ReLU(Z1)");
    h.get_by_label_contains(&format!("A{layers} = softmax(Z{layers})"));
    h.get_by_label_contains("loss = −1/m·Σ log");
    h.get_by_label("dX = W1^T·dZ1");
    h.get_by_label_contains("784×1 = (784×512)");
    h.get_by_label_contains("The notebook's db1 = 1/m·np.sum(dZ1)");

    // A small α: one step of α = 0.1 on a single digit takes this large network's loss to 0.
    h.state_mut().tabs.math.alpha = 0.002;
    h.run_ok();
    let alpha = h.state().tabs.math.alpha;
    h.get_by_label("Take this step").click();
    h.run_ok();
    {
        let math = &h.state().tabs.math;
        let sandbox = math.sandbox.as_ref().expect("a sandbox after the step");
        for (l, (after, (before, t))) in sandbox
            .model
            .layers
            .iter()
            .zip(first.model.layers.iter().zip(&first.trace.layers))
            .enumerate()
        {
            let expected_w = &before.w - &t.dw.mapv(|d| alpha * d);
            let expected_b = &before.b - &t.db.mapv(|d| alpha * d);
            assert_eq!(after.w, expected_w, "layer {l}: W − α·dW exactly");
            assert_eq!(after.b, expected_b, "layer {l}: b − α·db exactly");
        }
        // The app's model is not touched by the sandbox.
        assert_eq!(h.state().model().unwrap().model.layers[0].w, first.model.layers[0].w);
    }
    wait_for(&mut h, "the sandbox's trace", |app| {
        let math = &app.tabs.math;
        math.shown().unwrap().key.model == math.sandbox.as_ref().unwrap().version
    });
    let second = h.state().tabs.math.shown().unwrap().clone();
    assert!(
        second.trace.loss < first.trace.loss,
        "the loss fell: {} -> {}",
        first.trace.loss,
        second.trace.loss
    );
    let report = h.state().tabs.math.sandbox.as_ref().unwrap().last.clone().unwrap();
    assert_eq!(report.loss_before, first.trace.loss);
    assert!((report.loss_after - second.trace.loss).abs() < 1e-5);
    h.get_by_label_contains(&format!("loss {:.4} → {:.4}", report.loss_before, report.loss_after));
    // Again: gradient descent by hand, with its curve.
    h.get_by_label("Take this step").click();
    h.run_ok();
    let curve = h.state().tabs.math.sandbox.as_ref().unwrap().curve.clone();
    assert_eq!(curve.len(), 3);
    assert!(curve[2] < curve[1] && curve[1] < curve[0], "{curve:?}");

    // Use this model: the app's model becomes the sandbox; Undo brings the old one back.
    let stepped = h.state().tabs.math.sandbox.as_ref().unwrap().model.clone();
    let old_name = h.state().model().unwrap().name.clone();
    h.get_by_label("Use this model").click();
    h.run_ok();
    let model = h.state().model().unwrap();
    assert_eq!(model.model.layers, stepped.layers);
    assert_eq!(model.name, format!("{old_name} + 2 step(s) by hand"));
    assert!(
        h.state().tabs.math.sandbox.is_none(),
        "the sandbox follows the new model"
    );
    h.get_by_label("Undo \"Use this model\"").click();
    h.run_ok();
    let model = h.state().model().unwrap();
    assert_eq!(model.model.layers, first.model.layers);
    assert_eq!(model.name, old_name);
    assert!(h.query_by_label("Undo \"Use this model\"").is_none());
}

#[test]
fn break_it_changes_the_prediction_and_restore_puts_it_back() {
    let mut h = tall_harness(3200.0);
    math_tab_on_an_unsure_row(&mut h);
    let first = h.state().tabs.math.shown().unwrap().clone();
    let probabilities = first.trace.layers.last().unwrap().a.clone();
    // A unit off, through the panel's button (unit 0 of A1).
    h.get_by_label("Switch it off").click();
    h.run_ok();
    assert!(h.state().tabs.math.ablation.is_off(0, 0));
    let off = h.state().tabs.math.shown().unwrap().clone();
    assert!(off.unbroken.is_some());
    assert_eq!(
        off.trace.layers[0].z.column(0).to_vec(),
        vec![0.0],
        "Z1[0] is 0 when off"
    );
    // No biases, and the first layer's weights at 0: nothing reaches the output, so every class
    // gets 1/10 and the prediction is no longer what it was.
    h.get_by_label("Remove all biases (b = 0)").click();
    h.run_ok();
    let mut ablation = h.state().tabs.math.ablation.clone();
    assert!(ablation.biases_removed);
    ablation.set_scale(0, 0.0);
    h.state_mut().tabs.math.set_ablation(ablation);
    h.run_ok();
    let broken = h.state().tabs.math.shown().unwrap().clone();
    let p = broken.trace.layers.last().unwrap().a.row(0).to_vec();
    assert!(p.iter().all(|&v| (v - 0.1).abs() < 1e-6), "{p:?}");
    let before = digit_recognizer::network::argmax(probabilities.row(0).as_slice().unwrap());
    h.get_by_label_contains(&format!("Prediction: {before} ("));
    h.get_by_label_contains("→ 0 (10.0%)");
    assert!(
        h.query_by_label("Take this step").is_some(),
        "the button is there, disabled while broken"
    );
    h.get_by_label("Restore").click();
    h.run_ok();
    assert_eq!(h.state().tabs.math.ablation, Ablation::default());
    let restored = h.state().tabs.math.shown().unwrap().clone();
    assert!(restored.unbroken.is_none());
    assert_eq!(restored.trace.layers.last().unwrap().a, probabilities);
}

#[test]
fn a_z_value_opens_its_dot_product_which_sums_to_z() {
    let mut h = tall_harness(3200.0);
    math_tab_on_an_unsure_row(&mut h);
    let result = h.state().tabs.math.shown().unwrap().clone();
    // The first Z1 bar shown (the strongest unit of a wide layer).
    let label = h
        .get_all_by_label_contains("Z1 unit ")
        .find_map(|n| n.accesskit_node().label())
        .expect("Z1's bars");
    let unit: usize = label["Z1 unit ".len()..].parse().unwrap();
    h.get_by_label(&label).click();
    h.run_ok();
    assert_eq!(h.state().tabs.math.pinned, Some((0, unit)));
    h.get_by_label(&format!("How Z1[{unit}] is computed"));
    let z = result.trace.layers[0].z[(0, unit)];
    let layer = &result.model.layers[0];
    let parts = break_down(layer.w.column(unit), result.input.x.row(0), layer.b[unit], 10);
    assert!(
        (parts.shown_sum() - z).abs() <= 1e-4 * z.abs().max(1.0),
        "{parts:?} vs {z}"
    );
    h.get_by_label(&format!("Z1[{unit}] = Σ w·x + b = {z:.4}"));
    h.get_by_label(&format!("= {:.4}", parts.shown_sum()));
    // The terms are drawn over the image.
    h.get_by_label_contains("other terms");

    // Hovering a deeper Z shows the same in a tooltip.
    let label = h
        .get_all_by_label_contains("Z2 unit ")
        .find_map(|n| n.accesskit_node().label())
        .expect("Z2's bars");
    let unit: usize = label["Z2 unit ".len()..].parse().unwrap();
    let center = h.get_by_label(&label).rect().center();
    h.hover_at(center);
    let z = result.trace.layers[1].z[(0, unit)];
    let wanted = format!("Z2[{unit}] = Σ w·A1 + b = {z:.4}");
    for _ in 0..120 {
        h.step();
        if h.query_by_label(&wanted).is_some() {
            break;
        }
    }
    h.get_by_label(&wanted);
}

#[test]
fn a_sample_opens_in_math_and_the_drawing_and_a_batch_are_inputs() {
    let mut h = harness();
    wait_for(&mut h, "the dev predictions", |app| app.evaluation().is_some());
    h.get_by_label("Samples").click();
    h.run_ok();
    let label = h
        .get_all_by_label_contains("dev row ")
        .find_map(|n| n.accesskit_node().label())
        .unwrap();
    let row: usize = label["dev row ".len()..].parse().unwrap();
    h.get_by_label(&label).click();
    h.run_ok();
    h.get_by_label("Open in Math").click();
    h.run_ok();
    assert_eq!(h.state().settings.tab, Tab::Math);
    wait_for(&mut h, "the sample's trace", |app| app.tabs.math.shown().is_some());
    let shown = h.state().tabs.math.shown().unwrap().clone();
    assert_eq!(shown.input.caption, format!("dev row {row}"));
    let dev = &h.state().train_data().unwrap().split.dev;
    assert_eq!(shown.input.image(0), dev.image(row));

    // The drawing.
    h.get_by_label("Draw").click();
    h.run_ok();
    draw_seven(&mut h);
    let drawing = h.state().tabs.draw.canvas.prediction().unwrap().input;
    h.get_by_label("Math").click();
    h.run_ok();
    h.get_by_label("My drawing").click();
    h.run_ok();
    wait_for(&mut h, "the drawing's trace", |app| {
        app.tabs.math.shown().is_some_and(|r| r.input.caption == "your drawing")
    });
    let shown = h.state().tabs.math.shown().unwrap().clone();
    assert_eq!(shown.input.image(0), drawing.as_slice());

    // A mini-batch of m = 32 rows (traced off the UI thread for this 784-512-256-10 model).
    h.get_by_label("A mini-batch").click();
    h.run_ok();
    assert_eq!(h.state().tabs.math.input.source, Source::Batch);
    wait_for(&mut h, "the batch's trace", |app| {
        app.tabs.math.shown().is_some_and(|r| r.input.m() == 32)
    });
    let shown = h.state().tabs.math.shown().unwrap().clone();
    assert_eq!(shown.trace.layers[0].z.dim(), (32, 512));
    h.get_by_label_contains("Z1 = W1·X + b1");
    h.get_by_label_contains("512×32 = (512×784)·(784×32)");
}

#[test]
fn make_it_a_d_nudges_the_example_towards_the_digit() {
    let mut h = tall_harness(3200.0);
    math_tab_on_an_unsure_row(&mut h);
    let result = h.state().tabs.math.shown().unwrap().clone();
    let p = result.trace.layers.last().unwrap().a.row(0).to_vec();
    let predicted = digit_recognizer::network::argmax(&p);
    let target = (predicted + 1) % 10;
    h.state_mut().tabs.math.make_it.target = target;
    h.run_ok();
    h.get_by_label(&format!("Make it a {target}")).click();
    wait_for(&mut h, "the nudge", |app| app.tabs.math.make_it.result().is_some());
    let steps = h.state().tabs.math.make_it.result().unwrap().to_vec();
    assert_eq!(steps[0].pixels, result.input.image(0), "step 0 is the example");
    assert!(steps.len() >= 2, "at least one step taken");
    for pair in steps.windows(2) {
        assert!(pair[1].probabilities[target] >= pair[0].probabilities[target]);
    }
    let last = steps.last().unwrap();
    assert!(last.probabilities[target] > steps[0].probabilities[target] + 0.1);
    assert!(last.changed_pixels > 0);
    // Each step's image is on the tab, with the summary.
    for i in 0..steps.len() {
        h.get_by_label(&format!("nudge step {i}"));
    }
    h.get_by_label_contains(&format!("step(s): P({target}) = "));
}

/// The trace's time on the tab's path (`compute`: the switches, the trace), median of 15:
/// `cargo test --test app math::trace_times -- --ignored --nocapture`.
#[test]
#[ignore]
fn trace_times() {
    use digit_recognizer::app::tabs::math::compute::{MathKey, compute};
    use digit_recognizer::app::tabs::math::input::{InputSettings, Sources, input_key, prepare};
    use digit_recognizer::network::{Init, Mlp};
    use std::sync::Arc;
    let data = digit_recognizer::embedded::sample().unwrap();
    let split = data.split(500, 1);
    let fresh = |sizes: &[usize]| (format!("{sizes:?} He init"), Arc::new(Mlp::new(sizes, Init::He, 1)));
    let embedded = Arc::new(digit_recognizer::embedded::model().unwrap().0);
    for (name, model) in [
        fresh(&[784, 10, 10]),
        fresh(&[784, 512, 256, 10]),
        (format!("embedded {:?}", embedded.sizes()), embedded),
    ] {
        for m in [1, 256] {
            let settings = InputSettings {
                source: if m == 1 { Source::DevSample } else { Source::Batch },
                batch: m,
                ..InputSettings::default()
            };
            let sources = Sources {
                dev: Some((&split, 1)),
                drawing: None,
            };
            let key = input_key(&settings, &sources, 0);
            let input = Arc::new(prepare(&settings, &sources, &model, key).unwrap());
            let key = MathKey {
                model: 0,
                input: key,
                ablation: 0,
            };
            let mut times: Vec<f64> = (0..15)
                .map(|_| compute(key, &model, input.clone(), &Ablation::default()).seconds * 1000.0)
                .collect();
            let first = times[0];
            times.sort_by(f64::total_cmp);
            eprintln!(
                "{name} m = {m}: median {:.2} ms, min {:.2}, max {:.2}, first {first:.2}",
                times[7], times[0], times[14]
            );
        }
    }
}
