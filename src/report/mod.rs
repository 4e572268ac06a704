//! Renderers: each takes the one [`Summary`] value (or the run's tables) and returns bytes; only
//! `io::write` puts them on disk. `summary` holds the value; `junit` is the one JUnit XML writer
//! of `drift` and `outcomes`.

pub mod charts;
pub mod drift;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod outcomes;
mod summary;
pub mod tables;
pub mod targeting;

pub use crate::util::numfmt::{money, pct1};
pub use summary::{features_summary_path, Clustered, FeaturesSummary, RunFound, Summary};
