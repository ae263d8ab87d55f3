//! "Why this digit?": which pixels made the network say what it says, and which hidden units.
//!
//! The method is Integrated Gradients (Sundararajan, Taly and Yan, 2017). Fade the image in from
//! a black picture (the baseline, all zeros) to the image itself, and at each point along the
//! way ask the network how much its score for the target class would rise if each pixel were a
//! little brighter (the gradient). A pixel's attribution is its brightness times the average of
//! those gradients over the fade. Attributions add up to the change in the score between the
//! black picture and the image (completeness), so they share out the network's decision among
//! the pixels: positive pixels push toward the target class, negative ones away from it. Black
//! pixels get nothing: in this method, evidence is ink.
//!
//! The score explained is the *centred logit* of the target class `k`,
//! `f_k(x) = z_k(x) - mean_j z_j(x)`: the log-probability of `k` minus the mean log-probability
//! of all ten classes (softmax adds the same constant to every log-probability, so this is
//! softmax-invariant). Ink that raises every class's logit alike is not evidence for `k`. Its
//! gradient at the logits is `e_k - 1/10` for every row.
//!
//! The average over the fade is a midpoint Riemann sum of [`IG_STEPS`] points
//! (`(s + 0.5) / IG_STEPS` of the image, `s = 0..IG_STEPS`), which go through the network as one
//! batch together with the image itself and the black baseline: one forward and one backward pass
//! of the training code ([`Mlp::input_gradients`]). The remaining error of the sum is reported as
//! the completeness gap.
//!
//! Hidden units are explained the simple way: each unit's activation times the gradient of
//! `f_k` with respect to it, at the image (gradient x activation); [`top_activating`] finds the
//! images that excite a unit most.

use ndarray::{Array2, Axis, s};

use crate::data::{CLASSES, PIXELS};
use crate::network::{InputGradients, Mlp, Workspace, argmax, fill_inputs};

/// Points of the path from black to the image at which the gradient is taken.
pub const IG_STEPS: usize = 32;

/// Rows per chunk in [`top_activating`].
const CHUNK: usize = 256;

/// What the network says about one 28x28 image and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The class explained (the prediction unless asked otherwise).
    pub target: usize,
    pub predicted: usize,
    pub probabilities: [f32; CLASSES],
    /// Attribution per input pixel, row-major; > 0 = evidence for `target`.
    pub pixels: [f32; PIXELS],
    /// `|sum(pixels) - (f_k(x) - f_k(0))|`: how far the 32-step sum is from the exact total.
    pub completeness_gap: f32,
    /// Where more ink would push toward `target`: `(1 - x_i) * dF/dx_i` at the image, the
    /// first-order change of the score if pixel `i` were turned fully white. Integrated
    /// gradients give blank pixels nothing; this answers "what would make it a 1?".
    pub ink_gradient: [f32; PIXELS],
    /// Per hidden layer, the activations `A_l` of the image itself.
    pub hidden: Vec<Vec<f32>>,
    /// Per hidden layer, each unit's contribution to `f_target`: `A_l * dF/dA_l` at the image
    /// (gradient x activation).
    pub units: Vec<Vec<f32>>,
}

/// Explains `model`'s answer for `image` (u8 pixels, as the data and the preprocessing give
/// them): integrated gradients of the centred logit of `target` (the predicted class when
/// `None`) from a black image. Panics if `target` is not a class (0-9).
pub fn explain(model: &Mlp, image: &[u8; PIXELS], target: Option<usize>) -> Explanation {
    // x: (1, 784) scaled to [0, 1]
    let mut x = Array2::zeros((1, PIXELS));
    fill_inputs(&mut x.view_mut(), image);
    let probs = model.forward(x.view());
    let mut probabilities = [0.0; CLASSES];
    probabilities.copy_from_slice(probs.as_slice().expect("one contiguous row"));
    let predicted = argmax(&probabilities);
    let target = target.unwrap_or(predicted);
    assert!(target < CLASSES, "target {target} is not a class");

    let (path, completeness_gap, grads) = integrated_gradients(model, &x, target, IG_STEPS);
    let mut pixels = [0.0f32; PIXELS];
    pixels.copy_from_slice(&path);
    let image_row = IG_STEPS;

    let mut ink_gradient = [0.0f32; PIXELS];
    for ((dst, &g), &xi) in ink_gradient.iter_mut().zip(grads.dx.row(image_row)).zip(x.row(0)) {
        *dst = (1.0 - xi) * g;
    }
    let hidden: Vec<Vec<f32>> = grads.hidden.iter().map(|a| a.row(image_row).to_vec()).collect();
    let units = grads
        .hidden
        .iter()
        .zip(&grads.d_hidden)
        .map(|(a, da)| (&a.row(image_row) * &da.row(image_row)).to_vec())
        .collect();
    Explanation {
        target,
        predicted,
        probabilities,
        pixels,
        completeness_gap,
        ink_gradient,
        hidden,
        units,
    }
}

/// Integrated gradients of the centred logit of `target` for `x` `(1, 784)` from black, with
/// `steps` midpoints: the attributions, the completeness gap, and the batch's pass (rows: the
/// midpoints, then the image at row `steps`, then the baseline).
fn integrated_gradients(model: &Mlp, x: &Array2<f32>, target: usize, steps: usize) -> (Vec<f32>, f32, InputGradients) {
    // batch: (steps + 2, 784): the path's midpoints, then the image, then the baseline (zeros)
    let (image_row, baseline_row) = (steps, steps + 1);
    let mut batch = Array2::zeros((steps + 2, PIXELS));
    for (s, mut row) in batch.rows_mut().into_iter().enumerate().take(steps + 1) {
        let alpha = if s < steps {
            (s as f32 + 0.5) / steps as f32
        } else {
            1.0
        };
        row.assign(&(&x.row(0) * alpha));
    }
    // dZ_L: (steps + 2, 10), the gradient of f_k = z_k - mean_j z_j: e_k - 1/10 on every row
    let mut seed = Array2::from_elem((steps + 2, CLASSES), -1.0 / CLASSES as f32);
    seed.column_mut(target).mapv_inplace(|v| v + 1.0);
    let grads = model.input_gradients(batch.view(), seed.view());

    // IG_i = x_i * mean over the path of dF/dx_i; path_sum: (784)
    let path_sum = grads.dx.slice(s![..steps, ..]).sum_axis(Axis(0));
    let pixels: Vec<f32> = path_sum
        .iter()
        .zip(x.row(0))
        // Black pixels get exactly 0 (not -0.0 from a negative gradient).
        .map(|(&g, &xi)| if xi == 0.0 { 0.0 } else { xi * g / steps as f32 })
        .collect();

    let centred = |row: usize| {
        let z = grads.logits.row(row);
        f64::from(z[target]) - z.iter().map(|&v| f64::from(v)).sum::<f64>() / CLASSES as f64
    };
    let total = centred(image_row) - centred(baseline_row);
    let sum: f64 = pixels.iter().map(|&v| f64::from(v)).sum();
    (pixels, (sum - total).abs() as f32, grads)
}

/// Rows of `pixels` (rows*784 u8) that excite hidden unit `unit` of hidden layer `layer` most,
/// highest first, with their activation. Ties go to the lower row index. Runs in chunks of 256
/// rows through the layers up to `layer` only, keeping the `k` best. Empty when `layer` is not a
/// hidden layer of `model` or `unit` is not one of its units.
pub fn top_activating(model: &Mlp, pixels: &[u8], layer: usize, unit: usize, k: usize) -> Vec<(usize, f32)> {
    let hidden_layers = model.layers.len() - 1;
    if k == 0 || layer >= hidden_layers || unit >= model.layers[layer].outputs() {
        return Vec::new();
    }
    let rows = pixels.len() / PIXELS;
    let mut ws = Workspace::new(model, CHUNK);
    // x: (CHUNK, 784), the chunk's inputs
    let mut x = Array2::zeros((CHUNK, PIXELS));
    // The k best so far, best first: higher activation, then lower row.
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    let better = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    for start in (0..rows).step_by(CHUNK) {
        let n = CHUNK.min(rows - start);
        fill_inputs(
            &mut x.slice_mut(s![..n, ..]),
            &pixels[start * PIXELS..(start + n) * PIXELS],
        );
        let acts = model.hidden_activations(x.slice(s![..n, ..]), &mut ws, layer);
        // A_layer: (n, outputs_layer)
        for (i, &a) in acts[layer].column(unit).iter().enumerate() {
            let candidate = (start + i, a);
            if best.len() == k && better(&candidate, &best[k - 1]).is_ge() {
                continue;
            }
            let at = best.partition_point(|b| better(b, &candidate).is_lt());
            best.insert(at, candidate);
            best.truncate(k);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Init;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{RngExt, SeedableRng};

    /// A made-up "digit": bright strokes with some grey.
    fn test_image(seed: u64) -> [u8; PIXELS] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut image = [0u8; PIXELS];
        for p in image.iter_mut() {
            if rng.random::<f32>() < 0.25 {
                *p = rng.random_range(30..=255);
            }
        }
        image
    }

    fn centred_logit(model: &Mlp, x: &[f32], k: usize) -> f64 {
        // A plain f64 forward pass, independent of the network's code.
        let mut a: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        for (l, layer) in model.layers.iter().enumerate() {
            let mut z: Vec<f64> = layer.b.iter().map(|&b| f64::from(b)).collect();
            for (i, &ai) in a.iter().enumerate() {
                if ai != 0.0 {
                    for (zj, &w) in z.iter_mut().zip(layer.w.row(i)) {
                        *zj += ai * f64::from(w);
                    }
                }
            }
            if l + 1 < model.layers.len() {
                for v in &mut z {
                    *v = v.max(0.0);
                }
            }
            a = z;
        }
        a[k] - a.iter().sum::<f64>() / a.len() as f64
    }

    fn scaled(image: &[u8; PIXELS]) -> Vec<f32> {
        image.iter().map(|&p| f32::from(p) / 255.0).collect()
    }

    #[test]
    fn without_hidden_layers_ig_is_input_times_centred_weight() {
        let mut model = Mlp::new(&[PIXELS, CLASSES], Init::He, 11);
        model.layers[0].b = ndarray::Array1::from_shape_fn(CLASSES, |j| j as f32 * 0.3 - 1.0);
        let image = test_image(1);
        let x = scaled(&image);
        let e = explain(&model, &image, None);
        let other = (e.predicted + 3) % CLASSES;
        for target in [e.predicted, other] {
            let e = explain(&model, &image, Some(target));
            assert_eq!(e.target, target);
            assert!(e.hidden.is_empty() && e.units.is_empty());
            let w = &model.layers[0].w;
            let mut worst = 0.0f64;
            for i in 0..PIXELS {
                let mean = f64::from(w.row(i).sum()) / CLASSES as f64;
                let exact = f64::from(x[i]) * (f64::from(w[(i, target)]) - mean);
                let err = (f64::from(e.pixels[i]) - exact).abs() / exact.abs().max(1e-3);
                worst = worst.max(err);
                // More ink: (1 - x_i) times the same constant gradient.
                let more = (1.0 - f64::from(x[i])) * (f64::from(w[(i, target)]) - mean);
                let err = (f64::from(e.ink_gradient[i]) - more).abs() / more.abs().max(1e-3);
                worst = worst.max(err);
                if x[i] == 0.0 {
                    assert_eq!(e.pixels[i], 0.0);
                }
            }
            assert!(worst < 1e-4, "target {target}: worst relative error {worst}");
            assert!(e.completeness_gap < 1e-4, "{}", e.completeness_gap);
        }
    }

    #[test]
    fn completeness_holds_on_a_hidden_layer_network() {
        let (model, _) = crate::embedded::model().unwrap();
        let data = crate::embedded::sample().unwrap();
        let mut relative = Vec::new();
        for row in 0..100 {
            let image: [u8; PIXELS] = data.image(row).try_into().unwrap();
            let e = explain(&model, &image, None);
            let sum: f64 = e.pixels.iter().map(|&v| f64::from(v)).sum();
            let x = scaled(&image);
            let total = centred_logit(&model, &x, e.target) - centred_logit(&model, &[0.0; PIXELS], e.target);
            // The reported gap is the gap against an independent forward pass.
            assert!(
                (f64::from(e.completeness_gap) - (sum - total).abs()).abs() < 1e-4 * total.abs().max(1.0),
                "reported gap {} vs {}",
                e.completeness_gap,
                (sum - total).abs()
            );
            relative.push(f64::from(e.completeness_gap) / total.abs());
            // More steps shrink the gap: what is left is the Riemann sum's error, not a bug.
            if row < 10 {
                let xa = Array2::from_shape_vec((1, PIXELS), x).unwrap();
                let gaps: Vec<f32> = [8, 32, 256]
                    .iter()
                    .map(|&steps| integrated_gradients(&model, &xa, e.target, steps).1)
                    .collect();
                eprintln!("row {row}: |f_k(x) - f_k(0)| {total:.3}, gap with 8/32/256 steps {gaps:.5?}");
                assert!(
                    gaps[2] < 0.2 * gaps[0].max(1e-3) && gaps[2] < 1e-2 * total.abs() as f32,
                    "{gaps:?}"
                );
            }
        }
        relative.sort_by(f64::total_cmp);
        let (median, p90, worst) = (relative[50], relative[90], relative[99]);
        eprintln!(
            "completeness gap / |f_k(x) - f_k(0)| over 100 rows: median {median:.5}, 90th percentile {p90:.5}, worst {worst:.5}"
        );
        assert!(median < 0.01 && worst < 0.06, "median {median}, worst {worst}");
    }

    #[test]
    fn input_gradients_match_finite_differences_of_the_centred_logit() {
        let model = Mlp::new(&[PIXELS, 32, 16, CLASSES], Init::He, 5);
        let image = test_image(2);
        let x = scaled(&image);
        let k = 4;
        let xa = Array2::from_shape_vec((1, PIXELS), x.clone()).unwrap();
        let mut seed = Array2::from_elem((1, CLASSES), -0.1f32);
        seed[(0, k)] += 1.0;
        let g = model.input_gradients(xa.view(), seed.view());
        assert_eq!(g.dx.dim(), (1, PIXELS));
        assert_eq!(g.hidden.len(), 2);
        assert_eq!(g.d_hidden[1].dim(), (1, 16));
        let eps = 1e-4f64;
        let mut rng = StdRng::seed_from_u64(3);
        let mut checked = 0;
        for _ in 0..120 {
            let i = rng.random_range(0..PIXELS);
            let bump = |d: f64| {
                let mut y = x.clone();
                y[i] = (f64::from(y[i]) + d) as f32;
                centred_logit(&model, &y, k)
            };
            // Steps of 1e-4 in f32 are not exact: divide by the step actually taken.
            let step = f64::from((f64::from(x[i]) + eps) as f32) - f64::from((f64::from(x[i]) - eps) as f32);
            let numeric = (bump(eps) - bump(-eps)) / step;
            let analytic = f64::from(g.dx[(0, i)]);
            let err = (numeric - analytic).abs() / (numeric.abs() + analytic.abs()).max(1e-2);
            assert!(err < 1e-3, "pixel {i}: numeric {numeric} analytic {analytic}");
            checked += 1;
        }
        assert_eq!(checked, 120);
        // dA of the last hidden layer is the seed times W_Lᵀ.
        let w = &model.layers[2].w;
        for u in 0..16 {
            let expect: f32 = (0..CLASSES).map(|c| seed[(0, c)] * w[(u, c)]).sum();
            assert!((g.d_hidden[1][(0, u)] - expect).abs() < 1e-5);
        }
    }

    #[test]
    fn unit_contributions_are_activation_times_gradient() {
        let model = Mlp::new(&[PIXELS, 20, CLASSES], Init::He, 6);
        let image = test_image(4);
        let e = explain(&model, &image, Some(2));
        let w = &model.layers[1].w;
        for u in 0..20 {
            let grad: f32 = (0..CLASSES)
                .map(|c| (if c == 2 { 0.9 } else { -0.1 }) * w[(u, c)])
                .sum();
            assert!((e.units[0][u] - e.hidden[0][u] * grad).abs() < 1e-5);
        }
        // With one hidden layer, f_k(x) is the sum of the unit contributions plus the output
        // layer's centred bias.
        let b = &model.layers[1].b;
        let bias = f64::from(b[2]) - f64::from(b.sum()) / 10.0;
        let f = centred_logit(&model, &scaled(&image), 2);
        let units: f64 = e.units[0].iter().map(|&v| f64::from(v)).sum();
        assert!((units + bias - f).abs() < 1e-4, "{units} + {bias} vs {f}");
    }

    #[test]
    fn top_activating_streams_and_ranks() {
        let data = crate::embedded::sample().unwrap();
        let rows = 600; // more than two chunks
        let pixels = &data.pixels[..rows * PIXELS];
        let model = Mlp::new(&[PIXELS, 24, 12, CLASSES], Init::He, 7);
        for (layer, unit) in [(0, 3), (1, 5)] {
            let top = top_activating(&model, pixels, layer, unit, 7);
            // All rows' activations at once, sorted the same way.
            let mut x = Array2::zeros((rows, PIXELS));
            fill_inputs(&mut x.view_mut(), pixels);
            let mut ws = Workspace::new(&model, rows);
            let acts = model.hidden_activations(x.view(), &mut ws, layer);
            let mut all: Vec<(usize, f32)> = acts[layer].column(unit).iter().copied().enumerate().collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            assert_eq!(top.len(), 7);
            for (got, want) in top.iter().zip(&all) {
                assert_eq!(got.0, want.0);
                assert!((got.1 - want.1).abs() < 1e-5);
            }
            assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
        }
        // Ties (a dead unit: zero everywhere) go by row index.
        let mut dead = model.clone();
        dead.layers[0].w.column_mut(0).fill(0.0);
        dead.layers[0].b[0] = -1.0;
        assert_eq!(
            top_activating(&dead, pixels, 0, 0, 4),
            vec![(0, 0.0), (1, 0.0), (2, 0.0), (3, 0.0)]
        );
        assert!(top_activating(&model, pixels, 2, 0, 3).is_empty());
        assert!(top_activating(&model, pixels, 0, 24, 3).is_empty());
        assert!(top_activating(&model, pixels, 0, 0, 0).is_empty());
        assert_eq!(top_activating(&model, pixels, 0, 0, 10_000).len(), rows);
    }

    /// CPU time of the calling thread: timings that other processes on a shared machine do not
    /// inflate.
    fn thread_cpu_seconds() -> f64 {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        assert_eq!(rc, 0);
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    }

    /// Mean probability of the originally predicted class after deleting (setting to 0), in
    /// every image, the fraction `f` of its ink pixels that `rank` puts first.
    fn deletion_curve(
        model: &Mlp,
        images: &[[u8; PIXELS]],
        classes: &[usize],
        rank: &mut dyn FnMut(usize, &[usize]) -> Vec<usize>,
    ) -> Vec<f32> {
        [0.05, 0.10, 0.20]
            .iter()
            .map(|&f| {
                let mut deleted = Vec::with_capacity(images.len() * PIXELS);
                for (i, image) in images.iter().enumerate() {
                    let ink: Vec<usize> = (0..PIXELS).filter(|&p| image[p] > 0).collect();
                    let count = (f * ink.len() as f32).round() as usize;
                    let mut copy = *image;
                    for &p in rank(i, &ink).iter().take(count) {
                        copy[p] = 0;
                    }
                    deleted.extend_from_slice(&copy);
                }
                let probs = model.predict_proba(&deleted);
                classes.iter().enumerate().map(|(r, &c)| probs[(r, c)]).sum::<f32>() / images.len() as f32
            })
            .collect()
    }

    /// The deletion test's criterion, set from measurements (200 rows, embedded model: by
    /// attribution 0.867 / 0.661 / 0.283 at 5 / 10 / 20% of the ink deleted, random 0.994 /
    /// 0.990 / 0.976, sign-flipped 1.000 / 1.000 / 1.000): deleting the top 10% by the map costs
    /// the predicted class at least 0.2 more probability than random deletion does, and after
    /// 20% it keeps less than half the random deletion's probability.
    fn deletes_evidence(by_map: &[f32], random: &[f32]) -> bool {
        by_map[1] < random[1] - 0.2 && by_map[2] < random[2] / 2.0
    }

    #[test]
    fn deleting_the_top_attributed_ink_destroys_the_prediction() {
        let (model, _) = crate::embedded::model().unwrap();
        let data = crate::embedded::sample().unwrap();
        let predicted = model.predict(&data.pixels[..400 * PIXELS]);
        let mut images = Vec::new();
        let mut classes = Vec::new();
        for (row, &p) in predicted.iter().enumerate() {
            if data.labels[row] == p && images.len() < 200 {
                images.push(<[u8; PIXELS]>::try_from(data.image(row)).unwrap());
                classes.push(usize::from(p));
            }
        }
        assert_eq!(images.len(), 200);
        let (start, cpu_start) = (std::time::Instant::now(), thread_cpu_seconds());
        let maps: Vec<[f32; PIXELS]> = images.iter().map(|im| explain(&model, im, None).pixels).collect();
        let per_image = |seconds: f64| seconds * 1000.0 / images.len() as f64;
        eprintln!(
            "explain on the embedded {:?} model: {:.2} ms per image ({:.2} ms of this thread's CPU time)",
            model.sizes(),
            per_image(start.elapsed().as_secs_f64()),
            per_image(thread_cpu_seconds() - cpu_start)
        );
        let maps = &maps;
        let by = |sign: f32| {
            move |i: usize, ink: &[usize]| {
                let mut order = ink.to_vec();
                // Highest first; ties by pixel index.
                order.sort_by(|&a, &b| (sign * maps[i][b]).total_cmp(&(sign * maps[i][a])).then(a.cmp(&b)));
                order
            }
        };
        let attributed = deletion_curve(&model, &images, &classes, &mut by(1.0));
        let flipped = deletion_curve(&model, &images, &classes, &mut by(-1.0));
        let mut rng = StdRng::seed_from_u64(42);
        let random = deletion_curve(&model, &images, &classes, &mut |_, ink| {
            let mut order = ink.to_vec();
            order.shuffle(&mut rng);
            order
        });
        eprintln!("deletion of 5%/10%/20% of ink, mean probability of the predicted class over 200 rows:");
        eprintln!("  by attribution {attributed:.4?}");
        eprintln!("  random         {random:.4?}");
        eprintln!("  sign-flipped   {flipped:.4?}");
        assert!(deletes_evidence(&attributed, &random), "{attributed:?} vs {random:?}");
        // The criterion can fail: a sign-flipped map deletes counter-evidence first, and a map
        // no better than chance deletes like the random order.
        assert!(!deletes_evidence(&flipped, &random), "{flipped:?} vs {random:?}");
        let mut rng = StdRng::seed_from_u64(7);
        let chance = deletion_curve(&model, &images, &classes, &mut |_, ink| {
            let mut order = ink.to_vec();
            order.shuffle(&mut rng);
            order
        });
        eprintln!("  another random {chance:.4?}");
        assert!(!deletes_evidence(&chance, &random), "{chance:?} vs {random:?}");
    }
}
