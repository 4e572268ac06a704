//! Per-shopper uplift in the real readout (issue 32): `cartsona outcomes` on the sample shop's
//! run with a holdout learns and tests the uplift (one T: 5-fold cross-fitting), reports it in
//! outcomes.json, outcomes.md and outcomes.html, says "no evidence" in every output when its
//! gate does not pass, and writes the same bytes on 1 and 2 threads. The recovery method itself
//! is checked by simulation in src/outcomes/uplift_tests.rs.

mod common;

use std::path::{Path, PathBuf};

use common::cartsona;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The sample shop's January run with 20% held out.
fn run(d: &Path) -> PathBuf {
    let (s, run) = (sample(), d.join("run"));
    let mut cmd = cartsona();
    cmd.args(["-q", "segment", "--holdout", "0.2", "--as-of", "2025-02-01"]);
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(s.join(format!("{kind}.csv")));
    }
    cmd.arg("--out").arg(&run).assert().success();
    run
}

fn read_out(run: &Path, out: &Path, threads: &str) {
    cartsona()
        .env("RAYON_NUM_THREADS", threads)
        .args(["-q", "outcomes", "--run"])
        .arg(run)
        .arg("--orders")
        .arg(sample().join("next/orders.csv"))
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn the_readout_tests_the_uplift_and_says_what_its_gate_found_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(dir.path());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    read_out(&run, &one, "1");
    read_out(&run, &two, "2");
    for file in ["outcomes.json", "outcomes.md", "outcomes.html"] {
        assert_eq!(
            std::fs::read(one.join(file)).unwrap(),
            std::fs::read(two.join(file)).unwrap(),
            "{file} differs between 1 and 2 threads"
        );
    }
    let o = json(&one.join("outcomes.json"));
    let u = &o["uplift"];
    assert_eq!(u["test"]["kind"], "cross_fit");
    assert_eq!(u["test"]["folds"], 5);
    // Every counted shopper is scored once, by a model that did not learn from them.
    assert_eq!(u["tested_on"], o["population"]["counted"]);
    assert_eq!(u["treatment_probability"], "known");
    // Messaging everyone, weighted by the known probability in the Hajek form, is the arms'
    // difference of recovery rates the overall comparison computes another way (its counts).
    let everyone = &u["policies"][0];
    assert_eq!(everyone["name"], "everyone listed");
    let t = &o["overall"]["treatment"];
    let h = &o["overall"]["holdout"];
    let rate = |a: &serde_json::Value| a["recovered"].as_f64().unwrap() / a["n"].as_f64().unwrap();
    let by_counts = rate(t) - rate(h);
    let by_policy = everyone["incremental_recoveries"]["estimate"]
        .as_f64()
        .unwrap();
    assert!(
        (by_counts - by_policy).abs() < 1e-12,
        "{by_counts} vs {by_policy}"
    );
    // The Qini curve starts at 0 and ends at the same difference.
    let curve = u["qini"]["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 21);
    assert_eq!(curve[0]["incremental_recoveries"].as_f64().unwrap(), 0.0);
    let end = curve[20]["incremental_recoveries"].as_f64().unwrap();
    assert!((end - by_counts).abs() < 1e-12);
    let q = &u["qini"];
    assert!(q["ci_low"].as_f64().unwrap() <= q["area"].as_f64().unwrap());
    assert!(q["area"].as_f64().unwrap() <= q["ci_high"].as_f64().unwrap());
    // Six policies; the four uplift ones carry Holm-adjusted p-values, the others none.
    let policies = u["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 6);
    for (i, p) in policies.iter().enumerate() {
        assert_eq!(p["p_holm"].is_number(), i >= 2, "{}", p["name"]);
    }
    // What the gate found, in every output.
    let words = u["gate"]["words"].as_str().unwrap();
    let passed = u["gate"]["passed"].as_bool().unwrap();
    assert_eq!(
        words.starts_with("no evidence that per-shopper targeting beats the persona plays"),
        !passed
    );
    let md = std::fs::read_to_string(one.join("outcomes.md")).unwrap();
    assert!(md.contains("## Whom to message: per-shopper uplift"));
    let mut capital = words.to_string();
    capital[..1].make_ascii_uppercase();
    assert!(md.contains(&capital), "{md}");
    let html = std::fs::read_to_string(one.join("outcomes.html")).unwrap();
    assert!(html.contains("Whom to message: per-shopper uplift") && html.contains("Qini"));
    assert!(html.contains(&words.replace('\'', "&#x27;")));
}
