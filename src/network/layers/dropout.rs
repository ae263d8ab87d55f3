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

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn dropout_drops_its_share_scales_the_rest_and_its_backward_follows_the_same_units() {
        let mut a = Array2::from_elem((40, 50), 2.0f32);
        super::forward(&mut a.view_mut(), 0.2, &mut StdRng::seed_from_u64(1));
        let dropped = a.iter().filter(|&&v| v == 0.0).count();
        assert!((300..500).contains(&dropped), "{dropped} of 2000 dropped at p = 0.2");
        assert!(a.iter().all(|&v| v == 0.0 || v == 2.5), "kept units scaled by 1/(1-p)");
        let mut d = Array2::from_elem((40, 50), 1.0f32);
        super::backward(&mut d.view_mut(), &a.view(), 0.2);
        for (&d, &a) in d.iter().zip(&a) {
            assert_eq!(d, if a > 0.0 { 1.25 } else { 0.0 });
        }
        // p = 0: both are the identity.
        let before = a.clone();
        super::forward(&mut a.view_mut(), 0.0, &mut StdRng::seed_from_u64(1));
        super::backward(&mut d.view_mut(), &a.view(), 0.0);
        assert_eq!(a, before);
    }
}
