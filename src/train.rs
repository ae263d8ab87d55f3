//! Training: full-batch gradient descent (the notebook), mini-batch SGD, momentum and Adam, with
//! L2 weight decay, dropout, shift augmentation and a learning-rate schedule.
//!
//! [`train`] runs on the caller's thread (the app puts it on a worker) and reports typed
//! [`TrainEvent`]s through a callback. A shared [`TrainControl`] pauses, resumes, cancels and
//! changes the learning rate from another thread. Results are deterministic for a given seed and
//! config, whatever the number of threads: rows are split into fixed chunks, each chunk has its
//! own seeded random stream, and the chunks' gradients are summed in a fixed order.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ndarray::s;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, PIXELS, SIDE, Split};
use crate::kernels::{Csr, CsrBuf};
use crate::network::{BatchStats, Gradients, Init, Input, Mlp, SparseBatch, Workspace, fill_shifted};

/// How the parameters are updated from the gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Plain gradient descent: `W -= alpha * dW`.
    #[value(alias = "sgd")]
    Gd,
    /// Heavy-ball momentum 0.9: `V = 0.9 V + dW; W -= alpha * V`.
    Momentum,
    /// Adam (beta1 0.9, beta2 0.999, eps 1e-8) with bias correction.
    Adam,
}

/// Writes the name a user types for a choice (`--optimizer adam`): each name is written once,
/// in the enum's `clap::ValueEnum` derive, and `Display` uses it too.
pub fn write_value_name<T: clap::ValueEnum>(value: &T, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match value.to_possible_value() {
        Some(name) => f.write_str(name.get_name()),
        None => Ok(()),
    }
}

impl std::fmt::Display for Optimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_value_name(self, f)
    }
}

/// How the learning rate changes over the run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Cosine decay from alpha to 0 over the run.
    Cosine,
    /// Multiply alpha by this factor after every epoch.
    Exponential(f32),
}

impl Schedule {
    /// What `--schedule` accepts, for help texts and errors.
    pub const CHOICES: &str = "constant, cosine or exp:G (alpha times G after every epoch)";
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "constant" => Ok(Schedule::Constant),
            "cosine" => Ok(Schedule::Cosine),
            other => match other.strip_prefix("exp:").map(str::parse::<f32>) {
                Some(Ok(g)) => Ok(Schedule::Exponential(g)),
                _ => Err(format!("{text:?} is not {}", Schedule::CHOICES)),
            },
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Constant => f.write_str("constant"),
            Schedule::Cosine => f.write_str("cosine"),
            Schedule::Exponential(g) => write!(f, "exp:{g}"),
        }
    }
}

/// Presets: `seed` is the notebook; `best` the most accurate MLP trained here in about a minute;
/// `custom` marks a config edited away from its preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The notebook: 784-10-10, full-batch gradient descent, alpha 0.1, 500 iterations.
    Seed,
    /// 784-512-256-10, Adam, cosine schedule, L2, dropout and shifts, 20 epochs.
    Best,
    /// Settings edited away from a preset (starts from `seed`).
    #[value(hide = true)]
    Custom,
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_value_name(self, f)
    }
}

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Length {
    /// Optimizer steps (for full batch, one step = one pass over the data).
    Iterations(usize),
    /// Passes over the training rows.
    Epochs(usize),
}

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub preset: Preset,
    /// Hidden layer widths; the input (784) and output (10) are implied.
    pub hidden: Vec<usize>,
    pub init: Init,
    pub optimizer: Optimizer,
    /// Learning rate.
    pub alpha: f32,
    pub schedule: Schedule,
    pub length: Length,
    /// Rows per step; 0 means the whole training set (full-batch gradient descent).
    pub batch_size: usize,
    /// L2 weight decay: adds `l2 * W` to each weight gradient.
    pub l2: f32,
    /// Probability of dropping a hidden unit during training.
    pub dropout: f32,
    /// Random shifts of up to this many pixels (0 = none).
    pub augment_shift: u8,
    /// Rows held out for the dev set.
    pub dev_size: usize,
    pub seed: u64,
    /// Emit a progress event every this many steps.
    pub report_every: usize,
    /// How the first layer reads its inputs (a speed choice; results are the same).
    pub first_layer: FirstLayer,
    /// Worker threads for the gradient (0 = one per core, at most 2). The result depends on it
    /// only through rounding.
    pub threads: usize,
}

/// How the first layer reads the pixels. Both give the same results up to rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FirstLayer {
    /// Sparse for first layers of at most 64 units, dense above.
    #[default]
    Auto,
    /// A dense matrix product over all 784 pixels.
    Dense,
    /// Only the non-zero pixels (MNIST is 81% zeros).
    Sparse,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig::preset(Preset::Seed)
    }
}

impl TrainConfig {
    pub fn preset(preset: Preset) -> TrainConfig {
        match preset {
            Preset::Seed | Preset::Custom => TrainConfig {
                preset,
                hidden: vec![10],
                init: Init::Uniform,
                optimizer: Optimizer::Gd,
                alpha: 0.10,
                schedule: Schedule::Constant,
                length: Length::Iterations(500),
                batch_size: 0,
                l2: 0.0,
                dropout: 0.0,
                augment_shift: 0,
                dev_size: 1000,
                seed: 0,
                report_every: 10,
                first_layer: FirstLayer::Auto,
                threads: 0,
            },
            Preset::Best => TrainConfig {
                preset,
                hidden: vec![512, 256],
                init: Init::He,
                optimizer: Optimizer::Adam,
                alpha: 1e-3,
                schedule: Schedule::Cosine,
                length: Length::Epochs(20),
                batch_size: 128,
                l2: 1e-5,
                dropout: 0.1,
                augment_shift: 1,
                dev_size: 1000,
                seed: 0,
                report_every: 20,
                first_layer: FirstLayer::Auto,
                threads: 0,
            },
        }
    }

    /// The preset this config is: its `preset` when every setting that shapes the model still
    /// has that preset's value, `custom` otherwise. `preset` itself keeps the preset the user
    /// started from (what Reset returns to); the seed, dev size, reporting interval, first-layer
    /// mode and thread count do not make a run custom.
    pub fn effective_preset(&self) -> Preset {
        if self.preset == Preset::Custom {
            return Preset::Custom;
        }
        let base = TrainConfig::preset(self.preset);
        let same_recipe = TrainConfig {
            seed: base.seed,
            dev_size: base.dev_size,
            report_every: base.report_every,
            first_layer: base.first_layer,
            threads: base.threads,
            ..self.clone()
        } == base;
        if same_recipe { self.preset } else { Preset::Custom }
    }

    /// `[784, hidden..., 10]`
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![PIXELS];
        sizes.extend(&self.hidden);
        sizes.push(crate::data::CLASSES);
        sizes
    }

    /// Checks the values a user can type; returns a message for the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        check_hidden(&self.hidden)?;
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(format!("alpha must be a positive number, got {}", self.alpha));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(format!("l2 must be zero or positive, got {}", self.l2));
        }
        if !(0.0..0.95).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 0.95), got {}", self.dropout));
        }
        match self.length {
            Length::Iterations(0) | Length::Epochs(0) => return Err("train for at least one step".into()),
            _ => {}
        }
        if let Schedule::Exponential(g) = self.schedule
            && !(g.is_finite() && g > 0.0 && g <= 1.0)
        {
            return Err(format!("learning-rate decay must be in (0, 1], got {g}"));
        }
        Ok(())
    }

    /// A short label for plots and logs, e.g. `784-10-10 gd a=0.1`.
    pub fn label(&self) -> String {
        let sizes: Vec<String> = self.layer_sizes().iter().map(usize::to_string).collect();
        let batch = if self.batch_size == 0 {
            "full".to_string()
        } else {
            format!("b{}", self.batch_size)
        };
        format!("{} {} {} a={}", sizes.join("-"), self.optimizer, batch, self.alpha)
    }
}

/// The most hidden layers a config may have.
pub const MAX_HIDDEN_LAYERS: usize = 8;
/// The most units a hidden layer may have.
pub const MAX_UNITS: usize = 8192;

/// Parses hidden layer sizes as a user types them: `512,256`, or `none` (or nothing) for no
/// hidden layer. Checks the limits too.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let hidden = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("{:?} is not a layer size (e.g. 512,256)", s.trim()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_hidden(&hidden)?;
    Ok(hidden)
}

fn check_hidden(hidden: &[usize]) -> Result<(), String> {
    if hidden.contains(&0) {
        return Err("hidden layer sizes must be at least 1".into());
    }
    if hidden.iter().any(|&h| h > MAX_UNITS) || hidden.len() > MAX_HIDDEN_LAYERS {
        return Err(format!("at most {MAX_HIDDEN_LAYERS} hidden layers of at most {MAX_UNITS} units"));
    }
    Ok(())
}

/// What the training loop reports.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainEvent {
    Started {
        total_steps: usize,
        steps_per_epoch: usize,
        parameters: usize,
        train_rows: usize,
        dev_rows: usize,
    },
    Progress(Progress),
    Finished(TrainReport),
}

/// A progress report: loss and train accuracy averaged over the steps since the last report.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub step: usize,
    pub total_steps: usize,
    pub epoch: f32,
    pub loss: f32,
    pub train_accuracy: f32,
    /// Accuracy on the dev set, when it was evaluated for this report.
    pub dev_accuracy: Option<f32>,
    pub alpha: f32,
    /// Training time so far, pauses excluded.
    pub elapsed: Duration,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status")]
pub enum StopReason {
    Completed,
    Cancelled,
    /// The loss became NaN or infinite; the model holds the last good parameters.
    Diverged {
        step: usize,
    },
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainReport {
    pub stop: StopReason,
    pub steps: usize,
    pub epochs: f32,
    pub final_loss: f32,
    pub train_accuracy: f32,
    pub dev_accuracy: Option<f32>,
    pub train_seconds: f64,
    pub parameters: usize,
}

impl TrainReport {
    pub fn diverged(&self) -> bool {
        matches!(self.stop, StopReason::Diverged { .. })
    }

    pub fn message(&self) -> String {
        match self.stop {
            StopReason::Completed => format!("finished {} steps in {:.1} s", self.steps, self.train_seconds),
            StopReason::Cancelled => format!("stopped at step {}", self.steps),
            StopReason::Diverged { step } => {
                format!(
                    "diverged at step {step}: the loss exploded (NaN, infinite or far above its start), try a smaller alpha"
                )
            }
        }
    }
}

/// Pause, resume, cancel and learning-rate changes from another thread.
#[derive(Debug, Default)]
pub struct TrainControl {
    cancelled: AtomicBool,
    paused: Mutex<bool>,
    wake: Condvar,
    new_alpha: Mutex<Option<f32>>,
}

impl TrainControl {
    pub fn new() -> TrainControl {
        TrainControl::default()
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        // Taking the pause lock orders this with a waiter between its check and its wait, so
        // the wake-up cannot be lost.
        drop(self.paused.lock().unwrap_or_else(|e| e.into_inner()));
        self.wake.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancelled
    }

    pub fn pause(&self) {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }

    pub fn resume(&self) {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.wake.notify_all();
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes effect at the next step.
    pub fn set_alpha(&self, alpha: f32) {
        if alpha.is_finite() && alpha > 0.0 {
            *self.new_alpha.lock().unwrap_or_else(|e| e.into_inner()) = Some(alpha);
        }
    }

    fn take_alpha(&self) -> Option<f32> {
        self.new_alpha.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Blocks (without spinning) while paused; returns the time spent waiting.
    fn wait_while_paused(&self) -> Duration {
        let start = Instant::now();
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        while *paused && !self.is_cancelled() {
            paused = self.wake.wait(paused).unwrap_or_else(|e| e.into_inner());
        }
        start.elapsed()
    }
}

/// Rows per chunk: small enough that a chunk's activations stay in cache.
const CHUNK_ROWS: usize = 256;

/// Number of worker threads for gradients when the config leaves it to us: both cores here.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 2)
}

/// Per-layer optimizer state.
struct OptimizerState {
    first: Mlp,
    second: Mlp,
    t: i32,
}

/// Trains `model` (already initialised, e.g. by [`Mlp::new`]) on `split.train`, evaluating on
/// `split.dev`. Call [`init_model`] for a fresh model from the config.
pub fn train(
    model: &mut Mlp,
    config: &TrainConfig,
    split: &Split,
    control: &TrainControl,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> TrainReport {
    let train = &split.train;
    let dev = &split.dev;
    let n = train.rows();
    let batch = if config.batch_size == 0 || config.batch_size >= n {
        n
    } else {
        config.batch_size
    };
    let steps_per_epoch = n.div_ceil(batch.max(1)).max(1);
    let total_steps = match config.length {
        Length::Iterations(k) => k,
        Length::Epochs(e) => e * steps_per_epoch,
    };
    let parameters = model.parameter_count();
    on_event(&TrainEvent::Started {
        total_steps,
        steps_per_epoch,
        parameters,
        train_rows: n,
        dev_rows: dev.rows(),
    });

    let threads = if config.threads == 0 {
        default_threads()
    } else {
        config.threads.min(64)
    };
    // At least two chunks per batch, so that both cores get work even on mini-batches; fixed
    // rather than derived from the thread count, so that the result does not depend on it.
    let capacity = CHUNK_ROWS.min(batch.div_ceil(2)).max(1);
    // Full batches without augmentation cut the rows into the same chunks every step.
    let fixed_chunks = (batch == n && config.augment_shift == 0).then_some(capacity);
    let inputs = Inputs::new(train, model, config.first_layer, fixed_chunks, control.cancel_flag());
    let mut workers = Workers {
        workspaces: (0..threads).map(|_| Workspace::new(model, capacity)).collect(),
        groups: Vec::new(),
    };
    let mut state = OptimizerState {
        first: model.zeros_like(),
        second: model.zeros_like(),
        t: 0,
    };
    let mut order: Vec<usize> = (0..n).collect();
    let mut shuffle_rng = StdRng::seed_from_u64(config.seed ^ 0x5EED_0F0D);
    let mut base_alpha = config.alpha;
    let mut last_good = model.clone();
    let mut since_report = BatchStats::default();
    let mut last_stats = BatchStats::default();
    let mut paused_time = Duration::ZERO;
    let start = Instant::now();
    let dev_every = if batch == n {
        config.report_every.max(1)
    } else {
        (steps_per_epoch / 4).max(config.report_every).max(1)
    };
    let mut stop = StopReason::Completed;
    let mut step = 0;
    let mut first_loss = None;

    while step < total_steps {
        paused_time += control.wait_while_paused();
        let Some(inputs) = inputs.as_ref().filter(|_| !control.is_cancelled() && n > 0) else {
            stop = StopReason::Cancelled;
            break;
        };
        if let Some(alpha) = control.take_alpha() {
            base_alpha = alpha;
        }
        let in_epoch = step % steps_per_epoch;
        if in_epoch == 0 && batch < n {
            order.shuffle(&mut shuffle_rng);
        }
        let rows = &order[in_epoch * batch..((in_epoch + 1) * batch).min(n)];
        let Some(stats) = batch_gradients(model, inputs, rows, config, step, &mut workers, control.cancel_flag())
        else {
            stop = StopReason::Cancelled;
            break;
        };
        let first_loss = *first_loss.get_or_insert(stats.loss());
        if diverging(stats.loss(), first_loss) {
            model.clone_from(&last_good);
            stop = StopReason::Diverged { step: step + 1 };
            break;
        }
        let alpha = scheduled_alpha(config, base_alpha, step, total_steps, steps_per_epoch);
        apply_update(model, workers.gradient(), &mut state, config, alpha, rows.len());
        step += 1;
        since_report.add(stats);
        last_stats = stats;

        if step % config.report_every.max(1) == 0 || step == total_steps {
            if !model.is_finite() {
                model.clone_from(&last_good);
                stop = StopReason::Diverged { step };
                break;
            }
            last_good.clone_from(model);
            let evaluate_dev = dev.rows() > 0 && (step % dev_every == 0 || step == total_steps);
            let dev_accuracy = evaluate_dev.then(|| accuracy(model, dev));
            on_event(&TrainEvent::Progress(Progress {
                step,
                total_steps,
                epoch: step as f32 / steps_per_epoch as f32,
                loss: since_report.loss(),
                train_accuracy: since_report.accuracy(),
                dev_accuracy,
                alpha,
                elapsed: start.elapsed().saturating_sub(paused_time),
            }));
            since_report = BatchStats::default();
        }
    }
    let train_seconds = start.elapsed().saturating_sub(paused_time).as_secs_f64();
    if stop == StopReason::Cancelled && !model.is_finite() {
        model.clone_from(&last_good);
    }
    // A finished run is scored on all its rows. A stopped or diverged one returns at once instead
    // of scoring 41,000 rows: its train accuracy is the last batches', and it claims no dev
    // accuracy (the last one measured belongs to earlier weights).
    let completed = stop == StopReason::Completed;
    let report = TrainReport {
        final_loss: last_stats.loss(),
        train_accuracy: if completed && n > 0 {
            accuracy(model, train)
        } else {
            last_stats.accuracy()
        },
        dev_accuracy: if completed && dev.rows() > 0 {
            Some(accuracy(model, dev))
        } else {
            None
        },
        stop,
        steps: step,
        epochs: step as f32 / steps_per_epoch as f32,
        train_seconds,
        parameters,
    };
    on_event(&TrainEvent::Finished(report.clone()));
    report
}

/// A run diverges when its loss becomes NaN or infinite, or explodes: the stable log-softmax
/// keeps the loss finite where the notebook's softmax overflowed, so a learning rate far too
/// large shows instead as a loss many times its starting value (and far above chance,
/// ln 10 = 2.3), after which the ReLUs die and the network outputs garbage.
fn diverging(loss: f32, first_loss: f32) -> bool {
    !loss.is_finite() || (loss > 10.0 * first_loss && loss > 10.0 * std::f32::consts::LN_10)
}

/// A freshly initialised model for `config`.
pub fn init_model(config: &TrainConfig) -> Mlp {
    Mlp::new(&config.layer_sizes(), config.init, config.seed)
}

/// Accuracy of `model` on labelled `data`.
pub fn accuracy(model: &Mlp, data: &Dataset) -> f32 {
    if data.rows() == 0 {
        return 0.0;
    }
    let predictions = model.predict(&data.pixels);
    let correct = predictions.iter().zip(&data.labels).filter(|(p, l)| p == l).count();
    correct as f32 / data.rows() as f32
}

fn scheduled_alpha(config: &TrainConfig, base: f32, step: usize, total: usize, steps_per_epoch: usize) -> f32 {
    match config.schedule {
        Schedule::Constant => base,
        Schedule::Cosine => {
            let progress = step as f32 / total.max(1) as f32;
            base * 0.5 * (1.0 + (std::f32::consts::PI * progress).cos())
        }
        Schedule::Exponential(gamma) => base * gamma.powi((step / steps_per_epoch) as i32),
    }
}

/// At most this many partial gradients per step (see [`batch_gradients`]).
const MAX_GROUPS: usize = 16;

/// Per-thread workspaces and the partial gradients of [`batch_gradients`].
struct Workers {
    workspaces: Vec<Workspace>,
    /// One partial gradient and its statistics per group of chunks; after a step the first
    /// holds the step's gradient.
    groups: Vec<Mutex<(Gradients, BatchStats)>>,
}

impl Workers {
    /// The last step's gradient.
    fn gradient(&mut self) -> &Gradients {
        &self.groups[0].get_mut().unwrap_or_else(PoisonError::into_inner).0
    }
}

/// Sums the loss gradient over `rows` into [`Workers::gradient`]. Returns `None` if cancelled
/// midway.
///
/// The rows are cut into fixed chunks, and consecutive chunks into at most [`MAX_GROUPS`]
/// groups. The threads take groups as they finish the previous one, so a thread slowed down
/// (by the UI's repaint, say) leaves more of the work to the others instead of holding up the
/// step. Each group sums its chunks in order and the groups are added in order, so the result
/// does not depend on which thread did what, nor on how many threads there are.
fn batch_gradients(
    model: &Mlp,
    data: &Inputs<'_>,
    rows: &[usize],
    config: &TrainConfig,
    step: usize,
    workers: &mut Workers,
    cancel: &AtomicBool,
) -> Option<BatchStats> {
    let capacity = workers.workspaces[0].capacity();
    let chunks: Vec<&[usize]> = rows.chunks(capacity).collect();
    let per_group = chunks.len().div_ceil(MAX_GROUPS).max(1);
    let groups = chunks.len().div_ceil(per_group);
    while workers.groups.len() < groups {
        workers
            .groups
            .push(Mutex::new((model.zeros_like(), BatchStats::default())));
    }
    let next_group = AtomicUsize::new(0);
    let (group_slots, chunks) = (&workers.groups, &chunks);
    let run = |ws: &mut Workspace| -> Option<()> {
        let mut labels = Vec::with_capacity(capacity);
        loop {
            let g = next_group.fetch_add(1, Ordering::Relaxed);
            if g >= groups {
                return Some(());
            }
            let mut slot = group_slots[g].lock().unwrap_or_else(PoisonError::into_inner);
            let (grads, stats) = &mut *slot;
            grads.fill_zero();
            *stats = BatchStats::default();
            for (c, chunk) in chunks.iter().enumerate().skip(g * per_group).take(per_group) {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                // One random stream per (seed, step, chunk): independent of which thread runs it.
                ws.rng = StdRng::seed_from_u64(
                    config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((step as u64) << 20) ^ c as u64,
                );
                labels.clear();
                labels.extend(chunk.iter().map(|&r| data.data.labels[r]));
                stats.add(data.accumulate_chunk(model, chunk, &labels, config, ws, grads));
            }
        }
    };
    let threads = workers.workspaces.len().min(groups).max(1);
    let (first, rest) = workers.workspaces.split_at_mut(1);
    let mut finished = true;
    std::thread::scope(|scope| {
        let handles: Vec<_> = rest
            .iter_mut()
            .take(threads - 1)
            .map(|ws| scope.spawn(|| run(ws)))
            .collect();
        finished &= run(&mut first[0]).is_some();
        for handle in handles {
            finished &= handle.join().ok().flatten().is_some();
        }
    });
    if !finished {
        return None;
    }
    // Added in group order into the first group (no copy: for a large network one pass over
    // the parameters per group is measurable).
    let (first, rest) = workers.groups[..groups].split_at_mut(1);
    let (sum, first_stats) = first[0].get_mut().unwrap_or_else(PoisonError::into_inner);
    let mut total = *first_stats;
    for slot in rest {
        let (grads, stats) = slot.get_mut().unwrap_or_else(PoisonError::into_inner);
        sum.add_assign(grads);
        total.add(*stats);
    }
    Some(total)
}

/// First layers at most this wide take their inputs as non-zero pixels only (measured: the
/// sparse product wins for narrow layers like the notebook's 10 units; wide layers are faster as
/// a dense matrix product, whose blocking reuses the weights from cache).
const SPARSE_MAX_OUTPUTS: usize = 64;

/// The training rows as the network consumes them.
struct Inputs<'a> {
    data: &'a Dataset,
    /// Non-zero pixels of every row, found once per run, when the first layer is narrow.
    nonzero: Option<NonZeroPixels>,
}

impl<'a> Inputs<'a> {
    /// `fixed_chunks`: the chunk size when every step cuts rows `0..n` into the same chunks,
    /// whose transposes are then made once here. `None` if cancelled while preparing.
    fn new(
        data: &'a Dataset,
        model: &Mlp,
        mode: FirstLayer,
        fixed_chunks: Option<usize>,
        cancel: &AtomicBool,
    ) -> Option<Inputs<'a>> {
        let sparse = match mode {
            FirstLayer::Auto => model.layers[0].outputs() <= SPARSE_MAX_OUTPUTS,
            FirstLayer::Dense => false,
            FirstLayer::Sparse => true,
        };
        let nonzero = if sparse {
            Some(NonZeroPixels::new(data, fixed_chunks, cancel)?)
        } else {
            None
        };
        Some(Inputs { data, nonzero })
    }

    /// Loads the chunk's rows (shifted at random when augmenting) and adds their gradient.
    fn accumulate_chunk(
        &self,
        model: &Mlp,
        rows: &[usize],
        labels: &[u8],
        config: &TrainConfig,
        ws: &mut Workspace,
        grads: &mut Gradients,
    ) -> BatchStats {
        let max = i32::from(config.augment_shift);
        let shift = |ws: &mut Workspace| {
            if max == 0 {
                (0, 0)
            } else {
                (ws.rng.random_range(-max..=max), ws.rng.random_range(-max..=max))
            }
        };
        match &self.nonzero {
            // Consecutive rows without augmentation (full batch): a view of the stored rows.
            Some(nonzero) if max == 0 && rows.windows(2).all(|w| w[1] == w[0] + 1) => {
                let images = nonzero.images.csr().row_range(rows[0], rows[0] + rows.len());
                let by_pixel = nonzero.transposed_chunk(rows[0], rows.len());
                model.accumulate_gradients(Input::Sparse { images, by_pixel }, labels, ws, grads, config.dropout)
            }
            Some(nonzero) => {
                let mut batch = std::mem::take(&mut ws.sparse);
                batch.clear();
                for &r in rows {
                    let (dx, dy) = shift(ws);
                    batch.push_row(nonzero.shifted_row(r, dx, dy));
                }
                let stats = model.accumulate_gradients(Input::sparse(batch.csr()), labels, ws, grads, config.dropout);
                ws.sparse = batch;
                stats
            }
            None => {
                let mut x = std::mem::take(&mut ws.x);
                for (i, &r) in rows.iter().enumerate() {
                    let (dx, dy) = shift(ws);
                    let mut row = x.row_mut(i);
                    fill_shifted(
                        row.as_slice_mut().expect("rows are contiguous"),
                        self.data.image(r),
                        dx,
                        dy,
                    );
                }
                let k = rows.len();
                let stats =
                    model.accumulate_gradients(Input::Dense(x.slice(s![..k, ..])), labels, ws, grads, config.dropout);
                ws.x = x;
                stats
            }
        }
    }
}

/// The non-zero pixels of every image (CSR), about a fifth of the pixels, and the transposes of
/// the fixed chunks when there are some.
struct NonZeroPixels {
    images: SparseBatch,
    /// `(chunk rows, transposes)`: chunk `c` covers rows `c * chunk rows ..`.
    transposed: Option<(usize, Vec<CsrBuf>)>,
}

impl NonZeroPixels {
    /// Scans every image once; `None` if cancelled meanwhile (the scan of 42,000 rows takes
    /// tens of milliseconds, and Stop must not wait for it).
    fn new(data: &Dataset, fixed_chunks: Option<usize>, cancel: &AtomicBool) -> Option<NonZeroPixels> {
        let mut images = SparseBatch::new();
        // MNIST is about 19% non-zero, so this rarely grows.
        images.reserve(data.rows(), data.pixels.len() / 4);
        for block in data.pixels.chunks(1024 * PIXELS) {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            images.push_images(block);
        }
        let transposed = match fixed_chunks {
            Some(chunk) => {
                let all = images.csr();
                let mut chunks = Vec::with_capacity(all.rows().div_ceil(chunk));
                for start in (0..all.rows()).step_by(chunk) {
                    if cancel.load(Ordering::Relaxed) {
                        return None;
                    }
                    let end = (start + chunk).min(all.rows());
                    chunks.push(CsrBuf::transpose(all.row_range(start, end)));
                }
                Some((chunk, chunks))
            }
            None => None,
        };
        Some(NonZeroPixels { images, transposed })
    }

    /// The transpose of rows `start..start + len` if that is one of the fixed chunks.
    fn transposed_chunk(&self, start: usize, len: usize) -> Option<Csr<'_>> {
        let (chunk, chunks) = self.transposed.as_ref()?;
        let t = chunks.get(start / chunk)?;
        (start.is_multiple_of(*chunk) && t.view().width() == len).then(|| t.view())
    }

    /// Row `r`'s entries moved by `(dx, dy)` pixels; pixels shifted off the 28x28 field are
    /// dropped.
    fn shifted_row(&self, r: usize, dx: i32, dy: i32) -> impl Iterator<Item = (u16, u8)> + '_ {
        let (columns, pixels) = self.images.csr().row(r);
        columns.iter().zip(pixels).filter_map(move |(&column, &pixel)| {
            let (x, y) = (
                i32::from(column) % SIDE as i32 + dx,
                i32::from(column) / SIDE as i32 + dy,
            );
            let inside = (0..SIDE as i32).contains(&x) && (0..SIDE as i32).contains(&y);
            inside.then_some(((y * SIDE as i32 + x) as u16, pixel))
        })
    }
}

/// One optimizer step with the gradient of the summed loss over `batch` rows.
fn apply_update(
    model: &mut Mlp,
    grads: &Gradients,
    state: &mut OptimizerState,
    config: &TrainConfig,
    alpha: f32,
    batch: usize,
) {
    state.t += 1;
    let rule = UpdateRule {
        optimizer: config.optimizer,
        alpha,
        scale: 1.0 / batch.max(1) as f32,
        correction1: 1.0 - ADAM_BETA1.powi(state.t),
        correction2: 1.0 - ADAM_BETA2.powi(state.t),
    };
    for (l, layer) in model.layers.iter_mut().enumerate() {
        let (g, m, v) = (
            &grads.layers[l],
            &mut state.first.layers[l],
            &mut state.second.layers[l],
        );
        rule.apply(
            slice_mut(&mut layer.w),
            slice(&g.w),
            slice_mut(&mut m.w),
            slice_mut(&mut v.w),
            config.l2,
        );
        // No weight decay on biases.
        rule.apply(
            slice_mut(&mut layer.b),
            slice(&g.b),
            slice_mut(&mut m.b),
            slice_mut(&mut v.b),
            0.0,
        );
    }
}

fn slice<D: ndarray::Dimension>(a: &ndarray::Array<f32, D>) -> &[f32] {
    a.as_slice().expect("parameters are contiguous")
}

fn slice_mut<D: ndarray::Dimension>(a: &mut ndarray::Array<f32, D>) -> &mut [f32] {
    a.as_slice_mut().expect("parameters are contiguous")
}

const MOMENTUM: f32 = 0.9;
const ADAM_BETA1: f32 = 0.9;
const ADAM_BETA2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;

struct UpdateRule {
    optimizer: Optimizer,
    alpha: f32,
    /// 1 / batch size: the accumulated gradient is a sum over rows.
    scale: f32,
    correction1: f32,
    correction2: f32,
}

impl UpdateRule {
    /// Updates parameters `w` from the summed gradient `dw`; `m` and `v` are the optimizer's
    /// first and second moment buffers.
    fn apply(&self, w: &mut [f32], dw: &[f32], m: &mut [f32], v: &mut [f32], l2: f32) {
        let (alpha, scale) = (self.alpha, self.scale);
        match self.optimizer {
            Optimizer::Gd => {
                for (w, &dw) in w.iter_mut().zip(dw) {
                    *w -= alpha * (dw * scale + l2 * *w);
                }
            }
            Optimizer::Momentum => {
                for ((w, &dw), m) in w.iter_mut().zip(dw).zip(m) {
                    *m = MOMENTUM * *m + dw * scale + l2 * *w;
                    *w -= alpha * *m;
                }
            }
            Optimizer::Adam => {
                let (c1, c2) = (self.correction1, self.correction2);
                for (((w, &dw), m), v) in w.iter_mut().zip(dw).zip(m).zip(v) {
                    let g = dw * scale + l2 * *w;
                    *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
                    *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
                    *w -= alpha * (*m / c1) / ((*v / c2).sqrt() + ADAM_EPS);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimises f(w) = 0.5 * sum((w - target)^2), whose gradient is w - target.
    fn minimise(optimizer: Optimizer, alpha: f32, steps: usize) -> Vec<f32> {
        let target = [3.0f32, -2.0, 0.5];
        let mut w = vec![0.0f32; 3];
        let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
        for t in 1..=steps {
            let rule = UpdateRule {
                optimizer,
                alpha,
                scale: 0.5,
                correction1: 1.0 - ADAM_BETA1.powi(t as i32),
                correction2: 1.0 - ADAM_BETA2.powi(t as i32),
            };
            // A summed gradient over a "batch" of 2 identical rows, scaled back by 1/2.
            let dw: Vec<f32> = w.iter().zip(target).map(|(w, t)| 2.0 * (w - t)).collect();
            rule.apply(&mut w, &dw, &mut m, &mut v, 0.0);
        }
        w.iter().zip(target).map(|(w, t)| (w - t).abs()).collect()
    }

    #[test]
    fn optimizers_converge_on_a_quadratic() {
        assert!(minimise(Optimizer::Gd, 0.1, 200).iter().all(|&e| e < 1e-4));
        assert!(minimise(Optimizer::Momentum, 0.05, 300).iter().all(|&e| e < 1e-4));
        assert!(minimise(Optimizer::Adam, 0.05, 2000).iter().all(|&e| e < 1e-2));
    }

    #[test]
    fn gd_step_is_exact() {
        let rule = UpdateRule {
            optimizer: Optimizer::Gd,
            alpha: 0.1,
            scale: 0.5,
            correction1: 1.0,
            correction2: 1.0,
        };
        let mut w = [1.0f32];
        rule.apply(&mut w, &[4.0], &mut [0.0], &mut [0.0], 0.5);
        // w - alpha * (dw/2 + l2*w) = 1 - 0.1 * (2 + 0.5)
        assert!((w[0] - 0.75).abs() < 1e-6);
    }

    #[test]
    fn first_adam_step_moves_by_alpha() {
        let rule = UpdateRule {
            optimizer: Optimizer::Adam,
            alpha: 0.01,
            scale: 1.0,
            correction1: 0.1,
            correction2: 0.001,
        };
        let mut w = [1.0f32, 1.0];
        rule.apply(&mut w, &[5.0, -0.001], &mut [0.0, 0.0], &mut [0.0, 0.0], 0.0);
        assert!((w[0] - 0.99).abs() < 1e-5 && (w[1] - 1.01).abs() < 1e-4, "{w:?}");
    }

    #[test]
    fn schedules() {
        let mut config = TrainConfig::preset(Preset::Best);
        assert_eq!(scheduled_alpha(&config, 1.0, 0, 100, 10), 1.0);
        assert!(scheduled_alpha(&config, 1.0, 50, 100, 10) - 0.5 < 1e-6);
        config.schedule = Schedule::Exponential(0.5);
        assert_eq!(scheduled_alpha(&config, 1.0, 25, 100, 10), 0.25);
    }

    fn small_split() -> Split {
        let data = crate::embedded::sample().unwrap();
        data.select(&(0..1200).collect::<Vec<_>>()).split(200, 3)
    }

    fn run(config: &TrainConfig, split: &Split) -> (Mlp, TrainReport) {
        let mut model = init_model(config);
        let report = train(&mut model, config, split, &TrainControl::new(), &mut |_| {});
        (model, report)
    }

    #[test]
    fn same_seed_same_model() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Best);
        config.hidden = vec![32];
        config.length = Length::Iterations(15);
        config.dropout = 0.1;
        let (a, ra) = run(&config, &split);
        let (b, rb) = run(&config, &split);
        assert_eq!(a, b);
        assert_eq!(ra.final_loss, rb.final_loss);
        config.seed = 1;
        assert_ne!(run(&config, &split).0, a);
    }

    #[test]
    fn thread_count_does_not_change_the_model() {
        let split = small_split();
        // Full batch over many chunks (the grouped path) and mini-batches, each with the sparse
        // first layer with its transposes, the sparse one with shifts, and the dense one.
        for (batch_size, hidden, shift) in [(0, 10, 0), (0, 10, 1), (64, 10, 0), (0, 80, 0)] {
            let config = TrainConfig {
                batch_size,
                hidden: vec![hidden],
                augment_shift: shift,
                length: Length::Iterations(4),
                dev_size: 0,
                ..TrainConfig::preset(Preset::Seed)
            };
            let models: Vec<Mlp> = [1, 2, 3]
                .iter()
                .map(|&threads| {
                    run(
                        &TrainConfig {
                            threads,
                            ..config.clone()
                        },
                        &split,
                    )
                    .0
                })
                .collect();
            assert_eq!(models[0], models[1], "batch {batch_size} hidden {hidden} shift {shift}");
            assert_eq!(models[0], models[2], "batch {batch_size} hidden {hidden} shift {shift}");
        }
    }

    #[test]
    fn sparse_and_dense_first_layers_agree() {
        let split = small_split();
        for shift in [0, 1] {
            let mut config = TrainConfig::preset(Preset::Seed);
            config.length = Length::Iterations(30);
            config.augment_shift = shift;
            config.first_layer = FirstLayer::Sparse;
            let (sparse, _) = run(&config, &split);
            config.first_layer = FirstLayer::Dense;
            let (dense, _) = run(&config, &split);
            for (a, b) in sparse.layers.iter().zip(&dense.layers) {
                let diff = a.w.iter().zip(&b.w).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
                assert!(diff < 1e-4, "shift {shift}: max weight difference {diff}");
            }
        }
    }

    #[test]
    fn seed_preset_learns_and_reports() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.length = Length::Iterations(200);
        let mut events = Vec::new();
        let (_, report) = {
            let mut model = init_model(&config);
            let report = train(&mut model, &config, &split, &TrainControl::new(), &mut |e| {
                events.push(e.clone())
            });
            (model, report)
        };
        assert_eq!(report.stop, StopReason::Completed);
        assert!(report.dev_accuracy.unwrap() > 0.6, "{report:?}");
        let progress: Vec<&Progress> = events
            .iter()
            .filter_map(|e| if let TrainEvent::Progress(p) = e { Some(p) } else { None })
            .collect();
        assert_eq!(progress.len(), 20);
        assert!(progress.last().unwrap().loss < progress[0].loss);
        assert!(matches!(events[0], TrainEvent::Started { total_steps: 200, .. }));
        assert!(matches!(events.last(), Some(TrainEvent::Finished(_))));
    }

    #[test]
    fn huge_alpha_diverges_and_keeps_finite_weights() {
        let split = small_split();
        let mut config = TrainConfig::preset(Preset::Seed);
        config.alpha = 10.0;
        config.length = Length::Iterations(300);
        let (model, report) = run(&config, &split);
        assert!(report.diverged(), "{report:?}");
        assert!(model.is_finite());
        assert!(report.message().contains("try a smaller alpha"));
    }

    #[test]
    fn divergence_rule() {
        assert!(diverging(f32::NAN, 2.3));
        assert!(diverging(f32::INFINITY, 2.3));
        assert!(diverging(500.0, 3.0));
        assert!(!diverging(2.4, 2.3));
        assert!(
            !diverging(25.0, 9.0),
            "a loss that starts high is not divergence by itself"
        );
    }

    #[test]
    fn validate_rejects_bad_values() {
        let mut config = TrainConfig::default();
        assert!(config.validate().is_ok());
        config.alpha = f32::NAN;
        assert!(config.validate().is_err());
        config.alpha = 0.1;
        config.hidden = vec![0];
        assert!(config.validate().is_err());
        config.hidden = vec![10];
        config.length = Length::Epochs(0);
        assert!(config.validate().is_err());
    }
}
