//! Loading a plain file that is wholly in memory (a mapped file, or bytes given): no reading
//! thread and no intermediate buffers. The file is cut into chunks of whole lines, every core
//! counts the lines of chunks, and then every core parses chunks straight into their rows'
//! final place in the data set (a row is one line, so a chunk's rows start at most at the
//! lines before it); blank lines leave gaps that are closed at the end.
//!
//! The cores are a `rayon` pool of the load's own, as many threads as [`parsers`] and started
//! by the loading thread, so they inherit its priority (the app lowers its loading thread's,
//! and on Linux a nice value is per thread and passed on to the threads it starts).

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::chunk::parse_lines;
use super::columns::{FieldSplitter, Layout, RowSink};
use super::dataset::{DataKind, Dataset, Expect};
use super::error::{LoadError, LoadErrorKind};
use super::header::{HEAD_BYTES, read_head};
use super::huge_pages::zeroed_on_huge_pages;
use super::{ProgressFn, parsers};

/// Bytes per chunk: small enough that the chunks of a 77 MB file keep every core busy to the
/// end, large enough that handing one out costs nothing next to parsing it (~0.3 ms).
const CHUNK_BYTES: usize = 256 << 10;

/// Parses `bytes`, a whole plain (not gzip) file named `name`.
pub(super) fn parse_in_memory(
    name: &str,
    bytes: &[u8],
    expect: Expect,
    progress: &mut ProgressFn<'_>,
    cancel: &AtomicBool,
) -> Result<Dataset, LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::new(name, LoadErrorKind::Empty));
    }
    let first = &bytes[..bytes.len().min(HEAD_BYTES)];
    let head = read_head(name, first, first.len() == bytes.len(), expect)?;
    let layout = head.layout;
    let chunks = cut_chunks(bytes, head.data_start);
    let threads = rayon::ThreadPoolBuilder::new()
        .num_threads(parsers().min(chunks.len()).max(1))
        .thread_name(|i| format!("parse-{}", i + 1))
        .build()
        .expect("starting the parser threads");

    // `(chunks)` line counts, in chunk order.
    let lines: Vec<usize> = threads.install(|| {
        chunks
            .par_iter()
            .map(|chunk| count_lines(&bytes[chunk.clone()]))
            .collect()
    });
    // Room for the rows of each chunk: one per line, and never more than its bytes can hold
    // (every field is at least one byte and a comma or line end), so that a file of blank
    // lines cannot ask for gigabytes.
    let mut slots = Vec::with_capacity(chunks.len());
    let mut first_lines = Vec::with_capacity(chunks.len());
    let mut line = head.first_data_line;
    for (chunk, &lines) in chunks.iter().zip(&lines) {
        slots.push(lines.min((chunk.len() + 1) / (2 * layout.columns())));
        first_lines.push(line);
        line += lines;
    }
    let total_slots: usize = slots.iter().sum();
    let mut pixels = zeroed_on_huge_pages(total_slots * layout.pixels());
    let mut labels = vec![0u8; if layout.label_column.is_some() { total_slots } else { 0 }];

    let outputs = split_into_slots(&mut pixels, &mut labels, &slots, &layout);
    let first_failed = AtomicUsize::new(usize::MAX);
    let parsed_bytes = AtomicU64::new(0);
    let total_bytes = bytes.len() as u64;
    let parse = |i: usize| -> Result<(usize, Vec<String>), LoadError> {
        if i > first_failed.load(Ordering::Relaxed) {
            return Ok((0, Vec::new())); // an earlier chunk failed: its error is the one shown
        }
        let result = if cancel.load(Ordering::Relaxed) {
            Err(LoadError::new(name, LoadErrorKind::Cancelled))
        } else {
            let mut out = outputs[i].lock().unwrap_or_else(|e| e.into_inner());
            let out = &mut *out;
            parse_lines(
                name,
                &layout,
                &bytes[chunks[i].clone()],
                first_lines[i],
                &mut FieldSplitter::new(),
                out,
            )
            .map(|()| (out.rows, std::mem::take(&mut out.ids)))
        };
        if result.is_err() {
            first_failed.fetch_min(i, Ordering::Relaxed);
        }
        parsed_bytes.fetch_add(chunks[i].len() as u64, Ordering::Relaxed);
        result
    };
    // Reported by whichever thread finished a chunk, unless another is reporting just then.
    let report = Mutex::new(&mut *progress);
    let parsed: Vec<_> = threads.install(|| {
        (0..chunks.len())
            .into_par_iter()
            .map(|i| {
                let parsed = parse(i);
                if let Ok(mut report) = report.try_lock() {
                    report(parsed_bytes.load(Ordering::Relaxed), total_bytes);
                }
                parsed
            })
            .collect()
    });
    drop((outputs, report));
    progress(total_bytes, total_bytes);

    // The first error in file order wins.
    let parsed = parsed.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut rows = 0;
    let mut ids = Vec::new();
    let mut slot_start = 0;
    for ((produced, chunk_ids), slots) in parsed.into_iter().zip(slots) {
        if slot_start != rows {
            let n = layout.pixels();
            pixels.copy_within(slot_start * n..(slot_start + produced) * n, rows * n);
            if !labels.is_empty() {
                labels.copy_within(slot_start..slot_start + produced, rows);
            }
        }
        ids.extend(chunk_ids);
        rows += produced;
        slot_start += slots;
    }
    if rows == 0 {
        return Err(LoadError::new(name, LoadErrorKind::NoRows));
    }
    pixels.truncate(rows * layout.pixels());
    labels.truncate(if layout.kind == DataKind::Train { rows } else { 0 });
    Ok(Dataset {
        kind: layout.kind,
        side: layout.side,
        pixels,
        labels,
        ids,
    })
}

/// Cuts `bytes[start..]` into chunks of whole lines of about [`CHUNK_BYTES`] each.
fn cut_chunks(bytes: &[u8], mut start: usize) -> Vec<Range<usize>> {
    let mut chunks = Vec::with_capacity(bytes.len() / CHUNK_BYTES + 1);
    while start < bytes.len() {
        let target = start + CHUNK_BYTES;
        let end = if target < bytes.len() {
            memchr::memchr(b'\n', &bytes[target..]).map_or(bytes.len(), |i| target + i + 1)
        } else {
            bytes.len()
        };
        chunks.push(start..end);
        start = end;
    }
    chunks
}

/// Lines in a chunk: its newlines, and the last line of the file if it has none.
fn count_lines(chunk: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', chunk).count() + usize::from(!chunk.ends_with(b"\n"))
}

/// One chunk's share of the data set's buffers: room for `slots` rows, filled from the start.
struct RowSlots<'a> {
    pixels: &'a mut [u8],
    labels: &'a mut [u8],
    ids: Vec<String>,
    rows: usize,
}

impl RowSink for RowSlots<'_> {
    fn push_row(&mut self, label: Option<u8>, id: Option<String>, pixels: &[u8]) {
        let n = pixels.len();
        // Never out of bounds: a row takes a line and at least `2 * columns` bytes, which the
        // slots were counted from.
        self.pixels[self.rows * n..(self.rows + 1) * n].copy_from_slice(pixels);
        if let Some(label) = label {
            self.labels[self.rows] = label;
        }
        self.ids.extend(id);
        self.rows += 1;
    }
}

/// Splits the buffers into each chunk's slots (`slots[i]` rows for chunk `i`), each behind its
/// own lock so that whichever thread parses the chunk can take it.
fn split_into_slots<'a>(
    mut pixels: &'a mut [u8],
    mut labels: &'a mut [u8],
    slots: &[usize],
    layout: &Layout,
) -> Vec<Mutex<RowSlots<'a>>> {
    slots
        .iter()
        .map(|&rows| {
            let (chunk_pixels, rest) = std::mem::take(&mut pixels).split_at_mut(rows * layout.pixels());
            pixels = rest;
            let labelled = rows.min(labels.len()); // test data has no labels
            let (chunk_labels, rest) = std::mem::take(&mut labels).split_at_mut(labelled);
            labels = rest;
            Mutex::new(RowSlots {
                pixels: chunk_pixels,
                labels: chunk_labels,
                ids: Vec::new(),
                rows: 0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_rows::{assert_train_rows, header, load, row, train_text};

    #[test]
    fn chunks_end_after_a_newline_and_cover_everything() {
        let line = format!("{}1\n", "1,".repeat(500));
        let text = format!("{}7,7", line.repeat(2000));
        let chunks = cut_chunks(text.as_bytes(), 3);
        assert!(chunks.len() > 3, "{}", chunks.len());
        assert_eq!((chunks[0].start, chunks.last().unwrap().end), (3, text.len()));
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert_eq!(text.as_bytes()[pair[0].end - 1], b'\n');
        }
        let lines: usize = chunks.iter().map(|c| count_lines(&text.as_bytes()[c.clone()])).sum();
        assert_eq!(lines, 2001);
        assert!(cut_chunks(b"abc", 3).is_empty());
    }

    #[test]
    fn blank_lines_leave_no_gaps_and_keep_line_numbers() {
        // Blank lines between rows over many chunks: their slots are closed up, in order.
        let text = train_text(600);
        let mut lines: Vec<&str> = text.lines().collect();
        for at in (2..lines.len()).step_by(7).rev() {
            lines.insert(at, " ");
        }
        let spaced = format!("{}\n\n\n", lines.join("\n"));
        let data = load(spaced.as_bytes(), Expect::Train).unwrap();
        assert_train_rows(&data, 600);
        // A bad row after them is named by its line in the file.
        let bad_line = lines.len() - 10;
        lines[bad_line - 1] = "x";
        let e = load(lines.join("\n").as_bytes(), Expect::Train).unwrap_err();
        assert_eq!((e.line, e.column), (Some(bad_line), Some(1)), "{e}");
        // Megabytes of blank lines ask for no room they cannot fill.
        let blank = format!(
            "{}{}{}\n",
            header(DataKind::Train),
            "\n".repeat(3 << 20),
            row(Some(4), 9)
        );
        let data = load(blank.as_bytes(), Expect::Train).unwrap();
        assert_eq!((data.rows(), data.labels.clone()), (1, vec![4]));
        assert!(data.pixels.capacity() < 4 << 20, "{}", data.pixels.capacity());
    }

    #[test]
    fn many_chunks_come_back_in_order_with_progress_up_to_the_end() {
        let text = train_text(600);
        let chunks = cut_chunks(text.as_bytes(), 0).len();
        assert!(chunks > 3, "{chunks} chunks");
        let total = text.len() as u64;
        let reports = Mutex::new(Vec::new());
        let mut progress = |done, of| reports.lock().unwrap().push((done, of));
        let cancel = AtomicBool::new(false);
        let data = parse_in_memory("t.csv", text.as_bytes(), Expect::Train, &mut progress, &cancel).unwrap();
        assert_train_rows(&data, 600);
        let reports = reports.into_inner().unwrap();
        // At least one report while parsing, at most one per chunk, then the whole file.
        assert!((2..=chunks + 1).contains(&reports.len()), "{reports:?}");
        assert!(reports.iter().all(|&(done, of)| done <= total && of == total));
        assert_eq!(reports.last(), Some(&(total, total)));
    }
}
