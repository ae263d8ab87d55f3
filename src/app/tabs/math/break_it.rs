//! Break it: switches that change the sandbox model (a hidden unit off, every bias removed, a
//! layer's weights scaled) through [`Ablation`], with their effect on the prediction shown at
//! once; Restore puts everything back.

use egui::RichText;

use crate::network::Ablation;
use crate::network::{Mlp, argmax};

use super::compute::MathResult;
use super::sandbox::mean_loss;

/// The panel's own choices (which unit the "switch off" button names).
#[derive(Default)]
pub struct BreakIt {
    pub layer: usize,
    pub unit: usize,
}

impl BreakIt {
    /// The switches for `model`'s layers; true when `ablation` changed.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        ablation: &mut Ablation,
        model: &Mlp,
        result: Option<&MathResult>,
        example: usize,
    ) -> bool {
        let before = ablation.clone();
        let hidden = model.layers.len().saturating_sub(1);
        if hidden > 0 {
            self.layer = self.layer.min(hidden - 1);
            let width = model.layers[self.layer].outputs();
            self.unit = self.unit.min(width.saturating_sub(1));
            ui.horizontal_wrapped(|ui| {
                let label = ui.label("Hidden unit");
                egui::ComboBox::from_id_salt("math_break_layer")
                    .selected_text(format!("A{}", self.layer + 1))
                    .show_ui(ui, |ui| {
                        for l in 0..hidden {
                            ui.selectable_value(&mut self.layer, l, format!("A{}", l + 1));
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.add(
                    egui::DragValue::new(&mut self.unit)
                        .range(0..=width.saturating_sub(1))
                        .prefix("#"),
                );
                let off = ablation.is_off(self.layer, self.unit);
                let text = if off { "Switch it on" } else { "Switch it off" };
                if ui
                    .button(text)
                    .on_hover_text("Its incoming weights and bias become 0, so Z = A = 0 for every input")
                    .clicked()
                {
                    ablation.toggle_unit(self.layer, self.unit);
                }
            });
            if !ablation.units_off.is_empty() {
                ui.horizontal_wrapped(|ui| {
                    ui.weak("Off:");
                    let off: Vec<(usize, usize)> = ablation.units_off.iter().copied().collect();
                    for (l, u) in off {
                        if ui
                            .small_button(format!("A{}[{u}]: on", l + 1))
                            .on_hover_text("Switch it back on")
                            .clicked()
                        {
                            ablation.toggle_unit(l, u);
                        }
                    }
                });
            }
        } else {
            ui.weak("This network has no hidden layer: no unit to switch off.");
        }
        ui.checkbox(&mut ablation.biases_removed, "Remove all biases (b = 0)");
        for l in 0..model.layers.len() {
            let mut scale = ablation.scale_of(l);
            if ui
                .add(egui::Slider::new(&mut scale, 0.0..=3.0).text(format!("× W{}", l + 1)))
                .on_hover_text(format!(
                    "Multiply every weight of W{} by this factor (its bias stays)",
                    l + 1
                ))
                .changed()
            {
                ablation.set_scale(l, scale);
            }
        }
        let broken = !ablation.is_identity();
        if ui
            .add_enabled(broken, egui::Button::new("Restore"))
            .on_hover_text("Every switch back: the sandbox model as it was")
            .clicked()
        {
            *ablation = Ablation::default();
        }
        if broken {
            ui.weak(ablation.describe());
        }
        if let Some(result) = result
            && let Some(unbroken) = &result.unbroken
        {
            let example = example.min(unbroken.nrows().saturating_sub(1));
            let p0 = unbroken.row(example).to_vec();
            let Some(last) = result.trace.layers.last() else {
                return *ablation != before;
            };
            let p1 = last.a.row(example).to_vec();
            let (d0, d1) = (argmax(&p0), argmax(&p1));
            let text = format!(
                "Prediction: {d0} ({:.1}%) → {d1} ({:.1}%); loss {:.4} → {:.4}",
                p0[d0] * 100.0,
                p1[d1] * 100.0,
                mean_loss(unbroken, &result.input.labels),
                result.trace.loss
            );
            ui.label(RichText::new(text).strong().monospace());
        }
        *ablation != before
    }
}
