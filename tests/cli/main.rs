//! The command line run as a user runs it, one module per area: the commands and their errors,
//! other data sets, `explain`, and fine-tuning (core and command).

#[path = "../common/mod.rs"]
mod common;

mod commands;
mod datasets;
mod explain;
mod finetune;
mod resume;
