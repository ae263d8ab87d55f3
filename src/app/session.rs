//! What the app holds: the persisted settings, the loaded data and model, and the run in progress.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Split};
use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::train::{Progress, Snapshot, TrainConfig, TrainControl};

use crate::app::tabs::samples::confusion::ConfusionColor;
use crate::app::tabs::training::plots::PlotScale;

/// The central view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    #[default]
    Training,
    Samples,
    Weights,
    Draw,
    MyDigits,
}

impl Tab {
    /// In the order of the tab bar.
    pub const ALL: [Tab; 5] = [Tab::Training, Tab::Samples, Tab::Weights, Tab::Draw, Tab::MyDigits];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Training => "Training",
            Tab::Samples => "Samples",
            Tab::Weights => "Weights",
            Tab::Draw => "Draw",
            Tab::MyDigits => "My digits",
        }
    }
}

/// The colours of the app: light, dark, or as the system's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    /// In the order of the View menu.
    pub const ALL: [ThemeChoice; 3] = [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark];

    pub fn title(self) -> &'static str {
        match self {
            ThemeChoice::System => "Follow the system",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        }
    }

    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// What persists across restarts (never the data or the weights).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub config: TrainConfig,
    pub tab: Tab,
    /// The path field's text.
    pub path: String,
    /// Classes of the training data: `None` takes them from the labels (warning about a rare
    /// label above 0-9); a count refuses files with labels outside `0..count` on load.
    pub class_count: Option<usize>,
    pub mistakes_only: bool,
    pub brush: f32,
    pub weight_units: usize,
    /// The learning curves' y axes.
    pub plot_scale: PlotScale,
    /// What colours the confusion matrix.
    pub confusion_color: ConfusionColor,
    pub theme: ThemeChoice,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: TrainConfig::default(),
            tab: Tab::Training,
            path: String::new(),
            class_count: None,
            mistakes_only: false,
            brush: 11.0,
            weight_units: 32,
            plot_scale: PlotScale::default(),
            confusion_color: ConfusionColor::default(),
            theme: ThemeChoice::default(),
        }
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
    /// The (dev size, seed) the split was made with.
    pub split_key: (usize, u64),
    /// Loading time (0 for the embedded sample).
    pub seconds: f64,
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

/// A training run in progress.
pub struct TrainingRun {
    pub control: Arc<TrainControl>,
    /// Runs are numbered from 1 in each session ("run #3").
    pub number: usize,
    /// The settings it started with (a value typed into a field commits when Train is clicked,
    /// so this can differ from the settings of the frame before).
    pub config: TrainConfig,
    /// The learning rate the run uses now (the alpha slider while it runs).
    pub alpha: f32,
    pub total_steps: usize,
    pub last: Option<Progress>,
    pub last_dev: Option<f32>,
    /// The latest snapshot of its parameters: what the views show while it trains.
    pub live: Option<Snapshot>,
    /// What its model file will say about the data it learns from (labels, class names,
    /// orientation), taken at the start: other data may be loaded before it ends.
    pub learnt_from: ModelInfo,
}

impl TrainingRun {
    pub fn is_paused(&self) -> bool {
        self.control.is_paused()
    }

    /// The run's name, from its config ("784-10-10 gd full a=0.1").
    pub fn label(&self) -> String {
        self.config.label()
    }

    /// "run #3, step 1,200 of 6,420" for the latest snapshot (or "run #3, starting").
    pub fn caption(&self) -> String {
        match &self.live {
            Some(s) => format!(
                "run #{}, step {} of {}",
                self.number,
                crate::app::format::fmt_count(s.step),
                crate::app::format::fmt_count(s.total_steps)
            ),
            None => format!("run #{}, starting", self.number),
        }
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

    #[test]
    fn old_settings_still_load() {
        let s: Settings = serde_json::from_str(r#"{"tab":"Draw","unknown":1}"#).unwrap();
        assert_eq!(s.tab, Tab::Draw);
        assert_eq!(s.brush, 11.0);
        assert_eq!(s.plot_scale, PlotScale::Accuracy);
        assert_eq!(s.theme, ThemeChoice::System);
    }

    #[test]
    fn view_settings_round_trip() {
        let s = Settings {
            plot_scale: PlotScale::ErrorLog,
            confusion_color: ConfusionColor::RowShare,
            theme: ThemeChoice::Light,
            ..Settings::default()
        };
        let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.plot_scale, PlotScale::ErrorLog);
        assert_eq!(back.confusion_color, ConfusionColor::RowShare);
        assert_eq!(back.theme, ThemeChoice::Light);
    }

    #[test]
    fn settings_saved_with_the_old_custom_preset_still_load() {
        let s: Settings = serde_json::from_str(r#"{"config":{"preset":"custom","alpha":0.05}}"#).unwrap();
        assert_eq!(s.config.preset, crate::train::Preset::Custom);
        assert_eq!(s.config.alpha, 0.05);
    }
}
