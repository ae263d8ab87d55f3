//! What the Math tab runs the step on: a dev sample, the drawing, or a mini-batch of m dev rows;
//! made into the notebook's X (784 values in [0, 1] per example) and labels.

use std::hash::{Hash, Hasher};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::data::{PIXELS, Split};
use crate::network::{Mlp, argmax};

/// The largest mini-batch the tab takes (the m slider).
pub const MAX_BATCH: usize = 256;

/// Where X comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    /// One dev row, picked by index or clicked in Samples.
    #[default]
    DevSample,
    /// The Draw tab's drawing, as the network sees it (28x28).
    Drawing,
    /// m dev rows from the picked index on.
    Batch,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::DevSample, Source::Drawing, Source::Batch];

    pub fn title(self) -> &'static str {
        match self {
            Source::DevSample => "A dev sample",
            Source::Drawing => "My drawing",
            Source::Batch => "A mini-batch",
        }
    }
}

/// The input's settings (persisted with the tab).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InputSettings {
    pub source: Source,
    /// The dev row (the first of the batch).
    pub dev_row: usize,
    /// m, the mini-batch's size.
    pub batch: usize,
    /// The digit the drawing is meant to be (its Y); None: the model's reading.
    pub drawing_label: Option<u8>,
}

impl Default for InputSettings {
    fn default() -> Self {
        InputSettings {
            source: Source::DevSample,
            dev_row: 0,
            batch: 32,
            drawing_label: None,
        }
    }
}

/// X and Y, ready for the trace.
#[derive(Debug)]
pub struct Prepared {
    /// Identifies the input (source, rows or pixels, labels): the trace's cache key.
    pub key: u64,
    /// `(m, inputs)`: rows are examples (the network's layout; the tab shows Xᵀ).
    pub x: Array2<f32>,
    /// `(m)` labels.
    pub labels: Vec<u8>,
    /// `(m, inputs)` the pixels as bytes, for the images.
    pub pixels: Vec<u8>,
    /// The image side (28 for digits).
    pub side: usize,
    /// "dev row 17", "dev rows 0..32", "your drawing".
    pub caption: String,
    /// The first dev row, when the input comes from the dev set.
    pub first_row: Option<usize>,
}

impl Prepared {
    pub fn m(&self) -> usize {
        self.labels.len()
    }

    pub fn image(&self, example: usize) -> &[u8] {
        let n = self.x.ncols();
        &self.pixels[example * n..(example + 1) * n]
    }
}

/// What the tab has to choose its input from.
pub struct Sources<'a> {
    /// The dev set and a key that changes with it.
    pub dev: Option<(&'a Split, u64)>,
    /// The drawing as the network sees it, if there is one.
    pub drawing: Option<&'a [u8; PIXELS]>,
}

/// A cheap identity of the input `settings` choose (no pixels copied): when it changes, the
/// input is prepared again. The drawing's label may come from the model (`model_key`).
pub fn input_key(settings: &InputSettings, sources: &Sources<'_>, model_key: u64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    settings.source.hash(&mut h);
    match settings.source {
        Source::DevSample => (sources.dev.map(|d| d.1), settings.dev_row).hash(&mut h),
        Source::Batch => (sources.dev.map(|d| d.1), settings.dev_row, settings.batch).hash(&mut h),
        Source::Drawing => {
            sources.drawing.map(|d| d.as_slice()).hash(&mut h);
            settings.drawing_label.hash(&mut h);
            if settings.drawing_label.is_none() {
                model_key.hash(&mut h);
            }
        }
    }
    h.finish()
}

/// Makes X and Y for `model`, or says why there is none.
pub fn prepare(settings: &InputSettings, sources: &Sources<'_>, model: &Mlp, key: u64) -> Result<Prepared, String> {
    let inputs = model.inputs();
    let classes = model.classes();
    let (pixels, labels, side, caption, first_row) = match settings.source {
        Source::Drawing => {
            let Some(drawing) = sources.drawing else {
                return Err("No drawing yet: draw a digit on the Draw tab.".into());
            };
            if inputs != PIXELS {
                return Err(format!(
                    "The drawing is 28x28 = 784 pixels; this model reads {inputs} inputs."
                ));
            }
            let label = match settings.drawing_label {
                Some(label) => label,
                None => argmax(model.predict_proba(drawing).row(0).as_slice().unwrap_or(&[])) as u8,
            };
            (drawing.to_vec(), vec![label], 28, "your drawing".to_owned(), None)
        }
        Source::DevSample | Source::Batch => {
            let Some((split, _)) = sources.dev else {
                return Err("No dev set: open a training CSV (the embedded sample has one).".into());
            };
            let dev = &split.dev;
            if dev.rows() == 0 {
                return Err("The dev set is empty: set a dev size above 0.".into());
            }
            if dev.image_pixels() != inputs {
                return Err(format!(
                    "The dev images have {} pixels; this model reads {inputs} inputs.",
                    dev.image_pixels()
                ));
            }
            let m = match settings.source {
                Source::Batch => settings.batch.clamp(1, MAX_BATCH).min(dev.rows()),
                _ => 1,
            };
            // A batch asked for near the end of the dev set ends at its last row, so it still
            // has m rows.
            let first = settings.dev_row.min(dev.rows() - m);
            let rows = first..first + m;
            let pixels = dev.pixels[rows.start * inputs..rows.end * inputs].to_vec();
            let labels: Vec<u8> = rows.clone().map(|r| dev.label(r).unwrap_or(0)).collect();
            let caption = if m == 1 {
                format!("dev row {first}")
            } else {
                format!("dev rows {}..{} (m = {m})", rows.start, rows.end)
            };
            (pixels, labels, dev.side, caption, Some(first))
        }
    };
    if let Some(&bad) = labels.iter().find(|&&l| usize::from(l) >= classes) {
        return Err(format!("Label {bad} is outside this model's {classes} classes."));
    }
    let m = labels.len();
    // X: (m, inputs) in [0, 1], as training scales it.
    let x = Array2::from_shape_fn((m, inputs), |(r, c)| f32::from(pixels[r * inputs + c]) / 255.0);
    Ok(Prepared {
        key,
        x,
        labels,
        pixels,
        side,
        caption,
        first_row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataKind, Dataset};
    use crate::network::Init;

    /// A batch asked for at the last dev rows still has m rows: it ends at the last one.
    #[test]
    fn a_batch_near_the_end_keeps_m_rows() {
        let rows = 40;
        let data = Dataset::new(DataKind::Train, vec![0; rows * PIXELS], vec![3; rows]);
        let split = data.split(rows, 1);
        let sources = Sources {
            dev: Some((&split, 1)),
            drawing: None,
        };
        let model = Mlp::new(&[PIXELS, 4, 10], Init::He, 1);
        let settings = InputSettings {
            source: Source::Batch,
            dev_row: rows - 2,
            batch: 32,
            drawing_label: None,
        };
        let prepared = prepare(&settings, &sources, &model, 0).unwrap();
        assert_eq!((prepared.m(), prepared.first_row), (32, Some(rows - 32)));
        let too_many = InputSettings { batch: 100, ..settings };
        let prepared = prepare(&too_many, &sources, &model, 0).unwrap();
        assert_eq!((prepared.m(), prepared.first_row), (rows, Some(0)));
        let one = InputSettings {
            source: Source::DevSample,
            ..settings
        };
        assert_eq!(prepare(&one, &sources, &model, 0).unwrap().first_row, Some(rows - 2));
    }
}
