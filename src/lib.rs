//! cartsona: exported cart, order and engagement data in; cart-abandoner personas out.
//!
//! The modules are the stages of one data flow, declared in flow order (docs/ARCHITECTURE.md):
//! util <- io <- ingest <- features <- cluster <- propensity <- personas <- model <- drift <- outcomes
//! <- report <- cmd.
//! A stage may use the stages before it, never one after it (tests/architecture.rs checks this).
//! `cli` and `config` sit above the stages and are used by `cmd` and `main` only; `synth`, the
//! generator, stands apart.
pub mod util;

pub mod io;

pub mod ingest;

pub mod features;

pub mod cluster;

pub mod propensity;

pub mod personas;

pub mod model;

pub mod drift;

pub mod outcomes;

pub mod report;

pub mod cli;
pub mod cmd;
pub mod config;

pub mod synth;
