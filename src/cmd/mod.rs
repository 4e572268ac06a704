//! The commands: one small file per subcommand, each the entry of the flow at its own stage
//! (docs/ARCHITECTURE.md). Each builds its checked settings (`crate::config`), calls the stages,
//! hands the results to the writers, and returns the exit code (0 or 1); errors mean exit 2.
//! What several commands share lives in `inputs` (reading the inputs, the features of a run) and
//! `run_dir` (the run directory of `segment` and `assign`); no command imports another.

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config;

pub mod assign;
pub mod completions;
pub mod convert;
pub mod drift;
pub mod features;
pub mod generate;
pub mod init;
pub mod inputs;
pub mod man;
pub mod outcomes;
pub mod run_output;
pub mod segment;
pub mod validate;

pub fn run(cli: Cli) -> Result<u8> {
    // These read no cartsona.toml: `init --force` rewrites a broken one.
    match &cli.command {
        Command::Generate(args) => return generate::run(args, cli.quiet),
        Command::Init(args) => return init::run(args, cli.quiet),
        Command::Completions(args) => return completions::run(args),
        Command::Man => return man::run(),
        _ => {}
    }
    let loaded = config::load_file(cli.config.as_deref())?;
    match &cli.command {
        Command::Validate(args) => validate::run(args, &loaded, cli.quiet),
        Command::Features(args) => features::run(args, &loaded, cli.quiet),
        Command::Generate(_) | Command::Init(_) | Command::Completions(_) | Command::Man => {
            unreachable!("run above")
        }
        Command::Convert(args) => convert::run(args, &loaded, cli.quiet),
        Command::Segment(args) => segment::run(args, &loaded, cli.quiet),
        Command::Assign(args) => assign::run(args, &loaded, cli.quiet),
        Command::Drift(args) => drift::run(args, &loaded, cli.quiet),
        Command::Outcomes(args) => outcomes::run(args, &loaded, cli.quiet),
    }
}
