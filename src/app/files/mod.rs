//! Files: the actions table, the file dialog, dropped files, the path field, and the jobs that
//! write the user's files.

pub mod actions;
pub mod dialog;
pub mod drop;
pub mod path_field;
pub mod replace_prompt;
pub mod save;
