//! "My digits": a user's own labelled drawings and pictures, kept as an ordinary Kaggle training
//! CSV (`label,pixel0..pixel783`) so the file also loads as training data anywhere. Every image is
//! what the network sees (28x28 after `classify`'s preprocessing). Saved atomically
//! ([`crate::atomic`]): a kill during a save leaves the old file or the new one, never a broken one.
//!
//! Also the picture import shared by the app and `import-images`: a `file,label` CSV naming
//! pictures relative to its own folder.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use thiserror::Error;

use crate::atomic::write_atomic;
use crate::data::{CLASSES, DataKind, Dataset, Expect, LoadError, PIXELS, load_path, write_csv};
use crate::preprocess::{load_image, preprocess_image};

/// The user's labelled digits, in the order they were added.
#[derive(Clone, Debug, PartialEq)]
pub struct MyDigits {
    data: Dataset,
}

impl Default for MyDigits {
    fn default() -> Self {
        MyDigits {
            data: Dataset::new(DataKind::Train, Vec::new(), Vec::new()),
        }
    }
}

impl MyDigits {
    /// Reads a saved file; a file that does not exist yet is an empty collection.
    pub fn load(path: &Path) -> Result<MyDigits, LoadError> {
        if !path.exists() {
            return Ok(MyDigits::default());
        }
        let data = load_path(path, Expect::Train, &mut |_, _| {}, &AtomicBool::new(false))?;
        Ok(MyDigits { data })
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
        let counts = self.data.label_counts();
        std::array::from_fn(|digit| counts[digit])
    }

    /// Adds a 28x28 image with its label (0-9).
    pub fn push(&mut self, label: u8, image: &[u8]) {
        assert!(usize::from(label) < CLASSES && image.len() == PIXELS);
        self.data.pixels.extend_from_slice(image);
        self.data.labels.push(label);
    }

    pub fn relabel(&mut self, index: usize, label: u8) {
        assert!(usize::from(label) < CLASSES);
        self.data.labels[index] = label;
    }

    pub fn remove(&mut self, index: usize) {
        self.data.labels.remove(index);
        self.data.pixels.drain(index * PIXELS..(index + 1) * PIXELS);
    }
}

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
        mine.push(1, &image(10));
        mine.push(7, &image(20));
        mine.push(4, &image(30));
        mine.relabel(1, 9);
        mine.remove(0);
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
}
