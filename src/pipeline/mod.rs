//! The stages, each a plain function from the previous stage's value to its own:
//! read (in `io`) -> schema -> features -> matrix -> cluster -> personas -> outputs (in `io`).
pub mod assign;
pub mod drift;
pub mod features;
pub mod kmeans;
pub mod lineage;
pub mod matrix;
pub mod personas;
pub mod presets;
pub mod project;
pub mod schema;
pub mod select;
pub mod sql;
