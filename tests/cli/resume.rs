//! `train --checkpoints DIR --checkpoint-every N` and `train --resume FILE` (issue 23): a run
//! resumed from its middle checkpoint ends bit-identical to the run that never stopped, for
//! full-batch gradient descent and for Adam mini-batches with dropout and shifts; bad
//! checkpoints and incompatible flags are refused, naming what differs.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{assert_no_panic, bin, fails, ok, stderr, stdout};
use common::{csv_of, write};
use digit_recognizer::checkpoint_file;
use digit_recognizer::data::DataKind;
use digit_recognizer::model_file;
use digit_recognizer::network::Mlp;

fn train(args: &[&str], extra: &[&Path]) -> Output {
    bin()
        .arg("train")
        .args(args)
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn model(path: &Path) -> Mlp {
    model_file::load(path).unwrap_or_else(|e| panic!("{e}")).0
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Trains with `settings` writing checkpoints every `every` steps into `dir/checkpoints`, then
/// resumes from each checkpoint before the last with the same settings (and another thread
/// count) and checks the final model is the uninterrupted one, bit for bit.
fn resumes_exactly(dir: &Path, settings: &[&str], every: &str, expected: &[&str]) {
    let (full, checkpoints) = (dir.join("full.safetensors"), dir.join("checkpoints"));
    let mut args = settings.to_vec();
    args.extend(["--threads", "2", "--checkpoint-every", every, "--checkpoints"]);
    let out = train(&args, &[&checkpoints, Path::new("--out"), &full]);
    ok(out);
    assert_eq!(files(&checkpoints), expected);
    let uninterrupted = model(&full);
    let last = checkpoints.join(expected.last().unwrap());
    assert_eq!(
        model(&last),
        uninterrupted,
        "the last checkpoint opens as the final model"
    );
    for name in &expected[1..expected.len() - 1] {
        let resumed = dir.join(format!("from-{name}"));
        let checkpoint = checkpoints.join(name);
        // The checkpoint's settings are the defaults: only the thread count is given.
        let out = train(
            &["--threads", "1", "--resume"],
            &[&checkpoint, Path::new("--out"), &resumed],
        );
        let err = stderr(&out);
        ok(out);
        let step = name.trim_start_matches("step-").trim_end_matches(".safetensors");
        assert!(
            err.contains(&format!("from step {}", step.parse::<usize>().unwrap())),
            "{err}"
        );
        assert!(model(&resumed) == uninterrupted, "resumed from {name}: another model");
    }
}

#[test]
fn full_batch_gradient_descent_resumes_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    resumes_exactly(
        dir.path(),
        &["--iterations", "60"],
        "20",
        &[
            "step-000000.safetensors",
            "step-000020.safetensors",
            "step-000040.safetensors",
            "step-000060.safetensors",
        ],
    );
}

#[test]
fn adam_mini_batches_with_dropout_and_shifts_resume_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    // 4,000 training rows in batches of 128: 32 steps per epoch, checkpoints mid-epoch.
    resumes_exactly(
        dir.path(),
        &[
            "--hidden",
            "32,16",
            "--optimizer",
            "adam",
            "--alpha",
            "0.003",
            "--batch-size",
            "128",
            "--epochs",
            "2",
            "--dropout",
            "0.1",
            "--shift",
            "2",
            "--schedule",
            "cosine",
        ],
        "25",
        &[
            "step-000000.safetensors",
            "step-000025.safetensors",
            "step-000050.safetensors",
            "step-000064.safetensors",
        ],
    );
}

/// A short run's checkpoints in `dir/c` (every 5 of 10 steps) and its data file.
fn short_run(dir: &Path) -> (PathBuf, PathBuf) {
    let csv = write(dir, "train.csv", &csv_of(DataKind::Train, 300));
    let folder = dir.join("c");
    ok(train(
        &[
            "--iterations",
            "10",
            "--dev-size",
            "50",
            "--checkpoint-every",
            "5",
            "--data",
        ],
        &[
            &csv,
            Path::new("--checkpoints"),
            &folder,
            Path::new("--out"),
            &dir.join("m.safetensors"),
        ],
    ));
    (folder.join("step-000005.safetensors"), csv)
}

#[test]
fn branches_take_other_settings_and_go_on_to_the_length_given() {
    let dir = tempfile::tempdir().unwrap();
    let (checkpoint, csv) = short_run(dir.path());
    let out = dir.path().join("branch.safetensors");
    let folder = dir.path().join("branch");
    let report = ok(train(
        &[
            "--alpha",
            "0.3",
            "--iterations",
            "20",
            "--optimizer",
            "momentum",
            "--json",
            "--checkpoint-every",
            "5",
            "--data",
        ],
        &[
            &csv,
            Path::new("--resume"),
            &checkpoint,
            Path::new("--checkpoints"),
            &folder,
            Path::new("--out"),
            &out,
        ],
    ));
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(report["iterations"], 20);
    assert!((report["config"]["alpha"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    // The branch writes only its own steps, after the one it started from.
    assert_eq!(
        files(&folder),
        [
            "step-000010.safetensors",
            "step-000015.safetensors",
            "step-000020.safetensors"
        ]
    );
    let (last, _) = checkpoint_file::load(&folder.join("step-000020.safetensors")).unwrap();
    assert_eq!(last.step, 20);
    assert_eq!(last.config.alpha, 0.3);
    assert_eq!(*last.model, model(&out));
}

#[test]
fn incompatible_flags_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (checkpoint, csv) = short_run(dir.path());
    let out = dir.path().join("x.safetensors");
    for (flags, expected) in [
        (
            &["--hidden", "64"][..],
            "--hidden 64 does not match the checkpoint's hidden layers 10",
        ),
        (&["--seed", "3"][..], "--seed 3 differs from the checkpoint's seed 0"),
        (&["--dev-size", "40"][..], "--dev-size 40 differs"),
        (&["--init", "he"][..], "--init he differs"),
    ] {
        let mut args = flags.to_vec();
        args.push("--data");
        let result = train(
            &args,
            &[&csv, Path::new("--resume"), &checkpoint, Path::new("--out"), &out],
        );
        assert_no_panic(&result);
        assert_eq!(result.status.code(), Some(2), "{flags:?}: {}", stderr(&result));
        assert!(stderr(&result).contains(expected), "{flags:?}: {}", stderr(&result));
        assert!(!out.exists());
    }
    // Another data file: same shape, other rows.
    let other = write(dir.path(), "other.csv", &csv_of(DataKind::Train, 301)[..]);
    let result = train(
        &["--data"],
        &[&other, Path::new("--resume"), &checkpoint, Path::new("--out"), &out],
    );
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("trained on 250 rows, this data has 251"),
        "{}",
        stderr(&result)
    );
    // --preset has no meaning for a run that has its settings.
    let result = train(&["--preset", "best", "--resume"], &[&checkpoint]);
    assert_eq!(result.status.code(), Some(2));
    assert!(stderr(&result).contains("--preset"), "{}", stderr(&result));
    let result = train(&["--checkpoint-every", "5"], &[]);
    assert_eq!(result.status.code(), Some(2));
    assert!(stderr(&result).contains("--checkpoints"), "{}", stderr(&result));
}

#[test]
fn bad_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (checkpoint, csv) = short_run(dir.path());
    let out = dir.path().join("x.safetensors");
    let resume = |file: &Path| {
        train(
            &["--data"],
            &[&csv, Path::new("--resume"), file, Path::new("--out"), &out],
        )
    };
    let bytes = std::fs::read(&checkpoint).unwrap();
    let truncated = write(dir.path(), "truncated.safetensors", &bytes[..bytes.len() - 100]);
    let message = fails(resume(&truncated));
    assert!(
        message.contains("truncated.safetensors: not a valid checkpoint"),
        "{message}"
    );
    let message = fails(resume(&dir.path().join("m.safetensors")));
    assert!(
        message.contains("m.safetensors: a model file, not a checkpoint"),
        "{message}"
    );
    let message = fails(resume(&csv));
    assert!(message.contains("train.csv: not a valid checkpoint"), "{message}");
    let message = fails(resume(&dir.path().join("missing.safetensors")));
    assert!(message.contains("missing.safetensors"), "{message}");
    assert!(!out.exists());
    // Another architecture, from a file whose own settings say it: the data has 784 pixels.
    let small = write(dir.path(), "small.csv", &small_images_csv());
    let message = stderr(&train(
        &["--data"],
        &[&small, Path::new("--resume"), &checkpoint, Path::new("--out"), &out],
    ));
    assert!(
        message.contains("reads 784 pixels per image, the data has 64"),
        "{message}"
    );
}

/// 60 8x8 images with labels 0-2.
fn small_images_csv() -> Vec<u8> {
    let mut text = String::from("label");
    for p in 0..64 {
        text.push_str(&format!(",pixel{p}"));
    }
    text.push('\n');
    for row in 0..60 {
        text.push_str(&(row % 3).to_string());
        for p in 0..64 {
            text.push_str(&format!(",{}", (row + p) * 2));
        }
        text.push('\n');
    }
    text.into_bytes()
}

#[test]
fn checkpoints_respect_the_write_guards() {
    let dir = tempfile::tempdir().unwrap();
    let (checkpoint, csv) = short_run(dir.path());
    // The checkpoint resumed from cannot be the output.
    let message = stderr(&train(
        &["--data"],
        &[
            &csv,
            Path::new("--resume"),
            &checkpoint,
            Path::new("--out"),
            &checkpoint,
        ],
    ));
    assert!(message.contains("--out") && message.contains("--resume"), "{message}");
    // A file of another kind where a checkpoint would go: refused, training stops, no model.
    let folder = dir.path().join("guarded");
    std::fs::create_dir(&folder).unwrap();
    let notes = write(&folder, "step-000005.safetensors", b"my notes\n");
    let out = dir.path().join("guarded.safetensors");
    let result = train(
        &[
            "--iterations",
            "10",
            "--dev-size",
            "50",
            "--checkpoint-every",
            "5",
            "--data",
        ],
        &[&csv, Path::new("--checkpoints"), &folder, Path::new("--out"), &out],
    );
    assert_no_panic(&result);
    assert_ne!(result.status.code(), Some(0));
    assert!(
        stderr(&result).contains("step-000005.safetensors"),
        "{}",
        stderr(&result)
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes\n");
    assert!(!out.exists(), "no model after a refused checkpoint");
    // --checkpoints naming a file.
    let result = train(&["--iterations", "2", "--dev-size", "50", "--checkpoints"], &[&csv]);
    assert_eq!(result.status.code(), Some(2), "{}", stdout(&result));
    assert!(stderr(&result).contains("not a folder"));
    assert_eq!(std::fs::read(&csv).unwrap(), csv_of(DataKind::Train, 300));
}
