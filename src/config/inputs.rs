//! The inputs of a run, from the flags and `[inputs]`/`[columns]` of cartsona.toml (flags win):
//! canonical files or a preset's exports, expanded to sources, and how to read them (delimiter,
//! bad rows, column names, epoch unit). Out: [`Inputs`], checked; nothing is read yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::file::{Loaded, Paths};
use super::setting::{Key, Origin, Setting};
use crate::cli::{InputArgs, OnBadRows, PresetName, SqlDialect};
use crate::features::sql::Dialect;
use crate::ingest::presets::{EventLogSpec, Preset};
use crate::ingest::schema::{BadRows, ReadSettings, TableKind};
use crate::io::read::{self, CsvOptions, Source};
use crate::util::timefmt;

pub use super::keys::inputs::*;

/// The inputs of a run, checked and expanded.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Canonical inputs.
    pub files: Vec<(TableKind, Vec<Source>)>,
    /// Exports a preset turns into canonical tables.
    pub preset: Option<Preset>,
    pub read: ReadSettings,
}

fn parse_delimiter(raw: &str, origin: &str) -> Result<u8> {
    match raw {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        s => bail!("{origin} '{s}': the delimiter must be one ASCII character (or `tab`)"),
    }
}

fn resolve(base: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// Paths given by a flag or the file (the file's relative to its directory), with their origin.
struct Given(Option<Setting<Vec<PathBuf>>>);

impl Given {
    fn new(loaded: &Loaded, key: Key, flag: &[PathBuf], file: &Option<Paths>) -> Given {
        let flag = (!flag.is_empty()).then(|| flag.to_vec());
        let file = file.clone().map(|p| {
            p.into_vec()
                .into_iter()
                .map(|p| resolve(&loaded.base, p))
                .collect()
        });
        Given(loaded.layer(key, flag, file))
    }

    fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|s| s.value.is_empty())
    }

    /// The sources, messages naming where the paths were given; none when nothing was.
    fn expand(&self) -> Result<Vec<Source>> {
        match &self.0 {
            Some(s) if !s.value.is_empty() => read::expand(&s.value, &s.origin.to_string()),
            _ => Ok(Vec::new()),
        }
    }
}

impl Inputs {
    pub fn from(args: &InputArgs, loaded: &Loaded) -> Result<Inputs> {
        let f = &loaded.file.inputs;
        let carts = Given::new(loaded, CARTS, &args.carts, &f.carts);
        let orders = Given::new(loaded, ORDERS, &args.orders, &f.orders);
        let events = Given::new(loaded, EVENTS, &args.events, &f.events);
        let mut files = Vec::new();
        let preset = match loaded.layer(PRESET, args.preset, f.preset) {
            None => {
                if !events.is_empty() {
                    bail!("--events is read by an event-log preset: add --preset rees46, or --preset events with an [events] table in cartsona.toml (docs/presets.md)");
                }
                if carts.is_empty() {
                    bail!("no carts input: pass --carts PATH (or set [inputs] carts in cartsona.toml), or read an export with --preset (docs/presets.md)");
                }
                files.push((TableKind::Carts, carts.expand()?));
                if !orders.is_empty() {
                    files.push((TableKind::Orders, orders.expand()?));
                }
                None
            }
            Some(preset) => Some(preset_inputs(loaded, &preset, &carts, &orders, &events)?),
        };
        let engagement = Given::new(loaded, ENGAGEMENT, &args.engagement, &f.engagement);
        if !engagement.is_empty() {
            files.push((TableKind::Engagement, engagement.expand()?));
        }
        Ok(Inputs {
            files,
            preset,
            read: read_settings(args, loaded)?,
        })
    }

    /// Only canonical orders (the readout of `outcomes`).
    pub fn orders(args: &InputArgs, loaded: &Loaded) -> Result<Inputs> {
        Ok(Inputs {
            files: vec![(TableKind::Orders, read::expand(&args.orders, "--orders")?)],
            preset: None,
            read: read_settings(args, loaded)?,
        })
    }
}

/// The exports a preset reads, checked against what else was given; messages name the preset
/// as it was given (`--preset rees46` or the file's `[inputs] preset`).
fn preset_inputs(
    loaded: &Loaded,
    preset: &Setting<PresetName>,
    carts: &Given,
    orders: &Given,
    events: &Given,
) -> Result<Preset> {
    let name = match preset.value {
        PresetName::Rees46 => "rees46",
        PresetName::Events => "events",
        PresetName::Shopify => "shopify",
    };
    let given = match &preset.origin {
        Origin::Flag(_) => format!("--preset {name}"),
        other => format!("{other} '{name}'"),
    };
    if preset.value == PresetName::Shopify {
        if !events.is_empty() {
            bail!("{given} reads the abandoned-checkouts export (--carts) and the orders export (--orders), not --events");
        }
        if carts.is_empty() {
            bail!("{given}: pass the abandoned-checkouts export as --carts PATH (and the orders export as --orders PATH)");
        }
        return Ok(Preset::Shopify {
            spec: loaded.file.shopify.unwrap_or_default(),
            checkouts: carts.expand()?,
            orders: orders.expand()?,
        });
    }
    if !carts.is_empty() || !orders.is_empty() {
        bail!("{given} derives carts and orders from the event log: drop --carts and --orders (--engagement may add canonical engagement)");
    }
    if events.is_empty() {
        bail!("{given} reads an event log: pass --events PATH (or set [inputs] events in cartsona.toml)");
    }
    let spec = match preset.value {
        PresetName::Rees46 => EventLogSpec::rees46(),
        _ => match &loaded.file.events {
            Some(c) => EventLogSpec::from_config(c, &loaded.name())?,
            None => bail!("{given} needs an [events] table in cartsona.toml naming the log's columns and event names; `cartsona init --preset ga4` (or segment) writes one (docs/presets.md)"),
        },
    };
    Ok(Preset::EventLog {
        name,
        spec: Box::new(spec),
        files: events.expand()?,
    })
}

/// The delimiter, the bad-rows choice and the column mapping (flags, then `[inputs]`).
fn read_settings(args: &InputArgs, loaded: &Loaded) -> Result<ReadSettings> {
    let f = &loaded.file.inputs;
    let delimiter = match loaded.layer(DELIMITER, args.delimiter.clone(), f.delimiter.clone()) {
        Some(s) => parse_delimiter(&s.value, &s.origin.to_string())?,
        None => b',',
    };
    Ok(ReadSettings {
        csv: CsvOptions { delimiter },
        bad_rows: loaded
            .layer(ON_BAD_ROWS, args.on_bad_rows, f.on_bad_rows)
            .map_or(BadRows::Fail, |s| bad_rows(s.value)),
        columns: column_mapping(loaded)?,
        epochs: epoch_unit(loaded)?,
    })
}

/// `[columns] epochs`, checked.
fn epoch_unit(loaded: &Loaded) -> Result<Option<timefmt::EpochUnit>> {
    match &loaded.file.columns.epochs {
        None => Ok(None),
        Some(raw) => timefmt::EpochUnit::parse(raw).map(Some).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: [columns] epochs '{raw}': not a unit; use s, ms, us or ns",
                loaded.name()
            )
        }),
    }
}

/// `[columns.*]` of cartsona.toml, checked: canonical column -> the export's (or table's) name.
pub(super) fn column_mapping(
    loaded: &Loaded,
) -> Result<BTreeMap<TableKind, BTreeMap<String, String>>> {
    let cfg_name = loaded.name();
    let mut columns = BTreeMap::new();
    let cols = &loaded.file.columns;
    for (kind, map) in [
        (TableKind::Carts, &cols.carts),
        (TableKind::Orders, &cols.orders),
        (TableKind::Engagement, &cols.engagement),
    ] {
        for canonical in map.keys() {
            if !kind.columns().iter().any(|c| c.name == canonical) {
                let known: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
                bail!(
                    "{cfg_name}: [columns.{}] {canonical}: not a {} column; the columns are: {}",
                    kind.name(),
                    kind.name(),
                    known.join(", ")
                );
            }
        }
        if !map.is_empty() {
            columns.insert(kind, map.clone());
        }
    }
    Ok(columns)
}

/// The ingest stage's choice for bad rows.
pub fn bad_rows(mode: OnBadRows) -> BadRows {
    match mode {
        OnBadRows::Fail => BadRows::Fail,
        OnBadRows::Skip => BadRows::Skip,
    }
}

/// The SQL stage's dialect.
pub fn dialect(d: SqlDialect) -> Dialect {
    match d {
        SqlDialect::Duckdb => Dialect::Duckdb,
        SqlDialect::Spark => Dialect::Spark,
        SqlDialect::Bigquery => Dialect::Bigquery,
        SqlDialect::Postgres => Dialect::Postgres,
    }
}
