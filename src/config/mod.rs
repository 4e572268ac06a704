//! One checked configuration built from `cartsona.toml` and the flags (flags win).
//!
//! The file is read with unknown keys refused, so a typo is an error naming the key, not a setting
//! silently ignored. Relative paths in the file are relative to the file's own directory, so a cron
//! job gets the same inputs whatever its working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use regex::Regex;
use serde::Deserialize;

use crate::cli::{
    ClusterArgs, FeatureArgs, HoldoutArgs, InputArgs, OnBadRows, PresetName, PropensityArgs,
    SegmentArgs, SqlDialect,
};
use crate::cluster::choose_k::SelectParams;
use crate::features::catalogue::DEFAULT_FEATURES;
use crate::features::compute::{FeatureParams, DEFAULT_INFO_PAGES};
use crate::features::sql::Dialect;
use crate::ingest::presets::eventlog::EventLogConfig;
use crate::ingest::presets::{EventLogSpec, Preset, ShopifySpec};
use crate::ingest::schema::{BadRows, Kind, ReadSettings};
use crate::io::read::{self, CsvOptions, Source};
use crate::model::holdout::{self, Asked};
use crate::model::Model;
use crate::util::timefmt;

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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHoldout {
    pub share: Option<f64>,
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
    fn into_vec(self) -> Vec<PathBuf> {
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

/// The inputs of a run, checked and expanded.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Canonical inputs.
    pub files: Vec<(Kind, Vec<Source>)>,
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

impl Inputs {
    pub fn from(args: &InputArgs, loaded: &Loaded) -> Result<Inputs> {
        let f = &loaded.file.inputs;
        let cfg_name = loaded.name();
        let pick = |flag: &[PathBuf], file: &Option<Paths>| -> Vec<PathBuf> {
            if !flag.is_empty() {
                flag.to_vec()
            } else {
                file.clone()
                    .map(|p| {
                        p.into_vec()
                            .into_iter()
                            .map(|p| resolve(&loaded.base, p))
                            .collect()
                    })
                    .unwrap_or_default()
            }
        };
        let carts = pick(&args.carts, &f.carts);
        let orders = pick(&args.orders, &f.orders);
        let events = pick(&args.events, &f.events);
        let preset_name = args.preset.or(f.preset);
        let mut files = Vec::new();
        let preset = match preset_name {
            None => {
                if !events.is_empty() {
                    bail!("--events is read by an event-log preset: add --preset rees46, or --preset events with an [events] table in cartsona.toml (docs/presets.md)");
                }
                if carts.is_empty() {
                    bail!("no carts input: pass --carts PATH (or set [inputs] carts in cartsona.toml), or read an export with --preset (docs/presets.md)");
                }
                files.push((Kind::Carts, read::expand(&carts, "--carts")?));
                if !orders.is_empty() {
                    files.push((Kind::Orders, read::expand(&orders, "--orders")?));
                }
                None
            }
            Some(p @ (PresetName::Rees46 | PresetName::Events)) => {
                let name = if p == PresetName::Rees46 {
                    "rees46"
                } else {
                    "events"
                };
                if !carts.is_empty() || !orders.is_empty() {
                    bail!("--preset {name} derives carts and orders from the event log: drop --carts and --orders (--engagement may add canonical engagement)");
                }
                if events.is_empty() {
                    bail!("--preset {name} reads an event log: pass --events PATH (or set [inputs] events in cartsona.toml)");
                }
                let spec = match p {
                    PresetName::Rees46 => EventLogSpec::rees46(),
                    _ => match &loaded.file.events {
                        Some(c) => EventLogSpec::from_config(c, &cfg_name)?,
                        None => bail!("--preset events needs an [events] table in cartsona.toml naming the log's columns and event names; `cartsona init --preset ga4` (or segment) writes one (docs/presets.md)"),
                    },
                };
                Some(Preset::EventLog {
                    name,
                    spec: Box::new(spec),
                    files: read::expand(&events, "--events")?,
                })
            }
            Some(PresetName::Shopify) => {
                if !events.is_empty() {
                    bail!("--preset shopify reads the abandoned-checkouts export (--carts) and the orders export (--orders), not --events");
                }
                if carts.is_empty() {
                    bail!("--preset shopify: pass the abandoned-checkouts export as --carts PATH (and the orders export as --orders PATH)");
                }
                Some(Preset::Shopify {
                    spec: loaded.file.shopify.unwrap_or_default(),
                    checkouts: read::expand(&carts, "--carts")?,
                    orders: if orders.is_empty() {
                        Vec::new()
                    } else {
                        read::expand(&orders, "--orders")?
                    },
                })
            }
        };
        let engagement = pick(&args.engagement, &f.engagement);
        if !engagement.is_empty() {
            files.push((Kind::Engagement, read::expand(&engagement, "--engagement")?));
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
            files: vec![(Kind::Orders, read::expand(&args.orders, "--orders")?)],
            preset: None,
            read: read_settings(args, loaded)?,
        })
    }
}

/// The delimiter, the bad-rows choice and the column mapping (flags, then `[inputs]`).
fn read_settings(args: &InputArgs, loaded: &Loaded) -> Result<ReadSettings> {
    let f = &loaded.file.inputs;
    let cfg_name = loaded.name();
    let delimiter = match (&args.delimiter, &f.delimiter) {
        (Some(d), _) => parse_delimiter(d, "--delimiter")?,
        (None, Some(d)) => parse_delimiter(d, &format!("{cfg_name}: [inputs] delimiter"))?,
        (None, None) => b',',
    };
    Ok(ReadSettings {
        csv: CsvOptions { delimiter },
        bad_rows: args
            .on_bad_rows
            .or(f.on_bad_rows)
            .map_or(BadRows::Fail, bad_rows),
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
fn column_mapping(loaded: &Loaded) -> Result<BTreeMap<Kind, BTreeMap<String, String>>> {
    let cfg_name = loaded.name();
    let mut columns = BTreeMap::new();
    let cols = &loaded.file.columns;
    for (kind, map) in [
        (Kind::Carts, &cols.carts),
        (Kind::Orders, &cols.orders),
        (Kind::Engagement, &cols.engagement),
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

/// Builds the feature settings from flags and the file.
pub fn feature_params(args: &FeatureArgs, loaded: &Loaded) -> Result<FeatureParams> {
    let f = &loaded.file.features;
    let cfg_name = loaded.name();
    let pick =
        |flag: &Option<String>, file: &Option<String>, name: &str| -> Option<(String, String)> {
            match (flag, file) {
                (Some(v), _) => Some((v.clone(), format!("--{}", name.replace('_', "-")))),
                (None, Some(v)) => Some((v.clone(), format!("{cfg_name}: [features] {name}"))),
                (None, None) => None,
            }
        };
    let duration =
        |name: &str, flag: &Option<String>, file: &Option<String>, default: i64| -> Result<i64> {
            match pick(flag, file, name) {
                None => Ok(default),
                Some((v, origin)) => {
                    let d = timefmt::parse_duration(&v)
                        .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
                    if d <= 0 && name != "abandon_after" {
                        bail!("{origin} '{v}': must be longer than zero");
                    }
                    Ok(d)
                }
            }
        };
    let as_of = match pick(&args.as_of, &f.as_of, "as_of") {
        None => None,
        Some((v, origin)) => Some(timefmt::parse_timestamp(&v).ok_or_else(|| {
            anyhow::anyhow!("{origin} '{v}': not a timestamp (use RFC 3339 like 2025-01-31T00:00:00Z, or YYYY-MM-DD)")
        })?),
    };
    let info_pages = match pick(&args.info_pages, &f.info_pages, "info_pages") {
        None => Regex::new(DEFAULT_INFO_PAGES).expect("the default pattern is valid"),
        Some((v, origin)) => Regex::new(&format!("(?i){v}"))
            .map_err(|e| anyhow::anyhow!("{origin}: not a valid regular expression: {e}"))?,
    };
    let params = FeatureParams {
        as_of,
        abandon_after: duration(
            "abandon_after",
            &args.abandon_after,
            &f.abandon_after,
            24 * timefmt::HOUR,
        )?,
        lookback: duration("lookback", &args.lookback, &f.lookback, 30 * timefmt::DAY)?,
        history: duration("history", &args.history, &f.history, 365 * timefmt::DAY)?,
        info_pages,
    };
    check_windows(&params)?;
    Ok(params)
}

/// The windows must nest: A < L <= H.
fn check_windows(p: &FeatureParams) -> Result<()> {
    if p.lookback <= p.abandon_after {
        bail!(
            "--lookback ({}) must be longer than --abandon-after ({})",
            timefmt::format_duration(p.lookback),
            timefmt::format_duration(p.abandon_after)
        );
    }
    if p.history < p.lookback {
        bail!(
            "--history ({}) must be at least --lookback ({})",
            timefmt::format_duration(p.history),
            timefmt::format_duration(p.lookback)
        );
    }
    Ok(())
}

/// The feature settings of `assign`: the model's windows and page pattern (checked as the
/// flags would be), with the as-of time from `--as-of` or the data.
pub fn assign_params(
    model: &Model,
    model_path: &Path,
    as_of: Option<&str>,
) -> Result<FeatureParams> {
    let dur = |name: &str, v: &str| {
        timefmt::parse_duration(v)
            .map_err(|e| anyhow::anyhow!("{}: {name} in the model: {e}", model_path.display()))
    };
    let params = FeatureParams {
        as_of: match as_of {
            None => None,
            Some(v) => Some(timefmt::parse_timestamp(v).ok_or_else(|| {
                anyhow::anyhow!("--as-of '{v}': not a timestamp (use RFC 3339 or YYYY-MM-DD)")
            })?),
        },
        abandon_after: dur("abandon_after", &model.config.abandon_after)?,
        lookback: dur("lookback", &model.config.lookback)?,
        history: dur("history", &model.config.history)?,
        info_pages: Regex::new(&model.config.info_pages).map_err(|e| {
            anyhow::anyhow!("{}: info_pages in the model: {e}", model_path.display())
        })?,
    };
    check_windows(&params)?;
    Ok(params)
}

/// The settings of one `segment` run, checked.
pub struct Segment {
    pub features: FeatureParams,
    pub select: SelectParams,
    /// The clustering features asked for, and whether the user chose them.
    pub wanted: Vec<String>,
    pub explicit: bool,
    /// With `--baseline`: how close (baseline sd) a persona must stay to keep its id.
    pub max_match_distance: f64,
    /// Bootstrap refits for stability (0: not measured).
    pub stability_resamples: usize,
}

/// Builds the settings of `segment` from flags and the file.
pub fn segment(args: &SegmentArgs, loaded: &Loaded) -> Result<Segment> {
    let features = feature_params(&args.features, loaded)?;
    let (select, wanted, explicit) = cluster_params(&args.cluster, loaded)?;
    let max_match_distance = args
        .max_match_distance
        .or(loaded.file.segment.max_match_distance)
        .unwrap_or(1.5);
    if !(max_match_distance.is_finite() && max_match_distance >= 0.0) {
        bail!("--max-match-distance {max_match_distance}: give a distance >= 0 in baseline standard deviations, like 1.5");
    }
    let stability_resamples = args
        .cluster
        .stability_resamples
        .or(loaded.file.segment.stability_resamples)
        .unwrap_or(crate::cluster::stability::RESAMPLES);
    if stability_resamples > 1000 {
        bail!("--stability-resamples {stability_resamples}: give 0 (off) to 1000");
    }
    Ok(Segment {
        features,
        select,
        wanted,
        explicit,
        max_match_distance,
        stability_resamples,
    })
}

/// The propensity settings of a segment run (`None`: off), from flags and `[propensity]` (flags
/// win), checked: W > 0, a history of at least 3 W (train, calibration, report), C > 0.
pub fn propensity(args: &PropensityArgs, loaded: &Loaded) -> Result<Option<Propensity>> {
    let f = &loaded.file.propensity;
    let cfg_name = loaded.name();
    let duration = |flag: &Option<String>, file: &Option<String>, name: &str, default: i64| {
        let (v, origin) = match (flag, file) {
            (Some(v), _) => (v.clone(), format!("--propensity-{name}")),
            (None, Some(v)) => (v.clone(), format!("{cfg_name}: [propensity] {name}")),
            (None, None) => return Ok((default, String::new(), String::new())),
        };
        let d = timefmt::parse_duration(&v).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        if d <= 0 {
            bail!("{origin} '{v}': must be longer than zero");
        }
        Ok::<_, anyhow::Error>((d, origin, v))
    };
    let window = duration(
        &args.propensity_window,
        &f.window,
        "window",
        7 * timefmt::DAY,
    )?
    .0;
    let default_history = 26 * 7 * timefmt::DAY;
    let (history, origin, raw) = duration(
        &args.propensity_history,
        &f.history,
        "history",
        default_history,
    )?;
    if history < 3 * window {
        let (origin, raw) = match origin.is_empty() {
            true => (
                "--propensity-history (default)".to_string(),
                "26w".to_string(),
            ),
            false => (origin, raw),
        };
        bail!(
            "{origin} {raw}: must be at least three propensity windows ({}): one to train on, one to calibrate, one to report",
            timefmt::format_duration(3 * window)
        );
    }
    let c = args.propensity_c.or(f.c).unwrap_or(1.0);
    if !(c.is_finite() && c > 0.0) {
        bail!("--propensity-c {c}: give a positive number (scikit-learn's C; 1 by default)");
    }
    let no_discount_above = args
        .no_discount_above
        .or(f.no_discount_above)
        .unwrap_or(0.5);
    if !(0.0..=1.0).contains(&no_discount_above) {
        bail!("--no-discount-above {no_discount_above}: give a probability from 0 to 1");
    }
    let off = args.no_propensity || f.enabled == Some(false);
    Ok((!off).then_some(Propensity {
        window,
        history,
        c,
        no_discount_above,
        force_no_discount: args.force_no_discount || f.force_no_discount == Some(true),
    }))
}

/// The propensity settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Propensity {
    pub window: i64,
    pub history: i64,
    pub c: f64,
    pub no_discount_above: f64,
    /// Apply the no-discount rule with an as-usual propensity too.
    pub force_no_discount: bool,
}

/// The holdout asked for by `--holdout`/`--holdout-salt` or `[holdout]` (flags win), checked;
/// what is not asked for is inherited from the baseline or the model (`model::holdout::resolve`).
pub fn holdout(args: &HoldoutArgs, loaded: &Loaded) -> Result<Asked> {
    let cfg_name = loaded.name();
    let f = &loaded.file.holdout;
    let share = match (args.holdout, f.share) {
        (Some(v), _) => Some((v, "--holdout".to_string())),
        (None, Some(v)) => Some((v, format!("{cfg_name}: [holdout] share"))),
        (None, None) => None,
    };
    if let Some((v, origin)) = &share {
        if !(v.is_finite() && (0.0..=holdout::MAX_SHARE).contains(v)) {
            bail!(
                "{origin} {v}: give a share of abandoners from 0 to {} (0 ends a holdout)",
                holdout::MAX_SHARE
            );
        }
    }
    let salt = args.holdout_salt.clone().or(f.salt.clone());
    if salt.as_deref().is_some_and(|s| s.is_empty()) {
        bail!("--holdout-salt: the salt is empty");
    }
    Ok(Asked {
        share: share.map(|s| s.0),
        salt,
        salt_from_flag: args.holdout_salt.is_some(),
    })
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

/// The clustering settings, checked, and whether the feature list was chosen by the user.
pub fn cluster_params(
    args: &ClusterArgs,
    loaded: &Loaded,
) -> Result<(SelectParams, Vec<String>, bool)> {
    let f = &loaded.file.segment;
    let k_min = args.k_min.or(f.k_min).unwrap_or(3);
    let k_max = args.k_max.or(f.k_max).unwrap_or(6);
    let k = args.k.or(f.k);
    let min_share = args
        .min_persona_share
        .or(f.min_persona_share)
        .unwrap_or(0.05);
    let restarts = args.restarts.or(f.restarts).unwrap_or(10);
    if k_min < 2 {
        bail!("--k-min {k_min}: at least 2 personas are needed");
    }
    if k_max < k_min {
        bail!("--k-max {k_max} is below --k-min {k_min}");
    }
    if k_max > 20 {
        bail!("--k-max {k_max}: at most 20 personas");
    }
    if let Some(k) = k {
        if !(2..=20).contains(&k) {
            bail!("--k {k}: choose between 2 and 20 personas");
        }
    }
    if !(0.0..0.5).contains(&min_share) {
        bail!("--min-persona-share {min_share}: give a share from 0 to 0.5, like 0.05");
    }
    let minibatch_above = args
        .minibatch_above
        .or(f.minibatch_above)
        .unwrap_or(crate::cluster::choose_k::MINIBATCH_ABOVE);
    if minibatch_above < 10_000 {
        bail!("--minibatch-above {minibatch_above}: give at least 10000 (below that full k-means is fast)");
    }
    if restarts == 0 || restarts > 1000 {
        bail!("--restarts {restarts}: give 1 to 1000");
    }
    let min_size = args.min_persona_size.or(f.min_persona_size);
    if min_size == Some(0) {
        bail!("--min-persona-size 0: give at least 1 shopper");
    }
    let (features, explicit) = match args.cluster_features.clone().or(f.cluster_features.clone()) {
        Some(list) => {
            let list: Vec<String> = list
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if list.is_empty() {
                bail!("--cluster-features: the list is empty");
            }
            (list, true)
        }
        None => (
            DEFAULT_FEATURES.iter().map(|s| s.to_string()).collect(),
            false,
        ),
    };
    Ok((
        SelectParams {
            k_min,
            k_max,
            k,
            min_share,
            seed: args.seed.or(f.seed).unwrap_or(42),
            restarts,
            minibatch_above,
            min_size,
        },
        features,
        explicit,
    ))
}

/// Drift thresholds: defaults, then `[drift]` of cartsona.toml, then flags.
pub fn drift_thresholds(
    args: &crate::cli::DriftArgs,
    loaded: &Loaded,
) -> Result<crate::drift::compare::Thresholds> {
    use crate::drift::compare::Thresholds;
    let mut t = Thresholds::default();
    if let Some(table) = &loaded.file.drift {
        let mut merged = toml::Table::try_from(&t).expect("thresholds serialise");
        for (k, v) in table {
            if !merged.contains_key(k) {
                let known: Vec<&String> = merged.keys().collect();
                bail!(
                    "cartsona.toml: [drift] {k}: unknown threshold; the thresholds are: {known:?}"
                );
            }
            merged.insert(k.clone(), v.clone());
        }
        t = merged
            .try_into()
            .map_err(|e| anyhow::anyhow!("cartsona.toml: [drift]: {e}"))?;
    }
    let flags = [
        (
            args.share_psi_warn,
            &mut t.share_psi_warn,
            "--share-psi-warn",
        ),
        (
            args.share_psi_fail,
            &mut t.share_psi_fail,
            "--share-psi-fail",
        ),
        (
            args.share_change_warn,
            &mut t.share_change_warn,
            "--share-change-warn",
        ),
        (
            args.share_change_fail,
            &mut t.share_change_fail,
            "--share-change-fail",
        ),
        (
            args.centroid_shift_warn,
            &mut t.centroid_shift_warn,
            "--centroid-shift-warn",
        ),
        (
            args.centroid_shift_fail,
            &mut t.centroid_shift_fail,
            "--centroid-shift-fail",
        ),
        (
            args.feature_psi_warn,
            &mut t.feature_psi_warn,
            "--feature-psi-warn",
        ),
        (
            args.feature_psi_fail,
            &mut t.feature_psi_fail,
            "--feature-psi-fail",
        ),
        (args.ks_warn, &mut t.ks_warn, "--ks-warn"),
        (args.stayed_warn, &mut t.stayed_warn, "--stayed-warn"),
        (args.stayed_fail, &mut t.stayed_fail, "--stayed-fail"),
    ];
    for (flag, slot, name) in flags {
        if let Some(v) = flag {
            if !v.is_finite() || v < 0.0 {
                bail!("{name} {v}: give a number >= 0");
            }
            *slot = v;
        }
    }
    Ok(t)
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
    present: Option<&BTreeMap<Kind, Vec<&'static str>>>,
) -> Result<crate::features::sql::SqlSpec> {
    let cfg_name = loaded.name();
    let params = feature_params(args, loaded)?;
    let Some(as_of) = params.as_of else {
        bail!("--emit-sql writes the as-of time into the query: pass --as-of TIME (or set [features] as_of in cartsona.toml)");
    };
    let f = &loaded.file.sql;
    let mut absent: Vec<(Kind, String)> = Vec::new();
    let mut absent_tables: Vec<Kind> = Vec::new();
    if let Some(present) = present {
        if !f.absent.is_empty() {
            bail!("{cfg_name}: [sql] absent and --carts/--orders/--engagement both say which columns the tables lack: keep one (the exports' headers are read when given)");
        }
        for kind in [Kind::Carts, Kind::Orders, Kind::Engagement] {
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
            "carts" => Kind::Carts,
            "orders" => Kind::Orders,
            "engagement" => Kind::Engagement,
            _ => bail!("{cfg_name}: [sql] absent '{e}': name a table (orders, engagement) or a table's optional column (carts.checkout_step)"),
        };
        match column {
            None if kind == Kind::Carts => {
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
        (Kind::Carts, &f.carts),
        (Kind::Orders, &f.orders),
        (Kind::Engagement, &f.engagement),
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

/// What `outcomes` reads and how, checked.
pub struct OutcomesConfig {
    pub settings: crate::outcomes::readout::Settings,
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

/// The windows, seed and gate thresholds of the readout.
fn outcome_settings(
    args: &crate::cli::OutcomesArgs,
    loaded: &Loaded,
) -> Result<crate::outcomes::readout::Settings> {
    let f = &loaded.file.outcomes;
    let cfg = loaded.name();
    let origin = |name: &str, from_flag: bool| {
        if from_flag {
            format!("--{}", name.replace('_', "-"))
        } else {
            format!("{cfg}: [outcomes] {name}")
        }
    };
    let duration = |flag: &Option<String>, file: &Option<String>, name: &str, default: &str| {
        let (v, from) = match (flag, file) {
            (Some(v), _) => (v.clone(), origin(name, true)),
            (None, Some(v)) => (v.clone(), origin(name, false)),
            (None, None) => (default.to_string(), String::new()),
        };
        match timefmt::parse_duration(&v) {
            Ok(d) if d > 0 => Ok(d),
            Ok(_) => bail!("{from} '{v}': must be longer than zero"),
            Err(e) => bail!("{from}: {e}"),
        }
    };
    let share =
        |flag: Option<f64>, file: Option<f64>, name: &str, max: f64| -> Result<Option<f64>> {
            let picked = flag
                .map(|v| (v, origin(name, true)))
                .or(file.map(|v| (v, origin(name, false))));
            match picked {
                Some((v, from)) if !(v.is_finite() && (0.0..=max).contains(&v)) => {
                    bail!("{from} {v}: give a share from 0 to {max}")
                }
                other => Ok(other.map(|p| p.0)),
            }
        };
    Ok(crate::outcomes::readout::Settings {
        window: duration(&args.window, &f.window, "window", "7d")?,
        attribution_window: duration(
            &args.attribution_window,
            &f.attribution_window,
            "attribution_window",
            "5d",
        )?,
        seed: args.seed.or(f.seed).unwrap_or(42),
        resamples: 2_000,
        allow_partial: args.allow_partial,
        no_holdout: args.no_holdout,
        expected_holdout: share(
            args.expected_holdout,
            f.expected_holdout,
            "expected_holdout",
            holdout::MAX_SHARE,
        )?,
        max_contamination: share(
            args.max_contamination,
            f.max_contamination,
            "max_contamination",
            1.0,
        )?
        .unwrap_or(0.02),
        max_pre_run: share(args.max_pre_run, f.max_pre_run, "max_pre_run", 1.0)?.unwrap_or(0.02),
        discount_amounts: false,
        orders_until: orders_until(args, f, loaded)?,
        value_is_net: args.order_value_is.or(loaded.file.orders.value_is)
            == Some(crate::cli::ValueIs::Net),
    })
}

/// `--orders-until` (or `[outcomes] orders_until`) as microseconds, checked.
fn orders_until(
    args: &crate::cli::OutcomesArgs,
    f: &FileOutcomes,
    loaded: &Loaded,
) -> Result<Option<i64>> {
    let (text, from) = match (&args.orders_until, &f.orders_until) {
        (Some(t), _) => (t, "--orders-until".to_string()),
        (None, Some(t)) => (t, format!("{}: [outcomes] orders_until", loaded.name())),
        (None, None) => return Ok(None),
    };
    match timefmt::parse_timestamp(text) {
        Some(t) => Ok(Some(t)),
        None => bail!("{from} '{text}': not a time (write it like 2025-02-08T00:00:00Z)"),
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

/// The features table `assign --emit-sql` reads: `[sql] features`, default `features`.
pub fn features_table(loaded: &Loaded) -> String {
    loaded
        .file
        .sql
        .features
        .clone()
        .unwrap_or_else(|| "features".to_string())
}
