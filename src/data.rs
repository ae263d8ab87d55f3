//! Loading Kaggle's Digit Recognizer CSV files (`train.csv`, `test.csv`, plain or gzip).
//!
//! The loader is a hand-written byte parser: no per-field allocation, pixels stored as `u8` in
//! one contiguous row-major buffer. The input is read in chunks that end on a line boundary; a
//! reader thread decompresses (gzip is detected from the content) while two parser threads turn
//! chunks into rows, so decompression and parsing overlap and both cores are used. Every error
//! names the file, the 1-based line (the header is line 1) and, where it applies, the column.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Pixels per image (28 x 28).
pub const PIXELS: usize = 784;
/// Side of an image in pixels.
pub const SIDE: usize = 28;
/// Number of classes (digits 0-9).
pub const CLASSES: usize = 10;

/// The longest line a valid file can have is 785 fields of "255" plus commas (about 3 KB); a
/// line far longer than that is refused without buffering it, so one endless line cannot
/// exhaust memory.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// Bytes handed to a parser thread at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// Whether a file holds labelled training rows or unlabelled test rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    /// `label` + 784 pixel columns (Kaggle's `train.csv`).
    Train,
    /// 784 pixel columns (Kaggle's `test.csv`).
    Test,
}

impl DataKind {
    pub fn columns(self) -> usize {
        match self {
            DataKind::Train => PIXELS + 1,
            DataKind::Test => PIXELS,
        }
    }
}

impl fmt::Display for DataKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataKind::Train => "train",
            DataKind::Test => "test",
        })
    }
}

/// What the caller needs from a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Labelled rows are required (training, evaluation).
    Train,
    /// Unlabelled rows are required (Kaggle submission).
    Test,
    /// Either kind (inspection); a labelled file used for prediction also works through this.
    Any,
}

/// Images (and labels, for training data) held in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub kind: DataKind,
    /// Row-major pixels, `rows * 784` values 0..=255.
    pub pixels: Vec<u8>,
    /// One label 0..=9 per row for [`DataKind::Train`]; empty for [`DataKind::Test`].
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.pixels.len() / PIXELS
    }

    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    pub fn image(&self, row: usize) -> &[u8] {
        &self.pixels[row * PIXELS..(row + 1) * PIXELS]
    }

    pub fn label(&self, row: usize) -> Option<u8> {
        self.labels.get(row).copied()
    }

    /// Count of each label (all zero for test data).
    pub fn label_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &label in &self.labels {
            counts[label as usize] += 1;
        }
        counts
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        let mut labels = Vec::with_capacity(if self.labels.is_empty() { 0 } else { indices.len() });
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            if let Some(label) = self.label(i) {
                labels.push(label);
            }
        }
        Dataset {
            kind: self.kind,
            pixels,
            labels,
        }
    }

    /// The notebook's split: shuffle the rows with `seed`, the first `dev_size` rows are the dev
    /// set, the rest the training set. `dev_size` is clamped to the number of rows.
    pub fn split(&self, dev_size: usize, seed: u64) -> Split {
        let mut order: Vec<usize> = (0..self.rows()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(seed));
        let dev_size = dev_size.min(order.len());
        Split {
            train: self.select(&order[dev_size..]),
            dev: self.select(&order[..dev_size]),
        }
    }
}

/// Training and dev sets made by [`Dataset::split`].
#[derive(Clone, Debug)]
pub struct Split {
    pub train: Dataset,
    pub dev: Dataset,
}

/// Why a file could not be loaded. `Display` gives one line naming file, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    /// 1-based line number (the header is line 1), when the problem is on a line.
    pub line: Option<usize>,
    /// 1-based column (field) number, when the problem is in one field.
    pub column: Option<usize>,
    pub kind: LoadErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadErrorKind {
    Io(String),
    Empty,
    NoRows,
    Binary,
    TruncatedGzip,
    Gzip(String),
    BadHeader(String),
    WrongFieldCount { expected: usize, found: usize },
    NotANumber(String),
    PixelOutOfRange(String),
    LabelOutOfRange(String),
    LineTooLong,
    WrongKind { found: DataKind, expected: DataKind },
    Cancelled,
}

impl fmt::Display for LoadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            LoadErrorKind::Empty => f.write_str("the file is empty"),
            LoadErrorKind::NoRows => f.write_str("the file has a header but no data rows"),
            LoadErrorKind::Binary => f.write_str("this is not a CSV text file (binary data)"),
            LoadErrorKind::TruncatedGzip => {
                f.write_str("the gzip stream is truncated here (incomplete download?)")
            }
            LoadErrorKind::Gzip(e) => write!(f, "corrupt gzip data: {e}"),
            LoadErrorKind::BadHeader(e) => write!(f, "bad header: {e}"),
            LoadErrorKind::WrongFieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            LoadErrorKind::NotANumber(v) => write!(f, "{v} is not a whole number"),
            LoadErrorKind::PixelOutOfRange(v) => write!(f, "pixel value {v} is outside 0..=255"),
            LoadErrorKind::LabelOutOfRange(v) => write!(f, "label {v} is outside 0..=9"),
            LoadErrorKind::LineTooLong => write!(f, "line is longer than {MAX_LINE_BYTES} bytes"),
            LoadErrorKind::WrongKind { found: DataKind::Test, expected: DataKind::Train } => f.write_str(
                "this is test data (784 pixel columns, no label); labelled training data (label + 784 pixels, like train.csv) is needed here",
            ),
            LoadErrorKind::WrongKind { .. } => f.write_str(
                "this is training data (label + 784 pixels); unlabelled test data (784 pixels, like test.csv) is needed here",
            ),
            LoadErrorKind::Cancelled => f.write_str("loading was cancelled"),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ": line {line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for LoadError {}

/// Progress of a load: bytes of the file read so far, of the file's total size.
pub type ProgressFn<'a> = dyn FnMut(u64, u64) + Send + 'a;

/// Loads a CSV file (plain or gzip) from disk.
pub fn load_path(
    path: &Path,
    expect: Expect,
    progress: &mut ProgressFn<'_>,
    cancel: &AtomicBool,
) -> Result<Dataset, LoadError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| io_error(&name, e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    load_reader(&name, file, total, expect, progress, cancel)
}

/// Loads CSV bytes already in memory (plain or gzip), e.g. the embedded sample.
pub fn load_bytes(name: &str, bytes: &[u8], expect: Expect) -> Result<Dataset, LoadError> {
    load_reader(
        name,
        bytes,
        bytes.len() as u64,
        expect,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
}

fn io_error(name: &str, e: io::Error) -> LoadError {
    LoadError {
        file: name.to_string(),
        line: None,
        column: None,
        kind: LoadErrorKind::Io(e.to_string()),
    }
}

fn file_error(name: &str, kind: LoadErrorKind) -> LoadError {
    LoadError {
        file: name.to_string(),
        line: None,
        column: None,
        kind,
    }
}

/// Counts the bytes pulled through it and reports them as progress.
struct CountingReader<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    progress: &'a mut ProgressFn<'a>,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        (self.progress)(self.done, self.total.max(self.done));
        Ok(n)
    }
}

/// A piece of the file made of whole lines, with the number of its first line.
struct Chunk {
    index: usize,
    first_line: usize,
    bytes: Vec<u8>,
}

/// Rows parsed from one chunk.
struct ParsedChunk {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

/// Loads from any reader; `total` is the reader's size in bytes for progress.
pub fn load_reader<R: Read + Send>(
    name: &str,
    reader: R,
    total: u64,
    expect: Expect,
    progress: &mut ProgressFn<'_>,
    cancel: &AtomicBool,
) -> Result<Dataset, LoadError> {
    let mut counting = CountingReader {
        inner: reader,
        done: 0,
        total,
        progress,
    };
    // Sniff the gzip magic number from the content, not the file name.
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match counting.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(name, e)),
        }
    }
    let head = io::Cursor::new(magic[..got].to_vec());
    if got == 2 && magic == [0x1f, 0x8b] {
        let decoder = flate2::read::MultiGzDecoder::new(head.chain(counting));
        parse_stream(name, decoder, expect, cancel)
    } else {
        parse_stream(name, head.chain(counting), expect, cancel)
    }
}

/// A failed read. A truncated or corrupt gzip stream breaks off at a line of the content; that
/// line is named (`line`: where the stream broke), so the user sees how far the file got.
fn read_error(name: &str, e: io::Error, line: usize) -> LoadError {
    let (kind, line) = match e.kind() {
        io::ErrorKind::UnexpectedEof => (LoadErrorKind::TruncatedGzip, Some(line)),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => (LoadErrorKind::Gzip(e.to_string()), Some(line)),
        _ => (LoadErrorKind::Io(e.to_string()), None),
    };
    LoadError {
        file: name.to_string(),
        line,
        column: None,
        kind,
    }
}

/// Fills `buf` from `reader` until it is full or the stream ends; returns the bytes read, and the
/// error that stopped it early, if any (the bytes before it are kept).
fn fill<R: Read>(reader: &mut R, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

fn count_lines(bytes: &[u8]) -> usize {
    // Byte-wide counters over blocks that cannot overflow them: this runs on the reading thread,
    // which is the critical path for gzip, and a plain `filter().count()` widens every byte to
    // 64 bits (measured: a third of the decompression time).
    bytes
        .chunks(255)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// The header (or first data row) decides the kind; then chunks of whole lines are parsed on
/// two threads while this thread keeps reading (and decompressing).
fn parse_stream<R: Read>(name: &str, mut reader: R, expect: Expect, cancel: &AtomicBool) -> Result<Dataset, LoadError> {
    let mut buf = vec![0u8; CHUNK_BYTES];
    let (len, error) = fill(&mut reader, &mut buf);
    if let Some(e) = error {
        return Err(read_error(name, e, 1 + count_lines(&buf[..len])));
    }
    if len == 0 {
        return Err(file_error(name, LoadErrorKind::Empty));
    }
    let mut start = 0;
    if buf[..len].starts_with(b"\xEF\xBB\xBF") {
        start = 3;
    }
    // The first line: header or (for header-less files) the first data row.
    let newline = memchr(b'\n', &buf[start..len]).map(|i| start + i);
    let at_line_1 = |kind| LoadError {
        file: name.into(),
        line: Some(1),
        column: None,
        kind,
    };
    // NUL bytes never occur in CSV text: binary data (checked before the line's length, so that
    // e.g. a disk image is called binary rather than a long line).
    if buf[start..newline.unwrap_or(len)].contains(&0) {
        return Err(at_line_1(LoadErrorKind::Binary));
    }
    let header_end = match newline {
        Some(i) => i,
        None if len < buf.len() => len,
        None => return Err(at_line_1(LoadErrorKind::LineTooLong)),
    };
    let first_line = trim_cr(&buf[start..header_end]);
    let (kind, has_header) = detect_kind(name, first_line)?;
    match (expect, kind) {
        (Expect::Train, DataKind::Test) | (Expect::Test, DataKind::Train) => {
            let expected = if expect == Expect::Train {
                DataKind::Train
            } else {
                DataKind::Test
            };
            return Err(LoadError {
                file: name.into(),
                line: Some(1),
                column: None,
                kind: LoadErrorKind::WrongKind { found: kind, expected },
            });
        }
        _ => {}
    }
    let data_start = if has_header { (header_end + 1).min(len) } else { start };
    let first_data_line = if has_header { 2 } else { 1 };

    let results: Mutex<Vec<(usize, Result<ParsedChunk, LoadError>)>> = Mutex::new(Vec::new());
    let (tx, rx) = mpsc::sync_channel::<Chunk>(4);
    let rx = Mutex::new(rx);
    let failed_flag = AtomicBool::new(false);
    let failed = &failed_flag;
    let results = &results;

    // Owns the sender: the parser threads see the channel close when it returns.
    let produce = move || -> Result<(), LoadError> {
        let mut pending: Vec<u8> = buf[data_start..len].to_vec();
        let mut line = first_data_line;
        let mut index = 0;
        let mut eof = len < buf.len();
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(file_error(name, LoadErrorKind::Cancelled));
            }
            if failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            if !eof && pending.len() < CHUNK_BYTES {
                let old = pending.len();
                pending.resize(old + CHUNK_BYTES, 0);
                let (n, error) = fill(&mut reader, &mut pending[old..]);
                pending.truncate(old + n);
                if let Some(e) = error {
                    return Err(read_error(name, e, line + count_lines(&pending)));
                }
                eof = n < CHUNK_BYTES;
            }
            // Cut after the last newline; at the end of the stream the rest is the last line.
            let cut = if eof {
                pending.len()
            } else {
                memrchr(b'\n', &pending).map_or(0, |i| i + 1)
            };
            if cut == 0 {
                if eof {
                    return Ok(());
                }
                if pending.len() > MAX_LINE_BYTES {
                    return Err(LoadError {
                        file: name.into(),
                        line: Some(line),
                        column: None,
                        kind: LoadErrorKind::LineTooLong,
                    });
                }
                continue;
            }
            let rest = pending.split_off(cut);
            let bytes = std::mem::replace(&mut pending, rest);
            let lines = count_lines(&bytes) + usize::from(!bytes.ends_with(b"\n"));
            let chunk = Chunk {
                index,
                first_line: line,
                bytes,
            };
            line += lines;
            index += 1;
            if tx.send(chunk).is_err() {
                return Ok(());
            }
            if eof && pending.is_empty() {
                return Ok(());
            }
        }
    };

    let consume = || {
        loop {
            let chunk = match rx.lock().map(|r| r.recv()) {
                Ok(Ok(chunk)) => chunk,
                _ => return,
            };
            let parsed = parse_chunk(name, kind, &chunk);
            if parsed.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            if let Ok(mut r) = results.lock() {
                r.push((chunk.index, parsed));
            }
        }
    };

    let produced = std::thread::scope(|scope| {
        let workers = [scope.spawn(consume), scope.spawn(consume)];
        // Moving the producer in drops its sender as soon as it returns.
        let produced = {
            let mut produce = produce;
            produce()
        };
        for worker in workers {
            let _ = worker.join();
        }
        produced
    });

    let mut results = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    results.sort_by_key(|(index, _)| *index);
    // The first error in file order wins; a read error after it is less useful.
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut chunks = Vec::with_capacity(results.len());
    for (_, parsed) in results {
        chunks.push(parsed?);
    }
    produced?;
    let rows: usize = chunks.iter().map(|c| c.pixels.len() / PIXELS).sum();
    pixels.reserve_exact(rows * PIXELS);
    labels.reserve_exact(if kind == DataKind::Train { rows } else { 0 });
    for chunk in chunks {
        pixels.extend_from_slice(&chunk.pixels);
        labels.extend_from_slice(&chunk.labels);
    }
    if rows == 0 {
        return Err(LoadError {
            file: name.into(),
            line: None,
            column: None,
            kind: LoadErrorKind::NoRows,
        });
    }
    Ok(Dataset { kind, pixels, labels })
}

/// Reads line 1: a Kaggle header (`label,pixel0,...` or `pixel0,...`) or, for header-less files,
/// a first data row. Returns the kind and whether line 1 is a header.
fn detect_kind(name: &str, line: &[u8]) -> Result<(DataKind, bool), LoadError> {
    let at = |column: Option<usize>, kind| LoadError {
        file: name.into(),
        line: Some(1),
        column,
        kind,
    };
    let fields = line.split(|&b| b == b',').count();
    let first = trim_field(line.split(|&b| b == b',').next().unwrap_or(b""));
    let numeric = !first.is_empty() && first.iter().all(u8::is_ascii_digit);
    let kind = match fields {
        785 => DataKind::Train,
        784 => DataKind::Test,
        _ if std::str::from_utf8(line).is_err() => return Err(at(None, LoadErrorKind::Binary)),
        found => {
            return Err(at(
                None,
                LoadErrorKind::BadHeader(format!(
                    "expected 785 columns (label,pixel0..pixel783) or 784 columns (pixel0..pixel783), found {found}"
                )),
            ));
        }
    };
    if numeric {
        return Ok((kind, false));
    }
    // A header: check the names so that a different table with 784/785 columns is refused.
    for (i, field) in line.split(|&b| b == b',').enumerate() {
        let field = unquote(trim_field(field));
        let ok = match (kind, i) {
            (DataKind::Train, 0) => field.eq_ignore_ascii_case(b"label"),
            (DataKind::Train, i) => is_pixel_name(field, i - 1),
            (DataKind::Test, i) => is_pixel_name(field, i),
        };
        if !ok {
            let shown = String::from_utf8_lossy(&field[..field.len().min(40)]).into_owned();
            let wanted = if kind == DataKind::Train && i == 0 {
                "label".to_string()
            } else {
                "pixelN".to_string()
            };
            return Err(at(
                Some(i + 1),
                LoadErrorKind::BadHeader(format!("column name {shown:?}, expected {wanted}")),
            ));
        }
    }
    Ok((kind, true))
}

fn is_pixel_name(field: &[u8], _index: usize) -> bool {
    field.len() > 5 && field[..5].eq_ignore_ascii_case(b"pixel") && field[5..].iter().all(u8::is_ascii_digit)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_field(field: &[u8]) -> &[u8] {
    let start = field
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(field.len());
    let end = field
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &field[start..end]
}

fn unquote(field: &[u8]) -> &[u8] {
    if field.len() >= 2 && field[0] == b'"' && field[field.len() - 1] == b'"' {
        &field[1..field.len() - 1]
    } else {
        field
    }
}

/// Parses a whole number field: digits, optionally quoted or padded with spaces, optionally with
/// a fractional part of zeros ("12.0", as some tools write). Values above 65535 saturate so the
/// caller can report them as out of range.
fn parse_number(field: &[u8]) -> Option<u32> {
    let field = unquote(trim_field(field));
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
        value = (value * 10 + u32::from(digit)).min(1 << 20);
    }
    Some(value)
}

/// `"0,0,0,0,"` read as a little-endian u64: four zero pixels, the commonest 8 bytes of MNIST.
const FOUR_ZEROS: u64 = u64::from_le_bytes(*b"0,0,0,0,");

/// The fast path for the common row starting at `bytes[start]`: 1-3 digit numbers separated by
/// commas, each in range, the right number of them, ended by `\n`, `\r\n` or the end of the
/// chunk. Appends the row and returns where the next line starts, or appends nothing and
/// returns `None` (blank lines, spaces, quotes, errors: the careful path decides).
#[inline]
fn parse_plain_row(bytes: &[u8], start: usize, kind: DataKind, out: &mut ParsedChunk) -> Option<usize> {
    let columns = kind.columns();
    let digit = |i: usize| bytes.get(i).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9);
    // The row is parsed into a stack buffer and appended only when all of it is valid; zeros
    // need no writing.
    let mut values = [0u8; PIXELS + 1];
    let mut fields = 0;
    let mut i = start;
    let next_line = loop {
        // Runs of zero pixels, eight bytes at a time, while at least one more field follows.
        while fields + 4 < columns {
            match bytes.get(i..i + 8) {
                Some(eight) if u64::from_le_bytes(eight.try_into().ok()?) == FOUR_ZEROS => {
                    fields += 4;
                    i += 8;
                }
                _ => break,
            }
        }
        let mut value = u32::from(digit(i)?);
        i += 1;
        if let Some(d) = digit(i) {
            value = value * 10 + u32::from(d);
            i += 1;
            if let Some(d) = digit(i) {
                value = value * 10 + u32::from(d);
                i += 1;
                if digit(i).is_some() {
                    return None; // more than three digits
                }
            }
        }
        if value > 255 || fields == columns {
            return None;
        }
        values[fields] = value as u8;
        fields += 1;
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b'\n') => break i + 1,
            Some(b'\r') if matches!(bytes.get(i + 1), None | Some(b'\n')) => break i + 2,
            None => break i,
            Some(_) => return None,
        }
    };
    if fields != columns {
        return None;
    }
    if kind == DataKind::Train {
        if values[0] > 9 {
            return None;
        }
        out.labels.push(values[0]);
        out.pixels.extend_from_slice(&values[1..columns]);
    } else {
        out.pixels.extend_from_slice(&values[..columns]);
    }
    Some(next_line.min(bytes.len()))
}

fn parse_chunk(name: &str, kind: DataKind, chunk: &Chunk) -> Result<ParsedChunk, LoadError> {
    let columns = kind.columns();
    let estimate = chunk.bytes.len() / 1500 + 1;
    let mut out = ParsedChunk {
        pixels: Vec::with_capacity(estimate * PIXELS),
        labels: Vec::with_capacity(if kind == DataKind::Train { estimate } else { 0 }),
    };
    let bytes = &chunk.bytes[..];
    let mut start = 0;
    let mut this_line = chunk.first_line;
    while start < bytes.len() {
        if let Some(next) = parse_plain_row(bytes, start, kind, &mut out) {
            start = next;
            this_line += 1;
            continue;
        }
        let end = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = trim_cr(&bytes[start..end]);
        start = end + 1;
        this_line += 1;
        if line.is_empty() || line.iter().all(|b| matches!(b, b' ' | b'\t')) {
            continue; // blank lines (including the one after the final newline) are skipped
        }
        let err = |column: Option<usize>, kind| LoadError {
            file: name.into(),
            line: Some(this_line - 1),
            column,
            kind,
        };
        if line.len() > MAX_LINE_BYTES {
            return Err(err(None, LoadErrorKind::LineTooLong));
        }
        // Anything unusual (spaces, quotes, "12.0", a bad value): the careful field-by-field
        // parse below, which also makes the error message.
        let row_start = out.pixels.len();
        let mut found = 0;
        for field in line.split(|&b| b == b',') {
            found += 1;
            if found > columns {
                continue; // counted for the message below
            }
            let Some(value) = parse_number(field) else {
                let shown = String::from_utf8_lossy(&field[..field.len().min(40)]).into_owned();
                out.pixels.truncate(row_start);
                return Err(err(Some(found), LoadErrorKind::NotANumber(format!("{shown:?}"))));
            };
            if kind == DataKind::Train && found == 1 {
                if value > 9 {
                    return Err(err(Some(found), LoadErrorKind::LabelOutOfRange(value_text(field))));
                }
                out.labels.push(value as u8);
            } else if value > 255 {
                return Err(err(Some(found), LoadErrorKind::PixelOutOfRange(value_text(field))));
            } else {
                out.pixels.push(value as u8);
            }
        }
        if found != columns {
            return Err(err(
                None,
                LoadErrorKind::WrongFieldCount {
                    expected: columns,
                    found,
                },
            ));
        }
    }
    Ok(out)
}

fn value_text(field: &[u8]) -> String {
    String::from_utf8_lossy(unquote(trim_field(&field[..field.len().min(40)]))).into_owned()
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn memrchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().rposition(|&b| b == needle)
}

/// Writes rows in Kaggle's format (header, then one line per row); used to make the embedded
/// sample and test files.
pub fn write_csv(dataset: &Dataset, out: &mut impl io::Write) -> io::Result<()> {
    let mut header = String::new();
    if dataset.kind == DataKind::Train {
        header.push_str("label,");
    }
    let names: Vec<String> = (0..PIXELS).map(|i| format!("pixel{i}")).collect();
    header.push_str(&names.join(","));
    writeln!(out, "{header}")?;
    let mut line = String::with_capacity(4 * PIXELS);
    for row in 0..dataset.rows() {
        line.clear();
        if let Some(label) = dataset.label(row) {
            line.push_str(&format!("{label},"));
        }
        for (i, p) in dataset.image(row).iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&p.to_string());
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn header(kind: DataKind) -> String {
        let mut names: Vec<String> = (0..PIXELS).map(|i| format!("pixel{i}")).collect();
        if kind == DataKind::Train {
            names.insert(0, "label".into());
        }
        names.join(",")
    }

    fn row(label: Option<u8>, fill: u8) -> String {
        let mut fields: Vec<String> = (0..PIXELS)
            .map(|i| ((i as u32 * 7 + fill as u32) % 256).to_string())
            .collect();
        if let Some(label) = label {
            fields.insert(0, label.to_string());
        }
        fields.join(",")
    }

    fn train_text(rows: usize) -> String {
        let mut text = header(DataKind::Train) + "\n";
        for r in 0..rows {
            text += &row(Some((r % 10) as u8), r as u8);
            text += "\n";
        }
        text
    }

    fn load(text: &[u8], expect: Expect) -> Result<Dataset, LoadError> {
        load_bytes("t.csv", text, expect)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn counts_lines() {
        for len in [0usize, 1, 254, 255, 256, 5000] {
            let text: Vec<u8> = (0..len).map(|i| if i % 3 == 0 { b'\n' } else { b'7' }).collect();
            assert_eq!(count_lines(&text), len.div_ceil(3), "{len}");
        }
        assert_eq!(count_lines(&[b'\n'; 1000]), 1000);
    }

    #[test]
    fn loads_train_rows_exactly() {
        let data = load(train_text(3).as_bytes(), Expect::Train).unwrap();
        assert_eq!(data.kind, DataKind::Train);
        assert_eq!(data.rows(), 3);
        assert_eq!(data.labels, vec![0, 1, 2]);
        assert_eq!(data.image(2)[1], 9);
        assert_eq!(data.image(0)[0], 0);
    }

    #[test]
    fn loads_test_rows() {
        let text = header(DataKind::Test) + "\n" + &row(None, 5) + "\n";
        let data = load(text.as_bytes(), Expect::Test).unwrap();
        assert_eq!((data.kind, data.rows(), data.labels.len()), (DataKind::Test, 1, 0));
    }

    #[test]
    fn crlf_bom_and_missing_final_newline_are_accepted() {
        let text = train_text(4);
        let expected = load(text.as_bytes(), Expect::Train).unwrap();
        let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        assert_eq!(load(crlf.as_bytes(), Expect::Train).unwrap(), expected);
        assert_eq!(load(text.trim_end().as_bytes(), Expect::Train).unwrap(), expected);
    }

    #[test]
    fn gzip_is_detected_from_content() {
        let text = train_text(5);
        let plain = load(text.as_bytes(), Expect::Train).unwrap();
        assert_eq!(load(&gzip(text.as_bytes()), Expect::Train).unwrap(), plain);
    }

    #[test]
    fn many_chunks_keep_row_order_and_line_numbers() {
        // ~2,000 rows span several 1 MB chunks parsed on two threads.
        let mut text = train_text(2000);
        let data = load(text.as_bytes(), Expect::Train).unwrap();
        assert_eq!(data.rows(), 2000);
        assert!(data.labels.iter().enumerate().all(|(i, &l)| l as usize == i % 10));
        // Break row 1500 (line 1501) deep inside a later chunk.
        let line_start = text.match_indices('\n').nth(1499).unwrap().0 + 1;
        text.replace_range(line_start..line_start + 1, "x");
        let err = load(text.as_bytes(), Expect::Train).unwrap_err();
        assert_eq!((err.line, err.column), (Some(1501), Some(1)), "{err}");
    }

    #[test]
    fn header_less_files_are_accepted() {
        let text = row(Some(3), 1) + "\n" + &row(Some(4), 2) + "\n";
        let data = load(text.as_bytes(), Expect::Train).unwrap();
        assert_eq!(data.labels, vec![3, 4]);
    }

    fn error_of(text: &[u8], expect: Expect) -> LoadError {
        let err = load(text, expect).unwrap_err();
        assert!(err.to_string().starts_with("t.csv"), "{err}");
        err
    }

    #[test]
    fn empty_file_and_header_only() {
        assert_eq!(error_of(b"", Expect::Train).kind, LoadErrorKind::Empty);
        let header_only = header(DataKind::Train) + "\n";
        assert_eq!(
            error_of(header_only.as_bytes(), Expect::Train).kind,
            LoadErrorKind::NoRows
        );
    }

    #[test]
    fn wrong_field_counts_name_the_line() {
        let err = error_of(b"label,pixel0,pixel1\n1,2,3\n", Expect::Train);
        assert_eq!(err.line, Some(1));
        assert!(matches!(err.kind, LoadErrorKind::BadHeader(_)));
        let mut text = train_text(2);
        text += &row(Some(1), 0)[2..]; // the label dropped: 784 fields on line 4
        text += "\n";
        let err = error_of(text.as_bytes(), Expect::Train);
        assert_eq!(err.line, Some(4));
        assert_eq!(
            err.kind,
            LoadErrorKind::WrongFieldCount {
                expected: 785,
                found: 784
            }
        );
        let text = train_text(1) + &row(Some(1), 0) + ",7\n";
        assert_eq!(
            error_of(text.as_bytes(), Expect::Train).kind,
            LoadErrorKind::WrongFieldCount {
                expected: 785,
                found: 786
            }
        );
    }

    #[test]
    fn bad_values_name_line_and_column() {
        let bad = |field: usize, value: &str| {
            let mut fields: Vec<String> = row(Some(1), 0).split(',').map(String::from).collect();
            fields[field] = value.into();
            let text = train_text(2) + &fields.join(",") + "\n";
            error_of(text.as_bytes(), Expect::Train)
        };
        let err = bad(10, "abc");
        assert_eq!((err.line, err.column), (Some(4), Some(11)));
        assert!(matches!(err.kind, LoadErrorKind::NotANumber(_)));
        assert!(err.to_string().contains("line 4, column 11"), "{err}");
        assert!(matches!(bad(5, "256").kind, LoadErrorKind::PixelOutOfRange(_)));
        assert!(matches!(bad(5, "-1").kind, LoadErrorKind::NotANumber(_)));
        assert!(matches!(
            bad(5, "99999999999999999999").kind,
            LoadErrorKind::PixelOutOfRange(_)
        ));
        assert!(matches!(bad(5, "").kind, LoadErrorKind::NotANumber(_)));
        let err = bad(0, "10");
        assert_eq!(
            (err.column, err.kind),
            (Some(1), LoadErrorKind::LabelOutOfRange("10".into()))
        );
        // Padded, quoted and "12.0" values are whole numbers.
        let mut fields: Vec<String> = row(Some(1), 0).split(',').map(String::from).collect();
        fields[3] = " \"12.0\" ".into();
        let text = train_text(0) + &fields.join(",") + "\n";
        assert_eq!(load(text.as_bytes(), Expect::Train).unwrap().image(0)[2], 12);
    }

    #[test]
    fn wrong_kind_is_refused_both_ways() {
        let test = header(DataKind::Test) + "\n" + &row(None, 5) + "\n";
        let err = error_of(test.as_bytes(), Expect::Train);
        assert_eq!(
            err.kind,
            LoadErrorKind::WrongKind {
                found: DataKind::Test,
                expected: DataKind::Train
            }
        );
        assert!(err.to_string().contains("test data"));
        let err = error_of(train_text(1).as_bytes(), Expect::Test);
        assert_eq!(
            err.kind,
            LoadErrorKind::WrongKind {
                found: DataKind::Train,
                expected: DataKind::Test
            }
        );
        assert!(load(train_text(1).as_bytes(), Expect::Any).is_ok());
    }

    #[test]
    fn truncated_gzip_and_garbage() {
        let gz = gzip(train_text(50).as_bytes());
        let err = error_of(&gz[..gz.len() / 2], Expect::Train);
        assert_eq!(err.kind, LoadErrorKind::TruncatedGzip, "{err}");
        let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let err = error_of(&garbage, Expect::Train);
        assert!(
            matches!(err.kind, LoadErrorKind::Binary | LoadErrorKind::BadHeader(_)),
            "{err}"
        );
        let mut corrupt = gz.clone();
        corrupt[40] ^= 0xff;
        corrupt[41] ^= 0x55;
        assert!(load(&corrupt, Expect::Train).is_err());
    }

    #[test]
    fn endless_line_is_refused() {
        let text = train_text(1) + &"1,".repeat(3 << 20);
        let err = error_of(text.as_bytes(), Expect::Train);
        assert_eq!((err.line, err.kind), (Some(3), LoadErrorKind::LineTooLong));
    }

    #[test]
    fn progress_reaches_total_and_cancel_stops() {
        let text = train_text(30);
        let mut last = (0, 0);
        let data = load_reader(
            "t.csv",
            text.as_bytes(),
            text.len() as u64,
            Expect::Train,
            &mut |d, t| last = (d, t),
            &AtomicBool::new(false),
        );
        assert!(data.is_ok());
        assert_eq!(last, (text.len() as u64, text.len() as u64));
        let err = load_reader(
            "t.csv",
            text.as_bytes(),
            0,
            Expect::Train,
            &mut |_, _| {},
            &AtomicBool::new(true),
        )
        .unwrap_err();
        assert_eq!(err.kind, LoadErrorKind::Cancelled);
    }

    #[test]
    fn split_is_seeded_and_complete() {
        let data = load(train_text(50).as_bytes(), Expect::Train).unwrap();
        let a = data.split(10, 7);
        let b = data.split(10, 7);
        assert_eq!(a.dev, b.dev);
        assert_eq!((a.dev.rows(), a.train.rows()), (10, 40));
        let c = data.split(0, 7);
        assert_eq!((c.dev.rows(), c.train.rows()), (0, 50));
        let mut counts = a.train.label_counts();
        for (i, n) in a.dev.label_counts().iter().enumerate() {
            counts[i] += n;
        }
        assert_eq!(counts, data.label_counts());
    }

    #[test]
    fn write_csv_round_trips() {
        let data = load(train_text(7).as_bytes(), Expect::Train).unwrap();
        let mut out = Vec::new();
        write_csv(&data, &mut out).unwrap();
        assert_eq!(load(&out, Expect::Train).unwrap(), data);
    }
}
