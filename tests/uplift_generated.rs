//! Issue 32's per-shopper uplift on generated shops, scored against what the generator planted
//! for each shopper (next/truth.csv `uplift`), never against the readout itself.
//!
//! With `generate --uplift-varies 1` each shopper's effect is their archetype's times
//! 1 + z, z their last abandoned cart's value against the archetype's median in spreads
//! (docs/generator.md): effects differ inside every persona whose play works (the indecisive
//! browsers' stays 0). `segment --holdout 0.3`, then `outcomes --uplift-scores` must find it: the
//! Qini interval above zero, a Spearman correlation of at least 0.5 between the out-of-sample
//! uplift (uplift_scores.csv) and the planted effect, and the policies' values holding the value
//! planted for the shoppers each policy messages.
//!
//! Without effects that vary inside archetypes (a constant effect for everyone, or the
//! generator's per-archetype defaults) the gate must say "no evidence". The regular test runs 6
//! seeds of each; the `--ignored` one runs 100 of each (docs/outcomes.md gives the counts).
//!
//! Odds (measured at 20,000 shoppers, seeds 1-3, see each test): the Qini interval's lower end
//! sits more than 5 standard errors above zero and Spearman near 0.73 against 0.5 (false
//! failure well under 1e-4 per seed); a policy's 95% interval misses its planted value with
//! odds 0.05, so the test asks 2 of 3 seeds per policy (false failure 0.7%).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{cartsona, read_csv, segment};

/// Every abandoning archetype at the same uplift: no heterogeneity at all.
const CONSTANT: &str = "first-time-anxious=0.06,high-value-loyal=0.06,deal-seeker=0.06,indecisive-browser=0.06,mobile-impulse=0.06";

struct Shop {
    truth: BTreeMap<String, f64>,
    scores: Vec<BTreeMap<String, String>>,
    outcomes: serde_json::Value,
}

/// Generates a shop of `shoppers` with `flags`, segments it with 30% held out and reads it out
/// with uplift_scores.csv.
fn read_out(dir: &Path, seed: u64, shoppers: usize, flags: &[&str]) -> Shop {
    let shop = dir.join(format!("shop-{seed}"));
    cartsona()
        .args([
            "-q",
            "generate",
            "--holdout",
            "0.3",
            "--seed",
            &seed.to_string(),
        ])
        .args(["--shoppers", &shoppers.to_string()])
        .args(flags)
        .arg("--out")
        .arg(&shop)
        .assert()
        .success();
    let run = segment(
        dir,
        &shop,
        &format!("run-{seed}"),
        &["-q", "--holdout", "0.3"],
    );
    let readout: PathBuf = dir.join(format!("readout-{seed}"));
    // Exit 1 is a persona's loss gate (the indecisive browsers' play does nothing, so a chance
    // loss now and then): the readout is written either way.
    let code = cartsona()
        .args(["-q", "outcomes", "--uplift-scores", "--run"])
        .arg(&run)
        .arg("--orders")
        .arg(shop.join("next/orders.csv"))
        .arg("--out")
        .arg(&readout)
        .output()
        .unwrap()
        .status
        .code();
    assert!(matches!(code, Some(0 | 1)), "outcomes exit {code:?}");
    let truth = read_csv(&shop.join("next/truth.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["uplift"].parse().unwrap()))
        .collect();
    let outcomes: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(readout.join("outcomes.json")).unwrap())
            .unwrap();
    let scores = match outcomes["uplift"].is_object() {
        true => read_csv(&readout.join("uplift_scores.csv")),
        false => Vec::new(),
    };
    Shop {
        truth,
        scores,
        outcomes,
    }
}

/// Ranks with ties at their mean rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman's correlation: Pearson's of the ranks.
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// The planted incremental recoveries per listed test shopper of messaging those `messaged`
/// (uplift_scores.csv's order): the mean over the test shoppers of planted effect x messaged.
fn planted_value(s: &Shop, messaged: impl Fn(usize, &BTreeMap<String, String>) -> bool) -> f64 {
    let total: f64 = (s.scores.iter().enumerate())
        .filter(|(i, r)| messaged(*i, r))
        .map(|(_, r)| s.truth[&r["customer_id"]])
        .sum();
    total / s.scores.len() as f64
}

/// The Hajek IPW difference of recovery rates among all test shoppers, from the file alone
/// (weights 1 / p_treated and 1 / (1 - p_treated)): outcomes.json's "everyone listed".
fn everyone_from_file(rows: &[BTreeMap<String, String>]) -> f64 {
    let (mut t, mut tw, mut h, mut hw) = (0.0, 0.0, 0.0, 0.0);
    for r in rows {
        let p: f64 = r["p_treated"].parse().unwrap();
        let y: f64 = r["recovered"].parse().unwrap();
        if r["arm"] == "treatment" {
            (t, tw) = (t + y / p, tw + 1.0 / p);
        } else {
            (h, hw) = (h + y / (1.0 - p), hw + 1.0 / (1.0 - p));
        }
    }
    t / tw - h / hw
}

#[test]
fn planted_effects_inside_personas_are_found_ranked_and_valued() {
    let dir = tempfile::tempdir().unwrap();
    let mut covered: BTreeMap<String, usize> = BTreeMap::new();
    for seed in 1..=3 {
        let s = read_out(dir.path(), seed, 20_000, &["--uplift-varies", "1"]);
        let u = &s.outcomes["uplift"];
        assert!(
            u["qini"]["ci_low"].as_f64().unwrap() > 0.0,
            "seed {seed}: {}",
            u["qini"]
        );
        let learned: Vec<f64> = s
            .scores
            .iter()
            .map(|r| r["uplift"].parse().unwrap())
            .collect();
        let planted: Vec<f64> = s
            .scores
            .iter()
            .map(|r| s.truth[&r["customer_id"]])
            .collect();
        let rho = spearman(&learned, &planted);
        assert!(rho >= 0.5, "seed {seed}: Spearman {rho}");
        // The file is what the curve and the policies weighed.
        let everyone = everyone_from_file(&s.scores);
        let reported = u["policies"][0]["incremental_recoveries"]["estimate"]
            .as_f64()
            .unwrap();
        assert!((everyone - reported).abs() < 1e-12, "{everyone} {reported}");
        let n = s.scores.len() as f64;
        for p in u["policies"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let value = match name {
                "everyone listed" => planted_value(&s, |_, _| true),
                "shoppers with a positive uplift" => {
                    planted_value(&s, |_, r| r["uplift"].parse::<f64>().unwrap() > 0.0)
                }
                top if top.starts_with("top ") => {
                    let share: f64 = top[4..top.find('%').unwrap()].parse().unwrap();
                    let k = (share / 100.0 * n).round() as usize;
                    planted_value(&s, |i, _| i < k)
                }
                _ => continue,
            };
            let iv = &p["incremental_recoveries"];
            let (lo, hi) = (
                iv["ci_low"].as_f64().unwrap(),
                iv["ci_high"].as_f64().unwrap(),
            );
            eprintln!("seed {seed} {name}: planted {value:.4} in [{lo:.4}, {hi:.4}]");
            *covered.entry(name.to_string()).or_default() +=
                usize::from(lo <= value && value <= hi);
        }
    }
    assert_eq!(covered.len(), 5, "{covered:?}");
    for (name, c) in covered {
        assert!(
            c >= 2,
            "{name}: planted value inside its interval in {c} of 3 seeds"
        );
    }
}

/// Seeds (from `first`) on which the gate passed, for shops without effects that vary inside
/// archetypes: a constant effect, and the generator's per-archetype defaults.
fn false_passes(first: u64, seeds: u64) -> (usize, usize) {
    let mut passes = (0, 0);
    for seed in first..first + seeds {
        for (flags, count) in [
            (&["--uplift", CONSTANT][..], &mut passes.0),
            (&[][..], &mut passes.1),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let s = read_out(dir.path(), seed, 6_000, flags);
            let u = &s.outcomes["uplift"];
            let passed = u["gate"]["passed"].as_bool() == Some(true);
            if passed {
                eprintln!("seed {seed} {flags:?}: {}", u["gate"]["words"]);
            } else if u.is_object() {
                assert!(u["gate"]["words"]
                    .as_str()
                    .unwrap()
                    .starts_with("no evidence"));
            }
            *count += usize::from(passed);
        }
    }
    passes
}

/// The 100-seed run measured 0 passes of 100 for each kind (the 95% upper bound of the rate is
/// 3%); at 3%, 2 or more passes of 6 happen with odds 1.2% per kind, at 1% with 0.15%.
#[test]
fn without_effects_that_vary_inside_personas_the_gate_finds_no_evidence() {
    let (constant, defaults) = false_passes(1, 6);
    assert!(
        constant <= 1,
        "constant effect: the gate passed on {constant} of 6 seeds"
    );
    assert!(
        defaults <= 1,
        "per-archetype effects: the gate passed on {defaults} of 6 seeds"
    );
}

/// The Done means' count: at least 95 of 100 seeds say "no evidence" (run with `--ignored`;
/// 8 minutes here; measured 2026-12-07: the gate passed on 0 of 100 for each kind).
#[test]
#[ignore]
fn without_effects_that_vary_inside_personas_the_gate_finds_no_evidence_on_100_seeds() {
    let (constant, defaults) = false_passes(1, 100);
    eprintln!("gate passed: constant {constant} of 100, per-archetype {defaults} of 100");
    assert!(constant <= 5 && defaults <= 5);
}
