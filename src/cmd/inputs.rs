//! Reading a command's inputs: the canonical files and a preset's exports, validated, with
//! warnings about rejected rows; and the features of a `segment` or `assign` run, computed from
//! those inputs or read from a precomputed table (`--features`).

use anyhow::Result;

use crate::cli::{InputArgs, RunInputArgs};
use crate::config::{self, Inputs, Loaded};
use crate::features::compute::{
    self as feature_stage, FeatureParams, FeatureSummary, FeatureTable, LeftOut,
};
use crate::ingest::inputs::{self as ingest_inputs, Exports};
use crate::ingest::load::ValidationReport;
use crate::ingest::presets;
use crate::ingest::schema::{BadRows, Dataset};
use crate::propensity::learn::NotLearned;
use crate::propensity::past::{self, Past, Span};
use crate::util::progress::Progress;

/// Reads and validates the inputs (`ingest::inputs`), with a bar of the bytes read when
/// `progress` is given (the preset's exports, read first, show as a spinner).
pub(crate) fn read_validated(
    inputs: &Inputs,
    progress: Option<&Progress>,
) -> Result<(Dataset, ValidationReport)> {
    let exports = Exports {
        files: &inputs.files,
        preset: inputs.preset.as_ref(),
        read: &inputs.read,
    };
    match progress {
        None => ingest_inputs::read(exports, None),
        Some(p) => ingest_inputs::read(
            exports,
            Some(ingest_inputs::ReadProgress {
                total: &|total| p.stage_bytes("reading and validating inputs", total),
                advance: &|n| p.advance(n),
            }),
        ),
    }
}

/// Reads and validates the inputs, warning about rejected rows and notes.
pub(crate) fn read_inputs(
    args: &InputArgs,
    loaded: &Loaded,
    progress: &Progress,
) -> Result<(Inputs, Dataset, ValidationReport)> {
    let inputs = Inputs::from(args, loaded)?;
    progress.stage("reading and validating inputs");
    let (ds, report) = read_validated(&inputs, Some(progress))?;
    warn_rejected(&report, progress);
    Ok((inputs, ds, report))
}

/// Warns about each feature the features stage left out, and why.
pub(crate) fn warn_left_out(left_out: &[LeftOut], progress: &Progress) {
    for left_out in left_out {
        let (feature, reason) = (&left_out.feature, &left_out.reason);
        progress.warn(&format!("feature {feature} left out: {reason}"));
    }
}

/// Warns about rejected rows and notes of every file read.
pub(crate) fn warn_rejected(report: &ValidationReport, progress: &Progress) {
    for w in report.files.iter().flat_map(|f| f.warnings()) {
        progress.warn(&w);
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
        let final_state_export = matches!(inputs.preset, Some(presets::Preset::Shopify { .. }));
        let mut past = propensity.map(|s| {
            let span = Span {
                window: s.window,
                history: s.history,
                final_state_export,
            };
            past::past(&ds, params, span)
        });
        if let Some(Ok(p)) = &past {
            for note in &p.notes {
                progress.warn(&format!("the return propensity: {note}"));
            }
        }
        progress.stage("computing features");
        let oldest_cart = ds.carts.iter().map(|c| c.updated_at).min();
        let (table, summary) = past::features_keeping_past(ds, params, past.as_mut())?;
        let hint =
            feature_stage::young_carts_hint(oldest_cart, &summary.as_of, params.abandon_after);
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
    progress.stage("reading the features table");
    let (table, summary, files) = crate::features::table::for_run(features_table, params)?;
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
