//! Teaching the app your handwriting, driven through its widgets: labelling drawings by key and
//! by button, My digits surviving a restart (and an unreadable file never overwritten), relabel
//! and delete, import and dropped pictures, fine-tuning with live curves, and Undo. Files that
//! are not My digits (other data sets, other sizes) are refused with their line, the last edit
//! is on disk at exit, and two windows on one folder lose neither's digits.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use common::app::{AppHarness, Dropped, draw_seven, harness_with, wait_for};
use common::sample;
use digit_recognizer::app::test_support::FakePicker;
use digit_recognizer::app::{StartupFiles, Tab};
use digit_recognizer::data::{Dataset, PIXELS, SIDE};
use digit_recognizer::embedded;
use digit_recognizer::finetune::Phase;
use digit_recognizer::my_digits::MyDigits;
use egui_kittest::kittest::Queryable;

fn app_in(dir: &Path, picker: Arc<FakePicker>) -> AppHarness {
    let files = StartupFiles {
        data_dir: Some(dir.to_path_buf()),
        ..StartupFiles::default()
    };
    let mut h = harness_with(files, picker);
    wait_for(&mut h, "My digits to be read", |app| app.my_digits().is_some());
    h
}

fn my_digits_file(dir: &Path) -> std::path::PathBuf {
    dir.join("my_digits.csv")
}

/// Waits until the saved file holds `n` digits.
fn wait_saved(h: &mut AppHarness, dir: &Path, n: usize) {
    let path = my_digits_file(dir);
    wait_for(h, "My digits to be saved", |_| {
        MyDigits::load(&path).is_ok_and(|d| d.len() == n)
    });
}

/// Steps frames until a widget whose label contains `text` shows.
fn wait_for_text(h: &mut AppHarness, text: &str) {
    let start = std::time::Instant::now();
    while h.query_all_by_label_contains(text).next().is_none() {
        assert!(start.elapsed() < common::app::PATIENCE, "{text:?} never showed");
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn open_draw_tab(h: &mut AppHarness) {
    h.state_mut().settings.tab = Tab::Draw;
    h.run_ok();
}

/// The "This is a:" button for `digit`.
fn click_label_button(h: &mut AppHarness, digit: u8) {
    h.get_by_label(&format!("This is a {digit}")).click();
    h.step();
}

#[test]
fn drawings_are_labelled_by_key_and_by_button_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
        open_draw_tab(&mut h);
        draw_seven(&mut h);
        wait_for(&mut h, "the prediction", |app| {
            app.tabs.draw.canvas.prediction().is_some()
        });
        let seen = h.state().tabs.draw.canvas.prediction().unwrap().input;
        // The number key labels it.
        h.key_press(egui::Key::Num7);
        h.step();
        h.step();
        let digits = h.state().my_digits().unwrap();
        assert_eq!(digits.len(), 1, "notice: {:?}", h.state().notice());
        assert_eq!(
            (digits.label(0), digits.image(0)),
            (7, &seen[..]),
            "what the network saw"
        );
        assert!(
            !h.state().tabs.draw.canvas.has_ink(),
            "the canvas clears for the next one"
        );
        assert!(h.state().notice().unwrap().contains("as a 7"));

        // A button labels the next one; a label other than the prediction is fine.
        draw_seven(&mut h);
        wait_for(&mut h, "the prediction", |app| {
            app.tabs.draw.canvas.prediction().is_some()
        });
        click_label_button(&mut h, 1);
        assert_eq!(h.state().my_digits().unwrap().len(), 2);
        assert_eq!(h.state().my_digits().unwrap().label(1), 1);
        assert!(
            h.state().notice().unwrap().contains("read it as 7"),
            "{:?}",
            h.state().notice()
        );
        // With nothing drawn the keys do nothing.
        h.key_press(egui::Key::Num3);
        h.run_ok();
        assert_eq!(h.state().my_digits().unwrap().len(), 2);
        wait_saved(&mut h, dir.path(), 2);
    }
    // A restart reads them back; the file is ordinary training data.
    let h = app_in(dir.path(), Arc::new(FakePicker::default()));
    let digits = h.state().my_digits().unwrap();
    assert_eq!((digits.len(), digits.label(0), digits.label(1)), (2, 7, 1));
    let text = std::fs::read_to_string(my_digits_file(dir.path())).unwrap();
    assert!(text.starts_with("label,pixel0,"));
}

#[test]
fn an_unreadable_file_is_kept_aside_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(my_digits_file(dir.path()), "label,pixel0\n3,oops\n").unwrap();
    let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
    let error = h.state().error().unwrap_or_default().to_owned();
    assert!(h.state().my_digits().unwrap().is_empty());
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("unreadable"))
        .collect();
    assert_eq!(aside.len(), 1);
    // The banner says what is wrong, where the file went and how to get it back.
    for part in [
        "could not be read",
        "my_digits.csv: line",
        &format!("moved to {}", aside[0].path().display()),
        &format!("rename the file back to {}", my_digits_file(dir.path()).display()),
    ] {
        assert!(error.contains(part), "{error:?} lacks {part:?}");
    }
    assert_eq!(
        std::fs::read_to_string(aside[0].path()).unwrap(),
        "label,pixel0\n3,oops\n",
        "the old file is intact"
    );
    // New digits are saved to a fresh file.
    open_draw_tab(&mut h);
    draw_seven(&mut h);
    wait_for(&mut h, "the prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some()
    });
    h.key_press(egui::Key::Num7);
    h.step();
    wait_saved(&mut h, dir.path(), 1);
}

/// Saves mirrored sample rows as My digits: a style the embedded model reads badly.
fn mirrored_digits(per_digit: usize) -> MyDigits {
    let data: &Dataset = sample();
    let mut taken = [0; 10];
    let mut digits = MyDigits::default();
    // Rows from the end of the sample: the app's dev split takes 1,000 rows chosen at random,
    // which may include these; that only makes the MNIST figure a little easier, not the test.
    for row in (0..data.rows()).rev() {
        let label = data.labels[row];
        if taken[label as usize] == per_digit {
            continue;
        }
        taken[label as usize] += 1;
        let src = data.image(row);
        let mut image = [0u8; PIXELS];
        for y in 0..SIDE {
            for x in 0..SIDE {
                image[y * SIDE + x] = src[y * SIDE + SIDE - 1 - x];
            }
        }
        digits.push(label, &image).unwrap();
    }
    digits
}

#[test]
fn finetune_shows_curves_installs_the_model_and_undo_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let digits = mirrored_digits(6);
    digits.save(&my_digits_file(dir.path())).unwrap();
    let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
    assert_eq!(h.state().my_digits().unwrap().len(), 60);
    h.state_mut().settings.tab = Tab::MyDigits;
    h.run_ok();
    let before = embedded::model().unwrap().0;
    let read_before = before.predict(&digits.dataset().pixels);
    let right_before = read_before
        .iter()
        .enumerate()
        .filter(|&(i, &p)| p == digits.label(i))
        .count();
    // The gallery marks the misread ones.
    wait_for_text(&mut h, &format!("The model reads {right_before} of 60 right"));

    h.get_by_label("Fine-tune on My digits").click();
    h.step();
    assert!(h.state().is_finetuning());
    wait_for(&mut h, "fine-tuning to end", |app| !app.is_finetuning());
    let report = h.state().finetune_report().expect("a report").clone();
    assert_eq!(report.mine_rows, 60);
    assert!(report.held_out_rows >= 10);
    assert!(
        report.mine_after.unwrap() > report.mine_before.unwrap(),
        "{}",
        report.summary()
    );
    let curve = h.state().finetune_curve();
    assert!(
        curve
            .iter()
            .any(|p| p.phase == Phase::Measure && p.mine_accuracy.is_some())
    );
    assert!(
        curve
            .iter()
            .any(|p| p.phase == Phase::Refit && p.mnist_accuracy.is_some())
    );
    let model = h.state().model().unwrap();
    assert_eq!(model.name, "embedded model + 60 of my digits");
    let right_after = model
        .model
        .predict(&digits.dataset().pixels)
        .iter()
        .enumerate()
        .filter(|&(i, &p)| p == digits.label(i))
        .count();
    assert!(right_after > right_before + 10, "{right_before} -> {right_after} of 60");
    wait_for_text(&mut h, "Fine-tuned: your held-out digits");
    let tuned = h.state().model().unwrap().model.clone();

    // A restart comes back to the fine-tuned model, with Undo.
    wait_for(&mut h, "the fine-tuned model to be kept", |_| {
        dir.path().join("finetuned.json").exists()
    });
    drop(h);
    let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
    wait_for(&mut h, "the fine-tuned model to be restored", |app| {
        app.can_undo_finetune()
    });
    assert_eq!(h.state().model().unwrap().name, "embedded model + 60 of my digits");
    assert!(h.state().model().unwrap().model == tuned);
    assert!(
        h.state().notice().unwrap().contains("Restored"),
        "{:?}",
        h.state().notice()
    );
    h.state_mut().settings.tab = Tab::MyDigits;
    h.run_ok();

    // Undo: the embedded model again, bit for bit.
    h.get_by_label("Undo fine-tuning").click();
    h.run_ok();
    assert_eq!(h.state().model().unwrap().name, "embedded model");
    assert!(*h.state().model().unwrap().model == before);
    assert!(!h.state().can_undo_finetune());
    // ... and stays after the next restart.
    wait_for(&mut h, "the kept model to be forgotten", |_| {
        !dir.path().join("finetuned.json").exists()
    });
    drop(h);
    let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
    h.run_ok();
    assert_eq!(h.state().model().unwrap().name, "embedded model");
    assert!(!h.state().can_undo_finetune());
}

#[test]
fn relabel_delete_import_and_dropped_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let mut digits = MyDigits::default();
    digits.push(3, sample().image(0)).unwrap();
    digits.push(5, sample().image(1)).unwrap();
    digits.save(&my_digits_file(dir.path())).unwrap();
    let picker = Arc::new(FakePicker::default());
    let mut h = app_in(dir.path(), picker.clone());
    h.state_mut().settings.tab = Tab::MyDigits;
    h.run_ok();
    // The model's readings arrive from a background thread and move the gallery down: wait
    // for them before clicking.
    wait_for_text(&mut h, "The model reads");
    // Relabel #1 as 8, then delete #2.
    h.get_by_label("my digit 1").click();
    h.run_ok();
    h.get_all_by_label("8").next().unwrap().click();
    h.run_ok();
    assert_eq!(h.state().my_digits().unwrap().label(0), 8);
    h.get_by_label("my digit 2").click();
    h.run_ok();
    h.get_by_label("Delete").click();
    h.run_ok();
    assert_eq!(h.state().my_digits().unwrap().len(), 1);
    wait_saved(&mut h, dir.path(), 1);

    // Import a picture list through the dialog.
    let pics = tempfile::tempdir().unwrap();
    let picture = digit_recognizer::preprocess::render_large(sample().image(2), 5, 150, 150, 5, 5, true);
    picture.save(pics.path().join("mine.png")).unwrap();
    std::fs::write(pics.path().join("labels.csv"), "file,label\nmine.png,4\n").unwrap();
    *picker.answer.lock().unwrap() = Some(pics.path().join("labels.csv"));
    h.get_by_label("Import...").click();
    wait_for(&mut h, "the import", |app| {
        app.my_digits().is_some_and(|d| d.len() == 2)
    });
    assert_eq!(h.state().my_digits().unwrap().label(1), 4);
    // A bad list imports nothing and says which line.
    std::fs::write(pics.path().join("bad.csv"), "file,label\nmine.png,4\nnone.png,2\n").unwrap();
    *picker.answer.lock().unwrap() = Some(pics.path().join("bad.csv"));
    h.get_by_label("Import...").click();
    wait_for(&mut h, "the failed import", |app| app.error().is_some());
    assert!(h.state().error().unwrap().contains("line 3"), "{:?}", h.state().error());
    assert_eq!(h.state().my_digits().unwrap().len(), 2);

    // A dropped picture waits for its label.
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(pics.path().join("mine.png"))));
    h.step();
    wait_for(&mut h, "the dropped picture", |app| app.unlabelled_pictures() == 1);
    h.get_by_label_contains("What digit is mine.png?");
    h.get_all_by_label("6").next().unwrap().click();
    h.run_ok();
    assert_eq!(h.state().unlabelled_pictures(), 0);
    assert_eq!(h.state().my_digits().unwrap().label(2), 6);
    wait_saved(&mut h, dir.path(), 3);

    // Export writes the same rows as a training CSV.
    let exported = pics.path().join("export.csv");
    *picker.answer.lock().unwrap() = Some(exported.clone());
    h.get_by_label("Export...").click();
    wait_for(&mut h, "the export", |_| exported.exists());
    assert_eq!(MyDigits::load(&exported).unwrap(), *h.state().my_digits().unwrap());
}

/// A training CSV of `side`x`side` images (blank ones) with these labels, header first: the
/// row with `labels[i]` is on line `i + 2`.
fn training_csv(side: usize, labels: &[u8]) -> String {
    let mut text = String::from("label");
    for p in 0..side * side {
        text.push_str(&format!(",pixel{p}"));
    }
    text.push('\n');
    for &label in labels {
        text.push_str(&format!("{label}{}\n", ",0".repeat(side * side)));
    }
    text
}

/// Imports `file` through the My digits tab's Import button and waits for the banner.
fn import_expecting_error(h: &mut AppHarness, picker: &FakePicker, file: &Path) -> String {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    *picker.answer.lock().unwrap() = Some(file.to_path_buf());
    h.get_by_label("Import...").click();
    wait_for(h, "the import to be refused", |app| {
        app.error().is_some_and(|e| e.contains(&name))
    });
    h.state().error().unwrap().to_owned()
}

fn two_digits() -> MyDigits {
    let mut digits = MyDigits::default();
    digits.push(3, sample().image(0)).unwrap();
    digits.push(5, sample().image(1)).unwrap();
    digits
}

#[test]
fn importing_another_data_set_names_the_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    two_digits().save(&my_digits_file(dir.path())).unwrap();
    let picker = Arc::new(FakePicker::default());
    let mut h = app_in(dir.path(), picker.clone());
    h.state_mut().settings.tab = Tab::MyDigits;
    h.run_ok();
    let files = tempfile::tempdir().unwrap();

    // Sign Language MNIST: 28x28, labels up to 24. The first one past 9 is on line 4.
    let sign = files.path().join("sign_mnist.csv");
    std::fs::write(&sign, training_csv(SIDE, &[1, 2, 24, 3, 17])).unwrap();
    let error = import_expecting_error(&mut h, &picker, &sign);
    for part in [
        "Nothing imported",
        "sign_mnist.csv",
        "line 4",
        "the label 24 is not a digit 0-9",
    ] {
        assert!(error.contains(part), "{error:?} lacks {part:?}");
    }
    // A typo in an otherwise good file: nothing of it is added either.
    let typo = files.path().join("typo.csv");
    std::fs::write(&typo, training_csv(SIDE, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 71])).unwrap();
    let error = import_expecting_error(&mut h, &picker, &typo);
    assert!(error.contains("typo.csv: line 12: the label 71"), "{error:?}");
    // 32x32 images.
    let big = files.path().join("big.csv");
    std::fs::write(&big, training_csv(32, &[1, 2])).unwrap();
    let error = import_expecting_error(&mut h, &picker, &big);
    assert!(error.contains("big.csv: line 1: the images are 32x32"), "{error:?}");

    // The app lives, and My digits (shown and saved) are as before.
    h.run_ok();
    assert_eq!(*h.state().my_digits().unwrap(), two_digits());
    assert_eq!(MyDigits::load(&my_digits_file(dir.path())).unwrap(), two_digits());
    wait_for_text(&mut h, "2 in all");
}

#[test]
fn a_collection_of_the_wrong_shape_at_startup_is_moved_aside_with_its_line() {
    for (what, text, expected) in [
        ("32x32 rows", training_csv(32, &[1, 2]), "line 1: the images are 32x32"),
        ("a label 24", training_csv(SIDE, &[1, 24]), "line 3: the label 24"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(my_digits_file(dir.path()), &text).unwrap();
        let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
        // The gallery draws (it panicked on 32x32 rows at every start).
        h.state_mut().settings.tab = Tab::MyDigits;
        h.run_ok();
        let error = h.state().error().unwrap_or_default().to_owned();
        assert!(
            error.contains(expected) && error.contains("moved to"),
            "{what}: {error:?}"
        );
        assert!(h.state().my_digits().unwrap().is_empty(), "{what}");
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("unreadable"))
            .collect();
        assert_eq!(aside.len(), 1, "{what}");
        assert_eq!(
            std::fs::read_to_string(aside[0].path()).unwrap(),
            text,
            "{what}: kept intact"
        );
    }
}

#[test]
fn a_digit_labelled_just_before_exit_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    // A big collection: its save takes long enough that exit would outrun it.
    let mut digits = MyDigits::default();
    for row in 0..4000 {
        digits.push(sample().labels[row], sample().image(row)).unwrap();
    }
    digits.save(&my_digits_file(dir.path())).unwrap();
    let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
    assert_eq!(h.state().my_digits().unwrap().len(), 4000);
    open_draw_tab(&mut h);
    draw_seven(&mut h);
    wait_for(&mut h, "the prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some()
    });
    h.key_press(egui::Key::Num7);
    h.step();
    assert_eq!(h.state().my_digits().unwrap().len(), 4001);
    // The window closes at once: eframe calls `on_exit`, then the process ends.
    eframe::App::on_exit(h.state_mut(), None);
    let saved = MyDigits::load(&my_digits_file(dir.path())).unwrap();
    assert_eq!(saved.len(), 4001, "the last digit is on disk when on_exit returns");
    assert_eq!(saved.label(4000), 7);
}

/// The commands the app gave its window in the last frame.
fn window_commands(h: &AppHarness) -> Vec<egui::ViewportCommand> {
    h.output().viewport_output[&egui::ViewportId::ROOT].commands.clone()
}

#[test]
fn closing_the_window_waits_for_the_save() {
    let dir = tempfile::tempdir().unwrap();
    let mut digits = MyDigits::default();
    for row in 0..4000 {
        digits.push(sample().labels[row], sample().image(row)).unwrap();
    }
    digits.save(&my_digits_file(dir.path())).unwrap();
    let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
    open_draw_tab(&mut h);
    draw_seven(&mut h);
    wait_for(&mut h, "the prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some()
    });
    // The user presses 7 and closes the window in the same frame (one input, one frame): the
    // close waits for the save...
    h.input_mut().events.push(egui::Event::Key {
        key: egui::Key::Num7,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::default(),
    });
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    h.step();
    assert!(
        window_commands(&h).contains(&egui::ViewportCommand::CancelClose),
        "{:?}",
        window_commands(&h)
    );
    assert!(
        h.state()
            .notice()
            .unwrap_or_default()
            .contains("Saving My digits before closing")
    );
    // ... and then closes the window, with the digit on disk.
    let start = std::time::Instant::now();
    while !window_commands(&h).contains(&egui::ViewportCommand::Close) {
        assert!(start.elapsed() < common::app::PATIENCE, "the window never closed");
        std::thread::sleep(std::time::Duration::from_millis(5));
        h.step();
    }
    assert_eq!(MyDigits::load(&my_digits_file(dir.path())).unwrap().len(), 4001);
}

#[test]
fn two_windows_on_one_folder_keep_both_windows_digits() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = app_in(dir.path(), Arc::new(FakePicker::default()));
    let mut second = app_in(dir.path(), Arc::new(FakePicker::default()));
    assert!(first.state().my_digits_read_only().is_none());
    let why = second
        .state()
        .my_digits_read_only()
        .expect("the second window is read-only")
        .to_owned();
    assert!(
        why.contains(&format!(
            "Another Digit Recognizer window (process {})",
            std::process::id()
        )),
        "{why}"
    );
    // The second window's panel says so.
    second.state_mut().settings.tab = Tab::MyDigits;
    second.run_ok();
    wait_for_text(&mut second, "read-only here");

    // The first window labels a 7; it is saved.
    open_draw_tab(&mut first);
    draw_seven(&mut first);
    wait_for(&mut first, "the prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some()
    });
    first.key_press(egui::Key::Num7);
    first.step();
    wait_saved(&mut first, dir.path(), 1);

    // The second one's label is refused with the reason, and writes nothing.
    open_draw_tab(&mut second);
    draw_seven(&mut second);
    wait_for(&mut second, "the prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some()
    });
    second.key_press(egui::Key::Num1);
    second.step();
    let error = second.state().error().unwrap_or_default().to_owned();
    assert!(error.contains("read-only"), "{error:?}");
    assert!(
        second.state().tabs.draw.canvas.has_ink(),
        "the drawing stays for another try"
    );
    assert_eq!(second.state().my_digits().unwrap().len(), 0);
    eframe::App::on_exit(second.state_mut(), None);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let saved = MyDigits::load(&my_digits_file(dir.path())).unwrap();
    assert_eq!((saved.len(), saved.label(0)), (1, 7), "the first window's digit stays");

    // Once the first window is closed, a new one holds the folder and adds to its digits.
    eframe::App::on_exit(first.state_mut(), None);
    drop(first);
    drop(second);
    let mut third = app_in(dir.path(), Arc::new(FakePicker::default()));
    assert!(third.state().my_digits_read_only().is_none());
    assert_eq!(third.state().my_digits().unwrap().len(), 1);
    open_draw_tab(&mut third);
    draw_seven(&mut third);
    wait_for(&mut third, "the prediction", |app| {
        app.tabs.draw.canvas.prediction().is_some()
    });
    third.key_press(egui::Key::Num1);
    third.step();
    wait_saved(&mut third, dir.path(), 2);
}

#[test]
fn many_dropped_pictures_are_decoded_two_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = app_in(dir.path(), Arc::new(FakePicker::default()));
    // Large pictures, so that decodes overlap if they run at once.
    let pics = tempfile::tempdir().unwrap();
    let count = 12;
    for i in 0..count {
        let picture = digit_recognizer::preprocess::render_large(sample().image(i), 60, 1800, 1800, 60, 60, true);
        picture.save(pics.path().join(format!("photo{i}.png"))).unwrap();
    }
    for i in 0..count {
        h.input_mut()
            .dropped_files
            .push(Arc::new(Dropped(pics.path().join(format!("photo{i}.png")))));
    }
    h.step();
    wait_for(&mut h, "every dropped picture", |app| {
        app.unlabelled_pictures() == count
    });
    let peak = h.state().peak_picture_decodes();
    assert!((1..=2).contains(&peak), "{peak} pictures were decoded at once");
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}
