//! `cartsona features --out FILE`: find the abandoners and write their features, with a JSON
//! summary beside the file.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::cli::{FeaturesArgs, SqlDialect};
use crate::cmd::inputs;
use crate::config::{self, Loaded};
use crate::features::compute as features;
use crate::features::sql;
use crate::ingest::load;
use crate::ingest::schema::TableKind;
use crate::io::read::{format_of, Format};
use crate::io::write;
use crate::model::run_dir;
use crate::report::{features_summary_path, tables, FeaturesSummary};
use crate::util::progress::{self, Progress};

pub fn run(args: &FeaturesArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    if let Some(dialect) = args.emit_sql {
        return emit_sql(args, dialect, loaded, quiet);
    }
    let out = args
        .out
        .as_ref()
        .expect("clap requires --out without --emit-sql");
    let format = match format_of(out) {
        Some(Format::Csv) => Format::Csv,
        Some(Format::Parquet) => Format::Parquet,
        _ => anyhow::bail!("--out {}: name the output .csv or .parquet", out.display()),
    };
    let summary_file = features_summary_path(out);
    write::check_writable(out, args.force, "--out")?;
    write::check_writable(&summary_file, args.force, "--out (its summary)")?;
    let params = config::feature_params(&args.features, loaded)?;
    let progress = Progress::new(quiet);
    let (inputs, ds, report) = inputs::read_inputs(&args.input, loaded, &progress)?;
    progress.stage("computing features");
    let (table, summary) = features::compute(ds, &params)?;
    inputs::warn_left_out(&summary.left_out, &progress);
    if summary.abandoners == 0 {
        progress.warn(&format!(
            "no abandoners as of {} (no cart with value > 0 left without an order for {} within the last {})",
            summary.as_of, summary.windows.abandon_after, summary.windows.lookback
        ));
    }
    progress.stage("writing");
    let body = match format {
        Format::Parquet => tables::features_parquet(&table)?,
        _ => tables::features_csv(&table)?,
    };
    let run_summary = FeaturesSummary {
        tool: format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        command: "features",
        output: out.display().to_string(),
        on_bad_rows: inputs.read.bad_rows,
        inputs: &report.files,
        rows_rejected: report.rows_rejected(),
        features: &summary,
    };
    let json = run_summary.to_json()?;
    write::write_atomic(&[(out.clone(), body), (summary_file.clone(), json)])?;
    progress.finish();
    if !quiet {
        println!(
            "{} abandoners of {} customers, value at stake {}; wrote {} and {}",
            summary.abandoners,
            summary.customers.unwrap_or_default(),
            summary
                .value_at_stake
                .map_or_else(|| "unknown".to_string(), |v| format!("{v:.2}")),
            out.display(),
            summary_file.display()
        );
    }
    Ok(0)
}

/// What the exports given with `--emit-sql` have: for each kind given, the optional columns of
/// every file (headers and schemas only; no row is read).
fn present_columns(
    args: &FeaturesArgs,
    loaded: &Loaded,
) -> Result<Option<BTreeMap<TableKind, Vec<&'static str>>>> {
    let input = &args.input;
    if input.is_empty() {
        return Ok(None);
    }
    if input.preset.is_some() || !input.events.is_empty() {
        bail!("--emit-sql reads canonical exports only: drop --preset and --events (the query reads canonical tables; give --carts/--orders/--engagement to say which columns they have)");
    }
    if input.carts.is_empty() {
        bail!("--emit-sql with --orders or --engagement needs --carts too (the carts table is required)");
    }
    let inputs = config::Inputs::from(input, loaded)?;
    let mut present = BTreeMap::new();
    for (kind, sources) in &inputs.files {
        present.insert(*kind, load::optional_present(*kind, sources, &inputs.read)?);
    }
    Ok(Some(present))
}

/// `--emit-sql DIALECT`: the query on stdout or in --out; only the headers of given exports are
/// read.
fn emit_sql(args: &FeaturesArgs, dialect: SqlDialect, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let present = present_columns(args, loaded)?;
    let windows = match &args.model {
        None => args.features.clone(),
        Some(path) => {
            let model = run_dir::model(&run_dir::model_path(path))?;
            config::features::model_windows(&args.features, &model, path)?
        }
    };
    let spec = config::sql_spec(&windows, loaded, present.as_ref())?;
    let (query, left_out) = sql::emit(config::dialect(dialect), &spec);
    let progress = Progress::new(quiet);
    inputs::warn_left_out(&left_out, &progress);
    match &args.out {
        None => progress::to_stdout(query.as_bytes())?,
        Some(path) => write::text_to(path, args.force, query.into_bytes())?,
    }
    Ok(0)
}
