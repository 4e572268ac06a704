//! The readout's statistics (src/outcomes/stats.rs) against independent implementations, and the
//! method checked by simulation (issue 18).
//!
//! Fixtures: tests/data/outcomes/fixtures.json, written by tests/data/outcomes/fixtures.py with
//! statsmodels 0.15 and scipy (Newcombe intervals, pooled z-test p-values, Holm, chi-square sample
//! ratio, MDE), including zero counts, tiny arms and rates of 0 and 1.

use cartsona::outcomes::stats::{holm, mde, newcombe, sample_ratio, stated_mde, z_test};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

fn fixtures() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/outcomes/fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9,
        "{what}: {a} vs statsmodels/scipy {b}"
    );
}

#[test]
fn formulas_agree_with_statsmodels_and_scipy() {
    let f = fixtures();
    let u = |v: &serde_json::Value| v.as_u64().unwrap();
    let x = |v: &serde_json::Value| v.as_f64().unwrap();
    let cases = f["proportions"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let (x1, n1, x2, n2) = (u(&c["x1"]), u(&c["n1"]), u(&c["x2"]), u(&c["n2"]));
        let what = format!("{x1}/{n1} vs {x2}/{n2}");
        let (low, high) = newcombe(x1, n1, x2, n2, 0.05);
        close(low, x(&c["newcombe"][0]), &format!("{what} Newcombe low"));
        close(high, x(&c["newcombe"][1]), &format!("{what} Newcombe high"));
        let (z, p) = z_test(x1, n1, x2, n2);
        close(z, x(&c["z"]), &format!("{what} z"));
        close(p, x(&c["p"]), &format!("{what} p"));
    }
    for c in f["holm"].as_array().unwrap() {
        let p: Vec<f64> = c["p"].as_array().unwrap().iter().map(x).collect();
        for (a, b) in holm(&p).iter().zip(c["adjusted"].as_array().unwrap()) {
            close(*a, x(b), &format!("Holm of {p:?}"));
        }
    }
    for c in f["sample_ratio"].as_array().unwrap() {
        let (stat, p) = sample_ratio(u(&c["treatment"]), u(&c["holdout"]), x(&c["share"]));
        close(stat, x(&c["stat"]), "chi-square");
        close(p, x(&c["p"]), "chi-square p");
    }
    for c in f["welch"].as_array().unwrap() {
        let v = |k: &str| -> Vec<f64> { c[k].as_array().unwrap().iter().map(x).collect() };
        let (rt, rh) = (v("t"), v("h"));
        use cartsona::outcomes::bootstrap::{welch, welch_test, ArmRevenue};
        let t = ArmRevenue {
            n: u(&c["n_t"]),
            recovered: &rt,
        };
        let h = ArmRevenue {
            n: u(&c["n_h"]),
            recovered: &rh,
        };
        let (lo, hi) = welch(&t, &h).unwrap();
        close(lo, x(&c["ci"][0]), &format!("Welch low {c}"));
        close(hi, x(&c["ci"][1]), &format!("Welch high {c}"));
        // The test of a variant against the reminder: scipy's p-value.
        let w = welch_test(&t, &h).unwrap();
        close(w.p_value, x(&c["p"]), &format!("Welch p {c}"));
    }
    for c in f["mde"].as_array().unwrap() {
        let family = u(&c["family"]) as usize;
        let m = mde(x(&c["holdout_rate"]), u(&c["n_t"]), u(&c["n_h"]), family);
        match c["mde"].as_f64() {
            Some(want) => close(m.unwrap(), want, &format!("MDE {c}")),
            None => assert_eq!(m, None, "MDE {c}"),
        }
    }
}

/// Issue 31: "could detect" promised 80% power but the MDE used the holdout's rate for both arms
/// and a 5% level while the verdict is Holm-adjusted (a persona at its reported MDE won 27% of
/// the time). Now: five personas, one with its true uplift at the MDE cartsona states for a family
/// of five, four with none (the strictest case for Holm); the verdict's rule (pooled z-test, Holm
/// over the five, a positive difference) calls it a win 80% +- 3% of the time at each base rate
/// from 2% to 12% (480 treated and 120 held out, and five times that; where the holdout expects
/// under 5 recoveries the stated MDE is the exact one). 4,000 experiments a rate: the standard error of a share near 0.8 is 0.0063, so
/// an exact 80% falls outside +-3% with odds below 1e-5 per rate (false failure); a method off by
/// 5 points passes with odds below 1e-3 (false pass).
#[test]
fn a_persona_at_its_mde_wins_80_percent_of_the_time() {
    let runs = 4000;
    for (k, base) in [0.02, 0.05, 0.08, 0.12].into_iter().enumerate() {
        for (n_t, n_h) in [(480u64, 120u64), (2400, 600)] {
            let d = stated_mde(base, n_t, n_h, 5).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(31 + k as u64);
            let null = (
                Binomial::new(n_t, base).unwrap(),
                Binomial::new(n_h, base).unwrap(),
            );
            let lifted = Binomial::new(n_t, base + d).unwrap();
            let mut wins = 0;
            for _ in 0..runs {
                let tests: Vec<(f64, f64)> = (0..5)
                    .map(|i| {
                        let t = if i == 0 {
                            lifted.sample(&mut rng)
                        } else {
                            null.0.sample(&mut rng)
                        };
                        let h = null.1.sample(&mut rng);
                        let diff = t as f64 / n_t as f64 - h as f64 / n_h as f64;
                        (diff, z_test(t, n_t, h, n_h).1)
                    })
                    .collect();
                let adjusted = holm(&tests.iter().map(|t| t.1).collect::<Vec<_>>());
                wins += usize::from(adjusted[0] < 0.05 && tests[0].0 > 0.0);
            }
            let share = wins as f64 / runs as f64;
            // Below 5 expected recoveries in the holdout the stated MDE is the exact one (the
            // normal approximation's won 83.4% at 2% of 120 held out, above the band).
            assert!(
                (0.77..=0.83).contains(&share),
                "base {base}, {n_t} treated and {n_h} held out, MDE {d:.4}: won {share}"
            );
        }
    }
}

/// 2,000 simulated experiments, 1,000 treated and 300 held out, holdout rate 0.08, true uplift
/// 0.04: the 95% Newcombe interval covers 0.04 in 93.5% to 96.5% of them.
#[test]
fn the_interval_covers_the_true_uplift_95_percent_of_the_time() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let (n_t, n_h, p_h, uplift) = (1000u64, 300u64, 0.08, 0.04);
    let (bt, bh) = (
        Binomial::new(n_t, p_h + uplift).unwrap(),
        Binomial::new(n_h, p_h).unwrap(),
    );
    let runs = 2000;
    let covered = (0..runs)
        .filter(|_| {
            let (low, high) = newcombe(bt.sample(&mut rng), n_t, bh.sample(&mut rng), n_h, 0.05);
            low <= uplift && uplift <= high
        })
        .count();
    let share = covered as f64 / runs as f64;
    assert!((0.935..=0.965).contains(&share), "coverage {share}");
}

/// With no true uplift, a "win" (Holm-adjusted p < 0.05 and a positive difference) is declared in
/// at most 3.5% of 2,000 experiments: for one persona, and for any of five personas adjusted
/// together.
#[test]
fn without_uplift_a_win_is_rarely_declared() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (n_t, n_h, p) = (1000u64, 300u64, 0.08);
    let (bt, bh) = (
        Binomial::new(n_t, p).unwrap(),
        Binomial::new(n_h, p).unwrap(),
    );
    let runs = 2000;
    let (mut single, mut family) = (0, 0);
    for _ in 0..runs {
        let arms: Vec<(u64, u64)> = (0..5)
            .map(|_| (bt.sample(&mut rng), bh.sample(&mut rng)))
            .collect();
        let tests: Vec<(f64, f64)> = arms
            .iter()
            .map(|&(t, h)| {
                let diff = t as f64 / n_t as f64 - h as f64 / n_h as f64;
                (diff, z_test(t, n_t, h, n_h).1)
            })
            .collect();
        single += usize::from(tests[0].1 < 0.05 && tests[0].0 > 0.0);
        let adjusted = holm(&tests.iter().map(|t| t.1).collect::<Vec<_>>());
        family += usize::from(
            tests
                .iter()
                .zip(&adjusted)
                .any(|(t, p)| *p < 0.05 && t.0 > 0.0),
        );
    }
    let (single, family) = (single as f64 / runs as f64, family as f64 / runs as f64);
    assert!(single <= 0.035, "false wins {single}");
    assert!(family <= 0.035, "false wins among five personas {family}");
}

/// Issue 31: the incremental revenue's 95% interval covers at persona sizes. 2,000 simulated
/// experiments per holdout size (40, 120, 300, 1,200 held out, 7/3 as many treated), recovery
/// 1-7% without the play and up to 1.5 times that with it (1-10.5%), order values lognormal
/// (log-mean 4, log-sd 1: skewed, mean e^4.5); the truth is (p_t − p_h) × E[value] × n_t. The
/// percentile bootstrap it replaces covered 87-94% on this design. Coverage must be 93.5-96.5%
/// at each size: at 95% the standard error of 2,000 experiments is 0.49 points, so an exact
/// interval fails with odds about 0.2% per size.
#[test]
fn the_revenue_interval_covers_at_persona_sizes() {
    use cartsona::outcomes::bootstrap::{welch, ArmRevenue};
    use rand::Rng;
    let lognormal = rand_distr::LogNormal::new(4.0, 1.0).unwrap();
    let mean_value = 4.5f64.exp();
    for (k, n_h) in [40u64, 120, 300, 1200].into_iter().enumerate() {
        let n_t = n_h * 7 / 3;
        let mut rng = ChaCha8Rng::seed_from_u64(310 + k as u64);
        let runs = 2000;
        let mut covered = 0;
        for _ in 0..runs {
            let p_h: f64 = rng.gen_range(0.01..0.07);
            let p_t = p_h * rng.gen_range(1.0..1.5);
            let mut arm = |n: u64, p: f64| -> Vec<f64> {
                let k = Binomial::new(n, p).unwrap().sample(&mut rng);
                (0..k).map(|_| lognormal.sample(&mut rng)).collect()
            };
            let (rt, rh) = (arm(n_t, p_t), arm(n_h, p_h));
            let (lo, hi) = welch(
                &ArmRevenue {
                    n: n_t,
                    recovered: &rt,
                },
                &ArmRevenue {
                    n: n_h,
                    recovered: &rh,
                },
            )
            .unwrap();
            let truth = (p_t - p_h) * mean_value * n_t as f64;
            covered += usize::from(lo <= truth && truth <= hi);
        }
        let share = covered as f64 / runs as f64;
        assert!(
            (0.935..=0.965).contains(&share),
            "{n_h} held out: Welch's interval covers {share}"
        );
    }
}
