//! Time travel in the app: the timeline takes every view back to a checkpoint and Live brings
//! them back; a branch starts at its step and, with unchanged settings, ends as its parent; the
//! runs table sorts, renames, deletes, saves, opens and exports.

use std::sync::Arc;

use digit_recognizer::app::Tab;
use digit_recognizer::app::runs::table::{Column, TableAction};
use digit_recognizer::app::runs::timeline::TimelineAction;
use digit_recognizer::app::runs::{Kept, Position};
use digit_recognizer::network::Mlp;
use digit_recognizer::train::{Optimizer, TrainConfig};
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

use crate::common::app::{AppHarness, draw_seven, harness, tiny_config, wait_for, with_path};

/// Trains `config` to its end through the Train button.
fn train(h: &mut AppHarness, config: TrainConfig) {
    h.state_mut().settings.config = config;
    h.state_mut().settings.tab = Tab::Training;
    h.run_ok();
    h.get_by_label("Train").click();
    h.step();
    wait_for(h, "the run to finish", |app| !app.is_training());
}

/// Mini-batch Adam with dropout: every random stream matters for a bit-identical branch.
fn adam_config(iterations: usize) -> TrainConfig {
    TrainConfig {
        optimizer: Optimizer::Adam,
        alpha: 3e-3,
        batch_size: 64,
        dropout: 0.1,
        ..tiny_config(iterations)
    }
}

/// The kept checkpoint of run `id` nearest `step`.
fn checkpoint(h: &AppHarness, id: usize, step: usize) -> Kept {
    let record = h.state().runs().get(id).expect("the run is in the table");
    let at = record.nearest_step(step).expect("the run has checkpoints");
    record.checkpoint_at(at).unwrap().clone()
}

/// Steps frames until the views show the predictions of the checkpoint `kept`.
fn wait_for_checkpoint(h: &mut AppHarness, kept: &Kept) {
    let caption = format!("at step {} ", kept.step());
    wait_for(h, "the checkpoint's predictions", |app| {
        app.evaluation().is_some_and(|e| e.caption.contains(&caption))
    });
}

fn dev_pixels(h: &AppHarness) -> (Vec<u8>, Vec<u8>) {
    let dev = &h.state().train_data().unwrap().split.dev;
    (dev.pixels.clone(), dev.labels.clone())
}

#[test]
fn the_timeline_moves_every_view_and_live_snaps_back() {
    let mut h = harness();
    train(&mut h, tiny_config(40));
    let final_model = h.state().model().unwrap().model.clone();
    let runs = h.state().runs();
    assert_eq!(runs.records.len(), 1);
    let record = &runs.records[0];
    assert!(
        record.checkpoints.len() >= 10,
        "{} checkpoints",
        record.checkpoints.len()
    );
    assert_eq!(record.checkpoints.first().unwrap().step(), 0);
    assert_eq!(record.checkpoints.last().unwrap().step(), 40);
    assert_eq!(*record.checkpoints.last().unwrap().checkpoint.model, *final_model);
    let id = record.id;

    // Draw a 7 first: the Draw tab's reading must follow the timeline too.
    h.state_mut().settings.tab = Tab::Draw;
    h.run_ok();
    draw_seven(&mut h);
    h.run_ok();
    let live_probs = h.state().tabs.draw.canvas.prediction().unwrap().probs.clone();

    // Back to an early step: every view shows that checkpoint's model.
    let early = checkpoint(&h, id, 4);
    assert!(early.step() <= 6, "{}", early.step());
    h.state_mut().timeline_do(TimelineAction::Go { run: id, step: 4 });
    h.state_mut().settings.tab = Tab::Samples;
    wait_for_checkpoint(&mut h, &early);
    let shown = h.state().shown_model().unwrap();
    assert_eq!(*shown.model, *early.checkpoint.model);
    assert!(shown.caption.contains("timeline"), "{}", shown.caption);
    // The sample grid and the confusion matrix read the checkpoint's predictions.
    let (pixels, labels) = dev_pixels(&h);
    let expected = early.checkpoint.model.predict(&pixels);
    let eval = h.state().evaluation().unwrap();
    assert_eq!(eval.predictions, expected);
    assert_ne!(
        eval.predictions,
        final_model.predict(&pixels),
        "an early model errs differently"
    );
    let mistakes = expected.iter().zip(&labels).filter(|(p, l)| p != l).count();
    let confusion_mistakes: usize = (0..10)
        .flat_map(|t| (0..10).map(move |p| (t, p)))
        .filter(|(t, p)| t != p)
        .map(|(t, p)| eval.evaluation.confusion[t][p])
        .sum();
    assert_eq!(confusion_mistakes, mistakes);
    // The status bar says where the timeline is, on every tab.
    assert!(h.query_all_by_label_contains("Timeline").count() >= 1);
    // The weights tab shows it by name.
    h.state_mut().settings.tab = Tab::Weights;
    h.run_ok();
    assert!(
        h.query_by_label_contains(&format!("at step {} of 40 (timeline)", early.step()))
            .is_some(),
        "the weights say which model they show"
    );
    // Draw's prediction is the checkpoint's.
    h.state_mut().settings.tab = Tab::Draw;
    h.run_ok();
    let drawn = h.state().tabs.draw.canvas.prediction().unwrap().clone();
    let probs = early.checkpoint.model.predict_proba(&drawn.input);
    assert_eq!(drawn.probs, probs.row(0).to_vec());
    assert_ne!(drawn.probs, live_probs);
    // The curves carry a marker at that step.
    assert_eq!(h.state().tabs.training.plots.marker, None, "drawn only with the plots");
    h.state_mut().settings.tab = Tab::Training;
    h.run_ok();
    assert_eq!(h.state().tabs.training.plots.marker, Some((id, early.step())));

    // Live (the real button) snaps back to the final model.
    h.get_by_label("Live").click();
    h.run_ok();
    assert_eq!(h.state().runs().position, Position::Live);
    assert_eq!(*h.state().shown_model().unwrap().model, *final_model);
    h.state_mut().settings.tab = Tab::Samples;
    wait_for(&mut h, "the final model's predictions", |app| {
        app.evaluation()
            .is_some_and(|e| !e.caption.contains("timeline") && e.predictions == final_model.predict(&pixels))
    });
    h.state_mut().settings.tab = Tab::Draw;
    h.run_ok();
    assert_eq!(h.state().tabs.draw.canvas.prediction().unwrap().probs, live_probs);
}

#[test]
fn dragging_the_timeline_slider_goes_back_and_play_walks_forward() {
    let mut h = harness();
    // A short run: Play shows each checkpoint for `PLAY_STEP` (350 ms), 11.5 s for 30 steps.
    train(&mut h, tiny_config(8));
    let id = h.state().runs().records[0].id;
    // Drag the slider's handle to its far left: the first checkpoint, step 0.
    let slider = h.get_by_role_and_label(Role::Slider, "step").rect();
    h.hover_at(slider.right_center() - egui::vec2(2.0, 0.0));
    h.step();
    h.drag_at(slider.right_center() - egui::vec2(2.0, 0.0));
    h.step();
    h.hover_at(slider.left_center());
    h.step();
    h.drop_at(slider.left_center());
    h.run_ok();
    assert_eq!(h.state().runs().position, Position::At { run: id, step: 0 });
    // Play walks through the checkpoints to the end.
    h.get_by_label("Play").click();
    wait_for(&mut h, "Play to reach the end", |app| {
        app.runs().position == Position::At { run: id, step: 8 } && !app.runs().timeline.playing
    });
}

#[test]
fn a_branch_starts_at_its_step_and_with_unchanged_settings_ends_as_its_parent() {
    let mut h = harness();
    train(&mut h, adam_config(40));
    let parent_model = h.state().model().unwrap().model.clone();
    let parent = h.state().runs().records[0].id;
    let at = checkpoint(&h, parent, 17);
    h.state_mut().timeline_do(TimelineAction::Go {
        run: parent,
        step: at.step(),
    });
    h.run_ok();
    h.get_by_label("Train from here").click();
    h.step();
    assert!(h.state().is_training());
    wait_for(&mut h, "the branch to finish", |app| !app.is_training());
    assert_eq!(h.state().error(), None);
    let runs = h.state().runs();
    assert_eq!(runs.records.len(), 2);
    let branch = &runs.records[1];
    let p = branch.parent.as_ref().expect("a branch names its parent");
    assert_eq!((p.id, p.step), (parent, at.step()));
    // Bit for bit the parent's end.
    assert_eq!(*h.state().model().unwrap().model, *parent_model);
    assert_eq!(*branch.checkpoints.last().unwrap().checkpoint.model, *parent_model);
    // Its curve starts at the branch step, drawn as a branch with its parent named.
    let plots = &h.state().tabs.training.plots;
    let curve = plots.runs.iter().find(|r| r.number == branch.id).unwrap();
    assert_eq!(curve.loss[0][0], at.step() as f64);
    assert!(curve.loss.iter().all(|p| p[0] >= at.step() as f64));
    assert!(curve.branch);
    assert!(
        curve.label.contains(&format!("(from run #{parent} @ {})", at.step())),
        "{}",
        curve.label
    );
    assert_eq!(branch.steps(), 40);

    // Alpha x3 from the same step: another end, both in the table.
    let mut config = adam_config(40);
    config.alpha *= 3.0;
    h.state_mut().settings.config = config;
    h.state_mut().timeline_do(TimelineAction::Go {
        run: parent,
        step: at.step(),
    });
    h.run_ok();
    h.get_by_label("Train from here").click();
    h.step();
    wait_for(&mut h, "the second branch", |app| !app.is_training());
    assert_ne!(*h.state().model().unwrap().model, *parent_model);
    assert_eq!(h.state().runs().records.len(), 3);
    assert!(
        h.query_all_by_label_contains("run #3").count() >= 1,
        "the table lists the branch"
    );

    // Another architecture cannot branch: the button says why.
    let mut other = adam_config(40);
    other.hidden = vec![8];
    h.state_mut().settings.config = other;
    h.state_mut().timeline_do(TimelineAction::Go {
        run: parent,
        step: at.step(),
    });
    h.run_ok();
    h.state_mut().timeline_do(TimelineAction::TrainFromHere);
    h.run_ok();
    assert!(!h.state().is_training());
    let error = h.state().error().unwrap_or_default().to_owned();
    assert!(error.contains("hidden layers"), "{error}");
}

#[test]
fn the_runs_table_sorts_renames_deletes_and_exports() {
    let mut h = harness();
    let mut slow = tiny_config(20);
    slow.alpha = 0.01;
    train(&mut h, slow);
    train(&mut h, tiny_config(20));
    let dev = |h: &AppHarness, id| h.state().runs().get(id).unwrap().final_dev().unwrap();
    let (a, b) = (1, 2);
    assert!(dev(&h, b) > dev(&h, a), "alpha 0.1 learns faster than 0.01");
    // Sort by final dev accuracy (the header's button): best first, then reversed.
    h.get_by_label("final dev").click();
    h.run_ok();
    assert_eq!(h.state().tabs.training.table.sort, Column::FinalDev);
    assert_eq!(h.state().tabs.training.table.order(h.state().runs()), [b, a]);
    h.get_by_label("final dev v").click();
    h.run_ok();
    assert_eq!(h.state().tabs.training.table.order(h.state().runs()), [a, b]);
    h.get_by_label("#").click();
    h.run_ok();
    h.get_by_label("loss").click();
    h.run_ok();
    assert_eq!(
        h.state().tabs.training.table.order(h.state().runs()),
        [b, a],
        "lowest loss first"
    );

    // Select, rename (the real widgets).
    h.get_by_label("run #1").click();
    h.run_ok();
    h.get_by_label("Rename").click();
    h.run_ok();
    h.get_by_role_and_label(Role::TextInput, "New name").type_text(" slow");
    h.run_ok();
    h.get_by_label("OK").click();
    h.run_ok();
    assert_eq!(h.state().runs().get(a).unwrap().name, "run #1 slow");
    let curve = &h.state().tabs.training.plots.runs[0];
    assert!(curve.label.starts_with("run #1 slow"), "{}", curve.label);

    // Hide run 2's curves and show them again.
    h.state_mut().table_do(TableAction::Show(b, false));
    assert!(h.state().tabs.training.plots.runs[1].hidden);
    h.state_mut().table_do(TableAction::Show(b, true));
    assert!(!h.state().tabs.training.plots.runs[1].hidden);

    // Export the table as CSV through the path field.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("runs.csv");
    with_path(&mut h, "Export runs table", &csv);
    wait_for(&mut h, "the export", |app| !app.busy());
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("run,name,config,parent,branch_step,best_dev_accuracy"));
    assert!(lines[1].starts_with("2,run #2,"), "{text}");
    assert!(lines[2].starts_with("1,run #1 slow,"), "{text}");
    assert!(lines[2].contains(&dev(&h, a).to_string()), "{text}");
    // Never onto the data it read: the training CSV stays as it was.
    // (The embedded sample has no file; a labelled CSV of the user's asks before replacing.)
    std::fs::write(dir.path().join("mine.csv"), "label,pixel0\n1,0\n").unwrap();
    with_path(&mut h, "Export runs table", &dir.path().join("mine.csv"));
    wait_for(&mut h, "the check", |app| !app.busy());
    assert!(
        h.state().replace_question().is_some(),
        "asks before replacing a file of the user's"
    );

    // Delete the slow run: its row, curves and checkpoints go.
    h.state_mut().table_do(TableAction::Delete(a));
    h.run_ok();
    assert!(h.state().runs().get(a).is_none());
    assert!(h.state().tabs.training.plots.runs.iter().all(|r| r.number != a));
}

#[test]
fn a_saved_run_opens_with_its_checkpoints_curve_and_name() {
    let mut h = harness();
    train(&mut h, adam_config(24));
    let id = h.state().runs().records[0].id;
    h.get_by_label("run #1").click();
    h.run_ok();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("my run");
    with_path(&mut h, "Save run", &folder);
    wait_for(&mut h, "the save", |app| !app.busy());
    assert_eq!(h.state().error(), None);
    assert!(folder.join("run.json").is_file());
    let saved = h.state().runs().get(id).unwrap().clone();
    assert!(folder.join(format!("step-{:06}.safetensors", 24)).is_file());

    with_path(&mut h, "Open run", &folder);
    wait_for(&mut h, "the run to open", |app| app.runs().records.len() == 2);
    assert_eq!(h.state().error(), None);
    let opened = &h.state().runs().records[1];
    assert_eq!(opened.name, saved.name);
    assert_eq!(opened.config, saved.config);
    assert_eq!(opened.reports, saved.reports);
    assert_eq!(opened.final_dev(), saved.final_dev());
    let steps = |r: &digit_recognizer::app::runs::RunRecord| r.checkpoints.iter().map(Kept::step).collect::<Vec<_>>();
    assert_eq!(steps(opened), steps(&saved));
    for (a, b) in opened.checkpoints.iter().zip(&saved.checkpoints) {
        let (a, b) = (&a.checkpoint, &b.checkpoint);
        assert_eq!((a.step, a.total_steps), (b.step, b.total_steps));
        assert_eq!(*a.model, *b.model);
        assert_eq!(a.optimizer, b.optimizer, "step {}", a.step);
        // The loss sums pass through JSON in the checkpoint file, whose f64 parsing may
        // differ in the last bit (serde_json without `float_roundtrip`): all else is exact.
        let (mut pa, mut pb) = (a.position.clone(), b.position.clone());
        for (x, y) in [
            (&mut pa.since_report.loss_sum, &mut pb.since_report.loss_sum),
            (&mut pa.last_stats.loss_sum, &mut pb.last_stats.loss_sum),
        ] {
            assert!(
                (*x - *y).abs() <= 1e-12 * x.abs().max(1.0),
                "step {}: {x} vs {y}",
                a.step
            );
            *x = *y;
        }
        assert_eq!(pa, pb, "step {}", a.step);
        assert_eq!(a.config, b.config, "step {}", a.step);
        assert_eq!(a.data, b.data, "step {}", a.step);
    }
    // Its curves are on the plot, and the timeline scrubs it.
    assert!(h.state().tabs.training.plots.runs.iter().any(|r| r.number == opened.id));
    let opened_id = opened.id;
    let mid: Arc<Mlp> = opened.checkpoints[opened.checkpoints.len() / 2]
        .checkpoint
        .model
        .clone();
    let step = opened.checkpoints[opened.checkpoints.len() / 2].step();
    h.state_mut().timeline_do(TimelineAction::Go { run: opened_id, step });
    h.run_ok();
    assert_eq!(*h.state().shown_model().unwrap().model, *mid);

    // A folder of something else is refused with a message, and nothing is added.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    with_path(&mut h, "Open run", &other);
    wait_for(&mut h, "the refusal", |app| !app.busy());
    let error = h.state().error().unwrap_or_default().to_owned();
    assert!(error.contains("not a saved run"), "{error}");
    // Saving into it is refused too: the notes stay.
    h.state_mut().table_do(TableAction::Select(id));
    h.run_ok();
    with_path(&mut h, "Save run", &other);
    wait_for(&mut h, "the refusal", |app| !app.busy());
    let error = h.state().error().unwrap_or_default().to_owned();
    assert!(error.contains("notes.txt"), "{error}");
    assert_eq!(std::fs::read_to_string(other.join("notes.txt")).unwrap(), "mine");
    assert_eq!(h.state().runs().records.len(), 2);
}

#[test]
fn a_folder_the_command_line_wrote_opens_as_a_run() {
    let mut h = harness();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cli-run");
    let out = crate::common::cli::bin()
        .args([
            "train",
            "--iterations",
            "20",
            "--checkpoint-every",
            "5",
            "--checkpoints",
        ])
        .arg(&folder)
        .arg("--out")
        .arg(dir.path().join("final.safetensors"))
        .output()
        .unwrap();
    crate::common::cli::ok(out);
    let last = digit_recognizer::model_file::load(&dir.path().join("final.safetensors"))
        .unwrap()
        .0;

    h.state_mut().settings.tab = Tab::Training;
    with_path(&mut h, "Open run", &folder);
    wait_for(&mut h, "the run to open", |app| app.runs().records.len() == 1);
    assert_eq!(h.state().error(), None);
    let record = &h.state().runs().records[0];
    assert_eq!(record.name, "cli-run");
    let steps: Vec<usize> = record.checkpoints.iter().map(Kept::step).collect();
    assert_eq!(steps, [0, 5, 10, 15, 20]);
    assert_eq!(*record.checkpoints[4].checkpoint.model, last);
    assert_eq!(record.total_steps, 20);
    assert_eq!(
        record.reports.len(),
        4,
        "a point of the curve per checkpoint after step 0"
    );
    let id = record.id;
    let middle = record.checkpoints[2].checkpoint.model.clone();
    assert!(h.state().tabs.training.plots.runs.iter().any(|r| r.number == id));
    // The timeline scrubs it like a run of the session.
    h.state_mut().timeline_do(TimelineAction::Go { run: id, step: 12 });
    h.run_ok();
    assert_eq!(h.state().runs().position, Position::At { run: id, step: 10 });
    assert_eq!(*h.state().shown_model().unwrap().model, *middle);
}
