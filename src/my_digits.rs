//! "My digits": a user's own labelled drawings and pictures, kept as an ordinary Kaggle training
//! CSV (`label,pixel0..pixel783`) so the file also loads as training data anywhere. Every image is
//! what the network sees (28x28 after `classify`'s preprocessing). Saved atomically
//! ([`crate::atomic`]): a kill during a save leaves the old file or the new one, never a broken one.
//!
//! Also the picture import shared by the app and `import-images`: a `file,label` CSV naming
//! pictures relative to its own folder.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use thiserror::Error;

use crate::atomic::{TEMP_MARK, write_atomic};
use crate::data::{CLASSES, DataKind, Dataset, Expect, LoadError, PIXELS, SIDE, load_path, write_csv};
use crate::preprocess::{load_image, preprocess_image};

/// The user's labelled digits, in the order they were added. Every digit is a 28x28 image with
/// a label 0-9: the constructors and edits check it and refuse anything else.
#[derive(Clone, Debug, PartialEq)]
pub struct MyDigits {
    data: Dataset,
}

/// What is wrong with one digit, or with an edit.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DigitProblem {
    #[error("the label {0} is not a digit 0-9")]
    Label(u8),
    #[error("the image has {0} pixels, not 784 (28x28)")]
    Size(usize),
    /// 0-based index; shown 1-based, as the gallery numbers them.
    #[error("there is no digit #{}", .0 + 1)]
    NoSuchDigit(usize),
}

/// Why a file cannot be read as My digits. Nothing of it was added anywhere.
#[derive(Debug, Error)]
pub enum MyDigitsError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{file}: the rows have no labels (a test file?): My digits need a label 0-9 on every row")]
    NoLabels { file: String },
    #[error("{file}: line 1: the images are {side}x{side} pixels; My digits are 28x28 digits like MNIST's")]
    ImageSize { file: String, side: usize },
    /// `line` is None when the row's line could not be found again (the file changed).
    #[error("{file}: {}: {problem}{}", place(*.line, *.row), more(*.others))]
    Row {
        file: String,
        line: Option<usize>,
        /// 0-based data row.
        row: usize,
        problem: DigitProblem,
        /// How many other rows have a problem too.
        others: usize,
    },
}

fn place(line: Option<usize>, row: usize) -> String {
    match line {
        Some(line) => format!("line {line}"),
        None => format!("data row {}", row + 1),
    }
}

fn more(others: usize) -> String {
    match others {
        0 => String::new(),
        1 => " (and 1 more row like it)".into(),
        n => format!(" (and {n} more rows like it)"),
    }
}

impl Default for MyDigits {
    fn default() -> Self {
        MyDigits {
            data: Dataset::new(DataKind::Train, Vec::new(), Vec::new()),
        }
    }
}

impl MyDigits {
    /// Reads a saved file; a file that does not exist yet is an empty collection. Every row is
    /// checked (see [`MyDigits::read`]).
    pub fn load(path: &Path) -> Result<MyDigits, MyDigitsError> {
        if !path.exists() {
            return Ok(MyDigits::default());
        }
        MyDigits::read(path)
    }

    /// Reads a training CSV (plain or gzip) as My digits: labelled 28x28 rows with labels 0-9.
    /// The first problem is an error naming the file and the line; nothing is kept then.
    pub fn read(path: &Path) -> Result<MyDigits, MyDigitsError> {
        let data = load_path(path, Expect::Train, &mut |_, _| {}, &AtomicBool::new(false))?;
        MyDigits::from_dataset(&path.display().to_string(), Some(path), data)
    }

    /// Checks every row of `data` (read from the file named `name`; `source` lets the error
    /// find a bad row's line).
    pub fn from_dataset(name: &str, source: Option<&Path>, data: Dataset) -> Result<MyDigits, MyDigitsError> {
        let file = name.to_owned();
        if data.kind != DataKind::Train || data.labels.len() != data.rows() {
            return Err(MyDigitsError::NoLabels { file });
        }
        if data.side != SIDE {
            return Err(MyDigitsError::ImageSize { file, side: data.side });
        }
        let mut bad = data
            .labels
            .iter()
            .enumerate()
            .filter(|&(_, &l)| usize::from(l) >= CLASSES);
        if let Some((row, &label)) = bad.next() {
            let others = bad.count();
            let line = source.and_then(|path| line_of_row(path, data.rows(), row));
            return Err(MyDigitsError::Row {
                file,
                line,
                row,
                problem: DigitProblem::Label(label),
                others,
            });
        }
        Ok(MyDigits {
            data: Dataset {
                ids: Vec::new(),
                ..data
            },
        })
    }

    /// Writes the collection atomically (creating the folder if needed).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        write_atomic(path, |w| write_csv(&self.data, w))
    }

    /// The digits as training data.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    pub fn len(&self) -> usize {
        self.data.rows()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn image(&self, index: usize) -> &[u8] {
        self.data.image(index)
    }

    pub fn label(&self, index: usize) -> u8 {
        self.data.labels[index]
    }

    /// How many there are of each digit.
    pub fn counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &label in &self.data.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// Adds a 28x28 image with its label (0-9); anything else is refused and nothing changes.
    pub fn push(&mut self, label: u8, image: &[u8]) -> Result<(), DigitProblem> {
        check_digit(label, image)?;
        self.data.pixels.extend_from_slice(image);
        self.data.labels.push(label);
        Ok(())
    }

    /// Adds all of `other` (already checked: it is a `MyDigits`).
    pub fn append(&mut self, other: &MyDigits) {
        self.data.pixels.extend_from_slice(&other.data.pixels);
        self.data.labels.extend_from_slice(&other.data.labels);
    }

    pub fn relabel(&mut self, index: usize, label: u8) -> Result<(), DigitProblem> {
        if usize::from(label) >= CLASSES {
            return Err(DigitProblem::Label(label));
        }
        let slot = self
            .data
            .labels
            .get_mut(index)
            .ok_or(DigitProblem::NoSuchDigit(index))?;
        *slot = label;
        Ok(())
    }

    pub fn remove(&mut self, index: usize) -> Result<(), DigitProblem> {
        if index >= self.len() {
            return Err(DigitProblem::NoSuchDigit(index));
        }
        self.data.labels.remove(index);
        self.data.pixels.drain(index * PIXELS..(index + 1) * PIXELS);
        Ok(())
    }
}

fn check_digit(label: u8, image: &[u8]) -> Result<(), DigitProblem> {
    if usize::from(label) >= CLASSES {
        return Err(DigitProblem::Label(label));
    }
    if image.len() != PIXELS {
        return Err(DigitProblem::Size(image.len()));
    }
    Ok(())
}

/// The 1-based line of data row `row` of a file that loaded as `rows` rows: the loader keeps no
/// line numbers, so the file is read again (only when there is an error to report). Blank lines
/// (spaces and tabs only) are skipped as the loader skips them; line 1 is a header when the file
/// has one more non-blank line than rows.
fn line_of_row(path: &Path, rows: usize, row: usize) -> Option<usize> {
    let non_blank_lines = |path: &Path| -> Option<Box<dyn Iterator<Item = usize>>> {
        let mut file = File::open(path).ok()?;
        let mut magic = [0u8; 2];
        let gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
        let file = File::open(path).ok()?;
        let reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let lines = reader.split(b'\n').map_while(Result::ok).enumerate();
        Some(Box::new(lines.filter_map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            (!line.iter().all(|b| matches!(b, b' ' | b'\t'))).then_some(i + 1)
        })))
    };
    let header = non_blank_lines(path)?.count().checked_sub(rows)?;
    if header > 1 {
        return None;
    }
    non_blank_lines(path)?.nth(header + row)
}

/// The file that keeps a data folder's My digits to one app window at a time, named beside
/// them; it holds the holder's process id, for the message the others show.
pub const LOCK_FILE: &str = "my_digits.lock";

/// An advisory lock on a data folder's My digits: while one window holds it, other windows only
/// read them. The operating system releases it when the holder's process ends in any way (a
/// crash or a kill too), so a stale lock never locks the user out.
#[derive(Debug)]
pub struct FolderLock {
    // Held for its lock: dropping the file releases it.
    _file: File,
}

/// Why a data folder's My digits could not be locked.
#[derive(Debug, Error)]
pub enum LockError {
    #[error("Another Digit Recognizer window{} is using My digits in {}", holder(*.pid), .dir.display())]
    Held { dir: PathBuf, pid: Option<u32> },
    #[error("cannot lock {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn holder(pid: Option<u32>) -> String {
    pid.map_or(String::new(), |pid| format!(" (process {pid})"))
}

impl FolderLock {
    /// Takes the lock on `dir`'s My digits (creating the folder if needed), or says who holds
    /// it. Once held, no one else writes `my_digits.csv` there, so temporary files of earlier
    /// saves (left by a killed process, see [`crate::atomic`]) are removed.
    pub fn acquire(dir: &Path) -> Result<FolderLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_error = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    pid,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(e)),
        }
        // The pid is only for messages: failing to write it changes nothing else.
        let _ = file.set_len(0).and_then(|()| write!(file, "{}", std::process::id()));
        remove_stale_temp_files(dir);
        Ok(FolderLock { _file: file })
    }
}

/// Removes `.my_digits.csv.tmp-*` files: with the lock held, they are leftovers of a killed save.
fn remove_stale_temp_files(dir: &Path) {
    let prefix = format!(".{MY_DIGITS_FILE}{TEMP_MARK}");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The file My digits live in, inside the app's data folder.
pub const MY_DIGITS_FILE: &str = "my_digits.csv";

/// Why a `file,label` list could not be imported: the list's name, the 1-based line and why.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{0}: {1}")]
    Io(String, io::Error),
    #[error("{file}: line {line}: {reason}")]
    Line { file: String, line: usize, reason: String },
}

/// One imported picture: where it came from and what it became.
#[derive(Clone, Debug)]
pub struct ImportedImage {
    pub path: PathBuf,
    pub label: u8,
    pub image: [u8; PIXELS],
}

/// Reads a `file,label` list (header `file,label`; paths relative to the list's folder unless
/// absolute) and preprocesses each picture as `classify` does. The first bad line (a missing or
/// unreadable picture, a label that is not 0-9, a wrong number of fields) is an error naming it.
pub fn import_labelled_images(list: &Path) -> Result<Vec<ImportedImage>, ImportError> {
    let name = list.display().to_string();
    let folder = list.parent().unwrap_or(Path::new(""));
    let text = std::fs::read(list).map_err(|e| ImportError::Io(name.clone(), e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_slice());
    let line_error = |line: usize, reason: String| ImportError::Line {
        file: name.clone(),
        line,
        reason,
    };
    let mut images = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 1;
        let record = record.map_err(|e| line_error(line, e.to_string()))?;
        let fields: Vec<&str> = record.iter().map(str::trim).collect();
        if line == 1 {
            let header: Vec<String> = fields
                .iter()
                .map(|f| f.trim_start_matches('\u{feff}').to_lowercase())
                .collect();
            if header != ["file", "label"] {
                return Err(line_error(
                    line,
                    format!("the header must be `file,label`, found `{}`", fields.join(",")),
                ));
            }
            continue;
        }
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        let [file, label] = fields[..] else {
            return Err(line_error(
                line,
                format!("expected 2 fields (file,label), found {}", fields.len()),
            ));
        };
        let label = label
            .parse::<u8>()
            .ok()
            .filter(|&l| usize::from(l) < CLASSES)
            .ok_or_else(|| line_error(line, format!("the label {label:?} is not a digit 0-9")))?;
        if file.is_empty() {
            return Err(line_error(line, "the file name is empty".into()));
        }
        let path = folder.join(file);
        let image = load_image(&path)
            .and_then(|picture| preprocess_image(&picture))
            .map_err(|e| line_error(line, format!("{file}: {e}")))?;
        images.push(ImportedImage { path, label, image });
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(value: u8) -> Vec<u8> {
        let mut image = vec![0; PIXELS];
        image[300..310].fill(value);
        image
    }

    #[test]
    fn add_relabel_remove_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("my_digits.csv");
        assert!(MyDigits::load(&path).unwrap().is_empty(), "no file yet: empty");
        let mut mine = MyDigits::default();
        mine.push(1, &image(10)).unwrap();
        mine.push(7, &image(20)).unwrap();
        mine.push(4, &image(30)).unwrap();
        mine.relabel(1, 9).unwrap();
        mine.remove(0).unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!((mine.label(0), mine.image(0)), (9, &image(20)[..]));
        assert_eq!(mine.counts()[4], 1);
        mine.save(&path).unwrap();
        assert_eq!(MyDigits::load(&path).unwrap(), mine);
        // The file is ordinary Kaggle training data.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("label,pixel0,pixel1,"));
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn import_names_the_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("labels.csv");
        let mut picture = image::GrayImage::new(40, 40);
        for y in 5..35 {
            picture.put_pixel(20, y, image::Luma([255]));
        }
        picture.save(dir.path().join("one.png")).unwrap();
        std::fs::write(&list, "file,label\none.png,1\n\n").unwrap();
        let images = import_labelled_images(&list).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].label, 1);
        assert!(images[0].image.iter().any(|&p| p > 0));
        for (content, expected) in [
            ("file,label\none.png,1\nmissing.png,2\n", "line 3: missing.png"),
            (
                "file,label\none.png,12\n",
                "line 2: the label \"12\" is not a digit 0-9",
            ),
            ("file,label\none.png\n", "line 2: expected 2 fields"),
            ("name,digit\none.png,1\n", "line 1: the header must be `file,label`"),
        ] {
            std::fs::write(&list, content).unwrap();
            let message = import_labelled_images(&list).unwrap_err().to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    /// A training CSV's text: a header for `side`x`side` images, then one row per label.
    fn csv(side: usize, labels: &[u8]) -> String {
        let pixels = side * side;
        let mut text = String::from("label");
        for p in 0..pixels {
            text.push_str(&format!(",pixel{p}"));
        }
        text.push('\n');
        for &label in labels {
            text.push_str(&label.to_string());
            text.push_str(&",0".repeat(pixels));
            text.push('\n');
        }
        text
    }

    fn some_digits() -> MyDigits {
        let mut mine = MyDigits::default();
        mine.push(3, &image(10)).unwrap();
        mine.push(5, &image(20)).unwrap();
        mine
    }

    #[test]
    fn every_bad_row_is_an_error_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sign.csv");
        // Sign Language MNIST: labels up to 24; the first bad one is on line 4.
        std::fs::write(&path, csv(SIDE, &[1, 2, 24, 3, 11])).unwrap();
        let error = MyDigits::read(&path).unwrap_err();
        assert!(
            matches!(
                error,
                MyDigitsError::Row {
                    line: Some(4),
                    row: 2,
                    problem: DigitProblem::Label(24),
                    others: 1,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{}: line 4: the label 24 is not a digit 0-9", path.display())),
            "{message}"
        );
        assert!(message.contains("1 more row"), "{message}");
        // The same when it is the saved collection.
        assert!(matches!(
            MyDigits::load(&path),
            Err(MyDigitsError::Row { line: Some(4), .. })
        ));

        // Blank lines and no header: the line is still the file's own line.
        let rows = csv(SIDE, &[1, 2, 10]);
        let body = rows.split_once('\n').unwrap().1.replace("\n2,", "\n\n \t\n2,");
        std::fs::write(&path, &body).unwrap();
        let error = MyDigits::read(&path).unwrap_err();
        assert!(
            matches!(error, MyDigitsError::Row { line: Some(5), .. }),
            "{error:?} in {body:.40}"
        );

        // Gzip too.
        let gz = dir.path().join("letters.csv.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(csv(SIDE, &[0, 0, 0, 0, 0, 26]).as_bytes()).unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        let error = MyDigits::read(&gz).unwrap_err();
        assert!(matches!(error, MyDigitsError::Row { line: Some(7), .. }), "{error:?}");

        // 32x32 images, and a test file without labels.
        std::fs::write(&path, csv(32, &[1, 2])).unwrap();
        let message = MyDigits::read(&path).unwrap_err().to_string();
        assert!(message.contains("line 1: the images are 32x32 pixels"), "{message}");
        let test_file = csv(SIDE, &[1]).replace("label,", "").replace("\n1,", "\n");
        std::fs::write(&path, test_file).unwrap();
        let message = MyDigits::read(&path).unwrap_err().to_string();
        assert!(message.starts_with(&path.display().to_string()), "{message}");
        let unlabelled = Dataset::new(DataKind::Test, vec![0; PIXELS], Vec::new());
        assert!(matches!(
            MyDigits::from_dataset("t.csv", None, unlabelled),
            Err(MyDigitsError::NoLabels { .. })
        ));
        // A broken row is the loader's error, with its line.
        std::fs::write(&path, format!("{}3,oops{}\n", csv(SIDE, &[1]), ",0".repeat(PIXELS - 1))).unwrap();
        let message = MyDigits::read(&path).unwrap_err().to_string();
        assert!(message.contains("line 3, column 2"), "{message}");
    }

    #[test]
    fn bad_edits_are_refused_and_change_nothing() {
        let mut mine = some_digits();
        let before = mine.clone();
        assert_eq!(mine.push(10, &image(1)), Err(DigitProblem::Label(10)));
        assert_eq!(mine.push(24, &image(1)), Err(DigitProblem::Label(24)));
        assert_eq!(mine.push(1, &[0; 1024]), Err(DigitProblem::Size(1024)));
        assert_eq!(mine.push(1, &[]), Err(DigitProblem::Size(0)));
        assert_eq!(mine.relabel(0, 12), Err(DigitProblem::Label(12)));
        assert_eq!(mine.relabel(2, 1), Err(DigitProblem::NoSuchDigit(2)));
        assert_eq!(mine.remove(2), Err(DigitProblem::NoSuchDigit(2)));
        assert_eq!(DigitProblem::NoSuchDigit(2).to_string(), "there is no digit #3");
        assert_eq!(mine, before);
        // Appending a checked collection adds all of it.
        mine.append(&before);
        assert_eq!((mine.len(), mine.label(2), mine.image(3)), (4, 3, &image(20)[..]));
    }

    #[test]
    fn one_lock_per_folder_released_with_its_holder_and_stale_temp_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        let lock = FolderLock::acquire(&folder).unwrap();
        match FolderLock::acquire(&folder) {
            Err(LockError::Held { pid, dir }) => {
                assert_eq!((pid, dir), (Some(std::process::id()), folder.clone()));
            }
            other => panic!("a second holder: {other:?}"),
        }
        let message = FolderLock::acquire(&folder).unwrap_err().to_string();
        assert!(
            message.contains("Another Digit Recognizer window (process"),
            "{message}"
        );
        drop(lock);
        // A killed save's temporary file, and another file's, which stays.
        let stale = folder.join(format!(".{MY_DIGITS_FILE}{TEMP_MARK}abc123"));
        let other = folder.join(format!(".notes.csv{TEMP_MARK}abc123"));
        std::fs::write(&stale, "label,pix").unwrap();
        std::fs::write(&other, "x").unwrap();
        let _lock = FolderLock::acquire(&folder).expect("released with its holder");
        assert!(!stale.exists() && other.exists());
    }
}
