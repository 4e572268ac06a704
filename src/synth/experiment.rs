//! The recovery experiment of `cartsona generate --holdout SHARE`: after the last month's T, each
//! shopper of an abandoning archetype gets an arm by the holdout rule (model::holdout), treated
//! shoppers get the touches of their archetype's play, and each shopper comes back (an order in
//! the 7-day window) with their archetype's base rate, plus its uplift when treated
//! (docs/generator.md lists the defaults). Written to next/: orders.csv, touches.csv, truth.csv.
//! With planted returns (`--returns`, synth::returns) the base is the shopper's planted
//! behaviour after T instead (`shopper_with_returns`), with or without an experiment on top.
//!
//! Each shopper's draws come from their own stream (month = months + 1), so the files are
//! byte-identical for a seed, and the months before do not move.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rand::Rng;

use super::{customer_id, money, poisson, stream, Archetype, SynthParams};
use crate::model::holdout::{Arm, Holdout};
use crate::util::timefmt::{DAY, HOUR, MINUTE, SECOND};

/// The outcome window the orders are planted in.
pub const WINDOW: i64 = 7 * DAY;

/// (base recovery rate without a message, uplift with the play) per archetype; the indecisive
/// browser's play does nothing (uplift 0), so a readout must not call it a win.
pub fn default_rates(a: Archetype) -> (f64, f64) {
    match a {
        Archetype::FirstTimeAnxious => (0.06, 0.08),
        Archetype::HighValueLoyal => (0.20, 0.10),
        Archetype::DealSeeker => (0.10, 0.12),
        Archetype::IndecisiveBrowser => (0.08, 0.0),
        Archetype::MobileImpulse => (0.12, 0.06),
        Archetype::Buyer => (0.0, 0.0),
    }
}

/// The play's touches: (channel, hours after T of the first, later steps after the first).
fn play(a: Archetype) -> [(&'static str, i64); 3] {
    match a {
        Archetype::FirstTimeAnxious => [("email", 0), ("email", 9), ("email", 36)],
        Archetype::HighValueLoyal => [("email", 0), ("sms", 9), ("email", 36)],
        Archetype::DealSeeker => [("email", 0), ("push", 9), ("email", 36)],
        Archetype::IndecisiveBrowser => [("email", 0), ("ads", 9), ("email", 36)],
        Archetype::MobileImpulse | Archetype::Buyer => [("push", 0), ("sms", 9), ("email", 36)],
    }
}

/// The uplift of a plain reminder (no incentive) per archetype, with `--variants`: the
/// first-time-anxious and high-value-loyal come back for the reminder as for the incentive (their
/// incentive does not pay: it only costs its discount), the deal-seekers and mobile-impulse
/// shoppers much less (their incentive pays).
pub fn default_reminder(a: Archetype) -> f64 {
    match a {
        Archetype::FirstTimeAnxious => 0.08,
        Archetype::HighValueLoyal => 0.10,
        Archetype::DealSeeker => 0.03,
        Archetype::MobileImpulse => 0.02,
        Archetype::IndecisiveBrowser | Archetype::Buyer => 0.0,
    }
}

/// The discount an incentive variant's recovery order carries, as a share of its value.
pub const INCENTIVE_DISCOUNT: f64 = 0.1;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub holdout: Holdout,
    /// (base rate, uplift) per archetype.
    pub rates: BTreeMap<Archetype, (f64, f64)>,
    /// The variants inside the treatment arm (`--variants`), and a reminder's uplift per
    /// archetype.
    pub variants: Option<(crate::model::variants::Variants, BTreeMap<Archetype, f64>)>,
    /// `--uplift-varies H`: each shopper's effects (the play's, the incentive's, the
    /// reminder's) are their archetype's times [`Experiment::scale`] of their last abandoned
    /// cart's value; 0 plants the archetype's effect for everyone.
    pub varies: f64,
}

/// How far `--uplift-varies` may go either way: at 2, a cart two spreads above the archetype's
/// median gets five times the archetype's effect and one two spreads below minus three times.
pub const MAX_VARIES: f64 = 2.0;

/// The variants of `generate --variants SPEC [--variant-salt SALT]` (None without), by the rule
/// `segment --variants` applies, begun at `as_of`.
pub fn variants(
    spec: Option<&str>,
    salt: Option<&str>,
    holdout_salt: &str,
    as_of: &str,
) -> Result<Option<crate::model::variants::Variants>> {
    use crate::model::variants;
    let Some(spec) = spec else {
        return Ok(None);
    };
    let split = variants::parse(spec).map_err(|e| anyhow::anyhow!("--variants '{spec}': {e}"))?;
    let asked = variants::VariantsAsked {
        split: Some(Some(split)),
        salt: salt.map(str::to_string),
    };
    Ok(variants::resolve(&asked, None, Some(holdout_salt), as_of)?.0)
}

/// Parses `archetype=x,...` of `flag` into `rates` (each abandoning archetype's value), checking
/// base + x stays in [0, 1] with `base` of the archetype.
fn parse_rates(
    flag: &str,
    spec: Option<&str>,
    base: impl Fn(Archetype) -> f64,
    mut set: impl FnMut(Archetype, f64),
) -> Result<()> {
    for part in spec
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        let Some((name, value)) = part.split_once('=') else {
            bail!("{flag} '{part}': write it like deal-seeker=0.1");
        };
        let Some(a) = Archetype::parse(name).filter(|a| *a != Archetype::Buyer) else {
            bail!("{flag} '{part}': '{name}' is not an abandoning archetype (first-time-anxious, high-value-loyal, deal-seeker, indecisive-browser, mobile-impulse)");
        };
        let u: f64 = value
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{flag} '{part}': '{value}' is not a number"))?;
        let b = base(a);
        if !(u.is_finite() && (-b..=1.0 - b).contains(&u)) {
            bail!("{flag} '{part}': base rate {b} + uplift must stay between 0 and 1");
        }
        set(a, u);
    }
    Ok(())
}

impl Experiment {
    /// The defaults, changed by `--uplift archetype=x,...`.
    pub fn new(holdout: Holdout, uplift: Option<&str>) -> Result<Experiment> {
        let mut rates: BTreeMap<Archetype, (f64, f64)> = Archetype::ALL
            .iter()
            .map(|a| (*a, default_rates(*a)))
            .collect();
        let base: BTreeMap<Archetype, f64> = rates.iter().map(|(a, r)| (*a, r.0)).collect();
        parse_rates(
            "--uplift",
            uplift,
            |a| base[&a],
            |a, u| {
                rates.insert(a, (base[&a], u));
            },
        )?;
        Ok(Experiment {
            holdout,
            rates,
            variants: None,
            varies: 0.0,
        })
    }

    /// Splits the treatment arm into `variants` (if any), a reminder's uplift per archetype from
    /// the defaults changed by `--reminder-uplift archetype=x,...`.
    pub fn with_variants(
        &mut self,
        variants: Option<crate::model::variants::Variants>,
        reminder: Option<&str>,
    ) -> Result<()> {
        let Some(v) = variants else {
            return Ok(());
        };
        let mut uplift: BTreeMap<Archetype, f64> = Archetype::ALL
            .iter()
            .map(|a| (*a, default_reminder(*a)))
            .collect();
        let rates = &self.rates;
        parse_rates(
            "--reminder-uplift",
            reminder,
            |a| rates[&a].0,
            |a, u| {
                uplift.insert(a, u);
            },
        )?;
        self.variants = Some((v, uplift));
        Ok(())
    }

    /// Plants effects that vary within archetypes (`--uplift-varies H`, |H| <= [`MAX_VARIES`]).
    pub fn with_varies(&mut self, h: Option<f64>) -> Result<()> {
        let h = h.unwrap_or(0.0);
        if !(h.is_finite() && h.abs() <= MAX_VARIES) {
            bail!("--uplift-varies {h}: give a number between -{MAX_VARIES} and {MAX_VARIES}");
        }
        self.varies = h;
        Ok(())
    }

    /// The factor on archetype `a`'s effects for a shopper whose last abandoned cart is worth
    /// `value` (NaN: none): 1 + H z, z = ln(value / the archetype's median cart) / 0.45
    /// ([`super::CART_SPREAD`], the spread cart values are drawn with, so z is a standard normal within an
    /// archetype) clipped to [-2, 2]. What it depends on is what cartsona sees as
    /// `last_abandoned_value` (docs/generator.md "Effects that vary inside archetypes").
    pub fn scale(&self, a: Archetype, value: f64) -> f64 {
        if self.varies == 0.0 || value.is_nan() || value <= 0.0 {
            return 1.0;
        }
        let z = (value / super::behaviour(a).cart_median).ln() / super::CART_SPREAD;
        1.0 + self.varies * z.clamp(-2.0, 2.0)
    }

    /// A treated shopper's variant name (None without variants), their uplift, and whether
    /// their recovery order carries the incentive's discount.
    fn treated(&self, customer: &str, a: Archetype) -> (Option<&str>, f64, bool) {
        let play = self.rates[&a].1;
        match &self.variants {
            None => (None, play, a == Archetype::DealSeeker),
            Some((v, reminder)) => {
                let name = v.name(v.of(customer));
                match name == crate::model::variants::REMINDER {
                    true => (Some(name), reminder[&a], false),
                    false => (Some(name), play, true),
                }
            }
        }
    }
}

/// One row of next/.
pub enum NextRec {
    Order {
        customer: String,
        id: String,
        at: i64,
        value: f64,
        code: &'static str,
        discount: Option<f64>,
    },
    Touch {
        customer: String,
        at: i64,
        channel: &'static str,
        step: u32,
        code: &'static str,
    },
    Truth {
        customer: String,
        archetype: Archetype,
        arm: Option<Arm>,
        base: f64,
        uplift: f64,
        recovered: bool,
        /// With `--variants`: the treated shopper's variant, and a reminder's planted uplift.
        variant: Option<String>,
        reminder: Option<f64>,
    },
}

/// One shopper after T: arm, touches, and whether (and when) they come back. `scale` is
/// [`Experiment::scale`] of the shopper (1 without `--uplift-varies`): their effects are their
/// archetype's times it, kept so that base + effect stays in [0, 1], and truth.csv gives them.
pub fn shopper(
    p: &SynthParams,
    e: &Experiment,
    shopper: usize,
    a: Archetype,
    t: i64,
    scale: f64,
    out: &mut impl FnMut(NextRec) -> Result<()>,
) -> Result<()> {
    let mut rng = stream(p.seed, shopper, p.months + 1, 7);
    let customer = customer_id(shopper);
    let order_id = |k: u32| format!("ord_{:07}_n{k}", shopper + 1);
    let cart_median = super::behaviour(a).cart_median;
    if a == Archetype::Buyer {
        // Buyers keep buying: orders over two windows, so the files cover every window.
        for k in 0..super::poisson(&mut rng, 0.6) {
            let at = t + rng.gen_range(SECOND..2 * WINDOW);
            out(NextRec::Order {
                customer: customer.clone(),
                id: order_id(k),
                at: at - at % SECOND,
                value: money(&mut rng, cart_median),
                code: "",
                discount: None,
            })?;
        }
        return out(NextRec::Truth {
            customer,
            archetype: a,
            arm: None,
            base: 0.0,
            uplift: 0.0,
            recovered: false,
            variant: None,
            reminder: e.variants.as_ref().map(|_| 0.0),
        });
    }
    let arm = e.holdout.arm(&customer);
    let (base, uplift) = e.rates[&a];
    // The shopper's own effect: the archetype's, scaled, within [-base, 1 - base].
    let own = |u: f64| match e.varies == 0.0 {
        true => u,
        false => (base + u * scale).clamp(0.0, 1.0) - base,
    };
    let treated = arm == Arm::Treatment;
    let (variant, effect, incentive) = match treated {
        true => e.treated(&customer, a),
        false => (None, 0.0, false),
    };
    let effect = own(effect);
    if treated {
        touches(&mut rng, &customer, a, t, incentive, out)?;
    }
    let p_back = base + effect;
    let recovered = rng.gen_bool(p_back.clamp(0.0, 1.0));
    if recovered {
        // Inside the window, an hour short of its end (a run whose T is the latest timestamp,
        // minutes before the month's end, still sees it).
        let at = t + rng.gen_range(MINUTE..WINDOW - HOUR);
        let value = money(&mut rng, cart_median);
        let discounted = treated && incentive;
        let discount = discounted.then(|| (value * INCENTIVE_DISCOUNT * 100.0).round() / 100.0);
        out(NextRec::Order {
            customer: customer.clone(),
            id: order_id(0),
            at: at - at % SECOND,
            value,
            code: if discounted { "SAVE10" } else { "" },
            discount,
        })?;
    } else if rng.gen_bool(0.05) {
        // Back after the window: never counted.
        let at = t + WINDOW + rng.gen_range(HOUR..WINDOW);
        out(NextRec::Order {
            customer: customer.clone(),
            id: order_id(1),
            at: at - at % SECOND,
            value: money(&mut rng, cart_median),
            code: "",
            discount: None,
        })?;
    }
    out(NextRec::Truth {
        customer,
        archetype: a,
        arm: Some(arm),
        base,
        uplift: own(uplift),
        recovered,
        variant: variant.map(str::to_string),
        reminder: e.variants.as_ref().map(|(_, r)| own(r[&a])),
    })
}

/// A shopper's planted base after T (`--returns`): what happens without a message.
pub struct Base {
    /// Their pending carts' returns after T: (time, value).
    pub returns: Vec<(i64, f64)>,
    /// The Poisson mean of their regular orders in one window.
    pub regular: f64,
    /// New abandoned carts per day after T (their archetype's monthly mean over the month).
    pub carts_per_day: f64,
    /// Their orders in the 365 days before T (what the new carts' probability counts).
    pub orders_year: usize,
    /// The planted probability of an order in (T, T + window] (synth::returns::truth).
    pub probability: f64,
}

/// One shopper after T with planted returns: their base orders over two windows (the pending
/// returns, regular orders at uniform times with `base.regular` per window, and the returns of
/// carts they leave after T), and with an experiment their arm, touches and the play's uplift
/// on top of the base: a treated shopper without a base order in the window gets one with
/// probability u / (1 − b), a treated shopper with one loses those in the window with
/// probability −u / b when u < 0, so P(order | treated) = b + u exactly (clamped to [0, 1]).
/// Draws from stream purpose 6, so a run without `--returns` does not move.
pub fn shopper_with_returns(
    p: &SynthParams,
    e: Option<&Experiment>,
    shopper: usize,
    a: Archetype,
    t: i64,
    base: &Base,
    out: &mut impl FnMut(NextRec) -> Result<()>,
) -> Result<()> {
    let mut rng = stream(p.seed, shopper, p.months + 1, 6);
    let customer = customer_id(shopper);
    let cart_median = super::behaviour(a).cart_median;
    let mut orders: Vec<(i64, f64, String)> = base
        .returns
        .iter()
        .filter(|(at, _)| *at > t && *at <= t + 2 * WINDOW)
        .enumerate()
        .map(|(k, (at, v))| (*at, *v, format!("ord_{:07}_b{k}", shopper + 1)))
        .collect();
    for k in 0..poisson(&mut rng, 2.0 * base.regular) {
        let at = t + rng.gen_range(SECOND..=2 * WINDOW);
        let value = money(&mut rng, cart_median);
        orders.push((
            at - at % SECOND,
            value,
            format!("ord_{:07}_a{k}", shopper + 1),
        ));
    }
    new_cart_returns(&mut rng, shopper, a, t, base, &mut orders);
    let arm = e
        .filter(|_| a != Archetype::Buyer)
        .map(|e| e.holdout.arm(&customer));
    let treated = arm == Some(Arm::Treatment);
    // The archetype's planted uplift (truth.csv gives it for both arms); it acts on the treated.
    let planted = match (e, arm) {
        (Some(e), Some(_)) => e.rates[&a].1,
        _ => 0.0,
    };
    let uplift = if treated { planted } else { 0.0 };
    if treated {
        touches(&mut rng, &customer, a, t, a == Archetype::DealSeeker, out)?;
    }
    let in_window = |o: &[(i64, f64, String)]| o.iter().any(|(at, ..)| *at <= t + WINDOW);
    let b = base.probability;
    let (x, at): (f64, i64) = (rng.gen(), t + rng.gen_range(MINUTE..WINDOW - HOUR));
    let mut discount = None;
    if uplift > 0.0 && !in_window(&orders) && x < uplift / (1.0 - b) {
        let value = money(&mut rng, cart_median);
        if a == Archetype::DealSeeker {
            discount = Some((value * 0.1 * 100.0).round() / 100.0);
        }
        orders.push((
            at - at % SECOND,
            value,
            format!("ord_{:07}_n0", shopper + 1),
        ));
    } else if uplift < 0.0 && in_window(&orders) && x < -uplift / b {
        orders.retain(|(at, ..)| *at > t + WINDOW);
    }
    let recovered = in_window(&orders);
    orders.sort_by(|x, y| x.0.cmp(&y.0).then_with(|| x.2.cmp(&y.2)));
    for (at, value, id) in orders {
        let recovery = id.ends_with("_n0");
        out(NextRec::Order {
            customer: customer.clone(),
            id,
            at,
            value,
            code: if recovery && discount.is_some() {
                "SAVE10"
            } else {
                ""
            },
            discount: if recovery { discount } else { None },
        })?;
    }
    out(NextRec::Truth {
        customer,
        archetype: a,
        arm,
        base: b,
        uplift: planted,
        recovered,
        variant: None,
        reminder: None,
    })
}

/// The three touches of the archetype's play: the first 5 minutes to 3 hours after T.
pub fn touches(
    rng: &mut rand_chacha::ChaCha8Rng,
    customer: &str,
    a: Archetype,
    t: i64,
    incentive: bool,
    out: &mut impl FnMut(NextRec) -> Result<()>,
) -> Result<()> {
    let first = t + rng.gen_range(5 * MINUTE..3 * HOUR);
    for (step, (channel, hours)) in play(a).into_iter().enumerate() {
        let at = first + hours * HOUR;
        // The code goes out with the second touch of a play whose incentive is a discount: the
        // deal-seekers' without variants, every incentive variant's with them.
        let code = if incentive && step == 1 { "SAVE10" } else { "" };
        out(NextRec::Touch {
            customer: customer.to_string(),
            at: at - at % SECOND,
            channel,
            step: step as u32 + 1,
            code,
        })?;
    }
    Ok(())
}

/// Carts left after T (Poisson, `base.carts_per_day`, uniform over two windows; step, device and
/// value drawn as the archetype's abandoned carts are) and the orders of those that return, with
/// the planted probability (orders in the past year counted at T) and delay. The carts themselves
/// are not written: no run reads carts after T.
fn new_cart_returns(
    rng: &mut rand_chacha::ChaCha8Rng,
    shopper: usize,
    a: Archetype,
    t: i64,
    base: &Base,
    orders: &mut Vec<(i64, f64, String)>,
) {
    use super::returns;
    use rand_distr::{Distribution, Exp, LogNormal};
    let b = super::behaviour(a);
    let delay = Exp::new(1.0 / returns::MEAN_DELAY as f64).expect("a positive rate");
    let value = LogNormal::new(b.cart_median.ln(), super::CART_SPREAD).expect("a valid sigma");
    let mean = base.carts_per_day * (2 * WINDOW) as f64 / crate::util::timefmt::DAY as f64;
    for k in 0..poisson(rng, mean) {
        let left = t + rng.gen_range(SECOND..=2 * WINDOW);
        let step = super::STEPS[super::pick(rng, &b.steps)];
        let device = super::DEVICES[super::pick(rng, &b.devices)];
        let v: f64 = value.sample(rng);
        let p = returns::probability(a, base.orders_year, step, device, v);
        let (x, wait): (f64, f64) = (rng.gen(), delay.sample(rng));
        let at = left + returns::MIN_DELAY + wait as i64;
        if x < p && at <= t + 2 * WINDOW {
            let id = format!("ord_{:07}_c{k}", shopper + 1);
            orders.push((at - at % SECOND, (v.max(1.0) * 100.0).round() / 100.0, id));
        }
    }
}
