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
