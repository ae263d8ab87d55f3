//! The library under hostile and unusual input, one module per area: fuzzed CSV files, hostile
//! model files and pictures, re-drawn digits, and My digits surviving kills.

#[path = "../common/mod.rs"]
mod common;

mod drawn_digits;
mod fuzz_csv;
mod hostile_files;
mod my_digits_kill;
