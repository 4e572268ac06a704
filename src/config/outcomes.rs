//! The settings of `outcomes` (`[outcomes]`, `[orders]`, `[columns.touches]`,
//! `[columns.entries]`) and of `drift` (`[drift]`), from the flags and the file (flags win). Out:
//! [`OutcomesConfig`] and the drift `Thresholds`, checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::file::{FileOutcomes, Loaded};
use super::inputs::Inputs;
use super::setting::Key;
use crate::cli::{DriftArgs, InputArgs, PresetName};
use crate::drift::compare::Thresholds;
use crate::io::read::{self, CsvOptions, Source};
use crate::model::holdout;
use crate::outcomes::readout::ReadoutSettings;
use crate::util::timefmt;

pub use super::keys::outcomes::*;

/// What `outcomes` reads and how, checked.
pub struct OutcomesConfig {
    pub settings: ReadoutSettings,
    /// The orders (canonical, or through a preset).
    pub orders: Inputs,
    pub touches: Vec<Source>,
    pub entries: Vec<Source>,
    pub csv: CsvOptions,
    pub touch_columns: BTreeMap<String, String>,
    pub entry_columns: BTreeMap<String, String>,
}

/// Builds the readout's settings from flags and `[outcomes]` (flags win), checked.
pub fn outcomes(args: &crate::cli::OutcomesArgs, loaded: &Loaded) -> Result<OutcomesConfig> {
    use crate::outcomes::load::{ENTRY_COLUMNS, TOUCH_COLUMNS};
    let cfg = loaded.name();
    let orders = outcome_orders(args, loaded)?;
    let mapping = |map: &BTreeMap<String, String>,
                   spec: &[(&str, bool)],
                   what: &str|
     -> Result<BTreeMap<String, String>> {
        for k in map.keys() {
            if !spec.iter().any(|(c, _)| c == k) {
                let known: Vec<&str> = spec.iter().map(|c| c.0).collect();
                bail!(
                    "{cfg}: [columns.{what}] {k}: not a {what} column; the columns are: {}",
                    known.join(", ")
                );
            }
        }
        Ok(map.clone())
    };
    let expand = |paths: &[PathBuf], flag: &str| -> Result<Vec<Source>> {
        if paths.is_empty() {
            Ok(Vec::new())
        } else {
            read::expand(paths, flag)
        }
    };
    Ok(OutcomesConfig {
        settings: outcome_settings(args, loaded)?,
        csv: orders.read.csv,
        touches: expand(&args.touches, "--touches")?,
        entries: expand(&args.entries, "--entries")?,
        touch_columns: mapping(&loaded.file.columns.touches, TOUCH_COLUMNS, "touches")?,
        entry_columns: mapping(&loaded.file.columns.entries, ENTRY_COLUMNS, "entries")?,
        orders,
    })
}

/// The windows, seed and gate thresholds of the readout (defaults: `ReadoutSettings::default()`).
fn outcome_settings(args: &crate::cli::OutcomesArgs, loaded: &Loaded) -> Result<ReadoutSettings> {
    let f = &loaded.file.outcomes;
    let d = ReadoutSettings::default();
    let duration = |key: Key, flag: &Option<String>, file: &Option<String>, default: i64| {
        loaded
            .duration_or(key, flag, file, default, true)
            .map(|s| s.value)
    };
    let share = |key: Key, flag: Option<f64>, file: Option<f64>, max: f64| -> Result<Option<f64>> {
        match loaded.layer(key, flag, file) {
            None => Ok(None),
            Some(s) => Ok(Some(
                s.check(
                    |v| v.is_finite() && (0.0..=max).contains(v),
                    format!("give a share from 0 to {max}"),
                )?
                .value,
            )),
        }
    };
    Ok(ReadoutSettings {
        window: duration(WINDOW, &args.window, &f.window, d.window)?,
        attribution_window: duration(
            ATTRIBUTION_WINDOW,
            &args.attribution_window,
            &f.attribution_window,
            d.attribution_window,
        )?,
        seed: loaded.layer_or(SEED, args.seed, f.seed, d.seed).value,
        allow_partial: args.allow_partial,
        no_holdout: args.no_holdout,
        no_uplift: args.no_uplift,
        expected_holdout: share(
            EXPECTED_HOLDOUT,
            args.expected_holdout,
            f.expected_holdout,
            holdout::MAX_SHARE,
        )?,
        max_contamination: share(
            MAX_CONTAMINATION,
            args.max_contamination,
            f.max_contamination,
            1.0,
        )?
        .unwrap_or(d.max_contamination),
        max_pre_run: share(MAX_PRE_RUN, args.max_pre_run, f.max_pre_run, 1.0)?
            .unwrap_or(d.max_pre_run),
        orders_until: orders_until(args, f, loaded)?,
        value_is_net: loaded
            .layer(VALUE_IS, args.order_value_is, loaded.file.orders.value_is)
            .is_some_and(|v| v.value == crate::cli::ValueIs::Net),
        incentive_cost: match loaded.layer(INCENTIVE_COST, args.incentive_cost, f.incentive_cost) {
            None => 0.0,
            Some(s) => {
                s.check(
                    |v| v.is_finite() && *v >= 0.0,
                    "give an amount of 0 or more, in the orders' currency".to_string(),
                )?
                .value
            }
        },
        ..d
    })
}

/// `--orders-until` (or `[outcomes] orders_until`) as microseconds, checked.
fn orders_until(
    args: &crate::cli::OutcomesArgs,
    f: &FileOutcomes,
    loaded: &Loaded,
) -> Result<Option<i64>> {
    let Some(s) = loaded.layer(
        ORDERS_UNTIL,
        args.orders_until.clone(),
        f.orders_until.clone(),
    ) else {
        return Ok(None);
    };
    match timefmt::parse_timestamp(&s.value) {
        Some(t) => Ok(Some(t)),
        None => bail!(
            "{} '{}': not a time (write it like 2025-02-08T00:00:00Z)",
            s.origin,
            s.value
        ),
    }
}

/// The orders of the readout: canonical files, or derived by an event-log preset.
fn outcome_orders(args: &crate::cli::OutcomesArgs, loaded: &Loaded) -> Result<Inputs> {
    let input = InputArgs {
        orders: args.orders.clone(),
        events: args.events.clone(),
        preset: args.preset,
        delimiter: args.delimiter.clone(),
        on_bad_rows: args.on_bad_rows,
        ..InputArgs::default()
    };
    match args.preset {
        Some(PresetName::Shopify) => bail!("--preset shopify: outcomes reads canonical orders; convert the orders export first (cartsona convert --preset shopify --carts CHECKOUTS --orders ORDERS --out DIR) and pass DIR/orders.csv as --orders"),
        Some(_) => Inputs::from(&input, loaded),
        None => {
            if args.orders.is_empty() {
                bail!("--orders: give the orders placed after the runs (or --preset with --events)");
            }
            if !args.events.is_empty() {
                bail!("--events is read by an event-log preset: add --preset rees46 or events");
            }
            Inputs::orders(&input, loaded)
        }
    }
}

/// Drift thresholds: defaults (`Thresholds::default()`), then `[drift]` of cartsona.toml, then
/// flags; every value, from either, a number >= 0.
pub fn drift_thresholds(args: &DriftArgs, loaded: &Loaded) -> Result<Thresholds> {
    let mut merged = toml::Table::try_from(Thresholds::default()).expect("thresholds serialise");
    let file = loaded.file.drift.clone().unwrap_or_default();
    for k in file.keys() {
        if !merged.contains_key(k) {
            let known: Vec<&String> = merged.keys().collect();
            bail!(
                "{}: [drift] {k}: unknown threshold; the thresholds are: {known:?}",
                loaded.name()
            );
        }
    }
    let values = [
        args.share_psi_warn,
        args.share_psi_fail,
        args.share_change_warn,
        args.share_change_fail,
        args.centroid_shift_warn,
        args.centroid_shift_fail,
        args.feature_psi_warn,
        args.feature_psi_fail,
        args.ks_warn,
        args.stayed_warn,
        args.stayed_fail,
    ];
    for ((key, _), value) in super::keys::drift::ALL.into_iter().zip(values) {
        let name = key.key;
        let from_file = match file.get(name) {
            None => None,
            Some(v) => Some(
                v.as_float()
                    .or(v.as_integer().map(|i| i as f64))
                    .ok_or_else(|| {
                        anyhow::anyhow!("{}: [drift] {name} {v}: give a number >= 0", loaded.name())
                    })?,
            ),
        };
        if let Some(s) = loaded.layer(key, value, from_file) {
            let s = s.check(|v| v.is_finite() && *v >= 0.0, "give a number >= 0")?;
            merged.insert(name.to_string(), toml::Value::Float(s.value));
        }
    }
    Ok(merged.try_into().expect("every threshold is a number"))
}
