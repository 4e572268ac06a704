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
use crate::propensity::learn::{self, NotLearned, Propensity, Settings, Untreated};
use crate::propensity::shown::Shown;
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
    let mut prop = propensity(rf.past, &cfg, &pcfg, &wanted, &baseline, &table, &progress)?;
    let (scaler, x, mreport) = matrix::fit(&table, &wanted)?;
    for (f, why) in &mreport.dropped {
        progress.warn(&format!("clustering feature {f} not used: {why}"));
    }
    let fitted = fit::fit(&x, &table.value_at_stake(), &cfg.select, |s| {
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
    let sp = &cfg.select;
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
    model.propensity = prop.figures(&table, &labels, &settled.personas, arms.arms.as_deref());
    let mut summary = Summary::new("segment", &fsum, rf.report, rf.on_bad_rows);
    summary.warnings.extend(prop.warning);
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
        propensity: prop.scored.as_ref().map(|s| (&s.1[..], &s.2[..])),
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
    prop_cfg: Option<&config::Propensity>,
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

/// The propensity of a run: what the reports show, the model and scores, and the warning when it
/// could not be learned.
struct PropensityRun {
    shown: Option<Shown>,
    scored: Option<(Propensity, Vec<f64>, Vec<String>)>,
    warning: Option<String>,
    /// `--force-no-discount`.
    forced: bool,
}

impl PropensityRun {
    /// The figures per persona and the no-discount rule (`run_dir::propensity_figures`), once
    /// the personas and arms are known; the model to keep in model.json.
    fn figures(
        &mut self,
        table: &FeatureTable,
        labels: &[usize],
        personas: &[crate::personas::Persona],
        arms: Option<&[Arm]>,
    ) -> Option<Propensity> {
        let (shown, (model, scores, _)) = (self.shown.as_mut()?, self.scored.as_ref()?);
        let kind_forced = (model.kind, self.forced);
        run_dir::propensity_figures(shown, kind_forced, scores, table, labels, personas, arms);
        // Recorded so that `assign` applies the rule as this run did and a readout knows it.
        Some(Propensity {
            no_discount_rule: Some(shown.no_discount_rule),
            ..model.clone()
        })
    }
}

/// Learns the return propensity from the past rows and scores the run's abandoners
/// (docs/propensity.md); when the data cannot give it, no column and one message: a note when
/// the shop only lacks history yet, else a warning.
fn propensity(
    past: Option<Result<inputs::Past, NotLearned>>,
    cfg: &config::Segment,
    settings: &Option<config::Propensity>,
    wanted: &matrix::Wanted,
    baseline: &Option<(Model, String)>,
    table: &FeatureTable,
    progress: &Progress,
) -> Result<PropensityRun> {
    let held = baseline.as_ref().and_then(|(m, _)| m.holdout.as_ref());
    let cluster_features = wanted.features;
    let (Some(past), Some(settings)) = (past, settings.as_ref()) else {
        return Ok(PropensityRun {
            shown: None,
            scored: None,
            warning: None,
            forced: false,
        });
    };
    let mut shown = Shown::empty(settings.window, settings.no_discount_above);
    if let Ok(p) = &past {
        shown.notes.extend(p.notes.iter().cloned());
    }
    let learned = past.and_then(|past| {
        progress.stage("learning the return propensity");
        let in_holdout = |c: &str| held.is_some_and(|h| h.arm(c) == Arm::Holdout);
        let untreated = held.map(|h| Untreated {
            in_holdout: &in_holdout,
            since: timefmt::parse_timestamp(&h.since).unwrap_or(i64::MAX),
        });
        let s = Settings {
            window: settings.window,
            c: settings.c,
            cluster_features,
            holdout: untreated,
            sample_fraction: past.fraction,
            uncovered_weeks: past.plan.uncovered,
            no_discount_above: settings.no_discount_above,
        };
        let ds = past.dataset.as_ref().expect("set by inputs::run_features");
        learn::from_past(ds, &past.plan, &cfg.features, &s)
            .map_err(|e| NotLearned::other(format!("{e:#}")))?
    });
    let learn::Learnt {
        model,
        measures,
        note,
    } = match learned {
        Ok(found) => found,
        Err(why) => {
            // A shop that only lacks history yet gets a note of what it would take (a first run
            // on a month of data is not an alarm); anything else is a warning.
            let warning = match why.too_little_history {
                true => {
                    progress.note(&format!("no return propensity yet: {why}. It learns from the shop's own past weeks: a few months of carts and orders before the as-of time give it one (docs/propensity.md); --no-propensity skips it"));
                    None
                }
                false => {
                    let w = format!(
                        "return propensity not learned: {why} (no return_propensity column)"
                    );
                    progress.warn(&w);
                    Some(w)
                }
            };
            shown.not_learned = Some(why.why);
            return Ok(PropensityRun {
                shown: Some(shown),
                scored: None,
                warning,
                forced: false,
            });
        }
    };
    let (scores, reasons) = learn::score(&model, table)?;
    shown.fill(&model, Some(measures), note, &scores);
    Ok(PropensityRun {
        shown: Some(shown),
        scored: Some((model, scores, reasons)),
        warning: None,
        forced: settings.force_no_discount,
    })
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
        Some(features) if !cfg.explicit => matrix::Wanted {
            features,
            chosen_by: Some("--baseline (the baseline model's clustering features)"),
            baseline: scaler,
        },
        _ => matrix::Wanted {
            features: &cfg.wanted,
            chosen_by: cfg.explicit.then_some("--cluster-features"),
            baseline: scaler,
        },
    }
}

/// The settings model.json records.
fn run_config(fsum: &FeatureSummary, cfg: &config::Segment, features: &[String]) -> RunConfig {
    let sp = &cfg.select;
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
