//! Drift: two runs in (read back by `model::run_dir`), a [`compare::DriftReport`] out: every check with its
//! numbers and status (docs/drift.md), for `report::drift` to render and `cmd::drift` to turn into
//! an exit code.
//!
//! `compare` runs the five groups of checks in order (shares, centroids, features, migration,
//! personas); `stats` holds the distribution measures they use (PSI, KS). May use every stage
//! before it (util, io, features, model).
pub mod compare;
pub mod stats;
