//! The Draw tab: a canvas the model reads as you draw.

pub mod canvas;
