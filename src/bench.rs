//! `digit-recognizer bench`: our side of the speed comparison, measured in one process and
//! returned as JSON ([`measure`]); the command line prints it (`cli/bench.rs`), and `bench/run.sh`
//! runs it next to the Python references and prints one table.
//!
//! Every timing is a median (of repeats, or of 100-iteration / one-epoch segments). Training
//! segments exclude evaluation, like the references' timings.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ndarray::Array2;
use serde_json::{Value, json};

use crate::choice::Choice;
use crate::data::{self, Dataset, Expect, Split};
use crate::kernels::{GemmScratch, matmul_into};
use crate::network::Init;
use crate::train::{
    self, CheckpointPlan, CheckpointStore, FirstLayer, Length, Optimizer, Preset, Schedule, TrainConfig, TrainControl,
    TrainEvent,
};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Kaggle's train.csv or train.csv.gz.
    pub data: PathBuf,
    /// Kaggle's test.csv(.gz): held in memory during training for the peak-memory figure.
    pub test: Option<PathBuf>,
    /// Repeats for the load timings.
    pub repeat: usize,
    /// Shorter runs (100 seed iterations, 1 epoch) and no full `best` run.
    pub quick: bool,
    /// Measure one part only; the results then have only its keys.
    pub only: Option<BenchPart>,
}

/// The parts of the benchmark, for `--only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchPart {
    Load,
    Seed,
    Big,
    Best,
    Checkpoints,
}

impl Choice for BenchPart {
    const ALL: &'static [BenchPart] = &[
        BenchPart::Load,
        BenchPart::Seed,
        BenchPart::Big,
        BenchPart::Best,
        BenchPart::Checkpoints,
    ];
    fn name(self) -> &'static str {
        match self {
            BenchPart::Load => "load",
            BenchPart::Seed => "seed",
            BenchPart::Big => "big",
            BenchPart::Best => "best",
            BenchPart::Checkpoints => "checkpoints",
        }
    }
    fn help(self) -> &'static str {
        match self {
            BenchPart::Load => "Loading train.csv (plain and gzip)",
            BenchPart::Seed => "The notebook's 784-10-10, full batch",
            BenchPart::Big => "784-512-256-10, Adam, batch 128",
            BenchPart::Best => "The `best` preset, scored on 5,000 held-out rows",
            BenchPart::Checkpoints => {
                "What the app's checkpoints cost a run (seed, and a full best run), 5 runs with and 5 without"
            }
        }
    }
}

crate::choice::named_by_choice!(BenchPart);

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        f64::NAN
    } else {
        values[values.len() / 2]
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

fn load(path: &Path) -> Result<Dataset> {
    Ok(data::load_path(
        path,
        Expect::Any,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )?)
}

/// Decompression alone, in this process (the floor for loading a .gz).
fn gunzip_seconds(path: &Path) -> Result<f64> {
    let file = std::fs::File::open(path)?;
    let mut decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file));
    let mut buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    while decoder.read(&mut buf)? > 0 {}
    Ok(start.elapsed().as_secs_f64())
}

fn is_gzip(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 2];
    let n = std::fs::File::open(path)?.read(&mut magic)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

/// Trains and returns the per-segment training times (evaluation excluded) and the dev
/// accuracy after the run.
fn segments(config: &TrainConfig, split: &Split, segment_steps: usize) -> (Vec<f64>, f32, f64) {
    let mut config = config.clone();
    config.report_every = segment_steps;
    // Train without a dev set so no evaluation is timed; evaluate afterwards.
    let no_dev = Split {
        train: split.train.clone(),
        dev: split.train.select(&[]),
    };
    let mut model = train::init_model(&config);
    let mut marks = vec![Duration::ZERO];
    let report = train::train(&mut model, &config, &no_dev, &TrainControl::new(), &mut |e| {
        if let TrainEvent::Progress(p) = e {
            marks.push(p.elapsed);
        }
    });
    let times = marks
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]).as_secs_f64())
        .collect();
    (times, train::accuracy(&model, &split.dev), report.train_seconds)
}

/// Single-thread f32 GEMM rate of the matrix product the hidden layers use
/// ([`crate::kernels::matmul_into`]), 1024^3.
fn gemm_gflops() -> f64 {
    let n = 1024;
    let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j) % 13) as f32 * 0.1);
    let b = a.t().to_owned();
    let mut c = Array2::zeros((n, n));
    let mut scratch = GemmScratch::default();
    let times = (0..3)
        .map(|_| timed(|| matmul_into(&a.view(), &b.view(), false, &mut c.view_mut(), &mut scratch)).1)
        .collect();
    2.0 * (n * n * n) as f64 / median(times) / 1e9
}

/// FLOP of one epoch (forward + backward, dense) over `rows` rows for layer sizes `sizes`:
/// 2 per multiply-add, forward once and backward twice (dW and dA) except dA of the input.
fn epoch_flops(sizes: &[usize], rows: usize) -> f64 {
    let macs: usize = sizes.windows(2).map(|w| w[0] * w[1]).sum();
    let input_macs = sizes[0] * sizes[1];
    (2 * rows * (3 * macs - input_macs)) as f64
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Rows held out to score the `best` preset.
const BEST_HELD_OUT: usize = 5000;

fn strong2_config(threads: usize, epochs: usize, first_layer: FirstLayer) -> TrainConfig {
    // The reference's 784-512-256-10 Adam run: lr 1e-3, batch 128, no extras.
    TrainConfig {
        preset: Preset::Custom,
        hidden: vec![512, 256],
        init: Init::He,
        optimizer: Optimizer::Adam,
        alpha: 1e-3,
        schedule: Schedule::Constant,
        length: Length::Epochs(epochs),
        batch_size: 128,
        threads,
        first_layer,
        ..TrainConfig::preset(Preset::Seed)
    }
}

/// Measures what `options` asks for; `progress` hears what is being measured. Returns one JSON
/// object whose keys `bench/run.sh` and `bench/table.py` read: `load_plain_s`, `load_gz_s`,
/// `gunzip_s`, `seed`, `seed_dense_first_layer`, `seed_one_thread`, `strong2`,
/// `strong2_one_thread`, `strong2_dense_first_layer`, `best`, and for a whole run `floor`,
/// `peak_rss_mb`, `test_rows_held`, `threads`.
pub fn measure(options: &BenchOptions, progress: &mut dyn FnMut(&str)) -> Result<Value> {
    let mut out = serde_json::Map::new();
    let part = |p: BenchPart| options.only.is_none_or(|only| only == p);
    let repeat = if part(BenchPart::Load) {
        options.repeat.max(1)
    } else {
        0
    };
    progress(&format!("loading (median of {repeat})"));
    let plain_dir = tempfile_dir()?;
    let (gz_path, plain_path) = if is_gzip(&options.data)? {
        let plain = plain_dir.join("train.csv");
        let mut decoder = flate2::read::MultiGzDecoder::new(std::fs::File::open(&options.data)?);
        let mut file = std::fs::File::create(&plain)?;
        std::io::copy(&mut decoder, &mut file).context("decompressing the training data")?;
        (Some(options.data.clone()), plain)
    } else {
        (None, options.data.clone())
    };
    let mut plain_times = Vec::new();
    for _ in 0..repeat {
        plain_times.push(timed(|| load(&plain_path)).1);
    }
    if part(BenchPart::Load) {
        out.insert("load_plain_s".into(), json!(median(plain_times)));
    }
    if let Some(gz) = gz_path.as_ref().filter(|_| part(BenchPart::Load)) {
        let mut gz_times = Vec::new();
        let mut gunzip = Vec::new();
        for _ in 0..repeat {
            gz_times.push(timed(|| load(gz)).1);
            gunzip.push(gunzip_seconds(gz)?);
        }
        out.insert("load_gz_s".into(), json!(median(gz_times)));
        out.insert("gunzip_s".into(), json!(median(gunzip)));
    }
    let data = load(&plain_path)?;
    let _ = std::fs::remove_dir_all(&plain_dir);
    let test = options.test.as_deref().map(load).transpose()?;
    let split = data.split(1000, 0);

    if part(BenchPart::Seed) {
        bench_seed(options, &split, &mut out, progress);
    }
    if part(BenchPart::Big) {
        bench_big(options, &split, &mut out, progress);
    }
    if !options.quick && part(BenchPart::Best) {
        // Scored on 5,000 rows it never trained on: 1,000 cannot tell 98.8% from 99.0%.
        let held_out = data.split(BEST_HELD_OUT, 0);
        progress(&format!("best preset (full run, {BEST_HELD_OUT} rows held out)"));
        let best = TrainConfig {
            dev_size: BEST_HELD_OUT,
            ..TrainConfig::preset(Preset::Best)
        };
        let mut model = train::init_model(&best);
        let report = train::train(&mut model, &best, &held_out, &TrainControl::new(), &mut |_| {});
        out.insert(
            "best".into(),
            json!({"train_s": report.train_seconds, "held_out_accuracy": report.dev_accuracy, "held_out_rows": BEST_HELD_OUT, "train_rows": held_out.train.rows()}),
        );
    }
    // The training runs' peak with train and test held, taken before the checkpoint runs: those
    // keep up to 32 checkpoints of `best` (about 200 MB) on purpose, which is not a training cost.
    let peak_training_rss = peak_rss_mb();
    if part(BenchPart::Checkpoints) {
        bench_checkpoints(options, &split, &mut out, progress);
    }

    if options.only.is_some() {
        return Ok(Value::Object(out));
    }
    progress("GEMM rate");
    let gflops = gemm_gflops();
    let rows = split.train.rows();
    out.insert(
        "floor".into(),
        json!({
            "gemm_gflops_1thread": gflops,
            "seed_epoch_gflop": epoch_flops(&[784, 10, 10], rows) / 1e9,
            "strong2_epoch_gflop": epoch_flops(&[784, 512, 256, 10], rows) / 1e9,
            "strong2_floor_s_1thread": epoch_flops(&[784, 512, 256, 10], rows) / (gflops * 1e9),
            "train_rows": rows,
        }),
    );
    out.insert("peak_rss_mb".into(), json!(peak_training_rss));
    out.insert("test_rows_held".into(), json!(test.as_ref().map(Dataset::rows)));
    out.insert("threads".into(), json!(train::default_threads()));
    Ok(Value::Object(out))
}

/// The notebook's network: seconds per full-batch iteration, and its dense-first-layer and
/// one-thread variants.
fn bench_seed(
    options: &BenchOptions,
    split: &Split,
    out: &mut serde_json::Map<String, Value>,
    progress: &mut dyn FnMut(&str),
) {
    let seed_iterations = if options.quick { 100 } else { 500 };
    progress(&format!("seed preset, {seed_iterations} full-batch iterations"));
    let mut seed = TrainConfig::preset(Preset::Seed);
    seed.length = Length::Iterations(seed_iterations);
    let (times, dev, total) = segments(&seed, split, 100);
    out.insert(
        "seed".into(),
        json!({"s_per_iter": median(times) / 100.0, "dev_accuracy": dev, "train_s": total, "iterations": seed_iterations}),
    );
    // The choices behind that number: dense first layer, and one thread.
    for (name, first_layer, threads) in [
        ("seed_dense_first_layer", FirstLayer::Dense, 0),
        ("seed_one_thread", FirstLayer::Auto, 1),
    ] {
        progress(&format!("{name}, 100 iterations"));
        let config = TrainConfig {
            first_layer,
            threads,
            length: Length::Iterations(100),
            ..TrainConfig::preset(Preset::Seed)
        };
        let (times, _, _) = segments(&config, split, 100);
        out.insert(name.into(), json!({"s_per_iter": median(times) / 100.0}));
    }
}

/// 784-512-256-10 with Adam, batch 128: seconds per epoch and their spread, and the one-thread
/// and dense-first-layer variants.
fn bench_big(
    options: &BenchOptions,
    split: &Split,
    out: &mut serde_json::Map<String, Value>,
    progress: &mut dyn FnMut(&str),
) {
    let epochs = if options.quick { 1 } else { 5 };
    progress(&format!("784-512-256-10 Adam batch 128, {epochs} epochs"));
    let steps_per_epoch = split.train.rows().div_ceil(128);
    let (times, dev, _) = segments(&strong2_config(0, epochs, FirstLayer::Auto), split, steps_per_epoch);
    let (fastest, slowest) = (
        times.iter().copied().fold(f64::INFINITY, f64::min),
        times.iter().copied().fold(0.0, f64::max),
    );
    out.insert(
        "strong2".into(),
        json!({"s_per_epoch": median(times.clone()), "min_s": fastest, "max_s": slowest, "epoch_s": times, "dev_accuracy": dev, "epochs": epochs}),
    );
    let short = if options.quick { 1 } else { 2 };
    for (name, threads, first_layer) in [
        ("strong2_one_thread", 1, FirstLayer::Auto),
        ("strong2_dense_first_layer", 0, FirstLayer::Dense),
    ] {
        progress(&format!("{name}, {short} epochs"));
        let (times, _, _) = segments(&strong2_config(threads, short, first_layer), split, steps_per_epoch);
        out.insert(name.into(), json!({"s_per_epoch": median(times)}));
    }
}

/// What checkpoints cost a run, as the app takes them: the default plan (64 per run, dense
/// early) kept in memory in a [`CheckpointStore`] (the 256 MB budget). Runs with and without
/// alternate (the machine's drift falls on both), `repeat` of each; the medians of their
/// training times are compared. `best` is its full 30 epochs (about 4 minutes for the ten
/// runs): a shorter run would take the same 64 checkpoints more densely (3 epochs: +7%).
fn bench_checkpoints(
    options: &BenchOptions,
    split: &Split,
    out: &mut serde_json::Map<String, Value>,
    progress: &mut dyn FnMut(&str),
) {
    let repeat = if options.quick { 2 } else { 5 };
    let seed = TrainConfig {
        length: Length::Iterations(if options.quick { 100 } else { 500 }),
        ..TrainConfig::preset(Preset::Seed)
    };
    let mut best = TrainConfig::preset(Preset::Best);
    if options.quick {
        best.length = Length::Epochs(1);
    }
    for (name, config) in [("checkpoints_seed", seed), ("checkpoints_best", best)] {
        progress(&format!(
            "{name}: {repeat} runs with checkpoints and {repeat} without, alternating"
        ));
        let mut without = Vec::new();
        let mut with = Vec::new();
        let mut kept = 0;
        for _ in 0..repeat {
            let mut model = train::init_model(&config);
            let report = train::train(&mut model, &config, split, &TrainControl::new(), &mut |_| {});
            without.push(report.train_seconds);
            let mut store = CheckpointStore::default();
            let control = TrainControl::new().with_checkpoints(CheckpointPlan::default());
            let mut model = train::init_model(&config);
            let report = train::train(&mut model, &config, split, &control, &mut |e| {
                if let TrainEvent::Checkpoint(checkpoint) = e {
                    store.insert(1, checkpoint.clone());
                }
            });
            with.push(report.train_seconds);
            kept = store.steps(1).len();
        }
        let (without, with) = (median(without), median(with));
        out.insert(
            name.into(),
            json!({"without_s": without, "with_s": with, "overhead": with / without - 1.0, "kept": kept, "runs_each": repeat}),
        );
    }
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("digit-recognizer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flop_counts_match_the_reference_floors() {
        // ANCHORS.md: 1.31 GFLOP (784-10-10) and 98.7 GFLOP (784-512-256-10) per epoch of 41,000.
        assert!((epoch_flops(&[784, 10, 10], 41_000) / 1e9 - 1.31).abs() < 0.01);
        assert!((epoch_flops(&[784, 512, 256, 10], 41_000) / 1e9 - 98.7).abs() < 0.1);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
