//! Exports of the learning curves: every run on the plot as one CSV (one row per report), and the
//! two plots as a PNG cropped from a screenshot of the window. Both files are written atomically
//! on a worker thread, which reports a [`TaskEvent`]. Both obey
//! [`crate::write_guard`] like Save model: never onto a file the app has loaded, and an existing
//! file only as the user allowed; the PNG's path is checked before the screenshot is taken.
//!
//! The screenshot comes from the renderer (`ViewportCommand::Screenshot` with a callback, egui
//! 0.37's form of it): the app asks for one after a frame that drew the plots, and the callback
//! hands the image back through a [`ShotSlot`]. A renderer that cannot take screenshots (the
//! headless test harness) drops the callback unanswered; the slot then says so, and the app tells
//! the user instead of waiting forever.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use egui::{ColorImage, Rect};

use crate::atomic::write_atomic;
use crate::write_guard::{Output, PLOT_MARK};

use crate::app::App;
use crate::app::files::actions::FileAction;
use crate::app::files::save::SaveEvent;
use crate::app::files::save::WriteCheck;
use crate::app::format::file_name;
use crate::app::jobs::runner::{Task, TaskEvent};
use crate::app::tabs::Tab;
use crate::app::tabs::training::plots::Run;
use crate::app::{Job, Worker};

/// The CSV's columns, by which [`crate::write_guard`] knows an earlier export.
pub use crate::write_guard::CURVES_HEADER;

/// Writes the reports of `runs` as CSV (blank where a value is absent: the dev accuracy between
/// evaluations, a non-finite loss); returns the rows written.
pub fn write_curves(out: impl io::Write, runs: &[Run]) -> io::Result<usize> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CURVES_HEADER).map_err(io::Error::other)?;
    let mut rows = 0;
    for run in runs {
        for p in &run.reports {
            let loss = if p.loss.is_finite() {
                p.loss.to_string()
            } else {
                String::new()
            };
            w.write_record([
                run.number.to_string(),
                run.config_label.clone(),
                p.step.to_string(),
                p.epoch.to_string(),
                loss,
                p.train_accuracy.to_string(),
                p.dev_accuracy.map_or_else(String::new, |d| d.to_string()),
                p.alpha.to_string(),
                format!("{:.3}", p.elapsed.as_secs_f64()),
            ])
            .map_err(io::Error::other)?;
            rows += 1;
        }
    }
    w.flush()?;
    Ok(rows)
}

/// The pixels of `rect` (in points) in a screenshot of `size` pixels: its corner and size,
/// clamped to the image; None when nothing of it is inside.
pub fn crop_pixels(rect: Rect, pixels_per_point: f32, size: [usize; 2]) -> Option<([usize; 2], [usize; 2])> {
    let clamp = |v: f32, max: usize| (v.max(0.0).round() as usize).min(max);
    let (x0, x1) = (
        clamp(rect.min.x * pixels_per_point, size[0]),
        clamp(rect.max.x * pixels_per_point, size[0]),
    );
    let (y0, y1) = (
        clamp(rect.min.y * pixels_per_point, size[1]),
        clamp(rect.max.y * pixels_per_point, size[1]),
    );
    (x1 > x0 && y1 > y0).then_some(([x0, y0], [x1 - x0, y1 - y0]))
}

/// Encodes `image` as PNG, with [`PLOT_MARK`] by which a later save knows it may replace it.
pub fn write_png(out: impl io::Write, image: &ColorImage) -> io::Result<()> {
    let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_srgba_unmultiplied()).collect();
    let [w, h] = image.size;
    let mut encoder = png::Encoder::new(out, w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .add_text_chunk(PLOT_MARK.0.into(), PLOT_MARK.1.into())
        .map_err(io::Error::other)?;
    let mut writer = encoder.write_header().map_err(io::Error::other)?;
    writer.write_image_data(&rgba).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)
}

/// Where a screenshot request stands.
#[derive(Clone, Default)]
pub enum Shot {
    #[default]
    Waiting,
    Taken(Arc<ColorImage>),
    /// The renderer dropped the request: it takes no screenshots.
    Unavailable,
}

/// Shared between the app and the screenshot callback.
pub type ShotSlot = Arc<Mutex<Shot>>;

/// Lives in the callback: marks the slot unavailable if the callback is dropped unanswered.
struct ShotGuard {
    slot: ShotSlot,
    ctx: egui::Context,
}

impl ShotGuard {
    fn set(&self, shot: Shot) {
        if let Ok(mut s) = self.slot.lock() {
            *s = shot;
        }
        self.ctx.request_repaint();
    }
}

impl Drop for ShotGuard {
    fn drop(&mut self) {
        let waiting = self.slot.lock().is_ok_and(|s| matches!(*s, Shot::Waiting));
        if waiting {
            self.set(Shot::Unavailable);
        }
    }
}

/// A plot export between the user's choice of path and the screenshot.
pub struct PendingPlot {
    pub path: PathBuf,
    /// Its status-bar task.
    pub task: u64,
    /// The write check, run again before writing.
    pub check: WriteCheck,
    /// The path passed the check ([`SaveEvent::WriteCleared`]): the screenshot may be taken.
    pub cleared: bool,
    /// Set once the screenshot is requested: the plots' rect (points) and the scale then.
    pub requested: Option<(ShotSlot, Rect, f32)>,
}

impl Worker {
    /// Writes the curves of `runs` as one CSV, atomically, if `check` allows writing there.
    pub fn export_curves(&mut self, path: PathBuf, runs: Vec<Run>, check: WriteCheck) -> Task {
        let mut task = self.task(format!("Exporting curves to {}", file_name(&path)));
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::ExportCurves, Some(id), move |out, fault| {
            fault.point();
            if let Some(event) = check.run(id, FileAction::ExportCurves, &path, Output::Curves) {
                out.send(event);
                return;
            }
            let mut rows = 0;
            match write_atomic(&path, |w| {
                rows = write_curves(w, &runs)?;
                Ok(())
            }) {
                Ok(()) => out.send(TaskEvent::Finished {
                    id,
                    notice: format!(
                        "Wrote {rows} rows of {} run{} to {}",
                        runs.len(),
                        if runs.len() == 1 { "" } else { "s" },
                        path.display()
                    ),
                }),
                Err(e) => out.send(TaskEvent::Failed {
                    id,
                    message: format!("{}: cannot write the curves: {e}", path.display()),
                }),
            }
        });
        task
    }

    /// Checks where a plot image is to go before the screenshot is taken: reports
    /// [`SaveEvent::WriteCleared`], or the refusal or question, on task `id`.
    pub fn check_plot_path(&mut self, id: u64, path: PathBuf, check: WriteCheck) {
        self.spawn(Job::ExportPlot, Some(id), move |out, fault| {
            fault.point();
            out.send(
                check
                    .run(id, FileAction::ExportPlot, &path, Output::PlotImage)
                    .unwrap_or_else(|| SaveEvent::WriteCleared { id }.into()),
            );
        });
    }

    /// Crops `shot` to `rect` (points) and writes it as PNG, atomically, if `check` (still)
    /// allows writing there; reports on task `id`.
    pub fn export_plot_png(
        &mut self,
        id: u64,
        path: PathBuf,
        shot: Arc<ColorImage>,
        rect: Rect,
        pixels_per_point: f32,
        check: WriteCheck,
    ) {
        self.spawn(Job::ExportPlot, Some(id), move |out, fault| {
            fault.point();
            if let Some(event) = check.run(id, FileAction::ExportPlot, &path, Output::PlotImage) {
                out.send(event);
                return;
            }
            let Some((corner, size)) = crop_pixels(rect, pixels_per_point, shot.size) else {
                out.send(TaskEvent::Failed {
                    id,
                    message: "the plot was not on the screenshot: nothing was written".into(),
                });
                return;
            };
            let image = shot.region_by_pixels(corner, size);
            match write_atomic(&path, |w| write_png(w, &image)) {
                Ok(()) => out.send(TaskEvent::Finished {
                    id,
                    notice: format!("Saved the plot ({}x{} px) to {}", size[0], size[1], path.display()),
                }),
                Err(e) => out.send(TaskEvent::Failed {
                    id,
                    message: format!("{}: cannot write the plot image: {e}", path.display()),
                }),
            }
        });
    }
}

impl App {
    /// Save plot (PNG) to `path`: shows the Training tab and checks the path on a worker; the
    /// screenshot is asked for once that check passed and a frame has drawn the plots
    /// ([`App::request_plot_shot`]).
    pub(crate) fn export_plot(&mut self, path: PathBuf, check: WriteCheck) {
        if self.tabs.training.pending_plot.is_some() {
            self.messages.error = Some("A plot is being saved already: wait for it to finish.".into());
            return;
        }
        let mut task = self
            .jobs
            .runner
            .task(format!("Saving the plot to {}", file_name(&path)));
        task.cancellable = false;
        self.jobs.runner.check_plot_path(task.id, path.clone(), check.clone());
        self.tabs.training.pending_plot = Some(PendingPlot {
            path,
            task: task.id,
            check,
            cleared: false,
            requested: None,
        });
        self.jobs.tasks.push(task);
        self.settings.tab = Tab::Training;
    }

    /// The plot export on task `id` may take its screenshot.
    pub(crate) fn plot_path_cleared(&mut self, id: u64) {
        if let Some(pending) = &mut self.tabs.training.pending_plot
            && pending.task == id
        {
            pending.cleared = true;
        }
    }

    /// After the central panel: asks for a screenshot if a plot export waits and the plots were
    /// drawn this frame.
    pub(crate) fn request_plot_shot(&mut self, ctx: &egui::Context) {
        let Some(pending) = &mut self.tabs.training.pending_plot else {
            return;
        };
        let Some(rect) = self.tabs.training.plots.last_rect else {
            return;
        };
        if pending.requested.is_some() || !pending.cleared {
            return;
        }
        let slot = ShotSlot::default();
        let guard = ShotGuard {
            slot: slot.clone(),
            ctx: ctx.clone(),
        };
        ctx.request_screenshot(move |image| guard.set(Shot::Taken(image)));
        pending.requested = Some((slot, rect, ctx.pixels_per_point()));
    }

    /// Before each frame: hands a screenshot taken to a worker, or says none can be taken.
    pub(crate) fn poll_plot_shot(&mut self) {
        let shot = match self
            .tabs
            .training
            .pending_plot
            .as_ref()
            .and_then(|p| p.requested.as_ref())
        {
            Some((slot, _, _)) => slot.lock().map(|s| s.clone()).unwrap_or(Shot::Unavailable),
            None => return,
        };
        if matches!(shot, Shot::Waiting) {
            return;
        }
        let Some(PendingPlot {
            path,
            task,
            check,
            requested: Some((_, rect, pixels_per_point)),
            ..
        }) = self.tabs.training.pending_plot.take()
        else {
            return;
        };
        match shot {
            Shot::Taken(image) => self
                .jobs
                .runner
                .export_plot_png(task, path, image, rect, pixels_per_point, check),
            _ => {
                self.task_done(task);
                self.messages.notice = Some(unavailable_message(&path));
            }
        }
    }
}

fn unavailable_message(path: &Path) -> String {
    format!(
        "Save plot (PNG): this renderer gave no screenshot, so {} was not written. Export the curves \
         as CSV instead.",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Progress;
    use std::time::Duration;

    fn report(step: usize, dev: Option<f32>) -> Progress {
        Progress {
            step,
            total_steps: 4,
            epoch: step as f32 / 2.0,
            loss: if step == 3 { f32::NAN } else { 1.0 / step as f32 },
            train_accuracy: 0.5,
            dev_accuracy: dev,
            alpha: 0.1,
            elapsed: Duration::from_millis(250 * step as u64),
        }
    }

    #[test]
    fn the_csv_has_every_report_with_blanks_for_missing_values() {
        let runs = vec![Run {
            number: 3,
            config_label: "784-10-10 gd full a=0.1".into(),
            reports: vec![report(2, Some(0.75)), report(3, None)],
            ..Run::default()
        }];
        let mut out = Vec::new();
        assert_eq!(write_curves(&mut out, &runs).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CURVES_HEADER.join(","));
        assert_eq!(lines[1], "3,784-10-10 gd full a=0.1,2,1,0.5,0.5,0.75,0.1,0.500");
        assert_eq!(lines[2], "3,784-10-10 gd full a=0.1,3,1.5,,0.5,,0.1,0.750");
    }

    #[test]
    fn crops_are_in_pixels_and_inside_the_image() {
        let rect = Rect::from_min_max(egui::pos2(10.0, 20.0), egui::pos2(110.0, 70.0));
        assert_eq!(crop_pixels(rect, 2.0, [1000, 1000]), Some(([20, 40], [200, 100])));
        assert_eq!(crop_pixels(rect, 1.0, [50, 50]), Some(([10, 20], [40, 30])));
        assert_eq!(crop_pixels(rect, 1.0, [5, 5]), None);
    }

    #[test]
    fn png_round_trips() {
        let image = ColorImage::new([3, 2], vec![egui::Color32::from_rgb(10, 200, 30); 6]);
        let mut out = Vec::new();
        write_png(&mut out, &image).unwrap();
        let back = image::load_from_memory(&out).unwrap().to_rgba8();
        assert_eq!(back.dimensions(), (3, 2));
        assert_eq!(back.get_pixel(2, 1).0, [10, 200, 30, 255]);
    }

    /// (Named for `cargo test write_guard`.)
    #[test]
    fn write_guard_knows_the_png_and_csv_written_here() {
        let dir = tempfile::tempdir().unwrap();
        let image = ColorImage::new([3, 2], vec![egui::Color32::from_rgb(10, 200, 30); 6]);
        let png = dir.path().join("plot.png");
        write_atomic(&png, |w| write_png(w, &image)).unwrap();
        assert_eq!(crate::write_guard::sniff(&png), crate::write_guard::FileKind::PlotImage);
        let csv = dir.path().join("curves.csv");
        write_atomic(&csv, |w| write_curves(w, &[]).map(|_| ())).unwrap();
        assert_eq!(crate::write_guard::sniff(&csv), crate::write_guard::FileKind::Curves);
    }

    #[test]
    fn a_dropped_request_says_unavailable() {
        let slot = ShotSlot::default();
        let guard = ShotGuard {
            slot: slot.clone(),
            ctx: egui::Context::default(),
        };
        let callback = egui::ScreenshotCallback::new(move |image| guard.set(Shot::Taken(image)));
        drop(callback);
        assert!(matches!(*slot.lock().unwrap(), Shot::Unavailable));

        let slot = ShotSlot::default();
        let guard = ShotGuard {
            slot: slot.clone(),
            ctx: egui::Context::default(),
        };
        let callback = egui::ScreenshotCallback::new(move |image| guard.set(Shot::Taken(image)));
        callback.complete(Arc::new(ColorImage::new([1, 1], vec![egui::Color32::BLACK])));
        assert!(matches!(*slot.lock().unwrap(), Shot::Taken(_)));
    }
}
