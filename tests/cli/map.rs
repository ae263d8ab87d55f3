//! `map`: the class map CSV (`row,label,predicted,x,y`), checked against the library's PCA and,
//! where the bench's Python is installed, against NumPy's; and its refusals.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use digit_recognizer::class_map::{MapLayer, Projection, activations};
use digit_recognizer::data::DataKind;
use digit_recognizer::model_file::{self, ModelInfo};
use digit_recognizer::network::{Init, Mlp};

use crate::common::cli::{fails, ok, run, stderr};
use crate::common::{sample_rows, write_csv};

/// The Python with NumPy that bench/ uses (not needed by CI: the comparison is skipped without it).
const PYTHON: &str = "/work/venv-bench/bin/python";

/// A folder shared by this module's tests: a 784-32-16-10 model trained briefly on the sample,
/// and the first 600 sample rows as a labelled and as an unlabelled CSV.
fn fixtures() -> &'static (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.safetensors");
        ok(run(&[
            "train".as_ref(),
            "--hidden".as_ref(),
            "32,16".as_ref(),
            "--iterations".as_ref(),
            "60".as_ref(),
            "--out".as_ref(),
            model.as_os_str(),
        ]));
        let train = dir.path().join("train.csv");
        write_csv(&train, &sample_rows(DataKind::Train, 0..600));
        let test = dir.path().join("test.csv");
        write_csv(&test, &sample_rows(DataKind::Test, 0..600));
        (dir, model, train, test)
    })
}

fn map(args: &[&Path], extra: &[&str]) -> std::process::Output {
    let (model, data, out) = (args[0], args[1], args[2]);
    let mut all: Vec<&std::ffi::OsStr> = vec![
        "map".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ];
    all.extend(extra.iter().map(std::ffi::OsStr::new));
    run(&all)
}

/// The CSV's rows as (row, label, predicted, x, y).
fn read_map(path: &Path) -> Vec<(usize, String, u8, f32, f32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("row,label,predicted,x,y"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 5, "{line}");
            (
                f[0].parse().unwrap(),
                f[1].to_owned(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn map_writes_the_pca_of_the_layer_for_the_rows_asked() {
    let (dir, model, train, _) = fixtures();
    let out = dir.path().join("hidden2.csv");
    ok(map(&[model, train, &out], &["--rows", "100..400", "--layer", "2"]));
    let rows = read_map(&out);
    assert_eq!(rows.len(), 300);
    let sample = sample_rows(DataKind::Train, 100..400);
    let (net, _) = model_file::load(model).unwrap();
    let predicted = net.predict(&sample.pixels);
    for (i, (row, label, p, _, _)) in rows.iter().enumerate() {
        assert_eq!(*row, 100 + i, "rows count from 0, the end excluded");
        assert_eq!(label, &sample.labels[i].to_string());
        assert_eq!(*p, predicted[i]);
    }
    // The library's PCA of the same activations, independently of the command.
    let acts = activations(&net, &sample.pixels, MapLayer::Hidden(1));
    let coords = Projection::fit(acts.view(), 2).project(acts.view());
    for (i, (_, _, _, x, y)) in rows.iter().enumerate() {
        assert!((x - coords[[i, 0]]).abs() < 1e-4 && (y - coords[[i, 1]]).abs() < 1e-4);
    }
    // The digits are spread out on both axes, not piled on a line.
    let spread = |v: Vec<f32>| v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min);
    assert!(spread(rows.iter().map(|r| r.3).collect()) > 0.1);
    assert!(spread(rows.iter().map(|r| r.4).collect()) > 0.1);
}

#[test]
fn map_equals_numpys_pca_of_the_same_activations() {
    if !Path::new(PYTHON).exists() {
        println!("skipped: {PYTHON} (NumPy) is not installed here");
        return;
    }
    let (dir, model, train, _) = fixtures();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/map_check.py");
    for layer in ["1", "2", "output"] {
        let out = dir.path().join(format!("numpy-{layer}.csv"));
        ok(map(&[model, train, &out], &["--rows", "0..500", "--layer", layer]));
        let check = Command::new(PYTHON)
            .arg(&script)
            .args([
                model.as_os_str(),
                train.as_os_str(),
                "0..500".as_ref(),
                layer.as_ref(),
                out.as_os_str(),
            ])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&check.stdout);
        println!("layer {layer}: {report}");
        assert!(
            check.status.success(),
            "layer {layer} differs from NumPy: {report} {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn an_unlabelled_csv_leaves_the_label_empty_and_maps_the_same_points() {
    let (dir, model, train, test) = fixtures();
    let labelled = dir.path().join("labelled.csv");
    let unlabelled = dir.path().join("unlabelled.csv");
    ok(map(&[model, train, &labelled], &["--rows", "0..200"]));
    ok(map(&[model, test, &unlabelled], &["--rows", "0..200"]));
    let (a, b) = (read_map(&labelled), read_map(&unlabelled));
    assert!(b.iter().all(|r| r.1.is_empty()));
    for (a, b) in a.iter().zip(&b) {
        assert_eq!((a.0, a.2, a.3, a.4), (b.0, b.2, b.3, b.4));
    }
}

#[test]
fn map_refuses_bad_rows_layers_and_models_with_clear_messages() {
    let (dir, model, train, _) = fixtures();
    let out = dir.path().join("refused.csv");
    let err = stderr(&map(&[model, train, &out], &["--rows", "500..601"]));
    assert!(
        err.contains("--rows 500..601 is out of range") && err.contains("has 600 data rows (0..600)"),
        "{err}"
    );
    let err = stderr(&map(&[model, train, &out], &["--layer", "4"]));
    assert!(
        err.contains("layer \"4\" does not exist: this 784-32-16-10 network has 1 = hidden layer 1 (32 units), 2 = hidden layer 2 (16 units), output = output (10 probabilities)"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written on a refusal");
    // A model of other images.
    let small = dir.path().join("small.safetensors");
    let net = Mlp::new(&[64, 8, 10], Init::He, 1);
    model_file::save(&small, &net, &ModelInfo::default()).unwrap();
    let err = fails(map(&[&small, train, &out], &[]));
    assert!(
        err.contains("has 28x28 images (784 pixels), but the model was trained on 8x8 images (64 pixels)"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn map_is_write_guarded_like_every_output() {
    let (dir, model, train, _) = fixtures();
    // Onto its own input: never.
    let before = std::fs::read(train).unwrap();
    let err = stderr(&map(&[model, train, train], &["--force"]));
    assert!(err.contains("never written onto an input"), "{err}");
    assert_eq!(std::fs::read(train).unwrap(), before);
    // Onto another kind of file: only with --force.
    let notes = dir.path().join("notes.csv");
    std::fs::write(&notes, "my,own\nnotes,here\n").unwrap();
    let err = stderr(&map(&[model, train, &notes], &["--rows", "0..10"]));
    assert!(
        err.contains("not replaced with a class map") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my,own\nnotes,here\n");
    ok(map(&[model, train, &notes], &["--rows", "0..10", "--force"]));
    // An earlier map is replaced without asking.
    ok(map(&[model, train, &notes], &["--rows", "0..20"]));
    assert_eq!(read_map(&notes).len(), 20);
}
