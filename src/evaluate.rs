//! Evaluation on labelled data and the Kaggle submission file.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::atomic::write_atomic;
use crate::data::{CLASSES, Dataset, csv_to_io_error};
use crate::network::Mlp;

/// Accuracy, per-class precision and recall, and the confusion matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub rows: usize,
    pub accuracy: f32,
    /// `confusion[true][predicted]`, one row and column per label `0..=max(9, largest label)`
    pub confusion: Vec<Vec<usize>>,
    /// Per class: of the rows predicted as this class, the share that are; None if never predicted.
    pub precision: Vec<Option<f32>>,
    /// Per class: of the rows of this class, the share predicted as it; None if absent.
    pub recall: Vec<Option<f32>>,
}

impl Evaluation {
    pub fn from_predictions(predictions: &[u8], labels: &[u8]) -> Evaluation {
        let largest = predictions.iter().chain(labels).copied().max().unwrap_or(0);
        let classes = CLASSES.max(usize::from(largest) + 1);
        let mut confusion = vec![vec![0; classes]; classes];
        for (&p, &l) in predictions.iter().zip(labels) {
            confusion[l as usize][p as usize] += 1;
        }
        let rows = predictions.len().min(labels.len());
        let correct: usize = (0..classes).map(|c| confusion[c][c]).sum();
        let ratio = |num: usize, den: usize| (den > 0).then(|| num as f32 / den as f32);
        let precision = (0..classes)
            .map(|c| ratio(confusion[c][c], (0..classes).map(|t| confusion[t][c]).sum()))
            .collect();
        let recall = (0..classes)
            .map(|c| ratio(confusion[c][c], confusion[c].iter().sum()))
            .collect();
        Evaluation {
            rows,
            accuracy: ratio(correct, rows).unwrap_or(0.0),
            confusion,
            precision,
            recall,
        }
    }
}

/// Whether `model` can run on `data` (named `file`): the same image size, and (for labelled
/// data) no label beyond the model's outputs. The message says what each has.
pub fn check_fits(model: &Mlp, data: &Dataset, file: &str) -> Result<(), String> {
    let shape = |pixels: usize| {
        let side = pixels.isqrt();
        if side * side == pixels {
            format!("{side}x{side} images ({pixels} pixels)")
        } else {
            format!("{pixels} inputs")
        }
    };
    if data.image_pixels() != model.inputs() {
        return Err(format!(
            "{file} has {}, but the model was trained on {}",
            shape(data.image_pixels()),
            shape(model.inputs())
        ));
    }
    if let Some(&label) = data.labels.iter().find(|&&l| usize::from(l) >= model.classes()) {
        return Err(format!(
            "{file} has label {label}, but the model knows labels 0 to {} only",
            model.classes() - 1
        ));
    }
    Ok(())
}

/// Evaluates `model` on labelled `data`.
pub fn evaluate(model: &Mlp, data: &Dataset) -> Evaluation {
    Evaluation::from_predictions(&model.predict(&data.pixels), &data.labels)
}

/// Evaluates `model` on labelled `data`, answering only with `labels` (see [`predict_among`]).
pub fn evaluate_among(model: &Mlp, labels: &[u8], data: &Dataset) -> Evaluation {
    Evaluation::from_predictions(&predict_among(model, labels, &data.pixels), &data.labels)
}

/// The most probable of `labels` (the labels the model's training data held) for each image:
/// an output no training row had (Sign Language MNIST's 9) is never the answer, so predictions
/// always come back in the data set's own labels. All outputs when `labels` is empty.
pub fn predict_among(model: &Mlp, labels: &[u8], pixels: &[u8]) -> Vec<u8> {
    if labels.is_empty() || labels.len() == model.classes() {
        return model.predict(pixels);
    }
    model
        .predict_proba(pixels)
        .rows()
        .into_iter()
        .map(|p| best_of(p.as_slice().unwrap_or(&[]), labels) as u8)
        .collect()
}

/// The most probable of `labels` in `probs` (all of them when `labels` is empty).
pub fn best_of(probs: &[f32], labels: &[u8]) -> usize {
    if labels.is_empty() {
        return crate::network::argmax(probs);
    }
    let score = |l: &u8| probs.get(usize::from(*l)).copied().unwrap_or(f32::NEG_INFINITY);
    labels
        .iter()
        .max_by(|a, b| score(a).total_cmp(&score(b)))
        .map_or(0, |&l| usize::from(l))
}

/// Writes a submission in the test file's own form, LF line ends: with the file's `ids` (its
/// `id` column, Kannada-MNIST) `id,label`; without (`ids` empty) Kaggle's Digit Recognizer
/// format, `ImageId,Label` with ImageId from 1.
pub fn write_submission_to(predictions: &[u8], ids: &[String], out: &mut impl Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    if ids.is_empty() {
        writer.write_record(["ImageId", "Label"]).map_err(csv_to_io_error)?;
        for (i, label) in predictions.iter().enumerate() {
            writer.serialize((i + 1, label)).map_err(csv_to_io_error)?;
        }
    } else {
        writer.write_record(["id", "label"]).map_err(csv_to_io_error)?;
        for (id, label) in ids.iter().zip(predictions) {
            writer.serialize((id, label)).map_err(csv_to_io_error)?;
        }
    }
    writer.flush()
}

/// Writes the submission atomically (see [`write_submission_to`]).
pub fn write_submission(path: &Path, predictions: &[u8], ids: &[String]) -> io::Result<()> {
    write_atomic(path, |w| write_submission_to(predictions, ids, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_format() {
        let mut out = Vec::new();
        write_submission_to(&[3, 0, 9], &[], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "ImageId,Label\n1,3\n2,0\n3,9\n");
        let mut out = Vec::new();
        let ids = ["0", "17", "a,b"].map(String::from);
        write_submission_to(&[3, 24, 9], &ids, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "id,label\n0,3\n17,24\n\"a,b\",9\n");
    }

    #[test]
    fn models_and_files_that_disagree_are_named() {
        let model = Mlp::new(&[784, 4, 10], crate::network::Init::He, 1);
        let mut data = Dataset::new(crate::data::DataKind::Train, vec![0; 2 * 1024], vec![1, 2]);
        data.side = 32;
        let e = check_fits(&model, &data, "f.csv").unwrap_err();
        assert_eq!(
            e,
            "f.csv has 32x32 images (1024 pixels), but the model was trained on 28x28 images (784 pixels)"
        );
        let data = Dataset::new(crate::data::DataKind::Train, vec![0; 2 * 784], vec![1, 12]);
        let e = check_fits(&model, &data, "f.csv").unwrap_err();
        assert_eq!(e, "f.csv has label 12, but the model knows labels 0 to 9 only");
        let data = Dataset::new(crate::data::DataKind::Train, vec![0; 2 * 784], vec![1, 9]);
        assert_eq!(check_fits(&model, &data, "f.csv"), Ok(()));
    }

    #[test]
    fn predictions_come_back_in_the_labels_given() {
        let mut model = Mlp::new(&[784, 4], crate::network::Init::He, 1);
        // Output 3 always wins, then 2, then 0.
        model.layers[0].b = ndarray::Array1::from(vec![1.0, 0.0, 5.0, 9.0]);
        model.layers[0].w.fill(0.0);
        let pixels = vec![7u8; 2 * 784];
        assert_eq!(predict_among(&model, &[], &pixels), vec![3, 3]);
        assert_eq!(predict_among(&model, &[0, 1, 2], &pixels), vec![2, 2]);
        assert_eq!(predict_among(&model, &[0, 1], &pixels), vec![0, 0]);
    }

    #[test]
    fn confusion_grows_with_the_labels() {
        let e = Evaluation::from_predictions(&[24, 3], &[24, 10]);
        assert_eq!(
            (e.confusion.len(), e.confusion[24][24], e.recall[10]),
            (25, 1, Some(0.0))
        );
        assert_eq!(Evaluation::from_predictions(&[1], &[1]).confusion.len(), 10);
    }

    #[test]
    fn confusion_precision_recall() {
        let e = Evaluation::from_predictions(&[1, 1, 2, 2], &[1, 2, 2, 2]);
        assert_eq!(e.accuracy, 0.75);
        assert_eq!(e.confusion[2][1], 1);
        assert_eq!(e.precision[1], Some(0.5));
        assert_eq!(e.recall[2], Some(2.0 / 3.0));
        assert_eq!(e.recall[0], None);
    }
}
