//! Dense matrix products for the hidden layers: `C = A·B` or `C += A·B`, with an AVX-512 kernel
//! where the CPU has it and ndarray's `general_mat_mul` (matrixmultiply, AVX2 at best) elsewhere.
//!
//! Why our own: on this project's machine matrixmultiply's AVX2 kernel and its packing were 41%
//! of a 784-512-256-10 training step (`perf`), at about half the machine's AVX-512 rate.
//!
//! The kernel computes a tile of [`MR`] rows by [`NR`] columns of `C` in 16 registers, streaming
//! `A` from a packed copy (its `MR` rows side by side, one column after another) and `B` straight
//! from its rows when they are contiguous (`Z = A·W`, `dW += Aᵀ·dZ`), or from a packed copy of
//! `NR`-column panels when they are not (`dA = dZ·Wᵀ`). Every element of `C` is one sum over the
//! inner index in order, so the result does not depend on how the work is tiled.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use super::aligned::AlignedBuffer;

/// Rows of `C` per kernel call.
const MR: usize = 8;
/// Columns of `C` per kernel call at most: two AVX-512 vectors (one when `C` has at most 16
/// columns, as the notebook's 10-unit layers do: half the work of a masked-off second vector).
const NR: usize = 32;

/// Packed copies of `A` and `B`, kept between calls so training does not allocate.
#[derive(Default)]
pub struct GemmScratch {
    a: AlignedBuffer,
    b: AlignedBuffer,
}

/// `c (m, n) = a (m, k) · b (k, n)`, or `c += a · b` when `accumulate`. Any strides for `a` and
/// `b`; `c`'s rows contiguous for the fast kernel (otherwise, and on CPUs without AVX-512, it is
/// `general_mat_mul`). Panics if the shapes disagree.
pub fn matmul_into(
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    accumulate: bool,
    c: &mut ArrayViewMut2<'_, f32>,
    scratch: &mut GemmScratch,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul_into: {:?}·{:?} into {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    #[cfg(target_arch = "x86_64")]
    if super::has_avx512() && (c.strides()[1] == 1 || n == 1) && c.strides()[0] > 0 && m > 0 && n > 0 && k > 0 {
        // SAFETY: `has_avx512` checked the CPU for avx512f, the feature `x86::matmul` is compiled
        // with; the views' shapes were checked above, none is empty, and `c`'s rows are
        // contiguous.
        unsafe { x86::matmul(a, b, accumulate, c, scratch) };
        return;
    }
    let beta = if accumulate { 1.0 } else { 0.0 };
    general_mat_mul(1.0, a, b, beta, c);
}

/// Packs rows `i0..i0 + MR` of `a` (fewer at the bottom edge, the rest zeros) as `k` groups of
/// `MR` floats: `out[p * MR + i] = a[i0 + i, p]`.
fn pack_a_panel(a: &ArrayView2<'_, f32>, i0: usize, out: &mut [f32]) {
    let (m, k) = a.dim();
    let rows = MR.min(m - i0);
    let (rs, cs) = (a.strides()[0], a.strides()[1]);
    if cs == 1 && rows == MR {
        // Rows contiguous (Z = A·W, dA = dZ·Wᵀ): each group of MR gathers one column from the MR
        // rows read along side by side, and is written whole (writing each row with stride MR
        // compiled to scattered stores, 11% of a dense-input step).
        let row_slices: [&[f32]; MR] = std::array::from_fn(|i| a.row(i0 + i).to_slice().expect("unit column stride"));
        for (p, group) in out.chunks_exact_mut(MR).take(k).enumerate() {
            for (value, row) in group.iter_mut().zip(&row_slices) {
                *value = row[p];
            }
        }
        return;
    }
    if cs == 1 {
        // The bottom edge's rows: read each along, write with stride MR.
        for i in 0..rows {
            let row = a.row(i0 + i);
            let row = row.as_slice().expect("unit column stride");
            for (p, &v) in row.iter().enumerate() {
                out[p * MR + i] = v;
            }
        }
    } else if rs == 1 {
        // Columns contiguous (dW += Aᵀ·dZ reads Aᵀ): each group of MR is a slice of a column.
        for p in 0..k {
            let column = a.column(p);
            let column = column.as_slice().expect("unit row stride");
            out[p * MR..p * MR + rows].copy_from_slice(&column[i0..i0 + rows]);
        }
    } else {
        for p in 0..k {
            for i in 0..rows {
                out[p * MR + i] = a[[i0 + i, p]];
            }
        }
    }
    if rows < MR {
        for p in 0..k {
            out[p * MR + rows..(p + 1) * MR].fill(0.0);
        }
    }
}

/// Packs columns `j0..j0 + nr` of `b` (fewer at the right edge, the rest zeros) as `k` rows of
/// `nr` floats: `out[p * nr + j] = b[p, j0 + j]`.
fn pack_b_panel(b: &ArrayView2<'_, f32>, j0: usize, nr: usize, out: &mut [f32]) {
    let (k, n) = b.dim();
    let cols = nr.min(n - j0);
    if cols < nr {
        out[..k * nr].fill(0.0);
    }
    // dA = dZ·Wᵀ: a column of Wᵀ is a row of W, read along and written with stride NR.
    for j in 0..cols {
        for (p, &v) in b.column(j0 + j).iter().enumerate() {
            out[p * nr + j] = v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps,
        _mm512_set1_ps, _mm512_setzero_ps,
    };

    use ndarray::{ArrayView2, ArrayViewMut2};

    use super::{GemmScratch, MR, NR, pack_a_panel, pack_b_panel};

    /// [`super::matmul_into`]'s AVX-512 path.
    ///
    /// # Safety
    /// The CPU has avx512f; `c` is `(a.nrows(), b.ncols())` with contiguous rows (or one column)
    /// a positive row stride apart, `a.ncols() == b.nrows()`, and no dimension (of `c`, nor the
    /// inner one) is zero: with `k == 0` the pointer into `b` below would be computed from a
    /// dangling one.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn matmul(
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        accumulate: bool,
        c: &mut ArrayViewMut2<'_, f32>,
        scratch: &mut GemmScratch,
    ) {
        // SAFETY: the caller's promises, passed on.
        unsafe {
            if b.ncols() <= 16 {
                matmul_tiles::<1>(a, b, accumulate, c, scratch);
            } else {
                matmul_tiles::<2>(a, b, accumulate, c, scratch);
            }
        }
    }

    /// [`matmul`] with tiles `NV` vectors wide.
    ///
    /// # Safety
    /// As [`matmul`]; `NV * 16 <= NR`.
    #[target_feature(enable = "avx512f")]
    unsafe fn matmul_tiles<const NV: usize>(
        a: &ArrayView2<'_, f32>,
        b: &ArrayView2<'_, f32>,
        accumulate: bool,
        c: &mut ArrayViewMut2<'_, f32>,
        scratch: &mut GemmScratch,
    ) {
        let nr = NV * 16;
        debug_assert!(nr <= NR);
        let ((m, k), n) = (a.dim(), b.ncols());
        let panels = m.div_ceil(MR);
        // A packed: `panels` panels of (k, MR).
        let packed_a = scratch.a.get(panels * k * MR);
        for (panel, out) in packed_a.chunks_exact_mut(k * MR).enumerate() {
            pack_a_panel(a, panel * MR, out);
        }
        // B straight from its rows when they are contiguous, otherwise packed per panel.
        let b_direct = (b.strides()[1] == 1 || n == 1) && b.strides()[0] >= 0;
        let ldc = c.strides()[0] as usize;
        let c_ptr = c.as_mut_ptr();
        for j0 in (0..n).step_by(nr) {
            let cols = nr.min(n - j0);
            let (b_ptr, ldb) = if b_direct {
                // SAFETY: j0 < n and k > 0, so the offset is element [0, j0] of b.
                (unsafe { b.as_ptr().add(j0) }, b.strides()[0] as usize)
            } else {
                let panel = scratch.b.get(k * nr);
                pack_b_panel(b, j0, nr, panel);
                (panel.as_ptr(), nr)
            };
            // A right edge of at most 16 columns takes one-vector tiles: a second vector would
            // start past the edge, and its address (row + 16 floats) past the end of `b` or `c`
            // when they end there (widths 33, 47, 100), which `add` may not even compute.
            let one_vector = cols <= 16;
            for (panel, a_panel) in packed_a.chunks_exact(k * MR).enumerate() {
                let i0 = panel * MR;
                let rows = MR.min(m - i0);
                // SAFETY: rows i0..i0 + rows and columns j0..j0 + cols are inside c (rows
                // contiguous, `ldc` apart); b's rows 0..k hold columns j0..j0 + cols at `b_ptr`,
                // `ldb` apart; `a_panel` is k * MR floats. Every vector of the tile starts at a
                // column below `cols` (`one_vector` above), and its lanes from `cols` on are
                // masked off.
                unsafe {
                    let c_tile = c_ptr.add(i0 * ldc + j0);
                    if one_vector {
                        let masks = column_masks::<1>(cols);
                        tile::<1>(k, a_panel.as_ptr(), b_ptr, ldb, c_tile, ldc, rows, masks, accumulate);
                    } else {
                        let masks = column_masks::<NV>(cols);
                        tile::<NV>(k, a_panel.as_ptr(), b_ptr, ldb, c_tile, ldc, rows, masks, accumulate);
                    }
                }
            }
        }
    }

    /// Lane masks of the tile's `NV` vectors for `cols` (`(NV - 1) * 16 + 1 ..= NV * 16`)
    /// columns: no vector is wholly masked off, so every vector's address is inside the row.
    fn column_masks<const NV: usize>(cols: usize) -> [__mmask16; NV] {
        debug_assert!(
            cols > (NV - 1) * 16 && cols <= NV * 16,
            "{cols} columns in {NV} vectors"
        );
        std::array::from_fn(|v| {
            let count = cols.saturating_sub(v * 16);
            if count >= 16 {
                0xFFFF
            } else {
                ((1u32 << count) - 1) as u16
            }
        })
    }

    /// `C[i, j] (+)= Σ_p A[i, p] · B[p, j]` for a tile of `rows` rows and the masked columns.
    ///
    /// # Safety
    /// `a` holds `k * MR` floats; `b + p * ldb` holds the tile's columns for every p < k (lanes
    /// outside `masks` are not read); `c + i * ldc` holds them for every i < rows; every mask has
    /// its first lane set, so each vector `v` starts at column `v * 16`, inside the tile's
    /// columns (the offsets `v * 16` below are then inside `b`'s and `c`'s rows).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const NV: usize>(
        k: usize,
        a: *const f32,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        rows: usize,
        masks: [__mmask16; NV],
        accumulate: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        for p in 0..k {
            // SAFETY: p < k, inside the ranges the caller guarantees.
            let (b_p, a_p) = unsafe {
                let row = b.add(p * ldb);
                let b_p: [__m512; NV] = std::array::from_fn(|v| _mm512_maskz_loadu_ps(masks[v], row.add(v * 16)));
                (b_p, a.add(p * MR))
            };
            for (i, acc) in acc.iter_mut().enumerate() {
                // SAFETY: i < MR, inside the k * MR floats of `a`.
                let a_ip = _mm512_set1_ps(unsafe { *a_p.add(i) });
                for v in 0..NV {
                    acc[v] = _mm512_fmadd_ps(a_ip, b_p[v], acc[v]);
                }
            }
        }
        for (i, acc) in acc.iter().enumerate().take(rows) {
            for (v, (&mask, &sum)) in masks.iter().zip(acc).enumerate() {
                // SAFETY: i < rows, and only the masked lanes of the row are touched.
                unsafe {
                    let out = c.add(i * ldc + v * 16);
                    let value: __m512 = if accumulate {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), sum)
                    } else {
                        sum
                    };
                    _mm512_mask_storeu_ps(out, mask, value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
    }

    /// `a · b` summed in f64: the exact answer up to the inputs' rounding.
    fn exact(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols())
                .map(|p| f64::from(a[[i, p]]) * f64::from(b[[p, j]]))
                .sum()
        })
    }

    fn assert_close(got: &Array2<f32>, want: &Array2<f64>, what: &str) {
        for ((i, j), &w) in want.indexed_iter() {
            let g = f64::from(got[[i, j]]);
            assert!((g - w).abs() < 1e-4 * (1.0 + w.abs()), "{what} [{i},{j}]: {g} vs {w}");
        }
    }

    #[test]
    fn every_layout_and_edge_matches_the_exact_product() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut scratch = GemmScratch::default();
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 16, 32),
            (9, 17, 33),
            (64, 40, 10),
            (13, 70, 47),
            (64, 64, 96),
            (20, 3, 1),
        ] {
            // Z = A·W: both operands row-major.
            let (a, b) = (random(m, k, &mut rng), random(k, n, &mut rng));
            let want = exact(&a.view(), &b.view());
            let mut c = Array2::from_elem((m, n), f32::NAN);
            matmul_into(&a.view(), &b.view(), false, &mut c.view_mut(), &mut scratch);
            assert_close(&c, &want, &format!("A·B {m}x{k}x{n}"));
            // dW += Xᵀ·dZ: the left operand a transposed view, accumulating into ones.
            let at = random(k, m, &mut rng);
            let want = exact(&at.t(), &b.view()).mapv(|v| v + 1.0);
            let mut c = Array2::ones((m, n));
            matmul_into(&at.t(), &b.view(), true, &mut c.view_mut(), &mut scratch);
            assert_close(&c, &want, &format!("Aᵀ·B {m}x{k}x{n}"));
            // dA = dZ·Wᵀ: the right operand a transposed view.
            let bt = random(n, k, &mut rng);
            let want = exact(&a.view(), &bt.t());
            let mut c = Array2::from_elem((m, n), f32::NAN);
            matmul_into(&a.view(), &bt.t(), false, &mut c.view_mut(), &mut scratch);
            assert_close(&c, &want, &format!("A·Bᵀ {m}x{k}x{n}"));
        }
    }

    /// One way of computing [`matmul_into`]'s product.
    type Path = fn(&ArrayView2<'_, f32>, &ArrayView2<'_, f32>, bool, &mut ArrayViewMut2<'_, f32>, &mut GemmScratch);

    /// Every path this CPU runs, by name, and the names of the ones it cannot.
    fn runnable_paths() -> (Vec<(&'static str, Path)>, Vec<&'static str>) {
        let mut runnable: Vec<(&'static str, Path)> = Vec::new();
        let mut missing = Vec::new();
        #[cfg(target_arch = "x86_64")]
        if super::super::has_avx512() {
            runnable.push(("avx512", |a, b, accumulate, c, scratch| {
                // SAFETY: the CPU has avx512f (checked above); the test's shapes agree, none is
                // empty, and `c` is a standard-layout array.
                unsafe { x86::matmul(a, b, accumulate, c, scratch) }
            }));
        } else {
            missing.push("avx512");
        }
        #[cfg(not(target_arch = "x86_64"))]
        missing.push("avx512");
        runnable.push(("ndarray general_mat_mul", |a, b, accumulate, c, _| {
            general_mat_mul(1.0, a, b, if accumulate { 1.0 } else { 0.0 }, c);
        }));
        (runnable, missing)
    }

    /// Every path against an f64 sum, at widths that leave 1-15 columns over a multiple of 16 or
    /// 32 (20, 33, 47, 100: the edge tiles), row counts that are not multiples of 8, and the three
    /// layouts the network uses. Every buffer is its matrix's exact size, so an edge that reads or
    /// writes past the end is out of its allocation.
    #[test]
    fn every_path_matches_an_f64_sum_at_ragged_widths() {
        let (paths, missing) = runnable_paths();
        let names: Vec<&str> = paths.iter().map(|(name, _)| *name).collect();
        eprintln!(
            "gemm paths tested: {}; not available on this CPU: {missing:?}",
            names.join(", ")
        );
        let mut rng = StdRng::seed_from_u64(6);
        let mut scratch = GemmScratch::default();
        for (name, path) in paths {
            for m in [1, 7, 9, 20] {
                for k in [1, 3, 33] {
                    for n in [1, 10, 16, 17, 20, 32, 33, 47, 100] {
                        let what = |layout| format!("{name} {layout} {m}x{k}x{n}");
                        // Z = A·W: both row-major, B read straight from its rows.
                        let (a, b) = (random(m, k, &mut rng), random(k, n, &mut rng));
                        let mut c = Array2::from_elem((m, n), f32::NAN);
                        path(&a.view(), &b.view(), false, &mut c.view_mut(), &mut scratch);
                        assert_close(&c, &exact(&a.view(), &b.view()), &what("A·B"));
                        // dW += Xᵀ·dZ: A a transposed view, accumulating.
                        let at = random(k, m, &mut rng);
                        let mut c = random(m, n, &mut rng);
                        let want = exact(&at.t(), &b.view()) + c.mapv(f64::from);
                        path(&at.t(), &b.view(), true, &mut c.view_mut(), &mut scratch);
                        assert_close(&c, &want, &what("Aᵀ·B +="));
                        // dA = dZ·Wᵀ: B a transposed view, packed.
                        let bt = random(n, k, &mut rng);
                        let mut c = Array2::from_elem((m, n), f32::NAN);
                        path(&a.view(), &bt.t(), false, &mut c.view_mut(), &mut scratch);
                        assert_close(&c, &exact(&a.view(), &bt.t()), &what("A·Bᵀ"));
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_inner_dimension_gives_zeros_or_leaves_c() {
        let mut scratch = GemmScratch::default();
        let (a, b) = (Array2::<f32>::zeros((9, 0)), Array2::<f32>::zeros((0, 33)));
        let mut c = Array2::from_elem((9, 33), f32::NAN);
        matmul_into(&a.view(), &b.view(), false, &mut c.view_mut(), &mut scratch);
        assert!(c.iter().all(|&v| v == 0.0));
        let mut c = Array2::from_elem((9, 33), 2.5);
        matmul_into(&a.view(), &b.view(), true, &mut c.view_mut(), &mut scratch);
        assert!(c.iter().all(|&v| v == 2.5));
    }

    #[test]
    fn a_row_slice_of_a_larger_buffer_is_written_only_in_its_rows() {
        // The network multiplies the first n rows of a workspace buffer.
        let mut rng = StdRng::seed_from_u64(4);
        let (a, b) = (random(5, 12, &mut rng), random(12, 40, &mut rng));
        let mut buffer = Array2::from_elem((9, 40), 7.0f32);
        let mut scratch = GemmScratch::default();
        matmul_into(
            &a.view(),
            &b.view(),
            false,
            &mut buffer.slice_mut(ndarray::s![..5, ..]),
            &mut scratch,
        );
        assert_close(
            &buffer.slice(ndarray::s![..5, ..]).to_owned(),
            &exact(&a.view(), &b.view()),
            "rows",
        );
        assert!(buffer.slice(ndarray::s![5.., ..]).iter().all(|&v| v == 7.0));
    }

    #[test]
    fn the_tiling_does_not_change_the_bits() {
        // Each element is one sum in order: a product computed as a whole or as row slices
        // gives the same bits (so results cannot depend on how rows are split between threads).
        let mut rng = StdRng::seed_from_u64(5);
        let (a, b) = (random(21, 50, &mut rng), random(50, 45, &mut rng));
        let mut scratch = GemmScratch::default();
        let mut whole = Array2::zeros((21, 45));
        matmul_into(&a.view(), &b.view(), false, &mut whole.view_mut(), &mut scratch);
        let mut parts = Array2::zeros((21, 45));
        for (rows, mut out) in a
            .axis_chunks_iter(ndarray::Axis(0), 5)
            .zip(parts.axis_chunks_iter_mut(ndarray::Axis(0), 5))
        {
            matmul_into(&rows, &b.view(), false, &mut out, &mut scratch);
        }
        assert_eq!(whole, parts);
    }
}
