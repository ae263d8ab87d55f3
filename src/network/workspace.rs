//! What a pass reads and where it works: a chunk's [`Input`] (pixels scaled to [0, 1], or their
//! non-zero entries), the pixels scaled into rows ([`fill_inputs`], [`fill_shifted`]), and the
//! [`Workspace`] of buffers a chunk's forward and backward passes reuse from step to step.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{ChunkInput, Mlp, SparseBatch};
use crate::kernels::{Csr, GemmScratch, SparseScratch};

/// Scales u8 pixels to [0, 1] into `x` `(n, pixels per image)`.
pub fn fill_inputs(x: &mut ArrayViewMut2<'_, f32>, pixels: &[u8]) {
    let width = x.ncols().max(1);
    for (mut row, image) in x.rows_mut().into_iter().zip(pixels.chunks_exact(width)) {
        for (v, &p) in row.iter_mut().zip(image) {
            *v = f32::from(p) * (1.0 / 255.0);
        }
    }
}

/// Like [`fill_inputs`] for one image, shifted by `(dx, dy)` pixels (zeros shifted in): the
/// cheap augmentation used by the `best` preset.
pub fn fill_shifted(row: &mut [f32], image: &[u8], dx: i32, dy: i32) {
    if dx == 0 && dy == 0 {
        // The common case (no augmentation) as one straight loop the compiler vectorises: left
        // to the bounds-checked loop below it ran scalar and cost the dense first layer 10-24%
        // (measured after the train/ split changed the inlining). Same values, same rounding.
        let n = image.len();
        for (v, &p) in row.iter_mut().zip(image) {
            *v = f32::from(p) * (1.0 / 255.0);
        }
        if let Some(rest) = row.get_mut(n..) {
            rest.fill(0.0);
        }
        return;
    }
    row.fill(0.0);
    // The image is square: its side from its length (28 for the Digit Recognizer).
    let side = image.len().isqrt() as i32;
    for y in 0..side {
        let sy = y - dy;
        if !(0..side).contains(&sy) {
            continue;
        }
        for x in 0..side {
            let sx = x - dx;
            if (0..side).contains(&sx) {
                row[(y * side + x) as usize] = f32::from(image[(sy * side + sx) as usize]) * (1.0 / 255.0);
            }
        }
    }
}

/// A chunk of inputs for [`Mlp::accumulate_gradients`].
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// `(n, 784)` pixels scaled to [0, 1].
    Dense(ArrayView2<'a, f32>),
    /// The same images as their non-zero pixels (about a fifth of MNIST's), and optionally the
    /// transpose of `images` (rows are pixels, columns the images' indices), which makes the dW1
    /// product a faster gather.
    Sparse { images: Csr<'a>, by_pixel: Option<Csr<'a>> },
}

impl<'a> Input<'a> {
    /// Sparse images without their transpose.
    pub fn sparse(images: Csr<'a>) -> Input<'a> {
        Input::Sparse { images, by_pixel: None }
    }

    pub fn rows(&self) -> usize {
        match self {
            Input::Dense(x) => x.nrows(),
            Input::Sparse { images, .. } => images.rows(),
        }
    }

    /// The same input borrowed for a shorter time (an ndarray view cannot shorten its lifetime
    /// by itself), so that it can stand where a layer's activations also can.
    pub(super) fn reborrow(&self) -> Input<'_> {
        match self {
            Input::Dense(x) => Input::Dense(x.view()),
            Input::Sparse { images, by_pixel } => Input::Sparse {
                images: *images,
                by_pixel: *by_pixel,
            },
        }
    }
}

/// Buffers for one chunk of up to `capacity` rows, reused across steps so the training loop does
/// not allocate.
pub struct Workspace {
    /// `acts[l]`: `(capacity, outputs_l)`, A_l for hidden layers, logits then dZ for the last.
    pub(super) acts: Vec<Array2<f32>>,
    /// `deltas[l]`: `(capacity, outputs_l)`, dZ_l for hidden layers.
    pub(super) deltas: Vec<Array2<f32>>,
    /// Inputs scaled to [0, 1]: `(capacity, 784)`.
    pub x: Array2<f32>,
    /// Inputs as non-zero pixels, for narrow first layers.
    pub sparse: SparseBatch,
    /// Padded copies for the sparse first layer.
    pub(super) scratch: SparseScratch,
    /// Packed copies for the dense products.
    pub(super) gemm: GemmScratch,
    /// Draws dropout masks and augmentation shifts.
    pub rng: StdRng,
    /// The input and rows of the chunk whose passes [`Mlp::forward_backward`] kept here.
    pub(super) kept: Option<(ChunkInput, usize)>,
}

impl Workspace {
    pub fn new(net: &Mlp, capacity: usize) -> Workspace {
        let buffers = || {
            net.layers
                .iter()
                .map(|l| Array2::zeros((capacity, l.outputs())))
                .collect()
        };
        Workspace {
            acts: buffers(),
            deltas: buffers(),
            x: Array2::zeros((capacity, net.layers[0].inputs())),
            sparse: SparseBatch::with_width(net.layers[0].inputs()),
            scratch: SparseScratch::default(),
            gemm: GemmScratch::default(),
            rng: StdRng::seed_from_u64(0),
            kept: None,
        }
    }

    pub fn capacity(&self) -> usize {
        self.x.nrows()
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::{fill_inputs, fill_shifted};
    use crate::data::{PIXELS, SIDE};

    #[test]
    fn shifted_fill_moves_pixels() {
        let mut image = vec![0u8; PIXELS];
        image[14 * SIDE + 14] = 255;
        let mut row = vec![0.0; PIXELS];
        fill_shifted(&mut row, &image, 2, -1);
        assert_eq!(row[13 * SIDE + 16], 1.0);
        assert_eq!(row.iter().filter(|&&v| v > 0.0).count(), 1);
    }

    #[test]
    fn unshifted_fill_is_the_plain_scaling_and_clears_the_rest() {
        let image: Vec<u8> = (0..PIXELS).map(|i| (i * 7 % 256) as u8).collect();
        // A row longer than an image (stale values after it) must come out as the image, then zeros.
        let mut row = vec![9.0; PIXELS + 5];
        fill_shifted(&mut row, &image, 0, 0);
        let mut plain = Array2::zeros((1, PIXELS));
        fill_inputs(&mut plain.view_mut(), &image);
        assert_eq!(&row[..PIXELS], plain.as_slice().unwrap());
        assert!(row[PIXELS..].iter().all(|&v| v == 0.0));
        // And a shift of zero pixels in one direction agrees with the general loop's values.
        let mut shifted = vec![0.0; PIXELS];
        fill_shifted(&mut shifted, &image, 0, 1);
        assert_eq!(&shifted[SIDE..], &row[..PIXELS - SIDE]);
    }
}
