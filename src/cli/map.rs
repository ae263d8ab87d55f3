//! The `map` command: the class map of some data rows as a CSV, `row,label,predicted,x,y`, the
//! rows' activations at one layer projected on that layer's two principal axes
//! ([`crate::class_map`]).

use std::ops::Range;

use anyhow::{Context, Result};

use super::UsageError;
use super::args::MapArgs;
use super::commands::{guard_output, load_data_for, load_model_info};
use crate::class_map::{self, MapLayer, MapRow};
use crate::data::Expect;
use crate::evaluate::predict_among;
use crate::write_guard::{Input, Output};

/// Reads `--rows` against a file of `total` data rows.
fn row_range(text: Option<&str>, total: usize, file: &str) -> Result<Range<usize>, UsageError> {
    let Some(text) = text else { return Ok(0..total) };
    let bad = || {
        UsageError(format!(
            "--rows {text:?} is not a range A..B of data rows (0 is the first row after the header, B excluded)"
        ))
    };
    let (start, end) = text.trim().split_once("..").ok_or_else(bad)?;
    let number = |s: &str, default: usize| -> Result<usize, UsageError> {
        let s = s.trim();
        if s.is_empty() {
            Ok(default)
        } else {
            s.parse().map_err(|_| bad())
        }
    };
    let (start, end) = (number(start, 0)?, number(end, total)?);
    if start >= end {
        return Err(UsageError(format!(
            "--rows {text}: the range is empty (A must be less than B)"
        )));
    }
    if end > total {
        return Err(UsageError(format!(
            "--rows {text} is out of range: {file} has {total} data rows (0..{total})"
        )));
    }
    Ok(start..end)
}

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
    let range = row_range(args.rows.as_deref(), data.rows(), &file)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ranges_count_data_rows_from_zero_end_excluded() {
        assert_eq!(row_range(Some("0..10"), 100, "f").unwrap(), 0..10);
        assert_eq!(row_range(Some("90.."), 100, "f").unwrap(), 90..100);
        assert_eq!(row_range(Some("..5"), 100, "f").unwrap(), 0..5);
        assert_eq!(row_range(None, 100, "f").unwrap(), 0..100);
        let err = row_range(Some("0..101"), 100, "data.csv").unwrap_err().0;
        assert!(err.contains("data.csv has 100 data rows (0..100)"), "{err}");
        assert!(row_range(Some("5..5"), 100, "f").unwrap_err().0.contains("empty"));
        assert!(row_range(Some("a..b"), 100, "f").is_err());
        assert!(row_range(Some("7"), 100, "f").is_err());
    }
}
