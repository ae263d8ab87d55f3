//! The sparse first layer: images as their non-zero pixels and the two matrix products that read
//! them. MNIST is about 81% zeros, so a first layer fed this way does about a fifth of the dense
//! work in the forward product and in dW1.
//!
//! - [`csr`]: the matrices ([`Csr`], [`CsrBuf`], [`SparseBatch`]).
//! - `sparse_layer`: `Z = X·W` and `dW += Xᵀ·dZ` on the network's ndarray matrices; they pad
//!   rows to whole vectors ([`padding`]) in aligned scratch buffers and call the products below.
//! - this file: the two products, [`csr_times_dense`] and [`csr_transposed_times_dense`], each
//!   sent to the best build of the loops for this CPU, chosen once per process.
//! - `loops`: the loops themselves.
//! - `wide`: both products again for wide layers on AVX-512, summing in registers.
//! - [`gemm`]: the dense products of the hidden layers ([`matmul_into`]).
//!
//! The loops are compiled three times: for AVX-512, for AVX2 + FMA, and for the compile target's
//! baseline (x86-64 without them, or another architecture). Rows are padded to a multiple of 8
//! floats so every inner step is whole vector operations (a padded row of 16 is one AVX-512
//! register). The two FMA builds give bit-identical results: only the vector width differs, not
//! the order of the operations. The baseline rounds after the multiply and again after the add,
//! so its last bits can differ.

mod aligned;
pub mod csr;
mod gemm;
mod loops;
pub mod padding;
mod sparse_layer;
#[cfg(target_arch = "x86_64")]
mod wide;

use std::sync::OnceLock;

pub use csr::{Csr, CsrBuf, SparseBatch};
pub use gemm::{GemmScratch, matmul_into};
pub use loops::PIXEL_INPUTS;
pub use padding::{LANES, pad_rows, padded, unpad_rows};
pub(crate) use sparse_layer::SparseScratch;

/// `out (rows, pw) = csr (rows, inputs) · w (inputs, pw)`, `pw` a multiple of [`LANES`]; every
/// row of `out` is written. Panics if `w` or `out` is too short.
pub fn csr_times_dense(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    match Build::for_this_cpu() {
        #[cfg(target_arch = "x86_64")]
        Build::Avx512 => {
            // SAFETY: a function compiled with `target_feature` runs soundly on a CPU that has
            // those features, which is its only precondition (the slices are bounds-checked
            // inside). This arm runs only when `Build::for_this_cpu()` returned `Avx512`, which
            // `Build::detect` returns only after `is_x86_feature_detected!` found avx512f, avx2
            // and fma, the features `x86::csr_times_dense_avx512` is compiled with.
            unsafe { x86::csr_times_dense_avx512(csr, w, pw, out) }
        }
        #[cfg(target_arch = "x86_64")]
        Build::Avx2Fma => {
            // SAFETY: as above; `Avx2Fma` is returned only after `is_x86_feature_detected!` found
            // avx2 and fma, the features `x86::csr_times_dense_avx2_fma` is compiled with.
            unsafe { x86::csr_times_dense_avx2_fma(csr, w, pw, out) }
        }
        Build::Baseline => loops::csr_times_dense::<false>(csr, w, pw, out),
    }
}

/// `dw (inputs, pw) += csrᵀ (inputs, rows) · dz (rows, pw)`, `pw` a multiple of [`LANES`].
/// Panics if `dz` or `dw` is too short.
pub fn csr_transposed_times_dense(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    match Build::for_this_cpu() {
        #[cfg(target_arch = "x86_64")]
        Build::Avx512 => {
            // SAFETY: a `target_feature` function's only precondition is a CPU with its features
            // (the slices are bounds-checked inside). `Avx512` is returned only after
            // `is_x86_feature_detected!` found avx512f, avx2 and fma, the features
            // `x86::csr_transposed_times_dense_avx512` is compiled with.
            unsafe { x86::csr_transposed_times_dense_avx512(csr, dz, pw, dw) }
        }
        #[cfg(target_arch = "x86_64")]
        Build::Avx2Fma => {
            // SAFETY: as above; `Avx2Fma` is returned only after `is_x86_feature_detected!` found
            // avx2 and fma, the features `x86::csr_transposed_times_dense_avx2_fma` is compiled
            // with.
            unsafe { x86::csr_transposed_times_dense_avx2_fma(csr, dz, pw, dw) }
        }
        Build::Baseline => loops::csr_transposed_times_dense::<false>(csr, dz, pw, dw),
    }
}

/// Layers at least this wide take the `wide` kernels where the CPU has AVX-512 (narrower ones
/// keep their output rows in registers in the generic loops already).
const WIDE: usize = 64;

/// Whether the `wide` kernel serves rows of `pw` floats here: this CPU has AVX-512 and `pw` is at
/// least [`WIDE`].
fn wide_kernel_serves(pw: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return pw >= WIDE && Build::for_this_cpu() == Build::Avx512;
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// `out (rows, pw) = csr · d`, or `out += csr · d` with `accumulate`, by the `wide` kernel.
/// Panics unless [`wide_kernel_serves`] `pw`; `pw` a multiple of [`LANES`].
fn wide_csr_times_dense(csr: Csr<'_>, d: &[f32], pw: usize, out: &mut [f32], accumulate: bool) {
    assert!(wide_kernel_serves(pw), "no wide kernel for rows of {pw} here");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has avx512f (`wide_kernel_serves` checked `Build::detect`'s answer), the
    // kernel's only precondition; the slices are bounds-checked inside.
    unsafe {
        wide::csr_times_dense(csr, d, pw, out, accumulate);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (csr, d, out, accumulate);
}

/// True when this CPU runs AVX-512 (with AVX2 and FMA): other loops compiled for it can be
/// chosen by this too.
#[cfg(target_arch = "x86_64")]
pub fn has_avx512() -> bool {
    Build::for_this_cpu() == Build::Avx512
}

/// The builds of the loops, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Build {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    Baseline,
}

impl Build {
    /// The best build this CPU runs, detected on the first call.
    fn for_this_cpu() -> Build {
        static BUILD: OnceLock<Build> = OnceLock::new();
        *BUILD.get_or_init(Build::detect)
    }

    fn detect() -> Build {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected;
            let (avx2, fma) = (is_x86_feature_detected!("avx2"), is_x86_feature_detected!("fma"));
            if is_x86_feature_detected!("avx512f") && avx2 && fma {
                return Build::Avx512;
            }
            if avx2 && fma {
                return Build::Avx2Fma;
            }
        }
        Build::Baseline
    }
}

/// The loops compiled for x86-64 vector extensions. Safe to call where the features are enabled
/// at compile time; elsewhere only after checking the CPU (see [`Build::detect`]).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Csr, loops};

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn csr_times_dense_avx512(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
        loops::csr_times_dense::<true>(csr, w, pw, out);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn csr_times_dense_avx2_fma(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
        loops::csr_times_dense::<true>(csr, w, pw, out);
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn csr_transposed_times_dense_avx512(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
        loops::csr_transposed_times_dense::<true>(csr, dz, pw, dw);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn csr_transposed_times_dense_avx2_fma(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
        loops::csr_transposed_times_dense::<true>(csr, dz, pw, dw);
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    /// A random matrix of `rows` rows over `width` columns, some rows empty, some long.
    fn random_csr(rows: usize, width: usize, seed: u64) -> CsrBuf {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut csr = CsrBuf::new(width);
        for _ in 0..rows {
            let density = [0.0, 0.05, 0.2, 0.6][rng.random_range(0..4)];
            let mut entries = Vec::new();
            for column in 0..width as u16 {
                if rng.random_bool(density) {
                    entries.push((column, rng.random::<u8>()));
                }
            }
            csr.push_row(entries);
        }
        csr
    }

    /// `(rows, pw)` values in about [-1, 1].
    fn random_dense(rows: usize, pw: usize, rng: &mut StdRng) -> Vec<f32> {
        (0..rows * pw).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn every_width_matches_a_dense_product_and_the_gather_matches_the_scatter() {
        let (rows, width) = (37, 50);
        let buf = random_csr(rows, width, 7);
        let csr = buf.view();
        let mut rng = StdRng::seed_from_u64(8);
        for pw in [8, 16, 24, 32, 40] {
            let w = random_dense(width, pw, &mut rng);
            let mut out = vec![f32::NAN; rows * pw];
            csr_times_dense(csr, &w, pw, &mut out);
            let mut plain = vec![f32::NAN; rows * pw];
            loops::csr_times_dense::<false>(csr, &w, pw, &mut plain);
            for r in 0..rows {
                let (columns, pixels) = csr.row(r);
                for u in 0..pw {
                    let exact: f64 = columns
                        .iter()
                        .zip(pixels)
                        .map(|(&c, &p)| f64::from(PIXEL_INPUTS[p as usize]) * f64::from(w[c as usize * pw + u]))
                        .sum();
                    for got in [out[r * pw + u], plain[r * pw + u]] {
                        assert!(
                            (f64::from(got) - exact).abs() < 1e-4,
                            "pw {pw} row {r}: {got} vs {exact}"
                        );
                    }
                }
            }
            // dW = Xᵀ·dZ by scattering rows and by gathering the transpose: the same sums in the
            // same order, so the same bits.
            let dz = random_dense(rows, pw, &mut rng);
            let mut scattered = vec![0.0; width * pw];
            csr_transposed_times_dense(csr, &dz, pw, &mut scattered);
            let transposed = CsrBuf::transpose(csr);
            assert_eq!((transposed.rows(), transposed.view().width()), (width, rows));
            let mut gathered = vec![f32::NAN; width * pw];
            csr_times_dense(transposed.view(), &dz, pw, &mut gathered);
            assert_eq!(scattered, gathered, "pw {pw}");
        }
    }

    #[test]
    fn both_builds_agree_with_a_dense_product() {
        // 3 rows over 5 inputs, width 8.
        let offsets = [0usize, 2, 2, 5];
        let columns = [1u16, 4, 0, 2, 4];
        let pixels = [51u8, 255, 102, 1, 204];
        let csr = Csr::new(&offsets, &columns, &pixels, 5).unwrap();
        let value = |k: usize| f32::from(pixels[k]) / 255.0;
        let w: Vec<f32> = (0..5 * 8).map(|i| i as f32 * 0.1).collect();
        let mut out = vec![9.0; 3 * 8];
        csr_times_dense(csr, &w, 8, &mut out);
        let mut plain = vec![0.0; 3 * 8];
        loops::csr_times_dense::<false>(csr, &w, 8, &mut plain);
        for u in 0..8 {
            let expect0 = value(0) * w[8 + u] + value(1) * w[4 * 8 + u];
            assert!((out[u] - expect0).abs() < 1e-5 && (plain[u] - expect0).abs() < 1e-5);
            assert_eq!(out[8 + u], 0.0);
        }
        let mut dw = vec![0.0; 5 * 8];
        csr_transposed_times_dense(csr, &plain, 8, &mut dw);
        // Input 4 appears in rows 0 (entry 1) and 2 (entry 4).
        for u in 0..8 {
            let expect = value(1) * plain[u] + value(4) * plain[16 + u];
            assert!((dw[4 * 8 + u] - expect).abs() < 1e-4);
        }
    }

    /// The wide kernel sums each row's entries in order from zero, as the FMA loops do: the
    /// same bits forward; dW through the transpose is the scatter's sum up to rounding.
    #[test]
    fn the_wide_kernel_matches_the_loops() {
        let (rows, width) = (23, 40);
        let buf = random_csr(rows, width, 13);
        let mut rng = StdRng::seed_from_u64(14);
        for pw in [64, 72, 256, 264, 520] {
            let w = random_dense(width, pw, &mut rng);
            if !wide_kernel_serves(pw) {
                return; // no AVX-512 here
            }
            let mut wide = vec![f32::NAN; rows * pw];
            wide_csr_times_dense(buf.view(), &w, pw, &mut wide, false);
            let mut looped = vec![f32::NAN; rows * pw];
            csr_times_dense(buf.view(), &w, pw, &mut looped);
            assert_eq!(wide, looped, "pw {pw}");
            let dz = random_dense(rows, pw, &mut rng);
            let mut scattered = vec![0.25; width * pw];
            csr_transposed_times_dense(buf.view(), &dz, pw, &mut scattered);
            let mut gathered = vec![0.25; width * pw];
            wide_csr_times_dense(CsrBuf::transpose(buf.view()).view(), &dz, pw, &mut gathered, true);
            for (g, s) in gathered.iter().zip(&scattered) {
                assert!((g - s).abs() < 1e-4, "pw {pw}: {g} vs {s}");
            }
        }
    }

    /// One build's forward product or scatter product (the two have the same signature).
    type Product = fn(Csr<'_>, &[f32], usize, &mut [f32]);

    /// Every build of the loops this CPU runs, by name with its (forward, scatter) products, and
    /// the names of the builds it cannot run.
    fn runnable_builds() -> (Vec<(&'static str, Product, Product)>, Vec<&'static str>) {
        let mut runnable: Vec<(&'static str, Product, Product)> = Vec::new();
        let mut missing = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            let (avx2, fma) = (is_x86_feature_detected!("avx2"), is_x86_feature_detected!("fma"));
            if is_x86_feature_detected!("avx512f") && avx2 && fma {
                runnable.push((
                    "avx512",
                    // SAFETY: avx512f, avx2 and fma were detected on this CPU just above, the
                    // features these functions are compiled with; slices are bounds-checked.
                    |csr, w, pw, out| unsafe { x86::csr_times_dense_avx512(csr, w, pw, out) },
                    // SAFETY: as above.
                    |csr, dz, pw, dw| unsafe { x86::csr_transposed_times_dense_avx512(csr, dz, pw, dw) },
                ));
            } else {
                missing.push("avx512");
            }
            if avx2 && fma {
                runnable.push((
                    "avx2+fma",
                    // SAFETY: avx2 and fma were detected on this CPU just above, the features
                    // these functions are compiled with; slices are bounds-checked.
                    |csr, w, pw, out| unsafe { x86::csr_times_dense_avx2_fma(csr, w, pw, out) },
                    // SAFETY: as above.
                    |csr, dz, pw, dw| unsafe { x86::csr_transposed_times_dense_avx2_fma(csr, dz, pw, dw) },
                ));
            } else {
                missing.push("avx2+fma");
            }
        }
        runnable.push((
            "baseline",
            loops::csr_times_dense::<false>,
            loops::csr_transposed_times_dense::<false>,
        ));
        (runnable, missing)
    }

    /// `Σ over row r's entries of pixel · d[column]`, in f64, for every row: `(rows, pw)`.
    fn exact_product(csr: Csr<'_>, d: &[f32], pw: usize) -> Vec<f64> {
        let mut out = vec![0.0; csr.rows() * pw];
        for r in 0..csr.rows() {
            let (columns, pixels) = csr.row(r);
            for (&c, &p) in columns.iter().zip(pixels) {
                for u in 0..pw {
                    out[r * pw + u] += f64::from(PIXEL_INPUTS[p as usize]) * f64::from(d[c as usize * pw + u]);
                }
            }
        }
        out
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(g) - w).abs() < 1e-4 * (1.0 + w.abs()),
                "{what} [{i}]: {g} vs {w}"
            );
        }
    }

    /// Every build the CPU runs against an f64 sum: the fixed widths (8, 16, 32), the padded
    /// widths of 20, 33, 47 and 100 units (24, 40, 48, 104), row counts around the forward
    /// kernel's 4 interleaved rows, forward and scatter (`dW +=`). Buffers are exactly
    /// `rows * pw` or `width * pw` floats, so a read or write past a row's end leaves its slice.
    #[test]
    fn every_build_matches_an_f64_sum_at_every_width() {
        let (builds, mut missing) = runnable_builds();
        let mut tested: Vec<&str> = builds.iter().map(|(name, _, _)| *name).collect();
        if wide_kernel_serves(WIDE) {
            tested.push("avx512 wide");
        } else {
            missing.push("avx512 wide");
        }
        eprintln!(
            "sparse paths tested: {}; not available on this CPU: {missing:?}",
            tested.join(", ")
        );
        let width = 60;
        let mut rng = StdRng::seed_from_u64(15);
        for rows in [1, 3, 6, 13] {
            let buf = random_csr(rows, width, rows as u64);
            let csr = buf.view();
            for pw in [8, 16, 24, 32, 40, 48, 64, 104] {
                let w = random_dense(width, pw, &mut rng);
                let dz = random_dense(rows, pw, &mut rng);
                let start = random_dense(width, pw, &mut rng);
                // dW (width, pw) += Xᵀ·dZ: the transpose's product with dZ, plus what was there.
                let transposed = CsrBuf::transpose(csr);
                let mut want_dw = exact_product(transposed.view(), &dz, pw);
                for (w, &s) in want_dw.iter_mut().zip(&start) {
                    *w += f64::from(s);
                }
                let want_out = exact_product(csr, &w, pw);
                for &(name, forward, scatter) in &builds {
                    let mut out = vec![f32::NAN; rows * pw];
                    forward(csr, &w, pw, &mut out);
                    assert_close(&out, &want_out, &format!("{name} forward, {rows} rows, pw {pw}"));
                    let mut dw = start.clone();
                    scatter(csr, &dz, pw, &mut dw);
                    assert_close(&dw, &want_dw, &format!("{name} dW, {rows} rows, pw {pw}"));
                }
                if wide_kernel_serves(pw) {
                    let mut out = vec![f32::NAN; rows * pw];
                    wide_csr_times_dense(csr, &w, pw, &mut out, false);
                    assert_close(&out, &want_out, &format!("wide forward, {rows} rows, pw {pw}"));
                    let mut dw = start.clone();
                    wide_csr_times_dense(transposed.view(), &dz, pw, &mut dw, true);
                    assert_close(&dw, &want_dw, &format!("wide dW, {rows} rows, pw {pw}"));
                }
            }
        }
    }

    /// The AVX2 and AVX-512 builds do the same operations in the same order, so on a CPU that
    /// runs both they must give the same bits (the module docs promise it).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_fma_builds_give_identical_bits() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let buf = random_csr(41, 60, 11);
        let mut rng = StdRng::seed_from_u64(12);
        for pw in [8, 16, 24, 32, 40] {
            let w = random_dense(60, pw, &mut rng);
            let dz = random_dense(41, pw, &mut rng);
            let (mut out_dispatched, mut out_avx2) = (vec![f32::NAN; 41 * pw], vec![f32::NAN; 41 * pw]);
            let (mut dw_dispatched, mut dw_avx2) = (vec![0.5; 60 * pw], vec![0.5; 60 * pw]);
            csr_times_dense(buf.view(), &w, pw, &mut out_dispatched);
            csr_transposed_times_dense(buf.view(), &dz, pw, &mut dw_dispatched);
            // SAFETY: avx2 and fma were detected on this CPU above, the features these two
            // functions are compiled with; the slices are bounds-checked inside.
            unsafe {
                x86::csr_times_dense_avx2_fma(buf.view(), &w, pw, &mut out_avx2);
                x86::csr_transposed_times_dense_avx2_fma(buf.view(), &dz, pw, &mut dw_avx2);
            }
            assert_eq!(out_dispatched, out_avx2, "pw {pw}");
            assert_eq!(dw_dispatched, dw_avx2, "pw {pw}");
        }
        // Fails if the dispatch fell back to the baseline build on an FMA machine.
        assert_ne!(Build::for_this_cpu(), Build::Baseline);
    }
}
