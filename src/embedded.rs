//! Defaults compiled into the binary so everything works with no files: a sample of real Kaggle
//! training rows and a model pretrained with the `best` preset.
//!
//! Regenerate both from the full data with
//! `cargo run --release -- make-assets --data ../shared/data/train.csv.gz`:
//! the model is trained on the full file minus 5,000 held-out rows (seed 0), and those held-out
//! rows become the sample, so the embedded model's accuracy on the sample is honest.

use crate::data::{Dataset, Expect, LoadError, load_bytes};
use crate::model_file::{self, ModelError, ModelInfo};
use crate::network::Mlp;

/// gzip CSV in Kaggle's train format.
pub const SAMPLE_TRAIN_GZ: &[u8] = include_bytes!("../assets/sample_train.csv.gz");
/// safetensors model trained with the `best` preset.
pub const MODEL: &[u8] = include_bytes!("../assets/model.safetensors");

/// Name shown for the embedded sample in messages.
pub const SAMPLE_NAME: &str = "embedded sample (5,000 rows of train.csv)";
/// Name shown for the embedded model in messages.
pub const MODEL_NAME: &str = "embedded model";
/// Rows held out from the embedded model's training and shipped as the sample.
pub const SAMPLE_ROWS: usize = 5000;

pub fn sample() -> Result<Dataset, LoadError> {
    load_bytes(SAMPLE_NAME, SAMPLE_TRAIN_GZ, Expect::Train)
}

pub fn model() -> Result<(Mlp, ModelInfo), ModelError> {
    model_file::from_bytes(MODEL_NAME, MODEL)
}
