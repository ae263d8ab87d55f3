//! digit-recognizer: a from-scratch MLP for Kaggle's Digit Recognizer (MNIST).
//!
//! Layers, imported one way only: the core (`data`, `network`, `kernels`, `train`, `model_file`,
//! `preprocess`, `evaluate`, `attribution`, `augment`, `finetune`, `my_digits`, `trained`, `choice`, with `atomic`, `write_guard`, `embedded` and `bench`) never touches the UI; the
//! desktop app (`app`, behind the default `gui` feature) is built on the core; the command line
//! (`cli`) on both; `main` only calls `cli::main`.

#[cfg(feature = "gui")]
pub mod app;
pub mod atomic;
pub mod attribution;
pub mod augment;
pub mod bench;
pub mod choice;
pub mod cli;
pub mod data;
pub mod embedded;
pub mod evaluate;
pub mod finetune;
pub mod kernels;
pub mod model_file;
pub mod my_digits;
pub mod network;
pub mod preprocess;
pub mod train;
pub mod trained;
pub mod write_guard;
