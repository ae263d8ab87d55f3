//! Teaching the model a new handwriting style: fine-tuning (core) on a synthetic style the
//! embedded model reads badly (mirrored digits), deterministic for a seed, cancellable; and the
//! `import-images` and `finetune` commands.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::cli::bin;
use common::{sample, write_csv};
use digit_recognizer::data::{Dataset, PIXELS, SIDE, Split};
use digit_recognizer::embedded;
use digit_recognizer::finetune::{FinetuneConfig, FinetuneEvent, Phase, finetune};
use digit_recognizer::my_digits::MyDigits;
use digit_recognizer::network::Mlp;
use digit_recognizer::train::{StopReason, TrainControl, accuracy};
use serde_json::Value;

/// Mirrors every image left to right: a "style" the model never saw (a mirrored 2, 3, 4, 7...).
fn mirrored(data: &Dataset) -> Dataset {
    let mut out = data.clone();
    for (dst, src) in out
        .pixels
        .chunks_exact_mut(PIXELS)
        .zip(data.pixels.chunks_exact(PIXELS))
    {
        for y in 0..SIDE {
            for x in 0..SIDE {
                dst[y * SIDE + x] = src[y * SIDE + SIDE - 1 - x];
            }
        }
    }
    out
}

/// The first `per_digit` rows of each digit.
fn first_of_each(data: &Dataset, per_digit: usize) -> Dataset {
    let mut taken = [0; 10];
    let rows: Vec<usize> = (0..data.rows())
        .filter(|&r| {
            let d = data.labels[r] as usize;
            taken[d] += 1;
            taken[d] <= per_digit
        })
        .collect();
    data.select(&rows)
}

/// The embedded sample split as the app splits it: 1,000 MNIST dev rows, 4,000 to replay.
fn replay_split() -> Split {
    sample().split(1000, 0)
}

fn base() -> Mlp {
    embedded::model().unwrap().0
}

#[test]
fn finetuning_learns_a_new_style_and_keeps_mnist() {
    let split = replay_split();
    // Ten mirrored drawings per digit, from rows the MNIST measure never sees.
    let mine = mirrored(&first_of_each(&split.train, 10));
    let other_writers = mirrored(&split.dev);
    let base = base();
    let before_style = accuracy(&base, &other_writers);
    let before_mnist = accuracy(&base, &split.dev);
    assert!(before_style < 0.75, "the style is new to the model: {before_style}");

    let mut progress = Vec::new();
    let (model, report) = finetune(
        &base,
        &mine,
        &split,
        &FinetuneConfig::default(),
        &TrainControl::new(),
        &mut |e| {
            if let FinetuneEvent::Progress(p) = e {
                progress.push(p.clone());
            }
        },
    )
    .unwrap();
    assert_eq!(report.stop, StopReason::Completed);
    let after_style = accuracy(&model, &other_writers);
    let after_mnist = accuracy(&model, &split.dev);
    eprintln!(
        "mirrored: {before_style} -> {after_style}; MNIST {before_mnist} -> {after_mnist}; {}",
        report.summary()
    );
    assert!(after_style > before_style + 0.10, "{before_style} -> {after_style}");
    assert!(
        after_mnist > before_mnist - 0.015,
        "MNIST {before_mnist} -> {after_mnist}"
    );
    assert_eq!(report.mnist_after, Some(after_mnist));
    // Measured on drawings the measuring run never trained on: 10 x 25%, 2-3 per digit.
    assert!((20..=30).contains(&report.held_out_rows), "{}", report.held_out_rows);
    let (before, after) = (report.mine_before.unwrap(), report.mine_after.unwrap());
    assert!(after > before, "held-out drawings {before} -> {after}");
    // Curves: both phases, from step 0, with the held-out accuracy only in the measuring one.
    let measure: Vec<_> = progress.iter().filter(|p| p.phase == Phase::Measure).collect();
    let refit: Vec<_> = progress.iter().filter(|p| p.phase == Phase::Refit).collect();
    assert!(measure.len() >= 10 && refit.len() >= 10);
    assert_eq!(measure[0].step, 0);
    assert!(
        measure
            .iter()
            .skip(1)
            .all(|p| p.mine_accuracy.is_some() && p.mnist_accuracy.is_some())
    );
    assert!(refit.iter().all(|p| p.mine_accuracy.is_none()));
}

#[test]
fn finetuning_repeats_for_a_seed_whatever_the_thread_count() {
    let split = replay_split();
    let mine = mirrored(&first_of_each(&split.train, 4));
    let base = base();
    // Short runs: the same code path as the defaults, a fraction of the time.
    let run = |seed, threads| {
        let config = FinetuneConfig {
            seed,
            threads,
            copies: 4,
            epochs: 1,
            ..FinetuneConfig::default()
        };
        finetune(&base, &mine, &split, &config, &TrainControl::new(), &mut |_| {})
            .unwrap()
            .0
    };
    let model = run(0, 2);
    assert!(model != base);
    assert!(run(0, 1) == model, "same seed, one thread: same model");
    assert!(run(1, 2) != model, "another seed: another model");
}

#[test]
fn a_cancelled_finetune_returns_the_model_unchanged() {
    let split = replay_split();
    let mine = mirrored(&first_of_each(&split.train, 3));
    let base = base();
    let control = TrainControl::new();
    let mut events = 0;
    let (model, report) = finetune(&base, &mine, &split, &FinetuneConfig::default(), &control, &mut |e| {
        if let FinetuneEvent::Progress(p) = e
            && p.step > 0
        {
            events += 1;
            control.cancel();
        }
    })
    .unwrap();
    assert_eq!(report.stop, StopReason::Cancelled);
    assert!(model == base);
    assert!(events >= 1);
}

#[test]
fn one_drawing_per_digit_is_not_held_out_and_still_learns() {
    let split = replay_split();
    let mine = mirrored(&first_of_each(&split.train, 1));
    let (_, report) = finetune(
        &base(),
        &mine,
        &split,
        &FinetuneConfig::default(),
        &TrainControl::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        (report.held_out_rows, report.mine_before, report.mine_after),
        (0, None, None)
    );
    assert!(report.summary().contains("too few to hold some out"));
    assert!(report.mnist_after.is_some());
}

#[test]
fn data_that_does_not_fit_a_digit_model_is_refused_before_any_work() {
    let split = replay_split();
    let mine = mirrored(&first_of_each(&split.train, 2));
    let base = base();
    let run = |mine: &Dataset, replay: &Split| {
        let mut events = 0;
        let result = finetune(
            &base,
            mine,
            replay,
            &FinetuneConfig::default(),
            &TrainControl::new(),
            &mut |_| events += 1,
        );
        (result.err(), events)
    };
    // Replaying another data set: sign-language letters up to 24.
    let mut letters = split.clone();
    letters.train.labels.iter_mut().for_each(|l| *l = (*l * 2 + 6).min(24));
    let (why, events) = run(&mine, &letters);
    assert_eq!(
        why.as_deref(),
        Some("the replayed training data have label 24; the model knows the digits 0 to 9")
    );
    assert_eq!(events, 0, "nothing ran");
    // A digit label out of range in the user's own rows.
    let mut bad = mine.clone();
    bad.labels[0] = 12;
    assert!(run(&bad, &split).0.unwrap().starts_with("your digits have label 12"));
    // A bad config.
    let config = FinetuneConfig {
        epochs: 0,
        ..FinetuneConfig::default()
    };
    let refused = finetune(&base, &mine, &split, &config, &TrainControl::new(), &mut |_| {});
    assert!(refused.is_err());
}

// ---- the commands ----

fn check(out: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(code), "stdout: {stdout}\nstderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

/// Writes rows of the sample as PNG pictures (dark ink on white, larger than 28x28, like a
/// scan) in `dir/pics/`, and returns their names and labels.
fn write_pictures(dir: &Path, rows: std::ops::Range<usize>) -> Vec<(String, u8)> {
    std::fs::create_dir_all(dir.join("pics")).unwrap();
    rows.map(|r| {
        let name = format!("pics/{r}.png");
        let image = digit_recognizer::preprocess::render_large(sample().image(r), 4, 120, 130, 5, 10, true);
        image.save(dir.join(&name)).unwrap();
        (name, sample().labels[r])
    })
    .collect()
}

#[test]
fn import_images_writes_training_data_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pictures = write_pictures(dir.path(), 0..12);
    let mut list = String::from("file,label\n");
    for (name, label) in &pictures {
        list += &format!("{name},{label}\n");
    }
    std::fs::write(dir.path().join("labels.csv"), &list).unwrap();
    let out = dir.path().join("mine.csv");
    let (_, stderr) = check(
        &bin()
            .arg("import-images")
            .arg(dir.path().join("labels.csv"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap(),
        0,
    );
    assert!(stderr.contains("12 pictures"), "{stderr}");
    let mine = MyDigits::load(&out).unwrap();
    assert_eq!(mine.len(), 12);
    let labels: Vec<u8> = (0..12).map(|i| mine.label(i)).collect();
    assert_eq!(labels, pictures.iter().map(|p| p.1).collect::<Vec<_>>());
    // Preprocessed as `classify` does: the embedded model reads nearly all of them.
    let model = base();
    let predictions = model.predict(&mine.dataset().pixels);
    let right = predictions.iter().zip(&labels).filter(|(p, l)| p == l).count();
    assert!(right >= 10, "{right} of 12");

    // Bad lists: an error naming the line, exit 1, nothing written (the old file stays).
    for (bad, expected) in [
        (format!("{list}pics/none.png,3\n"), "line 14"),
        (format!("{list}{},11\n", pictures[0].0), "line 14: the label \"11\""),
        ("file;label\n".to_owned(), "line 1"),
        (format!("{list}labels.csv,3\n"), "line 14: labels.csv"),
    ] {
        std::fs::write(dir.path().join("bad.csv"), bad).unwrap();
        let before = std::fs::read(&out).unwrap();
        let (_, stderr) = check(
            &bin()
                .arg("import-images")
                .arg(dir.path().join("bad.csv"))
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap(),
            1,
        );
        assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
        assert_eq!(std::fs::read(&out).unwrap(), before);
    }
}

#[test]
fn the_finetune_command_saves_a_model_that_reads_the_new_style() {
    let dir = tempfile::tempdir().unwrap();
    let split = replay_split();
    let mine_path = dir.path().join("mine.csv");
    write_csv(&mine_path, &mirrored(&first_of_each(&split.train, 10)));
    let held_path = dir.path().join("held.csv");
    write_csv(&held_path, &mirrored(&split.dev));
    let out = dir.path().join("tuned.safetensors");
    let (stdout, _) = check(
        &bin()
            .args(["finetune", "--json", "--epochs", "2", "--data"])
            .arg(&mine_path)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap(),
        0,
    );
    let json: Value = serde_json::from_str(stdout.trim()).unwrap();
    let report = &json["report"];
    assert_eq!(report["stop"]["status"], "completed");
    assert_eq!(report["mine_rows"], 100);
    assert_eq!(report["mnist_rows"], 1000, "the embedded sample's dev rows by default");
    assert_eq!(json["config"]["epochs"], 2);
    let accuracy_of = |model: Option<&Path>| {
        let mut cmd = bin();
        cmd.args(["eval", "--json", "--data"]).arg(&held_path);
        if let Some(model) = model {
            cmd.arg("--model").arg(model);
        }
        let (stdout, _) = check(&cmd.output().unwrap(), 0);
        serde_json::from_str::<Value>(stdout.trim()).unwrap()["accuracy"]
            .as_f64()
            .unwrap()
    };
    let (before, after) = (accuracy_of(None), accuracy_of(Some(&out)));
    assert!(after > before + 0.08, "{before} -> {after}");

    // Bad input: a clear error, no model written.
    let missing = dir.path().join("nope.csv");
    let out2 = dir.path().join("never.safetensors");
    let (_, stderr) = check(
        &bin()
            .args(["finetune", "--data"])
            .arg(&missing)
            .arg("--out")
            .arg(&out2)
            .output()
            .unwrap(),
        1,
    );
    assert!(stderr.contains("nope.csv"), "{stderr}");
    assert!(!out2.exists());
    let (_, stderr) = check(
        &bin()
            .args(["finetune", "--blend", "0", "--data"])
            .arg(&mine_path)
            .arg("--out")
            .arg(&out2)
            .output()
            .unwrap(),
        2,
    );
    assert!(stderr.contains("blend"), "{stderr}");
    // Replaying another data set (labels up to 24) is refused before any work.
    let mut letters = split.train.clone();
    letters.labels.iter_mut().for_each(|l| *l = (*l * 2 + 6).min(24));
    let letters_path = dir.path().join("letters.csv");
    write_csv(&letters_path, &letters);
    let (_, stderr) = check(
        &bin()
            .args(["finetune", "--data"])
            .arg(&mine_path)
            .arg("--replay")
            .arg(&letters_path)
            .arg("--out")
            .arg(&out2)
            .output()
            .unwrap(),
        1,
    );
    assert!(
        stderr.contains("have label 24; the model knows the digits 0 to 9"),
        "{stderr}"
    );
    assert!(!out2.exists());
}
