//! The map's points as one `egui::Mesh` (a small octagon per digit, a cross over each mistake),
//! the colours by true label, and finding the point under the pointer.

use egui::{Color32, Mesh, Pos2, Rect, Vec2, pos2, vec2};

/// Matplotlib's `tab10`, one colour per label (labels past 9 wrap around).
pub const PALETTE: [Color32; 10] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(127, 127, 127),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(23, 190, 207),
];

pub fn label_colour(label: u8) -> Color32 {
    PALETTE[usize::from(label) % PALETTE.len()]
}

/// Screen position of map coordinates `[x, y]` in `rect`, for the view `bounds` `[x0, y0, x1, y1]`
/// (y up, as on a plot).
pub fn to_screen(rect: Rect, bounds: [f32; 4], [x, y]: [f32; 2]) -> Pos2 {
    let w = (bounds[2] - bounds[0]).max(1e-12);
    let h = (bounds[3] - bounds[1]).max(1e-12);
    pos2(
        rect.min.x + (x - bounds[0]) / w * rect.width(),
        rect.max.y - (y - bounds[1]) / h * rect.height(),
    )
}

/// Unit octagon corners: a dot of 8 triangles looks round at these sizes.
const OCTAGON: [Vec2; 8] = {
    const C: f32 = std::f32::consts::FRAC_1_SQRT_2;
    [
        vec2(1.0, 0.0),
        vec2(C, C),
        vec2(0.0, 1.0),
        vec2(-C, C),
        vec2(-1.0, 0.0),
        vec2(-C, -C),
        vec2(0.0, -1.0),
        vec2(C, -C),
    ]
};

/// A filled octagon of radius `r` at `p`.
fn dot(mesh: &mut Mesh, p: Pos2, r: f32, colour: Color32) {
    let centre = mesh.vertices.len() as u32;
    mesh.colored_vertex(p, colour);
    for corner in OCTAGON {
        mesh.colored_vertex(p + corner * r, colour);
    }
    for i in 0..8u32 {
        mesh.add_triangle(centre, centre + 1 + i, centre + 1 + (i + 1) % 8);
    }
}

/// A segment from `a` to `b`, `width` wide, as a quad.
fn segment(mesh: &mut Mesh, a: Pos2, b: Pos2, width: f32, colour: Color32) {
    let along = (b - a).normalized();
    let across = vec2(-along.y, along.x) * (width * 0.5);
    let first = mesh.vertices.len() as u32;
    for p in [a + across, b + across, b - across, a - across] {
        mesh.colored_vertex(p, colour);
    }
    mesh.add_triangle(first, first + 1, first + 2);
    mesh.add_triangle(first, first + 2, first + 3);
}

/// The points at screen positions `at`, coloured by `labels`; a mistake (`predicted` differs)
/// is drawn as a cross in its true label's colour over a dark-rimmed dot, on top of the rest.
pub fn points_mesh(at: &[Pos2], labels: &[u8], predicted: &[u8], radius: f32, rim: Color32) -> Mesh {
    let mut mesh = Mesh::default();
    let mistakes = at
        .iter()
        .zip(labels.iter().zip(predicted))
        .filter(|(_, (l, p))| l != p)
        .count();
    mesh.reserve_vertices(at.len() * 9 + mistakes * 17);
    mesh.reserve_triangles(at.len() * 8 + mistakes * 12);
    for (i, (&p, &label)) in at.iter().zip(labels).enumerate() {
        if predicted.get(i).is_none_or(|&q| q == label) {
            dot(&mut mesh, p, radius, label_colour(label));
        }
    }
    let arm = radius * 1.9;
    for (i, (&p, &label)) in at.iter().zip(labels).enumerate() {
        if predicted.get(i).is_some_and(|&q| q != label) {
            dot(&mut mesh, p, radius * 1.1, rim);
            let colour = label_colour(label);
            segment(&mut mesh, p + vec2(-arm, -arm), p + vec2(arm, arm), 2.0, colour);
            segment(&mut mesh, p + vec2(-arm, arm), p + vec2(arm, -arm), 2.0, colour);
        }
    }
    mesh
}

/// The index of the point nearest `pointer` within `reach` points, if any.
pub fn nearest(at: &[Pos2], pointer: Pos2, reach: f32) -> Option<usize> {
    let mut best = None;
    let mut best_d2 = reach * reach;
    for (i, p) in at.iter().enumerate() {
        let d2 = p.distance_sq(pointer);
        if d2 <= best_d2 {
            best_d2 = d2;
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_get_a_cross_and_every_point_a_dot() {
        let at = [pos2(10.0, 10.0), pos2(20.0, 20.0), pos2(30.0, 30.0)];
        let mesh = points_mesh(&at, &[1, 2, 3], &[1, 5, 3], 3.0, Color32::BLACK);
        // Two dots (9 vertices each), one rimmed dot and two bars for the mistake.
        assert_eq!(mesh.vertices.len(), 9 * 3 + 4 * 2);
        assert_eq!(mesh.indices.len(), 3 * (8 * 3 + 2 * 2));
        assert!(mesh.is_valid());
    }

    /// The time to build the mesh of 5,000 points (a tenth of them mistakes) and find the one
    /// under the pointer: `cargo test --lib mesh_time -- --ignored --nocapture`.
    #[test]
    #[ignore = "a timing, not a check"]
    fn mesh_time_of_5000_points() {
        let n = 5000;
        let at: Vec<Pos2> = (0..n)
            .map(|i| pos2((i * 37 % 800) as f32, (i * 91 % 700) as f32))
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let predicted: Vec<u8> = (0..n).map(|i| if i % 10 == 3 { 0 } else { (i % 10) as u8 }).collect();
        for _ in 0..5 {
            let start = std::time::Instant::now();
            let mesh = points_mesh(&at, &labels, &predicted, 2.2, Color32::BLACK);
            let built = start.elapsed();
            let start = std::time::Instant::now();
            let hit = nearest(&at, pos2(400.0, 300.0), 8.0);
            println!(
                "{n} points: mesh {:.2} ms ({} vertices), hit test {:.3} ms ({hit:?})",
                built.as_secs_f64() * 1e3,
                mesh.vertices.len(),
                start.elapsed().as_secs_f64() * 1e3
            );
        }
    }

    #[test]
    fn the_nearest_point_within_reach_is_found() {
        let at = [pos2(0.0, 0.0), pos2(10.0, 0.0)];
        assert_eq!(nearest(&at, pos2(8.0, 1.0), 5.0), Some(1));
        assert_eq!(nearest(&at, pos2(50.0, 50.0), 5.0), None);
    }

    #[test]
    fn map_coordinates_run_up_the_screen() {
        let rect = Rect::from_min_max(pos2(0.0, 0.0), pos2(100.0, 100.0));
        let b = [-1.0, -1.0, 1.0, 1.0];
        assert_eq!(to_screen(rect, b, [-1.0, -1.0]), pos2(0.0, 100.0));
        assert_eq!(to_screen(rect, b, [1.0, 1.0]), pos2(100.0, 0.0));
    }
}
