//! The Math tab: the notebook's math running on real numbers. One gradient-descent step of the
//! model shown ([`crate::app::App::shown_model`], the live run's snapshot while one trains) on a
//! dev sample, the drawing or a mini-batch, every line in order with its names and shapes
//! (`lines`), any Z value taken apart (`breakdown`), the update on a sandbox copy (`sandbox`),
//! break-it switches (`break_it`), "make it a d" (`make_it`), and where this differs from the
//! notebook (`notes`). The numbers come from [`crate::network::Mlp::trace`], the layer code that
//! trains (`compute`).

pub mod break_it;
pub mod breakdown;
pub mod compute;
pub mod input;
pub mod lines;
pub mod make_it;
pub mod notes;
pub mod paint;
pub mod sandbox;
pub mod units;

use std::sync::Arc;

use egui::RichText;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::app::session::ModelState;
use crate::app::version::Version;
use crate::model_file::ModelInfo;
use crate::network::Ablation;
use crate::network::Mlp;

use break_it::BreakIt;
use compute::{Computation, MathKey, MathResult};
use input::{InputSettings, MAX_BATCH, Prepared, Source, Sources};
use lines::{Lines, Touched};
use make_it::MakeIt;
use paint::Textures;
use sandbox::{Sandbox, UpdateAction, UpdateState};
use units::{RankBy, TOP};

/// How many terms a Z breakdown lists one by one.
const TERMS: usize = 10;

/// The Math tab: its settings (persisted) and its sandbox, switches and caches (not).
#[derive(Serialize, Deserialize)]
#[serde(default)]
pub struct MathTab {
    pub input: InputSettings,
    /// α of the update.
    pub alpha: f32,
    /// The example shown of a mini-batch (a column of X).
    pub example: usize,
    /// What ranks the units of wide layers.
    pub rank_by: RankBy,
    /// Units of wide layers shown besides the top ones: (layer, unit), layers from 0.
    pub picked: Vec<(usize, usize)>,
    pub make_it: MakeIt,
    /// The copy of the model the user steps by hand (None: the app's model, followed live).
    #[serde(skip)]
    pub sandbox: Option<Sandbox>,
    /// The break-it switches, applied to the sandbox.
    #[serde(skip)]
    pub ablation: Ablation,
    #[serde(skip)]
    ablation_version: u64,
    #[serde(skip)]
    break_it: BreakIt,
    #[serde(skip)]
    computation: Computation,
    #[serde(skip)]
    prepared: Option<Arc<Prepared>>,
    #[serde(skip)]
    textures: Textures,
    /// The Z value whose breakdown window is open: (layer, unit).
    #[serde(skip)]
    pub pinned: Option<(usize, usize)>,
    /// The model "Use this model" replaced, for Undo.
    #[serde(skip)]
    pub(crate) used: Option<UsedModel>,
    #[serde(skip)]
    pick: (usize, usize),
}

impl Default for MathTab {
    fn default() -> Self {
        MathTab {
            input: InputSettings::default(),
            alpha: 0.1,
            example: 0,
            rank_by: RankBy::default(),
            picked: Vec::new(),
            make_it: MakeIt::default(),
            sandbox: None,
            ablation: Ablation::default(),
            ablation_version: 0,
            break_it: BreakIt::default(),
            computation: Computation::default(),
            prepared: None,
            textures: Textures::default(),
            pinned: None,
            used: None,
            pick: (0, 0),
        }
    }
}

/// The app's model before "Use this model", and the version of the one that replaced it.
pub struct UsedModel {
    pub installed: Version,
    pub before: ModelState,
}

/// What the tab is shown with.
pub struct MathView<'a> {
    /// The model shown and its key.
    pub model: Option<(&'a Arc<Mlp>, u64)>,
    pub sources: Sources<'a>,
    /// Why the sandbox cannot become the app's model now (a run is under way).
    pub replace_blocked: Option<String>,
    /// The app's current model's version (Undo applies while it is the one installed).
    pub current: Option<Version>,
}

/// What the tab asks the app to do.
pub enum MathAction {
    /// Make this model the app's model (after `steps` steps by hand).
    Use {
        model: Arc<Mlp>,
        steps: usize,
    },
    Undo,
}

impl MathTab {
    /// Shows dev row `row` (from the Samples tab's "Open in Math").
    pub fn open_dev_row(&mut self, row: usize) {
        self.input.source = Source::DevSample;
        self.input.dev_row = row;
        self.example = 0;
    }

    /// The result shown (the tests read it).
    pub fn shown(&self) -> Option<&Arc<MathResult>> {
        self.computation.shown.as_ref()
    }

    pub fn reset_sandbox(&mut self) {
        self.sandbox = None;
        self.set_ablation(Ablation::default());
    }

    /// Sets the break-it switches (as the panel does).
    pub fn set_ablation(&mut self, ablation: Ablation) {
        if ablation != self.ablation {
            self.ablation = ablation;
            self.ablation_version += 1;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, view: MathView<'_>) -> Option<MathAction> {
        self.input_ui(ui, &view);
        let Some((shown, shown_key)) = view.model else {
            ui.label("No model: train one or open a model file.");
            return None;
        };
        let (base, base_key) = match &self.sandbox {
            Some(s) => (s.model.clone(), s.version),
            None => (shown.clone(), shown_key),
        };
        let mut fitted = self.ablation.clone();
        fitted.retain_fitting(&base);
        self.set_ablation(fitted);
        let input_key = input::input_key(&self.input, &view.sources, base_key);
        if self.prepared.as_ref().is_none_or(|p| p.key != input_key) {
            match input::prepare(&self.input, &view.sources, &base, input_key) {
                Ok(prepared) => self.prepared = Some(Arc::new(prepared)),
                Err(why) => {
                    self.prepared = None;
                    ui.label(why);
                    return None;
                }
            }
        }
        let prepared = self.prepared.clone()?;
        self.example = self.example.min(prepared.m() - 1);
        let key = MathKey {
            model: base_key,
            input: input_key,
            ablation: self.ablation_version,
        };
        let Some(result) = self.computation.get(ui.ctx(), key, &base, &prepared, &self.ablation) else {
            ui.spinner();
            return None;
        };
        let current = self.computation.is_current(key);
        self.status_line(ui, &result, current, shown_key);
        let shown_units = self.shown_units(&result);
        let mut action = None;
        let mut touched = None;
        ui.columns(2, |columns| {
            egui::ScrollArea::vertical()
                .id_salt("math_lines")
                .show(&mut columns[0], |ui| {
                    let mut lines = Lines {
                        result: &result,
                        example: self.example,
                        shown: &shown_units,
                        textures: &mut self.textures,
                        version: result.id,
                    };
                    ui.heading("Forward");
                    touched = lines.forward(ui);
                    ui.separator();
                    ui.heading("Backward");
                    lines.backward(ui);
                });
            egui::ScrollArea::vertical()
                .id_salt("math_side")
                .show(&mut columns[1], |ui| {
                    action = self.side_ui(ui, &view, &result, current, shown_key);
                });
        });
        if let Some(touched) = touched {
            self.touched(touched, &result);
        }
        self.pinned_window(ui.ctx(), &result);
        action
    }

    fn input_ui(&mut self, ui: &mut egui::Ui, view: &MathView<'_>) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("The math, step by step");
            ui.separator();
            ui.label("X is");
            for source in Source::ALL {
                ui.selectable_value(&mut self.input.source, source, source.title());
            }
            ui.separator();
            let dev_rows = view.sources.dev.map_or(0, |(s, _)| s.dev.rows());
            match self.input.source {
                Source::DevSample | Source::Batch if dev_rows > 0 => {
                    ui.label("dev row");
                    ui.add(egui::DragValue::new(&mut self.input.dev_row).range(0..=dev_rows - 1))
                        .on_hover_text("Or right-click a digit on the Samples or Map tab: Open in Math");
                    if self.input.source == Source::Batch {
                        ui.add(egui::Slider::new(&mut self.input.batch, 1..=MAX_BATCH).text("m"))
                            .on_hover_text(
                                "The mini-batch: m dev rows from this one on (the last m rows when it is near the end)",
                            );
                        let m = self.prepared.as_ref().map_or(1, |p| p.m());
                        if m > 1 {
                            ui.add(egui::Slider::new(&mut self.example, 0..=m - 1).text("example shown"));
                        }
                    }
                }
                Source::Drawing => {
                    let label = ui.label("meant as");
                    let text = self
                        .input
                        .drawing_label
                        .map_or("its reading".to_owned(), |d| d.to_string());
                    egui::ComboBox::from_id_salt("math_drawing_label")
                        .selected_text(text)
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.input.drawing_label, None, "its reading");
                            for d in 0..10u8 {
                                ui.selectable_value(&mut self.input.drawing_label, Some(d), d.to_string());
                            }
                        })
                        .response
                        .labelled_by(label.id)
                        .on_hover_text("Y, the label the loss compares with");
                }
                _ => {}
            }
        });
    }

    fn status_line(&self, ui: &mut egui::Ui, result: &MathResult, current: bool, shown_key: u64) {
        ui.horizontal_wrapped(|ui| {
            match &self.sandbox {
                None => ui.weak("Model: the app's (followed live while a run trains)."),
                Some(s) if s.from_key != shown_key => ui.weak(
                    "Model: the sandbox; the app's model changed since it was copied (Reset sandbox to follow it).",
                ),
                Some(s) => ui.weak(format!("Model: the sandbox, {} step(s) by hand.", s.steps)),
            };
            if !current {
                ui.spinner();
                ui.weak("computing…");
            }
            ui.weak(format!(
                "Traced in {:.1} ms ({} × {}).",
                result.seconds * 1000.0,
                sizes(&result.model),
                result.input.m()
            ));
        });
    }

    /// The units shown of each layer: all of a narrow layer, the top ones of a wide one.
    fn shown_units(&self, result: &MathResult) -> Vec<Vec<usize>> {
        let j = self.example;
        result
            .trace
            .layers
            .iter()
            .enumerate()
            .map(|(l, t)| {
                let scores = match self.rank_by {
                    RankBy::Activation => t.z.row(j).to_vec(),
                    RankBy::Gradient => t.dz.row(j).to_vec(),
                };
                let picked: Vec<usize> = self.picked.iter().filter(|p| p.0 == l).map(|p| p.1).collect();
                units::shown_units(&scores, TOP, &picked)
            })
            .collect()
    }

    fn side_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &MathView<'_>,
        result: &MathResult,
        current: bool,
        shown_key: u64,
    ) -> Option<MathAction> {
        let mut action = None;
        ui.heading("Update");
        let step_blocked = if !current {
            Some("Computing the step for the current input…")
        } else if !self.ablation.is_identity() {
            Some("Break-it switches are on: Restore them first (the step trains the model, not a broken copy).")
        } else if !result.trace.loss.is_finite() {
            Some("The loss is not finite: Reset sandbox or take a smaller α.")
        } else {
            None
        };
        let can_undo = match (&self.used, view.current) {
            (Some(used), Some(current)) => used.installed == current,
            _ => false,
        };
        let state = UpdateState {
            step_blocked,
            use_blocked: view.replace_blocked.clone(),
            can_undo,
        };
        match sandbox::ui(ui, result, self.sandbox.as_ref(), &mut self.alpha, &state) {
            Some(UpdateAction::Step) => {
                Sandbox::step(&mut self.sandbox, result, shown_key, self.alpha, self.example);
            }
            Some(UpdateAction::Reset) => self.reset_sandbox(),
            Some(UpdateAction::Use) => {
                if let Some(s) = &self.sandbox {
                    action = Some(MathAction::Use {
                        model: s.model.clone(),
                        steps: s.steps,
                    });
                }
            }
            Some(UpdateAction::Undo) => action = Some(MathAction::Undo),
            None => {}
        }
        ui.separator();
        egui::CollapsingHeader::new(RichText::new("Break it").heading())
            .id_salt("math_break_it")
            .default_open(true)
            .show(ui, |ui| {
                let base = match &self.sandbox {
                    Some(s) => s.model.clone(),
                    None => view
                        .model
                        .map(|(m, _)| m.clone())
                        .unwrap_or_else(|| result.model.clone()),
                };
                let mut ablation = self.ablation.clone();
                let current_result = current.then_some(result);
                if self.break_it.ui(ui, &mut ablation, &base, current_result, self.example) {
                    self.set_ablation(ablation);
                }
            });
        ui.separator();
        egui::CollapsingHeader::new(RichText::new("Make it a d").heading())
            .id_salt("math_make_it")
            .default_open(true)
            .show(ui, |ui| {
                let input = &result.input;
                if input.side * input.side != input.x.ncols() {
                    ui.weak("For square images only.");
                    return;
                }
                let model_key = result.key.model ^ result.key.ablation.rotate_left(32);
                self.make_it.ui(
                    ui,
                    &result.model,
                    model_key,
                    input.image(self.example),
                    &mut self.textures,
                );
            });
        ui.separator();
        egui::CollapsingHeader::new("Units of wide layers")
            .id_salt("math_units")
            .show(ui, |ui| self.units_ui(ui, &result.model));
        egui::CollapsingHeader::new("Where this differs from the notebook, and why")
            .id_salt("math_notes")
            .default_open(true)
            .show(ui, |ui| notes::ui(ui, &result.trace));
        action
    }

    fn units_ui(&mut self, ui: &mut egui::Ui, model: &Mlp) {
        ui.weak(format!(
            "Layers wider than {} units show the {TOP} largest for the example shown, ranked by:",
            units::SHOW_ALL_UP_TO
        ));
        ui.horizontal(|ui| {
            for rank in [RankBy::Activation, RankBy::Gradient] {
                ui.selectable_value(&mut self.rank_by, rank, rank.title());
            }
        });
        let wide: Vec<usize> = (0..model.layers.len())
            .filter(|&l| model.layers[l].outputs() > units::SHOW_ALL_UP_TO)
            .collect();
        if wide.is_empty() {
            ui.weak("Every layer of this network is narrow enough to show whole.");
            return;
        }
        if !wide.contains(&self.pick.0) {
            self.pick.0 = wide[0];
        }
        let width = model.layers[self.pick.0].outputs();
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Also show");
            egui::ComboBox::from_id_salt("math_pick_layer")
                .selected_text(format!("layer {}", self.pick.0 + 1))
                .show_ui(ui, |ui| {
                    for &l in &wide {
                        ui.selectable_value(&mut self.pick.0, l, format!("layer {}", l + 1));
                    }
                })
                .response
                .labelled_by(label.id);
            ui.add(
                egui::DragValue::new(&mut self.pick.1)
                    .range(0..=width - 1)
                    .prefix("unit #"),
            );
            if ui.button("Show it").clicked() && !self.picked.contains(&self.pick) {
                self.picked.push(self.pick);
            }
        });
        let mut remove = None;
        ui.horizontal_wrapped(|ui| {
            for (i, &(l, u)) in self.picked.iter().enumerate() {
                if ui.small_button(format!("layer {} #{u}: hide", l + 1)).clicked() {
                    remove = Some(i);
                }
            }
        });
        if let Some(i) = remove {
            self.picked.remove(i);
        }
    }

    /// Hovering a Z bar shows its breakdown; a click keeps it open in a window.
    fn touched(&mut self, touched: Touched, result: &MathResult) {
        let Touched {
            layer,
            unit,
            clicked,
            response,
        } = touched;
        if clicked {
            self.pinned = Some((layer, unit));
            return;
        }
        let example = self.example;
        let textures = &mut self.textures;
        response.on_hover_ui(|ui| breakdown_ui(ui, result, layer, unit, example, textures));
    }

    fn pinned_window(&mut self, ctx: &egui::Context, result: &MathResult) {
        let Some((layer, unit)) = self.pinned else { return };
        if layer >= result.trace.layers.len() || unit >= result.trace.layers[layer].z.ncols() {
            self.pinned = None;
            return;
        }
        let mut open = true;
        let example = self.example;
        let textures = &mut self.textures;
        egui::Window::new(format!("How Z{}[{unit}] is computed", layer + 1))
            .id(egui::Id::unique("math_breakdown"))
            .open(&mut open)
            .resizable(false)
            .show(ctx, |ui| breakdown_ui(ui, result, layer, unit, example, textures));
        if !open {
            self.pinned = None;
        }
    }
}

/// Z_l[unit] of the example taken apart: its terms (over the image for the first layer), the
/// rest, the bias.
fn breakdown_ui(
    ui: &mut egui::Ui,
    result: &MathResult,
    layer: usize,
    unit: usize,
    example: usize,
    textures: &mut Textures,
) {
    let w = result.model.layers[layer].w.column(unit);
    let bias = result.model.layers[layer].b[unit];
    let a = if layer == 0 {
        result.input.x.row(example)
    } else {
        result.trace.layers[layer - 1].a.row(example)
    };
    let b = breakdown::break_down(w, a, bias, TERMS);
    let z = result.trace.layers[layer].z[(example, unit)];
    let side = result.input.side;
    let image = (layer == 0 && side * side == a.len()).then(|| {
        let version = result.id ^ ((unit as u64) << 32) ^ ((example as u64) << 48);
        textures.get(ui.ctx(), "breakdown", version, || b.image(w, a, side))
    });
    let input_name = if layer == 0 {
        "x".to_owned()
    } else {
        format!("A{layer}")
    };
    b.ui(ui, &format!("Z{}[{unit}]", layer + 1), &input_name, z, image.as_ref());
}

fn sizes(model: &Mlp) -> String {
    model
        .sizes()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

impl App {
    /// "Use this model" and its Undo, through the app's normal model-replacing path.
    pub(crate) fn math_action(&mut self, action: MathAction) {
        match action {
            MathAction::Use { model, steps } => {
                let Some(before) = self.session.model.take() else {
                    return;
                };
                let info = ModelInfo {
                    dev_accuracy: None,
                    ..before.info.clone()
                };
                let name = format!("{} + {steps} step(s) by hand", before.name);
                let model = Arc::try_unwrap(model).unwrap_or_else(|shared| (*shared).clone());
                self.install_model(model, info, name.clone());
                self.finetuned_model_replaced();
                self.tabs.math.used = self.session.model.as_ref().map(|m| UsedModel {
                    installed: m.version,
                    before,
                });
                self.tabs.math.reset_sandbox();
                self.messages.notice = Some(format!(
                    "The model is now {name}. Undo on the Math tab brings the old one back."
                ));
            }
            MathAction::Undo => {
                let Some(used) = self.tabs.math.used.take() else { return };
                if self.session.model.as_ref().map(|m| m.version) != Some(used.installed) {
                    return;
                }
                let ModelState { model, info, name, .. } = used.before;
                let model = Arc::try_unwrap(model).unwrap_or_else(|shared| (*shared).clone());
                self.install_model(model, info, name.clone());
                self.tabs.math.reset_sandbox();
                self.messages.notice = Some(format!("Undone: the model is {name} again."));
            }
        }
    }
}
