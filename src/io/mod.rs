//! The only modules that touch the file system: `read` for inputs, `write` for outputs.
pub mod read;
pub mod write;
