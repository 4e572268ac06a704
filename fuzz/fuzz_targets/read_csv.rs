//! Any bytes as a carts export, plus fixed orders and engagement: `validate` (which lists every
//! problem) and `features` must return a result or an error, never panic.
#![no_main]

use std::sync::OnceLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap()
    })
}

fn run(args: &[&str]) {
    let cli = cartsona::cli::Cli::parse_from(args);
    let _ = cartsona::cmd::run(cli);
}

fuzz_target!(|data: &[u8]| {
    let d = dir().path();
    let carts = d.join("carts.csv");
    std::fs::write(&carts, data).unwrap();
    let carts = carts.to_str().unwrap();
    let out = d.join("features.csv");
    let out = out.to_str().unwrap();
    run(&["cartsona", "--quiet", "validate", "--carts", carts]);
    run(&[
        "cartsona", "--quiet", "features", "--carts", carts, "--out", out, "--force",
    ]);
});
