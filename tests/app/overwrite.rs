//! The app never writes over the user's files (issue 20): Save model, Export submission, Export
//! curves, Save plot PNG and Export My digits refuse the files it has loaded (from the path field
//! and from a dialog), and ask before replacing any other existing file typed in the path field.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use common::app::{AppHarness, harness_with, tiny_config, wait_for, with_path};
use common::{sample_rows, write, write_csv};
use digit_recognizer::app::StartupFiles;
use digit_recognizer::app::test_support::FakePicker;
use digit_recognizer::data::DataKind;
use digit_recognizer::my_digits::MyDigits;
use digit_recognizer::train::TrainConfig;
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

/// Dismisses the error shown, if any: a refusal waited for is then a new one.
fn dismiss_error(h: &mut AppHarness) {
    if h.state().error().is_some() {
        h.get_by_label("Dismiss").click();
        h.step();
        h.step();
        assert_eq!(h.state().error(), None);
    }
}

/// Presses the path-field button `button` with `path` and waits for the refusal naming it.
fn refused(h: &mut AppHarness, button: &str, path: &Path, because: &str) {
    dismiss_error(h);
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

/// [`app_with_files`] with My digits (two digits) kept in `data_dir`, and one short run on the
/// plot: every export has something to write.
fn app_with_everything(train_csv: &Path, test_csv: &Path, data_dir: &Path) -> (AppHarness, Arc<FakePicker>) {
    let mut digits = MyDigits::default();
    digits.push(3, common::sample().image(0)).unwrap();
    digits.push(5, common::sample().image(1)).unwrap();
    digits.save(&data_dir.join("my_digits.csv")).unwrap();
    let picker = Arc::new(FakePicker::default());
    *picker.answer.lock().unwrap() = Some(train_csv.to_path_buf());
    let files = StartupFiles {
        test: Some(test_csv.to_path_buf()),
        data_dir: Some(data_dir.to_path_buf()),
        ..StartupFiles::default()
    };
    let mut h = harness_with(files, picker.clone());
    h.run_ok();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_for(&mut h, "the data and My digits", |app| {
        app.train_data().is_some_and(|d| d.name == "train.csv")
            && app.test_data().is_some()
            && app.my_digits().is_some_and(|d| d.len() == 2)
            && !app.busy()
    });
    h.state_mut().settings.config = TrainConfig {
        dev_size: 10,
        ..tiny_config(4)
    };
    h.run_ok();
    h.get_by_label("Train").click();
    h.step();
    wait_for(&mut h, "the run to finish", |app| !app.is_training() && !app.busy());
    assert!(!h.state().tabs.training.plots.runs.is_empty(), "a run is on the plot");
    (h, picker)
}

/// Presses the button `entry` (in the File menu if `menu`) with the dialog answering `path`;
/// waits for the refusal naming it.
fn refused_from_dialog(h: &mut AppHarness, picker: &FakePicker, menu: bool, entry: &str, path: &Path) -> String {
    dismiss_error(h);
    *picker.answer.lock().unwrap() = Some(path.to_path_buf());
    if menu {
        h.get_by_label("File").click();
        h.run_ok();
    }
    h.get_by_label(entry).click();
    let shown = path.display().to_string();
    wait_for(h, "the dialog export's refusal", |app| {
        !app.busy() && app.error().is_some_and(|e| e.contains(&shown))
    });
    h.state().error().unwrap().to_owned()
}

#[test]
fn curves_plot_and_my_digits_exports_never_write_onto_the_loaded_data() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = dir.path().join("train.csv");
    write_csv(&train_csv, &sample_rows(DataKind::Train, 0..60));
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..20));
    let data_dir = tempfile::tempdir().unwrap();
    let mine = data_dir.path().join("my_digits.csv");
    let (mut h, picker) = app_with_everything(&train_csv, &test_csv, data_dir.path());
    let read = |p: &Path| std::fs::read(p).unwrap();
    let (train_before, test_before, mine_before) = (read(&train_csv), read(&test_csv), read(&mine));

    for button in ["Export curves", "Save plot PNG", "Export my digits"] {
        refused(&mut h, button, &train_csv, "the training data loaded");
        refused(&mut h, button, &test_csv, "the test data loaded");
    }
    refused(&mut h, "Export my digits", &mine, "your My digits collection");
    refused(&mut h, "Export curves", &mine, "your My digits collection");
    // The plot export waits no more once refused: another one may start.
    refused(&mut h, "Save plot PNG", &mine, "your My digits collection");

    // A dialog's answer too (the plot's buttons and the File menu): its own overwrite question
    // is not enough for an input.
    let error = refused_from_dialog(&mut h, &picker, false, "Export curves (CSV)...", &train_csv);
    assert!(
        error.contains("is the training data loaded: a curves CSV is never written"),
        "{error}"
    );
    let error = refused_from_dialog(&mut h, &picker, true, "Export My digits (CSV)...", &train_csv);
    assert!(
        error.contains("is the training data loaded: My digits is never written"),
        "{error}"
    );
    let error = refused_from_dialog(&mut h, &picker, false, "Save plot (PNG)...", &test_csv);
    assert!(error.contains("is the test data loaded"), "{error}");

    assert_eq!(read(&train_csv), train_before, "the training CSV is intact");
    assert_eq!(read(&test_csv), test_before, "the test CSV is intact");
    assert_eq!(read(&mine), mine_before, "My digits are intact");
    assert_eq!(h.state().train_data().unwrap().dataset.rows(), 60);
    assert_eq!(h.state().my_digits().unwrap().len(), 2);
}

#[test]
fn curves_plot_and_my_digits_exports_ask_before_replacing_from_the_path_field() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = dir.path().join("train.csv");
    write_csv(&train_csv, &sample_rows(DataKind::Train, 0..60));
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..20));
    let data_dir = tempfile::tempdir().unwrap();
    let (mut h, _) = app_with_everything(&train_csv, &test_csv, data_dir.path());
    let notes = write(dir.path(), "notes.txt", b"shopping: milk, eggs\n");
    let notes_before = std::fs::read(&notes).unwrap();

    let ask = |h: &mut AppHarness, button: &str, path: &Path| {
        with_path(h, button, path);
        wait_for(h, "the question", |app| app.replace_question().is_some() && !app.busy());
        h.state().replace_question().unwrap().to_owned()
    };
    let keep = |h: &mut AppHarness| {
        h.get_by_label("Keep the file").click();
        wait_for(h, "the answer", |app| app.replace_question().is_none());
        assert!(h.state().notice().unwrap().contains("Nothing was written"));
    };
    for (button, noun) in [
        ("Export curves", "a curves CSV"),
        ("Save plot PNG", "a plot image"),
        ("Export my digits", "My digits"),
    ] {
        let question = ask(&mut h, button, &notes);
        assert_eq!(
            question,
            format!(
                "{} is a text file of another kind. Replace it with {noun}?",
                notes.display()
            )
        );
        keep(&mut h);
        assert_eq!(std::fs::read(&notes).unwrap(), notes_before, "kept as it was");
    }

    // Curves: written once confirmed; an earlier export is asked about too.
    ask(&mut h, "Export curves", &notes);
    h.get_by_label("Replace").click();
    wait_for(&mut h, "the curves", |app| {
        !app.busy() && app.notice().is_some_and(|n| n.starts_with("Wrote"))
    });
    assert!(std::fs::read_to_string(&notes).unwrap().starts_with("run,label,step,"));
    let question = ask(&mut h, "Export curves", &notes);
    assert!(question.contains("Replace it with a curves CSV?"), "{question}");
    keep(&mut h);

    // My digits onto another labelled CSV (an earlier export, or someone's training data): asked.
    let other = dir.path().join("other.csv");
    write_csv(&other, &sample_rows(DataKind::Train, 0..5));
    let question = ask(&mut h, "Export my digits", &other);
    assert!(
        question.contains("is a labelled training CSV") && question.ends_with("Replace it with My digits?"),
        "{question}"
    );
    keep(&mut h);
    assert_eq!(MyDigits::load(&other).map(|d| d.len()).ok(), Some(5), "kept");
    ask(&mut h, "Export my digits", &other);
    h.get_by_label("Replace").click();
    wait_for(&mut h, "the My digits export", |app| {
        !app.busy() && app.notice().is_some_and(|n| n.starts_with("Exported 2"))
    });
    assert_eq!(MyDigits::load(&other).map(|d| d.len()).ok(), Some(2), "replaced");

    // The plot: once confirmed, it goes on to the screenshot (which the headless harness
    // cannot take: nothing is written, and the app says so).
    let picture = write(dir.path(), "holiday.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let question = ask(&mut h, "Save plot PNG", &picture);
    assert!(
        question.ends_with("is a PNG picture. Replace it with a plot image?"),
        "{question}"
    );
    h.get_by_label("Replace").click();
    wait_for(&mut h, "the screenshot answer", |app| {
        !app.busy() && app.notice().is_some_and(|n| n.contains("no screenshot"))
    });
    assert!(h.state().replace_question().is_none());

    // A new file is written without a question.
    let fresh = dir.path().join("curves.csv");
    with_path(&mut h, "Export curves", &fresh);
    wait_for(&mut h, "the new curves file", |app| !app.busy() && fresh.exists());
    assert!(h.state().replace_question().is_none());
}
