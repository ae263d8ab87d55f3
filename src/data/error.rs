//! Why a file could not be loaded, located to the line and column.

use std::io;

use thiserror::Error;

use super::{DataKind, MAX_LINE_BYTES};

/// Why a file could not be loaded. `Display` gives one line: file, line, column, reason, e.g.
/// `train.csv: line 4, column 11: "abc" is not a whole number`.
///
/// Built with [`LoadError::new`] and, where they apply, [`LoadError::at_line`] and
/// [`LoadError::at_column`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}{}: {kind}", location(.line, .column))]
pub struct LoadError {
    pub file: String,
    /// 1-based line number (the header is line 1), when the problem is on a line.
    pub line: Option<usize>,
    /// 1-based column (field) number, when the problem is in one field.
    pub column: Option<usize>,
    pub kind: LoadErrorKind,
}

/// `: line 4, column 11`, `: line 4` or nothing.
fn location(line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(": line {line}, column {column}"),
        (Some(line), None) => format!(": line {line}"),
        (None, Some(column)) => format!(": column {column}"),
        (None, None) => String::new(),
    }
}

impl LoadError {
    /// A problem with the file as a whole; add the place with `at_line` and `at_column`.
    pub fn new(file: impl Into<String>, kind: LoadErrorKind) -> LoadError {
        LoadError {
            file: file.into(),
            line: None,
            column: None,
            kind,
        }
    }

    /// The problem is on 1-based line `line`.
    #[must_use]
    pub fn at_line(mut self, line: usize) -> LoadError {
        self.line = Some(line);
        self
    }

    /// The problem is in 1-based column (field) `column`.
    #[must_use]
    pub fn at_column(mut self, column: usize) -> LoadError {
        self.column = Some(column);
        self
    }

    /// The file could not be opened or read (not a problem of its content).
    pub(super) fn io(file: &str, e: &io::Error) -> LoadError {
        LoadError::new(file, LoadErrorKind::Io(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header but no data rows")]
    NoRows,
    #[error("this is not a CSV text file (binary data)")]
    Binary,
    #[error("the gzip stream is truncated here (incomplete download?)")]
    TruncatedGzip,
    #[error("corrupt gzip data: {0}")]
    Gzip(String),
    #[error("bad header: {0}")]
    BadHeader(String),
    #[error("expected {expected} fields, found {found}")]
    WrongFieldCount { expected: usize, found: usize },
    /// The field as found (quoted for display).
    #[error("{0} is not a whole number")]
    NotANumber(String),
    #[error("pixel value {0} is outside 0..=255")]
    PixelOutOfRange(String),
    #[error("label {0} is outside 0..={max}", max = super::MAX_LABEL)]
    LabelOutOfRange(String),
    /// A label the class count set by the user does not allow.
    #[error("label {label} is outside the {classes} classes set (labels 0 to {})", .classes.saturating_sub(1))]
    LabelBeyondClasses { label: u8, classes: usize },
    #[error("the id is empty")]
    EmptyId,
    #[error("line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    #[error("{}", wrong_kind(*.found))]
    WrongKind { found: DataKind, expected: DataKind },
    #[error("loading was cancelled")]
    Cancelled,
}

fn wrong_kind(found: DataKind) -> &'static str {
    match found {
        DataKind::Test => {
            "this is test data (pixel columns, no label); labelled training data (label + pixels, like train.csv) is needed here"
        }
        DataKind::Train => {
            "this is training data (label + pixels); unlabelled test data (pixels only, like test.csv) is needed here"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_line_and_column() {
        let kind = LoadErrorKind::NotANumber("\"abc\"".into());
        let e = LoadError::new("t.csv", kind.clone()).at_line(4).at_column(11);
        assert_eq!(e.to_string(), "t.csv: line 4, column 11: \"abc\" is not a whole number");
        assert_eq!((e.line, e.column), (Some(4), Some(11)));
        let e = LoadError::new(
            "t.csv",
            LoadErrorKind::WrongFieldCount {
                expected: 785,
                found: 3,
            },
        )
        .at_line(2);
        assert_eq!(e.to_string(), "t.csv: line 2: expected 785 fields, found 3");
        assert_eq!(
            LoadError::new("t.csv", LoadErrorKind::Empty).to_string(),
            "t.csv: the file is empty"
        );
        assert_eq!(
            LoadErrorKind::LineTooLong.to_string(),
            format!("line is longer than {MAX_LINE_BYTES} bytes")
        );
    }

    #[test]
    fn wrong_kind_says_what_was_found_and_what_is_needed() {
        let test_for_train = LoadErrorKind::WrongKind {
            found: DataKind::Test,
            expected: DataKind::Train,
        };
        assert!(test_for_train.to_string().starts_with("this is test data"));
        let train_for_test = LoadErrorKind::WrongKind {
            found: DataKind::Train,
            expected: DataKind::Test,
        };
        assert!(train_for_test.to_string().starts_with("this is training data"));
    }
}
