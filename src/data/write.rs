//! Writing data sets in Kaggle's format, through `csv::Writer`.

use std::io;

use super::dataset::{DataKind, Dataset};

/// Writes rows in Kaggle's format (header, then one line per row, LF line ends): `id` first when
/// the data has ids, then `label` for training data, then `pixel0..`; used to make the embedded
/// sample and test files.
pub fn write_csv(dataset: &Dataset, out: &mut impl io::Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    let id = (!dataset.ids.is_empty()).then(|| "id".to_owned());
    let label = (dataset.kind == DataKind::Train).then(|| "label".to_owned());
    let pixels = (0..dataset.image_pixels()).map(|i| format!("pixel{i}"));
    writer
        .write_record(id.into_iter().chain(label).chain(pixels))
        .map_err(csv_to_io_error)?;
    for row in 0..dataset.rows() {
        let id = dataset.ids.get(row).map(String::as_bytes);
        let label = dataset.label(row).map(decimal);
        let pixels = dataset.image(row).iter().map(|&p| decimal(p));
        writer
            .write_record(id.into_iter().chain(label).chain(pixels))
            .map_err(csv_to_io_error)?;
    }
    writer.flush()
}

/// The decimal digits of every byte value, so that writing a pixel allocates nothing:
/// `DECIMAL[v]` is `(digits, length)`.
const DECIMAL: [([u8; 3], usize); 256] = {
    let mut table = [([0u8; 3], 0usize); 256];
    let mut v = 0;
    while v < 256 {
        table[v] = if v >= 100 {
            (
                [
                    b'0' + (v / 100) as u8,
                    b'0' + (v / 10 % 10) as u8,
                    b'0' + (v % 10) as u8,
                ],
                3,
            )
        } else if v >= 10 {
            ([b'0' + (v / 10) as u8, b'0' + (v % 10) as u8, 0], 2)
        } else {
            ([b'0' + v as u8, 0, 0], 1)
        };
        v += 1;
    }
    table
};

/// `value` in decimal, e.g. `b"255"`.
fn decimal(value: u8) -> &'static [u8] {
    let (digits, len) = &DECIMAL[usize::from(value)];
    &digits[..*len]
}

/// The I/O error inside a `csv::Error` as it was (same kind and message); other CSV errors
/// (impossible for the fixed-width records written here) as `Other`.
pub(crate) fn csv_to_io_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("CSV error: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Expect;
    use crate::data::test_rows::{load, train_text};

    #[test]
    fn decimal_table_spells_every_byte() {
        for v in 0..=255u8 {
            assert_eq!(decimal(v), v.to_string().as_bytes());
        }
    }

    #[test]
    fn write_csv_round_trips_and_matches_kaggle_bytes() {
        let text = train_text(7);
        let data = load(text.as_bytes(), Expect::Train).unwrap();
        let mut out = Vec::new();
        write_csv(&data, &mut out).unwrap();
        assert_eq!(String::from_utf8(out.clone()).unwrap(), text, "byte for byte");
        assert_eq!(load(&out, Expect::Train).unwrap(), data);
        let test = Dataset::new(DataKind::Test, data.pixels.clone(), Vec::new());
        let mut out = Vec::new();
        write_csv(&test, &mut out).unwrap();
        assert!(out.starts_with(b"pixel0,pixel1,"));
        assert_eq!(load(&out, Expect::Test).unwrap(), test);
    }

    #[test]
    fn write_errors_keep_their_kind() {
        struct Full;
        impl io::Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let data = load(train_text(30).as_bytes(), Expect::Train).unwrap();
        let e = write_csv(&data, &mut Full).unwrap_err();
        assert_eq!(
            (e.kind(), e.to_string()),
            (io::ErrorKind::StorageFull, "disk full".to_owned())
        );
    }
}
