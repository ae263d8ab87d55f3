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
    /// `confusion[true][predicted]`
    pub confusion: [[usize; CLASSES]; CLASSES],
    /// Per class: of the rows predicted as this class, the share that are; None if never predicted.
    pub precision: [Option<f32>; CLASSES],
    /// Per class: of the rows of this class, the share predicted as it; None if absent.
    pub recall: [Option<f32>; CLASSES],
}

impl Evaluation {
    pub fn from_predictions(predictions: &[u8], labels: &[u8]) -> Evaluation {
        let mut confusion = [[0; CLASSES]; CLASSES];
        for (&p, &l) in predictions.iter().zip(labels) {
            confusion[l as usize][p as usize] += 1;
        }
        let rows = predictions.len().min(labels.len());
        let correct: usize = (0..CLASSES).map(|c| confusion[c][c]).sum();
        let ratio = |num: usize, den: usize| (den > 0).then(|| num as f32 / den as f32);
        let precision = std::array::from_fn(|c| ratio(confusion[c][c], (0..CLASSES).map(|t| confusion[t][c]).sum()));
        let recall = std::array::from_fn(|c| ratio(confusion[c][c], confusion[c].iter().sum()));
        Evaluation {
            rows,
            accuracy: ratio(correct, rows).unwrap_or(0.0),
            confusion,
            precision,
            recall,
        }
    }
}

/// Evaluates `model` on labelled `data`.
pub fn evaluate(model: &Mlp, data: &Dataset) -> Evaluation {
    Evaluation::from_predictions(&model.predict(&data.pixels), &data.labels)
}

/// Writes Kaggle's submission format: `ImageId,Label`, ImageId from 1, LF line ends.
pub fn write_submission_to(predictions: &[u8], out: &mut impl Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(["ImageId", "Label"]).map_err(csv_to_io_error)?;
    for (i, label) in predictions.iter().enumerate() {
        writer.serialize((i + 1, label)).map_err(csv_to_io_error)?;
    }
    writer.flush()
}

/// Writes the submission atomically.
pub fn write_submission(path: &Path, predictions: &[u8]) -> io::Result<()> {
    write_atomic(path, |w| write_submission_to(predictions, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_format() {
        let mut out = Vec::new();
        write_submission_to(&[3, 0, 9], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "ImageId,Label\n1,3\n2,0\n3,9\n");
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
