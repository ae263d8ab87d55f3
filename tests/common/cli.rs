//! The command line run as a user runs it: the built binary, its output, and pictures to give it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use digit_recognizer::preprocess::render_large;

use super::sample;

/// The built binary, without the caller's `RUST_BACKTRACE` (messages stay as users see them).
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_digit-recognizer"));
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a run succeeded and returns its stdout.
pub fn ok(out: Output) -> String {
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    stdout(&out)
}

pub fn assert_no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "the binary panicked: {err}");
    // A panic exits 101; a signal has no code at all.
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "status {:?}: {err}",
        out.status
    );
}

/// Asserts a run failed with exit code 1 and one error line; returns that line.
pub fn fails(out: Output) -> String {
    assert_no_panic(&out);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {} stderr: {err}", stdout(&out));
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "expected one error line: {err}");
    lines[0].to_owned()
}

/// Sample row `row` re-drawn as the PNG `dir/name`: `scale` times larger on a `canvas`
/// (width, height) with its top-left corner at `at`, dark ink on light or light on dark.
pub fn drawn_png(
    dir: &Path,
    name: &str,
    row: usize,
    scale: u32,
    canvas: (u32, u32),
    at: (u32, u32),
    dark_on_light: bool,
) -> PathBuf {
    let picture = render_large(
        sample().image(row),
        scale,
        canvas.0,
        canvas.1,
        at.0,
        at.1,
        dark_on_light,
    );
    let path = dir.join(name);
    picture.save(&path).unwrap();
    path
}
