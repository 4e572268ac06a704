//! `cartsona man`: the manual page (roff, section 1) of cartsona and its subcommands, written to
//! stdout (clap_mangen, from the same definitions as `--help`). Read it with
//! `cartsona man | man -l -`, or install it as `cartsona.1`.

use std::io::Write;

use anyhow::Result;

pub fn run() -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let cmd = crate::config::defaults::command();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    // One section per subcommand after the main page, as `cartsona SUBCOMMAND --help` gives it.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // clap names are &'static str without its "string" feature; a few bytes, once a process.
        let name: &'static str = Box::leak(format!("cartsona-{}", sub.get_name()).into_boxed_str());
        let page = sub
            .clone()
            .name(name)
            .bin_name(name)
            .version(env!("CARGO_PKG_VERSION"));
        writeln!(out)?;
        clap_mangen::Man::new(page).render(&mut out)?;
    }
    out.flush()?;
    Ok(0)
}
