//! The bottom bar: the run's progress (or the last notice), frame statistics when measured, and
//! one row per background task with its progress and a Cancel button.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::app::format::fmt_duration;
use crate::app::jobs::runner::Task;
use crate::app::tabs::training::run::TrainingRun;
use crate::app::window::frame_stats::FrameStats;

/// How often the tasks' elapsed times tick while any runs.
const TASK_TICK: Duration = Duration::from_millis(250);

/// What the bar shows.
pub struct StatusView<'a> {
    pub training: Option<&'a TrainingRun>,
    pub notice: Option<&'a str>,
    pub frame_stats: &'a FrameStats,
    pub tasks: &'a [Task],
}

pub fn ui(ui: &mut egui::Ui, view: StatusView<'_>) {
    ui.horizontal(|ui| {
        if let Some(run) = view.training {
            run_status(ui, run);
        } else if let Some(notice) = view.notice {
            // One line, cut with "…" when longer than the bar; the whole text on hover.
            ui.add(egui::Label::new(notice).truncate()).on_hover_text(notice);
        } else {
            ui.weak("Ready.");
        }
        if let Some(summary) = &view.frame_stats.summary
            && view.frame_stats.enabled
        {
            ui.separator();
            ui.weak(summary);
        }
    });
    for task in view.tasks {
        ui.horizontal(|ui| {
            ui.label(&task.label);
            let bar = match task.progress {
                Some(f) => egui::ProgressBar::new(f).show_percentage(),
                None => egui::ProgressBar::new(0.0).animate(true),
            };
            ui.add(bar.desired_width(240.0));
            ui.weak(format!("{:.1} s", task.started.elapsed().as_secs_f32()));
            if task.cancellable && ui.button("Cancel").clicked() {
                // The task's thread checks the flag and reports `Failed` ("cancelled").
                task.cancel.store(true, Ordering::Relaxed);
            }
        });
    }
    if !view.tasks.is_empty() {
        ui.ctx().request_repaint_after(TASK_TICK);
    }
}

/// "Training: step 120/500 · epoch ... · 2m 05s left" and a progress bar.
fn run_status(ui: &mut egui::Ui, run: &TrainingRun) {
    let Some(p) = &run.last else {
        // Text, not a spinner: a spinner repaints at the display's rate until the first report,
        // and in software OpenGL every frame takes CPU from the threads just starting to train
        // (measured: 26 frames in the run's first 0.35 s, most of the app's lag behind the CLI).
        ui.label(format!("Starting {} ({} steps)...", run.label(), run.total_steps));
        return;
    };
    let seconds = p.elapsed.as_secs_f64().max(1e-6);
    let rate = p.step as f64 / seconds;
    let left = p.total_steps.saturating_sub(p.step) as f64 / rate.max(1e-9);
    ui.label(format!(
        "{} step {}/{} · epoch {:.2} · loss {:.4} · train {:.1}% · dev {} · {:.1} steps/s · {} left",
        if run.is_paused() { "Paused:" } else { "Training:" },
        p.step,
        p.total_steps,
        p.epoch,
        p.loss,
        p.train_accuracy * 100.0,
        run.last_dev.map_or("-".into(), |d| format!("{:.1}%", d * 100.0)),
        rate,
        fmt_duration(left)
    ));
    ui.add(
        egui::ProgressBar::new(p.step as f32 / p.total_steps.max(1) as f32)
            .desired_width(180.0)
            .show_percentage(),
    );
}
