//! What every parser of a line shares, in a leaf of its own so that the parsers need not
//! import each other: a file's [`Layout`] (which column holds what, decided by line 1), the
//! [`FieldSplitter`] that cuts a line into fields the CSV way, and the [`RowSink`] parsed rows
//! go to.

use std::io;

use csv::ByteRecord;

use super::dataset::DataKind;

/// The columns of a file: optional label and id columns first, then `side * side` pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub kind: DataKind,
    /// Side of the square images.
    pub side: usize,
    /// 0-based column of the label, for training data.
    pub label_column: Option<usize>,
    /// 0-based column of the `id`, when the file has one.
    pub id_column: Option<usize>,
}

impl Layout {
    /// Kaggle's Digit Recognizer layout of `kind`.
    #[cfg(test)]
    pub(super) fn kaggle(kind: DataKind) -> Layout {
        Layout {
            kind,
            side: 28,
            label_column: (kind == DataKind::Train).then_some(0),
            id_column: None,
        }
    }

    /// Columns before the pixels.
    pub(super) fn leading(&self) -> usize {
        usize::from(self.label_column.is_some()) + usize::from(self.id_column.is_some())
    }

    pub(super) fn pixels(&self) -> usize {
        self.side * self.side
    }

    pub(super) fn columns(&self) -> usize {
        self.leading() + self.pixels()
    }
}

/// Where parsed rows go: a growing [`ParsedChunk`](super::chunk::ParsedChunk) when streaming, or the rows' final place in
/// the data set when the whole file is in memory.
pub(super) trait RowSink {
    /// Stores one valid row: its label (training data), its id (files with an id column) and
    /// its `side * side` pixels.
    fn push_row(&mut self, label: Option<u8>, id: Option<String>, pixels: &[u8]);
}

/// Splits lines into fields the CSV way (RFC 4180 quoting), one line at a time.
pub(super) struct FieldSplitter {
    /// Reads the line being split, held between a guard BOM and a line end (see
    /// [`FieldSplitter::split`]). One reader serves every line: building one costs more than
    /// splitting a line.
    reader: csv::Reader<io::Cursor<Vec<u8>>>,
    record: ByteRecord,
}

/// A UTF-8 byte order mark.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

impl FieldSplitter {
    pub(super) fn new() -> FieldSplitter {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            // Only LF ends a line here, as everywhere in this loader: a lone CR is data.
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(io::Cursor::new(Vec::new()));
        FieldSplitter {
            reader,
            record: ByteRecord::new(),
        }
    }

    /// The fields of `line` (one line, without its line end). A quoted field ends at its closing
    /// quote and may hold commas; `""` inside it is a quote; text after the closing quote is
    /// kept; a quote that is never closed runs to the end of the line.
    pub(super) fn split(&mut self, line: &[u8]) -> &ByteRecord {
        // The reader drops a BOM at the start of its input: this one, so that a BOM the line
        // itself starts with stays data. The line end lets an unclosed quote show: the reader
        // takes the line end into the quoted field, which then holds no number.
        let input = self.reader.get_mut().get_mut();
        input.clear();
        input.extend_from_slice(BOM);
        input.extend_from_slice(line);
        input.push(b'\n');
        // Back to the start of the new input; this also resets the parser's state. Reading from
        // memory cannot fail, and the line is not blank, so there is a record.
        let read = self
            .reader
            .seek_raw(io::SeekFrom::Start(0), csv::Position::new())
            .and_then(|()| self.reader.read_byte_record(&mut self.record));
        if !read.unwrap_or(false) {
            self.record.clear();
        }
        &self.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        let mut splitter = FieldSplitter::new();
        splitter
            .split(line.as_bytes())
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    #[test]
    fn lines_are_split_the_csv_way() {
        assert_eq!(fields("1,2,3"), ["1", "2", "3"]);
        assert_eq!(fields("\"1\",\"2,3\",4"), ["1", "2,3", "4"]);
        assert_eq!(fields("\"a\"\"b\",c"), ["a\"b", "c"]);
        // A quote later in a field is data, and text after a closing quote is kept.
        assert_eq!(fields("7\"8, \"9\",\"1\"2"), ["7\"8", " \"9\"", "12"]);
        // An unclosed quote runs over the commas to the line end, which it keeps.
        assert_eq!(fields("1,\"2,3"), ["1", "2,3\n"]);
        // A lone CR and a BOM inside the line are data, not a line end or a file start.
        assert_eq!(fields("1\r2,3"), ["1\r2", "3"]);
        assert_eq!(fields("\u{feff}1,2"), ["\u{feff}1", "2"]);
        assert_eq!(fields(",,"), ["", "", ""]);
    }

    #[test]
    fn one_splitter_serves_line_after_line() {
        // Each line starts afresh: no quote state, BOM handling or field carries over.
        let mut splitter = FieldSplitter::new();
        let mut split =
            |line: &str| -> Vec<Vec<u8>> { splitter.split(line.as_bytes()).iter().map(<[u8]>::to_vec).collect() };
        assert_eq!(split("1,\"2,3"), [b"1".to_vec(), b"2,3\n".to_vec()]);
        assert_eq!(split("4,5"), [b"4".to_vec(), b"5".to_vec()]);
        assert_eq!(split("\u{feff}6"), ["\u{feff}6".as_bytes().to_vec()]);
        let long = vec!["255"; 785].join(",");
        assert_eq!(split(&long).len(), 785);
        assert_eq!(split("7"), [b"7".to_vec()]);
    }
}
