//! Issue 5, hostile model files and images: corrupted, truncated and hand-edited safetensors
//! files; empty, corrupt, tiny, blank, huge, bomb, 16-bit, palette and alpha-only pictures.
//! Each gives a clear error naming the file (or a correct result), never a panic, and never
//! allocates gigabytes because a header says so.

use crate::common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use digit_recognizer::embedded;
use digit_recognizer::model_file::{self, ModelInfo};
use digit_recognizer::network::{Init, Mlp};
use digit_recognizer::preprocess::{self, PreprocessError, load_image, preprocess_gray, preprocess_image};
use image::{DynamicImage, GrayImage, ImageBuffer, Luma, LumaA, Rgba};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

const NAME: &str = "hostile.safetensors";

fn small_model() -> Mlp {
    Mlp::new(&[784, 3, 10], Init::He, 7)
}

fn model_bytes() -> Vec<u8> {
    model_file::to_bytes(&small_model(), &ModelInfo::default())
}

fn model_error(bytes: &[u8]) -> String {
    let e = model_file::from_bytes(NAME, bytes)
        .expect_err("must be refused")
        .to_string();
    assert!(e.starts_with(NAME), "error does not name the file: {e}");
    assert!(!e.contains('\n'), "one line: {e:?}");
    e
}

/// A safetensors file written by hand: 8-byte header length, JSON header, data.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A header for tensors `(name, dtype, shape, byte length)` laid out one after another.
fn header(metadata: &str, tensors: &[(&str, &str, Vec<u64>, u64)]) -> String {
    let mut parts = vec![format!("\"__metadata__\":{metadata}")];
    let mut offset = 0;
    for (name, dtype, shape, len) in tensors {
        parts.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{offset},{}]}}",
            offset + len
        ));
        offset += len;
    }
    format!("{{{}}}", parts.join(","))
}

const META: &str = r#"{"format":"digit-recognizer-mlp","format_version":"1","layers":"784,3,10"}"#;

/// The tensors of a 784-3-10 model in f32.
fn tensors_f32() -> Vec<(&'static str, &'static str, Vec<u64>, u64)> {
    vec![
        ("W1", "F32", vec![3, 784], 3 * 784 * 4),
        ("b1", "F32", vec![3], 12),
        ("W2", "F32", vec![10, 3], 120),
        ("b2", "F32", vec![10], 40),
    ]
}

fn data_for(tensors: &[(&str, &str, Vec<u64>, u64)]) -> Vec<u8> {
    vec![0u8; tensors.iter().map(|t| t.3).sum::<u64>() as usize]
}

/// Distinct f32 values for every element of `tensors` (all F32), in file order: element `k` of
/// the file holds `k as f32 / 1000`.
fn counting_f32(tensors: &[(&str, &str, Vec<u64>, u64)]) -> Vec<u8> {
    let elements = tensors.iter().map(|t| t.3 / 4).sum::<u64>();
    (0..elements).flat_map(|k| (k as f32 / 1000.0).to_le_bytes()).collect()
}

/// Checks `model` holds [`counting_f32`]'s values for [`tensors_f32`]: `W{k}` stored as
/// `(outputs, inputs)` row-major, held as `w[(input, output)]`.
fn assert_counting_values(model: &Mlp) {
    assert_eq!(model.sizes(), vec![784, 3, 10]);
    let mut k = 0u64;
    for layer in &model.layers {
        let (inputs, outputs) = (layer.inputs(), layer.outputs());
        for output in 0..outputs {
            for input in 0..inputs {
                assert_eq!(layer.w[(input, output)], k as f32 / 1000.0, "w[({input}, {output})]");
                k += 1;
            }
        }
        for output in 0..outputs {
            assert_eq!(layer.b[output], k as f32 / 1000.0, "b[{output}]");
            k += 1;
        }
    }
}

#[test]
fn hand_made_model_files_are_read_like_written_ones() {
    // Guards the helpers, and reads a file as Python would write it: no activation or output
    // metadata (they default to the only ones there are), every value where it belongs.
    let t = tensors_f32();
    let (model, info) = model_file::from_bytes(NAME, &raw(&header(META, &t), &counting_f32(&t))).unwrap();
    assert_counting_values(&model);
    assert_eq!(info, ModelInfo::default());
    let explicit = META.replace('}', r#","activation":"relu","output":"softmax"}"#);
    let (same, _) = model_file::from_bytes(NAME, &raw(&header(&explicit, &t), &counting_f32(&t))).unwrap();
    assert_eq!(same, model);
}

#[test]
fn truncated_model_files_are_refused_at_every_length() {
    let good = model_bytes();
    model_file::from_bytes(NAME, &good).unwrap();
    for len in 0..good.len() {
        let e = model_error(&good[..len]);
        assert!(e.contains("not a valid digit-recognizer model"), "{len}: {e}");
    }
}

#[test]
fn corrupted_model_files_never_panic() {
    let good = model_bytes();
    let mut runner = TestRunner::new(common::proptest_config(
        3000,
        "hostile_files",
        Some(common::PROPTEST_SEED),
    ));
    let flips = prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..6);
    runner
        .run(&flips, |flips| {
            let mut bytes = good.clone();
            for (at, x) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= x;
            }
            match model_file::from_bytes(NAME, &bytes) {
                // A flip inside the weights may leave a valid file; it must still be a model.
                Ok((model, _)) => {
                    prop_assert!(model.is_finite());
                    let sizes = model.sizes();
                    prop_assert_eq!((sizes[0], sizes[sizes.len() - 1]), (784, 10));
                }
                Err(e) => prop_assert!(e.to_string().starts_with(NAME), "{}", e),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn hand_edited_model_files_are_clear_errors() {
    let t = tensors_f32();
    let data = data_for(&t);
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();

    // Wrong shapes: W1 transposed, a bias too long, metadata disagreeing with the tensors.
    let mut transposed = t.clone();
    transposed[0].2 = vec![784, 3];
    cases.push(("transposed W1", raw(&header(META, &transposed), &data), "shape"));
    let mut long_bias = t.clone();
    long_bias[1] = ("b1", "F32", vec![4], 16);
    cases.push((
        "bias too long",
        raw(&header(META, &long_bias), &data_for(&long_bias)),
        "shape",
    ));
    let other_layers = META.replace("784,3,10", "784,4,10");
    cases.push(("layers disagree", raw(&header(&other_layers, &t), &data), "shape"));
    let wrong_input = META.replace("784,3,10", "785,3,10");
    cases.push(("785 inputs", raw(&header(&wrong_input, &t), &data), "784"));
    let no_layers = META.replace(r#","layers":"784,3,10""#, "");
    cases.push(("no layers", raw(&header(&no_layers, &t), &data), "layers"));
    let bad_layers = META.replace("784,3,10", "784,-3,10");
    cases.push(("negative layer", raw(&header(&bad_layers, &t), &data), "layers"));
    let zero_layer = META.replace("784,3,10", "784,0,10");
    cases.push(("zero layer", raw(&header(&zero_layer, &t), &data), "layers"));
    let giant_layer = META.replace("784,3,10", "784,99999999999999999999,10");
    cases.push(("giant layer", raw(&header(&giant_layer, &t), &data), "layers"));

    // Wrong dtypes, with byte lengths that fit the dtype.
    for (dtype, size) in [("F64", 8u64), ("F16", 2), ("BF16", 2), ("I32", 4), ("U8", 1)] {
        let mut typed = t.clone();
        for tensor in &mut typed {
            tensor.1 = dtype;
            tensor.3 = tensor.2.iter().product::<u64>() * size;
        }
        cases.push((dtype, raw(&header(META, &typed), &data_for(&typed)), dtype));
    }

    // Missing, renamed and extra tensors.
    let missing = t[..3].to_vec();
    cases.push((
        "b2 missing",
        raw(&header(META, &missing), &data_for(&missing)),
        "tensors",
    ));
    let mut renamed = t.clone();
    renamed[3].0 = "c2";
    cases.push(("b2 renamed", raw(&header(META, &renamed), &data), "b2"));
    let mut extra = t.clone();
    extra.push(("W3", "F32", vec![10, 10], 400));
    cases.push(("extra tensor", raw(&header(META, &extra), &data_for(&extra)), "tensors"));

    // Another network than the one this program computes.
    for (key, value) in [
        ("activation", "tanh"),
        ("activation", "sigmoid"),
        ("output", "sigmoid"),
        ("output", "linear"),
    ] {
        let other = META.replace('}', &format!(r#","{key}":"{value}"}}"#));
        cases.push(("other network", raw(&header(&other, &t), &data), key));
    }

    // Not our format, or a future version.
    let foreign = META.replace("digit-recognizer-mlp", "pytorch");
    cases.push(("other format", raw(&header(&foreign, &t), &data), "format"));
    let future = META.replace(r#""format_version":"1""#, r#""format_version":"2""#);
    cases.push(("version 2", raw(&header(&future, &t), &data), "version"));
    cases.push(("no metadata", raw(&header("{}", &t), &data), "format"));

    // Headers and offsets claiming gigabytes, or shapes whose size overflows.
    let mut claims = raw(&header(META, &t), &data);
    claims[..8].copy_from_slice(&(5u64 << 30).to_le_bytes());
    cases.push(("header length 5 GB", claims, "safetensors"));
    let mut max = raw(&header(META, &t), &data);
    max[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("header length u64::MAX", max, "safetensors"));
    let mut huge = t.clone();
    huge[0] = ("W1", "F32", vec![3, 784], 4 << 30);
    cases.push(("offsets 4 GB", raw(&header(META, &huge), &data), "safetensors"));
    let mut overflow = t.clone();
    overflow[0].2 = vec![1 << 40, 1 << 40, 1 << 40];
    cases.push(("shape overflows", raw(&header(META, &overflow), &data), "safetensors"));
    cases.push(("header not JSON", raw("{\"__metadata__\": nope", &data), "safetensors"));
    cases.push(("header not UTF-8", raw("{\"\u{0}\u{1}\"}", &data), "safetensors"));
    let mut latin1 = raw(&header(META, &t), &data);
    latin1[10] = 0xff;
    cases.push(("invalid UTF-8", latin1, "safetensors"));

    // Values that are not numbers.
    for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for layer in 0..2 {
            let mut model = small_model();
            model.layers[layer].w[(1, 2)] = value;
            let bytes = model_file::to_bytes(&model, &ModelInfo::default());
            cases.push(("non-finite weight", bytes, "NaN or infinite"));
            let mut model = small_model();
            model.layers[layer].b[2] = value;
            cases.push((
                "non-finite bias",
                model_file::to_bytes(&model, &ModelInfo::default()),
                "NaN or infinite",
            ));
        }
    }

    for (what, bytes, says) in cases {
        let e = model_error(&bytes);
        assert!(e.contains(says), "{what}: {e}");
    }
}

#[test]
fn broken_config_metadata_is_ignored_not_trusted() {
    // The training config in the metadata is informative: garbage there loses only the info.
    let meta = META.replace(
        '}',
        r#","config":"{\"hidden\": [1e999, \"x\"]","preset":"\u0000","dev_accuracy":"lots"}"#,
    );
    let t = tensors_f32();
    let (model, info) = model_file::from_bytes(NAME, &raw(&header(&meta, &t), &counting_f32(&t))).unwrap();
    assert_counting_values(&model);
    assert!(info.config.is_none());
    assert_eq!(info.dev_accuracy, None);
    // The preset is only shown; it is kept as written.
    assert_eq!(info.preset.as_deref(), Some("\0"));
}

#[test]
fn model_load_refuses_huge_files_and_folders_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    // A sparse 3 GB file: refused from its size, not read into memory.
    let big = dir.path().join("big.safetensors");
    std::fs::File::create(&big).unwrap().set_len(3 << 30).unwrap();
    let start = std::time::Instant::now();
    let e = model_file::load(&big).unwrap_err().to_string();
    assert!(e.contains("big.safetensors") && e.contains("larger than"), "{e}");
    assert!(start.elapsed().as_secs_f64() < 1.0);
    let e = model_file::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains(&dir.path().display().to_string()), "{e}");
    let e = model_file::load(&dir.path().join("missing.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.safetensors"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Images.

fn image_error(path: &Path) -> String {
    let e = load_image(path)
        .and_then(|img| preprocess_image(&img))
        .expect_err("must be refused")
        .to_string();
    assert!(!e.contains('\n'), "{e:?}");
    e
}

/// A PNG made chunk by chunk (for colour types and sizes the encoder will not write).
fn png(ihdr: (u32, u32, u8, u8), extra: &[(&[u8; 4], Vec<u8>)], raw_rows: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let (width, height, depth, colour) = ihdr;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, colour, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    for (kind, data) in extra {
        chunk(&mut out, kind, data);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(raw_rows).unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

fn sample_row(row: usize) -> Vec<u8> {
    embedded::sample().unwrap().image(row).to_vec()
}

/// Mean absolute difference relative to the reference's total ink.
fn distance(a: &[u8], b: &[u8]) -> f32 {
    let diff: f32 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f32::from(x) - f32::from(y)).abs())
        .sum();
    diff / b.iter().map(|&v| f32::from(v)).sum::<f32>()
}

#[test]
fn empty_and_corrupt_images_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let digit = preprocess::render_large(&sample_row(0), 5, 200, 160, 30, 10, true);
    let mut good_png = Vec::new();
    DynamicImage::ImageLuma8(digit.clone())
        .write_to(&mut std::io::Cursor::new(&mut good_png), image::ImageFormat::Png)
        .unwrap();
    let mut good_jpeg = Vec::new();
    DynamicImage::ImageLuma8(digit)
        .write_to(&mut std::io::Cursor::new(&mut good_jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    let mut flipped = good_png.clone();
    let idat = flipped.windows(4).position(|w| w == b"IDAT").unwrap();
    flipped[idat + 20] ^= 0x5a;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.png", Vec::new()),
        ("empty.jpg", Vec::new()),
        ("text.png", b"this is not a picture".to_vec()),
        ("magic-only.png", good_png[..8].to_vec()),
        ("header-only.png", good_png[..33].to_vec()),
        ("half.png", good_png[..good_png.len() / 2].to_vec()),
        ("flipped.png", flipped),
        ("magic-only.jpg", good_jpeg[..3].to_vec()),
        ("header-only.jpg", good_jpeg[..good_jpeg.len().min(200)].to_vec()),
        ("png-named.jpg", good_png[..good_png.len() / 3].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = common::write(dir.path(), name, &bytes);
        let e = image_error(&path);
        assert!(e.contains(name) || e.contains("no digit found"), "{name}: {e}");
    }
    let e = image_error(&dir.path().join("missing.png"));
    assert!(e.contains("missing.png"), "{e}");
    // A truncated JPEG may still decode (gray where data is missing): that is an answer, not a
    // crash. Either it decodes to the picture's size, or the error names the file.
    let path = common::write(dir.path(), "cut.jpg", &good_jpeg[..good_jpeg.len() * 2 / 3]);
    match load_image(&path) {
        Ok(img) => {
            assert_eq!((img.width(), img.height()), (200, 160));
            match preprocess_image(&img) {
                Ok(pixels) => assert!(pixels.iter().any(|&v| v > 0)),
                Err(e) => assert_eq!(e, PreprocessError::NoDigit),
            }
        }
        Err(e) => assert!(e.to_string().contains("cut.jpg"), "{e}"),
    }
}

#[test]
fn blank_and_tiny_pictures_have_no_digit() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, DynamicImage)> = vec![
        ("one-black.png", DynamicImage::ImageLuma8(GrayImage::new(1, 1))),
        (
            "one-white.png",
            DynamicImage::ImageLuma8(GrayImage::from_pixel(1, 1, Luma([255]))),
        ),
        (
            "white.png",
            DynamicImage::ImageLuma8(GrayImage::from_pixel(300, 200, Luma([255]))),
        ),
        ("black.png", DynamicImage::ImageLuma8(GrayImage::new(200, 300))),
        (
            "gray.png",
            DynamicImage::ImageLuma8(GrayImage::from_pixel(50, 50, Luma([128]))),
        ),
        (
            "transparent.png",
            DynamicImage::ImageRgba8(ImageBuffer::from_pixel(64, 64, Rgba([0, 0, 0, 0]))),
        ),
        (
            "white-opaque.png",
            DynamicImage::ImageRgba8(ImageBuffer::from_pixel(64, 64, Rgba([255; 4]))),
        ),
        (
            "one-by-tall.png",
            DynamicImage::ImageLuma8(GrayImage::from_pixel(1, 500, Luma([255]))),
        ),
        // A faint smudge on white: under the contrast needed to call it ink.
        (
            "faint.png",
            DynamicImage::ImageLuma8(GrayImage::from_fn(100, 100, |x, y| {
                Luma([if (40..60).contains(&x) && (40..60).contains(&y) {
                    240
                } else {
                    255
                }])
            })),
        ),
    ];
    for (name, picture) in cases {
        let path = dir.path().join(name);
        picture.save(&path).unwrap();
        let e = image_error(&path);
        assert!(e.contains("no digit found"), "{name}: {e}");
    }
    // Directly too: zero-sized and mis-sized buffers.
    assert_eq!(preprocess_gray(0, 5, &[]), Err(PreprocessError::NoDigit));
    assert_eq!(preprocess_gray(5, 5, &[255; 3]), Err(PreprocessError::NoDigit));
    // A single ink pixel is a (tiny) drawing: it is centred, not divided by zero.
    let mut dot = vec![0u8; 100 * 100];
    dot[4321] = 255;
    let out = preprocess_gray(100, 100, &dot).unwrap();
    let (x, y) = ink_centre(&out);
    assert!(
        (x - 14.0).abs() <= 1.0 && (y - 14.0).abs() <= 1.0,
        "dot centred at ({x}, {y})"
    );
    // A full-width line, 1 pixel tall: extreme aspect ratio. It becomes a bar 20 pixels wide
    // (the longer side, as in MNIST), a pixel or two tall, centred.
    let line: Vec<u8> = (0..2000 * 3).map(|i| if i / 2000 == 1 { 255 } else { 0 }).collect();
    let out = preprocess_gray(2000, 3, &line).unwrap();
    let rows_with_ink: Vec<usize> = (0..28)
        .filter(|r| out[r * 28..(r + 1) * 28].iter().any(|&v| v > 0))
        .collect();
    assert!(
        (1..=2).contains(&rows_with_ink.len()),
        "rows with ink: {rows_with_ink:?}"
    );
    let columns_with_ink = (0..28).filter(|&c| (0..28).any(|r| out[r * 28 + c] > 0)).count();
    assert!(
        (19..=21).contains(&columns_with_ink),
        "{columns_with_ink} columns of ink"
    );
    let (x, y) = ink_centre(&out);
    assert!(
        (x - 14.0).abs() <= 1.0 && (y - 14.0).abs() <= 1.0,
        "bar centred at ({x}, {y})"
    );
}

/// The intensity-weighted centre `(x, y)` of a 28 x 28 image, in pixel-index coordinates.
fn ink_centre(pixels: &[u8]) -> (f32, f32) {
    let (mut sum, mut x, mut y) = (0.0, 0.0, 0.0);
    for (i, &v) in pixels.iter().enumerate() {
        let v = f32::from(v);
        sum += v;
        x += v * (i % 28) as f32;
        y += v * (i / 28) as f32;
    }
    (x / sum, y / sum)
}

/// Keeps an image within the limits: a tiny file whose header claims a huge picture is
/// refused from the header, before anything is allocated.
#[test]
fn huge_dimensions_are_refused_from_the_header() {
    let dir = tempfile::tempdir().unwrap();
    for (name, width, height) in [
        ("wide.png", 20_000u32, 1u32),
        ("square.png", 20_000, 20_000),
        ("tall.png", 1, 4_000_000),
        ("max.png", u32::MAX >> 1, u32::MAX >> 1),
    ] {
        // Only one row of real data: the decoder must refuse before wanting the rest.
        let bytes = png((width, height, 8, 0), &[], &vec![0u8; width.min(20_001) as usize + 1]);
        let path = common::write(dir.path(), name, &bytes);
        let start = std::time::Instant::now();
        let e = image_error(&path);
        assert!(e.contains(name), "{name}: {e}");
        assert!(e.contains("limit") || e.contains("large"), "{name}: {e}");
        assert!(start.elapsed().as_secs_f64() < 2.0, "{name}: {:?}", start.elapsed());
    }
}

/// A PNG of `width x height` black pixels of `channels` 8-bit channels, compressed as far as
/// deflate goes (about 1000:1): a decompression bomb.
fn bomb(width: usize, height: usize, channels: u8) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; width * channels as usize + 1];
    for _ in 0..height {
        z.write_all(&row).unwrap();
    }
    let idat = z.finish().unwrap();
    let colour = match channels {
        1 => 0,
        3 => 2,
        _ => 6,
    };
    // The same chunk layout as `png`, with the data already compressed.
    let mut out = png((width as u32, height as u32, 8, colour), &[], &[]);
    out.truncate(out.windows(4).position(|w| w == b"IDAT").unwrap() - 4);
    for (kind, data) in [(b"IDAT", &idat[..]), (b"IEND", &[][..])] {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    out
}

/// Waits for `child`, killing it after `limit`.
fn wait_at_most(mut child: std::process::Child, limit: std::time::Duration) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Real decompression bombs: 20,000 x 20,000 (400 MB) and 12,000 x 12,000 RGB (432 MB, within
/// the side limit) in PNGs under 1 MB. `classify` runs them under a 600 MB address-space limit
/// and must answer with a one-line error, not die of memory.
#[test]
fn decompression_bombs_are_refused_within_memory_limits() {
    let dir = tempfile::tempdir().unwrap();
    for (name, side, channels) in [("bomb-20k.png", 20_000, 1), ("bomb-12k-rgb.png", 12_000, 3)] {
        let bytes = bomb(side, side, channels);
        assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
        let path = common::write(dir.path(), name, &bytes);
        // No backtraces: printing one after a failed allocation can itself hang (std takes the
        // backtrace lock and allocates again), and a hang must fail the test, not stall CI.
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 600000 && exec '{}' classify '{}'",
                env!("CARGO_BIN_EXE_digit-recognizer"),
                path.display()
            ))
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_at_most(child, std::time::Duration::from_secs(60));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(name) && err.contains("limit"), "{name}: {err}");
        assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{err}");
    }
    // Just under the limits, a big blank picture is decoded and found empty.
    let path = common::write(dir.path(), "big-blank.png", &bomb(7_000, 7_000, 1));
    let e = image_error(&path);
    assert!(e.contains("no digit found"), "{e}");
}

#[test]
fn sixteen_bit_palette_and_alpha_pictures_read_like_gray() {
    let dir = tempfile::tempdir().unwrap();
    let digit = sample_row(5);
    // The reference: the digit drawn large in 8-bit gray, white on black.
    let (scale, w, h) = (6u32, 240u32, 200u32);
    let gray = preprocess::render_large(&digit, scale, w, h, 40, 12, false);
    let want = preprocess_gray(w, h, gray.as_raw()).unwrap();

    let mut pictures: Vec<(&str, PathBuf)> = Vec::new();
    // 16-bit gray, both polarities.
    for (name, invert) in [("gray16.png", false), ("gray16-dark.png", true)] {
        let img: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_fn(w, h, |x, y| {
            let v = u16::from(gray.get_pixel(x, y).0[0]) * 257;
            Luma([if invert { u16::MAX - v } else { v }])
        });
        let path = dir.path().join(name);
        img.save(&path).unwrap();
        pictures.push((name, path));
    }
    // 16-bit RGBA with opaque alpha.
    let rgba16: ImageBuffer<Rgba<u16>, Vec<u16>> = ImageBuffer::from_fn(w, h, |x, y| {
        let v = u16::from(gray.get_pixel(x, y).0[0]) * 257;
        Rgba([v, v, v, u16::MAX])
    });
    let path = dir.path().join("rgba16.png");
    rgba16.save(&path).unwrap();
    pictures.push(("rgba16.png", path));
    // Palette: 256 gray entries (and a 4-bit palette, dark on light, of the thresholded digit).
    let palette: Vec<u8> = (0..=255u8).flat_map(|v| [v, v, v]).collect();
    let mut indexed = Vec::new();
    for y in 0..h {
        indexed.push(0); // filter: none
        indexed.extend((0..w).map(|x| gray.get_pixel(x, y).0[0]));
    }
    let path = common::write(
        dir.path(),
        "palette8.png",
        &png((w, h, 8, 3), &[(b"PLTE", palette)], &indexed),
    );
    pictures.push(("palette8.png", path));
    let palette4: Vec<u8> = (0..16u8).flat_map(|i| [255 - i * 17; 3]).collect();
    let mut nibbles = Vec::new();
    for y in 0..h {
        nibbles.push(0);
        for x in (0..w).step_by(2) {
            let hi = gray.get_pixel(x, y).0[0] / 17;
            let lo = gray.get_pixel(x + 1, y).0[0] / 17;
            nibbles.push(hi << 4 | lo);
        }
    }
    let path = common::write(
        dir.path(),
        "palette4.png",
        &png((w, h, 4, 3), &[(b"PLTE", palette4)], &nibbles),
    );
    pictures.push(("palette4.png", path));
    // Alpha-only drawings: the strokes live in the alpha channel, colour constant.
    for (name, ink) in [("alpha-black.png", 0u8), ("alpha-white.png", 255)] {
        let img: ImageBuffer<Rgba<u8>, Vec<u8>> =
            ImageBuffer::from_fn(w, h, |x, y| Rgba([ink, ink, ink, gray.get_pixel(x, y).0[0]]));
        let path = dir.path().join(name);
        img.save(&path).unwrap();
        pictures.push((name, path));
    }
    let la: ImageBuffer<LumaA<u8>, Vec<u8>> = ImageBuffer::from_fn(w, h, |x, y| LumaA([30, gray.get_pixel(x, y).0[0]]));
    let path = dir.path().join("gray-alpha.png");
    la.save(&path).unwrap();
    pictures.push(("gray-alpha.png", path));

    let (model, _) = embedded::model().unwrap();
    let expected_label = model.predict(&want)[0];
    for (name, path) in pictures {
        let img = load_image(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = preprocess_image(&img).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = distance(&got, &want);
        // 4-bit palettes lose shades; everything else is the same picture.
        let tolerance = if name == "palette4.png" { 0.3 } else { 0.05 };
        assert!(d < tolerance, "{name}: distance {d}");
        assert_eq!(model.predict(&got)[0], expected_label, "{name}");
    }
}

/// Everything above through the command line: one error line per bad picture, exit code 1.
#[test]
fn classify_reports_each_bad_picture_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let white = dir.path().join("white.png");
    GrayImage::from_pixel(40, 40, Luma([255])).save(&white).unwrap();
    let huge = common::write(dir.path(), "huge.png", &png((20_000, 20_000, 8, 0), &[], &[0; 100]));
    let empty = common::write(dir.path(), "empty.jpg", b"");
    let out = Command::new(env!("CARGO_BIN_EXE_digit-recognizer"))
        .arg("classify")
        .args([&white, &huge, &empty])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let mut by_file: HashMap<&str, usize> = HashMap::new();
    for name in ["white.png", "huge.png", "empty.jpg"] {
        by_file.insert(name, lines.iter().filter(|l| l.contains(name)).count());
    }
    assert!(by_file.values().all(|&n| n == 1), "{by_file:?}: {err}");
    assert!(err.contains("no digit found"));
}
