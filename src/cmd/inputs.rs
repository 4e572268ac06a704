//! Reading a command's inputs: the canonical files and a preset's exports, validated, with
//! warnings about rejected rows; and the features of a `segment` or `assign` run, computed from
//! those inputs or read from a precomputed table (`--features`).

use anyhow::Result;

use crate::cli::{InputArgs, RunInputArgs};
use crate::config::{self, Inputs, Loaded};
use crate::features::compute::{
    self as feature_stage, FeatureParams, FeatureSummary, FeatureTable,
};
use crate::ingest::load::{self as loader, ValidationReport};
use crate::ingest::presets;
use crate::ingest::schema::{BadRows, Dataset, Kind};
use crate::io::read::Format;
use crate::propensity::learn::NotLearned;
use crate::propensity::past::{self, Past};
use crate::util::progress::Progress;

/// Reads and validates the inputs: a preset's exports first (turned into canonical tables), then
/// the canonical files and those tables.
pub(crate) fn load(inputs: &Inputs) -> Result<(Dataset, ValidationReport)> {
    load_showing(inputs, None)
}

/// [`load`], with a bar of the bytes read when `progress` is given (the preset's exports, read
/// first, show as a spinner).
pub(crate) fn load_showing(
    inputs: &Inputs,
    progress: Option<&Progress>,
) -> Result<(Dataset, ValidationReport)> {
    let mut files = inputs.files.clone();
    let mut preset_reports = Vec::new();
    let mut preset_name = None;
    let mut unknown = Vec::new();
    if let Some(p) = &inputs.preset {
        let derived = presets::derive(p, inputs.read.bad_rows, inputs.read.csv.delimiter)?;
        preset_reports = derived.reports;
        unknown = derived.unknown;
        preset_name = Some(p.name());
        presets::add_tables(&mut files, p.name(), derived.tables);
    }
    let (mut ds, mut report) = match progress {
        None => loader::load(&files, &inputs.read)?,
        Some(p) => {
            let total = crate::io::read::stored_bytes(files.iter().flat_map(|(_, s)| s));
            p.stage_bytes("reading and validating inputs", total);
            loader::load_with_progress(&files, &inputs.read, &|n| p.advance(n))?
        }
    };
    // A canonical engagement file may supply what the preset's exports cannot.
    if !inputs.files.iter().any(|(k, _)| *k == Kind::Engagement) {
        ds.present.unknown = unknown;
    }
    for f in &mut report.files {
        if f.format == Format::Derived {
            f.preset = preset_name;
        }
    }
    report.files.splice(0..0, preset_reports);
    Ok((ds, report))
}

/// When nothing is abandoned because every cart is younger than the abandonment window (a log of
/// a few hours), says so and what to do; empty otherwise.
pub(crate) fn young_carts_hint(
    oldest_cart: Option<i64>,
    as_of: &str,
    abandon_after: i64,
) -> String {
    let (Some(t), Some(oldest)) = (crate::util::timefmt::parse_timestamp(as_of), oldest_cart)
    else {
        return String::new();
    };
    if t - oldest >= abandon_after {
        return String::new();
    }
    format!(
        ". Every cart is younger than --abandon-after {}: the oldest was last updated {} before the as-of time; for a log this short pass a shorter --abandon-after (like 10m)",
        crate::util::timefmt::format_duration(abandon_after),
        {
            let s = (t - oldest) / crate::util::timefmt::SECOND;
            format!("{}h{:02}m", s / 3600, s % 3600 / 60)
        }
    )
}

/// Reads and validates the inputs, warning about rejected rows and notes.
pub(crate) fn read_inputs(
    args: &InputArgs,
    loaded: &Loaded,
    progress: &Progress,
) -> Result<(Inputs, Dataset, ValidationReport)> {
    let inputs = Inputs::from(args, loaded)?;
    progress.stage("reading and validating inputs");
    let (ds, report) = load_showing(&inputs, Some(progress))?;
    warn_rejected(&report, progress);
    Ok((inputs, ds, report))
}

/// Warns about rejected rows and notes of every file read.
pub(crate) fn warn_rejected(report: &ValidationReport, progress: &Progress) {
    for f in &report.files {
        if f.rows_rejected > 0 {
            let reasons: Vec<String> = f
                .problems
                .iter()
                .map(|p| format!("{} {}", p.rows, p.reason))
                .collect();
            progress.warn(&format!(
                "{}: skipped {} of {} rows ({})",
                f.path,
                f.rows_rejected,
                f.rows_read,
                reasons.join(", ")
            ));
        }
        for note in &f.notes {
            progress.warn(&format!("{}: {note}", f.path));
        }
    }
}

/// The features of a `segment` or `assign` run: computed from the inputs, or read from a
/// precomputed table (`--features`), with what the summary says about where they came from.
pub(crate) struct RunFeatures {
    pub table: FeatureTable,
    pub summary: FeatureSummary,
    pub report: ValidationReport,
    pub on_bad_rows: BadRows,
    /// Why there may be no abandoners (empty when there is no reason to suspect the windows).
    pub hint: String,
    /// The rows the propensity learns from, or why there are none (`None`: not asked for).
    pub past: Option<Result<Past, NotLearned>>,
}

/// The run's features; with `propensity`, the propensity's past rows too (taken before the
/// features consume the dataset).
pub(crate) fn run_features(
    args: &RunInputArgs,
    loaded: &Loaded,
    params: &FeatureParams,
    propensity: Option<&config::PropensitySettings>,
    progress: &Progress,
) -> Result<RunFeatures> {
    let (input, features_table) = (&args.input, &args.features_table);
    if features_table.is_empty() {
        let (inputs, ds, report) = read_inputs(input, loaded, progress)?;
        if propensity.is_some() {
            progress.stage("setting aside the propensity's past rows");
        }
        let mut past = propensity.map(|s| past::past(&ds, params, s.window, s.history));
        if let (Some(Ok(p)), Some(preset)) = (past.as_mut(), &inputs.preset) {
            if matches!(preset, presets::Preset::Shopify { .. }) {
                p.notes.push("the history is approximate: Shopify's checkout export keeps each checkout's final state: it drops checkouts that later completed, so the past weeks see fewer abandoners than there were, and the ones they see carry their final values".into());
            }
        }
        if let Some(Ok(p)) = &past {
            for note in &p.notes {
                progress.warn(&format!("the return propensity: {note}"));
            }
        }
        progress.stage("computing features");
        let oldest_cart = ds.carts.iter().map(|c| c.updated_at).min();
        let (table, summary) = match past.as_mut() {
            Some(Ok(p)) if p.dataset.is_none() => {
                let computed = feature_stage::compute_at(&ds, params)?;
                let mut ds = ds;
                crate::propensity::history::open_carts(&mut ds);
                p.dataset = Some(ds);
                computed
            }
            _ => feature_stage::compute(ds, params)?,
        };
        let hint = young_carts_hint(oldest_cart, &summary.as_of, params.abandon_after);
        return Ok(RunFeatures {
            table,
            summary,
            report,
            on_bad_rows: inputs.read.bad_rows,
            hint,
            past,
        });
    }
    if !input.is_empty() {
        anyhow::bail!("--features is a precomputed features table: drop --carts, --orders, --engagement, --events and --preset");
    }
    let Some(as_of) = params.as_of else {
        anyhow::bail!("--features: pass --as-of, the as-of time the features were computed for (it goes into the model and the reports)");
    };
    progress.stage("reading the features table");
    let (mut table, files) = crate::features::table::read(features_table, "--features")?;
    table.abandoned_at = crate::features::table::abandoned_at(&table, as_of);
    let summary = feature_stage::summary_of_table(&table, params, as_of);
    Ok(RunFeatures {
        table,
        summary,
        report: ValidationReport { files },
        on_bad_rows: BadRows::Fail,
        hint: String::new(),
        past: propensity.map(|_| {
            Err(NotLearned::other(
                "a --features table has no history to go back in",
            ))
        }),
    })
}
