//! The Map tab's work off the UI thread: the dev rows' activations at the chosen layer for the
//! model shown, projected on the axes in force (pinned, the current model's, or their own PCA).

use std::sync::Arc;

use crate::class_map::{MapLayer, Projection, activations};
use crate::data::Split;
use crate::network::Mlp;

use super::tour::{Coords, TOUR_AXES};

/// Axes the map projects on (the top [`TOUR_AXES`] principal axes, fewer for a narrower layer),
/// with the view's extent fitted to the points they were made from.
#[derive(Clone, Debug)]
pub struct Axes {
    pub projection: Arc<Projection>,
    pub layer: MapLayer,
    /// `[min x, min y, max x, max y]` of the points the axes were fitted on, on axes 1 and 2,
    /// with a margin.
    pub bounds: [f32; 4],
    /// Those points' largest distance from the origin over all the axes, with the same margin:
    /// no view of them (a grand tour's frame) reaches farther.
    pub reach: f32,
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
    /// Per row its coordinates on the axes, zero past the projection's axis count.
    pub coords: Vec<Coords>,
    pub labels: Vec<u8>,
    pub predicted: Vec<u8>,
    pub axes: Arc<Axes>,
}

/// The points' extent on axes 1 and 2 `[min x, min y, max x, max y]`, 6% larger on each side (a
/// unit square around the origin when they are all in one place).
pub fn fitted_bounds(coords: &[Coords]) -> [f32; 4] {
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for &[x, y, ..] in coords {
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

/// The points' largest distance from the origin over all their coordinates, 6% larger (1 when
/// there are none).
pub fn reach(coords: &[Coords]) -> f32 {
    if coords.is_empty() {
        return 1.0;
    }
    let farthest = coords
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum::<f32>())
        .fold(0.0f32, f32::max)
        .sqrt();
    (farthest * 1.06).max(1e-3)
}

/// `coords` `(rows, axes)`, `axes <= TOUR_AXES`, one padded row per point.
fn padded(coords: ndarray::Array2<f32>) -> Vec<Coords> {
    coords
        .rows()
        .into_iter()
        .map(|r| {
            let mut c = [0.0; TOUR_AXES];
            c.iter_mut().zip(r).for_each(|(c, &v)| *c = v);
            c
        })
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
        let mut projection = Projection::fit(acts.view(), TOUR_AXES);
        if let Some(previous) = previous.filter(|p| p.layer == layer) {
            projection.align_signs_with(&previous.projection);
        }
        let fitted = padded(projection.project(acts.view()));
        Arc::new(Axes {
            projection: Arc::new(projection),
            layer,
            bounds: fitted_bounds(&fitted),
            reach: reach(&fitted),
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
    let coords = padded(axes.projection.project(acts.view()));
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
        // Six axes per point, the first two as a two-axis fit gives them; the extent fits
        // axes 1 and 2 and the reach holds every point in any view.
        let acts = activations(&a, &split.dev.pixels[..200 * 784], layer);
        let two = Projection::fit(acts.view(), 2).project(acts.view());
        assert_eq!(own_a.axes.projection.axis_count(), TOUR_AXES);
        for (c, xy) in own_a.coords.iter().zip(two.rows()) {
            assert!((c[0] - xy[0]).abs() < 1e-4 && (c[1] - xy[1]).abs() < 1e-4);
        }
        let bounds = own_a.axes.bounds;
        assert!(
            own_a
                .coords
                .iter()
                .all(|c| { (bounds[0]..=bounds[2]).contains(&c[0]) && (bounds[1]..=bounds[3]).contains(&c[1]) })
        );
        let farthest = own_a
            .coords
            .iter()
            .map(|c| c.iter().map(|v| v * v).sum::<f32>().sqrt())
            .fold(0.0, f32::max);
        assert!(own_a.axes.reach >= farthest && own_a.axes.reach < farthest * 1.1);
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
