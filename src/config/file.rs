//! cartsona.toml as written ([`FileConfig`], unknown keys refused, so a typo is an error naming the
//! key, not a setting silently ignored) and its loading ([`load_file`]): `--config PATH`, else
//! `./cartsona.toml` when it exists. Relative paths in the file are relative to the file's own
//! directory ([`Loaded::base`]), so a cron job gets the same inputs whatever its working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::cli::{OnBadRows, PresetName};
use crate::ingest::presets::eventlog::EventLogConfig;
use crate::ingest::presets::ShopifySpec;
use crate::io::read;

/// `cartsona.toml`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub inputs: FileInputs,
    #[serde(default)]
    pub columns: FileColumns,
    #[serde(default)]
    pub features: FileFeatures,
    #[serde(default)]
    pub segment: FileSegment,
    /// Drift thresholds: any field of `Thresholds` (docs/drift.md).
    #[serde(default)]
    pub drift: Option<toml::Table>,
    /// The event log of `preset = "events"` (docs/presets.md).
    #[serde(default)]
    pub events: Option<EventLogConfig>,
    /// Settings of `preset = "shopify"`.
    #[serde(default)]
    pub shopify: Option<ShopifySpec>,
    /// Tables for `features --emit-sql` (docs/scale.md).
    #[serde(default)]
    pub sql: FileSql,
    /// The holdout of segment and assign runs (docs/outcomes.md).
    #[serde(default)]
    pub holdout: FileHoldout,
    /// The variants inside the treatment arm of segment and assign runs (docs/outcomes.md).
    #[serde(default)]
    pub variants: FileVariants,
    /// Settings and gates of `outcomes` (docs/outcomes.md).
    #[serde(default)]
    pub outcomes: FileOutcomes,
    /// The return propensity of segment runs (docs/propensity.md).
    #[serde(default)]
    pub propensity: FilePropensity,
    /// What the orders' values hold (docs/outcomes.md "Net revenue").
    #[serde(default)]
    pub orders: FileOrders,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOrders {
    /// `gross` (before discounts, the default) or `net` (after them, as Shopify's Total).
    pub value_is: Option<crate::cli::ValueIs>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePropensity {
    pub enabled: Option<bool>,
    pub window: Option<String>,
    pub history: Option<String>,
    pub c: Option<f64>,
    pub no_discount_above: Option<f64>,
    pub force_no_discount: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutcomes {
    pub window: Option<String>,
    pub attribution_window: Option<String>,
    pub seed: Option<u64>,
    pub expected_holdout: Option<f64>,
    pub max_contamination: Option<f64>,
    pub max_pre_run: Option<f64>,
    pub orders_until: Option<String>,
    pub incentive_cost: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHoldout {
    pub share: Option<f64>,
    pub salt: Option<String>,
}

/// `[variants]`: the variants inside the treatment arm (docs/outcomes.md "Variants").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileVariants {
    /// `name=share,...`, as `--variants` takes it (`none` ends inherited variants).
    pub split: Option<String>,
    pub salt: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSql {
    pub carts: Option<String>,
    pub orders: Option<String>,
    pub engagement: Option<String>,
    /// The features table `assign --emit-sql` reads (the output of `features --emit-sql`).
    pub features: Option<String>,
    /// Tables (`orders`, `engagement`) or optional columns (`carts.checkout_step`) the warehouse
    /// does not have.
    #[serde(default)]
    pub absent: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSegment {
    pub k_min: Option<usize>,
    pub k_max: Option<usize>,
    pub k: Option<usize>,
    pub min_persona_share: Option<f64>,
    pub seed: Option<u64>,
    pub restarts: Option<usize>,
    pub cluster_features: Option<Vec<String>>,
    pub max_match_distance: Option<f64>,
    pub minibatch_above: Option<usize>,
    pub min_persona_size: Option<usize>,
    pub stability_resamples: Option<usize>,
}

/// One path or several.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum Paths {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl Paths {
    pub(super) fn into_vec(self) -> Vec<PathBuf> {
        match self {
            Paths::One(p) => vec![p],
            Paths::Many(v) => v,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInputs {
    pub carts: Option<Paths>,
    pub orders: Option<Paths>,
    pub engagement: Option<Paths>,
    pub preset: Option<PresetName>,
    pub events: Option<Paths>,
    pub delimiter: Option<String>,
    pub on_bad_rows: Option<OnBadRows>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileColumns {
    /// The unit of integer timestamps (`s`, `ms`, `us`, `ns`): Unix epochs in a Parquet integer
    /// column or as digits in a CSV cell. Without it an integer timestamp is an error.
    #[serde(default)]
    pub epochs: Option<String>,
    #[serde(default)]
    pub carts: BTreeMap<String, String>,
    #[serde(default)]
    pub orders: BTreeMap<String, String>,
    #[serde(default)]
    pub engagement: BTreeMap<String, String>,
    /// The touches of `outcomes` (a messaging platform's message export).
    #[serde(default)]
    pub touches: BTreeMap<String, String>,
    /// The flow entries of `outcomes`.
    #[serde(default)]
    pub entries: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFeatures {
    pub as_of: Option<String>,
    pub abandon_after: Option<String>,
    pub lookback: Option<String>,
    pub history: Option<String>,
    pub info_pages: Option<String>,
}

/// The file config and the directory its relative paths are relative to.
pub struct Loaded {
    pub file: FileConfig,
    pub base: PathBuf,
    pub path: Option<PathBuf>,
}

impl Loaded {
    /// The configuration file as messages name it.
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or("cartsona.toml".to_string(), |p| p.display().to_string())
    }
}

/// Loads `--config PATH`, or `./cartsona.toml` when it exists, or nothing.
pub fn load_file(explicit: Option<&Path>) -> Result<Loaded> {
    let path = explicit.map_or_else(|| PathBuf::from("cartsona.toml"), Path::to_path_buf);
    let text =
        read::text_if_file(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    let Some(text) = text else {
        if let Some(p) = explicit {
            bail!("--config {}: no such file", p.display());
        }
        return Ok(Loaded {
            file: FileConfig::default(),
            base: PathBuf::from("."),
            path: None,
        });
    };
    let file: FileConfig = toml::from_str(&text).map_err(|e| {
        // One line, as every error: where, then toml's message without its source excerpt.
        let at = e.span().map_or(String::new(), |span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(" line {line}, column {col}:")
        });
        anyhow::anyhow!(
            "{}:{at} {}",
            path.display(),
            e.message().trim_end().replace('\n', " ")
        )
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Loaded {
        file,
        base,
        path: Some(path),
    })
}
