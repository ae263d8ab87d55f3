//! Training a model from scratch as the command line and the app both do: a fresh model for the
//! config and the data, trained, with the [`ModelInfo`] its file keeps. The one place a trained
//! model's info is made.

use crate::data::{Dataset, Split};
use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::train::{self, Checkpoint, TrainConfig, TrainControl, TrainEvent, TrainReport};

/// What a model learns from, and what its file says about it.
#[derive(Clone, Copy, Debug)]
pub struct TrainingData<'a> {
    /// The loaded data: its image size and class count shape the model, its labels are recorded.
    pub dataset: &'a Dataset,
    /// `dataset` split into training and dev rows.
    pub split: &'a Split,
    /// The classes' names, in label order (empty: none known).
    pub class_names: &'a [String],
    /// The images were transposed after loading (EMNIST).
    pub transposed: bool,
}

/// A trained model, its file's info and the run's report.
#[derive(Debug)]
pub struct TrainedModel {
    /// The trained parameters (the last good ones if the run diverged; the initial ones if it
    /// was cancelled before its first step).
    pub model: Mlp,
    pub info: ModelInfo,
    pub report: TrainReport,
}

/// Trains a fresh model for `config` on `data.split`, reporting through `on_event` and steered by
/// `control` (see [`train::train`]). `threads` is the thread count this run uses: the info records
/// `config` as given, whose `threads` may be 0 (one per core); the model is the same either way.
pub fn train_model(
    data: TrainingData<'_>,
    config: &TrainConfig,
    threads: usize,
    control: &TrainControl,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> TrainedModel {
    let mut model = train::init_model_for(config, data.dataset);
    let run = TrainConfig {
        threads,
        ..config.clone()
    };
    let report = train::train(&mut model, &run, data.split, control, on_event);
    TrainedModel::new(model, report, config, &data)
}

/// Continues the run of `checkpoint` with `config` (its settings or changed ones, see
/// [`Checkpoint::check_resume`]) on `data.split`, as [`train_model`] trains a fresh one. An error
/// names what differs between the checkpoint's run and this one, before any step.
pub fn train_model_from(
    data: TrainingData<'_>,
    checkpoint: &Checkpoint,
    config: &TrainConfig,
    threads: usize,
    control: &TrainControl,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainedModel, String> {
    let mut model = (*checkpoint.model).clone();
    let run = TrainConfig {
        threads,
        ..config.clone()
    };
    let report = train::train_from(checkpoint, &mut model, &run, data.split, control, on_event)?;
    Ok(TrainedModel::new(model, report, config, &data))
}

impl TrainedModel {
    /// The model with its file's info: `config` as given (not the thread count the run used) and
    /// what the data holds.
    fn new(model: Mlp, report: TrainReport, config: &TrainConfig, data: &TrainingData<'_>) -> TrainedModel {
        let info = ModelInfo::trained(
            config,
            report.dev_accuracy,
            data.dataset,
            data.class_names.to_vec(),
            data.transposed,
        );
        TrainedModel { model, info, report }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Preset;

    #[test]
    fn the_info_records_the_config_as_given_and_the_data() {
        let dataset = crate::embedded::sample().unwrap().select(&(0..300).collect::<Vec<_>>());
        let split = dataset.split(100, 0);
        let config = TrainConfig {
            length: crate::train::Length::Iterations(3),
            ..TrainConfig::preset(Preset::Seed)
        };
        let names: Vec<String> = (0..10).map(|d| format!("digit {d}")).collect();
        let data = TrainingData {
            dataset: &dataset,
            split: &split,
            class_names: &names,
            transposed: true,
        };
        let mut events = 0;
        let trained = train_model(data, &config, 1, &TrainControl::new(), &mut |_| events += 1);
        assert_eq!(trained.report.steps, 3);
        assert!(events > 0);
        assert_eq!(
            trained.info.config.as_ref(),
            Some(&config),
            "threads 0 as given, not the run's 1"
        );
        assert_eq!(
            trained.info.preset.as_deref(),
            Some("custom"),
            "the effective preset: 3 steps is not seed's"
        );
        assert_eq!(trained.info.dev_accuracy, trained.report.dev_accuracy);
        assert!(trained.info.dev_accuracy.is_some());
        assert_eq!(trained.info.labels, dataset.labels_present());
        assert_eq!(trained.info.class_names, names);
        assert!(trained.info.transposed);
        assert_eq!(trained.model.classes(), dataset.class_count());
        // The same model as training by hand with the run's settings.
        let mut by_hand = train::init_model_for(&config, &dataset);
        let run = TrainConfig { threads: 1, ..config };
        train::train(&mut by_hand, &run, &split, &TrainControl::new(), &mut |_| {});
        assert_eq!(trained.model, by_hand);
    }
}
