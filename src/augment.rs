//! Random distortions of a square digit: a small rotation, scaling and shift, plus an elastic
//! bending (Simard et al. 2003: a random displacement field smoothed by a Gaussian), so a few
//! drawings of a digit stand for the many ways it could have been drawn. One sampler,
//! [`distort`], parameterised by its ranges ([`Distortion`]): training's augmentation draws a
//! distortion for every row it reads (the ranges of the preset or the flags), and fine-tuning
//! for every copy of a user's own digits ([`crate::finetune`], [`Distortion::DEFAULT`]). It
//! samples in fixed point and bends with one of a bank of elastic fields drawn once, so that
//! it costs a few microseconds per row.

use rand::RngExt;

use crate::data::{PIXELS, SIDE};

/// How far a distortion may go; each row gets its own random amount up to these, every time it
/// is drawn. About 3 us per 28x28 row (5 with bending), small beside the row's share of the
/// matrix products (the floating-point sampling before cost 16 us).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Distortion {
    /// Largest rotation either way, in degrees.
    pub rotate_degrees: f32,
    /// Largest relative change of size (0.1 = 90%..110%).
    pub scale: f32,
    /// Largest shift either way, in pixels (fractional).
    pub shift: f32,
    /// Largest elastic displacement (root mean square over the image, pixels): each row is
    /// also bent by one of [`ELASTIC_FIELDS`] smooth fields, at a random strength up to this.
    pub elastic: f32,
}

impl Distortion {
    /// Nothing changes: the image comes back as it was.
    pub const NONE: Distortion = Distortion {
        rotate_degrees: 0.0,
        scale: 0.0,
        shift: 0.0,
        elastic: 0.0,
    };

    /// Fine-tuning's: small enough that a digit stays that digit (a 6 never becomes a 9): up to
    /// 12 degrees, 10% of size, 2 pixels, and a gentle bend of up to 2 pixels, 1 on average
    /// (the fresh fields of strength 20 and smoothness 4 it used before moved pixels by 1.06 on
    /// average, 0.7 to 1.4).
    pub const DEFAULT: Distortion = Distortion {
        rotate_degrees: 12.0,
        scale: 0.10,
        shift: 2.0,
        elastic: 2.0,
    };
}

/// Smooth displacement fields drawn once, for [`distort`]'s elastic part.
pub const ELASTIC_FIELDS: usize = 256;

/// The fields of [`ELASTIC_FIELDS`], each `(dx, dy)` per pixel of a 28x28 image with a root
/// mean square displacement of one pixel.
fn elastic_bank() -> &'static [Vec<(f32, f32)>] {
    static BANK: std::sync::OnceLock<Vec<Vec<(f32, f32)>>> = std::sync::OnceLock::new();
    BANK.get_or_init(|| {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0xE1A5_71C0);
        (0..ELASTIC_FIELDS)
            .map(|_| {
                let (dx, dy) = (elastic_field(&mut rng, 1.0, 4.0), elastic_field(&mut rng, 1.0, 4.0));
                let rms = (dx.iter().chain(&dy).map(|v| v * v).sum::<f32>() / PIXELS as f32).sqrt();
                dx.iter().zip(&dy).map(|(x, y)| (x / rms, y / rms)).collect()
            })
            .collect()
    })
}

/// Writes a randomly rotated, scaled, shifted (and, with [`Distortion::elastic`], bent) copy of
/// the square `image` (`side` x `side`, row-major) into `out`, about the image's centre, sampled
/// bilinearly in 16.16 fixed point with 8-bit weights (within 2 levels of floating point).
/// Bending applies to 28x28 images only (the bank's size); others are not bent.
pub fn distort(image: &[u8], side: usize, limits: &Distortion, rng: &mut impl rand::Rng, out: &mut [u8]) {
    assert_eq!(image.len(), side * side);
    assert_eq!(out.len(), side * side);
    let uniform = |rng: &mut dyn rand::Rng, max: f32| {
        if max > 0.0 { rng.random_range(-max..=max) } else { 0.0 }
    };
    let angle = uniform(rng, limits.rotate_degrees).to_radians();
    let scale = 1.0 + uniform(rng, limits.scale);
    let (tx, ty) = (uniform(rng, limits.shift), uniform(rng, limits.shift));
    // Drawn after the affine part, so that rows without it draw as before.
    let bend = (limits.elastic > 0.0 && side == SIDE).then(|| {
        let field = &elastic_bank()[rng.random_range(0..ELASTIC_FIELDS)];
        (field, ONE as f32 * rng.random_range(0.0..=limits.elastic))
    });
    let Some((x_min, x_max, y_min, y_max)) = ink_bounds(image, side) else {
        out.fill(0);
        return;
    };
    let centre = (side as f32 - 1.0) / 2.0;
    let (sin, cos) = angle.sin_cos();
    // The image with a border of PAD black pixels, so that the four neighbours of any sample
    // near the ink are inside it without a bounds check.
    let wide = side + 2 * PAD;
    let (mut on_stack, mut on_heap) = ([0u8; PADDED_MAX], Vec::new());
    let padded = if wide * wide <= PADDED_MAX {
        &mut on_stack[..wide * wide]
    } else {
        // Images larger than 32x32 (none of the known data sets).
        on_heap.resize(wide * wide, 0);
        &mut on_heap[..]
    };
    for (y, row) in image.chunks_exact(side).enumerate() {
        let start = (y + PAD) * wide + PAD;
        padded[start..start + side].copy_from_slice(row);
    }
    // Positions in 16.16 fixed point, shifted by PAD so they are never negative near the ink.
    // Only output pixels whose source lies within a pixel of the ink can be non-zero: the
    // others are written 0 without sampling (MNIST's ink covers about a third of the image).
    let fixed = |v: f32| (v * ONE as f32).round() as i32;
    let pad = PAD as f32;
    let (left, top) = (fixed(x_min as f32 - 1.0 + pad), fixed(y_min as f32 - 1.0 + pad));
    let (width, height) = (
        fixed((x_max - x_min) as f32 + 2.0) as u32,
        fixed((y_max - y_min) as f32 + 2.0) as u32,
    );
    // The source position moves by (cos, -sin) / scale per output pixel along a row.
    let (step_x, step_y) = (fixed(cos / scale), fixed(-sin / scale));
    for y in 0..side {
        let py = y as f32 - centre - ty;
        let px = -centre - tx;
        let mut row_x = fixed((cos * px + sin * py) / scale + centre + pad);
        let mut row_y = fixed((-sin * px + cos * py) / scale + centre + pad);
        for (x, o) in out[y * side..(y + 1) * side].iter_mut().enumerate() {
            let (sx, sy) = (row_x, row_y);
            let (sx, sy) = match bend {
                Some((field, strength)) => {
                    let (dx, dy) = field[y * side + x];
                    (sx + (dx * strength) as i32, sy + (dy * strength) as i32)
                }
                None => (sx, sy),
            };
            // Strictly inside the ink's box grown by a pixel (unsigned: left of it wraps).
            let inside = (sx.wrapping_sub(left).wrapping_sub(1) as u32) < width.wrapping_sub(1)
                && (sy.wrapping_sub(top).wrapping_sub(1) as u32) < height.wrapping_sub(1);
            *o = if inside {
                let (x0, y0) = ((sx >> 16) as usize, (sy >> 16) as usize);
                let (fx, fy) = (((sx >> 8) & 0xFF) as u32, ((sy >> 8) & 0xFF) as u32);
                let at = y0 * wide + x0;
                let (p00, p01) = (u32::from(padded[at]), u32::from(padded[at + 1]));
                let (p10, p11) = (u32::from(padded[at + wide]), u32::from(padded[at + wide + 1]));
                let top_row = p00 * (256 - fx) + p01 * fx;
                let bottom_row = p10 * (256 - fx) + p11 * fx;
                ((top_row * (256 - fy) + bottom_row * fy + (1 << 15)) >> 16) as u8
            } else {
                0
            };
            row_x = row_x.wrapping_add(step_x);
            row_y = row_y.wrapping_add(step_y);
        }
    }
}

/// Black pixels around the image in [`distort`]'s copy.
const PAD: usize = 2;
/// [`distort`]'s copy on the stack: up to 32x32 images with their border.
const PADDED_MAX: usize = (32 + 2 * PAD) * (32 + 2 * PAD);
/// 1.0 in 16.16 fixed point.
const ONE: i32 = 1 << 16;

/// The smallest and largest column and row holding ink, `None` for a blank image.
fn ink_bounds(image: &[u8], side: usize) -> Option<(usize, usize, usize, usize)> {
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for (y, row) in image.chunks_exact(side).enumerate() {
        let (Some(first), Some(last)) = (row.iter().position(|&p| p != 0), row.iter().rposition(|&p| p != 0)) else {
            continue;
        };
        bounds = Some(match bounds {
            None => (first, last, y, y),
            Some((x0, x1, y0, _)) => (x0.min(first), x1.max(last), y0, y),
        });
    }
    bounds
}

/// A random displacement per pixel in [-1, 1], smoothed by a Gaussian of `sigma` and scaled by
/// `alpha`: neighbouring pixels move together, so strokes bend instead of scattering.
fn elastic_field(rng: &mut dyn rand::Rng, alpha: f32, sigma: f32) -> Vec<f32> {
    let noise: Vec<f32> = (0..PIXELS).map(|_| rng.random_range(-1.0..=1.0)).collect();
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|k| (-((k * k) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm: f32 = kernel.iter().sum();
    // Separable blur, zero outside the image.
    let blur = |input: &[f32], horizontal: bool| {
        let mut output = vec![0.0; PIXELS];
        for y in 0..SIDE as isize {
            for x in 0..SIDE as isize {
                let mut sum = 0.0;
                for (k, w) in (-radius..=radius).zip(&kernel) {
                    let (sx, sy) = if horizontal { (x + k, y) } else { (x, y + k) };
                    if (0..SIDE as isize).contains(&sx) && (0..SIDE as isize).contains(&sy) {
                        sum += w * input[sy as usize * SIDE + sx as usize];
                    }
                }
                output[y as usize * SIDE + x as usize] = sum / norm;
            }
        }
        output
    };
    let smooth = blur(&blur(&noise, true), false);
    smooth.into_iter().map(|v| v * alpha).collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// A plus sign centred in the image.
    fn plus() -> Vec<u8> {
        let mut image = vec![0u8; PIXELS];
        for i in 8..20 {
            image[14 * SIDE + i] = 255;
            image[i * SIDE + 14] = 255;
        }
        image
    }

    fn ink(image: &[u8]) -> f32 {
        image.iter().map(|&p| f32::from(p)).sum()
    }

    /// What [`distort`] approximates without bending: every pixel sampled in floating point at
    /// the inverse transform of its position (rotation and scaling about the centre, then the
    /// shift).
    fn float_reference(image: &[u8], side: usize, (angle, scale, tx, ty): (f32, f32, f32, f32), out: &mut [u8]) {
        let centre = (side as f32 - 1.0) / 2.0;
        let (sin, cos) = angle.sin_cos();
        for y in 0..side {
            for x in 0..side {
                let (px, py) = (x as f32 - centre - tx, y as f32 - centre - ty);
                let sx = (cos * px + sin * py) / scale + centre;
                let sy = (-sin * px + cos * py) / scale + centre;
                out[y * side + x] = bilinear(image, side, sx, sy).round().clamp(0.0, 255.0) as u8;
            }
        }
    }

    /// The value of the square image (`side` x `side`) at a fractional position, 0 outside it.
    fn bilinear(image: &[u8], side: usize, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let pixel = |xi: f32, yi: f32| {
            if xi < 0.0 || yi < 0.0 || xi >= side as f32 || yi >= side as f32 {
                0.0
            } else {
                f32::from(image[yi as usize * side + xi as usize])
            }
        };
        let top = pixel(x0, y0) * (1.0 - fx) + pixel(x0 + 1.0, y0) * fx;
        let bottom = pixel(x0, y0 + 1.0) * (1.0 - fx) + pixel(x0 + 1.0, y0 + 1.0) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    #[test]
    fn no_distortion_returns_the_image() {
        let image = plus();
        let mut out = vec![0; PIXELS];
        distort(&image, SIDE, &Distortion::NONE, &mut StdRng::seed_from_u64(1), &mut out);
        assert_eq!(out, image);
    }

    #[test]
    fn a_whole_pixel_shift_moves_the_image() {
        let image = plus();
        let shift_only = Distortion {
            shift: 3.0,
            ..Distortion::NONE
        };
        let mut rng = StdRng::seed_from_u64(7);
        let mut out = vec![0; PIXELS];
        distort(&image, SIDE, &shift_only, &mut rng, &mut out);
        // The drawn shift is fractional; the plus's centre of ink moves by it and the ink stays.
        let (cx, cy) = crate::preprocess::centre_of_mass(&out).unwrap();
        let (x0, y0) = crate::preprocess::centre_of_mass(&image).unwrap();
        assert!((cx - x0).abs() <= 3.01 && (cy - y0).abs() <= 3.01);
        assert!((cx - x0).abs() + (cy - y0).abs() > 0.01, "it moved");
        assert!((ink(&out) - ink(&image)).abs() / ink(&image) < 0.02);
    }

    #[test]
    fn default_distortions_vary_keep_the_ink_and_repeat_for_a_seed() {
        let image = plus();
        let draw = |seed| {
            let mut out = vec![0; PIXELS];
            distort(
                &image,
                SIDE,
                &Distortion::DEFAULT,
                &mut StdRng::seed_from_u64(seed),
                &mut out,
            );
            out
        };
        let (a, b) = (draw(1), draw(2));
        assert_eq!(a, draw(1), "same seed, same image");
        assert_ne!(a, b);
        assert_ne!(a, image);
        for out in [&a, &b] {
            let ratio = ink(out) / ink(&image);
            // Scaling by up to 10% changes the ink by up to ~21%; the elastic field a little more.
            assert!((0.6..1.45).contains(&ratio), "ink ratio {ratio}");
            // Most of the ink still lies near the plus.
            let (cx, cy) = crate::preprocess::centre_of_mass(out).unwrap();
            assert!((cx - 14.0).abs() < 3.5 && (cy - 14.0).abs() < 3.5);
        }
    }

    #[test]
    fn no_distortion_returns_the_image_at_any_side() {
        let image = plus();
        let mut out = vec![0; PIXELS];
        distort(&image, SIDE, &Distortion::NONE, &mut StdRng::seed_from_u64(3), &mut out);
        assert_eq!(out, image);
        let small: Vec<u8> = (0..64).map(|i| (i * 4) as u8).collect();
        let mut out = vec![0; 64];
        distort(&small, 8, &Distortion::NONE, &mut StdRng::seed_from_u64(3), &mut out);
        assert_eq!(out, small);
        // Larger than the stack copy.
        let large: Vec<u8> = (0..40 * 40).map(|i| (i % 251) as u8).collect();
        let mut out = vec![0; 40 * 40];
        distort(&large, 40, &Distortion::NONE, &mut StdRng::seed_from_u64(3), &mut out);
        assert_eq!(out, large);
    }

    #[test]
    fn affine_turns_and_resizes_but_keeps_the_digit_in_place() {
        let image = plus();
        let limits = Distortion {
            rotate_degrees: 15.0,
            scale: 0.15,
            shift: 1.0,
            ..Distortion::NONE
        };
        let draw = |seed| {
            let mut out = vec![0; PIXELS];
            distort(&image, SIDE, &limits, &mut StdRng::seed_from_u64(seed), &mut out);
            out
        };
        let (a, b) = (draw(1), draw(2));
        assert_eq!(a, draw(1), "same seed, same image");
        assert_ne!(a, b);
        for out in [&a, &b] {
            assert_ne!(out, &image);
            // Up to 15% of size either way changes the ink by up to ~32%.
            let ratio = ink(out) / ink(&image);
            assert!((0.6..1.4).contains(&ratio), "ink ratio {ratio}");
            let (cx, cy) = crate::preprocess::centre_of_mass(out).unwrap();
            let (x0, y0) = crate::preprocess::centre_of_mass(&image).unwrap();
            assert!((cx - x0).abs() <= 1.5 && (cy - y0).abs() <= 1.5, "moved to {cx},{cy}");
        }
    }

    #[test]
    fn a_quarter_turn_turns_the_image() {
        // A horizontal bar becomes a vertical one through the centre.
        let mut bar = vec![0u8; PIXELS];
        for x in 4..24 {
            bar[14 * SIDE + x] = 255;
        }
        let turn = Distortion {
            rotate_degrees: 90.0,
            ..Distortion::NONE
        };
        // Draws until the angle is close to +-90 degrees: then the ink lies in a column.
        let mut rng = StdRng::seed_from_u64(0);
        let mut out = vec![0; PIXELS];
        let vertical = (0..200).any(|_| {
            distort(&bar, SIDE, &turn, &mut rng, &mut out);
            let columns = (0..SIDE)
                .filter(|&x| (0..SIDE).any(|y| out[y * SIDE + x] > 128))
                .count();
            let rows = (0..SIDE)
                .filter(|&y| (0..SIDE).any(|x| out[y * SIDE + x] > 128))
                .count();
            columns <= 3 && rows >= 15
        });
        assert!(vertical);
    }

    #[test]
    fn fixed_point_sampling_near_the_ink_matches_floating_point() {
        // The bounds check skips pixels whose four neighbours are all black, and the fixed-point
        // bilinear sampling rounds its weights to 1/256: the output is within 2 levels of
        // sampling every pixel in floating point.
        let mut image = plus();
        for (i, p) in image.iter_mut().enumerate() {
            if *p != 0 {
                *p = 60 + (i * 7 % 190) as u8;
            }
        }
        assert_eq!(ink_bounds(&image, SIDE), Some((8, 19, 8, 19)));
        assert_eq!(ink_bounds(&[0; PIXELS], SIDE), None);
        let limits = Distortion {
            rotate_degrees: 15.0,
            scale: 0.15,
            shift: 2.0,
            ..Distortion::NONE
        };
        let mut differing = 0;
        for seed in 0..20 {
            let mut out = vec![0; PIXELS];
            distort(&image, SIDE, &limits, &mut StdRng::seed_from_u64(seed), &mut out);
            let mut rng = StdRng::seed_from_u64(seed);
            let angle = rng.random_range(-15.0f32..=15.0).to_radians();
            let scale = 1.0 + rng.random_range(-0.15f32..=0.15);
            let (tx, ty) = (rng.random_range(-2.0f32..=2.0), rng.random_range(-2.0f32..=2.0));
            let mut everywhere = vec![0; PIXELS];
            float_reference(&image, SIDE, (angle, scale, tx, ty), &mut everywhere);
            for (i, (&a, &b)) in out.iter().zip(&everywhere).enumerate() {
                assert!(a.abs_diff(b) <= 2, "seed {seed} at {i}: {a} against {b}");
                differing += usize::from(a != b);
            }
        }
        // Mostly the same value.
        assert!(differing < 20 * PIXELS / 20, "{differing} differ");
    }

    #[test]
    fn images_larger_than_the_stack_copy_are_sampled_the_same_way() {
        // 40x40, beyond the 32x32 copy on the stack: the same fixed-point sampling, unbent,
        // within 2 levels of floating point.
        let side = 40;
        let image: Vec<u8> = (0..side * side)
            .map(|i| {
                let (x, y) = (i % side, i / side);
                if (10..30).contains(&x) && (10..30).contains(&y) {
                    40 + (i * 7 % 200) as u8
                } else {
                    0
                }
            })
            .collect();
        let limits = Distortion {
            rotate_degrees: 15.0,
            scale: 0.15,
            shift: 2.0,
            elastic: 2.0,
        };
        for seed in 0..5 {
            let mut out = vec![0; side * side];
            distort(&image, side, &limits, &mut StdRng::seed_from_u64(seed), &mut out);
            let mut rng = StdRng::seed_from_u64(seed);
            let angle = rng.random_range(-15.0f32..=15.0).to_radians();
            let scale = 1.0 + rng.random_range(-0.15f32..=0.15);
            let (tx, ty) = (rng.random_range(-2.0f32..=2.0), rng.random_range(-2.0f32..=2.0));
            let mut everywhere = vec![0; side * side];
            float_reference(&image, side, (angle, scale, tx, ty), &mut everywhere);
            assert_ne!(out, image);
            for (i, (&a, &b)) in out.iter().zip(&everywhere).enumerate() {
                assert!(a.abs_diff(b) <= 2, "seed {seed} at {i}: {a} against {b}");
            }
        }
    }

    #[test]
    fn elastic_bending_moves_pixels_but_keeps_the_digit() {
        let image = plus();
        let bend = Distortion {
            elastic: 2.0,
            ..Distortion::NONE
        };
        let draw = |limits: &Distortion, seed| {
            let mut out = vec![0; PIXELS];
            distort(&image, SIDE, limits, &mut StdRng::seed_from_u64(seed), &mut out);
            out
        };
        let (a, b) = (draw(&bend, 1), draw(&bend, 2));
        assert_eq!(a, draw(&bend, 1), "same seed, same image");
        assert_ne!(a, b);
        for out in [&a, &b] {
            assert_ne!(out, &image);
            let ratio = ink(out) / ink(&image);
            assert!((0.7..1.3).contains(&ratio), "ink ratio {ratio}");
            let (cx, cy) = crate::preprocess::centre_of_mass(out).unwrap();
            let (x0, y0) = crate::preprocess::centre_of_mass(&image).unwrap();
            assert!((cx - x0).abs() <= 1.5 && (cy - y0).abs() <= 1.5, "moved to {cx},{cy}");
        }
        // The bank's fields have a root mean square displacement of one pixel.
        for field in &elastic_bank()[..4] {
            let rms = (field.iter().map(|(x, y)| x * x + y * y).sum::<f32>() / PIXELS as f32).sqrt();
            assert!((rms - 1.0).abs() < 1e-3, "{rms}");
        }
        // Without bending the affine part draws as before.
        let turn = Distortion {
            rotate_degrees: 10.0,
            ..Distortion::NONE
        };
        assert_ne!(draw(&turn, 3), draw(&Distortion { elastic: 1.0, ..turn }, 3));
        let mut rng = StdRng::seed_from_u64(3);
        let mut out = vec![0; PIXELS];
        distort(&image, SIDE, &turn, &mut rng, &mut out);
        let next = rng.random::<u64>();
        let mut rng = StdRng::seed_from_u64(3);
        let angle = rng.random_range(-10.0f32..=10.0);
        assert!(angle.abs() <= 10.0);
        assert_eq!(rng.random::<u64>(), next, "one draw for the angle only");
    }
}
