//! The in-memory data set: images as `u8` pixels, labels, and the notebook's train/dev split.

use std::fmt;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Pixels per image of the Digit Recognizer (28 x 28), the default everywhere.
pub const PIXELS: usize = 784;
/// Side of a Digit Recognizer image in pixels.
pub const SIDE: usize = 28;
/// Number of classes of the Digit Recognizer (digits 0-9); other data sets may have more.
pub const CLASSES: usize = 10;
/// The largest label accepted: two digits cover every MNIST-shaped data set (EMNIST's 62
/// classes are the most), and a pixel column misread as labels cannot make 256 outputs.
pub const MAX_LABEL: u8 = 99;

/// Whether a file holds labelled training rows or unlabelled test rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    /// A label column (Kaggle's `train.csv`, and labelled test files of other data sets).
    Train,
    /// No label column (Kaggle's `test.csv`).
    Test,
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

impl Expect {
    /// The kind required, if `found` is not acceptable.
    pub(super) fn refuses(self, found: DataKind) -> Option<DataKind> {
        match (self, found) {
            (Expect::Train, DataKind::Test) => Some(DataKind::Train),
            (Expect::Test, DataKind::Train) => Some(DataKind::Test),
            _ => None,
        }
    }
}

/// Images (and labels, for training data) held in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub kind: DataKind,
    /// Side of the square images in pixels ([`SIDE`] for the Digit Recognizer).
    pub side: usize,
    /// Row-major pixels, `(rows, side * side)` values 0..=255.
    pub pixels: Vec<u8>,
    /// `(rows)` labels 0..=[`MAX_LABEL`] for [`DataKind::Train`]; empty for [`DataKind::Test`].
    pub labels: Vec<u8>,
    /// The file's `id` column, `(rows)` values as written, when it has one; else empty.
    pub ids: Vec<String>,
}

impl Dataset {
    /// Digit Recognizer-shaped data (28x28, no ids).
    pub fn new(kind: DataKind, pixels: Vec<u8>, labels: Vec<u8>) -> Dataset {
        Dataset {
            kind,
            side: SIDE,
            pixels,
            labels,
            ids: Vec::new(),
        }
    }

    /// Pixels per image, `side * side`.
    pub fn image_pixels(&self) -> usize {
        (self.side * self.side).max(1)
    }

    pub fn rows(&self) -> usize {
        self.pixels.len() / self.image_pixels()
    }

    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// Row `row`'s `(side * side)` pixels.
    pub fn image(&self, row: usize) -> &[u8] {
        let n = self.image_pixels();
        &self.pixels[row * n..(row + 1) * n]
    }

    pub fn label(&self, row: usize) -> Option<u8> {
        self.labels.get(row).copied()
    }

    /// Count of each label `0..=max(9, largest label)` (all zero for test data).
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_count()];
        for &label in &self.labels {
            counts[label as usize] += 1;
        }
        counts
    }

    /// Outputs a network needs for these labels: `0..=9` (digits), or `0..=largest label` when
    /// that is more. A label not present (Sign Language MNIST's 9) is an empty class.
    pub fn class_count(&self) -> usize {
        let largest = self.labels.iter().copied().max().unwrap_or(0);
        CLASSES.max(usize::from(largest) + 1)
    }

    /// The labels that occur, ascending.
    pub fn labels_present(&self) -> Vec<u8> {
        let mut seen = [false; 256];
        for &label in &self.labels {
            seen[usize::from(label)] = true;
        }
        (0..=255u8).filter(|&l| seen[usize::from(l)]).collect()
    }

    /// Transposes every image in place (EMNIST stores its images transposed).
    pub fn transpose_images(&mut self) {
        let side = self.side;
        let n = self.image_pixels();
        let mut scratch = vec![0u8; n];
        for image in self.pixels.chunks_exact_mut(n) {
            for y in 0..side {
                for x in 0..side {
                    scratch[x * side + y] = image[y * side + x];
                }
            }
            image.copy_from_slice(&scratch);
        }
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_pixels());
        let mut labels = Vec::with_capacity(if self.labels.is_empty() { 0 } else { indices.len() });
        let mut ids = Vec::with_capacity(if self.ids.is_empty() { 0 } else { indices.len() });
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            if let Some(label) = self.label(i) {
                labels.push(label);
            }
            if let Some(id) = self.ids.get(i) {
                ids.push(id.clone());
            }
        }
        Dataset {
            kind: self.kind,
            side: self.side,
            pixels,
            labels,
            ids,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 50 labelled rows whose first pixel is the row number and whose label is `row % 10`.
    fn numbered(rows: usize) -> Dataset {
        let mut pixels = vec![0u8; rows * PIXELS];
        for row in 0..rows {
            pixels[row * PIXELS] = row as u8;
        }
        Dataset::new(DataKind::Train, pixels, (0..rows).map(|r| (r % 10) as u8).collect())
    }

    #[test]
    fn classes_cover_digits_or_the_largest_label() {
        let mut data = numbered(5);
        assert_eq!((data.class_count(), data.labels_present()), (10, vec![0, 1, 2, 3, 4]));
        data.labels = vec![0, 24, 10, 24, 8];
        assert_eq!((data.class_count(), data.labels_present()), (25, vec![0, 8, 10, 24]));
        assert_eq!(data.label_counts()[24], 2);
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        let mut data = numbered(2);
        data.pixels[1] = 9; // row 0, x 1, y 0
        data.transpose_images();
        assert_eq!((data.image(0)[SIDE], data.image(0)[1]), (9, 0));
        assert_eq!(data.image(1)[0], 1);
        data.transpose_images();
        let mut original = numbered(2);
        original.pixels[1] = 9;
        assert_eq!(data, original);
    }

    #[test]
    fn select_keeps_rows_and_labels_together() {
        let data = numbered(20);
        let picked = data.select(&[7, 3, 7]);
        assert_eq!(picked.rows(), 3);
        assert_eq!(picked.labels, vec![7, 3, 7]);
        assert_eq!([picked.image(0)[0], picked.image(1)[0], picked.image(2)[0]], [7, 3, 7]);
    }

    #[test]
    fn split_is_seeded_and_complete() {
        let data = numbered(50);
        let a = data.split(10, 7);
        let b = data.split(10, 7);
        assert_eq!(a.dev, b.dev);
        assert_ne!(a.dev, data.split(10, 8).dev, "another seed, another split");
        assert_eq!((a.dev.rows(), a.train.rows()), (10, 40));
        let c = data.split(0, 7);
        assert_eq!((c.dev.rows(), c.train.rows()), (0, 50));
        assert_eq!(data.split(99, 7).dev.rows(), 50, "dev size is clamped");
        // Every row lands in exactly one of the two sets, with its own label.
        let mut seen: Vec<u8> = a
            .train
            .pixels
            .iter()
            .chain(&a.dev.pixels)
            .step_by(PIXELS)
            .copied()
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..50u8).collect::<Vec<_>>());
        for set in [&a.train, &a.dev] {
            for row in 0..set.rows() {
                assert_eq!(set.label(row), Some(set.image(row)[0] % 10));
            }
        }
    }

    #[test]
    fn expect_refuses_the_other_kind_only() {
        assert_eq!(Expect::Train.refuses(DataKind::Test), Some(DataKind::Train));
        assert_eq!(Expect::Test.refuses(DataKind::Train), Some(DataKind::Test));
        assert_eq!(Expect::Train.refuses(DataKind::Train), None);
        assert_eq!(Expect::Any.refuses(DataKind::Test), None);
    }
}
