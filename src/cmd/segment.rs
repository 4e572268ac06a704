//! `cartsona segment --out DIR`: the whole job in one go, written atomically into a run directory:
//! features -> matrix -> outliers out, choice of k -> personas -> identity (with `--baseline`) ->
//! outlier flags and stability -> model and reports.

use std::path::Path;

use anyhow::Result;

use crate::cli::{OutFormat, SegmentArgs};
use crate::cluster::matrix::{self, Wanted};
use crate::cluster::projection;
use crate::cmd::inputs;
use crate::cmd::run_output::{self, RunOutput};
use crate::config::{self, Loaded};
use crate::features::compute::{require_two_abandoners, FeatureTable};
use crate::io::write::StagedDir;
use crate::model::segmented::{self, How};
use crate::model::{run_dir, RunConfig};
use crate::propensity::learn::NotLearned;
use crate::propensity::past::Past;
use crate::propensity::run::{self, PropensityAsked, RunPropensity, Said};
use crate::report::tables::RunRows;
use crate::report::{Clustered, RunFound, Summary};
use crate::util::progress::Progress;

pub fn run(args: &SegmentArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let settings = config::segment(args, loaded)?;
    let propensity_settings = config::propensity(&args.propensity, loaded)?;
    let holdout_asked = config::holdout(&args.holdout, loaded)?;
    let baseline = run_dir::baseline(args.baseline.as_deref())?;
    let previous = run_output::previous(&args.output)?;
    let staged = StagedDir::new(&args.output.out, args.output.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.output.timings);
    let features = inputs::run_features(
        &args.inputs,
        loaded,
        &settings.features,
        propensity_settings.as_ref(),
        &progress,
    )?;
    let (table, features_summary) = (features.table, features.summary);
    inputs::warn_left_out(&features_summary.left_out, &progress);
    let advice = " (check --as-of, --abandon-after and --lookback)";
    require_two_abandoners(&features_summary, &format!("{advice}{}", features.hint))?;
    let clustering = &settings.clustering;
    let base_model = baseline.as_ref().map(|(model, _)| model);
    let of_baseline = base_model.map(|m| (m.feature_names(), &m.scaler));
    let wanted = Wanted::choose(
        &clustering.wanted,
        clustering.chosen_by.as_deref(),
        of_baseline
            .as_ref()
            .map(|(names, scaler)| (names.as_slice(), *scaler)),
    );
    let held = base_model.and_then(|m| m.holdout.as_ref());
    let propensity_asked = propensity_settings.as_ref().map(|p| {
        p.asked(
            wanted.features,
            held.map(|h| h.untreated()),
            &settings.features,
        )
    });
    let mut propensity = learn_propensity(features.past, propensity_asked, &table, &progress)?;
    progress.stage("building the clustering matrix");
    let (scaler, x, matrix_report) = matrix::fit(&table, &wanted)?;
    for (feature, why) in &matrix_report.dropped {
        progress.warn(&format!("clustering feature {feature} not used: {why}"));
    }
    let how = How {
        select: &clustering.select,
        baseline: baseline
            .as_ref()
            .map(|(model, label)| (model, label.clone())),
        max_match_distance: settings.max_match_distance,
        stability_resamples: settings.stability_resamples,
    };
    let mut found = segmented::segment(&table, &x, how, |stage| progress.stage(stage))?;
    let selection = &found.fitted.selection;
    for warning in selection.warnings.iter().chain(&selection.indicative) {
        progress.warn(warning);
    }
    let before = baseline
        .as_ref()
        .map(|(model, path)| (model, Path::new(path)));
    let (labels, personas) = (&found.labels, &mut found.settled.personas);
    let as_of = &features_summary.as_of;
    let arms = run_output::arms(
        &holdout_asked,
        before,
        as_of,
        &table,
        labels,
        personas,
        &progress,
    )?;
    let run_config = RunConfig::of(
        &features_summary.windows,
        settings.features.info_pages.as_str(),
        &clustering.select,
        wanted.features,
        settings.stability_resamples,
    );
    let mut model = found.model(as_of, run_config, scaler, &table, &arms);
    let personas = &found.settled.personas;
    model.propensity = run_output::figures(&mut propensity, &table, labels, personas, &arms);
    let parquet = args.output.format == OutFormat::Parquet;
    let files = run_dir::files(parquet, arms.arms.is_some());
    let k = found.fitted.selection.k;
    let projection = projection::project(&x, labels, k, model.config.seed);
    let run = RunFound::segmented(&found, &arms, &propensity, files, projection);
    let summary = Summary::new(
        "segment",
        &features_summary,
        features.report,
        features.on_bad_rows,
        Clustered::segmented(&found, &model, x.nrows(), matrix_report),
        run,
    );
    let rows = RunRows {
        assigned: &found.settled.assigned,
        outlier: &found.assessed.outlier,
        arms: arms.arms.as_deref(),
        listing: arms.listing.as_ref(),
        propensity: propensity.scored.as_ref(),
        variants: arms.variant_rows(),
    };
    RunOutput::new(staged, &args.output, quiet, previous)
        .write(&table, rows, summary, &model, &progress)?;
    Ok(0)
}

/// The run's propensity (docs/propensity.md) learned and scored, or none; its note or warning given.
fn learn_propensity(
    past: Option<Result<Past, NotLearned>>,
    asked: Option<PropensityAsked>,
    table: &FeatureTable,
    progress: &Progress,
) -> Result<RunPropensity> {
    let (Some(past), Some(asked)) = (past, asked) else {
        return Ok(RunPropensity::default());
    };
    let run = run::learn_and_score(past, asked, table, |s| progress.stage(s))?;
    match &run.said {
        Some(Said::Note(note)) => progress.note(note),
        Some(Said::Warning(warning)) => progress.warn(warning),
        None => {}
    }
    Ok(run)
}
