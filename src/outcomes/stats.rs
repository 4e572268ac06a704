//! The statistics of the recovery readout (docs/outcomes.md, "Formulas"): two proportions, the
//! treatment arm's recovery rate against the holdout's.
//!
//! - [`wilson`]: the Wilson score interval of one proportion.
//! - [`newcombe`]: Newcombe's hybrid score interval of a difference of proportions (Newcombe
//!   1998, method 10; statsmodels' `confint_proportions_2indep(method="newcomb")`).
//! - [`z_test`]: the pooled two-proportion z-test, two-sided (statsmodels' `proportions_ztest`).
//! - [`holm`]: Holm's step-down adjustment of a family of p-values (statsmodels'
//!   `multipletests(method="holm")`).
//! - [`sample_ratio`]: the chi-square test of the arm counts against the planned holdout share
//!   (scipy's `chisquare`).
//! - [`mde`]: the minimum detectable absolute uplift at 80% power, at the level of Holm's first
//!   step over the comparison's family, with the null's and the alternative's standard errors.
//!
//! Hand-written: these are the formulas themselves (a few lines each); the distributions come
//! from statrs. Fixtures computed with statsmodels and scipy by tests/data/outcomes/fixtures.py
//! are checked in tests/outcomes_stats.rs, and the method by simulation there.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// The standard normal distribution.
fn normal() -> Normal {
    Normal::new(0.0, 1.0).expect("a valid normal")
}

/// The two-sided critical value z(1 − alpha/2).
pub fn z_crit(alpha: f64) -> f64 {
    normal().inverse_cdf(1.0 - alpha / 2.0)
}

/// The Wilson score interval of `x` successes in `n` trials at level 1 − alpha. `(0, 1)` for
/// `n = 0` (nothing is known).
pub fn wilson(x: u64, n: u64, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (x, n, z) = (x as f64, n as f64, z_crit(alpha));
    let z2 = z * z;
    let centre = (x + z2 / 2.0) / (n + z2);
    let half = z * (x * (n - x) / n + z2 / 4.0).sqrt() / (n + z2);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Newcombe's hybrid score interval of p1 − p2 (arm 1: `x1` of `n1`; arm 2: `x2` of `n2`):
/// d − sqrt((p1 − l1)² + (u2 − p2)²) to d + sqrt((u1 − p1)² + (p2 − l2)²), with (l, u) each
/// arm's Wilson interval.
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64, alpha: f64) -> (f64, f64) {
    let rate = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let (p1, p2) = (rate(x1, n1), rate(x2, n2));
    let ((l1, u1), (l2, u2)) = (wilson(x1, n1, alpha), wilson(x2, n2, alpha));
    let d = p1 - p2;
    (
        d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    )
}

/// The pooled two-proportion z-test of p1 = p2: (z, two-sided p-value). When the pooled rate
/// is 0 or 1 (no variation) there is no evidence of a difference: z = 0, p = 1 (statsmodels
/// returns NaN there).
pub fn z_test(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (0.0, 1.0);
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return (0.0, 1.0);
    }
    let z = (p1 - p2) / se;
    (z, two_sided_p(z))
}

/// The two-sided p-value of a standard normal statistic `z`.
pub fn two_sided_p(z: f64) -> f64 {
    2.0 * normal().sf(z.abs())
}

/// Holm's adjusted p-values, in the order given: sorted ascending, the i-th (from 0) of m is
/// multiplied by m − i, made non-decreasing, capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (i, &j) in order.iter().enumerate() {
        running = running.max(((m - i) as f64 * p[j]).min(1.0));
        adjusted[j] = running;
    }
    adjusted
}

/// The sample-ratio check: the chi-square statistic and p-value (1 degree of freedom) of
/// `treatment` and `holdout` shoppers against the planned holdout `share`.
pub fn sample_ratio(treatment: u64, holdout: u64, share: f64) -> (f64, f64) {
    let n = (treatment + holdout) as f64;
    let expected = [n * (1.0 - share), n * share];
    if expected.iter().any(|e| *e <= 0.0) {
        return (0.0, 1.0);
    }
    let stat: f64 = [treatment as f64, holdout as f64]
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e) * (o - e) / e)
        .sum();
    let chi = ChiSquared::new(1.0).expect("1 degree of freedom");
    (stat, chi.sf(stat))
}

/// The minimum detectable absolute uplift as the verdict sees it: the smallest d > 0 that the
/// pooled z-test calls a win with 80% power at the level of Holm's first step in a family of
/// `family` comparisons (two-sided alpha / family), with the holdout's rate p0 (at least 1/n_h:
/// a holdout without a recovery still has a rate to detect against). With p1 = p0 + d, the
/// pooled rate under the null p̄ = (n_t p1 + n_h p0) / (n_t + n_h), SE0 = sqrt(p̄ (1 − p̄)
/// (1/n_t + 1/n_h)) and SE1 = sqrt(p1 (1 − p1)/n_t + p0 (1 − p0)/n_h), the test wins with
/// probability Φ((d − z(1 − alpha/(2 family)) SE0) / SE1); d solves that = 0.8 (bisection, to
/// 1e-9). `None` when an arm is empty or no uplift up to 1 − p0 reaches 80%.
pub fn mde(holdout_rate: f64, n_t: u64, n_h: u64, family: usize) -> Option<f64> {
    if n_t == 0 || n_h == 0 {
        return None;
    }
    let p0 = holdout_rate.max(1.0 / n_h as f64).min(1.0);
    let (nt, nh) = (n_t as f64, n_h as f64);
    let za = z_crit(ALPHA_MDE / family.max(1) as f64);
    let zb = normal().inverse_cdf(POWER);
    // The power's z: positive once d is detectable with 80% power.
    let gap = |d: f64| {
        let p1 = p0 + d;
        let pooled = (nt * p1 + nh * p0) / (nt + nh);
        let se0 = (pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nh)).sqrt();
        let se1 = (p1 * (1.0 - p1) / nt + p0 * (1.0 - p0) / nh).sqrt();
        (d - za * se0) / se1 - zb
    };
    let (mut lo, mut hi) = (0.0, 1.0 - p0);
    if hi <= 0.0 || gap(hi) < 0.0 {
        return None;
    }
    while hi - lo > 1e-9 {
        let mid = 0.5 * (lo + hi);
        if gap(mid) >= 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// The MDE the verdicts state: [`mde`]'s normal approximation, except where the holdout expects
/// fewer than [`SMALL_COUNT`] recoveries (n_h x p0). There the approximation is conservative (a
/// persona at its stated MDE won 83.4% of the time at 2% of 120 held out, where 80% is promised),
/// so the power is computed exactly over the two binomials ([`exact_power`]) and d solves it =
/// 0.8 (bisection, to 1e-7).
pub fn stated_mde(holdout_rate: f64, n_t: u64, n_h: u64, family: usize) -> Option<f64> {
    if n_t == 0 || n_h == 0 {
        return None;
    }
    let p0 = holdout_rate.max(1.0 / n_h as f64).min(1.0);
    if n_h as f64 * p0 >= SMALL_COUNT {
        return mde(holdout_rate, n_t, n_h, family);
    }
    let alpha = ALPHA_MDE / family.max(1) as f64;
    let (mut lo, mut hi) = (0.0, 1.0 - p0);
    if hi <= 0.0 || exact_power(p0, hi, n_t, n_h, alpha) < POWER {
        return None;
    }
    while hi - lo > 1e-7 {
        let mid = 0.5 * (lo + hi);
        if exact_power(p0, mid, n_t, n_h, alpha) >= POWER {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Below this many expected holdout recoveries the stated MDE is computed exactly.
pub const SMALL_COUNT: f64 = 5.0;

/// The exact probability that the verdict's test calls a win: T ~ Binomial(n_t, p0 + d) treated
/// recoveries, H ~ Binomial(n_h, p0) held out, a win when T/n_t > H/n_h and the pooled z-test's
/// two-sided p ([`z_test`]) is below `alpha`. For each h the winning t are those from the
/// smallest that wins (the z statistic grows with t), so the power is the sum over h of
/// P(H = h) P(T >= t*(h)) (statrs' binomial pmf and cdf); h beyond 12 standard deviations of its
/// mean is left out (less than 1e-30 of the mass).
pub fn exact_power(p0: f64, d: f64, n_t: u64, n_h: u64, alpha: f64) -> f64 {
    use statrs::distribution::{Binomial, Discrete, DiscreteCDF};
    let p1 = (p0 + d).clamp(0.0, 1.0);
    let (Ok(bt), Ok(bh)) = (Binomial::new(p1, n_t), Binomial::new(p0, n_h)) else {
        return 0.0;
    };
    let wins = |t: u64, h: u64| {
        t as f64 / n_t as f64 > h as f64 / n_h as f64 && z_test(t, n_t, h, n_h).1 < alpha
    };
    let sd = (n_h as f64 * p0 * (1.0 - p0)).sqrt();
    let top = ((n_h as f64 * p0 + 12.0 * sd).ceil() as u64 + 1).min(n_h);
    let mut power = 0.0;
    for h in 0..=top {
        if !wins(n_t, h) {
            continue;
        }
        // The smallest t that wins, by bisection on [0, n_t] (wins(n_t, h) holds).
        let (mut lo, mut hi) = (0u64, n_t);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if wins(mid, h) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let above = if lo == 0 { 1.0 } else { 1.0 - bt.cdf(lo - 1) };
        power += bh.pmf(h) * above;
    }
    power
}

/// The level and power the MDE is stated at.
pub const ALPHA_MDE: f64 = 0.05;
pub const POWER: f64 = 0.8;

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact power against brute force over every (t, h) pair at a small size.
    #[test]
    fn exact_power_equals_the_sum_over_every_outcome() {
        use statrs::distribution::{Binomial, Discrete};
        let (p0, d, n_t, n_h, alpha) = (0.03, 0.06, 90u64, 40u64, 0.01);
        let (bt, bh) = (
            Binomial::new(p0 + d, n_t).unwrap(),
            Binomial::new(p0, n_h).unwrap(),
        );
        let mut brute = 0.0;
        for t in 0..=n_t {
            for h in 0..=n_h {
                let win = t as f64 / n_t as f64 > h as f64 / n_h as f64
                    && z_test(t, n_t, h, n_h).1 < alpha;
                if win {
                    brute += bt.pmf(t) * bh.pmf(h);
                }
            }
        }
        let exact = exact_power(p0, d, n_t, n_h, alpha);
        assert!((exact - brute).abs() < 1e-12, "{exact} vs {brute}");
        // At the stated MDE of a small holdout the exact power is 80%.
        let m = stated_mde(0.02, 480, 120, 5).unwrap();
        assert!((exact_power(0.02, m, 480, 120, 0.01) - 0.8).abs() < 1e-4);
        // Where the holdout expects 5 recoveries or more, the normal approximation stands.
        assert_eq!(stated_mde(0.05, 480, 120, 5), mde(0.05, 480, 120, 5));
    }

    #[test]
    fn by_hand() {
        // Wilson, 0 of 10 at 95%: (0, z²/(n + z²)) = (0, 3.8415/13.8415).
        let z2 = z_crit(0.05).powi(2);
        let (l, u) = wilson(0, 10, 0.05);
        assert_eq!(l, 0.0);
        assert!((u - z2 / (10.0 + z2)).abs() < 1e-12);
        // Holm on (0.01, 0.04, 0.03): sorted 0.01×3, 0.03×2, 0.04×1 -> 0.03, 0.06, 0.06.
        let h = holm(&[0.01, 0.04, 0.03]);
        assert!((h[0] - 0.03).abs() < 1e-15 && (h[1] - 0.06).abs() < 1e-15);
        assert!((h[2] - 0.06).abs() < 1e-15);
        // Exactly the planned split: chi-square 0, p 1.
        assert_eq!(sample_ratio(900, 100, 0.1), (0.0, 1.0));
    }
}
