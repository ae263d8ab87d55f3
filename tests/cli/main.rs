//! The command line run as a user runs it, one module per area: the commands and their errors,
//! other data sets, `explain`, fine-tuning (core and command), and `trace`.

#[path = "../common/mod.rs"]
mod common;

mod commands;
mod datasets;
mod explain;
mod finetune;
mod map;
mod resume;
mod run_folder;
mod trace;
