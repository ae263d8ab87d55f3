//! The rule for writing over the user's files, shared by the command line and the app:
//!
//! - Nothing is ever written onto one of the action's own inputs (the same file, by device and
//!   inode on Unix, else by canonical path), not even with `--force`.
//! - An existing file of another kind is replaced only when the caller allows it (`--force`, or
//!   the user confirmed in the app). A model replaces a model, a submission a submission, a heat
//!   map an earlier heat map, a trace a trace (by its safetensors `format`). A new file, or an
//!   empty one, is written as always.
//!
//! What a file is comes from its first bytes ([`sniff`]: at most [`SNIFF_BYTES`], decompressed
//! when it is gzip), never from its name.
//!
//! Imported pictures (`import-images`, and the app's My digits export alike) are a Kaggle training CSV by
//! design, so that they load anywhere; an earlier import is therefore byte for byte the same kind
//! of file as the user's `train.csv`, and nothing in the file could tell them apart without
//! breaking that format. So every labelled CSV counts as training data, and an import replaces
//! one only when forced: a user's `train.csv` is never replaced silently, at the cost of a
//! `--force` when an import is redone onto the same name.
//!
//! Heat maps written by `explain` carry a PNG text chunk ([`EXPLAIN_MARK`]) so that an earlier
//! map is recognised without mistaking a user's 280x280 drawing for one; the app's plot images
//! carry [`PLOT_MARK`] for the same reason. The app's curves CSV is known by its header
//! ([`CURVES_HEADER`]).

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// How much of a file is read to tell its kind: a 64x64 training CSV's header is about 30 KB.
pub const SNIFF_BYTES: u64 = 64 * 1024;
/// A safetensors header larger than this is not one of our models (theirs are a few KB).
const MAX_MODEL_HEADER: u64 = 1 << 20;
/// The PNG `tEXt` chunk (keyword, text) that marks a heat map written by `explain`.
pub const EXPLAIN_MARK: (&str, &str) = ("Software", "digit-recognizer explain");
/// The PNG `tEXt` chunk that marks a plot image saved by the app (Save plot (PNG)).
pub const PLOT_MARK: (&str, &str) = ("Software", "digit-recognizer plot");
/// The columns of the app's Export curves (CSV), its first line.
pub const CURVES_HEADER: [&str; 9] = [
    "run",
    "label",
    "step",
    "epoch",
    "loss",
    "train_accuracy",
    "dev_accuracy",
    "alpha",
    "seconds",
];

/// What an existing file (or path) is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Nothing there.
    Missing,
    /// A file with no bytes: nothing to lose.
    Empty,
    Folder,
    /// A model written by this program (safetensors with our `format` metadata).
    Model,
    /// A step traced by `trace` (safetensors with the trace `format` metadata).
    Trace,
    /// A safetensors file of another program.
    OtherSafetensors,
    /// `ImageId,Label` or `id,label`.
    Submission,
    /// Labelled images: a training CSV, an earlier import, My digits. `columns` is None when
    /// the header line is longer than the bytes read.
    LabelledCsv {
        columns: Option<usize>,
        gzip: bool,
    },
    /// Images without labels: a test CSV.
    UnlabelledCsv {
        columns: Option<usize>,
        gzip: bool,
    },
    /// A heat map written by `explain` (carries [`EXPLAIN_MARK`]).
    ExplainMap,
    /// Learning curves exported by the app ([`CURVES_HEADER`]).
    Curves,
    /// A class map written by `map` ([`crate::class_map::MAP_HEADER`]).
    ClassMap,
    /// A plot image saved by the app (carries [`PLOT_MARK`]).
    PlotImage,
    /// Another PNG or JPEG picture.
    Picture {
        format: &'static str,
    },
    /// Text of another kind (notes, a CSV of other columns).
    OtherText,
    /// Anything else.
    OtherBinary,
}

impl FileKind {
    /// Nothing would be lost by writing there.
    pub fn is_free(&self) -> bool {
        matches!(self, FileKind::Missing | FileKind::Empty)
    }

    /// "a labelled training CSV (785 columns: a label and 28x28 pixels)", for messages.
    pub fn describe(&self) -> String {
        let csv = |what: &str, columns: &Option<usize>, gzip: bool, labelled: bool| {
            let zipped = if gzip { "gzip-compressed " } else { "" };
            let shape = columns
                .and_then(|n| {
                    let pixels = if labelled { n.checked_sub(1)? } else { n };
                    let side = pixels.isqrt();
                    let label = if labelled { "a label and " } else { "" };
                    Some(if side * side == pixels {
                        format!(" ({n} columns: {label}{side}x{side} pixels)")
                    } else {
                        format!(" ({n} columns)")
                    })
                })
                .unwrap_or_default();
            format!("a {zipped}{what}{shape}")
        };
        match self {
            FileKind::Missing => "a new file".into(),
            FileKind::Empty => "an empty file".into(),
            FileKind::Folder => "a folder".into(),
            FileKind::Model => "a digit-recognizer model".into(),
            FileKind::Trace => "a trace written by trace".into(),
            FileKind::OtherSafetensors => "a safetensors file of another program".into(),
            FileKind::Submission => "a submission (ImageId,Label or id,label)".into(),
            FileKind::LabelledCsv { columns, gzip } => csv("labelled training CSV", columns, *gzip, true),
            FileKind::UnlabelledCsv { columns, gzip } => csv("test CSV (images without labels)", columns, *gzip, false),
            FileKind::ExplainMap => "a heat map written by explain".into(),
            FileKind::Curves => "learning curves exported by the app".into(),
            FileKind::ClassMap => "a class map written by map".into(),
            FileKind::PlotImage => "a plot image saved by the app".into(),
            FileKind::Picture { format } => format!("a {format} picture"),
            FileKind::OtherText => "a text file of another kind".into(),
            FileKind::OtherBinary => "a file of another kind".into(),
        }
    }
}

/// What an action writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Model,
    Submission,
    /// Labelled pictures as a training CSV (`import-images`).
    ImportedDigits,
    /// `explain --png`.
    ExplainMap,
    /// The app's Export curves (CSV).
    Curves,
    /// `map --out`: a class map CSV.
    ClassMap,
    /// The app's Save plot (PNG).
    PlotImage,
    /// The app's Export My digits (CSV): labelled pictures, the same rule as an import.
    MyDigits,
    /// `trace --out`.
    Trace,
    /// The app's Export runs table (CSV).
    RunsTable,
}

impl Output {
    /// "a model", for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Output::Model => "a model",
            Output::Submission => "a submission",
            Output::ImportedDigits => "the imported pictures",
            Output::ExplainMap => "a heat map",
            Output::Curves => "a curves CSV",
            Output::ClassMap => "a class map",
            Output::PlotImage => "a plot image",
            Output::MyDigits => "My digits",
            Output::Trace => "a trace",
            Output::RunsTable => "a runs table",
        }
    }

    /// Whether an existing file of kind `found` is this output's own kind, replaced as before.
    /// Imports and My digits exports have none: see the module's documentation.
    pub fn replaces(self, found: &FileKind) -> bool {
        matches!(
            (self, found),
            (Output::Model, FileKind::Model)
                | (Output::Submission, FileKind::Submission)
                | (Output::ExplainMap, FileKind::ExplainMap)
                | (Output::Curves, FileKind::Curves)
                | (Output::ClassMap, FileKind::ClassMap)
                | (Output::PlotImage, FileKind::PlotImage)
                | (Output::Trace, FileKind::Trace)
        )
    }
}

/// What may be replaced besides new and empty files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Files of the output's own kind (the command line without `--force`).
    SameKind,
    /// Any file (`--force`, a confirmation, a file dialog that asked).
    Anything,
    /// No existing file: every one needs a confirmation (the app's path field).
    Nothing,
}

/// One of an action's inputs, and what it is to the action ("--data, the training data").
#[derive(Clone, Debug)]
pub struct Input {
    pub path: PathBuf,
    pub what: String,
}

impl Input {
    pub fn new(path: impl Into<PathBuf>, what: impl Into<String>) -> Input {
        Input {
            path: path.into(),
            what: what.into(),
        }
    }
}

/// Why a write was refused. The file is untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `path` is one of the inputs: never written, whatever the caller allows.
    OwnInput {
        path: PathBuf,
        output: Output,
        what: String,
    },
    /// `path` exists and is `found`, which the caller did not allow to replace.
    Exists {
        path: PathBuf,
        output: Output,
        found: FileKind,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::OwnInput { path, output, what } => write!(
                f,
                "{} is {what}: {} is never written onto an input",
                path.display(),
                output.noun()
            ),
            Refusal::Exists { path, output, found } => write!(
                f,
                "{} is {}: not replaced with {}",
                path.display(),
                found.describe(),
                output.noun()
            ),
        }
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// The message with the command line's way out: `flag` is the output's flag (`--out`).
    pub fn cli_message(&self, flag: &str) -> String {
        match self {
            Refusal::OwnInput { .. } => format!("{self}, not even with --force: choose another {flag}"),
            Refusal::Exists { .. } => format!("{self}; pass --force to replace it, or choose another {flag}"),
        }
    }
}

/// Checks that `output` may be written to `dest`: not one of `inputs`, and not an existing file
/// that `replace` does not allow. Returns what is there now. Reads at most [`SNIFF_BYTES`].
pub fn check(dest: &Path, output: Output, inputs: &[Input], replace: Replace) -> Result<FileKind, Refusal> {
    if let Some(input) = inputs.iter().find(|input| same_file(dest, &input.path)) {
        return Err(Refusal::OwnInput {
            path: dest.to_path_buf(),
            output,
            what: input.what.clone(),
        });
    }
    let found = sniff(dest);
    // A folder cannot be replaced by any write: the write itself fails and says so.
    let allowed = found.is_free()
        || found == FileKind::Folder
        || match replace {
            Replace::Anything => true,
            Replace::SameKind => output.replaces(&found),
            Replace::Nothing => false,
        };
    if allowed {
        Ok(found)
    } else {
        Err(Refusal::Exists {
            path: dest.to_path_buf(),
            output,
            found,
        })
    }
}

/// Whether `a` and `b` name the same existing file (also through links or `..`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
    }
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// What is at `path`, from its first bytes.
pub fn sniff(path: &Path) -> FileKind {
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return FileKind::Missing,
        // Unreadable: treat it as something to keep.
        Err(_) => return FileKind::OtherBinary,
    };
    if metadata.is_dir() {
        return FileKind::Folder;
    }
    if metadata.len() == 0 {
        return FileKind::Empty;
    }
    let Ok(file) = File::open(path) else {
        return FileKind::OtherBinary;
    };
    let head = read_up_to(file, SNIFF_BYTES);
    if head.starts_with(&[0x1f, 0x8b]) {
        let Ok(file) = File::open(path) else {
            return FileKind::OtherBinary;
        };
        let text = read_up_to(flate2::read::MultiGzDecoder::new(io::BufReader::new(file)), SNIFF_BYTES);
        return match sniff_text(&text, true) {
            FileKind::OtherText => FileKind::OtherBinary,
            kind => kind,
        };
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return if has_png_text(&head, EXPLAIN_MARK) {
            FileKind::ExplainMap
        } else if has_png_text(&head, PLOT_MARK) {
            FileKind::PlotImage
        } else {
            FileKind::Picture { format: "PNG" }
        };
    }
    if head.starts_with(&[0xff, 0xd8, 0xff]) {
        return FileKind::Picture { format: "JPEG" };
    }
    if let Some(kind) = sniff_safetensors(path, &head) {
        return kind;
    }
    sniff_text(&head, false)
}

/// Up to `limit` bytes from `reader`; a read error ends it (a truncated gzip stream gives what
/// it had).
fn read_up_to(reader: impl Read, limit: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut reader = reader.take(limit);
    let mut chunk = [0u8; 8192];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) | Err(_) => return bytes,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A safetensors file starts with its JSON header's length (u64, little-endian) and `{`.
fn sniff_safetensors(path: &Path, head: &[u8]) -> Option<FileKind> {
    let length = u64::from_le_bytes(head.get(..8)?.try_into().ok()?);
    if head.get(8) != Some(&b'{') || length < 2 {
        return None;
    }
    if length > MAX_MODEL_HEADER {
        return Some(FileKind::OtherSafetensors);
    }
    let header = if 8 + length <= head.len() as u64 {
        head[8..8 + length as usize].to_vec()
    } else {
        let mut file = File::open(path).ok()?;
        let mut header = vec![0u8; 8 + length as usize];
        file.read_exact(&mut header).ok()?;
        header.split_off(8)
    };
    let json: serde_json::Value = serde_json::from_slice(&header).ok()?;
    let format = json
        .get("__metadata__")
        .and_then(|m| m.get("format"))
        .and_then(|f| f.as_str());
    Some(match format {
        Some(crate::model_file::FORMAT) => FileKind::Model,
        Some(crate::trace_file::FORMAT) => FileKind::Trace,
        _ => FileKind::OtherSafetensors,
    })
}

/// Whether a PNG's chunks before the image data include the `tEXt` chunk `mark` (keyword, text).
fn has_png_text(png: &[u8], mark: (&str, &str)) -> bool {
    let mut at = 8;
    while let Some(chunk) = png.get(at..at + 8) {
        let length = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as usize;
        let kind = &chunk[4..8];
        if kind == b"IDAT" {
            return false;
        }
        if kind == b"tEXt"
            && let Some(data) = png.get(at + 8..at + 8 + length)
        {
            let (keyword, text) = mark;
            let mut mark = keyword.as_bytes().to_vec();
            mark.push(0);
            mark.extend_from_slice(text.as_bytes());
            if data == mark.as_slice() {
                return true;
            }
        }
        at += 12 + length;
    }
    false
}

/// A CSV by its first line: a submission, labelled or unlabelled images, or other text.
fn sniff_text(head: &[u8], gzip: bool) -> FileKind {
    let line_end = head.iter().position(|&b| b == b'\n');
    let line = &head[..line_end.unwrap_or(head.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        // The read may have cut a character in two: judge by what came before it.
        return match std::str::from_utf8(line) {
            Err(e) if line_end.is_none() && e.error_len().is_none() => {
                sniff_fields(&line[..e.valid_up_to()], false, gzip)
            }
            _ => FileKind::OtherBinary,
        };
    };
    sniff_fields(line.as_bytes(), line_end.is_some(), gzip)
}

fn sniff_fields(line: &[u8], whole_line: bool, gzip: bool) -> FileKind {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_start_matches('\u{feff}');
    let fields: Vec<String> = line
        .split(',')
        .map(|f| f.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    if fields == ["imageid", "label"] || fields == ["id", "label"] {
        return FileKind::Submission;
    }
    if whole_line && fields == CURVES_HEADER {
        return FileKind::Curves;
    }
    if whole_line && fields == crate::class_map::MAP_HEADER {
        return FileKind::ClassMap;
    }
    // The last field of a cut line may be cut too.
    let complete = if whole_line {
        &fields[..]
    } else {
        &fields[..fields.len() - 1]
    };
    let columns = whole_line.then_some(fields.len());
    let is_number = |f: &str| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit());
    let square = |n: usize| {
        let side = n.isqrt();
        side * side == n && (8..=64).contains(&side)
    };
    if complete.first().is_some_and(|f| is_number(f)) {
        // No header: a label and a square image, or just the image.
        return match columns {
            Some(n) if square(n - 1) => FileKind::LabelledCsv { columns, gzip },
            Some(n) if square(n) => FileKind::UnlabelledCsv { columns, gzip },
            None if complete.iter().all(|f| is_number(f)) && complete.len() >= 64 => {
                FileKind::LabelledCsv { columns, gzip }
            }
            _ => FileKind::OtherText,
        };
    }
    let labels = complete.iter().filter(|f| *f == "label").count();
    let pixels = complete.iter().filter(|f| is_pixel_name(f)).count();
    let ids = complete.iter().filter(|f| *f == "id").count();
    if pixels == 0 || labels > 1 || ids > 1 || labels + pixels + ids != complete.len() {
        return FileKind::OtherText;
    }
    if labels == 1 {
        FileKind::LabelledCsv { columns, gzip }
    } else {
        FileKind::UnlabelledCsv { columns, gzip }
    }
}

/// `pixel0`, `pixel784`, `1x1`, `28x28`: the pixel column names the loader accepts.
fn is_pixel_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = name.strip_prefix("pixel") {
        return digits(rest);
    }
    matches!(name.split_once('x'), Some((a, b)) if digits(a) && digits(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn header(label: bool, pixels: usize) -> String {
        let mut names: Vec<String> = (0..pixels).map(|i| format!("pixel{i}")).collect();
        if label {
            names.insert(0, "label".into());
        }
        names.join(",")
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn csv_kinds_by_their_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let train = format!("{}\n1,{}\n", header(true, 784), vec!["0"; 784].join(","));
        let train = write(dir.path(), "train.csv", train.as_bytes());
        assert_eq!(
            sniff(&train),
            FileKind::LabelledCsv {
                columns: Some(785),
                gzip: false
            }
        );
        assert_eq!(
            sniff(&train).describe(),
            "a labelled training CSV (785 columns: a label and 28x28 pixels)"
        );
        let test = write(dir.path(), "test.csv", format!("{}\r\n", header(false, 784)).as_bytes());
        assert_eq!(
            sniff(&test),
            FileKind::UnlabelledCsv {
                columns: Some(784),
                gzip: false
            }
        );
        let no_header = write(
            dir.path(),
            "raw.csv",
            format!("7,{}\n", vec!["0"; 784].join(",")).as_bytes(),
        );
        assert!(matches!(sniff(&no_header), FileKind::LabelledCsv { .. }));
        for submission in [
            "ImageId,Label\n1,2\n",
            "\u{feff}id,label\r\nx,1\n",
            "\"ImageId\",\"Label\"",
        ] {
            let path = write(dir.path(), "sub.csv", submission.as_bytes());
            assert_eq!(sniff(&path), FileKind::Submission, "{submission:?}");
        }
        let notes = write(dir.path(), "notes.csv", b"date,what\n2026-01-01,bought milk\n");
        assert_eq!(sniff(&notes), FileKind::OtherText);
        let curves = write(dir.path(), "curves.csv", b"run,step,loss\n1,2,0.5\n");
        assert_eq!(sniff(&curves), FileKind::OtherText);
    }

    #[test]
    fn a_header_longer_than_the_bytes_read_is_still_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let wide = header(true, 64 * 64 * 4);
        assert!(wide.len() as u64 > SNIFF_BYTES);
        let path = write(dir.path(), "wide.csv", wide.as_bytes());
        assert_eq!(
            sniff(&path),
            FileKind::LabelledCsv {
                columns: None,
                gzip: false
            }
        );
    }

    #[test]
    fn gzip_is_looked_into() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(format!("{}\n", header(true, 784)).as_bytes()).unwrap();
        let path = write(dir.path(), "train.csv.gz", &gz.finish().unwrap());
        assert_eq!(
            sniff(&path),
            FileKind::LabelledCsv {
                columns: Some(785),
                gzip: true
            }
        );
        assert!(
            sniff(&path)
                .describe()
                .starts_with("a gzip-compressed labelled training CSV")
        );
        // A damaged stream gives what it had, never a panic.
        let bytes = std::fs::read(&path).unwrap();
        let cut = write(dir.path(), "cut.csv.gz", &bytes[..bytes.len() / 2]);
        assert!(!sniff(&cut).is_free());
    }

    #[test]
    fn models_pictures_and_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let model = crate::network::Mlp::new(&[4, 2], crate::network::Init::He, 0);
        let bytes = crate::model_file::to_bytes(&model, &crate::model_file::ModelInfo::default());
        assert_eq!(sniff(&write(dir.path(), "m.safetensors", &bytes)), FileKind::Model);
        let theirs = safetensors::serialize(
            [(
                "w",
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4]).unwrap(),
            )],
            None,
        )
        .unwrap();
        assert_eq!(
            sniff(&write(dir.path(), "t.safetensors", &theirs)),
            FileKind::OtherSafetensors
        );
        let png = write(dir.path(), "p.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
        assert_eq!(sniff(&png), FileKind::Picture { format: "PNG" });
        assert_eq!(sniff(&write(dir.path(), "e", b"")), FileKind::Empty);
        assert_eq!(sniff(&dir.path().join("none")), FileKind::Missing);
        assert_eq!(sniff(dir.path()), FileKind::Folder);
        assert_eq!(
            sniff(&write(dir.path(), "b", &[0, 159, 146, 150])),
            FileKind::OtherBinary
        );
    }

    #[test]
    fn the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let sub = write(dir.path(), "sub.csv", b"ImageId,Label\n1,2\n");
        let notes = write(dir.path(), "notes.txt", b"remember\n");
        let new = dir.path().join("new.csv");
        assert_eq!(
            check(&new, Output::Submission, &[], Replace::Nothing),
            Ok(FileKind::Missing)
        );
        assert_eq!(
            check(&sub, Output::Submission, &[], Replace::SameKind),
            Ok(FileKind::Submission)
        );
        assert!(check(&sub, Output::Submission, &[], Replace::Nothing).is_err());
        let refusal = check(&notes, Output::Model, &[], Replace::SameKind).unwrap_err();
        assert!(matches!(refusal, Refusal::Exists { .. }));
        let message = refusal.cli_message("--out");
        assert!(
            message.contains("notes.txt is a text file of another kind"),
            "{message}"
        );
        assert!(message.contains("--force"), "{message}");
        assert!(check(&notes, Output::Model, &[], Replace::Anything).is_ok());
        // An input is refused even when anything may be replaced, also by another name.
        let other_name = dir.path().join(".").join("sub.csv");
        let input = [Input::new(other_name, "--data, the test data")];
        let refusal = check(&sub, Output::Submission, &input, Replace::Anything).unwrap_err();
        assert!(matches!(refusal, Refusal::OwnInput { .. }));
        assert!(refusal.to_string().contains("is --data, the test data"), "{refusal}");
        assert!(refusal.cli_message("--out").contains("not even with --force"));
        // Imports replace no labelled CSV on their own, an earlier import included.
        let import = write(dir.path(), "mine.csv", format!("{}\n", header(true, 784)).as_bytes());
        assert!(check(&import, Output::ImportedDigits, &[], Replace::SameKind).is_err());
    }

    /// A 2x2 PNG carrying the text chunk `mark`, if any.
    fn png_with(mark: Option<(&str, &str)>) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, 2, 2);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        if let Some((keyword, text)) = mark {
            encoder.add_text_chunk(keyword.into(), text.into()).unwrap();
        }
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0; 12]).unwrap();
        writer.finish().unwrap();
        bytes
    }

    #[test]
    fn explain_maps_carry_their_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "m.png", &png_with(Some(EXPLAIN_MARK)));
        assert_eq!(sniff(&path), FileKind::ExplainMap);
    }

    #[test]
    fn the_apps_curves_and_plots_are_known_and_replace_only_their_own_kind() {
        let dir = tempfile::tempdir().unwrap();
        let curves = write(
            dir.path(),
            "curves.csv",
            format!(
                "{}\r\n1,784-16-10,2,0.5,1.2,0.5,0.4,0.1,0.250\n",
                CURVES_HEADER.join(",")
            )
            .as_bytes(),
        );
        assert_eq!(sniff(&curves), FileKind::Curves);
        assert_eq!(sniff(&curves).describe(), "learning curves exported by the app");
        // Another program's CSV with one more column is not ours.
        let longer = write(
            dir.path(),
            "longer.csv",
            format!("{},note\n", CURVES_HEADER.join(",")).as_bytes(),
        );
        assert_eq!(sniff(&longer), FileKind::OtherText);

        let plot = write(dir.path(), "plot.png", &png_with(Some(PLOT_MARK)));
        assert_eq!(sniff(&plot), FileKind::PlotImage);
        let drawing = write(dir.path(), "drawing.png", &png_with(None));
        assert_eq!(sniff(&drawing), FileKind::Picture { format: "PNG" });
        let other_text = write(dir.path(), "t.png", &png_with(Some(("Software", "GIMP"))));
        assert_eq!(sniff(&other_text), FileKind::Picture { format: "PNG" });

        let train = write(dir.path(), "train.csv", format!("{}\n", header(true, 784)).as_bytes());
        let same = Replace::SameKind;
        assert_eq!(check(&curves, Output::Curves, &[], same), Ok(FileKind::Curves));
        assert!(check(&train, Output::Curves, &[], same).is_err());
        assert!(check(&plot, Output::Curves, &[], same).is_err());
        assert_eq!(check(&plot, Output::PlotImage, &[], same), Ok(FileKind::PlotImage));
        assert!(check(&drawing, Output::PlotImage, &[], same).is_err());
        assert!(check(&curves, Output::PlotImage, &[], same).is_err());
        // My digits exports are labelled CSVs like imports: no labelled CSV is theirs to replace.
        assert!(check(&train, Output::MyDigits, &[], same).is_err());
        assert!(check(&train, Output::MyDigits, &[], Replace::Anything).is_ok());
        let input = [Input::new(&train, "the training data loaded")];
        let refusal = check(&train, Output::MyDigits, &input, Replace::Anything).unwrap_err();
        assert!(
            refusal
                .to_string()
                .ends_with("is the training data loaded: My digits is never written onto an input"),
            "{refusal}"
        );
    }
}
