//! The model: the personas, scaler and settings of a run in, model.json's text out (and back),
//! everything `assign` and `drift` need to reuse a run without refitting (docs/personas.md,
//! "model.json"); and `identity`, which keeps persona ids and names stable across runs.
//!
//! `format` holds the versioned types and their JSON; `identity` matches a run's personas to a
//! baseline model's; `holdout` decides each shopper's arm (docs/outcomes.md); `sql` writes the
//! model as a query that assigns a features table in a warehouse (`assign --emit-sql`);
//! `listing` carries each shopper's first listing since the holdout split began from run to run
//! (its `listed.csv` is read through `io::read`); `run_dir` owns the run directory: its file
//! names, reading a run back, writing the rendered files (all through `io`); `arms` decides a
//! run's arms and first listings; `segmented` takes a run from its clustering matrix to settled,
//! assessed personas. May use every stage before it (util, features, cluster,
//! personas).

pub mod arms;
pub mod format;
pub mod holdout;
pub mod identity;
pub mod listing;
pub mod run_dir;
pub mod segmented;
pub mod sql;
pub mod variants;

pub use format::{Model, ModelPersona, RunConfig, FORMAT_VERSION};
