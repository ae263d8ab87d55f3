//! The gradient of one step, summed over the batch's rows on worker threads.
//!
//! The rows are cut into chunks of at most [`CHUNK_ROWS`], small enough that a chunk's
//! activations stay in cache. The chunk size depends on the batch size only, and each chunk draws
//! its dropout masks and shifts from its own seeded random stream. A mini-batch (at most
//! [`MAX_KEPT_CHUNKS`] chunks) keeps each chunk's forward and backward pass for the update, which
//! makes the gradient from them by parameter rows ([`super::update`]); a full batch sums
//! partial gradients per group of chunks, added in a fixed order (see [`batch_gradients`]). Either
//! way the sum is the same bits whatever the number of threads and whichever thread ran which
//! chunk. [`batch_gradients`] returns a [`StepGradient`] that says which of the two it left, and
//! [`Workers::apply_update`] takes it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::optimizer::OptimizerState;
use super::pool::Pool;
use super::update::{GradientParts, apply_update};
use super::{FirstLayer, TrainConfig};
use crate::augment::{Distortion, distort};
use crate::data::Dataset;
use crate::kernels::{Csr, CsrBuf};
use crate::network::{BatchStats, ChunkInput, Gradients, Input, Mlp, SparseBatch, Workspace, fill_shifted};

/// Rows per chunk at most: small enough that a chunk's activations stay in cache.
const CHUNK_ROWS: usize = 256;

/// Rows per chunk for batches of `batch` rows: at least two chunks per batch, so that two cores
/// get work even on mini-batches; fixed rather than derived from the thread count, so that the
/// result does not depend on it. (More, smaller chunks would give more cores work on a batch of
/// 128, but cost 2 cores 15% per epoch of 784-512-256-10 with 4 chunks of 32 rows, measured; the
/// update after the gradient uses every thread.)
pub(super) fn chunk_rows(batch: usize) -> usize {
    CHUNK_ROWS.min(batch.div_ceil(2)).max(1)
}

/// Number of worker threads when the config leaves it to us: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
}

/// Threads at most: beyond the [`MAX_GROUPS`] partial gradients of a step more threads find no
/// work.
const MAX_THREADS: usize = MAX_GROUPS;

/// Threads for training beside a window: every core up to 2 cores, one fewer above. On 2 cores
/// the UI thread mostly sleeps and a training thread it slows hands its groups of rows to the
/// other (see [`batch_gradients`]), so giving it a core of its own would halve the speed; with
/// more cores one can be spared for it.
pub fn threads_beside_a_ui() -> usize {
    let cores = default_threads();
    if cores > 2 { cores - 1 } else { cores }
}

/// The worker threads for a config's `threads` setting (0 = [`default_threads`]).
pub(super) fn worker_threads(requested: usize) -> usize {
    if requested == 0 {
        default_threads()
    } else {
        requested.min(MAX_THREADS)
    }
}

/// At most this many partial gradients per step (see [`batch_gradients`]).
const MAX_GROUPS: usize = 16;

/// Per-thread workspaces, and the buffers [`batch_gradients`] fills for the update: the chunks'
/// passes (few chunks) or partial gradients (many).
pub(super) struct Workers {
    /// One per thread of `pool`; thread `i` locks workspace `i` only.
    workspaces: Vec<Mutex<Workspace>>,
    /// One partial gradient and its statistics per group of chunks.
    groups: Vec<Mutex<(Gradients, BatchStats)>>,
    /// One workspace per chunk of a step of at most [`MAX_KEPT_CHUNKS`], holding its passes until
    /// the update takes the gradient from them by parameter rows.
    chunk_spaces: Vec<RwLock<Workspace>>,
    /// Where the update makes a step's gradient by parameter rows from kept chunks.
    made_gradient: Option<Gradients>,
    /// The threads that compute gradients and update the parameters.
    pool: Pool,
}

/// What [`batch_gradients`] computed for one step: the loss and accuracy counts of its rows, and
/// the gradient of their summed loss, in the form it left it in the [`Workers`]' buffers. The
/// update ([`Workers::apply_update`]) takes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct StepGradient {
    pub(super) stats: BatchStats,
    /// The rows the gradient is summed over (the update divides by their count).
    pub(super) rows: usize,
    pub(super) parts: GradientLeft,
}

/// Where a [`StepGradient`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GradientLeft {
    /// Partial sums in the first `groups` of [`Workers::groups`], to be added in order.
    Partials { groups: usize },
    /// Each chunk's passes in the first `chunks` of [`Workers::chunk_spaces`], from which the
    /// update makes the gradient by parameter rows.
    Kept { chunks: usize },
}

/// Steps of at most this many chunks keep each chunk's passes for the update by parameter rows
/// ([`super::update`]); larger ones (full batches) sum partial gradients instead, since
/// keeping 41,000 rows' activations would take hundreds of megabytes.
const MAX_KEPT_CHUNKS: usize = MAX_GROUPS;

impl Workers {
    /// `threads` workspaces for chunks of up to `chunk_rows` rows through `model`.
    pub(super) fn new(model: &Mlp, threads: usize, chunk_rows: usize) -> Workers {
        let threads = threads.max(1);
        Workers {
            workspaces: (0..threads)
                .map(|_| Mutex::new(Workspace::new(model, chunk_rows)))
                .collect(),
            groups: Vec::new(),
            chunk_spaces: Vec::new(),
            made_gradient: None,
            pool: Pool::new(threads - 1),
        }
    }

    /// One optimizer step with the gradient [`batch_gradients`] computed.
    pub(super) fn apply_update(
        &mut self,
        model: &mut Mlp,
        gradient: &StepGradient,
        state: &mut OptimizerState,
        config: &TrainConfig,
        alpha: f32,
    ) {
        let parts = match gradient.parts {
            GradientLeft::Partials { groups } => GradientParts::Partials(
                self.groups[..groups]
                    .iter_mut()
                    .map(|slot| &slot.get_mut().unwrap_or_else(PoisonError::into_inner).0)
                    .collect(),
            ),
            GradientLeft::Kept { chunks } => GradientParts::Kept {
                chunks: &self.chunk_spaces[..chunks],
                buffer: self.made_gradient.get_or_insert_with(|| model.zeros_like()),
            },
        };
        apply_update(
            model,
            parts,
            state,
            config,
            alpha,
            gradient.rows,
            &self.workspaces,
            &mut self.pool,
        );
    }
}

/// The loss gradient over `rows`, left in `workers`' buffers as the returned [`StepGradient`]
/// says. Returns `None` if cancelled midway.
///
/// The rows are cut into fixed chunks, and consecutive chunks into at most [`MAX_GROUPS`]
/// groups. The threads take groups as they finish the previous one, so a thread slowed down
/// (by the UI's repaint, say) leaves more of the work to the others instead of holding up the
/// step. Each group sums its chunks in order and the groups are added in order, so the result
/// does not depend on which thread did what, nor on how many threads there are.
pub(super) fn batch_gradients(
    model: &Mlp,
    data: &Inputs<'_>,
    rows: &[usize],
    config: &TrainConfig,
    step: usize,
    workers: &mut Workers,
    cancel: &AtomicBool,
) -> Option<StepGradient> {
    let capacity = workers.workspaces[0]
        .get_mut()
        .unwrap_or_else(PoisonError::into_inner)
        .capacity();
    let chunks: Vec<&[usize]> = rows.chunks(capacity).collect();
    if chunks.len() <= MAX_KEPT_CHUNKS {
        return kept_chunk_passes(model, data, &chunks, config, step, workers, cancel);
    }
    let per_group = chunks.len().div_ceil(MAX_GROUPS).max(1);
    let groups = chunks.len().div_ceil(per_group);
    while workers.groups.len() < groups {
        workers
            .groups
            .push(Mutex::new((model.zeros_like(), BatchStats::default())));
    }
    let next_group = AtomicUsize::new(0);
    let cancelled = AtomicBool::new(false);
    let (group_slots, chunks, workspaces) = (&workers.groups, &chunks, &workers.workspaces);
    let run = |ws: &mut Workspace| -> Option<()> {
        let mut labels = Vec::with_capacity(capacity);
        loop {
            let g = next_group.fetch_add(1, Ordering::Relaxed);
            if g >= groups {
                return Some(());
            }
            let mut slot = group_slots[g].lock().unwrap_or_else(PoisonError::into_inner);
            let (grads, stats) = &mut *slot;
            grads.fill_zero();
            *stats = BatchStats::default();
            for (c, chunk) in chunks.iter().enumerate().skip(g * per_group).take(per_group) {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                ws.rng = chunk_rng(config.seed, step, c);
                labels.clear();
                labels.extend(chunk.iter().map(|&r| data.data.labels[r]));
                stats.add(data.accumulate_chunk(model, chunk, &labels, config, ws, Some(grads)));
            }
        }
    };
    workers.pool.run(&|thread| {
        let mut ws = workspaces[thread].lock().unwrap_or_else(PoisonError::into_inner);
        if run(&mut ws).is_none() {
            cancelled.store(true, Ordering::Relaxed);
        }
    });
    let finished = !cancelled.load(Ordering::Relaxed);
    if !finished {
        return None;
    }
    // The statistics added in group order; the gradients are added by the update
    // ([`Workers::apply_update`]).
    let mut total = BatchStats::default();
    for slot in &mut workers.groups[..groups] {
        total.add(slot.get_mut().unwrap_or_else(PoisonError::into_inner).1);
    }
    Some(StepGradient {
        stats: total,
        rows: rows.len(),
        parts: GradientLeft::Partials { groups },
    })
}

/// [`batch_gradients`] for a step of few chunks (of up to the workspaces' capacity): runs each chunk's
/// forward and backward pass in its own workspace and keeps them there; the update makes the
/// gradient from them ([`super::update`]). The threads take chunks as they finish the previous
/// one.
fn kept_chunk_passes(
    model: &Mlp,
    data: &Inputs<'_>,
    chunks: &[&[usize]],
    config: &TrainConfig,
    step: usize,
    workers: &mut Workers,
    cancel: &AtomicBool,
) -> Option<StepGradient> {
    // Sized for the longest chunk any step has, not this step's: a resumed run's first batch
    // may be an epoch's short last one.
    let capacity = workers.workspaces[0]
        .get_mut()
        .unwrap_or_else(PoisonError::into_inner)
        .capacity();
    while workers.chunk_spaces.len() < chunks.len() {
        workers.chunk_spaces.push(RwLock::new(Workspace::new(model, capacity)));
    }
    let stats: Vec<Mutex<BatchStats>> = chunks.iter().map(|_| Mutex::new(BatchStats::default())).collect();
    let next_chunk = AtomicUsize::new(0);
    let cancelled = AtomicBool::new(false);
    let spaces = &workers.chunk_spaces;
    workers.pool.run(&|_| {
        let mut labels = Vec::with_capacity(capacity);
        loop {
            let c = next_chunk.fetch_add(1, Ordering::Relaxed);
            if c >= chunks.len() {
                return;
            }
            if cancel.load(Ordering::Relaxed) {
                cancelled.store(true, Ordering::Relaxed);
                return;
            }
            let mut ws = spaces[c].write().unwrap_or_else(PoisonError::into_inner);
            ws.rng = chunk_rng(config.seed, step, c);
            labels.clear();
            labels.extend(chunks[c].iter().map(|&r| data.data.labels[r]));
            let chunk_stats = data.accumulate_chunk(model, chunks[c], &labels, config, &mut ws, None);
            *stats[c].lock().unwrap_or_else(PoisonError::into_inner) = chunk_stats;
        }
    });
    if cancelled.load(Ordering::Relaxed) {
        return None;
    }
    // Added in chunk order.
    let mut total = BatchStats::default();
    for chunk_stats in stats {
        total.add(chunk_stats.into_inner().unwrap_or_else(PoisonError::into_inner));
    }
    Some(StepGradient {
        stats: total,
        rows: chunks.iter().map(|c| c.len()).sum(),
        parts: GradientLeft::Kept { chunks: chunks.len() },
    })
}

/// One random stream per (seed, step, chunk): independent of which thread runs the chunk.
fn chunk_rng(seed: u64, step: usize, chunk: usize) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((step as u64) << 20) ^ chunk as u64)
}

/// Whether the first layer should read only the non-zero pixels: when they are few enough for
/// the sparse product to beat the dense one. The sparse product's time grows with the share of
/// non-zero pixels (`density`), the dense one's does not; where they cross depends on the
/// layer's width. Measured on 2 cores (`bench/run.sh`'s "first layer" rows, docs/performance.md)
/// with MNIST (19% non-zero), MNIST with noise (43%) and inverted MNIST (99%): for 10 units
/// sparse wins at 19% (2.6x) and 43% (1.5x) and loses at 99% (0.7x), crossing near 70%; for 512
/// units it wins at 19% (1.1-1.2x) and loses at 43% (0.8x), crossing near 25-30%.
pub(super) fn sparse_pays(density: f64, outputs: usize) -> bool {
    let crossover = if outputs <= 64 { 0.6 } else { 0.25 };
    density <= crossover
}

/// Share of the pixels that are not zero (0 for no rows); `None` if cancelled meanwhile (42,000
/// rows are 33 MB to scan, and Stop must not wait for it).
pub(super) fn pixel_density(data: &Dataset, cancel: &AtomicBool) -> Option<f64> {
    let mut nonzero = 0;
    for block in data.pixels.chunks(1 << 20) {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        nonzero += block.iter().filter(|&&p| p != 0).count();
    }
    Some(nonzero as f64 / data.pixels.len().max(1) as f64)
}

/// The training rows as the network consumes them.
pub(super) struct Inputs<'a> {
    data: &'a Dataset,
    /// Non-zero pixels of every row, found once per run, when the first layer reads them.
    nonzero: Option<NonZeroPixels>,
}

impl<'a> Inputs<'a> {
    /// `fixed_chunks`: the chunk size when every step cuts rows `0..n` into the same chunks,
    /// whose transposes are then made once here. `None` if cancelled while preparing.
    pub(super) fn new(
        data: &'a Dataset,
        model: &Mlp,
        mode: FirstLayer,
        fixed_chunks: Option<usize>,
        cancel: &AtomicBool,
    ) -> Option<Inputs<'a>> {
        let sparse = match mode {
            FirstLayer::Auto => sparse_pays(pixel_density(data, cancel)?, model.layers[0].outputs()),
            FirstLayer::Dense => false,
            FirstLayer::Sparse => true,
        };
        let nonzero = if sparse {
            Some(NonZeroPixels::new(data, fixed_chunks, cancel)?)
        } else {
            None
        };
        Some(Inputs { data, nonzero })
    }

    /// Loads the chunk's rows (shifted, or turned and resized, at random when augmenting) and
    /// adds their gradient to `grads`, or without `grads` keeps the chunk's passes in `ws`
    /// ([`Mlp::forward_backward`]).
    fn accumulate_chunk(
        &self,
        model: &Mlp,
        rows: &[usize],
        labels: &[u8],
        config: &TrainConfig,
        ws: &mut Workspace,
        grads: Option<&mut Gradients>,
    ) -> BatchStats {
        let max = i32::from(config.augment_shift);
        let shift = |ws: &mut Workspace| {
            if max == 0 {
                (0, 0)
            } else {
                (ws.rng.random_range(-max..=max), ws.rng.random_range(-max..=max))
            }
        };
        let affine = config.augments_affine().then_some(Distortion {
            rotate_degrees: config.augment_rotate,
            scale: config.augment_scale,
            shift: f32::from(config.augment_shift),
            elastic: config.augment_elastic,
        });
        // One resampled image at a time (784 bytes for a chunk, beside its activations).
        let mut warped = vec![0u8; if affine.is_some() { self.data.image_pixels() } else { 0 }];
        match &self.nonzero {
            // Consecutive rows without augmentation (full batch): a view of the stored rows.
            Some(nonzero) if grads.is_some() && !config.augments() && rows.windows(2).all(|w| w[1] == w[0] + 1) => {
                let grads = grads.expect("checked above");
                let images = nonzero.images.csr().row_range(rows[0], rows[0] + rows.len());
                let by_pixel = nonzero.transposed_chunk(rows[0], rows.len());
                model.accumulate_smoothed_gradients(
                    Input::Sparse { images, by_pixel },
                    labels,
                    ws,
                    grads,
                    config.dropout,
                    config.label_smoothing,
                )
            }
            Some(nonzero) => {
                let mut batch = std::mem::take(&mut ws.sparse);
                batch.clear();
                for &r in rows {
                    if let Some(limits) = &affine {
                        distort(self.data.image(r), self.data.side, limits, &mut ws.rng, &mut warped);
                        batch.push_images(&warped);
                        continue;
                    }
                    match shift(ws) {
                        (0, 0) => batch.push_row_of(nonzero.images.csr(), r),
                        (dx, dy) => batch.push_row(nonzero.shifted_row(r, dx, dy)),
                    }
                }
                ws.sparse = batch;
                model.forward_backward(
                    ChunkInput::Sparse,
                    labels,
                    ws,
                    grads,
                    config.dropout,
                    config.label_smoothing,
                )
            }
            None => {
                let mut x = std::mem::take(&mut ws.x);
                for (i, &r) in rows.iter().enumerate() {
                    let mut row = x.row_mut(i);
                    let row = row.as_slice_mut().expect("rows are contiguous");
                    match &affine {
                        Some(limits) => {
                            distort(self.data.image(r), self.data.side, limits, &mut ws.rng, &mut warped);
                            fill_shifted(row, &warped, 0, 0);
                        }
                        None => {
                            let (dx, dy) = shift(ws);
                            fill_shifted(row, self.data.image(r), dx, dy);
                        }
                    }
                }
                ws.x = x;
                model.forward_backward(
                    ChunkInput::Dense,
                    labels,
                    ws,
                    grads,
                    config.dropout,
                    config.label_smoothing,
                )
            }
        }
    }
}

/// The non-zero pixels of every image (CSR), about a fifth of the pixels, and the transposes of
/// the fixed chunks when there are some.
struct NonZeroPixels {
    images: SparseBatch,
    /// `(chunk rows, transposes)`: chunk `c` covers rows `c * chunk rows ..`.
    transposed: Option<(usize, Vec<CsrBuf>)>,
    /// Side of the square images.
    side: i32,
}

impl NonZeroPixels {
    /// Scans every image once; `None` if cancelled meanwhile (the scan of 42,000 rows takes
    /// tens of milliseconds, and Stop must not wait for it).
    fn new(data: &Dataset, fixed_chunks: Option<usize>, cancel: &AtomicBool) -> Option<NonZeroPixels> {
        let mut images = SparseBatch::with_width(data.image_pixels());
        // MNIST is about 19% non-zero, so this rarely grows.
        images.reserve(data.rows(), data.pixels.len() / 4);
        for block in data.pixels.chunks(1024 * data.image_pixels()) {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            images.push_images(block);
        }
        let transposed = match fixed_chunks {
            Some(chunk) => {
                let all = images.csr();
                let mut chunks = Vec::with_capacity(all.rows().div_ceil(chunk));
                for start in (0..all.rows()).step_by(chunk) {
                    if cancel.load(Ordering::Relaxed) {
                        return None;
                    }
                    let end = (start + chunk).min(all.rows());
                    chunks.push(CsrBuf::transpose(all.row_range(start, end)));
                }
                Some((chunk, chunks))
            }
            None => None,
        };
        Some(NonZeroPixels {
            images,
            transposed,
            side: data.side as i32,
        })
    }

    /// The transpose of rows `start..start + len` if that is one of the fixed chunks.
    fn transposed_chunk(&self, start: usize, len: usize) -> Option<Csr<'_>> {
        let (chunk, chunks) = self.transposed.as_ref()?;
        let t = chunks.get(start / chunk)?;
        (start.is_multiple_of(*chunk) && t.view().width() == len).then(|| t.view())
    }

    /// Row `r`'s entries moved by `(dx, dy)` pixels; pixels shifted off the image are dropped.
    fn shifted_row(&self, r: usize, dx: i32, dy: i32) -> impl Iterator<Item = (u16, u8)> + '_ {
        let (columns, pixels) = self.images.csr().row(r);
        let side = self.side;
        columns.iter().zip(pixels).filter_map(move |(&column, &pixel)| {
            let (x, y) = (i32::from(column) % side + dx, i32::from(column) / side + dy);
            let inside = (0..side).contains(&x) && (0..side).contains(&y);
            inside.then_some(((y * side + x) as u16, pixel))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Split;
    use crate::network::Mlp;
    use crate::train::test_support::{run, small_split};
    use crate::train::{FirstLayer, Length, Optimizer, Preset, TrainConfig};

    /// The models `config` trains on `split` with each of `threads`.
    fn models_on_threads(config: &TrainConfig, split: &Split, threads: &[usize]) -> Vec<Mlp> {
        threads
            .iter()
            .map(|&threads| {
                run(
                    &TrainConfig {
                        threads,
                        ..config.clone()
                    },
                    split,
                )
                .0
            })
            .collect()
    }

    #[test]
    fn thread_count_does_not_change_the_model() {
        let split = small_split();
        // Full batch over many chunks (the grouped path) and mini-batches, each with the sparse
        // first layer with its transposes, the sparse one with shifts, and the dense one.
        // Adam with a layer wide enough that the update is split between the threads too.
        // The last with rotations, resizing and label smoothing.
        for (batch_size, hidden, shift, optimizer, rotate) in [
            (0, 10, 0, Optimizer::Gd, 0.0),
            (0, 10, 1, Optimizer::Gd, 0.0),
            (64, 10, 0, Optimizer::Gd, 0.0),
            (0, 80, 0, Optimizer::Gd, 0.0),
            (64, 48, 1, Optimizer::Adam, 0.0),
            (64, 48, 1, Optimizer::Adam, 10.0),
        ] {
            let config = TrainConfig {
                batch_size,
                hidden: vec![hidden],
                augment_shift: shift,
                augment_rotate: rotate,
                augment_scale: rotate / 100.0,
                label_smoothing: rotate / 100.0,
                optimizer,
                length: Length::Iterations(4),
                dev_size: 0,
                ..TrainConfig::preset(Preset::Seed)
            };
            let models = models_on_threads(&config, &split, &[1, 2, 3, 5]);
            let case = format!("batch {batch_size} hidden {hidden} shift {shift} rotate {rotate}");
            for other in &models[1..] {
                assert_eq!(&models[0], other, "{case}");
            }
        }
    }

    #[test]
    fn full_batches_of_many_chunks_give_the_same_model_on_any_thread_count() {
        // More chunks than are kept for the update by rows: the partial gradients' path.
        let split = crate::embedded::sample().unwrap().split(200, 3);
        let rows = split.train.rows();
        assert!(rows.div_ceil(super::chunk_rows(rows)) > super::MAX_KEPT_CHUNKS);
        for optimizer in [Optimizer::Gd, Optimizer::Adam] {
            let config = TrainConfig {
                hidden: vec![48],
                optimizer,
                length: Length::Iterations(3),
                dev_size: 0,
                ..TrainConfig::preset(Preset::Seed)
            };
            let models = models_on_threads(&config, &split, &[1, 2, 3]);
            assert_eq!(models[0], models[1], "{optimizer:?}");
            assert_eq!(models[0], models[2], "{optimizer:?}");
        }
    }

    #[test]
    fn the_first_layer_follows_the_density_of_the_pixels() {
        use std::sync::atomic::AtomicBool;

        use super::{Inputs, pixel_density, sparse_pays};
        use crate::network::Init;

        // The crossovers measured (see `sparse_pays`): narrow layers stay sparse longer.
        assert!(sparse_pays(0.19, 10) && sparse_pays(0.19, 512));
        assert!(sparse_pays(0.43, 10) && !sparse_pays(0.43, 512));
        assert!(!sparse_pays(0.99, 10) && !sparse_pays(0.99, 512));

        let digits = small_split().train;
        let mut inverted = digits.clone();
        inverted.pixels.iter_mut().for_each(|p| *p = 255 - *p);
        let never = AtomicBool::new(false);
        let (sparse, dense) = (
            pixel_density(&digits, &never).unwrap(),
            pixel_density(&inverted, &never).unwrap(),
        );
        assert!((0.1..0.3).contains(&sparse), "MNIST is about 19% ink: {sparse}");
        assert!(dense > 0.9, "inverted, only the pixels that were 255 are zero: {dense}");
        let cancel = AtomicBool::new(false);
        for width in [10, 512] {
            let model = Mlp::new(&[784, width, 10], Init::He, 0);
            let reads_sparse = |data| {
                Inputs::new(data, &model, FirstLayer::Auto, None, &cancel)
                    .unwrap()
                    .nonzero
                    .is_some()
            };
            assert!(reads_sparse(&digits), "width {width}");
            assert!(!reads_sparse(&inverted), "width {width}");
        }
    }

    #[test]
    fn sparse_and_dense_first_layers_agree() {
        let split = small_split();
        for (shift, rotate) in [(0, 0.0), (1, 0.0), (1, 10.0)] {
            let mut config = TrainConfig::preset(Preset::Seed);
            config.length = Length::Iterations(30);
            config.augment_shift = shift;
            config.augment_rotate = rotate;
            config.first_layer = FirstLayer::Sparse;
            let (sparse, _) = run(&config, &split);
            config.first_layer = FirstLayer::Dense;
            let (dense, _) = run(&config, &split);
            for (a, b) in sparse.layers.iter().zip(&dense.layers) {
                let diff = a.w.iter().zip(&b.w).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
                assert!(
                    diff < 1e-4,
                    "shift {shift} rotate {rotate}: max weight difference {diff}"
                );
            }
        }
    }

    #[test]
    fn chunks_are_fixed_by_the_batch_size() {
        assert_eq!(super::chunk_rows(41_000), super::CHUNK_ROWS);
        assert_eq!(super::chunk_rows(128), 64);
        assert_eq!(super::chunk_rows(1), 1);
        assert_eq!(super::worker_threads(5), 5);
        assert_eq!(super::worker_threads(0), super::default_threads());
    }
}
