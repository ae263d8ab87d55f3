//! Which units of a wide layer the Math tab shows: the strongest few by |activation| or
//! |gradient|, plus any the user picked, never 512 unreadable thumbnails.

use serde::{Deserialize, Serialize};

/// Layers up to this wide show every unit.
pub const SHOW_ALL_UP_TO: usize = 32;
/// How many units a wider layer shows (before the picked ones).
pub const TOP: usize = 12;

/// What ranks the units of a wide layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RankBy {
    /// |Z| of the example shown: the units that speak loudest, on (Z > 0) or off (Z < 0), so
    /// ReLU's zeroed units show too.
    #[default]
    Activation,
    /// |dZ| of the example shown: what the step will change most.
    Gradient,
}

impl RankBy {
    pub fn title(self) -> &'static str {
        match self {
            RankBy::Activation => "|Z|, before ReLU",
            RankBy::Gradient => "|gradient|",
        }
    }
}

/// The units to show of a layer whose per-unit scores are `scores` (Z or dZ of one
/// example): all of them, in order, when the layer has at most [`SHOW_ALL_UP_TO`]; else the
/// `top` largest by |score| (ties by unit number), then the `picked` units not among them,
/// each at most once and in range.
pub fn shown_units(scores: &[f32], top: usize, picked: &[usize]) -> Vec<usize> {
    if scores.len() <= SHOW_ALL_UP_TO {
        return (0..scores.len()).collect();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].abs().total_cmp(&scores[a].abs()).then(a.cmp(&b)));
    order.truncate(top);
    for &unit in picked {
        if unit < scores.len() && !order.contains(&unit) {
            order.push(unit);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_layers_show_every_unit_in_order() {
        let scores = [0.0, 3.0, -1.0];
        assert_eq!(shown_units(&scores, 2, &[7]), vec![0, 1, 2]);
    }

    #[test]
    fn wide_layers_show_the_largest_by_size_then_the_picked_ones() {
        let mut scores = vec![0.0f32; 100];
        scores[40] = -5.0;
        scores[3] = 4.0;
        scores[77] = 4.0;
        scores[10] = 0.5;
        // -5 is the largest by size; the tie 4.0 goes to the lower unit number.
        assert_eq!(shown_units(&scores, 3, &[]), vec![40, 3, 77]);
        // Picked units come after, once each, out-of-range ones dropped.
        assert_eq!(shown_units(&scores, 3, &[77, 99, 99, 500]), vec![40, 3, 77, 99]);
        assert_eq!(shown_units(&scores, 4, &[]), vec![40, 3, 77, 10]);
    }
}
