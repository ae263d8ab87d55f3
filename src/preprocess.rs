//! Turning a picture of a digit into what the network was trained on, the way MNIST was made:
//! gray, white ink on black; cropped to the ink's bounding box; scaled (keeping the aspect ratio,
//! anti-aliased) so the longer side is 20 pixels; pasted into 28x28 with the intensity-weighted
//! centre of mass at the centre. `classify` and the app's drawing canvas share this code.

use std::fmt;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader, Limits};
use thiserror::Error;

use crate::data::{PIXELS, SIDE};

/// The digit's longer side after scaling, as in MNIST.
const BOX: u32 = 20;
/// Where the centre of mass goes, in pixel-index coordinates: (14, 14), measured on the Kaggle rows.
const CENTRE: f32 = 14.0;
/// Largest accepted image side; a bigger (or decompression-bomb) image is refused.
pub const MAX_SIDE: u32 = 12_000;
/// Largest accepted number of pixels (a 50 MP phone photo; 200 MB as RGBA).
pub const MAX_PIXELS: u64 = 50_000_000;
/// Largest allocation the decoder may make.
const MAX_DECODE_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PreprocessError {
    /// The picture is blank or uniform: nothing to classify.
    #[error("no digit found (the picture is blank or has no contrast)")]
    NoDigit,
    /// The file could not be read or decoded: the whole message, naming the file.
    #[error("{0}")]
    Image(String),
}

/// Reads a PNG or JPEG with size limits, so that a huge image or a decompression bomb (a small
/// file claiming a huge picture) is refused from its header, before it is decoded.
pub fn load_image(path: &Path) -> Result<DynamicImage, PreprocessError> {
    let name = path.display();
    // Decoder messages may span lines; the user gets one line per picture.
    let fail = |e: &dyn fmt::Display| {
        let text = e.to_string();
        PreprocessError::Image(format!("{name}: {}", text.trim().replace('\n', "; ")))
    };
    let mut reader = ImageReader::open(path)
        .map_err(|e| fail(&e))?
        .with_guessed_format()
        .map_err(|e| fail(&e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| fail(&e))?;
    // The side limit alone still lets a 12,000 x 12,000 picture through (432 MB as RGB, and
    // several times that while preprocessing): the pixel count is limited too.
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PreprocessError::Image(format!(
            "{name}: {width} x {height} pixels is larger than the limit of {} megapixels",
            MAX_PIXELS / 1_000_000
        )));
    }
    DynamicImage::from_decoder(decoder).map_err(|e| fail(&e))
}

/// A preprocessed 28x28 image scaled to `side x side` (anti-aliased), for models of other data
/// sets (32x32, 64x64); the same image when `side` is 28.
pub fn resize_to_side(image: &[u8; PIXELS], side: usize) -> Vec<u8> {
    if side == SIDE {
        return image.to_vec();
    }
    let small = GrayImage::from_raw(SIDE as u32, SIDE as u32, image.to_vec()).expect("28x28 image");
    imageops::resize(&small, side as u32, side as u32, FilterType::Triangle).into_raw()
}

/// Preprocesses a decoded picture of any size, polarity and colour (with or without alpha).
pub fn preprocess_image(image: &DynamicImage) -> Result<[u8; PIXELS], PreprocessError> {
    let rgba = image.to_luma_alpha8();
    let (width, height) = rgba.dimensions();
    // Transparent pixels get a background opposite to the ink's own colour, so a drawing whose
    // strokes live only in the alpha channel (dark or light strokes) keeps its contrast.
    let (mut ink_sum, mut ink_weight) = (0.0f64, 0.0f64);
    for p in rgba.pixels() {
        let alpha = f64::from(p.0[1]) / 255.0;
        ink_sum += f64::from(p.0[0]) * alpha;
        ink_weight += alpha;
    }
    let ink_is_dark = ink_weight == 0.0 || ink_sum / ink_weight < 128.0;
    let background = if ink_is_dark { 255.0 } else { 0.0 };
    let gray: Vec<u8> = rgba
        .pixels()
        .map(|p| {
            let alpha = f32::from(p.0[1]) / 255.0;
            (f32::from(p.0[0]) * alpha + background * (1.0 - alpha)).round() as u8
        })
        .collect();
    preprocess_gray(width, height, &gray)
}

/// Preprocesses an 8-bit gray picture (`width * height` values, row-major), either polarity.
pub fn preprocess_gray(width: u32, height: u32, gray: &[u8]) -> Result<[u8; PIXELS], PreprocessError> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || gray.len() != w * h {
        return Err(PreprocessError::NoDigit);
    }
    // Polarity from the border: a light border means dark ink on a light background.
    let mut border: Vec<u8> = (0..w).flat_map(|x| [gray[x], gray[(h - 1) * w + x]]).collect();
    border.extend((0..h).flat_map(|y| [gray[y * w], gray[y * w + w - 1]]));
    border.sort_unstable();
    let invert = border[border.len() / 2] > 127;
    let background = if invert {
        255 - border[border.len() / 2]
    } else {
        border[border.len() / 2]
    };
    let ink_of = |v: u8| if invert { 255 - v } else { v };
    let peak = gray.iter().map(|&v| ink_of(v)).max().unwrap_or(0);
    // Too little contrast between ink and background: nothing is drawn.
    if peak < background.saturating_add(32) {
        return Err(PreprocessError::NoDigit);
    }
    // Ink relative to the background, stretched to 0..=255; faint noise is cut.
    let range = f32::from(peak - background);
    let threshold = 0.1 * 255.0;
    let ink: Vec<u8> = gray
        .iter()
        .map(|&v| {
            let value = (f32::from(ink_of(v).saturating_sub(background)) * 255.0 / range).min(255.0);
            if value < threshold { 0 } else { value.round() as u8 }
        })
        .collect();

    // Bounding box of the ink.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if ink[y * w + x] > 0 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 > x1 {
        return Err(PreprocessError::NoDigit);
    }
    let (crop_w, crop_h) = ((x1 - x0 + 1) as u32, (y1 - y0 + 1) as u32);
    let cropped = GrayImage::from_fn(crop_w, crop_h, |x, y| {
        image::Luma([ink[(y0 + y as usize) * w + x0 + x as usize]])
    });

    // Longer side to 20 pixels, aspect ratio kept; the triangle filter widens with the scale
    // factor when shrinking, which anti-aliases.
    let scale = BOX as f32 / crop_w.max(crop_h) as f32;
    let new_w = ((crop_w as f32 * scale).round() as u32).clamp(1, BOX);
    let new_h = ((crop_h as f32 * scale).round() as u32).clamp(1, BOX);
    let scaled = imageops::resize(&cropped, new_w, new_h, FilterType::Triangle);

    // Paste so that the centre of mass lands on the centre of the 28x28 field.
    let (cx, cy) = mass_centre(scaled.width() as usize, scaled.as_raw()).ok_or(PreprocessError::NoDigit)?;
    let offset_x = (CENTRE - cx).round() as i32;
    let offset_y = (CENTRE - cy).round() as i32;
    let mut out = [0u8; PIXELS];
    for (x, y, p) in scaled.enumerate_pixels() {
        let (tx, ty) = (x as i32 + offset_x, y as i32 + offset_y);
        if (0..SIDE as i32).contains(&tx) && (0..SIDE as i32).contains(&ty) {
            out[ty as usize * SIDE + tx as usize] = p.0[0];
        }
    }
    Ok(out)
}

/// Centre of mass `(x, y)` of a 28x28 image, in pixel-index coordinates.
pub fn centre_of_mass(image: &[u8]) -> Option<(f32, f32)> {
    mass_centre(SIDE, image)
}

/// Intensity-weighted centre `(x, y)` of a row-major image `width` pixels wide; None if blank.
fn mass_centre(width: usize, pixels: &[u8]) -> Option<(f32, f32)> {
    let (mut mass, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
    for (i, &v) in pixels.iter().enumerate() {
        let v = f32::from(v);
        mass += v;
        mx += v * (i % width) as f32;
        my += v * (i / width) as f32;
    }
    (mass > 0.0).then(|| (mx / mass, my / mass))
}

/// Renders a 28x28 image large (`scale` pixels per pixel, bilinear) at `(left, top)` on a
/// `width x height` canvas, optionally dark-on-light: how tests make "drawings" of dev rows.
pub fn render_large(
    image: &[u8],
    scale: u32,
    width: u32,
    height: u32,
    left: u32,
    top: u32,
    dark_on_light: bool,
) -> GrayImage {
    let small = GrayImage::from_raw(SIDE as u32, SIDE as u32, image.to_vec()).expect("28x28 image");
    let big = imageops::resize(&small, SIDE as u32 * scale, SIDE as u32 * scale, FilterType::Triangle);
    let mut canvas = GrayImage::new(width, height);
    imageops::overlay(&mut canvas, &big, i64::from(left), i64::from(top));
    if dark_on_light {
        imageops::invert(&mut canvas);
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 28x28 "digit": a thick ring, centred.
    fn ring() -> Vec<u8> {
        (0..PIXELS)
            .map(|i| {
                let (x, y) = ((i % SIDE) as f32 - 13.5, (i / SIDE) as f32 - 13.5);
                let r = (x * x + y * y).sqrt();
                if (5.0..9.0).contains(&r) { 255 } else { 0 }
            })
            .collect()
    }

    fn close(a: &[u8], b: &[u8]) -> f32 {
        let diff: f32 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f32::from(x) - f32::from(y)).abs())
            .sum();
        diff / b.iter().map(|&v| f32::from(v)).sum::<f32>()
    }

    #[test]
    fn shifted_scaled_inverted_digit_comes_out_centred() {
        let reference = preprocess_gray(28, 28, &ring()).unwrap();
        let (cx, cy) = centre_of_mass(&reference).unwrap();
        assert!((cx - CENTRE).abs() <= 0.5 && (cy - CENTRE).abs() <= 0.5);
        for (scale, left, top, dark) in [
            (10, 0, 0, false),
            (7, 300, 40, true),
            (3, 5, 200, true),
            (20, 37, 11, false),
        ] {
            let big = render_large(&ring(), scale, 600, 600, left, top, dark);
            let out = preprocess_gray(600, 600, big.as_raw()).unwrap();
            let (cx, cy) = centre_of_mass(&out).unwrap();
            assert!((cx - CENTRE).abs() <= 0.5 && (cy - CENTRE).abs() <= 0.5, "({cx}, {cy})");
            assert!(
                close(&out, &reference) < 0.2,
                "scale {scale}: {}",
                close(&out, &reference)
            );
        }
    }

    #[test]
    fn blank_pictures_have_no_digit() {
        assert_eq!(preprocess_gray(50, 50, &[255; 2500]), Err(PreprocessError::NoDigit));
        assert_eq!(preprocess_gray(50, 50, &[0; 2500]), Err(PreprocessError::NoDigit));
        assert_eq!(preprocess_gray(1, 1, &[0]), Err(PreprocessError::NoDigit));
        assert_eq!(preprocess_gray(0, 0, &[]), Err(PreprocessError::NoDigit));
    }

    #[test]
    fn alpha_only_strokes_are_ink() {
        let ring = ring();
        for ink in [0u8, 255] {
            let rgba = image::RgbaImage::from_fn(280, 280, |x, y| {
                let v = ring[(y / 10) as usize * SIDE + (x / 10) as usize];
                image::Rgba([ink, ink, ink, v])
            });
            let out = preprocess_image(&DynamicImage::ImageRgba8(rgba)).unwrap();
            assert!(close(&out, &preprocess_gray(28, 28, &ring).unwrap()) < 0.2);
        }
    }
}
