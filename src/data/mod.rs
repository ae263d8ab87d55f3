//! Loading and writing Kaggle's Digit Recognizer CSV files (`train.csv`, `test.csv`, plain or
//! gzip) and the MNIST-shaped files of other data sets (Fashion-, Kannada-, Sign Language MNIST,
//! EMNIST, larger squares).
//!
//! What is accepted: an optional UTF-8 BOM; line 1 is a header (`label` and/or `id` columns,
//! then pixel columns named `pixelN`, 0- or 1-based, or `RxC`; names case-insensitive,
//! optionally quoted) or, for header-less files, the first data row (a label first when the
//! width is a square + 1); the pixels make a square image of 8x8 to 64x64; lines end in LF or
//! CRLF, the last one optionally unterminated; blank lines are skipped; fields follow RFC 4180
//! quoting; a value is a whole number (`7`, `+7`, `7.0`, `007`), optionally padded with spaces
//! or tabs and quoted; labels are 0..=99, pixels 0..=255; ids are any non-empty text.
//!
//! How it is read (one file per step, all private to this module):
//! - `load.rs`: the entry points. A plain file (or plain bytes) goes to `in_memory.rs`; gzip
//!   (detected from the content) and pipes are streamed: the calling thread reads and
//!   decompresses chunks of whole lines while parser threads (one per core) turn chunks into
//!   rows, so decompression and parsing overlap and every core is used.
//! - `mapped.rs`: a plain file mapped into memory, read straight from the page cache.
//! - `in_memory.rs`: a whole plain file in memory, cut into chunks whose lines every core counts
//!   and then parses straight into the rows' final place in the data set (no copies).
//! - `chunk.rs`: one chunk, row by row: the fast path first, the careful path when it declines.
//! - `fast_row.rs`: the hand-tuned parser for Kaggle's own layout (plain digits and commas),
//!   which is nearly every row of a real file.
//! - `careful.rs` and `header.rs`: every other row, and line 1, split into fields by the `csv`
//!   crate (`csv::ByteRecord`) and checked field by field; they also make the error messages.
//! - `columns.rs`: what all of them share: a file's column layout, the CSV field splitter and
//!   where parsed rows go (a leaf, so that the parsers need not import each other).
//! - `huge_pages.rs`: the data set's pixel buffer, on 2 MB pages where Linux gives them.
//! - `label_check.rs`: after loading, labels that look like a typo (rare ones above 0-9) and
//!   labels outside a class count the user set, named by their lines.
//! - `write.rs`: Kaggle-format output through `csv::Writer`.
//!
//! Pixels are stored as `u8` in one contiguous row-major buffer. Every error names the file, the
//! 1-based line (the header is line 1) and, where it applies, the column (see [`LoadError`]).

mod careful;
mod chunk;
mod classes;
mod columns;
mod dataset;
mod error;
mod fast_row;
mod header;
mod huge_pages;
mod in_memory;
mod label_check;
mod load;
mod mapped;
#[cfg(test)]
mod test_rows;
mod write;

pub use classes::{CLASSES_FILE, class_caption, class_name, parse_class_list, read_sidecar, sidecar_path};
pub use dataset::{CLASSES, DataKind, Dataset, Expect, MAX_LABEL, PIXELS, SIDE, Split};
pub use error::{LoadError, LoadErrorKind};
pub use header::{MAX_SIDE, MIN_SIDE, square_side};
pub use label_check::{LINES_SHOWN, RARE_ROWS, RARE_SHARE, RareLabel, check_classes, rare_labels, rare_labels_warning};
pub use load::{load_bytes, load_path, load_reader};
pub(crate) use write::csv_to_io_error;
pub use write::write_csv;

/// The longest line a valid file can have is 4,097 fields of "255" plus commas and an id (about
/// 16 KB); a line far longer than that is refused without buffering it, so one endless line cannot
/// exhaust memory.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Parser threads: one per core (at least two: with the reading thread, both cores of a laptop
/// are busy), at most 16. The rows come out in file order whatever the count.
fn parsers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 16)
}

/// Progress of a load: bytes of the file read so far, of the file's total size.
pub type ProgressFn<'a> = dyn FnMut(u64, u64) + Send + 'a;
