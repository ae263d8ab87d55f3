//! The timeline: a slider over a run's checkpoints under the curves, and a compact one in the
//! status bar on every tab. Drag it or press Play and every view shows the model at that step;
//! Live snaps back to the running (or current) model; Train from here branches off.

use std::time::{Duration, Instant};

use crate::app::format::fmt_count;
use crate::app::runs::{Position, Runs};

/// How long Play stays on each checkpoint.
pub const PLAY_STEP: Duration = Duration::from_millis(350);

/// Play's state (the position itself is [`Runs::position`]).
#[derive(Default)]
pub struct Timeline {
    pub playing: bool,
    last_advance: Option<Instant>,
}

/// What the user did on a timeline this frame.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineAction {
    /// Go to this step of this run.
    Go {
        run: usize,
        step: usize,
    },
    Live,
    Play,
    Pause,
    /// Start a run from the checkpoint on screen with the current settings.
    TrainFromHere,
}

/// How much of the timeline to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Under the curves: slider, Play, Live, the step and Train from here.
    Full,
    /// In the status bar: a short slider and Live.
    Compact,
}

impl Timeline {
    /// The next checkpoint's step if Play is due to move on (the caller moves there).
    pub fn tick(&mut self, runs_position: Position, steps: &[usize], ctx: &egui::Context) -> Option<Option<usize>> {
        if !self.playing {
            return None;
        }
        let now = Instant::now();
        let due = self.last_advance.is_none_or(|t| now.duration_since(t) >= PLAY_STEP);
        ctx.request_repaint_after(PLAY_STEP);
        if !due {
            return None;
        }
        self.last_advance = Some(now);
        let at = match runs_position {
            Position::At { step, .. } => step,
            // Play from live starts at the beginning.
            Position::Live => return Some(steps.first().copied()),
        };
        let next = steps.iter().copied().find(|&s| s > at);
        if next.is_none() {
            self.playing = false;
        }
        Some(next)
    }

    pub fn start(&mut self) {
        self.playing = true;
        self.last_advance = None;
    }
}

/// Draws a timeline over the timeline's run and returns what the user did. `can_branch`: why
/// Train from here is unavailable (None: it is available).
pub fn ui(ui: &mut egui::Ui, runs: &Runs, size: Size, cannot_branch: Option<&str>) -> Option<TimelineAction> {
    let Some(record) = runs.timeline_record() else {
        if size == Size::Full {
            ui.weak("Timeline: train a run to go back through its checkpoints.");
        }
        return None;
    };
    let mut action = None;
    let steps: Vec<usize> = record.checkpoints.iter().map(|k| k.step()).collect();
    let last = steps.last().copied().unwrap_or(0);
    let live = runs.position == Position::Live;
    let mut step = match runs.position {
        Position::At { step, .. } => step,
        Position::Live => last,
    };
    ui.horizontal(|ui| {
        if size == Size::Full {
            ui.label(format!("Timeline of {}", record.name));
            let play = if runs.timeline.playing { "Pause" } else { "Play" };
            if ui
                .add_enabled(steps.len() > 1, egui::Button::new(play))
                .on_hover_text("Step through the run's checkpoints; every view follows")
                .clicked()
            {
                action = Some(if runs.timeline.playing {
                    TimelineAction::Pause
                } else {
                    TimelineAction::Play
                });
            }
        } else {
            ui.weak("Timeline");
        }
        let width = if size == Size::Full { 420.0 } else { 180.0 };
        ui.spacing_mut().slider_width = width;
        let slider = egui::Slider::new(&mut step, 0..=last.max(1))
            .show_value(size == Size::Full)
            .integer()
            .text(if size == Size::Full { "step" } else { "" });
        let response = ui
            .add_enabled(!steps.is_empty(), slider)
            .on_hover_text(format!(
                "{} checkpoints of {}; drag back to see every view as it was then",
                steps.len(),
                record.name
            ));
        if response.changed()
            && let Some(snapped) = record.nearest_step(step)
        {
            action = Some(TimelineAction::Go {
                run: record.id,
                step: snapped,
            });
        }
        if ui
            .add_enabled(!live, egui::Button::new("Live"))
            .on_hover_text("Back to the running model (or the current one)")
            .clicked()
        {
            action = Some(TimelineAction::Live);
        }
        match runs.on_screen() {
            Some((shown, kept)) => {
                ui.strong(format!("step {} of {}", fmt_count(kept.step()), shown.name));
            }
            None if size == Size::Full => {
                ui.weak("live");
            }
            None => {}
        }
        if size == Size::Full {
            let button = ui.add_enabled(cannot_branch.is_none(), egui::Button::new("Train from here"));
            let button = match cannot_branch {
                Some(why) => button.on_disabled_hover_text(why),
                None => button.on_hover_text(
                    "A new run from this checkpoint with the settings on the left (alpha, batch, optimizer, schedule, dropout, augmentation may differ)",
                ),
            };
            if button.clicked() {
                action = Some(TimelineAction::TrainFromHere);
            }
        }
    });
    action
}
