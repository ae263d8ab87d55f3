//! The in-memory data set: images as `u8` pixels, labels, and the notebook's train/dev split.

use std::fmt;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Pixels per image (28 x 28).
pub const PIXELS: usize = 784;
/// Side of an image in pixels.
pub const SIDE: usize = 28;
/// Number of classes (digits 0-9).
pub const CLASSES: usize = 10;

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
    /// Row-major pixels, `(rows, 784)` values 0..=255.
    pub pixels: Vec<u8>,
    /// `(rows)` labels 0..=9 for [`DataKind::Train`]; empty for [`DataKind::Test`].
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.pixels.len() / PIXELS
    }

    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// Row `row`'s `(784)` pixels.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 50 labelled rows whose first pixel is the row number and whose label is `row % 10`.
    fn numbered(rows: usize) -> Dataset {
        let mut pixels = vec![0u8; rows * PIXELS];
        for row in 0..rows {
            pixels[row * PIXELS] = row as u8;
        }
        Dataset {
            kind: DataKind::Train,
            pixels,
            labels: (0..rows).map(|r| (r % 10) as u8).collect(),
        }
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
