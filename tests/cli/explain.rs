//! The `explain` command: JSON shape and the same preprocessing as `classify`, `--target`,
//! heat-map PNGs (one file, a folder), and bad images or unwritable maps (exit 1, the others still
//! explained, no partial PNG left behind).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{bin, ok, stderr, stdout};
use common::write;
use digit_recognizer::data::PIXELS;
use digit_recognizer::preprocess::{load_image, preprocess_image};
use serde_json::Value;

fn explain(args: &[&std::ffi::OsStr]) -> Output {
    bin().arg("explain").args(args).output().expect("the binary runs")
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A sample row re-drawn as a picture: larger, off-centre, either polarity.
fn drawn_png(dir: &Path, row: usize) -> PathBuf {
    let scale = 3 + row as u32 % 5;
    let side = 28 * scale;
    let name = format!("row{row}.png");
    common::cli::drawn_png(dir, &name, row, scale, (side + 60, side + 20), (40, 7), row % 2 == 1)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn json_has_the_networks_input_and_one_attribution_per_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let images: Vec<PathBuf> = (0..4).map(|row| drawn_png(dir.path(), row)).collect();
    let args: Vec<&std::ffi::OsStr> = images.iter().map(|p| p.as_os_str()).collect();
    let out = ok(explain(&[&["--json".as_ref()], &args[..]].concat()));
    let classified = lines(&ok(bin().arg("classify").arg("--json").args(&images).output().unwrap()));
    let explained = lines(&out);
    assert_eq!(explained.len(), images.len());
    for ((line, class), path) in explained.iter().zip(&classified).zip(&images) {
        assert_eq!(line["file"].as_str(), Some(path.to_str().unwrap()));
        assert_eq!(line["label"], class["label"], "the same answer as classify");
        assert_eq!(line["target"], line["label"], "target is the label without --target");
        assert_eq!(line["png"], Value::Null);
        let probs = numbers(&line["probabilities"]);
        assert_eq!(probs.len(), 10);
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-3);
        assert_eq!(numbers(&class["probabilities"]), probs);
        // The input is exactly what classify's preprocessing makes of the file.
        let input: Vec<u64> = line["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().expect("integers"))
            .collect();
        let expected = preprocess_image(&load_image(path).unwrap()).unwrap();
        assert_eq!(input.len(), PIXELS);
        assert!(input.iter().zip(&expected).all(|(&a, &b)| a == u64::from(b)));
        let attribution = numbers(&line["attribution"]);
        assert_eq!(attribution.len(), PIXELS);
        assert!(
            attribution.iter().zip(&input).all(|(&a, &x)| x > 0 || a == 0.0),
            "black pixels get 0"
        );
        assert!(attribution.iter().any(|&a| a > 0.0) && attribution.iter().any(|&a| a < 0.0));
        // The evidence for a confident prediction is positive on the whole.
        let sum: f64 = attribution.iter().sum();
        assert!(sum > 1.0, "{sum}");
        assert!(line["completeness_gap"].as_f64().unwrap() < 0.06 * sum);
    }
}

#[test]
fn target_changes_what_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let image = drawn_png(dir.path(), 5);
    let own = lines(&ok(explain(&["--json".as_ref(), image.as_os_str()])));
    let label = own[0]["label"].as_u64().unwrap();
    let other = (label + 1) % 10;
    let other_arg = other.to_string();
    let asked = lines(&ok(explain(&[
        "--json".as_ref(),
        "--target".as_ref(),
        other_arg.as_ref(),
        image.as_os_str(),
    ])));
    assert_eq!(
        asked[0]["label"].as_u64(),
        Some(label),
        "the prediction does not change"
    );
    assert_eq!(asked[0]["target"].as_u64(), Some(other));
    assert_eq!(asked[0]["input"], own[0]["input"]);
    let (a, b) = (numbers(&own[0]["attribution"]), numbers(&asked[0]["attribution"]));
    assert_ne!(a, b);
    assert!(
        b.iter().sum::<f64>() < a.iter().sum::<f64>(),
        "less evidence for a digit the network does not see"
    );
    // The readable form says what it explains.
    let text = ok(explain(&["--target".as_ref(), other_arg.as_ref(), image.as_os_str()]));
    assert!(text.contains(&format!("explaining {other} (asked for")), "{text}");
    let plain = ok(explain(&[image.as_os_str()]));
    assert!(
        plain.contains(&format!("explaining {label} (the prediction)")),
        "{plain}"
    );
    assert!(plain.contains("strongest 7x7 regions"), "{plain}");
    let map: Vec<&str> = plain.lines().filter(|l| l.starts_with("  |")).collect();
    assert_eq!(map.len(), 28, "{plain}");
    assert!(map.iter().all(|l| l.chars().count() == 2 + 1 + 56 + 1));
    assert!(map.iter().any(|l| l.contains('+')), "{plain}");
    // Out of range: a usage error naming the range.
    let out = explain(&["--target".as_ref(), "10".as_ref(), image.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("0..=9"), "{}", stderr(&out));
}

#[test]
fn png_maps_for_one_image_and_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let images = [drawn_png(dir.path(), 0), drawn_png(dir.path(), 1)];
    let single = dir.path().join("map.png");
    let out = lines(&ok(explain(&[
        "--json".as_ref(),
        "--png".as_ref(),
        single.as_os_str(),
        images[0].as_os_str(),
    ])));
    assert_eq!(out[0]["png"].as_str(), Some(single.to_str().unwrap()));
    let map = image::open(&single).unwrap();
    assert_eq!((map.width(), map.height()), (280, 280));

    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    ok(explain(&[
        "--png".as_ref(),
        maps.as_os_str(),
        images[0].as_os_str(),
        images[1].as_os_str(),
    ]));
    assert_eq!(names(&maps), ["row0.explain.png", "row1.explain.png"]);
    for name in names(&maps) {
        let map = image::open(maps.join(name)).unwrap().to_rgb8();
        assert_eq!(map.dimensions(), (280, 280));
        // Blue (evidence for) and orange (against) are both on the map.
        let (red, blue) = (
            |p: &image::Rgb<u8>| i32::from(p[0]),
            |p: &image::Rgb<u8>| i32::from(p[2]),
        );
        assert!(map.pixels().any(|p| blue(p) > red(p) + 60));
        assert!(map.pixels().any(|p| red(p) > blue(p) + 60));
    }
    // Several images and a file name: refused before anything is written.
    let out = explain(&[
        "--png".as_ref(),
        dir.path().join("one.png").as_os_str(),
        images[0].as_os_str(),
        images[1].as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("folder"), "{}", stderr(&out));
    assert!(!dir.path().join("one.png").exists());
}

#[test]
fn bad_images_exit_1_and_the_rest_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let good = drawn_png(dir.path(), 2);
    let bytes = std::fs::read(&good).unwrap();
    let truncated = write(dir.path(), "truncated.png", &bytes[..bytes.len() / 2]);
    let empty = write(dir.path(), "empty.png", b"");
    let garbage = write(dir.path(), "garbage.jpg", &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]);
    let missing = dir.path().join("missing.png");
    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    let out = explain(&[
        "--json".as_ref(),
        "--png".as_ref(),
        maps.as_os_str(),
        truncated.as_os_str(),
        good.as_os_str(),
        empty.as_os_str(),
        garbage.as_os_str(),
        missing.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let explained = lines(&stdout(&out));
    assert_eq!(explained.len(), 1, "the good image is still explained");
    assert_eq!(explained[0]["file"].as_str(), Some(good.to_str().unwrap()));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    for name in ["truncated.png", "empty.png", "garbage.jpg", "missing.png"] {
        let line = err
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name}: {err}"));
        assert!(line.starts_with("error: "), "{line}");
        assert_eq!(line.matches(name).count(), 1, "the file named once: {line}");
    }
    assert!(err.contains("4 of 5 images could not be explained"), "{err}");
    // Only the good image's map, and no partial files.
    assert_eq!(names(&maps), ["row2.explain.png"]);
}

#[test]
fn an_unwritable_map_is_an_error_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let images = [drawn_png(dir.path(), 3), drawn_png(dir.path(), 4)];
    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    // A folder where row3's map should go: the PNG is encoded, then cannot replace it.
    std::fs::create_dir(maps.join("row3.explain.png")).unwrap();
    let out = explain(&[
        "--json".as_ref(),
        "--png".as_ref(),
        maps.as_os_str(),
        images[0].as_os_str(),
        images[1].as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("cannot write"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.starts_with("error: ") && line.contains("row3"), "{line}");
    assert_eq!(lines(&stdout(&out)).len(), 1, "row4 is still explained");
    assert_eq!(names(&maps), ["row3.explain.png", "row4.explain.png"]);
    assert!(maps.join("row3.explain.png").is_dir(), "left as it was");
    // One image into a folder that does not exist: exit 1, nothing created.
    let nowhere = dir.path().join("no/such/map.png");
    let out = explain(&["--png".as_ref(), nowhere.as_os_str(), images[0].as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert!(!dir.path().join("no").exists());
}

#[test]
fn same_names_from_two_folders_keep_a_map_each() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    // Two different digits, both named row6.png.
    let first = drawn_png(&a, 6);
    let second = b.join("row6.png");
    std::fs::rename(drawn_png(&b, 7), &second).unwrap();
    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    let out = lines(&ok(explain(&[
        "--json".as_ref(),
        "--png".as_ref(),
        maps.as_os_str(),
        first.as_os_str(),
        second.as_os_str(),
    ])));
    assert_eq!(names(&maps), ["row6-2.explain.png", "row6.explain.png"]);
    let png = |i: usize| PathBuf::from(out[i]["png"].as_str().unwrap());
    assert_eq!(png(0), maps.join("row6.explain.png"));
    assert_eq!(png(1), maps.join("row6-2.explain.png"));
    assert_ne!(std::fs::read(png(0)).unwrap(), std::fs::read(png(1)).unwrap());
    // The text output says where each map went.
    let text = ok(explain(&[
        "--png".as_ref(),
        maps.as_os_str(),
        first.as_os_str(),
        second.as_os_str(),
    ]));
    assert!(text.contains(&format!("heat map: {}", png(1).display())), "{text}");
}

#[test]
fn a_map_replaces_an_earlier_map_but_no_other_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let image = drawn_png(dir.path(), 8);
    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    let explain_into = |force: bool| {
        let mut args = vec!["--png".as_ref(), maps.as_os_str(), image.as_os_str()];
        if force {
            args.push("--force".as_ref());
        }
        explain(&args)
    };
    // The user's own picture where the map would go.
    let target = maps.join("row8.explain.png");
    std::fs::copy(&image, &target).unwrap();
    let before = std::fs::read(&target).unwrap();
    let out = explain_into(false);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("is a PNG picture: not replaced with a heat map"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), before, "left as it was");
    ok(explain_into(true));
    let map = std::fs::read(&target).unwrap();
    assert_ne!(map, before);
    // Now an earlier map: replaced without --force.
    ok(explain_into(false));
    assert_eq!(std::fs::read(&target).unwrap(), map, "the same map again");
}
