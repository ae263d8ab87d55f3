//! `digit-recognizer bench`: its flags, and the results of [`crate::bench::measure`] printed as
//! JSON (for `bench/run.sh`) or as a Markdown table.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::Value;

use super::choices::choice;
use crate::bench::{BenchOptions, BenchPart, measure};

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
    #[arg(long, value_parser = choice::<BenchPart>())]
    pub only: Option<BenchPart>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let options = BenchOptions {
        data: args.data,
        test: args.test,
        repeat: args.repeat,
        quick: args.quick,
        only: args.only,
    };
    let out = measure(&options, &mut |stage| eprintln!("bench: {stage}"))?;
    if args.json {
        println!("{out}");
    } else {
        print_table(&out);
    }
    Ok(())
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
