//! Simulation tests of the per-shopper uplift (outcomes::uplift) and its gate
//! (outcomes::targeting): shops drawn here with a planted effect per shopper, scored against
//! what was planted. The shop is a plain logistic world unrelated to the generator's
//! (synth), so nothing here is tuned to it.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::load::{Exposure, FirstListingKnown, Listed, RunInfo, Runs};
use super::readout::Outcome;
use super::targeting::{self, Targeting, NO_EVIDENCE};
use super::uplift::{self, HonestTest};
use crate::model::holdout::{Arm, Holdout};
use crate::propensity::logistic::Logistic;

/// The holdout share of the simulated runs.
const HOLDOUT: f64 = 0.3;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A shop of `n` shoppers over `months` runs (T = the month number), three covariates (x0
/// moves the base rate, x1 the effect, x2 noise), two personas; `effect(x1)` the planted uplift.
/// Returns the shoppers' outcomes, the runs and each shopper's planted effect.
fn shop(
    n: usize,
    months: usize,
    seed: u64,
    effect: impl Fn(f64) -> f64,
) -> (Vec<Outcome>, Runs, Vec<f64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let holdout = Holdout::new(HOLDOUT, "sim", "2025-01-01T00:00:00Z").expect("a valid holdout");
    let mut runs = Runs {
        covariates: vec!["x0".into(), "x1".into(), "x2".into()],
        personas: vec![("1".into(), "one".into()), ("2".into(), "two".into())],
        ..Runs::default()
    };
    for m in 1..=months {
        runs.runs.push(RunInfo {
            dir: format!("run-{m}"),
            as_of: format!("2025-0{m}-01T00:00:00Z"),
            t: m as i64,
            holdout: Some(holdout.clone()),
            no_discount_above: None,
            listed: 0,
            counted: 0,
            first_listing: FirstListingKnown::BeganTheSplit,
            variants: None,
        });
    }
    let (mut all, mut truth) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let x: [f64; 3] = std::array::from_fn(|_| StandardNormal.sample(&mut rng));
        let noise: f64 = StandardNormal.sample(&mut rng);
        let persona = usize::from(x[0] + 0.5 * noise > 0.0);
        let run = i % months;
        let treated = rng.gen_bool(1.0 - HOLDOUT);
        let tau = effect(x[1]);
        let p = (sigmoid(-2.4 + 0.6 * x[0]) + if treated { tau } else { 0.0 }).clamp(0.0, 1.0);
        let recovered = rng.gen_bool(p);
        runs.shoppers.push(Listed {
            customer_id: format!("c{i}"),
            run,
            t: run as i64 + 1,
            persona,
            arm: Some(if treated {
                Arm::Treatment
            } else {
                Arm::Holdout
            }),
            abandoned_at: None,
            propensity: None,
            exposure: Exposure::First,
            covariates: x.iter().map(|v| *v as f32).collect(),
        });
        let mut o = Outcome::new(persona, runs.shoppers[i].arm.expect("an arm"));
        o.recovered = recovered;
        o.revenue = if recovered { 100.0 } else { 0.0 };
        o.net_revenue = o.revenue;
        o.planned_share = Some(HOLDOUT);
        o.listing = i;
        all.push(o);
        truth.push(tau);
    }
    (all, runs, truth)
}

fn read(all: &[Outcome], runs: &Runs, seed: u64) -> Targeting {
    let scored = uplift::score(all, runs, seed).expect("enough recoveries");
    targeting::evaluate(scored, &[true, true], 400, seed)
}

/// Spearman's rank correlation (no ties: continuous values).
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let rank = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        for (k, &i) in idx.iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let (ra, rb) = (rank(a), rank(b));
    let m = (a.len() as f64 - 1.0) / 2.0;
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - m) * (y - m)).sum();
    let var: f64 = ra.iter().map(|x| (x - m).powi(2)).sum();
    cov / var
}

/// A planted effect from −0.06 to +0.14 along x1.
fn varying(x1: f64) -> f64 {
    0.2 * sigmoid(2.0 * x1) - 0.06
}

#[test]
fn planted_heterogeneity_is_found_ranked_and_valued_within_its_interval() {
    // 10 shops of 20,000: each must show a Qini interval above zero and a Spearman correlation
    // of at least 0.5 between the learned uplift and the planted effect (measured: areas
    // 0.014-0.021 with lower bounds 0.011 or more, Spearman 0.95-0.97); the top 20% policy's
    // interval must hold its planted value in at least 8 (a 95% interval misses 3 or more of 10
    // with probability 1.2%); the gate must pass in at least 7 (measured 9 of 10: at a power of
    // 0.9, 6 or fewer of 10 happen with probability 1.3%).
    let (mut covered, mut passed) = (0, 0);
    for seed in 0..10 {
        let (all, runs, truth) = shop(20_000, 1, seed, varying);
        let t = read(&all, &runs, seed);
        assert!(matches!(t.test, HonestTest::CrossFit { folds: 5 }));
        assert!(t.qini.ci_low > 0.0, "seed {seed}: Qini {:?}", t.qini);
        let learned: Vec<f64> = all
            .iter()
            .map(|o| {
                let x = &runs.shoppers[o.listing].covariates;
                let mut row: Vec<f64> = x.iter().map(|v| f64::from(*v)).collect();
                row.extend([0, 1].map(|p| f64::from(u8::from(p == o.persona))));
                t.model.uplift(&row)
            })
            .collect();
        let rho = spearman(&learned, &truth);
        assert!(rho >= 0.5, "seed {seed}: Spearman {rho}");
        // The planted value of messaging the top 20% of the test ranking (per listed shopper).
        let mut order: Vec<(f64, usize)> = Vec::new();
        let scored = uplift::score(&all, &runs, seed).expect("scored");
        for s in &scored.shoppers {
            order.push((s.uplift, s.listing));
        }
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let k = (0.2 * order.len() as f64).round() as usize;
        let planted: f64 =
            order[..k].iter().map(|(_, i)| truth[*i]).sum::<f64>() / order.len() as f64;
        let p = t
            .policies
            .iter()
            .find(|p| p.name == "top 20% by uplift")
            .expect("top 20%");
        let i = &p.incremental_recoveries;
        covered += usize::from(i.ci_low <= planted && planted <= i.ci_high);
        // Messaging those with a negative effect loses: a policy should beat everyone.
        passed += usize::from(t.gate.passed);
    }
    assert!(
        covered >= 8,
        "the top 20% policy's interval held its planted value in {covered} of 10"
    );
    assert!(passed >= 7, "the gate passed in {passed} of 10");
}

/// How many of `seeds` shops with the effect `effect` pass the gate.
fn gate_passes(seeds: std::ops::Range<u64>, n: usize, effect: fn(f64) -> f64) -> usize {
    seeds
        .filter(|&seed| {
            let (all, runs, _) = shop(n, 1, 1000 + seed, effect);
            let t = read(&all, &runs, seed);
            if !t.gate.passed {
                assert!(t.gate.words.starts_with(NO_EVIDENCE));
            }
            t.gate.passed
        })
        .count()
}

#[test]
fn without_heterogeneity_the_gate_says_no_evidence() {
    // A constant effect (+0.05) and none at all: the gate must pass in at most 1 of 20 shops
    // each. Its false-pass rate is at most the Qini interval's 2.5% one-sided, so 2 or more of
    // 20 happen by chance with probability under 9% even at that bound; measured: 0 of 20 each.
    // The 100-seed run is `gate_without_heterogeneity_100_seeds` (--ignored).
    assert!(gate_passes(0..20, 5_000, |_| 0.05) <= 1);
    assert!(gate_passes(0..20, 5_000, |_| 0.0) <= 1);
}

#[test]
#[ignore = "100 shops of 5,000 shoppers twice: about a minute in release"]
fn gate_without_heterogeneity_100_seeds() {
    let constant = gate_passes(0..100, 5_000, |_| 0.05);
    let none = gate_passes(0..100, 5_000, |_| 0.0);
    assert!(
        constant <= 5 && none <= 5,
        "gate passed: constant effect {constant} of 100, no effect {none} of 100"
    );
}

#[test]
fn runs_with_two_months_are_tested_out_of_time() {
    let (all, runs, _) = shop(8_000, 2, 7, varying);
    let t = read(&all, &runs, 7);
    match &t.test {
        HonestTest::OutOfTime {
            learned_on,
            tested_on,
        } => {
            assert_eq!(learned_on, &vec!["2025-01-01T00:00:00Z".to_string()]);
            assert_eq!(tested_on, "2025-02-01T00:00:00Z");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.learned_on, 4_000);
    assert_eq!(t.tested_on, 4_000);
}

#[test]
fn the_ipw_values_match_a_hand_computation() {
    // Four test shoppers, p = 0.5: treated recovered (100), treated not, held out recovered
    // (50), held out not. Each arm's IPW weights (2 each) sum to 4.
    let (mut all, _, _) = shop(4, 1, 1, |_| 0.0);
    for (o, (arm, back, v)) in all.iter_mut().zip([
        (Arm::Treatment, true, 100.0),
        (Arm::Treatment, false, 0.0),
        (Arm::Holdout, true, 50.0),
        (Arm::Holdout, false, 0.0),
    ]) {
        o.arm = arm;
        o.recovered = back;
        o.net_revenue = v;
        o.planned_share = Some(0.5);
    }
    let flat = Logistic {
        intercept: 0.0,
        coefficients: vec![0.0; 5],
        c: Some(1.0),
        iterations: 0,
    };
    let model = uplift::UpliftModel {
        columns: Vec::new(),
        means: vec![0.0; 5],
        scales: vec![0.0; 5],
        treatment: flat.clone(),
        holdout: flat,
    };
    let scored = uplift::Scored {
        test: HonestTest::CrossFit { folds: 5 },
        learned_on: 4,
        shoppers: all
            .iter()
            .enumerate()
            .map(|(i, o)| uplift::ScoredShopper {
                uplift: [0.4, 0.3, 0.2, 0.1][i],
                treated: o.arm == Arm::Treatment,
                p_treated: 0.5,
                recovered: o.recovered,
                net_revenue: o.net_revenue,
                persona: 0,
                listing: i,
            })
            .collect(),
        probability_known: true,
        model,
    };
    let t = targeting::evaluate(scored, &[false, false], 10, 1);
    // Everyone: 1/2 − 1/2 = 0 recoveries; revenue 100/2 − 50/2 = 25.
    let everyone = &t.policies[0];
    assert!(everyone.incremental_recoveries.estimate.abs() < 1e-12);
    assert!((everyone.incremental_net_revenue.estimate - 25.0).abs() < 1e-12);
    // Top 30% rounds to 1 shopper, the treated recovered one: 2/4 − 0 = 0.5 recoveries; against
    // everyone it leaves out the other three: the held-out recovered one counts −1 in its arm,
    // so 0 − (−2/4) = +0.5 recoveries and 0 − (−100/4) = +25 net revenue.
    let top30 = t
        .policies
        .iter()
        .find(|p| p.name == "top 30% by uplift")
        .unwrap();
    assert!((top30.incremental_recoveries.estimate - 0.5).abs() < 1e-12);
    assert!((top30.recoveries_against_everyone.estimate - 0.5).abs() < 1e-12);
    assert!((top30.net_revenue_against_everyone.estimate - 25.0).abs() < 1e-12);
    // Qini (Hajek: each arm's weights sum to 4): the first shopper adds 2/4 = 0.5, the third
    // takes it back; Q(k/100) is the sum over the first shoppers holding k/100 of the four, so
    // 0.5 for k = 1..50 and 0 after; Q(1) = 0, so the area is 0.5 × 50 / 100 = 0.25.
    assert!((t.qini.area - 0.25).abs() < 1e-12, "{}", t.qini.area);
    // The personas' plays lost: no one messaged, nothing gained.
    assert_eq!(t.policies[1].messaged, 0.0);
}

#[test]
fn a_large_experiment_is_tested_on_a_sample_split_with_a_normal_qini_interval() {
    // 75,000 shoppers of one T: above 5 x 50,000 / 4, so a seeded 50,000 learn (once: the model
    // for new months is the same fit) and the other 25,000 are tested; above 20,000 test
    // shoppers the Qini interval is the normal one of its linearization.
    let (all, runs, truth) = shop(75_000, 1, 3, varying);
    let scored = uplift::score(&all, &runs, 3).expect("enough recoveries");
    assert_eq!(scored.test, HonestTest::SampleSplit);
    assert_eq!(scored.learned_on, uplift::MAX_LEARN);
    assert_eq!(scored.shoppers.len(), 25_000);
    let tested: Vec<f64> = scored.shoppers.iter().map(|s| s.uplift).collect();
    let planted: Vec<f64> = scored.shoppers.iter().map(|s| truth[s.listing]).collect();
    assert!(spearman(&tested, &planted) >= 0.5);
    let t = targeting::evaluate(scored, &[true, true], 400, 3);
    assert_eq!(t.qini.method, "normal");
    assert!(t.qini.ci_low > 0.0, "{:?}", t.qini);
}
