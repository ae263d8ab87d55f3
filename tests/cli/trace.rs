//! The `trace` command: every tensor of the notebook in its orientation and shape, the values of
//! the very trace the library computes, the step `W − α·dW`, a picture traced as `classify` sees
//! it, and bad input refused with a clear message and nothing written.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{assert_no_panic, bin, fails, ok, stderr};
use common::{sample, sample_rows, write, write_csv};
use digit_recognizer::data::{DataKind, PIXELS};
use digit_recognizer::model_file::{self, ModelInfo};
use digit_recognizer::network::{Init, Mlp, fill_inputs};
use digit_recognizer::preprocess::{load_image, preprocess_image};
use ndarray::Array2;
use safetensors::SafeTensors;
use serde_json::Value;

fn trace(args: &[&std::ffi::OsStr]) -> Output {
    bin().arg("trace").args(args).output().expect("the binary runs")
}

/// `args` as the `&OsStr`s `trace` takes.
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(AsRef::<std::ffi::OsStr>::as_ref(&$a)),*] };
}

/// A 784-32-16-10 model saved in `dir`, and the model.
fn model_in(dir: &Path, info: &ModelInfo) -> (PathBuf, Mlp) {
    let model = Mlp::new(&[PIXELS, 32, 16, 10], Init::He, 7);
    let path = dir.join("model.safetensors");
    model_file::save(&path, &model, info).unwrap();
    (path, model)
}

/// The first 20 sample rows as a CSV in `dir`.
fn data_in(dir: &Path) -> PathBuf {
    let path = dir.join("rows.csv");
    write_csv(&path, &sample_rows(DataKind::Train, 0..20));
    path
}

/// Each tensor of a trace file: name → (shape, values in row-major order).
fn tensors(path: &Path) -> std::collections::HashMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

/// Exit code 2 (a usage error) with a message containing `needle`; nothing panicked.
fn usage_error(out: Output, needle: &str) {
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains(needle),
        "expected {needle:?} in: {}",
        stderr(&out)
    );
}

#[test]
fn the_file_has_every_tensor_of_the_notebook_in_its_orientation() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = model_in(dir.path(), &ModelInfo::default());
    let data = data_in(dir.path());
    let out = dir.path().join("trace.safetensors");
    let summary = ok(trace(args![
        "--model", model_path, "--data", data, "--rows", "3..11", "--alpha", "0.25", "--out", out, "--json"
    ]));
    let t = tensors(&out);
    let m = 8;
    let sizes = [PIXELS, 32, 16, 10];
    let mut expected: Vec<(String, Vec<usize>)> = vec![
        ("X".into(), vec![PIXELS, m]),
        ("Y".into(), vec![10, m]),
        ("loss".into(), vec![1]),
        ("dX".into(), vec![PIXELS, m]),
    ];
    for l in 1..sizes.len() {
        let (inputs, outputs) = (sizes[l - 1], sizes[l]);
        for (name, shape) in [
            ("W", vec![outputs, inputs]),
            ("b", vec![outputs, 1]),
            ("Z", vec![outputs, m]),
            ("A", vec![outputs, m]),
            ("dZ", vec![outputs, m]),
            ("dW", vec![outputs, inputs]),
            ("db", vec![outputs, 1]),
        ] {
            expected.push((format!("{name}{l}"), shape));
        }
        expected.push((format!("W{l}_next"), vec![outputs, inputs]));
        expected.push((format!("b{l}_next"), vec![outputs, 1]));
    }
    assert_eq!(
        t.len(),
        expected.len(),
        "no other tensors: {:?}",
        t.keys().collect::<Vec<_>>()
    );
    for (name, shape) in &expected {
        assert_eq!(&t[name].0, shape, "{name}");
    }

    // X is rows 3..11 of the CSV, pixels / 255, one example per column; Y their one-hot labels.
    let rows = sample_rows(DataKind::Train, 3..11);
    let mut x = Array2::zeros((m, PIXELS));
    fill_inputs(&mut x.view_mut(), &rows.pixels);
    let (_, file_x) = &t["X"];
    for j in 0..m {
        for i in [0, 300, 404, 783] {
            assert_eq!(file_x[i * m + j], x[(j, i)], "X[{i}, {j}]");
        }
    }
    let (_, y) = &t["Y"];
    for (j, &label) in rows.labels.iter().enumerate() {
        for c in 0..10 {
            assert_eq!(
                y[c * m + j],
                f32::from(u8::from(c == usize::from(label))),
                "Y[{c}, {j}]"
            );
        }
    }

    // The very numbers of the library's trace, transposed: W1 is the model's, Z2 and dW3 the
    // trace's; the step is W − α·dW bit for bit.
    let library = model.trace(x.view(), &rows.labels);
    assert_eq!(t["loss"].1, [library.loss]);
    let (_, w1) = &t["W1"];
    assert_eq!(w1[5 * PIXELS + 400], model.layers[0].w[(400, 5)], "W1[5, 400]");
    let (_, z2) = &t["Z2"];
    assert_eq!(z2[7 * m + 2], library.layers[1].z[(2, 7)], "Z2[7, 2]");
    let (_, dw3) = &t["dW3"];
    assert_eq!(dw3[4 * 16 + 9], library.layers[2].dw[(9, 4)], "dW3[4, 9]");
    let (_, dx) = &t["dX"];
    assert_eq!(dx[200 * m + 5], library.dx[(5, 200)], "dX[200, 5]");
    for l in 1..sizes.len() {
        for (param, grad) in [("W", "dW"), ("b", "db")] {
            let (before, step, after) = (
                &t[&format!("{param}{l}")].1,
                &t[&format!("{grad}{l}")].1,
                &t[&format!("{param}{l}_next")].1,
            );
            for ((w, dw), next) in before.iter().zip(step).zip(after) {
                assert_eq!(next.to_bits(), (w - 0.25 * dw).to_bits(), "{param}{l}_next");
            }
        }
    }

    // The summary says the same.
    let json: Value = serde_json::from_str(summary.trim()).unwrap();
    assert_eq!(json["m"], m);
    assert_eq!(json["loss"].as_f64().unwrap() as f32, library.loss);
    assert!(json["loss_after_step"].as_f64().unwrap() < json["loss"].as_f64().unwrap());
    assert_eq!(json["tensors"]["W2"], serde_json::json!([16, 32]));
    assert_eq!(json["layers"].as_array().unwrap().len(), 3);
    assert_eq!(json["labels"].as_array().unwrap().len(), m);
    assert_eq!(json["predictions"].as_array().unwrap().len(), m);

    // Without --json, a readable summary; an earlier trace is replaced without --force.
    let text = ok(trace(args![
        "--model", model_path, "--data", data, "--rows", "0", "--out", out
    ]));
    assert!(text.contains("through 784-32-16-10"), "{text}");
    assert!(text.contains("after the step"), "{text}");
    assert_eq!(tensors(&out)["X"].0, [PIXELS, 1]);
}

#[test]
fn a_picture_is_traced_as_classify_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, _) = model_in(dir.path(), &ModelInfo::default());
    let picture = common::cli::drawn_png(dir.path(), "four.png", 2, 4, (150, 130), (20, 9), true);
    let label = sample().labels[2];
    let out = dir.path().join("picture.safetensors");
    let summary = ok(trace(args![
        "--model",
        model_path,
        "--image",
        picture,
        "--label",
        label.to_string(),
        "--out",
        out,
        "--json"
    ]));
    let t = tensors(&out);
    let seen = preprocess_image(&load_image(&picture).unwrap()).unwrap();
    let (shape, x) = &t["X"];
    assert_eq!(shape, &[PIXELS, 1]);
    let expected: Vec<f32> = seen.iter().map(|&p| f32::from(p) * (1.0 / 255.0)).collect();
    assert_eq!(x, &expected);
    let (_, y) = &t["Y"];
    assert_eq!(y.iter().position(|&v| v == 1.0), Some(usize::from(label)));
    let classified: Value = serde_json::from_str(
        ok(bin()
            .args(["classify", "--json", "--model"])
            .arg(&model_path)
            .arg(&picture)
            .output()
            .unwrap())
        .trim(),
    )
    .unwrap();
    let json: Value = serde_json::from_str(summary.trim()).unwrap();
    assert_eq!(json["predictions"][0], classified["label"]);
}

#[test]
fn bad_input_is_refused_clearly_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, _) = model_in(dir.path(), &ModelInfo::default());
    let data = data_in(dir.path());
    let out = dir.path().join("never.safetensors");
    let picture = common::cli::drawn_png(dir.path(), "p.png", 0, 3, (100, 100), (10, 10), true);

    // Rows out of range name the file's row count; they and an empty range are usage errors
    // (exit code 2), as in `map`.
    usage_error(
        trace(args![
            "--model", model_path, "--data", data, "--rows", "15..25", "--out", out
        ]),
        "has 20 data rows (0..20)",
    );
    usage_error(
        trace(args![
            "--model", model_path, "--data", data, "--rows", "20..", "--out", out
        ]),
        "--rows 20.. is empty",
    );
    usage_error(
        trace(args!["--data", data, "--rows", "5..5", "--out", out]),
        "5..5 is empty",
    );
    usage_error(trace(args!["--data", data, "--rows", "x", "--out", out]), "A..B");
    usage_error(trace(args!["--data", data, "--out", out]), "--data needs --rows");

    // A model of 16x16 pictures against 28x28 data.
    let small = Mlp::new(&[256, 8, 10], Init::He, 1);
    let small_path = dir.path().join("small.safetensors");
    model_file::save(&small_path, &small, &ModelInfo::default()).unwrap();
    let line = fails(trace(args![
        "--model", small_path, "--data", data, "--rows", "0..4", "--out", out
    ]));
    assert!(
        line.contains("has 28x28 images (784 pixels), but the model takes 16x16 images (256 pixels)"),
        "{line}"
    );

    // Labels: outside the model's classes, or one its training data never held.
    usage_error(
        trace(args![
            "--model", model_path, "--image", picture, "--label", "12", "--out", out
        ]),
        "--label 12: outside the model's classes (0 to 9)",
    );
    usage_error(
        trace(args![
            "--model", model_path, "--image", picture, "--label", "seven", "--out", out
        ]),
        "not a label of the model",
    );
    let nine_labels = ModelInfo {
        labels: (0..9).collect(),
        ..ModelInfo::default()
    };
    let sub = tempfile::tempdir().unwrap();
    let (nine_path, _) = model_in(sub.path(), &nine_labels);
    let nine_row = sample().labels.iter().position(|&l| l == 9).unwrap();
    let nines = dir.path().join("nines.csv");
    write_csv(&nines, &sample_rows(DataKind::Train, 0..nine_row + 1));
    let line = fails(trace(args![
        "--model",
        nine_path,
        "--data",
        nines,
        "--rows",
        format!("{nine_row}"),
        "--out",
        out
    ]));
    assert!(
        line.contains(&format!(
            "data row {nine_row} has label 9: not one of the labels the model was trained on"
        )),
        "{line}"
    );

    // A picture needs its label; --rows goes with --data; one source at a time.
    usage_error(trace(args!["--image", picture, "--out", out]), "--image needs --label");
    usage_error(
        trace(args![
            "--image", picture, "--label", "3", "--rows", "0..2", "--out", out
        ]),
        "--rows goes with --data",
    );
    usage_error(trace(args!["--out", out]), "nothing to trace");
    usage_error(
        trace(args![
            "--data", data, "--rows", "0..2", "--image", picture, "--out", out
        ]),
        "cannot be used with",
    );
    usage_error(
        trace(args!["--data", data, "--rows", "0..2", "--alpha", "nan", "--out", out]),
        "--alpha NaN",
    );

    // Unlabelled data has no Y.
    let test_csv = dir.path().join("test.csv");
    write_csv(&test_csv, &sample_rows(DataKind::Test, 0..5));
    let line = fails(trace(args!["--data", test_csv, "--rows", "0..2", "--out", out]));
    assert!(line.contains("test.csv"), "{line}");
    assert!(!out.exists(), "nothing was written");

    // Never onto an input, and not over a file of another kind without --force.
    for input in [&model_path, &data] {
        usage_error(
            trace(args![
                "--model", model_path, "--data", data, "--rows", "0..2", "--out", input
            ]),
            "never written onto an input",
        );
    }
    let notes = write(dir.path(), "notes.txt", b"my notes\n");
    usage_error(
        trace(args![
            "--model", model_path, "--data", data, "--rows", "0..2", "--out", notes
        ]),
        "pass --force to replace it",
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes\n");
    let other_model = write(dir.path(), "other.safetensors", &std::fs::read(&model_path).unwrap());
    usage_error(
        trace(args![
            "--model",
            model_path,
            "--data",
            data,
            "--rows",
            "0..2",
            "--out",
            other_model
        ]),
        "is a digit-recognizer model: not replaced with a trace",
    );
    ok(trace(args![
        "--model", model_path, "--data", data, "--rows", "0..2", "--out", notes, "--force"
    ]));
    assert_eq!(tensors(&notes)["X"].0, [PIXELS, 2]);
}
