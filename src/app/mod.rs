//! The desktop app (eframe/egui): load data, watch the network learn live, inspect its mistakes,
//! draw digits for it.
//!
//! [`App`] owns the state ([`state`]: data, model, the dev set's predictions, the run), the
//! [`worker::Worker`] handle and one small struct or function per panel (`menu`, `side_panel`,
//! `status_bar`, ...), each with a `ui` function that returns what the user asked for; `App`
//! carries it out. The file actions come from one table ([`file_actions`]). Long work runs on
//! worker threads that report over a channel; the UI thread drains it (in `logic`, see
//! `events.rs`) and draws.
//!
//! The app depends on the core (data, network, train, ...) and never on the command line: the
//! command line hands it [`StartupFiles`].

pub mod events;
pub mod files;
pub mod format;
pub mod jobs;
pub mod session;
pub mod tabs;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod window;

// The paths the integration tests and the command line name.
pub use jobs::runner as worker;
pub use tabs::samples::confusion;
pub use tabs::training::plots;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::embedded;
use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::train::TrainControl;
use crate::write_guard::Replace;

pub use files::actions::FileAction;
use files::dialog::{FilePicker, RfdPicker};
use files::{drop as file_drop, replace_prompt};
use session::{LoadSlot, NewestLoads, TrainingRun};
pub use session::{ModelState, Settings, Tab, TestData, ThemeChoice, TrainData};
use tabs::draw::canvas;
use tabs::my_digits::{collection as teach, panel as my_digits_panel, saver};
use tabs::samples::sample_grid;
use tabs::training::controls::{RunState, TrainAction};
use tabs::training::plot_export;
use tabs::weights;
use window::frame_stats;
use window::menu;
use window::side_panel::{SidePanel, SidePanelAction, SidePanelView};
use window::status_bar::{self, StatusView};
use worker::{DataRole, EvalResult, Task, Worker};

/// Files to load when the app starts (the command line's `--train`, `--test`, `--model`).
#[derive(Clone, Debug, Default)]
pub struct StartupFiles {
    pub train: Option<PathBuf>,
    pub test: Option<PathBuf>,
    pub model: Option<PathBuf>,
    /// The folder My digits are kept in (None: for this session only).
    pub data_dir: Option<PathBuf>,
}

/// Where the app keeps My digits: `$DIGIT_RECOGNIZER_DATA_DIR` if set, else the platform's
/// data folder for the app (eframe's, where it also keeps its settings).
pub fn default_data_dir() -> Option<PathBuf> {
    std::env::var_os("DIGIT_RECOGNIZER_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| eframe::storage_dir("digit-recognizer"))
}

/// Opens the app window.
pub fn run(files: StartupFiles) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Digit Recognizer")
            .with_app_id("digit-recognizer")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([960.0, 640.0])
            .with_drag_and_drop(true)
            .with_icon(window_icon()),
        renderer: eframe::Renderer::Glow,
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "digit-recognizer",
        options,
        Box::new(move |cc| Ok(Box::new(App::new(cc, files, Arc::new(RfdPicker))))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the app window: {e}"))
}

/// The app's icon (assets/icon.png: a Kaggle training row, a 7, in its 28x28 pixels), for the
/// window and the taskbar; the desktop entry (assets/digit-recognizer.desktop) names the same
/// picture once installed. A broken picture falls back to eframe's default icon.
pub fn window_icon() -> egui::IconData {
    eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).unwrap_or_default()
}

/// How often a run sends the views a snapshot of its parameters.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// The model the views show, with a key that changes whenever it does and a caption saying
/// which it is.
pub struct ShownModel {
    pub model: Arc<Mlp>,
    pub key: u64,
    pub caption: String,
}

pub struct App {
    pub settings: Settings,
    worker: Worker,
    picker: Arc<dyn FilePicker>,
    data: Option<TrainData>,
    test: Option<TestData>,
    model: Option<ModelState>,
    /// Bumped whenever the model is replaced: a save names the model it wrote only if it is
    /// still the current one.
    model_version: u64,
    /// The newest load of each kind: an older one that ends later is dropped.
    newest_loads: NewestLoads,
    /// Bumped whenever the model or the dev set changes.
    generation: u64,
    /// Bumped whenever the model the views show changes: a new model or a run's snapshot.
    view_key: u64,
    /// The dev set's predictions by the model shown: the current model's, or while a run
    /// trains, its latest snapshot's.
    eval: Option<EvalResult>,
    /// Dev-set predictions under way on worker threads.
    evals_in_flight: usize,
    /// A snapshot arrived while a prediction was under way: predict it when that one ends.
    live_eval_wanted: bool,
    /// Runs started this session (for "run #3").
    runs_started: usize,
    /// Background tasks shown in the status bar.
    tasks: Vec<Task>,
    training: Option<TrainingRun>,
    /// The last finished run's message.
    last_run: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    /// A file dialog is open (one at a time).
    dialog_open: bool,
    /// Export was asked for before a test CSV was loaded: export once one is.
    pending_export: bool,
    /// The open model's file (None: trained, fine-tuned or embedded). Submissions never go there.
    model_path: Option<PathBuf>,
    /// A save or export from the path field waiting for consent to replace a file.
    pending_replace: Option<replace_prompt::ReplaceQuestion>,
    /// Save plot (PNG) waiting for its screenshot.
    pending_plot: Option<plot_export::PendingPlot>,
    side_panel: SidePanel,
    pub plots: plots::PlotsPanel,
    pub grid: sample_grid::SampleGrid,
    confusion: confusion::ConfusionPanel,
    weights: weights::WeightsPanel,
    pub canvas: canvas::DrawingCanvas,
    /// My digits and fine-tuning.
    teaching: teach::Teaching,
    my_digits_panel: my_digits_panel::MyDigitsPanel,
    pub frame_stats: frame_stats::FrameStats,
}

impl App {
    /// Starts with the embedded sample and model, then loads the files named on the command line.
    pub fn new(cc: &eframe::CreationContext<'_>, files: StartupFiles, picker: Arc<dyn FilePicker>) -> App {
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
            model_version: 0,
            newest_loads: NewestLoads::default(),
            generation: 0,
            view_key: 0,
            eval: None,
            evals_in_flight: 0,
            live_eval_wanted: false,
            runs_started: 0,
            tasks: Vec::new(),
            training: None,
            last_run: None,
            error: None,
            notice: None,
            dialog_open: false,
            pending_export: false,
            pending_plot: None,
            model_path: None,
            pending_replace: None,
            side_panel: SidePanel::default(),
            plots: Default::default(),
            grid: Default::default(),
            confusion: Default::default(),
            weights: Default::default(),
            canvas: Default::default(),
            teaching: Default::default(),
            my_digits_panel: Default::default(),
            frame_stats: frame_stats::FrameStats::from_env(),
            settings,
        };
        app.grid.mistakes_only = app.settings.mistakes_only;
        app.canvas.brush = app.settings.brush;
        app.weights.count = app.settings.weight_units;
        app.plots.scale = app.settings.plot_scale;
        app.confusion.color = app.settings.confusion_color;
        cc.egui_ctx.set_theme(app.settings.theme.preference());
        app.load_embedded();
        // A model named on the command line wins over the one fine-tuned last session.
        app.open_my_digits(files.data_dir, files.model.is_none());
        if let Some(path) = files.train {
            app.load_data(path, DataRole::Train);
        }
        if let Some(path) = files.test {
            app.load_data(path, DataRole::Test);
        }
        if let Some(path) = files.model {
            app.run_file_action(FileAction::OpenModel, path);
        }
        app.changed();
        app
    }

    /// The sample and the model built into the binary, so the app is useful at once.
    fn load_embedded(&mut self) {
        let key = (self.settings.config.dev_size, self.settings.config.seed);
        match embedded::sample() {
            Ok(dataset) => {
                self.data = Some(TrainData {
                    name: embedded::SAMPLE_NAME.into(),
                    path: None,
                    class_names: Vec::new(),
                    transposed: false,
                    split: Arc::new(dataset.split(key.0, key.1)),
                    dataset: Arc::new(dataset),
                    split_key: key,
                    seconds: 0.0,
                });
            }
            Err(e) => self.error = Some(format!("the embedded sample is unavailable ({e}): open a training CSV")),
        }
        match embedded::model() {
            Ok((model, info)) => {
                self.model = Some(ModelState {
                    model: Arc::new(model),
                    info,
                    name: embedded::MODEL_NAME.into(),
                });
            }
            Err(e) => {
                self.notice = Some(format!(
                    "The embedded model is unavailable ({e}). Press Train to make one, or open a model file."
                ));
            }
        }
    }

    /// Replaces the model (as Open model does).
    pub fn set_model(&mut self, model: Mlp, info: ModelInfo, name: String) {
        self.eval = None;
        self.install_model(model, info, name);
    }

    /// Makes `model` the current one and predicts the dev set with it; the predictions shown
    /// (if the caller kept them) stay until the new ones arrive.
    fn install_model(&mut self, model: Mlp, info: ModelInfo, name: String) {
        self.model_path = None;
        self.model_version += 1;
        self.model = Some(ModelState {
            model: Arc::new(model),
            info,
            name,
        });
        self.model_replaced();
    }

    /// The model or the dev set changed: predict the dev set again.
    fn changed(&mut self) {
        self.eval = None;
        self.model_replaced();
    }

    /// A new model for the same dev set: predict it again, showing the predictions before it
    /// until the new ones arrive (at the end of a run, those of its last snapshot).
    fn model_replaced(&mut self) {
        self.generation += 1;
        self.view_key += 1;
        if let (Some(model), Some(data)) = (&self.model, &self.data)
            && data.split.dev.rows() > 0
        {
            // A model of another data set (28x28 digits with 32x32 data loaded): no predictions.
            if let Some(problem) = self.fit_problem() {
                self.notice = Some(match self.notice.take() {
                    Some(notice) => format!("{notice} · {problem}"),
                    None => problem,
                });
                return;
            }
            self.evals_in_flight += 1;
            self.worker.evaluate(
                self.generation,
                model.model.clone(),
                data.split.clone(),
                model.name.clone(),
                false,
            );
        }
    }

    /// Predicts the dev set with the run's latest snapshot, off the UI thread, when the Samples
    /// tab shows them. One prediction at a time: a snapshot that arrives meanwhile waits for it
    /// (see `logic`), and only the latest waits, so a slow machine skips snapshots instead of
    /// queueing them.
    fn evaluate_live(&mut self) {
        let (Some(run), Some(data)) = (&self.training, &self.data) else {
            return;
        };
        let Some(snapshot) = &run.live else { return };
        if data.split.dev.rows() == 0 {
            return;
        }
        // Only the Samples tab shows them: elsewhere the training keeps the CPU.
        if self.evals_in_flight > 0 || self.settings.tab != Tab::Samples {
            self.live_eval_wanted = true;
            return;
        }
        self.live_eval_wanted = false;
        self.evals_in_flight += 1;
        self.worker.evaluate(
            self.generation,
            snapshot.model.clone(),
            data.split.clone(),
            run.caption(),
            true,
        );
    }

    /// The model the views show: while a run trains, its latest snapshot (the model from
    /// before until the first one arrives); otherwise the current model.
    pub fn shown_model(&self) -> Option<ShownModel> {
        if let Some(run) = &self.teaching.run
            && let Some((step, total, model)) = &run.live
        {
            return Some(ShownModel {
                model: model.clone(),
                key: self.view_key,
                caption: format!("fine-tuning on My digits, step {step} of {total}"),
            });
        }
        if let Some(run) = &self.training
            && let Some(snapshot) = &run.live
        {
            return Some(ShownModel {
                model: snapshot.model.clone(),
                key: self.view_key,
                caption: run.caption(),
            });
        }
        let model = self.model.as_ref()?;
        let caption = match &self.training {
            Some(run) => format!("{} ({})", model.name, run.caption()),
            None => model.name.clone(),
        };
        Some(ShownModel {
            model: model.model.clone(),
            key: self.view_key,
            caption,
        })
    }

    fn load_data(&mut self, path: PathBuf, role: DataRole) {
        let key = (self.settings.config.dev_size, self.settings.config.seed);
        let task = self.worker.load_data(path, role, key, self.settings.class_count);
        // A dropped file's kind is known when it has loaded: it claims its slot then.
        match role {
            DataRole::Train => self.newest_loads.claim(LoadSlot::TrainData, task.id),
            DataRole::Test => self.newest_loads.claim(LoadSlot::TestData, task.id),
            DataRole::Any => true,
        };
        self.tasks.push(task);
    }

    fn load_model(&mut self, path: PathBuf) {
        let task = self.worker.load_model(path);
        self.newest_loads.claim(LoadSlot::Model, task.id);
        self.tasks.push(task);
    }

    fn task_done(&mut self, id: u64) {
        self.tasks.retain(|t| t.id != id);
        // A plot export whose path was refused (or whose check failed) waits no more.
        if self.pending_plot.as_ref().is_some_and(|p| p.task == id) {
            self.pending_plot = None;
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
            TrainAction::Reset => {
                self.notice = Some(format!("Settings reset to the {} preset.", self.settings.config.preset));
            }
        }
    }

    fn start_training(&mut self) {
        if self.training.is_some() {
            return;
        }
        if self.teaching.run.is_some() {
            self.error = Some("Fine-tuning is under way: stop it or wait for it before training.".into());
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
        // The split made at loading is reused when the dev size and seed still match.
        let key = (config.dev_size, config.seed);
        let split = (data.split_key == key).then(|| data.split.clone());
        let control = Arc::new(TrainControl::with_snapshots(SNAPSHOT_EVERY));
        self.runs_started += 1;
        self.plots.start_run(config.label());
        let alpha = config.alpha;
        let learnt_from = ModelInfo::trained(&config, None, &data.dataset, data.class_names.clone(), data.transposed);
        self.worker
            .train(config.clone(), data.dataset.clone(), split, control.clone());
        self.training = Some(TrainingRun {
            control,
            number: self.runs_started,
            config,
            alpha,
            total_steps: 0,
            last: None,
            last_dev: None,
            live: None,
            learnt_from,
        });
        self.error = None;
        self.last_run = None;
    }

    /// Asks whether to replace a file, and carries out the answer.
    fn replace_prompt(&mut self, ctx: &egui::Context) {
        let Some(question) = &self.pending_replace else { return };
        let Some(answer) = replace_prompt::ui(ctx, question) else {
            return;
        };
        let question = self.pending_replace.take().expect("checked above");
        match answer {
            replace_prompt::Answer::Replace => {
                self.run_file_action_with(question.action, question.path, Replace::Anything);
            }
            replace_prompt::Answer::Cancel => {
                self.notice = Some(format!("Nothing was written: {} is kept.", question.path.display()));
            }
        }
    }

    fn side_panel(&mut self, ui: &mut egui::Ui) {
        let view = SidePanelView {
            data: self.data.as_ref(),
            test: self.test.as_ref(),
            model: self.model.as_ref(),
            // The current model's dev accuracy, not a snapshot's.
            eval: self.eval.as_ref().filter(|e| !e.live),
            run: RunState {
                training: self.training.is_some(),
                paused: self.training.as_ref().is_some_and(TrainingRun::is_paused),
                has_data: self.data.is_some(),
                train_rows: self.data.as_ref().map_or(0, |d| d.dataset.rows()),
            },
            last_run: self.last_run.as_deref(),
        };
        let action = self.side_panel.ui(
            ui,
            view,
            &mut self.settings.path,
            &mut self.settings.class_count,
            &mut self.settings.config,
        );
        match action {
            // Typed paths ask before replacing any file (no dialog asked).
            Some(SidePanelAction::File(action, path)) => self.run_file_action_with(action, path, Replace::Nothing),
            Some(SidePanelAction::Train(action)) => self.train_action(action),
            Some(SidePanelAction::Transpose) => self.transpose_data(),
            None => {}
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        for event in self.worker.drain() {
            self.handle(event);
        }
        if self.live_eval_wanted && self.evals_in_flight == 0 {
            self.evaluate_live();
        }
        self.handle_dropped_files(ctx);
        self.handle_shortcuts(ctx);
        self.poll_plot_shot();
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let mut label = self.training.as_ref().map(TrainingRun::label);
        if label.is_none() && self.frame_stats.always {
            label = Some("idle".into());
        }
        self.frame_stats.frame(frame.info().cpu_usage, label.as_deref());
        if self.frame_stats.enabled && label.is_some() {
            ui.ctx().request_repaint();
        }
        let menu_action = egui::Panel::top("menu")
            .show(ui, |ui| menu::ui(ui, &mut self.settings.tab, &mut self.settings.theme))
            .inner;
        let theme = self.settings.theme.preference();
        if ui.ctx().options(|o| o.theme_preference) != theme {
            ui.ctx().set_theme(theme);
        }
        if let Some(action) = menu_action {
            self.start_file_action(action);
        }
        egui::Panel::bottom("status").show(ui, |ui| {
            let view = StatusView {
                training: self.training.as_ref(),
                notice: self.notice.as_deref(),
                frame_stats: &self.frame_stats,
                tasks: &self.tasks,
            };
            status_bar::ui(ui, view);
        });
        egui::Panel::left("controls")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side_panel(ui));
            });
        // No panel fill: the window is cleared to the same colour (see `clear_color`), which saves
        // a full-window blend per frame under software rendering.
        // The plots' extent this frame (none unless the Training tab draws them), and the x range
        // they show before the first run.
        self.plots.last_rect = None;
        self.plots.planned_steps = plots::planned_steps(
            &self.settings.config,
            self.data.as_ref().map_or(0, |d| d.dataset.rows()),
        );
        egui::CentralPanel::no_frame()
            .frame(egui::Frame::NONE.inner_margin(8.0))
            .show(ui, |ui| self.central_panel(ui));
        match self.plots.take_request() {
            Some(plots::PlotRequest::ExportCsv) => self.start_file_action(FileAction::ExportCurves),
            Some(plots::PlotRequest::ExportPng) => self.start_file_action(FileAction::ExportPlot),
            None => {}
        }
        self.request_plot_shot(ui.ctx());
        self.replace_prompt(ui.ctx());
        file_drop::hover_overlay(ui.ctx());
        // Last, after this frame's edits.
        self.hold_close_for_saves(ui.ctx());
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.mistakes_only = self.grid.mistakes_only;
        self.settings.brush = self.canvas.brush;
        self.settings.weight_units = self.weights.count;
        self.settings.plot_scale = self.plots.scale;
        self.settings.confusion_color = self.confusion.color;
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // The window is gone by now (eframe 0.37 calls this after the last frame): say it on
        // stderr. Closing with a change unsaved is first held back by `hold_close_for_saves`.
        if let Err(why) = self.teaching.finish_saving(saver::EXIT_SAVE_WAIT) {
            eprintln!("digit-recognizer: {why}");
        }
        if let Some(t) = &self.training {
            t.control.cancel();
        }
        if let Some(run) = &self.teaching.run {
            run.control.cancel();
        }
        for task in &self.tasks {
            task.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_icon_is_the_apps_own_square_picture() {
        let icon = super::window_icon();
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
        // Not eframe's default (an empty icon): the middle of the tile is opaque.
        let middle = (128 * 256 + 128) * 4;
        assert_eq!(icon.rgba[middle + 3], 255);
    }
}
