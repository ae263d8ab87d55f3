//! Helpers shared by the integration tests: CSV files made from the embedded sample, the command
//! line run as a user runs it, and (with the `gui` feature) a headless app harness. Each test
//! binary (tests/app, tests/cli, tests/library, tests/faults.rs) uses some of them.
#![allow(dead_code)]

#[cfg(feature = "gui")]
pub mod app;
pub mod bad_files;
pub mod cli;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use digit_recognizer::data::{self, DataKind, Dataset};
use digit_recognizer::embedded;

/// The embedded sample (5,000 labelled rows), loaded once per test binary.
pub fn sample() -> &'static Dataset {
    static SAMPLE: OnceLock<Dataset> = OnceLock::new();
    SAMPLE.get_or_init(|| embedded::sample().unwrap())
}

/// Sample rows `rows` as a dataset of `kind` (test: pixels only, as Kaggle's test.csv).
pub fn sample_rows(kind: DataKind, rows: std::ops::Range<usize>) -> Dataset {
    let mut subset = sample().select(&rows.collect::<Vec<_>>());
    if kind == DataKind::Test {
        subset.kind = DataKind::Test;
        subset.labels.clear();
    }
    subset
}

/// The first `rows` sample rows as CSV bytes of `kind`.
pub fn csv_of(kind: DataKind, rows: usize) -> Vec<u8> {
    csv_bytes(&sample_rows(kind, 0..rows))
}

pub fn csv_bytes(data: &Dataset) -> Vec<u8> {
    let mut out = Vec::new();
    data::write_csv(data, &mut out).unwrap();
    out
}

/// Writes `data` as a CSV at `path` (gzip-compressed when the name ends in `.gz`).
pub fn write_csv(path: &Path, data: &Dataset) {
    let bytes = csv_bytes(data);
    if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        std::fs::write(path, gz.finish().unwrap()).unwrap();
    } else {
        std::fs::write(path, bytes).unwrap();
    }
}

/// Writes `bytes` to `dir/name`; returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The seed of the property tests' CI runs: every run tries the same cases, so a failure is
/// reproducible and a pass means the same thing each time.
pub const PROPTEST_SEED: u64 = 20;

/// Proptest settings for `cases` cases: the fixed [`PROPTEST_SEED`] (`None`: a random seed, for
/// the long ignored runs; `PROPTEST_RNG_SEED` overrides both), and failures persisted to
/// `proptest-regressions/{file}.txt` (committed), whose cases are tried first on every later run.
pub fn proptest_config(cases: u32, file: &str, seed: Option<u64>) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};
    let path = format!("{}/proptest-regressions/{file}.txt", env!("CARGO_MANIFEST_DIR"));
    let defaults = Config::default(); // reads the PROPTEST_* environment variables
    let rng_seed = match (defaults.rng_seed, seed) {
        (RngSeed::Random, Some(seed)) => RngSeed::Fixed(seed),
        (chosen, _) => chosen,
    };
    Config {
        cases,
        rng_seed,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path.leak()))),
        ..defaults
    }
}
