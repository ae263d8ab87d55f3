//! The second half of a step cut into few chunks (mini-batches): the threads take blocks of rows
//! of the weight matrices in turn, sum each block's gradient over the chunks kept by the first
//! half ([`crate::network::Mlp::forward_backward`]) and apply the optimizer to it at once.
//!
//! Why by parameter rows: when each thread summed its chunk's gradient over the whole model,
//! every step wrote one full partial gradient per thread (2.1 MB for 784-512-256-10), and the
//! update read them all back and added them. Here each row of `dW` is made once, by the thread
//! that updates it, while it is still in that thread's cache, and more threads than chunks still
//! find work. Each element of `dW` is summed over the chunks in order and over each chunk's rows
//! in order whichever thread makes it, so the result is the same bits for any number of threads.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use ndarray::ArrayViewMut2;

use super::TrainConfig;
use super::optimizer::{OptimizerState, SUM_BLOCK, UpdateRule};
use super::pool::Pool;
use crate::network::{Gradients, Mlp, Workspace};

/// Rows of a weight matrix per piece of work: a block's `dW` (128 KB for 512 units) is still in
/// the cache when the optimizer reads it, and there are enough blocks for threads that finish
/// early to take more (a multiple of the products' 8-row tile).
const BLOCK_ROWS: usize = 64;

/// A piece of work: a block of rows of a layer's weights (or its bias), with the same rows of the
/// optimizer's moments and of the gradient.
struct Piece<'a> {
    layer: usize,
    /// Rows of the weight matrix (inputs of the layer); `None` for the bias.
    rows: Option<Range<usize>>,
    w: &'a mut [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    gradient: &'a mut [f32],
}

/// One optimizer step from the gradient of the chunks kept in `chunks` (in order), summed over
/// `batch` rows, on the threads of `pool`; thread `i` borrows `scratch[i]`'s buffers for the
/// products. `gradient` is where the step's gradient is made, shaped like `model`.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_update_by_rows(
    model: &mut Mlp,
    chunks: &[RwLock<Workspace>],
    gradient: &mut Gradients,
    state: &mut OptimizerState,
    config: &TrainConfig,
    alpha: f32,
    batch: usize,
    scratch: &[Mutex<Workspace>],
    pool: &mut Pool,
) {
    let rule = UpdateRule::next_step(state, config, alpha, batch);
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    let mut biases: Vec<Piece<'_>> = Vec::new();
    let (first, second) = (&mut state.first.layers, &mut state.second.layers);
    let layers = model.layers.iter_mut().zip(first).zip(second).zip(&mut gradient.layers);
    for (l, (((layer, m), v), g)) in layers.enumerate() {
        let outputs = layer.w.ncols();
        let floats = BLOCK_ROWS * outputs;
        let blocks = slice_mut(&mut layer.w)
            .chunks_mut(floats)
            .zip(slice_mut(&mut m.w).chunks_mut(floats))
            .zip(slice_mut(&mut v.w).chunks_mut(floats))
            .zip(slice_mut(&mut g.w).chunks_mut(floats));
        for (i, (((w, m), v), gradient)) in blocks.enumerate() {
            let start = i * BLOCK_ROWS;
            pieces.push(Piece {
                layer: l,
                rows: Some(start..start + w.len() / outputs),
                w,
                m,
                v,
                gradient,
            });
        }
        biases.push(Piece {
            layer: l,
            rows: None,
            w: slice_mut(&mut layer.b),
            m: slice_mut(&mut m.b),
            v: slice_mut(&mut v.b),
            gradient: slice_mut(&mut g.b),
        });
    }
    // The small biases last, so that they fill the gaps at the end.
    let pieces: Vec<Mutex<Option<Piece<'_>>>> = pieces.into_iter().chain(biases).map(|p| Mutex::new(Some(p))).collect();
    let next_piece = AtomicUsize::new(0);
    let rule = &rule;
    pool.run(&|thread| {
        let mut scratch = scratch[thread].lock().unwrap_or_else(PoisonError::into_inner);
        let chunks: Vec<_> = chunks
            .iter()
            .map(|chunk| chunk.read().unwrap_or_else(PoisonError::into_inner))
            .collect();
        let mut sum = [0.0; SUM_BLOCK];
        // Threads take pieces as they finish the last: one slowed down leaves more to the others.
        while let Some(slot) = pieces.get(next_piece.fetch_add(1, Ordering::Relaxed)) {
            let piece = slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .expect("each piece is taken once");
            match &piece.rows {
                Some(rows) => {
                    let shape = (rows.len(), piece.gradient.len() / rows.len().max(1));
                    let mut dw = ArrayViewMut2::from_shape(shape, &mut *piece.gradient).expect("whole rows");
                    for (c, chunk) in chunks.iter().enumerate() {
                        chunk.weight_gradient_rows(piece.layer, rows.clone(), c > 0, &mut dw, &mut scratch);
                    }
                }
                None => {
                    for (c, chunk) in chunks.iter().enumerate() {
                        chunk.bias_gradient(piece.layer, c > 0, piece.gradient);
                    }
                }
            }
            // No weight decay on biases.
            let l2 = if piece.rows.is_some() { config.l2 } else { 0.0 };
            rule.apply_sum(piece.w, &[&*piece.gradient], piece.m, piece.v, l2, &mut sum);
        }
    });
}

fn slice_mut<D: ndarray::Dimension>(a: &mut ndarray::Array<f32, D>) -> &mut [f32] {
    a.as_slice_mut().expect("parameters are contiguous")
}
