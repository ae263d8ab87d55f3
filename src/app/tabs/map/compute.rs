//! The Map tab's work off the UI thread: the dev rows' activations at the chosen layer for the
//! model shown, projected on the axes in force (pinned, the current model's, or their own PCA).

use std::sync::Arc;

use crate::class_map::{MapLayer, Projection, activations};
use crate::data::Split;
use crate::network::Mlp;

/// Axes the map projects on, with the view's extent fitted to the points they were made from.
#[derive(Clone, Debug)]
pub struct Axes {
    pub projection: Arc<Projection>,
    pub layer: MapLayer,
    /// `[min x, min y, max x, max y]` of the points the axes were fitted on, with a margin.
    pub bounds: [f32; 4],
    /// Which model state the axes come from ("run #2, step 400 of 1,000").
    pub source: String,
}

/// Where the axes come from.
#[derive(Clone, Debug)]
pub enum AxesFrom {
    /// Pinned by "Fix axes here" (the id tells pins apart).
    Pinned(u64, Arc<Axes>),
    /// The current model's PCA (the final model of a run): the model, its key and name, and its
    /// axes when already computed, else the axes on screen to align the new ones' signs with.
    Current(Arc<Mlp>, u64, String, Result<Arc<Axes>, Option<Arc<Axes>>>),
    /// The model shown's own PCA, signs aligned with the previous map's axes.
    Own(Option<Arc<Axes>>),
}

/// What one computation is for: a new key is a new computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobKey {
    pub model: u64,
    pub dev: u64,
    pub layer: MapLayer,
    pub points: usize,
    /// 0: own axes; the pin's id; or the current model's key (offset so they differ).
    pub axes: (u8, u64),
}

/// The map of the first `points` dev rows.
pub struct MapPoints {
    /// `(x, y)` per row, on the axes.
    pub coords: Vec<[f32; 2]>,
    pub labels: Vec<u8>,
    pub predicted: Vec<u8>,
    pub axes: Arc<Axes>,
}

/// The points' extent `[min x, min y, max x, max y]`, 6% larger on each side (a unit square
/// around the origin when they are all in one place).
pub fn fitted_bounds(coords: &[[f32; 2]]) -> [f32; 4] {
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for &[x, y] in coords {
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    if coords.is_empty() {
        return [-1.0, -1.0, 1.0, 1.0];
    }
    let pad = |lo: f32, hi: f32| {
        let margin = ((hi - lo) * 0.06).max(1e-3);
        (lo - margin, hi + margin)
    };
    let (x0, x1) = pad(b[0], b[2]);
    let (y0, y1) = pad(b[1], b[3]);
    [x0, y0, x1, y1]
}

fn xy(coords: ndarray::Array2<f32>) -> Vec<[f32; 2]> {
    coords
        .rows()
        .into_iter()
        .map(|r| [r.first().copied().unwrap_or(0.0), r.get(1).copied().unwrap_or(0.0)])
        .collect()
}

/// The map of the first `points` dev rows of `split` at `layer` of `model` (caption `shown`).
pub fn compute(
    model: &Mlp,
    shown: &str,
    split: &Split,
    layer: MapLayer,
    points: usize,
    axes: AxesFrom,
) -> Result<MapPoints, String> {
    let dev = &split.dev;
    if dev.image_pixels() != model.inputs() {
        return Err(format!(
            "The model reads {} inputs but the dev images have {} pixels.",
            model.inputs(),
            dev.image_pixels()
        ));
    }
    if layer.width(model).is_none() {
        return Err(format!("This model has no {layer}."));
    }
    let rows = points.min(dev.rows());
    let pixels = &dev.pixels[..rows * dev.image_pixels()];
    // acts: (rows, width)
    let acts = activations(model, pixels, layer);
    // The PCA of `acts` (of the model named `source`), signs aligned with `previous` (a map of
    // the same layer on screen) so that a refit does not mirror the picture.
    let fit = |acts: &ndarray::Array2<f32>, source: &str, previous: Option<&Axes>| {
        let mut projection = Projection::fit(acts.view(), 2);
        if let Some(previous) = previous.filter(|p| p.layer == layer) {
            projection.align_signs_with(&previous.projection);
        }
        let bounds = fitted_bounds(&xy(projection.project(acts.view())));
        Arc::new(Axes {
            projection: Arc::new(projection),
            layer,
            bounds,
            source: source.to_owned(),
        })
    };
    let axes = match axes {
        AxesFrom::Pinned(_, axes) | AxesFrom::Current(_, _, _, Ok(axes)) => {
            if axes.projection.width() != acts.ncols() || axes.layer != layer {
                return Err(format!(
                    "The fixed axes are for {} ({} wide); this model's {layer} is {} wide. Unpin them.",
                    axes.layer,
                    axes.projection.width(),
                    acts.ncols()
                ));
            }
            axes
        }
        // The model shown is the current one: its own activations give the axes.
        AxesFrom::Current(current, _, name, Err(previous)) if std::ptr::eq(&*current, model) => {
            fit(&acts, &name, previous.as_deref())
        }
        AxesFrom::Current(current, _, name, Err(previous)) => {
            fit(&activations(&current, pixels, layer), &name, previous.as_deref())
        }
        AxesFrom::Own(previous) => fit(&acts, shown, previous.as_deref()),
    };
    let coords = xy(axes.projection.project(acts.view()));
    let predicted = match layer {
        // The probabilities are already here.
        MapLayer::Output => acts
            .rows()
            .into_iter()
            .map(|p| crate::network::argmax(p.as_slice().unwrap_or(&[])) as u8)
            .collect(),
        MapLayer::Hidden(_) => model.predict(pixels),
    };
    Ok(MapPoints {
        coords,
        labels: dev.labels[..rows.min(dev.labels.len())].to_vec(),
        predicted,
        axes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Init;

    fn split() -> Split {
        let data = crate::embedded::sample().unwrap();
        data.split(300, 1)
    }

    #[test]
    fn fixed_axes_stay_while_the_model_changes_and_own_axes_refit() {
        let split = split();
        let a = Mlp::new(&[784, 20, 10], Init::He, 1);
        let b = Mlp::new(&[784, 20, 10], Init::He, 2);
        let layer = MapLayer::Hidden(0);
        let own_a = compute(&a, "a", &split, layer, 200, AxesFrom::Own(None)).unwrap();
        assert_eq!(own_a.coords.len(), 200);
        assert_eq!(own_a.labels, split.dev.labels[..200]);
        assert_eq!(own_a.predicted, a.predict(&split.dev.pixels[..200 * 784]));
        // b on a's axes: the same projection, other points.
        let pinned = compute(&b, "b", &split, layer, 200, AxesFrom::Pinned(1, own_a.axes.clone())).unwrap();
        assert!(Arc::ptr_eq(&pinned.axes, &own_a.axes));
        assert_ne!(pinned.coords, own_a.coords);
        // The current model's axes, computed here, equal a's own.
        let a = Arc::new(a);
        let current = compute(
            &b,
            "b",
            &split,
            layer,
            200,
            AxesFrom::Current(a.clone(), 7, "a".into(), Err(None)),
        )
        .unwrap();
        assert_eq!(current.axes.projection, own_a.axes.projection);
        assert_eq!(current.coords, pinned.coords);
        assert_eq!(current.axes.source, "a");
        // The current model shown: its own axes, computed once.
        let itself = compute(
            &a,
            "a",
            &split,
            layer,
            200,
            AxesFrom::Current(a.clone(), 7, "a".into(), Err(None)),
        )
        .unwrap();
        assert_eq!(itself.coords, own_a.coords);
        // Axes of another layer are refused with a message, not used.
        let err = compute(
            &b,
            "b",
            &split,
            MapLayer::Output,
            200,
            AxesFrom::Pinned(1, own_a.axes.clone()),
        );
        assert!(err.err().unwrap().contains("Unpin"));
    }
}
