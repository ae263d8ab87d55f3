//! Break-it switches: an [`Ablation`] says which hidden units are off, whether the biases are
//! removed and how much each layer's weights are scaled, and [`Ablation::apply`] makes the
//! changed copy of a model (the Math tab's sandbox shows what each switch does to a prediction).
//!
//! Layers are counted from 0 as in [`Mlp::layers`] (layer 0 is the notebook's `W1`, `b1`, `Z1`);
//! [`Ablation::describe`] names them the notebook's way, from 1.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::Mlp;

/// Changes to a model that show what its parts do. The default changes nothing.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Ablation {
    /// `(layer, unit)` of hidden-layer units that are off: their `Z` and `A` are exactly 0 for
    /// every input, so nothing downstream sees them. Entries that name the output layer or a
    /// layer or unit the model does not have are ignored.
    pub units_off: BTreeSet<(usize, usize)>,
    /// Every bias `b` of every layer set to 0.
    pub biases_removed: bool,
    /// Per layer, a factor its weights `W` are multiplied by; its bias is left as it is (so
    /// `Z = s·(A_prev·W) + b`). Empty, or shorter than the model, means 1 for the layers not
    /// listed; entries past the model's layers and non-finite factors are ignored.
    pub layer_scale: Vec<f32>,
}

impl Ablation {
    /// The changed copy of `model`. Biases are removed first, then the units switched off
    /// (their incoming weights `W[:, unit]` and bias `b[unit]` set to 0, so `Z = 0` and
    /// `A = ReLU(0) = 0`; their outgoing weights stay, multiplied by that 0), then the weights
    /// scaled. An identity ablation returns a bit-identical copy. Never panics: what does not
    /// fit the model is ignored ([`Self::fits`] says whether everything does).
    pub fn apply(&self, model: &Mlp) -> Mlp {
        let mut out = model.clone();
        let last = out.layers.len().saturating_sub(1);
        if self.biases_removed {
            for layer in &mut out.layers {
                layer.b.fill(0.0);
            }
        }
        for &(l, unit) in &self.units_off {
            if l >= last || unit >= out.layers[l].outputs() {
                continue;
            }
            // W: (inputs, outputs); the unit's incoming weights are its column.
            out.layers[l].w.column_mut(unit).fill(0.0);
            out.layers[l].b[unit] = 0.0;
        }
        for (layer, &scale) in out.layers.iter_mut().zip(&self.layer_scale) {
            if scale.is_finite() && scale != 1.0 {
                layer.w.mapv_inplace(|w| w * scale);
            }
        }
        out
    }

    /// True when [`Self::apply`] changes nothing for any model.
    pub fn is_identity(&self) -> bool {
        self.units_off.is_empty() && !self.biases_removed && self.layer_scale.iter().all(|&s| !Self::scales(s))
    }

    /// True when every switched-off unit is a hidden unit of `model` and every scale names one
    /// of its layers (what does not fit is ignored by [`Self::apply`]).
    pub fn fits(&self, model: &Mlp) -> bool {
        let last = model.layers.len().saturating_sub(1);
        self.units_off
            .iter()
            .all(|&(l, unit)| l < last && unit < model.layers[l].outputs())
            && self.layer_scale.len() <= model.layers.len()
    }

    /// Keeps only what fits `model` (after the model changed shape, say).
    pub fn retain_fitting(&mut self, model: &Mlp) {
        let last = model.layers.len().saturating_sub(1);
        self.units_off
            .retain(|&(l, unit)| l < last && unit < model.layers[l].outputs());
        self.layer_scale.truncate(model.layers.len());
    }

    /// Switches unit `unit` of layer `layer` off, or back on if it was off.
    pub fn toggle_unit(&mut self, layer: usize, unit: usize) {
        if !self.units_off.remove(&(layer, unit)) {
            self.units_off.insert((layer, unit));
        }
    }

    /// Whether unit `unit` of layer `layer` is off.
    pub fn is_off(&self, layer: usize, unit: usize) -> bool {
        self.units_off.contains(&(layer, unit))
    }

    /// The factor layer `layer`'s weights are multiplied by (1 when none is set).
    pub fn scale_of(&self, layer: usize) -> f32 {
        match self.layer_scale.get(layer) {
            Some(&s) if s.is_finite() => s,
            _ => 1.0,
        }
    }

    /// Sets layer `layer`'s weight factor, filling the layers before it with 1.
    pub fn set_scale(&mut self, layer: usize, scale: f32) {
        if self.layer_scale.len() <= layer {
            self.layer_scale.resize(layer + 1, 1.0);
        }
        self.layer_scale[layer] = scale;
    }

    /// One line in the notebook's names, e.g. `units off: A1[3], A1[7]; biases removed;
    /// W2 ×0.5`, or `no changes`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.units_off.is_empty() {
            let units: Vec<String> = self
                .units_off
                .iter()
                .map(|&(l, unit)| format!("A{}[{unit}]", l + 1))
                .collect();
            parts.push(format!("units off: {}", units.join(", ")));
        }
        if self.biases_removed {
            parts.push("biases removed".to_owned());
        }
        for (l, &scale) in self.layer_scale.iter().enumerate() {
            if Self::scales(scale) {
                let mut part = String::new();
                let _ = write!(part, "W{} ×{scale}", l + 1);
                parts.push(part);
            }
        }
        if parts.is_empty() {
            "no changes".to_owned()
        } else {
            parts.join("; ")
        }
    }

    /// Whether a factor changes the weights ([`Self::apply`] ignores 1 and non-finite ones).
    fn scales(scale: f32) -> bool {
        scale.is_finite() && scale != 1.0
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::network::Init;

    fn batch() -> Array2<f32> {
        Array2::from_shape_fn((5, 8), |(i, j)| ((i * 8 + j) as f32 * 0.41).sin().abs())
    }

    fn model() -> Mlp {
        // Uniform init: non-zero biases everywhere.
        Mlp::new(&[8, 6, 5, 4], Init::Uniform, 11)
    }

    #[test]
    fn identity_leaves_the_model_bit_identical() {
        let net = model();
        let ablation = Ablation::default();
        assert!(ablation.is_identity());
        assert_eq!(ablation.apply(&net), net);
        assert_eq!(ablation.describe(), "no changes");
        let ones = Ablation {
            layer_scale: vec![1.0, 1.0, 1.0],
            ..Ablation::default()
        };
        assert!(ones.is_identity());
        assert_eq!(ones.apply(&net), net);
        let mut toggled = Ablation::default();
        toggled.toggle_unit(0, 2);
        assert!(!toggled.is_identity());
        toggled.toggle_unit(0, 2);
        assert!(toggled.is_identity(), "toggling twice restores");
    }

    #[test]
    fn a_unit_off_reads_zero_and_acts_as_if_its_outgoing_weights_were_gone() {
        let net = model();
        let x = batch();
        let labels = [0u8, 1, 2, 3, 0];
        let before = net.trace(x.view(), &labels);
        for layer in [0, 1] {
            // The unit most active on the batch, so switching it off matters.
            let a = &before.layers[layer].a;
            let unit = (0..a.ncols())
                .max_by(|&i, &j| a.column(i).sum().total_cmp(&a.column(j).sum()))
                .unwrap();
            assert!(a.column(unit).sum() > 0.0);
            let mut ablation = Ablation::default();
            ablation.toggle_unit(layer, unit);
            assert!(ablation.is_off(layer, unit));
            let off = ablation.apply(&net);
            let trace = off.trace(x.view(), &labels);
            // Z and A of that unit are exactly 0 on every row, and so is its gradient dZ.
            for r in 0..x.nrows() {
                assert_eq!(trace.layers[layer].z[(r, unit)], 0.0);
                assert_eq!(trace.layers[layer].a[(r, unit)], 0.0);
                assert_eq!(trace.layers[layer].dz[(r, unit)], 0.0);
            }
            // Other units of the layer are untouched.
            for other in (0..net.layers[layer].outputs()).filter(|&u| u != unit) {
                assert_eq!(
                    trace.layers[layer].z.column(other),
                    before.layers[layer].z.column(other)
                );
            }
            // Removing its outgoing weights instead gives the same output, to the last bit
            // (its 0 adds nothing): nothing downstream sees the unit.
            let mut cut = net.clone();
            cut.layers[layer + 1].w.row_mut(unit).fill(0.0);
            let cut_output = cut.forward(x.view());
            let off_output = off.forward(x.view());
            assert!(
                cut_output.iter().zip(&off_output).all(|(a, b)| (a - b).abs() < 1e-6),
                "{cut_output} vs {off_output}"
            );
            assert_ne!(off_output, net.forward(x.view()), "the unit mattered");
            // A step of the sandbox keeps it off: its incoming weights and bias get no gradient.
            let stepped = off.stepped(&trace, 0.5);
            assert!(stepped.layers[layer].w.column(unit).iter().all(|&w| w == 0.0));
            assert_eq!(stepped.layers[layer].b[unit], 0.0);
            assert_eq!(ablation.describe(), format!("units off: A{}[{unit}]", layer + 1));
        }
    }

    #[test]
    fn removing_biases_zeroes_every_b_and_nothing_else() {
        let net = model();
        let ablation = Ablation {
            biases_removed: true,
            ..Ablation::default()
        };
        let out = ablation.apply(&net);
        for (a, b) in out.layers.iter().zip(&net.layers) {
            assert!(a.b.iter().all(|&v| v == 0.0));
            assert!(b.b.iter().any(|&v| v != 0.0), "the test model has biases");
            assert_eq!(a.w, b.w);
        }
        assert_eq!(ablation.describe(), "biases removed");
    }

    #[test]
    fn scaling_a_layer_scales_its_weights_and_keeps_its_bias() {
        let net = model();
        let mut ablation = Ablation::default();
        ablation.set_scale(1, 0.5);
        assert_eq!(ablation.layer_scale, vec![1.0, 0.5]);
        assert_eq!(ablation.scale_of(1), 0.5);
        assert_eq!(ablation.scale_of(2), 1.0);
        let out = ablation.apply(&net);
        assert_eq!(out.layers[0], net.layers[0]);
        assert_eq!(out.layers[2], net.layers[2]);
        assert_eq!(out.layers[1].w, net.layers[1].w.mapv(|w| w * 0.5));
        assert_eq!(out.layers[1].b, net.layers[1].b);
        // Scaling the last layer by 0 leaves only the biases: every input gets the same output.
        let mut flat = Ablation::default();
        flat.set_scale(2, 0.0);
        let probs = flat.apply(&net).forward(batch().view());
        assert!(probs.rows().into_iter().all(|r| r == probs.row(0)));
        assert_eq!(ablation.describe(), "W2 ×0.5");
    }

    #[test]
    fn switches_combine_and_describe_themselves() {
        let net = model();
        let mut ablation = Ablation {
            biases_removed: true,
            ..Ablation::default()
        };
        ablation.toggle_unit(0, 1);
        ablation.toggle_unit(1, 3);
        ablation.set_scale(0, 2.0);
        let out = ablation.apply(&net);
        assert!(out.layers[0].w.column(1).iter().all(|&w| w == 0.0));
        assert_eq!(out.layers[0].w.column(0), net.layers[0].w.column(0).mapv(|w| w * 2.0));
        assert!(out.layers[1].w.column(3).iter().all(|&w| w == 0.0));
        assert_eq!(ablation.describe(), "units off: A1[1], A2[3]; biases removed; W1 ×2");
        // It round-trips through serde (the app persists it).
        let json = serde_json::to_string(&ablation).unwrap();
        assert_eq!(serde_json::from_str::<Ablation>(&json).unwrap(), ablation);
        assert_eq!(serde_json::from_str::<Ablation>("{}").unwrap(), Ablation::default());
    }

    #[test]
    fn what_does_not_fit_the_model_is_ignored_without_a_panic() {
        let net = model();
        let mut ablation = Ablation::default();
        ablation.toggle_unit(2, 0); // the output layer
        ablation.toggle_unit(0, 99); // no such unit
        ablation.toggle_unit(7, 0); // no such layer
        ablation.layer_scale = vec![1.0, 1.0, 1.0, 3.0, 4.0];
        assert!(!ablation.fits(&net));
        assert_eq!(ablation.apply(&net), net);
        ablation.set_scale(1, f32::NAN);
        assert_eq!(ablation.apply(&net), net, "a NaN factor is ignored");
        assert_eq!(ablation.scale_of(1), 1.0);
        ablation.retain_fitting(&net);
        assert!(ablation.units_off.is_empty());
        assert_eq!(ablation.layer_scale.len(), 3);
        assert!(ablation.fits(&net));
        assert!(ablation.is_identity());
    }
}
