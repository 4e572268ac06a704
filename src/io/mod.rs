//! Files <-> bytes and cells, and nothing else: the only modules that touch the file system.
//!
//! `read` expands paths, globs and directories, recognises CSV, gzip and Parquet, and hands rows
//! to the caller in batches of cells, text or typed (with its file and line for messages); it also reads whole
//! text files (model.json, cartsona.toml) and finds a run directory's files. `write` puts bytes on
//! disk atomically: single files renamed into place, run directories staged beside their
//! destination (`StagedDir`), and tables streamed as CSV or Parquet. No knowledge of carts,
//! features or personas: the stages after `ingest` give meaning to the cells. May use `util`.
pub mod read;
pub mod write;
