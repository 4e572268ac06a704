//! `cartsona features --out FILE`: find the abandoners and write their features, with a JSON
//! summary beside the file.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::cli::FeaturesArgs;
use crate::config::{self, Loaded};
use crate::io::read::{format_of, Format};
use crate::io::write;
use crate::pipeline::features::{self, FeatureSummary};
use crate::pipeline::schema::{BadRows, FileReport};
use crate::progress::Progress;

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
    let format = match format_of(&args.out) {
        Some(Format::Csv) => Format::Csv,
        Some(Format::Parquet) => Format::Parquet,
        _ => anyhow::bail!(
            "--out {}: name the output .csv or .parquet",
            args.out.display()
        ),
    };
    let summary_file = summary_path(&args.out);
    write::check_writable(&args.out, args.force, "--out")?;
    write::check_writable(&summary_file, args.force, "--out (its summary)")?;
    let params = config::feature_params(&args.features, loaded)?;
    let progress = Progress::new(quiet);
    let (inputs, ds, report) = super::read_inputs(&args.input, loaded, &progress)?;
    progress.stage("computing features");
    let (table, summary) = features::compute(&ds, &params)?;
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
        Format::Parquet => write::features_parquet(&table)?,
        _ => write::features_csv(&table)?,
    };
    let run_summary = RunSummary {
        tool: format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        command: "features",
        output: args.out.display().to_string(),
        on_bad_rows: inputs.read.bad_rows,
        inputs: &report.files,
        rows_rejected: report.rows_rejected(),
        features: &summary,
    };
    let mut json = serde_json::to_vec_pretty(&run_summary)?;
    json.push(b'\n');
    write::write_atomic(&[(args.out.clone(), body), (summary_file.clone(), json)])?;
    progress.finish();
    if !quiet {
        println!(
            "{} abandoners of {} customers, value at stake {:.2}; wrote {} and {}",
            summary.abandoners,
            summary.customers,
            summary.value_at_stake,
            args.out.display(),
            summary_file.display()
        );
    }
    Ok(0)
}
