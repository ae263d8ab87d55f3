//! The first layer's weights: one 28x28 image per hidden unit in a diverging colour map.

use egui::{Color32, ColorImage, Pos2, Rect, Sense, TextureHandle, TextureOptions, Vec2};

use crate::network::Mlp;
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WeightsPanel {
    /// Units shown.
    pub count: usize,
    #[serde(skip)]
    texture: Option<TextureHandle>,
    #[serde(skip)]
    key: (u64, usize),
}

impl Default for WeightsPanel {
    fn default() -> Self {
        WeightsPanel {
            count: 32,
            texture: None,
            key: (u64::MAX, 0),
        }
    }
}

const COLUMNS: usize = 8;

/// Blue (negative) through near-white (zero) to red (positive); `v` in [-1, 1].
pub fn diverging(v: f32) -> Color32 {
    let v = v.clamp(-1.0, 1.0);
    let mid = [235.0, 235.0, 235.0];
    let end = if v < 0.0 {
        [40.0, 90.0, 200.0]
    } else {
        [200.0, 30.0, 40.0]
    };
    let t = v.abs();
    let c = |i: usize| (mid[i] + (end[i] - mid[i]) * t) as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

impl WeightsPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, model: Option<(&Mlp, u64)>) {
        ui.heading("First-layer weights");
        let Some((model, generation)) = model else {
            ui.label("No model: train one or open a model file.");
            return;
        };
        let Some(layer) = model.layers.first() else { return };
        let units = layer.outputs();
        // The image side of the model's data set (28 for digits, 32 or 64 for others).
        let (inputs, side) = (layer.inputs(), layer.inputs().isqrt());
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.count, 1..=units.clamp(1, 128)).text("units shown"));
            ui.weak(format!(
                "Each image is one hidden unit's {inputs} input weights (of {units} units), \
                 scaled by its largest |w|: red excites, blue inhibits."
            ));
        });
        let count = self.count.clamp(1, units);
        let rows = count.div_ceil(COLUMNS);
        if self.key != (generation, count) || self.texture.is_none() {
            let width = COLUMNS * (side + 1);
            let height = rows * (side + 1);
            let mut pixels = vec![Color32::from_gray(30); width * height];
            for unit in 0..count {
                let column = layer.w.column(unit);
                let max = column.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
                let (ox, oy) = ((unit % COLUMNS) * (side + 1), (unit / COLUMNS) * (side + 1));
                for (i, w) in column.iter().enumerate().take(side * side) {
                    let (x, y) = (i % side, i / side);
                    pixels[(oy + y) * width + ox + x] = diverging(w / max);
                }
            }
            let image = ColorImage::new([width, height], pixels);
            match &mut self.texture {
                Some(t) => t.set(image, TextureOptions::NEAREST),
                None => self.texture = Some(ui.ctx().load_texture("weights", image, TextureOptions::NEAREST)),
            }
            self.key = (generation, count);
        }
        let Some(texture) = &self.texture else { return };
        let tex_size = texture.size_vec2();
        let scale = ((ui.available_width() / tex_size.x).min((ui.available_height() - 40.0) / tex_size.y))
            .clamp(1.0, 8.0)
            .floor();
        let (rect, _) = ui.allocate_exact_size(tex_size * scale, Sense::hover());
        ui.painter().image(
            texture.id(),
            rect,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        // Colour legend.
        ui.horizontal(|ui| {
            ui.label("-max");
            let (bar, _) = ui.allocate_exact_size(Vec2::new(200.0, 14.0), Sense::hover());
            let steps = 50;
            for i in 0..steps {
                let v = i as f32 / (steps - 1) as f32 * 2.0 - 1.0;
                let x0 = bar.min.x + bar.width() * i as f32 / steps as f32;
                let r = Rect::from_min_max(
                    Pos2::new(x0, bar.min.y),
                    Pos2::new(x0 + bar.width() / steps as f32 + 0.5, bar.max.y),
                );
                ui.painter().rect_filled(r, 0.0, diverging(v));
            }
            ui.label("+max  (white = 0)");
        });
    }
}
