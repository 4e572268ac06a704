//! `cartsona segment --out DIR`: the whole job in one go, written atomically into a run directory:
//! features -> matrix -> outliers out, choice of k -> personas -> identity (with `--baseline`) ->
//! outlier flags and stability -> model and reports.

use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::SegmentArgs;
use crate::cluster::{fit, matrix, projection};
use crate::cmd::inputs;
use crate::cmd::run_dir::{self, RunOutput, RunRows};
use crate::config::{self, Loaded};
use crate::drift::load;
use crate::features::compute::FeatureSummary;
use crate::features::compute::FeatureTable;
use crate::io::{read::model_path, write::StagedDir};
use crate::model::format::RunParts;
use crate::model::holdout::Arm;
use crate::model::{identity, Model, RunConfig};
use crate::personas;
use crate::propensity::learn::{NotLearned, Untreated};
use crate::propensity::past::Past;
use crate::propensity::run::{self, Asked, Groups, RunPropensity, Said};
use crate::report::Summary;
use crate::util::progress::Progress;
use crate::util::timefmt;

pub fn run(args: &SegmentArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let cfg = config::segment(args, loaded)?;
    let pcfg = config::propensity(&args.propensity, loaded)?;
    let asked = config::holdout(&args.holdout, loaded)?;
    let baseline = baseline(args)?;
    let previous = run_dir::previous(&args.output)?;
    let staged = StagedDir::new(&args.output.out, args.output.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.output.timings);
    let rf = features(args, loaded, &cfg, pcfg.as_ref(), &progress)?;
    let (table, fsum) = (rf.table, rf.summary);
    progress.stage("building the clustering matrix");
    let base_features = baseline.as_ref().map(|(m, _)| m.feature_names());
    let wanted = wanted(
        &cfg,
        baseline.as_ref().map(|b| &b.0),
        base_features.as_deref(),
    );
    let mut prop = propensity(
        rf.past,
        &cfg,
        pcfg.as_ref(),
        &wanted,
        &baseline,
        &table,
        &progress,
    )?;
    let (scaler, x, mreport) = matrix::fit(&table, &wanted)?;
    for (f, why) in &mreport.dropped {
        progress.warn(&format!("clustering feature {f} not used: {why}"));
    }
    let fitted = fit::fit(&x, &table.value_at_stake(), &cfg.clustering.select, |s| {
        progress.stage(s)
    })?;
    let selection = &fitted.selection;
    for w in selection.warnings.iter().chain(&selection.indicative) {
        progress.warn(w);
    }
    progress.stage("describing the personas");
    let found = personas::from_clusters(&table, &x, &selection.model.centroids);
    let base = baseline.as_ref().map(|(m, label)| (m, label.clone()));
    let (mut settled, ids) = identity::settle(&table, found, base, cfg.max_match_distance)?;
    if cfg.stability_resamples > 0 {
        progress.stage("measuring each persona's stability");
    }
    let labels: Vec<usize> = settled.assigned.iter().map(|a| a.persona).collect();
    let distances: Vec<f64> = settled.assigned.iter().map(|a| a.distance).collect();
    let sp = &cfg.clustering.select;
    let a = fit::assess(
        &x,
        &fitted,
        &labels,
        &distances,
        sp,
        cfg.stability_resamples,
    )?;
    personas::attach(&mut settled.personas, &labels, &a.outlier, &a.stability);
    let arms = run_dir::arms(
        &asked,
        baseline.as_ref().map(|(m, path)| (m, Path::new(path))),
        &fsum.as_of,
        &table,
        &labels,
        &mut settled.personas,
        &progress,
    )?;
    let k = selection.k;
    let run_config = run_config(&fsum, &cfg, wanted.features);
    let mut model = Model::of_run(RunParts {
        as_of: &fsum.as_of,
        config: run_config,
        scaler,
        personas: &settled,
        table: &table,
        selection: (&selection.table, k, &selection.reason),
        identity: ids.record(),
        outlier_threshold: a.threshold,
        holdout: arms.holdout.clone(),
    });
    model.first_listing = arms.listing.as_ref().map(|l| l.record.clone());
    let persona_ids: Vec<&str> = settled.personas.iter().map(|p| p.id.as_str()).collect();
    let treated = arms.treated();
    model.propensity = prop.figures(
        &table,
        Groups {
            labels: &labels,
            persona_ids: &persona_ids,
            treated: treated.as_deref(),
        },
    );
    let mut summary = Summary::new("segment", &fsum, rf.report, rf.on_bad_rows);
    if let Some(Said::Warning(w)) = &prop.said {
        summary.warnings.push(w.clone());
    }
    summary.warnings.extend(selection.warnings.iter().cloned());
    summary.warnings.extend(arms.note.clone());
    let summary = Summary {
        cluster_features: model.feature_names(),
        matrix: mreport,
        seed: sp.seed,
        k_selection: selection.table.clone(),
        chosen_k: k,
        reason: selection.reason.clone(),
        indicative: selection.indicative.clone(),
        outlier_threshold: model.outlier_threshold,
        outliers: a.outlier.iter().filter(|o| **o).count(),
        left_out_of_fit: x.nrows() - fitted.fit_rows.len(),
        holdout: arms.holdout,
        personas: settled.personas,
        baseline: ids.baseline,
        lineage: ids.lineage,
        retired_now: ids.retired_now,
        files: run_dir::run_files(args.output.format, arms.arms.is_some()),
        projection: projection::project(&x, &labels, k, sp.seed),
        propensity: prop.shown,
        ..summary
    };
    let rows = RunRows {
        assigned: &settled.assigned,
        outlier: &a.outlier,
        arms: arms.arms.as_deref(),
        listing: arms.listing.as_ref(),
        propensity: prop.scored.as_ref(),
    };
    RunOutput::new(staged, &args.output, quiet, previous)
        .write(&table, rows, summary, &model, &progress)?;
    Ok(0)
}

/// The run's features (and the propensity's past rows), with warnings about left-out features;
/// refused when there are fewer than two abandoners.
fn features(
    args: &SegmentArgs,
    loaded: &Loaded,
    cfg: &config::Segment,
    prop_cfg: Option<&config::PropensitySettings>,
    progress: &Progress,
) -> Result<inputs::RunFeatures> {
    let rf = inputs::run_features(&args.inputs, loaded, &cfg.features, prop_cfg, progress)?;
    let fsum = &rf.summary;
    for l in &fsum.left_out {
        progress.warn(&format!("feature {} left out: {}", l.feature, l.reason));
    }
    run_dir::require_abandoners(
        fsum,
        &format!(
            " (check --as-of, --abandon-after and --lookback){}",
            rf.hint
        ),
    )?;
    if fsum.abandoners < 2 {
        bail!(
            "only {} abandoner as of {}: personas need at least 2 (and 3 distinct for the default --k-min 3); use a longer --lookback or more data",
            fsum.abandoners,
            fsum.as_of
        );
    }
    Ok(rf)
}

/// The run's return propensity (docs/propensity.md): learned from the past rows and scored, or
/// none, with a note or a warning said once.
fn propensity(
    past: Option<Result<Past, NotLearned>>,
    cfg: &config::Segment,
    settings: Option<&config::PropensitySettings>,
    wanted: &matrix::Wanted,
    baseline: &Option<(Model, String)>,
    table: &FeatureTable,
    progress: &Progress,
) -> Result<RunPropensity> {
    let (Some(past), Some(settings)) = (past, settings) else {
        return Ok(RunPropensity::default());
    };
    let held = baseline.as_ref().and_then(|(m, _)| m.holdout.as_ref());
    let in_holdout = |c: &str| held.is_some_and(|h| h.arm(c) == Arm::Holdout);
    let asked = Asked {
        window: settings.window,
        c: settings.c,
        no_discount_above: settings.no_discount_above,
        force_no_discount: settings.force_no_discount,
        cluster_features: wanted.features,
        holdout: held.map(|h| Untreated {
            in_holdout: &in_holdout,
            since: timefmt::parse_timestamp(&h.since).unwrap_or(i64::MAX),
        }),
        params: &cfg.features,
    };
    let run = run::learn_and_score(past, asked, table, |s| progress.stage(s))?;
    match &run.said {
        Some(Said::Note(note)) => progress.note(note),
        Some(Said::Warning(warning)) => progress.warn(warning),
        None => {}
    }
    Ok(run)
}

/// The features to cluster on: with a baseline, the baseline's (unless the user chose others),
/// so both runs are comparable; else the chosen ones or the defaults.
fn wanted<'a>(
    cfg: &'a config::Segment,
    baseline: Option<&'a Model>,
    base_features: Option<&'a [String]>,
) -> matrix::Wanted<'a> {
    let scaler = baseline.map(|m| &m.scaler);
    match base_features {
        Some(features) if cfg.clustering.chosen_by.is_none() => matrix::Wanted {
            features,
            chosen_by: Some("--baseline (the baseline model's clustering features)"),
            baseline: scaler,
        },
        _ => matrix::Wanted {
            features: &cfg.clustering.wanted,
            chosen_by: cfg.clustering.chosen_by.as_deref(),
            baseline: scaler,
        },
    }
}

/// The settings model.json records.
fn run_config(fsum: &FeatureSummary, cfg: &config::Segment, features: &[String]) -> RunConfig {
    let sp = &cfg.clustering.select;
    RunConfig {
        abandon_after: fsum.windows.abandon_after.clone(),
        lookback: fsum.windows.lookback.clone(),
        history: fsum.windows.history.clone(),
        info_pages: cfg.features.info_pages.as_str().to_string(),
        k_min: sp.k_min,
        k_max: sp.k_max,
        k: sp.k,
        min_persona_share: sp.min_share,
        seed: sp.seed,
        restarts: sp.restarts,
        minibatch_above: sp.minibatch_above,
        cluster_features: features.to_vec(),
        min_persona_size: sp.min_size,
        stability_resamples: cfg.stability_resamples,
    }
}

/// The `--baseline` model and its file as messages name it.
fn baseline(args: &SegmentArgs) -> Result<Option<(Model, String)>> {
    let Some(path) = &args.baseline else {
        return Ok(None);
    };
    let path = model_path(path);
    let model = load::model(&path).map_err(|e| anyhow::anyhow!("--baseline: {e:#}"))?;
    Ok(Some((model, path.display().to_string())))
}
