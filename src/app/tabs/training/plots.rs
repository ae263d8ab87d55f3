//! Live loss and accuracy curves against the step; earlier runs (up to 8 in all) stay as faded
//! lines, each named by its number and config label ("#2 784-16-10 gd full a=0.1").
//!
//! Two scales: accuracy (0..1) with a linear loss axis, or the error rate (1 - accuracy) and the
//! loss on logarithmic axes, where 98% and 99% accuracy (2% and 1% error) sit a factor of two
//! apart. egui_plot has no log axis: the log mode plots log10 of the value and labels the ticks
//! and the hover text with the value itself ([`to_plotted`], [`log_marks`], [`fmt_log_tick`]).

use egui::{Color32, Rect};
use egui_plot::{GridInput, GridMark, HoverPosition, Legend, Line, Plot, PlotPoints};
use serde::{Deserialize, Serialize};

use crate::train::{Length, Progress, TrainConfig};

/// Most points drawn per series; longer series are decimated for drawing only.
pub const MAX_DRAWN_POINTS: usize = 1500;

impl Run {
    /// Adds a report to the curves.
    pub fn push(&mut self, p: &Progress) {
        let run = self;
        let x = p.step as f64;
        if p.loss.is_finite() {
            run.loss.push([x, f64::from(p.loss)]);
        }
        run.train_accuracy.push([x, f64::from(p.train_accuracy)]);
        if let Some(dev) = p.dev_accuracy {
            run.dev_accuracy.push([x, f64::from(dev)]);
        }
        run.reports.push(p.clone());
    }
}

/// One training run's curves against the step.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// "#2 784-16-10 gd full a=0.1": the number and the config label.
    pub label: String,
    /// The run's number (1 for the first run since the app started).
    pub number: usize,
    /// The config label alone.
    pub config_label: String,
    pub loss: Vec<[f64; 2]>,
    pub train_accuracy: Vec<[f64; 2]>,
    pub dev_accuracy: Vec<[f64; 2]>,
    /// Every report as received (for the CSV export).
    pub reports: Vec<Progress>,
    /// Hidden from the plot (the runs table's check box).
    pub hidden: bool,
    /// A branch of another run: drawn in a colour of its own.
    pub branch: bool,
}

/// How the y axes read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlotScale {
    /// Accuracy 0..1 and the loss, both linear.
    #[default]
    Accuracy,
    /// Error rate (1 - accuracy) and the loss on logarithmic axes.
    ErrorLog,
}

impl PlotScale {
    pub const ALL: [PlotScale; 2] = [PlotScale::Accuracy, PlotScale::ErrorLog];

    pub fn title(self) -> &'static str {
        match self {
            PlotScale::Accuracy => "accuracy",
            PlotScale::ErrorLog => "error rate (log)",
        }
    }
}

/// What the user asked for on the Training tab this frame (the app carries it out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotRequest {
    ExportCsv,
    ExportPng,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PlotsPanel {
    /// Earlier runs first; the last one is the current (or latest) run.
    #[serde(skip)]
    pub runs: Vec<Run>,
    /// Runs started so far (numbers the legend; `runs` keeps only the last few).
    #[serde(skip)]
    pub started: usize,
    /// The y axes' scale.
    pub scale: PlotScale,
    /// Steps the configured run will take: the x range before the first run.
    #[serde(skip)]
    pub planned_steps: usize,
    /// Where the two plots (axes and legends included) were drawn last, in points.
    #[serde(skip)]
    pub last_rect: Option<Rect>,
    /// An export button pressed, taken by the app.
    #[serde(skip)]
    pub request: Option<PlotRequest>,
    /// The ranges the loss and the accuracy plots showed last (min and max, x and y, in plotted
    /// units).
    #[serde(skip)]
    pub shown: Option<[([f64; 2], [f64; 2]); 2]>,
    /// Where the loss and the accuracy plots were drawn last (their plot areas, in points).
    #[serde(skip)]
    pub plot_rects: Option<[Rect; 2]>,
    /// The timeline's position (run number, step): a vertical line on both plots.
    #[serde(skip)]
    pub marker: Option<(usize, usize)>,
}

const LOSS: Color32 = Color32::from_rgb(230, 140, 40);
const TRAIN: Color32 = Color32::from_rgb(70, 140, 240);
const DEV: Color32 = Color32::from_rgb(60, 190, 90);
/// Branches' colours (loss, train, dev come from one hue each, the dev line the strongest).
const BRANCH: [Color32; 4] = [
    Color32::from_rgb(200, 80, 220),
    Color32::from_rgb(230, 70, 90),
    Color32::from_rgb(40, 190, 200),
    Color32::from_rgb(220, 200, 40),
];
/// The timeline's marker.
const MARKER: Color32 = Color32::from_rgb(150, 150, 150);
/// Earlier runs keep only a little of their colour.
const FADE: f32 = 0.35;
/// Grid lines at least this far apart (egui_plot's default 8 px draws hundreds of faint lines, which
/// costs frame time under software rendering).
const GRID_SPACING: egui::Rangef = egui::Rangef { min: 28.0, max: 300.0 };
/// Runs kept on the plot, the current one included (older ones are dropped).
const MAX_RUNS: usize = 8;
/// The hint shown on the empty plots.
pub const EMPTY_HINT: &str = "Press Train to see the curves";
/// The smallest error rate and loss a log axis shows (0 has no logarithm): 0.001%, a tenth of one
/// mistake in the full training set of 41,000 rows.
pub const LOG_FLOOR: f64 = 1e-5;

/// The y ranges of the empty plots (before the first run) and their x range, 0..planned steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmptyBounds {
    pub x: (f64, f64),
    /// In plotted units (log10 of the value in the log mode).
    pub loss: (f64, f64),
    pub accuracy: (f64, f64),
}

/// What the empty plots show: steps 0..`planned` (at least 1), accuracy 0..1 and loss 0..2.5; in
/// the log mode error 0.1%..100% and loss 0.01..2.5.
pub fn empty_bounds(scale: PlotScale, planned: usize) -> EmptyBounds {
    let x = (0.0, planned.max(1) as f64);
    match scale {
        PlotScale::Accuracy => EmptyBounds {
            x,
            loss: (0.0, 2.5),
            accuracy: (0.0, 1.0),
        },
        PlotScale::ErrorLog => EmptyBounds {
            x,
            loss: (0.01f64.log10(), 2.5f64.log10()),
            accuracy: (0.001f64.log10(), 0.0),
        },
    }
}

/// The optimizer steps `config` will take on `rows` labelled rows (what the run's progress bar
/// counts to): its iterations, or its epochs times the batches per epoch.
pub fn planned_steps(config: &TrainConfig, rows: usize) -> usize {
    match config.length {
        Length::Iterations(k) => k,
        Length::Epochs(e) => {
            let n = rows.saturating_sub(config.dev_size).max(1);
            let batch = if config.batch_size == 0 || config.batch_size >= n {
                n
            } else {
                config.batch_size
            };
            e * n.div_ceil(batch)
        }
    }
}

/// Which series a value belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Series {
    Loss,
    Accuracy,
}

/// The y value plotted for `value` of `series`: the value itself, or in the log mode log10 of the
/// loss or of the error rate (1 - accuracy), floored at [`LOG_FLOOR`].
pub fn to_plotted(scale: PlotScale, series: Series, value: f64) -> f64 {
    match (scale, series) {
        (PlotScale::Accuracy, _) => value,
        (PlotScale::ErrorLog, Series::Loss) => value.max(LOG_FLOOR).log10(),
        (PlotScale::ErrorLog, Series::Accuracy) => (1.0 - value).max(LOG_FLOOR).log10(),
    }
}

/// The value a plotted y stands for on the axis: the loss or accuracy itself, or in the log mode
/// the loss or the error rate (10^y).
pub fn axis_value(scale: PlotScale, y: f64) -> f64 {
    match scale {
        PlotScale::Accuracy => y,
        PlotScale::ErrorLog => 10f64.powf(y),
    }
}

/// Grid marks for a log10 axis between `bounds` (in log10 units): every decade (strong), 2 and 5
/// times each decade, and when zoomed in the other multiples (faint).
pub fn log_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || hi - lo > 40.0 {
        return Vec::new();
    }
    let mut marks = Vec::new();
    for decade in (lo.floor() as i32 - 1)..=(hi.ceil() as i32) {
        for m in 1..10 {
            let value = f64::from(decade) + f64::from(m).log10();
            if value < lo || value > hi {
                continue;
            }
            // The step size sets how strong a line is and whether its label fits.
            let step_size = match m {
                1 => 1.0,
                2 | 5 => 2f64.log10(),
                _ => 0.1,
            };
            marks.push(GridMark { value, step_size });
        }
    }
    marks
}

/// A log axis tick: the value it stands for with one significant digit ("10%", "2%", "0.5%"
/// for rates; "2", "0.05" for the loss).
pub fn fmt_log_tick(value: f64, percent: bool) -> String {
    let shown = if percent { value * 100.0 } else { value };
    let text = fmt_significant(shown, 1);
    if percent { format!("{text}%") } else { text }
}

/// `v` with `digits` significant digits, no trailing exponent ("0.0123", "12", "1.5").
fn fmt_significant(v: f64, digits: i32) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

/// The hover text's value: 3 significant digits (a percentage for rates and accuracies).
fn fmt_hover_value(value: f64, percent: bool) -> String {
    if percent {
        format!("{}%", fmt_significant(value * 100.0, 3))
    } else {
        fmt_significant(value, 3)
    }
}

impl PlotsPanel {
    pub fn start_run(&mut self, label: String) {
        self.started += 1;
        let n = self.started;
        self.runs.push(Run {
            label: format!("#{n} {label}"),
            number: n,
            config_label: label,
            ..Run::default()
        });
        if self.runs.len() > MAX_RUNS {
            self.runs.remove(0);
        }
    }

    pub fn push(&mut self, p: &Progress) {
        if let Some(run) = self.runs.last_mut() {
            run.push(p);
        }
    }

    /// Adds a report to run `number`'s curves (an opened run may have come after it).
    pub fn push_to(&mut self, number: usize, p: &Progress) {
        if let Some(run) = self.runs.iter_mut().rev().find(|r| r.number == number) {
            run.push(p);
        }
    }

    /// Hides or shows run `number`'s curves.
    pub fn set_hidden(&mut self, number: usize, hidden: bool) {
        if let Some(run) = self.runs.iter_mut().find(|r| r.number == number) {
            run.hidden = hidden;
        }
    }

    /// Renames run `number` on the legend.
    pub fn rename(&mut self, number: usize, label: String) {
        if let Some(run) = self.runs.iter_mut().find(|r| r.number == number) {
            run.label = label;
        }
    }

    /// Removes run `number`'s curves.
    pub fn remove(&mut self, number: usize) {
        self.runs.retain(|r| r.number != number);
    }

    /// Puts back the curves of run `number` (removed by Clear earlier runs, or opened from a
    /// folder), in number order.
    pub fn restore(&mut self, run: Run) {
        self.runs.retain(|r| r.number != run.number);
        let at = self.runs.partition_point(|r| r.number < run.number);
        self.runs.insert(at, run);
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

    /// The points drawn for `points` of `series` at the current scale (decimated).
    pub fn plotted(&self, series: Series, points: &[[f64; 2]]) -> Vec<[f64; 2]> {
        let mut out = decimate(points, MAX_DRAWN_POINTS);
        for p in &mut out {
            p[1] = to_plotted(self.scale, series, p[1]);
        }
        out
    }

    /// The export button pressed since the app last asked.
    pub fn take_request(&mut self) -> Option<PlotRequest> {
        self.request.take()
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
            ui.separator();
            ui.label("Show");
            for scale in PlotScale::ALL {
                ui.selectable_value(&mut self.scale, scale, scale.title())
                    .on_hover_text(match scale {
                        PlotScale::Accuracy => "Accuracy from 0 to 1 and the loss on linear axes",
                        PlotScale::ErrorLog => {
                            "1 - accuracy and the loss on logarithmic axes: 98% and 99% accuracy are 2% and 1% error"
                        }
                    });
            }
            ui.separator();
            let has_runs = !self.runs.is_empty();
            let csv = ui
                .add_enabled(has_runs, egui::Button::new("Export curves (CSV)..."))
                .on_hover_text("Every run on the plot, one row per report");
            if csv.clicked() {
                self.request = Some(PlotRequest::ExportCsv);
            }
            let png = ui
                .add_enabled(has_runs, egui::Button::new("Save plot (PNG)..."))
                .on_hover_text("The two plots as shown, as a PNG image");
            if png.clicked() {
                self.request = Some(PlotRequest::ExportPng);
            }
            if has_runs {
                // Short enough for the 960-point minimum window; the rest in the tooltip.
                ui.weak("Double-click: fit")
                    .on_hover_text("Double-click a plot to fit it; drag to pan, scroll to zoom.");
            }
        });
        let rect = ui.vertical(|ui| self.plots(ui)).response.rect;
        self.last_rect = Some(rect);
    }

    fn plots(&mut self, ui: &mut egui::Ui) {
        let scale = self.scale;
        let empty = self.runs.is_empty();
        let height = ((ui.available_height() - 10.0) / 2.0).max(120.0);
        // A plot keeps its bounds and whether it fits its data in its memory: the empty and the
        // filled plots, and the two scales, are different plots.
        let link = ui.scope_id().with(("plots_x", empty));
        let last = self.runs.len().saturating_sub(1);
        let bounds = empty_bounds(scale, self.planned_steps);
        let log = scale == PlotScale::ErrorLog;
        let base = |id: &str, y_label: &str| {
            let mut plot = Plot::new((id.to_owned(), scale, empty))
                .show_background(false)
                .height(height)
                .grid_spacing(GRID_SPACING)
                .x_axis_label("step")
                .y_axis_label(y_label.to_owned())
                .link_axis(link, [true, false]);
            if empty {
                // Fitted to exactly these ranges every frame (no margin), so they follow the
                // configured run's length.
                plot = plot
                    .include_x(bounds.x.0)
                    .include_x(bounds.x.1)
                    .set_margin_fraction(egui::Vec2::ZERO);
            } else {
                plot = plot.include_x(0.0);
            }
            plot
        };
        // No plot background: under software rendering (Mesa llvmpipe) the extra full-area fill
        // cost about a third of the frame time (22 -> 31 fps idle on the Training tab at
        // 1400x900, measured here).
        let mut loss_plot = base("loss_plot", if log { "loss (log)" } else { "loss" })
            .legend(Legend::default().follow_insertion_order(true))
            .label_formatter(move |pos| hover_text(pos, scale, Series::Loss));
        if empty {
            loss_plot = loss_plot.include_y(bounds.loss.0).include_y(bounds.loss.1);
        } else if !log {
            loss_plot = loss_plot.include_y(0.0);
        }
        if log {
            loss_plot = loss_plot
                .y_grid_spacer(log_marks)
                .y_axis_formatter(|mark, _| fmt_log_tick(10f64.powf(mark.value), false));
        }
        let marker = self.marker.map(|(_, step)| step as f64);
        let loss_response = loss_plot.show(ui, |plot| {
            let mut branches = 0;
            for (i, run) in self.runs.iter().enumerate() {
                let current = i == last;
                let color = branch_color(run, &mut branches).unwrap_or(LOSS);
                if run.hidden {
                    continue;
                }
                let points = self.plotted(Series::Loss, &run.loss);
                plot.line(series(
                    name("loss", &run.label, current),
                    points,
                    color,
                    current || run.branch,
                ));
            }
            if let Some(x) = marker {
                plot.vline(timeline_marker(x));
            }
        });
        if empty {
            // A child that takes no room in the layout (`ui.put` would move the next plot up).
            let rect = Rect::from_center_size(loss_response.response.rect.center(), egui::vec2(320.0, 24.0));
            let mut hint = ui.new_child(
                egui::UiBuilder::new()
                    .max_rect(rect)
                    .layout(egui::Layout::top_down(egui::Align::Center)),
            );
            hint.label(egui::RichText::new(EMPTY_HINT).size(16.0).weak());
        }

        let mut accuracy_plot = base("accuracy_plot", if log { "error rate (log)" } else { "accuracy" })
            .legend(Legend::default().follow_insertion_order(true).position(if log {
                egui_plot::Corner::RightTop
            } else {
                egui_plot::Corner::RightBottom
            }))
            .label_formatter(move |pos| hover_text(pos, scale, Series::Accuracy));
        if empty {
            accuracy_plot = accuracy_plot.include_y(bounds.accuracy.0).include_y(bounds.accuracy.1);
        } else if !log {
            accuracy_plot = accuracy_plot.include_y(0.0).include_y(1.0);
        }
        if log {
            accuracy_plot = accuracy_plot
                .y_grid_spacer(log_marks)
                .y_axis_formatter(|mark, _| fmt_log_tick(10f64.powf(mark.value), true));
        }
        let accuracy_response = accuracy_plot.show(ui, |plot| {
            let mut branches = 0;
            for (i, run) in self.runs.iter().enumerate() {
                let current = i == last;
                let branch = branch_color(run, &mut branches);
                if run.hidden {
                    continue;
                }
                let strong = current || run.branch;
                let train = self.plotted(Series::Accuracy, &run.train_accuracy);
                let train_color = branch.map_or(TRAIN, |c| c.gamma_multiply(0.6));
                plot.line(series(name("train", &run.label, current), train, train_color, strong));
                let dev = self.plotted(Series::Accuracy, &run.dev_accuracy);
                plot.line(series(
                    name("dev", &run.label, current),
                    dev,
                    branch.unwrap_or(DEV),
                    strong,
                ));
            }
            if let Some(x) = marker {
                plot.vline(timeline_marker(x));
            }
        });
        let range = |r: &egui_plot::PlotResponse<()>| {
            let b = r.transform.bounds();
            (b.min(), b.max())
        };
        self.shown = Some([range(&loss_response), range(&accuracy_response)]);
        self.plot_rects = Some([loss_response.response.rect, accuracy_response.response.rect]);
    }
}

/// The text beside the pointer: the series, the step and the value it stands for.
fn hover_text(pos: &HoverPosition<'_>, scale: PlotScale, series: Series) -> Option<String> {
    let (name, position) = match pos {
        HoverPosition::NearDataPoint {
            plot_name, position, ..
        } => (*plot_name, position),
        HoverPosition::Elsewhere { position } => ("", position),
    };
    let value = axis_value(scale, position.y);
    let what = match (scale, series) {
        (_, Series::Loss) => format!("loss {}", fmt_hover_value(value, false)),
        (PlotScale::Accuracy, Series::Accuracy) => format!("accuracy {}", fmt_hover_value(value, true)),
        (PlotScale::ErrorLog, Series::Accuracy) => format!(
            "error {} (accuracy {})",
            fmt_hover_value(value, true),
            fmt_hover_value(1.0 - value, true)
        ),
    };
    let step = position.x.round().max(0.0);
    if name.is_empty() {
        Some(format!("step {step}\n{what}"))
    } else {
        Some(format!("{name}\nstep {step}\n{what}"))
    }
}

/// A branch's own colour (the next of [`BRANCH`]), None for a run from scratch.
fn branch_color(run: &Run, branches: &mut usize) -> Option<Color32> {
    if !run.branch {
        return None;
    }
    let color = BRANCH[*branches % BRANCH.len()];
    *branches += 1;
    Some(color)
}

/// The timeline's position on a plot.
fn timeline_marker(x: f64) -> egui_plot::VLine {
    egui_plot::VLine::new("timeline", x)
        .color(MARKER)
        .width(1.5)
        .style(egui_plot::LineStyle::dashed_loose())
}

fn name(what: &str, label: &str, current: bool) -> String {
    if current {
        format!("{what} {label}")
    } else {
        format!("{what} {label} (earlier)")
    }
}

fn series<'a>(name: String, points: Vec<[f64; 2]>, color: Color32, current: bool) -> Line<'a> {
    let color = if current { color } else { color.gamma_multiply(FADE) };
    Line::new(name, PlotPoints::new(points))
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

    #[test]
    fn the_log_mode_plots_the_error_rate_so_98_and_99_percent_are_apart() {
        let acc = |v| to_plotted(PlotScale::Accuracy, Series::Accuracy, v);
        let err = |v| to_plotted(PlotScale::ErrorLog, Series::Accuracy, v);
        assert_eq!(acc(0.98), 0.98);
        assert!((err(0.99) - (-2.0)).abs() < 1e-9, "1% error is 10^-2");
        assert!((err(0.9) - (-1.0)).abs() < 1e-9);
        // 98% and 99% differ by 0.01 on the accuracy axis, by log10(2) = 0.3 of a decade here.
        assert!((err(0.98) - err(0.99) - 2f64.log10()).abs() < 1e-9);
        assert!((acc(0.98) - acc(0.99)).abs() < 0.011);
        // Perfect accuracy has no logarithm: it sits at the floor.
        assert_eq!(err(1.0), LOG_FLOOR.log10());
        let loss = |v| to_plotted(PlotScale::ErrorLog, Series::Loss, v);
        assert!((loss(0.1) + 1.0).abs() < 1e-9);
        assert_eq!(to_plotted(PlotScale::Accuracy, Series::Loss, 0.1), 0.1);
        assert!((axis_value(PlotScale::ErrorLog, err(0.97)) - 0.03).abs() < 1e-9);
    }

    #[test]
    fn log_ticks_read_as_the_real_value() {
        assert_eq!(fmt_log_tick(0.1, true), "10%");
        assert_eq!(fmt_log_tick(0.02, true), "2%");
        assert_eq!(fmt_log_tick(0.01, true), "1%");
        assert_eq!(fmt_log_tick(0.005, true), "0.5%");
        assert_eq!(fmt_log_tick(1.0, true), "100%");
        assert_eq!(fmt_log_tick(0.05, false), "0.05");
        assert_eq!(fmt_log_tick(2.0, false), "2");
        // Marks at 1, 2 and 5 of each decade, decades strongest.
        let marks = log_marks(GridInput {
            bounds: (-2.1, -0.9),
            base_step_size: 0.01,
        });
        let shown: Vec<String> = marks
            .iter()
            .filter(|m| m.step_size > 0.2)
            .map(|m| fmt_log_tick(10f64.powf(m.value), true))
            .collect();
        assert_eq!(shown, ["1%", "2%", "5%", "10%"]);
        assert_eq!(marks.iter().filter(|m| m.step_size == 1.0).count(), 2);
        assert!(
            log_marks(GridInput {
                bounds: (f64::NEG_INFINITY, 0.0),
                base_step_size: 0.01
            })
            .is_empty()
        );
    }

    #[test]
    fn empty_plots_show_the_planned_steps_and_whole_ranges() {
        let b = empty_bounds(PlotScale::Accuracy, 500);
        assert_eq!(b.x, (0.0, 500.0));
        assert_eq!(b.accuracy, (0.0, 1.0));
        assert_eq!(b.loss, (0.0, 2.5));
        // Never an empty range.
        assert_eq!(empty_bounds(PlotScale::Accuracy, 0).x, (0.0, 1.0));
        let log = empty_bounds(PlotScale::ErrorLog, 100);
        assert_eq!(log.accuracy, (-3.0, 0.0), "0.1% to 100% error");
        assert!(log.loss.0 < log.loss.1 && (10f64.powf(log.loss.1) - 2.5).abs() < 1e-9);
    }

    #[test]
    fn planned_steps_count_iterations_or_batches() {
        let mut config = TrainConfig::preset(crate::train::Preset::Seed);
        config.length = Length::Iterations(500);
        assert_eq!(planned_steps(&config, 42_000), 500);
        config.length = Length::Epochs(3);
        config.batch_size = 128;
        config.dev_size = 1000;
        assert_eq!(planned_steps(&config, 42_000), 3 * 41_000usize.div_ceil(128));
        config.batch_size = 0;
        assert_eq!(planned_steps(&config, 42_000), 3, "full batch: one step per epoch");
    }

    #[test]
    fn the_scale_changes_the_drawn_points() {
        let mut panel = PlotsPanel::default();
        let points = [[0.0, 0.9], [10.0, 0.99]];
        assert_eq!(panel.plotted(Series::Accuracy, &points), points);
        panel.scale = PlotScale::ErrorLog;
        let drawn = panel.plotted(Series::Accuracy, &points);
        assert_eq!(drawn[0][0], 0.0);
        assert!(
            (drawn[0][1] + 1.0).abs() < 1e-9 && (drawn[1][1] + 2.0).abs() < 1e-9,
            "{drawn:?}"
        );
    }
}
