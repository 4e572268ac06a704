//! Issue 31's "Done means" on the generator's own loop: `generate --carryover` (three months;
//! shoppers arrive in a month of their own and abandon again later; the experiment runs after
//! every month's T; treated deal-seekers who came back with the code wait for it, abandon again
//! more often and come back less on their own; the treated get opens and clicks), segmented month
//! by month with `--baseline` as the README's monthly loop does, read out in months 2 and 3 from
//! that month's run alone and from every run so far.
//!
//! Expected values come from the generator's carryover.csv (every listing, its arm, whether it was
//! the shopper's first since the split began, its planted rates), never from the readout: the
//! randomized table holds exactly the first listings of the runs given, the repeat listings only
//! "listed again"; for every persona of 300 or more shoppers, the sample-ratio p is >= 1e-4 and
//! the uplift within 3.5 standard errors of the planted first-exposure uplift of the shoppers in
//! it. False-failure odds: 80 uplift checks over the four seeds, each failing by chance with
//! probability 4.7e-4 (|Z| > 3.5), about 4% in all; 80 sample-ratio checks at 1e-4, under 1%.
//! The 95% intervals' coverage over all readouts must reach 85% (80 intervals, expected 95%;
//! below 85% by chance has odds under 1e-3; measured: 80 of 80). That the test can fail: month 3
//! counted as before issue 31 (every listing of the run in its persona), pooled over the seeds,
//! puts the deal-seekers' persona's holdout share 5.0 standard errors below the planned 30% (past
//! the gate's p < 0.001) and its uplift 5 standard errors above the planted 0.12 (past the 3.5
//! the readout is held to): asserted on the same shops.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{cartsona, read_csv};
use serde_json::Value;

const AS_OF: [&str; 3] = [
    "2025-02-01T00:00:00Z",
    "2025-03-01T00:00:00Z",
    "2025-04-01T00:00:00Z",
];

struct Shop {
    _dir: tempfile::TempDir,
    root: PathBuf,
    runs: Vec<PathBuf>,
    /// carryover.csv's rows.
    listings: Vec<BTreeMap<String, String>>,
}

impl Shop {
    /// The listings of month `m` (1-based), first or again.
    fn of(&self, m: usize, exposure: Option<&str>) -> Vec<&BTreeMap<String, String>> {
        self.listings
            .iter()
            .filter(|r| r["month"] == m.to_string())
            .filter(|r| exposure.is_none_or(|e| r["exposure"] == e))
            .collect()
    }

    /// Orders after month `m`'s T: the next month's files, or next/ after the last.
    fn orders_after(&self, m: usize) -> Vec<PathBuf> {
        let mut out = vec![self.root.join("shop/month-3/orders.csv")];
        if m == 3 {
            out.push(self.root.join("shop/next/orders.csv"));
        }
        out
    }
}

fn monthly_loop(seed: u64, shoppers: usize) -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let shop = root.join("shop");
    let salt = format!("loop{seed}");
    cartsona()
        .args(["-q", "generate", "--shoppers", &shoppers.to_string()])
        .args(["--seed", &seed.to_string(), "--months", "3", "--carryover"])
        .args(["--holdout", "0.3", "--holdout-salt", &salt, "--out"])
        .arg(&shop)
        .assert()
        .success();
    let mut runs: Vec<PathBuf> = Vec::new();
    for m in 1..=3 {
        let out = root.join(format!("run-{m}"));
        let mut cmd = cartsona();
        cmd.args(["-q", "segment", "--as-of", AS_OF[m - 1]]);
        for kind in ["carts", "orders", "engagement"] {
            cmd.arg(format!("--{kind}"))
                .arg(shop.join(format!("month-{m}/{kind}.csv")));
        }
        match runs.last() {
            Some(b) => cmd.arg("--baseline").arg(b),
            None => cmd.args(["--holdout", "0.3", "--holdout-salt", &salt]),
        };
        cmd.args(["--no-propensity", "--stability-resamples", "0", "--out"])
            .arg(&out)
            .assert()
            .success();
        runs.push(out);
    }
    let listings = read_csv(&shop.join("carryover.csv"));
    Shop {
        _dir: dir,
        root,
        runs,
        listings,
    }
}

fn readout(shop: &Shop, months: &[usize], name: &str) -> Value {
    let out = shop.root.join(name);
    let mut cmd = cartsona();
    cmd.args(["-q", "outcomes", "--run"]);
    for m in months {
        cmd.arg(&shop.runs[m - 1]);
    }
    cmd.arg("--orders");
    for o in shop.orders_after(*months.last().unwrap()) {
        cmd.arg(o);
    }
    let status = cmd.arg("--out").arg(&out).output().unwrap().status.code();
    // A persona may lose by chance (the loss gate, exit 1); nothing may keep it from running.
    assert!(
        matches!(status, Some(0 | 1)),
        "{name}: outcomes exit {status:?}"
    );
    serde_json::from_slice(&std::fs::read(out.join("outcomes.json")).unwrap()).unwrap()
}

/// The uplift's standard error (unpooled) of a comparison, from its counts.
fn se(c: &Value) -> f64 {
    let var = |a: &str| {
        let (n, p) = (c[a]["n"].as_f64().unwrap(), c[a]["rate"].as_f64().unwrap());
        p * (1.0 - p) / n
    };
    (var("treatment") + var("holdout")).sqrt()
}

/// Checks every persona of 300+ of a readout of `months` against the planted first-exposure
/// uplifts; returns (intervals covering the planted uplift, intervals).
fn check_personas(shop: &Shop, r: &Value, months: &[usize], what: &str) -> (usize, usize) {
    // Each counted shopper's persona (their first listing's run) and planted uplift.
    let mut planted: BTreeMap<(String, String), f64> = BTreeMap::new();
    for m in months {
        let firsts: BTreeMap<&str, f64> = shop
            .of(*m, Some("first"))
            .into_iter()
            .map(|l| (l["customer_id"].as_str(), l["uplift"].parse().unwrap()))
            .collect();
        for a in read_csv(&shop.runs[m - 1].join("assignments.csv")) {
            if let Some(u) = firsts.get(a["customer_id"].as_str()) {
                planted.insert((a["persona_id"].clone(), a["customer_id"].clone()), *u);
            }
        }
    }
    let (mut covered, mut intervals) = (0, 0);
    for p in r["personas"].as_array().unwrap() {
        let n = p["treatment"]["n"].as_u64().unwrap() + p["holdout"]["n"].as_u64().unwrap();
        let id = p["persona_id"].as_str().unwrap();
        let ups: Vec<f64> = planted
            .iter()
            .filter(|((q, _), _)| q == id)
            .map(|(_, u)| *u)
            .collect();
        assert_eq!(ups.len() as u64, n, "{what} {id}: its first listings");
        if n < 300 {
            continue;
        }
        let planted = ups.iter().sum::<f64>() / n as f64;
        let srm = p["sample_ratio"]["p_value"].as_f64().unwrap();
        assert!(srm >= 1e-4, "{what} {id}: sample-ratio p {srm}");
        let d = p["uplift"]["absolute"].as_f64().unwrap();
        let z = (d - planted) / se(p);
        assert!(
            z.abs() <= 3.5,
            "{what} {id}: uplift {d:.4} against planted {planted:.4} ({z:.2} SE)"
        );
        let (lo, hi) = (
            p["uplift"]["ci_low"].as_f64().unwrap(),
            p["uplift"]["ci_high"].as_f64().unwrap(),
        );
        intervals += 1;
        covered += usize::from(lo <= planted && planted <= hi);
    }
    (covered, intervals)
}

/// Month 3 counted as before issue 31 (every listing of the run in its persona): the persona most
/// deal-seekers are in, its ([held out, treated], [came back among them]).
fn naive_deal(shop: &Shop) -> ([f64; 2], [f64; 2]) {
    let t = chrono::DateTime::parse_from_rfc3339(AS_OF[2]).unwrap();
    let window = t + chrono::Duration::days(7);
    let mut back: BTreeSet<String> = BTreeSet::new();
    for o in read_csv(&shop.root.join("shop/next/orders.csv")) {
        let at = chrono::DateTime::parse_from_rfc3339(&o["ordered_at"]).unwrap();
        if at > t && at <= window {
            back.insert(o["customer_id"].clone());
        }
    }
    let deal: BTreeSet<&str> = shop
        .of(3, None)
        .into_iter()
        .filter(|l| l["archetype"] == "deal-seeker")
        .map(|l| l["customer_id"].as_str())
        .collect();
    let rows = read_csv(&shop.runs[2].join("assignments.csv"));
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for a in rows
        .iter()
        .filter(|a| deal.contains(a["customer_id"].as_str()))
    {
        *count.entry(a["persona_id"].as_str()).or_default() += 1;
    }
    let persona = count.iter().max_by_key(|x| x.1).unwrap().0.to_string();
    let (mut n, mut k) = ([0f64; 2], [0f64; 2]);
    for a in rows.iter().filter(|a| a["persona_id"] == persona) {
        let i = usize::from(a["arm"] == "treatment");
        n[i] += 1.0;
        k[i] += f64::from(u8::from(back.contains(&a["customer_id"])));
    }
    (n, k)
}

#[test]
fn the_generated_monthly_loop_with_carryover_is_read_out_at_first_exposure() {
    let (mut covered, mut intervals) = (0, 0);
    let mut naive = ([0f64; 2], [0f64; 2]);
    for seed in [1, 2, 3, 4] {
        let shop = monthly_loop(seed, 30_000);
        // The generator lists whom cartsona lists: its truth is about the runs' shoppers.
        for m in 1..=3 {
            let listed: BTreeSet<String> = read_csv(&shop.runs[m - 1].join("assignments.csv"))
                .into_iter()
                .map(|a| a["customer_id"].clone())
                .collect();
            let planted: BTreeSet<String> = shop
                .of(m, None)
                .into_iter()
                .map(|l| l["customer_id"].clone())
                .collect();
            assert_eq!(listed, planted, "seed {seed} month {m}: who is listed");
        }
        for m in [2, 3] {
            let what = format!("seed {seed} month {m}");
            let alone = readout(&shop, &[m], &format!("alone-{m}"));
            let pop = &alone["population"];
            assert_eq!(pop["counted"], shop.of(m, Some("first")).len(), "{what}");
            assert_eq!(
                pop["listed_again"],
                shop.of(m, Some("again")).len(),
                "{what}"
            );
            assert!(shop.of(m, Some("again")).len() > 1000, "{what}: carryover");
            assert_eq!(alone["checks"]["first_exposure"]["status"], "pass");
            let (c, i) = check_personas(&shop, &alone, &[m], &format!("{what} alone"));
            (covered, intervals) = (covered + c, intervals + i);
            let months: Vec<usize> = (1..=m).collect();
            let so_far = readout(&shop, &months, &format!("so-far-{m}"));
            let firsts: usize = months
                .iter()
                .map(|k| shop.of(*k, Some("first")).len())
                .sum();
            assert_eq!(so_far["population"]["counted"], firsts, "{what} so far");
            assert_eq!(so_far["population"]["listed_again"], 0, "{what} so far");
            let (c, i) = check_personas(&shop, &so_far, &months, &format!("{what} so far"));
            (covered, intervals) = (covered + c, intervals + i);
        }
        let (n, k) = naive_deal(&shop);
        for i in 0..2 {
            (naive.0[i], naive.1[i]) = (naive.0[i] + n[i], naive.1[i] + k[i]);
        }
    }
    eprintln!("95% intervals covering the planted uplift: {covered} of {intervals}");
    assert!(intervals >= 60 && covered as f64 >= 0.85 * intervals as f64);
    // The naive count pooled over the seeds: the deal persona's holdout share in standard errors
    // from the planned 30%, and its uplift in standard errors above the planted 0.12.
    let (n, k) = naive;
    let share = n[0] / (n[0] + n[1]);
    let arms_z = (share - 0.3) / (0.3 * 0.7 / (n[0] + n[1])).sqrt();
    let (ph, pt) = (k[0] / n[0], k[1] / n[1]);
    let se = (pt * (1.0 - pt) / n[1] + ph * (1.0 - ph) / n[0]).sqrt();
    let bias_z = (pt - ph - 0.12) / se;
    eprintln!("month 3 counted naively, pooled: holdout share {share:.4} ({arms_z:.2} SE), uplift {:.4} ({bias_z:.2} SE above 0.12)", pt - ph);
    assert!(
        arms_z < -3.29 && bias_z > 3.5,
        "the naive count passes: {arms_z:.2}, {bias_z:.2}"
    );
}
