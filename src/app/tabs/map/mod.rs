//! The Map tab: the dev digits as points in 2-D, projected linearly from one layer of the model
//! shown (a hidden layer, or the output probabilities) onto principal axes, one colour per true
//! label, mistakes crossed. The axes are the current model's PCA by default (the final model of a
//! run, so a timeline moving the model shown moves the points, not the axes); "Fix axes here"
//! pins those on screen. The points move smoothly to each new model state (a live run's
//! snapshots), computed off the UI thread. Hover a point for the digit; click it to open it in
//! Samples. Each point keeps its coordinates on the top six axes: "Tour" turns the view slowly
//! through them (a grand tour) and the axes' handles steer it, while the projection stays fixed.
//!
//! `compute.rs` does the work on a [`Latest`] worker; `paint.rs` draws the points as one mesh;
//! `tour.rs` is the view's frame, its tour and its handles.

pub mod compute;
pub mod paint;
pub mod tour;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use egui::{Color32, ColorImage, Pos2, Rect, Sense, TextureHandle, TextureOptions, Vec2};
use serde::{Deserialize, Serialize};

use crate::app::jobs::background::Latest;
use crate::class_map::MapLayer;
use crate::data::{Split, class_name};
use crate::network::Mlp;

use compute::{Axes, AxesFrom, JobKey, MapPoints};
use tour::{Coords, Tour};

/// What the Map tab shows.
pub struct MapView<'a> {
    /// The model shown (a live run's snapshot, or the state a timeline points at), its key and
    /// caption.
    pub shown: Option<(&'a Arc<Mlp>, u64, &'a str)>,
    /// The current model (a finished run's final one) whose PCA gives the axes by default, its key
    /// and name; None while a run trains (there is no final model yet).
    pub current: Option<(&'a Arc<Mlp>, u64, &'a str)>,
    /// The data, with the dev set's key.
    pub dev: Option<(&'a Arc<Split>, u64)>,
    pub class_names: &'a [String],
}

/// What a click on the map asks of the app. The map's point `i` is dev row `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapAction {
    /// Show dev row `row` in the Samples tab (its probabilities and explanation): a click.
    OpenInSamples(usize),
    /// Show dev row `row` in the Math tab (the notebook's step on it, line by line): a
    /// right-click's menu, or Ctrl+click.
    OpenInMath(usize),
}

/// What the current model's axes were computed for: its key, the layer, the dev set's key and
/// the number of points.
type CurrentAxesKey = (u64, MapLayer, u64, usize);

/// Seconds a point takes to glide to its place in a new map.
const GLIDE: f64 = 0.35;
/// Most points the map shows.
pub const MAX_POINTS: usize = 5000;

/// Pins get distinct ids, so a new pin is a new computation.
static PIN_IDS: AtomicU64 = AtomicU64::new(1);

/// The Map tab: its settings (persisted) and what it shows.
#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct MapTab {
    /// The layer mapped; None: the last hidden layer (the output when there is none).
    pub layer: Option<MapLayer>,
    /// Dev rows shown (the first ones of the shuffled dev set).
    pub points: usize,
    /// Axes pinned by "Fix axes here".
    #[serde(skip)]
    pinned: Option<(u64, Arc<Axes>)>,
    /// The current model's axes, once computed: (its key, layer, dev key, points) and the axes.
    #[serde(skip)]
    current_axes: Option<(CurrentAxesKey, Arc<Axes>)>,
    #[serde(skip)]
    job: Latest<JobKey, Result<Arc<MapPoints>, String>>,
    /// The map on screen and where its points come from while they glide.
    #[serde(skip)]
    shown: Option<Shown>,
    /// The hovered row's picture: (dev key, row) and its texture.
    #[serde(skip)]
    hover_image: Option<((u64, usize), TextureHandle)>,
    /// Where the last frame drew each point (row order), for hovering and tests.
    #[serde(skip)]
    drawn: Vec<Pos2>,
    /// The row right-clicked, whose menu is open.
    #[serde(skip)]
    menu_row: Option<usize>,
    /// How the points' coordinates on the axes are viewed: axes 1 and 2, or a grand tour.
    #[serde(skip)]
    tour: Tour,
}

impl Default for MapTab {
    fn default() -> Self {
        MapTab {
            layer: None,
            points: 2000,
            pinned: None,
            current_axes: None,
            job: Latest::default(),
            shown: None,
            hover_image: None,
            drawn: Vec::new(),
            menu_row: None,
            tour: Tour::default(),
        }
    }
}

/// A map on screen, gliding from `from` (its coordinates, extent and reach) to its points.
struct Shown {
    key: JobKey,
    points: Arc<MapPoints>,
    from: Vec<Coords>,
    from_bounds: [f32; 4],
    from_reach: f32,
    started: f64,
}

impl Shown {
    /// How far the glide is, eased: 0 at the start, 1 when done.
    fn progress(&self, now: f64) -> f32 {
        let t = ((now - self.started) / GLIDE).clamp(0.0, 1.0) as f32;
        t * t * (3.0 - 2.0 * t)
    }

    /// The points' coordinates at `now`, gliding from `from`.
    fn coords_at(&self, now: f64) -> impl Iterator<Item = Coords> + '_ {
        let t = self.progress(now);
        let to = &self.points.coords;
        let gliding = t < 1.0 && self.from.len() == to.len();
        to.iter()
            .enumerate()
            .map(move |(i, b)| if gliding { lerp_coords(&self.from[i], b, t) } else { *b })
    }

    /// The extent fitted to axes 1 and 2, and the reach over all axes, at `now`.
    fn extent_at(&self, now: f64) -> ([f32; 4], f32) {
        let t = self.progress(now);
        let axes = &self.points.axes;
        if t >= 1.0 {
            return (axes.bounds, axes.reach);
        }
        let lerp = |a: f32, b: f32| a + (b - a) * t;
        let bounds = std::array::from_fn(|i| lerp(self.from_bounds[i], axes.bounds[i]));
        (bounds, lerp(self.from_reach, axes.reach))
    }

    /// Each point's screen position at `now`, seen through `frame`, into `out` (reused: no
    /// allocation per frame).
    fn place(&self, now: f64, frame: &tour::Frame, to_screen: impl Fn([f32; 2]) -> Pos2, out: &mut Vec<Pos2>) {
        out.clear();
        out.extend(self.coords_at(now).map(|c| to_screen(frame.project(&c))));
    }
}

/// `a` moved a share `t` of the way to `b`.
fn lerp_coords(a: &Coords, b: &Coords, t: f32) -> Coords {
    std::array::from_fn(|i| a[i] + (b[i] - a[i]) * t)
}

impl MapTab {
    /// The layer mapped for `model`: the one chosen if the model has it, else the default.
    pub fn layer_for(&self, model: &Mlp) -> MapLayer {
        match self.layer {
            Some(layer) if layer.width(model).is_some() => layer,
            _ => match model.layers.len() {
                0 | 1 => MapLayer::Output,
                n => MapLayer::Hidden(n - 2),
            },
        }
    }

    /// Whether the axes are pinned.
    pub fn is_pinned(&self) -> bool {
        self.pinned.is_some()
    }

    /// The map on screen: the axes' source and the points' coordinates on the axes (for tests and
    /// captions).
    pub fn current_map(&self) -> Option<(&str, &[Coords])> {
        self.shown
            .as_ref()
            .map(|s| (s.points.axes.source.as_str(), s.points.coords.as_slice()))
    }

    /// Where the last frame drew each dev row's point (row `i` at index `i`).
    pub fn drawn_points(&self) -> &[Pos2] {
        &self.drawn
    }

    /// The key of the model the map on screen was computed for.
    pub fn mapped_model(&self) -> Option<u64> {
        self.shown.as_ref().map(|s| s.key.model)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, view: MapView<'_>) -> Option<MapAction> {
        ui.heading("Class map");
        let Some((split, dev_key)) = view.dev else {
            ui.label("No training data: open a training CSV.");
            return None;
        };
        let Some((model, model_key, caption)) = view.shown else {
            ui.label("No model: train one or open a model file.");
            return None;
        };
        if split.dev.rows() == 0 {
            ui.label("The dev set is empty: set a dev size and train.");
            return None;
        }
        let layer = self.layer_for(model);
        let max_points = split.dev.rows().min(MAX_POINTS);
        let now = ui.input(|i| i.time);
        ui.horizontal(|ui| {
            let mut chosen = layer;
            egui::ComboBox::from_label("Layer")
                .selected_text(layer.describe(model))
                .show_ui(ui, |ui| {
                    for choice in MapLayer::all(model) {
                        ui.selectable_value(&mut chosen, choice, choice.describe(model));
                    }
                });
            if chosen != layer {
                self.layer = Some(chosen);
            }
            ui.add(
                egui::Slider::new(&mut self.points, 100.min(max_points)..=max_points)
                    .text("dev digits")
                    .logarithmic(true),
            );
            match &self.pinned {
                Some(_) => {
                    if ui
                        .button("Unpin axes")
                        .on_hover_text("Axes from the current model again")
                        .clicked()
                    {
                        self.pinned = None;
                    }
                }
                None => {
                    let on_screen = self.shown.as_ref().map(|s| s.points.axes.clone());
                    let pin = ui.add_enabled(on_screen.is_some(), egui::Button::new("Fix axes here"));
                    if pin
                        .on_hover_text(
                            "Keep these axes while the model changes (training, a timeline), \
                             so that motion on the map is the network changing",
                        )
                        .clicked()
                        && let Some(axes) = on_screen
                    {
                        self.pinned = Some((PIN_IDS.fetch_add(1, Ordering::Relaxed), axes));
                    }
                }
            }
            self.view_controls(ui, now);
        });
        let layer = self.layer_for(model);
        let points = self.points.clamp(1, max_points);
        let axes_from = self.axes_from(model, view.current, layer, dev_key, points);
        let key = JobKey {
            model: model_key,
            dev: dev_key,
            layer,
            points,
            axes: match &axes_from {
                AxesFrom::Own(_) => (0, 0),
                AxesFrom::Pinned(id, _) => (1, *id),
                AxesFrom::Current(_, key, _, _) => (2, *key),
            },
        };
        let (model_arc, split_arc, shown_caption) = (model.clone(), split.clone(), caption.to_owned());
        let latest = self
            .job
            .get(ui.ctx(), key.clone(), move || {
                compute::compute(&model_arc, &shown_caption, &split_arc, layer, points, axes_from).map(Arc::new)
            })
            .map(|(k, result)| (k.clone(), result.clone()));
        if let Some((done_key, result)) = latest {
            match result {
                Ok(points) => {
                    if self.shown.as_ref().is_none_or(|s| s.key != done_key) {
                        self.start_glide(done_key, points, now);
                    }
                }
                Err(why) => {
                    if done_key == key {
                        ui.colored_label(ui.visuals().warn_fg_color, why);
                    }
                }
            }
        }
        let Some(shown) = &self.shown else {
            ui.spinner();
            return None;
        };
        self.caption(ui, model, shown, key.model != shown.key.model);
        let action = self.canvas(ui, split, dev_key, view.class_names, now);
        Self::legend(ui, view.class_names);
        action
    }

    /// Where this frame's map takes its axes from.
    fn axes_from(
        &mut self,
        model: &Mlp,
        current: Option<(&Arc<Mlp>, u64, &str)>,
        layer: MapLayer,
        dev_key: u64,
        points: usize,
    ) -> AxesFrom {
        if let Some((id, axes)) = &self.pinned {
            return AxesFrom::Pinned(*id, axes.clone());
        }
        let previous = self.shown.as_ref().map(|s| s.points.axes.clone());
        let Some((current, current_key, name)) = current.filter(|(c, _, _)| c.sizes() == model.sizes()) else {
            return AxesFrom::Own(previous);
        };
        // The current model's axes, once computed, are kept for every state it is compared with.
        let wanted = (current_key, layer, dev_key, points);
        if let Some(shown) = &self.shown
            && shown.key.axes == (2, current_key)
            && (shown.key.layer, shown.key.dev, shown.key.points) == (layer, dev_key, points)
        {
            self.current_axes = Some((wanted, shown.points.axes.clone()));
        }
        let cached = self
            .current_axes
            .as_ref()
            .filter(|(k, _)| *k == wanted)
            .map(|(_, a)| a.clone());
        AxesFrom::Current(current.clone(), current_key, name.to_owned(), cached.ok_or(previous))
    }

    /// The Tour switch and Reset view.
    fn view_controls(&mut self, ui: &mut egui::Ui, now: f64) {
        let axes = self.shown.as_ref().map_or(0, |s| s.points.axes.projection.axis_count());
        let mut touring = self.tour.is_touring();
        let toggle = ui
            .add_enabled(axes >= 2, egui::Checkbox::new(&mut touring, "Tour"))
            .on_hover_text(format!(
                "A grand tour: the view turns slowly through the top {axes} principal axes (the \
                 projection stays, so the points still move only when the network changes). Drag \
                 an axis's end to steer."
            ));
        if toggle.changed() {
            self.tour.set_touring(touring);
        }
        let reset = ui.add_enabled(!self.tour.is_default_view(), egui::Button::new("Reset view"));
        if reset.on_hover_text("Back to axes 1 and 2").clicked() {
            self.tour.reset(now);
        }
    }

    fn start_glide(&mut self, key: JobKey, points: Arc<MapPoints>, now: f64) {
        // Points glide only between maps of the same dev rows.
        let ((from_bounds, from_reach), from) = match &self.shown {
            Some(s) if (s.key.dev, s.key.points) == (key.dev, key.points) => {
                (s.extent_at(now), s.coords_at(now).collect())
            }
            _ => ((points.axes.bounds, points.axes.reach), Vec::new()),
        };
        self.shown = Some(Shown {
            key,
            points,
            from,
            from_bounds,
            from_reach,
            started: now,
        });
    }

    fn caption(&self, ui: &mut egui::Ui, model: &Mlp, shown: &Shown, updating: bool) {
        let axes = &shown.points.axes;
        let layer = axes.layer.describe(model);
        let count = axes.projection.axis_count();
        let kept = if self.tour.is_default_view() {
            format!("They keep {:.0}%", 100.0 * axes.projection.explained(2))
        } else {
            format!("The {count} axes keep {:.0}%", 100.0 * axes.projection.explained(count))
        };
        let source = match shown.key.axes.0 {
            1 => format!("Axes fixed: the PCA of {layer} at {}.", axes.source),
            2 => format!(
                "Axes: the PCA of {layer} of the current model, {} (kept while the model shown changes).",
                axes.source
            ),
            _ => format!(
                "Axes: the PCA of {layer} of the model shown, refitted as it changes (Fix axes here to hold them)."
            ),
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(source);
            ui.label(self.tour.describe(count));
            ui.weak(format!(
                "{kept} of that model's variance. A linear map: a point that moves moved because the network changed."
            ));
            if updating {
                ui.spinner();
            }
        });
    }

    /// The points, with hover and click; returns a click's action.
    fn canvas(
        &mut self,
        ui: &mut egui::Ui,
        split: &Arc<Split>,
        dev_key: u64,
        names: &[String],
        now: f64,
    ) -> Option<MapAction> {
        let shown = self.shown.as_ref()?;
        let points = shown.points.clone();
        let axes = points.axes.projection.axis_count();
        let view_moving = self.tour.advance(now, axes);
        let (fitted, reach) = shown.extent_at(now);
        let bounds = self.tour.extent(fitted, reach);
        if shown.progress(now) < 1.0 || view_moving {
            ui.ctx().request_repaint();
        }
        let side = (ui.available_height() - 36.0).min(ui.available_width()).max(200.0);
        let (response, painter) = ui.allocate_painter(Vec2::new(ui.available_width(), side), Sense::click());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "class map"));
        let rect = Rect::from_center_size(response.rect.center(), Vec2::splat(side));
        let dark = ui.visuals().dark_mode;
        painter.rect_filled(
            rect,
            4.0,
            if dark {
                Color32::from_gray(22)
            } else {
                Color32::from_gray(250)
            },
        );
        painter.rect_stroke(
            rect,
            4.0,
            ui.visuals().widgets.noninteractive.bg_stroke,
            egui::StrokeKind::Inside,
        );
        let inner = rect.shrink(6.0);
        let origin = paint::to_screen(inner, bounds, [0.0, 0.0]);
        let handles = self.tour.shows_handles();
        if handles {
            // Before placing the points, so that they follow a drag in the same frame.
            self.tour.drag_handles(ui, response.id, axes, origin, inner.width());
        } else {
            Self::plain_axes(ui, &painter, inner, origin);
        }
        let mut at = std::mem::take(&mut self.drawn);
        shown.place(now, self.tour.frame(), |c| paint::to_screen(inner, bounds, c), &mut at);
        let radius = if at.len() > 2500 { 2.2 } else { 2.8 };
        let rim = if dark { Color32::WHITE } else { Color32::BLACK };
        let mesh = paint::points_mesh(&at, &points.labels, &points.predicted, radius, rim);
        painter.with_clip_rect(rect).add(egui::Shape::mesh(mesh));
        if handles {
            self.tour
                .paint_handles(ui, &painter.with_clip_rect(rect), axes, origin, inner.width());
        }
        let hovered = response
            .hover_pos()
            .and_then(|pointer| paint::nearest(&at, pointer, 8.0));
        let mut action = None;
        self.drawn = at;
        let at = &self.drawn;
        if let Some(i) = hovered {
            let (label, predicted) = (points.labels.get(i).copied(), points.predicted[i]);
            painter.circle_stroke(at[i], radius + 4.0, egui::Stroke::new(2.0, rim));
            let texture = self.hover_texture(ui.ctx(), split, dev_key, i);
            let name = |l: u8| class_name(names, usize::from(l));
            let text = match label {
                Some(l) if l == predicted => format!("dev row {i}: {} (read correctly)", name(l)),
                Some(l) => format!("dev row {i}: true {}, predicted {}", name(l), name(predicted)),
                None => format!("dev row {i}: predicted {}", name(predicted)),
            };
            // At once (a scatter needs no hover delay), beside the pointer.
            egui::Tooltip::for_widget(&response).at_pointer().gap(12.0).show(|ui| {
                ui.image((texture.id(), Vec2::splat(84.0)));
                ui.label(text);
                ui.weak("Click to open it in Samples");
                ui.weak("Right-click (or Ctrl+click) to open it in Math");
            });
            if response.clicked() {
                action = Some(if ui.input(|i| i.modifiers.command) {
                    MapAction::OpenInMath(i)
                } else {
                    MapAction::OpenInSamples(i)
                });
            }
        }
        // The menu opens on the row under the pointer when right-clicked; the pointer then
        // leaves the dot for the menu.
        if response.secondary_clicked() {
            self.menu_row = hovered;
        }
        if let Some(row) = self.menu_row {
            let open = response.context_menu(|ui| {
                ui.weak(format!("Dev row {row}"));
                if ui.button("Open in Samples").clicked() {
                    action = Some(MapAction::OpenInSamples(row));
                    ui.close();
                }
                if ui
                    .button("Open in Math")
                    .on_hover_text("Run the notebook's step on this digit, line by line")
                    .clicked()
                {
                    action = Some(MapAction::OpenInMath(row));
                    ui.close();
                }
            });
            if open.is_none() {
                self.menu_row = None;
            }
        }
        action
    }

    /// Axes 1 and 2 through the origin (the mean digit), faint, named in the corners.
    fn plain_axes(ui: &egui::Ui, painter: &egui::Painter, inner: Rect, origin: Pos2) {
        let axis_stroke = egui::Stroke::new(1.0, ui.visuals().weak_text_color().gamma_multiply(0.4));
        if inner.x_range().contains(origin.x) {
            painter.vline(origin.x, inner.y_range(), axis_stroke);
        }
        if inner.y_range().contains(origin.y) {
            painter.hline(inner.x_range(), origin.y, axis_stroke);
        }
        painter.text(
            inner.right_bottom() + Vec2::new(-2.0, -2.0),
            egui::Align2::RIGHT_BOTTOM,
            "axis 1",
            egui::FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
        painter.text(
            inner.left_top() + Vec2::new(2.0, 2.0),
            egui::Align2::LEFT_TOP,
            "axis 2",
            egui::FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
    }

    /// The hovered digit's picture, made once per row.
    fn hover_texture(&mut self, ctx: &egui::Context, split: &Split, dev_key: u64, row: usize) -> TextureHandle {
        if let Some((key, texture)) = &self.hover_image
            && *key == (dev_key, row)
        {
            return texture.clone();
        }
        let side = split.dev.side;
        let image = ColorImage::from_gray([side, side], split.dev.image(row));
        let texture = match self.hover_image.take() {
            Some((_, mut t)) => {
                t.set(image, TextureOptions::NEAREST);
                t
            }
            None => ctx.load_texture("map_hover", image, TextureOptions::NEAREST),
        };
        self.hover_image = Some(((dev_key, row), texture.clone()));
        texture
    }

    fn legend(ui: &mut egui::Ui, names: &[String]) {
        ui.horizontal_wrapped(|ui| {
            ui.weak("True label:");
            for label in 0..10u8 {
                let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::hover());
                ui.painter()
                    .circle_filled(rect.center(), 5.0, paint::label_colour(label));
                ui.label(class_name(names, usize::from(label)));
            }
            ui.separator();
            ui.weak("× a mistake (in its true label's colour)");
        });
    }
}
