//! digit-recognizer: a from-scratch MLP for Kaggle's Digit Recognizer (MNIST).
//!
//! The core (`data`, `network`, `train`, `model_file`, `preprocess`, `predict`) never touches the
//! UI; the desktop app (`app`) and the command line (`cli`) are built on its typed API.

#[cfg(feature = "gui")]
pub mod app;
pub mod atomic;
pub mod bench;
pub mod cli;
pub mod data;
pub mod embedded;
pub mod evaluate;
pub mod kernels;
pub mod model_file;
pub mod network;
pub mod preprocess;
pub mod train;
