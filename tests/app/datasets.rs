//! Issue 12 in the app: a data set other than the Digit Recognizer (32x32 images, labels 0-24
//! without 9, class names from classes.txt; EMNIST's transposed images) loads, trains, and shows
//! its class names in the sample captions, the confusion matrix, the probability bars and the
//! drawing's prediction.
use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::app::{AppHarness, draw_seven, harness, harness_with, tiny_config, wait_for, with_path};
use common::sample;
use digit_recognizer::app::test_support::FakePicker;
use digit_recognizer::app::{Job, StartupFiles};
use digit_recognizer::data::SIDE;
use egui_kittest::kittest::Queryable;

/// Sign Language MNIST's labels: A-Y without J (9), one per digit of the sample.
const LABELS: [u8; 10] = [0, 3, 6, 8, 10, 13, 16, 19, 22, 24];

/// Sample rows `0..rows` as a CSV: `label,pixel1..` with the digits centred on `side`x`side`
/// (transposed when `transposed`), labelled with [`LABELS`]; no header when `header` is false.
fn layout_csv(rows: usize, side: usize, transposed: bool, header: bool) -> String {
    let data = sample();
    let margin = (side - SIDE) / 2;
    let mut text = String::new();
    if header {
        let names: Vec<String> = (1..=side * side).map(|i| format!("pixel{i}")).collect();
        text += &format!("label,{}\n", names.join(","));
    }
    for row in 0..rows {
        let digit = data.image(row);
        let mut image = vec![0u8; side * side];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let (sx, sy) = if transposed { (y, x) } else { (x, y) };
                image[(y + margin) * side + x + margin] = digit[sy * SIDE + sx];
            }
        }
        let pixels: Vec<String> = image.iter().map(u8::to_string).collect();
        text += &format!("{},{}\n", LABELS[usize::from(data.labels[row])], pixels.join(","));
    }
    text
}

fn open(train: &Path) -> AppHarness {
    let files = StartupFiles {
        train: Some(train.to_owned()),
        ..StartupFiles::default()
    };
    let mut h = harness_with(files, Arc::new(FakePicker::default()));
    let name = train.file_name().unwrap().to_string_lossy().into_owned();
    wait_for(&mut h, "the file to load", |app| {
        app.train_data().is_some_and(|d| d.name == name)
    });
    h
}

fn train(h: &mut AppHarness) {
    let mut config = tiny_config(30);
    config.dev_size = 200;
    h.state_mut().settings.config = config;
    h.run_ok();
    h.get_by_label("Train").click();
    h.step();
    wait_for(h, "the run to finish", |app| !app.is_training());
    wait_for(h, "its predictions", |app| app.evaluation().is_some_and(|e| !e.live));
}

#[test]
fn other_sizes_and_labels_train_and_show_their_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sign.csv");
    std::fs::write(&csv, layout_csv(1200, 32, false, true)).unwrap();
    let letters: Vec<String> = ('A'..='Y')
        .map(|c| if c == 'J' { String::new() } else { c.to_string() })
        .collect();
    std::fs::write(dir.path().join("classes.txt"), letters.join("\n")).unwrap();
    let mut h = open(&csv);
    let data = h.state().train_data().unwrap();
    assert_eq!((data.dataset.side, data.class_names[24].as_str()), (32, "Y"));
    // The embedded 28x28 model cannot read it: said, and nothing is predicted.
    let notice = h.state().notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains("32x32 images (1024 pixels), but the model was trained on 28x28"),
        "{notice}"
    );
    assert!(h.state().evaluation().is_none());

    train(&mut h);
    let app = h.state();
    let model = app.model().unwrap();
    assert_eq!((model.model.inputs(), model.model.classes()), (1024, 25));
    assert_eq!(model.info.labels, LABELS.to_vec());
    assert_eq!(model.info.class_names, letters);
    let eval = app.evaluation().unwrap();
    assert_eq!((eval.probs[0].len(), eval.evaluation.confusion.len()), (25, 25));

    h.get_by_label("Samples").click();
    h.run_ok();
    // Captions name the classes; the matrix has a cell per label pair, the unused 9 included.
    let named = letters
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| h.query_all_by_label_contains(&format!("true {l}")).count())
        .sum::<usize>();
    assert!(named > 0, "the sample captions show the class names");
    h.get_by_label_contains("true 24, predicted 24:");
    h.get_by_label_contains("rows: true class, columns: predicted");

    h.get_by_label("Draw").click();
    h.run_ok();
    draw_seven(&mut h);
    let prediction = h
        .state()
        .tabs
        .draw
        .canvas
        .prediction()
        .expect("the drawing is classified")
        .clone();
    assert_eq!(prediction.probs.len(), 25);
    let shown = format!("Prediction: {} {}", prediction.digit, letters[prediction.digit]);
    h.get_by_label(&shown);
}

/// The transpose copies the whole data set (seconds for EMNIST's 700,000 rows): a job does it,
/// and the window keeps drawing meanwhile.
#[test]
fn the_transpose_runs_off_the_ui_thread() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("emnist.csv");
    std::fs::write(&csv, layout_csv(600, 28, true, false)).unwrap();
    let mut h = open(&csv);
    let before = h.state().train_data().unwrap().dataset.clone();
    let gate = h.state().hold_next(Job::Transpose);
    h.get_by_label("Transpose images (EMNIST)").click();
    for _ in 0..5 {
        h.step();
    }
    // Held on its thread: frames go on, the data is as before, and the status bar says why.
    let data = h.state().train_data().unwrap();
    assert!(!data.transposed && Arc::ptr_eq(&data.dataset, &before));
    h.get_by_label_contains("Transposing the images");
    // A second click while it runs starts no second transpose.
    h.get_by_label("Transpose images (EMNIST)").click();
    h.step();
    assert_eq!(h.state().state_for_tests().tasks, 1);
    gate.open();
    wait_for(&mut h, "the transposed images", |app| {
        app.train_data().is_some_and(|d| d.transposed) && !app.busy()
    });
    let data = h.state().train_data().unwrap();
    assert_eq!(data.dataset.image(0), sample().image(0));
}

#[test]
fn the_transpose_toggle_turns_emnist_images_upright_and_is_saved_with_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("emnist.csv");
    std::fs::write(&csv, layout_csv(600, 28, true, false)).unwrap();
    let mut h = open(&csv);
    assert!(!h.state().train_data().unwrap().transposed);
    h.get_by_label("Transpose images (EMNIST)").click();
    h.run_ok();
    // On a job: done within a few frames.
    wait_for(&mut h, "the transposed images", |app| {
        app.train_data().is_some_and(|d| d.transposed)
    });
    let data = h.state().train_data().unwrap();
    assert!(data.transposed);
    // Upright: the sample's own digit again.
    assert_eq!(data.dataset.image(0), sample().image(0));
    assert_eq!(data.split.dev.rows() + data.split.train.rows(), 600);
    train(&mut h);
    assert!(h.state().model().unwrap().info.transposed);
    let dev_accuracy = h.state().evaluation().unwrap().evaluation.accuracy;

    // A test file with ids, stored transposed like the training file: the submission turns its
    // images upright as the model's were, and keeps the file's ids.
    let data = sample();
    let mut test = format!(
        "id,{}\n",
        (0..SIDE * SIDE)
            .map(|i| format!("pixel{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for row in 1000..1300 {
        let digit = data.image(row);
        let transposed: Vec<String> = (0..SIDE * SIDE)
            .map(|i| digit[(i % SIDE) * SIDE + i / SIDE].to_string())
            .collect();
        test += &format!("t{row},{}\n", transposed.join(","));
    }
    let test_csv = dir.path().join("emnist-test.csv");
    std::fs::write(&test_csv, test).unwrap();
    with_path(&mut h, "Load test", &test_csv);
    wait_for(&mut h, "the test data", |app| app.test_data().is_some());
    let submission = dir.path().join("submission.csv");
    with_path(&mut h, "Export submission", &submission);
    wait_for(&mut h, "the export", |app| !app.busy());
    let text = std::fs::read_to_string(&submission).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        (lines[0], lines[1].split(',').next(), lines.len()),
        ("id,label", Some("t1000"), 301)
    );
    let right = lines[1..]
        .iter()
        .zip(1000..)
        .filter(|(line, row)| line.ends_with(&format!(",{}", LABELS[usize::from(data.labels[*row])])))
        .count();
    let accuracy = right as f32 / 300.0;
    assert!(
        accuracy > dev_accuracy - 0.15,
        "{accuracy} on the test file, {dev_accuracy} on dev"
    );
    // And back.
    h.get_by_label("Transpose images (EMNIST)").click();
    h.run_ok();
    wait_for(&mut h, "the images turned back", |app| !app.busy());
    assert!(!h.state().train_data().unwrap().transposed);
}

/// The sample's first `rows` digits as a CSV (lines 2..), labelled `relabel(row, digit)`, then
/// the `extra` lines.
fn digits_csv(dir: &Path, name: &str, rows: usize, relabel: impl Fn(usize, u8) -> u8, extra: &str) -> PathBuf {
    let mut data = sample().select(&(0..rows).collect::<Vec<_>>());
    for (row, label) in data.labels.iter_mut().enumerate() {
        *label = relabel(row, *label);
    }
    let mut bytes = Vec::new();
    digit_recognizer::data::write_csv(&data, &mut bytes).unwrap();
    bytes.extend_from_slice(extra.as_bytes());
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_label_typo_is_warned_about_and_a_class_count_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let typo_row = format!("\n10,{}\n", vec!["0"; SIDE * SIDE].join(","));
    // 300 digits on lines 2-301, a blank line, the row labelled 10 on line 303.
    let typo = digits_csv(dir.path(), "typo.csv", 300, |_, digit| digit, &typo_row);
    let eleven = digits_csv(dir.path(), "eleven.csv", 330, |row, _| (row % 11) as u8, "");

    let mut h = harness();
    with_path(&mut h, "Load training", &typo);
    wait_for(&mut h, "the file to load", |app| {
        app.train_data().is_some_and(|d| d.name == "typo.csv")
    });
    let notice = h.state().notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains("typo.csv: label 10 has only 1 row (line 303): a typo?") && notice.contains("11 classes"),
        "{notice}"
    );
    // A real eleven-class data set loads as before, without the warning.
    with_path(&mut h, "Load training", &eleven);
    wait_for(&mut h, "the file to load", |app| {
        app.train_data().is_some_and(|d| d.name == "eleven.csv")
    });
    let notice = h.state().notice().unwrap_or_default().to_owned();
    assert!(
        notice.starts_with("Loaded eleven.csv") && !notice.contains("typo"),
        "{notice}"
    );

    // Classes set to 10: the typo is refused on load, naming its line, and the data stays.
    h.get_by_label("Classes: auto").click();
    h.step();
    assert_eq!(h.state().settings.class_count, Some(10));
    with_path(&mut h, "Load training", &typo);
    wait_for(&mut h, "the refusal", |app| app.error().is_some());
    let error = h.state().error().unwrap().to_owned();
    assert!(
        error.contains("typo.csv: line 303, column 1: label 10 is outside the 10 classes set"),
        "{error}"
    );
    assert_eq!(
        h.state().train_data().unwrap().name,
        "eleven.csv",
        "the data from before stays"
    );
}
