//! First exposure across months (issue 31): a holdout split that persists over three monthly
//! `segment --baseline` runs. The randomized tables of a readout hold exactly the shoppers whose
//! first listing since the split began is in a run given; everyone else is "listed again". The
//! expected sets are worked out here from the three runs' assignments (which shoppers each run
//! lists), never from the program's `first_listed` column.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{cartsona, read_csv};
use serde_json::Value;

const AS_OF: [&str; 3] = [
    "2025-02-01T00:00:00Z",
    "2025-03-01T00:00:00Z",
    "2025-04-01T00:00:00Z",
];

struct Loop {
    _dir: tempfile::TempDir,
    root: PathBuf,
    shop: PathBuf,
    runs: Vec<PathBuf>,
}

/// Month m's run: month m's files (cumulative), as of the month's end, with the baseline of the
/// month before (or `--holdout 0.3` for the first).
fn segment(shop: &Path, m: usize, out: &Path, baseline: Option<&Path>) {
    let mut cmd = cartsona();
    cmd.args(["-q", "segment", "--as-of", AS_OF[m - 1]]);
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(shop.join(format!("month-{m}/{kind}.csv")));
    }
    match baseline {
        Some(b) => cmd.arg("--baseline").arg(b),
        None => cmd.args(["--holdout", "0.3"]),
    };
    cmd.args(["--no-propensity", "--out"])
        .arg(out)
        .assert()
        .success();
}

fn three_months() -> Loop {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let shop = root.join("shop");
    cartsona()
        .args(["-q", "generate", "--shoppers", "2500", "--seed", "31"])
        .args(["--months", "3", "--holdout", "0.3", "--out"])
        .arg(&shop)
        .assert()
        .success();
    let mut runs: Vec<PathBuf> = Vec::new();
    for m in 1..=3 {
        let out = root.join(format!("run-{m}"));
        segment(&shop, m, &out, runs.last().map(PathBuf::as_path));
        runs.push(out);
    }
    Loop {
        _dir: dir,
        root,
        shop,
        runs,
    }
}

fn ids(run: &Path) -> Vec<String> {
    read_csv(&run.join("assignments.csv"))
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

impl Loop {
    /// `outcomes` of the given runs (orders through month 3 and the week after), allowing the
    /// windows the files do not cover; returns outcomes.json and the exit code.
    fn readout(&self, runs: &[&Path], name: &str) -> (Value, i32) {
        self.readout_with(runs, name, &[])
    }
    fn readout_with(&self, runs: &[&Path], name: &str, extra: &[&str]) -> (Value, i32) {
        let out = self.root.join(name);
        let mut cmd = cartsona();
        cmd.args(["-q", "outcomes", "--allow-partial"])
            .args(extra)
            .arg("--run");
        for r in runs {
            cmd.arg(r);
        }
        cmd.arg("--orders")
            .arg(self.shop.join("month-3/orders.csv"))
            .arg(self.shop.join("next/orders.csv"))
            .arg("--out")
            .arg(&out);
        let code = cmd.output().unwrap().status.code().unwrap();
        (json(&out.join("outcomes.json")), code)
    }
}

/// The shoppers counted in a readout's persona tables.
fn in_personas(r: &Value) -> u64 {
    r["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["treatment"]["n"].as_u64().unwrap() + p["holdout"]["n"].as_u64().unwrap())
        .sum()
}

#[test]
fn each_readout_counts_first_listings_only_and_the_rest_as_listed_again() {
    let l = three_months();
    let listed: Vec<Vec<String>> = l.runs.iter().map(|r| ids(r)).collect();
    let mut seen: BTreeSet<&String> = BTreeSet::new();
    // first[m]: shoppers whose first listing since the split began is month m's run.
    let mut first: Vec<BTreeSet<&String>> = Vec::new();
    for run in &listed {
        first.push(run.iter().filter(|c| !seen.contains(c)).collect());
        seen.extend(run.iter());
    }
    assert!(listed[1].len() > first[1].len() && listed[2].len() > first[2].len());
    // Each run's first_listed and listed.csv agree with the sets.
    for (m, run) in l.runs.iter().enumerate() {
        for a in read_csv(&run.join("assignments.csv")) {
            let k = (0..=m)
                .find(|k| first[*k].contains(&a["customer_id"]))
                .unwrap();
            assert_eq!(
                a["first_listed"],
                AS_OF[k],
                "run {} {}",
                m + 1,
                a["customer_id"]
            );
        }
        let ledger = read_csv(&run.join("listed.csv"));
        let union: usize = first[..=m].iter().map(BTreeSet::len).sum();
        assert_eq!(ledger.len(), union);
        let record = &json(&run.join("model.json"))["first_listing"];
        assert_eq!(record["complete"], true);
        assert_eq!(record["since"], AS_OF[0]);
        assert_eq!(record["runs"].as_array().unwrap().len(), m + 1);
    }
    // Month 2 and month 3, each read out alone: only that month's first listings are counted.
    for m in [1, 2] {
        let (r, _) = l.readout(&[&l.runs[m]], &format!("alone-{m}"));
        let p = &r["population"];
        assert_eq!(p["counted"].as_u64().unwrap(), first[m].len() as u64);
        assert_eq!(in_personas(&r), first[m].len() as u64);
        let again = (listed[m].len() - first[m].len()) as u64;
        assert_eq!(p["listed_again"].as_u64().unwrap(), again);
        let la = &r["listed_again"];
        assert_eq!(
            la["treatment"]["n"].as_u64().unwrap() + la["holdout"]["n"].as_u64().unwrap(),
            again
        );
        assert_eq!(r["checks"]["first_exposure"]["status"], "pass");
        assert_eq!(r["runs"][0]["first_listing"], "carried");
    }
    // Every run so far: every shopper counted once, at their first listing; none listed again.
    let all: Vec<&Path> = l.runs.iter().map(PathBuf::as_path).collect();
    let (r, _) = l.readout(&all, "all");
    assert_eq!(
        r["population"]["counted"].as_u64().unwrap(),
        seen.len() as u64
    );
    assert_eq!(r["population"]["listed_again"].as_u64().unwrap(), 0);
    assert!(r["listed_again"].is_null());
    for (m, run) in r["runs"].as_array().unwrap().iter().enumerate() {
        assert_eq!(run["counted"].as_u64().unwrap(), first[m].len() as u64);
    }
    // Months 2 and 3 together: month 1's shoppers are listed again, the rest counted.
    let (r, _) = l.readout(&all[1..], "two-three");
    let later: u64 = (first[1].len() + first[2].len()) as u64;
    assert_eq!(r["population"]["counted"].as_u64().unwrap(), later);
    let from_one = listed[1]
        .iter()
        .chain(&listed[2])
        .filter(|c| first[0].contains(c))
        .collect::<BTreeSet<_>>()
        .len();
    assert_eq!(
        r["population"]["listed_again"].as_u64().unwrap(),
        from_one as u64
    );
}

/// A chain broken by a baseline without its listed.csv (or written before cartsona kept first
/// listings): the run warns and says so in model.json; a readout of it alone marks the shoppers
/// it cannot place and fails the first_exposure gate (exit 1), while those the chain saw before
/// are still known to be listed again.
#[test]
fn a_broken_chain_fails_the_first_exposure_gate() {
    let l = three_months();
    let copy = l.root.join("run-2-copy");
    std::fs::create_dir(&copy).unwrap();
    for f in std::fs::read_dir(&l.runs[1]).unwrap() {
        let f = f.unwrap();
        if f.file_name() != "listed.csv" {
            std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
        }
    }
    let broken = l.root.join("run-3-broken");
    let mut cmd = cartsona();
    cmd.args(["segment", "--as-of", AS_OF[2]]);
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(l.shop.join(format!("month-3/{kind}.csv")));
    }
    let out = cmd
        .args(["--no-propensity", "--baseline"])
        .arg(&copy)
        .arg("--out")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "first listings since the holdout split began (2025-02-01T00:00:00Z) are not known"
        ) && stderr
            .contains("listed.csv of the run of 2025-03-01T00:00:00Z is not beside its model.json"),
        "{stderr}"
    );
    assert_eq!(
        json(&broken.join("model.json"))["first_listing"]["complete"],
        false
    );
    let (r, code) = l.readout(&[&broken], "broken");
    assert_eq!(code, 1);
    assert_eq!(r["checks"]["first_exposure"]["status"], "fail");
    assert_eq!(r["runs"][0]["first_listing"], "not_known");
    let unknown = r["population"]["first_listing_unknown"].as_u64().unwrap();
    assert_eq!(unknown, r["population"]["counted"].as_u64().unwrap());
    assert!(unknown > 0);
    // Every run since the split began, said with --every-run: the same shoppers are placed; the
    // counts match the sets of listings. Without the flag the readout cannot know.
    let (r, code) = l.readout(&[&l.runs[0], &l.runs[1], &broken], "with-all");
    assert_eq!(
        (code, &r["checks"]["first_exposure"]["status"]),
        (1, &"fail".into())
    );
    let (r, code) = l.readout_with(
        &[&l.runs[0], &l.runs[1], &broken],
        "every-run",
        &["--every-run"],
    );
    assert_eq!(r["checks"]["first_exposure"]["status"], "pass", "{code}");
    let seen: BTreeSet<String> = l.runs[..2]
        .iter()
        .flat_map(|r| ids(r))
        .chain(ids(&broken))
        .collect();
    assert_eq!(
        r["population"]["counted"].as_u64().unwrap(),
        seen.len() as u64
    );
    assert_eq!(r["runs"][2]["first_listing"], "every_run_given");
    // --every-run without the run that began the split is refused.
    let out = l.root.join("refused");
    cartsona()
        .args(["outcomes", "--allow-partial", "--every-run", "--run"])
        .arg(&l.runs[1])
        .arg(&broken)
        .arg("--orders")
        .arg(l.shop.join("month-3/orders.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no run given began it"));
    let md = std::fs::read_to_string(l.root.join("broken/outcomes.md")).unwrap();
    assert!(md.contains("**First listing not known** for"), "{md}");
}
