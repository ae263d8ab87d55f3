//! The loops of the two sparse products, generic over `FMA` (fused multiply-add, in the AVX2 and
//! AVX-512 builds) and written so the compiler turns each fixed-width step into whole vector
//! operations. [`super`] compiles them once per build and picks one at run time.
//!
//! Shapes: `csr` is `(rows, inputs)` with u8 pixels; dense matrices are row-major slices with
//! rows padded to `pw` floats, `pw` a multiple of [`LANES`].

use super::csr::Csr;
use super::padding::LANES;

/// Pixel value `p` as a network input, `p / 255` rounded as `p * (1 / 255)` (the same value the
/// dense path computes).
pub const PIXEL_INPUTS: [f32; 256] = {
    let mut table = [0.0; 256];
    let mut p = 0;
    while p < 256 {
        table[p] = p as f32 * (1.0 / 255.0);
        p += 1;
    }
    table
};

/// `out (rows, pw) = csr (rows, inputs) · w (inputs, pw)`; every row of `out` is written.
#[inline(always)]
pub(super) fn csr_times_dense<const FMA: bool>(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    assert!(pw.is_multiple_of(LANES) && w.len() >= csr.width() * pw && out.len() >= csr.rows() * pw);
    // Narrow layers (the notebook's 10 units pad to 16) keep the output row in registers.
    match pw {
        8 => return csr_times_dense_fixed::<FMA, 8>(csr, w, out),
        16 => return csr_times_dense_fixed::<FMA, 16>(csr, w, out),
        32 => return csr_times_dense_fixed::<FMA, 32>(csr, w, out),
        _ => {}
    }
    for (r, z) in out.chunks_exact_mut(pw).enumerate().take(csr.rows()) {
        // z (pw) = Σ over the row's entries of pixel * w[column] (pw)
        z.fill(0.0);
        let (columns, pixels) = csr.row(r);
        for (&column, &pixel) in columns.iter().zip(pixels) {
            let start = usize::from(column) * pw;
            axpy_blocks::<FMA>(PIXEL_INPUTS[usize::from(pixel)], &w[start..start + pw], z);
        }
    }
}

/// `dw (inputs, pw) += csrᵀ (inputs, rows) · dz (rows, pw)`, scattering each row of `dz` into the
/// rows of `dw` of the row's non-zero inputs.
#[inline(always)]
pub(super) fn csr_transposed_times_dense<const FMA: bool>(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    assert!(pw.is_multiple_of(LANES) && dw.len() >= csr.width() * pw && dz.len() >= csr.rows() * pw);
    match pw {
        8 => return csr_transposed_times_dense_fixed::<FMA, 8>(csr, dz, dw),
        16 => return csr_transposed_times_dense_fixed::<FMA, 16>(csr, dz, dw),
        32 => return csr_transposed_times_dense_fixed::<FMA, 32>(csr, dz, dw),
        _ => {}
    }
    for (r, dz) in dz.chunks_exact(pw).enumerate().take(csr.rows()) {
        let (columns, pixels) = csr.row(r);
        for (&column, &pixel) in columns.iter().zip(pixels) {
            let start = usize::from(column) * pw;
            axpy_blocks::<FMA>(PIXEL_INPUTS[usize::from(pixel)], dz, &mut dw[start..start + pw]);
        }
    }
}

/// `y += a * x` over 8-lane blocks; `FMA` fuses the multiply-add (only where the CPU has it:
/// elsewhere `mul_add` would be a slow library call).
#[inline(always)]
fn axpy_blocks<const FMA: bool>(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.chunks_exact_mut(LANES).zip(x.chunks_exact(LANES)) {
        for i in 0..LANES {
            y[i] = madd::<FMA>(a, x[i], y[i]);
        }
    }
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, x: f32, acc: f32) -> f32 {
    if FMA { a.mul_add(x, acc) } else { acc + a * x }
}

/// Rows summed side by side in the narrow forward kernel.
const INTERLEAVE: usize = 4;

/// The forward product for a fixed padded width `PW`.
#[inline(always)]
fn csr_times_dense_fixed<const FMA: bool, const PW: usize>(csr: Csr<'_>, w: &[f32], out: &mut [f32]) {
    /// One row being summed: its entries not yet added and the running sum.
    #[derive(Clone, Copy)]
    struct Lane<'a, const PW: usize> {
        row: usize,
        /// The same length as `pixels` (two slices of one row, cut at the same points).
        columns: &'a [u16],
        pixels: &'a [u8],
        acc: [f32; PW],
    }
    // w: (inputs, PW), out: (rows, PW), as arrays of rows.
    let w_rows = w.as_chunks::<PW>().0;
    let out_rows = out.as_chunks_mut::<PW>().0;
    // Every column of `csr` is below its width (a `Csr` invariant), so below `w_rows.len()`:
    // what `add_entry` needs.
    assert!(w_rows.len() >= csr.width());
    let rows = csr.rows();
    let lane_at = |row: usize| {
        let (columns, pixels) = csr.row(row);
        Lane {
            row,
            columns,
            pixels,
            acc: [0.0; PW],
        }
    };
    // Four rows side by side: one row's sum is a chain of dependent multiply-adds that waits on
    // the FMA latency at every step, while four independent chains keep the unit busy. A lane
    // that finishes its row takes the next one, so all four stay busy until the last rows. Each
    // row still adds its entries in their own order: the sums are bit-identical to one row at a
    // time.
    let mut next = INTERLEAVE.min(rows);
    let mut lanes: [Option<Lane<'_, PW>>; INTERLEAVE] = std::array::from_fn(|i| (i < rows).then(|| lane_at(i)));
    while let [Some(a), Some(b), Some(c), Some(d)] = &mut lanes {
        let common = a
            .columns
            .len()
            .min(b.columns.len())
            .min(c.columns.len())
            .min(d.columns.len());
        for k in 0..common {
            for lane in [&mut *a, &mut *b, &mut *c, &mut *d] {
                // SAFETY: k < common <= lane.columns.len() == lane.pixels.len() (the two slices of
                // a row have the same length, and are cut at the same points below); the column
                // is one of csr's, so below csr.width() <= w_rows.len() (asserted above).
                unsafe {
                    let (column, pixel) = (*lane.columns.get_unchecked(k), *lane.pixels.get_unchecked(k));
                    add_entry::<FMA, PW>(&mut lane.acc, w_rows, column, pixel);
                }
            }
        }
        for slot in &mut lanes {
            let lane = slot.as_mut().expect("all four lanes are busy");
            lane.columns = &lane.columns[common..];
            lane.pixels = &lane.pixels[common..];
            if lane.columns.is_empty() {
                out_rows[lane.row] = lane.acc;
                *slot = (next < rows).then(|| lane_at(next));
                next += 1;
            }
        }
    }
    // The last rows, one at a time.
    for mut lane in lanes.into_iter().flatten() {
        for (&column, &pixel) in lane.columns.iter().zip(lane.pixels) {
            // SAFETY: the column is one of csr's, so below csr.width() <= w_rows.len().
            unsafe { add_entry::<FMA, PW>(&mut lane.acc, w_rows, column, pixel) };
        }
        out_rows[lane.row] = lane.acc;
    }
}

/// `acc (PW) += pixel * w_rows[column] (PW)`, without a bounds check (the forward product's
/// innermost step).
///
/// # Safety
/// `column < w_rows.len()`.
#[inline(always)]
unsafe fn add_entry<const FMA: bool, const PW: usize>(
    acc: &mut [f32; PW],
    w_rows: &[[f32; PW]],
    column: u16,
    pixel: u8,
) {
    debug_assert!(usize::from(column) < w_rows.len());
    // SAFETY: the caller guarantees column < w_rows.len().
    let w = unsafe { w_rows.get_unchecked(usize::from(column)) };
    let a = PIXEL_INPUTS[usize::from(pixel)];
    for i in 0..PW {
        acc[i] = madd::<FMA>(a, w[i], acc[i]);
    }
}

/// The scatter product for a fixed padded width `PW`.
#[inline(always)]
fn csr_transposed_times_dense_fixed<const FMA: bool, const PW: usize>(csr: Csr<'_>, dz: &[f32], dw: &mut [f32]) {
    // dz: (rows, PW), dw: (inputs, PW), as arrays of rows.
    let dz_rows = dz.as_chunks::<PW>().0;
    let dw_rows = dw.as_chunks_mut::<PW>().0;
    assert!(dw_rows.len() >= csr.width());
    for (r, dz) in dz_rows.iter().enumerate().take(csr.rows()) {
        let (columns, pixels) = csr.row(r);
        for (&column, &pixel) in columns.iter().zip(pixels) {
            debug_assert!(usize::from(column) < dw_rows.len());
            // SAFETY: the column is one of csr's, so below csr.width() (a `Csr` invariant), and
            // csr.width() <= dw_rows.len() (asserted above).
            let row = unsafe { dw_rows.get_unchecked_mut(usize::from(column)) };
            let a = PIXEL_INPUTS[usize::from(pixel)];
            for i in 0..PW {
                row[i] = madd::<FMA>(a, dz[i], row[i]);
            }
        }
    }
}
