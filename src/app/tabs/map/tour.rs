//! The Map tab's view of the principal axes: a linear projection ("frame") of each point's
//! coordinates on the top `k` principal axes onto the screen, as in the Grand Tour (Li, Zhao and
//! Scheidegger, Distill 2020). The default frame shows axes 1 and 2, the map as it always was; the
//! tour turns the frame slowly through the other axes, and dragging an axis's handle steers it.
//! The frame's rows stay orthonormal, so the view is always a true linear projection: a straight
//! line in the layer's space stays straight, and the frame changes only how it is looked at.

use std::f32::consts::TAU;

use egui::{Pos2, Vec2};

/// Principal axes a map keeps per point (fewer when the layer is narrower).
pub const TOUR_AXES: usize = 6;

/// A point's coordinates on the principal axes, zero past the projection's own axes.
pub type Coords = [f32; TOUR_AXES];

/// The slowest plane's angular speed (radians per second): a full turn in a minute.
const SLOWEST: f32 = TAU / 60.0;
/// The longest step (seconds) the tour takes at once, so that it resumes where it was after a
/// pause in drawing (a hidden window) instead of jumping.
const MAX_STEP: f64 = 0.1;
/// Seconds Reset view's glide and the change of extent take.
const GLIDE: f64 = 0.35;
/// An axis handle at full length (a unit frame column) reaches this share of the canvas's side.
const HANDLE_LENGTH: f32 = 0.45;

/// The angular speed of plane `n` of the tour (radians per second): between one and two turns a
/// minute, spread by the golden ratio so that no two planes' speeds have a rational ratio and the
/// view never repeats.
fn plane_speed(n: usize) -> f32 {
    const GOLDEN: f64 = 1.618_033_988_749_895;
    SLOWEST * (1.0 + (n as f64 * GOLDEN).fract() as f32)
}

fn dot(a: &[f64; TOUR_AXES], b: &[f64; TOUR_AXES]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A 2-D view of [`Coords`]: screen `x` and `y` are the dot products of a point's coordinates with
/// the two rows. Over the first `k` columns (the axes the map has) the rows are orthonormal; past
/// them they are zero. Column `i` is where axis `i` points on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// `(2, TOUR_AXES)`: the screen's x and y directions in the principal axes' space.
    rows: [[f32; TOUR_AXES]; 2],
}

impl Default for Frame {
    fn default() -> Self {
        Frame::DEFAULT
    }
}

impl Frame {
    /// Axes 1 and 2 along x and y: the map without a tour.
    pub const DEFAULT: Frame = {
        let mut rows = [[0.0; TOUR_AXES]; 2];
        rows[0][0] = 1.0;
        rows[1][1] = 1.0;
        Frame { rows }
    };

    pub fn is_default(&self) -> bool {
        *self == Frame::DEFAULT
    }

    /// Where axis `axis` points on screen: its column, `[x, y]` with y up.
    pub fn column(&self, axis: usize) -> [f32; 2] {
        [self.rows[0][axis], self.rows[1][axis]]
    }

    /// The point at `coords` in this view, `[x, y]`. The default frame gives `[coords[0],
    /// coords[1]]` exactly (the other terms are zeros).
    pub fn project(&self, coords: &Coords) -> [f32; 2] {
        let along = |row: &[f32; TOUR_AXES]| row.iter().zip(coords).map(|(r, c)| r * c).sum::<f32>();
        [along(&self.rows[0]), along(&self.rows[1])]
    }

    /// Turns the view by the tour's rotation over `dt` seconds within the first `k` axes: a
    /// Givens rotation in every plane `(i, j)` of them, each at its own speed.
    pub fn rotate(&mut self, k: usize, dt: f32) {
        let k = k.min(TOUR_AXES);
        let mut plane = 0;
        for i in 0..k {
            for j in i + 1..k {
                let (sin, cos) = (plane_speed(plane) * dt).sin_cos();
                for row in &mut self.rows {
                    let (a, b) = (row[i], row[j]);
                    row[i] = cos * a - sin * b;
                    row[j] = sin * a + cos * b;
                }
                plane += 1;
            }
        }
        self.orthonormalise(k);
    }

    /// Moves axis `axis`'s image to `target` (`[x, y]`, y up, shortened to length 1 at most: no
    /// axis of an orthonormal frame is longer), by the smallest rotation of the `k`-D space that
    /// does it: the unit vector `v` the axis turns into is the one nearest the axis whose view is
    /// `target`, and the space turns in the plane of the axis and `v`. With two axes only the
    /// direction can change. Applied again with the same target it changes nothing.
    pub fn drag_axis(&mut self, k: usize, axis: usize, target: [f32; 2]) {
        let k = k.min(TOUR_AXES);
        if k < 2 || axis >= k {
            return;
        }
        let rows = self.rows.map(|r| r.map(f64::from));
        let length = f64::from(target[0]).hypot(f64::from(target[1]));
        if !length.is_finite() {
            return;
        }
        // The axis's part outside the frame's rows (what the view does not show of it), and a
        // unit direction along it; any direction outside the rows when the axis lies in them.
        let mut unit = [0.0f64; TOUR_AXES];
        unit[axis] = 1.0;
        let hidden = outside(&rows, unit, k).or_else(|| {
            (0..k).filter(|&j| j != axis).find_map(|j| {
                let mut e = [0.0; TOUR_AXES];
                e[j] = 1.0;
                outside(&rows, e, k)
            })
        });
        let (t0, t1) = (f64::from(target[0]), f64::from(target[1]));
        // The target's part in view, and the share and direction of the rest.
        let (shown, hidden_part) = match hidden {
            Some(h) => {
                let scale = if length > 1.0 { 1.0 / length } else { 1.0 };
                let share = (1.0 - (length * scale).powi(2)).max(0.0).sqrt();
                ([t0 * scale, t1 * scale], Some((share, h)))
            }
            None if length > 1e-9 => ([t0 / length, t1 / length], None),
            None => return,
        };
        // v: (TOUR_AXES), the axis's new direction: its view is the target, the rest hidden.
        let mut v = [0.0f64; TOUR_AXES];
        for (j, vj) in v.iter_mut().enumerate().take(k) {
            *vj = shown[0] * rows[0][j] + shown[1] * rows[1][j];
            if let Some((share, h)) = hidden_part {
                *vj += share * h[j];
            }
        }
        // The rotation R taking the axis to v, in their plane: cos = v·e, w = (v − cos·e)/sin.
        let cos = v[axis];
        let mut w = v;
        w[axis] -= cos;
        let sin = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if sin < 1e-9 {
            return;
        }
        for x in &mut w {
            *x /= sin;
        }
        // Each row r becomes Rᵀr, so that column `axis` of the new frame is (r·v for each row):
        // its components along e and w turn, the rest stays.
        let mut turned = rows;
        for (new, old) in turned.iter_mut().zip(&rows) {
            let (along_e, along_w) = (old[axis], dot(old, &w));
            let (to_e, to_w) = (cos * along_e + sin * along_w, cos * along_w - sin * along_e);
            for j in 0..k {
                let e = if j == axis { 1.0 } else { 0.0 };
                new[j] = old[j] + (to_e - along_e) * e + (to_w - along_w) * w[j];
            }
        }
        self.rows = turned.map(|r| r.map(|x| x as f32));
        self.orthonormalise(k);
    }

    /// `a` moved a share `t` of the way to `b`, made orthonormal again (for Reset view's glide).
    pub fn between(a: &Frame, b: &Frame, t: f32, k: usize) -> Frame {
        let mut frame = *a;
        for (row, target) in frame.rows.iter_mut().zip(&b.rows) {
            for (x, y) in row.iter_mut().zip(target) {
                *x += (y - *x) * t;
            }
        }
        frame.orthonormalise(k);
        frame
    }

    /// Zeroes the columns past `k` and makes the rows orthonormal (Gram-Schmidt in f64, twice
    /// over, x first). A row that vanishes is replaced by the unit axis the earlier row uses
    /// least, so the result is always a frame. With fewer than 2 axes: the default.
    pub fn orthonormalise(&mut self, k: usize) {
        let k = k.min(TOUR_AXES);
        if k < 2 {
            *self = Frame::DEFAULT;
            return;
        }
        let mut rows = self.rows.map(|r| r.map(f64::from));
        for row in &mut rows {
            row[k..].fill(0.0);
        }
        for r in 0..2 {
            let (done, rest) = rows.split_at_mut(r);
            let row = &mut rest[0];
            let mut norm = remove_earlier(done, row);
            if norm.is_nan() || norm <= 1e-6 {
                let least = (0..k)
                    .min_by(|&a, &b| {
                        let used = |j: usize| done.iter().map(|d| d[j] * d[j]).sum::<f64>();
                        used(a).total_cmp(&used(b))
                    })
                    .unwrap_or(0);
                *row = [0.0; TOUR_AXES];
                row[least] = 1.0;
                norm = remove_earlier(done, row);
            }
            for x in row.iter_mut() {
                *x /= norm;
            }
        }
        self.rows = rows.map(|r| r.map(|x| x as f32));
    }

    /// Whether the frame uses axes past the first `k`.
    fn reaches_past(&self, k: usize) -> bool {
        self.rows
            .iter()
            .any(|r| r[k.min(TOUR_AXES)..].iter().any(|&x| x != 0.0))
    }
}

/// Removes from `row` its components along the (orthonormal) `earlier` rows, twice; its norm.
fn remove_earlier(earlier: &[[f64; TOUR_AXES]], row: &mut [f64; TOUR_AXES]) -> f64 {
    for _ in 0..2 {
        for e in earlier {
            let d = dot(e, row);
            row.iter_mut().zip(e).for_each(|(x, y)| *x -= d * y);
        }
    }
    dot(row, row).sqrt()
}

/// The unit direction of `vector`'s part outside the span of `rows` (orthonormal, the first `k`
/// columns used), or None when it has (almost) none.
fn outside(rows: &[[f64; TOUR_AXES]; 2], mut vector: [f64; TOUR_AXES], k: usize) -> Option<[f64; TOUR_AXES]> {
    vector[k..].fill(0.0);
    let norm = remove_earlier(rows, &mut vector);
    (norm > 1e-6).then(|| vector.map(|x| x / norm))
}

/// The view's state: the frame, whether it tours, and its animations. Not persisted: a tour
/// resumed at start-up would spend CPU unasked, and the axes are refitted then anyway.
#[derive(Clone, Debug, Default)]
pub struct Tour {
    frame: Frame,
    touring: bool,
    /// Reset view's glide: the frame it left and when.
    reset_from: Option<(Frame, f64)>,
    /// Which extent the view has: 0 the one fitted to axes 1 and 2, 1 the square that holds the
    /// points in every frame, in between while it changes.
    square: f32,
    /// When the last frame was drawn (seconds, egui's clock).
    last: Option<f64>,
    /// The dragged handle's end minus the pointer where it was grabbed (canvas points), so that
    /// the end does not jump onto the pointer.
    grab: Vec2,
}

impl Tour {
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    pub fn is_touring(&self) -> bool {
        self.touring
    }

    pub fn set_touring(&mut self, on: bool) {
        self.touring = on;
        if on {
            self.reset_from = None;
        }
    }

    /// Stops the tour and glides back to axes 1 and 2.
    pub fn reset(&mut self, now: f64) {
        self.touring = false;
        if !self.frame.is_default() {
            self.reset_from = Some((self.frame, now));
        }
    }

    /// Whether the view is the plain map of axes 1 and 2, not touring.
    pub fn is_default_view(&self) -> bool {
        !self.touring && self.frame.is_default()
    }

    /// Moves the view to time `now` for a map of `k` axes: turns the frame while touring, glides
    /// a reset, eases the extent. Returns whether it is still moving (another frame is needed).
    pub fn advance(&mut self, now: f64, k: usize) -> bool {
        let dt = self.last.map_or(0.0, |last| (now - last).max(0.0));
        self.last = Some(now);
        if k < 2 {
            self.touring = false;
            self.reset_from = None;
            self.frame = Frame::DEFAULT;
        } else if self.frame.reaches_past(k) {
            // A narrower layer than the frame was turned in.
            self.frame.orthonormalise(k);
        }
        if self.touring {
            self.frame.rotate(k, dt.min(MAX_STEP) as f32);
        }
        if let Some((from, started)) = self.reset_from {
            let t = ((now - started) / GLIDE).clamp(0.0, 1.0) as f32;
            if t >= 1.0 {
                self.frame = Frame::DEFAULT;
                self.reset_from = None;
            } else {
                self.frame = Frame::between(&from, &Frame::DEFAULT, t * t * (3.0 - 2.0 * t), k);
            }
        }
        let wanted = if self.touring || (!self.frame.is_default() && self.reset_from.is_none()) {
            1.0
        } else {
            0.0
        };
        let step = (dt / GLIDE) as f32;
        self.square = if wanted > self.square {
            (self.square + step).min(wanted)
        } else {
            (self.square - step).max(wanted)
        };
        self.touring || self.reset_from.is_some() || self.square != wanted
    }

    /// The view's extent `[x0, y0, x1, y1]`: `fitted` (axes 1 and 2's) for the plain map, the
    /// square of half-side `reach` (the points' largest distance from the origin in `k`
    /// dimensions, which holds them in every frame, so that a turning view keeps its scale)
    /// otherwise; eased between them while the view changes.
    pub fn extent(&self, fitted: [f32; 4], reach: f32) -> [f32; 4] {
        let square = [-reach, -reach, reach, reach];
        match self.square {
            s if s <= 0.0 => fitted,
            s if s >= 1.0 => square,
            s => {
                let t = s * s * (3.0 - 2.0 * s);
                std::array::from_fn(|i| fitted[i] + (square[i] - fitted[i]) * t)
            }
        }
    }

    /// Whether the axes' handles are on the canvas: while touring or away from axes 1 and 2.
    pub fn shows_handles(&self) -> bool {
        self.touring || !self.frame.is_default()
    }

    /// What the view is, for the caption, on a map of `k` axes.
    pub fn describe(&self, k: usize) -> String {
        if k < 2 {
            "One axis: this layer has a single unit.".into()
        } else if self.touring {
            format!("Grand tour through the top {k} principal axes (drag an axis's end to steer).")
        } else if self.frame.is_default() {
            "Axes 1 and 2.".into()
        } else {
            format!("Grand tour through the top {k} principal axes; paused (Reset view for axes 1 and 2).")
        }
    }

    /// The axes' handles' interaction, before the points are placed (so that they follow a drag
    /// in the same frame): dragging the end of axis `i` moves its image with the pointer and
    /// pauses the tour. `origin` is where the map's origin is drawn, `side` the canvas's side.
    pub fn drag_handles(&mut self, ui: &egui::Ui, canvas: egui::Id, k: usize, origin: Pos2, side: f32) {
        let length = side * HANDLE_LENGTH;
        for axis in 0..k {
            let tip = handle_tip(&self.frame, axis, origin, length);
            let handle = ui.interact(
                egui::Rect::from_center_size(tip, Vec2::splat(16.0)),
                canvas.with(("axis handle", axis)),
                egui::Sense::drag(),
            );
            handle.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, format!("PC{} axis", axis + 1)));
            if handle.hovered() || handle.dragged() {
                ui.ctx().set_cursor_icon(if handle.dragged() {
                    egui::CursorIcon::Grabbing
                } else {
                    egui::CursorIcon::Grab
                });
            }
            let Some(pointer) = handle.interact_pointer_pos() else {
                continue;
            };
            if handle.drag_started() {
                // Where the button went down: egui may start the drag only once it has moved.
                let pressed = ui.input(|i| i.pointer.press_origin()).unwrap_or(pointer);
                self.grab = tip - pressed;
                self.touring = false;
                self.reset_from = None;
            }
            if handle.dragged() {
                let offset = (pointer + self.grab - origin) / length;
                self.frame.drag_axis(k, axis, [offset.x, -offset.y]);
            }
        }
    }

    /// The axes as faint lines from the origin to their images, with a dot at each end and its
    /// name ("PC1".."PCk"); an axis seen end-on has its name stacked beside the origin.
    pub fn paint_handles(&self, ui: &egui::Ui, painter: &egui::Painter, k: usize, origin: Pos2, side: f32) {
        let length = side * HANDLE_LENGTH;
        let colour = ui.visuals().weak_text_color();
        let line = egui::Stroke::new(1.0, colour.gamma_multiply(0.5));
        let mut end_on = 0.0;
        for axis in 0..k {
            let tip = handle_tip(&self.frame, axis, origin, length);
            painter.line_segment([origin, tip], line);
            painter.circle_filled(tip, 3.5, colour.gamma_multiply(0.8));
            let along = tip - origin;
            let at = if along.length() > 14.0 {
                tip + along.normalized() * 11.0
            } else {
                end_on += 12.0;
                origin + Vec2::new(16.0, end_on)
            };
            painter.text(
                at,
                egui::Align2::CENTER_CENTER,
                format!("PC{}", axis + 1),
                egui::FontId::proportional(11.0),
                colour,
            );
        }
    }
}

/// Where axis `axis`'s handle ends on screen: `origin` plus its frame column (y up) times `length`.
fn handle_tip(frame: &Frame, axis: usize, origin: Pos2, length: f32) -> Pos2 {
    let [x, y] = frame.column(axis);
    origin + Vec2::new(x, -y) * length
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest deviation of the rows' Gram matrix from the identity.
    fn orthonormality_error(frame: &Frame) -> f32 {
        let [a, b] = &frame.rows;
        let d = |x: &[f32; TOUR_AXES], y: &[f32; TOUR_AXES]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        [(d(a, a) - 1.0).abs(), (d(b, b) - 1.0).abs(), d(a, b).abs()]
            .into_iter()
            .fold(0.0, f32::max)
    }

    #[test]
    fn the_default_frame_shows_axes_one_and_two_exactly() {
        let points: [Coords; 3] = [
            [1.5, -2.25, 9.0, -7.0, 3.0, 1e6],
            [-0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            [3.1e-7, -4.2e9, -1.0, 0.5, 0.25, 0.125],
        ];
        for p in points {
            assert_eq!(Frame::DEFAULT.project(&p), [p[0], p[1]]);
        }
        assert_eq!(Frame::default(), Frame::DEFAULT);
        assert_eq!(
            Tour::default().extent([-1.0, -2.0, 3.0, 4.0], 9.0),
            [-1.0, -2.0, 3.0, 4.0]
        );
    }

    #[test]
    fn rows_stay_orthonormal_after_many_turns_and_drags() {
        let mut frame = Frame::DEFAULT;
        for step in 0..20_000 {
            frame.rotate(TOUR_AXES, 1.0 / 60.0);
            if step % 97 == 0 {
                let axis = step % TOUR_AXES;
                let angle = step as f32 * 0.37;
                frame.drag_axis(TOUR_AXES, axis, [0.8 * angle.cos(), 1.3 * angle.sin()]);
            }
            assert!(orthonormality_error(&frame) < 1e-5, "step {step}: {frame:?}");
        }
        // Still within the first k columns when k is smaller.
        let mut narrow = Frame::DEFAULT;
        for _ in 0..1000 {
            narrow.rotate(3, 0.05);
        }
        narrow.drag_axis(3, 2, [0.3, -0.4]);
        assert!(orthonormality_error(&narrow) < 1e-5);
        assert!(!narrow.reaches_past(3));
    }

    #[test]
    fn the_tour_turns_slowly_through_every_axis() {
        let mut frame = Frame::DEFAULT;
        // A sixtieth of a second moves the view by well under a hundredth of a turn.
        frame.rotate(TOUR_AXES, 1.0 / 60.0);
        let moved = (frame.rows[0][0] - 1.0).abs() + frame.rows[1][0].abs();
        assert!(moved > 0.0 && moved < 0.01, "{moved}");
        // Within half a minute every axis has shown itself on screen.
        let mut seen = [0.0f32; TOUR_AXES];
        for _ in 0..30 * 30 {
            frame.rotate(TOUR_AXES, 1.0 / 30.0);
            for (axis, s) in seen.iter_mut().enumerate() {
                let [x, y] = frame.column(axis);
                *s = s.max(x.hypot(y));
            }
        }
        assert!(seen.iter().all(|&s| s > 0.5), "{seen:?}");
        // Incommensurate speeds: all different.
        let speeds: Vec<f32> = (0..15).map(plane_speed).collect();
        for (i, a) in speeds.iter().enumerate() {
            assert!((SLOWEST..2.0 * SLOWEST).contains(a));
            assert!(speeds[i + 1..].iter().all(|b| (a - b).abs() > 1e-3));
        }
    }

    #[test]
    fn a_drag_moves_the_axis_image_to_the_pointer() {
        // From the default view an unseen axis comes out toward the pointer.
        let mut frame = Frame::DEFAULT;
        let target = [0.4, 0.3];
        frame.drag_axis(TOUR_AXES, 3, target);
        let [x, y] = frame.column(3);
        assert!((x - 0.4).abs() < 1e-5 && (y - 0.3).abs() < 1e-5, "{x} {y}");
        assert!(orthonormality_error(&frame) < 1e-6);
        // Axis 1, seen at full length, shortens and turns.
        frame.drag_axis(TOUR_AXES, 0, [0.2, -0.5]);
        let [x, y] = frame.column(0);
        assert!((x - 0.2).abs() < 1e-5 && (y + 0.5).abs() < 1e-5, "{x} {y}");
        // The same target again changes nothing; a target out of reach gives a unit axis toward it.
        let before = frame;
        frame.drag_axis(TOUR_AXES, 0, [0.2, -0.5]);
        assert!(
            frame
                .rows
                .iter()
                .flatten()
                .zip(before.rows.iter().flatten())
                .all(|(a, b)| (a - b).abs() < 1e-6)
        );
        frame.drag_axis(TOUR_AXES, 5, [3.0, 4.0]);
        let [x, y] = frame.column(5);
        assert!((x - 0.6).abs() < 1e-5 && (y - 0.8).abs() < 1e-5, "{x} {y}");
        // With two axes a drag turns the picture: the axis points at the pointer.
        let mut flat = Frame::DEFAULT;
        flat.drag_axis(2, 0, [0.0, 0.5]);
        let [x, y] = flat.column(0);
        assert!(x.abs() < 1e-6 && (y - 1.0).abs() < 1e-6);
        assert!(orthonormality_error(&flat) < 1e-6);
    }

    /// The time to turn the view and place 5,000 points through it (the tour's work per frame
    /// beyond drawing the mesh): `cargo test --lib tour_time -- --ignored --nocapture`.
    #[test]
    #[ignore = "a timing, not a check"]
    fn tour_time_of_5000_points() {
        let points: Vec<Coords> = (0..5000)
            .map(|i| std::array::from_fn(|a| ((i * 31 + a * 7) % 101) as f32 / 50.0 - 1.0))
            .collect();
        let mut frame = Frame::DEFAULT;
        let mut at: Vec<Pos2> = Vec::with_capacity(points.len());
        for _ in 0..5 {
            let start = std::time::Instant::now();
            frame.rotate(TOUR_AXES, 1.0 / 60.0);
            at.clear();
            at.extend(points.iter().map(|c| {
                let [x, y] = frame.project(c);
                Pos2::new(400.0 + x * 100.0, 400.0 - y * 100.0)
            }));
            println!("5000 points: {:.3} ms", start.elapsed().as_secs_f64() * 1e3);
        }
        assert_eq!(at.len(), 5000);
    }

    #[test]
    fn a_degenerate_frame_is_repaired_and_a_narrow_map_keeps_the_default() {
        let mut frame = Frame {
            rows: [[0.0; TOUR_AXES]; 2],
        };
        frame.orthonormalise(4);
        assert!(orthonormality_error(&frame) < 1e-6);
        let mut same = Frame::DEFAULT;
        same.rows[1] = same.rows[0];
        same.orthonormalise(3);
        assert!(orthonormality_error(&same) < 1e-6);
        assert_eq!(same.rows[0], Frame::DEFAULT.rows[0]);
        let mut one = Frame::DEFAULT;
        one.rotate(1, 5.0);
        assert_eq!(one, Frame::DEFAULT);
    }

    #[test]
    fn the_tour_pauses_resets_and_eases_its_extent() {
        let mut tour = Tour::default();
        assert!(tour.is_default_view() && !tour.advance(0.0, TOUR_AXES));
        tour.set_touring(true);
        let mut now = 0.0;
        while now < 2.0 {
            now += 1.0 / 60.0;
            assert!(tour.advance(now, TOUR_AXES));
        }
        assert!(!tour.frame().is_default() && tour.shows_handles());
        let fitted = [-1.0, -2.0, 3.0, 4.0];
        assert_eq!(tour.extent(fitted, 5.0), [-5.0, -5.0, 5.0, 5.0]);
        // Paused: the frame stays.
        tour.set_touring(false);
        let paused = *tour.frame();
        now += 0.5;
        assert!(!tour.advance(now, TOUR_AXES));
        assert_eq!(*tour.frame(), paused);
        assert!(tour.describe(TOUR_AXES).contains("paused"));
        // Reset glides back to exactly axes 1 and 2 and the fitted extent.
        tour.reset(now);
        for _ in 0..60 {
            now += 1.0 / 60.0;
            tour.advance(now, TOUR_AXES);
        }
        assert_eq!(*tour.frame(), Frame::DEFAULT);
        assert_eq!(tour.extent(fitted, 5.0), fitted);
        assert!(tour.is_default_view() && !tour.advance(now + 1.0, TOUR_AXES));
        assert_eq!(tour.describe(TOUR_AXES), "Axes 1 and 2.");
    }
}
