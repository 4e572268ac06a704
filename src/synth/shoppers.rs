//! The generator's core: the archetypes and their behaviour, each shopper's month of carts, orders
//! and engagement from their own random stream, and the files of a generated shop.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};

use crate::util::mix::mix64;
use crate::util::timefmt::{DAY, HOUR, MINUTE, SECOND};

/// Shopper archetypes; the first five abandon carts, `buyer` buys without abandoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Archetype {
    FirstTimeAnxious,
    HighValueLoyal,
    DealSeeker,
    IndecisiveBrowser,
    MobileImpulse,
    Buyer,
}

impl Archetype {
    pub const ALL: [Archetype; 6] = [
        Archetype::FirstTimeAnxious,
        Archetype::HighValueLoyal,
        Archetype::DealSeeker,
        Archetype::IndecisiveBrowser,
        Archetype::MobileImpulse,
        Archetype::Buyer,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Archetype::FirstTimeAnxious => "first-time-anxious",
            Archetype::HighValueLoyal => "high-value-loyal",
            Archetype::DealSeeker => "deal-seeker",
            Archetype::IndecisiveBrowser => "indecisive-browser",
            Archetype::MobileImpulse => "mobile-impulse",
            Archetype::Buyer => "buyer",
        }
    }
    pub fn parse(s: &str) -> Option<Archetype> {
        let s = s.trim().to_ascii_lowercase();
        Archetype::ALL
            .into_iter()
            .find(|a| a.name() == s || a.name().trim_end_matches('s') == s.trim_end_matches('s'))
    }
    /// The default share of shoppers.
    fn default_share(self) -> f64 {
        match self {
            Archetype::Buyer => 0.25,
            _ => 0.15,
        }
    }
}

/// Archetype shares, summing to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix(pub BTreeMap<Archetype, f64>);

impl Default for Mix {
    fn default() -> Mix {
        Mix(Archetype::ALL
            .iter()
            .map(|a| (*a, a.default_share()))
            .collect())
    }
}

impl Mix {
    /// Applies `archetype=share,...` to `self`: named archetypes get their share, the others are
    /// rescaled in proportion to fill the rest.
    pub fn with(&self, spec: &str, flag: &str) -> Result<Mix> {
        let mut set: BTreeMap<Archetype, f64> = BTreeMap::new();
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((name, share)) = part.split_once('=') else {
                bail!("{flag} '{part}': write archetype=share, like deal-seeker=0.4");
            };
            let Some(a) = Archetype::parse(name) else {
                let names: Vec<&str> = Archetype::ALL.iter().map(|a| a.name()).collect();
                bail!(
                    "{flag} '{name}': unknown archetype; use one of {}",
                    names.join(", ")
                );
            };
            let share: f64 = share
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{flag} '{part}': the share must be a number"))?;
            if !(0.0..=1.0).contains(&share) {
                bail!("{flag} '{part}': the share must be between 0 and 1");
            }
            set.insert(a, share);
        }
        let fixed: f64 = set.values().sum();
        if fixed > 1.0 + 1e-9 {
            bail!("{flag}: the shares add up to {fixed}, more than 1");
        }
        let rest: f64 = self
            .0
            .iter()
            .filter(|(a, _)| !set.contains_key(a))
            .map(|(_, s)| s)
            .sum();
        let mut out = BTreeMap::new();
        for (a, s) in &self.0 {
            let v = match set.get(a) {
                Some(v) => *v,
                None if rest > 0.0 => s / rest * (1.0 - fixed),
                None => 0.0,
            };
            out.insert(*a, v);
        }
        let total: f64 = out.values().sum();
        if (total - 1.0).abs() > 1e-6 {
            bail!("{flag}: the shares add up to {total}; with every archetype named they must add up to 1");
        }
        Ok(Mix(out))
    }

    /// Whole counts per archetype for `n` shoppers (largest remainders, ties in archetype order).
    pub fn counts(&self, n: usize) -> BTreeMap<Archetype, usize> {
        let mut counts: BTreeMap<Archetype, usize> = BTreeMap::new();
        let mut rems: Vec<(f64, Archetype)> = Vec::new();
        for (a, s) in &self.0 {
            let exact = s * n as f64;
            counts.insert(*a, exact.floor() as usize);
            rems.push((exact - exact.floor(), *a));
        }
        let assigned: usize = counts.values().sum();
        rems.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        for (_, a) in rems.into_iter().take(n - assigned) {
            *counts.get_mut(&a).expect("present") += 1;
        }
        counts
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthParams {
    pub shoppers: usize,
    pub seed: u64,
    /// Start of the first month (midnight UTC, microseconds).
    pub start: i64,
    pub months: usize,
    pub mix: Mix,
    /// From month m on (1-based), the mix changes to this one.
    pub mix_month: BTreeMap<usize, Mix>,
    /// Carts over the whole month (up to an hour before its end) instead of two days inside it:
    /// a shop with planted returns is steady across month ends, so the week after T is a
    /// typical week.
    pub steady: bool,
    /// The monthly loop with carryover (`--carryover`, synth::carryover): a month's carts sit
    /// after the month before's outcome window.
    pub carryover: bool,
}

/// With carryover (synth::carryover), a month's carts start this long after the month begins
/// (after the month before's outcome window)...
pub const CARRYOVER_CARTS_FROM: i64 = 8 * DAY;
/// ... and end this long before it ends (every cart in its month's 30-day lookback).
pub const CARRYOVER_CARTS_BEFORE_END: i64 = 3 * DAY;

/// Month boundaries: `[start of month m, start of month m+1)` for m = 0..months.
pub fn month_bounds(start: i64, months: usize) -> Result<Vec<(i64, i64)>> {
    use chrono::{Datelike, TimeZone, Utc};
    let d = Utc
        .timestamp_micros(start)
        .single()
        .ok_or_else(|| anyhow::anyhow!("--start is out of range"))?;
    let mut out = Vec::new();
    let (mut y, mut m) = (d.year(), d.month());
    let first = Utc
        .with_ymd_and_hms(y, m, d.day(), 0, 0, 0)
        .single()
        .expect("valid")
        .timestamp_micros();
    let mut begin = first;
    for _ in 0..months {
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let next = Utc
            .with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .single()
            .expect("valid")
            .timestamp_micros();
        out.push((begin, next));
        begin = next;
    }
    Ok(out)
}

/// Each shopper's archetype in each month (index 0 = month 1), and the moves between months.
pub struct ShopPlan {
    pub archetypes: Vec<Vec<Archetype>>,
    /// (shopper, month (1-based), from, to)
    pub moves: Vec<(usize, usize, Archetype, Archetype)>,
}

pub(super) fn stream(seed: u64, shopper: usize, month: usize, purpose: u64) -> ChaCha8Rng {
    let s = mix64(seed ^ mix64(shopper as u64 ^ mix64((month as u64) << 8 | purpose)));
    ChaCha8Rng::seed_from_u64(s)
}

/// Assigns archetypes: month 1 from the mix (a seeded shuffle of exact counts); at each month with a
/// new mix, the fewest shoppers needed move, chosen by a seeded order, from archetypes over their
/// target to those under it (buyers stay buyers unless the mix names them).
pub fn plan(p: &SynthParams) -> ShopPlan {
    let n = p.shoppers;
    let counts = p.mix.counts(n);
    let mut first: Vec<Archetype> = counts
        .iter()
        .flat_map(|(a, c)| std::iter::repeat_n(*a, *c))
        .collect();
    let mut rng = stream(p.seed, usize::MAX, 0, 1);
    // Fisher-Yates with the seeded stream.
    for i in (1..first.len()).rev() {
        let j = rng.gen_range(0..=i);
        first.swap(i, j);
    }
    let mut archetypes = vec![first];
    let mut moves = Vec::new();
    for month in 2..=p.months {
        let mut cur = archetypes.last().expect("month 1").clone();
        if let Some(mix) = p.mix_month.get(&month) {
            let target = mix.counts(n);
            let mut have: BTreeMap<Archetype, usize> =
                Archetype::ALL.iter().map(|a| (*a, 0)).collect();
            for a in &cur {
                *have.get_mut(a).expect("all") += 1;
            }
            // A seeded order of shoppers decides who moves.
            let mut order: Vec<(u64, usize)> = (0..n)
                .map(|i| (mix64(p.seed ^ mix64(i as u64 ^ (month as u64) << 40)), i))
                .collect();
            order.sort_unstable();
            let mut need: Vec<(Archetype, usize)> = Archetype::ALL
                .iter()
                .filter(|a| target[a] > have[a])
                .map(|a| (*a, target[a] - have[a]))
                .collect();
            let mut surplus: BTreeMap<Archetype, usize> = Archetype::ALL
                .iter()
                .filter(|a| have[a] > target[a])
                .map(|a| (*a, have[a] - target[a]))
                .collect();
            for (_, i) in order {
                let from = cur[i];
                let Some(left) = surplus.get_mut(&from) else {
                    continue;
                };
                if *left == 0 {
                    continue;
                }
                let Some(slot) = need.iter_mut().find(|(_, k)| *k > 0) else {
                    break;
                };
                *left -= 1;
                slot.1 -= 1;
                cur[i] = slot.0;
                moves.push((i, month, from, slot.0));
            }
        }
        archetypes.push(cur);
    }
    ShopPlan { archetypes, moves }
}

/// One generated row of each kind, as text fields in canonical column order.
pub enum Rec {
    Cart {
        customer: String,
        cart: String,
        created_at: i64,
        updated_at: i64,
        value: f64,
        items: u32,
        device: &'static str,
        step: &'static str,
        code: &'static str,
        channel: &'static str,
    },
    Order {
        customer: String,
        order: String,
        at: i64,
        value: f64,
        cart: String,
        code: &'static str,
        discount: f64,
        device: &'static str,
        channel: &'static str,
    },
    Event {
        customer: String,
        at: i64,
        kind: &'static str,
        session: String,
        device: &'static str,
        page: String,
        channel: &'static str,
    },
}

pub const CART_HEADER: [&str; 10] = [
    "customer_id",
    "cart_id",
    "created_at",
    "updated_at",
    "cart_value",
    "item_count",
    "device",
    "checkout_step",
    "discount_code",
    "channel",
];
pub const ORDER_HEADER: [&str; 9] = [
    "customer_id",
    "order_id",
    "ordered_at",
    "order_value",
    "cart_id",
    "discount_code",
    "discount_amount",
    "device",
    "channel",
];
pub const EVENT_HEADER: [&str; 7] = [
    "customer_id",
    "occurred_at",
    "event_type",
    "session_id",
    "device",
    "page",
    "channel",
];

/// Behaviour of one archetype (docs/generator.md lists the same numbers).
pub(super) struct Behaviour {
    /// Mean extra abandoned carts per month (every abandoner has at least one).
    pub(super) abandoned: f64,
    pub(super) converted: f64,
    /// Median cart value and log-normal sigma.
    pub(super) cart_median: f64,
    /// Orders in the 12 months before the first month: fixed + Poisson(mean).
    pub(super) history_fixed: u32,
    pub(super) history_mean: f64,
    pub(super) aov_median: f64,
    /// P(device) for desktop, mobile, tablet.
    pub(super) devices: [f64; 3],
    /// P(step) for cart, shipping, payment, review at abandonment.
    pub(super) steps: [f64; 4],
    pub(super) discount: f64,
    /// Browsing sessions per month: at least `min_sessions`, plus Poisson(`sessions`).
    pub(super) min_sessions: u32,
    pub(super) sessions: f64,
    pub(super) page_views: f64,
    pub(super) info_views: f64,
    pub(super) product_views: f64,
    pub(super) removals: f64,
    pub(super) emails: f64,
    pub(super) open: f64,
    pub(super) click: f64,
    pub(super) sms: f64,
    pub(super) sms_click: f64,
}

/// Each archetype's planted behaviour (docs/generator.md). A plain data table: one block of
/// numbers per archetype, longer than a function should be but read as a table.
pub(super) fn behaviour(a: Archetype) -> Behaviour {
    match a {
        Archetype::FirstTimeAnxious => Behaviour {
            abandoned: 0.3,
            converted: 0.0,
            cart_median: 95.0,
            history_fixed: 0,
            history_mean: 0.0,
            aov_median: 0.0,
            devices: [0.8, 0.15, 0.05],
            steps: [0.1, 0.6, 0.2, 0.1],
            discount: 0.05,
            min_sessions: 0,
            sessions: 1.0,
            page_views: 0.5,
            info_views: 1.5,
            product_views: 1.0,
            removals: 0.1,
            emails: 1.0,
            open: 0.3,
            click: 0.2,
            sms: 0.0,
            sms_click: 0.0,
        },
        Archetype::HighValueLoyal => Behaviour {
            abandoned: 0.2,
            converted: 0.6,
            cart_median: 520.0,
            history_fixed: 3,
            history_mean: 3.0,
            aov_median: 240.0,
            devices: [0.6, 0.3, 0.1],
            steps: [0.0, 0.1, 0.8, 0.1],
            discount: 0.05,
            min_sessions: 0,
            sessions: 0.8,
            page_views: 0.5,
            info_views: 0.05,
            product_views: 1.0,
            removals: 0.1,
            emails: 1.5,
            open: 0.65,
            click: 0.3,
            sms: 0.0,
            sms_click: 0.0,
        },
        Archetype::DealSeeker => Behaviour {
            abandoned: 0.5,
            converted: 0.6,
            cart_median: 48.0,
            history_fixed: 1,
            history_mean: 1.5,
            aov_median: 42.0,
            devices: [0.45, 0.45, 0.1],
            steps: [0.45, 0.45, 0.1, 0.0],
            discount: 0.85,
            min_sessions: 0,
            sessions: 1.0,
            page_views: 0.5,
            info_views: 0.1,
            product_views: 2.5,
            removals: 0.3,
            emails: 2.0,
            open: 0.6,
            click: 0.5,
            sms: 1.0,
            sms_click: 0.4,
        },
        Archetype::IndecisiveBrowser => Behaviour {
            abandoned: 1.2,
            converted: 0.1,
            cart_median: 130.0,
            history_fixed: 0,
            history_mean: 1.0,
            aov_median: 90.0,
            devices: [0.55, 0.35, 0.1],
            steps: [0.8, 0.2, 0.0, 0.0],
            discount: 0.1,
            min_sessions: 2,
            sessions: 0.5,
            page_views: 2.0,
            info_views: 0.1,
            product_views: 3.5,
            removals: 2.0,
            emails: 1.0,
            open: 0.35,
            click: 0.1,
            sms: 0.0,
            sms_click: 0.0,
        },
        Archetype::MobileImpulse => Behaviour {
            abandoned: 0.4,
            converted: 0.3,
            cart_median: 26.0,
            history_fixed: 0,
            history_mean: 1.0,
            aov_median: 30.0,
            devices: [0.03, 0.95, 0.02],
            steps: [0.9, 0.1, 0.0, 0.0],
            discount: 0.1,
            min_sessions: 2,
            sessions: 1.5,
            page_views: 0.2,
            info_views: 0.0,
            product_views: 0.4,
            removals: 0.1,
            emails: 0.5,
            open: 0.2,
            click: 0.1,
            sms: 1.0,
            sms_click: 0.35,
        },
        Archetype::Buyer => Behaviour {
            abandoned: 0.0,
            converted: 0.2,
            cart_median: 80.0,
            history_fixed: 1,
            history_mean: 1.5,
            aov_median: 75.0,
            devices: [0.5, 0.4, 0.1],
            steps: [0.0, 0.0, 0.0, 1.0],
            discount: 0.15,
            min_sessions: 0,
            sessions: 1.0,
            page_views: 0.5,
            info_views: 0.1,
            product_views: 1.0,
            removals: 0.1,
            emails: 1.0,
            open: 0.4,
            click: 0.15,
            sms: 0.0,
            sms_click: 0.0,
        },
    }
}

/// Mean regular orders (converted carts) per month of an archetype.
pub fn orders_per_month(a: Archetype) -> f64 {
    behaviour(a).converted + f64::from(u8::from(a == Archetype::Buyer))
}

/// Mean abandoned carts per month of an archetype (at least one for the five that abandon).
pub fn abandoned_per_month(a: Archetype) -> f64 {
    match a {
        Archetype::Buyer => 0.0,
        _ => 1.0 + behaviour(a).abandoned,
    }
}

pub(super) const DEVICES: [&str; 3] = ["desktop", "mobile", "tablet"];
pub(super) const STEPS: [&str; 4] = ["cart", "shipping", "payment", "review"];
const CODES: [&str; 4] = ["SAVE10", "WELCOME15", "FREESHIP", "FLASH20"];
const INFO_PAGES: [&str; 4] = [
    "/pages/returns",
    "/pages/shipping",
    "/pages/faq",
    "/policies/delivery",
];
const PAGES: [&str; 4] = ["/", "/collections/new", "/collections/sale", "/search"];

pub(super) fn pick<const N: usize>(rng: &mut ChaCha8Rng, probs: &[f64; N]) -> usize {
    let mut x: f64 = rng.gen();
    for (i, p) in probs.iter().enumerate() {
        if x < *p {
            return i;
        }
        x -= p;
    }
    N - 1
}

pub(super) fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |d| d.sample(rng) as u32)
}

/// The log-normal spread (sigma of ln value) of every cart and order value the generator draws
/// around an archetype's median.
pub const CART_SPREAD: f64 = 0.45;

pub(super) fn money(rng: &mut ChaCha8Rng, median: f64) -> f64 {
    let v: f64 = LogNormal::new(median.ln(), CART_SPREAD).map_or(median, |d| d.sample(rng));
    (v.max(1.0) * 100.0).round() / 100.0
}

pub fn customer_id(i: usize) -> String {
    format!("cus_{:07}", i + 1)
}

/// Orders in the twelve months before `start`, from the shopper's month-1 archetype.
pub fn history(
    p: &SynthParams,
    shopper: usize,
    a: Archetype,
    out: &mut impl FnMut(Rec) -> Result<()>,
) -> Result<()> {
    let b = behaviour(a);
    let mut rng = stream(p.seed, shopper, 0, 2);
    let n = b.history_fixed + poisson(&mut rng, b.history_mean);
    let customer = customer_id(shopper);
    let mut times: Vec<i64> = (0..n)
        .map(|_| p.start - rng.gen_range(DAY..360 * DAY))
        .collect();
    times.sort_unstable();
    for (k, at) in times.into_iter().enumerate() {
        let at = at - at % SECOND;
        let value = money(&mut rng, b.aov_median);
        let discounted = rng.gen_bool(b.discount);
        let discount = if discounted {
            (value * 0.1 * 100.0).round() / 100.0
        } else {
            0.0
        };
        out(Rec::Order {
            customer: customer.clone(),
            order: format!("ord_{:07}_00{:03}", shopper + 1, k),
            at,
            value: ((value - discount) * 100.0).round() / 100.0,
            cart: String::new(),
            code: if discounted {
                CODES[rng.gen_range(0..CODES.len())]
            } else {
                ""
            },
            discount,
            device: DEVICES[pick(&mut rng, &b.devices)],
            channel: "web",
        })?;
    }
    Ok(())
}

/// One shopper's carts, orders and events in month `month` (1-based) spanning `[begin, end)`:
/// their carts (abandoned, then converted), browsing sessions, then marketing messages, each
/// drawn from the shopper's random stream for the month in that order.
pub fn month(
    p: &SynthParams,
    shopper: usize,
    month: usize,
    bounds: (i64, i64),
    a: Archetype,
    out: &mut impl FnMut(Rec) -> Result<()>,
) -> Result<()> {
    month_as(p, shopper, month, bounds, a, false, out)
}

/// [`month`] of a shopper who waits for a code (synth::carryover) when `waiting`: every cart
/// and order of theirs carries one.
pub fn month_as(
    p: &SynthParams,
    shopper: usize,
    month: usize,
    (begin, end): (i64, i64),
    a: Archetype,
    waiting: bool,
    out: &mut impl FnMut(Rec) -> Result<()>,
) -> Result<()> {
    let mut b = behaviour(a);
    if waiting {
        b.discount = 1.0;
    }
    let mut rng = stream(p.seed, shopper, month, 3);
    let mut m = Month {
        customer: customer_id(shopper),
        shopper,
        month,
        session_no: 0,
        steady: p.steady,
        carryover: p.carryover,
    };
    let abandoned = if a == Archetype::Buyer {
        0
    } else {
        1 + poisson(&mut rng, b.abandoned)
    };
    let converted = poisson(&mut rng, b.converted) + (a == Archetype::Buyer) as u32;
    let mut sink = |r: Rec| out(r);
    for k in 0..abandoned + converted {
        m.cart(&mut rng, &b, k, k < abandoned, (begin, end), &mut sink)?;
    }
    let sessions = b.min_sessions + poisson(&mut rng, b.sessions);
    for _ in 0..sessions {
        m.browsing(&mut rng, &b, (begin, end), &mut sink)?;
    }
    m.messages(&mut rng, &b, (begin, end), &mut sink)
}

/// One shopper's month being written.
struct Month {
    customer: String,
    shopper: usize,
    month: usize,
    session_no: usize,
    steady: bool,
    carryover: bool,
}

type Sink<'a> = dyn FnMut(Rec) -> Result<()> + 'a;

impl Month {
    /// Starts a session: its session_start event; returns its id.
    fn new_session(&mut self, at: i64, device: &'static str, out: &mut Sink) -> Result<String> {
        self.session_no += 1;
        let session = format!(
            "s_{:07}_{:02}_{:03}",
            self.shopper + 1,
            self.month,
            self.session_no
        );
        out(Rec::Event {
            customer: self.customer.clone(),
            at,
            kind: "session_start",
            session: session.clone(),
            device,
            page: "/".into(),
            channel: "web",
        })?;
        Ok(session)
    }

    /// The `k`-th cart of the month: its session and add, snapshots, and the order when it was
    /// not abandoned. Carts sit at least two days inside the month, so each month's carts fall
    /// in its own lookback; in a steady shop they fill the month up to an hour before its end;
    /// with carryover they start after the month before's outcome window.
    fn cart(
        &mut self,
        rng: &mut ChaCha8Rng,
        b: &Behaviour,
        k: u32,
        is_abandoned: bool,
        (begin, end): (i64, i64),
        out: &mut Sink,
    ) -> Result<()> {
        let span = if self.steady {
            begin..end - HOUR
        } else if self.carryover {
            begin + CARRYOVER_CARTS_FROM..end - CARRYOVER_CARTS_BEFORE_END
        } else {
            begin + 2 * DAY..end - 2 * DAY
        };
        let created = rng.gen_range(span);
        let created = created - created % SECOND;
        let updated =
            created + (rng.gen_range(2.0..40.0f64) * MINUTE as f64) as i64 / SECOND * SECOND;
        let device = DEVICES[pick(rng, &b.devices)];
        let step = if is_abandoned {
            STEPS[pick(rng, &b.steps)]
        } else {
            "review"
        };
        let value = money(rng, b.cart_median);
        let items = 1 + poisson(rng, (value / 60.0).clamp(0.2, 4.0));
        let code = if rng.gen_bool(b.discount) {
            CODES[rng.gen_range(0..CODES.len())]
        } else {
            ""
        };
        let (shopper, month, customer) = (self.shopper, self.month, self.customer.clone());
        let cart = format!("ct_{:07}_{:02}{:02}", shopper + 1, month, k);
        let session = self.new_session(created - MINUTE, device, out)?;
        out(Rec::Event {
            customer: customer.clone(),
            at: created,
            kind: "add_to_cart",
            session: session.clone(),
            device,
            page: format!("/products/p{}", rng.gen_range(100..2000)),
            channel: "web",
        })?;
        // An earlier snapshot at the cart step for some carts (exports keep several rows per cart).
        if rng.gen_bool(0.3) && step != "cart" {
            out(Rec::Cart {
                customer: customer.clone(),
                cart: cart.clone(),
                created_at: created,
                updated_at: created,
                value: (value * 0.8 * 100.0).round() / 100.0,
                items: items.max(2) - 1,
                device,
                step: "cart",
                code,
                channel: "web",
            })?;
        }
        out(Rec::Cart {
            customer: customer.clone(),
            cart: cart.clone(),
            created_at: created,
            updated_at: updated,
            value,
            items,
            device,
            step,
            code,
            channel: "web",
        })?;
        if is_abandoned {
            return Ok(());
        }
        let discount = if code.is_empty() {
            0.0
        } else {
            (value * 0.1 * 100.0).round() / 100.0
        };
        out(Rec::Order {
            customer,
            order: format!("ord_{:07}_{:02}{:03}", shopper + 1, month, k),
            at: updated + rng.gen_range(1..20) * MINUTE,
            value: ((value - discount) * 100.0).round() / 100.0,
            cart,
            code,
            discount,
            device,
            channel: "web",
        })
    }

    /// A browsing session: page views, information pages, product views and removals.
    fn browsing(
        &mut self,
        rng: &mut ChaCha8Rng,
        b: &Behaviour,
        (begin, end): (i64, i64),
        out: &mut Sink,
    ) -> Result<()> {
        let device = DEVICES[pick(rng, &b.devices)];
        let mut at = rng.gen_range(begin..end - HOUR);
        at -= at % SECOND;
        let session = self.new_session(at, device, out)?;
        let views = poisson(rng, b.page_views);
        let info = poisson(rng, b.info_views);
        let products = poisson(rng, b.product_views);
        let removals = poisson(rng, b.removals);
        let mut events: Vec<(&'static str, String)> = Vec::new();
        events.extend((0..views).map(|_| {
            (
                "page_view",
                PAGES[rng.gen_range(0..PAGES.len())].to_string(),
            )
        }));
        events.extend((0..info).map(|_| {
            (
                "page_view",
                INFO_PAGES[rng.gen_range(0..INFO_PAGES.len())].to_string(),
            )
        }));
        events.extend((0..products).map(|_| {
            (
                "product_view",
                format!("/products/p{}", rng.gen_range(100..2000)),
            )
        }));
        events.extend((0..removals).map(|_| ("remove_from_cart", "/cart".to_string())));
        for (kind, page) in events {
            at += rng.gen_range(10..120) * SECOND;
            out(Rec::Event {
                customer: self.customer.clone(),
                at,
                kind,
                session: session.clone(),
                device,
                page,
                channel: "web",
            })?;
        }
        Ok(())
    }

    /// Marketing messages: no session or page; SMS are read on a phone.
    fn messages(
        &self,
        rng: &mut ChaCha8Rng,
        b: &Behaviour,
        (begin, end): (i64, i64),
        out: &mut Sink,
    ) -> Result<()> {
        let message =
            |kind: &'static str, at: i64, device: &'static str, channel: &'static str| Rec::Event {
                customer: self.customer.clone(),
                at,
                kind,
                session: String::new(),
                device,
                page: String::new(),
                channel,
            };
        for _ in 0..poisson(rng, b.emails) {
            let at = rng.gen_range(begin..end - DAY);
            let at = at - at % SECOND;
            out(message("email_sent", at, "", "email"))?;
            if rng.gen_bool(b.open) {
                let opened = at + rng.gen_range(5..600) * MINUTE;
                out(message("email_open", opened, "", "email"))?;
                if rng.gen_bool(b.click) {
                    out(message("email_click", at + 601 * MINUTE, "", "email"))?;
                }
            }
        }
        for _ in 0..poisson(rng, b.sms) {
            let at = rng.gen_range(begin..end - DAY);
            let at = at - at % SECOND;
            out(message("sms_sent", at, "mobile", "sms"))?;
            if rng.gen_bool(b.sms_click) {
                let clicked = at + rng.gen_range(1..120) * MINUTE;
                out(message("sms_click", clicked, "mobile", "sms"))?;
            }
        }
        Ok(())
    }
}
