//! The sparse products for wide layers on AVX-512: each output row is a weighted sum of rows of
//! a dense matrix, `out[r] (+)= Σ_{(c, p) in row r} p/255 · d[c]`, summed in registers 256
//! columns (16 vectors) at a time and written once.
//!
//! The generic loops ([`super::loops`]) add every entry's row straight into the output row in
//! memory: for a 512-unit layer that is 32 loads, 32 multiply-adds and 32 stores per entry, and
//! the stores bound it. Here an entry costs 16 loads and 16 multiply-adds per block. The same
//! kernel serves `Z = X·W` (rows of `X`) and `dW += Xᵀ·dZ` (rows of the transpose of `X`, made
//! per chunk), where it also replaces a read-modify-write of `dW`'s rows at every entry by one
//! per pixel.
//!
//! Each output element is its entries' products summed in entry order from zero, as in the
//! generic loops' FMA builds, so the forward product gives the same bits as before.

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_set1_ps,
    _mm512_setzero_ps,
};

use super::csr::Csr;
use super::loops::PIXEL_INPUTS;

/// Vectors summed side by side in registers.
const BLOCK_VECTORS: usize = 16;

/// `out (rows, pw) = csr (rows, width) · d (width, pw)`, or `out += ...` when `accumulate`;
/// `pw` a multiple of 8. Every row of `out` is written.
///
/// # Safety
/// The CPU has avx512f.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn csr_times_dense(csr: Csr<'_>, d: &[f32], pw: usize, out: &mut [f32], accumulate: bool) {
    assert!(
        pw.is_multiple_of(8) && d.len() >= csr.width() * pw && out.len() >= csr.rows() * pw,
        "wide sparse product: {} rows of width {} with pw {pw}",
        csr.rows(),
        csr.width()
    );
    let vectors = pw.div_ceil(16);
    for (r, out_row) in out.chunks_exact_mut(pw).enumerate().take(csr.rows()) {
        let (columns, pixels) = csr.row(r);
        let mut v0 = 0;
        while v0 < vectors {
            let count = BLOCK_VECTORS.min(vectors - v0);
            // SAFETY: every column is below csr.width() (a `Csr` invariant), so each `d` row
            // read, columns v0 * 16 .. v0 * 16 + count * 16 masked to below pw, is inside `d`
            // (asserted above); the same columns of `out_row` are inside it.
            unsafe {
                if count == BLOCK_VECTORS {
                    block::<BLOCK_VECTORS>(columns, pixels, d, pw, v0, out_row, accumulate);
                } else {
                    for v in v0..v0 + count {
                        block::<1>(columns, pixels, d, pw, v, out_row, accumulate);
                    }
                }
            }
            v0 += count;
        }
    }
}

/// Lane mask of vector `v` of a row of `pw` floats.
fn mask(v: usize, pw: usize) -> __mmask16 {
    let lanes = pw.saturating_sub(v * 16).min(16);
    ((1u32 << lanes) - 1) as u16
}

/// Vectors `v0 .. v0 + NV` of one output row.
///
/// # Safety
/// Every column is below `d.len() / pw`; vectors `v0 .. v0 + NV` start below `pw`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn block<const NV: usize>(
    columns: &[u16],
    pixels: &[u8],
    d: &[f32],
    pw: usize,
    v0: usize,
    out_row: &mut [f32],
    accumulate: bool,
) {
    let masks: [__mmask16; NV] = std::array::from_fn(|v| mask(v0 + v, pw));
    let mut acc = [_mm512_setzero_ps(); NV];
    for (&column, &pixel) in columns.iter().zip(pixels) {
        let a = _mm512_set1_ps(PIXEL_INPUTS[usize::from(pixel)]);
        // SAFETY: column < d.len() / pw (the caller's promise), and the loads are masked to the
        // row's pw floats.
        let row = unsafe { d.as_ptr().add(usize::from(column) * pw + v0 * 16) };
        for v in 0..NV {
            // SAFETY: as above.
            let x = unsafe { _mm512_maskz_loadu_ps(masks[v], row.add(v * 16)) };
            acc[v] = _mm512_fmadd_ps(a, x, acc[v]);
        }
    }
    let out = out_row.as_mut_ptr();
    for v in 0..NV {
        // SAFETY: the masked lanes are below pw, inside `out_row`.
        unsafe {
            let at = out.add((v0 + v) * 16);
            let value: __m512 = if accumulate {
                _mm512_add_ps(_mm512_maskz_loadu_ps(masks[v], at), acc[v])
            } else {
                acc[v]
            };
            _mm512_mask_storeu_ps(at, masks[v], value);
        }
    }
}
