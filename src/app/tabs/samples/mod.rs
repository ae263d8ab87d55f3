//! The Samples tab: dev digits with the model's readings, and the confusion matrix.

pub mod confusion;
pub mod sample_grid;
