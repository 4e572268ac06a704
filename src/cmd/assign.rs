//! `cartsona assign --model RUN/model.json`: apply a saved model to new data without refitting.
//! Features use the model's windows and settings (the as-of comes from the new data or --as-of),
//! the model's transforms and scaler, and the nearest centroid. Names, evidence and plays come
//! from the model; sizes and profiles are those of the new data.

use anyhow::{bail, Result};

use crate::cli::{AssignArgs, OutFormat};
use crate::cluster::projection;
use crate::cmd::inputs;
use crate::config::{self, Loaded};
use crate::io::write::StagedDir;
use crate::model::run_dir;
use crate::model::segmented::{self, Assigned};
use crate::propensity::run::{self, RunPropensity};
use crate::report::{Clustered, RunFound, Summary};
use crate::util::progress::Progress;

use crate::cmd::run_output::{self, RunOutput};
use crate::model::Model;
use crate::report::tables::RunRows;

pub fn run(args: &AssignArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    // The run directory or its model.json, as --baseline and --model elsewhere.
    let model_file = run_dir::model_path(&args.model);
    let model = run_dir::model(&model_file)?;
    if let Some(dialect) = args.emit_sql {
        return emit_sql(args, &model, config::dialect(dialect), loaded);
    }
    let params = config::assign_params(&model, &model_file, args.as_of.as_deref())?;
    let asked = config::holdout(&args.holdout, loaded)?;
    let previous = run_output::previous(&args.output)?;
    let staged = StagedDir::new(&args.output.out, args.output.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.output.timings);
    let features = inputs::run_features(&args.inputs, loaded, &params, None, &progress)?;
    let (table, features_summary) = (features.table, features.summary);
    segmented::require_features(&model, &table, &features_summary.left_out)?;
    crate::features::compute::require_abandoners(&features_summary, "")?;
    progress.stage("assigning personas");
    let Assigned {
        x,
        assigned,
        labels,
        outlier,
        mut personas,
    } = segmented::assign(&model, &table)?;
    let k = model.personas.len();
    let before = Some((&model, model_file.as_path()));
    let arms = run_output::arms(
        &asked,
        before,
        &features_summary.as_of,
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
    run_output::figures(&mut scored, &table, &labels, &personas, &arms);
    let mut warnings = arms.note.clone().into_iter().collect::<Vec<_>>();
    for p in personas.iter().filter(|p| p.size == 0) {
        warnings.push(format!(
            "persona {} {} has no shopper in this data",
            p.id, p.name
        ));
    }
    let run = RunFound {
        holdout: arms.holdout.clone(),
        variants: arms.variants.clone(),
        personas,
        propensity: scored.shown,
        baseline: None,
        lineage: Vec::new(),
        retired_now: Vec::new(),
        warnings,
        files: run_dir::files(
            args.output.format == OutFormat::Parquet,
            arms.arms.is_some(),
        ),
        projection: projection::project(&x, &labels, k, model.config.seed),
    };
    let summary = Summary::new(
        "assign",
        &features_summary,
        features.report,
        features.on_bad_rows,
        Clustered::assigned(&model, &outlier),
        run,
    );
    let rows = RunRows {
        assigned: &assigned,
        outlier: &outlier,
        arms: arms.arms.as_deref(),
        listing: arms.listing.as_ref(),
        propensity: scored.scored.as_ref(),
        variants: arms.variant_rows(),
    };
    // The model as given, with the holdout this run used, its first listings and its variants
    // (so a later run inherits them).
    let model = Model {
        holdout: arms.holdout.clone(),
        first_listing: arms.listing.as_ref().map(|l| l.record.clone()),
        variants: arms.variants.clone(),
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
    if args.output.target != "all" || args.output.force_target {
        bail!("--emit-sql writes no audience.csv for --target to cut: drop --target and --force-target");
    }
    // With --outcomes, the readout's per-shopper uplift too.
    let previous = run_output::previous(&args.output)?;
    let uplift = (previous.as_ref().and_then(|p| p.uplift_model.as_ref())).map(|u| u.sql());
    let table = config::features_table(loaded);
    let query = crate::model::sql::assign_query(model, dialect, &table, uplift.as_ref());
    let out = &args.output.out;
    match out.as_os_str() == "-" {
        true => crate::util::progress::to_stdout(query.as_bytes())?,
        false => crate::io::write::text_to(out, args.output.force, query.into_bytes())?,
    }
    Ok(0)
}
