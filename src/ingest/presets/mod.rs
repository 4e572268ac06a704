//! Presets: exports as stores and analytics tools write them, turned into the canonical carts,
//! orders and engagement (docs/presets.md) before validation, so every later stage is unchanged.
//!
//! A preset reads its exports through `io::read::scan` (so globs, directories of parts, `.csv.gz`
//! and Parquet work as for canonical inputs), checks the fields it needs row by row (naming the
//! file, line and column of each problem, and obeying `--on-bad-rows`), and returns canonical
//! [`Table`](crate::io::read::Table)s that then go through the ordinary validator like any other input. `choose` holds the
//! [`Preset`] type and [`derive`].

mod choose;
pub mod common;
pub mod eventlog;
pub mod shopify;

pub use choose::{add_tables, derive, Preset};
pub use common::Derived;
pub use eventlog::EventLogSpec;
pub use shopify::ShopifySpec;
