//! The careful path: rows the fast path declines (quotes, spaces, `7.0`, CR in odd places, bad
//! values) are split into fields by the `csv` crate, then checked field by field. It accepts
//! every valid spelling of a row and makes the error message for an invalid one.

use csv::ByteRecord;

use super::columns::{Layout, RowSink};
use super::dataset::MAX_LABEL;
use super::error::{LoadError, LoadErrorKind};

/// Values are accumulated up to this and no further: far above 255, so a huge number (even an
/// endless run of digits) cannot overflow and is still reported as out of range.
const SATURATED: u32 = 1 << 20;

/// Characters of a field shown in an error message.
const SHOWN_BYTES: usize = 40;

/// Parses one line (as split by [`FieldSplitter`](super::columns::FieldSplitter)) of a file laid out as `layout` into `out`;
/// `line` is its 1-based number in the file, for errors; `values` is scratch of
/// `layout.columns()` bytes. The first bad field (in column order) is reported, then a wrong
/// number of fields.
pub(super) fn parse_row(
    name: &str,
    line: usize,
    fields: &ByteRecord,
    layout: &Layout,
    values: &mut [u8],
    out: &mut impl RowSink,
) -> Result<(), LoadError> {
    let columns = layout.columns();
    let error = |column: usize, why| Err(LoadError::new(name, why).at_line(line).at_column(column));
    // The row's values, appended only when all of them are valid (the id's column stays 0).
    let mut id = None;
    for (i, field) in fields.iter().take(columns).enumerate() {
        if layout.id_column == Some(i) {
            let text = clean(field);
            if text.is_empty() {
                return error(i + 1, LoadErrorKind::EmptyId);
            }
            id = Some(String::from_utf8_lossy(text).into_owned());
            continue;
        }
        let Some(value) = parse_number(field) else {
            let shown = String::from_utf8_lossy(&field[..field.len().min(SHOWN_BYTES)]).into_owned();
            return error(i + 1, LoadErrorKind::NotANumber(format!("{shown:?}")));
        };
        if layout.label_column == Some(i) && value > u32::from(MAX_LABEL) {
            return error(i + 1, LoadErrorKind::LabelOutOfRange(value_text(field)));
        }
        if value > 255 {
            return error(i + 1, LoadErrorKind::PixelOutOfRange(value_text(field)));
        }
        values[i] = value as u8;
    }
    if fields.len() != columns {
        let why = LoadErrorKind::WrongFieldCount {
            expected: columns,
            found: fields.len(),
        };
        return Err(LoadError::new(name, why).at_line(line));
    }
    let label = layout.label_column.map(|column| values[column]);
    out.push_row(label, id, &values[layout.leading()..columns]);
    Ok(())
}

/// A value without the spaces, tabs and one pair of quotes around it (in either order: the csv
/// crate only unquotes a field whose quote comes first, `" 7"` reaches here as ` "7"`).
pub(super) fn clean(field: &[u8]) -> &[u8] {
    trim(unquote(trim(field)))
}

fn trim(field: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t');
    let start = field.iter().position(|b| !is_space(b)).unwrap_or(field.len());
    let end = field.iter().rposition(|b| !is_space(b)).map_or(start, |i| i + 1);
    &field[start..end]
}

fn unquote(field: &[u8]) -> &[u8] {
    match field {
        [b'"', inner @ .., b'"'] => inner,
        _ => field,
    }
}

/// Whether a line holds nothing but spaces and tabs (such lines are skipped).
pub(super) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t'))
}

/// Parses a whole number field: digits, optionally signed `+`, padded with spaces and quoted
/// (see [`clean`]), optionally with a fractional part of zeros ("12.0", as some tools write).
/// Values above [`SATURATED`] come back as [`SATURATED`].
pub(super) fn parse_number(field: &[u8]) -> Option<u32> {
    // Most fields, even on a row that came here, are 1-3 plain digits: read them directly.
    if (1..=3).contains(&field.len()) && field.iter().all(u8::is_ascii_digit) {
        return Some(field.iter().fold(0, |value, &b| value * 10 + u32::from(b - b'0')));
    }
    let field = clean(field);
    let (int, frac) = match field.iter().position(|&b| b == b'.') {
        Some(dot) => (&field[..dot], &field[dot + 1..]),
        None => (field, &field[field.len()..]),
    };
    let int = int.strip_prefix(b"+").unwrap_or(int);
    if int.is_empty() || !frac.iter().all(|&b| b == b'0') {
        return None;
    }
    let mut value: u32 = 0;
    for &b in int {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = (value * 10 + u32::from(digit)).min(SATURATED);
    }
    Some(value)
}

/// An out-of-range value as the user wrote it, without padding and quotes, cut to 40 bytes.
fn value_text(field: &[u8]) -> String {
    let value = clean(field);
    String::from_utf8_lossy(&value[..value.len().min(SHOWN_BYTES)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::chunk::ParsedChunk;
    use crate::data::columns::FieldSplitter;
    use crate::data::{DataKind, PIXELS};

    #[test]
    fn numbers_may_be_padded_quoted_signed_and_dotted() {
        for (text, want) in [
            ("7", Some(7)),
            (" 7\t", Some(7)),
            ("\"7\"", Some(7)),
            (" \"+7.0\" ", Some(7)),
            ("\" 7 \"", Some(7)),
            ("007", Some(7)),
            ("12.000", Some(12)),
            ("", None),
            ("\"\"", None),
            ("-1", None),
            ("7.5", None),
            ("7.", Some(7)),
            (".0", None),
            ("1e2", None),
            ("++7", None),
            ("\"7", None),
            ("7\n", None),
        ] {
            assert_eq!(parse_number(text.as_bytes()), want, "{text:?}");
        }
    }

    #[test]
    fn huge_numbers_saturate_above_every_valid_value() {
        assert_eq!(parse_number(b"1048575"), Some(SATURATED - 1));
        assert_eq!(parse_number(b"1048577"), Some(SATURATED));
        assert_eq!(parse_number("9".repeat(10_000).as_bytes()), Some(SATURATED));
        assert_eq!(parse_number(b"4294967296"), Some(SATURATED), "2^32 must not wrap to 0");
    }

    fn parse_as(line: &str, layout: &Layout) -> Result<ParsedChunk, LoadError> {
        let mut splitter = FieldSplitter::new();
        let mut out = ParsedChunk::default();
        let mut values = vec![0; layout.columns()];
        parse_row(
            "t.csv",
            9,
            splitter.split(line.as_bytes()),
            layout,
            &mut values,
            &mut out,
        )?;
        Ok(out)
    }

    fn parse(line: &str, kind: DataKind) -> Result<ParsedChunk, LoadError> {
        parse_as(line, &Layout::kaggle(kind))
    }

    #[test]
    fn id_columns_are_kept_as_text() {
        let layout = Layout {
            kind: DataKind::Test,
            side: 28,
            label_column: None,
            id_column: Some(0),
        };
        let out = parse_as(&row_with(0, " \"000123\" "), &layout).unwrap();
        assert_eq!(
            (out.ids, out.pixels.len(), out.labels.len()),
            (vec!["000123".to_owned()], PIXELS, 0)
        );
        let e = parse_as(&row_with(0, ""), &layout).unwrap_err();
        assert_eq!((e.column, e.kind), (Some(1), LoadErrorKind::EmptyId));
        // An id and a label: both leave the pixels.
        let layout = Layout {
            label_column: Some(1),
            kind: DataKind::Train,
            ..layout
        };
        let mut line = row_with(0, "77");
        line.push_str(",5");
        let out = parse_as(&line, &layout).unwrap();
        assert_eq!(
            (out.ids, out.labels, out.pixels.len()),
            (vec!["77".to_owned()], vec![1], PIXELS)
        );
    }

    fn row_with(field: usize, value: &str) -> String {
        let mut fields = vec!["1".to_owned(); PIXELS + 1];
        value.clone_into(&mut fields[field]);
        fields.join(",")
    }

    #[test]
    fn rows_are_read_or_refused_at_the_first_bad_column() {
        let out = parse(&row_with(5, " \"200\" "), DataKind::Train).unwrap();
        assert_eq!(out.labels, vec![1]);
        assert_eq!((out.pixels.len(), out.pixels[4], out.pixels[3]), (PIXELS, 200, 1));
        let out = parse(&row_with(0, "\"9.0\""), DataKind::Train).unwrap();
        assert_eq!(out.labels, vec![9]);

        let e = parse(&row_with(5, "abc"), DataKind::Train).unwrap_err();
        assert_eq!((e.line, e.column), (Some(9), Some(6)));
        assert_eq!(e.kind, LoadErrorKind::NotANumber("\"abc\"".into()));
        let out = parse(&row_with(0, " 46 "), DataKind::Train).unwrap();
        assert_eq!(out.labels, vec![46], "EMNIST balanced's largest label");
        let e = parse(&row_with(0, " 100 "), DataKind::Train).unwrap_err();
        assert_eq!(
            (e.column, e.kind),
            (Some(1), LoadErrorKind::LabelOutOfRange("100".into()))
        );
        let e = parse(&row_with(7, "\"256\""), DataKind::Train).unwrap_err();
        assert_eq!(
            (e.column, e.kind),
            (Some(8), LoadErrorKind::PixelOutOfRange("256".into()))
        );
        // A quoted comma is one field: one too few, and the field is no number.
        let e = parse(&row_with(3, "\"1,1\""), DataKind::Train).unwrap_err();
        assert_eq!(
            (e.column, &e.kind),
            (Some(4), &LoadErrorKind::NotANumber("\"1,1\"".into()))
        );
        // Good values but the wrong count: the line, no column.
        let e = parse(&format!("{},1", row_with(3, "1")), DataKind::Train).unwrap_err();
        assert_eq!(
            (e.line, e.column, e.kind),
            (
                Some(9),
                None,
                LoadErrorKind::WrongFieldCount {
                    expected: 785,
                    found: 786
                }
            )
        );
        // A test row is 784 pixels, the first of which may be large.
        let out = parse(&vec!["255"; PIXELS].join(","), DataKind::Test).unwrap();
        assert_eq!((out.pixels, out.labels), (vec![255; PIXELS], vec![]));
    }
}
