//! Parses the command line, runs the command, prints the error chain once, and maps the outcome to
//! an exit code: 0 success, 1 a check failed, 2 cannot run. A panic is a bug: it is reported as
//! such and exits 2, like any other failure to run.

use std::process::ExitCode;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error (this is a bug in cartsona, please report it): {info}");
    }));
    let cli = cartsona::config::defaults::parse();
    match std::panic::catch_unwind(|| {
        // A deliberate panic, so the tests can check that an escaped panic exits 2 with a message.
        if std::env::var_os("CARTSONA_TEST_PANIC").is_some() {
            panic!("CARTSONA_TEST_PANIC is set");
        }
        cartsona::cmd::run(cli)
    }) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(err)) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
