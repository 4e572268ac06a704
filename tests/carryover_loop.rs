//! The monthly loop with carryover (issue 31's "Done means"): three months of abandoners,
//! segmented month by month (`segment --features` with `--holdout`, then `--baseline`), each
//! month's recoveries drawn after its run by the arm that run gave, then read out in months 2
//! and 3 from that month's run alone and from every run so far.
//!
//! The shop is simulated here, by this file's own rules and random numbers (nothing of
//! cartsona's generator): four archetypes with well-separated features; each shopper first
//! abandons in a month of their own and abandons again later with probability 0.25. Carryover,
//! the post-treatment selection the readout must not be fooled by: a treated deal-seeker who came
//! back with a discount abandons again with probability 0.7, with a higher discount share, and
//! waits for the code (base 0.03 instead of 0.10, 0.45 with the play); treated shoppers open more
//! e-mails. Planted first-exposure uplift per archetype: deal 0.10, loyal 0.08, mobile 0.05,
//! browser 0.
//!
//! Checked for every persona of 300 or more counted shoppers, on every seed: the randomized
//! table holds exactly the first listings of the runs given; its sample-ratio p is >= 1e-4; its
//! uplift is within 3.5 standard errors of the planted first-exposure uplift of the shoppers in
//! it. False-failure odds: each of the ~16 uplift checks of a seed fails by chance with
//! probability 4.7e-4 (|Z| > 3.5), so a seed with about 0.7%; each sample-ratio check 1e-4. The
//! intervals' coverage over all seeds is reported and must reach 85% (expected 95%; with about
//! 40 intervals, below 85% by chance has odds under 1%). That the test can fail: the same months
//! counted naively (every listing of the month in its persona, as before issue 31) put the deal
//! persona's month-3 uplift 2.1 to 4.7 standard errors above the planted one on these seeds (3.4
//! on average), where the first-exposure readout stays within 3.5 (measured: 38 of 40 intervals
//! cover); asserted below as more than 2 on each seed and 3 on average.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{cartsona, read_csv};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const T: [&str; 3] = [
    "2025-02-01T00:00:00Z",
    "2025-03-01T00:00:00Z",
    "2025-04-01T00:00:00Z",
];
const DAY: i64 = 86_400;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Archetype {
    Deal,
    Loyal,
    Mobile,
    Browser,
}

/// (base recovery without a message, planted first-exposure uplift of the play).
fn rates(a: Archetype) -> (f64, f64) {
    match a {
        Archetype::Deal => (0.10, 0.10),
        Archetype::Loyal => (0.15, 0.08),
        Archetype::Mobile => (0.08, 0.05),
        Archetype::Browser => (0.06, 0.0),
    }
}

struct Shopper {
    id: String,
    archetype: Archetype,
    arrival: usize,
    /// A treated deal-seeker who came back with a discount: waits for the code from then on.
    waits_for_code: bool,
    treated_before: bool,
}

fn epoch(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp()
}

fn iso(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    let (u1, u2): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen());
    mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// One listed shopper's features row for month `m`.
fn features_row(s: &Shopper, rng: &mut ChaCha8Rng) -> String {
    let (value, orders, discount, opens, mobile, depth) = match s.archetype {
        Archetype::Deal => (45.0, 2.0, 0.75, 0.45, 0.45, 1.5),
        Archetype::Loyal => (480.0, 7.0, 0.05, 0.60, 0.30, 3.0),
        Archetype::Mobile => (28.0, 0.5, 0.10, 0.15, 0.95, 1.0),
        Archetype::Browser => (130.0, 0.3, 0.10, 0.30, 0.40, 1.0),
    };
    let code = if s.waits_for_code { 0.2 } else { 0.0 };
    let opened = if s.treated_before { 0.15 } else { 0.0 };
    let clamp = |x: f64| x.clamp(0.0, 1.0);
    format!(
        "{},{:.2},{:.0},{:.3},{:.3},{:.3},{:.0},{:.3}\n",
        s.id,
        (value * normal(rng, 0.0, 0.25).exp()).max(1.0),
        (orders + normal(rng, 0.0, 0.8)).max(0.0).round(),
        clamp(discount + code + normal(rng, 0.0, 0.08)),
        clamp(opens + opened + normal(rng, 0.0, 0.08)),
        clamp(mobile + normal(rng, 0.0, 0.08)),
        (depth + normal(rng, 0.0, 0.4)).round().clamp(0.0, 4.0),
        rng.gen_range(0.1..6.0),
    )
}

struct Loop {
    _dir: tempfile::TempDir,
    root: PathBuf,
    runs: Vec<PathBuf>,
    orders: PathBuf,
    shoppers: Vec<Shopper>,
    /// Each shopper's first listing (month index) and planted first-exposure uplift, by id.
    planted: BTreeMap<String, (usize, f64)>,
}

/// Simulates the loop: for each month, list the abandoners (features table), run `segment`, read
/// the arms it gave, and draw each listed shopper's recovery in (T, T + 7 d].
fn simulate(seed: u64, n: usize) -> Loop {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let kinds = [
        Archetype::Deal,
        Archetype::Loyal,
        Archetype::Mobile,
        Archetype::Browser,
    ];
    let mut shoppers: Vec<Shopper> = (0..n)
        .map(|i| Shopper {
            id: format!("c{seed}_{i:06}"),
            archetype: kinds[i % 4],
            arrival: rng.gen_range(0..3),
            waits_for_code: false,
            treated_before: false,
        })
        .collect();
    let mut orders = String::from("order_id,customer_id,ordered_at,order_value,discount_amount\n");
    let mut planted = BTreeMap::new();
    let mut runs: Vec<PathBuf> = Vec::new();
    for (m, as_of) in T.iter().enumerate() {
        let mut table = String::from("customer_id,last_abandoned_value,orders,discount_share,email_open_rate,mobile_share,max_checkout_depth,days_since_abandon\n");
        let mut listed = Vec::new();
        for (i, s) in shoppers.iter().enumerate() {
            let again = if s.waits_for_code { 0.7 } else { 0.25 };
            if s.arrival == m || (s.arrival < m && rng.gen_bool(again)) {
                table.push_str(&features_row(s, &mut rng));
                listed.push(i);
            }
        }
        let path = root.join(format!("features-{}.csv", m + 1));
        std::fs::write(&path, table).unwrap();
        let run = root.join(format!("run-{}", m + 1));
        let mut cmd = cartsona();
        cmd.args(["-q", "segment", "--features"]).arg(&path).args([
            "--as-of",
            T[m],
            "--k",
            "4",
            "--stability-resamples",
            "0",
        ]);
        match runs.last() {
            Some(b) => cmd.arg("--baseline").arg(b),
            None => cmd.args(["--holdout", "0.3", "--holdout-salt", &format!("loop{seed}")]),
        };
        cmd.arg("--out").arg(&run).assert().success();
        let arms: BTreeMap<String, bool> = read_csv(&run.join("assignments.csv"))
            .into_iter()
            .map(|a| (a["customer_id"].clone(), a["arm"] == "treatment"))
            .collect();
        let t = epoch(as_of);
        for i in listed {
            let s = &mut shoppers[i];
            let treated = arms[&s.id];
            let (base, uplift) = rates(s.archetype);
            if s.arrival == m {
                planted.insert(s.id.clone(), (m, uplift));
            }
            let p = match (s.waits_for_code, treated) {
                (true, true) => 0.45,
                (true, false) => 0.03,
                (false, true) => base + uplift,
                (false, false) => base,
            };
            if rng.gen_bool(p) {
                let discounted = treated && s.archetype == Archetype::Deal;
                let value = 60.0 * normal(&mut rng, 0.0, 0.5).exp();
                let at = t + rng.gen_range(3600..6 * DAY);
                let _ = writeln!(
                    orders,
                    "o{m}_{},{},{},{value:.2},{}",
                    s.id,
                    s.id,
                    iso(at),
                    if discounted {
                        format!("{:.2}", value * 0.1)
                    } else {
                        "0".into()
                    }
                );
                s.waits_for_code |= discounted;
            }
            s.treated_before |= treated;
        }
        runs.push(run);
    }
    // An order after the last window, so the orders cover every window.
    let _ = writeln!(
        orders,
        "o_end,filler,{},10.00,0",
        iso(epoch(T[2]) + 8 * DAY)
    );
    let path = root.join("orders.csv");
    std::fs::write(&path, orders).unwrap();
    Loop {
        _dir: dir,
        root,
        runs,
        orders: path,
        shoppers,
        planted,
    }
}

fn readout(l: &Loop, runs: &[&Path], name: &str) -> Value {
    let out = l.root.join(name);
    let mut cmd = cartsona();
    cmd.args(["-q", "outcomes", "--run"]);
    for r in runs {
        cmd.arg(r);
    }
    cmd.arg("--orders").arg(&l.orders).arg("--out").arg(&out);
    let status = cmd.output().unwrap().status.code().unwrap();
    assert!(status <= 1, "outcomes exit {status}");
    serde_json::from_slice(&std::fs::read(out.join("outcomes.json")).unwrap()).unwrap()
}

/// The uplift's standard error of a comparison (unpooled), from its counts.
fn se(c: &Value) -> f64 {
    let arm = |a: &str| {
        let n = c[a]["n"].as_f64().unwrap();
        let p = c[a]["rate"].as_f64().unwrap();
        p * (1.0 - p) / n
    };
    (arm("treatment") + arm("holdout")).sqrt()
}

/// (covered, intervals) over the personas of 300+ checked in one readout.
fn check_personas(l: &Loop, r: &Value, m: usize, run: &Path, what: &str) -> (usize, usize) {
    let persona_of: BTreeMap<String, String> = read_csv(&run.join("assignments.csv"))
        .into_iter()
        .map(|a| (a["customer_id"].clone(), a["persona_id"].clone()))
        .collect();
    let (mut covered, mut intervals) = (0, 0);
    for p in r["personas"].as_array().unwrap() {
        let n = p["treatment"]["n"].as_u64().unwrap() + p["holdout"]["n"].as_u64().unwrap();
        if n < 300 {
            continue;
        }
        let id = p["persona_id"].as_str().unwrap();
        // The planted uplift of this run's first listings in the persona.
        let ups: Vec<f64> = persona_of
            .iter()
            .filter(|(c, q)| *q == id && l.planted[c.as_str()].0 == m)
            .map(|(c, _)| l.planted[c.as_str()].1)
            .collect();
        assert_eq!(
            ups.len() as u64,
            n,
            "{what} {id}: the first listings of the month"
        );
        let planted = ups.iter().sum::<f64>() / ups.len() as f64;
        let srm = p["sample_ratio"]["p_value"].as_f64().unwrap();
        assert!(srm >= 1e-4, "{what} {id}: sample-ratio p {srm}");
        let u = &p["uplift"];
        let d = u["absolute"].as_f64().unwrap();
        let z = (d - planted) / se(p);
        assert!(
            z.abs() <= 3.5,
            "{what} {id}: uplift {d:.4} against planted {planted:.4} ({z:.2} SE)"
        );
        intervals += 1;
        let (lo, hi) = (
            u["ci_low"].as_f64().unwrap(),
            u["ci_high"].as_f64().unwrap(),
        );
        covered += usize::from(lo <= planted && planted <= hi);
    }
    (covered, intervals)
}

/// The naive count (every listing of the month in its persona, as before issue 31): the deal
/// persona's uplift in month 3, in standard errors above the planted first-exposure uplift.
fn naive_deal_bias(l: &Loop, run: &Path) -> f64 {
    let t = epoch(T[2]);
    let recovered: BTreeSet<String> = read_csv(&l.orders)
        .into_iter()
        .filter(|o| {
            let at = epoch(&o["ordered_at"]);
            at > t && at <= t + 7 * DAY
        })
        .map(|o| o["customer_id"].clone())
        .collect();
    let deal: BTreeSet<&str> = l
        .shoppers
        .iter()
        .filter(|s| s.archetype == Archetype::Deal)
        .map(|s| s.id.as_str())
        .collect();
    let rows = read_csv(&run.join("assignments.csv"));
    // The persona most of the deal-seekers are in.
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for a in rows
        .iter()
        .filter(|a| deal.contains(a["customer_id"].as_str()))
    {
        *count.entry(a["persona_id"].as_str()).or_default() += 1;
    }
    let persona = count.iter().max_by_key(|x| x.1).unwrap().0.to_string();
    let (mut n, mut k) = ([0f64; 2], [0f64; 2]);
    for a in rows.iter().filter(|a| a["persona_id"] == persona) {
        let i = usize::from(a["arm"] == "treatment");
        n[i] += 1.0;
        k[i] += f64::from(u8::from(recovered.contains(&a["customer_id"])));
    }
    let (ph, pt) = (k[0] / n[0], k[1] / n[1]);
    let se = (pt * (1.0 - pt) / n[1] + ph * (1.0 - ph) / n[0]).sqrt();
    (pt - ph - rates(Archetype::Deal).1) / se
}

#[test]
fn monthly_readouts_count_first_exposures_and_recover_the_planted_uplifts() {
    let (mut covered, mut intervals) = (0, 0);
    let mut naive = Vec::new();
    for seed in [1, 2, 3, 4, 5] {
        let l = simulate(seed, 40_000);
        let runs: Vec<&Path> = l.runs.iter().map(PathBuf::as_path).collect();
        for m in [1, 2] {
            let alone = readout(&l, &runs[m..=m], &format!("alone-{m}"));
            // Exactly this month's first listings in the randomized table.
            let new = l.shoppers.iter().filter(|s| s.arrival == m).count() as u64;
            assert_eq!(alone["population"]["counted"].as_u64().unwrap(), new);
            assert_eq!(alone["checks"]["first_exposure"]["status"], "pass");
            assert_eq!(alone["checks"]["sample_ratio_personas"]["status"], "pass");
            let (c, i) = check_personas(
                &l,
                &alone,
                m,
                runs[m],
                &format!("seed {seed} month {} alone", m + 1),
            );
            covered += c;
            intervals += i;
            let so_far = readout(&l, &runs[..=m], &format!("so-far-{m}"));
            let seen = l.shoppers.iter().filter(|s| s.arrival <= m).count() as u64;
            assert_eq!(so_far["population"]["counted"].as_u64().unwrap(), seen);
            assert_eq!(so_far["population"]["listed_again"].as_u64().unwrap(), 0);
        }
        // The naive count is biased: the test above would catch the old behaviour.
        let bias = naive_deal_bias(&l, runs[2]);
        assert!(
            bias > 2.0,
            "seed {seed}: the naive deal uplift is only {bias:.2} SE above"
        );
        naive.push(bias);
    }
    let mean = naive.iter().sum::<f64>() / naive.len() as f64;
    assert!(
        mean > 3.0,
        "the naive deal uplift is on average {mean:.2} SE above: {naive:?}"
    );
    let share = covered as f64 / intervals as f64;
    eprintln!("95% intervals covering the planted uplift: {covered} of {intervals}");
    assert!(intervals >= 18 && share >= 0.85, "{covered} of {intervals}");
}
