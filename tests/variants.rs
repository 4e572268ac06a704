//! Variants inside the treatment arm (issue 32, part 1): the documented rule in every output
//! (assignments, audience.csv with the variant's offer, model.json, summary.json, report.md),
//! inherited by monthly runs and by `assign`, a change or an end said, bad settings refused.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{cartsona, read_csv};
use predicates::str::contains;
use sha2::{Digest, Sha256};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

/// `cartsona [-q] COMMAND` reading sample-data's three files, writing to `out`.
fn on_sample(quiet: bool, command: &str, out: &Path) -> assert_cmd::Command {
    let s = sample();
    let mut cmd = cartsona();
    if quiet {
        cmd.arg("--quiet");
    }
    cmd.arg(command);
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(s.join(format!("{kind}.csv")));
    }
    cmd.arg("--out").arg(out);
    cmd
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The variant docs/outcomes.md's rule gives, written again here from the text: u = the first 8
/// bytes of SHA-256(`salt:id`) big-endian; the first variant whose running share sum c has
/// u < ceil(c × 2^64), else the last.
fn documented(salt: &str, id: &str, split: &[(&str, f64)]) -> String {
    let digest = Sha256::digest(format!("{salt}:{id}").as_bytes());
    let u = u64::from_be_bytes(digest[..8].try_into().unwrap());
    let mut c = 0.0;
    for (name, share) in &split[..split.len() - 1] {
        c += share;
        if u < (c * 2f64.powi(64)).ceil() as u64 {
            return name.to_string();
        }
    }
    split[split.len() - 1].0.to_string()
}

/// customer_id -> variant of a run's assignments.
fn variants(run: &Path) -> BTreeMap<String, String> {
    read_csv(&run.join("assignments.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["variant"].clone()))
        .collect()
}

const SPLIT: [(&str, f64); 3] = [("reminder", 0.5), ("incentive", 0.3), ("late", 0.2)];

#[test]
fn variants_follow_the_documented_rule_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    on_sample(true, "segment", &run)
        .args([
            "--holdout",
            "0.2",
            "--variants",
            "reminder=0.5,incentive=0.3,late=0.2",
        ])
        .args(["--variant-salt", "v1"])
        .assert()
        .success();
    // Assignments: the held out have none, every treated shopper the documented one.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in read_csv(&run.join("assignments.csv")) {
        let expected = match r["arm"].as_str() {
            "holdout" => String::new(),
            _ => documented("v1", &r["customer_id"], &SPLIT),
        };
        assert_eq!(r["variant"], expected, "{}", r["customer_id"]);
        *counts.entry(expected).or_default() += 1;
    }
    let treated: usize = counts
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(_, n)| n)
        .sum();
    for (name, share) in SPLIT {
        // About 1,190 treated shoppers: within 5 standard errors (under 0.073) of the plan.
        let got = counts[name] as f64 / treated as f64;
        assert!((got - share).abs() < 0.073, "{name}: {got} of {treated}");
    }
    // audience.csv: the treated only, with their variant; a reminder carries no incentive,
    // every other variant the persona's offer (summary.json's play).
    let summary = json(&run.join("summary.json"));
    let offers: BTreeMap<String, String> = summary["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = p["id"].as_str().unwrap().to_string();
            (id, p["play"]["offer"].as_str().unwrap().to_string())
        })
        .collect();
    let audience = read_csv(&run.join("audience.csv"));
    assert_eq!(audience.len(), treated);
    let assigned = variants(&run);
    for r in &audience {
        assert_eq!(r["variant"], assigned[&r["customer_id"]]);
        let offer = match r["variant"].as_str() {
            "reminder" => "none: a plain reminder (variant reminder)",
            _ => offers[&r["persona_id"]].as_str(),
        };
        assert_eq!(r["offer"], offer, "{}", r["customer_id"]);
    }
    // model.json and summary.json record the split; report.md says it.
    let model = json(&run.join("model.json"));
    let v = &model["variants"];
    assert_eq!(v["salt"], "v1");
    assert_eq!(v["split"][1]["name"], "incentive");
    // ceil(0.5 × 2^64) and ceil((0.5 + 0.3) × 2^64), worked out in Python.
    assert_eq!(
        v["thresholds_hex"],
        serde_json::json!(["8000000000000000", "ccccccccccccd000"])
    );
    assert_eq!(v["since"], model["as_of"]);
    assert_eq!(summary["variants"], *v);
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("**Variants** of the treatment arm: `reminder` 50.0%, `incentive` 30.0%, `late` 20.0% (salt `v1`"), "{report}");
}

#[test]
fn variants_are_inherited_and_a_change_or_an_end_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_sample(true, "segment", &d.join("first"))
        .args([
            "--holdout",
            "0.2",
            "--variants",
            "reminder=0.5,incentive=0.5",
        ])
        .assert()
        .success();
    let base = d.join("first/model.json");
    let first = json(&base)["variants"].clone();
    // A monthly run and `assign` keep the split, its salt and its start.
    on_sample(true, "segment", &d.join("again"))
        .arg("--baseline")
        .arg(&base)
        .assert()
        .success();
    on_sample(true, "assign", &d.join("assigned"))
        .arg("--model")
        .arg(&base)
        .assert()
        .success();
    for run in ["again", "assigned"] {
        assert_eq!(
            json(&d.join(run).join("model.json"))["variants"],
            first,
            "{run}"
        );
        assert_eq!(variants(&d.join(run)), variants(&d.join("first")), "{run}");
    }
    // Another split starts anew from this run, and says so.
    on_sample(false, "segment", &d.join("changed"))
        .args(["--variants", "reminder=0.3,incentive=0.7", "--baseline"])
        .arg(&base)
        .assert()
        .success()
        .stderr(contains(
            "the variants change from reminder=0.5,incentive=0.5 (salt cartsona-variants",
        ));
    let changed = json(&d.join("changed/model.json"));
    assert_eq!(changed["variants"]["since"], changed["as_of"]);
    // `none` ends them: no variant column, no variants in the model.
    on_sample(false, "segment", &d.join("ended"))
        .args(["--variants", "none", "--baseline"])
        .arg(&base)
        .assert()
        .success()
        .stderr(contains(
            "--variants none ends the variants reminder=0.5,incentive=0.5",
        ));
    assert!(json(&d.join("ended/model.json")).get("variants").is_none());
    assert!(!read_csv(&d.join("ended/audience.csv"))[0].contains_key("variant"));
    // Ending the holdout ends the variants too.
    on_sample(false, "segment", &d.join("no-holdout"))
        .args(["--holdout", "0", "--baseline"])
        .arg(&base)
        .assert()
        .success()
        .stderr(contains("the end of the holdout ends the variants"));
}

#[test]
fn bad_variant_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    for (args, words) in [
        (
            vec!["--variants", "reminder=0.5,incentive=0.5"],
            "--variants split the treatment arm: give --holdout",
        ),
        (
            vec!["--holdout", "0.2", "--variants", "reminder=1"],
            "--variants reminder=1: give at least two variants",
        ),
        (
            vec![
                "--holdout",
                "0.2",
                "--variants",
                "a=0.5,b=0.5",
                "--variant-salt",
                "cartsona",
            ],
            "the variants' salt `cartsona` is the holdout's",
        ),
    ] {
        on_sample(true, "segment", &out)
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(words));
        assert!(!out.exists());
    }
}

/// A sample run with a 20% holdout and a 50/50 reminder/incentive split as of 2025-02-01, read
/// out over the week after (`sample-data/next`); returns the run and readout directories.
fn run_and_read_out(d: &Path) -> (PathBuf, PathBuf) {
    let run = d.join("run");
    on_sample(true, "segment", &run)
        .args([
            "--holdout",
            "0.2",
            "--variants",
            "reminder=0.5,incentive=0.5",
        ])
        .args(["--as-of", "2025-02-01"])
        .assert()
        .success();
    let readout = d.join("readout");
    cartsona()
        .args(["-q", "outcomes", "--run"])
        .arg(&run)
        .arg("--orders")
        .arg(sample().join("next/orders.csv"))
        .arg("--out")
        .arg(&readout)
        .assert()
        .success();
    (run, readout)
}

/// `outcomes` reads the variants out of the runs themselves (no entries file): each variant's
/// shoppers are the run's treated shoppers with that variant, the variants partition the
/// treatment arm (their shoppers and recoveries sum to the treatment arm's), each against the
/// holdout and against each other.
#[test]
fn outcomes_reads_each_variant_from_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (run, out) = run_and_read_out(dir.path());
    let o = json(&out.join("outcomes.json"));
    let rows = o["overall_variants"]["variants"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["variant"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["reminder", "incentive"]);
    let assigned = variants(&run);
    let (mut n, mut recovered) = (0, 0);
    for r in rows {
        let want = assigned.values().filter(|v| *v == &r["variant"]).count() as u64;
        assert_eq!(r["stats"]["n"].as_u64().unwrap(), want, "{}", r["variant"]);
        assert!(r["verdict"].is_string() && r["ci_low"].is_number());
        n += want;
        recovered += r["stats"]["recovered"].as_u64().unwrap();
    }
    let treatment = &o["overall"]["treatment"];
    assert_eq!(treatment["n"].as_u64().unwrap(), n);
    assert_eq!(treatment["recovered"].as_u64().unwrap(), recovered);
    assert_eq!(o["overall_variants"]["pairs"].as_array().unwrap().len(), 1);
    assert_eq!(o["runs"][0]["variants"]["salt"], "cartsona-variants");
    // In money: the incentive against the reminder, over the same shoppers, with its words.
    let money = &o["overall_variants"]["against_reminder"][0];
    assert_eq!(money["variant"], "incentive");
    assert_eq!(money["n"], rows[1]["stats"]["n"]);
    assert_eq!(money["reminder_n"], rows[0]["stats"]["n"]);
    let rates = |r: &serde_json::Value| r["stats"]["rate"].as_f64().unwrap();
    let gap = money["recovery_difference"].as_f64().unwrap();
    assert!((gap - (rates(&rows[1]) - rates(&rows[0]))).abs() < 1e-12);
    let (lo, d, hi) = (
        money["ci_low"].as_f64().unwrap(),
        money["net_revenue_per_shopper"].as_f64().unwrap(),
        money["ci_high"].as_f64().unwrap(),
    );
    assert!(lo <= d && d <= hi);
    let verdict = money["verdict"].as_str().unwrap();
    assert!(["pays", "reminder_does_as_well", "inconclusive"].contains(&verdict));
    let md = std::fs::read_to_string(out.join("outcomes.md")).unwrap();
    assert!(
        md.contains("- incentive against reminder: net revenue per listed shopper"),
        "{md}"
    );
}

/// `segment --outcomes`: where the readout found that a plain reminder does as well as the
/// incentive for less (here planted in outcomes.json for P1), the play's offer becomes a plain
/// reminder saying why, for the incentive variant too, and the card says what was measured;
/// `--keep-offers` keeps the incentive.
#[test]
fn an_incentive_that_does_not_pay_gives_way_to_a_reminder_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (run, readout) = run_and_read_out(d);
    let file = readout.join("outcomes.json");
    let mut o = json(&file);
    for v in o["variants"].as_array_mut().unwrap() {
        if v["persona_id"] == "P1" {
            v["against_reminder"][0]["verdict"] = "reminder_does_as_well".into();
        }
    }
    std::fs::write(&file, serde_json::to_vec_pretty(&o).unwrap()).unwrap();
    let next = |out: &str, keep: bool| {
        let mut cmd = on_sample(true, "segment", &d.join(out));
        cmd.args(["--as-of", "2025-02-01", "--baseline"]).arg(&run);
        cmd.arg("--outcomes").arg(&readout);
        if keep {
            cmd.arg("--keep-offers");
        }
        cmd.assert().success();
        read_csv(&d.join(out).join("audience.csv"))
    };
    let switched = next("switched", false);
    let kept = next("kept", true);
    let plain = |r: &BTreeMap<String, String>| r["offer"].starts_with("none: a plain reminder");
    let (mut p1, mut others) = (0, 0);
    for (s, k) in switched.iter().zip(&kept) {
        assert_eq!(s["customer_id"], k["customer_id"]);
        match (s["persona_id"].as_str(), s["variant"].as_str()) {
            (_, "reminder") => assert!(plain(s) && plain(k)),
            ("P1", _) => {
                assert!(
                    s["offer"].contains("a plain reminder did as well as the incentive for less")
                );
                assert!(!plain(k), "kept: {}", k["offer"]);
                p1 += 1;
            }
            _ => {
                assert_eq!(s["offer"], k["offer"]);
                assert!(!plain(s));
                others += 1;
            }
        }
    }
    assert!(p1 > 50 && others > 200, "{p1} {others}");
    let report = std::fs::read_to_string(d.join("switched/report.md")).unwrap();
    assert!(report.contains("**Offers switched to a plain reminder**"));
    assert!(report
        .contains("incentive against a plain reminder: a plain reminder does as well for less"));
    let kept_report = std::fs::read_to_string(d.join("kept/report.md")).unwrap();
    assert!(!kept_report.contains("Offers switched"));
}
