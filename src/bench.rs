//! `digit-recognizer bench`: our side of the speed comparison, measured in one process.
//! `bench/run.sh` runs it next to the Python references and prints one table.
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

use crate::data::{self, Dataset, Expect, Split};
use crate::kernels::{GemmScratch, matmul_into};
use crate::network::Init;
use crate::train::{self, FirstLayer, Length, Optimizer, Preset, Schedule, TrainConfig, TrainControl, TrainEvent};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Kaggle's train.csv or train.csv.gz.
    #[arg(long)]
    pub data: PathBuf,
    /// Kaggle's test.csv(.gz): held in memory during training for the peak-memory figure.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Repeats for the load timings.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Shorter runs (100 seed iterations, 1 epoch) and no full `best` run.
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Measure one part only (while working on it); the table then has only its rows.
    #[arg(long, value_enum)]
    pub only: Option<BenchPart>,
}

/// The parts of the benchmark, for `--only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchPart {
    /// Loading train.csv (plain and gzip).
    Load,
    /// The notebook's 784-10-10, full batch.
    Seed,
    /// 784-512-256-10, Adam, batch 128.
    Big,
    /// The `best` preset, scored on 5,000 held-out rows.
    Best,
}

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

pub fn run(args: BenchArgs) -> Result<()> {
    let mut out = serde_json::Map::new();
    let part = |p: BenchPart| args.only.is_none_or(|only| only == p);
    let repeat = if part(BenchPart::Load) { args.repeat.max(1) } else { 0 };
    eprintln!("bench: loading (median of {repeat})");
    let plain_dir = tempfile_dir()?;
    let (gz_path, plain_path) = if is_gzip(&args.data)? {
        let plain = plain_dir.join("train.csv");
        let mut decoder = flate2::read::MultiGzDecoder::new(std::fs::File::open(&args.data)?);
        let mut file = std::fs::File::create(&plain)?;
        std::io::copy(&mut decoder, &mut file).context("decompressing the training data")?;
        (Some(args.data.clone()), plain)
    } else {
        (None, args.data.clone())
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
    let test = args.test.as_deref().map(load).transpose()?;
    let split = data.split(1000, 0);

    if part(BenchPart::Seed) {
        bench_seed(&args, &split, &mut out);
    }
    if part(BenchPart::Big) {
        bench_big(&args, &split, &mut out);
    }
    if !args.quick && part(BenchPart::Best) {
        // Scored on 5,000 rows it never trained on: 1,000 cannot tell 98.8% from 99.0%.
        let held_out = data.split(BEST_HELD_OUT, 0);
        eprintln!("bench: best preset (full run, {BEST_HELD_OUT} rows held out)");
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

    if args.only.is_some() {
        return print_results(&args, Value::Object(out));
    }
    eprintln!("bench: GEMM rate");
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
    out.insert("peak_rss_mb".into(), json!(peak_rss_mb()));
    out.insert("test_rows_held".into(), json!(test.as_ref().map(Dataset::rows)));
    out.insert("threads".into(), json!(train::default_threads()));
    print_results(&args, Value::Object(out))
}

fn print_results(args: &BenchArgs, out: Value) -> Result<()> {
    if args.json {
        println!("{out}");
    } else {
        print_table(&out);
    }
    Ok(())
}

/// The notebook's network: seconds per full-batch iteration, and its dense-first-layer and
/// one-thread variants.
fn bench_seed(args: &BenchArgs, split: &Split, out: &mut serde_json::Map<String, Value>) {
    let seed_iterations = if args.quick { 100 } else { 500 };
    eprintln!("bench: seed preset, {seed_iterations} full-batch iterations");
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
        eprintln!("bench: {name}, 100 iterations");
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
fn bench_big(args: &BenchArgs, split: &Split, out: &mut serde_json::Map<String, Value>) {
    let epochs = if args.quick { 1 } else { 5 };
    eprintln!("bench: 784-512-256-10 Adam batch 128, {epochs} epochs");
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
    let short = if args.quick { 1 } else { 2 };
    for (name, threads, first_layer) in [
        ("strong2_one_thread", 1, FirstLayer::Auto),
        ("strong2_dense_first_layer", 0, FirstLayer::Dense),
    ] {
        eprintln!("bench: {name}, {short} epochs");
        let (times, _, _) = segments(&strong2_config(threads, short, first_layer), split, steps_per_epoch);
        out.insert(name.into(), json!({"s_per_epoch": median(times)}));
    }
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("digit-recognizer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_table(out: &Value) {
    let f = |path: &[&str]| {
        let mut v = out;
        for p in path {
            v = &v[*p];
        }
        v.as_f64().map_or("-".to_owned(), |x| format!("{x:.4}"))
    };
    println!("| measure | ours |");
    println!("| --- | --- |");
    for (name, path) in [
        ("load train.csv (s)", &["load_plain_s"][..]),
        ("load train.csv.gz (s)", &["load_gz_s"]),
        ("gzip decompression alone (s)", &["gunzip_s"]),
        ("seed: s per full-batch iteration", &["seed", "s_per_iter"]),
        ("seed: dev accuracy", &["seed", "dev_accuracy"]),
        (
            "seed, dense first layer: s/iter",
            &["seed_dense_first_layer", "s_per_iter"],
        ),
        ("seed, one thread: s/iter", &["seed_one_thread", "s_per_iter"]),
        ("784-512-256-10 Adam b128: s/epoch", &["strong2", "s_per_epoch"]),
        (
            "784-512-256-10, one thread: s/epoch",
            &["strong2_one_thread", "s_per_epoch"],
        ),
        (
            "784-512-256-10, dense first layer: s/epoch",
            &["strong2_dense_first_layer", "s_per_epoch"],
        ),
        (
            "784-512-256-10 FLOP floor, 1 thread (s)",
            &["floor", "strong2_floor_s_1thread"],
        ),
        ("GEMM GFLOP/s, 1 thread", &["floor", "gemm_gflops_1thread"]),
        ("best preset: train s", &["best", "train_s"]),
        ("best preset: held-out accuracy", &["best", "held_out_accuracy"]),
        ("peak RSS (MB)", &["peak_rss_mb"]),
    ] {
        println!("| {name} | {} |", f(path));
    }
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
