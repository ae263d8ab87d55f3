//! One chunk of whole lines turned into rows: the fast path for each row, the careful path for
//! the rows it declines.

use super::MAX_LINE_BYTES;
use super::careful;
use super::columns::{FieldSplitter, Layout, RowSink};
use super::error::{LoadError, LoadErrorKind};
use super::fast_row::{MAX_FAST_COLUMNS, parse_plain_row};

/// A piece of the file made of whole lines, with the number of its first line.
pub(super) struct Chunk {
    /// Position in the file (0, 1, ...), to put the parsed chunks back in order.
    pub index: usize,
    /// 1-based line number of the chunk's first line.
    pub first_line: usize,
    pub bytes: Vec<u8>,
}

/// Rows parsed from one chunk.
#[derive(Debug, Default)]
pub(super) struct ParsedChunk {
    /// `(rows, side * side)` pixels, row-major.
    pub pixels: Vec<u8>,
    /// `(rows)` labels for training data, empty for test data.
    pub labels: Vec<u8>,
    /// `(rows)` ids when the file has an id column, else empty.
    pub ids: Vec<String>,
}

impl RowSink for ParsedChunk {
    fn push_row(&mut self, label: Option<u8>, id: Option<String>, pixels: &[u8]) {
        self.labels.extend(label);
        self.ids.extend(id);
        self.pixels.extend_from_slice(pixels);
    }
}

/// Parses every line of `chunk` (of a file named `name` laid out as `layout`); blank lines are
/// skipped. The first error in the chunk is returned, naming its line.
pub(super) fn parse_chunk(
    name: &str,
    layout: &Layout,
    chunk: &Chunk,
    splitter: &mut FieldSplitter,
) -> Result<ParsedChunk, LoadError> {
    // Kaggle's rows average about 1,800 bytes (mostly "0,"): this estimate rarely reallocates.
    let estimate = chunk.bytes.len() / (2 * layout.pixels()).max(1500) + 1;
    let mut out = ParsedChunk {
        pixels: Vec::with_capacity(estimate * layout.pixels()),
        labels: Vec::with_capacity(if layout.label_column.is_some() { estimate } else { 0 }),
        ids: Vec::new(),
    };
    parse_lines(name, layout, &chunk.bytes, chunk.first_line, splitter, &mut out)?;
    Ok(out)
}

/// Parses every line of `bytes` (whole lines of a file named `name` laid out as `layout`, the
/// first of them line `first_line`) into `out`; blank lines are skipped. The first error is
/// returned, naming its line.
pub(super) fn parse_lines(
    name: &str,
    layout: &Layout,
    bytes: &[u8],
    first_line: usize,
    splitter: &mut FieldSplitter,
    out: &mut impl RowSink,
) -> Result<(), LoadError> {
    // Ids are text, not pixels: rows with one always take the careful path, as do rows wider
    // than the Digit Recognizer's.
    let fast = layout.id_column.is_none() && layout.columns() <= MAX_FAST_COLUMNS;
    // Scratch for the careful path.
    let mut values = vec![0u8; layout.columns()];
    let mut start = 0;
    let mut line = first_line;
    while start < bytes.len() {
        if fast && let Some(next) = parse_plain_row(bytes, start, layout, out) {
            start = next;
            line += 1;
            continue;
        }
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let text = trim_cr(&bytes[start..end]);
        let this_line = line;
        start = end + 1;
        line += 1;
        if careful::is_blank(text) {
            continue; // blank lines (including the one after the final newline) are skipped
        }
        if text.len() > MAX_LINE_BYTES {
            return Err(LoadError::new(name, LoadErrorKind::LineTooLong).at_line(this_line));
        }
        careful::parse_row(name, this_line, splitter.split(text), layout, &mut values, out)?;
    }
    Ok(())
}

/// The line without the CR of a CRLF line end.
pub(super) fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_rows::{pixel, row};
    use crate::data::{DataKind, PIXELS};

    fn parse(text: &str, first_line: usize) -> Result<ParsedChunk, LoadError> {
        let chunk = Chunk {
            index: 0,
            first_line,
            bytes: text.as_bytes().to_vec(),
        };
        parse_chunk(
            "t.csv",
            &Layout::kaggle(DataKind::Train),
            &chunk,
            &mut FieldSplitter::new(),
        )
    }

    #[test]
    fn fast_and_careful_rows_mix_in_order() {
        let plain = row(Some(2), 5);
        let padded = row(Some(3), 6).replace(',', ", ");
        let quoted = row(Some(4), 7)
            .split(',')
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(",");
        let text = format!("{plain}\n \t\n{padded}\r\n\n{quoted}");
        let out = parse(&text, 10).unwrap();
        assert_eq!(out.labels, vec![2, 3, 4]);
        let want: Vec<u8> = [5u8, 6, 7]
            .iter()
            .flat_map(|&fill| (0..PIXELS).map(move |i| pixel(i, fill)))
            .collect();
        assert_eq!(out.pixels, want);
    }

    #[test]
    fn errors_name_the_line_in_the_file() {
        let plain = row(Some(2), 5);
        // Lines 10 and 11 are fine, 12 is blank, 13 is bad.
        let text = format!("{plain}\n{plain}\n\n{plain},9\n");
        let e = parse(&text, 10).unwrap_err();
        assert_eq!((e.line, e.column), (Some(13), None));
        let long = format!("{plain}\n{}\n", "1,".repeat(MAX_LINE_BYTES));
        let e = parse(&long, 10).unwrap_err();
        assert_eq!((e.line, e.kind), (Some(11), LoadErrorKind::LineTooLong));
    }
}
