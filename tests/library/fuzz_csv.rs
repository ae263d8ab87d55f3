//! Issue 5, hostile CSV input: valid train and test files are mutated at random (flipped,
//! deleted and duplicated bytes, truncation at every kind of boundary, extra and missing fields,
//! huge numbers, signs, whitespace, quotes, NUL bytes, mixed line ends, gzip damage) and loaded.
//! The loader must never panic; every error must name the file and, for a problem on a line, that
//! line (and column); and every mutated file that is still valid must load to exactly the rows an
//! independent reference parser (below) reads from it.
//!
//! Also: a 100 MB line and an endless line are refused after reading a bounded number of bytes.

use crate::common;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use digit_recognizer::data::{Dataset, Expect, LoadError, LoadErrorKind, load_bytes, load_reader};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const NAME: &str = "fuzzed-file.csv";
const PIXELS: usize = 784;

// ---------------------------------------------------------------------------------------------
// The reference: what the loader must read, written from the rules, not from the loader's code.
// Rules: an optional UTF-8 BOM; lines end in LF with an optional CR (a lone CR is data); blank
// lines (spaces and tabs only) are skipped; a line splits into fields as RFC 4180 says (a quote
// opening a field runs to the closing quote, commas included; `""` inside is a quote; text after
// the closing quote joins the field; a quote never closed takes the rest of the line and the line
// end, so the field is no number); line 1 is a Kaggle header (`label,pixel0..` / `pixel0..`,
// names case-insensitive, optionally quoted and padded) or, if its first field is a plain number,
// the first data row; a value is a whole number (digits, optional `+`, optional `.0…` fraction)
// with spaces/tabs and one pair of quotes around it allowed in either order; labels 0..=99,
// pixels 0..=255. Other MNIST-shaped layouts: a header may start with `label` and/or `id` (once
// each, in either order), pixel names may also be `RxC`, and the pixels are any square of side
// 8..=64; a header-less file has a label when its width is such a square + 1. Line 1 must be
// UTF-8 text.

#[derive(Debug, PartialEq)]
enum Outcome {
    Rows {
        train: bool,
        pixels: Vec<u8>,
        labels: Vec<u8>,
    },
    /// The first problem: its line and column (1-based) when it is on a line.
    Error { line: Option<usize>, column: Option<usize> },
}

fn err(line: Option<usize>, column: Option<usize>) -> Outcome {
    Outcome::Error { line, column }
}

fn trim(field: &[u8]) -> &[u8] {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = field.iter().position(|b| !is_space(b)).unwrap_or(field.len());
    let end = field.iter().rposition(|b| !is_space(b)).map_or(start, |i| i + 1);
    &field[start..end]
}

/// The value inside spaces, tabs and one pair of quotes.
fn unquoted(field: &[u8]) -> &[u8] {
    let f = trim(field);
    if f.len() >= 2 && f[0] == b'"' && f[f.len() - 1] == b'"' {
        trim(&f[1..f.len() - 1])
    } else {
        f
    }
}

/// The fields of one line (no line end), split as RFC 4180 says; see the rules above.
fn split_fields(line: &[u8]) -> Vec<Vec<u8>> {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut field = Vec::new();
        if line.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match (line.get(i), line.get(i + 1)) {
                    (None, _) => {
                        field.push(b'\n'); // never closed: the line end joins the field
                        break;
                    }
                    (Some(b'"'), Some(b'"')) => {
                        field.push(b'"');
                        i += 2;
                    }
                    (Some(b'"'), _) => {
                        i += 1;
                        break;
                    }
                    (Some(&c), _) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
        }
        while let Some(&c) = line.get(i).filter(|&&c| c != b',') {
            field.push(c);
            i += 1;
        }
        fields.push(field);
        if line.get(i) != Some(&b',') {
            return fields;
        }
        i += 1;
    }
}

/// The value of a whole-number field, or None. Huge values come back as u128::MAX.
fn number(field: &[u8]) -> Option<u128> {
    let f = unquoted(field);
    let text = std::str::from_utf8(f).ok()?;
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let int = int.strip_prefix('+').unwrap_or(int);
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    Some(int.parse::<u128>().unwrap_or(u128::MAX))
}

fn is_pixel_name(field: &[u8]) -> bool {
    let name = String::from_utf8_lossy(unquoted(field)).to_ascii_lowercase();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = name.strip_prefix("pixel") {
        return digits(n);
    }
    name.split_once('x').is_some_and(|(r, c)| digits(r) && digits(c))
}

/// The side of a square image of `n` pixels, 8..=64.
fn side_of(n: usize) -> Option<usize> {
    (8..=64).find(|s| s * s == n)
}

/// The columns of line 1: (label column, id column, side, has header), or the error.
fn layout(fields: &[Vec<u8>]) -> Result<(Option<usize>, Option<usize>, usize, bool), Outcome> {
    let first_field = unquoted(&fields[0]);
    if !first_field.is_empty() && first_field.iter().all(u8::is_ascii_digit) {
        let n = fields.len();
        return match (side_of(n - 1), side_of(n)) {
            (Some(side), _) => Ok((Some(0), None, side, false)),
            (None, Some(side)) => Ok((None, None, side, false)),
            _ => Err(err(Some(1), None)),
        };
    }
    let (mut label, mut id, mut pixels) = (None, None, 0);
    for (i, f) in fields.iter().enumerate() {
        let name = String::from_utf8_lossy(unquoted(f)).to_ascii_lowercase();
        if is_pixel_name(f) {
            pixels += 1;
        } else if pixels == 0 && name == "label" && label.is_none() {
            label = Some(i);
        } else if pixels == 0 && name == "id" && id.is_none() {
            id = Some(i);
        } else {
            return Err(err(Some(1), Some(i + 1)));
        }
    }
    match side_of(pixels) {
        Some(side) => Ok((label, id, side, true)),
        None => Err(err(Some(1), None)),
    }
}

fn reference(bytes: &[u8], expect: Expect) -> Outcome {
    if bytes.is_empty() {
        return err(None, None);
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    let first = lines[0];
    if first.contains(&0) || std::str::from_utf8(first).is_err() {
        return err(Some(1), None);
    }
    let (label_column, id_column, side, has_header) = match layout(&split_fields(first)) {
        Ok(layout) => layout,
        Err(e) => return e,
    };
    let train = label_column.is_some();
    if matches!((expect, train), (Expect::Train, false) | (Expect::Test, true)) {
        return err(Some(1), None);
    }
    let columns = side * side + usize::from(train) + usize::from(id_column.is_some());
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    let skip = usize::from(has_header);
    for (number_of_line, line) in (1 + skip..).zip(&lines[skip..]) {
        if trim(line).is_empty() {
            continue;
        }
        let fields = split_fields(line);
        let mut row_pixels = Vec::new();
        for (i, f) in fields.iter().take(columns).enumerate() {
            if id_column == Some(i) {
                if unquoted(f).is_empty() {
                    return err(Some(number_of_line), Some(i + 1));
                }
                continue;
            }
            let Some(v) = number(f) else {
                return err(Some(number_of_line), Some(i + 1));
            };
            let limit = if label_column == Some(i) { 99 } else { 255 };
            if v > limit {
                return err(Some(number_of_line), Some(i + 1));
            }
            if label_column == Some(i) {
                labels.push(v as u8);
            } else {
                row_pixels.push(v as u8);
            }
        }
        if fields.len() != columns {
            return err(Some(number_of_line), None);
        }
        pixels.extend(row_pixels);
    }
    if labels.is_empty() && pixels.is_empty() {
        return err(None, None);
    }
    Outcome::Rows { train, pixels, labels }
}

// ---------------------------------------------------------------------------------------------
// Valid files and mutations.

/// How a valid file is laid out; the values come from `seed`.
#[derive(Clone, Debug)]
struct Base {
    train: bool,
    rows: usize,
    header: bool,
    bom: bool,
    /// 0: LF, 1: CRLF, 2: mixed per line.
    line_ends: u8,
    final_newline: bool,
    trailing_blank_lines: u8,
    /// Fraction (out of 256) of values written in an unusual but valid style.
    fancy: u8,
    seed: u64,
}

fn base_strategy(max_rows: usize) -> impl Strategy<Value = Base> {
    (
        any::<bool>(),
        1..=max_rows,
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.15),
        0u8..3,
        prop::bool::weighted(0.8),
        prop_oneof![4 => Just(0u8), 1 => 1u8..4],
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
        any::<u64>(),
    )
        .prop_map(
            |(train, rows, header, bom, line_ends, final_newline, trailing_blank_lines, fancy, seed)| Base {
                train,
                rows,
                header,
                bom,
                line_ends,
                final_newline,
                trailing_blank_lines,
                fancy,
                seed,
            },
        )
}

fn write_value(out: &mut Vec<u8>, v: u32, rng: &mut StdRng, fancy: u8) {
    if rng.random::<u8>() >= fancy {
        out.extend_from_slice(v.to_string().as_bytes());
        return;
    }
    let text = match rng.random_range(0..8) {
        0 => format!(" {v}"),
        1 => format!("{v}\t "),
        2 => format!("\"{v}\""),
        3 => format!("+{v}"),
        4 => format!("{v}.0"),
        5 => format!("{v}.000"),
        6 => format!("00{v}"),
        _ => format!(" \"+{v}.0\" "),
    };
    out.extend_from_slice(text.as_bytes());
}

fn build(base: &Base) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(base.seed);
    let mut out = Vec::new();
    if base.bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let mut line_no = 0;
    let mut end_line = |out: &mut Vec<u8>, rng: &mut StdRng| {
        line_no += 1;
        let crlf = match base.line_ends {
            0 => false,
            1 => true,
            _ => rng.random(),
        };
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    };
    if base.header {
        let mut names: Vec<String> = (0..PIXELS).map(|i| format!("pixel{i}")).collect();
        if base.train {
            names.insert(0, "label".into());
        }
        if base.fancy > 200 {
            names[0] = format!("\"{}\"", names[0].to_uppercase());
        }
        out.extend_from_slice(names.join(",").as_bytes());
        end_line(&mut out, &mut rng);
    }
    for row in 0..base.rows {
        if base.train {
            let label = rng.random_range(0..10u32);
            // A header-less file must start with a plain number (else line 1 reads as a header).
            if row == 0 && !base.header {
                out.extend_from_slice(label.to_string().as_bytes());
            } else {
                write_value(&mut out, label, &mut rng, base.fancy);
            }
        }
        for p in 0..PIXELS {
            if base.train || p > 0 {
                out.push(b',');
            }
            // Mostly background, like real digits; sometimes ink.
            let v = if rng.random_range(0..5) == 0 {
                rng.random_range(0..=255u32)
            } else {
                0
            };
            if row == 0 && p == 0 && !base.header && !base.train {
                out.extend_from_slice(v.to_string().as_bytes());
            } else {
                write_value(&mut out, v, &mut rng, base.fancy);
            }
        }
        if row + 1 < base.rows || base.final_newline {
            end_line(&mut out, &mut rng);
        }
    }
    for _ in 0..base.trailing_blank_lines {
        out.extend_from_slice(if rng.random() { b"  " } else { b"" });
        end_line(&mut out, &mut rng);
    }
    out
}

/// Replacement values for a field: hostile numbers, signs, whitespace, quotes (closed, unclosed,
/// doubled, around commas), NUL, non-ASCII.
const FIELDS: &[&str] = &[
    "",
    " ",
    "0",
    "9",
    "10",
    "255",
    "256",
    "-0",
    "-1",
    "+7",
    "++7",
    " 7 ",
    "\t7",
    "\"7\"",
    "\"7",
    "7\"",
    "\"\"",
    "\"1,2\"",
    "\"7\"8",
    "\"7\"\"",
    "\"\"\"7\"\"\"",
    "\" 7 \"",
    " \" 7\" ",
    "\"7,",
    "\"label\"",
    "7.0",
    "7.",
    ".0",
    "7.5",
    "7.00001",
    "1e2",
    "0x10",
    "NaN",
    "inf",
    "\0",
    "7\0",
    "\u{663}",
    "\u{feff}7",
    "99999999999999999999999999999999999999999999",
    "4294967296",
    "4294967551",
    "000000000000000000000000000000000000000000255",
    "label",
    "pixel0",
];

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Delete(Index),
    Duplicate(Index),
    Insert(Index, u8),
    DeleteRange(Index, usize),
    DuplicateRange(Index, usize),
    Truncate(Index),
    /// Cut just before (false) or after (true) a comma, LF or CR.
    TruncateAtBoundary(u8, Index, bool),
    /// Put an extra field after a comma.
    ExtraField(Index, &'static str),
    /// Delete a field (from a comma to the next).
    MissingField(Index),
    /// Replace the field after a comma.
    ReplaceField(Index, &'static str),
    /// Replace a line end (LF) with another line end.
    LineEnd(Index, &'static str),
    /// Insert a line (possibly blank) at a line end.
    InsertLine(Index, &'static str),
}

const INSERT_BYTES: &[u8] = b"0123456789,\n\r \t\"+-.\0\xff\xefa";

fn mutation_strategy() -> impl Strategy<Value = Mutation> {
    let field = prop::sample::select(FIELDS);
    prop_oneof![
        1 => (any::<Index>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        1 => (any::<Index>(), prop::sample::select(INSERT_BYTES)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1..12usize).prop_map(|(i, n)| Mutation::DeleteRange(i, n)),
        1 => (any::<Index>(), 1..4000usize).prop_map(|(i, n)| Mutation::DuplicateRange(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (prop::sample::select(&b",\n\r"[..]), any::<Index>(), any::<bool>())
            .prop_map(|(b, i, after)| Mutation::TruncateAtBoundary(b, i, after)),
        1 => (any::<Index>(), field.clone()).prop_map(|(i, f)| Mutation::ExtraField(i, f)),
        1 => any::<Index>().prop_map(Mutation::MissingField),
        2 => (any::<Index>(), field).prop_map(|(i, f)| Mutation::ReplaceField(i, f)),
        1 => (
            any::<Index>(),
            prop::sample::select(&["\r\n", "\r", "\n\n", "\n\r", "", "\r\r\n", "\n \n"][..])
        )
            .prop_map(|(i, e)| Mutation::LineEnd(i, e)),
        1 => (
            any::<Index>(),
            prop::sample::select(&["", "   ", "\t", ",", "\r", "\"\"", "0"][..])
        )
            .prop_map(|(i, l)| Mutation::InsertLine(i, l)),
    ]
}

/// Positions of `byte` in `bytes`; the `index`-th of them, if any.
fn nth_of(bytes: &[u8], byte: u8, index: &Index) -> Option<usize> {
    let positions: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == byte)
        .map(|(i, _)| i)
        .collect();
    (!positions.is_empty()).then(|| positions[index.index(positions.len())])
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    let at = |i: &Index| if len == 0 { 0 } else { i.index(len) };
    match m {
        Mutation::Flip(i, x) if len > 0 => bytes[at(i)] ^= x,
        Mutation::Delete(i) if len > 0 => {
            bytes.remove(at(i));
        }
        Mutation::Duplicate(i) if len > 0 => {
            let p = at(i);
            bytes.insert(p, bytes[p]);
        }
        Mutation::Insert(i, b) => bytes.insert(if len == 0 { 0 } else { i.index(len + 1) }, *b),
        Mutation::DeleteRange(i, n) if len > 0 => {
            let p = at(i);
            bytes.drain(p..(p + n).min(len));
        }
        Mutation::DuplicateRange(i, n) if len > 0 => {
            let p = at(i);
            let piece = bytes[p..(p + n).min(len)].to_vec();
            bytes.splice(p..p, piece);
        }
        Mutation::Truncate(i) => bytes.truncate(if len == 0 { 0 } else { i.index(len + 1) }),
        Mutation::TruncateAtBoundary(b, i, after) => {
            if let Some(p) = nth_of(bytes, *b, i) {
                bytes.truncate(p + usize::from(*after));
            }
        }
        Mutation::ExtraField(i, f) => {
            if let Some(p) = nth_of(bytes, b',', i) {
                bytes.splice(p + 1..p + 1, f.bytes().chain([b',']));
            }
        }
        Mutation::MissingField(i) => {
            if let Some(p) = nth_of(bytes, b',', i) {
                let end = bytes[p + 1..]
                    .iter()
                    .position(|&b| b == b',' || b == b'\n')
                    .map_or(bytes.len(), |e| p + 1 + e);
                bytes.drain(p..end);
            }
        }
        Mutation::ReplaceField(i, f) => {
            if let Some(p) = nth_of(bytes, b',', i) {
                let end = bytes[p + 1..]
                    .iter()
                    .position(|&b| b == b',' || b == b'\n' || b == b'\r')
                    .map_or(bytes.len(), |e| p + 1 + e);
                bytes.splice(p + 1..end, f.bytes());
            }
        }
        Mutation::LineEnd(i, e) => {
            if let Some(p) = nth_of(bytes, b'\n', i) {
                bytes.splice(p..p + 1, e.bytes());
            }
        }
        Mutation::InsertLine(i, l) => {
            if let Some(p) = nth_of(bytes, b'\n', i) {
                bytes.splice(p + 1..p + 1, l.bytes().chain([b'\n']));
            }
        }
        _ => {}
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Damage to the compressed form of a file.
#[derive(Clone, Debug)]
enum GzipDamage {
    None,
    Truncate(Index),
    Flip(Index, u8),
    /// Garbage after the stream.
    Trailing(Vec<u8>),
    /// A second member: gzip files may be concatenated.
    Concatenated,
}

fn gzip_damage_strategy() -> impl Strategy<Value = GzipDamage> {
    prop_oneof![
        4 => Just(GzipDamage::None),
        3 => any::<Index>().prop_map(GzipDamage::Truncate),
        2 => (any::<Index>(), 1..=255u8).prop_map(|(i, x)| GzipDamage::Flip(i, x)),
        1 => prop::collection::vec(any::<u8>(), 1..20).prop_map(GzipDamage::Trailing),
        1 => Just(GzipDamage::Concatenated),
    ]
}

// ---------------------------------------------------------------------------------------------
// The checks.

fn expect_of(e: u8) -> Expect {
    match e % 3 {
        0 => Expect::Train,
        1 => Expect::Test,
        _ => Expect::Any,
    }
}

fn check_error_message(e: &LoadError) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(text.starts_with(NAME), "error does not name the file: {text}");
    prop_assert!(!text.contains('\n'), "error is more than one line: {text:?}");
    if let Some(line) = e.line {
        prop_assert!(text.contains(&format!("line {line}")), "{text}");
    }
    if let Some(column) = e.column {
        prop_assert!(e.line.is_some(), "a column without a line: {text}");
        prop_assert!(text.contains(&format!("column {column}")), "{text}");
    }
    let line_level = !matches!(
        e.kind,
        LoadErrorKind::Empty | LoadErrorKind::NoRows | LoadErrorKind::Io(_) | LoadErrorKind::Cancelled
    );
    if line_level {
        prop_assert!(e.line.is_some(), "no line for a line-level error: {text}");
    }
    Ok(())
}

fn compare(got: Result<Dataset, LoadError>, want: Outcome, bytes: &[u8]) -> Result<(), TestCaseError> {
    let shown = || String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    match (got, want) {
        (Ok(data), Outcome::Rows { train, pixels, labels }) => {
            prop_assert_eq!(data.kind == digit_recognizer::data::DataKind::Train, train);
            prop_assert!(data.pixels == pixels, "pixels differ from the reference");
            prop_assert_eq!(data.labels, labels);
        }
        (Err(e), Outcome::Error { line, column }) => {
            check_error_message(&e)?;
            prop_assert_eq!((e.line, e.column), (line, column), "{} (file starts {:?})", e, shown());
        }
        (Ok(data), want) => {
            prop_assert!(
                false,
                "loaded {} rows, reference says {:?}; file starts {:?}",
                data.rows(),
                want,
                shown()
            );
        }
        (Err(e), Outcome::Rows { pixels, .. }) => {
            prop_assert!(
                false,
                "error {e}, reference reads {} rows; file starts {:?}",
                pixels.len() / PIXELS,
                shown()
            );
        }
    }
    Ok(())
}

/// Outcomes of the small-file cases, to show the mutations reach both valid and invalid files:
/// loaded, refused as the reference says, refused for gzip damage.
static SEEN: [AtomicUsize; 3] = [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)];

fn one_case(base: &Base, mutations: &[Mutation], expect: u8, damage: &GzipDamage) -> Result<(), TestCaseError> {
    let mut bytes = build(base);
    for m in mutations {
        apply(&mut bytes, m);
    }
    let expect = expect_of(expect);
    let want = reference(&bytes, expect);
    let seen = if let Outcome::Rows { .. } = want { 0 } else { 1 };
    let damaged = !matches!(damage, GzipDamage::None | GzipDamage::Concatenated);
    SEEN[if damaged && seen == 0 { 2 } else { seen }].fetch_add(1, Ordering::Relaxed);
    if let GzipDamage::None = damage {
        return compare(load_bytes(NAME, &bytes, expect), want, &bytes);
    }
    let mut gz = gzip(&bytes);
    let full = gz.len();
    let intact = match damage {
        GzipDamage::Truncate(i) => {
            gz.truncate(i.index(full));
            false
        }
        GzipDamage::Flip(i, x) => {
            let p = i.index(full);
            gz[p] ^= x;
            // Bytes 4..10 (flags aside) are mtime, extra flags and OS: not checked by gzip.
            (4..10).contains(&p)
        }
        GzipDamage::Trailing(garbage) => {
            gz.extend_from_slice(garbage);
            false
        }
        GzipDamage::Concatenated => {
            // Two members decompress to the concatenation of their contents.
            let (a, b) = bytes.split_at(bytes.len() / 2);
            gz = gzip(a);
            gz.extend(gzip(b));
            true
        }
        GzipDamage::None => unreachable!(),
    };
    let got = load_bytes(NAME, &gz, expect);
    if intact {
        return compare(got, want, &bytes);
    }
    match got {
        Err(e) => check_error_message(&e),
        // Damage the format cannot see (e.g. trailing zero bytes) may leave the content intact.
        Ok(data) => compare(Ok(data), want, &bytes),
    }
}

/// `cases` mutated small files; `seed` as in [`common::proptest_config`].
fn run_small_files(cases: u32, seed: Option<u64>) {
    let config = Config {
        max_shrink_iters: 2000,
        ..common::proptest_config(cases, "fuzz_csv", seed)
    };
    let strategy = (
        base_strategy(3),
        prop::collection::vec(mutation_strategy(), 0..3),
        any::<u8>(),
        gzip_damage_strategy(),
    );
    let start = std::time::Instant::now();
    TestRunner::new(config)
        .run(&strategy, |(base, mutations, expect, damage)| {
            one_case(&base, &mutations, expect, &damage)
        })
        .unwrap();
    let [valid, invalid, damaged] = SEEN.each_ref().map(|n| n.load(Ordering::Relaxed));
    eprintln!(
        "{cases} cases in {:.1} s: {valid} valid files, {invalid} invalid files, {damaged} valid files \
         with damaged gzip",
        start.elapsed().as_secs_f64()
    );
    // Each outcome must be well represented, or the generator has gone blind.
    let tenth = cases as usize / 10;
    assert!(
        valid > tenth && invalid > 3 * tenth && damaged > tenth / 2,
        "{valid} / {invalid} / {damaged}"
    );
}

/// 12,000 mutated small train and test files, the same ones every run (a fixed seed) (about a third of them also gzip-compressed, most
/// of those damaged), every run.
#[test]
fn mutated_files_never_panic_and_load_exactly_or_fail_clearly() {
    run_small_files(12_000, Some(common::PROPTEST_SEED));
}

#[test]
#[ignore = "long variant: cargo test --test library fuzz_csv:: -- --ignored"]
fn mutated_files_long_run() {
    // A new random seed each time: new cases; a failure is saved for the fixed runs to replay.
    run_small_files(400_000, None);
}

/// Files of several 1 MB chunks (parsed on two threads), damaged near chunk boundaries: line
/// numbers and row order must stay exact across chunks.
#[test]
fn mutated_multi_chunk_files() {
    let config = Config {
        max_shrink_iters: 50,
        ..common::proptest_config(24, "fuzz_csv", Some(common::PROPTEST_SEED))
    };
    let strategy = (
        base_strategy(1),
        any::<u64>(),
        prop::collection::vec(mutation_strategy(), 0..3),
        any::<u8>(),
    );
    TestRunner::new(config)
        .run(&strategy, |(mut base, seed, mutations, expect)| {
            base.rows = 1500;
            base.fancy = 0;
            let mut bytes = build(&base);
            // Aim mutations at about a chunk boundary: cut the file there, mutate the slice
            // around it, glue it back.
            let mut rng = StdRng::seed_from_u64(seed);
            let boundary = (rng.random_range(1..=2usize) << 20).min(bytes.len());
            let from = boundary.saturating_sub(3000);
            let to = (boundary + 3000).min(bytes.len());
            let mut middle = bytes[from..to].to_vec();
            for m in &mutations {
                apply(&mut middle, m);
            }
            bytes.splice(from..to, middle);
            let expect = expect_of(expect);
            compare(load_bytes(NAME, &bytes, expect), reference(&bytes, expect), &bytes)
        })
        .unwrap();
}

#[test]
fn reference_agrees_on_clean_files() {
    // Guards the reference and the generator: unmutated files are valid and read alike.
    let mut runner = TestRunner::new(common::proptest_config(200, "fuzz_csv", Some(common::PROPTEST_SEED)));
    runner
        .run(&base_strategy(3), |base| {
            let bytes = build(&base);
            let want = reference(&bytes, Expect::Any);
            prop_assert!(matches!(want, Outcome::Rows { .. }), "{:?}", want);
            compare(load_bytes(NAME, &bytes, Expect::Any), want, &bytes)
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Endless lines: refused after a bounded amount of input.

/// Yields `prefix`, then `unit` repeated forever (or for `limit` bytes, then `suffix`), counting
/// the bytes handed out.
struct Endless {
    prefix: Vec<u8>,
    unit: &'static [u8],
    limit: Option<u64>,
    suffix: Vec<u8>,
    served: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let pos = self.served as usize;
            let b = if pos < self.prefix.len() {
                self.prefix[pos]
            } else {
                let body = (self.served - self.prefix.len() as u64) as usize;
                match self.limit {
                    Some(limit) if body as u64 >= limit => {
                        let s = body - limit as usize;
                        if s >= self.suffix.len() {
                            break;
                        }
                        self.suffix[s]
                    }
                    _ => self.unit[body % self.unit.len()],
                }
            };
            buf[n] = b;
            n += 1;
            self.served += 1;
        }
        Ok(n)
    }
}

fn header_line() -> Vec<u8> {
    let mut names: Vec<String> = (0..PIXELS).map(|i| format!("pixel{i}")).collect();
    names.insert(0, "label".into());
    format!("{}\n", names.join(",")).into_bytes()
}

/// Label 3, all pixels 0.
fn valid_row() -> Vec<u8> {
    format!("3{}\n", ",0".repeat(PIXELS)).into_bytes()
}

fn load_from(reader: impl Read + Send) -> Result<Dataset, LoadError> {
    load_reader(NAME, reader, 0, Expect::Train, &mut |_, _| {}, &AtomicBool::new(false))
}

/// At most this much input may be read before a long line is refused (a few chunks).
const BOUNDED: u64 = 8 << 20;

#[test]
fn endless_line_is_refused_after_bounded_input() {
    for (prefix, line) in [
        (Vec::new(), 1),
        (header_line(), 2),
        ([header_line(), valid_row(), valid_row()].concat(), 4),
    ] {
        for unit in [&b"1,"[..], b"7", b"\0", b" "] {
            let mut source = Endless {
                prefix: prefix.clone(),
                unit,
                limit: None,
                suffix: Vec::new(),
                served: 0,
            };
            let e = load_from(&mut source).unwrap_err();
            assert!(e.line == Some(line) || (e.line == Some(1) && unit == b"\0"), "{e}");
            assert!(source.served < BOUNDED, "read {} bytes", source.served);
            assert!(e.to_string().starts_with(NAME));
        }
    }
}

#[test]
fn hundred_megabyte_line_is_refused_after_bounded_input() {
    let mut source = Endless {
        prefix: [header_line(), valid_row()].concat(),
        unit: b"255,",
        limit: Some(100 << 20),
        suffix: [b"0\n".to_vec(), valid_row()].concat(),
        served: 0,
    };
    let e = load_from(&mut source).unwrap_err();
    assert_eq!((e.line, &e.kind), (Some(3), &LoadErrorKind::LineTooLong), "{e}");
    assert!(source.served < BOUNDED, "read {} bytes", source.served);
}

#[test]
fn endless_line_in_gzip_is_refused_after_bounded_output() {
    // An endless line, gzip-compressed on the fly: the loader decompresses a bounded amount.
    let mut source = Endless {
        prefix: header_line(),
        unit: b"12,",
        limit: None,
        suffix: Vec::new(),
        served: 0,
    };
    let e = {
        let gz = flate2::read::GzEncoder::new(&mut source, flate2::Compression::fast());
        load_from(gz).unwrap_err()
    };
    assert_eq!((e.line, &e.kind), (Some(2), &LoadErrorKind::LineTooLong), "{e}");
    assert!(source.served < BOUNDED, "decompressed {} bytes", source.served);
}

#[test]
fn endless_blank_lines_before_a_long_line_are_fine() {
    // Many short lines are not one long line: rows after 3 MB of blank lines still load.
    let mut source = Endless {
        prefix: [header_line(), valid_row()].concat(),
        unit: b"\r\n",
        limit: Some(3 << 20),
        suffix: valid_row(),
        served: 0,
    };
    let data = load_from(&mut source).unwrap();
    assert_eq!((data.rows(), data.labels.as_slice()), (2, &[3, 3][..]));
    assert!(data.pixels.iter().all(|&p| p == 0));
    assert_eq!(
        source.served,
        source.prefix.len() as u64 + (3 << 20) + source.suffix.len() as u64
    );
}

#[test]
fn ci_runs_try_the_same_cases_and_replay_saved_failures() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::RngSeed;
    // The files of the first five cases.
    let first_case = || {
        let mut runner = TestRunner::new(common::proptest_config(1, "fuzz_csv", Some(common::PROPTEST_SEED)));
        (0..5)
            .map(|_| build(&base_strategy(3).new_tree(&mut runner).unwrap().current()))
            .collect::<Vec<_>>()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        let config = common::proptest_config(1, "fuzz_csv", Some(common::PROPTEST_SEED));
        assert_eq!(config.rng_seed, RngSeed::Fixed(common::PROPTEST_SEED));
        assert_eq!(common::proptest_config(1, "fuzz_csv", None).rng_seed, RngSeed::Random);
    }
    assert_eq!(first_case(), first_case(), "same seed, same cases");
    let config = common::proptest_config(1, "fuzz_csv", Some(common::PROPTEST_SEED));
    assert!(config.failure_persistence.is_some(), "failures are saved");
    assert!(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("proptest-regressions/fuzz_csv.txt")
            .is_file()
    );
}
