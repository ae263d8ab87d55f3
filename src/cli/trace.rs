//! `trace`: one plain gradient-descent step of a model on data rows or a picture, every matrix
//! of the notebook written as safetensors ([`crate::trace_file`]) for NumPy, with a summary.

use std::io::Write;
use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::Array2;
use serde_json::json;

use super::UsageError;
use super::args::TraceArgs;
use super::commands::{guard_output, load_data, load_model_info};
use super::rows::Rows;
use crate::data::Expect;
use crate::evaluate::best_of;
use crate::model_file::ModelInfo;
use crate::network::{Mlp, fill_inputs};
use crate::preprocess::{self, load_image, preprocess_image};
use crate::trace_file::{TraceRecord, norm};
use crate::write_guard::{Input, Output};

/// The examples to trace: `(m * inputs)` pixels, `m` labels and where they came from.
struct Examples {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    source: String,
    /// The data rows, when they came from a CSV.
    rows: Option<Range<usize>>,
}

pub fn run(args: TraceArgs) -> Result<()> {
    if !args.alpha.is_finite() || args.alpha < 0.0 {
        return Err(UsageError(format!(
            "--alpha {}: the step size is a finite number, 0 or more",
            args.alpha
        ))
        .into());
    }
    match (&args.data, &args.image) {
        (Some(_), _) if args.rows.is_none() => {
            return Err(UsageError(
                "--data needs --rows A..B: the data rows to trace, counted from 0, B excluded (e.g. --rows 0..64)"
                    .into(),
            )
            .into());
        }
        (None, Some(_)) if args.label.is_none() => {
            return Err(UsageError(
                "--image needs --label: the class the picture shows (the target Y of the loss)".into(),
            )
            .into());
        }
        (None, Some(_)) if args.rows.is_some() => {
            return Err(UsageError("--rows goes with --data, not with --image".into()).into());
        }
        (None, None) => {
            return Err(UsageError(
                "nothing to trace: give --data CSV --rows A..B, or --image PICTURE --label D".into(),
            )
            .into());
        }
        _ => {}
    }
    let inputs: Vec<Input> = [
        args.model.as_ref().map(|p| Input::new(p, "--model, the model")),
        args.data.as_ref().map(|p| Input::new(p, "--data, the data")),
        args.image.as_ref().map(|p| Input::new(p, "--image, the picture")),
    ]
    .into_iter()
    .flatten()
    .collect();
    guard_output(&args.out, Output::Trace, &inputs, args.force, "--out")?;
    let (model, info) = load_model_info(args.model.as_deref())?;
    let examples = match (&args.data, &args.rows, &args.image, &args.label) {
        (Some(path), Some(rows), _, _) => data_rows(path, *rows, &model, &info)?,
        (_, _, Some(path), Some(label)) => picture(path, label, &model, &info)?,
        _ => unreachable!("checked above"),
    };
    let m = examples.labels.len();
    // X: (m, inputs) scaled to [0, 1], as training reads it
    let mut x = Array2::zeros((m, model.inputs()));
    fill_inputs(&mut x.view_mut(), &examples.pixels);
    let trace = model.trace(x.view(), &examples.labels);
    let record = TraceRecord {
        model: &model,
        x: x.view(),
        labels: &examples.labels,
        trace: &trace,
        alpha: args.alpha,
        source: examples.source.clone(),
        rows: examples.rows.clone(),
    };
    record
        .save(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let after = model.stepped(&trace, args.alpha).trace(x.view(), &examples.labels);
    let predictions = |t: &crate::network::Trace| -> Vec<usize> {
        let last = t.layers.last().expect("a model has layers");
        last.a
            .rows()
            .into_iter()
            .map(|p| best_of(p.as_slice().unwrap_or(&[]), &info.labels))
            .collect()
    };
    let (before_predicted, after_predicted) = (predictions(&trace), predictions(&after));
    let correct = |p: &[usize]| {
        p.iter()
            .zip(&examples.labels)
            .filter(|(p, l)| **p == usize::from(**l))
            .count()
    };
    let sizes = model.sizes();
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let layers: Vec<_> = model
            .layers
            .iter()
            .zip(&trace.layers)
            .enumerate()
            .map(|(i, (layer, t))| {
                let hidden = i + 1 < model.layers.len();
                let zero_share = t.a.iter().filter(|&&a| a == 0.0).count() as f64 / t.a.len().max(1) as f64;
                json!({
                    "layer": i + 1,
                    "W": [layer.outputs(), layer.inputs()],
                    "Z": [layer.outputs(), m],
                    "norms": {
                        "W": norm(&layer.w), "b": norm(&layer.b), "Z": norm(&t.z), "A": norm(&t.a),
                        "dZ": norm(&t.dz), "dW": norm(&t.dw), "db": norm(&t.db),
                    },
                    "relu_zero_share": hidden.then_some(zero_share),
                    "notebook_db": t.notebook_db(),
                })
            })
            .collect();
        let mut tensors = serde_json::Map::new();
        for t in record.tensors() {
            tensors.insert(t.name, json!(t.shape));
        }
        writeln!(
            stdout,
            "{}",
            json!({
                "out": args.out.display().to_string(),
                "source": examples.source,
                "m": m,
                "alpha": args.alpha,
                "sizes": sizes,
                "loss": trace.loss,
                "loss_after_step": after.loss,
                "labels": examples.labels,
                "predictions": before_predicted,
                "predictions_after_step": after_predicted,
                "correct": correct(&before_predicted),
                "correct_after_step": correct(&after_predicted),
                "layers": layers,
                "dX_norm": norm(&trace.dx),
                "tensors": tensors,
            })
        )?;
        return Ok(());
    }
    let shape: Vec<String> = sizes.iter().map(usize::to_string).collect();
    writeln!(
        stdout,
        "traced {} through {}, alpha {}",
        examples.source,
        shape.join("-"),
        args.alpha
    )?;
    writeln!(
        stdout,
        "loss {:.6} -> {:.6} after the step; correct {}/{m} -> {}/{m}",
        trace.loss,
        after.loss,
        correct(&before_predicted),
        correct(&after_predicted)
    )?;
    writeln!(stdout, "layer  W (out x in)       |W|      |dW|      |db|  ReLU zeros")?;
    for (i, (layer, t)) in model.layers.iter().zip(&trace.layers).enumerate() {
        let zeros = if i + 1 < model.layers.len() {
            let share = t.a.iter().filter(|&&a| a == 0.0).count() as f64 / t.a.len().max(1) as f64;
            format!("{:>9.1}%", 100.0 * share)
        } else {
            format!("{:>10}", "-")
        };
        writeln!(
            stdout,
            "{:>5}  {:<14} {:>8.4}  {:>8.5}  {:>8.5}  {zeros}",
            i + 1,
            format!("{}x{}", layer.outputs(), layer.inputs()),
            norm(&layer.w),
            norm(&t.dw),
            norm(&t.db),
        )?;
    }
    let tensors = record.tensors().len();
    writeln!(
        stdout,
        "wrote {} ({tensors} tensors, features x examples: X is {}x{m})",
        args.out.display(),
        model.inputs()
    )?;
    Ok(())
}

/// Rows `rows` of the labelled CSV at `path`, transposed when the model's data was.
fn data_rows(path: &Path, rows: Rows, model: &Mlp, info: &ModelInfo) -> Result<Examples> {
    let name = path.display().to_string();
    let (mut data, _) = load_data(path, Expect::Train)?;
    if info.transposed {
        data.transpose_images();
    }
    if data.image_pixels() != model.inputs() {
        bail!(
            "{name} has {}, but the model takes {}",
            shape_of(data.image_pixels()),
            shape_of(model.inputs())
        );
    }
    let rows = rows.within(data.rows(), &name).map_err(UsageError)?;
    let labels = data.labels[rows.clone()].to_vec();
    for (row, &label) in rows.clone().zip(&labels) {
        check_label(label, model, info)
            .map_err(|why| anyhow::anyhow!("{name}: data row {row} has label {label}: {why}"))?;
    }
    let source = format!("{name} rows {}..{}", rows.start, rows.end);
    let width = data.image_pixels();
    Ok(Examples {
        pixels: data.pixels[rows.start * width..rows.end * width].to_vec(),
        labels,
        source,
        rows: Some(rows),
    })
}

/// The picture at `path`, preprocessed as `classify` does, with its `--label`.
fn picture(path: &Path, label: &str, model: &Mlp, info: &ModelInfo) -> Result<Examples> {
    let label = parse_label(label, model, info).map_err(UsageError)?;
    let side = model.inputs().isqrt();
    if side * side != model.inputs() {
        bail!(
            "the model takes {} inputs, not a square image: --image needs a model of pictures",
            model.inputs()
        );
    }
    let image = load_image(path).and_then(|img| preprocess_image(&img))?;
    // Pictures are upright: so were the images of a model trained with --transpose.
    let pixels = preprocess::resize_to_side(&image, side);
    Ok(Examples {
        pixels,
        labels: vec![label],
        source: format!("{} (label {label})", path.display()),
        rows: None,
    })
}

/// `--label`: a label number, or one of the model's class names.
fn parse_label(text: &str, model: &Mlp, info: &ModelInfo) -> Result<u8, String> {
    let label = match text.trim().parse::<u8>() {
        Ok(label) => label,
        Err(_) => match info
            .class_names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text.trim()))
        {
            Some(label) => label as u8,
            None => {
                return Err(format!(
                    "--label {text:?}: not a label of the model ({}){}",
                    classes_of(model),
                    if info.class_names.is_empty() {
                        ""
                    } else {
                        " nor one of its class names"
                    }
                ));
            }
        },
    };
    check_label(label, model, info).map_err(|why| format!("--label {label}: {why}"))?;
    Ok(label)
}

/// Refuses a label outside the model's outputs, or one its training data never held.
fn check_label(label: u8, model: &Mlp, info: &ModelInfo) -> Result<(), String> {
    if usize::from(label) >= model.classes() {
        return Err(format!("outside the model's classes ({})", classes_of(model)));
    }
    if !info.labels.is_empty() && !info.labels.contains(&label) {
        let known: Vec<String> = info.labels.iter().map(u8::to_string).collect();
        return Err(format!(
            "not one of the labels the model was trained on ({})",
            known.join(",")
        ));
    }
    Ok(())
}

fn classes_of(model: &Mlp) -> String {
    format!("0 to {}", model.classes().saturating_sub(1))
}

/// "28x28 images (784 pixels)", or "100 inputs" when not square.
fn shape_of(pixels: usize) -> String {
    let side = pixels.isqrt();
    if side * side == pixels {
        format!("{side}x{side} images ({pixels} pixels)")
    } else {
        format!("{pixels} inputs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_against_the_model() {
        let model = Mlp::new(&[4, 3, 10], crate::network::Init::He, 1);
        let mut info = ModelInfo::default();
        assert_eq!(parse_label("7", &model, &info), Ok(7));
        assert!(
            parse_label("10", &model, &info)
                .unwrap_err()
                .contains("outside the model's classes (0 to 9)")
        );
        assert!(parse_label("seven", &model, &info).unwrap_err().contains("not a label"));
        info.class_names = (0..10).map(|d| format!("c{d}")).collect();
        assert_eq!(parse_label("C3", &model, &info), Ok(3));
        info.labels = vec![0, 1, 2, 3, 4, 5, 6, 7, 8];
        assert!(
            parse_label("9", &model, &info)
                .unwrap_err()
                .contains("trained on (0,1,2,3,4,5,6,7,8)")
        );
    }
}
