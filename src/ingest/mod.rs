//! Ingest: input files (through `io`) in, one validated [`schema::Dataset`] and a
//! [`load::ValidationReport`] out.
//!
//! `schema` declares the canonical tables (their columns, types and the typed rows of a dataset);
//! `load` reads every file through `io::read::scan`, checks each row against the schema and counts
//! what it rejected, by file, line, column and reason; `presets` turn real exports (event logs,
//! Shopify) into canonical tables first, so one validator serves every input; `inputs` reads a
//! command's exports and files together; `seen` keeps the order ids read so far for `load`. May
//! use `util` and `io`.

pub mod inputs;
pub mod load;
pub mod presets;
pub mod schema;
pub mod seen;
