//! The numbers the Math tab shows: [`Mlp::trace`] of the (sandbox or shown) model, with the
//! break-it switches applied, on the prepared input. Small networks are traced on the UI thread
//! within the frame; large ones off it ([`Latest`]), the last result shown meanwhile. Either
//! way a result is kept by its [`MathKey`], so idle frames compute nothing.

use std::sync::Arc;
use std::time::Instant;

use ndarray::Array2;

use crate::network::Ablation;
use crate::network::{Mlp, Trace};

use super::input::Prepared;
use crate::app::jobs::background::Latest;

/// Traces whose work (multiply-adds, about m × parameters × 3) is below this run on the UI
/// thread: about a millisecond in a release build.
const UI_THREAD_WORK: usize = 4_000_000;

/// What a trace depends on: the model before the switches, the input, the switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MathKey {
    pub model: u64,
    pub input: u64,
    pub ablation: u64,
}

/// One traced step.
pub struct MathResult {
    pub key: MathKey,
    /// Unique to this result (the textures drawn from it are keyed on it).
    pub id: u64,
    /// The model traced: the base model with the break-it switches applied.
    pub model: Arc<Mlp>,
    pub input: Arc<Prepared>,
    pub trace: Trace,
    /// `(m, classes)`: the probabilities of the model without the switches, when some are on.
    pub unbroken: Option<Array2<f32>>,
    /// How long the trace took, in seconds.
    pub seconds: f64,
}

/// Traces `base` (with `ablation` applied) on `input`.
pub fn compute(key: MathKey, base: &Arc<Mlp>, input: Arc<Prepared>, ablation: &Ablation) -> MathResult {
    let start = Instant::now();
    let (model, unbroken) = if ablation.is_identity() {
        (base.clone(), None)
    } else {
        (Arc::new(ablation.apply(base)), Some(base.forward(input.x.view())))
    };
    let trace = model.trace(input.x.view(), &input.labels);
    MathResult {
        key,
        id: crate::app::version::Version::next().get(),
        model,
        input,
        trace,
        unbroken,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The tab's latest trace, and the worker for the large ones.
#[derive(Default)]
pub struct Computation {
    pub shown: Option<Arc<MathResult>>,
    worker: Latest<MathKey, Arc<MathResult>>,
}

impl Computation {
    /// The result for `key`, computed now (small networks), or the last one while a worker
    /// computes it (large ones).
    pub fn get(
        &mut self,
        ctx: &egui::Context,
        key: MathKey,
        base: &Arc<Mlp>,
        input: &Arc<Prepared>,
        ablation: &Ablation,
    ) -> Option<Arc<MathResult>> {
        if self.shown.as_ref().is_some_and(|r| r.key == key) {
            return self.shown.clone();
        }
        if input.m() * base.parameter_count() * 3 <= UI_THREAD_WORK {
            self.shown = Some(Arc::new(compute(key, base, input.clone(), ablation)));
            return self.shown.clone();
        }
        let (base, input, ablation) = (base.clone(), input.clone(), ablation.clone());
        if let Some((_, result)) = self
            .worker
            .get(ctx, key, move || Arc::new(compute(key, &base, input, &ablation)))
        {
            self.shown = Some(result.clone());
        }
        self.shown.clone()
    }

    /// The shown result is for `key` (nothing is being computed for it).
    pub fn is_current(&self, key: MathKey) -> bool {
        self.shown.as_ref().is_some_and(|r| r.key == key)
    }
}
