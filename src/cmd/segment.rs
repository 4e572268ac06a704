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
use crate::propensity::run::{self, Asked, RunPropensity, Said};
use crate::report::tables::RunRows;
use crate::report::Summary;
use crate::util::progress::Progress;

pub fn run(args: &SegmentArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let cfg = config::segment(args, loaded)?;
    let pcfg = config::propensity(&args.propensity, loaded)?;
    let holdout_asked = config::holdout(&args.holdout, loaded)?;
    let baseline = run_dir::baseline(args.baseline.as_deref())?;
    let previous = run_output::previous(&args.output)?;
    let staged = StagedDir::new(&args.output.out, args.output.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.output.timings);
    let rf = inputs::run_features(
        &args.inputs,
        loaded,
        &cfg.features,
        pcfg.as_ref(),
        &progress,
    )?;
    let (table, fsum) = (rf.table, rf.summary);
    for l in &fsum.left_out {
        progress.warn(&format!("feature {} left out: {}", l.feature, l.reason));
    }
    let advice = " (check --as-of, --abandon-after and --lookback)";
    require_two_abandoners(&fsum, &format!("{advice}{}", rf.hint))?;
    progress.stage("building the clustering matrix");
    let base_features = baseline.as_ref().map(|(m, _)| m.feature_names());
    let clustering = &cfg.clustering;
    let wanted = Wanted::choose(
        &clustering.wanted,
        clustering.chosen_by.as_deref(),
        base_features
            .as_deref()
            .zip(baseline.as_ref().map(|b| &b.0.scaler)),
    );
    let held = baseline.as_ref().and_then(|(m, _)| m.holdout.as_ref());
    let asked = pcfg
        .as_ref()
        .map(|p| p.asked(wanted.features, held.map(|h| h.untreated()), &cfg.features));
    let mut prop = propensity(rf.past, asked, &table, &progress)?;
    let (scaler, x, matrix_report) = matrix::fit(&table, &wanted)?;
    for (f, why) in &matrix_report.dropped {
        progress.warn(&format!("clustering feature {f} not used: {why}"));
    }
    let how = How {
        select: &clustering.select,
        baseline: baseline.as_ref().map(|(m, label)| (m, label.clone())),
        max_match_distance: cfg.max_match_distance,
        stability_resamples: cfg.stability_resamples,
    };
    let mut found = segmented::segment(&table, &x, how, |s| progress.stage(s))?;
    let selection = &found.fitted.selection;
    for w in selection.warnings.iter().chain(&selection.indicative) {
        progress.warn(w);
    }
    let before = baseline.as_ref().map(|(m, path)| (m, Path::new(path)));
    let (labels, personas) = (&found.labels, &mut found.settled.personas);
    let arms = run_output::arms(
        &holdout_asked,
        before,
        &fsum.as_of,
        &table,
        labels,
        personas,
        &progress,
    )?;
    let run_config = RunConfig::of(
        &fsum.windows,
        cfg.features.info_pages.as_str(),
        &clustering.select,
        wanted.features,
        cfg.stability_resamples,
    );
    let mut model = found.model(&fsum.as_of, run_config, scaler, &table, &arms);
    let personas = &found.settled.personas;
    model.propensity = run_output::figures(&mut prop, &table, &found.labels, personas, &arms);
    let mut summary = Summary::new("segment", &fsum, rf.report, rf.on_bad_rows);
    if let Some(Said::Warning(w)) = &prop.said {
        summary.warnings.push(w.clone());
    }
    summary
        .warnings
        .extend(found.fitted.selection.warnings.iter().cloned());
    summary.warnings.extend(arms.note.clone());
    let seed = clustering.select.seed;
    let summary = Summary {
        cluster_features: model.feature_names(),
        outlier_threshold: model.outlier_threshold,
        holdout: arms.holdout.clone(),
        personas: personas.clone(),
        files: run_dir::files(
            args.output.format == OutFormat::Parquet,
            arms.arms.is_some(),
        ),
        projection: projection::project(&x, &found.labels, found.fitted.selection.k, seed),
        propensity: prop.shown.clone(),
        ..summary.with_segmented(&found, x.nrows(), seed, matrix_report)
    };
    let rows = RunRows {
        assigned: &found.settled.assigned,
        outlier: &found.assessed.outlier,
        arms: arms.arms.as_deref(),
        listing: arms.listing.as_ref(),
        propensity: prop.scored.as_ref(),
    };
    RunOutput::new(staged, &args.output, quiet, previous)
        .write(&table, rows, summary, &model, &progress)?;
    Ok(0)
}

/// The run's propensity (docs/propensity.md) learned and scored, or none; its note or warning given.
fn propensity(
    past: Option<Result<Past, NotLearned>>,
    asked: Option<Asked>,
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
