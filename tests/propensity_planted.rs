//! The return propensity against planted truth (issue 20): `cartsona generate --returns` plants
//! returns after abandoned carts with a known probability, and writes the orders of the week
//! after T with each shopper's exact planted probability of one (next/truth.csv, `base_rate`).
//! The run's `return_propensity` must rank nearly as well as the planted probabilities, agree
//! with them per decile and beat the base rate; with a holdout and a play that works, the
//! untreated propensity is below the as-usual one and only it switches the no-discount rule on.
//!
//! Every figure is worked out here from the files (AUC by ranks, deciles, Brier), not read from
//! the program's summary.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{cartsona, read_csv};

/// T: the first instant after the seventh month (2025-01 to 2025-07).
const T: &str = "2025-08-01T00:00:00Z";

/// A generated shop with planted returns, made once per test run under the target's temporary
/// directory.
fn shop(name: &str, shoppers: &str, extra: &[&str]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    if !dir.join("generate.json").exists() {
        cartsona()
            .args(["generate", "--shoppers", shoppers, "--months", "7"])
            .args(["--seed", "5", "--returns", "--force", "--quiet", "--out"])
            .arg(&dir)
            .args(extra)
            .assert()
            .success();
    }
    dir
}

/// `segment` on month `m`'s files (cumulative) with `extra` flags.
fn segment(shop: &Path, m: usize, out: &Path, extra: &[&str]) {
    let mut cmd = cartsona();
    cmd.arg("segment");
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(shop.join(format!("month-{m}/{kind}.csv")));
    }
    cmd.arg("--out")
        .arg(out)
        .args(["--quiet", "--force"])
        .args(extra)
        .assert()
        .success();
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Seconds since the epoch of an RFC 3339 timestamp.
fn seconds(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

/// The customers with an order in (T, T + 7 days], from next/orders.csv.
fn returned(shop: &Path) -> BTreeSet<String> {
    let t = seconds(T);
    read_csv(&shop.join("next/orders.csv"))
        .into_iter()
        .filter(|r| {
            let at = seconds(&r["ordered_at"]);
            at > t && at <= t + 7 * 86_400
        })
        .map(|r| r["customer_id"].clone())
        .collect()
}

/// AUC by the Mann-Whitney statistic: the mean rank of the positives (ties get their mean rank).
fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        for k in i..=j {
            ranks[order[k]] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = labels.len() as f64 - pos;
    let sum: f64 = (0..labels.len())
        .filter(|i| labels[*i])
        .map(|i| ranks[i])
        .sum();
    (sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

fn brier(p: &[f64], y: &[bool]) -> f64 {
    p.iter()
        .zip(y)
        .map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2))
        .sum::<f64>()
        / p.len() as f64
}

/// The shop of the accuracy test: 8,000 shoppers, seven months, planted returns and no play.
fn accuracy_run() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let shop = shop("planted-returns-8000x7", "8000", &[]);
        let run = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("planted-returns-run");
        segment(&shop, 7, &run, &["--as-of", T]);
        (shop, run)
    })
}

/// The bounds, on the abandoners at T: at least 1,000 came back in the week after T;
/// (AUC − 0.5) of `return_propensity` against who came back is at least 0.85 of the planted
/// probabilities' on the same shoppers; per decile of the propensity, its mean is within 0.03 of
/// the mean planted probability; the Brier skill against the base rate is at least 0.05.
#[test]
fn the_propensity_learns_planted_returns() {
    let (shop, run) = accuracy_run();
    let truth: BTreeMap<String, f64> = read_csv(&shop.join("next/truth.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["base_rate"].parse().unwrap()))
        .collect();
    let back = returned(shop);
    let rows = read_csv(&run.join("assignments.csv"));
    let predicted: Vec<f64> = rows
        .iter()
        .map(|r| r["return_propensity"].parse().unwrap())
        .collect();
    let planted: Vec<f64> = rows.iter().map(|r| truth[&r["customer_id"]]).collect();
    let y: Vec<bool> = rows
        .iter()
        .map(|r| back.contains(&r["customer_id"]))
        .collect();
    let positives = y.iter().filter(|y| **y).count();
    assert!(positives >= 1000, "{positives} abandoners came back");
    let (model, best) = (auc(&predicted, &y), auc(&planted, &y));
    assert!(
        model - 0.5 >= 0.85 * (best - 0.5),
        "AUC {model:.4} against the planted {best:.4}"
    );
    let base = positives as f64 / y.len() as f64;
    let skill = 1.0 - brier(&predicted, &y) / brier(&vec![base; y.len()], &y);
    assert!(skill >= 0.05, "Brier skill {skill:.4}");
    // Deciles of the propensity (ties broken by row order), as numpy's array_split cuts them.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|a, b| predicted[*a].total_cmp(&predicted[*b]).then(a.cmp(b)));
    let (n, k) = (order.len(), 10);
    let mut start = 0;
    let mut gaps = Vec::new();
    for d in 0..k {
        let size = n / k + usize::from(d < n % k);
        let part = &order[start..start + size];
        start += size;
        let mean = |v: &[f64]| part.iter().map(|i| v[*i]).sum::<f64>() / size as f64;
        let (p, q) = (mean(&predicted), mean(&planted));
        gaps.push(format!("{:+.3}", p - q));
        assert!((p - q).abs() <= 0.03, "decile {}: {p:.4} vs {q:.4}", d + 1);
    }
    eprintln!(
        "{} abandoners, {positives} back: AUC {model:.3} (planted {best:.3}, ratio {:.3}), Brier skill {skill:.3}; deciles predicted - planted: {}",
        y.len(),
        (model - 0.5) / (best - 0.5),
        gaps.join(" ")
    );
}

/// The planted probabilities are what the generator does: over the same abandoners, the share
/// who came back is within four standard errors of the mean planted probability, overall and in
/// each fifth of it.
#[test]
fn the_planted_probabilities_match_the_orders_written() {
    let (shop, _) = accuracy_run();
    let back = returned(shop);
    let mut rows: Vec<(f64, bool)> = read_csv(&shop.join("next/truth.csv"))
        .into_iter()
        .filter(|r| r["archetype"] != "buyer")
        .map(|r| {
            let p: f64 = r["base_rate"].parse().unwrap();
            assert_eq!(r["recovered"] == "1", back.contains(&r["customer_id"]));
            (p, back.contains(&r["customer_id"]))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let check = |part: &[(f64, bool)]| {
        let n = part.len() as f64;
        let mean: f64 = part.iter().map(|r| r.0).sum::<f64>() / n;
        let var: f64 = part.iter().map(|r| r.0 * (1.0 - r.0)).sum::<f64>() / (n * n);
        let seen = part.iter().filter(|r| r.1).count() as f64 / n;
        assert!((seen - mean).abs() <= 4.0 * var.sqrt(), "{seen} vs {mean}");
    };
    check(&rows);
    for part in rows.chunks(rows.len().div_ceil(5)) {
        check(part);
    }
}

/// Return orders never take the cart's id and come at least 36 hours after the cart they follow
/// (`ord_<shopper>_r<MM><kkk>`: the k-th abandoned cart of month MM in time order), longer than
/// the 24-hour `--abandon-after`, so that cart stays abandoned; a shop without `--returns` has
/// no return and no next/.
#[test]
fn returns_keep_their_carts_abandoned() {
    let (shop, _) = accuracy_run();
    let orders = read_csv(&shop.join("month-7/orders.csv"));
    let converted: BTreeSet<&str> = orders.iter().map(|o| o["cart_id"].as_str()).collect();
    // The latest snapshot of each cart without an order, per (customer, month) in time order.
    let mut latest: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for c in read_csv(&shop.join("month-7/carts.csv")) {
        if converted.contains(c["cart_id"].as_str()) {
            continue;
        }
        let at = seconds(&c["updated_at"]);
        let key = format!("{}|{}", c["customer_id"], &c["updated_at"][5..7]);
        let e = latest
            .entry(c["cart_id"].clone())
            .or_insert((at, key.clone()));
        if at >= e.0 {
            *e = (at, key);
        }
    }
    let mut left: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for (cart, (at, key)) in latest {
        left.entry(key).or_default().push((at, cart));
    }
    for carts in left.values_mut() {
        carts.sort();
    }
    let mut returns = 0;
    for o in orders.iter().filter(|o| o["order_id"].contains("_r")) {
        returns += 1;
        assert_eq!(o["cart_id"], "", "{o:?}");
        let id = &o["order_id"];
        let tail = &id[id.len() - 5..];
        let key = format!("{}|{}", o["customer_id"], &tail[..2]);
        let k: usize = tail[2..].parse().unwrap();
        let (cart_at, _) = &left[&key][k];
        assert!(seconds(&o["ordered_at"]) - cart_at >= 36 * 3600, "{o:?}");
    }
    assert!(returns > 1000, "{returns} returns");
    let plain = tempfile::TempDir::new().unwrap();
    cartsona()
        .args(["generate", "--shoppers", "200", "--months", "2", "--quiet"])
        .arg("--out")
        .arg(plain.path())
        .assert()
        .success();
    let orders = read_csv(&plain.path().join("month-2/orders.csv"));
    assert!(orders.iter().all(|o| !o["order_id"].contains("_r")));
    assert!(!plain.path().join("next").exists());
}

/// A shop whose play already ran from April for the treatment arm (holdout 0.3, the default
/// uplifts: 0.06-0.12 on each cart's return probability, none for indecisive browsers), with a
/// baseline run at the start of April that began the holdout.
fn play_shop() -> &'static (PathBuf, PathBuf) {
    static SHOP: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SHOP.get_or_init(|| {
        let flags = ["--holdout", "0.3", "--play-since", "2025-04-01"];
        let shop = shop("planted-returns-play-6000x7", "6000", &flags);
        let baseline = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("planted-play-baseline");
        let flags = ["--as-of", "2025-04-01T00:00:00Z", "--holdout", "0.3"];
        segment(
            &shop,
            3,
            &baseline,
            &[&flags[..], &["--no-propensity"]].concat(),
        );
        (shop, baseline)
    })
}

fn mean_propensity(run: &Path) -> f64 {
    let rows = read_csv(&run.join("assignments.csv"));
    rows.iter()
        .map(|r| r["return_propensity"].parse::<f64>().unwrap())
        .sum::<f64>()
        / rows.len() as f64
}

/// With a holdout and a play that works, the untreated propensity (learned from holdout shoppers
/// since April) is lower than the as-usual one (learned from everyone, messaged or not), and the
/// no-discount rule is on with the untreated model only.
#[test]
fn the_untreated_propensity_is_below_the_as_usual_one_when_the_play_works() {
    let (shop, baseline) = play_shop();
    let dir = tempfile::TempDir::new().unwrap();
    let untreated = dir.path().join("untreated");
    let model = baseline.join("model.json");
    segment(
        shop,
        7,
        &untreated,
        &["--as-of", T, "--baseline", model.to_str().unwrap()],
    );
    let as_usual = dir.path().join("as-usual");
    segment(shop, 7, &as_usual, &["--as-of", T, "--holdout", "0.3"]);
    let (u, a) = (
        json(&untreated.join("summary.json"))["propensity"].clone(),
        json(&as_usual.join("summary.json"))["propensity"].clone(),
    );
    assert_eq!(
        (&u["kind"], &a["kind"]),
        (&"untreated".into(), &"as_usual".into())
    );
    assert_eq!(
        (&u["no_discount_rule"], &a["no_discount_rule"]),
        (&true.into(), &false.into())
    );
    let (mu, ma) = (mean_propensity(&untreated), mean_propensity(&as_usual));
    assert!(mu < ma, "untreated {mu:.4}, as usual {ma:.4}");
    let no_discount = |run: &Path| {
        read_csv(&run.join("audience.csv"))
            .iter()
            .filter(|r| r["no_discount"] == "1")
            .count()
    };
    assert_eq!(u["no_discount"], no_discount(&untreated));
    assert_eq!(no_discount(&as_usual), 0);
}

/// The experiment after T has the planted returns as its base: held-out shoppers come back at
/// their planted probability, treated ones at it plus their archetype's uplift (within four
/// standard errors of the sums over next/truth.csv).
#[test]
fn the_experiment_base_is_the_planted_propensity() {
    let (shop, _) = play_shop();
    let truth = read_csv(&shop.join("next/truth.csv"));
    let back = returned(shop);
    for arm in ["holdout", "treatment"] {
        let rows: Vec<_> = truth.iter().filter(|r| r["arm"] == arm).collect();
        let n = rows.len() as f64;
        let expected: Vec<f64> = rows
            .iter()
            .map(|r| {
                let b: f64 = r["base_rate"].parse().unwrap();
                let u: f64 = r["uplift"].parse().unwrap();
                if arm == "treatment" {
                    (b + u).clamp(0.0, 1.0)
                } else {
                    b
                }
            })
            .collect();
        let mean = expected.iter().sum::<f64>() / n;
        let se = (expected.iter().map(|p| p * (1.0 - p)).sum::<f64>()).sqrt() / n;
        let seen = rows
            .iter()
            .filter(|r| back.contains(&r["customer_id"]))
            .count() as f64
            / n;
        assert!(
            (seen - mean).abs() <= 4.0 * se,
            "{arm}: {seen:.4} vs {mean:.4}"
        );
    }
}
