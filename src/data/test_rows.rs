//! Small Kaggle-format files for the unit tests of this module.

use std::io::Write;

use super::{DataKind, Dataset, Expect, LoadError, PIXELS, load_bytes};

/// The Kaggle header line of `kind`, without a line end.
pub(super) fn header(kind: DataKind) -> String {
    let mut names: Vec<String> = (0..PIXELS).map(|i| format!("pixel{i}")).collect();
    if kind == DataKind::Train {
        names.insert(0, "label".into());
    }
    names.join(",")
}

/// The value of pixel `i` in a row made with `fill`: `(i * 7 + fill) % 256`.
pub(super) fn pixel(i: usize, fill: u8) -> u8 {
    ((i as u32 * 7 + u32::from(fill)) % 256) as u8
}

/// One data line (no line end): the label, if any, then the 784 pixels of [`pixel`].
pub(super) fn row(label: Option<u8>, fill: u8) -> String {
    let mut fields: Vec<String> = (0..PIXELS).map(|i| pixel(i, fill).to_string()).collect();
    if let Some(label) = label {
        fields.insert(0, label.to_string());
    }
    fields.join(",")
}

/// A train file: header, then `rows` rows, row `r` labelled `r % 10` and filled with `r`.
pub(super) fn train_text(rows: usize) -> String {
    let mut text = format!("{}\n", header(DataKind::Train));
    for r in 0..rows {
        text += &row(Some((r % 10) as u8), r as u8);
        text += "\n";
    }
    text
}

pub(super) fn load(text: &[u8], expect: Expect) -> Result<Dataset, LoadError> {
    load_bytes("t.csv", text, expect)
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Asserts `data` holds exactly the rows of [`train_text`]`(rows)`.
pub(super) fn assert_train_rows(data: &Dataset, rows: usize) {
    assert_eq!((data.kind, data.rows()), (DataKind::Train, rows));
    for r in 0..rows {
        assert_eq!(data.label(r), Some((r % 10) as u8), "label of row {r}");
        let want: Vec<u8> = (0..PIXELS).map(|i| pixel(i, r as u8)).collect();
        assert_eq!(data.image(r), &want[..], "pixels of row {r}");
    }
}
