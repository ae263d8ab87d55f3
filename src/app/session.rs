//! The session: the loaded data and model, the dev set's predictions, and the [`Version`]s the
//! views cache on.

use std::path::PathBuf;
use std::sync::Arc;

use crate::data::{Dataset, Split};
use crate::model_file::ModelInfo;
use crate::network::Mlp;

use crate::app::tabs::samples::evaluation::Evaluations;
pub use crate::app::version::Version;

/// The data, the model and what is known about them in this session.
#[derive(Default)]
pub struct Session {
    pub data: Option<TrainData>,
    pub test: Option<TestData>,
    pub model: Option<ModelState>,
    /// The open model's file (None: trained, fine-tuned or embedded). Submissions never go there.
    pub model_path: Option<PathBuf>,
    /// The newest load of each kind: an older one that ends later is dropped.
    pub newest_loads: NewestLoads,
    /// The dev set's predictions, shown and under way.
    pub evals: Evaluations,
    /// The task transposing the training images (the EMNIST toggle), while it runs.
    pub transposing: Option<u64>,
}

impl Session {
    /// The current model's and dev set's versions: predictions made for others are stale.
    pub fn eval_base(&self) -> (Option<Version>, Option<Version>) {
        (
            self.model.as_ref().map(|m| m.version),
            self.data.as_ref().map(|d| d.dev_version),
        )
    }
}

/// Labelled data for training, split into train and dev.
pub struct TrainData {
    pub name: String,
    /// The file it was read from (None: the embedded sample). Never written onto.
    pub path: Option<PathBuf>,
    /// Class names from the `classes.txt` beside the file (empty when there is none).
    pub class_names: Vec<String>,
    /// The images were transposed after loading (EMNIST: the app's toggle).
    pub transposed: bool,
    pub dataset: Arc<Dataset>,
    pub split: Arc<Split>,
    /// Changes whenever `split` does (see [`TrainData::set_split`]).
    pub dev_version: Version,
    /// The (dev size, seed) the split was made with.
    pub split_key: (usize, u64),
    /// Loading time (0 for the embedded sample).
    pub seconds: f64,
}

impl TrainData {
    /// Replaces the dev split (made with `key`), with a new version.
    pub fn set_split(&mut self, split: Arc<Split>, key: (usize, u64)) {
        self.split = split;
        self.split_key = key;
        self.dev_version = Version::next();
    }
}

/// Unlabelled data to predict for the submission.
pub struct TestData {
    pub name: String,
    /// The file it was read from. Never written onto.
    pub path: PathBuf,
    pub dataset: Arc<Dataset>,
    pub seconds: f64,
}

/// The model shown, predicted with and saved.
pub struct ModelState {
    pub model: Arc<Mlp>,
    pub info: ModelInfo,
    pub name: String,
    /// Changes whenever the model does (a save names the model it wrote only if it is still
    /// the current one).
    pub version: Version,
}

impl ModelState {
    pub fn new(model: Arc<Mlp>, info: ModelInfo, name: String) -> ModelState {
        ModelState {
            model,
            info,
            name,
            version: Version::next(),
        }
    }
}

/// The kinds of load where the newest request wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadSlot {
    TrainData,
    TestData,
    Model,
}

/// The newest load of each kind asked for or applied, by task id (ids only grow): a slow load
/// that ends after a newer one of its kind was asked for is dropped, not applied over it.
#[derive(Debug, Default)]
pub struct NewestLoads {
    train_data: u64,
    test_data: u64,
    model: u64,
}

impl NewestLoads {
    /// Claims `slot` for load `id` (when asked for, and again when its result is to be applied):
    /// false when a newer load of the kind came first, and the result must be dropped.
    pub fn claim(&mut self, slot: LoadSlot, id: u64) -> bool {
        let newest = match slot {
            LoadSlot::TrainData => &mut self.train_data,
            LoadSlot::TestData => &mut self.test_data,
            LoadSlot::Model => &mut self.model,
        };
        if id < *newest {
            return false;
        }
        *newest = id;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_load_of_each_kind_wins() {
        let mut newest = NewestLoads::default();
        // Training data asked for as load 1, then as load 3; a model as load 2.
        assert!(newest.claim(LoadSlot::TrainData, 1));
        assert!(newest.claim(LoadSlot::Model, 2));
        assert!(newest.claim(LoadSlot::TrainData, 3));
        // 3 ends first and is applied; 1 ends later and is dropped.
        assert!(newest.claim(LoadSlot::TrainData, 3));
        assert!(!newest.claim(LoadSlot::TrainData, 1));
        // Other kinds are not affected; a dropped file (claimed only when it ends) is newer.
        assert!(newest.claim(LoadSlot::Model, 2));
        assert!(newest.claim(LoadSlot::TestData, 1));
        assert!(newest.claim(LoadSlot::TrainData, 4));
        assert!(!newest.claim(LoadSlot::TrainData, 3));
    }
}
