//! Principal component analysis of a layer's activations: the covariance in f64 and its top
//! eigenvectors, found by subspace iteration with a Rayleigh-Ritz step (cyclic Jacobi on the
//! small projected matrix, or on the whole covariance when the layer is narrow).
//!
//! Why not a full eigen-decomposition: a 512-wide layer's covariance has 512 eigenvectors and
//! the map needs 2 (or a few more for a tour); a block of a dozen vectors converges in tens of
//! iterations, each one product `(d, d)·(d, b)`.
//!
//! Sign convention (sklearn's `svd_flip` on the components): each axis is flipped so that its
//! entry of largest magnitude (the first one, on a tie) is positive. The same activations
//! therefore always give the same map, not a mirror image of it.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Layers at most this wide are decomposed whole by Jacobi (cheap, and exact for every axis).
const JACOBI_WIDTH: usize = 32;
/// Extra vectors in the iterated block beyond the axes asked for: they make the block converge
/// at the rate `λ_{block+1}/λ_axes` instead of `λ_{axes+1}/λ_axes`.
const BLOCK_EXTRA: usize = 8;
/// A Ritz vector counts as converged when `‖C·v − θ·v‖ ≤ RESIDUAL · λ₁`.
const RESIDUAL: f64 = 1e-10;
/// Iterations before giving up on a tighter residual (a flat spectrum, where the axes are a
/// matter of taste anyway); the last Ritz vectors are used.
const MAX_ITERATIONS: usize = 1500;

/// A linear map of a layer's activations onto its principal axes: `(a − mean)·axesᵀ`.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// `(width)`: the mean activation the data is centred on.
    pub mean: Array1<f64>,
    /// `(axes, width)`: orthonormal principal axes, largest variance first.
    pub axes: Array2<f64>,
    /// `(axes)`: the variance along each axis (divided by `n − 1`, as `np.cov`).
    pub variances: Vec<f64>,
    /// The total variance of the activations (the covariance's trace).
    pub total_variance: f64,
}

impl Projection {
    /// The PCA of `acts` `(n, width)`: the top `count` axes (fewer when the layer is narrower).
    /// A layer without variance (all rows alike, dead units) gets unit axes and maps every row
    /// to the origin; never NaN.
    pub fn fit(acts: ArrayView2<'_, f32>, count: usize) -> Projection {
        let (n, width) = acts.dim();
        // mean: (width); centred: (n, width), in f64 so that the covariance keeps its digits
        let mean = if n == 0 {
            Array1::zeros(width)
        } else {
            acts.mapv(f64::from).sum_axis(Axis(0)) / n as f64
        };
        let mut centred = acts.mapv(f64::from);
        centred -= &mean;
        // covariance C = Xcᵀ·Xc / (n − 1): (width, width)
        let cov = centred.t().dot(&centred) / n.saturating_sub(1).max(1) as f64;
        let total_variance = cov.diag().sum();
        let count = count.min(width);
        let (variances, mut axes) = top_eigenvectors(&cov, count);
        for mut axis in axes.rows_mut() {
            let largest = axis
                .iter()
                .enumerate()
                .fold(
                    (0, 0.0f64),
                    |(bi, bv), (i, &v)| if v.abs() > bv { (i, v.abs()) } else { (bi, bv) },
                )
                .0;
            if axis[largest] < 0.0 {
                axis.mapv_inplace(|v| -v);
            }
        }
        Projection {
            mean,
            axes,
            variances: variances.into_iter().map(|v| v.max(0.0)).collect(),
            total_variance,
        }
    }

    /// Activations per row this projection reads.
    pub fn width(&self) -> usize {
        self.mean.len()
    }

    /// Axes it projects onto.
    pub fn axis_count(&self) -> usize {
        self.axes.nrows()
    }

    /// `acts` `(n, width)` on the axes: `(n, axes)`, computed in f64.
    pub fn project(&self, acts: ArrayView2<'_, f32>) -> Array2<f32> {
        assert_eq!(
            acts.ncols(),
            self.width(),
            "the projection was made for another layer width"
        );
        let mut out = Array2::zeros((acts.nrows(), self.axis_count()));
        let mut centred = vec![0.0f64; self.width()];
        for (row, mut coords) in acts.rows().into_iter().zip(out.rows_mut()) {
            for ((c, &a), &m) in centred.iter_mut().zip(row).zip(&self.mean) {
                *c = f64::from(a) - m;
            }
            for (coord, axis) in coords.iter_mut().zip(self.axes.rows()) {
                *coord = centred.iter().zip(axis).map(|(c, a)| c * a).sum::<f64>() as f32;
            }
        }
        out
    }

    /// Flips each axis whose direction opposes the same axis of `previous` (same width), so that
    /// a map refitted for the next model state does not mirror itself. Returns which it flipped.
    pub fn align_signs_with(&mut self, previous: &Projection) -> Vec<bool> {
        let mut flipped = Vec::new();
        if previous.width() != self.width() {
            return flipped;
        }
        for (mut axis, before) in self.axes.rows_mut().into_iter().zip(previous.axes.rows()) {
            let flip = axis.dot(&before) < 0.0;
            if flip {
                axis.mapv_inplace(|v| -v);
            }
            flipped.push(flip);
        }
        flipped
    }

    /// The share of the total variance the first `axes` axes keep, in [0, 1] (0 without variance).
    pub fn explained(&self, axes: usize) -> f64 {
        if self.total_variance <= 0.0 {
            return 0.0;
        }
        (self.variances.iter().take(axes).sum::<f64>() / self.total_variance).clamp(0.0, 1.0)
    }
}

/// The `count` largest eigenvalues of the symmetric `c` `(d, d)`, largest first, and their unit
/// eigenvectors as rows `(count, d)`.
pub fn top_eigenvectors(c: &Array2<f64>, count: usize) -> (Vec<f64>, Array2<f64>) {
    let d = c.nrows();
    let count = count.min(d);
    if d <= JACOBI_WIDTH || count + BLOCK_EXTRA >= d {
        let (values, vectors) = sorted(jacobi(c.clone()));
        return (
            values[..count].to_vec(),
            vectors.slice(ndarray::s![.., ..count]).t().to_owned(),
        );
    }
    let block = count + BLOCK_EXTRA;
    // A fixed start: the same covariance always takes the same path.
    let mut rng = StdRng::seed_from_u64(0x5eed);
    // q: (d, block), orthonormal columns spanning the current guess
    let mut q = Array2::from_shape_fn((d, block), |_| rng.random_range(-1.0..1.0));
    orthonormalize(&mut q);
    let mut values = vec![0.0; block];
    for iteration in 0.. {
        // cq = C·Q: (d, block)
        let mut cq = c.dot(&q);
        // Rayleigh-Ritz: the eigenvectors of Qᵀ·C·Q (block, block) rotate Q to the best
        // approximations in its span; done every few iterations (and on the last one).
        if iteration % 4 == 3 || iteration + 1 >= MAX_ITERATIONS {
            let mut t = q.t().dot(&cq);
            let tt = t.t().to_owned();
            t = (t + tt) * 0.5;
            let (theta, w) = sorted(jacobi(t));
            q = q.dot(&w);
            cq = cq.dot(&w);
            values = theta;
            let largest = values[0].abs();
            let converged = largest <= f64::MIN_POSITIVE
                || (0..count).all(|i| {
                    let residual = (&cq.column(i) - &(&q.column(i) * values[i]))
                        .mapv(|v| v * v)
                        .sum()
                        .sqrt();
                    residual <= RESIDUAL * largest
                });
            if converged || iteration + 1 >= MAX_ITERATIONS {
                break;
            }
        }
        q = cq;
        orthonormalize(&mut q);
    }
    (
        values[..count].to_vec(),
        q.slice(ndarray::s![.., ..count]).t().to_owned(),
    )
}

/// Gram-Schmidt (each column twice, which keeps them orthogonal to working precision) on the
/// columns of `q` `(d, b)`, `b ≤ d`. A column that vanishes (the matrix has lower rank) is
/// replaced by the first unit vector not yet in the span, so the result is always orthonormal.
fn orthonormalize(q: &mut Array2<f64>) {
    let (d, b) = q.dim();
    let mut next_unit = 0;
    for j in 0..b {
        let before = q.column(j).mapv(|v| v * v).sum().sqrt();
        let mut norm = remove_earlier(q, j);
        while !(norm > 1e-9 * before && norm > f64::MIN_POSITIVE) && next_unit < d {
            q.column_mut(j).fill(0.0);
            q[[next_unit, j]] = 1.0;
            next_unit += 1;
            norm = remove_earlier(q, j);
            if norm > 0.5 {
                break;
            }
        }
        q.column_mut(j).mapv_inplace(|v| v / norm);
    }
}

/// Removes from column `j` of `q` its components along columns `0..j` (twice); its norm after.
fn remove_earlier(q: &mut Array2<f64>, j: usize) -> f64 {
    for _ in 0..2 {
        for i in 0..j {
            let r = q.column(i).dot(&q.column(j));
            let qi = q.column(i).to_owned();
            q.column_mut(j).scaled_add(-r, &qi);
        }
    }
    q.column(j).mapv(|v| v * v).sum().sqrt()
}

/// Eigenvalues and eigenvectors (columns) of the symmetric `a` by cyclic Jacobi rotations.
fn jacobi(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut v = Array2::eye(n);
    let scale: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let mut off = 0.0;
        for p in 0..n {
            for q in p + 1..n {
                off += a[[p, q]] * a[[p, q]];
            }
        }
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                // The rotation J (c, s) that zeroes a[p][q] in Jᵀ·A·J.
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    (a.diag().to_vec(), v)
}

/// Eigenpairs sorted by eigenvalue, largest first (ties keep their order).
fn sorted((values, vectors): (Vec<f64>, Array2<f64>)) -> (Vec<f64>, Array2<f64>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[j].total_cmp(&values[i]));
    let sorted_values = order.iter().map(|&i| values[i]).collect();
    let sorted_vectors = Array2::from_shape_fn(vectors.dim(), |(r, c)| vectors[[r, order[c]]]);
    (sorted_values, sorted_vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric positive semi-definite matrix `(d, d)` with a spread of eigenvalues.
    fn random_covariance(d: usize, seed: u64) -> Array2<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = Array2::from_shape_fn((3 * d, d), |(_, j)| {
            rng.random_range(-1.0..1.0) * (1.0 + j as f64).powf(-0.7)
        });
        x.t().dot(&x)
    }

    /// The largest eigenpairs by plain power iteration with deflation, one vector at a time, to
    /// a tight tolerance: slow, simple and written differently from the solver it checks.
    fn power_deflation(c: &Array2<f64>, count: usize) -> Vec<(f64, Array1<f64>)> {
        let d = c.nrows();
        let mut deflated = c.clone();
        let mut out = Vec::new();
        for k in 0..count {
            let mut v = Array1::from_shape_fn(d, |i| 1.0 + ((i * 7 + k * 3) % 11) as f64 * 0.1);
            v /= v.dot(&v).sqrt();
            let mut lambda = 0.0;
            for _ in 0..200_000 {
                let w = deflated.dot(&v);
                let next = w.dot(&w).sqrt();
                let w = w / next;
                let done = (&w - &v).mapv(f64::abs).sum() < 1e-13;
                v = w;
                lambda = next;
                if done {
                    break;
                }
            }
            let vv = v.clone().insert_axis(Axis(1));
            deflated = deflated - lambda * vv.dot(&vv.t());
            out.push((lambda, v));
        }
        out
    }

    #[test]
    fn top_axes_equal_power_iteration_with_deflation_up_to_sign() {
        for (d, seed) in [(10, 1), (40, 2), (200, 3)] {
            let c = random_covariance(d, seed);
            let (values, vectors) = top_eigenvectors(&c, 3);
            let reference = power_deflation(&c, 3);
            for (i, (lambda, v)) in reference.iter().enumerate() {
                assert!(
                    (values[i] - lambda).abs() <= 1e-8 * lambda,
                    "d {d} eigenvalue {i}: {} vs {lambda}",
                    values[i]
                );
                let cosine = vectors.row(i).dot(v).abs();
                assert!(cosine > 1.0 - 1e-9, "d {d} axis {i}: |cos| {cosine}");
            }
        }
    }

    #[test]
    fn six_axes_for_a_grand_tour_equal_the_full_decomposition() {
        // The Map tab fits six axes; the later ones converge more slowly than the first two.
        for (d, seed) in [(10, 6), (40, 7), (200, 8)] {
            let c = random_covariance(d, seed);
            let (values, vectors) = top_eigenvectors(&c, 6);
            let (all_values, all_vectors) = sorted(jacobi(c.clone()));
            for i in 0..6 {
                assert!(
                    (values[i] - all_values[i]).abs() <= 1e-8 * all_values[0],
                    "d {d} eigenvalue {i}: {} vs {}",
                    values[i],
                    all_values[i]
                );
                let cosine = vectors.row(i).dot(&all_vectors.column(i)).abs();
                assert!(cosine > 1.0 - 1e-8, "d {d} axis {i}: |cos| {cosine}");
            }
            let g = vectors.dot(&vectors.t());
            assert!((&g - &Array2::<f64>::eye(6)).iter().all(|e| e.abs() < 1e-10));
        }
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let c = random_covariance(12, 9);
        let (values, vectors) = jacobi(c.clone());
        // C·V = V·diag(λ), Vᵀ·V = I
        let cv = c.dot(&vectors);
        let vl = &vectors * &Array1::from(values.clone());
        assert!((&cv - &vl).iter().all(|e| e.abs() < 1e-9));
        let vtv = vectors.t().dot(&vectors);
        assert!((&vtv - &Array2::<f64>::eye(12)).iter().all(|e| e.abs() < 1e-12));
    }

    #[test]
    fn recovers_a_plane_planted_in_a_wide_layer() {
        // Rows on a plane spanned by two known orthonormal directions of a 300-wide layer,
        // with variances 9 and 4 and a little noise: the axes are those directions.
        let d = 300;
        let mut rng = StdRng::seed_from_u64(4);
        let mut u = Array1::<f64>::zeros(d);
        let mut w = Array1::<f64>::zeros(d);
        for i in 0..d {
            u[i] = if i % 2 == 0 { 1.0 } else { -1.0 };
            w[i] = if i < d / 2 { 1.0 } else { -1.0 };
        }
        // u and w are orthogonal; make them unit length
        u /= (d as f64).sqrt();
        w /= (d as f64).sqrt();
        let n = 2000;
        let acts = Array2::from_shape_fn((n, d), |(r, j)| {
            let (a, b) = (
                ((r * 37) % 101) as f64 / 101.0 - 0.5,
                ((r * 53) % 97) as f64 / 97.0 - 0.5,
            );
            (3.0 * 3.4641 * a * u[j] + 2.0 * 3.4641 * b * w[j] + 1.0 + rng.random_range(-1e-3..1e-3)) as f32
        });
        let p = Projection::fit(acts.view(), 2);
        assert!(p.axes.row(0).dot(&u).abs() > 0.9999, "{}", p.axes.row(0).dot(&u));
        assert!(p.axes.row(1).dot(&w).abs() > 0.9999);
        assert!(
            (p.variances[0] - 9.0).abs() < 0.2 && (p.variances[1] - 4.0).abs() < 0.2,
            "{:?}",
            p.variances
        );
        assert!(p.explained(2) > 0.999);
        // Sign convention: each axis's largest entry is positive.
        for axis in p.axes.rows() {
            let largest = axis.iter().fold(0.0f64, |m, &v| if v.abs() > m.abs() { v } else { m });
            assert!(largest > 0.0);
        }
    }

    #[test]
    fn a_constant_layer_maps_to_the_origin_without_nan() {
        let acts = Array2::<f32>::from_elem((50, 64), 0.25);
        let p = Projection::fit(acts.view(), 3);
        assert!(p.axes.iter().all(|v| v.is_finite()) && p.variances.iter().all(|&v| v == 0.0));
        let coords = p.project(acts.view());
        assert!(coords.iter().all(|&v| v == 0.0));
        // Orthonormal all the same.
        let g = p.axes.dot(&p.axes.t());
        assert!((&g - &Array2::<f64>::eye(3)).iter().all(|e| e.abs() < 1e-12));
        assert_eq!(p.explained(2), 0.0);
    }

    #[test]
    fn a_rank_one_layer_keeps_orthonormal_axes_and_finite_coordinates() {
        // Only unit 5 of 80 varies (as when every other unit is dead).
        let acts = Array2::from_shape_fn((100, 80), |(r, j)| if j == 5 { r as f32 * 0.01 } else { 0.0 });
        let p = Projection::fit(acts.view(), 2);
        assert!(p.axes[[0, 5]] > 0.9999);
        let g = p.axes.dot(&p.axes.t());
        assert!((&g - &Array2::<f64>::eye(2)).iter().all(|e| e.abs() < 1e-12));
        let coords = p.project(acts.view());
        assert!(coords.iter().all(|v| v.is_finite()));
        assert!(coords.column(1).iter().all(|v| v.abs() < 1e-6));
    }

    #[test]
    fn narrow_layers_and_empty_inputs_give_fewer_axes_not_a_panic() {
        let acts = Array2::from_shape_fn((20, 1), |(r, _)| r as f32);
        let p = Projection::fit(acts.view(), 2);
        assert_eq!(p.axis_count(), 1);
        assert_eq!(p.project(acts.view()).dim(), (20, 1));
        let empty = Array2::<f32>::zeros((0, 16));
        let p = Projection::fit(empty.view(), 2);
        assert!(p.axes.iter().all(|v| v.is_finite()));
    }

    /// The time to fit a 512-wide layer (the `best` preset's first) on 5,000 rows:
    /// `cargo test --release --lib fit_time -- --ignored --nocapture`.
    #[test]
    #[ignore = "a timing, not a check"]
    fn fit_time_of_a_wide_layer() {
        let mut rng = StdRng::seed_from_u64(1);
        let (n, d, latent) = (5000, 512, 40);
        let mix = Array2::from_shape_fn((latent, d), |_| rng.random_range(-1.0f32..1.0));
        let z = Array2::from_shape_fn((n, latent), |(_, j)| rng.random_range(-1.0f32..1.0) / (1.0 + j as f32));
        let acts = z.dot(&mix).mapv(|v| v.max(0.0));
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let p = Projection::fit(acts.view(), 2);
            let fit = start.elapsed();
            let start = std::time::Instant::now();
            let coords = p.project(acts.view());
            println!(
                "fit {n}x{d}: {:.1} ms, project: {:.1} ms ({} coords)",
                fit.as_secs_f64() * 1e3,
                start.elapsed().as_secs_f64() * 1e3,
                coords.len()
            );
        }
    }

    #[test]
    fn aligning_signs_undoes_a_mirror() {
        let c = random_covariance(50, 5);
        let x = c.mapv(|v| v as f32);
        let p = Projection::fit(x.view(), 2);
        let mut mirrored = p.clone();
        mirrored.axes.row_mut(1).mapv_inplace(|v| -v);
        assert_eq!(mirrored.align_signs_with(&p), vec![false, true]);
        assert_eq!(mirrored, p);
    }
}
