//! Helpers shared by the integration tests: run the real binary in a fresh directory, read CSV.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::fmt::Write as _;

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

/// Writes three clearly separated groups of 40 abandoners each, as of 2025-03-01:
/// - `deal-*`: 3 small discounted orders (about 25) and a discounted cart of about 25;
/// - `vip-*`: 8 orders of about 300, a cart of about 1,000 abandoned at payment on desktop;
/// - `new-*`: no orders, a cart of about 70 on mobile, returns and shipping page views.
///
/// Values vary a little inside each group so no two shoppers are identical.
pub fn planted(dir: &Path) {
    let mut carts = String::from(
        "customer_id,cart_id,updated_at,cart_value,device,checkout_step,discount_code\n",
    );
    let mut orders = String::from("customer_id,order_id,ordered_at,order_value,discount_code\n");
    let mut events = String::from("customer_id,occurred_at,event_type,session_id,device,page\n");
    for i in 0..40 {
        let day = 5 + i % 20;
        let j = (i % 7) as f64;
        let _ = writeln!(
            carts,
            "deal-{i:02},cd{i},2025-02-{day:02}T10:00:00Z,{},desktop,cart,SAVE10",
            22.0 + j
        );
        for o in 0..3 {
            let _ = writeln!(
                orders,
                "deal-{i:02},od{i}-{o},2024-{:02}-10T10:00:00Z,{},SAVE10",
                6 + o * 2,
                24.0 + j
            );
        }
        let _ = writeln!(
            events,
            "deal-{i:02},2025-02-{day:02}T09:00:00Z,session_start,sd{i},desktop,/"
        );
        let _ = writeln!(
            carts,
            "vip-{i:02},cv{i},2025-02-{day:02}T11:00:00Z,{},desktop,payment,",
            950.0 + 10.0 * j
        );
        for o in 0..8 {
            let _ = writeln!(
                orders,
                "vip-{i:02},ov{i}-{o},2024-{:02}-15T10:00:00Z,{},",
                3 + o,
                290.0 + 5.0 * j
            );
        }
        let _ = writeln!(
            events,
            "vip-{i:02},2025-02-{day:02}T10:30:00Z,session_start,sv{i},desktop,/"
        );
        let _ = writeln!(
            carts,
            "new-{i:02},cn{i},2025-02-{day:02}T12:00:00Z,{},mobile,cart,",
            65.0 + j
        );
        let _ = writeln!(
            events,
            "new-{i:02},2025-02-{day:02}T11:50:00Z,session_start,sn{i},mobile,/"
        );
        for p in 0..(2 + i % 3) {
            let _ = writeln!(
                events,
                "new-{i:02},2025-02-{day:02}T11:5{p}:00Z,page_view,sn{i},mobile,/pages/returns"
            );
        }
    }
    std::fs::write(dir.join("carts.csv"), carts).unwrap();
    std::fs::write(dir.join("orders.csv"), orders).unwrap();
    std::fs::write(dir.join("engagement.csv"), events).unwrap();
}
