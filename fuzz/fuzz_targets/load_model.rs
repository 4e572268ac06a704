//! Any bytes as model.json: `assign` with it on the sample data must return a result or an
//! error, never panic (a model that loads is used for real: scaler, centroids, personas).
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

const CARTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/features/carts.csv"
);
const ORDERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/features/orders.csv"
);
const ENGAGEMENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/features/engagement.csv"
);

fuzz_target!(|data: &[u8]| {
    let d = dir().path();
    let model = d.join("model.json");
    std::fs::write(&model, data).unwrap();
    let out = d.join("run");
    let args = [
        "cartsona",
        "--quiet",
        "assign",
        "--model",
        model.to_str().unwrap(),
        "--carts",
        CARTS,
        "--orders",
        ORDERS,
        "--engagement",
        ENGAGEMENT,
        "--out",
        out.to_str().unwrap(),
        "--force",
    ];
    let _ = cartsona::cmd::run(cartsona::cli::Cli::parse_from(args));
});
