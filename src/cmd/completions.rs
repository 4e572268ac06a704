//! `cartsona completions SHELL`: the shell's completion script for every subcommand and flag,
//! written to stdout (clap_complete, from the same definitions as `--help`), so it cannot fall
//! behind the flags. Install it as the shell expects, e.g. bash:
//! `cartsona completions bash > /etc/bash_completion.d/cartsona`.

use std::io::Write;

use anyhow::Result;

use crate::cli::CompletionsArgs;

pub fn run(args: &CompletionsArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(
        args.shell,
        &mut crate::config::defaults::command(),
        "cartsona",
        &mut out,
    );
    out.flush()?;
    Ok(0)
}
