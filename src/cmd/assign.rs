//! `cartsona assign --model RUN/model.json`: apply a saved model to new data without refitting.
//! Features use the model's windows and settings (the as-of comes from the new data or --as-of),
//! the model's transforms and scaler, and the nearest centroid. Names, evidence and plays come
//! from the model; sizes and profiles are those of the new data.

use anyhow::{bail, Result};

use crate::cli::AssignArgs;
use crate::cluster::{matrix, nearest, outliers, projection};
use crate::cmd::inputs;
use crate::config::{self, Loaded};
use crate::drift::load;
use crate::io::write::StagedDir;
use crate::personas;
use crate::propensity::run::{self, Groups, RunPropensity};
use crate::report::Summary;
use crate::util::progress::Progress;

use crate::cmd::run_dir::{self, RunOutput, RunRows};
use crate::model::Model;

pub fn run(args: &AssignArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let model = load::model(&args.model)?;
    if let Some(dialect) = args.emit_sql {
        return emit_sql(args, &model, config::dialect(dialect), loaded);
    }
    let params = config::assign_params(&model, &args.model, args.as_of.as_deref())?;
    let asked = config::holdout(&args.holdout, loaded)?;
    let previous = run_dir::previous(&args.output)?;
    let staged = StagedDir::new(&args.output.out, args.output.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.output.timings);
    let rf = inputs::run_features(&args.inputs, loaded, &params, None, &progress)?;
    let (table, fsum) = (rf.table, rf.summary);
    let missing = model.missing_features(&table);
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
    run_dir::require_abandoners(&fsum, "")?;
    progress.stage("assigning personas");
    let x = matrix::apply(&model.scaler, &table)?;
    let k = model.personas.len();
    let assigned = nearest::nearest_two(&x, &model.centroids());
    let labels: Vec<usize> = assigned.iter().map(|a| a.persona).collect();
    // Outliers by the model's rule (a model of format 1 has none).
    let distances: Vec<f64> = assigned.iter().map(|a| a.distance).collect();
    let threshold = model.outlier_threshold.unwrap_or(f64::INFINITY);
    let outlier = outliers::flag(&distances, &labels, k, threshold);
    let mut personas = model.with_identity(personas::build(&table, &labels, k, false).0);
    let stability: Vec<Option<f64>> = model.personas.iter().map(|p| p.stability).collect();
    personas::attach(&mut personas, &labels, &outlier, &stability);
    let model_file = crate::io::read::model_path(&args.model);
    let arms = run_dir::arms(
        &asked,
        Some((&model, &model_file)),
        &fsum.as_of,
        &table,
        &labels,
        &mut personas,
        &progress,
    )?;
    // The run's propensity, by the model's (docs/propensity.md "assign").
    let mut scored = match &model.propensity {
        None => RunPropensity::default(),
        Some(p) => {
            progress.stage("scoring the return propensity");
            run::apply_model(p, &table)?
        }
    };
    let persona_ids: Vec<&str> = personas.iter().map(|p| p.id.as_str()).collect();
    let treated = arms.treated();
    scored.figures(
        &table,
        Groups {
            labels: &labels,
            persona_ids: &persona_ids,
            treated: treated.as_deref(),
        },
    );
    let mut summary = Summary::new("assign", &fsum, rf.report, rf.on_bad_rows);
    summary.warnings.extend(arms.note.clone());
    for p in personas.iter().filter(|p| p.size == 0) {
        summary.warnings.push(format!(
            "persona {} {} has no shopper in this data",
            p.id, p.name
        ));
    }
    let summary = Summary {
        cluster_features: model.feature_names(),
        seed: model.config.seed,
        k_selection: model.k_selection.clone(),
        chosen_k: k,
        reason: format!(
            "assigned with the saved model of {} (k = {k}, not refitted)",
            model.as_of
        ),
        outlier_threshold: model.outlier_threshold,
        outliers: outlier.iter().filter(|o| **o).count(),
        holdout: arms.holdout.clone(),
        personas,
        files: run_dir::run_files(args.output.format, arms.arms.is_some()),
        projection: projection::project(&x, &labels, k, model.config.seed),
        propensity: scored.shown,
        ..summary
    };
    let rows = RunRows {
        assigned: &assigned,
        outlier: &outlier,
        arms: arms.arms.as_deref(),
        listing: arms.listing.as_ref(),
        propensity: scored.scored.as_ref(),
    };
    // The model as given, with the holdout this run used and its first listings (so a later
    // run inherits both).
    let model = Model {
        holdout: arms.holdout,
        first_listing: arms.listing.as_ref().map(|l| l.record.clone()),
        ..model
    };
    RunOutput::new(staged, &args.output, quiet, previous)
        .write(&table, rows, summary, &model, &progress)?;
    Ok(0)
}

/// `--emit-sql DIALECT`: the assignment query, to --out (a file, or `-` for standard output).
fn emit_sql(
    args: &AssignArgs,
    model: &Model,
    dialect: crate::features::sql::Dialect,
    loaded: &Loaded,
) -> Result<u8> {
    if !args.inputs.input.is_empty()
        || !args.inputs.features_table.is_empty()
        || args.as_of.is_some()
    {
        bail!("--emit-sql reads no data: drop the inputs, --features and --as-of (the query reads the features table named in [sql] features of cartsona.toml, default `features`)");
    }
    if args.holdout.holdout.is_some() || args.holdout.holdout_salt.is_some() {
        bail!("--emit-sql assigns arms by the model's holdout: drop --holdout and --holdout-salt");
    }
    let query = crate::model::sql::assign_query(model, dialect, &config::features_table(loaded));
    let out = &args.output.out;
    if out.as_os_str() == "-" {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(query.as_bytes())
            .and_then(|_| stdout.flush())
            .map_err(|e| anyhow::anyhow!("cannot write the query to standard output: {e}"))?;
    } else {
        crate::io::write::check_writable(out, args.output.force, "--out")?;
        crate::io::write::write_atomic(&[(out.clone(), query.into_bytes())])?;
    }
    Ok(0)
}
