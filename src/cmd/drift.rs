//! `cartsona drift --baseline RUN_A --current RUN_B --out DIR`: compare two runs; exit 1 when a
//! fail threshold is crossed, so a CI job fails and says why.

use anyhow::Result;

use crate::cli::DriftArgs;
use crate::config::{self, Loaded};
use crate::drift::compare::compare;
use crate::io::write::StagedDir;
use crate::model::run_dir;
use crate::report::drift as render;
use crate::util::gate::Status;

pub fn run(args: &DriftArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let thresholds = config::drift_thresholds(args, loaded)?;
    let staged = StagedDir::new(&args.out, args.force, "--out")?;
    let base = run_dir::run(&args.baseline, "--baseline")?;
    let cur = run_dir::run(&args.current, "--current")?;
    let report = compare(&base, &cur, &thresholds, args.allow_feature_change)?;
    let mut json = serde_json::to_vec_pretty(&report)?;
    json.push(b'\n');
    staged.write("drift.json", &json)?;
    staged.write("drift.md", render::markdown(&report).as_bytes())?;
    staged.write("junit.xml", render::junit(&report).as_bytes())?;
    staged.commit()?;
    let failed = report.named(Status::Fail);
    let warned = report.named(Status::Warn).len();
    if !quiet {
        match report.status {
            Status::Fail => println!(
                "drift: FAIL ({} checks failed: {})",
                failed.len(),
                failed.join("; ")
            ),
            Status::Warn => println!("drift: ok with {warned} warnings"),
            Status::Pass | Status::NotMeasured => println!("drift: ok"),
        }
        println!(
            "wrote drift.json, drift.md, junit.xml to {}",
            args.out.display()
        );
    } else if report.status == Status::Fail {
        eprintln!(
            "drift: {} checks failed: {}",
            failed.len(),
            failed.join("; ")
        );
    }
    Ok(if report.status == Status::Fail { 1 } else { 0 })
}
