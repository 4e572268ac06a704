//! Issue 32's incentive verdicts on a generated shop: `generate --holdout 0.3 --variants
//! reminder=0.5,incentive=0.5 --reminder-uplift high-value-loyal=0.13` plants a reminder's and
//! an incentive's uplift per archetype (docs/generator.md): the high-value loyalists come back
//! for a plain reminder a little more than for the incentive (13 points against 10), which also
//! costs its 10% discount; the deal-seekers' incentive recovers 12 points where the reminder
//! recovers 3. `segment` with the same split and salt, then `outcomes`, must say so: "a plain
//! reminder does as well for less" for the loyalists' persona, "the incentive pays" for the
//! deal-seekers'.
//!
//! Expected values come from the generator's truth.csv (each shopper's archetype and variant),
//! never from the readout. False-failure odds at 150,000 shoppers (one seed; measured: the
//! loyalists -31 [-40, -22] net revenue per listed shopper, 6.4 standard errors below zero; the
//! deal-seekers +3.6 [+2.9, +4.2], 10 above): with the planted difference near -25 (three
//! points of recovery and the discount on a cart near 400), the loyalists' verdict misses with
//! odds under 1e-4, the deal-seekers' under 1e-9. At the default reminder uplift (10 points, as
//! the incentive) the loyalists' difference is the discount alone, about 2.6 standard errors at
//! this size: a verdict a test could not rely on.

mod common;

use std::collections::BTreeMap;

use common::{cartsona, read_csv, segment};

const SPLIT: &str = "reminder=0.5,incentive=0.5";

/// The archetype most of a persona's shoppers have in truth.csv.
fn archetype_of(
    persona: &str,
    assigned: &[BTreeMap<String, String>],
    truth: &BTreeMap<&str, &str>,
) -> String {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for r in assigned.iter().filter(|r| r["persona_id"] == persona) {
        *count.entry(truth[r["customer_id"].as_str()]).or_default() += 1;
    }
    count
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}

#[test]
fn the_incentive_verdicts_match_what_the_generator_planted() {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    cartsona()
        .args(["-q", "generate", "--shoppers", "150000", "--holdout", "0.3"])
        .args([
            "--variants",
            SPLIT,
            "--reminder-uplift",
            "high-value-loyal=0.13",
            "--out",
        ])
        .arg(&shop)
        .assert()
        .success();
    let run = segment(
        dir.path(),
        &shop,
        "run",
        &["-q", "--holdout", "0.3", "--variants", SPLIT],
    );
    // The generator's experiment gave each treated shopper the variant the run lists.
    let truth_rows = read_csv(&shop.join("next/truth.csv"));
    let truth: BTreeMap<&str, &str> = truth_rows
        .iter()
        .map(|r| (r["customer_id"].as_str(), r["archetype"].as_str()))
        .collect();
    let variant: BTreeMap<&str, &str> = truth_rows
        .iter()
        .map(|r| (r["customer_id"].as_str(), r["variant"].as_str()))
        .collect();
    let assigned = read_csv(&run.join("assignments.csv"));
    for r in &assigned {
        assert_eq!(
            r["variant"],
            variant[r["customer_id"].as_str()],
            "{}",
            r["customer_id"]
        );
    }
    let readout = dir.path().join("readout");
    cartsona()
        .args(["-q", "outcomes", "--run"])
        .arg(&run)
        .arg("--orders")
        .arg(shop.join("next/orders.csv"))
        .arg("--out")
        .arg(&readout)
        .assert()
        .success();
    let o: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(readout.join("outcomes.json")).unwrap())
            .unwrap();
    let mut seen = Vec::new();
    for v in o["variants"].as_array().unwrap() {
        let persona = v["persona_id"].as_str().unwrap();
        let a = &v["against_reminder"][0];
        let archetype = archetype_of(persona, &assigned, &truth);
        let want = match archetype.as_str() {
            "high-value-loyal" => "reminder_does_as_well",
            "deal-seeker" => "pays",
            _ => continue,
        };
        assert_eq!(a["verdict"], want, "{persona} ({archetype}): {a}");
        seen.push(archetype);
    }
    seen.sort();
    assert_eq!(seen, ["deal-seeker", "high-value-loyal"]);
}

/// `--incentive-cost 5` (an incentive that is not a discount, or not only one) takes 5 off the
/// net revenue of each recovered shopper of the `incentive` variant: every group's difference
/// against the reminder moves by exactly -5 x (the incentive variant's recovered / n), counted
/// from the same outcomes.json; the reminder pays nothing. Without a variant that carries an
/// incentive the readout warns that the cost is not counted.
#[test]
fn an_incentive_cost_is_taken_off_each_recovered_incentive_shopper() {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    cartsona()
        .args(["-q", "generate", "--shoppers", "8000", "--holdout", "0.3"])
        .args(["--variants", SPLIT, "--out"])
        .arg(&shop)
        .assert()
        .success();
    let run = segment(
        dir.path(),
        &shop,
        "run",
        &["-q", "--holdout", "0.3", "--variants", SPLIT],
    );
    let read = |name: &str, extra: &[&str]| -> serde_json::Value {
        let out = dir.path().join(name);
        let code = cartsona()
            .args(["-q", "outcomes", "--no-uplift", "--run"])
            .arg(&run)
            .arg("--orders")
            .arg(shop.join("next/orders.csv"))
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
            .status
            .code();
        assert!(matches!(code, Some(0 | 1)), "{code:?}");
        serde_json::from_str(&std::fs::read_to_string(out.join("outcomes.json")).unwrap()).unwrap()
    };
    let (plain, costed) = (
        read("plain", &[]),
        read("costed", &["--incentive-cost", "5"]),
    );
    assert_eq!(costed["incentive_cost"], 5.0);
    assert!(plain.get("incentive_cost").is_none());
    let groups = |o: &serde_json::Value| -> Vec<serde_json::Value> {
        let mut g = o["variants"].as_array().unwrap().clone();
        g.push(o["overall_variants"].clone());
        g
    };
    let mut checked = 0;
    for (p, c) in groups(&plain).iter().zip(groups(&costed)) {
        let incentive = p["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["variant"] == "incentive")
            .unwrap();
        let (n, back) = (
            incentive["stats"]["n"].as_f64().unwrap(),
            incentive["stats"]["recovered"].as_f64().unwrap(),
        );
        let (before, after) = (
            p["against_reminder"][0]["net_revenue_per_shopper"]
                .as_f64()
                .unwrap(),
            c["against_reminder"][0]["net_revenue_per_shopper"]
                .as_f64()
                .unwrap(),
        );
        let want = before - 5.0 * back / n;
        assert!(
            (after - want).abs() < 1e-9,
            "{}: {after} against {want}",
            p["persona_id"]
        );
        checked += 1;
    }
    assert!(checked >= 4, "{checked}");
    // A shop without variants: the cost cannot be counted, and the readout says so.
    let no_variants = segment(dir.path(), &shop, "run-plain", &["-q", "--holdout", "0.3"]);
    let out = dir.path().join("no-variants");
    let o = cartsona()
        .args(["outcomes", "--no-uplift", "--incentive-cost", "5", "--run"])
        .arg(&no_variants)
        .arg("--orders")
        .arg(shop.join("next/orders.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--incentive-cost 5 is not counted"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A negative cost is refused, naming the flag.
    cartsona()
        .args(["outcomes", "--incentive-cost=-1", "--run"])
        .arg(&run)
        .arg("--orders")
        .arg(shop.join("next/orders.csv"))
        .arg("--out")
        .arg(dir.path().join("refused"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--incentive-cost"));
}
