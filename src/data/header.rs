//! Line 1: a header (`label,pixel0,...`, `label,pixel1,...`, `label,1x1,...,28x28`, `id,pixel0,...`)
//! or, for header-less files, the first data row. It decides the file's [`Layout`]: which
//! columns hold the label and the id, and the side of the square images.

use super::careful::clean;
use super::chunk::trim_cr;
use super::columns::{BOM, FieldSplitter, Layout};
use super::dataset::{DataKind, Expect};
use super::error::{LoadError, LoadErrorKind};

/// Characters of a column name shown in an error message.
const SHOWN_BYTES: usize = 40;
/// The smallest and largest image sides accepted (8x8 .. 64x64 pixels).
pub const MIN_SIDE: usize = 8;
pub const MAX_SIDE: usize = 64;

/// Line 1 must end within this many bytes (the first chunk, when streaming).
pub(super) const HEAD_BYTES: usize = 1 << 20;

/// The side of a square image of `pixels` pixels, if it is one of the accepted sides.
pub fn square_side(pixels: usize) -> Option<usize> {
    let side = pixels.isqrt();
    (side * side == pixels && (MIN_SIDE..=MAX_SIDE).contains(&side)).then_some(side)
}

/// What the loader accepts, for error messages.
fn expected_shapes() -> String {
    format!(
        "square images of {MIN_SIDE}x{MIN_SIDE} to {MAX_SIDE}x{MAX_SIDE} pixels, e.g. 784 (28x28), 1024 (32x32) or 4096 (64x64) pixel columns, after an optional label and id column"
    )
}

/// What a column of the header is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Label,
    Id,
    Pixel,
}

fn column_of(name: &[u8]) -> Option<Column> {
    if name.eq_ignore_ascii_case(b"label") {
        Some(Column::Label)
    } else if name.eq_ignore_ascii_case(b"id") {
        Some(Column::Id)
    } else if is_pixel_name(name) {
        Some(Column::Pixel)
    } else {
        None
    }
}

/// Reads line 1 (without its line end). Returns the layout and whether line 1 is a header; a
/// first field that is a plain number (digits, maybe padded or quoted) makes it a data row.
pub(super) fn detect_layout(
    name: &str,
    line: &[u8],
    splitter: &mut FieldSplitter,
) -> Result<(Layout, bool), LoadError> {
    let at_line_1 = |why| LoadError::new(name, why).at_line(1);
    if std::str::from_utf8(line).is_err() {
        return Err(at_line_1(LoadErrorKind::Binary));
    }
    let fields = splitter.split(line);
    let first = clean(fields.get(0).unwrap_or_default());
    if !first.is_empty() && first.iter().all(u8::is_ascii_digit) {
        // No header: a label first when the rest is a square image, else all pixels.
        let n = fields.len();
        let layout = if let Some(side) = n.checked_sub(1).and_then(square_side) {
            Layout {
                kind: DataKind::Train,
                side,
                label_column: Some(0),
                id_column: None,
            }
        } else if let Some(side) = square_side(n) {
            Layout {
                kind: DataKind::Test,
                side,
                label_column: None,
                id_column: None,
            }
        } else {
            return Err(at_line_1(LoadErrorKind::BadHeader(format!(
                "a file without a header needs a label and {}; found {n} columns",
                expected_shapes()
            ))));
        };
        return Ok((layout, false));
    }
    // A header: `label` and `id` (each at most once), then only pixel names.
    let mut label_column = None;
    let mut id_column = None;
    let mut pixels = 0;
    for (i, field) in fields.iter().enumerate() {
        let field = clean(field);
        let column = column_of(field);
        let slot = match column {
            Some(Column::Label) if pixels == 0 => &mut label_column,
            Some(Column::Id) if pixels == 0 => &mut id_column,
            Some(Column::Pixel) => {
                pixels += 1;
                continue;
            }
            _ => {
                let shown = String::from_utf8_lossy(&field[..field.len().min(SHOWN_BYTES)]).into_owned();
                let wanted = if pixels == 0 {
                    "label, id or a pixel name (pixelN or RxC)"
                } else {
                    "a pixel name (pixelN or RxC)"
                };
                let why = LoadErrorKind::BadHeader(format!("column name {shown:?}, expected {wanted}"));
                return Err(at_line_1(why).at_column(i + 1));
            }
        };
        if slot.is_some() {
            let why = LoadErrorKind::BadHeader(format!("a second {:?} column", String::from_utf8_lossy(field)));
            return Err(at_line_1(why).at_column(i + 1));
        }
        *slot = Some(i);
    }
    let Some(side) = square_side(pixels) else {
        return Err(at_line_1(LoadErrorKind::BadHeader(format!(
            "{} columns, of which {pixels} pixel columns: not a square image; expected {}",
            fields.len(),
            expected_shapes()
        ))));
    };
    let kind = if label_column.is_some() {
        DataKind::Train
    } else {
        DataKind::Test
    };
    Ok((
        Layout {
            kind,
            side,
            label_column,
            id_column,
        },
        true,
    ))
}

/// `pixel` (any case) followed by digits (Kaggle's, 0- or 1-based), or `RxC` (row x column,
/// "MNIST in CSV"). The numbers are not checked against the column: files re-saved by other
/// tools keep the names, and the position is what counts.
fn is_pixel_name(field: &[u8]) -> bool {
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if field.len() > 5 && field[..5].eq_ignore_ascii_case(b"pixel") {
        return digits(&field[5..]);
    }
    match field.iter().position(|&b| b == b'x' || b == b'X') {
        Some(x) => digits(&field[..x]) && digits(&field[x + 1..]),
        None => false,
    }
}

/// Where the data rows start, found from the first chunk.
pub(super) struct Head {
    pub layout: Layout,
    /// Offset of the first data row in the first chunk.
    pub data_start: usize,
    /// Its 1-based line number.
    pub first_data_line: usize,
}

/// Reads line 1 from the first chunk (`eof`: it is the whole file) and checks the kind against
/// `expect`.
pub(super) fn read_head(name: &str, first: &[u8], eof: bool, expect: Expect) -> Result<Head, LoadError> {
    let start = if first.starts_with(BOM) { BOM.len() } else { 0 };
    let newline = memchr::memchr(b'\n', &first[start..]).map(|i| start + i);
    let at_line_1 = |why| LoadError::new(name, why).at_line(1);
    // NUL bytes never occur in CSV text: binary data (checked before the line's length, so that
    // e.g. a disk image is called binary rather than a long line).
    if memchr::memchr(0, &first[start..newline.unwrap_or(first.len())]).is_some() {
        return Err(at_line_1(LoadErrorKind::Binary));
    }
    let header_end = match newline {
        Some(i) => i,
        None if eof => first.len(),
        None => return Err(at_line_1(LoadErrorKind::LineTooLong)),
    };
    let line_1 = trim_cr(&first[start..header_end]);
    let (layout, has_header) = detect_layout(name, line_1, &mut FieldSplitter::new())?;
    if let Some(expected) = expect.refuses(layout.kind) {
        return Err(at_line_1(LoadErrorKind::WrongKind {
            found: layout.kind,
            expected,
        }));
    }
    Ok(if has_header {
        Head {
            layout,
            data_start: (header_end + 1).min(first.len()),
            first_data_line: 2,
        }
    } else {
        Head {
            layout,
            data_start: start,
            first_data_line: 1,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_rows::{header, row};

    fn detect(line: &str) -> Result<(Layout, bool), LoadError> {
        detect_layout("t.csv", line.as_bytes(), &mut FieldSplitter::new())
    }

    fn names(prefix: &str, pixels: usize, first: usize) -> String {
        (first..first + pixels)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn kaggle_headers_and_first_rows_decide_the_layout() {
        let train = Layout::kaggle(DataKind::Train);
        let test = Layout::kaggle(DataKind::Test);
        assert_eq!(detect(&header(DataKind::Train)).unwrap(), (train, true));
        assert_eq!(detect(&header(DataKind::Test)).unwrap(), (test, true));
        assert_eq!(detect(&row(Some(3), 0)).unwrap(), (train, false));
        assert_eq!(detect(&row(None, 0)).unwrap(), (test, false));
        // Quoted, padded and upper-case names, as other tools write them.
        let quoted = header(DataKind::Train)
            .split(',')
            .map(|n| format!(" \"{}\"", n.to_uppercase()))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(detect(&quoted).unwrap(), (train, true));
    }

    #[test]
    fn other_mnist_shaped_headers() {
        // Fashion-MNIST and Sign Language MNIST: 1-based pixel names.
        let (layout, _) = detect(&format!("label,{}", names("pixel", 784, 1))).unwrap();
        assert_eq!(layout, Layout::kaggle(DataKind::Train));
        // MNIST in CSV: row x column names.
        let rc: Vec<String> = (1..=28)
            .flat_map(|r| (1..=28).map(move |c| format!("{r}x{c}")))
            .collect();
        let (layout, _) = detect(&format!("label,{}", rc.join(","))).unwrap();
        assert_eq!(layout, Layout::kaggle(DataKind::Train));
        // Kannada-MNIST's test file: an id column.
        let (layout, _) = detect(&format!("id,{}", names("pixel", 784, 0))).unwrap();
        assert_eq!(
            (layout.kind, layout.id_column, layout.columns()),
            (DataKind::Test, Some(0), 785)
        );
        // Larger squares, with and without a header.
        let (layout, _) = detect(&format!("label,{}", names("pixel", 1024, 0))).unwrap();
        assert_eq!((layout.side, layout.label_column), (32, Some(0)));
        let (layout, header) = detect(&vec!["0"; 4097].join(",")).unwrap();
        assert_eq!((layout.side, layout.kind, header), (64, DataKind::Train, false));
        let (layout, _) = detect(&vec!["0"; 4096].join(",")).unwrap();
        assert_eq!((layout.side, layout.kind), (64, DataKind::Test));
    }

    #[test]
    fn other_tables_are_refused_at_line_1() {
        let e = detect("a,b,c").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(1)));
        assert!(e.to_string().contains("column name \"a\""), "{e}");
        let e = detect(&format!("label,{}", names("pixel", 783, 0))).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), None));
        assert!(
            e.to_string()
                .contains("784 columns, of which 783 pixel columns: not a square image"),
            "{e}"
        );
        assert!(e.to_string().contains("784 (28x28)"), "{e}");
        let e = detect(&vec!["1"; 700].join(",")).unwrap_err();
        assert!(e.to_string().contains("found 700 columns"), "{e}");
        let renamed = header(DataKind::Train).replace("pixel5,", "colour,");
        let e = detect(&renamed).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(7)));
        assert_eq!(
            e.kind,
            LoadErrorKind::BadHeader("column name \"colour\", expected a pixel name (pixelN or RxC)".into())
        );
        let e = detect(&header(DataKind::Train).replacen("label", "digit", 1)).unwrap_err();
        assert_eq!(e.column, Some(1));
        assert!(e.to_string().contains("expected label, id or a pixel name"), "{e}");
        let e = detect(&format!("label,label,{}", names("pixel", 784, 0))).unwrap_err();
        assert_eq!(e.column, Some(2));
        // A label after the pixels is not a layout this loader knows.
        let e = detect(&format!("{},label", names("pixel", 784, 0))).unwrap_err();
        assert_eq!(e.column, Some(785));
        // A quoted comma joins two names: "label,pixel0" is no column name.
        let joined = header(DataKind::Train).replacen("label,pixel0", "\"label,pixel0\"", 1);
        let e = detect(&joined).unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(1)));
        let e = detect_layout("t.csv", b"\xff\xfe,\x80", &mut FieldSplitter::new()).unwrap_err();
        assert_eq!(e.kind, LoadErrorKind::Binary);
    }

    #[test]
    fn square_sides() {
        assert_eq!(square_side(784), Some(28));
        assert_eq!(square_side(1024), Some(32));
        assert_eq!(square_side(4096), Some(64));
        assert_eq!(square_side(785), None);
        assert_eq!(square_side(49), None, "7x7 is too small");
        assert_eq!(square_side(65 * 65), None, "too large");
    }
}
