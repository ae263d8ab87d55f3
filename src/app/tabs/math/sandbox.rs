//! The update, `W ← W − α·dW` for each layer, on a sandbox copy of the model: "Take this step"
//! applies exactly the traced step, pressing it again is gradient descent by hand (with a small
//! loss curve), "Reset sandbox" starts over and "Use this model" hands the sandbox to the app.

use std::sync::Arc;

use egui::RichText;
use egui_plot::{Line, Plot, PlotPoints};

use crate::app::version::Version;
use crate::network::{Mlp, argmax};

use super::compute::MathResult;
use super::paint::short;

/// A copy of the model the user steps by hand.
pub struct Sandbox {
    /// The key of the app's model it was copied from.
    pub from_key: u64,
    pub model: Arc<Mlp>,
    /// Changes with every step (the trace's cache key).
    pub version: u64,
    pub steps: usize,
    /// The loss on `curve_input` before the first step and after each step since.
    pub curve: Vec<f32>,
    pub curve_input: u64,
    pub last: Option<StepReport>,
}

/// What the last step did to the input it was taken on.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub alpha: f32,
    pub loss_before: f32,
    pub loss_after: f32,
    /// The example shown: its probabilities before and after, and its label.
    pub probs_before: Vec<f32>,
    pub probs_after: Vec<f32>,
    pub label: u8,
}

/// The mean cross-entropy of probabilities `p` `(m, classes)` for `labels`.
pub fn mean_loss(p: &ndarray::Array2<f32>, labels: &[u8]) -> f32 {
    let sum: f64 = labels
        .iter()
        .enumerate()
        .map(|(r, &y)| -f64::from(p[(r, usize::from(y))].max(f32::MIN_POSITIVE)).ln())
        .sum();
    // + 0.0: a loss of −0 reads as 0.
    (sum / labels.len().max(1) as f64) as f32 + 0.0
}

impl Sandbox {
    /// Applies the traced step of `result` (taken on this sandbox's model, or on the app's
    /// model `from_key` when there is no sandbox yet) with `alpha`; `example` is the one shown.
    pub fn step(sandbox: &mut Option<Sandbox>, result: &MathResult, from_key: u64, alpha: f32, example: usize) {
        let next = result.model.stepped(&result.trace, alpha);
        let x = result.input.x.view();
        let labels = &result.input.labels;
        let after = next.forward(x);
        let loss_after = mean_loss(&after, labels);
        let example = example.min(labels.len().saturating_sub(1));
        let report = StepReport {
            alpha,
            loss_before: result.trace.loss,
            loss_after,
            probs_before: result
                .trace
                .layers
                .last()
                .map_or(Vec::new(), |l| l.a.row(example).to_vec()),
            probs_after: after.row(example).to_vec(),
            label: labels[example],
        };
        let input = result.input.key;
        let s = sandbox.get_or_insert_with(|| Sandbox {
            from_key,
            model: result.model.clone(),
            version: 0,
            steps: 0,
            curve: Vec::new(),
            curve_input: input,
            last: None,
        });
        if s.curve_input != input || s.curve.is_empty() {
            s.curve = vec![result.trace.loss];
            s.curve_input = input;
        }
        s.curve.push(loss_after);
        s.model = Arc::new(next);
        s.version = Version::next().get();
        s.steps += 1;
        s.last = Some(report);
    }
}

/// What the update section asks for.
pub enum UpdateAction {
    Step,
    Reset,
    Use,
    Undo,
}

/// Why the buttons are off, if they are.
pub struct UpdateState<'a> {
    /// Why "Take this step" cannot run now.
    pub step_blocked: Option<&'a str>,
    /// Why "Use this model" cannot run now.
    pub use_blocked: Option<String>,
    pub can_undo: bool,
}

/// The update lines, the alpha slider, the buttons, before → after and the loss curve.
pub fn ui(
    ui: &mut egui::Ui,
    result: &MathResult,
    sandbox: Option<&Sandbox>,
    alpha: &mut f32,
    state: &UpdateState<'_>,
) -> Option<UpdateAction> {
    let mut action = None;
    ui.add(
        egui::Slider::new(alpha, 1e-4..=10.0)
            .logarithmic(true)
            .text("α (learning rate)"),
    )
    .on_hover_text("The step size: how far each weight moves against its gradient. The notebook uses 0.10.");
    for (l, (layer, t)) in result.model.layers.iter().zip(&result.trace.layers).enumerate() {
        let (inputs, outputs) = layer.w.dim();
        let change = t.dw.iter().fold(0.0f32, |m, d| m.max(d.abs())) * *alpha;
        let change_b = t.db.iter().fold(0.0f32, |m, d| m.max(d.abs())) * *alpha;
        ui.monospace(format!(
            "W{n} ← W{n} − α·dW{n}   ({outputs}×{inputs})   largest |α·dW{n}| = {}",
            short(change),
            n = l + 1
        ));
        ui.monospace(format!(
            "b{n} ← b{n} − α·db{n}   ({outputs}×1)     largest |α·db{n}| = {}",
            short(change_b),
            n = l + 1
        ));
    }
    ui.horizontal_wrapped(|ui| {
        let step = ui.add_enabled(state.step_blocked.is_none(), egui::Button::new("Take this step"));
        let step = match state.step_blocked {
            Some(why) => step.on_disabled_hover_text(why),
            None => step.on_hover_text("Apply exactly these updates to the sandbox copy of the model"),
        };
        if step.clicked() {
            action = Some(UpdateAction::Step);
        }
        if ui
            .add_enabled(sandbox.is_some(), egui::Button::new("Reset sandbox"))
            .on_hover_text("Forget the steps: back to the app's model")
            .clicked()
        {
            action = Some(UpdateAction::Reset);
        }
        let usable = sandbox.is_some_and(|s| s.steps > 0) && state.use_blocked.is_none();
        let button = ui.add_enabled(usable, egui::Button::new("Use this model"));
        let button = match (&state.use_blocked, sandbox) {
            (Some(why), _) => button.on_disabled_hover_text(why),
            (None, None) => button.on_disabled_hover_text("Take a step first"),
            (None, Some(_)) => button.on_hover_text("Make the sandbox the app's model (Undo brings the old one back)"),
        };
        if button.clicked() {
            action = Some(UpdateAction::Use);
        }
        if state.can_undo
            && ui
                .button("Undo \"Use this model\"")
                .on_hover_text("Back to the model from before")
                .clicked()
        {
            action = Some(UpdateAction::Undo);
        }
    });
    let Some(sandbox) = sandbox else {
        ui.weak("The sandbox is the app's model until you take a step (then it is a copy the app does not use).");
        return action;
    };
    ui.label(format!(
        "Sandbox: {} step{} by hand.",
        sandbox.steps,
        if sandbox.steps == 1 { "" } else { "s" }
    ));
    if let Some(last) = &sandbox.last {
        ui.label(
            RichText::new(format!(
                "Last step (α = {}): loss {:.4} → {:.4}",
                short(last.alpha),
                last.loss_before,
                last.loss_after
            ))
            .strong()
            .monospace(),
        );
        let y = usize::from(last.label);
        let (before, after) = (argmax(&last.probs_before), argmax(&last.probs_after));
        ui.monospace(format!(
            "P(y = {y}) {:.1}% → {:.1}%; reads it as {before} → {after}",
            last.probs_before.get(y).copied().unwrap_or(0.0) * 100.0,
            last.probs_after.get(y).copied().unwrap_or(0.0) * 100.0,
        ));
        egui::CollapsingHeader::new("Probabilities before and after")
            .id_salt("math_before_after")
            .show(ui, |ui| {
                egui::Grid::new("math_before_after_grid").striped(true).show(ui, |ui| {
                    for (class, (b, a)) in last.probs_before.iter().zip(&last.probs_after).enumerate() {
                        let text = format!("{class}: {:6.2}% → {:6.2}%", b * 100.0, a * 100.0);
                        if class == y {
                            ui.monospace(RichText::new(text).strong().monospace());
                        } else {
                            ui.monospace(text);
                        }
                        ui.end_row();
                    }
                });
            });
    }
    if sandbox.curve.len() >= 2 {
        let points: PlotPoints<'_> = sandbox
            .curve
            .iter()
            .enumerate()
            .map(|(i, &loss)| [i as f64, f64::from(loss)])
            .collect();
        Plot::new("math_loss_curve")
            .height(110.0)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .include_y(0.0)
            .x_axis_label("steps by hand")
            .y_axis_label("loss")
            .show(ui, |plot| plot.line(Line::new("loss", points)));
    }
    action
}
