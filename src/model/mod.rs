//! The model: the personas, scaler and settings of a run in, model.json's text out (and back),
//! everything `assign` and `drift` need to reuse a run without refitting (docs/personas.md,
//! "model.json"); and `identity`, which keeps persona ids and names stable across runs.
//!
//! `format` holds the versioned types and their JSON; `identity` matches a run's personas to a
//! baseline model's; `holdout` decides each shopper's arm (docs/outcomes.md); `sql` writes the
//! model as a query that assigns a features table in a warehouse (`assign --emit-sql`);
//! `listing` carries each shopper's first listing since the holdout split began from run to run
//! (its `listed.csv` is read through `io::read`). Otherwise no file access: callers read and
//! write the text through `io`. May use every stage before it (util,
//! features, cluster, personas).
pub mod format;
pub mod holdout;
pub mod identity;
pub mod listing;
pub mod sql;

pub use format::{Model, ModelPersona, RunConfig, FORMAT_VERSION};
