//! The entry points and the reading pipeline: the calling thread reads (and decompresses) the
//! input in chunks of whole lines while parser threads (one per core) turn chunks into rows.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use super::chunk::{Chunk, ParsedChunk, parse_chunk};
use super::columns::FieldSplitter;
use super::dataset::{DataKind, Dataset, Expect};
use super::error::{LoadError, LoadErrorKind};
use super::header::{HEAD_BYTES, read_head};
use super::huge_pages::with_huge_pages;
use super::in_memory::parse_in_memory;
use super::mapped::MappedFile;
use super::{MAX_LINE_BYTES, ProgressFn, parsers};

/// Bytes handed to a parser thread at a time: the first chunk is where line 1 must end.
const CHUNK_BYTES: usize = HEAD_BYTES;
/// Chunks read ahead of the parsers; bounds the memory in flight to a few MB.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Loads a CSV file (plain or gzip) from disk. A plain regular file is mapped into memory and
/// parsed in place on every core; gzip (detected from the content) and anything that cannot be
/// mapped (pipes) are streamed.
pub fn load_path(
    path: &Path,
    expect: Expect,
    progress: &mut ProgressFn<'_>,
    cancel: &AtomicBool,
) -> Result<Dataset, LoadError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| LoadError::io(&name, &e))?;
    let metadata = file.metadata().ok();
    let total = metadata.as_ref().map_or(0, |m| m.len());
    if metadata.is_some_and(|m| m.is_file())
        && let Some(mapped) = MappedFile::new(&file, total)
        && !is_gzip(mapped.bytes())
    {
        let parsed = parse_in_memory(&name, mapped.bytes(), expect, progress, cancel);
        // Bytes another program wrote meanwhile may be mixed into what was parsed.
        if parsed.is_ok() && mapped.changed(&file) {
            let why = "the file changed while it was being read (another program is writing it); load it again";
            return Err(LoadError::new(&name, LoadErrorKind::Io(why.into())));
        }
        return parsed;
    }
    load_reader(&name, file, total, expect, progress, cancel)
}

/// Loads CSV bytes already in memory (plain or gzip), e.g. the embedded sample.
pub fn load_bytes(name: &str, bytes: &[u8], expect: Expect) -> Result<Dataset, LoadError> {
    let cancel = AtomicBool::new(false);
    if is_gzip(bytes) {
        load_reader(name, bytes, bytes.len() as u64, expect, &mut |_, _| {}, &cancel)
    } else {
        parse_in_memory(name, bytes, expect, &mut |_, _| {}, &cancel)
    }
}

/// Whether `bytes` start with gzip's magic number.
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Loads from any reader; `total` is the reader's size in bytes for progress. Gzip is detected
/// from the content (its magic number), not from the name.
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
    let mut magic = [0u8; 2];
    let (got, error) = fill(&mut counting, &mut magic);
    if let Some(e) = error {
        return Err(LoadError::io(name, &e));
    }
    let head = io::Cursor::new(magic[..got].to_vec());
    if magic[..got] == GZIP_MAGIC {
        let decoder = flate2::read::MultiGzDecoder::new(head.chain(counting));
        parse_stream(name, decoder, expect, cancel)
    } else {
        parse_stream(name, head.chain(counting), expect, cancel)
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

/// A failed read. A truncated or corrupt gzip stream breaks off at a line of the content; that
/// line is named (`line`: where the stream broke), so the user sees how far the file got.
fn read_error(name: &str, e: &io::Error, line: usize) -> LoadError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => LoadError::new(name, LoadErrorKind::TruncatedGzip).at_line(line),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            LoadError::new(name, LoadErrorKind::Gzip(e.to_string())).at_line(line)
        }
        _ => LoadError::io(name, e),
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

/// Newlines in `bytes`. This runs on the reading thread, the critical path for gzip: memchr's
/// vectorised count does a 1 MB chunk in about 70 µs (14 GB/s in cache, measured; the
/// hand-written byte-wise counter it replaced was as fast, 13.5 GB/s), next to about 2.6 ms
/// to inflate it.
fn count_lines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// Line 1 (header or, for header-less files, the first data row) decides the kind; then chunks
/// of whole lines are parsed on two threads while this thread keeps reading (and decompressing).
fn parse_stream<R: Read>(name: &str, mut reader: R, expect: Expect, cancel: &AtomicBool) -> Result<Dataset, LoadError> {
    let mut first = vec![0u8; CHUNK_BYTES];
    let (len, error) = fill(&mut reader, &mut first);
    if let Some(e) = error {
        return Err(read_error(name, &e, 1 + count_lines(&first[..len])));
    }
    if len == 0 {
        return Err(LoadError::new(name, LoadErrorKind::Empty));
    }
    let eof = len < first.len();
    first.truncate(len);
    let head = read_head(name, &first, eof, expect)?;
    let pending = first.split_off(head.data_start);
    let layout = head.layout;

    let results: Mutex<Vec<(usize, Result<ParsedChunk, LoadError>)>> = Mutex::new(Vec::new());
    let (tx, rx) = mpsc::sync_channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let rx = Mutex::new(rx);
    let failed = AtomicBool::new(false);
    let parse = || {
        let mut splitter = FieldSplitter::new();
        loop {
            let Ok(Ok(chunk)) = rx.lock().map(|r| r.recv()) else {
                return; // the reading side is done (or a parser panicked holding the lock)
            };
            let parsed = parse_chunk(name, &layout, &chunk, &mut splitter);
            if parsed.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            if let Ok(mut r) = results.lock() {
                r.push((chunk.index, parsed));
            }
        }
    };
    let mut source = ChunkSource {
        name,
        reader,
        pending,
        line: head.first_data_line,
        index: 0,
        eof,
    };
    let produced = std::thread::scope(|scope| {
        let parsers: Vec<_> = (0..parsers()).map(|_| scope.spawn(parse)).collect();
        // `tx` moves in and is dropped on return: the parsers then see the channel close.
        let produced = source.send_chunks(tx, cancel, &failed);
        for parser in parsers {
            let _ = parser.join();
        }
        produced
    });

    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(index, _)| *index);
    // The first error in file order wins; a read error after it is less useful.
    let chunks = results
        .into_iter()
        .map(|(_, parsed)| parsed)
        .collect::<Result<Vec<_>, _>>()?;
    produced?;
    let rows: usize = chunks.iter().map(|c| c.pixels.len() / layout.pixels()).sum();
    if rows == 0 {
        return Err(LoadError::new(name, LoadErrorKind::NoRows));
    }
    let mut pixels = with_huge_pages(rows * layout.pixels());
    let mut labels = Vec::with_capacity(if layout.kind == DataKind::Train { rows } else { 0 });
    let mut ids = Vec::with_capacity(if layout.id_column.is_some() { rows } else { 0 });
    for chunk in chunks {
        pixels.extend_from_slice(&chunk.pixels);
        labels.extend_from_slice(&chunk.labels);
        ids.extend(chunk.ids);
    }
    Ok(Dataset {
        kind: layout.kind,
        side: layout.side,
        pixels,
        labels,
        ids,
    })
}

/// The reading side of the pipeline: cuts the input into chunks of whole lines.
struct ChunkSource<'a, R> {
    name: &'a str,
    reader: R,
    /// Read but not yet sent: whole lines, then at most one partial line.
    pending: Vec<u8>,
    /// 1-based line number of the first line in `pending`.
    line: usize,
    /// Index of the next chunk.
    index: usize,
    /// The reader has nothing more.
    eof: bool,
}

impl<R: Read> ChunkSource<'_, R> {
    /// Reads and sends chunks until the input ends, a parser failed (`failed`), the parsers are
    /// gone, or `cancel` is set. A line longer than [`MAX_LINE_BYTES`] stops it after reading
    /// at most one chunk past the line's start.
    fn send_chunks(
        &mut self,
        tx: mpsc::SyncSender<Chunk>,
        cancel: &AtomicBool,
        failed: &AtomicBool,
    ) -> Result<(), LoadError> {
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(LoadError::new(self.name, LoadErrorKind::Cancelled));
            }
            if failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            self.read_more()?;
            // Cut after the last newline; at the end of the stream the rest is the last line.
            let cut = if self.eof {
                self.pending.len()
            } else {
                memchr::memrchr(b'\n', &self.pending).map_or(0, |i| i + 1)
            };
            if cut == 0 {
                if self.eof {
                    return Ok(());
                }
                if self.pending.len() > MAX_LINE_BYTES {
                    return Err(LoadError::new(self.name, LoadErrorKind::LineTooLong).at_line(self.line));
                }
                continue;
            }
            let rest = self.pending.split_off(cut);
            let bytes = std::mem::replace(&mut self.pending, rest);
            let lines = count_lines(&bytes) + usize::from(!bytes.ends_with(b"\n"));
            let chunk = Chunk {
                index: self.index,
                first_line: self.line,
                bytes,
            };
            self.line += lines;
            self.index += 1;
            if tx.send(chunk).is_err() || (self.eof && self.pending.is_empty()) {
                return Ok(());
            }
        }
    }

    /// Tops `pending` up to at least a chunk, unless the input has ended.
    fn read_more(&mut self) -> Result<(), LoadError> {
        if self.eof || self.pending.len() >= CHUNK_BYTES {
            return Ok(());
        }
        let old = self.pending.len();
        self.pending.resize(old + CHUNK_BYTES, 0);
        let (n, error) = fill(&mut self.reader, &mut self.pending[old..]);
        self.pending.truncate(old + n);
        if let Some(e) = error {
            return Err(read_error(self.name, &e, self.line + count_lines(&self.pending)));
        }
        self.eof = n < CHUNK_BYTES;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::data::PIXELS;
    use crate::data::test_rows::{assert_train_rows, gzip, header, load, pixel, row, train_text};

    #[test]
    fn other_layouts_load_through_both_paths() {
        // Kannada-MNIST's test file: ids (text, kept as written), pixels; plain and quoted rows.
        let mut text = format!("id,{}\n", header(DataKind::Test));
        text += &format!("007,{}\n", row(None, 1));
        text += &format!("\"8\",{}\n", row(None, 2).replace(',', ", "));
        let data = load(text.as_bytes(), Expect::Test).unwrap();
        assert_eq!((data.kind, data.side, data.rows()), (DataKind::Test, 28, 2));
        assert_eq!(data.ids, ["007", "8"]);
        assert_eq!(data.image(1), &(0..PIXELS).map(|i| pixel(i, 2)).collect::<Vec<_>>()[..]);
        // Headerless 32x32 with labels above 9, a plain row and a padded one.
        let row32 = |label: u8, fill: u8| {
            let pixels: Vec<String> = (0..1024).map(|i| pixel(i, fill).to_string()).collect();
            format!("{label},{}", pixels.join(","))
        };
        let text = format!("{}\n{}\n", row32(24, 3), row32(13, 4).replace(',', " ,"));
        let data = load(text.as_bytes(), Expect::Train).unwrap();
        assert_eq!((data.side, data.labels.clone(), data.rows()), (32, vec![24, 13], 2));
        assert_eq!(data.image(1)[1023], pixel(1023, 4));
        assert_eq!(data.class_count(), 25);
        // A row of the wrong width names its line.
        let text = format!("{}\n{}\n", row32(1, 3), row(Some(1), 3));
        let e = load(text.as_bytes(), Expect::Train).unwrap_err();
        assert_eq!(
            (e.line, e.kind),
            (
                Some(2),
                LoadErrorKind::WrongFieldCount {
                    expected: 1025,
                    found: 785
                }
            )
        );
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
        assert_train_rows(&data, 3);
    }

    #[test]
    fn loads_test_rows() {
        let text = format!("{}\n{}\n", header(DataKind::Test), row(None, 5));
        let data = load(text.as_bytes(), Expect::Test).unwrap();
        assert_eq!((data.kind, data.rows(), data.labels.len()), (DataKind::Test, 1, 0));
        let want: Vec<u8> = (0..PIXELS).map(|i| pixel(i, 5)).collect();
        assert_eq!(data.pixels, want);
    }

    #[test]
    fn crlf_bom_and_missing_final_newline_are_accepted() {
        let text = train_text(4);
        let expected = load(text.as_bytes(), Expect::Train).unwrap();
        assert_train_rows(&expected, 4);
        let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        assert_eq!(load(crlf.as_bytes(), Expect::Train).unwrap(), expected);
        assert_eq!(load(text.trim_end().as_bytes(), Expect::Train).unwrap(), expected);
    }

    #[test]
    fn quoted_csv_as_other_tools_write_it_is_accepted() {
        // Every field quoted, CRLF line ends, a BOM: what spreadsheet exports look like.
        let quote_all = |line: &str| {
            line.split(',')
                .map(|f| format!("\"{f}\""))
                .collect::<Vec<_>>()
                .join(",")
        };
        let text = train_text(3);
        let quoted: String = text.lines().map(|l| format!("{}\r\n", quote_all(l))).collect();
        let data = load(format!("\u{feff}{quoted}").as_bytes(), Expect::Train).unwrap();
        assert_train_rows(&data, 3);
    }

    #[test]
    fn gzip_is_detected_from_content() {
        let text = train_text(5);
        let data = load(&gzip(text.as_bytes()), Expect::Train).unwrap();
        assert_train_rows(&data, 5);
    }

    #[test]
    fn many_chunks_keep_row_order_and_line_numbers() {
        // ~2,000 rows span several 1 MB chunks parsed on two threads.
        let mut text = train_text(2000);
        let data = load(text.as_bytes(), Expect::Train).unwrap();
        assert_train_rows(&data, 2000);
        // Break row 1500 (line 1501) deep inside a later chunk.
        let line_start = text.match_indices('\n').nth(1499).unwrap().0 + 1;
        text.replace_range(line_start..line_start + 1, "x");
        let err = load(text.as_bytes(), Expect::Train).unwrap_err();
        assert_eq!((err.line, err.column), (Some(1501), Some(1)), "{err}");
    }

    #[test]
    fn header_less_files_are_accepted() {
        let text = format!("{}\n{}\n", row(Some(3), 1), row(Some(4), 2));
        let data = load(text.as_bytes(), Expect::Train).unwrap();
        assert_eq!(data.labels, vec![3, 4]);
        let want: Vec<u8> = [1u8, 2]
            .iter()
            .flat_map(|&f| (0..PIXELS).map(move |i| pixel(i, f)))
            .collect();
        assert_eq!(data.pixels, want);
    }

    fn error_of(text: &[u8], expect: Expect) -> LoadError {
        let err = load(text, expect).unwrap_err();
        assert!(err.to_string().starts_with("t.csv"), "{err}");
        err
    }

    #[test]
    fn empty_file_and_header_only() {
        assert_eq!(error_of(b"", Expect::Train).kind, LoadErrorKind::Empty);
        let header_only = format!("{}\n", header(DataKind::Train));
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
        let text = format!("{}{},7\n", train_text(1), row(Some(1), 0));
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
            let text = format!("{}{}\n", train_text(2), fields.join(","));
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
        // Labels go to 99 (other data sets than digits); 100 is refused.
        let err = bad(0, "100");
        assert_eq!(
            (err.column, err.kind),
            (Some(1), LoadErrorKind::LabelOutOfRange("100".into()))
        );
        // Padded, quoted and "12.0" values are whole numbers.
        let mut fields: Vec<String> = row(Some(1), 0).split(',').map(String::from).collect();
        fields[3] = " \"12.0\" ".into();
        let text = format!("{}{}\n", train_text(0), fields.join(","));
        assert_eq!(load(text.as_bytes(), Expect::Train).unwrap().image(0)[2], 12);
    }

    #[test]
    fn wrong_kind_is_refused_both_ways() {
        let test = format!("{}\n{}\n", header(DataKind::Test), row(None, 5));
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
        assert_train_rows(&load(train_text(1).as_bytes(), Expect::Any).unwrap(), 1);
    }

    #[test]
    fn truncated_gzip_and_garbage() {
        let gz = gzip(train_text(50).as_bytes());
        let err = error_of(&gz[..gz.len() / 2], Expect::Train);
        assert_eq!(err.kind, LoadErrorKind::TruncatedGzip, "{err}");
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..20 {
            let garbage: Vec<u8> = (0..5000).map(|_| rng.random()).collect();
            let err = error_of(&garbage, Expect::Train);
            assert!(
                matches!(err.kind, LoadErrorKind::Binary | LoadErrorKind::BadHeader(_)),
                "{err}"
            );
        }
        let mut corrupt = gz.clone();
        corrupt[40] ^= 0xff;
        corrupt[41] ^= 0x55;
        assert!(load(&corrupt, Expect::Train).is_err());
    }

    #[test]
    fn endless_line_is_refused() {
        let text = format!("{}{}", train_text(1), "1,".repeat(3 << 20));
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
        )
        .unwrap();
        assert_train_rows(&data, 30);
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
}
