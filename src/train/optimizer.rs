//! The optimizers: the rule of one parameter update from a step's summed gradient, by plain
//! gradient descent, heavy-ball momentum or Adam, with L2 weight decay on the weights, and the
//! state it keeps between steps. [`super::update`] applies it to the model.

use super::{Optimizer, TrainConfig};
use crate::network::Mlp;

/// The optimizer's memory between steps: first and second moments shaped like the model
/// (momentum uses the first, Adam both), and the step count for Adam's bias correction.
/// A [`super::Checkpoint`] keeps a copy: resuming from it continues the same updates.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    pub(super) first: Mlp,
    pub(super) second: Mlp,
    pub(super) t: i32,
}

impl OptimizerState {
    /// Zero moments for `model`, before the first step.
    pub(super) fn new(model: &Mlp) -> OptimizerState {
        OptimizerState {
            first: model.zeros_like(),
            second: model.zeros_like(),
            t: 0,
        }
    }

    /// A state read back from a checkpoint file: the moments its optimizer uses (others empty)
    /// and the updates taken.
    pub fn from_moments(first: Mlp, second: Mlp, updates: i32) -> OptimizerState {
        OptimizerState {
            first,
            second,
            t: updates,
        }
    }

    /// Updates taken so far (Adam's `t`).
    pub fn updates(&self) -> i32 {
        self.t
    }

    /// The first moments (momentum's velocity, Adam's mean), shaped like the model; empty
    /// (no layers) when the optimizer keeps none.
    pub fn first_moment(&self) -> &Mlp {
        &self.first
    }

    /// Adam's second moments, shaped like the model; empty when the optimizer keeps none.
    pub fn second_moment(&self) -> &Mlp {
        &self.second
    }

    /// A copy holding only the moments `optimizer` reads (none for gradient descent, the first
    /// for momentum, both for Adam): the others stay zero all run, so a checkpoint need not
    /// keep them. [`OptimizerState::expanded`] restores them.
    pub(super) fn compact(&self, optimizer: Optimizer) -> OptimizerState {
        let empty = || Mlp { layers: Vec::new() };
        OptimizerState {
            first: if optimizer == Optimizer::Gd {
                empty()
            } else {
                self.first.clone()
            },
            second: if optimizer == Optimizer::Adam {
                self.second.clone()
            } else {
                empty()
            },
            t: self.t,
        }
    }

    /// The state for `model` from a compact copy: moments left out are zeros.
    pub(super) fn expanded(&self, model: &Mlp) -> OptimizerState {
        let full = |moment: &Mlp| {
            if moment.layers.is_empty() {
                model.zeros_like()
            } else {
                moment.clone()
            }
        };
        OptimizerState {
            first: full(&self.first),
            second: full(&self.second),
            t: self.t,
        }
    }

    /// Bytes of the moments held.
    pub fn bytes(&self) -> usize {
        4 * (self.first.parameter_count() + self.second.parameter_count())
    }
}

/// Floats summed at a time from the partial gradients before they are applied.
pub(super) const SUM_BLOCK: usize = 256;

const MOMENTUM: f32 = 0.9;
const ADAM_BETA1: f32 = 0.9;
const ADAM_BETA2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;

/// One step's update, applied to each parameter array in turn.
pub(super) struct UpdateRule {
    optimizer: Optimizer,
    alpha: f32,
    /// 1 / batch size: the accumulated gradient is a sum over rows.
    scale: f32,
    /// Adam's bias corrections, `1 - beta^t` for the first and second moments.
    correction1: f32,
    correction2: f32,
}

impl UpdateRule {
    /// The rule of the next step (counted in `state`) with the gradient summed over `batch` rows.
    pub(super) fn next_step(state: &mut OptimizerState, config: &TrainConfig, alpha: f32, batch: usize) -> UpdateRule {
        state.t += 1;
        UpdateRule {
            optimizer: config.optimizer,
            alpha,
            scale: 1.0 / batch.max(1) as f32,
            correction1: 1.0 - ADAM_BETA1.powi(state.t),
            correction2: 1.0 - ADAM_BETA2.powi(state.t),
        }
    }

    /// [`UpdateRule::apply`] with the gradient given as partial sums, added in order block by
    /// block into `sum`; compiled for AVX-512 where the CPU has it (the same operations, so the
    /// same bits: no multiply-add is fused).
    pub(super) fn apply_sum(
        &self,
        w: &mut [f32],
        grads: &[&[f32]],
        m: &mut [f32],
        v: &mut [f32],
        l2: f32,
        sum: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if crate::kernels::has_avx512() {
            // SAFETY: a `target_feature` function's only precondition is a CPU with those
            // features, which `has_avx512` has just checked; the slices are bounds-checked.
            unsafe { self.apply_sum_avx512(w, grads, m, v, l2, sum) };
            return;
        }
        self.apply_sum_portable(w, grads, m, v, l2, sum);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn apply_sum_avx512(
        &self,
        w: &mut [f32],
        grads: &[&[f32]],
        m: &mut [f32],
        v: &mut [f32],
        l2: f32,
        sum: &mut [f32],
    ) {
        self.apply_sum_portable(w, grads, m, v, l2, sum);
    }

    #[inline(always)]
    fn apply_sum_portable(
        &self,
        w: &mut [f32],
        grads: &[&[f32]],
        m: &mut [f32],
        v: &mut [f32],
        l2: f32,
        sum: &mut [f32],
    ) {
        if let [gradient] = grads {
            // One gradient (the update by parameter rows): applied where it is, not copied.
            self.apply(w, gradient, m, v, l2);
            return;
        }
        let block = sum.len();
        for (b, ((w, m), v)) in w
            .chunks_mut(block)
            .zip(m.chunks_mut(block))
            .zip(v.chunks_mut(block))
            .enumerate()
        {
            let range = b * block..b * block + w.len();
            let sum = &mut sum[..w.len()];
            match grads.split_first() {
                Some((first, rest)) => {
                    sum.copy_from_slice(&first[range.clone()]);
                    for g in rest {
                        for (s, &g) in sum.iter_mut().zip(&g[range.clone()]) {
                            *s += g;
                        }
                    }
                }
                None => sum.fill(0.0),
            }
            self.apply(w, sum, m, v, l2);
        }
    }

    /// Updates parameters `w` from the summed gradient `dw`; `m` and `v` are the optimizer's
    /// first and second moment buffers. All four have the parameter array's length (a layer's
    /// `(inputs, outputs)` weights or `(outputs)` biases, flattened).
    #[inline(always)]
    fn apply(&self, w: &mut [f32], dw: &[f32], m: &mut [f32], v: &mut [f32], l2: f32) {
        let (alpha, scale) = (self.alpha, self.scale);
        match self.optimizer {
            Optimizer::Gd => {
                for (w, &dw) in w.iter_mut().zip(dw) {
                    *w -= alpha * (dw * scale + l2 * *w);
                }
            }
            Optimizer::Momentum => {
                for ((w, &dw), m) in w.iter_mut().zip(dw).zip(m) {
                    *m = MOMENTUM * *m + dw * scale + l2 * *w;
                    *w -= alpha * *m;
                }
            }
            Optimizer::Adam => {
                let (c1, c2) = (self.correction1, self.correction2);
                for (((w, &dw), m), v) in w.iter_mut().zip(dw).zip(m).zip(v) {
                    let g = dw * scale + l2 * *w;
                    *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
                    *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
                    *w -= alpha * (*m / c1) / ((*v / c2).sqrt() + ADAM_EPS);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimises f(w) = 0.5 * sum((w - target)^2), whose gradient is w - target.
    fn minimise(optimizer: Optimizer, alpha: f32, steps: usize) -> Vec<f32> {
        let target = [3.0f32, -2.0, 0.5];
        let mut w = vec![0.0f32; 3];
        let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
        for t in 1..=steps {
            let rule = UpdateRule {
                optimizer,
                alpha,
                scale: 0.5,
                correction1: 1.0 - ADAM_BETA1.powi(t as i32),
                correction2: 1.0 - ADAM_BETA2.powi(t as i32),
            };
            // A summed gradient over a "batch" of 2 identical rows, scaled back by 1/2.
            let dw: Vec<f32> = w.iter().zip(target).map(|(w, t)| 2.0 * (w - t)).collect();
            rule.apply(&mut w, &dw, &mut m, &mut v, 0.0);
        }
        w.iter().zip(target).map(|(w, t)| (w - t).abs()).collect()
    }

    #[test]
    fn optimizers_converge_on_a_quadratic() {
        assert!(minimise(Optimizer::Gd, 0.1, 200).iter().all(|&e| e < 1e-4));
        assert!(minimise(Optimizer::Momentum, 0.05, 300).iter().all(|&e| e < 1e-4));
        assert!(minimise(Optimizer::Adam, 0.05, 2000).iter().all(|&e| e < 1e-2));
    }

    #[test]
    fn gd_step_is_exact() {
        let rule = UpdateRule {
            optimizer: Optimizer::Gd,
            alpha: 0.1,
            scale: 0.5,
            correction1: 1.0,
            correction2: 1.0,
        };
        let mut w = [1.0f32];
        rule.apply(&mut w, &[4.0], &mut [0.0], &mut [0.0], 0.5);
        // w - alpha * (dw/2 + l2*w) = 1 - 0.1 * (2 + 0.5)
        assert!((w[0] - 0.75).abs() < 1e-6);
    }

    #[test]
    fn first_adam_step_moves_by_alpha() {
        let rule = UpdateRule {
            optimizer: Optimizer::Adam,
            alpha: 0.01,
            scale: 1.0,
            correction1: 0.1,
            correction2: 0.001,
        };
        let mut w = [1.0f32, 1.0];
        rule.apply(&mut w, &[5.0, -0.001], &mut [0.0, 0.0], &mut [0.0, 0.0], 0.0);
        assert!((w[0] - 0.99).abs() < 1e-5 && (w[1] - 1.01).abs() < 1e-4, "{w:?}");
    }
}
