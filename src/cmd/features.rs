//! `cartsona features --out FILE`: find the abandoners and write their features, with a JSON
//! summary beside the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::io::Write;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cli::{FeaturesArgs, SqlDialect};
use crate::cmd::inputs;
use crate::config::{self, Loaded};
use crate::features::compute::{self as features, FeatureSummary};
use crate::features::sql;
use crate::ingest::load;
use crate::ingest::load::FileReport;
use crate::ingest::schema::{BadRows, Kind};
use crate::io::read::{format_of, Format};
use crate::io::write;
use crate::report::tables;
use crate::util::progress::Progress;

#[derive(Serialize)]
struct RunSummary<'a> {
    tool: String,
    command: &'static str,
    output: String,
    on_bad_rows: BadRows,
    inputs: &'a [FileReport],
    rows_rejected: u64,
    #[serde(flatten)]
    features: &'a FeatureSummary,
}

/// `features.csv` -> `features.summary.json`.
pub fn summary_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".parquet")
        .or_else(|| name.strip_suffix(".csv"))
        .unwrap_or(&name);
    out.with_file_name(format!("{stem}.summary.json"))
}

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
    let summary_file = summary_path(out);
    write::check_writable(out, args.force, "--out")?;
    write::check_writable(&summary_file, args.force, "--out (its summary)")?;
    let params = config::feature_params(&args.features, loaded)?;
    let progress = Progress::new(quiet);
    let (inputs, ds, report) = inputs::read_inputs(&args.input, loaded, &progress)?;
    progress.stage("computing features");
    let (table, summary) = features::compute(ds, &params)?;
    for l in &summary.left_out {
        progress.warn(&format!("feature {} left out: {}", l.feature, l.reason));
    }
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
    let run_summary = RunSummary {
        tool: format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        command: "features",
        output: out.display().to_string(),
        on_bad_rows: inputs.read.bad_rows,
        inputs: &report.files,
        rows_rejected: report.rows_rejected(),
        features: &summary,
    };
    let mut json = serde_json::to_vec_pretty(&run_summary)?;
    json.push(b'\n');
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
) -> Result<Option<BTreeMap<Kind, Vec<&'static str>>>> {
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
    let mut windows = args.features.clone();
    if let Some(path) = &args.model {
        let model = crate::drift::load::model(&crate::io::read::model_path(path))?;
        let c = &model.config;
        // The model keeps the compiled pattern, case-insensitive flag included.
        let pages = c.info_pages.strip_prefix("(?i)").unwrap_or(&c.info_pages);
        for (flag, given, from_model) in [
            (
                "--abandon-after",
                &mut windows.abandon_after,
                c.abandon_after.as_str(),
            ),
            ("--lookback", &mut windows.lookback, c.lookback.as_str()),
            ("--history", &mut windows.history, c.history.as_str()),
            ("--info-pages", &mut windows.info_pages, pages),
        ] {
            if given.as_ref().is_some_and(|g| g != from_model) {
                bail!("{flag}: the model {} uses {from_model}; with --model the windows come from it (drop {flag})", path.display());
            }
            *given = Some(from_model.to_string());
        }
    }
    let spec = config::sql_spec(&windows, loaded, present.as_ref())?;
    let (query, left_out) = sql::emit(config::dialect(dialect), &spec);
    let progress = Progress::new(quiet);
    for l in &left_out {
        progress.warn(&format!("feature {} left out: {}", l.feature, l.reason));
    }
    match &args.out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(query.as_bytes())
                .and_then(|_| stdout.flush())
                .context("cannot write the query to standard output")?;
        }
        Some(path) => {
            write::check_writable(path, args.force, "--out")?;
            write::write_atomic(&[(path.clone(), query.into_bytes())])?;
        }
    }
    Ok(0)
}
