//! Micro-benchmarks of the hot kernels: `cargo bench` (divan). The whole-program comparison with
//! the Python references is `bench/run.sh`.

use digit_recognizer::data::{Expect, PIXELS, load_bytes};
use digit_recognizer::embedded;
use digit_recognizer::network::{Init, Input, Mlp, SparseBatch, Workspace, fill_inputs};
use divan::{Bencher, black_box};
use ndarray::Array2;

fn main() {
    divan::main();
}

/// A chunk of real rows as dense inputs, sparse inputs and labels.
fn chunk(rows: usize) -> (Array2<f32>, SparseBatch, Vec<u8>) {
    let data = embedded::sample().unwrap();
    let mut x = Array2::zeros((rows, PIXELS));
    fill_inputs(&mut x.view_mut(), &data.pixels[..rows * PIXELS]);
    let mut sparse = SparseBatch::new();
    sparse.push_images(&data.pixels[..rows * PIXELS]);
    (x, sparse, data.labels[..rows].to_vec())
}

/// Times one forward + backward pass of `rows` real rows through a fresh network.
fn bench_gradient(bencher: Bencher<'_, '_>, sizes: &[usize], init: Init, rows: usize, mode: &str) {
    let net = Mlp::new(sizes, init, 0);
    let (x, sparse, labels) = chunk(rows);
    let mut ws = Workspace::new(&net, rows);
    let mut grads = net.zeros_like();
    bencher.bench_local(|| {
        let input = if mode == "dense" {
            Input::Dense(x.view())
        } else {
            Input::sparse(sparse.csr())
        };
        black_box(net.accumulate_gradients(input, &labels, &mut ws, &mut grads, 0.0))
    });
}

/// Forward + backward of one 256-row chunk through the notebook's 784-10-10, dense vs sparse.
#[divan::bench(args = ["dense", "sparse"])]
fn seed_chunk_gradient(bencher: Bencher<'_, '_>, mode: &str) {
    bench_gradient(bencher, &[784, 10, 10], Init::Uniform, 256, mode);
}

/// Forward + backward of a 64-row half batch through 784-512-256-10 (one thread's share of a
/// batch of 128), dense vs sparse first layer.
#[divan::bench(args = ["dense", "sparse"])]
fn best_half_batch_gradient(bencher: Bencher<'_, '_>, mode: &str) {
    bench_gradient(bencher, &[784, 512, 256, 10], Init::He, 64, mode);
}

/// Parsing 5,000 rows of CSV (about 9 MB) from memory.
#[divan::bench]
fn parse_csv_5000_rows(bencher: Bencher<'_, '_>) {
    let data = embedded::sample().unwrap();
    let mut text = Vec::new();
    digit_recognizer::data::write_csv(&data, &mut text).unwrap();
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| load_bytes("sample", black_box(&text), Expect::Train).unwrap());
}

/// The dense products of a 64-row half batch through the 512-256 layer: `Z = A·W`, `dW += Aᵀ·dZ`
/// and `dA = dZ·Wᵀ`, with our kernel ("ours") and ndarray's `general_mat_mul` ("ndarray").
#[divan::bench(args = ["ours", "ndarray", "ours-z", "ours-dw", "ours-da"])]
fn hidden_layer_products(bencher: Bencher<'_, '_>, kernel: &str) {
    use digit_recognizer::kernels::{GemmScratch, matmul_into};
    use ndarray::linalg::general_mat_mul;
    let a = Array2::from_shape_fn((64, 512), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.1);
    let w = Array2::from_shape_fn((512, 256), |(i, j)| ((i * 5 + j) % 13) as f32 * 0.01);
    let dz = Array2::from_shape_fn((64, 256), |(i, j)| ((i + j * 2) % 9) as f32 * 0.01);
    let (mut z, mut dw, mut da) = (
        Array2::zeros((64, 256)),
        Array2::zeros((512, 256)),
        Array2::zeros((64, 512)),
    );
    let mut scratch = GemmScratch::default();
    bencher
        .counter(divan::counter::ItemsCount::new(3 * 2 * 64 * 512 * 256usize))
        .bench_local(|| {
            if kernel == "ours-z" {
                matmul_into(&a.view(), &w.view(), false, &mut z.view_mut(), &mut scratch);
            } else if kernel == "ours-dw" {
                matmul_into(&a.t(), &dz.view(), true, &mut dw.view_mut(), &mut scratch);
            } else if kernel == "ours-da" {
                matmul_into(&dz.view(), &w.t(), false, &mut da.view_mut(), &mut scratch);
            } else if kernel == "ours" {
                matmul_into(&a.view(), &w.view(), false, &mut z.view_mut(), &mut scratch);
                matmul_into(&a.t(), &dz.view(), true, &mut dw.view_mut(), &mut scratch);
                matmul_into(&dz.view(), &w.t(), false, &mut da.view_mut(), &mut scratch);
            } else {
                general_mat_mul(1.0, &a, &w, 0.0, &mut z);
                general_mat_mul(1.0, &a.t(), &dz, 1.0, &mut dw);
                general_mat_mul(1.0, &dz, &w.t(), 0.0, &mut da);
            }
            black_box((&z, &dw, &da));
        });
}
