//! Issue goal: digits re-drawn large, off-centre, in either polarity are classified about as
//! well as the same digits as raw rows (within two points), through the same preprocessing the
//! `classify` command and the app's canvas use.

use digit_recognizer::data::PIXELS;
use digit_recognizer::embedded;
use digit_recognizer::preprocess::{centre_of_mass, preprocess_gray, render_large};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[test]
fn redrawn_digits_are_recognised_about_as_well_as_raw_rows() {
    let data = embedded::sample().unwrap();
    let (model, _) = embedded::model().unwrap();
    let rows = 1500;
    let raw = model.predict(&data.pixels[..rows * PIXELS]);
    let raw_correct = raw.iter().zip(&data.labels).filter(|(p, l)| p == l).count();

    let mut rng = StdRng::seed_from_u64(1);
    let mut redrawn = Vec::with_capacity(rows * PIXELS);
    for row in 0..rows {
        let scale = rng.random_range(2..=12u32);
        let side = 28 * scale;
        let (width, height) = (side + rng.random_range(0..300u32), side + rng.random_range(0..300u32));
        let (left, top) = (rng.random_range(0..=width - side), rng.random_range(0..=height - side));
        let dark_on_light = rng.random::<bool>();
        let picture = render_large(data.image(row), scale, width, height, left, top, dark_on_light);
        redrawn.extend(preprocess_gray(width, height, picture.as_raw()).unwrap());
    }
    let drawn = model.predict(&redrawn);
    let drawn_correct = drawn.iter().zip(&data.labels).filter(|(p, l)| p == l).count();
    let (raw_acc, drawn_acc) = (raw_correct as f32 / rows as f32, drawn_correct as f32 / rows as f32);
    eprintln!("raw rows {raw_acc:.4}, re-drawn {drawn_acc:.4}");
    assert!(drawn_acc >= raw_acc - 0.02, "raw {raw_acc}, re-drawn {drawn_acc}");
    assert!(raw_acc > 0.95);
}

#[test]
fn sample_rows_are_centred_like_the_preprocessing() {
    // MNIST's centre of mass convention, measured on real rows, matches what preprocessing does.
    let data = embedded::sample().unwrap();
    let (mut sx, mut sy) = (0.0, 0.0);
    for row in 0..1000 {
        let (x, y) = centre_of_mass(data.image(row)).unwrap();
        sx += x;
        sy += y;
    }
    let (mx, my) = (sx / 1000.0, sy / 1000.0);
    eprintln!("mean centre of mass ({mx:.2}, {my:.2})");
    assert!((mx - 14.0).abs() < 0.3 && (my - 14.0).abs() < 0.3);
}
