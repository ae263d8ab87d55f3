//! The class map: digits as points in 2-D, from one layer of the network. Each row's activations
//! at a chosen layer (a hidden layer after its ReLU, or the output probabilities), computed by
//! the network's own forward pass, are projected linearly onto the layer's principal axes
//! ([`Projection`], in `pca.rs`). The projection is linear, so when the same axes are kept while
//! the model changes, a point that moves on screen moved because the network changed.
//!
//! Used by the `map` command (`row,label,predicted,x,y` CSV, [`write_csv`]) and the app's Map tab.

mod pca;

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use ndarray::{Array2, s};
pub use pca::{Projection, top_eigenvectors};

use crate::atomic::write_atomic;
use crate::data::csv_to_io_error;
use crate::network::{Mlp, Workspace, fill_inputs};

/// The first line of a map CSV written by `map` (the write guard knows such a file by it).
pub const MAP_HEADER: [&str; 5] = ["row", "label", "predicted", "x", "y"];

/// The layer whose activations are mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MapLayer {
    /// Hidden layer `i` (0 = the first), after its ReLU: the notebook's `A{i+1}`.
    Hidden(usize),
    /// The output probabilities (softmax).
    Output,
}

impl MapLayer {
    /// Every layer of `model` that can be mapped: its hidden layers, then the output.
    pub fn all(model: &Mlp) -> Vec<MapLayer> {
        let hidden = model.layers.len().saturating_sub(1);
        (0..hidden)
            .map(MapLayer::Hidden)
            .chain(std::iter::once(MapLayer::Output))
            .collect()
    }

    /// Activations per row at this layer of `model`, or None when `model` has no such layer.
    pub fn width(self, model: &Mlp) -> Option<usize> {
        match self {
            MapLayer::Hidden(i) if i + 1 < model.layers.len() => Some(model.layers[i].outputs()),
            MapLayer::Hidden(_) => None,
            MapLayer::Output => model.layers.last().map(|l| l.outputs()),
        }
    }

    /// How the command line names it: `1` for the first hidden layer, `output`.
    pub fn flag(self) -> String {
        match self {
            MapLayer::Hidden(i) => (i + 1).to_string(),
            MapLayer::Output => "output".into(),
        }
    }

    /// "hidden layer 1 (128 units)", "output (10 probabilities)" for `model`.
    pub fn describe(self, model: &Mlp) -> String {
        let width = self.width(model).unwrap_or(0);
        match self {
            MapLayer::Hidden(i) => format!("hidden layer {} ({width} units)", i + 1),
            MapLayer::Output => format!("output ({width} probabilities)"),
        }
    }

    /// Reads `--layer`: `1`..`H` for the hidden layers (as the notebook's `A1`), `output` (or
    /// `H+1`, the notebook's last `A`) for the probabilities. The error names the layers `model`
    /// has.
    pub fn parse(text: &str, model: &Mlp) -> Result<MapLayer, String> {
        let hidden = model.layers.len().saturating_sub(1);
        let text = text.trim();
        let layer = if text.eq_ignore_ascii_case("output") || text.eq_ignore_ascii_case("out") {
            Some(MapLayer::Output)
        } else {
            match text.parse::<usize>() {
                Ok(n) if (1..=hidden).contains(&n) => Some(MapLayer::Hidden(n - 1)),
                Ok(n) if n == hidden + 1 => Some(MapLayer::Output),
                _ => None,
            }
        };
        layer.ok_or_else(|| {
            let sizes = model.sizes().iter().map(usize::to_string).collect::<Vec<_>>().join("-");
            let choices = MapLayer::all(model)
                .into_iter()
                .map(|l| format!("{} = {}", l.flag(), l.describe(model)))
                .collect::<Vec<_>>()
                .join(", ");
            format!("layer {text:?} does not exist: this {sizes} network has {choices}")
        })
    }
}

impl fmt::Display for MapLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapLayer::Hidden(i) => write!(f, "hidden layer {}", i + 1),
            MapLayer::Output => write!(f, "output"),
        }
    }
}

/// Rows per forward chunk: the activations of a chunk stay in cache.
const CHUNK: usize = Mlp::PREDICT_CHUNK;

/// The activations at `layer` of `model` for u8 images (`rows * inputs` values): `(rows, width)`,
/// from the network's own forward pass ([`Mlp::hidden_activations`] for a hidden layer,
/// [`Mlp::predict_proba`] for the output), dropout off. Panics if `model` has no such layer
/// (check with [`MapLayer::width`]).
pub fn activations(model: &Mlp, pixels: &[u8], layer: MapLayer) -> Array2<f32> {
    let index = match layer {
        MapLayer::Output => return model.predict_proba(pixels),
        MapLayer::Hidden(i) => i,
    };
    let width = layer.width(model).expect("the model has this hidden layer");
    let inputs = model.inputs().max(1);
    let rows = pixels.len() / inputs;
    // out: (rows, width); x: (CHUNK, inputs), one chunk's scaled pixels
    let mut out = Array2::zeros((rows, width));
    let mut x = Array2::zeros((CHUNK.min(rows.max(1)), inputs));
    let mut ws = Workspace::new(model, x.nrows());
    for start in (0..rows).step_by(CHUNK) {
        let n = CHUNK.min(rows - start);
        fill_inputs(
            &mut x.slice_mut(s![..n, ..]),
            &pixels[start * inputs..(start + n) * inputs],
        );
        let acts = model.hidden_activations(x.slice(s![..n, ..]), &mut ws, index);
        out.slice_mut(s![start..start + n, ..]).assign(&acts[index]);
    }
    out
}

/// Rows mapped: their coordinates on the axes, and the projection used.
#[derive(Clone, Debug)]
pub struct ClassMap {
    pub layer: MapLayer,
    /// `(rows, axes)`: each row's coordinates on the projection's axes (x, y, then any more).
    pub coords: Array2<f32>,
    pub projection: Projection,
}

/// Maps the images `pixels` at `layer` of `model`: onto `axes` (kept fixed, e.g. from another
/// model state) when given and as wide as the layer, else onto the top `count` principal axes
/// of these very activations.
pub fn map_rows(model: &Mlp, pixels: &[u8], layer: MapLayer, axes: Option<&Projection>, count: usize) -> ClassMap {
    let acts = activations(model, pixels, layer);
    let projection = match axes {
        Some(p) if p.width() == acts.ncols() => p.clone(),
        _ => Projection::fit(acts.view(), count),
    };
    ClassMap {
        layer,
        coords: projection.project(acts.view()),
        projection,
    }
}

/// One mapped row, as the CSV writes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MapRow {
    /// The data row (0 = the first after the header).
    pub row: usize,
    /// None for an unlabelled (test) CSV: the column is then empty.
    pub label: Option<u8>,
    pub predicted: u8,
    pub x: f32,
    pub y: f32,
}

/// Writes `row,label,predicted,x,y` (the label empty when unknown; a map with fewer than two axes
/// has y = 0), LF line ends.
pub fn write_csv_to(rows: &[MapRow], out: &mut impl Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(MAP_HEADER).map_err(csv_to_io_error)?;
    for r in rows {
        let label = r.label.map(|l| l.to_string()).unwrap_or_default();
        writer
            .write_record([
                r.row.to_string(),
                label,
                r.predicted.to_string(),
                r.x.to_string(),
                r.y.to_string(),
            ])
            .map_err(csv_to_io_error)?;
    }
    writer.flush()
}

/// Writes the map CSV atomically (see [`write_csv_to`]).
pub fn write_csv(path: &Path, rows: &[MapRow]) -> io::Result<()> {
    write_atomic(path, |w| write_csv_to(rows, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Init;

    fn images(rows: usize, inputs: usize) -> Vec<u8> {
        (0..rows * inputs)
            .map(|i| ((i * 31 + i / inputs * 7) % 256) as u8)
            .collect()
    }

    #[test]
    fn hidden_activations_are_the_relu_of_the_first_layer() {
        let model = Mlp::new(&[16, 6, 5, 3], Init::He, 3);
        let pixels = images(300, 16);
        let acts = activations(&model, &pixels, MapLayer::Hidden(0));
        // A1 = ReLU(X·W1 + b1), written out by hand.
        for (r, row) in acts.rows().into_iter().enumerate() {
            for u in 0..6 {
                let z: f32 = (0..16)
                    .map(|i| f32::from(pixels[r * 16 + i]) / 255.0 * model.layers[0].w[[i, u]])
                    .sum::<f32>()
                    + model.layers[0].b[u];
                assert!((row[u] - z.max(0.0)).abs() < 1e-5);
            }
        }
        // The second hidden layer, across chunk borders, equals one pass over all rows.
        let second = activations(&model, &pixels, MapLayer::Hidden(1));
        let mut x = Array2::zeros((300, 16));
        fill_inputs(&mut x.view_mut(), &pixels);
        let mut ws = Workspace::new(&model, 300);
        let whole = model.hidden_activations(x.view(), &mut ws, 1);
        assert_eq!(second, whole[1]);
        assert_eq!(
            activations(&model, &pixels, MapLayer::Output),
            model.predict_proba(&pixels)
        );
    }

    #[test]
    fn layers_parse_by_number_or_output_and_errors_name_the_choices() {
        let model = Mlp::new(&[16, 8, 4, 3], Init::He, 1);
        assert_eq!(MapLayer::parse("1", &model), Ok(MapLayer::Hidden(0)));
        assert_eq!(MapLayer::parse("2", &model), Ok(MapLayer::Hidden(1)));
        assert_eq!(MapLayer::parse("3", &model), Ok(MapLayer::Output));
        assert_eq!(MapLayer::parse("Output", &model), Ok(MapLayer::Output));
        let err = MapLayer::parse("4", &model).unwrap_err();
        assert!(err.contains("16-8-4-3"), "{err}");
        assert!(err.contains("1 = hidden layer 1 (8 units)"), "{err}");
        assert!(err.contains("output = output (3 probabilities)"), "{err}");
        assert!(MapLayer::parse("0", &model).is_err());
        assert!(MapLayer::parse("x", &model).is_err());
        assert_eq!(MapLayer::all(&model).len(), 3);
        assert_eq!(MapLayer::Hidden(5).width(&model), None);
    }

    #[test]
    fn fixed_axes_are_reused_and_a_refit_equals_the_pca_of_the_activations() {
        let a = Mlp::new(&[16, 12, 3], Init::He, 1);
        let b = Mlp::new(&[16, 12, 3], Init::He, 2);
        let pixels = images(200, 16);
        let map_a = map_rows(&a, &pixels, MapLayer::Hidden(0), None, 2);
        let acts_a = activations(&a, &pixels, MapLayer::Hidden(0));
        assert_eq!(map_a.projection, Projection::fit(acts_a.view(), 2));
        // b on a's axes: a's projection applied to b's activations.
        let map_b = map_rows(&b, &pixels, MapLayer::Hidden(0), Some(&map_a.projection), 2);
        assert_eq!(map_b.projection, map_a.projection);
        let acts_b = activations(&b, &pixels, MapLayer::Hidden(0));
        assert_eq!(map_b.coords, map_a.projection.project(acts_b.view()));
        // Axes of another width are not used: refitted instead.
        let map_out = map_rows(&b, &pixels, MapLayer::Output, Some(&map_a.projection), 2);
        assert_eq!(map_out.projection.width(), 3);
        // The map's coordinates are centred: their mean is 0 on each axis.
        for axis in map_a.coords.columns() {
            assert!(axis.mean().unwrap().abs() < 1e-4);
        }
    }

    #[test]
    fn the_csv_leaves_an_unknown_label_empty() {
        let rows = [
            MapRow {
                row: 0,
                label: Some(7),
                predicted: 7,
                x: 1.5,
                y: -0.25,
            },
            MapRow {
                row: 1,
                label: None,
                predicted: 3,
                x: 0.0,
                y: 2.0,
            },
        ];
        let mut out = Vec::new();
        write_csv_to(&rows, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "row,label,predicted,x,y\n0,7,7,1.5,-0.25\n1,,3,0,2\n"
        );
    }
}
