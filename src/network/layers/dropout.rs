//! Dropout of hidden units while training ("inverted" dropout): each unit dropped with
//! probability `p`, the kept ones scaled by `1/(1-p)` so inference needs no change.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use rand::RngExt;
use rand::rngs::StdRng;

/// Forward, in place on the layer's output `a` `(n, outputs)`: each unit set to 0 with
/// probability `p` (drawn from `rng`, row after row), the others multiplied by `1/(1-p)`.
/// Nothing when `p` is 0.
pub(crate) fn forward(a: &mut ArrayViewMut2<'_, f32>, p: f32, rng: &mut StdRng) {
    if p <= 0.0 {
        return;
    }
    let keep_scale = 1.0 / (1.0 - p);
    for mut row in a.rows_mut() {
        for a in row.iter_mut() {
            *a = if rng.random::<f32>() < p { 0.0 } else { *a * keep_scale };
        }
    }
}

/// Backward, in place on `d` `(n, outputs)`: `d = d / (1-p)` where the unit was kept, 0 where it
/// was dropped, read from the layer's output `a` `(n, outputs)` (a dropped unit has `A = 0`;
/// a unit the ReLU zeroed gets 0 too, as its own backward would give it). Nothing when `p` is 0.
pub(crate) fn backward(d: &mut ArrayViewMut2<'_, f32>, a: &ArrayView2<'_, f32>, p: f32) {
    if p <= 0.0 {
        return;
    }
    let keep_scale = 1.0 / (1.0 - p);
    Zip::from(d).and(a).for_each(|d, &a| {
        *d = if a > 0.0 { *d * keep_scale } else { 0.0 };
    });
}
