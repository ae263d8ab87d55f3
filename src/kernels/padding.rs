//! Rows padded to whole vector widths, so every step of the loops is whole vector operations.
//! Row copies of a run-time length would each be a `memcpy` call, which for rows of 10 floats
//! cost more than the copy (measured: 5% of a `seed` step); the usual widths (8, 16 and 32)
//! copy whole fixed-size arrays instead.

/// Lanes per vector step.
pub const LANES: usize = 8;

/// `width` rounded up to a whole number of vector steps.
pub fn padded(width: usize) -> usize {
    width.div_ceil(LANES) * LANES
}

/// Copies `a` (rows of `width`) into `out` (rows of `pw >= width`) with zeros in the padding.
pub fn pad_rows(a: &[f32], width: usize, pw: usize, out: &mut [f32]) {
    assert!(width > 0 && width <= pw && a.len().is_multiple_of(width) && out.len() >= a.len() / width * pw);
    match pw {
        8 => pad_rows_fixed::<8>(a, width, out),
        16 => pad_rows_fixed::<16>(a, width, out),
        32 => pad_rows_fixed::<32>(a, width, out),
        _ => {
            for (row, padded) in a.chunks_exact(width).zip(out.chunks_exact_mut(pw)) {
                padded[..width].copy_from_slice(row);
                padded[width..].fill(0.0);
            }
        }
    }
}

fn pad_rows_fixed<const PW: usize>(a: &[f32], width: usize, out: &mut [f32]) {
    let keep: [u32; PW] = std::array::from_fn(|i| if i < width { u32::MAX } else { 0 });
    for (r, padded) in out.chunks_exact_mut(PW).take(a.len() / width).enumerate() {
        let start = r * width;
        let padded: &mut [f32; PW] = padded.try_into().expect("PW floats");
        match a.get(start..start + PW) {
            // Reads PW floats (into the next rows) and keeps the first `width`.
            Some(source) => {
                for i in 0..PW {
                    padded[i] = f32::from_bits(source[i].to_bits() & keep[i]);
                }
            }
            // The last rows.
            None => {
                for (i, p) in padded.iter_mut().enumerate() {
                    *p = if i < width { a[start + i] } else { 0.0 };
                }
            }
        }
    }
}

/// Copies the first `width` floats of each row of `padded` (rows of `pw`) into `out` (rows of
/// `width`): the inverse of [`pad_rows`].
pub fn unpad_rows(padded: &[f32], pw: usize, width: usize, out: &mut [f32]) {
    assert!(width > 0 && width <= pw && out.len().is_multiple_of(width) && padded.len() >= out.len() / width * pw);
    match pw {
        8 => unpad_rows_fixed::<8>(padded, width, out),
        16 => unpad_rows_fixed::<16>(padded, width, out),
        32 => unpad_rows_fixed::<32>(padded, width, out),
        _ => {
            for (row, padded) in out.chunks_exact_mut(width).zip(padded.chunks_exact(pw)) {
                row.copy_from_slice(&padded[..width]);
            }
        }
    }
}

fn unpad_rows_fixed<const PW: usize>(padded: &[f32], width: usize, out: &mut [f32]) {
    for (r, source) in padded.chunks_exact(PW).take(out.len() / width).enumerate() {
        let start = r * width;
        let source: &[f32; PW] = source.try_into().expect("PW floats");
        match out.get_mut(start..start + PW) {
            // Writes PW floats: the ones past `width` land in the next rows, which are written
            // after this one.
            Some(row) => {
                let row: &mut [f32; PW] = row.try_into().expect("PW floats");
                *row = *source;
            }
            None => out[start..start + width].copy_from_slice(&source[..width]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_round_trips_at_every_width() {
        for pw in [8, 16, 24, 32] {
            for width in [1, 3, 7, pw / 2 + 1, pw] {
                for rows in [1, 2, 5, 40] {
                    let a: Vec<f32> = (0..rows * width).map(|i| i as f32 + 0.5).collect();
                    let mut padded = vec![f32::NAN; rows * pw];
                    pad_rows(&a, width, pw, &mut padded);
                    for (r, row) in padded.chunks_exact(pw).enumerate() {
                        assert_eq!(row[..width], a[r * width..(r + 1) * width]);
                        assert!(row[width..].iter().all(|&v| v == 0.0), "pw {pw} width {width}");
                    }
                    let mut back = vec![f32::NAN; rows * width];
                    unpad_rows(&padded, pw, width, &mut back);
                    assert_eq!(back, a, "pw {pw} width {width} rows {rows}");
                }
            }
        }
    }

    #[test]
    fn widths_round_up_to_whole_vectors() {
        assert_eq!(padded(1), 8);
        assert_eq!(padded(8), 8);
        assert_eq!(padded(10), 16);
        assert_eq!(padded(16), 16);
        assert_eq!(padded(65), 72);
    }
}
