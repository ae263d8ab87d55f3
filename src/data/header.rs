//! Line 1: a Kaggle header (`label,pixel0,...` or `pixel0,...`) or, for header-less files, the
//! first data row. It decides whether the file is training or test data.

use super::PIXELS;
use super::careful::{FieldSplitter, clean};
use super::dataset::DataKind;
use super::error::{LoadError, LoadErrorKind};

/// Characters of a column name shown in an error message.
const SHOWN_BYTES: usize = 40;

/// Reads line 1 (without its line end). Returns the kind and whether line 1 is a header; a
/// first field that is a plain number (digits, maybe padded or quoted) makes it a data row.
pub(super) fn detect_kind(
    name: &str,
    line: &[u8],
    splitter: &mut FieldSplitter,
) -> Result<(DataKind, bool), LoadError> {
    let at_line_1 = |why| LoadError::new(name, why).at_line(1);
    let fields = splitter.split(line);
    let kind = match fields.len() {
        n if n == PIXELS + 1 => DataKind::Train,
        n if n == PIXELS => DataKind::Test,
        _ if std::str::from_utf8(line).is_err() => return Err(at_line_1(LoadErrorKind::Binary)),
        found => {
            return Err(at_line_1(LoadErrorKind::BadHeader(format!(
                "expected {} columns (label,pixel0..pixel{last}) or {PIXELS} columns (pixel0..pixel{last}), found {found}",
                PIXELS + 1,
                last = PIXELS - 1
            ))));
        }
    };
    let first = clean(fields.get(0).unwrap_or_default());
    if !first.is_empty() && first.iter().all(u8::is_ascii_digit) {
        return Ok((kind, false));
    }
    // A header: check the names so that a different table with 784/785 columns is refused.
    for (i, field) in fields.iter().enumerate() {
        let field = clean(field);
        let label_column = kind == DataKind::Train && i == 0;
        let ok = if label_column {
            field.eq_ignore_ascii_case(b"label")
        } else {
            is_pixel_name(field)
        };
        if !ok {
            let shown = String::from_utf8_lossy(&field[..field.len().min(SHOWN_BYTES)]).into_owned();
            let wanted = if label_column { "label" } else { "pixelN" };
            let why = LoadErrorKind::BadHeader(format!("column name {shown:?}, expected {wanted}"));
            return Err(at_line_1(why).at_column(i + 1));
        }
    }
    Ok((kind, true))
}

/// `pixel` (any case) followed by digits. The number is not checked against the column: files
/// re-saved by other tools keep Kaggle's names, and the position is what counts.
fn is_pixel_name(field: &[u8]) -> bool {
    field.len() > 5 && field[..5].eq_ignore_ascii_case(b"pixel") && field[5..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_rows::{header, row};

    fn detect(line: &str) -> Result<(DataKind, bool), LoadError> {
        detect_kind("t.csv", line.as_bytes(), &mut FieldSplitter::new())
    }

    #[test]
    fn kaggle_headers_and_first_rows_decide_the_kind() {
        assert_eq!(detect(&header(DataKind::Train)).unwrap(), (DataKind::Train, true));
        assert_eq!(detect(&header(DataKind::Test)).unwrap(), (DataKind::Test, true));
        assert_eq!(detect(&row(Some(3), 0)).unwrap(), (DataKind::Train, false));
        assert_eq!(detect(&row(None, 0)).unwrap(), (DataKind::Test, false));
        // Quoted, padded and upper-case names, as other tools write them.
        let quoted = header(DataKind::Train)
            .split(',')
            .map(|n| format!(" \"{}\"", n.to_uppercase()))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(detect(&quoted).unwrap(), (DataKind::Train, true));
    }

    #[test]
    fn other_tables_are_refused_at_line_1() {
        let e = detect("a,b,c").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), None));
        assert!(e.to_string().contains("found 3"), "{e}");
        let renamed = header(DataKind::Train).replace("pixel5,", "colour,");
        let e = detect(&renamed).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(7)));
        assert_eq!(
            e.kind,
            LoadErrorKind::BadHeader("column name \"colour\", expected pixelN".into())
        );
        let e = detect(&header(DataKind::Train).replacen("label", "digit", 1)).unwrap_err();
        assert_eq!(e.column, Some(1));
        assert!(e.to_string().contains("expected label"), "{e}");
        // A quoted comma joins two names: 784 fields, read as a test header, and "label,pixel0"
        // is not a pixel name.
        let joined = header(DataKind::Train).replacen("label,pixel0", "\"label,pixel0\"", 1);
        let e = detect(&joined).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(1)));
        let e = detect_kind("t.csv", b"\xff\xfe,\x80", &mut FieldSplitter::new()).unwrap_err();
        assert_eq!(e.kind, LoadErrorKind::Binary);
    }
}
