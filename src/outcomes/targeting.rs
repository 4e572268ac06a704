//! Whether per-shopper targeting beats the persona plays, tested on shoppers the uplift model
//! did not learn from (issue 32; docs/outcomes.md "Whom to message: per-shopper uplift").
//!
//! In: the test shoppers' uplift scores ([`Scored`], outcomes::uplift), each with their arm, the
//! arm's known probability p, their recovery and net revenue, and which personas' plays won.
//! Out: [`Targeting`] (outcomes.json `uplift`): the Qini curve and its area with a bootstrap
//! interval, the measured uplift of the top 10/20/30%, the policies' values with paired
//! intervals, and the gate.
//!
//! Every value is inverse-probability weighted with the known p (weight 1 / p treated,
//! 1 / (1 − p) held out) in the Hajek form (each arm's weighted sum over its total weight), so
//! messaging everyone reads exactly as the comparison of the arms; over any group fixed before
//! treatment it estimates that group's incremental outcome per listed shopper whatever the
//! scores are.
//! The gate protects against acting on noise: at 1-10% recovery most uplift models' gains are
//! noise, so targeting is recommended only when the Qini interval is above zero and a policy
//! beats messaging everyone in net revenue with a Holm-adjusted paired test.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use super::bootstrap::percentile;
use super::readout::ALPHA;
use super::stats;
use super::uplift::{HonestTest, Scored, ScoredShopper, UpliftModel, METHOD};
use crate::util::mix::mix64;

/// Points of the area's grid (the share messaged, k / GRID).
const GRID: usize = 100;
/// Points of the curve kept in outcomes.json (every 5%).
const CURVE_POINTS: usize = 20;
/// Bootstrap resamples of the Qini area at most (the readout's `--resamples` if fewer).
pub const QINI_RESAMPLES: usize = 1_000;
/// Test shoppers up to which the Qini interval is bootstrapped (a thousand resamples of 20,000
/// take about as long as the rest of a 20,000-shopper readout); above, the normal interval.
pub const BOOTSTRAP_MAX: usize = 20_000;
/// The shares of the "top k%" policies and of the measured uplift.
pub const TOP: [f64; 3] = [0.1, 0.2, 0.3];

/// The words every output gives when the gate does not pass.
pub const NO_EVIDENCE: &str = "no evidence that per-shopper targeting beats the persona plays";

/// One point of the Qini curve: messaging the top `share` by uplift (and no one else) gains
/// `incremental_recoveries` per listed shopper (IPW).
#[derive(Debug, Clone, Serialize)]
pub struct QiniPoint {
    pub share: f64,
    pub incremental_recoveries: f64,
}

/// The Qini curve and the area between it and random targeting.
#[derive(Debug, Clone, Serialize)]
pub struct Qini {
    pub curve: Vec<QiniPoint>,
    /// The mean over k = 1..100 of Q(k/100) − (k/100) Q(1).
    pub area: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// "bootstrap" (percentile, up to [`BOOTSTRAP_MAX`] test shoppers) or "normal".
    pub method: &'static str,
    /// The bootstrap's resamples (0 for the normal interval).
    pub resamples: usize,
}

/// The measured uplift among the top `share` by score (Newcombe's interval).
#[derive(Debug, Clone, Serialize)]
pub struct TopShare {
    pub share: f64,
    pub treatment_n: u64,
    pub holdout_n: u64,
    pub uplift: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// An estimate with its 95% interval.
#[derive(Debug, Clone, Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A policy's value per listed shopper, against messaging no one and against everyone.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub name: String,
    /// Share of the test shoppers it messages.
    pub messaged: f64,
    pub incremental_recoveries: Interval,
    pub incremental_net_revenue: Interval,
    pub recoveries_against_everyone: Interval,
    pub net_revenue_against_everyone: Interval,
    /// Two-sided p of the net revenue against everyone, and Holm's over the uplift policies
    /// (None for the persona plays and everyone, which the gate does not test).
    pub p_value: Option<f64>,
    pub p_holm: Option<f64>,
}

/// The gate's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub passed: bool,
    /// The policy recommended when passed (e.g. "top 20%").
    pub recommended: Option<String>,
    pub words: String,
}

/// outcomes.json `uplift`.
#[derive(Debug, Clone, Serialize)]
pub struct Targeting {
    pub method: &'static str,
    pub test: HonestTest,
    pub learned_on: usize,
    pub tested_on: usize,
    /// "known" (1 − each run's holdout share) or "estimated" (the treated share observed).
    pub treatment_probability: &'static str,
    pub qini: Qini,
    pub top: Vec<TopShare>,
    pub policies: Vec<Policy>,
    pub gate: Gate,
    /// Learned on every counted shopper; `segment`/`assign --outcomes` score new months by it.
    pub model: UpliftModel,
    /// The test shoppers with their out-of-sample uplift (`outcomes --uplift-scores` writes them).
    #[serde(skip)]
    pub tested: Vec<ScoredShopper>,
}

/// A shopper's inverse-probability weight in their arm: 1 / p treated, 1 / (1 − p) held out.
fn weight(s: &ScoredShopper) -> f64 {
    if s.treated {
        1.0 / s.p_treated
    } else {
        1.0 / (1.0 - s.p_treated)
    }
}

/// The test shoppers by uplift, highest first (ties: listing order).
fn ranked(scored: &Scored) -> Vec<&ScoredShopper> {
    let mut r: Vec<&ScoredShopper> = scored.shoppers.iter().collect();
    // Listings are unique, so the order is total and the same on any thread count.
    r.par_sort_unstable_by(|a, b| {
        b.uplift
            .total_cmp(&a.uplift)
            .then(a.listing.cmp(&b.listing))
    });
    r
}

/// A ranked shopper as the Qini curve needs them: (treated, IPW weight, recovered as 0/1).
type Point = (bool, f64, f64);

/// The Qini curve on the grid and its area, from the ranked `points` with bootstrap counts `w`
/// (None: 1 each). Q(k/GRID) = (weighted recoveries of the treated among the first shoppers
/// holding k/GRID of the count) / (the treated's total weight) − the same for the held out: the
/// Hajek form, so Q(1) is the difference of the arms' recovery rates.
fn qini_curve(points: &[Point], w: Option<&[u32]>) -> (Vec<f64>, f64) {
    let count = |i: usize| w.map_or(1.0, |w| f64::from(w[i]));
    let total: f64 = (0..points.len()).map(count).sum();
    let arm_total = |treated: bool| -> f64 {
        points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.0 == treated)
            .map(|(i, p)| count(i) * p.1)
            .sum::<f64>()
            .max(f64::MIN_POSITIVE)
    };
    let (bt, bh) = (arm_total(true), arm_total(false));
    let mut q = vec![0.0; GRID + 1];
    let (mut held, mut sum, mut k) = (0.0, 0.0, 1);
    for (i, (treated, omega, y)) in points.iter().enumerate() {
        held += count(i);
        sum += count(i) * omega * y / if *treated { bt } else { -bh };
        while k <= GRID && held >= total * k as f64 / GRID as f64 - 1e-9 {
            q[k] = sum;
            k += 1;
        }
    }
    let last = q[GRID];
    let area = (1..=GRID)
        .map(|k| q[k] - k as f64 / GRID as f64 * last)
        .sum::<f64>()
        / GRID as f64;
    (q, area)
}

/// Each ranked shopper's weight in the Qini area: r − (GRID + 1) / (2 GRID), r the share of the
/// grid's points k whose top k/GRID holds them (as [`qini_curve`] counts with unit weights), so
/// the area is the Hajek difference of the arms' weighted means of (r − m) y.
fn area_weights(n: usize) -> Vec<f64> {
    // The last position the top k/GRID holds: the first i with i + 1 >= n k / GRID.
    let last: Vec<usize> = (1..=GRID)
        .map(|k| ((n as f64 * k as f64 / GRID as f64 - 1e-9).ceil() as usize).max(1) - 1)
        .collect();
    let m = (GRID + 1) as f64 / (2 * GRID) as f64;
    let mut below = 0; // grid points whose top ends before position j
    (0..n)
        .map(|j| {
            while below < GRID && last[below] < j {
                below += 1;
            }
            (GRID - below) as f64 / GRID as f64 - m
        })
        .collect()
}

/// The Qini curve and area with its 95% interval over the test shoppers (their scores fixed, as
/// the test has them): the percentile bootstrap up to [`BOOTSTRAP_MAX`] shoppers, above it the
/// normal interval of the area's linearization (the Hajek difference of (r − m) y, see
/// [`area_weights`]), which costs one pass where the bootstrap costs a thousand.
fn qini(points: &[Point], resamples: usize, seed: u64) -> Qini {
    let (q, area) = qini_curve(points, None);
    let n = points.len();
    if n > BOOTSTRAP_MAX {
        let w = area_weights(n);
        let (i, _) = hajek(points, |j| w[j] * points[j].2);
        return Qini {
            curve: curve(&q),
            area,
            ci_low: i.ci_low,
            ci_high: i.ci_high,
            method: "normal",
            resamples: 0,
        };
    }
    let resamples = resamples.min(QINI_RESAMPLES);
    let base = mix64(seed ^ 0x7169_6e69);
    let mut areas: Vec<f64> = (0..resamples as u64)
        .into_par_iter()
        .map(|b| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix64(base ^ mix64(b)));
            let mut w = vec![0u32; n];
            for _ in 0..n {
                w[rng.gen_range(0..n)] += 1;
            }
            qini_curve(points, Some(&w)).1
        })
        .collect();
    areas.sort_by(f64::total_cmp);
    let (ci_low, ci_high) = if areas.is_empty() {
        (f64::NEG_INFINITY, f64::INFINITY)
    } else {
        (
            percentile(&areas, ALPHA / 2.0),
            percentile(&areas, 1.0 - ALPHA / 2.0),
        )
    };
    Qini {
        curve: curve(&q),
        area,
        ci_low,
        ci_high,
        method: "bootstrap",
        resamples,
    }
}

/// The curve kept in outcomes.json: every 5%.
fn curve(q: &[f64]) -> Vec<QiniPoint> {
    (0..=CURVE_POINTS)
        .map(|k| QiniPoint {
            share: k as f64 / CURVE_POINTS as f64,
            incremental_recoveries: q[k * GRID / CURVE_POINTS],
        })
        .collect()
}

/// The measured uplift among the top `share` of the ranked shoppers.
fn top_share(r: &[&ScoredShopper], share: f64) -> TopShare {
    let top = &r[..((share * r.len() as f64).round() as usize).min(r.len())];
    let count = |treated: bool| {
        let arm = top.iter().filter(|s| s.treated == treated);
        let n = arm.clone().count() as u64;
        (arm.filter(|s| s.recovered).count() as u64, n)
    };
    let ((xt, nt), (xh, nh)) = (count(true), count(false));
    let rate = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let (ci_low, ci_high) = stats::newcombe(xt, nt, xh, nh, ALPHA);
    TopShare {
        share,
        treatment_n: nt,
        holdout_n: nh,
        uplift: rate(xt, nt) - rate(xh, nh),
        ci_low,
        ci_high,
    }
}

/// The Hajek estimate of the treated's weighted mean of `g` minus the held-out's (each arm's
/// sum of ω g over its sum of ω, ω the IPW weight), with its normal 95% interval from the
/// linearization: shopper i contributes ψ = ±N ω (g − the arm's mean) / the arm's sum of ω, and
/// se = sd(ψ) / sqrt(N). Also the two-sided p of the estimate = 0.
fn hajek(points: &[Point], g: impl Fn(usize) -> f64) -> (Interval, f64) {
    let n = points.len() as f64;
    let mut sums = [[0.0; 2]; 2]; // [arm][sum ω, sum ω g], arm 0 treated
    for (i, (treated, omega, _)) in points.iter().enumerate() {
        let a = usize::from(!treated);
        sums[a][0] += omega;
        sums[a][1] += omega * g(i);
    }
    let mean = |a: usize| {
        if sums[a][0] > 0.0 {
            sums[a][1] / sums[a][0]
        } else {
            0.0
        }
    };
    let estimate = mean(0) - mean(1);
    let psi = points.iter().enumerate().map(|(i, (treated, omega, _))| {
        let a = usize::from(!treated);
        let sign = if *treated { 1.0 } else { -1.0 };
        sign * n * omega * (g(i) - mean(a)) / sums[a][0].max(f64::MIN_POSITIVE)
    });
    let var = psi.map(|x| x * x).sum::<f64>() / (n - 1.0).max(1.0);
    let se = (var / n.max(1.0)).sqrt();
    let z = stats::z_crit(ALPHA);
    let p = if se > 0.0 {
        stats::two_sided_p(estimate / se)
    } else {
        1.0
    };
    let i = Interval {
        estimate,
        ci_low: estimate - z * se,
        ci_high: estimate + z * se,
    };
    (i, p)
}

/// A policy's values, messaging the ranked shoppers for whom `message` is true: against no
/// one, g = d y; against everyone, g = (d − 1) y (y recovered as 0/1, or net revenue).
fn policy(name: String, r: &[&ScoredShopper], points: &[Point], message: &[bool]) -> Policy {
    let per = |y: fn(&ScoredShopper) -> f64, against_all: bool| {
        move |i: usize| match (against_all, message[i]) {
            (false, true) => y(r[i]),
            (true, false) => -y(r[i]),
            _ => 0.0,
        }
    };
    let recovered = |s: &ScoredShopper| f64::from(u8::from(s.recovered));
    let net = |s: &ScoredShopper| s.net_revenue;
    let (net_vs_all, p) = hajek(points, per(net, true));
    Policy {
        name,
        messaged: message.iter().filter(|&&m| m).count() as f64 / r.len().max(1) as f64,
        incremental_recoveries: hajek(points, per(recovered, false)).0,
        incremental_net_revenue: hajek(points, per(net, false)).0,
        recoveries_against_everyone: hajek(points, per(recovered, true)).0,
        net_revenue_against_everyone: net_vs_all,
        p_value: Some(p),
        p_holm: None,
    }
}

/// The policies: everyone, the personas whose play won (`wins[persona]`), the top 10/20/30% by
/// uplift and those with a positive uplift. The last four are the gate's family (Holm).
fn policies(r: &[&ScoredShopper], points: &[Point], wins: &[bool]) -> Vec<Policy> {
    let n = r.len();
    let mut asked: Vec<(String, Vec<bool>)> = vec![
        ("everyone listed".into(), vec![true; n]),
        (
            "the personas whose play won".into(),
            r.iter()
                .map(|s| wins.get(s.persona) == Some(&true))
                .collect(),
        ),
    ];
    for share in TOP {
        let k = (share * n as f64).round() as usize;
        let name = format!("top {:.0}% by uplift", share * 100.0);
        asked.push((name, (0..n).map(|i| i < k).collect()));
    }
    let positive = r.iter().map(|s| s.uplift > 0.0).collect();
    asked.push(("shoppers with a positive uplift".into(), positive));
    // The policies side by side on every thread (each a plain function of its shoppers).
    let mut out: Vec<Policy> = asked
        .into_par_iter()
        .map(|(name, message)| policy(name, r, points, &message))
        .collect();
    out[0].p_value = None;
    out[1].p_value = None;
    let family: Vec<f64> = out[2..].iter().map(|p| p.p_value.unwrap_or(1.0)).collect();
    for (p, h) in out[2..].iter_mut().zip(stats::holm(&family)) {
        p.p_holm = Some(h);
    }
    out
}

/// The gate: the Qini interval above zero, and an uplift policy beating everyone in net revenue
/// (estimate above zero, Holm-adjusted p below 0.05).
fn gate(q: &Qini, policies: &[Policy]) -> Gate {
    let best = policies
        .iter()
        .filter(|p| p.p_holm.is_some_and(|h| h < ALPHA))
        .filter(|p| p.net_revenue_against_everyone.estimate > 0.0)
        .min_by(|a, b| a.p_holm.unwrap_or(1.0).total_cmp(&b.p_holm.unwrap_or(1.0)));
    let qini_above = q.ci_low > 0.0;
    match (qini_above, best) {
        (true, Some(p)) => Gate {
            passed: true,
            recommended: Some(p.name.clone()),
            words: format!(
                "per-shopper targeting beats messaging everyone: message the {} (net revenue per listed shopper {:+.2} [{:+.2}, {:+.2}] against everyone)",
                p.name,
                p.net_revenue_against_everyone.estimate,
                p.net_revenue_against_everyone.ci_low,
                p.net_revenue_against_everyone.ci_high
            ),
        },
        (qini_above, _) => Gate {
            passed: false,
            recommended: None,
            words: format!(
                "{NO_EVIDENCE} ({})",
                if qini_above {
                    "the uplift ranks shoppers, but no policy by it beats messaging everyone in net revenue"
                } else {
                    "the Qini area's interval includes zero: the ranking is not shown to beat random targeting"
                }
            ),
        },
    }
}

/// The test of `scored`: the Qini curve, the top shares, the policies and the gate. `wins`: per
/// persona index, whether its play won against the holdout.
pub fn evaluate(scored: Scored, wins: &[bool], resamples: usize, seed: u64) -> Targeting {
    let r = ranked(&scored);
    let points: Vec<Point> = r
        .iter()
        .map(|s| (s.treated, weight(s), f64::from(u8::from(s.recovered))))
        .collect();
    let qini = qini(&points, resamples, seed);
    let policies = policies(&r, &points, wins);
    let gate = gate(&qini, &policies);
    Targeting {
        method: METHOD,
        tested_on: r.len(),
        top: TOP.iter().map(|&s| top_share(&r, s)).collect(),
        treatment_probability: if scored.probability_known {
            "known"
        } else {
            "estimated"
        },
        qini,
        policies,
        gate,
        test: scored.test,
        learned_on: scored.learned_on,
        model: scored.model,
        tested: scored.shoppers,
    }
}

/// Whom of the treatment arm audience.csv lists (`--target`): everyone (the default), those
/// with a positive uplift, the top share by uplift, or a budget of messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    All,
    Positive,
    /// The top share of the treatment arm, in (0, 1].
    Top(f64),
    /// At most this many shoppers.
    Budget(usize),
}

impl Target {
    /// Parses `all`, `positive`, `top:N%` (0 < N <= 100) or `budget:N` (N >= 1).
    pub fn parse(s: &str) -> anyhow::Result<Target> {
        let bad = || {
            anyhow::anyhow!("--target '{s}': write all, positive, top:N% (e.g. top:30%) or budget:N (e.g. budget:5000)")
        };
        match s.trim() {
            "all" => Ok(Target::All),
            "positive" => Ok(Target::Positive),
            t => {
                if let Some(p) = t.strip_prefix("top:") {
                    let n: f64 = p.trim_end_matches('%').parse().map_err(|_| bad())?;
                    if !(n > 0.0 && n <= 100.0) {
                        anyhow::bail!(
                            "--target '{s}': the share must be above 0% and at most 100%"
                        );
                    }
                    Ok(Target::Top(n / 100.0))
                } else if let Some(b) = t.strip_prefix("budget:") {
                    let n: usize = b.replace('_', "").parse().map_err(|_| bad())?;
                    if n == 0 {
                        anyhow::bail!("--target '{s}': a budget of 0 messages sends nothing");
                    }
                    Ok(Target::Budget(n))
                } else {
                    Err(bad())
                }
            }
        }
    }

    /// The target as written.
    pub fn name(self) -> String {
        match self {
            Target::All => "all".into(),
            Target::Positive => "positive".into(),
            Target::Top(s) => format!("top:{}%", s * 100.0),
            Target::Budget(n) => format!("budget:{n}"),
        }
    }

    /// The audience: the `treated` shoppers (indices) ordered by `uplift`, highest first (ties:
    /// index order), then cut: uplift above 0, the first round(share × treated), or the first
    /// `budget`. `All` keeps everyone in index order.
    pub fn cut(self, treated: &[usize], uplift: &[f64]) -> Vec<usize> {
        if self == Target::All {
            return treated.to_vec();
        }
        let mut order = treated.to_vec();
        order.sort_by(|&a, &b| uplift[b].total_cmp(&uplift[a]).then(a.cmp(&b)));
        let keep = match self {
            Target::All => order.len(),
            Target::Positive => order.iter().take_while(|&&i| uplift[i] > 0.0).count(),
            Target::Top(share) => ((share * order.len() as f64).round() as usize).min(order.len()),
            Target::Budget(n) => n.min(order.len()),
        };
        order.truncate(keep);
        order
    }
}

#[cfg(test)]
mod target_tests {
    use super::{area_weights, hajek, qini, qini_curve, Point, Target};
    use rand::{Rng, SeedableRng};

    /// `n` ranked points: treated with probability 0.7 (weights 1/0.7, 1/0.3), recovered with 8%
    /// plus a step from `effect` among the first half when treated.
    fn points(n: usize, seed: u64, effect: f64) -> Vec<Point> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|j| {
                let treated = rng.gen_bool(0.7);
                let p = 0.08 + if treated && j < n / 2 { effect } else { 0.0 };
                let omega = if treated { 1.0 / 0.7 } else { 1.0 / 0.3 };
                (treated, omega, f64::from(u8::from(rng.gen_bool(p))))
            })
            .collect()
    }

    #[test]
    fn the_area_is_the_hajek_difference_of_its_weights_times_recovery() {
        for (n, seed) in [(7, 1), (100, 2), (1_234, 3), (50_001, 4)] {
            let p = points(n, seed, 0.05);
            let area = qini_curve(&p, None).1;
            let g: Vec<f64> = area_weights(n)
                .iter()
                .zip(&p)
                .map(|(w, x)| w * x.2)
                .collect();
            let (i, _) = hajek(&p, |j| g[j]);
            assert!(
                (i.estimate - area).abs() < 1e-12,
                "n {n}: {} vs {area}",
                i.estimate
            );
        }
    }

    #[test]
    fn the_normal_interval_of_the_area_is_about_as_wide_as_the_bootstrap() {
        // Below BOOTSTRAP_MAX both can be computed: on 10 shops of 15,000 the normal interval's
        // width is within 15% of the bootstrap's (1,000 resamples), and its centre within a
        // tenth of the width.
        for seed in 0..10 {
            let p = points(15_000, seed, 0.04);
            let boot = qini(&p, 1_000, seed);
            let g: Vec<f64> = area_weights(p.len())
                .iter()
                .zip(&p)
                .map(|(w, x)| w * x.2)
                .collect();
            let (normal, _) = hajek(&p, |j| g[j]);
            let (wb, wn) = (boot.ci_high - boot.ci_low, normal.ci_high - normal.ci_low);
            assert!(
                (wn / wb - 1.0).abs() < 0.15,
                "seed {seed}: widths {wn} vs {wb}"
            );
            let centre = |lo: f64, hi: f64| (lo + hi) / 2.0;
            let shift = centre(normal.ci_low, normal.ci_high) - centre(boot.ci_low, boot.ci_high);
            assert!(shift.abs() < 0.1 * wb, "seed {seed}: centres {shift}");
        }
    }

    #[test]
    fn targets_parse_and_bad_ones_say_how_to_write_them() {
        assert_eq!(Target::parse("all").unwrap(), Target::All);
        assert_eq!(Target::parse("positive").unwrap(), Target::Positive);
        assert_eq!(Target::parse("top:30%").unwrap(), Target::Top(0.3));
        assert_eq!(Target::parse("top:100").unwrap(), Target::Top(1.0));
        assert_eq!(Target::parse("budget:5_000").unwrap(), Target::Budget(5000));
        for bad in ["top:0%", "top:120%", "budget:0", "budget:x", "some", "top:"] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--target '{bad}'")), "{e}");
        }
    }

    #[test]
    fn the_cut_orders_by_uplift_and_keeps_what_the_target_says() {
        let uplift = [0.05, -0.02, 0.10, 0.05, 0.01, 0.30];
        let treated = [0, 1, 2, 3, 4]; // 5 is held out: never in the audience
        assert_eq!(Target::All.cut(&treated, &uplift), vec![0, 1, 2, 3, 4]);
        assert_eq!(Target::Positive.cut(&treated, &uplift), vec![2, 0, 3, 4]);
        // round(0.4 × 5) = 2; ties (0 and 3 at 0.05) in index order.
        assert_eq!(Target::Top(0.4).cut(&treated, &uplift), vec![2, 0]);
        assert_eq!(Target::Top(0.6).cut(&treated, &uplift), vec![2, 0, 3]);
        assert_eq!(
            Target::Budget(9).cut(&treated, &uplift),
            vec![2, 0, 3, 4, 1]
        );
    }
}
