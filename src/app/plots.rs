//! Live loss and accuracy curves against the step; earlier runs (up to 8 in all) stay as faded
//! lines, each named by its number and config label ("#2 784-16-10 gd full a=0.1").

use egui::Color32;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::train::Progress;

/// Most points drawn per series; longer series are decimated for drawing only.
pub const MAX_DRAWN_POINTS: usize = 1500;

/// One training run's curves against the step.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub label: String,
    pub loss: Vec<[f64; 2]>,
    pub train_accuracy: Vec<[f64; 2]>,
    pub dev_accuracy: Vec<[f64; 2]>,
}

#[derive(Default)]
pub struct PlotsPanel {
    /// Earlier runs first; the last one is the current (or latest) run.
    pub runs: Vec<Run>,
    /// Runs started so far (numbers the legend; `runs` keeps only the last few).
    pub started: usize,
}

const LOSS: Color32 = Color32::from_rgb(230, 140, 40);
const TRAIN: Color32 = Color32::from_rgb(70, 140, 240);
const DEV: Color32 = Color32::from_rgb(60, 190, 90);
/// Earlier runs keep only a little of their colour.
const FADE: f32 = 0.35;
/// Grid lines at least this far apart (egui_plot's default 8 px draws hundreds of faint lines, which
/// costs frame time under software rendering).
const GRID_SPACING: egui::Rangef = egui::Rangef { min: 28.0, max: 300.0 };
/// Runs kept on the plot, the current one included (older ones are dropped).
const MAX_RUNS: usize = 8;

impl PlotsPanel {
    pub fn start_run(&mut self, label: String) {
        self.started += 1;
        let n = self.started;
        self.runs.push(Run {
            label: format!("#{n} {label}"),
            ..Run::default()
        });
        if self.runs.len() > MAX_RUNS {
            self.runs.remove(0);
        }
    }

    pub fn push(&mut self, p: &Progress) {
        let Some(run) = self.runs.last_mut() else {
            return;
        };
        let x = p.step as f64;
        if p.loss.is_finite() {
            run.loss.push([x, f64::from(p.loss)]);
        }
        run.train_accuracy.push([x, f64::from(p.train_accuracy)]);
        if let Some(dev) = p.dev_accuracy {
            run.dev_accuracy.push([x, f64::from(dev)]);
        }
    }

    /// Removes all runs but the latest.
    pub fn clear_earlier(&mut self) {
        let keep = self.runs.pop();
        self.runs.clear();
        self.runs.extend(keep);
    }

    /// Points of the current run's loss curve.
    #[cfg(any(test, feature = "test-support"))]
    pub fn current_points(&self) -> usize {
        self.runs.last().map_or(0, |r| r.loss.len())
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Learning curves");
            let earlier = self.runs.len().saturating_sub(1);
            if ui
                .add_enabled(earlier > 0, egui::Button::new("Clear earlier runs"))
                .on_hover_text("Remove the faded curves of earlier runs")
                .clicked()
            {
                self.clear_earlier();
            }
            if self.runs.is_empty() {
                ui.weak("Press Train: the curves are drawn live.");
            } else {
                ui.weak("Double-click a plot to fit it; drag to pan, scroll to zoom.");
            }
        });
        let height = ((ui.available_height() - 10.0) / 2.0).max(120.0);
        let link = ui.scope_id().with("plots_x");
        let last = self.runs.len().saturating_sub(1);
        // No plot background: under software rendering (Mesa llvmpipe) the extra full-area fill
        // cost about a third of the frame time (22 -> 31 fps idle on the Training tab at
        // 1400x900, measured here).
        Plot::new("loss_plot")
            .show_background(false)
            .height(height)
            .grid_spacing(GRID_SPACING)
            .legend(Legend::default().follow_insertion_order(true))
            .x_axis_label("step")
            .y_axis_label("loss")
            .link_axis(link, [true, false])
            .include_x(0.0)
            .include_y(0.0)
            .show(ui, |plot| {
                for (i, run) in self.runs.iter().enumerate() {
                    let current = i == last;
                    plot.line(series(name("loss", &run.label, current), &run.loss, LOSS, current));
                }
            });
        Plot::new("accuracy_plot")
            .show_background(false)
            .height(height)
            .grid_spacing(GRID_SPACING)
            .legend(
                Legend::default()
                    .follow_insertion_order(true)
                    .position(egui_plot::Corner::RightBottom),
            )
            .x_axis_label("step")
            .y_axis_label("accuracy")
            .link_axis(link, [true, false])
            .include_x(0.0)
            .include_y(0.0)
            .include_y(1.0)
            .show(ui, |plot| {
                for (i, run) in self.runs.iter().enumerate() {
                    let current = i == last;
                    plot.line(series(
                        name("train", &run.label, current),
                        &run.train_accuracy,
                        TRAIN,
                        current,
                    ));
                    plot.line(series(
                        name("dev", &run.label, current),
                        &run.dev_accuracy,
                        DEV,
                        current,
                    ));
                }
            });
    }
}

fn name(what: &str, label: &str, current: bool) -> String {
    if current {
        format!("{what} {label}")
    } else {
        format!("{what} {label} (earlier)")
    }
}

fn series<'a>(name: String, points: &[[f64; 2]], color: Color32, current: bool) -> Line<'a> {
    let color = if current { color } else { color.gamma_multiply(FADE) };
    Line::new(name, PlotPoints::new(decimate(points, MAX_DRAWN_POINTS)))
        .color(color)
        .width(if current { 2.0 } else { 1.2 })
}

/// At most about `max` points: the min and max of each bucket, so spikes stay visible, plus the
/// last point.
pub fn decimate(points: &[[f64; 2]], max: usize) -> Vec<[f64; 2]> {
    if points.len() <= max || max < 4 {
        return points.to_vec();
    }
    let buckets = max / 2;
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2 + 1);
    for chunk in points.chunks(size) {
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p[1] < chunk[lo][1] {
                lo = i;
            }
            if p[1] > chunk[hi][1] {
                hi = i;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    if out.last() != points.last() {
        out.extend(points.last());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimate_keeps_ends_and_bounds_size() {
        let points: Vec<[f64; 2]> = (0..20_000).map(|i| [i as f64, (i % 7) as f64]).collect();
        let d = decimate(&points, 1000);
        assert!(d.len() <= 1001, "{}", d.len());
        assert_eq!(d.last(), points.last());
        assert_eq!(d[0], points[0]);
        assert!(d.windows(2).all(|w| w[0][0] < w[1][0]));
        assert_eq!(decimate(&points[..10], 1000).len(), 10);
    }
}
