//! The readout: listed shoppers, their orders and touches in, per persona and overall the
//! recovery of each arm, the uplift with its interval and verdict, incremental and attributed
//! revenue, the observational breakdowns and the gates out (docs/outcomes.md, every formula).
//!
//! Shaped as one pass that turns every listed shopper into an [`Outcome`] (recovered, revenue,
//! first touch, contamination), then tallies that read only outcomes: each comparison sees two
//! slices of outcomes and nothing else, so the overall row and a persona row are computed alike.

use serde::Serialize;

use super::bootstrap::{self, ArmRevenue};
use super::load::{Channel, Entries, Exposure, Runs, Touches};
use super::stats;
use crate::model::holdout::Arm;
use crate::util::timefmt::{self, DAY, HOUR};

pub const FORMAT_VERSION: u32 = 1;
/// Significance level of every test and interval.
pub const ALPHA: f64 = 0.05;

/// How to read out, checked by `config::outcomes`.
#[derive(Debug, Clone)]
pub struct ReadoutSettings {
    pub window: i64,
    pub attribution_window: i64,
    pub seed: u64,
    pub resamples: usize,
    pub allow_partial: bool,
    pub no_holdout: bool,
    /// Skip the per-shopper uplift (`--no-uplift`).
    pub no_uplift: bool,
    pub expected_holdout: Option<f64>,
    pub max_contamination: f64,
    pub max_pre_run: f64,
    /// The orders carry discount_amount (set by the command from the orders' columns).
    pub discount_amounts: bool,
    /// The cost of one incentive that is not a discount, taken off the net revenue of each
    /// recovered shopper of a variant other than `reminder` (`--incentive-cost`; 0: none).
    pub incentive_cost: f64,
    /// `order_value` is already net of discounts (`[orders] value_is = "net"`, `--order-value-is
    /// net`; Shopify's Total is).
    pub value_is_net: bool,
    /// How far the orders reach, when the user says (`--orders-until`): the partial-window rule
    /// uses the later of it and the latest order.
    pub orders_until: Option<i64>,
}

/// The defaults every help text, `cartsona init` and the config show (docs/outcomes.md): a
/// 7-day outcome window, 5-day attribution, seed 42, 2,000 resamples, both gates at 2%.
impl Default for ReadoutSettings {
    fn default() -> ReadoutSettings {
        ReadoutSettings {
            window: 7 * crate::util::timefmt::DAY,
            attribution_window: 5 * crate::util::timefmt::DAY,
            seed: 42,
            resamples: 2_000,
            allow_partial: false,
            no_holdout: false,
            no_uplift: false,
            expected_holdout: None,
            max_contamination: 0.02,
            max_pre_run: 0.02,
            discount_amounts: false,
            incentive_cost: 0.0,
            value_is_net: false,
            orders_until: None,
        }
    }
}

/// One order of a listed shopper.
#[derive(Debug, Clone)]
pub struct OrderIn {
    pub at: i64,
    pub value: f64,
    pub discount: bool,
    pub discount_amount: Option<f64>,
}

/// What happened to one counted shopper in their window.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub persona: usize,
    pub arm: Arm,
    pub variant: Option<usize>,
    pub recovered: bool,
    pub revenue: f64,
    /// Days since T of the first order in the window (1 = the first day).
    pub day: Option<u32>,
    pub discounted_orders: u32,
    pub discount_amount: f64,
    /// Revenue of the window's orders net of their discounts (docs/outcomes.md "Net revenue").
    pub net_revenue: f64,
    /// Revenue of orders within the attribution window after a touch.
    pub attributed: f64,
    /// The first touch in the window: (sent_at, channel).
    pub first_touch: Option<(i64, Channel)>,
    pub abandoned_at: Option<i64>,
    /// A touch in the window (a contamination when held out).
    pub touched: bool,
    /// A touch between the latest abandoned cart and T (None: abandonment time unknown).
    pub pre_run: Option<bool>,
    /// The run's return propensity for the shopper, if it had one.
    pub propensity: Option<f64>,
    /// Whether this is their first listing since the holdout split began.
    pub exposure: Exposure,
    /// The planned holdout share of their run (None: the run has no holdout).
    pub planned_share: Option<f64>,
    /// Their listing's index in [`Runs::shoppers`], whose `covariates` the balance of the arms
    /// reads (an index, not a copy: 70 MB less at a million shoppers).
    pub listing: usize,
}

impl Outcome {
    /// A shopper of `persona` in `arm` before anything is known of their window.
    pub fn new(persona: usize, arm: Arm) -> Outcome {
        Outcome {
            persona,
            arm,
            variant: None,
            recovered: false,
            revenue: 0.0,
            day: None,
            discounted_orders: 0,
            discount_amount: 0.0,
            net_revenue: 0.0,
            attributed: 0.0,
            first_touch: None,
            abandoned_at: None,
            touched: false,
            pre_run: None,
            propensity: None,
            exposure: Exposure::First,
            planned_share: None,
            listing: 0,
        }
    }
}

/// The shoppers of the readout and what became of the others.
#[derive(Debug, Clone, Serialize)]
pub struct Population {
    /// Listings across every run (a shopper listed by two runs counts twice here).
    pub listings: usize,
    /// Shoppers counted in the randomized tables, once each, at their first listing since the
    /// holdout split began (the earliest run given that lists them).
    pub counted: usize,
    /// Listings of a shopper already counted from an earlier run given (ignored).
    pub repeat_listings: usize,
    /// Shoppers whose earliest listing among the runs given is not their first since the split
    /// began: reported apart ("listed again"), in no randomized table.
    pub listed_again: usize,
    /// Of the counted, shoppers whose first listing cannot be known (the first_exposure gate).
    pub first_listing_unknown: usize,
    /// With --entries: listed shoppers who never entered the flow (left out).
    pub not_in_entries: Option<usize>,
    /// With --entries: entries of shoppers no run lists (left out).
    pub entries_not_listed: Option<u64>,
    pub entries_repeated: Option<u64>,
    /// With --entries: shoppers whose entry's arm differs from the arm their run wrote.
    pub arm_differs_from_run: Option<usize>,
    pub touches: Option<u64>,
    /// Touches of shoppers no run lists (not used).
    pub touches_not_listed: Option<u64>,
}

/// A listed shopper's arm and variant (index into the variant names); None: left out.
pub type ArmOf = Option<(Arm, Option<usize>)>;

/// Where the arms come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArmSource {
    Runs,
    Entries,
    /// --no-holdout: every shopper treated, no comparison.
    None,
}

impl ArmSource {
    pub fn name(self) -> &'static str {
        match self {
            ArmSource::Runs => "the runs' arm column",
            ArmSource::Entries => "the flow's entries (--entries)",
            ArmSource::None => "none (--no-holdout)",
        }
    }
}

/// The arms of the listed shoppers (None: left out), the variant names, and the population notes.
pub fn arms(
    runs: &Runs,
    entries: Option<&Entries>,
    no_holdout: bool,
) -> anyhow::Result<(Vec<ArmOf>, Vec<String>, ArmSource)> {
    let mut variants: Vec<String> = Vec::new();
    if let Some(e) = entries {
        let mut names: Vec<&str> = e
            .by_shopper
            .iter()
            .flatten()
            .filter_map(|x| x.variant.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        variants = names.iter().map(|s| s.to_string()).collect();
        let arms = e
            .by_shopper
            .iter()
            .map(|x| {
                x.as_ref().map(|x| {
                    let v = x
                        .variant
                        .as_deref()
                        .map(|v| variants.iter().position(|n| n == v).expect("listed"));
                    (x.arm, v)
                })
            })
            .collect();
        return Ok((arms, variants, ArmSource::Entries));
    }
    if let Some(s) = runs.shoppers.iter().find(|s| s.arm.is_none()) {
        if !no_holdout || runs.shoppers.iter().any(|s| s.arm.is_some()) {
            let run = &runs.runs[s.run].dir;
            if runs.shoppers.iter().any(|s| s.arm.is_some()) {
                anyhow::bail!("--run {run} has no holdout (no arm column) while another run has one: read the runs of one experiment together, or give the flow's --entries");
            }
            anyhow::bail!("no holdout: incremental recovery cannot be measured. --run {run} has no arm column (run segment or assign with --holdout SHARE), and no --entries give the arms; --no-holdout reads out rates and attributed revenue only");
        }
        return Ok((
            runs.shoppers
                .iter()
                .map(|_| Some((Arm::Treatment, None)))
                .collect(),
            variants,
            ArmSource::None,
        ));
    }
    // The runs' own variants (`--variants`): each treated shopper's, by the rule of the run that
    // listed them first, named in the order the runs' splits give them.
    for v in runs.runs.iter().filter_map(|r| r.variants.as_ref()) {
        for x in &v.split {
            if !variants.contains(&x.name) {
                variants.push(x.name.clone());
            }
        }
    }
    let assigners: Vec<_> = runs
        .runs
        .iter()
        .map(|r| r.variants.as_ref().map(|v| (v, v.assigner())))
        .collect();
    let variant_of = |s: &super::load::Listed| {
        let (v, assign) = assigners[s.run].as_ref()?;
        let name = v.name(assign(&s.customer_id));
        variants.iter().position(|n| n == name)
    };
    let arms = runs.shoppers.iter().map(|s| {
        let variant = (s.arm == Some(Arm::Treatment))
            .then(|| variant_of(s))
            .flatten();
        s.arm.map(|a| (a, variant))
    });
    Ok((arms.collect(), variants, ArmSource::Runs))
}

/// The latest window end, and its shopper's T, when the orders stop before it.
pub fn partial(runs: &Runs, latest_order: Option<i64>, window: i64) -> Option<(i64, Option<i64>)> {
    let end = runs.shoppers.iter().map(|s| s.t + window).max()?;
    match latest_order {
        Some(t) if t >= end => None,
        other => Some((end, other)),
    }
}

/// Turns each counted shopper into an [`Outcome`]. `costly[v]`: variant v carries an incentive
/// (any but `reminder`), whose `s.incentive_cost` a recovered shopper of it costs.
pub fn outcomes(
    runs: &Runs,
    arms: &[ArmOf],
    orders: &[Vec<OrderIn>],
    touches: Option<&Touches>,
    s: &ReadoutSettings,
    costly: &[bool],
) -> Vec<Outcome> {
    let none: Vec<super::load::Touch> = Vec::new();
    let mut out = Vec::with_capacity(runs.shoppers.len());
    for (i, l) in runs.shoppers.iter().enumerate() {
        let Some((arm, variant)) = arms[i] else {
            continue;
        };
        let (t, end) = (l.t, l.t + s.window);
        let ts = touches.map_or(&none, |x| &x.by_shopper[i]);
        let mut o = Outcome {
            variant,
            first_touch: ts
                .iter()
                .find(|x| x.sent_at > t && x.sent_at <= end)
                .map(|x| (x.sent_at, x.channel)),
            abandoned_at: l.abandoned_at,
            pre_run: touches
                .and(l.abandoned_at)
                .map(|a| ts.iter().any(|x| x.sent_at > a && x.sent_at <= t)),
            propensity: l.propensity,
            exposure: l.exposure,
            planned_share: runs.runs[l.run].holdout.as_ref().map(|h| h.share),
            listing: i,
            ..Outcome::new(l.persona, arm)
        };
        o.touched = o.first_touch.is_some();
        for ord in orders[i].iter().filter(|x| x.at > t && x.at <= end) {
            o.recovered = true;
            o.revenue += ord.value;
            o.net_revenue += if s.value_is_net {
                ord.value
            } else {
                ord.value - ord.discount_amount.unwrap_or(0.0)
            };
            let day = ((ord.at - t - 1) / DAY + 1) as u32;
            o.day = Some(o.day.map_or(day, |d| d.min(day)));
            if ord.discount {
                o.discounted_orders += 1;
                o.discount_amount += ord.discount_amount.unwrap_or(0.0);
            }
            let last = ts.partition_point(|x| x.sent_at <= ord.at);
            if last > 0 && ord.at - ts[last - 1].sent_at <= s.attribution_window {
                o.attributed += ord.value;
            }
        }
        if o.recovered && variant.is_some_and(|v| costly.get(v) == Some(&true)) {
            o.net_revenue -= s.incentive_cost;
        }
        out.push(o);
    }
    out
}

/// One arm's tally.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArmStats {
    pub n: u64,
    pub recovered: u64,
    pub rate: Option<f64>,
    pub revenue: f64,
    pub revenue_per_abandoner: Option<f64>,
}

impl ArmStats {
    pub fn of<'a>(shoppers: impl Iterator<Item = &'a Outcome>) -> ArmStats {
        let mut a = ArmStats::default();
        for o in shoppers {
            a.n += 1;
            a.recovered += o.recovered as u64;
            a.revenue += o.revenue;
        }
        if a.n > 0 {
            a.rate = Some(a.recovered as f64 / a.n as f64);
            a.revenue_per_abandoner = Some(a.revenue / a.n as f64);
        }
        a
    }
    fn rate0(&self) -> f64 {
        self.rate.unwrap_or(0.0)
    }
}

/// An estimate with its 95% interval.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub estimate: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// How the interval was computed (newcombe, bootstrap or normal).
    pub method: &'static str,
}

/// Treatment minus holdout.
#[derive(Debug, Clone, Serialize)]
pub struct Uplift {
    pub absolute: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Relative to the holdout's rate (None when it is 0).
    pub relative: Option<f64>,
    pub z: f64,
    pub p_value: f64,
    /// Holm-adjusted over the family (the personas; a persona's variants).
    pub p_holm: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Win,
    Loss,
    Inconclusive,
    /// No holdout to compare with.
    #[serde(rename = "not measured")]
    NotMeasured,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Win => "win",
            Verdict::Loss => "loss",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// Discounts on the window orders of each arm, and the incremental revenue net of them.
#[derive(Debug, Clone, Serialize)]
pub struct Discount {
    /// Discounted window orders of the treatment arm.
    pub orders: u64,
    /// Sum of the treatment arm's discount_amount (None when the orders carry no amounts).
    pub amount: Option<f64>,
    /// Discounted window orders of the holdout (organic codes the shoppers found themselves).
    pub holdout_orders: u64,
    /// Sum of the holdout's discount_amount (None when the orders carry no amounts).
    pub holdout_amount: Option<f64>,
    /// (net revenue per treated shopper − per held-out shopper) × treated shoppers, with Welch's
    /// interval: what the play earned after the discounts it gave, the holdout's organic
    /// discounts netted out. None when the order values are gross and carry no discount_amount.
    pub incremental_revenue_net: Option<Estimate>,
}

/// Treatment against holdout for one group of shoppers (a persona, or everyone).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub treatment: ArmStats,
    pub holdout: ArmStats,
    pub uplift: Option<Uplift>,
    pub verdict: Verdict,
    /// Where the verdict and the interval disagree at the boundary, what to make of it.
    pub note: Option<String>,
    pub incremental_orders: Option<Estimate>,
    pub incremental_revenue: Option<Estimate>,
    pub attributed_revenue: Option<f64>,
    /// attributed / incremental revenue (None unless both are positive).
    pub attributed_to_incremental: Option<f64>,
    pub discount: Discount,
    pub mde: Option<f64>,
    /// Share of the treatment arm with a touch in the window (None without --touches).
    pub treated_reached: Option<f64>,
    /// The arm counts against the planned share (None: no planned share known).
    pub sample_ratio: Option<SampleRatio>,
}

/// A comparison's arm counts against the planned holdout share: the chi-square test of
/// `stats::sample_ratio`, Holm-adjusted over the comparison's family by [`judge`].
#[derive(Debug, Clone, Serialize)]
pub struct SampleRatio {
    pub expected_share: f64,
    pub chi_square: f64,
    pub p_value: f64,
    pub p_holm: f64,
}

/// The sample ratio of a group: each shopper's planned share (or `expected`, the flag) summed.
fn sample_ratio(group: &[&Outcome], expected: Option<f64>, held: u64) -> Option<SampleRatio> {
    let n = group.len() as u64;
    let planned: f64 = match expected {
        Some(share) => share * n as f64,
        None => group.iter().map(|o| o.planned_share).sum::<Option<f64>>()?,
    };
    if n == 0 || planned <= 0.0 {
        return None;
    }
    let share = planned / n as f64;
    let (chi_square, p_value) = stats::sample_ratio(n - held, held, share);
    Some(SampleRatio {
        expected_share: share,
        chi_square,
        p_value,
        p_holm: p_value,
    })
}

/// Compares the treatment and holdout outcomes of a group; `p_holm` and the verdict are set by
/// [`judge`] once the family is known.
pub fn compare(group: &[&Outcome], with_touches: bool, s: &ReadoutSettings) -> Comparison {
    let t: Vec<&Outcome> = group
        .iter()
        .copied()
        .filter(|o| o.arm == Arm::Treatment)
        .collect();
    let h: Vec<&Outcome> = group
        .iter()
        .copied()
        .filter(|o| o.arm == Arm::Holdout)
        .collect();
    let (ts, hs) = (
        ArmStats::of(t.iter().copied()),
        ArmStats::of(h.iter().copied()),
    );
    let measured = ts.n > 0 && hs.n > 0;
    let uplift = measured.then(|| {
        let (lo, hi) = stats::newcombe(ts.recovered, ts.n, hs.recovered, hs.n, ALPHA);
        let (z, p) = stats::z_test(ts.recovered, ts.n, hs.recovered, hs.n);
        let d = ts.rate0() - hs.rate0();
        Uplift {
            absolute: d,
            ci_low: lo,
            ci_high: hi,
            relative: (hs.rate0() > 0.0).then(|| d / hs.rate0()),
            z,
            p_value: p,
            p_holm: p,
        }
    });
    let nt = ts.n as f64;
    let incremental_orders = uplift.as_ref().map(|u| Estimate {
        estimate: u.absolute * nt,
        ci_low: Some(u.ci_low * nt),
        ci_high: Some(u.ci_high * nt),
        method: "newcombe",
    });
    let incremental_revenue = measured.then(|| incremental_revenue(&t, &h));
    let attributed = with_touches.then(|| t.iter().map(|o| o.attributed).sum::<f64>());
    let ratio = match (attributed, &incremental_revenue) {
        (Some(a), Some(i)) if a > 0.0 && i.estimate > 0.0 => Some(a / i.estimate),
        _ => None,
    };
    let discount = discount(&t, &h, s);
    Comparison {
        sample_ratio: sample_ratio(group, s.expected_holdout, hs.n),
        mde: stats::stated_mde(hs.rate0(), ts.n, hs.n, 1),
        treated_reached: (with_touches && ts.n > 0)
            .then(|| t.iter().filter(|o| o.touched).count() as f64 / nt),
        uplift,
        verdict: if measured {
            Verdict::Inconclusive
        } else {
            Verdict::NotMeasured
        },
        note: None,
        incremental_orders,
        incremental_revenue,
        attributed_revenue: attributed,
        attributed_to_incremental: ratio,
        discount,
        treatment: ts,
        holdout: hs,
    }
}

/// (revenue per treated shopper - per held-out shopper) x treated shoppers, with its interval.
fn incremental_revenue(t: &[&Outcome], h: &[&Outcome]) -> Estimate {
    let revenues = |v: &[&Outcome]| -> Vec<f64> {
        v.iter()
            .filter(|o| o.recovered)
            .map(|o| o.revenue)
            .collect()
    };
    let (rt, rh) = (revenues(t), revenues(h));
    let (nt, nh) = (t.len() as u64, h.len() as u64);
    let per = |r: &[f64], n: u64| r.iter().sum::<f64>() / n as f64;
    let estimate = (per(&rt, nt) - per(&rh, nh)) * nt as f64;
    let ci = bootstrap::incremental_revenue(
        &ArmRevenue {
            n: nt,
            recovered: &rt,
        },
        &ArmRevenue {
            n: nh,
            recovered: &rh,
        },
    );
    Estimate {
        estimate,
        ci_low: ci.map(|c| c.0),
        ci_high: ci.map(|c| c.1),
        method: match ci.map(|c| c.2) {
            Some(bootstrap::Method::Normal) => "normal",
            Some(bootstrap::Method::Bootstrap) => "bootstrap",
            _ => "welch",
        },
    }
}

/// Discounts on the window orders of recovered treated shoppers, and the incremental revenue
/// net of them.
fn discount(t: &[&Outcome], h: &[&Outcome], s: &ReadoutSettings) -> Discount {
    let tally = |v: &[&Outcome]| -> (u64, f64) {
        v.iter()
            .filter(|o| o.recovered)
            .fold((0, 0.0), |(n, a), o| {
                (n + o.discounted_orders as u64, a + o.discount_amount)
            })
    };
    let ((orders, amount), (holdout_orders, holdout_amount)) = (tally(t), tally(h));
    let known = s.value_is_net || s.discount_amounts;
    let net = |v: &[&Outcome]| -> Vec<f64> {
        v.iter()
            .filter(|o| o.recovered)
            .map(|o| o.net_revenue)
            .collect()
    };
    let incremental_revenue_net = (known && !t.is_empty() && !h.is_empty()).then(|| {
        let (rt, rh) = (net(t), net(h));
        let at = ArmRevenue {
            n: t.len() as u64,
            recovered: &rt,
        };
        let ah = ArmRevenue {
            n: h.len() as u64,
            recovered: &rh,
        };
        let per = |r: &[f64], n: usize| r.iter().sum::<f64>() / n as f64;
        let ci = bootstrap::welch(&at, &ah);
        Estimate {
            estimate: (per(&rt, t.len()) - per(&rh, h.len())) * t.len() as f64,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            method: "welch",
        }
    });
    Discount {
        orders,
        amount: s.discount_amounts.then_some(amount),
        holdout_orders,
        holdout_amount: s.discount_amounts.then_some(holdout_amount),
        incremental_revenue_net,
    }
}

/// Sets the Holm-adjusted p-values of a family and each comparison's verdict and note.
pub fn judge<'a>(family: impl IntoIterator<Item = &'a mut Comparison>, what: &str) {
    let mut family: Vec<&mut Comparison> = family.into_iter().collect();
    let p: Vec<f64> = family
        .iter()
        .map(|c| c.uplift.as_ref().map_or(1.0, |u| u.p_value))
        .collect();
    let adjusted = stats::holm(&p);
    let m = family.len();
    let ratios: Vec<f64> = family
        .iter()
        .map(|c| c.sample_ratio.as_ref().map_or(1.0, |r| r.p_value))
        .collect();
    for (c, p_holm) in family.iter_mut().zip(stats::holm(&ratios)) {
        if let Some(r) = c.sample_ratio.as_mut() {
            r.p_holm = p_holm;
        }
    }
    for (c, p_holm) in family.iter_mut().zip(adjusted) {
        // Detectable as the verdict judges: at Holm's first step over this family.
        c.mde = stats::stated_mde(c.holdout.rate0(), c.treatment.n, c.holdout.n, m);
        let Some(u) = c.uplift.as_mut() else { continue };
        u.p_holm = p_holm;
        (c.verdict, c.note) = verdict_and_note(
            u.absolute,
            (u.ci_low, u.ci_high),
            (u.p_value, p_holm),
            m,
            what,
        );
        // A recovery win says nothing of money: say so when the revenue interval spans 0.
        let revenue_spans_zero = c
            .incremental_revenue
            .as_ref()
            .is_some_and(|e| e.ci_low.is_some_and(|l| l <= 0.0));
        if c.verdict == Verdict::Win && revenue_spans_zero {
            let money = "it recovers more carts, but its incremental revenue's 95% interval includes 0: the extra recoveries are not shown to bring revenue";
            c.note = Some(
                c.note
                    .take()
                    .map_or(money.to_string(), |n| format!("{n}; {money}")),
            );
        }
    }
}

/// The verdict of an uplift `d` with its 95% interval, judged at its Holm-adjusted p in a family
/// of `m` `what`, and the note where the interval and the test disagree at the boundary (one rule
/// for personas, bands, the overall row and variants).
pub fn verdict_and_note(
    d: f64,
    (ci_low, ci_high): (f64, f64),
    (p_value, p_holm): (f64, f64),
    m: usize,
    what: &str,
) -> (Verdict, Option<String>) {
    let verdict = match (p_holm < ALPHA, d) {
        (true, d) if d > 0.0 => Verdict::Win,
        (true, d) if d < 0.0 => Verdict::Loss,
        _ => Verdict::Inconclusive,
    };
    let excludes_zero = ci_low > 0.0 || ci_high < 0.0;
    let note = match (verdict, excludes_zero) {
        (Verdict::Inconclusive, true) if p_value < ALPHA && m > 1 => Some(format!(
            "the 95% interval excludes 0 and p = {:.3}, but after adjusting for {m} {what} (Holm) p = {:.3}: inconclusive",
            p_value, p_holm
        )),
        (Verdict::Inconclusive, true) => Some(format!(
            "the 95% interval excludes 0 but the z-test's p = {:.3} is not below 0.05: the two methods disagree at the boundary",
            p_holm
        )),
        (Verdict::Win | Verdict::Loss, false) => Some(format!(
            "the z-test's p = {:.4} is below 0.05 but the 95% interval includes 0: the two methods disagree at the boundary; treat it as borderline",
            p_holm
        )),
        _ => None,
    };
    (verdict, note)
}

/// Formats a window for the outputs ("7d").
pub fn window_text(micros: i64) -> String {
    timefmt::format_duration(micros)
}

/// The delay buckets from abandonment to the first touch.
pub const DELAYS: [(&str, i64); 4] = [
    ("<= 1 h", HOUR),
    ("1-4 h", 4 * HOUR),
    ("4-24 h", 24 * HOUR),
    ("> 24 h", i64::MAX),
];

/// Each run shopper's orders (in `runs.index` order) and the latest order time of all, from the
/// orders read; orders of other customers count only toward the latest time.
pub fn orders_by_shopper(
    runs: &super::load::Runs,
    ds: &crate::ingest::schema::Dataset,
) -> (Vec<Vec<OrderIn>>, Option<i64>) {
    let mut orders: Vec<Vec<OrderIn>> = vec![Vec::new(); runs.shoppers.len()];
    let mut latest_order = None;
    for o in &ds.orders {
        latest_order = latest_order.max(Some(o.ordered_at));
        if let Some(&i) = runs.index.get(ds.customers.name(o.customer)) {
            orders[i].push(OrderIn {
                at: o.ordered_at,
                value: o.value,
                discount: o.discount,
                discount_amount: o.discount_amount.map(crate::ingest::schema::Amount::get),
            });
        }
    }
    (orders, latest_order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison(d: f64, (lo, hi): (f64, f64), p: f64) -> Comparison {
        Comparison {
            treatment: ArmStats::default(),
            holdout: ArmStats::default(),
            uplift: Some(Uplift {
                absolute: d,
                ci_low: lo,
                ci_high: hi,
                relative: None,
                z: 0.0,
                p_value: p,
                p_holm: p,
            }),
            verdict: Verdict::Inconclusive,
            note: None,
            incremental_orders: None,
            incremental_revenue: None,
            attributed_revenue: None,
            attributed_to_incremental: None,
            discount: Discount {
                orders: 0,
                amount: None,
                holdout_orders: 0,
                holdout_amount: None,
                incremental_revenue_net: None,
            },
            mde: None,
            treated_reached: None,
            sample_ratio: None,
        }
    }

    /// Holm over the family decides the verdict; where it and the interval disagree, a note says
    /// so (worked out by hand: Holm of 0.01, 0.04, 0.03 is 0.03, 0.06, 0.06).
    #[test]
    fn verdicts_follow_holm_and_notes_mark_the_boundary() {
        let mut a = comparison(0.05, (0.01, 0.09), 0.01);
        let mut b = comparison(0.04, (0.002, 0.08), 0.04);
        let mut c = comparison(-0.03, (-0.06, 0.001), 0.03);
        judge([&mut a, &mut b, &mut c], "personas");
        assert_eq!(
            (a.verdict, b.verdict, c.verdict),
            (Verdict::Win, Verdict::Inconclusive, Verdict::Inconclusive)
        );
        assert!((b.uplift.as_ref().unwrap().p_holm - 0.06).abs() < 1e-12);
        assert!(a.note.is_none());
        let note = b.note.unwrap();
        assert!(
            note.contains("excludes 0") && note.contains("3 personas (Holm) p = 0.060"),
            "{note}"
        );
        assert!(c.note.is_none(), "its interval includes 0: no disagreement");
        let mut lone = comparison(-0.04, (-0.09, 0.003), 0.02);
        judge([&mut lone], "comparison");
        assert_eq!(lone.verdict, Verdict::Loss);
        assert!(lone.note.unwrap().contains("includes 0"));
    }
}
