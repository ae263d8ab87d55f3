//! Issue 12: every MNIST-shaped layout of the table loads, trains with a preset,
//! evaluates and predicts with the right submission header, through the command line. The files
//! are made here from the embedded sample's digits: relabelled, renamed, transposed, upscaled.

use crate::common;

use std::path::{Path, PathBuf};

use common::cli::{bin, fails, ok, run};
use common::{sample, write};
use digit_recognizer::data::{self, DataKind, Dataset, Expect, SIDE};
use digit_recognizer::model_file;
use serde_json::Value;

/// How pixel columns are named in line 1.
#[derive(Clone, Copy)]
enum Header {
    /// `pixel0..` (0-based) or `pixel1..` (1-based).
    Pixel(usize),
    /// `1x1,1x2,...` (MNIST in CSV).
    RowColumn,
    /// No header line (EMNIST).
    None,
}

/// One layout of the table.
struct Layout {
    header: Header,
    /// The label of each digit 0-9.
    labels: [u8; 10],
    /// `id` first (Kannada-MNIST's test file), ids from 1000.
    ids: bool,
    /// Images stored transposed (EMNIST).
    transposed: bool,
    /// Side of the stored images (28, or a digit centred on a larger black square).
    side: usize,
}

const DIGITS: [u8; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

impl Layout {
    fn new(header: Header) -> Layout {
        Layout {
            header,
            labels: DIGITS,
            ids: false,
            transposed: false,
            side: SIDE,
        }
    }

    /// Sample rows `rows` in this layout, labelled or not.
    fn csv(&self, rows: std::ops::Range<usize>, labelled: bool) -> String {
        let pixels = self.side * self.side;
        let names: Vec<String> = match self.header {
            Header::Pixel(first) => (first..first + pixels).map(|i| format!("pixel{i}")).collect(),
            Header::RowColumn => (1..=self.side)
                .flat_map(|r| (1..=self.side).map(move |c| format!("{r}x{c}")))
                .collect(),
            Header::None => Vec::new(),
        };
        let mut text = String::new();
        if !names.is_empty() {
            let lead = match (self.ids, labelled) {
                (true, true) => "id,label,",
                (true, false) => "id,",
                (false, true) => "label,",
                (false, false) => "",
            };
            text += &format!("{lead}{}\n", names.join(","));
        }
        let data = sample();
        for row in rows {
            let mut fields = Vec::new();
            if self.ids {
                fields.push((1000 + row).to_string());
            }
            if labelled {
                fields.push(self.labels[usize::from(data.labels[row])].to_string());
            }
            fields.extend(self.image(data.image(row)).iter().map(u8::to_string));
            text += &fields.join(",");
            text += "\n";
        }
        text
    }

    /// A 28x28 digit as this layout stores it.
    fn image(&self, digit: &[u8]) -> Vec<u8> {
        let side = self.side;
        let margin = (side - SIDE) / 2;
        let mut out = vec![0u8; side * side];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let (sx, sy) = if self.transposed { (y, x) } else { (x, y) };
                out[(y + margin) * side + x + margin] = digit[sy * SIDE + sx];
            }
        }
        out
    }
}

/// Trains on sample rows 0..2000 of `layout` (plus `extra` flags), evaluates on the labelled
/// rows 4000..4500, predicts them; returns (dev accuracy, eval accuracy, eval text, submission).
struct Outcome {
    dev_accuracy: f64,
    eval_accuracy: f64,
    eval_text: String,
    submission: String,
    model: PathBuf,
}

fn train_eval_predict(dir: &Path, layout: &Layout, extra: &[&str], test_labelled: bool) -> Outcome {
    let train = write(dir, "train.csv", layout.csv(0..2000, true).as_bytes());
    let test_rows = 4000..4500;
    let labelled = write(dir, "labelled.csv", layout.csv(test_rows.clone(), true).as_bytes());
    let test = if test_labelled {
        labelled.clone()
    } else {
        write(dir, "test.csv", layout.csv(test_rows, false).as_bytes())
    };
    let model = dir.join("model.safetensors");
    let out = bin()
        .args(["train", "--preset", "best", "--hidden", "64", "--epochs", "10"])
        .args(["--dev-size", "300", "--json", "--data"])
        .arg(&train)
        .arg("--out")
        .arg(&model)
        .args(extra)
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(ok(out).trim()).unwrap();
    let m = model.as_os_str();
    let eval: Value = serde_json::from_str(
        ok(run(&[
            "eval".as_ref(),
            "--model".as_ref(),
            m,
            "--json".as_ref(),
            "--data".as_ref(),
            labelled.as_os_str(),
        ]))
        .trim(),
    )
    .unwrap();
    let eval_text = ok(run(&[
        "eval".as_ref(),
        "--model".as_ref(),
        m,
        "--data".as_ref(),
        labelled.as_os_str(),
    ]));
    let out = dir.join("submission.csv");
    ok(run(&[
        "predict".as_ref(),
        "--model".as_ref(),
        m,
        "--data".as_ref(),
        test.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]));
    Outcome {
        dev_accuracy: report["dev_accuracy"].as_f64().unwrap(),
        eval_accuracy: eval["accuracy"].as_f64().unwrap(),
        eval_text,
        submission: std::fs::read_to_string(out).unwrap(),
        model,
    }
}

/// The submission's header and its labels.
fn submission_labels(text: &str) -> (String, Vec<String>, Vec<u8>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_owned();
    let (ids, labels) = lines
        .map(|l| {
            let (id, label) = l.split_once(',').unwrap();
            (id.to_owned(), label.parse::<u8>().unwrap())
        })
        .unzip();
    (header, ids, labels)
}

fn assert_learns(what: &str, o: &Outcome) {
    eprintln!(
        "{what}: dev accuracy {:.4}, eval accuracy {:.4}",
        o.dev_accuracy, o.eval_accuracy
    );
    assert!(o.dev_accuracy > 0.75, "{what}: dev accuracy {}", o.dev_accuracy);
    assert!(o.eval_accuracy > 0.75, "{what}: eval accuracy {}", o.eval_accuracy);
}

#[test]
fn digit_recognizer_layout_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let o = train_eval_predict(dir.path(), &Layout::new(Header::Pixel(0)), &[], false);
    assert_learns("digit recognizer", &o);
    let (header, ids, labels) = submission_labels(&o.submission);
    assert_eq!(header, "ImageId,Label");
    assert_eq!((ids[0].as_str(), ids.len()), ("1", 500));
    assert!(labels.iter().all(|&l| l <= 9));
    assert!(o.eval_text.contains("digit  precision  recall"), "{}", o.eval_text);
    let (model, info) = model_file::load(&o.model).unwrap();
    assert_eq!((model.inputs(), model.classes()), (784, 10));
    assert_eq!(
        (info.labels, info.class_names.len(), info.transposed),
        (DIGITS.to_vec(), 0, false)
    );
}

#[test]
fn fashion_mnist_one_based_names_labelled_test_file_and_sidecar_names() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];
    write(dir.path(), "classes.txt", names.join("\n").as_bytes());
    let o = train_eval_predict(dir.path(), &Layout::new(Header::Pixel(1)), &[], true);
    assert_learns("fashion", &o);
    // The labelled test file predicts like an unlabelled one.
    let (header, _, labels) = submission_labels(&o.submission);
    assert_eq!((header.as_str(), labels.len()), ("ImageId,Label", 500));
    assert!(o.eval_text.contains("9 Ankle boot"), "{}", o.eval_text);
    assert!(o.eval_text.contains("0 T-shirt/top"), "{}", o.eval_text);
    let (_, info) = model_file::load(&o.model).unwrap();
    assert_eq!(info.class_names, names);
}

#[test]
fn mnist_in_csv_row_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let o = train_eval_predict(dir.path(), &Layout::new(Header::RowColumn), &[], false);
    assert_learns("mnist in csv", &o);
}

#[test]
fn kannada_mnist_id_column_makes_an_id_label_submission() {
    let dir = tempfile::tempdir().unwrap();
    // Train file: label,pixel0..; test file: id,pixel0.. (the ids are the file's own).
    let train = Layout::new(Header::Pixel(0));
    let test = Layout {
        ids: true,
        ..Layout::new(Header::Pixel(0))
    };
    let o = train_eval_predict(dir.path(), &train, &[], false);
    assert_learns("kannada", &o);
    let test_file = write(dir.path(), "kannada-test.csv", test.csv(4000..4500, false).as_bytes());
    let out = dir.path().join("kannada-submission.csv");
    ok(run(&[
        "predict".as_ref(),
        "--model".as_ref(),
        o.model.as_os_str(),
        "--data".as_ref(),
        test_file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]));
    let (header, ids, labels) = submission_labels(&std::fs::read_to_string(out).unwrap());
    assert_eq!(header, "id,label");
    assert_eq!(
        (ids[0].as_str(), ids[499].as_str(), labels.len()),
        ("5000", "5499", 500)
    );
    // The same predictions as the file without ids.
    assert_eq!(labels, submission_labels(&o.submission).2);
}

#[test]
fn sign_language_mnist_labels_up_to_24_without_9() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout {
        labels: [0, 3, 6, 8, 10, 13, 16, 19, 22, 24],
        ..Layout::new(Header::Pixel(1))
    };
    let letters: Vec<String> = ('A'..='Y').filter(|&c| c != 'J').map(String::from).collect();
    // Names in label order: J (label 9) is unused, so its entry is empty.
    let mut names = letters.clone();
    names.insert(9, String::new());
    let list = names.join(",");
    let o = train_eval_predict(dir.path(), &layout, &["--classes", &list], false);
    assert_learns("sign language", &o);
    let (header, _, labels) = submission_labels(&o.submission);
    assert_eq!(header, "ImageId,Label");
    assert!(
        labels.iter().all(|l| layout.labels.contains(l)),
        "predictions come back in the file's own labels: {labels:?}"
    );
    assert!(labels.contains(&24));
    let (model, info) = model_file::load(&o.model).unwrap();
    assert_eq!(model.classes(), 25);
    assert_eq!(info.labels, layout.labels.to_vec());
    assert!(o.eval_text.contains("24 Y"), "{}", o.eval_text);
    assert!(
        !o.eval_text.contains("\n    9 "),
        "the unused label is not listed: {}",
        o.eval_text
    );
}

#[test]
fn emnist_headerless_transposed_letters() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout {
        labels: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        transposed: true,
        ..Layout::new(Header::None)
    };
    let o = train_eval_predict(dir.path(), &layout, &["--transpose"], true);
    assert_learns("emnist", &o);
    let (model, info) = model_file::load(&o.model).unwrap();
    assert_eq!((model.classes(), info.transposed), (11, true));
    // The model turns its images upright: the file's images, transposed back, are the digits.
    let path = dir.path().join("labelled.csv");
    let mut data = data::load_path(&path, Expect::Train, &mut |_, _| {}, &Default::default()).unwrap();
    data.transpose_images();
    assert_eq!(data.image(0), sample().image(4000));
    let (_, _, labels) = submission_labels(&o.submission);
    assert!(labels.iter().all(|&l| (1..=10).contains(&l)), "{labels:?}");
}

#[test]
fn larger_squares_train_and_refuse_other_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout {
        side: 32,
        ..Layout::new(Header::Pixel(0))
    };
    let o = train_eval_predict(dir.path(), &layout, &[], false);
    assert_learns("32x32", &o);
    assert_eq!(model_file::load(&o.model).unwrap().0.inputs(), 1024);
    // A 28x28 file for a 32x32 model: both shapes named.
    let small = write(
        dir.path(),
        "small.csv",
        Layout::new(Header::Pixel(0)).csv(0..5, true).as_bytes(),
    );
    let line = fails(run(&[
        "eval".as_ref(),
        "--model".as_ref(),
        o.model.as_os_str(),
        "--data".as_ref(),
        small.as_os_str(),
    ]));
    assert!(
        line.contains(
            "small.csv has 28x28 images (784 pixels), but the model was trained on 32x32 images (1024 pixels)"
        ),
        "{line}"
    );
    // And the embedded (28x28) model on a 64x64 headerless file.
    let big = Layout {
        side: 64,
        ..Layout::new(Header::None)
    };
    let big = write(dir.path(), "big.csv", big.csv(0..3, false).as_bytes());
    let out = dir.path().join("never.csv");
    let line = fails(run(&[
        "predict".as_ref(),
        "--data".as_ref(),
        big.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]));
    assert!(line.contains("64x64 images (4096 pixels)"), "{line}");
    assert!(!out.exists());
    // Fine-tuning on drawn digits needs a 28x28 digit model.
    let line = fails(
        bin()
            .args(["finetune", "--data"])
            .arg(&small)
            .arg("--model")
            .arg(&o.model)
            .arg("--out")
            .arg(dir.path().join("never.safetensors"))
            .output()
            .unwrap(),
    );
    assert!(
        line.contains("fine-tuning works on 28x28 digit models; this one has 1024 inputs"),
        "{line}"
    );
}

#[test]
fn labels_beyond_the_model_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout {
        labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 12],
        ..Layout::new(Header::Pixel(0))
    };
    let file = write(dir.path(), "letters.csv", layout.csv(0..200, true).as_bytes());
    let line = fails(run(&["eval".as_ref(), "--data".as_ref(), file.as_os_str()]));
    assert!(
        line.contains("letters.csv has label 12, but the model knows labels 0 to 9 only"),
        "{line}"
    );
}

#[test]
fn shapes_that_fit_no_layout_are_refused_with_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, String, &str); 4] = [
        (
            "783.csv",
            format!(
                "label,{}\n",
                (0..783).map(|i| format!("pixel{i}")).collect::<Vec<_>>().join(",")
            ),
            "line 1: bad header: 784 columns, of which 783 pixel columns: not a square image; expected square images",
        ),
        (
            "headerless-700.csv",
            format!("{}\n", vec!["1"; 700].join(",")),
            "line 1: bad header: a file without a header needs a label and square images",
        ),
        (
            "named.csv",
            format!(
                "label,name,{}\n",
                (0..784).map(|i| format!("pixel{i}")).collect::<Vec<_>>().join(",")
            ),
            "line 1, column 2: bad header: column name \"name\", expected label, id or a pixel name",
        ),
        (
            "empty-id.csv",
            format!(
                "id,{}\n,{}\n",
                (0..784).map(|i| format!("pixel{i}")).collect::<Vec<_>>().join(","),
                vec!["0"; 784].join(",")
            ),
            "line 2, column 1: the id is empty",
        ),
    ];
    for (name, text, says) in cases {
        let path = write(dir.path(), name, text.as_bytes());
        let line = fails(run(&["inspect".as_ref(), path.as_os_str()]));
        assert!(
            line.contains(&path.display().to_string()) && line.contains(says),
            "{name}: {line}"
        );
    }
}

#[test]
fn inspect_describes_other_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout {
        labels: [0, 3, 6, 8, 10, 13, 16, 19, 22, 24],
        ids: true,
        side: 32,
        ..Layout::new(Header::Pixel(1))
    };
    let file = write(dir.path(), "x.csv", layout.csv(0..200, true).as_bytes());
    write(dir.path(), "classes.txt", b"A\nB\nC\nD");
    let report: Value =
        serde_json::from_str(ok(run(&["inspect".as_ref(), file.as_os_str(), "--json".as_ref()])).trim()).unwrap();
    assert_eq!(report["side"], 32);
    assert_eq!(report["ids"], true);
    assert_eq!(report["class_names"][3], "D");
    let labels: Vec<u8> = serde_json::from_value(report["labels"].clone()).unwrap();
    assert!(
        labels.iter().all(|l| layout.labels.contains(l)) && labels.contains(&24),
        "{labels:?}"
    );
    let text = ok(run(&["inspect".as_ref(), file.as_os_str()]));
    assert!(text.contains("200 rows of 32x32 images with ids"), "{text}");
    assert!(text.contains("3 D: "), "{text}");
}

/// Written files read back as they were, ids included.
#[test]
fn write_csv_keeps_ids_and_sides() {
    let layout = Layout {
        ids: true,
        side: 32,
        ..Layout::new(Header::Pixel(0))
    };
    let data: Dataset = data::load_bytes("x.csv", layout.csv(0..3, false).as_bytes(), Expect::Test).unwrap();
    assert_eq!((data.kind, data.side, data.ids.len()), (DataKind::Test, 32, 3));
    let mut out = Vec::new();
    data::write_csv(&data, &mut out).unwrap();
    assert_eq!(data::load_bytes("y.csv", &out, Expect::Test).unwrap(), data);
}
