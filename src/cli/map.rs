//! The `map` command: the class map of some data rows as a CSV, `row,label,predicted,x,y`, the
//! rows' activations at one layer projected on that layer's two principal axes
//! ([`crate::class_map`]).

use anyhow::{Context, Result};

use super::UsageError;
use super::args::MapArgs;
use super::commands::{guard_output, load_data_for, load_model_info};
use super::rows::Rows;
use crate::class_map::{self, MapLayer, MapRow};
use crate::data::Expect;
use crate::evaluate::predict_among;
use crate::write_guard::{Input, Output};

pub fn run(args: MapArgs) -> Result<()> {
    let inputs: Vec<Input> = [
        Some(Input::new(&args.data, "--data, the data to map")),
        args.model.as_ref().map(|p| Input::new(p, "--model, the model")),
    ]
    .into_iter()
    .flatten()
    .collect();
    guard_output(&args.out, Output::ClassMap, &inputs, args.force, "--out")?;
    let (model, info) = load_model_info(args.model.as_deref())?;
    let layer = MapLayer::parse(&args.layer, &model).map_err(|e| UsageError(format!("--layer: {e}")))?;
    let data = load_data_for(&args.data, Expect::Any, &model, &info)?;
    let file = args.data.display().to_string();
    let range = args
        .rows
        .unwrap_or(Rows::ALL)
        .within(data.rows(), &file)
        .map_err(UsageError)?;
    let inputs = data.image_pixels();
    let pixels = &data.pixels[range.start * inputs..range.end * inputs];
    let map = class_map::map_rows(&model, pixels, layer, None, 2);
    let predicted = predict_among(&model, &info.labels, pixels);
    let rows: Vec<MapRow> = range
        .clone()
        .enumerate()
        .map(|(i, row)| MapRow {
            row,
            label: data.label(row),
            predicted: predicted[i],
            x: map.coords[[i, 0]],
            y: map.coords.get((i, 1)).copied().unwrap_or(0.0),
        })
        .collect();
    class_map::write_csv(&args.out, &rows).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} rows, {}: the two axes keep {:.1}% of its variance)",
        args.out.display(),
        rows.len(),
        layer.describe(&model),
        100.0 * map.projection.explained(2)
    );
    Ok(())
}
