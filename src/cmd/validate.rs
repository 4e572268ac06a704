//! `cartsona validate`: check every input file and list the problems.
//! Exit 0 when clean, 1 when problems were found; errors that stop the run exit 2.

use std::fmt::Write as _;

use anyhow::Result;

use crate::cli::ValidateArgs;
use crate::cmd::inputs;
use crate::config::{Inputs, Loaded};
use crate::ingest::load::ValidationReport;
use crate::ingest::schema::BadRows;
use crate::util::progress::Progress;

pub fn run(args: &ValidateArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let mut inputs = Inputs::from(&args.input, loaded)?;
    // Validation lists every bad row rather than stopping at the first.
    inputs.read.bad_rows = BadRows::Skip;
    // A bar of the bytes read on a terminal (stderr; stdout keeps the report).
    let progress = Progress::new(quiet);
    progress.stage("reading and validating inputs");
    let (_, report) = inputs::read_validated(&inputs, Some(&progress))?;
    progress.finish();
    let problems = report.rows_rejected();
    if args.json {
        let out = serde_json::json!({
            "ok": problems == 0,
            "rows_rejected": problems,
            "files": report.files,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if !quiet {
        print!("{}", render_text(&report));
    }
    Ok(if problems == 0 { 0 } else { 1 })
}

/// The human-readable report.
pub fn render_text(report: &ValidationReport) -> String {
    let mut s = String::new();
    for f in &report.files {
        let _ = writeln!(
            s,
            "{} ({}): {} rows read, {} rejected",
            f.path, f.kind, f.rows_read, f.rows_rejected
        );
        for p in &f.problems {
            let _ = writeln!(s, "  {}: {} rows", p.reason, p.rows);
            for e in &p.examples {
                let _ = writeln!(s, "    line {}, column {}: {}", e.line, e.column, e.message);
            }
        }
        for n in &f.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    let rejected = report.rows_rejected();
    if rejected == 0 {
        let _ = writeln!(s, "ok: no problems in {} files", report.files.len());
    } else {
        let bad_files = report.files.iter().filter(|f| f.rows_rejected > 0).count();
        let _ = writeln!(
            s,
            "problems: {rejected} bad rows in {bad_files} of {} files",
            report.files.len()
        );
    }
    s
}
