//! Holdout arms (issue 18, part 1): the documented rule, stable across months, monotone in the
//! share, independent across salts, inherited by monthly runs, and audience.csv.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{cartsona, fixture, read_csv};
use predicates::str::contains;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

/// `cartsona [--quiet] COMMAND` reading sample-data's three files.
fn on_sample(quiet: bool, command: &str) -> assert_cmd::Command {
    let s = sample();
    let mut cmd = cartsona();
    if quiet {
        cmd.arg("--quiet");
    }
    cmd.arg(command)
        .arg("--carts")
        .arg(s.join("carts.csv"))
        .arg("--orders")
        .arg(s.join("orders.csv"))
        .arg("--engagement")
        .arg(s.join("engagement.csv"));
    cmd
}

/// `segment` on sample-data with extra arguments; returns the run directory.
fn run(dir: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(out);
    on_sample(true, "segment")
        .arg("--out")
        .arg(&path)
        .args(extra)
        .assert()
        .success();
    path
}

/// customer_id -> arm of a run (or of the fixture).
fn arms(path: &Path) -> BTreeMap<String, String> {
    read_csv(path)
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["arm"].clone()))
        .collect()
}

fn held(a: &BTreeMap<String, String>) -> Vec<&String> {
    a.iter()
        .filter(|(_, v)| *v == "holdout")
        .map(|(k, _)| k)
        .collect()
}

/// Every arm is the one Python's hashlib gives by the documented rule (fixture), the model
/// records share, salt and threshold, and audience.csv is exactly the treatment arm.
#[test]
fn arms_follow_the_documented_rule_and_audience_is_the_treatment_arm() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), "run", &["--holdout", "0.2"]);
    let got = arms(&r.join("assignments.csv"));
    let want = arms(&fixture("holdout").join("sample-data-0.2-cartsona.csv"));
    assert_eq!(got, want);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["holdout"]["share"], 0.2);
    assert_eq!(model["holdout"]["salt"], "cartsona");
    assert_eq!(model["holdout"]["threshold_hex"], "3333333333333400");
    let audience: Vec<String> = read_csv(&r.join("audience.csv"))
        .into_iter()
        .map(|row| row["customer_id"].clone())
        .collect();
    let treatment: Vec<&String> = got
        .iter()
        .filter(|(_, v)| *v == "treatment")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(audience.iter().collect::<Vec<_>>(), treatment);
    // The share held out is near the plan (316 of 1,488 here; binomial sd 15).
    let n = held(&got).len();
    assert!((250..=350).contains(&n), "{n}");
    // Counts per persona add up.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("summary.json")).unwrap()).unwrap();
    let by_persona: u64 = summary["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["holdout"].as_u64().unwrap())
        .sum();
    assert_eq!(by_persona as usize, n);
}

/// A shopper keeps their arm in a later month with the same salt; a larger share only moves
/// treatment shoppers into the holdout; another salt gives an independent split.
#[test]
fn arms_are_stable_monotone_in_the_share_and_independent_across_salts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let early = arms(
        &run(d, "early", &["--holdout", "0.3", "--as-of", "2025-01-20"]).join("assignments.csv"),
    );
    let late = arms(&run(d, "late", &["--holdout", "0.3"]).join("assignments.csv"));
    let common: Vec<&String> = early.keys().filter(|c| late.contains_key(*c)).collect();
    assert!(common.len() > 500, "{}", common.len());
    assert!(common.iter().all(|c| early[*c] == late[*c]));
    let small = arms(&run(d, "small", &["--holdout", "0.1"]).join("assignments.csv"));
    assert!(held(&small).iter().all(|c| late[*c] == "holdout"));
    assert!(held(&small).len() < held(&late).len());
    let other = arms(
        &run(
            d,
            "other",
            &["--holdout", "0.3", "--holdout-salt", "spring"],
        )
        .join("assignments.csv"),
    );
    let both = held(&late)
        .iter()
        .filter(|c| other[**c] == "holdout")
        .count();
    // Independent: about 30% of one salt's holdout is in the other's (sd about 2.2 points).
    let share = both as f64 / held(&late).len() as f64;
    assert!((0.22..=0.38).contains(&share), "{share}");
}

/// A monthly run inherits the baseline's holdout (a cron line cannot end it by omission);
/// `--holdout 0` ends it and says so; `assign` inherits the model's.
#[test]
fn holdouts_are_inherited_and_end_only_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = run(d, "first", &["--holdout", "0.15", "--holdout-salt", "s1"]);
    let base = first.join("model.json");
    let again = run(d, "again", &["--baseline", base.to_str().unwrap()]);
    assert_eq!(
        arms(&again.join("assignments.csv")),
        arms(&first.join("assignments.csv"))
    );
    let model = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p.join("model.json")).unwrap()).unwrap()
    };
    assert_eq!(model(&again)["holdout"], model(&first)["holdout"]);
    on_sample(false, "segment")
        .args(["--holdout", "0", "--baseline"])
        .arg(&base)
        .arg("--out")
        .arg(d.join("ended"))
        .assert()
        .success()
        .stderr(contains("--holdout 0 ends the holdout of 0.15 (salt s1"));
    assert!(!d.join("ended/audience.csv").exists());
    assert!(model(&d.join("ended"))["holdout"].is_null());
    assert!(!read_csv(&d.join("ended/assignments.csv"))[0].contains_key("arm"));
    let assigned = d.join("assigned");
    on_sample(true, "assign")
        .arg("--model")
        .arg(&base)
        .arg("--out")
        .arg(&assigned)
        .assert()
        .success();
    assert_eq!(
        arms(&assigned.join("assignments.csv")),
        arms(&first.join("assignments.csv"))
    );
    assert!(assigned.join("audience.csv").exists());
}

#[test]
fn bad_holdout_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = sample();
    for (args, words) in [
        (
            vec!["--holdout", "0.7"],
            "--holdout 0.7: give a share of abandoners from 0 to 0.5",
        ),
        (vec!["--holdout=-0.1"], "--holdout -0.1"),
        (
            vec!["--holdout-salt", "x"],
            "--holdout-salt without a holdout",
        ),
    ] {
        cartsona()
            .args(["segment", "--carts"])
            .arg(s.join("carts.csv"))
            .args(&args)
            .arg("--out")
            .arg(dir.path().join("r"))
            .assert()
            .code(2)
            .stderr(contains(words));
        assert!(!dir.path().join("r").exists());
    }
}
