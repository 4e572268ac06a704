//! `cartsona convert`: runs a preset and writes the canonical tables it derives, with a JSON
//! report of what was read, so analysts can see exactly what cartsona will work on.

use anyhow::{bail, Result};

use crate::cli::ConvertArgs;
use crate::config::{Inputs, Loaded};
use crate::ingest::presets;
use crate::io::write::{self, StagedDir};
use crate::util::progress::Progress;

pub fn run(args: &ConvertArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let inputs = Inputs::from(&args.input, loaded)?;
    let Some(preset) = &inputs.preset else {
        bail!("convert writes what a preset derives: pass --preset rees46, events or shopify (canonical files need no conversion)");
    };
    let staged = StagedDir::new(&args.out, args.force, "--out")?;
    let progress = Progress::new(quiet);
    progress.stage(&format!("reading exports (preset {})", preset.name()));
    let derived = presets::derive(preset, inputs.read.bad_rows, inputs.read.csv.delimiter)?;
    for r in &derived.reports {
        if r.rows_rejected > 0 {
            progress.warn(&format!(
                "{}: skipped {} of {} rows",
                r.path, r.rows_rejected, r.rows_read
            ));
        }
        for note in &r.notes {
            progress.warn(&format!("{}: {note}", r.path));
        }
    }
    progress.stage("writing");
    let mut written = Vec::new();
    let mut counts = serde_json::Map::new();
    for (kind, table) in &derived.tables {
        let name = format!("{}.csv", kind.name());
        staged.write(&name, &write::table_csv(table)?)?;
        counts.insert(kind.name().to_string(), table.len().into());
        written.push(format!("{name} ({} rows)", table.len()));
    }
    let unknown: Vec<serde_json::Value> = derived
        .unknown
        .iter()
        .map(|(f, why)| serde_json::json!({"feature": f, "reason": why}))
        .collect();
    let report = serde_json::json!({
        "tool": format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        "command": "convert",
        "preset": preset.name(),
        "on_bad_rows": inputs.read.bad_rows,
        "inputs": derived.reports,
        "rows_rejected": derived.reports.iter().map(|r| r.rows_rejected).sum::<u64>(),
        "rows_written": counts,
        "features_it_cannot_inform": unknown,
    });
    let mut json = serde_json::to_vec_pretty(&report)?;
    json.push(b'\n');
    staged.write("convert.json", &json)?;
    staged.commit()?;
    progress.finish();
    if !quiet {
        println!("wrote {} to {}", written.join(", "), args.out.display());
    }
    Ok(0)
}
