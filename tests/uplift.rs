//! Per-shopper uplift in the real readout (issue 32): `cartsona outcomes` on the sample shop's
//! run with a holdout learns and tests the uplift (one T: 5-fold cross-fitting), reports it in
//! outcomes.json, outcomes.md and outcomes.html, says "no evidence" in every output when its
//! gate does not pass, and writes the same bytes on 1 and 2 threads. The recovery method itself
//! is checked by simulation in src/outcomes/uplift_tests.rs.

mod common;

use std::path::{Path, PathBuf};

use common::cartsona;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

/// The sample shop's carts, orders and engagement as a command's inputs.
fn sample_inputs(cmd: &mut assert_cmd::Command) {
    for kind in ["carts", "orders", "engagement"] {
        cmd.arg(format!("--{kind}"))
            .arg(sample().join(format!("{kind}.csv")));
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The sample shop's January run with 20% held out.
fn run(d: &Path) -> PathBuf {
    let run = d.join("run");
    let mut cmd = cartsona();
    cmd.args(["-q", "segment", "--holdout", "0.2", "--as-of", "2025-02-01"]);
    sample_inputs(&mut cmd);
    cmd.arg("--out").arg(&run).assert().success();
    run
}

fn read_out(run: &Path, out: &Path, threads: &str) {
    cartsona()
        .env("RAYON_NUM_THREADS", threads)
        .args(["-q", "outcomes", "--run"])
        .arg(run)
        .arg("--orders")
        .arg(sample().join("next/orders.csv"))
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn the_readout_tests_the_uplift_and_says_what_its_gate_found_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(dir.path());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    read_out(&run, &one, "1");
    read_out(&run, &two, "2");
    for file in ["outcomes.json", "outcomes.md", "outcomes.html"] {
        assert_eq!(
            std::fs::read(one.join(file)).unwrap(),
            std::fs::read(two.join(file)).unwrap(),
            "{file} differs between 1 and 2 threads"
        );
    }
    let o = json(&one.join("outcomes.json"));
    let u = &o["uplift"];
    assert_eq!(u["test"]["kind"], "cross_fit");
    assert_eq!(u["test"]["folds"], 5);
    // Every counted shopper is scored once, by a model that did not learn from them.
    assert_eq!(u["tested_on"], o["population"]["counted"]);
    assert_eq!(u["treatment_probability"], "known");
    // Messaging everyone, weighted by the known probability in the Hajek form, is the arms'
    // difference of recovery rates the overall comparison computes another way (its counts).
    let everyone = &u["policies"][0];
    assert_eq!(everyone["name"], "everyone listed");
    let t = &o["overall"]["treatment"];
    let h = &o["overall"]["holdout"];
    let rate = |a: &serde_json::Value| a["recovered"].as_f64().unwrap() / a["n"].as_f64().unwrap();
    let by_counts = rate(t) - rate(h);
    let by_policy = everyone["incremental_recoveries"]["estimate"]
        .as_f64()
        .unwrap();
    assert!(
        (by_counts - by_policy).abs() < 1e-12,
        "{by_counts} vs {by_policy}"
    );
    // The Qini curve starts at 0 and ends at the same difference.
    let curve = u["qini"]["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 21);
    assert_eq!(curve[0]["incremental_recoveries"].as_f64().unwrap(), 0.0);
    let end = curve[20]["incremental_recoveries"].as_f64().unwrap();
    assert!((end - by_counts).abs() < 1e-12);
    let q = &u["qini"];
    assert!(q["ci_low"].as_f64().unwrap() <= q["area"].as_f64().unwrap());
    assert!(q["area"].as_f64().unwrap() <= q["ci_high"].as_f64().unwrap());
    // Six policies; the four uplift ones carry Holm-adjusted p-values, the others none.
    let policies = u["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 6);
    for (i, p) in policies.iter().enumerate() {
        assert_eq!(p["p_holm"].is_number(), i >= 2, "{}", p["name"]);
    }
    // What the gate found, in every output.
    let words = u["gate"]["words"].as_str().unwrap();
    let passed = u["gate"]["passed"].as_bool().unwrap();
    assert_eq!(
        words.starts_with("no evidence that per-shopper targeting beats the persona plays"),
        !passed
    );
    let md = std::fs::read_to_string(one.join("outcomes.md")).unwrap();
    assert!(md.contains("## Whom to message: per-shopper uplift"));
    let mut capital = words.to_string();
    capital[..1].make_ascii_uppercase();
    assert!(md.contains(&capital), "{md}");
    let html = std::fs::read_to_string(one.join("outcomes.html")).unwrap();
    assert!(html.contains("Whom to message: per-shopper uplift") && html.contains("Qini"));
    assert!(html.contains(&words.replace('\'', "&#x27;")));
}

/// The readout's model applied by hand, as docs/outcomes.md writes it: each column standardized
/// by `means` and `scales` (unknown: 0), uplift = sigmoid(b_T + z . w_T) − sigmoid(b_H + z . w_H).
fn uplift_by_hand(
    model: &serde_json::Value,
    row: &std::collections::BTreeMap<String, String>,
) -> f64 {
    let nums = |k: &str| -> Vec<f64> {
        model[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (means, scales) = (nums("means"), nums("scales"));
    let z: Vec<f64> = model["columns"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let c = c.as_str().unwrap();
            let raw = match c.strip_prefix("persona=") {
                Some(id) => f64::from(u8::from(row["persona_id"] == id)),
                None => row.get(c).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN),
            };
            if raw.is_finite() {
                (raw - means[j]) * scales[j]
            } else {
                0.0
            }
        })
        .collect();
    let p = |arm: &str| {
        let m = &model[arm];
        let w = m["coefficients"].as_array().unwrap();
        let logit = m["intercept"].as_f64().unwrap()
            + z.iter()
                .zip(w)
                .map(|(a, b)| a * b.as_f64().unwrap())
                .sum::<f64>();
        1.0 / (1.0 + (-logit).exp())
    };
    p("treatment") - p("holdout")
}

/// `segment --outcomes` and `assign --outcomes` score each shopper of the next run by the
/// readout's model (assignments `uplift`), as the documented formula gives, and the report says
/// what the readout's gate found.
#[test]
fn the_next_run_scores_each_shopper_by_the_readouts_model() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path());
    let readout = dir.path().join("readout");
    read_out(&first, &readout, "2");
    let model = json(&readout.join("outcomes.json"))["uplift"]["model"].clone();
    let next = dir.path().join("next");
    let mut cmd = cartsona();
    cmd.args(["-q", "segment", "--as-of", "2025-02-01", "--baseline"])
        .arg(&first)
        .arg("--outcomes")
        .arg(&readout);
    sample_inputs(&mut cmd);
    cmd.arg("--out").arg(&next).assert().success();
    let rows = common::read_csv(&next.join("assignments.csv"));
    assert!(rows.len() > 1000);
    for row in &rows {
        let want = uplift_by_hand(&model, row);
        let got: f64 = row["uplift"].parse().unwrap();
        assert!(
            (got - want).abs() < 1e-12,
            "{}: {got} vs {want}",
            row["customer_id"]
        );
    }
    let report = std::fs::read_to_string(next.join("report.md")).unwrap();
    assert!(
        report.contains("**Per-shopper uplift** (the readout"),
        "{report}"
    );
    // assign with the same model and readout gives every shopper the same uplift.
    let assigned = dir.path().join("assigned");
    let mut cmd = cartsona();
    cmd.args(["-q", "assign", "--as-of", "2025-02-01", "--model"])
        .arg(next.join("model.json"))
        .arg("--outcomes")
        .arg(&readout);
    sample_inputs(&mut cmd);
    cmd.arg("--out").arg(&assigned).assert().success();
    let again = common::read_csv(&assigned.join("assignments.csv"));
    assert_eq!(again.len(), rows.len());
    for (a, b) in rows.iter().zip(&again) {
        assert_eq!(a["customer_id"], b["customer_id"]);
        assert_eq!(a["uplift"], b["uplift"], "{}", a["customer_id"]);
    }
}

/// `segment ... --baseline RUN --outcomes READOUT --as-of 2025-02-01` with `extra` flags.
fn next_run(run: &Path, readout: &Path, out: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = cartsona();
    cmd.args(["-q", "segment", "--as-of", "2025-02-01", "--baseline"])
        .arg(run)
        .arg("--outcomes")
        .arg(readout)
        .args(extra);
    sample_inputs(&mut cmd);
    cmd.arg("--out").arg(out);
    cmd
}

/// `--target` cuts audience.csv by uplift only where the readout's gate passed: refused (exit 2)
/// when it did not or without a readout, forced with `--force-target`; the audience is the
/// treatment arm's shoppers the target keeps, highest uplift first, never a held-out one.
#[test]
fn the_audience_is_cut_by_uplift_only_where_the_gate_passed() {
    use predicates::prelude::PredicateBooleanExt;
    use predicates::str::contains;
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path());
    let readout = dir.path().join("readout");
    read_out(&first, &readout, "2");
    let o = json(&readout.join("outcomes.json"));
    // The sample's readout finds no evidence (its Qini interval includes zero).
    assert_eq!(o["uplift"]["gate"]["passed"], false);
    next_run(
        &first,
        &readout,
        &dir.path().join("refused"),
        &["--target", "top:30%"],
    )
    .assert()
    .code(2)
    .stderr(contains("--target top:30%: the readout").and(contains("no evidence")));
    assert!(!dir.path().join("refused").exists());
    let mut cmd = cartsona();
    cmd.args(["-q", "segment", "--target", "positive", "--out"])
        .arg(dir.path().join("alone"));
    sample_inputs(&mut cmd);
    cmd.assert()
        .code(2)
        .stderr(contains("--target positive: needs --outcomes"));
    // Forced: the top 30% of the treated, by uplift.
    let forced = dir.path().join("forced");
    next_run(
        &first,
        &readout,
        &forced,
        &["--target", "top:30%", "--force-target"],
    )
    .assert()
    .success();
    let rows = common::read_csv(&forced.join("assignments.csv"));
    let treated: Vec<_> = rows.iter().filter(|r| r["arm"] == "treatment").collect();
    let audience = common::read_csv(&forced.join("audience.csv"));
    assert_eq!(
        audience.len(),
        (0.3 * treated.len() as f64).round() as usize
    );
    let summary = json(&forced.join("summary.json"));
    assert_eq!(summary["outcomes"]["target"]["forced"], true);
    // A readout whose gate passed (planted in its outcomes.json): `positive` needs no force.
    let mut planted = o.clone();
    planted["uplift"]["gate"]["passed"] = serde_json::Value::Bool(true);
    let passed = dir.path().join("passed-readout");
    std::fs::create_dir(&passed).unwrap();
    std::fs::write(passed.join("outcomes.json"), planted.to_string()).unwrap();
    let cut = dir.path().join("cut");
    next_run(&first, &passed, &cut, &["--target", "positive"])
        .assert()
        .success();
    let rows = common::read_csv(&cut.join("assignments.csv"));
    let uplift =
        |r: &std::collections::BTreeMap<String, String>| -> f64 { r["uplift"].parse().unwrap() };
    let mut want: Vec<_> = rows
        .iter()
        .filter(|r| r["arm"] == "treatment" && uplift(r) > 0.0)
        .collect();
    want.sort_by(|a, b| uplift(b).total_cmp(&uplift(a)));
    let audience = common::read_csv(&cut.join("audience.csv"));
    let got: Vec<(&str, &str)> = audience
        .iter()
        .map(|r| (r["customer_id"].as_str(), r["uplift"].as_str()))
        .collect();
    let want: Vec<(&str, &str)> = want
        .iter()
        .map(|r| (r["customer_id"].as_str(), r["uplift"].as_str()))
        .collect();
    assert_eq!(got, want);
    assert!(!want.is_empty() && want.len() < treated.len());
    let report = std::fs::read_to_string(cut.join("report.md")).unwrap();
    assert!(
        report.contains("**Audience cut by uplift** (`--target positive`)"),
        "{report}"
    );
}

/// A randomized table from outside the generator (tests/data/uplift/external.py: customers with
/// five attributes, a control and two treatment variants drawn a third each, conversions with
/// their value) goes through `segment --features` and `outcomes --entries`: the per-arm and
/// per-variant counts, rates, Newcombe intervals and p-values equal statsmodels' (expected.json),
/// and the per-shopper gate, on effects that are constant per variant, finds no evidence.
#[test]
fn a_randomized_table_from_outside_reads_out_as_statsmodels_does() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/uplift/external");
    let want = json(&data.join("expected.json"));
    let dir = tempfile::tempdir().unwrap();
    let (run, out) = (dir.path().join("run"), dir.path().join("readout"));
    cartsona()
        .args([
            "-q",
            "segment",
            "--as-of",
            "2025-02-01T00:00:00Z",
            "--features",
        ])
        .arg(data.join("features.csv"))
        .arg("--out")
        .arg(&run)
        .assert()
        .success();
    cartsona()
        .args([
            "-q",
            "outcomes",
            "--orders-until",
            "2025-02-15T00:00:00Z",
            "--run",
        ])
        .arg(&run)
        .arg("--entries")
        .arg(data.join("entries.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let o = json(&out.join("outcomes.json"));
    let close = |a: &serde_json::Value, b: &serde_json::Value, what: &str| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!((a - b).abs() < 1e-9, "{what}: {a} vs statsmodels {b}");
    };
    for arm in ["treatment", "holdout"] {
        assert_eq!(o["overall"][arm]["n"], want[arm]["n"], "{arm}");
        assert_eq!(
            o["overall"][arm]["recovered"], want[arm]["recovered"],
            "{arm}"
        );
        close(&o["overall"][arm]["rate"], &want[arm]["rate"], arm);
    }
    for key in ["absolute", "ci_low", "ci_high", "p_value"] {
        close(&o["overall"]["uplift"][key], &want["uplift"][key], key);
    }
    let rows = o["overall_variants"]["variants"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        let name = r["variant"].as_str().unwrap();
        let w = &want["variants"][name];
        assert_eq!(r["stats"]["n"], w["n"], "{name}");
        assert_eq!(r["stats"]["recovered"], w["recovered"], "{name}");
        close(&r["stats"]["rate"], &w["rate"], name);
        close(&r["uplift"], &w["absolute"], name);
        for key in ["ci_low", "ci_high", "p_value"] {
            close(&r[key], &w[key], &format!("{name} {key}"));
        }
    }
    let u = &o["uplift"];
    assert_eq!(u["treatment_probability"], "estimated");
    assert_eq!(u["tested_on"], 6000);
    assert_eq!(u["gate"]["passed"], false);
    assert!(u["qini"]["ci_low"].as_f64().unwrap() <= 0.0);
}

/// `--no-uplift` skips the section and says so; the rest of the readout is the same bytes.
#[test]
fn no_uplift_skips_the_section_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(dir.path());
    let (with, without) = (dir.path().join("with"), dir.path().join("without"));
    read_out(&run, &with, "2");
    cartsona()
        .args(["-q", "outcomes", "--no-uplift", "--run"])
        .arg(&run)
        .arg("--orders")
        .arg(sample().join("next/orders.csv"))
        .arg("--out")
        .arg(&without)
        .assert()
        .success();
    let mut a = json(&with.join("outcomes.json"));
    let b = json(&without.join("outcomes.json"));
    assert!(b.get("uplift").is_none());
    assert_eq!(b["uplift_not_learned"], "not asked: --no-uplift");
    let map = a.as_object_mut().unwrap();
    map.remove("uplift");
    map.insert("uplift_not_learned".into(), b["uplift_not_learned"].clone());
    assert_eq!(a, b);
}
