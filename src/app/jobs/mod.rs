//! Work off the UI thread: the job runner and the views' background computations.

pub mod background;
pub mod runner;
