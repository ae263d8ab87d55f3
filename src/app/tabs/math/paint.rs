//! How the Math tab draws numbers: images (gray pixels, or values in the weights tab's
//! diverging colours), bars per unit with their values, heat maps; and the textures, made once
//! per result and name.

use std::collections::HashMap;

use egui::{
    Align2, Color32, ColorImage, FontId, Pos2, Rect, Response, Sense, Stroke, TextureHandle, TextureOptions, Vec2,
};

use crate::app::tabs::weights::diverging;

/// Textures by name, each made again only when the version it was drawn for changes.
#[derive(Default)]
pub struct Textures {
    made: HashMap<String, (u64, TextureHandle)>,
}

impl Textures {
    pub fn get(
        &mut self,
        ctx: &egui::Context,
        name: &str,
        version: u64,
        make: impl FnOnce() -> ColorImage,
    ) -> TextureHandle {
        match self.made.get_mut(name) {
            Some((v, texture)) => {
                if *v != version {
                    texture.set(make(), TextureOptions::NEAREST);
                    *v = version;
                }
                texture.clone()
            }
            None => {
                let texture = ctx.load_texture(format!("math_{name}"), make(), TextureOptions::NEAREST);
                self.made.insert(name.to_owned(), (version, texture.clone()));
                texture
            }
        }
    }
}

/// Pixels 0..=255 as a gray image `side` wide.
pub fn gray_image(pixels: &[u8], side: usize) -> ColorImage {
    let mut gray = pixels.to_vec();
    gray.resize(side * side, 0);
    ColorImage::from_gray([side, side], &gray)
}

/// The largest |value| (at least a tiny number, so a zero image divides safely).
pub fn largest(values: impl IntoIterator<Item = f32>) -> f32 {
    values.into_iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12)
}

/// Values as a `side` x `side` image in the diverging map, scaled by `max` (red +, blue −).
pub fn diverging_image(values: impl IntoIterator<Item = f32>, side: usize, max: f32) -> ColorImage {
    let mut colours: Vec<Color32> = values.into_iter().map(|v| diverging(v / max)).collect();
    colours.resize(side * side, Color32::from_gray(235));
    ColorImage::new([side, side], colours)
}

/// Up to `count` images of `side` x `side` gray pixels side by side, one pixel apart.
pub fn strip(pixels: &[u8], side: usize, count: usize) -> ColorImage {
    let n = side * side;
    let count = count.min(pixels.len() / n.max(1)).max(1);
    let width = count * (side + 1) - 1;
    let mut gray = vec![60u8; width * side];
    for (i, image) in pixels.chunks(n).take(count).enumerate() {
        for (y, line) in image.chunks(side).enumerate() {
            let start = y * width + i * (side + 1);
            gray[start..start + side].copy_from_slice(line);
        }
    }
    ColorImage::from_gray([width, side], &gray)
}

/// An image of `size` points with a hover text; a canvas the tests can find by `label`.
pub fn image(ui: &mut egui::Ui, texture: &TextureHandle, size: Vec2, label: &str) -> Response {
    let response = ui.add(egui::Image::new((texture.id(), size)).sense(Sense::hover()));
    let label = label.to_owned();
    response.widget_info(move || egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
    response
}

/// How one line of bars looks.
pub struct BarStyle<'a> {
    /// Names each bar's widget: "Z1 unit 3".
    pub name: &'a str,
    /// Units whose bar is greyed out (ReLU off).
    pub greyed: Option<&'a [bool]>,
    /// Values are probabilities: bars from 0 to 1.
    pub probabilities: bool,
    /// One unit highlighted (the true class).
    pub highlight: Option<usize>,
}

/// One small vertical bar per unit in `units` (signed, around a zero line), its value under it
/// and the unit's number under that. Returns the hovered or clicked bar's unit and response.
pub fn unit_bars(
    ui: &mut egui::Ui,
    values: &[f32],
    units: &[usize],
    style: &BarStyle<'_>,
) -> Option<(usize, Response)> {
    let max = if style.probabilities {
        1.0
    } else {
        largest(units.iter().filter_map(|&u| values.get(u).copied()))
    };
    let cell = Vec2::new(38.0, 74.0);
    let mut touched = None;
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 2.0;
        for &unit in units {
            let Some(&v) = values.get(unit) else { continue };
            let (rect, response) = ui.allocate_exact_size(cell, Sense::click());
            let name = format!("{} unit {unit}", style.name);
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            let off = style.greyed.and_then(|g| g.get(unit).copied()).unwrap_or(false);
            let painter = ui.painter_at(rect);
            let bar_area = Rect::from_min_size(rect.min + Vec2::new(4.0, 2.0), Vec2::new(cell.x - 8.0, 44.0));
            let zero_y = if style.probabilities || values.iter().all(|&v| v >= 0.0) {
                bar_area.bottom()
            } else {
                bar_area.center().y
            };
            let span = if zero_y == bar_area.bottom() {
                bar_area.height()
            } else {
                bar_area.height() / 2.0
            };
            let h = (v / max).clamp(-1.0, 1.0) * span;
            let colour = if off {
                Color32::from_gray(110)
            } else if style.highlight == Some(unit) {
                Color32::from_rgb(60, 190, 90)
            } else if v >= 0.0 {
                Color32::from_rgb(220, 80, 70)
            } else {
                Color32::from_rgb(80, 130, 230)
            };
            let bar = Rect::from_x_y_ranges(bar_area.x_range(), (zero_y - h.max(0.0))..=(zero_y - h.min(0.0)));
            let visuals = ui.visuals();
            if response.hovered() {
                painter.rect_filled(rect, 2.0, visuals.widgets.hovered.weak_bg_fill);
            }
            painter.rect_filled(bar, 1.0, colour);
            painter.line_segment(
                [Pos2::new(bar_area.left(), zero_y), Pos2::new(bar_area.right(), zero_y)],
                Stroke::new(1.0, visuals.weak_text_color()),
            );
            let text_colour = if off {
                visuals.weak_text_color()
            } else {
                visuals.text_color()
            };
            painter.text(
                Pos2::new(rect.center().x, bar_area.bottom() + 9.0),
                Align2::CENTER_CENTER,
                short(v),
                FontId::monospace(10.0),
                text_colour,
            );
            painter.text(
                Pos2::new(rect.center().x, bar_area.bottom() + 22.0),
                Align2::CENTER_CENTER,
                format!("#{unit}"),
                FontId::proportional(10.0),
                visuals.weak_text_color(),
            );
            if response.hovered() || response.clicked() {
                touched = Some((unit, response));
            }
        }
    });
    touched
}

/// A value in 5 characters or so: 0.123, -1.52, 12.3, 1e-5.
pub fn short(v: f32) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.0e}")
    }
}

/// A heat map of `value(row, col)` for the given rows and columns (diverging colours scaled by
/// the largest |value| shown), with a hover text naming the cell.
pub fn heat_map(ui: &mut egui::Ui, rows: &[usize], cols: &[usize], value: impl Fn(usize, usize) -> f32, name: &str) {
    let max = largest(
        rows.iter()
            .flat_map(|&r| cols.iter().map(move |&c| (r, c)))
            .map(|(r, c)| value(r, c)),
    );
    let cell = (ui.available_width().min(640.0) / cols.len().max(1) as f32).clamp(4.0, 14.0);
    let size = Vec2::new(cell * cols.len() as f32, cell * rows.len() as f32);
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    for (i, &r) in rows.iter().enumerate() {
        for (j, &c) in cols.iter().enumerate() {
            let min = rect.min + Vec2::new(j as f32 * cell, i as f32 * cell);
            painter.rect_filled(
                Rect::from_min_size(min, Vec2::splat(cell)),
                0.0,
                diverging(value(r, c) / max),
            );
        }
    }
    if let Some(pos) = response.hover_pos() {
        let (j, i) = (
            ((pos.x - rect.min.x) / cell) as usize,
            ((pos.y - rect.min.y) / cell) as usize,
        );
        if let (Some(&r), Some(&c)) = (rows.get(i), cols.get(j)) {
            response.on_hover_text(format!("{name}[{r}, {c}] = {:.6}", value(r, c)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_keep_their_sign_and_size() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(0.1234), "0.12");
        assert_eq!(short(-1.526), "-1.53");
        assert_eq!(short(12.34), "12.3");
        assert_eq!(short(123.4), "123");
        assert_eq!(short(0.00001), "1e-5");
    }

    #[test]
    fn a_strip_puts_the_images_side_by_side() {
        let pixels: Vec<u8> = (0..3 * 4).map(|v| v as u8).collect();
        let strip = strip(&pixels, 2, 10);
        // Three 2x2 images, one pixel apart: 8 wide, 2 tall.
        assert_eq!(strip.size, [8, 2]);
        assert_eq!(strip.pixels[3], Color32::from_gray(4));
    }
}
