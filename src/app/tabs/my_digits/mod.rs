//! The My digits tab: the user's labelled digits, fine-tuning on them, and undo.

pub mod collection;
pub mod kept_finetune;
pub mod panel;
pub mod picture_queue;
pub mod saver;
