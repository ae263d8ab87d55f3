//! The second half of a step: the parameter update from the gradient the first half computed
//! ([`super::gradient::StepGradient`]), written once for both of its forms. The threads take
//! blocks of rows of the weight matrices in turn (then the biases), get each block's gradient and
//! apply the optimizer to it at once:
//! - a full batch left partial gradients, one per group of chunks: a block's gradient is the sum
//!   of its rows of them, added in group order;
//! - a mini-batch kept each chunk's forward and backward pass
//!   ([`crate::network::Mlp::forward_backward`]): a block's gradient is made from them
//!   ([`crate::network::Workspace::weight_gradient_rows`]), summed over the chunks in order.
//!
//! Why by parameter rows: when each thread summed its chunk's gradient over the whole model,
//! every step wrote one full partial gradient per thread (2.1 MB for 784-512-256-10), and the
//! update read them all back and added them. Here each row of `dW` is made once, by the thread
//! that updates it, while it is still in that thread's cache, and more threads than chunks still
//! find work. Summing partials inside the update likewise saves a pass over the parameters
//! (measured: the update of 784-512-256-10 was 9% of the CPU time and a quarter of the wall time
//! of a step, the other core waiting). Each element of `dW` is summed in the same order whichever
//! thread makes it, and the update is elementwise, so the result is the same bits for any number
//! of threads.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use ndarray::ArrayViewMut2;

use super::TrainConfig;
use super::optimizer::{OptimizerState, SUM_BLOCK, UpdateRule};
use super::pool::Pool;
use crate::network::{Gradients, Mlp, Workspace};

/// Rows of a weight matrix per block of work: a block's `dW` (128 KB for 512 units) is still in
/// the cache when the optimizer reads it, and there are enough blocks for threads that finish
/// early to take more (a multiple of the products' 8-row tile).
const BLOCK_ROWS: usize = 64;

/// A step's gradient as the update reads it.
pub(super) enum GradientParts<'a> {
    /// Partial sums over groups of chunks, added in this order.
    Partials(Vec<&'a Gradients>),
    /// The chunks' kept passes, in order; `buffer` (shaped like the model) is where each block's
    /// gradient is made.
    Kept {
        chunks: &'a [RwLock<Workspace>],
        buffer: &'a mut Gradients,
    },
}

/// A block of work: a block of rows of a layer's weights (or its bias), with the same rows of
/// the optimizer's moments, and of the gradient buffer when the block's gradient is made from
/// kept chunks.
struct ParameterBlock<'a> {
    layer: usize,
    /// Rows of the weight matrix (inputs of the layer); `None` for the bias.
    rows: Option<Range<usize>>,
    w: &'a mut [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    /// Where the block's gradient is made (kept chunks only).
    made: Option<&'a mut [f32]>,
}

/// One optimizer step with the gradient `gradient` of the summed loss over `batch` rows, on the
/// threads of `pool`; thread `i` borrows `scratch[i]`'s buffers for the products.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_update(
    model: &mut Mlp,
    gradient: GradientParts<'_>,
    state: &mut OptimizerState,
    config: &TrainConfig,
    alpha: f32,
    batch: usize,
    scratch: &[Mutex<Workspace>],
    pool: &mut Pool,
) {
    let rule = UpdateRule::next_step(state, config, alpha, batch);
    let (partials, chunks, buffer) = match gradient {
        GradientParts::Partials(partials) => (partials, &[][..], None),
        GradientParts::Kept { chunks, buffer } => (Vec::new(), chunks, Some(buffer)),
    };
    // Per layer, its weights' and bias's part of the buffer (kept chunks only).
    let made: Vec<Option<(&mut [f32], &mut [f32])>> = match buffer {
        Some(buffer) => buffer
            .layers
            .iter_mut()
            .map(|g| Some((slice_mut(&mut g.w), slice_mut(&mut g.b))))
            .collect(),
        None => model.layers.iter().map(|_| None).collect(),
    };
    let mut blocks: Vec<ParameterBlock<'_>> = Vec::new();
    let mut biases: Vec<ParameterBlock<'_>> = Vec::new();
    let (first, second) = (&mut state.first.layers, &mut state.second.layers);
    let layers = model.layers.iter_mut().zip(first).zip(second).zip(made);
    for (l, (((layer, m), v), made)) in layers.enumerate() {
        let outputs = layer.w.ncols();
        let floats = BLOCK_ROWS * outputs;
        let (made_w, made_b) = made.unzip();
        let mut made_blocks = made_w.map(|g| g.chunks_mut(floats));
        let weight_blocks = slice_mut(&mut layer.w)
            .chunks_mut(floats)
            .zip(slice_mut(&mut m.w).chunks_mut(floats))
            .zip(slice_mut(&mut v.w).chunks_mut(floats));
        for (i, ((w, m), v)) in weight_blocks.enumerate() {
            let start = i * BLOCK_ROWS;
            blocks.push(ParameterBlock {
                layer: l,
                rows: Some(start..start + w.len() / outputs),
                w,
                m,
                v,
                made: made_blocks.as_mut().and_then(Iterator::next),
            });
        }
        biases.push(ParameterBlock {
            layer: l,
            rows: None,
            w: slice_mut(&mut layer.b),
            m: slice_mut(&mut m.b),
            v: slice_mut(&mut v.b),
            made: made_b,
        });
    }
    // The small biases last, so that they fill the gaps at the end.
    let blocks: Vec<Mutex<Option<ParameterBlock<'_>>>> =
        blocks.into_iter().chain(biases).map(|b| Mutex::new(Some(b))).collect();
    let next_block = AtomicUsize::new(0);
    let (rule, partials) = (&rule, &partials);
    pool.run(&|thread| {
        let mut scratch = scratch[thread].lock().unwrap_or_else(PoisonError::into_inner);
        let chunks: Vec<_> = chunks
            .iter()
            .map(|chunk| chunk.read().unwrap_or_else(PoisonError::into_inner))
            .collect();
        let mut sum = [0.0; SUM_BLOCK];
        // Threads take blocks as they finish the last: one slowed down leaves more to the others.
        while let Some(slot) = blocks.get(next_block.fetch_add(1, Ordering::Relaxed)) {
            let block = slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .expect("each block is taken once");
            let ParameterBlock {
                layer,
                rows,
                w,
                m,
                v,
                made,
            } = block;
            // No weight decay on biases.
            let l2 = if rows.is_some() { config.l2 } else { 0.0 };
            match made {
                Some(made) => {
                    match &rows {
                        Some(rows) => {
                            let shape = (rows.len(), made.len() / rows.len().max(1));
                            let mut dw = ArrayViewMut2::from_shape(shape, &mut *made).expect("whole rows");
                            for (c, chunk) in chunks.iter().enumerate() {
                                chunk.weight_gradient_rows(layer, rows.clone(), c > 0, &mut dw, &mut scratch);
                            }
                        }
                        None => {
                            for (c, chunk) in chunks.iter().enumerate() {
                                chunk.bias_gradient(layer, c > 0, made);
                            }
                        }
                    }
                    rule.apply_sum(w, &[&*made], m, v, l2, &mut sum);
                }
                None => {
                    // The block's range of each partial gradient's array.
                    let start = rows
                        .as_ref()
                        .map_or(0, |rows| rows.start * (w.len() / rows.len().max(1)));
                    let range = start..start + w.len();
                    let grads: Vec<&[f32]> = partials
                        .iter()
                        .map(|g| {
                            let g = &g.layers[layer];
                            let array = if rows.is_some() { slice(&g.w) } else { slice(&g.b) };
                            &array[range.clone()]
                        })
                        .collect();
                    rule.apply_sum(w, &grads, m, v, l2, &mut sum);
                }
            }
        }
    });
}

fn slice<D: ndarray::Dimension>(a: &ndarray::Array<f32, D>) -> &[f32] {
    a.as_slice().expect("parameters are contiguous")
}

fn slice_mut<D: ndarray::Dimension>(a: &mut ndarray::Array<f32, D>) -> &mut [f32] {
    a.as_slice_mut().expect("parameters are contiguous")
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::network::fill_inputs;
    use crate::train::test_support::{run, small_split};
    use crate::train::{Length, Preset, TrainConfig, init_model};

    /// The trace the Math tab reads is the step's own gradient: one full-batch gradient descent
    /// step (plain, no decay) moves each parameter by `alpha` times the trace's `dW` and `db`,
    /// whether the step kept its chunks' passes (few chunks) or summed partial gradients (many).
    #[test]
    fn one_gradient_descent_step_moves_the_parameters_by_the_traced_gradient() {
        // 1,000 rows: 4 chunks, kept; 4,800 rows: 19 chunks, summed in partials.
        let many = crate::embedded::sample().unwrap().split(200, 3);
        assert!(many.train.rows().div_ceil(256) > 16);
        for (split, hidden) in [(small_split(), 16), (many, 12)] {
            let rows = split.train.rows();
            let config = TrainConfig {
                hidden: vec![hidden],
                alpha: 0.5,
                length: Length::Iterations(1),
                ..TrainConfig::preset(Preset::Seed)
            };
            let before = init_model(&config);
            let (after, _) = run(&config, &split);
            let mut x = Array2::zeros((rows, before.inputs()));
            fill_inputs(&mut x.view_mut(), &split.train.pixels);
            let trace = before.trace(x.view(), &split.train.labels);
            for (l, ((b, a), t)) in before.layers.iter().zip(&after.layers).zip(&trace.layers).enumerate() {
                let expected_w = &b.w - &(t.dw.mapv(|g| g * config.alpha));
                let expected_b = &b.b - &(t.db.mapv(|g| g * config.alpha));
                let w_error = (&a.w - &expected_w).iter().fold(0.0f32, |m, e| m.max(e.abs()));
                let b_error = (&a.b - &expected_b).iter().fold(0.0f32, |m, e| m.max(e.abs()));
                assert!(
                    w_error < 1e-5 && b_error < 1e-5,
                    "hidden {hidden}, layer {l}: {w_error} {b_error}"
                );
                assert!(t.dw.iter().any(|&g| g.abs() > 1e-3), "a gradient that moves something");
            }
        }
    }
}
