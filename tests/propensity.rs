//! The return propensity of `segment` and `assign` (issue 20), through the real binary: learned on
//! a generated shop with seven months of carts, byte-identical on 1 and 2 threads, reproduced by
//! `assign`, and left out with one warning when the data cannot give it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{cartsona, read_csv};
use predicates::str::contains;
use tempfile::TempDir;

/// A generated shop of 3,000 shoppers over seven months (2025-01 to 2025-07), made once per test
/// run under the target's temporary directory.
fn shop() -> &'static Path {
    static SHOP: OnceLock<PathBuf> = OnceLock::new();
    SHOP.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("propensity-shop-3000x7");
        if !dir.join("month-7/orders.csv").exists() {
            cartsona()
                .args([
                    "generate",
                    "--shoppers",
                    "3000",
                    "--months",
                    "7",
                    "--seed",
                    "11",
                ])
                .arg("--force")
                .arg("--quiet")
                .arg("--out")
                .arg(&dir)
                .assert()
                .success();
        }
        dir
    })
}

/// `segment` on the whole shop (month 7's files, which hold every month: the generator's files
/// are cumulative), with `extra` flags.
fn segment_shop(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = cartsona();
    cmd.arg("segment");
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(shop().join(format!("month-7/{kind}.csv")));
    }
    cmd.arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .assert()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn shared_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("propensity-run");
        let _ = std::fs::remove_dir_all(&dir);
        segment_shop(&dir, &[]).success();
        dir
    })
}

/// Issue 31: the scores come from a fit that includes the newest weeks once they were measured.
/// Without Platt scaling, model.json's `in_use` is the refit on all 25 points, whose rows are the
/// training rows plus the abandoners of the calibration and report weeks: the calibration week's
/// counted here by `cartsona features --as-of` that week, the report week's are the measures'.
#[test]
fn the_scores_come_from_a_fit_with_the_newest_weeks() {
    let run = shared_run();
    let model = json(&run.join("model.json"));
    let l = &model["propensity"]["learned"];
    assert!(model["propensity"]["platt"].is_null(), "{l}");
    let refit = &l["in_use"];
    assert_eq!(refit["weeks"], 25, "{l}");
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("cal.csv");
    let mut cmd = cartsona();
    cmd.args(["-q", "features"]);
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(shop().join(format!("month-7/{kind}.csv")));
    }
    cmd.args(["--as-of", l["calibration_week"].as_str().unwrap(), "--out"])
        .arg(&out)
        .assert()
        .success();
    let calibration_rows = read_csv(&out).len() as u64;
    let summary = json(&run.join("summary.json"));
    let report_rows = summary["propensity"]["measures"]["rows"].as_u64().unwrap();
    let train_rows = l["train_rows"].as_u64().unwrap();
    assert_eq!(
        refit["rows"].as_u64().unwrap(),
        train_rows + calibration_rows + report_rows,
        "{l}"
    );
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("The scores come from the same model refitted"));
}

/// The run learns an as-usual propensity from 23 training weeks (26 weeks of history: one
/// reports, one calibrates, and the newest is left out because the last order comes before T, the
/// latest cart event: since issue 31 a label window counts as complete only up to the latest
/// order), scores every abandoner with reasons, and the per-persona figures in summary.json are
/// those of the assignments, worked out here from the file.
#[test]
fn a_shop_with_history_gets_a_propensity_per_abandoner_and_persona() {
    let run = shared_run();
    let summary = json(&run.join("summary.json"));
    let p = &summary["propensity"];
    assert_eq!(p["kind"], "as_usual", "{p}");
    assert_eq!(p["learned"]["train_weeks"], 23);
    assert_eq!(p["learned"]["uncovered_weeks"], 1);
    assert_eq!(p["learned"]["sample_fraction"], 1.0);
    let m = &p["measures"];
    assert!(m["auc"].as_f64().unwrap() > 0.6, "{m}");
    assert!(m["rows"].as_u64().unwrap() > 1000);
    let rows = read_csv(&run.join("assignments.csv"));
    let mut by_persona: BTreeMap<String, (f64, usize, usize, f64)> = BTreeMap::new();
    for r in &rows {
        let q: f64 = r["return_propensity"].parse().unwrap();
        assert!(q > 0.0 && q < 1.0);
        let reasons = &r["propensity_reasons"];
        assert!(
            reasons.starts_with("+ ") || reasons.starts_with("- "),
            "{reasons}"
        );
        assert_eq!(reasons.matches("; ").count(), 2, "three reasons: {reasons}");
        let value: f64 = r["last_abandoned_value"].parse().unwrap();
        let e = by_persona.entry(r["persona_id"].clone()).or_default();
        *e = (
            e.0 + q,
            e.1 + 1,
            e.2 + usize::from(q > 0.5),
            e.3 + q * value,
        );
    }
    for shown in p["personas"].as_array().unwrap() {
        let (sum, n, above, expected) = by_persona[shown["id"].as_str().unwrap()];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(
            close(shown["mean"].as_f64().unwrap(), sum / n as f64),
            "{shown}"
        );
        assert!(close(
            shown["share_above"].as_f64().unwrap(),
            above as f64 / n as f64
        ));
        assert!(close(
            shown["expected_returning_value"].as_f64().unwrap(),
            expected
        ));
    }
    let model = json(&run.join("model.json"));
    let prop = &model["propensity"];
    assert_eq!(
        prop["coefficients"].as_array().unwrap().len(),
        prop["scaler"]["features"].as_array().unwrap().len()
    );
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Return propensity"));
    assert!(report.contains("**as usual** propensity to order within 7d"));
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    let auc = format!(
        "data-key=\"propensity_auc\">{:.3}<",
        m["auc"].as_f64().unwrap()
    );
    assert!(html.contains("<h2>Return propensity</h2>") && html.contains(&auc));
    assert!(
        html.contains("Predicted vs observed returns, by bin"),
        "the reliability chart"
    );
}

/// Same inputs and settings on 1 and 2 threads: the same bytes.
#[test]
fn the_propensity_is_byte_identical_on_one_and_two_threads() {
    let dir = TempDir::new().unwrap();
    let one = dir.path().join("one");
    let mut cmd = cartsona();
    cmd.env("RAYON_NUM_THREADS", "1").arg("segment");
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(shop().join(format!("month-7/{kind}.csv")));
    }
    cmd.arg("--quiet").arg("--out").arg(&one).assert().success();
    for f in ["assignments.csv", "model.json", "summary.json", "report.md"] {
        assert!(
            std::fs::read(one.join(f)).unwrap() == std::fs::read(shared_run().join(f)).unwrap(),
            "{f}"
        );
    }
}

/// `assign` with the run's model on the same data and as-of time gives each abandoner the run's
/// propensity and reasons, byte for byte.
#[test]
fn assign_reproduces_the_runs_propensity() {
    let dir = TempDir::new().unwrap();
    let run = shared_run();
    let as_of = json(&run.join("summary.json"))["as_of"]
        .as_str()
        .unwrap()
        .to_string();
    let out = dir.path().join("assigned");
    let mut cmd = cartsona();
    cmd.arg("assign").arg("--model").arg(run.join("model.json"));
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(shop().join(format!("month-7/{kind}.csv")));
    }
    cmd.args(["--as-of", &as_of, "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let column = |dir: &Path, name: &str| -> Vec<String> {
        read_csv(&dir.join("assignments.csv"))
            .into_iter()
            .map(|r| format!("{} {}", r["customer_id"], r[name]))
            .collect()
    };
    for name in ["return_propensity", "propensity_reasons"] {
        assert_eq!(column(&out, name), column(run, name), "{name}");
    }
    let shown = &json(&out.join("summary.json"))["propensity"];
    assert_eq!(shown["kind"], "as_usual");
    assert_eq!(
        shown["personas"],
        json(&run.join("summary.json"))["propensity"]["personas"]
    );
}

fn sample(out: &Path, with_orders: bool, extra: &[&str]) -> assert_cmd::assert::Assert {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let mut cmd = cartsona();
    cmd.arg("segment")
        .arg("--carts")
        .arg(data.join("carts.csv"))
        .arg("--engagement")
        .arg(data.join("engagement.csv"));
    if with_orders {
        cmd.arg("--orders").arg(data.join("orders.csv"));
    }
    cmd.arg("--out").arg(out).args(extra).assert()
}

fn header(run: &Path) -> String {
    let text = std::fs::read_to_string(run.join("assignments.csv")).unwrap();
    text.lines().next().unwrap().to_string()
}

/// The sample data has one month of carts: too few past returns to learn from. Since issue 34's
/// "first run without alarm", that is one note saying what it would take, not a warning (none in
/// summary.json either), no column, exit 0; without orders it is still a warning; and nothing at
/// all with --no-propensity.
#[test]
fn too_little_history_notes_once_and_writes_no_column() {
    let dir = TempDir::new().unwrap();
    let short = dir.path().join("short");
    let run = sample(&short, true, &[]).success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert_eq!(
        stderr.matches("note: no return propensity yet: ").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("a few months of carts and orders"),
        "{stderr}"
    );
    assert!(!header(&short).contains("return_propensity"));
    let summary = json(&short.join("summary.json"));
    let p = &summary["propensity"];
    // Issue 33: found out from the rows alone (the sample's training week holds no shopper with
    // a cart a day old by then who ordered in its window), before any past week's features are
    // computed.
    assert!(p["not_learned"]
        .as_str()
        .unwrap()
        .contains("abandoners coming back within the window (at least 200 are needed)"));
    assert!(!summary["warnings"].to_string().contains("propensity"));
    let no_orders = dir.path().join("no-orders");
    sample(&no_orders, false, &[])
        .success()
        .stderr(contains("there is no orders input"));
    assert!(!header(&no_orders).contains("return_propensity"));
    let off = dir.path().join("off");
    let quiet_about_it = sample(&off, true, &["--no-propensity"]).success();
    let stderr = String::from_utf8_lossy(&quiet_about_it.get_output().stderr).to_string();
    assert!(!stderr.contains("propensity"), "{stderr}");
    assert!(json(&off.join("summary.json")).get("propensity").is_none());
}

/// A precomputed features table has no history to go back in.
#[test]
fn a_features_table_has_no_propensity() {
    let dir = TempDir::new().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let table = dir.path().join("features.csv");
    cartsona()
        .args(["features", "--quiet", "--as-of", "2025-02-01T00:00:00Z"])
        .arg("--carts")
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--out")
        .arg(&table)
        .assert()
        .success();
    cartsona()
        .args(["segment", "--as-of", "2025-02-01T00:00:00Z", "--features"])
        .arg(&table)
        .arg("--out")
        .arg(dir.path().join("run"))
        .assert()
        .success()
        .stderr(contains("a --features table has no history to go back in"));
}

/// Bad propensity settings cannot run: exit 2, naming the flag.
#[test]
fn bad_propensity_settings_exit_2() {
    let dir = TempDir::new().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--propensity-window", "0d"],
            "--propensity-window '0d': must be longer than zero",
        ),
        (&["--propensity-window", "soon"], "--propensity-window"),
        (
            &["--propensity-history", "2w"],
            "--propensity-history 2w: must be at least three propensity windows (21d)",
        ),
        (
            &["--propensity-c", "0"],
            "--propensity-c 0: give a positive number",
        ),
        (
            &["--no-discount-above", "1.5"],
            "--no-discount-above 1.5: give a probability from 0 to 1",
        ),
    ];
    for (i, (flags, message)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("run-{i}"));
        sample(&out, true, flags).code(2).stderr(contains(*message));
        assert!(!out.exists());
    }
}

/// Counts audience.csv's rows with `no_discount` = 1, checking each against its propensity and
/// offer on the way.
fn no_discount_rows(run: &Path, above: f64, rule_on: bool) -> usize {
    let rows = read_csv(&run.join("audience.csv"));
    assert!(!rows.is_empty());
    let mut plain = 0;
    for r in &rows {
        let p: f64 = r["return_propensity"].parse().unwrap();
        let expected = rule_on && p > above;
        assert_eq!(r["no_discount"] == "1", expected, "{r:?}");
        assert_eq!(r["offer"].starts_with("none: a plain reminder"), expected);
        plain += usize::from(expected);
    }
    plain
}

/// With the baseline's holdout the propensity is learned from holdout shoppers only (untreated)
/// and the no-discount rule is on: audience.csv gives the shoppers above the threshold no
/// incentive and the report counts them. With an as-usual propensity the rule is off unless
/// forced, and the report says why.
#[test]
fn the_no_discount_rule_follows_the_kind() {
    let dir = TempDir::new().unwrap();
    let first = dir.path().join("first");
    segment_shop(
        &first,
        &[
            "--as-of",
            "2025-01-15T00:00:00Z",
            "--holdout",
            "0.5",
            "--no-propensity",
        ],
    )
    .success();
    let untreated = dir.path().join("untreated");
    let baseline = first.join("model.json");
    let flags = [
        "--no-discount-above",
        "0.1",
        "--baseline",
        baseline.to_str().unwrap(),
    ];
    segment_shop(&untreated, &flags).success();
    let p = &json(&untreated.join("summary.json"))["propensity"];
    assert_eq!(p["kind"], "untreated", "{p}");
    assert_eq!(p["no_discount_rule"], true);
    let plain = no_discount_rows(&untreated, 0.1, true);
    assert!(plain > 0);
    assert_eq!(p["no_discount"], plain);
    let report = std::fs::read_to_string(untreated.join("report.md")).unwrap();
    assert!(report.contains(&format!(
        "{plain} shoppers in `audience.csv` get their play with no incentive"
    )));
    // As usual: a holdout of this run only; the rule is off, then forced.
    let as_usual = dir.path().join("as-usual");
    segment_shop(
        &as_usual,
        &["--no-discount-above", "0.1", "--holdout", "0.2"],
    )
    .success();
    let p = &json(&as_usual.join("summary.json"))["propensity"];
    assert_eq!(
        (&p["kind"], &p["no_discount_rule"]),
        (&"as_usual".into(), &false.into())
    );
    assert!(p["no_discount_rule_why"]
        .as_str()
        .unwrap()
        .starts_with("off: an as-usual propensity is not causal"));
    assert_eq!(no_discount_rows(&as_usual, 0.1, false), 0);
    let forced = dir.path().join("forced");
    let flags = [
        "--no-discount-above",
        "0.1",
        "--holdout",
        "0.2",
        "--force-no-discount",
    ];
    segment_shop(&forced, &flags).success();
    let forced_rows = no_discount_rows(&forced, 0.1, true);
    assert!(forced_rows > 0);
    // Issue 31: model.json records whether the rule was applied, so `assign` applies it as the
    // run did (it used to drop a forced rule silently) and a readout shows the no-discount group
    // only where the rule was applied.
    let rule = |run: &Path| json(&run.join("model.json"))["propensity"]["no_discount_rule"].clone();
    assert_eq!(rule(&forced), true);
    assert_eq!(rule(&as_usual), false);
    assert_eq!(rule(&untreated), true);
    let as_of = json(&forced.join("summary.json"))["as_of"]
        .as_str()
        .unwrap()
        .to_string();
    let assigned = dir.path().join("assigned");
    let mut cmd = cartsona();
    cmd.args(["assign", "--quiet", "--as-of", &as_of, "--model"])
        .arg(forced.join("model.json"));
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(shop().join(format!("month-7/{kind}.csv")));
    }
    cmd.arg("--out").arg(&assigned).assert().success();
    assert_eq!(no_discount_rows(&assigned, 0.1, true), forced_rows);
    let readout = dir.path().join("readout");
    cartsona()
        .args(["outcomes", "--allow-partial", "--run"])
        .arg(&as_usual)
        .arg("--orders")
        .arg(shop().join("month-7/orders.csv"))
        .arg("--out")
        .arg(&readout)
        .assert()
        .code(predicates::ord::le(1));
    let bands = &json(&readout.join("outcomes.json"))["by_propensity"];
    assert_eq!(bands["quintiles"].as_array().unwrap().len(), 5);
    assert!(bands["no_discount"].is_null(), "{bands}");
}

/// `drift` compares the propensity's distribution: the PSI against the baseline run's deciles of
/// its own propensities, worked out here from the two assignments files (docs/drift.md's
/// definition: type-7 deciles, bins (e_k-1, e_k], shares floored at 1e-4).
#[test]
fn drift_compares_the_propensity_distribution() {
    let dir = TempDir::new().unwrap();
    let june = dir.path().join("june");
    segment_shop(&june, &["--as-of", "2025-06-30T00:00:00Z"]).success();
    let july = dir.path().join("july");
    let baseline = june.join("model.json");
    segment_shop(&july, &["--baseline", baseline.to_str().unwrap()]).success();
    let out = dir.path().join("drift");
    cartsona()
        .arg("drift")
        .arg("--baseline")
        .arg(&june)
        .arg("--current")
        .arg(&july)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(predicates::ord::le(1));
    let scores = |run: &Path| -> Vec<f64> {
        read_csv(&run.join("assignments.csv"))
            .iter()
            .map(|r| r["return_propensity"].parse().unwrap())
            .collect()
    };
    let (b, c) = (scores(&june), scores(&july));
    let mut sorted = b.clone();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let pos = q * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    let mut edges: Vec<f64> = (1..10).map(|i| quantile(i as f64 / 10.0)).collect();
    edges.dedup();
    let shares = |v: &[f64]| -> Vec<f64> {
        let mut counts = vec![0.0; edges.len() + 1];
        for x in v {
            counts[edges.iter().filter(|e| *e < x).count()] += 1.0;
        }
        counts
            .iter()
            .map(|n| (n / v.len() as f64).max(1e-4))
            .collect()
    };
    let (p, q) = (shares(&b), shares(&c));
    let expected: f64 = p.iter().zip(&q).map(|(p, q)| (q - p) * (q / p).ln()).sum();
    let drift = json(&out.join("drift.json"));
    let row = drift["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature"] == "return_propensity")
        .expect("the propensity is compared")
        .clone();
    let got = row["psi"].as_f64().unwrap();
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    assert!(expected > 0.0);
}

/// `outcomes` reads out the uplift by propensity band: quintiles of the listed shoppers'
/// propensities (type 7) and the group above the no-discount threshold. Each band's arms and
/// recoveries are worked out here from assignments.csv and the orders files: an order in
/// (T, T + 7d] recovers the shopper.
#[test]
fn outcomes_read_out_the_uplift_by_propensity_band() {
    let dir = TempDir::new().unwrap();
    let run = dir.path().join("june");
    segment_shop(
        &run,
        &[
            "--as-of",
            "2025-06-30T00:00:00Z",
            "--holdout",
            "0.3",
            "--no-discount-above",
            "0.1",
            "--force-no-discount",
        ],
    )
    .success();
    let out = dir.path().join("outcomes");
    cartsona()
        .args(["outcomes", "--run"])
        .arg(&run)
        .arg("--orders")
        .arg(shop().join("month-7/orders.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(predicates::ord::le(1));
    let t = cartsona::util::timefmt::parse_timestamp("2025-06-30T00:00:00Z").unwrap();
    let end = t + 7 * cartsona::util::timefmt::DAY;
    let mut recovered = std::collections::BTreeSet::new();
    for r in read_csv(&shop().join("month-7/orders.csv")) {
        let at = cartsona::util::timefmt::parse_timestamp(&r["ordered_at"]).unwrap();
        if at > t && at <= end {
            recovered.insert(r["customer_id"].clone());
        }
    }
    let rows = read_csv(&run.join("assignments.csv"));
    let p: Vec<f64> = rows
        .iter()
        .map(|r| r["return_propensity"].parse().unwrap())
        .collect();
    let mut sorted = p.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |x: f64| {
        let pos = x * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    let edges = [q(0.2), q(0.4), q(0.6), q(0.8)];
    // (band, arm) -> (shoppers, recovered); band 5 is the no-discount group.
    let mut tally: BTreeMap<(usize, String), (u64, u64)> = BTreeMap::new();
    for (r, &x) in rows.iter().zip(&p) {
        let band = edges.iter().filter(|e| **e < x).count();
        let groups = if x > 0.1 { vec![band, 5] } else { vec![band] };
        for g in groups {
            let e = tally.entry((g, r["arm"].clone())).or_default();
            e.0 += 1;
            e.1 += u64::from(recovered.contains(&r["customer_id"]));
        }
    }
    let readout = json(&out.join("outcomes.json"));
    let bands = &readout["by_propensity"];
    let mut all: Vec<serde_json::Value> = bands["quintiles"].as_array().unwrap().clone();
    all.push(bands["no_discount"].clone());
    assert_eq!(all.len(), 6, "{bands}");
    for (g, band) in all.iter().enumerate() {
        for arm in ["treatment", "holdout"] {
            let (n, k) = tally[&(g, arm.to_string())];
            let c = &band["comparison"][arm];
            assert_eq!(
                (c["n"].as_u64().unwrap(), c["recovered"].as_u64().unwrap()),
                (n, k),
                "band {g} {arm}"
            );
        }
        assert!(band["comparison"]["uplift"]["p_holm"].as_f64().is_some());
    }
    let md = std::fs::read_to_string(out.join("outcomes.md")).unwrap();
    assert!(md.contains("## By return-propensity band"));
    assert!(md.contains("| above 0.1 (no incentive when the rule was on) |"));
    let html = std::fs::read_to_string(out.join("outcomes.html")).unwrap();
    assert!(html.contains("<h2>By return-propensity band</h2>"));
}

/// Shopify's time format: "2025-07-04 14:23:30 +0000".
fn shopify_time(t: &str) -> String {
    format!("{} +0000", t.replace('T', " ").trim_end_matches('Z'))
}

/// The shop as Shopify exports it: the checkout export holds only the checkouts that were never
/// completed (final state), the orders export every order.
fn shopify_export(dir: &Path) -> (PathBuf, PathBuf) {
    let orders = read_csv(&shop().join("month-7/orders.csv"));
    let converted: std::collections::BTreeSet<&str> =
        orders.iter().map(|o| o["cart_id"].as_str()).collect();
    let mut latest: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for c in read_csv(&shop().join("month-7/carts.csv")) {
        if converted.contains(c["cart_id"].as_str()) {
            continue;
        }
        let newer = latest
            .get(&c["cart_id"])
            .is_none_or(|k| k["updated_at"] <= c["updated_at"]);
        if newer {
            latest.insert(c["cart_id"].clone(), c);
        }
    }
    let mut checkouts = String::from(
        "Id,Email,Created at,Updated at,Completed at,Total,Discount Code,Lineitem quantity\n",
    );
    for c in latest.values() {
        checkouts += &format!(
            "{},{}@example.com,{},{},,{},{},{}\n",
            c["cart_id"],
            c["customer_id"],
            shopify_time(&c["created_at"]),
            shopify_time(&c["updated_at"]),
            c["cart_value"],
            c["discount_code"],
            c["item_count"]
        );
    }
    let mut export = String::from("Name,Email,Created at,Total,Discount Code,Discount Amount\n");
    for o in &orders {
        export += &format!(
            "#{},{}@example.com,{},{},{},{}\n",
            o["order_id"],
            o["customer_id"],
            shopify_time(&o["ordered_at"]),
            o["order_value"],
            o["discount_code"],
            o["discount_amount"]
        );
    }
    let (c, o) = (dir.join("checkouts.csv"), dir.join("orders.csv"));
    std::fs::write(&c, checkouts).unwrap();
    std::fs::write(&o, export).unwrap();
    (c, o)
}

/// Through Shopify's final-state checkout export the past weeks are approximate, and the run
/// says so in summary.json and report.md while still learning the propensity.
#[test]
fn a_shopify_export_says_the_history_is_approximate() {
    let dir = TempDir::new().unwrap();
    let (checkouts, orders) = shopify_export(dir.path());
    let out = dir.path().join("run");
    cartsona()
        .args(["segment", "--preset", "shopify", "--quiet", "--carts"])
        .arg(&checkouts)
        .arg("--orders")
        .arg(&orders)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let p = &json(&out.join("summary.json"))["propensity"];
    assert_eq!(p["kind"], "as_usual", "{p}");
    let notes: Vec<&str> = p["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with("the history is approximate: Shopify's checkout export keeps each checkout's final state")),
        "{notes:?}"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("the history is approximate"));
    // The same shop in canonical files gives no such note.
    let canonical = &json(&shared_run().join("summary.json"))["propensity"]["notes"];
    assert!(
        !canonical.to_string().contains("approximate"),
        "{canonical}"
    );
}

/// Issue 31: a label window is complete only as far as the orders reach. With an orders export
/// that stops three weeks before the carts and engagement, the weeks whose window the orders do
/// not cover are left out (counted), not labelled "did not return"; the newest week measured ends
/// at or before the last order.
#[test]
fn a_lagging_orders_export_leaves_its_uncovered_weeks_out() {
    let dir = TempDir::new().unwrap();
    let full = dir.path().join("full");
    segment_shop(&full, &[]).success();
    let as_of = json(&full.join("summary.json"))["as_of"]
        .as_str()
        .unwrap()
        .to_string();
    let t = cartsona::util::timefmt::parse_timestamp(&as_of).unwrap();
    let cut = t - 21 * cartsona::util::timefmt::DAY;
    let text = std::fs::read_to_string(shop().join("month-7/orders.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let at = header.split(',').position(|h| h == "ordered_at").unwrap();
    let mut kept = vec![header.to_string()];
    kept.extend(
        lines
            .filter(|l| {
                let v = l.split(',').nth(at).unwrap();
                cartsona::util::timefmt::parse_timestamp(v).unwrap() <= cut
            })
            .map(str::to_string),
    );
    let orders = dir.path().join("orders.csv");
    std::fs::write(&orders, kept.join("\n") + "\n").unwrap();
    let lagging = dir.path().join("lagging");
    let mut cmd = cartsona();
    cmd.args(["segment", "--quiet", "--as-of", &as_of]);
    for (kind, path) in [
        ("carts", shop().join("month-7/carts.csv")),
        ("orders", orders.clone()),
        ("engagement", shop().join("month-7/engagement.csv")),
    ] {
        cmd.arg(format!("--{kind}")).arg(path);
    }
    cmd.arg("--out").arg(&lagging).assert().success();
    let learned = |run: &Path| json(&run.join("model.json"))["propensity"]["learned"].clone();
    let (a, b) = (learned(&full), learned(&lagging));
    let uncovered = |l: &serde_json::Value| l["uncovered_weeks"].as_u64().unwrap();
    assert!(uncovered(&b) >= uncovered(&a) + 3, "{a} / {b}");
    let week =
        cartsona::util::timefmt::parse_timestamp(b["report_week"].as_str().unwrap()).unwrap();
    assert!(week + 7 * cartsona::util::timefmt::DAY <= cut, "{b}");
}

/// Issue 31: any input with a material share of single-row carts open at a past week gets a
/// warning (not only Shopify's). The shop's cart file cut to one row per cart, each dated 10 days
/// after the cart was created (a last activity long after creation, as many exports keep it):
/// more than 5% of the carts are open at a past week with only their later row, so the run warns
/// on stderr and the report notes it; the canonical shop (rows minutes apart) does not.
#[test]
fn single_row_carts_open_at_past_weeks_are_warned_about_in_any_input() {
    let dir = TempDir::new().unwrap();
    let mut latest: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for c in read_csv(&shop().join("month-7/carts.csv")) {
        let newer = latest
            .get(&c["cart_id"])
            .is_none_or(|k| k["updated_at"] <= c["updated_at"]);
        if newer {
            latest.insert(c["cart_id"].clone(), c);
        }
    }
    let header = "customer_id,cart_id,created_at,updated_at,cart_value";
    let mut text = format!("{header}\n");
    let shift = |t: &str| {
        let at = chrono::DateTime::parse_from_rfc3339(t).unwrap() + chrono::Duration::days(10);
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    for c in latest.values() {
        let row = [
            c["customer_id"].clone(),
            c["cart_id"].clone(),
            c["created_at"].clone(),
            shift(&c["created_at"]),
            c["cart_value"].clone(),
        ];
        text.push_str(&format!("{}\n", row.join(",")));
    }
    let carts = dir.path().join("carts.csv");
    std::fs::write(&carts, text).unwrap();
    let out = dir.path().join("run");
    let assert = cartsona()
        .args(["segment", "--as-of", "2025-08-01", "--carts"])
        .arg(&carts)
        .arg("--orders")
        .arg(shop().join("month-7/orders.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("warning: the return propensity: the history is approximate: ")
            && stderr.contains("% of carts have a single row"),
        "{stderr}"
    );
    let notes = json(&out.join("summary.json"))["propensity"]["notes"].to_string();
    assert!(notes.contains("% of carts have a single row"), "{notes}");
    let canonical = json(&shared_run().join("summary.json"))["propensity"]["notes"].to_string();
    assert!(!canonical.contains("single row"), "{canonical}");
}

/// Issue 33, no idle stage: on a generated one-month shop the propensity finds out from the rows
/// alone (one pass over the carts and the orders) that its training weeks cannot give 200
/// positive labels, before it sets rows aside or computes a past week's features: `--timings`
/// has no "learning the return propensity" stage (it used to be a tenth of such a run), and the
/// note says what it would take. Whether a shop with history still learns is every other test
/// here (seven months of carts).
#[test]
fn a_one_month_shop_spends_no_time_learning_a_propensity() {
    let dir = TempDir::new().unwrap();
    let shop = dir.path().join("shop");
    cartsona()
        .args(["-q", "generate", "--shoppers", "5000", "--out"])
        .arg(&shop)
        .assert()
        .success();
    let run = dir.path().join("run");
    let out = cartsona()
        .arg("segment")
        .args(["--timings", "--carts"])
        .arg(shop.join("carts.csv"))
        .arg("--orders")
        .arg(shop.join("orders.csv"))
        .arg("--engagement")
        .arg(shop.join("engagement.csv"))
        .arg("--out")
        .arg(&run)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("note: no return propensity yet: the past weeks it trains on hold no abandoners coming back"),
        "{stderr}"
    );
    let summary = json(&run.join("summary.json"));
    let stages: Vec<&str> = summary["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stage"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"computing features"), "{stages:?}");
    assert!(
        !stages
            .iter()
            .any(|s| s.contains("learning the return propensity")),
        "{stages:?}"
    );
}
