//! Helpers shared by the integration tests: run the real binary in a fresh directory, read CSV.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The real binary, with a clean environment for the variables it might read.
pub fn cartsona() -> Command {
    let mut cmd = Command::cargo_bin("cartsona").expect("binary built");
    cmd.env_remove("RAYON_NUM_THREADS")
        .env_remove("POLARS_MAX_THREADS");
    cmd
}

/// The fixture directory tests/data/NAME.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Reads a CSV file into rows of column -> value.
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut rdr =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// Lists the files in `dir` (names only, sorted).
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

/// Adjusted Rand index of two labelings (Hubert and Arabie), from the contingency table.
pub fn adjusted_rand_index(a: &[String], b: &[String]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let mut table: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    let mut rows: BTreeMap<&str, f64> = BTreeMap::new();
    let mut cols: BTreeMap<&str, f64> = BTreeMap::new();
    for (x, y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let c2 = |v: f64| v * (v - 1.0) / 2.0;
    let index: f64 = table.values().map(|v| c2(*v)).sum();
    let sa: f64 = rows.values().map(|v| c2(*v)).sum();
    let sb: f64 = cols.values().map(|v| c2(*v)).sum();
    let expected = sa * sb / c2(n);
    let max = (sa + sb) / 2.0;
    (index - expected) / (max - expected)
}

/// Runs `segment` with the given arguments in `dir`; returns the run directory.
pub fn segment(dir: &Path, data: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let run = dir.join(out);
    let mut cmd = cartsona();
    cmd.arg("segment")
        .arg("--carts")
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--engagement")
        .arg(data.join("engagement.csv"))
        .arg("--out")
        .arg(&run)
        .args(extra);
    cmd.assert().success();
    run
}
