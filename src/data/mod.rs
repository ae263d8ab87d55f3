//! Loading and writing Kaggle's Digit Recognizer CSV files (`train.csv`, `test.csv`, plain or
//! gzip).
//!
//! What is accepted: an optional UTF-8 BOM; line 1 is a Kaggle header (`label,pixel0,...` or
//! `pixel0,...`, names case-insensitive, optionally quoted) or, for header-less files, the first
//! data row; lines end in LF or CRLF, the last one optionally unterminated; blank lines are
//! skipped; fields follow RFC 4180 quoting; a value is a whole number (`7`, `+7`, `7.0`, `007`),
//! optionally padded with spaces or tabs and quoted; labels are 0..=9, pixels 0..=255.
//!
//! How it is read (one file per step, all private to this module):
//! - `load.rs`: the entry points. The calling thread reads (and decompresses: gzip is detected
//!   from the content) chunks of whole lines while parser threads (one per core) turn chunks
//!   into rows, so decompression and parsing overlap and every core is used.
//! - `chunk.rs`: one chunk, row by row: the fast path first, the careful path when it declines.
//! - `fast_row.rs`: the hand-tuned parser for Kaggle's own layout (plain digits and commas),
//!   which is nearly every row of a real file.
//! - `careful.rs` and `header.rs`: every other row, and line 1, split into fields by the `csv`
//!   crate (`csv::ByteRecord`) and checked field by field; they also make the error messages.
//! - `write.rs`: Kaggle-format output through `csv::Writer`.
//!
//! Pixels are stored as `u8` in one contiguous row-major buffer. Every error names the file, the
//! 1-based line (the header is line 1) and, where it applies, the column (see [`LoadError`]).

mod careful;
mod chunk;
mod dataset;
mod error;
mod fast_row;
mod header;
mod load;
#[cfg(test)]
mod test_rows;
mod write;

pub use dataset::{CLASSES, DataKind, Dataset, Expect, PIXELS, SIDE, Split};
pub use error::{LoadError, LoadErrorKind};
pub use load::{ProgressFn, load_bytes, load_path, load_reader};
pub(crate) use write::csv_to_io_error;
pub use write::write_csv;

/// The longest line a valid file can have is 785 fields of "255" plus commas (about 3 KB); a
/// line far longer than that is refused without buffering it, so one endless line cannot
/// exhaust memory.
const MAX_LINE_BYTES: usize = 64 * 1024;
