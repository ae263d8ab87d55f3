//! `--rows` of `trace` and `map`: data rows counted from 0 (the first row after the header), the
//! end excluded. One parser for both commands, so the two read a range the same way.

use std::fmt;
use std::ops::Range;

/// A range of data rows as typed: `A..B`, `A..` (to the last row), `..B` (from row 0), or `N`
/// (row N alone). Checked against a file by [`Rows::within`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    pub start: usize,
    /// Excluded; `None`: the file's last row is the last one.
    pub end: Option<usize>,
}

impl Rows {
    /// Every row of the file.
    pub const ALL: Rows = Rows { start: 0, end: None };

    /// The rows of a file of `total` data rows, or why they are not all in it (naming `file`).
    pub fn within(self, total: usize, file: &str) -> Result<Range<usize>, String> {
        let end = self.end.unwrap_or(total);
        if end > total {
            return Err(format!(
                "--rows {self} is out of range: {file} has {total} data rows (0..{total})"
            ));
        }
        if self.start >= end {
            return Err(format!(
                "--rows {self} is empty: {file} has {total} data rows (0..{total})"
            ));
        }
        Ok(self.start..end)
    }
}

impl fmt::Display for Rows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}..{end}", self.start),
            None => write!(f, "{}..", self.start),
        }
    }
}

/// Parses `--rows` (clap's value parser); refuses a range that is empty whatever the file.
pub fn parse_rows(text: &str) -> Result<Rows, String> {
    let number = |s: &str| {
        s.trim().parse::<usize>().map_err(|_| {
            format!(
                "{text:?} is not A..B (data rows counted from 0, B excluded; A.. or ..B for one open end), e.g. 0..64"
            )
        })
    };
    let optional = |s: &str| {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            number(s).map(Some)
        }
    };
    let rows = match text.split_once("..") {
        Some((start, end)) => Rows {
            start: optional(start)?.unwrap_or(0),
            end: optional(end)?,
        },
        None => {
            let row = number(text)?;
            Rows {
                start: row,
                end: Some(row.saturating_add(1)),
            }
        }
    };
    if let Some(end) = rows.end
        && end <= rows.start
    {
        return Err(format!(
            "{text} is empty: the end is excluded, so {0}..{1} is row {0} alone",
            rows.start,
            rows.start.saturating_add(1)
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, total: usize) -> Result<Range<usize>, String> {
        parse_rows(text)?.within(total, "data.csv")
    }

    #[test]
    fn rows_count_data_rows_from_zero_end_excluded() {
        assert_eq!(rows("0..64", 100), Ok(0..64));
        assert_eq!(rows(" 3 .. 5", 100), Ok(3..5));
        assert_eq!(rows("7", 100), Ok(7..8));
        assert_eq!(rows("90..", 100), Ok(90..100));
        assert_eq!(rows("..5", 100), Ok(0..5));
        assert_eq!(rows("..", 100), Ok(0..100));
        assert_eq!(Rows::ALL.within(100, "f"), Ok(0..100));
        assert_eq!(parse_rows("90..").unwrap().to_string(), "90..");
    }

    #[test]
    fn empty_or_unreadable_ranges_are_refused() {
        assert!(parse_rows("5..5").unwrap_err().contains("5..5 is empty"));
        assert!(parse_rows("9..2").unwrap_err().contains("empty"));
        assert!(parse_rows(&usize::MAX.to_string()).unwrap_err().contains("empty"));
        for bad in ["", "a..b", "-1..3", "1-3", "1...3"] {
            assert!(parse_rows(bad).unwrap_err().contains("A..B"), "{bad}");
        }
    }

    #[test]
    fn ranges_beyond_the_file_name_it() {
        let err = rows("0..101", 100).unwrap_err();
        assert!(
            err.contains("--rows 0..101 is out of range: data.csv has 100 data rows (0..100)"),
            "{err}"
        );
        assert!(rows("100..", 100).unwrap_err().contains("--rows 100.. is empty"));
        assert!(rows("0..1", 0).is_err());
    }
}
