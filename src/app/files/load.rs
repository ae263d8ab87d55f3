//! Loading files: a data CSV (training or test, plain or gzip) and a model, each on a job; the
//! newest load of each kind wins ([`crate::app::session::NewestLoads`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::data::{self, DataKind, Dataset, Expect, Split};
use crate::model_file::{self, ModelInfo};
use crate::network::Mlp;

use crate::app::format::{describe_model, file_name, fmt_count};
use crate::app::jobs::runner::{TaskEvent, lower_priority};
use crate::app::session::{LoadSlot, TestData, TrainData};
use crate::app::version::Version;
use crate::app::{App, FileAction, Job, Worker};

/// How a user of the app sets the class count, for the rare-label warning.
const APP_SET_COUNT: &str = "untick Classes: auto (beside the path field) and set the count";

/// What a file being loaded is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataRole {
    /// Labelled training data (File > Open training CSV, `--train`).
    Train,
    /// Unlabelled test data for the submission (File > Open test CSV, `--test`).
    Test,
    /// A dropped file: its kind decides where it goes.
    Any,
}

/// A finished data load.
pub struct LoadedData {
    pub path: PathBuf,
    pub role: DataRole,
    pub dataset: Arc<Dataset>,
    /// The dev split for training data, made with `split_key`.
    pub split: Option<Arc<Split>>,
    pub split_key: (usize, u64),
    pub seconds: f64,
    /// Names from the `classes.txt` beside the file, if any.
    pub class_names: Vec<String>,
    /// Labels that look like a typo (a rare 10 among digits), to show in the notice.
    pub label_warning: Option<String>,
}

/// What the loading jobs report. (Few and short-lived: variant sizes do not matter.)
#[allow(clippy::large_enum_variant)]
pub enum LoadEvent {
    DataLoaded {
        id: u64,
        data: LoadedData,
    },
    ModelLoaded {
        id: u64,
        path: PathBuf,
        model: Mlp,
        info: ModelInfo,
    },
    /// The training data `from`, its images transposed, split again with `split_key`.
    Transposed {
        id: u64,
        from: Arc<Dataset>,
        dataset: Arc<Dataset>,
        split: Arc<Split>,
        split_key: (usize, u64),
    },
}

impl Worker {
    /// Loads a CSV (plain or gzip); training data is split into train and dev with `split_key`.
    /// With a `class_count`, labelled data with a label outside `0..class_count` is refused;
    /// without one, rare labels above 0-9 come back as a warning.
    pub fn load_data(
        &mut self,
        path: PathBuf,
        role: DataRole,
        split_key: (usize, u64),
        class_count: Option<usize>,
    ) -> crate::app::jobs::runner::Task {
        let task = self.task(format!("Loading {}", file_name(&path)));
        let (id, cancel) = (task.id, task.cancel.clone());
        self.spawn(Job::LoadData, Some(id), move |out, fault| {
            lower_priority();
            fault.point();
            let start = Instant::now();
            let expect = match role {
                DataRole::Train => Expect::Train,
                DataRole::Test => Expect::Test,
                DataRole::Any => Expect::Any,
            };
            let mut last_sent = 0.0f32;
            let mut progress = |done: u64, total: u64| {
                if total > 0 {
                    let fraction = (done as f32 / total as f32).min(1.0);
                    if fraction - last_sent >= 0.01 {
                        last_sent = fraction;
                        out.send_soon(TaskEvent::Progress { id, fraction });
                    }
                }
            };
            let loaded = data::load_path(&path, expect, &mut progress, &cancel)
                .and_then(|dataset| match class_count {
                    Some(count) => data::check_classes(&path, &dataset, count).map(|()| (dataset, None)),
                    None => {
                        let rare = data::rare_labels(&path, &dataset);
                        let warning = (!rare.is_empty()).then(|| {
                            data::rare_labels_warning(&file_name(&path), &rare, dataset.class_count(), APP_SET_COUNT)
                        });
                        Ok((dataset, warning))
                    }
                })
                .map_err(|e| e.to_string())
                .and_then(|(dataset, warning)| Ok((dataset, data::read_sidecar(&path)?.unwrap_or_default(), warning)));
            match loaded {
                Ok((dataset, class_names, label_warning)) => {
                    let split = (dataset.kind == data::DataKind::Train)
                        .then(|| Arc::new(dataset.split(split_key.0, split_key.1)));
                    out.send(LoadEvent::DataLoaded {
                        id,
                        data: LoadedData {
                            path,
                            role,
                            dataset: Arc::new(dataset),
                            split,
                            split_key,
                            seconds: start.elapsed().as_secs_f64(),
                            class_names,
                            label_warning,
                        },
                    });
                }
                Err(message) => out.send(TaskEvent::Failed { id, message }),
            }
        });
        task
    }

    /// Transposes the images of `from` (a copy of the whole data set: seconds for EMNIST, so
    /// never on the UI thread) and splits it again with `split_key`.
    pub fn transpose(&mut self, from: Arc<Dataset>, split_key: (usize, u64)) -> crate::app::jobs::runner::Task {
        let mut task = self.task("Transposing the images".into());
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::Transpose, Some(id), move |out, fault| {
            lower_priority();
            fault.point();
            let mut dataset = (*from).clone();
            dataset.transpose_images();
            let split = Arc::new(dataset.split(split_key.0, split_key.1));
            out.send(LoadEvent::Transposed {
                id,
                from,
                dataset: Arc::new(dataset),
                split,
                split_key,
            });
        });
        task
    }

    pub fn load_model(&mut self, path: PathBuf) -> crate::app::jobs::runner::Task {
        let mut task = self.task(format!("Opening model {}", file_name(&path)));
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::LoadModel, Some(id), move |out, fault| {
            fault.point();
            match model_file::load(&path) {
                Ok((model, info)) => out.send(LoadEvent::ModelLoaded { id, path, model, info }),
                Err(e) => out.send(TaskEvent::Failed {
                    id,
                    message: e.to_string(),
                }),
            }
        });
        task
    }
}

impl App {
    pub(crate) fn load_data(&mut self, path: PathBuf, role: DataRole) {
        let key = (self.settings.config.dev_size, self.settings.config.seed);
        let task = self.jobs.runner.load_data(path, role, key, self.settings.class_count);
        // A dropped file's kind is known when it has loaded: it claims its slot then.
        match role {
            DataRole::Train => self.session.newest_loads.claim(LoadSlot::TrainData, task.id),
            DataRole::Test => self.session.newest_loads.claim(LoadSlot::TestData, task.id),
            DataRole::Any => true,
        };
        self.jobs.tasks.push(task);
    }

    pub(crate) fn load_model(&mut self, path: PathBuf) {
        let task = self.jobs.runner.load_model(path);
        self.session.newest_loads.claim(LoadSlot::Model, task.id);
        self.jobs.tasks.push(task);
    }

    /// Applies a finished load.
    pub(crate) fn loaded(&mut self, event: LoadEvent) {
        match event {
            LoadEvent::DataLoaded { id, data } => {
                self.task_done(id);
                self.data_loaded(id, data);
            }
            LoadEvent::ModelLoaded { id, path, model, info } => {
                self.task_done(id);
                // A model asked for since wins, even if this one took longer.
                if !self.session.newest_loads.claim(LoadSlot::Model, id) {
                    return;
                }
                let name = file_name(&path);
                self.messages.notice = Some(format!("Opened model {name}: {}", describe_model(&model)));
                self.set_model(model, info, name);
                self.session.model_path = Some(path);
                self.finetuned_model_replaced();
                self.messages.error = None;
            }
            LoadEvent::Transposed {
                id,
                from,
                dataset,
                split,
                split_key,
            } => {
                self.task_done(id);
                self.session.transposing = None;
                // Only onto the data it was made from (`from` is held, so the comparison cannot
                // match another data set at a reused address), and not under a run.
                if let Some(data) = &mut self.session.data
                    && Arc::ptr_eq(&data.dataset, &from)
                    && self.training.run.is_none()
                {
                    data.dataset = dataset;
                    data.set_split(split, split_key);
                    data.transposed = !data.transposed;
                    self.changed();
                }
            }
        }
    }

    /// Transposes the training images (the side panel's EMNIST toggle), or turns them back, on
    /// a job.
    pub(crate) fn transpose_data(&mut self) {
        if self.training.run.is_some() || self.session.transposing.is_some() {
            return;
        }
        let Some(data) = &self.session.data else { return };
        let task = self.jobs.runner.transpose(data.dataset.clone(), data.split_key);
        self.session.transposing = Some(task.id);
        self.jobs.tasks.push(task);
    }

    fn data_loaded(&mut self, id: u64, loaded: LoadedData) {
        let LoadedData {
            path,
            role,
            dataset,
            split,
            split_key,
            seconds,
            class_names,
            label_warning,
        } = loaded;
        let name = file_name(&path);
        let summary = format!(
            "Loaded {name}: {} rows of {} data in {seconds:.2} s",
            fmt_count(dataset.rows()),
            dataset.kind
        );
        let is_train = matches!(
            (role, dataset.kind, &split),
            (DataRole::Train | DataRole::Any, DataKind::Train, Some(_))
        );
        let slot = if is_train {
            LoadSlot::TrainData
        } else {
            LoadSlot::TestData
        };
        // Data of the kind asked for since wins, even if this load took longer.
        if !self.session.newest_loads.claim(slot, id) {
            return;
        }
        match (role, dataset.kind, split) {
            (DataRole::Train | DataRole::Any, DataKind::Train, Some(split)) => {
                self.session.data = Some(TrainData {
                    name,
                    path: Some(path),
                    class_names,
                    transposed: false,
                    dataset,
                    split,
                    dev_version: Version::next(),
                    split_key,
                    seconds,
                });
                self.changed();
            }
            _ => {
                self.session.test = Some(TestData {
                    name,
                    path,
                    dataset,
                    seconds,
                });
                if std::mem::take(&mut self.files.pending_export) {
                    self.start_file_action(FileAction::ExportSubmission);
                }
            }
        }
        let mut notice = summary;
        for problem in label_warning.into_iter().chain(self.fit_problem()) {
            notice = format!("{notice} · {problem}");
        }
        self.messages.notice = Some(notice);
        self.messages.error = None;
    }
}
