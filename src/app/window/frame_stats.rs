//! Frame-time measurement. While a run trains it always collects (cheap: two numbers a frame)
//! and keeps a summary every 5 s, shown nowhere. With `DIGIT_RECOGNIZER_FRAME_STATS=1` the app
//! also repaints continuously while training (to measure the frame rate it can reach, not the
//! rate events happen to arrive), shows the summary in the status bar and logs it to stderr.
//! With `=always` it measures when idle too (a baseline for the renderer alone).

use std::io::Write;
use std::time::{Duration, Instant};

pub const ENV: &str = "DIGIT_RECOGNIZER_FRAME_STATS";

#[derive(Debug)]
pub struct FrameStats {
    pub enabled: bool,
    /// `=always`: measure (and repaint continuously) when idle too, for a baseline.
    pub always: bool,
    last_frame: Option<Instant>,
    /// Time between frame starts (ms) in the current 5-second window.
    intervals: Vec<f32>,
    /// CPU time of each frame (ms): ui + tessellation + painting, as eframe measures it.
    cpu: Vec<f32>,
    window_start: Instant,
    /// The last window's summary line: what was measured, frames, interval and CPU-time
    /// percentiles.
    pub summary: Option<String>,
}

impl FrameStats {
    pub fn from_env() -> FrameStats {
        let value = std::env::var(ENV).unwrap_or_default();
        FrameStats {
            enabled: !value.is_empty() && value != "0",
            always: value == "always",
            last_frame: None,
            intervals: Vec::new(),
            cpu: Vec::new(),
            window_start: Instant::now(),
            summary: None,
        }
    }

    /// Call once per frame with eframe's CPU time of the previous frame and what is being
    /// measured (the run's label, "idle", or `None` to measure nothing and reset).
    pub fn frame(&mut self, cpu_seconds: Option<f32>, measuring: Option<&str>) {
        let now = Instant::now();
        let Some(label) = measuring else {
            self.last_frame = None;
            self.intervals.clear();
            self.cpu.clear();
            self.window_start = now;
            return;
        };
        if let Some(last) = self.last_frame {
            self.intervals.push((now - last).as_secs_f32() * 1000.0);
        }
        if let Some(cpu) = cpu_seconds {
            self.cpu.push(cpu * 1000.0);
        }
        self.last_frame = Some(now);
        if now - self.window_start >= Duration::from_secs(5) && self.intervals.len() >= 10 {
            let (i50, i95) = percentiles(&mut self.intervals);
            let (c50, c95) = percentiles(&mut self.cpu);
            let text = format!(
                "frame times [{label}]: {} frames, interval p50 {i50:.1} ms p95 {i95:.1} ms ({:.0} fps at p50), cpu p50 {c50:.1} ms p95 {c95:.1} ms",
                self.intervals.len(),
                1000.0 / i50.max(0.001)
            );
            if self.enabled {
                // Not `eprintln!`, which panics when stderr is a closed pipe.
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            self.summary = Some(text);
            self.intervals.clear();
            self.cpu.clear();
            self.window_start = now;
        }
    }
}

fn percentiles(values: &mut [f32]) -> (f32, f32) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    values.sort_by(f32::total_cmp);
    let at = |q: f32| values[((values.len() - 1) as f32 * q).round() as usize];
    (at(0.5), at(0.95))
}
