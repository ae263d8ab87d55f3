//! Background work: loading, training, evaluating, saving, exporting and file dialogs run on
//! their own threads and report back over one mpsc channel ([`WorkerEvent`]). Every sender asks
//! egui to repaint, so the UI thread only drains the channel and draws. A run's snapshots skip the
//! channel: the latest waits in its [`TrainControl`] (one at most, drawn or not) and the channel
//! carries a [`WorkerEvent::SnapshotReady`] notice. A panic in a job is caught
//! and reported as [`WorkerEvent::Crashed`]; tests can cause one on purpose ([`Fault`]).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use crate::data::{self, Dataset, Expect, Split};
use crate::evaluate::{self, Evaluation};
use crate::model_file::{self, ModelInfo};
use crate::network::{Mlp, argmax};
use crate::train::{self, TrainConfig, TrainControl, TrainEvent, TrainReport};

use crate::app::files::actions::FileAction;
use crate::app::files::dialog::FilePicker;

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

/// The kinds of background job (named in crash reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    LoadData,
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
}

impl Job {
    /// "while ..." in an error message.
    pub fn doing(self) -> &'static str {
        match self {
            Job::LoadData => "loading data",
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
        }
    }
}

/// A long task shown in the status bar with a progress bar and a Cancel button.
#[derive(Debug)]
pub struct Task {
    pub id: u64,
    pub label: String,
    /// 0..=1, or None while the size is unknown.
    pub progress: Option<f32>,
    pub cancel: Arc<AtomicBool>,
    /// Whether the task checks `cancel` (saving and opening a model are too short to bother).
    pub cancellable: bool,
    pub started: Instant,
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

/// Messages from the worker threads to the UI thread. (Few and short-lived: variant sizes do not
/// matter.)
#[allow(clippy::large_enum_variant)]
pub enum WorkerEvent {
    Progress {
        id: u64,
        fraction: f32,
    },
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
    ModelSaved {
        id: u64,
        path: PathBuf,
        /// Which model was written ([`crate::app::App`]'s model version when the save was asked for).
        version: u64,
    },
    Exported {
        id: u64,
        path: PathBuf,
        rows: usize,
    },
    /// Another file was written (curves, plot image); `message` says what and where.
    Wrote {
        id: u64,
        message: String,
    },
    /// A task failed or was cancelled; the state before it stays.
    Failed {
        id: u64,
        message: String,
    },
    /// A job panicked (a bug): nothing it was doing took effect. `task` is its status-bar task.
    Crashed {
        job: Job,
        task: Option<u64>,
        message: String,
    },
    Evaluated {
        generation: u64,
        eval: EvalResult,
    },
    /// The training thread made a new dev split (dev size or seed changed).
    TrainSplit {
        /// The data the split was made from (the app may have loaded other data meanwhile).
        dataset: Arc<Dataset>,
        key: (usize, u64),
        split: Arc<Split>,
    },
    Train(TrainEvent),
    /// A run's or a fine-tuning's latest snapshot waits in its [`TrainControl`]: sent once per
    /// take, so the channel holds no copies of the parameters.
    SnapshotReady,
    TrainDone {
        model: Mlp,
        report: TrainReport,
        config: TrainConfig,
    },
    Picked {
        action: FileAction,
        path: Option<PathBuf>,
    },
    /// A save or export found a file it may only replace with the user's consent: nothing was
    /// written; ask (see [`crate::app::files::replace_prompt`]).
    ReplaceAsked {
        id: u64,
        action: FileAction,
        path: PathBuf,
        question: String,
    },
    /// A plot export's path passed its [`WriteCheck`](crate::app::files::save::WriteCheck): the screenshot may be taken
    /// ([`crate::app::tabs::training::plot_export`]).
    WriteCleared {
        id: u64,
    },
    /// My digits and fine-tuning ([`crate::app::tabs::my_digits::collection`]).
    Teach(crate::app::tabs::my_digits::collection::TeachEvent),
}

/// Predictions of a model on the dev set: the current model's, or a training run's snapshot.
#[derive(Clone, Debug)]
pub struct EvalResult {
    /// `(rows)` probabilities, one per class of the model.
    pub probs: Vec<Vec<f32>>,
    pub predictions: Vec<u8>,
    pub evaluation: Evaluation,
    /// Whose predictions these are ("run #3, step 1,200 of 6,420", or the model's name).
    pub caption: String,
    /// From a snapshot of a run in progress (not the current model).
    pub live: bool,
}

/// The longest wait between a training report and its frame.
pub const TRAINING_REPAINT: Duration = Duration::from_millis(400);

/// Sends events and wakes the UI.
#[derive(Clone)]
pub struct Emitter {
    tx: Sender<WorkerEvent>,
    ctx: egui::Context,
}

impl Emitter {
    pub fn send(&self, event: WorkerEvent) {
        // The receiver only goes away when the app closes; nothing to do then.
        let _ = self.tx.send(event);
        self.ctx.request_repaint();
    }

    /// For frequent events: coalesces repaints to about 60 per second.
    pub(crate) fn send_soon(&self, event: WorkerEvent) {
        let _ = self.tx.send(event);
        self.ctx.request_repaint_after(Duration::from_millis(16));
    }

    /// For training progress: a repaint at most every [`TRAINING_REPAINT`]. A frame rendered
    /// in software costs 20-30 ms of CPU, taken from the two cores the training threads use
    /// (measured with bench/app_vs_cli.sh: repainting for every report made the app's `seed`
    /// run about 20% slower than the command line's; every 250 ms, 8-10%; every 400 ms, 7%, and
    /// 4.5% once the status bar stopped spinning before the first report).
    pub(crate) fn send_throttled(&self, event: WorkerEvent) {
        let _ = self.tx.send(event);
        self.ctx.request_repaint_after(TRAINING_REPAINT);
    }
}

/// The UI's handle on the background threads.
pub struct Worker {
    emitter: Emitter,
    rx: Receiver<WorkerEvent>,
    next_id: u64,
    /// Training threads alive (at most one unless the app has a bug).
    train_threads: Arc<AtomicUsize>,
    /// The next job of this kind panics (see [`Fault`]).
    #[cfg(any(test, feature = "test-support"))]
    inject_panic: std::cell::Cell<Option<Job>>,
    /// The next job of this kind waits at its first fault point until the gate opens.
    #[cfg(any(test, feature = "test-support"))]
    hold_next: std::cell::RefCell<Option<(Job, Arc<crate::app::test_support::JobGate>)>>,
}

/// A point in a job where it panics when a test armed it ([`Worker::inject_panic`]). Without the
/// `test-support` feature it holds nothing and [`Fault::point`] compiles to nothing.
pub struct Fault {
    #[cfg(any(test, feature = "test-support"))]
    armed: bool,
    /// Held here until a test opens the gate (to finish jobs in the order it chooses).
    #[cfg(any(test, feature = "test-support"))]
    hold: Option<Arc<crate::app::test_support::JobGate>>,
}

impl Fault {
    #[inline]
    pub fn point(&self) {
        #[cfg(any(test, feature = "test-support"))]
        {
            if let Some(gate) = &self.hold {
                gate.wait();
            }
            if self.armed {
                panic!("injected fault (test build)");
            }
        }
    }
}

/// Counts a training thread as alive until dropped (also when it unwinds).
struct Alive(Arc<AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

impl Worker {
    pub fn new(ctx: egui::Context) -> Worker {
        let (tx, rx) = channel();
        Worker {
            emitter: Emitter { tx, ctx },
            rx,
            next_id: 1,
            train_threads: Arc::new(AtomicUsize::new(0)),
            #[cfg(any(test, feature = "test-support"))]
            inject_panic: std::cell::Cell::new(None),
            #[cfg(any(test, feature = "test-support"))]
            hold_next: std::cell::RefCell::new(None),
        }
    }

    /// Makes the next job of kind `job` panic, to check that the app survives it.
    #[cfg(any(test, feature = "test-support"))]
    pub fn inject_panic(&self, job: Job) {
        self.inject_panic.set(Some(job));
    }

    /// Makes the next job of kind `job` wait at its first fault point until `gate` opens.
    #[cfg(any(test, feature = "test-support"))]
    pub fn hold_next(&self, job: Job, gate: Arc<crate::app::test_support::JobGate>) {
        *self.hold_next.borrow_mut() = Some((job, gate));
    }

    /// A fault point for a new job of kind `job`, armed (once) by [`Worker::inject_panic`] and
    /// held (once) by [`Worker::hold_next`].
    fn fault_for(&self, job: Job) -> Fault {
        #[cfg(any(test, feature = "test-support"))]
        {
            let armed = self.inject_panic.get() == Some(job);
            if armed {
                self.inject_panic.set(None);
            }
            let mut held = self.hold_next.borrow_mut();
            let hold = if held.as_ref().is_some_and(|(j, _)| *j == job) {
                held.take().map(|(_, gate)| gate)
            } else {
                None
            };
            Fault { armed, hold }
        }
        #[cfg(not(any(test, feature = "test-support")))]
        {
            let _ = job;
            Fault {}
        }
    }

    /// Training threads alive now.
    pub fn train_threads(&self) -> usize {
        self.train_threads.load(Ordering::SeqCst)
    }

    /// Runs `work` on its own thread; a panic in it is caught and reported as
    /// [`WorkerEvent::Crashed`], so the UI never waits for an event that will not come.
    pub(crate) fn spawn(&self, job: Job, task: Option<u64>, work: impl FnOnce(&Emitter, &Fault) + Send + 'static) {
        let out = self.emitter();
        let fault = self.fault_for(job);
        std::thread::spawn(move || {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| work(&out, &fault))) {
                out.send(WorkerEvent::Crashed {
                    job,
                    task,
                    message: panic_message(payload.as_ref()),
                });
            }
        });
    }

    pub fn emitter(&self) -> Emitter {
        self.emitter.clone()
    }

    /// Events that arrived since the last call.
    pub fn drain(&self) -> Vec<WorkerEvent> {
        self.rx.try_iter().collect()
    }

    pub(crate) fn task(&mut self, label: String) -> Task {
        let id = self.next_id;
        self.next_id += 1;
        Task {
            id,
            label,
            progress: None,
            cancel: Arc::new(AtomicBool::new(false)),
            cancellable: true,
            started: Instant::now(),
        }
    }

    /// Loads a CSV (plain or gzip); training data is split into train and dev with `split_key`.
    /// With a `class_count`, labelled data with a label outside `0..class_count` is refused;
    /// without one, rare labels above 0-9 come back as a warning.
    pub fn load_data(
        &mut self,
        path: PathBuf,
        role: DataRole,
        split_key: (usize, u64),
        class_count: Option<usize>,
    ) -> Task {
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
                        out.send_soon(WorkerEvent::Progress { id, fraction });
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
                    out.send(WorkerEvent::DataLoaded {
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
                Err(message) => out.send(WorkerEvent::Failed { id, message }),
            }
        });
        task
    }

    pub fn load_model(&mut self, path: PathBuf) -> Task {
        let mut task = self.task(format!("Opening model {}", file_name(&path)));
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::LoadModel, Some(id), move |out, fault| {
            fault.point();
            match model_file::load(&path) {
                Ok((model, info)) => out.send(WorkerEvent::ModelLoaded { id, path, model, info }),
                Err(e) => out.send(WorkerEvent::Failed {
                    id,
                    message: e.to_string(),
                }),
            }
        });
        task
    }

    /// Predicts the dev set (small: not shown as a task). `caption` and `live` are passed
    /// through to the [`EvalResult`].
    pub fn evaluate(&self, generation: u64, model: Arc<Mlp>, split: Arc<Split>, caption: String, live: bool) {
        self.spawn(Job::Evaluate, None, move |out, fault| {
            lower_priority();
            fault.point();
            let dev = &split.dev;
            let proba = model.predict_proba(&dev.pixels);
            let mut probs = Vec::with_capacity(dev.rows());
            let mut predictions = Vec::with_capacity(dev.rows());
            for row in proba.rows() {
                let p = row.to_vec();
                predictions.push(argmax(&p) as u8);
                probs.push(p);
            }
            let evaluation = evaluate::Evaluation::from_predictions(&predictions, &dev.labels);
            out.send(WorkerEvent::Evaluated {
                generation,
                eval: EvalResult {
                    probs,
                    predictions,
                    evaluation,
                    caption,
                    live,
                },
            });
        });
    }

    /// Trains a fresh model for `config` on a thread; `split` is reused when it was made with the
    /// config's dev size and seed.
    pub fn train(
        &self,
        config: TrainConfig,
        dataset: Arc<Dataset>,
        split: Option<Arc<Split>>,
        control: Arc<TrainControl>,
    ) {
        self.train_threads.fetch_add(1, Ordering::SeqCst);
        let alive = Alive(self.train_threads.clone());
        // Training keeps the normal priority. At nice 10 it lost the CPU to every other process
        // that woke up, the X server among them, and ran about 15% slower than the command line
        // (bench/app_vs_cli.sh); at the normal priority the scheduler still favours the UI
        // thread, which mostly sleeps: with the UI repainting continuously while `seed` trains,
        // frames stayed at p95 23 ms.
        self.spawn(Job::Train, None, move |out, fault| {
            let split = match split {
                Some(split) => split,
                None => {
                    let split = Arc::new(dataset.split(config.dev_size, config.seed));
                    out.send(WorkerEvent::TrainSplit {
                        dataset: dataset.clone(),
                        key: (config.dev_size, config.seed),
                        split: split.clone(),
                    });
                    split
                }
            };
            let mut model = train::init_model_for(&config, &dataset);
            // Left to us, the threads leave the UI a core when there are more than two. Only
            // this run's copy says so: the model records the config as the user set it (the
            // model is the same for any count).
            let threads = match config.threads {
                0 => train::threads_beside_a_ui(),
                n => n,
            };
            let run = TrainConfig {
                threads,
                ..config.clone()
            };
            let report = train::train(&mut model, &run, &split, &control, &mut |event| {
                match event {
                    // Only the latest is wanted: it waits in the control, not in the channel.
                    TrainEvent::Snapshot(snapshot) => {
                        if control.offer_snapshot(snapshot.clone()) {
                            out.send_throttled(WorkerEvent::SnapshotReady);
                        }
                    }
                    _ => out.send_throttled(WorkerEvent::Train(event.clone())),
                }
                if let TrainEvent::Progress(_) = event {
                    // Mid-run, after the plots have points.
                    fault.point();
                }
            });
            // No longer counted once the app can see the run end.
            drop(alive);
            out.send(WorkerEvent::TrainDone { model, report, config });
        });
    }

    /// Opens a file dialog on its own thread (dialogs block their thread).
    pub fn pick(&self, picker: Arc<dyn FilePicker>, action: FileAction) {
        self.spawn(Job::Pick, None, move |out, fault| {
            fault.point();
            let path = picker.pick(action);
            out.send(WorkerEvent::Picked { action, path });
        });
    }
}

/// Lowers the calling thread's CPU priority so background work never starves the UI thread of
/// the CPU (on Linux the nice value is per thread, and threads it spawns, such as the loader's
/// parsers, inherit it). Used for loading, evaluating and exporting, not for training. Linux only:
/// elsewhere the call would lower the whole process, UI thread included.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority takes no pointers and touches no memory of ours, so any arguments
        // are sound; the types come from libc's declaration for this target. PRIO_PROCESS with
        // who = 0 names the calling thread on Linux (nice values are per thread). A failure
        // (say, a sandbox forbidding it) only leaves the priority unchanged, so the result is
        // ignored.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, 10);
        }
    }
}

/// The file's name for messages (the whole path when it has none).
pub fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
