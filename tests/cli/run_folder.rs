//! One run-folder format for the app and the command line (issue 23): a folder that
//! `train --checkpoints DIR` writes opens as a run (what the app's Open run reads), and a run
//! saved as a folder (what the app's Save run writes) resumes with `train --resume
//! DIR/step-NNNNNN.safetensors`, bit for bit.

use crate::common;

use std::path::Path;

use common::cli::{bin, ok, stderr};
use digit_recognizer::model_file;
use digit_recognizer::network::Mlp;
use digit_recognizer::run_folder::{self, ParentRun};

fn model(path: &Path) -> Mlp {
    model_file::load(path).unwrap_or_else(|e| panic!("{e}")).0
}

#[test]
fn the_command_lines_checkpoints_open_as_a_run_and_a_saved_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (checkpoints, full) = (dir.path().join("cli-run"), dir.path().join("full.safetensors"));
    let out = bin()
        .args([
            "train",
            "--iterations",
            "30",
            "--checkpoint-every",
            "10",
            "--checkpoints",
        ])
        .arg(&checkpoints)
        .arg("--out")
        .arg(&full)
        .output()
        .unwrap();
    ok(out);
    let uninterrupted = model(&full);

    // The command line's folder opens as a run: named after it, its checkpoints and a curve.
    let run = run_folder::open(&checkpoints).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.name, "cli-run");
    let steps: Vec<usize> = run.checkpoints.iter().map(|c| c.step).collect();
    assert_eq!(steps, [0, 10, 20, 30]);
    assert_eq!(*run.checkpoints[3].model, uninterrupted);
    assert_eq!(run.total_steps(), 30);
    assert_eq!(run.progress.iter().map(|p| p.step).collect::<Vec<_>>(), [10, 20, 30]);
    assert!(run.progress.iter().all(|p| p.loss.is_finite() && p.loss > 0.0));

    // Saved as a whole run folder (Save run), with a parent: the command line resumes from it.
    let saved = dir.path().join("saved run");
    let record = run_folder::RunRecord {
        name: "branch".into(),
        parent: Some(ParentRun {
            name: "run #1".into(),
            step: 0,
        }),
        ..run
    };
    run_folder::save(&saved, &record).unwrap();
    assert!(saved.join("run.json").is_file() && saved.join("progress.csv").is_file());
    let resumed = dir.path().join("resumed.safetensors");
    let out = bin()
        .args(["train", "--threads", "1", "--resume"])
        .arg(saved.join("step-000010.safetensors"))
        .arg("--out")
        .arg(&resumed)
        .output()
        .unwrap();
    let err = stderr(&out);
    ok(out);
    assert!(err.contains("from step 10"), "{err}");
    assert!(
        model(&resumed) == uninterrupted,
        "resumed from the saved run: another model"
    );
    // And it opens again as it was saved.
    let back = run_folder::open(&saved).unwrap();
    assert_eq!((back.name.as_str(), back.parent), ("branch", record.parent));
    assert_eq!(back.progress, record.progress);
}
