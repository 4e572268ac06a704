//! `cartsona assign --model RUN/model.json`: apply a saved model to new data without refitting.
//! Features use the model's windows and settings (the as-of comes from the new data or --as-of),
//! the model's transforms and scaler, and the nearest centroid. Names, evidence and plays come
//! from the model; sizes and profiles are those of the new data.

use anyhow::{bail, Result};
use ndarray::Array2;
use regex::Regex;

use crate::cli::AssignArgs;
use crate::cmd::segment::{print_done, run_files, write_run};
use crate::config::Loaded;
use crate::io::write::StagedDir;
use crate::model::Model;
use crate::pipeline::features::FeatureParams;
use crate::pipeline::{assign, matrix, personas};
use crate::progress::Progress;
use crate::report::Summary;
use crate::timefmt;

pub fn run(args: &AssignArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let model = Model::load(&args.model)?;
    let dur = |name: &str, v: &str| {
        timefmt::parse_duration(v)
            .map_err(|e| anyhow::anyhow!("{}: {name} in the model: {e}", args.model.display()))
    };
    let params = FeatureParams {
        as_of: match &args.as_of {
            None => None,
            Some(v) => Some(timefmt::parse_timestamp(v).ok_or_else(|| {
                anyhow::anyhow!("--as-of '{v}': not a timestamp (use RFC 3339 or YYYY-MM-DD)")
            })?),
        },
        abandon_after: dur("abandon_after", &model.config.abandon_after)?,
        lookback: dur("lookback", &model.config.lookback)?,
        history: dur("history", &model.config.history)?,
        info_pages: Regex::new(&model.config.info_pages).map_err(|e| {
            anyhow::anyhow!("{}: info_pages in the model: {e}", args.model.display())
        })?,
    };
    let staged = StagedDir::new(&args.out, args.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.timings);
    let super::RunFeatures {
        table,
        summary: fsum,
        report,
        on_bad_rows,
        ..
    } = super::run_features(
        &args.input,
        &args.features_table,
        loaded,
        &params,
        &progress,
    )?;
    let missing: Vec<&str> = model
        .scaler
        .features
        .iter()
        .filter(|f| table.column(&f.name).is_none())
        .map(|f| f.name.as_str())
        .collect();
    if !missing.is_empty() {
        let why: Vec<String> = fsum
            .left_out
            .iter()
            .filter(|l| missing.contains(&l.feature))
            .map(|l| format!("{}: {}", l.feature, l.reason))
            .collect();
        bail!(
            "the model uses features this data cannot give: {} ({}); pass the same kinds of input as the model's run",
            missing.join(", "),
            why.join("; ")
        );
    }
    if fsum.abandoners == 0 {
        bail!(
            "no abandoners as of {}: no cart with value > 0 went {} without an order within the last {}",
            fsum.as_of,
            fsum.windows.abandon_after,
            fsum.windows.lookback
        );
    }
    progress.stage("assigning personas");
    let x = matrix::apply(&model.scaler, &table)?;
    let k = model.personas.len();
    let d = model.scaler.features.len();
    let mut centroids = Array2::<f64>::zeros((k, d));
    for (i, p) in model.personas.iter().enumerate() {
        for (j, v) in p.centroid.iter().enumerate() {
            centroids[[i, j]] = *v;
        }
    }
    let assigned = assign::nearest_two(&x, &centroids);
    let labels: Vec<usize> = assigned.iter().map(|a| a.persona).collect();
    let (mut personas, _) = personas::build(&table, &labels, k, false);
    for (p, m) in personas.iter_mut().zip(&model.personas) {
        p.id = m.id.clone();
        p.name = m.name.clone();
        p.evidence = m.evidence.clone();
        p.bullets = m.bullets.clone();
        p.play = m.play.clone();
    }
    let mut summary = Summary::new("assign", &fsum, report, on_bad_rows);
    for p in personas.iter().filter(|p| p.size == 0) {
        summary.warnings.push(format!(
            "persona {} {} has no shopper in this data",
            p.id, p.name
        ));
    }
    let summary = Summary {
        cluster_features: model
            .scaler
            .features
            .iter()
            .map(|f| f.name.clone())
            .collect(),
        seed: model.config.seed,
        k_selection: model.k_selection.clone(),
        chosen_k: k,
        reason: format!(
            "assigned with the saved model of {} (k = {k}, not refitted)",
            model.as_of
        ),
        personas,
        files: run_files(args.format),
        projection: crate::pipeline::project::project(&x, &labels, k, model.config.seed),
        ..summary
    };
    progress.stage("writing assignments");
    let summary = write_run(
        &staged,
        args.format,
        &table,
        &assigned,
        summary,
        &model,
        &progress,
    )?;
    staged.commit()?;
    progress.finish();
    if !quiet {
        print_done(&summary, &args.out);
    }
    Ok(0)
}
