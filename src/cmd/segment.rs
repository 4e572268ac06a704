//! `cartsona segment --out DIR`: the whole job in one go, written atomically into a run directory:
//! features -> matrix -> choice of k -> personas -> identity (with `--baseline`) -> model and
//! reports.

use anyhow::{bail, Result};

use crate::cli::SegmentArgs;
use crate::cluster::{choose_k, matrix, projection};
use crate::cmd::inputs;
use crate::config::{self, Loaded};
use crate::drift::load;
use crate::io::{read::model_path, write::StagedDir};
use crate::model::{identity, Model, RunConfig};
use crate::personas;
use crate::report::Summary;
use crate::util::progress::Progress;

use crate::cmd::run_dir::{self, RunOutput};

pub fn run(args: &SegmentArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let cfg = config::segment(args, loaded)?;
    let staged = StagedDir::new(&args.output.out, args.output.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.output.timings);
    let rf = inputs::run_features(&args.inputs, loaded, &cfg.features, &progress)?;
    let (table, fsum) = (rf.table, rf.summary);
    for l in &fsum.left_out {
        progress.warn(&format!("feature {} left out: {}", l.feature, l.reason));
    }
    run_dir::require_abandoners(
        &fsum,
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
    progress.stage("building the clustering matrix");
    let (scaler, x, mreport) = matrix::fit(&table, &cfg.wanted, cfg.explicit)?;
    for (f, why) in &mreport.dropped {
        progress.warn(&format!("clustering feature {f} not used: {why}"));
    }
    let selection = choose_k::select(&x, &cfg.select, |stage| progress.stage(stage))?;
    for w in &selection.warnings {
        progress.warn(w);
    }
    progress.stage("describing the personas");
    let found = personas::from_clusters(&table, &x, &selection.model.centroids);
    let baseline = match &args.baseline {
        None => None,
        Some(path) => {
            let path = model_path(path);
            let model = load::model(&path).map_err(|e| anyhow::anyhow!("--baseline: {e:#}"))?;
            Some((model, path.display().to_string()))
        }
    };
    let (settled, ids) = identity::settle(
        &table,
        found,
        baseline.as_ref().map(|(m, label)| (m, label.clone())),
        cfg.max_match_distance,
    )?;
    let k = selection.k;
    let sp = &cfg.select;
    let run_config = RunConfig {
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
        cluster_features: cfg.wanted.clone(),
    };
    let model = Model::of_run(
        &fsum.as_of,
        run_config,
        scaler,
        &settled,
        &table,
        (&selection.table, k, &selection.reason),
        ids.record(),
    );
    let mut summary = Summary::new("segment", &fsum, rf.report, rf.on_bad_rows);
    summary.warnings.extend(selection.warnings.iter().cloned());
    let labels: Vec<usize> = settled.assigned.iter().map(|a| a.persona).collect();
    let summary = Summary {
        cluster_features: model.feature_names(),
        matrix: mreport,
        seed: sp.seed,
        k_selection: selection.table,
        chosen_k: k,
        reason: selection.reason,
        personas: settled.personas,
        baseline: ids.baseline,
        lineage: ids.lineage,
        retired_now: ids.retired_now,
        files: run_dir::run_files(args.output.format),
        projection: projection::project(&x, &labels, k, sp.seed),
        ..summary
    };
    RunOutput::new(staged, &args.output, quiet).write(
        &table,
        &settled.assigned,
        summary,
        &model,
        &progress,
    )?;
    Ok(0)
}
