//! The monthly loop with carryover of `generate --carryover` (with `--holdout` and two months or
//! more): the experiment runs after every month's T, not only the last, and what it does to a
//! shopper shows in the months after. It is the shop a readout of monthly runs must not be fooled
//! by (docs/generator.md, "The monthly loop with carryover"; issue 31).
//!
//! - Each shopper of an abandoning archetype **arrives** in a month of their own (uniform over the
//!   months): they have no carts, sessions or messages before it. In each later month they are
//!   active again (abandon again) with probability [`AGAIN`].
//! - A shopper is **listed** in month m when their month-m carts leave one abandoned as cartsona
//!   sees it with its defaults (no order of theirs within 24 hours after its last activity, last
//!   activity in the 30-day lookback). Each listed shopper gets their arm by the holdout rule
//!   (model::holdout, the rule `segment --holdout` applies) and comes back in (T, T + 7 days) with
//!   the experiment's base rate, plus the play's uplift when treated.
//! - **Carryover**: a treated deal-seeker who came back with the play's code waits for the code
//!   from then on: abandons again with probability [`AGAIN_WAITING`], every cart and order of
//!   theirs carries a code (a higher discount share), and they come back on their own with
//!   [`WAITING_BASE`] instead of their base rate ([`WAITING_TREATED`] with the play). Treated
//!   shoppers get the play's messages as engagement (sends, opens and clicks) the holdout does
//!   not, in the month after T.
//!
//! What happens after month m's T is written into month m + 1's files (its first week; that
//! month's carts start after it, `synth::CARRYOVER_CARTS_FROM`), and after the last month's into next/. Every
//! listing is one row of carryover.csv with its planted rates. Each shopper's path comes from
//! their own streams (seed, shopper, month), so the files are byte-identical for a seed.

use anyhow::Result;
use rand::Rng;

use super::experiment::{self, Experiment, NextRec, WINDOW};
use super::{behaviour, customer_id, money, stream, Archetype, Rec, SynthParams};
use crate::model::holdout::Arm;
use crate::util::timefmt::{DAY, HOUR, MINUTE, SECOND};

/// P(active again) in each month after a shopper's arrival.
pub const AGAIN: f64 = 0.25;
/// P(active again) of a shopper who waits for the code.
pub const AGAIN_WAITING: f64 = 0.7;
/// P(back in the window) of a shopper who waits for the code, held out.
pub const WAITING_BASE: f64 = 0.03;
/// P(back in the window) of a shopper who waits for the code, treated.
pub const WAITING_TREATED: f64 = 0.45;

/// cartsona's defaults, which decide who is listed: abandon_after and lookback.
const ABANDON_AFTER: i64 = DAY;
const LOOKBACK: i64 = 30 * DAY;

/// One listing: a shopper in a month's run, and what the experiment after its T did.
pub struct Listing {
    pub month: usize,
    pub archetype: Archetype,
    pub arm: Arm,
    /// The shopper's first listing since the split began (month 1's T).
    pub first: bool,
    /// They waited for the code when listed.
    pub waiting: bool,
    /// P(back in the window) held out, and what the play adds.
    pub base: f64,
    pub uplift: f64,
    /// The order that brought them back: (time, value, discounted).
    pub order: Option<(i64, f64, bool)>,
    /// The play's touches (treated only), as next/touches.csv has them.
    pub touches: Vec<NextRec>,
    /// The engagement those touches leave (sends, opens, clicks), for the month after T.
    pub engaged: Vec<(i64, &'static str, &'static str)>,
}

/// A shopper's months 1..=`upto`: their rows (every active month, and what came after each T
/// before `upto`'s end) and their listings.
pub struct Path {
    pub recs: Vec<Rec>,
    pub listings: Vec<Listing>,
}

/// The shopper's path through months 1..=`upto` (`bounds[m - 1]` is month m's span, T its end).
pub fn path(
    p: &SynthParams,
    e: &Experiment,
    shopper: usize,
    archetype: impl Fn(usize) -> Archetype,
    bounds: &[(i64, i64)],
    upto: usize,
) -> Result<Path> {
    let mut rng = stream(p.seed, shopper, 0, 8);
    let arrival = rng.gen_range(1..=p.months);
    let again: Vec<f64> = (0..p.months).map(|_| rng.gen()).collect();
    let customer = customer_id(shopper);
    let (mut recs, mut listings) = (Vec::new(), Vec::<Listing>::new());
    let mut waiting = false;
    for m in 1..=upto {
        let a = archetype(m);
        let (begin, end) = bounds[m - 1];
        if let Some(before) = listings.last().filter(|l| l.month + 1 == m) {
            recs.extend(month_after(before, &customer, shopper));
        }
        let active = a == Archetype::Buyer
            || m == arrival
            || (m > arrival && again[m - 1] < if waiting { AGAIN_WAITING } else { AGAIN });
        if !active {
            continue;
        }
        let first_rec = recs.len();
        super::month_as(p, shopper, m, (begin, end), a, waiting, &mut |r| {
            recs.push(r);
            Ok(())
        })?;
        if a == Archetype::Buyer || !listed(&recs[first_rec..], end) {
            continue;
        }
        let listing = experiment_after(p, e, shopper, m, a, end, waiting, listings.is_empty())?;
        waiting |= listing.order.is_some_and(|(_, _, discounted)| discounted);
        listings.push(listing);
    }
    Ok(Path { recs, listings })
}

/// Whether a month's rows leave the shopper an abandoner at T = `t` by cartsona's defaults: a
/// cart (its latest snapshot) with no order carrying its id, none of theirs within 24 hours after
/// its last activity, and that activity in (T − 30 days, T − 24 hours].
fn listed(recs: &[Rec], t: i64) -> bool {
    let mut carts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    let mut ordered: Vec<(i64, &str)> = Vec::new();
    for r in recs {
        match r {
            Rec::Cart {
                cart, updated_at, ..
            } => {
                let u = carts.entry(cart.as_str()).or_insert(*updated_at);
                *u = (*u).max(*updated_at);
            }
            Rec::Order { at, cart, .. } => ordered.push((*at, cart.as_str())),
            Rec::Event { .. } => {}
        }
    }
    carts.iter().any(|(id, u)| {
        *u > t - LOOKBACK
            && *u <= t - ABANDON_AFTER
            && !ordered
                .iter()
                .any(|(at, c)| c == id || (*at >= *u && *at <= u + ABANDON_AFTER))
    })
}

/// The experiment after month `m`'s T for a listed shopper: arm, the play's touches and the
/// engagement they leave, and whether (and with what order) they come back in the window.
#[allow(clippy::too_many_arguments)]
fn experiment_after(
    p: &SynthParams,
    e: &Experiment,
    shopper: usize,
    m: usize,
    a: Archetype,
    t: i64,
    waiting: bool,
    first: bool,
) -> Result<Listing> {
    let mut rng = stream(p.seed, shopper, m, 9);
    let customer = customer_id(shopper);
    let arm = e.holdout.arm(&customer);
    let treated = arm == Arm::Treatment;
    let (base, uplift) = if waiting {
        (WAITING_BASE, WAITING_TREATED - WAITING_BASE)
    } else {
        e.rates[&a]
    };
    let mut touches = Vec::new();
    if treated {
        experiment::touches(
            &mut rng,
            &customer,
            a,
            t,
            a == Archetype::DealSeeker,
            &mut |r| {
                touches.push(r);
                Ok(())
            },
        )?;
    }
    let b = behaviour(a);
    let mut engaged = Vec::new();
    for touch in &touches {
        let NextRec::Touch { at, channel, .. } = touch else {
            continue;
        };
        let (sent, opened, clicked, open, click) = match *channel {
            "email" => ("email_sent", "email_open", "email_click", b.open, b.click),
            "sms" => ("sms_sent", "", "sms_click", 1.0, b.sms_click.max(0.2)),
            _ => continue,
        };
        engaged.push((*at, sent, *channel));
        if rng.gen_bool(open) {
            if !opened.is_empty() {
                engaged.push((at + rng.gen_range(5..600) * MINUTE, opened, *channel));
            }
            if rng.gen_bool(click) {
                engaged.push((at + 601 * MINUTE, clicked, *channel));
            }
        }
    }
    let p_back = base + if treated { uplift } else { 0.0 };
    let order = rng.gen_bool(p_back.clamp(0.0, 1.0)).then(|| {
        let at = t + rng.gen_range(MINUTE..WINDOW - HOUR);
        let value = money(&mut rng, b.cart_median);
        (
            at - at % SECOND,
            value,
            treated && a == Archetype::DealSeeker,
        )
    });
    Ok(Listing {
        month: m,
        archetype: a,
        arm,
        first,
        waiting,
        base,
        uplift,
        order,
        touches,
        engaged,
    })
}

/// What a listing leaves in the month after its T: the order that brought them back and the
/// engagement of the play's messages.
fn month_after(l: &Listing, customer: &str, shopper: usize) -> Vec<Rec> {
    let mut out: Vec<Rec> = l
        .engaged
        .iter()
        .map(|(at, kind, channel)| Rec::Event {
            customer: customer.to_string(),
            at: *at,
            kind,
            session: String::new(),
            device: if *channel == "sms" { "mobile" } else { "" },
            page: String::new(),
            channel,
        })
        .collect();
    if let Some((at, value, discounted)) = l.order {
        let discount = if discounted {
            (value * 0.1 * 100.0).round() / 100.0
        } else {
            0.0
        };
        out.push(Rec::Order {
            customer: customer.to_string(),
            order: format!("ord_{:07}_r{:02}", shopper + 1, l.month),
            at,
            value,
            cart: String::new(),
            code: if discounted { "SAVE10" } else { "" },
            discount,
            device: "",
            channel: "web",
        });
    }
    out
}

/// next/ of a carryover shop for one shopper: the last month's listing (its order, touches and
/// truth row) and, for buyers, orders over two windows so the files cover every window.
pub fn next(
    p: &SynthParams,
    e: &Experiment,
    shopper: usize,
    a: Archetype,
    last: Option<&Listing>,
    t: i64,
    out: &mut impl FnMut(NextRec) -> Result<()>,
) -> Result<()> {
    let customer = customer_id(shopper);
    let Some(l) = last.filter(|l| l.month == p.months) else {
        if a == Archetype::Buyer {
            return experiment::shopper(p, e, shopper, a, t, 1.0, &mut |r| match r {
                NextRec::Truth { .. } => Ok(()),
                r => out(r),
            });
        }
        return Ok(());
    };
    for touch in &l.touches {
        if let NextRec::Touch {
            customer,
            at,
            channel,
            step,
            code,
        } = touch
        {
            out(NextRec::Touch {
                customer: customer.clone(),
                at: *at,
                channel,
                step: *step,
                code,
            })?;
        }
    }
    if let Some((at, value, discounted)) = l.order {
        out(NextRec::Order {
            customer: customer.clone(),
            id: format!("ord_{:07}_n0", shopper + 1),
            at,
            value,
            code: if discounted { "SAVE10" } else { "" },
            discount: discounted.then(|| (value * 0.1 * 100.0).round() / 100.0),
        })?;
    }
    out(NextRec::Truth {
        customer,
        archetype: l.archetype,
        arm: Some(l.arm),
        base: l.base,
        uplift: l.uplift,
        recovered: l.order.is_some(),
        variant: None,
        reminder: None,
    })
}

/// carryover.csv: one row per listing of every shopper.
pub const HEADER: [&str; 9] = [
    "customer_id",
    "month",
    "archetype",
    "arm",
    "exposure",
    "waiting_for_code",
    "base_rate",
    "uplift",
    "recovered",
];

/// A listing's carryover.csv row.
pub fn row(shopper: usize, l: &Listing) -> [String; 9] {
    [
        customer_id(shopper),
        l.month.to_string(),
        l.archetype.name().to_string(),
        l.arm.name().to_string(),
        if l.first { "first" } else { "again" }.to_string(),
        u8::from(l.waiting).to_string(),
        l.base.to_string(),
        l.uplift.to_string(),
        u8::from(l.order.is_some()).to_string(),
    ]
}
