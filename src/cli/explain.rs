//! What `explain` shows: a summary in words with an ASCII map for the terminal, and a heat-map
//! PNG. The numbers come from [`crate::attribution`].

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use crate::attribution::{Explanation, IG_STEPS};
use crate::data::{PIXELS, SIDE};
use crate::write_guard::{self, EXPLAIN_MARK, Input, Output, Replace};

/// Screen pixels per image pixel in the heat map: 28 * 10 = 280.
pub const PNG_SCALE: u32 = 10;
/// Evidence for the target (Okabe-Ito blue); against it, Okabe-Ito orange: a colour-blind-safe pair.
const TOWARD: [f32; 3] = [0.0, 114.0, 178.0];
const AWAY: [f32; 3] = [230.0, 159.0, 0.0];
/// In the ASCII map, pixels with at least this share of the largest |attribution| are `+`/`-`.
const STRONG: f32 = 0.2;

/// Where `--png OUT` writes each image's map (see the flag's help): OUT itself for one image,
/// `OUT/NAME.explain.png` when OUT is an existing folder; several images need a folder. Images
/// of the same name from different folders (`a/1.png`, `b/1.png`) keep a map each:
/// `1.explain.png`, then `1-2.explain.png`, and so on, in the order given.
///
/// Every map is checked before anything is written ([`write_guard`]): none may land on one of the
/// images, nor (without `force`) on an existing file that is not an earlier heat map.
pub fn png_paths(out: &Path, images: &[PathBuf], force: bool) -> Result<Vec<Option<PathBuf>>, String> {
    let paths: Vec<PathBuf> = if out.is_dir() {
        let mut taken = HashSet::new();
        images
            .iter()
            .map(|image| {
                let stem = image
                    .file_stem()
                    .map_or_else(|| "image".into(), |s| s.to_string_lossy());
                (1..)
                    .map(|n| match n {
                        1 => out.join(format!("{stem}.explain.png")),
                        n => out.join(format!("{stem}-{n}.explain.png")),
                    })
                    .find(|path| taken.insert(path.clone()))
                    .expect("a free name among unboundedly many")
            })
            .collect()
    } else if images.len() == 1 {
        vec![out.to_path_buf()]
    } else {
        return Err(format!(
            "--png {}: with several images, give an existing folder (each map is written there as NAME.explain.png)",
            out.display()
        ));
    };
    let inputs: Vec<Input> = images
        .iter()
        .map(|image| Input::new(image, "one of the images to explain"))
        .collect();
    let replace = if force { Replace::Anything } else { Replace::SameKind };
    for path in &paths {
        write_guard::check(path, Output::ExplainMap, &inputs, replace)
            .map_err(|refusal| refusal.cli_message("--png"))?;
    }
    Ok(paths.into_iter().map(Some).collect())
}

/// The heat map, `28 * PNG_SCALE` pixels square: the digit in grey on white, each pixel tinted
/// blue (evidence for the target) or orange (against) with an opacity growing with
/// |attribution| relative to the image's largest.
pub fn heat_map(image: &[u8; PIXELS], attribution: &[f32; PIXELS]) -> RgbImage {
    let scale = attribution.iter().fold(0.0f32, |m, a| m.max(a.abs()));
    let colours: Vec<Rgb<u8>> = image
        .iter()
        .zip(attribution)
        .map(|(&ink, &a)| {
            let grey = 255.0 - 0.6 * f32::from(ink);
            let (tint, strength) = if scale > 0.0 {
                (if a >= 0.0 { TOWARD } else { AWAY }, (a.abs() / scale).sqrt())
            } else {
                (TOWARD, 0.0)
            };
            let alpha = 0.9 * strength.min(1.0);
            Rgb(tint.map(|c| (grey * (1.0 - alpha) + c * alpha).round() as u8))
        })
        .collect();
    let side = SIDE as u32 * PNG_SCALE;
    RgbImage::from_fn(side, side, |x, y| {
        colours[(y / PNG_SCALE) as usize * SIDE + (x / PNG_SCALE) as usize]
    })
}

/// Writes `picture` as a PNG atomically: a failure leaves no partial file. The PNG carries
/// [`EXPLAIN_MARK`], by which a later run knows it may replace it.
pub fn write_png(path: &Path, picture: &RgbImage) -> io::Result<()> {
    crate::atomic::write_atomic(path, |w| {
        let mut encoder = png::Encoder::new(w, picture.width(), picture.height());
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .add_text_chunk(EXPLAIN_MARK.0.into(), EXPLAIN_MARK.1.into())
            .map_err(io::Error::other)?;
        let mut writer = encoder.write_header().map_err(io::Error::other)?;
        writer.write_image_data(picture.as_raw()).map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)
    })
}

const ROWS: [&str; 4] = ["top", "upper middle", "lower middle", "bottom"];
const COLUMNS: [&str; 4] = ["left", "centre-left", "centre-right", "right"];

/// The readable summary of one image: the prediction, the target explained, how the evidence
/// splits for and against, the three strongest 7x7 cells, and the ASCII map.
pub fn summary(name: &str, image: &[u8; PIXELS], e: &Explanation) -> String {
    let mut out = String::new();
    let probability = |k: usize| e.probabilities[k] * 100.0;
    let _ = writeln!(out, "{name}: {} ({:.1}%)", e.predicted, probability(e.predicted));
    if e.target == e.predicted {
        let _ = writeln!(out, "  explaining {} (the prediction)", e.target);
    } else {
        let _ = writeln!(
            out,
            "  explaining {} (asked for; the network gives it {:.1}%)",
            e.target,
            probability(e.target)
        );
    }
    let positive: f32 = e.pixels.iter().filter(|&&a| a > 0.0).sum();
    let negative: f32 = -e.pixels.iter().filter(|&&a| a < 0.0).sum::<f32>();
    let weight = positive + negative;
    if weight == 0.0 {
        let _ = writeln!(out, "  no pixel carries any evidence");
        return out;
    }
    let _ = writeln!(
        out,
        "  evidence: {:.0}% of the attribution is for {}, {:.0}% against (net {:+.2}; completeness gap {:.3})",
        100.0 * positive / weight,
        e.target,
        100.0 * negative / weight,
        positive - negative,
        e.completeness_gap,
    );
    // The 4x4 cells of 7x7 pixels, strongest |sum| first.
    let cell = SIDE / 4;
    let mut cells: Vec<(usize, usize, f32)> = (0..16)
        .map(|c| {
            let (row, col) = (c / 4, c % 4);
            let sum = (0..cell * cell)
                .map(|i| e.pixels[(row * cell + i / cell) * SIDE + col * cell + i % cell])
                .sum();
            (row, col, sum)
        })
        .collect();
    cells.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    let strongest: Vec<String> = cells
        .iter()
        .take(3)
        .filter(|c| c.2 != 0.0)
        .map(|&(row, col, sum)| {
            let side = if sum > 0.0 { "for" } else { "against" };
            format!(
                "{} {} ({:.0}% of the weight, {side})",
                ROWS[row],
                COLUMNS[col],
                100.0 * sum.abs() / weight
            )
        })
        .collect();
    let _ = writeln!(out, "  strongest 7x7 regions: {}", strongest.join("; "));
    let _ = writeln!(
        out,
        "  map ('+' evidence for {}, '-' against, '.' other ink; integrated gradients, {IG_STEPS} steps):",
        e.target
    );
    out.push_str(&ascii_map(image, &e.pixels));
    out
}

/// 28 lines of 28 doubled characters (a terminal cell is about twice as tall as wide):
/// `+` strong evidence for, `-` strong against, `.` other ink, blank without ink.
pub fn ascii_map(image: &[u8; PIXELS], attribution: &[f32; PIXELS]) -> String {
    let scale = attribution.iter().fold(0.0f32, |m, a| m.max(a.abs()));
    let mut out = String::with_capacity(SIDE * (2 * SIDE + 5));
    for y in 0..SIDE {
        out.push_str("  |");
        for x in 0..SIDE {
            let (ink, a) = (image[y * SIDE + x], attribution[y * SIDE + x]);
            let c = if scale > 0.0 && a >= STRONG * scale {
                '+'
            } else if scale > 0.0 && a <= -STRONG * scale {
                '-'
            } else if ink > 0 {
                '.'
            } else {
                ' '
            };
            out.push(c);
            out.push(c);
        }
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_map_marks_strong_evidence_both_ways() {
        let mut image = [0u8; PIXELS];
        let mut attribution = [0.0f32; PIXELS];
        image[..4].copy_from_slice(&[200, 200, 200, 200]);
        attribution[..4].copy_from_slice(&[1.0, -0.5, 0.1, 0.0]);
        let map = ascii_map(&image, &attribution);
        let lines: Vec<&str> = map.lines().collect();
        assert_eq!(lines.len(), SIDE);
        assert!(lines[0].starts_with("  |++--....  "), "{}", lines[0]);
        assert_eq!(lines[1].trim(), format!("|{}|", " ".repeat(2 * SIDE)));
    }

    #[test]
    fn heat_map_colours_for_and_against() {
        let image = [255u8; PIXELS];
        let mut attribution = [0.0f32; PIXELS];
        attribution[0] = 2.0;
        attribution[1] = -2.0;
        let map = heat_map(&image, &attribution);
        assert_eq!(map.dimensions(), (280, 280));
        let (toward, away, plain) = (map.get_pixel(5, 5), map.get_pixel(15, 5), map.get_pixel(25, 5));
        assert!(toward[2] > toward[0], "blue: {toward:?}");
        assert!(away[0] > away[2], "orange: {away:?}");
        assert_eq!(plain[0], plain[2], "grey: {plain:?}");
    }

    #[test]
    fn png_paths_for_one_image_a_folder_and_clashes() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        let out = dir.path().join("map.png");
        assert_eq!(
            png_paths(&out, std::slice::from_ref(&a), false).unwrap(),
            vec![Some(out.clone())]
        );
        let images = [a.clone(), PathBuf::from("x/b.jpg")];
        assert!(png_paths(&out, &images, false).unwrap_err().contains("folder"));
        assert_eq!(
            png_paths(dir.path(), &images, false).unwrap(),
            vec![
                Some(dir.path().join("a.explain.png")),
                Some(dir.path().join("b.explain.png"))
            ]
        );
        // Same names from other folders each keep their map.
        let clash = [a.clone(), PathBuf::from("other/a.png"), PathBuf::from("third/a.jpg")];
        assert_eq!(
            png_paths(dir.path(), &clash, false).unwrap(),
            ["a.explain.png", "a-2.explain.png", "a-3.explain.png"].map(|name| Some(dir.path().join(name)))
        );
        std::fs::write(&a, b"\x89PNG\r\n\x1a\n").unwrap();
        for force in [false, true] {
            let refused = png_paths(&a, std::slice::from_ref(&a), force).unwrap_err();
            assert!(refused.contains("never written onto an input"), "{refused}");
        }
    }

    #[test]
    fn written_maps_are_recognised_as_maps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.png");
        write_png(&path, &heat_map(&[0; PIXELS], &[0.0; PIXELS])).unwrap();
        assert_eq!(write_guard::sniff(&path), write_guard::FileKind::ExplainMap);
        assert_eq!(image::open(&path).unwrap().width(), 280);
    }
}
