//! The app never writes over the user's files (issue 20): Save model and Export submission refuse
//! the files it has loaded (from the path field and from a dialog), and ask before replacing any
//! other existing file typed in the path field.

#![cfg(feature = "gui")]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::app::{AppHarness, harness_with, wait_for, with_path};
use common::{sample_rows, write, write_csv};
use digit_recognizer::app::StartupFiles;
use digit_recognizer::app::test_support::FakePicker;
use digit_recognizer::data::DataKind;
use digit_recognizer::write_guard::{FileKind, sniff};
use egui_kittest::kittest::Queryable;

/// The app after File > Open training CSV (a dialog answering `train_csv`), with `test_csv`
/// loaded at start. The path field then holds the training CSV's path.
fn app_with_files(train_csv: &Path, test_csv: &Path) -> (AppHarness, Arc<FakePicker>) {
    let picker = Arc::new(FakePicker::default());
    *picker.answer.lock().unwrap() = Some(train_csv.to_path_buf());
    let files = StartupFiles {
        test: Some(test_csv.to_path_buf()),
        ..StartupFiles::default()
    };
    let mut h = harness_with(files, picker.clone());
    h.run_ok();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for(&mut h, "the training and test data", |app| {
        app.train_data().is_some_and(|d| d.name == "train.csv") && app.test_data().is_some() && !app.busy()
    });
    assert_eq!(h.state().settings.path, train_csv.display().to_string());
    (h, picker)
}

/// Presses the path-field button `button` with `path` and waits for the refusal naming it.
fn refused(h: &mut AppHarness, button: &str, path: &Path, because: &str) {
    with_path(h, button, path);
    let shown = path.display().to_string();
    wait_for(h, "the refusal", |app| {
        !app.busy() && app.error().is_some_and(|e| e.contains(&shown))
    });
    let error = h.state().error().unwrap();
    assert!(error.contains(because), "{error}");
    assert!(error.contains("never written onto an input"), "{error}");
    assert!(
        h.state().replace_question().is_none(),
        "an input is never offered for replacing"
    );
}

#[test]
fn save_and_export_never_write_onto_the_loaded_data() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = dir.path().join("train.csv");
    write_csv(&train_csv, &sample_rows(DataKind::Train, 0..60));
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..20));
    let (train_before, test_before) = (std::fs::read(&train_csv).unwrap(), std::fs::read(&test_csv).unwrap());
    let (mut h, picker) = app_with_files(&train_csv, &test_csv);

    refused(&mut h, "Save model", &train_csv, "the training data loaded");
    refused(&mut h, "Export submission", &train_csv, "the training data loaded");
    refused(&mut h, "Export submission", &test_csv, "the test data loaded");
    // A dialog's answer too (its own overwrite question is not enough for an input).
    *picker.answer.lock().unwrap() = Some(train_csv.clone());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    let shown = train_csv.display().to_string();
    wait_for(&mut h, "the dialog save's refusal", |app| {
        !app.busy() && app.error().is_some_and(|e| e.contains(&shown))
    });
    let error = h.state().error().unwrap();
    assert!(
        error.contains("is the training data loaded: a model is never written"),
        "{error}"
    );

    assert_eq!(
        std::fs::read(&train_csv).unwrap(),
        train_before,
        "the training CSV is intact"
    );
    assert_eq!(std::fs::read(&test_csv).unwrap(), test_before, "the test CSV is intact");
    // The data and model stay.
    assert_eq!(h.state().train_data().unwrap().dataset.rows(), 60);
    assert!(h.state().model().is_some());
}

#[test]
fn replacing_another_file_from_the_path_field_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = dir.path().join("train.csv");
    write_csv(&train_csv, &sample_rows(DataKind::Train, 0..60));
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..20));
    let (mut h, _) = app_with_files(&train_csv, &test_csv);
    let notes = write(dir.path(), "notes.txt", b"shopping: milk, eggs\n");
    let before = std::fs::read(&notes).unwrap();

    let ask = |h: &mut AppHarness, button: &str, path: &Path| {
        with_path(h, button, path);
        wait_for(h, "the question", |app| app.replace_question().is_some() && !app.busy());
        h.state().replace_question().unwrap().to_owned()
    };
    let question = ask(&mut h, "Save model", &notes);
    assert_eq!(
        question,
        format!(
            "{} is a text file of another kind. Replace it with a model?",
            notes.display()
        )
    );
    h.get_by_label("Keep the file").click();
    wait_for(&mut h, "the answer", |app| app.replace_question().is_none());
    assert!(h.state().notice().unwrap().contains("Nothing was written"));
    assert_eq!(std::fs::read(&notes).unwrap(), before, "kept as it was");

    ask(&mut h, "Save model", &notes);
    h.get_by_label("Replace").click();
    wait_for(&mut h, "the save", |app| {
        !app.busy() && app.notice().is_some_and(|n| n.starts_with("Saved the model"))
    });
    assert_eq!(sniff(&notes), FileKind::Model);

    // A file of the same kind typed in the path field: asked too.
    let question = ask(&mut h, "Save model", &notes);
    assert!(
        question.contains("is a digit-recognizer model. Replace it with a model?"),
        "{question}"
    );
    h.get_by_label("Keep the file").click();
    wait_for(&mut h, "the answer", |app| app.replace_question().is_none());

    // The model saved there is now the open model's file: no submission goes onto it.
    with_path(&mut h, "Export submission", &notes);
    let shown = notes.display().to_string();
    wait_for(&mut h, "the refusal", |app| {
        !app.busy() && app.error().is_some_and(|e| e.contains(&shown))
    });
    assert!(h.state().error().unwrap().contains("is the open model's file"));
    assert!(h.state().replace_question().is_none());
    assert_eq!(sniff(&notes), FileKind::Model);

    // A submission onto a file of another kind: asked, and written when confirmed.
    let list = write(dir.path(), "todo.csv", b"when,what\nmonday,dentist\n");
    let question = ask(&mut h, "Export submission", &list);
    assert!(
        question.contains("is a text file of another kind. Replace it with a submission?"),
        "{question}"
    );
    h.get_by_label("Replace").click();
    wait_for(&mut h, "the export", |app| {
        !app.busy() && app.notice().is_some_and(|n| n.starts_with("Wrote 20 predictions"))
    });
    assert_eq!(sniff(&list), FileKind::Submission);
    // A new file is written without a question.
    let fresh = dir.path().join("submission.csv");
    with_path(&mut h, "Export submission", &fresh);
    wait_for(&mut h, "the new submission", |app| !app.busy() && fresh.exists());
    assert!(h.state().replace_question().is_none());
}
