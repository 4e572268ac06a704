//! The recovery experiment of `cartsona generate --holdout SHARE`: after the last month's T, each
//! shopper of an abandoning archetype gets an arm by the holdout rule (model::holdout), treated
//! shoppers get the touches of their archetype's play, and each shopper comes back (an order in
//! the 7-day window) with their archetype's base rate, plus its uplift when treated
//! (docs/generator.md lists the defaults). Written to next/: orders.csv, touches.csv, truth.csv.
//!
//! Each shopper's draws come from their own stream (month = months + 1), so the files are
//! byte-identical for a seed, and the months before do not move.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rand::Rng;

use super::{customer_id, money, stream, Archetype, SynthParams};
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

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub holdout: Holdout,
    /// (base rate, uplift) per archetype.
    pub rates: BTreeMap<Archetype, (f64, f64)>,
}

impl Experiment {
    /// The defaults, changed by `--uplift archetype=x,...`.
    pub fn new(holdout: Holdout, uplift: Option<&str>) -> Result<Experiment> {
        let mut rates: BTreeMap<Archetype, (f64, f64)> = Archetype::ALL
            .iter()
            .map(|a| (*a, default_rates(*a)))
            .collect();
        for part in uplift
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.trim().is_empty())
        {
            let Some((name, value)) = part.split_once('=') else {
                bail!("--uplift '{part}': write it like deal-seeker=0.1");
            };
            let Some(a) = Archetype::parse(name).filter(|a| *a != Archetype::Buyer) else {
                bail!("--uplift '{part}': '{name}' is not an abandoning archetype (first-time-anxious, high-value-loyal, deal-seeker, indecisive-browser, mobile-impulse)");
            };
            let u: f64 = value
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--uplift '{part}': '{value}' is not a number"))?;
            let base = rates[&a].0;
            if !(u.is_finite() && (-base..=1.0 - base).contains(&u)) {
                bail!("--uplift '{part}': base rate {base} + uplift must stay between 0 and 1");
            }
            rates.insert(a, (base, u));
        }
        Ok(Experiment { holdout, rates })
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
    },
}

/// One shopper after T: arm, touches, and whether (and when) they come back.
pub fn shopper(
    p: &SynthParams,
    e: &Experiment,
    shopper: usize,
    a: Archetype,
    t: i64,
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
        });
    }
    let arm = e.holdout.arm(&customer);
    let (base, uplift) = e.rates[&a];
    let treated = arm == Arm::Treatment;
    if treated {
        let first = t + rng.gen_range(5 * MINUTE..3 * HOUR);
        for (step, (channel, hours)) in play(a).into_iter().enumerate() {
            let at = first + hours * HOUR;
            let code = if a == Archetype::DealSeeker && step == 1 {
                "SAVE10"
            } else {
                ""
            };
            out(NextRec::Touch {
                customer: customer.clone(),
                at: at - at % SECOND,
                channel,
                step: step as u32 + 1,
                code,
            })?;
        }
    }
    let p_back = base + if treated { uplift } else { 0.0 };
    let recovered = rng.gen_bool(p_back.clamp(0.0, 1.0));
    if recovered {
        // Inside the window, an hour short of its end (a run whose T is the latest timestamp,
        // minutes before the month's end, still sees it).
        let at = t + rng.gen_range(MINUTE..WINDOW - HOUR);
        let value = money(&mut rng, cart_median);
        let discounted = treated && a == Archetype::DealSeeker;
        let discount = discounted.then(|| (value * 0.1 * 100.0).round() / 100.0);
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
        uplift,
        recovered,
    })
}
