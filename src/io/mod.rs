//! The only modules that touch the file system: `read` for inputs, `write` for outputs.
pub mod features_table;
pub mod read;
pub mod write;
