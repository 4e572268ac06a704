//! One module per subcommand. Each builds its checked configuration, calls the pipeline stages,
//! hands the results to the writers, and returns the exit code (0 or 1); errors mean exit 2.

use anyhow::Result;

use crate::cli::{Cli, Command, InputArgs};
use crate::config::{self, Inputs, Loaded};
use crate::pipeline::schema::{self, Dataset, ValidationReport};
use crate::progress::Progress;

pub mod assign;
pub mod drift;
pub mod features;
pub mod generate;
pub mod segment;
pub mod validate;

pub fn run(cli: Cli) -> Result<u8> {
    let loaded = config::load_file(cli.config.as_deref())?;
    match &cli.command {
        Command::Validate(args) => validate::run(args, &loaded, cli.quiet),
        Command::Features(args) => features::run(args, &loaded, cli.quiet),
        Command::Generate(args) => generate::run(args, cli.quiet),
        Command::Segment(args) => segment::run(args, &loaded, cli.quiet),
        Command::Assign(args) => assign::run(args, &loaded, cli.quiet),
        Command::Drift(args) => drift::run(args, &loaded, cli.quiet),
    }
}

/// Reads and validates the inputs, warning about rejected rows and notes.
pub(crate) fn read_inputs(
    args: &InputArgs,
    loaded: &Loaded,
    progress: &Progress,
) -> Result<(Inputs, Dataset, ValidationReport)> {
    let inputs = Inputs::from(args, loaded)?;
    progress.stage("reading and validating inputs");
    let (ds, report) = schema::load(&inputs.files, &inputs.read)?;
    for f in &report.files {
        if f.rows_rejected > 0 {
            let reasons: Vec<String> = f
                .problems
                .iter()
                .map(|p| format!("{} {}", p.rows, p.reason))
                .collect();
            progress.warn(&format!(
                "{}: skipped {} of {} rows ({})",
                f.path,
                f.rows_rejected,
                f.rows_read,
                reasons.join(", ")
            ));
        }
        for note in &f.notes {
            progress.warn(&format!("{}: {note}", f.path));
        }
    }
    Ok((inputs, ds, report))
}
