//! Monthly re-segmentation with stable personas, and the drift gate, on generated months whose
//! changes are known: months 1 to 3 have the same mix; from month 4, deal-seekers go from 15% to
//! 35% of shoppers (the generator moves a known set of shoppers, listed in moves.csv).
//!
//! "No shift" compares months 2 and 3, not 1 and 2: the generator's engagement history starts in
//! month 1, so history-window features (email open rate over 365 days) fill up over the first
//! months; from month 1 to 2 that shows as real feature drift (docs/generator.md, "Months").

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{cartsona, list_dir, read_csv};
use predicates::str::contains;
use tempfile::TempDir;

struct Months {
    _dir: TempDir,
    root: PathBuf,
    runs: Vec<PathBuf>,
}

fn segment_month(root: &Path, m: usize, baseline: Option<&Path>, out: &Path, extra: &[&str]) {
    let data = root.join(format!("g/month-{m}"));
    let as_of = ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"][m - 1];
    let mut cmd = cartsona();
    cmd.arg("segment")
        .arg("--carts")
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--engagement")
        .arg(data.join("engagement.csv"))
        .args(["--as-of", as_of, "--quiet", "--out"])
        .arg(out)
        .args(extra);
    if let Some(b) = baseline {
        cmd.arg("--baseline").arg(b);
    }
    cmd.assert().success();
}

/// Generates four months and segments each with the previous month as baseline.
fn months() -> Months {
    let dir = TempDir::new().unwrap();
    let root = dir.path().to_path_buf();
    cartsona()
        .args([
            "generate",
            "--quiet",
            "--shoppers",
            "8000",
            "--seed",
            "21",
            "--months",
            "4",
            "--mix-month",
            "4:deal-seeker=0.35",
            "--out",
        ])
        .arg(root.join("g"))
        .assert()
        .success();
    let mut runs: Vec<PathBuf> = Vec::new();
    for m in 1..=4 {
        let out = root.join(format!("run-{m}"));
        let baseline = runs.last().map(|r| r.join("model.json"));
        segment_month(&root, m, baseline.as_deref(), &out, &[]);
        runs.push(out);
    }
    Months {
        _dir: dir,
        root,
        runs,
    }
}

fn drift(root: &Path, a: &Path, b: &Path, out: &str) -> (i32, PathBuf) {
    let dir = root.join(out);
    let output = cartsona()
        .arg("drift")
        .arg("--baseline")
        .arg(a)
        .arg("--current")
        .arg(b)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    (output.status.code().unwrap(), dir)
}

fn personas(run: &Path) -> BTreeMap<String, String> {
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("model.json")).unwrap()).unwrap();
    model["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().into(),
                p["name"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn monthly_drift_gate() {
    let m = months();
    let (r1, r2, r3, r4) = (&m.runs[0], &m.runs[1], &m.runs[2], &m.runs[3]);

    // Months 2 and 3 keep month 1's personas: same ids, same names.
    assert_eq!(personas(r1), personas(r2));
    assert_eq!(personas(r1), personas(r3));

    // No shift: exit 0, nothing failed.
    let (code, d12) = drift(&m.root, r2, r3, "drift-23");
    let md = std::fs::read_to_string(d12.join("drift.md")).unwrap();
    assert_eq!(code, 0, "{md}");
    assert_eq!(list_dir(&d12), ["drift.json", "drift.md", "junit.xml"]);
    let junit = std::fs::read_to_string(d12.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");

    // Month 4: deal-seekers grow. Exit 1, the deal persona named in drift.md and junit.xml.
    let (r2, r3) = (r3, r4);
    let (code, d23) = drift(&m.root, r2, r3, "drift-34");
    let md = std::fs::read_to_string(d23.join("drift.md")).unwrap();
    assert_eq!(code, 1, "{md}");
    let p3 = personas(r3);
    let (deal_id, deal_name) = p3
        .iter()
        .find(|(_, n)| n.contains("Deal"))
        .expect("a deal persona");
    assert!(
        md.contains(&format!("Failed: share of {deal_id} {deal_name}"))
            || md.contains(&format!("share of {deal_id} {deal_name}")),
        "{md}"
    );
    let junit = std::fs::read_to_string(d23.join("junit.xml")).unwrap();
    let failure_line = junit
        .lines()
        .position(|l| l.contains(&format!("name=\"share of {deal_id} {deal_name}\"")))
        .expect("test case");
    assert!(
        junit
            .lines()
            .nth(failure_line + 1)
            .unwrap()
            .contains("<failure"),
        "{junit}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d23.join("drift.json")).unwrap()).unwrap();
    let share = json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == deal_id.as_str())
        .unwrap();
    assert!(share["change"].as_f64().unwrap() > 0.10, "{share}");

    // The migration matrix is what the two assignment files say (computed here independently)...
    let before: BTreeMap<String, String> = read_csv(&r2.join("assignments.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["persona_id"].clone()))
        .collect();
    let after = read_csv(&r3.join("assignments.csv"));
    let mig = &json["migration"];
    let cid: Vec<&str> = mig["current_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let bid: Vec<&str> = mig["baseline_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut counts = vec![vec![0u64; cid.len()]; bid.len()];
    for r in &after {
        if let Some(b) = before.get(&r["customer_id"]) {
            let i = bid.iter().position(|x| x == b).unwrap();
            let j = cid.iter().position(|x| *x == r["persona_id"]).unwrap();
            counts[i][j] += 1;
        }
    }
    let got: Vec<Vec<u64>> = mig["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(got, counts);
    // ...and it shows the generator's moves: shoppers moved into deal-seeker flow into the deal
    // persona far more than those who did not move. (Not all of them: month files are cumulative,
    // so a shopper who changed in month 4 still carries three months of old behaviour in every
    // 365-day feature.)
    let moves: BTreeMap<String, String> = read_csv(&m.root.join("g/moves.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["from"].clone()))
        .collect();
    let (mut moved, mut moved_in) = (0.0, 0.0);
    let (mut stayed, mut stayed_in) = (0.0, 0.0);
    for r in &after {
        let Some(b) = before.get(&r["customer_id"]) else {
            continue;
        };
        if b == deal_id {
            continue;
        }
        let into_deal = (r["persona_id"] == *deal_id) as u8 as f64;
        if moves.contains_key(&r["customer_id"]) {
            moved += 1.0;
            moved_in += into_deal;
        } else {
            stayed += 1.0;
            stayed_in += into_deal;
        }
    }
    assert!(moved > 500.0, "{moved} moved shoppers in both runs");
    let (p_moved, p_stayed) = (moved_in / moved, stayed_in / stayed);
    assert!(
        p_moved >= 0.4,
        "moved shoppers into the deal persona: {p_moved}"
    );
    assert!(
        p_stayed <= 0.05,
        "unmoved shoppers into the deal persona: {p_stayed}"
    );
    eprintln!(
        "into the deal persona: {:.1}% of moved shoppers, {:.1}% of the others",
        p_moved * 100.0,
        p_stayed * 100.0
    );
}

#[test]
fn resegmenting_with_its_own_baseline_keeps_every_id_and_name() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("g")).unwrap();
    cartsona()
        .args([
            "generate",
            "--quiet",
            "--shoppers",
            "3000",
            "--seed",
            "4",
            "--out",
        ])
        .arg(dir.path().join("g/month-1"))
        .assert()
        .success();
    let first = dir.path().join("a");
    segment_month(dir.path(), 1, None, &first, &[]);
    let again = dir.path().join("b");
    segment_month(
        dir.path(),
        1,
        Some(&first.join("model.json")),
        &again,
        &["--seed", "7"],
    );
    assert_eq!(personas(&first), personas(&again));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("summary.json")).unwrap())
            .unwrap();
    for l in summary["lineage"].as_array().unwrap() {
        assert_eq!(l["matched"], true);
        assert!(l["distance"].as_f64().unwrap() < 0.05, "{l}");
    }
    // A run directory works as --baseline too, and a fresh persona never reuses an id.
    let forced = dir.path().join("c");
    segment_month(dir.path(), 1, Some(&first), &forced, &["--k", "6"]);
    let ids: Vec<String> = personas(&forced).into_keys().collect();
    let first_ids: Vec<String> = personas(&first).into_keys().collect();
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(forced.join("model.json")).unwrap()).unwrap();
    let fresh: Vec<&String> = ids.iter().filter(|i| !first_ids.contains(i)).collect();
    assert!(!fresh.is_empty());
    for f in fresh {
        let n: usize = f[1..].parse().unwrap();
        assert!(n > first_ids.len(), "{f} reuses a number");
    }
    assert!(model["next_persona_number"].as_u64().unwrap() as usize > ids.len());
}

#[test]
fn runs_that_cannot_be_compared_exit_2() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("g")).unwrap();
    cartsona()
        .args([
            "generate",
            "--quiet",
            "--shoppers",
            "1500",
            "--seed",
            "4",
            "--out",
        ])
        .arg(dir.path().join("g/month-1"))
        .assert()
        .success();
    let a = dir.path().join("a");
    segment_month(dir.path(), 1, None, &a, &[]);
    let b = dir.path().join("b");
    segment_month(
        dir.path(),
        1,
        None,
        &b,
        &[
            "--cluster-features",
            "last_abandoned_value,aov,orders,mobile_share",
        ],
    );
    cartsona()
        .arg("drift")
        .arg("--baseline")
        .arg(&a)
        .arg("--current")
        .arg(&b)
        .arg("--out")
        .arg(dir.path().join("d"))
        .assert()
        .code(2)
        .stderr(contains("clustered on different features"))
        .stderr(contains("--allow-feature-change"));
    assert!(!dir.path().join("d").exists());
    cartsona()
        .arg("drift")
        .arg("--baseline")
        .arg(&a)
        .arg("--current")
        .arg(&b)
        .arg("--allow-feature-change")
        .arg("--out")
        .arg(dir.path().join("d"))
        .assert()
        .code(predicates::ord::lt(2));
    cartsona()
        .arg("drift")
        .arg("--baseline")
        .arg(&a)
        .arg("--current")
        .arg(dir.path().join("missing"))
        .arg("--out")
        .arg(dir.path().join("e"))
        .assert()
        .code(2)
        .stderr(contains("--current"))
        .stderr(contains("no such run directory"));
    // A model of another format version.
    let text = std::fs::read_to_string(a.join("model.json"))
        .unwrap()
        .replacen(
            &format!("\"format_version\": {}", cartsona::model::FORMAT_VERSION),
            "\"format_version\": 99",
            1,
        );
    std::fs::write(b.join("model.json"), text).unwrap();
    cartsona()
        .arg("drift")
        .arg("--baseline")
        .arg(&a)
        .arg("--current")
        .arg(&b)
        .arg("--out")
        .arg(dir.path().join("f"))
        .assert()
        .code(2)
        .stderr(contains("model format version 99 is not supported"));
}
