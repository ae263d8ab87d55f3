//! Labels that look like a typo: a digits file with 0-9 and one row labelled 10 loads as an
//! 11-class data set, so the labels are checked after loading. [`rare_labels`] finds the rare
//! outliers to warn about; [`check_classes`] refuses labels outside a class count the user gave.
//!
//! The loader keeps no line numbers (it would cost every row of every load for a rare message),
//! so the lines of the few rows named are found by reading the file again: every non-blank line
//! after a header is one row (the loader refuses anything else, see [`super::chunk`]), which
//! makes row `r` the `r`-th non-blank data line. Each line found is checked to hold the label
//! expected, so a file changed since it was loaded gives no wrong line numbers.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::careful::{clean, is_blank, parse_number};
use super::chunk::trim_cr;
use super::columns::{BOM, FieldSplitter};
use super::dataset::{CLASSES, Dataset};
use super::error::{LoadError, LoadErrorKind};
use super::header::detect_layout;

/// A label with fewer rows than this is rare.
pub const RARE_ROWS: usize = 5;
/// A label with under this share of the rows (0.1%) is rare.
pub const RARE_SHARE: f64 = 0.001;
/// Lines named per rare label.
pub const LINES_SHOWN: usize = 3;

/// A label far rarer than the others and above all of them (and above 9): likely a typo, which
/// silently adds output classes to the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RareLabel {
    pub label: u8,
    /// Rows with this label.
    pub count: usize,
    /// 1-based lines (the header is line 1) of its first [`LINES_SHOWN`] rows, as an editor
    /// shows them; empty when the file could not be read again.
    pub first_lines: Vec<usize>,
}

impl fmt::Display for RareLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = if self.count == 1 { "row" } else { "rows" };
        write!(f, "label {} has only {} {rows}", self.label, self.count)?;
        if let Some((last, rest)) = self.first_lines.split_last() {
            let more = if self.count > self.first_lines.len() {
                ", ..."
            } else {
                ""
            };
            let lines: Vec<String> = rest.iter().chain([last]).map(usize::to_string).collect();
            let word = if self.first_lines.len() == 1 { "line" } else { "lines" };
            write!(f, " ({word} {}{more})", lines.join(", "))?;
        }
        Ok(())
    }
}

/// The warning for `rare` labels of the file `name`: what they are, what they do to the
/// network, and how to refuse them: `set_count` says how the class count is set where the user
/// is ("pass --classes N" on the command line, the app's own setting in the app).
pub fn rare_labels_warning(name: &str, rare: &[RareLabel], classes: usize, set_count: &str) -> String {
    let each: Vec<String> = rare.iter().map(RareLabel::to_string).collect();
    format!(
        "{name}: {}: a typo? The network gets {classes} classes because of it. Fix the file, or \
         {set_count} to refuse such labels.",
        each.join("; ")
    )
}

/// Whether `count` of `rows` rows is rare.
fn is_rare(count: usize, rows: usize) -> bool {
    count < RARE_ROWS || (count as f64) < RARE_SHARE * rows as f64
}

/// The rare labels above every common one (and above 9), with their counts and first rows
/// (0-based). None when no label is common: a tiny file says nothing about what is typical.
fn rare_outliers(labels: &[u8]) -> Vec<(u8, usize, Vec<usize>)> {
    let mut counts = [0usize; 256];
    for &label in labels {
        counts[usize::from(label)] += 1;
    }
    let common = (0..=255u8).filter(|&l| counts[usize::from(l)] > 0 && !is_rare(counts[usize::from(l)], labels.len()));
    let Some(largest_common) = common.max() else {
        return Vec::new();
    };
    let above = usize::from(largest_common).max(CLASSES - 1);
    let mut outliers: Vec<(u8, usize, Vec<usize>)> = (above + 1..256)
        .filter(|&l| counts[l] > 0)
        .map(|l| (l as u8, counts[l], Vec::new()))
        .collect();
    if outliers.is_empty() {
        return outliers;
    }
    for (row, &label) in labels.iter().enumerate() {
        if usize::from(label) > above
            && let Some((_, _, rows)) = outliers.iter_mut().find(|(l, _, _)| *l == label)
            && rows.len() < LINES_SHOWN
        {
            rows.push(row);
        }
    }
    outliers
}

/// The rare outlier labels of `data`, loaded from `file` (read again for the line numbers).
/// Empty for data without labels, and for labels that look like a real data set's (EMNIST's
/// or Sign Language MNIST's many rows per class).
pub fn rare_labels(file: &Path, data: &Dataset) -> Vec<RareLabel> {
    let outliers = rare_outliers(&data.labels);
    if outliers.is_empty() {
        return Vec::new();
    }
    let mut wanted: Vec<(usize, u8)> = outliers
        .iter()
        .flat_map(|(label, _, rows)| rows.iter().map(|&row| (row, *label)))
        .collect();
    wanted.sort_unstable();
    let places = locate_rows(file, &wanted).ok();
    outliers
        .into_iter()
        .map(|(label, count, rows)| RareLabel {
            label,
            count,
            first_lines: places.as_ref().map_or_else(Vec::new, |places| {
                rows.iter()
                    .filter_map(|row| wanted.iter().position(|(r, _)| r == row).map(|i| places[i].line))
                    .collect()
            }),
        })
        .collect()
}

/// Refuses a label of `data` (loaded from `file`) outside `0..classes`: the error names the
/// file, the first such row's line and its label column, and the label.
pub fn check_classes(file: &Path, data: &Dataset, classes: usize) -> Result<(), LoadError> {
    let Some((row, &label)) = data
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= classes)
    else {
        return Ok(());
    };
    let name = file.display().to_string();
    let error = LoadError::new(&name, LoadErrorKind::LabelBeyondClasses { label, classes });
    // Without the line (the file changed or vanished since it was loaded) the label is named.
    Err(match locate_rows(file, &[(row, label)]) {
        Ok(places) => error.at_line(places[0].line).at_column(places[0].column),
        Err(_) => error,
    })
}

/// Where a row is in its file: 1-based line and 1-based column of its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RowPlace {
    line: usize,
    column: usize,
}

/// The places of `wanted` rows (0-based data rows, ascending, each with the label it should
/// hold) in `file`, plain or gzip.
fn locate_rows(file: &Path, wanted: &[(usize, u8)]) -> Result<Vec<RowPlace>, LoadError> {
    let name = file.display().to_string();
    let io = |e: std::io::Error| LoadError::new(&name, LoadErrorKind::Io(e.to_string()));
    let mut reader = BufReader::new(File::open(file).map_err(io)?);
    let gzip = reader.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    if gzip {
        locate_rows_in(&name, BufReader::new(flate2::read::MultiGzDecoder::new(reader)), wanted)
    } else {
        locate_rows_in(&name, reader, wanted)
    }
}

fn locate_rows_in(name: &str, mut reader: impl BufRead, wanted: &[(usize, u8)]) -> Result<Vec<RowPlace>, LoadError> {
    let changed = || LoadError::new(name, LoadErrorKind::Io("the file changed since it was loaded".into()));
    let io = |e: std::io::Error| LoadError::new(name, LoadErrorKind::Io(e.to_string()));
    let mut splitter = FieldSplitter::new();
    let mut places = Vec::with_capacity(wanted.len());
    let mut text = Vec::new();
    let mut label_column = 0;
    let mut row = 0;
    let mut line = 0;
    while places.len() < wanted.len() {
        text.clear();
        if reader.read_until(b'\n', &mut text).map_err(io)? == 0 {
            return Err(changed());
        }
        line += 1;
        let mut content = trim_cr(text.strip_suffix(b"\n").unwrap_or(&text));
        if line == 1 {
            content = content.strip_prefix(BOM).unwrap_or(content);
            let (layout, has_header) = detect_layout(name, content, &mut splitter)?;
            label_column = layout.label_column.ok_or_else(changed)?;
            if has_header {
                continue;
            }
        }
        if is_blank(content) {
            continue;
        }
        let (wanted_row, label) = wanted[places.len()];
        if row == wanted_row {
            let fields = splitter.split(content);
            let found = fields.get(label_column).map(clean).and_then(parse_number);
            if found != Some(u32::from(label)) {
                return Err(changed());
            }
            places.push(RowPlace {
                line,
                column: label_column + 1,
            });
        }
        row += 1;
    }
    Ok(places)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::data::test_rows::{gzip, header, row};
    use crate::data::{DataKind, Expect, load_path};

    /// A digits file: `rows` rows labelled `r % 10`, then `extra` (label, line text) lines.
    fn digits_with(rows: usize, extra: &[String]) -> String {
        let mut text = format!("{}\n", header(DataKind::Train));
        for r in 0..rows {
            text += &row(Some((r % 10) as u8), r as u8);
            text += "\n";
        }
        for line in extra {
            text += line;
            text += "\n";
        }
        text
    }

    fn loaded(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, Dataset) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        let data = load_path(&path, Expect::Train, &mut |_, _| {}, &Default::default()).unwrap();
        (dir, path, data)
    }

    #[test]
    fn one_row_labelled_10_among_digits_is_named_by_its_line() {
        // 100 digit rows (lines 2-101), a blank line (102), the typo on line 103.
        let text = digits_with(100, &[String::new(), row(Some(10), 0)]);
        let (_dir, path, data) = loaded(text.as_bytes());
        assert_eq!(data.class_count(), 11);
        let rare = rare_labels(&path, &data);
        assert_eq!(
            rare,
            [RareLabel {
                label: 10,
                count: 1,
                first_lines: vec![103]
            }]
        );
        assert_eq!(rare[0].to_string(), "label 10 has only 1 row (line 103)");
        let warning = rare_labels_warning("t.csv", &rare, 11, "pass --classes N");
        assert!(
            warning.starts_with("t.csv: label 10 has only 1 row (line 103): a typo?"),
            "{warning}"
        );
        // The same from gzip, and from a header-less file (the first row is line 1).
        let (_dir, path, data) = loaded(&gzip(text.as_bytes()));
        assert_eq!(rare_labels(&path, &data)[0].first_lines, [103]);
        let headerless = text.split_once('\n').unwrap().1;
        let (_dir, path, data) = loaded(headerless.as_bytes());
        assert_eq!(rare_labels(&path, &data)[0].first_lines, [102]);
    }

    #[test]
    fn several_rare_labels_show_their_first_lines() {
        let typos: Vec<String> = [(11, 1), (10, 2), (11, 3), (11, 4), (11, 5)]
            .iter()
            .map(|&(label, fill)| row(Some(label), fill))
            .collect();
        let (_dir, path, data) = loaded(digits_with(60, &typos).as_bytes());
        let rare = rare_labels(&path, &data);
        assert_eq!(rare.len(), 2);
        assert_eq!(
            (rare[0].label, rare[0].count, rare[0].first_lines.clone()),
            (10, 1, vec![63])
        );
        assert_eq!(
            (rare[1].label, rare[1].count, rare[1].first_lines.clone()),
            (11, 4, vec![62, 64, 65])
        );
        assert_eq!(rare[1].to_string(), "label 11 has only 4 rows (lines 62, 64, 65, ...)");
    }

    #[test]
    fn real_data_sets_and_tiny_files_give_no_warning() {
        // 11 classes with many rows each (EMNIST-like), or 25 (Sign Language-like).
        for classes in [11u8, 25] {
            let labels: Vec<u8> = (0..2000).map(|r| (r % usize::from(classes)) as u8).collect();
            assert!(rare_outliers(&labels).is_empty(), "{classes}");
        }
        // Only rare labels: nothing is typical.
        assert!(rare_outliers(&[24, 13]).is_empty());
        // A rare digit adds no class: not an outlier.
        let mut labels: Vec<u8> = (0..100).map(|r| (r % 9) as u8).collect();
        labels.push(9);
        assert!(rare_outliers(&labels).is_empty());
        // Under 0.1% with more than 5 rows is rare too; above it is not.
        let mut labels: Vec<u8> = (0..20_000).map(|r| (r % 10) as u8).collect();
        labels.extend([10; 19]);
        assert_eq!(rare_outliers(&labels)[0].0, 10);
        labels.extend([10; 2]);
        assert!(rare_outliers(&labels).is_empty());
        // A 25-class set with a typo above its labels is warned about too.
        let mut labels: Vec<u8> = (0..2000).map(|r| (r % 25) as u8).collect();
        labels.push(77);
        assert_eq!(rare_outliers(&labels), [(77, 1, vec![2000])]);
    }

    #[test]
    fn class_count_refuses_labels_beyond_it_naming_the_line() {
        let text = digits_with(30, &[format!("\"10\",{}", &row(None, 1))]);
        let (_dir, path, data) = loaded(text.as_bytes());
        let e = check_classes(&path, &data, 10).unwrap_err();
        assert_eq!((e.line, e.column), (Some(32), Some(1)));
        assert_eq!(e.kind, LoadErrorKind::LabelBeyondClasses { label: 10, classes: 10 });
        assert!(e.to_string().contains("t.csv: line 32, column 1: label 10"), "{e}");
        assert_eq!(check_classes(&path, &data, 11), Ok(()));
        let e = check_classes(&path, &data, 5).unwrap_err();
        assert_eq!(
            (e.line, e.kind),
            (Some(7), LoadErrorKind::LabelBeyondClasses { label: 5, classes: 5 })
        );
    }

    #[test]
    fn a_file_changed_since_loading_names_no_wrong_line() {
        let text = digits_with(60, &[row(Some(10), 1)]);
        let (_dir, path, data) = loaded(text.as_bytes());
        std::fs::write(&path, digits_with(60, &[])).unwrap();
        assert!(rare_labels(&path, &data)[0].first_lines.is_empty());
        let e = check_classes(&path, &data, 10).unwrap_err();
        assert_eq!(
            (e.line, e.kind),
            (None, LoadErrorKind::LabelBeyondClasses { label: 10, classes: 10 })
        );
    }
}
