//! Which preset reads which exports ([`Preset`]) and [`derive`], which runs it: canonical tables
//! and the reports of what each file held.

use std::sync::Arc;

use anyhow::Result;

use crate::ingest::schema::{BadRows, TableKind};
use crate::io::read::{Format, Source, Table};

use super::common::Derived;
use super::eventlog::EventLogSpec;
use super::shopify::ShopifySpec;
use super::{eventlog, shopify};

/// A preset and its settings, checked.
#[derive(Debug, Clone)]
pub enum Preset {
    /// An event log (REES46, or one described in cartsona.toml `[events]`), read from `files`.
    EventLog {
        name: &'static str,
        spec: Box<EventLogSpec>,
        files: Vec<Source>,
    },
    /// Shopify's orders export and abandoned-checkouts export.
    Shopify {
        spec: ShopifySpec,
        orders: Vec<Source>,
        checkouts: Vec<Source>,
    },
}

impl Preset {
    pub fn name(&self) -> &'static str {
        match self {
            Preset::EventLog { name, .. } => name,
            Preset::Shopify { .. } => "shopify",
        }
    }
}

/// Runs the preset over its exports.
pub fn derive(preset: &Preset, bad_rows: BadRows, delimiter: u8) -> Result<Derived> {
    match preset {
        Preset::EventLog { name, spec, files } => {
            eventlog::derive(name, spec, files, bad_rows, delimiter)
        }
        Preset::Shopify {
            spec,
            orders,
            checkouts,
        } => shopify::derive(spec, orders, checkouts, bad_rows, delimiter),
    }
}

/// Adds derived tables to the canonical inputs, as sources of their kind (after the files).
pub fn add_tables(
    files: &mut Vec<(TableKind, Vec<Source>)>,
    preset: &'static str,
    tables: Vec<(TableKind, Table)>,
) {
    for (kind, table) in tables {
        let src = Source {
            path: format!("{} (derived by preset {preset})", kind.name()).into(),
            format: Format::Derived,
            table: Some(Arc::new(table)),
        };
        match files.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, list)) => list.push(src),
            None => files.push((kind, vec![src])),
        }
    }
    files.sort_by_key(|(k, _)| *k);
}
