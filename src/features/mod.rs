//! Features: a [`crate::ingest::schema::Dataset`] and the windows in, one row per abandoner as of
//! T out ([`compute::FeatureTable`]).
//!
//! `catalogue` is the one list of features (kind, transform, categories, the inputs each needs,
//! imputation): everything else that names features (the SQL, the clustering matrix, the reader of
//! precomputed tables, drift, the reports) reads it, so adding a feature means one catalogue row,
//! its formula in `compute` and its expression in `sql` (docs/ARCHITECTURE.md, "Adding a
//! feature"). `table` reads a features table computed elsewhere (`--features`). May use `util`,
//! `io` and `ingest`.
pub mod catalogue;
pub mod compute;
pub mod sql;
pub mod table;
