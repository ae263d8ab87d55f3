//! The desktop app (eframe/egui): load data, watch the network learn live, inspect its mistakes,
//! draw digits for it.
//!
//! [`App`] owns the state (data, model, the dev set's predictions), the [`worker::Worker`] handle
//! and one small struct per panel, each with a `ui` method. Long work runs on worker threads that
//! report over a channel; the UI thread only drains it (in `logic`) and draws.

pub mod canvas;
pub mod confusion;
pub mod files;
pub mod frame_stats;
pub mod plots;
pub mod probs;
pub mod sample_grid;
pub mod training_panel;
pub mod weights;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Color32, Key, KeyboardShortcut, Modifiers, RichText};
use serde::{Deserialize, Serialize};

use crate::cli::GuiArgs;
use crate::data::{DataKind, Dataset, Split};
use crate::embedded;
use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::train::{Progress, StopReason, TrainConfig, TrainControl, TrainEvent};

use files::{FilePicker, Pick, RfdPicker};
use training_panel::{RunState, TrainAction};
use worker::{DataRole, EvalResult, Job, Task, Worker, WorkerEvent, file_name};

/// Opens the app window.
pub fn run(args: GuiArgs) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Digit Recognizer")
            .with_app_id("digit-recognizer")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([960.0, 640.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "digit-recognizer",
        options,
        Box::new(move |cc| Ok(Box::new(App::new(cc, args, Arc::new(RfdPicker))))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the app window: {e}"))
}

/// The central view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    #[default]
    Training,
    Samples,
    Weights,
    Draw,
}

/// What persists across restarts (never the data or the weights).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub config: TrainConfig,
    pub tab: Tab,
    /// The path field's text.
    pub path: String,
    pub mistakes_only: bool,
    pub brush: f32,
    pub weight_units: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: TrainConfig::default(),
            tab: Tab::Training,
            path: String::new(),
            mistakes_only: false,
            brush: 11.0,
            weight_units: 32,
        }
    }
}

/// Labelled data for training, split into train and dev.
pub struct TrainData {
    pub name: String,
    pub dataset: Arc<Dataset>,
    pub split: Arc<Split>,
    pub split_key: (usize, u64),
    pub seconds: f64,
}

pub struct TestData {
    pub name: String,
    pub dataset: Arc<Dataset>,
    pub seconds: f64,
}

pub struct ModelState {
    pub model: Arc<Mlp>,
    pub info: ModelInfo,
    pub name: String,
}

/// A training run in progress.
struct Training {
    control: Arc<TrainControl>,
    label: String,
    /// The learning rate the run uses now (the alpha slider while it runs).
    alpha: f32,
    total_steps: usize,
    last: Option<Progress>,
    last_dev: Option<f32>,
}

/// A snapshot for tests ([`App::state_for_tests`]).
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct TestState {
    pub run_label: Option<String>,
    pub run_alpha: Option<f32>,
    pub run_total_steps: Option<usize>,
    pub paused: bool,
    pub train_threads: usize,
    pub tasks: usize,
    pub dialog_open: bool,
}

pub struct App {
    pub settings: Settings,
    worker: Worker,
    picker: Arc<dyn FilePicker>,
    data: Option<TrainData>,
    test: Option<TestData>,
    model: Option<ModelState>,
    /// Bumped whenever the model or the dev set changes.
    generation: u64,
    eval: Option<EvalResult>,
    tasks: Vec<Task>,
    training: Option<Training>,
    /// The last finished run's message.
    last_run: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    /// A dialog returned nothing: point at the path field.
    dialog_hint: bool,
    dialog_open: bool,
    /// Export was asked for before a test CSV was loaded.
    pending_export: bool,
    training_panel: training_panel::TrainingPanel,
    pub plots: plots::PlotsPanel,
    pub grid: sample_grid::SampleGrid,
    confusion: confusion::ConfusionPanel,
    weights: weights::WeightsPanel,
    pub canvas: canvas::DrawingCanvas,
    pub frame_stats: frame_stats::FrameStats,
}

impl App {
    /// Starts with the embedded sample and model, then loads the files named on the command line.
    pub fn new(cc: &eframe::CreationContext<'_>, args: GuiArgs, picker: Arc<dyn FilePicker>) -> App {
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        let mut app = App {
            worker: Worker::new(cc.egui_ctx.clone()),
            picker,
            data: None,
            test: None,
            model: None,
            generation: 0,
            eval: None,
            tasks: Vec::new(),
            training: None,
            last_run: None,
            error: None,
            notice: None,
            dialog_hint: false,
            dialog_open: false,
            pending_export: false,
            training_panel: Default::default(),
            plots: Default::default(),
            grid: Default::default(),
            confusion: Default::default(),
            weights: Default::default(),
            canvas: Default::default(),
            frame_stats: frame_stats::FrameStats::from_env(),
            settings,
        };
        app.grid.mistakes_only = app.settings.mistakes_only;
        app.canvas.brush = app.settings.brush;
        app.weights.count = app.settings.weight_units;

        let key = (app.settings.config.dev_size, app.settings.config.seed);
        match embedded::sample() {
            Ok(dataset) => {
                app.data = Some(TrainData {
                    name: embedded::SAMPLE_NAME.into(),
                    split: Arc::new(dataset.split(key.0, key.1)),
                    dataset: Arc::new(dataset),
                    split_key: key,
                    seconds: 0.0,
                });
            }
            Err(e) => app.error = Some(format!("the embedded sample is unavailable ({e}): open a training CSV")),
        }
        match embedded::model() {
            Ok((model, info)) => {
                app.model = Some(ModelState {
                    model: Arc::new(model),
                    info,
                    name: embedded::MODEL_NAME.into(),
                })
            }
            Err(e) => {
                app.notice = Some(format!(
                    "The embedded model is unavailable ({e}). Press Train to make one, or open a model file."
                ))
            }
        }
        if let Some(path) = args.train {
            app.load_data(path, DataRole::Train);
        }
        if let Some(path) = args.test {
            app.load_data(path, DataRole::Test);
        }
        if let Some(path) = args.model {
            let task = app.worker.load_model(path);
            app.tasks.push(task);
        }
        app.changed();
        app
    }

    // ---- accessors (the tests read the app through these) ----

    pub fn is_training(&self) -> bool {
        self.training.is_some()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    pub fn train_data(&self) -> Option<&TrainData> {
        self.data.as_ref()
    }

    pub fn test_data(&self) -> Option<&TestData> {
        self.test.as_ref()
    }

    pub fn model(&self) -> Option<&ModelState> {
        self.model.as_ref()
    }

    pub fn evaluation(&self) -> Option<&EvalResult> {
        self.eval.as_ref()
    }

    pub fn busy(&self) -> bool {
        !self.tasks.is_empty() || self.training.is_some()
    }

    pub fn last_run(&self) -> Option<&str> {
        self.last_run.as_deref()
    }

    /// Tests only: what the app holds about the current run and its workers.
    #[doc(hidden)]
    pub fn state_for_tests(&self) -> TestState {
        TestState {
            run_label: self.training.as_ref().map(|t| t.label.clone()),
            run_alpha: self.training.as_ref().map(|t| t.alpha),
            run_total_steps: self.training.as_ref().map(|t| t.total_steps),
            paused: self.training.as_ref().is_some_and(|t| t.control.is_paused()),
            train_threads: self.worker.train_threads(),
            tasks: self.tasks.len(),
            dialog_open: self.dialog_open,
        }
    }

    /// Tests only: the next background job of kind `job` panics (see [`worker::Fault`]).
    #[doc(hidden)]
    pub fn inject_panic(&self, job: Job) {
        self.worker.inject_panic(job);
    }

    /// Replaces the model (as Open model does).
    pub fn set_model(&mut self, model: Mlp, info: ModelInfo, name: String) {
        self.model = Some(ModelState {
            model: Arc::new(model),
            info,
            name,
        });
        self.changed();
    }

    // ---- actions ----

    /// The model or the dev set changed: predict the dev set again.
    fn changed(&mut self) {
        self.generation += 1;
        self.eval = None;
        if let (Some(model), Some(data)) = (&self.model, &self.data)
            && data.split.dev.rows() > 0
        {
            self.worker
                .evaluate(self.generation, model.model.clone(), data.split.clone());
        }
    }

    fn load_data(&mut self, path: PathBuf, role: DataRole) {
        let key = (self.settings.config.dev_size, self.settings.config.seed);
        let task = self.worker.load_data(path, role, key);
        self.tasks.push(task);
    }

    fn pick(&mut self, what: Pick) {
        if self.dialog_open {
            return;
        }
        if what == Pick::SaveModel && self.model.is_none() {
            self.error = Some("There is no model to save: train one first.".into());
            return;
        }
        if what == Pick::ExportSubmission {
            if self.model.is_none() {
                self.error = Some("There is no model to predict with: train or open one first.".into());
                return;
            }
            if self.test.is_none() {
                self.pending_export = true;
                self.notice = Some("Export: choose the test CSV to predict first.".into());
                self.dialog_open = true;
                self.worker.pick(self.picker.clone(), Pick::TestCsv);
                return;
            }
        }
        self.dialog_open = true;
        self.worker.pick(self.picker.clone(), what);
    }

    /// Does `what` with a chosen or typed path.
    fn with_path(&mut self, what: Pick, path: PathBuf) {
        match what {
            Pick::TrainCsv => self.load_data(path, DataRole::Train),
            Pick::TestCsv => self.load_data(path, DataRole::Test),
            Pick::OpenModel => {
                let task = self.worker.load_model(path);
                self.tasks.push(task);
            }
            Pick::SaveModel => match &self.model {
                Some(m) => {
                    let task = self.worker.save_model(path, m.model.clone(), m.info.clone());
                    self.tasks.push(task);
                }
                None => self.error = Some("There is no model to save: train one first.".into()),
            },
            Pick::ExportSubmission => match (&self.model, &self.test) {
                (Some(m), Some(t)) => {
                    let task = self.worker.export(path, m.model.clone(), t.dataset.clone());
                    self.tasks.push(task);
                }
                (None, _) => self.error = Some("There is no model to predict with: train or open one first.".into()),
                (_, None) => {
                    self.error = Some(
                        "Load a test CSV first (File > Open test CSV, or type its path and press Load test).".into(),
                    )
                }
            },
        }
    }

    fn train_action(&mut self, action: TrainAction) {
        match action {
            TrainAction::Train => self.start_training(),
            TrainAction::Pause => {
                if let Some(t) = &self.training {
                    t.control.pause();
                }
            }
            TrainAction::Resume => {
                if let Some(t) = &self.training {
                    t.control.resume();
                }
            }
            TrainAction::Stop => {
                if let Some(t) = &self.training {
                    t.control.cancel();
                }
            }
            TrainAction::Alpha(alpha) => {
                if let Some(t) = &mut self.training {
                    t.control.set_alpha(alpha);
                    t.alpha = alpha;
                }
            }
            TrainAction::Reset => self.notice = Some("Settings reset to the preset.".into()),
        }
    }

    fn start_training(&mut self) {
        if self.training.is_some() {
            return;
        }
        let Some(data) = &self.data else {
            self.error = Some("Load training data first.".into());
            return;
        };
        let config = self.settings.config.clone();
        if let Err(e) = config.validate() {
            self.error = Some(e);
            return;
        }
        let key = (config.dev_size, config.seed);
        let split = (data.split_key == key).then(|| data.split.clone());
        let control = Arc::new(TrainControl::new());
        let label = config.label();
        self.plots.start_run(label.clone());
        let alpha = config.alpha;
        self.worker.train(config, data.dataset.clone(), split, control.clone());
        self.training = Some(Training {
            control,
            label,
            alpha,
            total_steps: 0,
            last: None,
            last_dev: None,
        });
        self.error = None;
        self.last_run = None;
    }

    fn task_done(&mut self, id: u64) {
        self.tasks.retain(|t| t.id != id);
    }

    fn handle(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Progress { id, fraction } => {
                if let Some(t) = self.tasks.iter_mut().find(|t| t.id == id) {
                    t.progress = Some(fraction);
                }
            }
            WorkerEvent::DataLoaded {
                id,
                path,
                role,
                dataset,
                split,
                split_key,
                seconds,
            } => {
                self.task_done(id);
                let name = file_name(&path);
                let summary = format!(
                    "Loaded {name}: {} rows of {} data in {seconds:.2} s",
                    fmt_count(dataset.rows()),
                    dataset.kind
                );
                match (role, dataset.kind, split) {
                    (DataRole::Train | DataRole::Any, DataKind::Train, Some(split)) => {
                        self.data = Some(TrainData {
                            name,
                            dataset,
                            split,
                            split_key,
                            seconds,
                        });
                        self.changed();
                    }
                    _ => {
                        self.test = Some(TestData { name, dataset, seconds });
                        if std::mem::take(&mut self.pending_export) {
                            self.pick(Pick::ExportSubmission);
                        }
                    }
                }
                self.notice = Some(summary);
                self.error = None;
            }
            WorkerEvent::ModelLoaded { id, path, model, info } => {
                self.task_done(id);
                let name = file_name(&path);
                self.notice = Some(format!("Opened model {name}: {}", sizes(&model)));
                self.set_model(model, info, name);
                self.error = None;
            }
            WorkerEvent::ModelSaved { id, path } => {
                self.task_done(id);
                self.notice = Some(format!("Saved the model to {}", path.display()));
                if let Some(m) = &mut self.model {
                    m.name = file_name(&path);
                }
            }
            WorkerEvent::Exported { id, path, rows } => {
                self.task_done(id);
                self.notice = Some(format!("Wrote {} predictions to {}", fmt_count(rows), path.display()));
            }
            WorkerEvent::Failed { id, message } => {
                let cancelled = self
                    .tasks
                    .iter()
                    .find(|t| t.id == id)
                    .is_some_and(|t| t.cancel.load(std::sync::atomic::Ordering::Relaxed));
                self.task_done(id);
                if cancelled {
                    self.notice = Some(format!("Cancelled: {message}"));
                } else {
                    self.error = Some(message);
                }
                self.pending_export = false;
            }
            WorkerEvent::Evaluated { generation, eval } => {
                if generation == self.generation {
                    self.eval = Some(eval);
                }
            }
            WorkerEvent::TrainSplit { dataset, key, split } => {
                // Only for the data the run started with: other data may have been loaded since.
                if let Some(data) = &mut self.data
                    && Arc::ptr_eq(&data.dataset, &dataset)
                {
                    data.split = split;
                    data.split_key = key;
                    self.changed();
                }
            }
            WorkerEvent::Crashed { job, task, message } => {
                let mut text = format!("Internal error while {}: {message}.", job.doing());
                match job {
                    Job::Train => {
                        self.training = None;
                        let run = "the run crashed · the previous model stays".to_string();
                        self.last_run = Some(run.clone());
                        self.notice = Some(run);
                        text.push_str(" The run was abandoned; the data and model from before are kept.");
                    }
                    Job::Pick => {
                        self.dialog_open = false;
                        self.pending_export = false;
                    }
                    Job::Evaluate => text.push_str(" The dev predictions are not shown."),
                    Job::LoadData | Job::LoadModel | Job::SaveModel | Job::Export => {
                        self.pending_export = false;
                        text.push_str(" The data and model from before are kept.");
                    }
                }
                if let Some(id) = task {
                    self.task_done(id);
                }
                self.error = Some(text);
            }
            WorkerEvent::Train(event) => {
                let Some(training) = &mut self.training else { return };
                match event {
                    TrainEvent::Started { total_steps, .. } => training.total_steps = total_steps,
                    TrainEvent::Progress(p) => {
                        self.plots.push(&p);
                        if p.dev_accuracy.is_some() {
                            training.last_dev = p.dev_accuracy;
                        }
                        training.last = Some(p);
                    }
                    TrainEvent::Finished(_) => {}
                }
            }
            WorkerEvent::TrainDone { model, report, config } => {
                self.training = None;
                let mut message = report.message();
                if let Some(dev) = report.dev_accuracy {
                    message.push_str(&format!(" · dev accuracy {:.2}%", dev * 100.0));
                }
                if report.steps > 0 {
                    let info = ModelInfo {
                        preset: Some(config.preset.to_string()),
                        dev_accuracy: report.dev_accuracy,
                        config: Some(config.clone()),
                    };
                    self.set_model(model, info, format!("trained: {}", config.label()));
                } else {
                    message.push_str(" · the previous model stays");
                }
                if let StopReason::Diverged { .. } = report.stop {
                    self.error = Some(format!("{message} (the last good model is kept)"));
                }
                // One line per run on stderr, for whoever started the app from a terminal (and
                // for timing the app against the command line).
                eprintln!(
                    "training: {message} ({}) [{:.3} s]",
                    config.label(),
                    report.train_seconds
                );
                self.last_run = Some(message.clone());
                self.notice = Some(message);
            }
            WorkerEvent::Picked { what, path } => {
                self.dialog_open = false;
                match path {
                    Some(path) => {
                        self.dialog_hint = false;
                        self.settings.path = path.display().to_string();
                        self.with_path(what, path);
                    }
                    None => {
                        self.pending_export = false;
                        self.dialog_hint = true;
                        self.notice = Some(format!(
                            "{}: no file chosen. If no dialog appeared, this system has no file dialog \
                             (xdg-desktop-portal or zenity): type the path in the Path field on the left, \
                             or drop the file onto the window.",
                            what.title()
                        ));
                    }
                }
            }
        }
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        for file in dropped {
            let path = file.path().to_path_buf();
            if path.as_os_str().is_empty() {
                self.error = Some("The dropped file has no path: use File > Open instead.".into());
                continue;
            }
            let is_model = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
            if is_model {
                self.with_path(Pick::OpenModel, path);
            } else {
                self.load_data(path, DataRole::Any);
            }
        }
    }

    fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        let shortcuts = [
            (Key::O, Pick::TrainCsv),
            (Key::T, Pick::TestCsv),
            (Key::M, Pick::OpenModel),
            (Key::S, Pick::SaveModel),
            (Key::E, Pick::ExportSubmission),
        ];
        for (key, what) in shortcuts {
            if ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, key))) {
                self.pick(what);
            }
        }
    }

    // ---- panels ----

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                let items = [
                    (Pick::TrainCsv, "Ctrl+O"),
                    (Pick::TestCsv, "Ctrl+T"),
                    (Pick::OpenModel, "Ctrl+M"),
                    (Pick::SaveModel, "Ctrl+S"),
                    (Pick::ExportSubmission, "Ctrl+E"),
                ];
                for (what, shortcut) in items {
                    if ui
                        .add(egui::Button::new(format!("{}...", what.title())).shortcut_text(shortcut))
                        .clicked()
                    {
                        self.pick(what);
                        ui.close();
                    }
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.separator();
            for (tab, name) in [
                (Tab::Training, "Training"),
                (Tab::Samples, "Samples"),
                (Tab::Weights, "Weights"),
                (Tab::Draw, "Draw"),
            ] {
                ui.selectable_value(&mut self.settings.tab, tab, name);
            }
        });
    }

    fn side_panel(&mut self, ui: &mut egui::Ui) {
        ui.heading("Data and model");
        match &self.data {
            Some(d) => {
                ui.label(format!("Training: {}", d.name));
                ui.weak(format!(
                    "{} rows · {} train / {} dev{}",
                    fmt_count(d.dataset.rows()),
                    fmt_count(d.split.train.rows()),
                    fmt_count(d.split.dev.rows()),
                    if d.seconds > 0.0 {
                        format!(" · loaded in {:.2} s", d.seconds)
                    } else {
                        String::new()
                    }
                ));
            }
            None => {
                ui.label("Training: none");
            }
        }
        match &self.test {
            Some(t) => {
                ui.label(format!("Test: {}", t.name));
                ui.weak(format!(
                    "{} rows · loaded in {:.2} s",
                    fmt_count(t.dataset.rows()),
                    t.seconds
                ));
            }
            None => {
                ui.weak("Test: none (needed for the submission)");
            }
        }
        match &self.model {
            Some(m) => {
                ui.label(format!("Model: {}", m.name));
                let mut line = sizes(&m.model);
                if let Some(eval) = &self.eval {
                    line.push_str(&format!(" · dev {:.2}%", eval.evaluation.accuracy * 100.0));
                }
                ui.weak(line);
            }
            None => {
                ui.label("Model: none");
            }
        }

        ui.add_space(6.0);
        egui::CollapsingHeader::new("Open or save by path")
            .default_open(self.dialog_hint)
            .open(self.dialog_hint.then_some(true))
            .show(ui, |ui| {
                if self.dialog_hint {
                    ui.colored_label(
                        Color32::from_rgb(230, 180, 60),
                        "No file dialog opened: type a path here instead (or drop a file on the window).",
                    );
                }
                ui.horizontal(|ui| {
                    let label = ui.label("Path");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.settings.path)
                            .hint_text("/path/to/train.csv.gz")
                            .desired_width(f32::INFINITY),
                    )
                    .labelled_by(label.id);
                });
                let path = self.settings.path.trim().to_string();
                let mut chosen = None;
                ui.add_enabled_ui(!path.is_empty(), |ui| {
                    ui.horizontal_wrapped(|ui| {
                        for (what, text) in [
                            (Pick::TrainCsv, "Load training"),
                            (Pick::TestCsv, "Load test"),
                            (Pick::OpenModel, "Load model"),
                            (Pick::SaveModel, "Save model"),
                            (Pick::ExportSubmission, "Export submission"),
                        ] {
                            if ui.button(text).clicked() {
                                chosen = Some(what);
                            }
                        }
                    });
                });
                if let Some(what) = chosen {
                    self.dialog_hint = false;
                    self.with_path(what, expand_home(&path));
                }
            });

        ui.separator();
        ui.heading("Training");
        let run = RunState {
            training: self.training.is_some(),
            paused: self.training.as_ref().is_some_and(|t| t.control.is_paused()),
            has_data: self.data.is_some(),
            train_rows: self.data.as_ref().map_or(0, |d| d.dataset.rows()),
        };
        if let Some(action) = self.training_panel.ui(ui, &mut self.settings.config, run) {
            self.train_action(action);
        }
        if let Some(message) = &self.last_run {
            ui.add_space(4.0);
            ui.label(message);
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(t) = &self.training {
                let paused = t.control.is_paused();
                match &t.last {
                    Some(p) => {
                        let seconds = p.elapsed.as_secs_f64().max(1e-6);
                        let rate = p.step as f64 / seconds;
                        let left = (p.total_steps - p.step) as f64 / rate.max(1e-9);
                        ui.label(format!(
                            "{} step {}/{} · epoch {:.2} · loss {:.4} · train {:.1}% · dev {} · {:.1} steps/s · {} left",
                            if paused { "Paused:" } else { "Training:" },
                            p.step,
                            p.total_steps,
                            p.epoch,
                            p.loss,
                            p.train_accuracy * 100.0,
                            t.last_dev.map_or("-".into(), |d| format!("{:.1}%", d * 100.0)),
                            rate,
                            fmt_duration(left)
                        ));
                        ui.add(
                            egui::ProgressBar::new(p.step as f32 / p.total_steps.max(1) as f32)
                                .desired_width(180.0)
                                .show_percentage(),
                        );
                    }
                    None => {
                        ui.spinner();
                        ui.label(format!("Starting {} ({} steps)...", t.label, t.total_steps));
                    }
                }
            } else if let Some(notice) = &self.notice {
                ui.label(notice);
            } else {
                ui.weak("Ready.");
            }
            if let Some(summary) = &self.frame_stats.summary
                && self.frame_stats.enabled
            {
                ui.separator();
                ui.weak(summary);
            }
        });
        let mut cancel = None;
        for task in &self.tasks {
            ui.horizontal(|ui| {
                ui.label(&task.label);
                let bar = match task.progress {
                    Some(f) => egui::ProgressBar::new(f).show_percentage(),
                    None => egui::ProgressBar::new(0.0).animate(true),
                };
                ui.add(bar.desired_width(240.0));
                ui.weak(format!("{:.1} s", task.started.elapsed().as_secs_f32()));
                if task.cancellable && ui.button("Cancel").clicked() {
                    cancel = Some(task.id);
                }
            });
        }
        if let Some(id) = cancel
            && let Some(task) = self.tasks.iter().find(|t| t.id == id)
        {
            task.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if !self.tasks.is_empty() {
            // Keep the elapsed time ticking.
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(250));
        }
    }

    fn error_banner(&mut self, ui: &mut egui::Ui) {
        let Some(error) = self.error.clone() else { return };
        egui::Frame::new()
            .fill(Color32::from_rgb(90, 25, 25))
            .inner_margin(8.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("Error").color(Color32::from_rgb(255, 120, 100)).strong());
                    ui.label(RichText::new(&error).color(Color32::from_rgb(255, 210, 200)));
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.button("Dismiss").clicked() {
                            self.error = None;
                        }
                    });
                });
            });
        ui.add_space(6.0);
    }

    fn central(&mut self, ui: &mut egui::Ui) {
        self.error_banner(ui);
        let model = self.model.as_ref().map(|m| (m.model.as_ref(), self.generation));
        match self.settings.tab {
            Tab::Training => self.plots.ui(ui),
            Tab::Samples => {
                let Some(data) = &self.data else {
                    ui.label("No training data: open a training CSV.");
                    return;
                };
                if data.split.dev.rows() == 0 {
                    ui.label("The dev set is empty: set a dev size and train.");
                    return;
                }
                ui.columns(2, |columns| {
                    let dev_key = Arc::as_ptr(&data.split) as u64;
                    self.grid
                        .ui(&mut columns[0], &data.split.dev, dev_key, self.eval.as_ref());
                    match &self.eval {
                        Some(eval) => {
                            if let Some(cell) = self.confusion.ui(&mut columns[1], &eval.evaluation, self.grid.filter) {
                                self.grid.filter = if self.grid.filter == Some(cell) {
                                    None
                                } else {
                                    Some(cell)
                                };
                                self.grid.mistakes_only = false;
                            }
                        }
                        None if self.model.is_none() => {
                            columns[1].label("No model: train one or open a model file.");
                        }
                        None => {
                            columns[1].spinner();
                        }
                    }
                });
            }
            Tab::Weights => self.weights.ui(ui, model),
            Tab::Draw => self.canvas.ui(ui, model),
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        for event in self.worker.drain() {
            self.handle(event);
        }
        self.handle_dropped_files(ctx);
        self.handle_shortcuts(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let mut label = self.training.as_ref().map(|t| t.label.clone());
        if label.is_none() && self.frame_stats.always {
            label = Some("idle".into());
        }
        self.frame_stats.frame(frame.info().cpu_usage, label.as_deref());
        if self.frame_stats.enabled && label.is_some() {
            ui.ctx().request_repaint();
        }
        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("controls")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side_panel(ui));
            });
        // No panel fill: the window is cleared to the same colour (see `clear_color`), which saves
        // a full-window blend per frame under software rendering.
        egui::CentralPanel::no_frame()
            .frame(egui::Frame::NONE.inner_margin(8.0))
            .show(ui, |ui| self.central(ui));
        let hovering_files = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
        if hovering_files {
            let rect = ui.ctx().content_rect();
            ui.ctx()
                .layer_painter(egui::LayerId::new(
                    egui::Order::Foreground,
                    egui::Id::unique("drop_overlay"),
                ))
                .rect_filled(rect, 0.0, Color32::from_black_alpha(160));
            ui.ctx()
                .layer_painter(egui::LayerId::new(
                    egui::Order::Foreground,
                    egui::Id::unique("drop_overlay_text"),
                ))
                .text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    "Drop a CSV (train or test, .gz too) or a .safetensors model",
                    egui::FontId::proportional(24.0),
                    Color32::WHITE,
                );
        }
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.mistakes_only = self.grid.mistakes_only;
        self.settings.brush = self.canvas.brush;
        self.settings.weight_units = self.weights.count;
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Some(t) = &self.training {
            t.control.cancel();
        }
        for task in &self.tasks {
            task.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

fn sizes(model: &Mlp) -> String {
    let sizes: Vec<String> = model.sizes().iter().map(usize::to_string).collect();
    format!(
        "{} ({} parameters)",
        sizes.join("-"),
        fmt_count(model.parameter_count())
    )
}

/// 42000 -> "42,000"
pub fn fmt_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    let s = seconds.round() as u64;
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `~/x` -> `$HOME/x`, so typed paths work like in a shell.
fn expand_home(path: &str) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return Path::new(&home).join(rest);
    }
    PathBuf::from(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_and_durations() {
        assert_eq!(super::fmt_count(42000), "42,000");
        assert_eq!(super::fmt_count(999), "999");
        assert_eq!(super::fmt_duration(75.0), "1m 15s");
    }

    #[test]
    fn old_settings_still_load() {
        let s: super::Settings = serde_json::from_str(r#"{"tab":"Draw","unknown":1}"#).unwrap();
        assert_eq!(s.tab, super::Tab::Draw);
        assert_eq!(s.brush, 11.0);
    }
}
