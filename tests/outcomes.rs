//! `cartsona outcomes` end to end (issue 18): a generated shop with a simulated recovery
//! experiment (`generate --holdout`), segmented with the same holdout, read out. Expected counts
//! are recomputed here from the generated files (orders inside each window, by hand), and the
//! planted uplifts come from next/truth.csv, never from the program's own output.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{cartsona, read_csv};
use predicates::str::contains;
use serde_json::Value;

const T: &str = "2025-02-01T00:00:00Z";

/// A generated shop with an experiment (share 0.2) and its segment run with the same holdout.
struct Shop {
    _dir: tempfile::TempDir,
    gen: PathBuf,
    run: PathBuf,
    root: PathBuf,
}

/// `segment -q --as-of T` on a generated shop's three files into `out`; callers add flags.
fn segment(gen: &Path, out: &Path) -> assert_cmd::Command {
    let mut cmd = cartsona();
    cmd.args(["-q", "segment", "--as-of", T, "--carts"])
        .arg(gen.join("carts.csv"))
        .arg("--orders")
        .arg(gen.join("orders.csv"))
        .arg("--engagement")
        .arg(gen.join("engagement.csv"))
        .arg("--out")
        .arg(out);
    cmd
}

fn shop(shoppers: usize, seed: u64, gen_extra: &[&str]) -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let gen = root.join("shop");
    cartsona()
        .args([
            "-q",
            "generate",
            "--shoppers",
            &shoppers.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args(["--holdout", "0.2"])
        .args(gen_extra)
        .arg("--out")
        .arg(&gen)
        .assert()
        .success();
    let run = root.join("run");
    segment(&gen, &run)
        .args(["--holdout", "0.2"])
        .assert()
        .success();
    Shop {
        _dir: dir,
        gen,
        run,
        root,
    }
}

impl Shop {
    fn outcomes(&self, out: &str) -> assert_cmd::Command {
        let mut cmd = cartsona();
        cmd.args(["-q", "outcomes", "--run"])
            .arg(&self.run)
            .arg("--orders")
            .arg(self.gen.join("next/orders.csv"))
            .arg("--out")
            .arg(self.root.join(out));
        cmd
    }
    fn json(&self, out: &str) -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.root.join(out).join("outcomes.json")).unwrap(),
        )
        .unwrap()
    }
    fn touches(&self) -> PathBuf {
        self.gen.join("next/touches.csv")
    }
    /// Writes rows (header first) as a CSV file under the shop's root.
    fn write(&self, name: &str, rows: &[Vec<String>]) -> PathBuf {
        let path = self.root.join(name);
        let mut w = csv::Writer::from_path(&path).unwrap();
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
        path
    }
    fn assignments(&self) -> Vec<BTreeMap<String, String>> {
        read_csv(&self.run.join("assignments.csv"))
    }
}

fn micros(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .timestamp_micros()
}

fn junit_fails(dir: &Path, gate: &str) -> bool {
    let x = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let case = x
        .split("<testcase")
        .find(|c| c.contains(&format!("name=\"{gate}\"")))
        .unwrap();
    case.split("</testcase>")
        .next()
        .unwrap()
        .contains("<failure")
}

/// Planted uplifts are recovered inside their intervals, the zero-uplift persona is no win,
/// attributed revenue exceeds the incremental one, and every count matches a recount by hand.
#[test]
fn planted_uplifts_are_recovered_and_counts_match_a_recount() {
    let s = shop(6000, 11, &[]);
    s.outcomes("o")
        .arg("--touches")
        .arg(s.touches())
        .assert()
        .success();
    let r = s.json("o");
    // Recount: recovered = an order in (T, T + 7d]; arms and personas from the assignments.
    let (t0, t1) = (micros(T), micros(T) + 7 * 86_400_000_000);
    let mut back: BTreeSet<String> = BTreeSet::new();
    for o in read_csv(&s.gen.join("next/orders.csv")) {
        let at = micros(&o["ordered_at"]);
        if at > t0 && at <= t1 {
            back.insert(o["customer_id"].clone());
        }
    }
    let truth: BTreeMap<String, f64> = read_csv(&s.gen.join("next/truth.csv"))
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["uplift"].parse().unwrap()))
        .collect();
    let mut by: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut planted: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for a in s.assignments() {
        let e = by
            .entry((a["persona_id"].clone(), a["arm"].clone()))
            .or_default();
        e.0 += 1;
        e.1 += back.contains(&a["customer_id"]) as u64;
        let p = planted.entry(a["persona_id"].clone()).or_default();
        p.0 += truth[&a["customer_id"]];
        p.1 += 1.0;
    }
    let personas = r["personas"].as_array().unwrap();
    assert!(personas.len() >= 3);
    let mut zero_uplift_seen = false;
    for p in personas {
        let id = p["persona_id"].as_str().unwrap().to_string();
        for arm in ["treatment", "holdout"] {
            let (n, k) = by[&(id.clone(), arm.to_string())];
            assert_eq!(
                (
                    p[arm]["n"].as_u64().unwrap(),
                    p[arm]["recovered"].as_u64().unwrap()
                ),
                (n, k),
                "{id} {arm}"
            );
        }
        let (sum, n) = planted[&id];
        let true_uplift = sum / n;
        // Within 3.5 standard errors of the planted uplift (issue 31: "inside each persona's 95%
        // interval" held at this seed but jointly for five personas only about 77% of seeds
        // would; intervals' coverage is tested by simulation in tests/outcomes_stats.rs and over
        // seeds in tests/carryover_loop.rs). False failure: 4.7e-4 per persona, about 0.2% here.
        let rate = |arm: &str| {
            let (n, k) = by[&(id.clone(), arm.to_string())];
            (k as f64 / n as f64, n as f64)
        };
        let ((pt, nt), (ph, nh)) = (rate("treatment"), rate("holdout"));
        let se = (pt * (1.0 - pt) / nt + ph * (1.0 - ph) / nh).sqrt();
        let d = p["uplift"]["absolute"].as_f64().unwrap();
        assert!(
            (d - true_uplift).abs() <= 3.5 * se,
            "{id}: uplift {d:.3} against planted {true_uplift:.3} (se {se:.3})"
        );
        // A play that does nothing is called a win with odds at most 2.5% (Holm's family-wise
        // level, one direction): the false-failure odds of this line.
        if true_uplift < 0.01 {
            zero_uplift_seen = true;
            assert_ne!(
                p["verdict"], "win",
                "{id}: a play that does nothing is no win"
            );
        }
    }
    assert!(
        zero_uplift_seen,
        "one persona is mostly the zero-uplift archetype"
    );
    let overall = &r["overall"];
    assert_eq!(overall["verdict"], "win");
    let attributed = overall["attributed_revenue"].as_f64().unwrap();
    let incremental = overall["incremental_revenue"]["estimate"].as_f64().unwrap();
    assert!(
        attributed > incremental && incremental > 0.0,
        "{attributed} vs {incremental}"
    );
    for gate in [
        "sample_ratio",
        "contamination",
        "messaged_before_run",
        "loss",
    ] {
        assert_eq!(r["checks"][gate]["status"], "pass", "{gate}");
    }
    // Orders after the window (planted in the second week) never count.
    let late = read_csv(&s.gen.join("next/orders.csv"))
        .iter()
        .filter(|o| micros(&o["ordered_at"]) > t1)
        .count();
    assert!(late > 0);
}

/// Same inputs and seed: byte-identical outputs whatever the thread count; another seed moves
/// nothing (the revenue interval stopped resampling in issue 31).
#[test]
fn readout_is_byte_identical_across_thread_counts() {
    let s = shop(2000, 3, &[]);
    for (out, threads) in [("a", "1"), ("b", "4")] {
        s.outcomes(out)
            .arg("--touches")
            .arg(s.touches())
            .env("RAYON_NUM_THREADS", threads)
            .assert()
            .success();
    }
    for f in ["outcomes.json", "outcomes.md", "outcomes.html", "junit.xml"] {
        assert_eq!(
            std::fs::read(s.root.join("a").join(f)).unwrap(),
            std::fs::read(s.root.join("b").join(f)).unwrap(),
            "{f}"
        );
    }
    s.outcomes("c").args(["--seed", "7"]).assert().success();
    let (a, c) = (s.json("a"), s.json("c"));
    assert_eq!(a["overall"]["uplift"], c["overall"]["uplift"]);
    // Welch's revenue interval (issue 31) does not resample: the seed moves nothing.
    assert_eq!(
        a["overall"]["incremental_revenue"],
        c["overall"]["incremental_revenue"]
    );
    assert_eq!(a["overall"]["incremental_revenue"]["method"], "welch");
    assert_eq!(c["seed"], 7);
}

/// Entries that lost a quarter of the holdout: the sample ratio gate fails (exit 1).
#[test]
fn sample_ratio_mismatch_fails_the_gate() {
    let s = shop(3000, 5, &[]);
    let mut rows = vec![vec![
        "customer_id".to_string(),
        "in_control_group".to_string(),
    ]];
    let mut held = 0;
    for a in s.assignments() {
        let holdout = a["arm"] == "holdout";
        if holdout {
            held += 1;
            if held % 4 == 0 {
                continue;
            }
        }
        rows.push(vec![a["customer_id"].clone(), holdout.to_string()]);
    }
    let entries = s.write("entries.csv", &rows);
    s.outcomes("o")
        .arg("--entries")
        .arg(&entries)
        .assert()
        .code(1)
        .stderr(contains("sample_ratio"));
    assert!(junit_fails(&s.root.join("o"), "sample_ratio"));
    let r = s.json("o");
    assert_eq!(r["holdout"]["source"], "entries");
    assert!(r["checks"]["sample_ratio"]["value"].as_f64().unwrap() < 0.001);
    // The same entries without the loss pass.
    let full: Vec<Vec<String>> = std::iter::once(vec!["customer_id".into(), "arm".into()])
        .chain(
            s.assignments()
                .into_iter()
                .map(|a| vec![a["customer_id"].clone(), a["arm"].clone()]),
        )
        .collect();
    let entries = s.write("entries-full.csv", &full);
    s.outcomes("p")
        .arg("--entries")
        .arg(&entries)
        .assert()
        .success();
}

/// Balance where it is claimed (issue 31): entries that lost half of one persona's holdout keep
/// the overall ratio close to plan but fail that persona's sample ratio (Holm over the personas);
/// each persona's SMDs equal those worked out here from assignments.csv.
#[test]
fn a_persona_that_lost_holdout_shoppers_fails_its_sample_ratio() {
    let s = shop(3000, 5, &[]);
    let rows_in = s.assignments();
    let mut rows = vec![vec!["customer_id".to_string(), "arm".to_string()]];
    let mut dropped = 0;
    for a in &rows_in {
        if a["persona_id"] == "P2" && a["arm"] == "holdout" {
            dropped += 1;
            if dropped % 2 == 0 {
                continue;
            }
        }
        rows.push(vec![a["customer_id"].clone(), a["arm"].clone()]);
    }
    let entries = s.write("entries.csv", &rows);
    s.outcomes("o")
        .arg("--entries")
        .arg(&entries)
        .assert()
        .code(1)
        .stderr(contains("sample_ratio_personas"));
    let r = s.json("o");
    assert_eq!(r["checks"]["sample_ratio_personas"]["status"], "fail");
    assert!(r["checks"]["sample_ratio_personas"]["message"]
        .as_str()
        .unwrap()
        .contains("P2"));
    let p2 = r["personas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["persona_id"] == "P2")
        .unwrap();
    assert!(p2["sample_ratio"]["p_holm"].as_f64().unwrap() < 0.001);
    // The same readout from the runs' own arms passes, and its SMDs are those of the arms.
    s.outcomes("p").assert().success();
    let r = s.json("p");
    assert_eq!(r["checks"]["sample_ratio_personas"]["status"], "pass");
    let features: Vec<String> = r["personas"][0]["balance"]["smd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["covariate"].as_str().unwrap().to_string())
        .collect();
    assert!(features.len() >= 5, "{features:?}");
    for p in r["personas"].as_array().unwrap() {
        let id = p["persona_id"].as_str().unwrap();
        for (j, f) in features.iter().enumerate() {
            let arm = |name: &str| -> Vec<f64> {
                rows_in
                    .iter()
                    .filter(|a| a["persona_id"] == id && a["arm"] == name && !a[f].is_empty())
                    .map(|a| a[f].parse::<f32>().unwrap() as f64)
                    .collect()
            };
            let moments = |v: &[f64]| {
                let m = v.iter().sum::<f64>() / v.len() as f64;
                (
                    m,
                    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64,
                )
            };
            let ((mt, vt), (mh, vh)) = (moments(&arm("treatment")), moments(&arm("holdout")));
            let want = (mt - mh) / ((vt + vh) / 2.0).sqrt();
            let got = p["balance"]["smd"][j]["smd"].as_f64();
            match got {
                Some(g) => assert!((g - want).abs() < 1e-9, "{id} {f}: {g} vs {want}"),
                None => assert!(!want.is_finite(), "{id} {f}: none vs {want}"),
            }
        }
    }
}

/// Net revenue defined once (issue 31): per shopper, the window orders' values less their
/// discount_amount (gross values) or the values as they are (`--order-value-is net`), the
/// difference of the arms' means times the treated shoppers; both arms' discounts counted. Worked
/// out here from assignments.csv and next/orders.csv.
#[test]
fn net_revenue_takes_both_arms_discounts_out() {
    let s = shop(2000, 21, &[]);
    let t = micros(T);
    let end = t + 7 * 86_400 * 1_000_000;
    let mut gross: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for o in read_csv(&s.gen.join("next/orders.csv")) {
        let at = micros(&o["ordered_at"]);
        if at > t && at <= end {
            let e = gross.entry(o["customer_id"].clone()).or_default();
            e.0 += o["order_value"].parse::<f64>().unwrap();
            e.1 += o["discount_amount"].parse::<f64>().unwrap_or(0.0);
        }
    }
    let expected = |net_values: bool| {
        let (mut n, mut sum) = ([0f64; 2], [0f64; 2]);
        for a in s.assignments() {
            let i = usize::from(a["arm"] == "treatment");
            n[i] += 1.0;
            if let Some((v, d)) = gross.get(&a["customer_id"]) {
                sum[i] += if net_values { *v } else { v - d };
            }
        }
        (sum[1] / n[1] - sum[0] / n[0]) * n[1]
    };
    s.outcomes("gross").assert().success();
    let r = s.json("gross");
    assert_eq!(r["order_value_is"], "gross");
    let d = &r["overall"]["discount"];
    assert!(d["amount"].as_f64().unwrap() > 0.0);
    let got = d["incremental_revenue_net"]["estimate"].as_f64().unwrap();
    assert!(
        (got - expected(false)).abs() < 1e-6,
        "{got} vs {}",
        expected(false)
    );
    assert!(d["incremental_revenue_net"]["ci_low"].as_f64().unwrap() < got);
    s.outcomes("net")
        .args(["--order-value-is", "net"])
        .assert()
        .success();
    let r = s.json("net");
    assert_eq!(r["order_value_is"], "net");
    let got = r["overall"]["discount"]["incremental_revenue_net"]["estimate"]
        .as_f64()
        .unwrap();
    assert!((got - expected(true)).abs() < 1e-6);
    assert!(
        (got - r["overall"]["incremental_revenue"]["estimate"]
            .as_f64()
            .unwrap())
        .abs()
            < 1e-6
    );
}

/// A tenth of the holdout messaged: contamination fails; a flow that messaged shoppers between
/// abandoning and being listed: messaged_before_run fails.
#[test]
fn contamination_and_messages_before_the_run_fail_their_gates() {
    let s = shop(3000, 6, &[]);
    let mut rows: Vec<Vec<String>> = read_csv(&s.touches())
        .into_iter()
        .map(|r| {
            vec![
                r["customer_id"].clone(),
                r["sent_at"].clone(),
                r["channel"].clone(),
            ]
        })
        .collect();
    rows.insert(
        0,
        vec!["customer_id".into(), "sent_at".into(), "channel".into()],
    );
    let held: Vec<String> = s
        .assignments()
        .into_iter()
        .filter(|a| a["arm"] == "holdout")
        .map(|a| a["customer_id"].clone())
        .collect();
    let mut contaminated = rows.clone();
    for c in held.iter().step_by(10) {
        contaminated.push(vec![
            c.clone(),
            "2025-02-02T10:00:00Z".into(),
            "EMAIL".into(),
        ]);
    }
    let path = s.write("contaminated.csv", &contaminated);
    s.outcomes("o").arg("--touches").arg(&path).assert().code(1);
    assert!(junit_fails(&s.root.join("o"), "contamination"));
    let r = s.json("o");
    let expected = held.iter().step_by(10).count() as u64;
    assert_eq!(
        r["checks"]["contamination"]["count"].as_u64().unwrap(),
        expected
    );
    assert_eq!(
        r["checks"]["contamination"]["of"].as_u64().unwrap(),
        held.len() as u64
    );
    // Messages in the hour after each shopper's latest abandoned cart, before T, for 1 in 20.
    let mut early = rows.clone();
    for a in s.assignments().iter().step_by(20) {
        let at = micros(&a["abandoned_at"]) + 3_600_000_000;
        if at < micros(T) {
            let t = chrono::DateTime::from_timestamp_micros(at)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            early.push(vec![a["customer_id"].clone(), t, "sms".into()]);
        }
    }
    let path = s.write("early.csv", &early);
    s.outcomes("p").arg("--touches").arg(&path).assert().code(1);
    assert!(junit_fails(&s.root.join("p"), "messaged_before_run"));
    assert!(!junit_fails(&s.root.join("p"), "contamination"));
}

/// A play that makes deal-seekers come back less: that persona's verdict is a loss (exit 1).
#[test]
fn a_losing_play_fails_the_loss_gate() {
    let s = shop(
        6000,
        8,
        &["--uplift", "deal-seeker=-0.1,high-value-loyal=-0.2"],
    );
    s.outcomes("o").assert().code(1).stderr(contains("loss"));
    assert!(junit_fails(&s.root.join("o"), "loss"));
    let r = s.json("o");
    assert!(r["personas"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["verdict"] == "loss"));
    assert_eq!(r["checks"]["contamination"]["status"], "not_measured");
    assert!(std::fs::read_to_string(s.root.join("o/junit.xml"))
        .unwrap()
        .contains("<skipped"));
}

/// Orders that stop before a window ends: exit 2 and nothing written, unless --allow-partial,
/// which says so in every output.
#[test]
fn orders_that_stop_early_refuse_unless_partial_is_allowed() {
    let s = shop(1000, 9, &[]);
    let cut = micros(T) + 3 * 86_400_000_000;
    let orders = read_csv(&s.gen.join("next/orders.csv"));
    let header: Vec<String> = ["customer_id", "order_id", "ordered_at", "order_value"]
        .map(String::from)
        .to_vec();
    let mut rows = vec![header.clone()];
    rows.extend(
        orders
            .iter()
            .filter(|o| micros(&o["ordered_at"]) <= cut)
            .map(|o| header.iter().map(|h| o[h].clone()).collect()),
    );
    let path = s.write("early-orders.csv", &rows);
    let mut cmd = cartsona();
    cmd.args(["outcomes", "--run"])
        .arg(&s.run)
        .arg("--orders")
        .arg(&path)
        .arg("--out")
        .arg(s.root.join("o"));
    cmd.assert()
        .code(2)
        .stderr(contains("2025-02-08T00:00:00Z"))
        .stderr(contains("--allow-partial"));
    assert!(!s.root.join("o").exists());
    let mut cmd = cartsona();
    cmd.args(["-q", "outcomes", "--allow-partial", "--run"])
        .arg(&s.run)
        .arg("--orders")
        .arg(&path)
        .arg("--out")
        .arg(s.root.join("o"));
    cmd.assert().success();
    assert!(s.json("o")["partial"]
        .as_str()
        .unwrap()
        .contains("2025-02-08"));
    for f in ["outcomes.md", "outcomes.html"] {
        assert!(
            std::fs::read_to_string(s.root.join("o").join(f))
                .unwrap()
                .contains("Partial readout"),
            "{f}"
        );
    }
    // Issue 31: the user says how far the export reaches; the rule uses it. Not far enough still
    // refuses (naming it); a bad time exits 2 naming the flag.
    let until = |value: &str, out: &str| {
        let mut cmd = cartsona();
        cmd.args(["-q", "outcomes", "--orders-until", value, "--run"])
            .arg(&s.run)
            .arg("--orders")
            .arg(&path)
            .arg("--out")
            .arg(s.root.join(out));
        cmd
    };
    until("2025-02-08T00:00:00Z", "until").assert().success();
    let r = s.json("until");
    assert!(r["partial"].is_null());
    assert_eq!(r["orders_until"], "2025-02-08T00:00:00Z");
    until("2025-02-07T00:00:00Z", "short")
        .assert()
        .code(2)
        .stderr(contains(
            "the orders reach 2025-02-07T00:00:00Z (--orders-until)",
        ));
    until("next week", "bad")
        .assert()
        .code(2)
        .stderr(contains("--orders-until 'next week'"));
}

/// Bad touches and entries stop the readout naming the file, line and column.
#[test]
fn bad_touches_and_entries_name_file_line_and_column() {
    let s = shop(500, 10, &[]);
    let some = s.assignments()[0]["customer_id"].clone();
    // (flag, file, rows, what the message must name)
    type Case<'a> = (&'a str, &'a str, Vec<Vec<&'a str>>, &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            "touches",
            "t1.csv",
            vec![
                vec!["customer_id", "sent_at", "channel"],
                vec![&some, "2025-02-02T10:00:00Z", "email"],
                vec![&some, "2025-02-02T11:00:00Z", "pigeon"],
            ],
            &["t1.csv: line 3, column channel", "pigeon"],
        ),
        (
            "touches",
            "t2.csv",
            vec![vec!["customer_id", "channel"], vec![&some, "email"]],
            &["t2.csv", "sent_at", "missing"],
        ),
        (
            "touches",
            "t3.csv",
            vec![
                vec!["customer_id", "sent_at", "channel"],
                vec![&some, "yesterday", "sms"],
            ],
            &["t3.csv: line 2, column sent_at", "yesterday"],
        ),
        (
            "entries",
            "e1.csv",
            vec![
                vec!["customer_id", "arm"],
                vec![&some, "treatment"],
                vec![&some, "maybe"],
            ],
            &["e1.csv: line 3, column arm", "maybe"],
        ),
        (
            "entries",
            "e2.csv",
            vec![
                vec!["customer_id", "in_control_group"],
                vec![&some, "perhaps"],
            ],
            &["e2.csv: line 2, column in_control_group", "true or false"],
        ),
    ];
    for (flag, name, rows, needles) in cases {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let path = s.write(name, &rows);
        let mut a = s
            .outcomes(&format!("out-{name}"))
            .arg(format!("--{flag}"))
            .arg(&path)
            .assert()
            .code(2);
        for n in needles {
            a = a.stderr(contains(*n));
        }
    }
}

/// A run without arms and no entries cannot be read out (exit 2) unless --no-holdout, which
/// reports rates and attributed revenue only.
#[test]
fn a_run_without_a_holdout_needs_entries_or_no_holdout() {
    let s = shop(800, 12, &[]);
    let plain = s.root.join("plain");
    segment(&s.gen, &plain).assert().success();
    let base = |out: &str| {
        let mut c = cartsona();
        c.args(["outcomes", "--run"])
            .arg(&plain)
            .arg("--orders")
            .arg(s.gen.join("next/orders.csv"))
            .arg("--out")
            .arg(s.root.join(out));
        c
    };
    base("a").assert().code(2).stderr(contains(
        "no holdout: incremental recovery cannot be measured",
    ));
    base("b")
        .args(["--no-holdout", "--touches"])
        .arg(s.touches())
        .assert()
        .success();
    let r = s.json("b");
    assert_eq!(r["holdout"]["source"], "none");
    assert!(r["overall"]["uplift"].is_null());
    assert_eq!(r["overall"]["verdict"], "not measured");
    assert!(r["overall"]["attributed_revenue"].as_f64().unwrap() > 0.0);
    assert!(std::fs::read_to_string(s.root.join("b/outcomes.md"))
        .unwrap()
        .contains("not measured (no holdout)"));
}

/// Daily runs: a customer listed by two runs counts once, from the earlier run (its T and
/// persona); the windows start at each run's own T. The later run (`assign --model` of the first)
/// carries the first run's listings on (issue 31): a shopper of both is first listed at T, and
/// read out from the later run alone they are "listed again", in no randomized table.
#[test]
fn a_customer_in_two_daily_runs_counts_once() {
    let s = shop(1500, 13, &[]);
    let later = s.root.join("later");
    let t2 = "2025-02-01T06:00:00Z";
    cartsona()
        .args(["-q", "assign", "--as-of", t2, "--model"])
        .arg(s.run.join("model.json"))
        .arg("--carts")
        .arg(s.gen.join("carts.csv"))
        .arg("--orders")
        .arg(s.gen.join("orders.csv"))
        .arg("--engagement")
        .arg(s.gen.join("engagement.csv"))
        .arg("--out")
        .arg(&later)
        .assert()
        .success();
    let first: BTreeSet<String> = s
        .assignments()
        .into_iter()
        .map(|a| a["customer_id"].clone())
        .collect();
    let later_rows = read_csv(&later.join("assignments.csv"));
    let second: Vec<String> = later_rows
        .iter()
        .map(|a| a["customer_id"].clone())
        .collect();
    let both = second.iter().filter(|c| first.contains(*c)).count();
    assert!(both > 0);
    // first_listed: T for the shoppers of both runs, the later as-of for the others.
    for a in &later_rows {
        let want = if first.contains(&a["customer_id"]) {
            T
        } else {
            t2
        };
        assert_eq!(a["first_listed"], want, "{}", a["customer_id"]);
    }
    for a in s.assignments() {
        assert_eq!(a["first_listed"], T);
    }
    let ledger = read_csv(&later.join("listed.csv"));
    let unique: BTreeSet<&String> = first.iter().chain(&second).collect();
    assert_eq!(ledger.len(), unique.len());
    let read_out = |runs: &[&Path], out: &str| {
        let mut cmd = cartsona();
        cmd.args(["-q", "outcomes", "--run"])
            .args(runs)
            .arg("--orders")
            .arg(s.gen.join("next/orders.csv"))
            .arg("--out")
            .arg(s.root.join(out));
        cmd.assert().success();
        s.json(out)
    };
    // Given in the later-first order: the earliest as-of still wins.
    let r = read_out(&[&later, &s.run], "o");
    let population = &r["population"];
    assert_eq!(population["repeat_listings"].as_u64().unwrap(), both as u64);
    assert_eq!(population["listed_again"].as_u64().unwrap(), 0);
    assert_eq!(population["counted"].as_u64().unwrap(), unique.len() as u64);
    assert_eq!(r["runs"][0]["as_of"], T);
    assert_eq!(r["runs"][1]["as_of"], t2);
    assert_eq!(
        r["runs"][0]["counted"].as_u64().unwrap(),
        first.len() as u64
    );
    assert_eq!(r["checks"]["first_exposure"]["status"], "pass");
    // The later run alone: the shoppers of both are listed again, by arm, in no persona.
    let r = read_out(&[&later], "alone");
    let population = &r["population"];
    assert_eq!(population["listed_again"].as_u64().unwrap(), both as u64);
    assert_eq!(
        population["counted"].as_u64().unwrap(),
        (second.len() - both) as u64
    );
    let again = &r["listed_again"];
    let held: usize = later_rows
        .iter()
        .filter(|a| first.contains(&a["customer_id"]) && a["arm"] == "holdout")
        .count();
    assert_eq!(again["holdout"]["n"].as_u64().unwrap(), held as u64);
    assert_eq!(
        again["treatment"]["n"].as_u64().unwrap(),
        (both - held) as u64
    );
    let in_personas: u64 = r["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["treatment"]["n"].as_u64().unwrap() + p["holdout"]["n"].as_u64().unwrap())
        .sum();
    assert_eq!(in_personas, (second.len() - both) as u64);
    let md = std::fs::read_to_string(s.root.join("alone/outcomes.md")).unwrap();
    assert!(md.contains("### Listed again (not randomized)"), "{md}");
    let html = std::fs::read_to_string(s.root.join("alone/outcomes.html")).unwrap();
    assert!(html.contains("Listed again <span class=\"tag\">not randomized</span>"));
}

/// Variants from entries: each against the persona's holdout and against each other; the best
/// is named only when it beats every other after Holm.
#[test]
fn variants_are_compared_and_the_best_named_only_when_it_beats_the_others() {
    let s = shop(3000, 14, &[]);
    let back: BTreeSet<String> = read_csv(&s.gen.join("next/orders.csv"))
        .into_iter()
        .map(|o| o["customer_id"].clone())
        .collect();
    // Variant "b" gets every treated shopper who came back plus a few; "a" the rest: b wins.
    let mut rows = vec![vec![
        "customer_id".to_string(),
        "arm".to_string(),
        "variant".to_string(),
    ]];
    for (i, a) in s.assignments().into_iter().enumerate() {
        let variant = if a["arm"] == "holdout" {
            String::new()
        } else if back.contains(&a["customer_id"]) || i % 7 == 0 {
            "b".into()
        } else {
            "a".into()
        };
        rows.push(vec![a["customer_id"].clone(), a["arm"].clone(), variant]);
    }
    let entries = s.write("entries.csv", &rows);
    s.outcomes("o")
        .arg("--entries")
        .arg(&entries)
        .assert()
        .success();
    let r = s.json("o");
    let variants = r["variants"].as_array().unwrap();
    assert!(!variants.is_empty());
    for v in variants {
        assert_eq!(v["best"], "b", "{}", v["persona_id"]);
        assert_eq!(v["pairs"].as_array().unwrap().len(), 1);
    }
    // Issue 31: outcomes.html's variant tables carry what outcomes.md carries (intervals, the
    // pairwise rows, p-values that do not print as 0.0).
    let md = std::fs::read_to_string(s.root.join("o/outcomes.md")).unwrap();
    let html = std::fs::read_to_string(s.root.join("o/outcomes.html")).unwrap();
    let pair_lines: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("- a - b:") || l.starts_with("- b - a:"))
        .collect();
    // One pair line per persona, and one for "all" (issue 31: the experiment's headline).
    assert_eq!(pair_lines.len(), variants.len() + 1, "{md}");
    assert!(md.contains("### all (every persona)"), "{md}");
    let all = &r["overall_variants"];
    assert_eq!(all["persona_id"], "all");
    for row in all["variants"].as_array().unwrap() {
        let name = row["variant"].as_str().unwrap();
        let n: u64 = variants
            .iter()
            .flat_map(|v| v["variants"].as_array().unwrap())
            .filter(|x| x["variant"] == name)
            .map(|x| x["stats"]["n"].as_u64().unwrap())
            .sum();
        assert_eq!(
            row["stats"]["n"].as_u64().unwrap(),
            n,
            "{name}: every persona's"
        );
    }
    // Every variant row has a verdict by the persona rule, from its own Holm p and sign.
    for v in variants.iter().chain([all]) {
        for x in v["variants"].as_array().unwrap() {
            let (p, d) = (x["p_holm"].as_f64().unwrap(), x["uplift"].as_f64().unwrap());
            let expected = match (p < 0.05, d > 0.0) {
                (false, _) => "inconclusive",
                (true, true) => "win",
                (true, false) => "loss",
            };
            assert_eq!(x["verdict"], expected, "{x}");
            assert!(x["mde"].as_f64().unwrap() > 0.0);
        }
    }
    assert_eq!(all["variants"][1]["verdict"], "win", "{all}");
    for line in pair_lines {
        let escaped = line[2..].replace('<', "&lt;");
        assert!(html.contains(&format!("<li>{escaped}</li>")), "{line}");
    }
    for row in md
        .lines()
        .filter(|l| l.starts_with("| a |") || l.starts_with("| b |"))
    {
        let uplift = row.split(" | ").nth(3).unwrap();
        assert!(uplift.contains('['), "{row}");
        assert!(html.contains(&uplift.replace('<', "&lt;")), "{uplift}");
    }
    assert!(!html.contains(">0.0<"));
    // An even split by id: no variant is named best.
    let mut rows = vec![vec![
        "customer_id".to_string(),
        "arm".to_string(),
        "variant".to_string(),
    ]];
    for (i, a) in s.assignments().into_iter().enumerate() {
        rows.push(vec![
            a["customer_id"].clone(),
            a["arm"].clone(),
            if i % 2 == 0 { "a".into() } else { "b".into() },
        ]);
    }
    let entries = s.write("entries-even.csv", &rows);
    s.outcomes("p")
        .arg("--entries")
        .arg(&entries)
        .assert()
        .success();
    let r = s.json("p");
    assert!(r["variants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["best"].is_null()));
}

/// The loop closes: the next segment shows each persona's measured effect by id.
#[test]
fn the_next_run_shows_the_measured_effect_on_each_card() {
    let s = shop(2000, 15, &[]);
    s.outcomes("o")
        .arg("--touches")
        .arg(s.touches())
        .assert()
        .success();
    let next = s.root.join("next-run");
    segment(&s.gen, &next)
        .arg("--baseline")
        .arg(&s.run)
        .arg("--outcomes")
        .arg(s.root.join("o"))
        .assert()
        .success();
    let r = s.json("o");
    let verdict: BTreeMap<String, String> = r["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["persona_id"].as_str().unwrap().to_string(),
                p["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for p in read_csv(&next.join("personas.csv")) {
        assert_eq!(
            p["measured_verdict"], verdict[&p["persona_id"]],
            "{}",
            p["persona_id"]
        );
    }
    let md = std::fs::read_to_string(next.join("report.md")).unwrap();
    assert_eq!(
        md.matches("**Measured effect of the play** (readout")
            .count(),
        verdict.len()
    );
    let html = std::fs::read_to_string(next.join("report.html")).unwrap();
    assert_eq!(html.matches("data-key=\"measured\"").count(), verdict.len());
    // A readout whose P1 is now called P9: P1 is new since the readout, P9 retired.
    let edited = s.root.join("edited");
    std::fs::create_dir(&edited).unwrap();
    let text = std::fs::read_to_string(s.root.join("o/outcomes.json")).unwrap();
    std::fs::write(
        edited.join("outcomes.json"),
        text.replace("\"persona_id\": \"P1\"", "\"persona_id\": \"P9\""),
    )
    .unwrap();
    let again = s.root.join("again");
    segment(&s.gen, &again)
        .arg("--baseline")
        .arg(&s.run)
        .arg("--outcomes")
        .arg(&edited)
        .assert()
        .success();
    let md = std::fs::read_to_string(again.join("report.md")).unwrap();
    assert!(
        md.contains("not measured yet: P1 is new since the readout"),
        "{md}"
    );
    assert!(
        md.contains("Retired since the readout") && md.contains("P9 "),
        "{md}"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["outcomes"]["new"], serde_json::json!(["P1"]));
    // A readout that is not there fails before any work.
    cartsona()
        .args(["segment", "--carts"])
        .arg(s.gen.join("carts.csv"))
        .arg("--outcomes")
        .arg(s.root.join("nowhere"))
        .arg("--out")
        .arg(s.root.join("x"))
        .assert()
        .code(2)
        .stderr(contains("--outcomes"));
}

/// outcomes.md as rendered on a fixed shop (the numbers are checked above; this pins the layout).
#[test]
fn outcomes_md_snapshot() {
    let s = shop(1200, 16, &[]);
    s.outcomes("o")
        .arg("--touches")
        .arg(s.touches())
        .assert()
        .success();
    let md = std::fs::read_to_string(s.root.join("o/outcomes.md")).unwrap();
    let md = md.replace(&s.run.display().to_string(), "RUN");
    insta::assert_snapshot!("outcomes_md", md);
}

/// A Klaviyo-shaped touches export (person_email, occurred_at, type = "Received Email") and a
/// Braze-shaped entries export (external_user_id, in_control_group, canvas_variation_name,
/// time in Unix seconds) read through [columns.touches] and [columns.entries] give the same
/// readout as the canonical files.
#[test]
fn platform_exports_read_through_column_mappings() {
    let s = shop(1500, 17, &[]);
    let mut klaviyo = vec![["person_email", "occurred_at", "type", "flow_name"]
        .map(String::from)
        .to_vec()];
    for t in read_csv(&s.touches()) {
        let kind = match t["channel"].as_str() {
            "email" => "Received Email",
            "sms" => "Received SMS",
            "push" => "Received Push",
            other => other,
        };
        klaviyo.push(vec![
            t["customer_id"].clone(),
            t["sent_at"].replace('T', " ").replace('Z', "+00:00"),
            kind.into(),
            "Abandoned Cart".into(),
        ]);
    }
    let touches = s.write("klaviyo-events.csv", &klaviyo);
    let mut braze = vec![[
        "external_user_id",
        "time",
        "canvas_name",
        "canvas_variation_name",
        "in_control_group",
    ]
    .map(String::from)
    .to_vec()];
    let mut canonical = vec![["customer_id", "arm"].map(String::from).to_vec()];
    for a in s.assignments() {
        let held = a["arm"] == "holdout";
        braze.push(vec![
            a["customer_id"].clone(),
            "1738368300".into(),
            "Cart recovery".into(),
            if held {
                String::new()
            } else {
                "Variant 1".into()
            },
            held.to_string(),
        ]);
        canonical.push(vec![a["customer_id"].clone(), a["arm"].clone()]);
    }
    let entries = s.write("braze-canvas-entries.csv", &braze);
    let canonical_entries = s.write("entries.csv", &canonical);
    let toml = s.root.join("cartsona.toml");
    std::fs::write(
        &toml,
        "[columns.touches]\ncustomer_id = \"person_email\"\nsent_at = \"occurred_at\"\nchannel = \"type\"\nflow = \"flow_name\"\n\n\
         [columns.entries]\ncustomer_id = \"external_user_id\"\narm = \"in_control_group\"\nvariant = \"canvas_variation_name\"\nentered_at = \"time\"\n",
    )
    .unwrap();
    s.outcomes("mapped")
        .arg("--config")
        .arg(&toml)
        .arg("--touches")
        .arg(&touches)
        .arg("--entries")
        .arg(&entries)
        .assert()
        .success();
    s.outcomes("canonical")
        .arg("--touches")
        .arg(s.touches())
        .arg("--entries")
        .arg(&canonical_entries)
        .assert()
        .success();
    let (m, c) = (s.json("mapped"), s.json("canonical"));
    for key in ["overall", "personas", "checks", "by_channel", "by_delay"] {
        assert_eq!(m[key], c[key], "{key}");
    }
    // A mapping to a column that is not a touches column is refused, naming it.
    std::fs::write(&toml, "[columns.touches]\nsend_time = \"occurred_at\"\n").unwrap();
    s.outcomes("bad")
        .arg("--config")
        .arg(&toml)
        .arg("--touches")
        .arg(&touches)
        .assert()
        .code(2)
        .stderr(contains("[columns.touches] send_time"));
}

/// On a real event log (REES46 cosmetics, October's first 36 minutes): the run lists the
/// abandoners at 00:20, the readout derives the orders from the same log through the preset, and
/// every arm's recovered count equals a recount of `purchase` events in (T, T + 15 min] from the
/// raw file.
#[test]
fn orders_from_a_real_event_log_through_the_preset() {
    let dir = tempfile::tempdir().unwrap();
    let log = common::fixture("real").join("rees46-cosmetics/data_2022_oct.csv");
    let run = dir.path().join("run");
    cartsona()
        .args(["-q", "segment", "--preset", "rees46", "--events"])
        .arg(&log)
        .args([
            "--abandon-after",
            "3m",
            "--as-of",
            "2022-10-01T00:10:00Z",
            "--holdout",
            "0.5",
            "--k",
            "3",
            "--out",
        ])
        .arg(&run)
        .assert()
        .success();
    let out = dir.path().join("o");
    cartsona()
        .args(["-q", "outcomes", "--preset", "rees46", "--events"])
        .arg(&log)
        .args(["--window", "15m", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("outcomes.json")).unwrap()).unwrap();
    let (t0, t1) = (
        micros("2022-10-01T00:10:00Z"),
        micros("2022-10-01T00:25:00Z"),
    );
    let bought: BTreeSet<String> = read_csv(&log)
        .into_iter()
        .filter(|e| e["event_type"] == "purchase")
        .filter(|e| {
            let at = micros(&e["event_time"].replace(" UTC", "Z").replace(' ', "T"));
            at > t0 && at <= t1
        })
        .map(|e| e["user_id"].clone())
        .collect();
    let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for a in read_csv(&run.join("assignments.csv")) {
        let e = expected.entry(a["arm"].clone()).or_default();
        e.0 += 1;
        e.1 += bought.contains(&a["customer_id"]) as u64;
    }
    for arm in ["treatment", "holdout"] {
        let o = &r["overall"][arm];
        assert_eq!(
            (o["n"].as_u64().unwrap(), o["recovered"].as_u64().unwrap()),
            expected[arm],
            "{arm}"
        );
    }
    assert!(
        expected.values().map(|e| e.1).sum::<u64>() > 0,
        "someone came back"
    );
}

/// Regression (outcomes_over_every_run_with_only_the_newest_orders_was_silent): reading out two
/// monthly runs with only the newest month's orders counted every shopper of the first run as
/// not recovered, without a word (the latest order was late enough for the partial-window
/// rule). Now a run of 100 or more counted shoppers with no recovery at all is warned about,
/// naming the run and its window; with every month's orders there is no such warning.
#[test]
fn orders_that_miss_an_earlier_runs_window_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shop = d.join("shop");
    cartsona()
        .args([
            "-q",
            "generate",
            "--shoppers",
            "3000",
            "--months",
            "2",
            "--holdout",
            "0.3",
            "--out",
        ])
        .arg(&shop)
        .assert()
        .success();
    let run1 = common::segment(
        d,
        &shop.join("month-1"),
        "run1",
        &["-q", "--holdout", "0.3"],
    );
    let run2 = common::segment(
        d,
        &shop.join("month-2"),
        "run2",
        &["-q", "--baseline", run1.to_str().unwrap()],
    );
    let read = |out: &str, orders: &[&str]| -> String {
        let mut cmd = cartsona();
        cmd.args(["outcomes", "--no-uplift", "--run"])
            .arg(&run1)
            .arg("--run")
            .arg(&run2);
        for o in orders {
            cmd.arg("--orders").arg(shop.join(o));
        }
        let output = cmd.arg("--out").arg(d.join(out)).output().unwrap();
        assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    let newest_only = read("newest-only", &["next/orders.csv"]);
    assert!(
        newest_only.contains("warning: run ")
            && newest_only.contains("has an order in their window"),
        "{newest_only}"
    );
    let every = read("every", &["month-2/orders.csv", "next/orders.csv"]);
    assert!(!every.contains("has an order in their window"), "{every}");
}
