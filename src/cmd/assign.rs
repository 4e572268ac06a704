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
use crate::report::Summary;
use crate::util::progress::Progress;

use crate::cmd::run_output::{self, RunOutput};
use crate::model::Model;
use crate::report::tables::RunRows;

pub fn run(args: &AssignArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let model = run_dir::model(&args.model)?;
    if let Some(dialect) = args.emit_sql {
        return emit_sql(args, &model, config::dialect(dialect), loaded);
    }
    let params = config::assign_params(&model, &args.model, args.as_of.as_deref())?;
    let asked = config::holdout(&args.holdout, loaded)?;
    let previous = run_output::previous(&args.output)?;
    let staged = StagedDir::new(&args.output.out, args.output.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.output.timings);
    let rf = inputs::run_features(&args.inputs, loaded, &params, None, &progress)?;
    let (table, fsum) = (rf.table, rf.summary);
    segmented::require_features(&model, &table, &fsum.left_out)?;
    crate::features::compute::require_abandoners(&fsum, "")?;
    progress.stage("assigning personas");
    let Assigned {
        x,
        assigned,
        labels,
        outlier,
        mut personas,
    } = segmented::assign(&model, &table)?;
    let k = model.personas.len();
    let model_file = run_dir::model_path(&args.model);
    let before = Some((&model, model_file.as_path()));
    let arms = run_output::arms(
        &asked,
        before,
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
    run_output::figures(&mut scored, &table, &labels, &personas, &arms);
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
        files: run_dir::files(
            args.output.format == OutFormat::Parquet,
            arms.arms.is_some(),
        ),
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
    match out.as_os_str() == "-" {
        true => crate::util::progress::to_stdout(query.as_bytes())?,
        false => crate::io::write::text_to(out, args.output.force, query.into_bytes())?,
    }
    Ok(0)
}
