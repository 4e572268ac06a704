//! `cartsona generate`: determinism, mixes, months and moves, formats, and whether `segment`
//! recovers the planted archetypes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{adjusted_rand_index, cartsona, list_dir, read_csv, segment};
use tempfile::TempDir;

fn generate(dir: &Path, out: &str, args: &[&str]) -> std::path::PathBuf {
    let path = dir.join(out);
    cartsona()
        .arg("generate")
        .args(args)
        .arg("--out")
        .arg(&path)
        .arg("--quiet")
        .assert()
        .success();
    path
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let dir = TempDir::new().unwrap();
    let a = generate(dir.path(), "a", &["--shoppers", "300", "--seed", "5"]);
    let b = generate(dir.path(), "b", &["--shoppers", "300", "--seed", "5"]);
    let c = generate(dir.path(), "c", &["--shoppers", "300", "--seed", "6"]);
    assert_eq!(
        list_dir(&a),
        [
            "carts.csv",
            "engagement.csv",
            "generate.json",
            "orders.csv",
            "truth.csv"
        ]
    );
    for f in list_dir(&a) {
        assert_eq!(
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
            "{f}"
        );
    }
    assert_ne!(
        std::fs::read(a.join("carts.csv")).unwrap(),
        std::fs::read(c.join("carts.csv")).unwrap()
    );
}

fn archetype_counts(truth: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in read_csv(truth) {
        *m.entry(r["archetype"].clone()).or_default() += 1;
    }
    m
}

#[test]
fn shares_follow_the_mix() {
    let dir = TempDir::new().unwrap();
    let g = generate(
        dir.path(),
        "g",
        &["--shoppers", "1000", "--mix", "deal-seeker=0.4,buyer=0.2"],
    );
    let counts = archetype_counts(&g.join("truth.csv"));
    // deal-seeker 400 and buyer 200; the other four share the remaining 400 in their default
    // proportions (equal): 100 each.
    assert_eq!(counts["deal-seeker"], 400);
    assert_eq!(counts["buyer"], 200);
    for a in [
        "first-time-anxious",
        "high-value-loyal",
        "indecisive-browser",
        "mobile-impulse",
    ] {
        assert_eq!(counts[a], 100, "{a}");
    }
}

#[test]
fn about_seventy_percent_of_carts_are_abandoned() {
    // With the default mix, about 70% of carts are never carried by an order.
    let dir = TempDir::new().unwrap();
    let g = generate(dir.path(), "g", &["--shoppers", "3000"]);
    let carts = read_csv(&g.join("carts.csv"));
    let ordered: std::collections::BTreeSet<String> = read_csv(&g.join("orders.csv"))
        .into_iter()
        .map(|r| r["cart_id"].clone())
        .filter(|c| !c.is_empty())
        .collect();
    let ids: std::collections::BTreeSet<String> =
        carts.iter().map(|r| r["cart_id"].clone()).collect();
    let abandoned = ids.iter().filter(|c| !ordered.contains(*c)).count() as f64 / ids.len() as f64;
    assert!(
        (0.65..0.75).contains(&abandoned),
        "abandoned share {abandoned}"
    );
}

#[test]
fn months_keep_shoppers_and_move_a_known_set() {
    let dir = TempDir::new().unwrap();
    let g = generate(
        dir.path(),
        "g",
        &[
            "--shoppers",
            "2000",
            "--seed",
            "3",
            "--months",
            "3",
            "--mix-month",
            "3:deal-seeker=0.35",
        ],
    );
    assert_eq!(
        list_dir(&g),
        [
            "generate.json",
            "month-1",
            "month-2",
            "month-3",
            "moves.csv"
        ]
    );
    let m1 = read_csv(&g.join("month-1/truth.csv"));
    let m2 = read_csv(&g.join("month-2/truth.csv"));
    let m3 = read_csv(&g.join("month-3/truth.csv"));
    assert_eq!(m1, m2, "no mix change in month 2");
    let ids = |t: &[BTreeMap<String, String>]| {
        t.iter()
            .map(|r| r["customer_id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&m1), ids(&m3), "the same shoppers every month");
    // Default deal-seeker share 0.15 -> 0.35 of 2000: 400 shoppers move, all into deal-seeker.
    let moves = read_csv(&g.join("moves.csv"));
    assert_eq!(moves.len(), 400);
    let moved: BTreeMap<String, (String, String)> = moves
        .iter()
        .map(|r| {
            (
                r["customer_id"].clone(),
                (r["from"].clone(), r["to"].clone()),
            )
        })
        .collect();
    for (a, b) in m1.iter().zip(&m3) {
        match moved.get(&a["customer_id"]) {
            Some((from, to)) => {
                assert_eq!(&a["archetype"], from);
                assert_eq!(&b["archetype"], to);
                assert_eq!(to, "deal-seeker");
            }
            None => assert_eq!(a["archetype"], b["archetype"]),
        }
    }
    assert_eq!(
        archetype_counts(&g.join("month-3/truth.csv"))["deal-seeker"],
        700
    );
    // Month files are cumulative: month 3 holds month 1's carts too.
    let c1 = std::fs::read_to_string(g.join("month-1/carts.csv")).unwrap();
    let c3 = std::fs::read_to_string(g.join("month-3/carts.csv")).unwrap();
    let first_cart = c1.lines().nth(1).unwrap();
    assert!(c3.contains(first_cart));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(g.join("generate.json")).unwrap()).unwrap();
    assert_eq!(manifest["months"][2]["as_of"], "2025-04-01T00:00:00Z");
}

#[test]
fn parquet_and_csv_hold_the_same_data() {
    let dir = TempDir::new().unwrap();
    let c = generate(dir.path(), "c", &["--shoppers", "500", "--seed", "9"]);
    let p = generate(
        dir.path(),
        "p",
        &["--shoppers", "500", "--seed", "9", "--format", "parquet"],
    );
    assert!(p.join("carts.parquet").exists());
    let features = |d: &Path, ext: &str, out: &str| {
        let o = dir.path().join(out);
        cartsona()
            .arg("features")
            .arg("--carts")
            .arg(d.join(format!("carts.{ext}")))
            .arg("--orders")
            .arg(d.join(format!("orders.{ext}")))
            .arg("--engagement")
            .arg(d.join(format!("engagement.{ext}")))
            .args(["--as-of", "2025-02-01", "--out"])
            .arg(&o)
            .assert()
            .success();
        std::fs::read(o).unwrap()
    };
    assert_eq!(
        features(&c, "csv", "fc.csv"),
        features(&p, "parquet", "fp.csv")
    );
}

/// The word each archetype's persona name must contain (one of).
fn expected_words(archetype: &str) -> &'static [&'static str] {
    match archetype {
        "first-time-anxious" => &["First-Time"],
        "high-value-loyal" => &["Loyal"],
        "deal-seeker" => &["Deal"],
        "indecisive-browser" => &["Indecisive", "Browser"],
        "mobile-impulse" => &["Mobile", "Impulse"],
        other => panic!("unexpected archetype {other}"),
    }
}

#[test]
fn segment_recovers_the_five_planted_archetypes() {
    let dir = TempDir::new().unwrap();
    let mut five = 0;
    for seed in 1..=5 {
        let g = generate(
            dir.path(),
            &format!("g{seed}"),
            &["--shoppers", "20000", "--seed", &seed.to_string()],
        );
        let run = segment(
            dir.path(),
            &g,
            &format!("r{seed}"),
            &["--as-of", "2025-02-01", "--quiet"],
        );
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap())
                .unwrap();
        let k = summary["chosen_k"].as_u64().unwrap();
        five += (k == 5) as usize;
        let truth: BTreeMap<String, String> = read_csv(&g.join("truth.csv"))
            .into_iter()
            .map(|r| (r["customer_id"].clone(), r["archetype"].clone()))
            .collect();
        let rows = read_csv(&run.join("assignments.csv"));
        let want: Vec<String> = rows
            .iter()
            .map(|r| truth[&r["customer_id"]].clone())
            .collect();
        let got: Vec<String> = rows.iter().map(|r| r["persona_id"].clone()).collect();
        assert!(
            rows.len() > 14_000,
            "seed {seed}: {} abandoners",
            rows.len()
        );
        let ari = adjusted_rand_index(&want, &got);
        assert!(ari >= 0.8, "seed {seed}: ARI {ari}, k = {k}");
        if k == 5 {
            // Each persona's majority archetype must fit its name.
            let mut by_persona: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
            for (r, a) in rows.iter().zip(&want) {
                *by_persona
                    .entry(r["persona_name"].clone())
                    .or_default()
                    .entry(a.clone())
                    .or_default() += 1;
            }
            for (name, counts) in by_persona {
                let (top, _) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
                assert!(
                    expected_words(top).iter().any(|w| name.contains(w)),
                    "seed {seed}: '{name}' is mostly {top}"
                );
            }
        }
        eprintln!("seed {seed}: k = {k}, ARI {ari:.3}");
    }
    assert!(five >= 4, "k = 5 chosen for {five} of 5 seeds");
}

/// `--holdout` adds next/ and moves nothing before it; the experiment is byte-identical for a
/// seed; arms follow the holdout rule's shares; the planted rates show in truth.csv; bad
/// `--uplift` values are refused.
#[test]
fn the_experiment_adds_next_and_moves_nothing_before_it() {
    let dir = TempDir::new().unwrap();
    let plain = generate(dir.path(), "plain", &["--shoppers", "3000", "--seed", "5"]);
    let args = ["--shoppers", "3000", "--seed", "5", "--holdout", "0.2"];
    let a = generate(dir.path(), "a", &args);
    let b = generate(dir.path(), "b", &args);
    for f in ["carts.csv", "orders.csv", "engagement.csv", "truth.csv"] {
        assert_eq!(
            std::fs::read(plain.join(f)).unwrap(),
            std::fs::read(a.join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(
        list_dir(&a.join("next")),
        ["orders.csv", "touches.csv", "truth.csv"]
    );
    for f in ["orders.csv", "touches.csv", "truth.csv"] {
        assert_eq!(
            std::fs::read(a.join("next").join(f)).unwrap(),
            std::fs::read(b.join("next").join(f)).unwrap(),
            "{f}"
        );
    }
    let truth = read_csv(&a.join("next/truth.csv"));
    let abandoning: Vec<_> = truth.iter().filter(|r| r["archetype"] != "buyer").collect();
    let held = abandoning.iter().filter(|r| r["arm"] == "holdout").count() as f64
        / abandoning.len() as f64;
    assert!((held - 0.2).abs() < 0.03, "held out {held}");
    // Touches go to treated shoppers only, three each, all after T.
    let treated: BTreeMap<String, bool> = truth
        .iter()
        .map(|r| (r["customer_id"].clone(), r["arm"] == "treatment"))
        .collect();
    let touches = read_csv(&a.join("next/touches.csv"));
    assert!(touches
        .iter()
        .all(|t| treated[&t["customer_id"]] && t["sent_at"].as_str() > "2025-02-01T00:00:00Z"));
    assert_eq!(touches.len(), 3 * treated.values().filter(|t| **t).count());
    // The zero-uplift archetype comes back as often treated as held out; the others more.
    let rate = |arch: &str, arm: &str| {
        let g: Vec<_> = truth
            .iter()
            .filter(|r| r["archetype"] == arch && r["arm"] == arm)
            .collect();
        g.iter().filter(|r| r["recovered"] == "1").count() as f64 / g.len() as f64
    };
    assert!(rate("deal-seeker", "treatment") - rate("deal-seeker", "holdout") > 0.05);
    assert_eq!(
        truth
            .iter()
            .find(|r| r["archetype"] == "indecisive-browser")
            .unwrap()["uplift"],
        "0"
    );
    // An uplift that would push a rate outside [0, 1], or a buyer's, is refused.
    for bad in [
        "deal-seeker=0.95",
        "buyer=0.1",
        "deal-seeker=lots",
        "nobody=0.1",
    ] {
        cartsona()
            .args([
                "generate",
                "--shoppers",
                "10",
                "--holdout",
                "0.2",
                "--uplift",
                bad,
                "--out",
            ])
            .arg(dir.path().join("bad"))
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--uplift"));
    }
}
