//! Hot loops of the sparse first layer, compiled twice: for AVX2 + FMA (picked at run time when
//! the CPU has them) and for the baseline x86-64 / other targets. Rows are padded to a multiple
//! of 8 floats so every inner step is one 8-lane vector operation.

/// Lanes per vector step.
pub const LANES: usize = 8;

/// `width` rounded up to a whole number of vector steps.
pub fn padded(width: usize) -> usize {
    width.div_ceil(LANES) * LANES
}

/// CSR rows: row `r` owns entries `offsets[r]..offsets[r + 1]` of `columns` and `values`.
/// Offsets are absolute indices, so a range of rows of a larger CSR is a view without copying.
#[derive(Clone, Copy, Debug)]
pub struct Csr<'a> {
    pub offsets: &'a [usize],
    pub columns: &'a [u32],
    pub values: &'a [f32],
}

impl Csr<'_> {
    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// `out (rows, pw) = csr · w (inputs, pw)`, `pw` a multiple of [`LANES`].
pub fn csr_times_dense(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { csr_times_dense_fma(csr, w, pw, out) };
        return;
    }
    csr_times_dense_impl::<false>(csr, w, pw, out);
}

/// `dw (inputs, pw) += csrᵀ · dz (rows, pw)`, `pw` a multiple of [`LANES`].
pub fn csr_transposed_times_dense(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { csr_transposed_times_dense_fma(csr, dz, pw, dw) };
        return;
    }
    csr_transposed_times_dense_impl::<false>(csr, dz, pw, dw);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn csr_times_dense_fma(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    csr_times_dense_impl::<true>(csr, w, pw, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn csr_transposed_times_dense_fma(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    csr_transposed_times_dense_impl::<true>(csr, dz, pw, dw);
}

/// `y += a * x` over 8-lane blocks; `FMA` fuses the multiply-add (only where the CPU has it:
/// elsewhere `mul_add` would be a slow library call).
#[inline(always)]
fn axpy_blocks<const FMA: bool>(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.chunks_exact_mut(LANES).zip(x.chunks_exact(LANES)) {
        for i in 0..LANES {
            y[i] = if FMA { a.mul_add(x[i], y[i]) } else { y[i] + a * x[i] };
        }
    }
}

#[inline(always)]
fn csr_times_dense_impl<const FMA: bool>(csr: Csr<'_>, w: &[f32], pw: usize, out: &mut [f32]) {
    // Narrow layers (the notebook's 10 units pad to 16) keep the output row in registers.
    match pw {
        8 => return csr_times_dense_fixed::<FMA, 8>(csr, w, out),
        16 => return csr_times_dense_fixed::<FMA, 16>(csr, w, out),
        32 => return csr_times_dense_fixed::<FMA, 32>(csr, w, out),
        _ => {}
    }
    for (r, z) in out.chunks_exact_mut(pw).enumerate().take(csr.offsets.len() - 1) {
        z.fill(0.0);
        for k in csr.offsets[r]..csr.offsets[r + 1] {
            let start = csr.columns[k] as usize * pw;
            axpy_blocks::<FMA>(csr.values[k], &w[start..start + pw], z);
        }
    }
}

#[inline(always)]
fn csr_times_dense_fixed<const FMA: bool, const PW: usize>(csr: Csr<'_>, w: &[f32], out: &mut [f32]) {
    for (r, z) in out.chunks_exact_mut(PW).enumerate().take(csr.offsets.len() - 1) {
        let mut acc = [0.0f32; PW];
        for k in csr.offsets[r]..csr.offsets[r + 1] {
            let start = csr.columns[k] as usize * PW;
            let w: &[f32; PW] = w[start..start + PW].try_into().expect("PW floats");
            let a = csr.values[k];
            for i in 0..PW {
                acc[i] = if FMA {
                    a.mul_add(w[i], acc[i])
                } else {
                    acc[i] + a * w[i]
                };
            }
        }
        z.copy_from_slice(&acc);
    }
}

#[inline(always)]
fn csr_transposed_times_dense_impl<const FMA: bool>(csr: Csr<'_>, dz: &[f32], pw: usize, dw: &mut [f32]) {
    match pw {
        8 => return csr_transposed_times_dense_fixed::<FMA, 8>(csr, dz, dw),
        16 => return csr_transposed_times_dense_fixed::<FMA, 16>(csr, dz, dw),
        32 => return csr_transposed_times_dense_fixed::<FMA, 32>(csr, dz, dw),
        _ => {}
    }
    for (r, dz) in dz.chunks_exact(pw).enumerate().take(csr.offsets.len() - 1) {
        for k in csr.offsets[r]..csr.offsets[r + 1] {
            let start = csr.columns[k] as usize * pw;
            axpy_blocks::<FMA>(csr.values[k], dz, &mut dw[start..start + pw]);
        }
    }
}

#[inline(always)]
fn csr_transposed_times_dense_fixed<const FMA: bool, const PW: usize>(csr: Csr<'_>, dz: &[f32], dw: &mut [f32]) {
    for (r, dz) in dz.chunks_exact(PW).enumerate().take(csr.offsets.len() - 1) {
        let dz: &[f32; PW] = dz.try_into().expect("PW floats");
        for k in csr.offsets[r]..csr.offsets[r + 1] {
            let start = csr.columns[k] as usize * PW;
            let row: &mut [f32; PW] = (&mut dw[start..start + PW]).try_into().expect("PW floats");
            let a = csr.values[k];
            for i in 0..PW {
                row[i] = if FMA {
                    a.mul_add(dz[i], row[i])
                } else {
                    row[i] + a * dz[i]
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_builds_agree_with_a_dense_product() {
        // 3 rows over 5 inputs, width 8.
        let offsets = [0usize, 2, 2, 5];
        let columns = [1u32, 4, 0, 2, 4];
        let values = [0.5f32, 2.0, 1.0, -1.0, 0.25];
        let csr = Csr {
            offsets: &offsets,
            columns: &columns,
            values: &values,
        };
        let w: Vec<f32> = (0..5 * 8).map(|i| i as f32 * 0.1).collect();
        let mut out = vec![9.0; 3 * 8];
        csr_times_dense(csr, &w, 8, &mut out);
        let mut plain = vec![0.0; 3 * 8];
        csr_times_dense_impl::<false>(csr, &w, 8, &mut plain);
        for u in 0..8 {
            let expect0 = 0.5 * w[8 + u] + 2.0 * w[4 * 8 + u];
            assert!((out[u] - expect0).abs() < 1e-5 && (plain[u] - expect0).abs() < 1e-5);
            assert_eq!(out[8 + u], 0.0);
        }
        let mut dw = vec![0.0; 5 * 8];
        csr_transposed_times_dense(csr, &plain, 8, &mut dw);
        // Input 4 appears in rows 0 (2.0) and 2 (0.25).
        for u in 0..8 {
            let expect = 2.0 * plain[u] + 0.25 * plain[16 + u];
            assert!((dw[4 * 8 + u] - expect).abs() < 1e-4);
        }
        assert_eq!(padded(10), 16);
        assert_eq!(padded(16), 16);
    }
}
