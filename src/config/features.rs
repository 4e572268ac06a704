//! The feature settings (the as-of time, the windows A < L <= H, the information pages) from the
//! flags and `[features]` (flags win), or from a model for `assign`; and the settings of
//! `features --emit-sql` (`[sql]`). Out: `FeatureParams` and `SqlSpec`, checked.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use regex::Regex;

use super::file::Loaded;
use super::inputs::column_mapping;
use super::setting::{Key, Origin, Setting};
use crate::cli::FeatureArgs;
use crate::features::compute::FeatureParams;
use crate::ingest::schema::TableKind;
use crate::model::Model;
use crate::util::timefmt;

pub use super::keys::features::*;

/// Builds the feature settings from flags and the file (defaults: `FeatureParams::default()`).
pub fn feature_params(args: &FeatureArgs, loaded: &Loaded) -> Result<FeatureParams> {
    let f = &loaded.file.features;
    let default = FeatureParams::default();
    let duration = |key: Key, flag: &Option<String>, file: &Option<String>, default: i64| {
        loaded.duration_or(key, flag, file, default, key != ABANDON_AFTER)
    };
    let as_of = match loaded.layer(AS_OF, args.as_of.clone(), f.as_of.clone()) {
        None => None,
        Some(s) => Some(timefmt::parse_timestamp(&s.value).ok_or_else(|| {
            anyhow::anyhow!(
                "{} '{}': not a timestamp (use RFC 3339 like 2025-01-31T00:00:00Z, or YYYY-MM-DD)",
                s.origin,
                s.value
            )
        })?),
    };
    let info_pages = match loaded.layer(INFO_PAGES, args.info_pages.clone(), f.info_pages.clone()) {
        None => default.info_pages,
        Some(s) => Regex::new(&format!("(?i){}", s.value))
            .map_err(|e| anyhow::anyhow!("{}: not a valid regular expression: {e}", s.origin))?,
    };
    let windows = WindowSettings {
        abandon_after: duration(
            ABANDON_AFTER,
            &args.abandon_after,
            &f.abandon_after,
            default.abandon_after,
        )?,
        lookback: duration(LOOKBACK, &args.lookback, &f.lookback, default.lookback)?,
        history: duration(HISTORY, &args.history, &f.history, default.history)?,
    };
    windows.check()?;
    Ok(FeatureParams {
        as_of,
        abandon_after: windows.abandon_after.value,
        lookback: windows.lookback.value,
        history: windows.history.value,
        info_pages,
    })
}

/// The three windows of the features, each with where it came from.
struct WindowSettings {
    abandon_after: Setting<i64>,
    lookback: Setting<i64>,
    history: Setting<i64>,
}

impl WindowSettings {
    /// The windows must nest: A < L <= H; the message names where each came from.
    fn check(&self) -> Result<()> {
        let (a, l, h) = (&self.abandon_after, &self.lookback, &self.history);
        let shown = |s: &Setting<i64>| timefmt::format_duration(s.value);
        if l.value <= a.value {
            bail!(
                "{} ({}) must be longer than {} ({})",
                l.origin,
                shown(l),
                a.origin,
                shown(a)
            );
        }
        if h.value < l.value {
            bail!(
                "{} ({}) must be at least {} ({})",
                h.origin,
                shown(h),
                l.origin,
                shown(l)
            );
        }
        Ok(())
    }
}

/// The feature settings of `assign`: the model's windows and page pattern (checked as the
/// flags would be, naming the model's keys), with the as-of time from `--as-of` or the data.
pub fn assign_params(
    model: &Model,
    model_path: &Path,
    as_of: Option<&str>,
) -> Result<FeatureParams> {
    let dur = |key: &'static str, v: &str| -> Result<Setting<i64>> {
        let value = timefmt::parse_duration(v)
            .map_err(|e| anyhow::anyhow!("{}: {key} in the model: {e}", model_path.display()))?;
        Ok(Setting {
            value,
            origin: Origin::Model {
                path: model_path.display().to_string(),
                key,
            },
        })
    };
    let windows = WindowSettings {
        abandon_after: dur("abandon_after", &model.config.abandon_after)?,
        lookback: dur("lookback", &model.config.lookback)?,
        history: dur("history", &model.config.history)?,
    };
    windows.check()?;
    Ok(FeatureParams {
        as_of: match as_of {
            None => None,
            Some(v) => Some(timefmt::parse_timestamp(v).ok_or_else(|| {
                anyhow::anyhow!("--as-of '{v}': not a timestamp (use RFC 3339 or YYYY-MM-DD)")
            })?),
        },
        abandon_after: windows.abandon_after.value,
        lookback: windows.lookback.value,
        history: windows.history.value,
        info_pages: Regex::new(&model.config.info_pages).map_err(|e| {
            anyhow::anyhow!("{}: info_pages in the model: {e}", model_path.display())
        })?,
    })
}

/// The feature flags of `features --emit-sql --model M`: the model's windows and page pattern,
/// refused where a flag gives another value.
pub fn model_windows(args: &FeatureArgs, model: &Model, path: &Path) -> Result<FeatureArgs> {
    let mut windows = args.clone();
    let c = &model.config;
    // The model keeps the compiled pattern, case-insensitive flag included.
    let pages = c.info_pages.strip_prefix("(?i)").unwrap_or(&c.info_pages);
    for (flag, given, from_model) in [
        (
            ABANDON_AFTER.flag,
            &mut windows.abandon_after,
            c.abandon_after.as_str(),
        ),
        (LOOKBACK.flag, &mut windows.lookback, c.lookback.as_str()),
        (HISTORY.flag, &mut windows.history, c.history.as_str()),
        (INFO_PAGES.flag, &mut windows.info_pages, pages),
    ] {
        if given.as_ref().is_some_and(|g| g != from_model) {
            bail!("{flag}: the model {} uses {from_model}; with --model the windows come from it (drop {flag})", path.display());
        }
        *given = Some(from_model.to_string());
    }
    Ok(windows)
}

/// The settings of `features --emit-sql`: the windows (as-of required), the table names and what
/// they hold.
///
/// `present`: for each kind of which exports were given (`--carts`, ...), the optional columns
/// they have; the tables not given and the optional columns they lack are left out of the query,
/// instead of `[sql] absent` naming them.
pub fn sql_spec(
    args: &FeatureArgs,
    loaded: &Loaded,
    present: Option<&BTreeMap<TableKind, Vec<&'static str>>>,
) -> Result<crate::features::sql::SqlSpec> {
    let cfg_name = loaded.name();
    let params = feature_params(args, loaded)?;
    let Some(as_of) = params.as_of else {
        bail!("--emit-sql writes the as-of time into the query: pass --as-of TIME (or set [features] as_of in cartsona.toml)");
    };
    let f = &loaded.file.sql;
    let mut absent: Vec<(TableKind, String)> = Vec::new();
    let mut absent_tables: Vec<TableKind> = Vec::new();
    if let Some(present) = present {
        if !f.absent.is_empty() {
            bail!("{cfg_name}: [sql] absent and --carts/--orders/--engagement both say which columns the tables lack: keep one (the exports' headers are read when given)");
        }
        for kind in [TableKind::Carts, TableKind::Orders, TableKind::Engagement] {
            match present.get(&kind) {
                None => absent_tables.push(kind),
                Some(have) => absent.extend(
                    kind.columns()
                        .iter()
                        .filter(|c| !c.required && !have.contains(&c.name))
                        .map(|c| (kind, c.name.to_string())),
                ),
            }
        }
    }
    for entry in &f.absent {
        let e = entry.trim();
        let (table, column) = match e.split_once('.') {
            Some((t, c)) => (t, Some(c)),
            None => (e, None),
        };
        let kind = match table {
            "carts" => TableKind::Carts,
            "orders" => TableKind::Orders,
            "engagement" => TableKind::Engagement,
            _ => bail!("{cfg_name}: [sql] absent '{e}': name a table (orders, engagement) or a table's optional column (carts.checkout_step)"),
        };
        match column {
            None if kind == TableKind::Carts => {
                bail!("{cfg_name}: [sql] absent '{e}': the carts table is required")
            }
            None => absent_tables.push(kind),
            Some(c) => match kind.columns().iter().find(|s| s.name == c) {
                Some(spec) if !spec.required => absent.push((kind, c.to_string())),
                Some(_) => {
                    bail!("{cfg_name}: [sql] absent '{e}': {c} is a required column of {table}")
                }
                None => {
                    let optional: Vec<&str> = kind
                        .columns()
                        .iter()
                        .filter(|s| !s.required)
                        .map(|s| s.name)
                        .collect();
                    bail!(
                        "{cfg_name}: [sql] absent '{e}': not a column of {table}; its optional columns are: {}",
                        optional.join(", ")
                    )
                }
            },
        }
    }
    let mut tables = BTreeMap::new();
    for (kind, name) in [
        (TableKind::Carts, &f.carts),
        (TableKind::Orders, &f.orders),
        (TableKind::Engagement, &f.engagement),
    ] {
        if absent_tables.contains(&kind) {
            continue;
        }
        let name = name.clone().unwrap_or_else(|| kind.name().to_string());
        if name.trim().is_empty() {
            bail!("{cfg_name}: [sql] {}: the table name is empty (to say there is no such table, list it in [sql] absent)", kind.name());
        }
        tables.insert(kind, name);
    }
    let info_pages = params
        .info_pages
        .as_str()
        .strip_prefix("(?i)")
        .unwrap_or(params.info_pages.as_str())
        .to_string();
    Ok(crate::features::sql::SqlSpec {
        as_of,
        abandon_after: params.abandon_after,
        lookback: params.lookback,
        history: params.history,
        info_pages,
        tables,
        columns: column_mapping(loaded)?,
        absent,
    })
}

/// The features table `assign --emit-sql` reads: `[sql] features`, default `features`.
pub fn features_table(loaded: &Loaded) -> String {
    loaded
        .file
        .sql
        .features
        .clone()
        .unwrap_or_else(|| "features".to_string())
}
