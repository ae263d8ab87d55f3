//! The desktop app (eframe/egui): load data, watch the network learn live, inspect its mistakes,
//! draw digits for it.
//!
//! The folders read like the window: [`window`] (menu, side panel, status bar, error banner, the
//! window's settings), [`tabs`] (training, samples, weights, draw, my digits: each its own struct
//! with a `ui` method and its own persisted settings), [`files`] (the actions table, dialog,
//! drop, path field, loading and saving jobs) and [`jobs`] (the generic job runner and the views'
//! background computations). [`App`] holds a few parts: the settings, the tabs, the
//! [`session::Session`] (data, model, predictions, keyed by [`version::Version`]), the jobs, the
//! training run, My digits, the files state and the messages. Each feature owns its jobs and
//! events; [`AppEvent`] wraps them and `events.rs` hands each to its feature's handler, on the UI
//! thread (in `logic`), which then draws.
//!
//! The app depends on the core (data, network, train, ...) and never on the command line: the
//! command line hands it [`StartupFiles`].

pub mod events;
pub mod files;
pub mod format;
pub mod jobs;
pub mod memory;
pub mod runs;
pub mod session;
pub mod tabs;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod version;
pub mod window;

// Paths the integration tests name.
pub use tabs::samples::confusion;
pub use tabs::training::plots;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::embedded;
use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::write_guard::Replace;

use files::FileState;
pub use files::actions::FileAction;
use files::dialog::{FilePicker, RfdPicker};
use files::drop as file_drop;
use files::load::DataRole;
use jobs::runner::{Crash, Task, TaskEvent};
use session::Session;
pub use session::{ModelState, TestData, TrainData};
use tabs::my_digits::{collection as teach, saver};
use tabs::training::controls::RunState;
use tabs::training::run::{Training, TrainingRun};
pub use tabs::{Tab, Tabs};
use version::Version;
use window::menu;
pub use window::settings::{Settings, ThemeChoice};
use window::side_panel::{SidePanel, SidePanelAction, SidePanelView};
use window::status_bar::{self, StatusView};
use window::{Messages, frame_stats};

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
    memory::fewer_heaps();
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

/// The kinds of background job (named in crash reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    LoadData,
    /// Transposing the training images (EMNIST).
    Transpose,
    LoadModel,
    SaveModel,
    Export,
    ExportCurves,
    ExportPlot,
    Evaluate,
    Train,
    Pick,
    /// Reading, importing or saving My digits.
    MyDigits,
    Finetune,
    /// Saving or opening a run folder, exporting the runs table.
    Runs,
}

impl Job {
    /// "while ..." in an error message.
    pub fn doing(self) -> &'static str {
        match self {
            Job::LoadData => "loading data",
            Job::Transpose => "transposing the images",
            Job::LoadModel => "opening the model",
            Job::SaveModel => "saving the model",
            Job::Export => "exporting the submission",
            Job::ExportCurves => "exporting the curves",
            Job::ExportPlot => "saving the plot image",
            Job::Evaluate => "predicting the dev set",
            Job::Train => "training",
            Job::Pick => "choosing a file",
            Job::MyDigits => "reading My digits",
            Job::Finetune => "fine-tuning",
            Job::Runs => "saving or opening a run",
        }
    }
}

/// Declares [`AppEvent`] and a `From<$event> for AppEvent` per variant, so that a job sends its
/// feature's own event type and each variant is listed once.
macro_rules! app_events {
    ($($variant:ident($event:ty)),* $(,)?) => {
        /// Every report a job sends the UI thread: each feature's own events, and what the runner
        /// says about any job. (Few and short-lived: variant sizes do not matter.)
        #[allow(clippy::large_enum_variant)]
        pub enum AppEvent {
            $($variant($event),)*
        }

        $(impl From<$event> for AppEvent {
            fn from(event: $event) -> Self {
                AppEvent::$variant(event)
            }
        })*
    };
}

app_events! {
    Task(TaskEvent),
    Crashed(Crash<Job>),
    Load(files::load::LoadEvent),
    Save(files::save::SaveEvent),
    Picked(files::dialog::Picked),
    Evaluated(tabs::samples::evaluation::Evaluated),
    Training(tabs::training::run::TrainingEvent),
    MyDigits(tabs::my_digits::MyDigitsEvent),
    Runs(runs::folder::RunsEvent),
}

/// The app's job runner: jobs of kinds [`Job`] reporting [`AppEvent`]s.
pub type Worker = jobs::runner::Runner<Job, AppEvent>;

/// Where eframe keeps the tabs' settings (the window's are under [`eframe::APP_KEY`]).
pub const TABS_KEY: &str = "tabs";

/// How often a run sends the views a snapshot of its parameters.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// The model the views show, with a key that changes whenever it does (its [`Version`]) and a
/// caption saying which it is.
pub struct ShownModel {
    pub model: Arc<Mlp>,
    pub key: u64,
    pub caption: String,
}

/// The app's background work: the runner and the tasks in the status bar.
pub struct Jobs {
    pub runner: Worker,
    /// Background tasks shown in the status bar.
    pub tasks: Vec<Task>,
}

pub struct App {
    /// The window's own settings (the menu's and the side panel's), persisted.
    pub settings: Settings,
    /// The tabs, each with its own persisted settings.
    pub tabs: Tabs,
    /// The data, the model and the dev set's predictions.
    session: Session,
    jobs: Jobs,
    training: Training,
    /// Every run of the session with its checkpoints, and the timeline over them.
    runs: runs::Runs,
    /// My digits and fine-tuning.
    teaching: teach::Teaching,
    /// File dialogs and the saves and exports waiting on the user.
    files: FileState,
    messages: Messages,
    side_panel: SidePanel,
    pub frame_stats: frame_stats::FrameStats,
}

impl App {
    /// Starts with the embedded sample and model, then loads the files named on the command line.
    pub fn new(cc: &eframe::CreationContext<'_>, files: StartupFiles, picker: Arc<dyn FilePicker>) -> App {
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        let tabs: Tabs = cc
            .storage
            .and_then(|s| eframe::get_value(s, TABS_KEY))
            .unwrap_or_default();
        let mut app = App {
            jobs: Jobs {
                runner: Worker::new(cc.egui_ctx.clone()),
                tasks: Vec::new(),
            },
            session: Session::default(),
            training: Training::default(),
            runs: runs::Runs::default(),
            teaching: Default::default(),
            files: FileState::new(picker),
            messages: Messages::default(),
            side_panel: SidePanel::default(),
            frame_stats: frame_stats::FrameStats::from_env(),
            settings,
            tabs,
        };
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
                self.session.data = Some(TrainData {
                    name: embedded::SAMPLE_NAME.into(),
                    path: None,
                    class_names: Vec::new(),
                    transposed: false,
                    split: Arc::new(dataset.split(key.0, key.1)),
                    dev_version: Version::next(),
                    dataset: Arc::new(dataset),
                    split_key: key,
                    seconds: 0.0,
                });
            }
            Err(e) => {
                self.messages.error = Some(format!("the embedded sample is unavailable ({e}): open a training CSV"));
            }
        }
        match embedded::model() {
            Ok((model, info)) => {
                self.session.model = Some(ModelState::new(Arc::new(model), info, embedded::MODEL_NAME.into()));
            }
            Err(e) => {
                self.messages.notice = Some(format!(
                    "The embedded model is unavailable ({e}). Press Train to make one, or open a model file."
                ));
            }
        }
    }

    /// Replaces the model (as Open model does).
    pub fn set_model(&mut self, model: Mlp, info: ModelInfo, name: String) {
        self.session.evals.shown = None;
        self.install_model(model, info, name);
    }

    /// Makes `model` the current one and predicts the dev set with it; the predictions shown
    /// (if the caller kept them) stay until the new ones arrive.
    pub(crate) fn install_model(&mut self, model: Mlp, info: ModelInfo, name: String) {
        self.session.model_path = None;
        self.session.model = Some(ModelState::new(Arc::new(model), info, name));
        self.model_replaced();
    }

    /// The model the views show: the checkpoint on screen while the timeline is back in time;
    /// else while a run trains, its latest snapshot (the model from before until the first one
    /// arrives); otherwise the current model.
    pub fn shown_model(&self) -> Option<ShownModel> {
        if let Some((model, key, caption)) = self.runs.shown_model() {
            return Some(ShownModel { model, key, caption });
        }
        if let Some(run) = &self.teaching.run
            && let Some((step, total, model)) = &run.live
        {
            return Some(ShownModel {
                model: model.clone(),
                key: run.live_version.get(),
                caption: format!("fine-tuning on My digits, step {step} of {total}"),
            });
        }
        if let Some(run) = &self.training.run
            && let Some(snapshot) = &run.live
        {
            return Some(ShownModel {
                model: snapshot.model.clone(),
                key: run.live_version.get(),
                caption: run.caption(),
            });
        }
        let model = self.session.model.as_ref()?;
        let caption = match &self.training.run {
            Some(run) => format!("{} ({})", model.name, run.caption()),
            None => model.name.clone(),
        };
        Some(ShownModel {
            model: model.model.clone(),
            key: model.version.get(),
            caption,
        })
    }

    pub(crate) fn task_done(&mut self, id: u64) {
        self.jobs.tasks.retain(|t| t.id != id);
        // A plot export whose path was refused (or whose check failed) waits no more.
        if self.tabs.training.pending_plot.as_ref().is_some_and(|p| p.task == id) {
            self.tabs.training.pending_plot = None;
        }
    }

    fn side_panel(&mut self, ui: &mut egui::Ui) {
        let view = SidePanelView {
            data: self.session.data.as_ref(),
            test: self.session.test.as_ref(),
            model: self.session.model.as_ref(),
            // The current model's dev accuracy, not a snapshot's.
            eval: self.session.evals.shown.as_ref().filter(|e| !e.live),
            run: RunState {
                training: self.training.run.is_some(),
                paused: self.training.run.as_ref().is_some_and(TrainingRun::is_paused),
                has_data: self.session.data.is_some(),
                train_rows: self.session.data.as_ref().map_or(0, |d| d.dataset.rows()),
            },
            last_run: self.training.last_run.as_deref(),
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
        for event in self.jobs.runner.drain() {
            self.handle(event);
        }
        // A snapshot that came while another prediction was under way, or while another tab
        // was shown.
        self.evaluate_live();
        self.sync_timeline(ctx);
        self.handle_dropped_files(ctx);
        self.handle_shortcuts(ctx);
        self.poll_plot_shot();
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let mut label = self.training.run.as_ref().map(TrainingRun::label);
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
            self.status_timeline(ui);
            let view = StatusView {
                training: self.training.run.as_ref(),
                notice: self.messages.notice.as_deref(),
                frame_stats: &self.frame_stats,
                tasks: &self.jobs.tasks,
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
        self.tabs.training.plots.last_rect = None;
        self.tabs.training.plots.planned_steps = plots::planned_steps(
            &self.settings.config,
            self.session.data.as_ref().map_or(0, |d| d.dataset.rows()),
        );
        egui::CentralPanel::no_frame()
            .frame(egui::Frame::NONE.inner_margin(8.0))
            .show(ui, |ui| self.central_panel(ui));
        match self.tabs.training.plots.take_request() {
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
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
        eframe::set_value(storage, TABS_KEY, &self.tabs);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // The window is gone by now (eframe 0.37 calls this after the last frame): say it on
        // stderr. Closing with a change unsaved is first held back by `hold_close_for_saves`.
        if let Err(why) = self.teaching.finish_saving(saver::EXIT_SAVE_WAIT) {
            eprintln!("digit-recognizer: {why}");
        }
        if let Some(t) = &self.training.run {
            t.control.cancel();
        }
        if let Some(run) = &self.teaching.run {
            run.control.cancel();
        }
        for task in &self.jobs.tasks {
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
