//! Planted returns of `cartsona generate --returns` (docs/generator.md, "Planted returns"): after
//! each abandoned cart the shopper may come back and order, without the cart's id, with a
//! probability that depends on what the features see; and the exact planted probability of an
//! order in the week after T that the propensity tests hold `return_propensity` against.
//!
//! In: one shopper's generated rows (history and months), their archetype per month, and the
//! play when one runs before T. Out: the return orders (every time; the caller routes them to a
//! month's folder or to next/) and, per abandoned cart, its planted probability and return time.
//!
//! Carts are visited in time order so that "orders in the year before the cart" counts the
//! returns of earlier carts too; each month's carts draw from their own stream (purpose 5), three
//! draws per cart whatever the outcome, so a change of probability never shifts a later draw and
//! the other rows of the shop do not move by a byte.

use rand::Rng;
use rand_distr::{Distribution, Exp};

use super::{customer_id, stream, Archetype, Rec, SynthParams};
use crate::model::holdout::{Arm, Holdout};
use crate::util::timefmt::{DAY, HOUR, SECOND};

/// No return comes sooner than this after the cart's last update (longer than the default
/// `--abandon-after` of 24 h, so the cart still counts as abandoned).
pub const MIN_DELAY: i64 = 36 * HOUR;
/// After `MIN_DELAY` the delay is exponential with this mean (memoryless: the chance of a return
/// in a window, given none so far, has a closed form).
pub const MEAN_DELAY: i64 = 6 * DAY;
/// Orders counted as "in the past year" before a cart, capped.
const ORDERS_CAP: usize = 5;

/// The log-odds of a return per archetype (before the cart's effects).
fn intercept(a: Archetype) -> f64 {
    match a {
        Archetype::FirstTimeAnxious => -0.9,
        Archetype::HighValueLoyal => -1.8,
        Archetype::DealSeeker => -1.1,
        Archetype::IndecisiveBrowser => -1.8,
        Archetype::MobileImpulse => -0.6,
        Archetype::Buyer => -1.0,
    }
}

/// The planted probability that an abandoned cart is followed by a return order: the logistic
/// function of the archetype's intercept + 0.3 × orders in the 365 days before the cart (at most
/// 5) + the step (cart 0, shipping 0.4, payment 0.8, review 1.0) + the device (desktop 0, mobile
/// −0.5, tablet −0.2) + 0.3 × ln(cart value / 100).
pub fn probability(a: Archetype, orders_year: usize, step: &str, device: &str, value: f64) -> f64 {
    let step = match step {
        "shipping" => 0.4,
        "payment" => 0.8,
        "review" => 1.0,
        _ => 0.0,
    };
    let device = match device {
        "mobile" => -0.5,
        "tablet" => -0.2,
        _ => 0.0,
    };
    let z = intercept(a)
        + 0.3 * orders_year.min(ORDERS_CAP) as f64
        + step
        + device
        + 0.3 * (value.max(1.0) / 100.0).ln();
    1.0 / (1.0 + (-z).exp())
}

/// P(delay <= x): 0 before `MIN_DELAY`, then 1 − exp(−(x − MIN_DELAY) / MEAN_DELAY).
pub fn delay_cdf(x: i64) -> f64 {
    if x <= MIN_DELAY {
        0.0
    } else {
        -(-((x - MIN_DELAY) as f64) / MEAN_DELAY as f64).exp_m1()
    }
}

/// A recovery play that already ran before T: from `since`, treatment-arm shoppers' abandoned
/// carts return with their probability + the archetype's uplift (clamped to [0, 1]).
pub struct EarlierPlay<'a> {
    pub holdout: &'a Holdout,
    pub since: i64,
    pub uplift: &'a dyn Fn(Archetype) -> f64,
}

/// One abandoned cart as planted.
#[derive(Debug, Clone, Copy)]
pub struct Planted {
    /// The cart's last update (the moment it was left).
    pub left: i64,
    pub probability: f64,
    /// When the shopper came back, if they do.
    pub returned: Option<i64>,
}

/// An abandoned cart read back from the generated rows.
struct Left {
    at: i64,
    month: usize,
    step: &'static str,
    device: &'static str,
    value: f64,
}

/// The shopper's abandoned carts (latest snapshot of each cart without an order) sorted by time,
/// and the sorted times of their orders.
fn read_back(recs: &[Rec], bounds: &[(i64, i64)]) -> (Vec<Left>, Vec<i64>) {
    let mut carts: std::collections::BTreeMap<&str, Left> = std::collections::BTreeMap::new();
    let mut converted = std::collections::BTreeSet::new();
    let mut orders = Vec::new();
    for r in recs {
        match r {
            Rec::Cart {
                cart,
                updated_at,
                step,
                device,
                value,
                ..
            } => {
                let newer = carts.get(cart.as_str()).is_none_or(|c| *updated_at >= c.at);
                if newer {
                    let month = bounds.iter().position(|b| *updated_at < b.1).unwrap_or(0) + 1;
                    let left = Left {
                        at: *updated_at,
                        month,
                        step,
                        device,
                        value: *value,
                    };
                    carts.insert(cart.as_str(), left);
                }
            }
            Rec::Order { at, cart, .. } => {
                orders.push(*at);
                if !cart.is_empty() {
                    converted.insert(cart.as_str());
                }
            }
            Rec::Event { .. } => {}
        }
    }
    let mut left: Vec<Left> = carts
        .into_iter()
        .filter(|(id, _)| !converted.contains(id))
        .map(|(_, c)| c)
        .collect();
    left.sort_by_key(|c| c.at);
    orders.sort_unstable();
    (left, orders)
}

/// Plants the returns of one shopper's abandoned carts (`recs`: their history and months, as
/// generated; `archetype(m)`: their archetype in month m). Returns every return order, whatever
/// its time, each abandoned cart as planted, and the times of all their orders.
pub fn plant(
    p: &SynthParams,
    shopper: usize,
    recs: &[Rec],
    bounds: &[(i64, i64)],
    archetype: impl Fn(usize) -> Archetype,
    play: Option<&EarlierPlay>,
) -> Planting {
    let (left, mut orders) = read_back(recs, bounds);
    let customer = customer_id(shopper);
    let treated = play.filter(|pl| pl.holdout.arm(&customer) == Arm::Treatment);
    let delay = Exp::new(1.0 / MEAN_DELAY as f64).expect("a positive rate");
    let mut out = Vec::new();
    let mut planted = Vec::with_capacity(left.len());
    let mut rng = stream(p.seed, shopper, 1, 5);
    let (mut month, mut k) = (0, 0);
    for c in left {
        if c.month != month {
            (month, k) = (c.month, 0);
            rng = stream(p.seed, shopper, month, 5);
        }
        let a = archetype(c.month);
        let year = orders_in_year(&orders, c.at);
        let mut prob = probability(a, year, c.step, c.device, c.value);
        if let Some(pl) = treated.filter(|pl| c.at >= pl.since) {
            prob = (prob + (pl.uplift)(a)).clamp(0.0, 1.0);
        }
        // Three draws per cart, whatever the outcome.
        let x: f64 = rng.gen();
        let wait = MIN_DELAY + delay.sample(&mut rng) as i64;
        let value = super::money(&mut rng, c.value);
        let returned = (x < prob).then(|| {
            let at = c.at + wait;
            at - at % SECOND
        });
        if let Some(at) = returned {
            let i = orders.partition_point(|t| *t <= at);
            orders.insert(i, at);
            out.push(Rec::Order {
                customer: customer.clone(),
                order: format!("ord_{:07}_r{:02}{:03}", shopper + 1, month, k),
                at,
                value,
                cart: String::new(),
                code: "",
                discount: 0.0,
                device: c.device,
                channel: "web",
            });
        }
        k += 1;
        planted.push(Planted {
            left: c.at,
            probability: prob,
            returned,
        });
    }
    Planting {
        returns: out,
        carts: planted,
        order_times: orders,
    }
}

/// One shopper's planted returns.
pub struct Planting {
    /// The return orders, whatever their time.
    pub returns: Vec<Rec>,
    /// Each abandoned cart as planted, in time order.
    pub carts: Vec<Planted>,
    /// The times of all their orders, returns included, sorted.
    pub order_times: Vec<i64>,
}

impl Planting {
    /// Orders in the 365 days before `t`.
    pub fn orders_year(&self, t: i64) -> usize {
        orders_in_year(&self.order_times, t)
    }
}

/// Orders in `[t − 365 days, t)` among sorted order times.
fn orders_in_year(sorted: &[i64], t: i64) -> usize {
    sorted.partition_point(|x| *x < t) - sorted.partition_point(|x| *x < t - 365 * DAY)
}

/// ∫₀ˣ F(y) dy, F the delay's distribution function: 0 up to `MIN_DELAY`, then
/// (x − MIN_DELAY) − MEAN_DELAY × (1 − exp(−(x − MIN_DELAY) / MEAN_DELAY)).
pub fn delay_cdf_integral(x: i64) -> f64 {
    if x <= MIN_DELAY {
        return 0.0;
    }
    let (d, mu) = ((x - MIN_DELAY) as f64, MEAN_DELAY as f64);
    d + mu * (-d / mu).exp_m1()
}

/// The mean return probability of a new cart of archetype `a` left by a shopper with
/// `orders_year` orders in the past year: the sum over steps and devices of their probabilities
/// (the archetype's abandoned-cart shares) times the mean over the log-normal cart value (median
/// the archetype's, σ 0.45), by the midpoint rule over ±10 standard deviations in 4,000 steps
/// (the integrand is smooth and bounded: the error is far below 1e-9).
pub fn mean_probability(a: Archetype, orders_year: usize) -> f64 {
    // The probability counts at most ORDERS_CAP orders: one table of 6 x 6 means, made once.
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        Archetype::ALL
            .iter()
            .flat_map(|a| (0..=ORDERS_CAP).map(|k| integrate(*a, k)))
            .collect()
    });
    let i = Archetype::ALL
        .iter()
        .position(|x| *x == a)
        .expect("every archetype");
    table[i * (ORDERS_CAP + 1) + orders_year.min(ORDERS_CAP)]
}

fn integrate(a: Archetype, orders_year: usize) -> f64 {
    const STEPS: usize = 4_000;
    let b = super::behaviour(a);
    let h = 20.0 / STEPS as f64;
    let mut total = 0.0;
    for (i, step) in super::STEPS.iter().enumerate() {
        for (j, device) in super::DEVICES.iter().enumerate() {
            let w = b.steps[i] * b.devices[j];
            if w == 0.0 {
                continue;
            }
            let mut mean = 0.0;
            for k in 0..STEPS {
                let z = -10.0 + (k as f64 + 0.5) * h;
                let value = (b.cart_median.ln() + super::CART_SPREAD * z).exp();
                let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
                mean += probability(a, orders_year, step, device, value) * density * h;
            }
            total += w * mean;
        }
    }
    total
}

/// The Poisson mean of returns in `(t, t + window]` from carts left after `t`: new abandoned
/// carts arrive at `carts_per_day` (the archetype's monthly mean spread over the month), each
/// returns with `mean_probability`, after the planted delay.
pub fn new_cart_returns(a: Archetype, orders_year: usize, carts_per_day: f64, window: i64) -> f64 {
    carts_per_day / DAY as f64 * mean_probability(a, orders_year) * delay_cdf_integral(window)
}

/// The planted probability that a shopper orders in `(t, t + window]`: one minus the chance that
/// no pending cart returns in the window (each cart left before `t` that has not returned by
/// `t`, whose return given none so far has probability p × [F(t + W − left) − F(t − left)] /
/// [1 − p × F(t − left)]) times the chance of no other order (`others`: the Poisson mean of
/// regular orders and of returns of carts left after `t`, over the window).
pub fn truth(carts: &[Planted], t: i64, window: i64, others: f64) -> f64 {
    let mut none = (-others).exp();
    for c in carts {
        if c.left >= t || c.returned.is_some_and(|r| r <= t) {
            continue;
        }
        let before = delay_cdf(t - c.left);
        let by_end = delay_cdf(t + window - c.left);
        let q = c.probability * (by_end - before) / (1.0 - c.probability * before);
        none *= 1.0 - q;
    }
    1.0 - none
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed form of `truth` against a count over many simulated delays: carts left 2, 5 and
    /// 20 days before t with probabilities 0.3, 0.6 and 0.9, and no regular orders.
    #[test]
    fn truth_matches_a_simulation_of_the_planted_delays() {
        use rand::SeedableRng;
        let t = 100 * DAY;
        let w = 7 * DAY;
        let specs = [(2 * DAY, 0.3), (5 * DAY, 0.6), (20 * DAY, 0.9)];
        let delay = Exp::new(1.0 / MEAN_DELAY as f64).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (mut kept, mut hit) = (0u64, 0u64);
        while kept < 400_000 {
            // Draw every cart; keep the draws where none has returned by t (what t can see).
            let times: Vec<Option<i64>> = specs
                .iter()
                .map(|(ago, p)| {
                    let x: f64 = rng.gen();
                    let at = t - ago + MIN_DELAY + delay.sample(&mut rng) as i64;
                    (x < *p).then_some(at)
                })
                .collect();
            if times.iter().any(|r| r.is_some_and(|r| r <= t)) {
                continue;
            }
            kept += 1;
            hit += times.iter().any(|r| r.is_some_and(|r| r <= t + w)) as u64;
        }
        let carts: Vec<Planted> = specs
            .iter()
            .map(|(ago, p)| Planted {
                left: t - ago,
                probability: *p,
                returned: None,
            })
            .collect();
        let exact = truth(&carts, t, w, 0.0);
        let simulated = hit as f64 / kept as f64;
        // Four standard errors of a proportion near 0.5 over 400,000 draws: 0.0032.
        assert!((exact - simulated).abs() < 0.0032, "{exact} vs {simulated}");
        // A cart returned before t counts for nothing; a regular mean of 0.2 adds its chance.
        let mut done = carts.clone();
        done[0].returned = Some(t - DAY);
        let rest = 1.0 - (1.0 - truth(&done, t, w, 0.0)) * (-0.2f64).exp();
        assert!((truth(&done, t, w, 0.2) - rest).abs() < 1e-15);
    }

    /// The closed-form integral of F and the quadrature of the mean probability, against plain
    /// sums and a simulation.
    #[test]
    fn new_cart_terms_match_sums_and_simulation() {
        use rand::SeedableRng;
        let x = 7 * DAY;
        let n = 100_000;
        let step = x as f64 / n as f64;
        let sum: f64 = (0..n)
            .map(|i| delay_cdf(((i as f64 + 0.5) * step) as i64) * step)
            .sum();
        assert!((delay_cdf_integral(x) - sum).abs() / sum < 1e-6, "{sum}");
        let a = Archetype::HighValueLoyal;
        let b = crate::synth::behaviour(a);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let value =
            rand_distr::LogNormal::new(b.cart_median.ln(), crate::synth::CART_SPREAD).unwrap();
        let draws = 200_000;
        let mean: f64 = (0..draws)
            .map(|_| {
                let s = crate::synth::STEPS[crate::synth::pick(&mut rng, &b.steps)];
                let d = crate::synth::DEVICES[crate::synth::pick(&mut rng, &b.devices)];
                probability(a, 2, s, d, value.sample(&mut rng))
            })
            .sum::<f64>()
            / draws as f64;
        // The probabilities lie in (0, 1): four standard errors are below 0.0045.
        assert!((mean_probability(a, 2) - mean).abs() < 0.0045, "{mean}");
    }

    #[test]
    fn probability_follows_the_documented_terms() {
        let base = probability(Archetype::DealSeeker, 0, "cart", "desktop", 100.0);
        assert!((base - 1.0 / (1.0 + 1.1f64.exp())).abs() < 1e-15);
        let z = -1.1 + 0.3 * 5.0 + 0.8 - 0.5 + 0.3 * 2f64.ln();
        let p = probability(Archetype::DealSeeker, 9, "payment", "mobile", 200.0);
        assert!((p - 1.0 / (1.0 + (-z).exp())).abs() < 1e-15);
        assert_eq!(delay_cdf(MIN_DELAY), 0.0);
        assert!((delay_cdf(MIN_DELAY + MEAN_DELAY) - (1.0 - (-1.0f64).exp())).abs() < 1e-15);
    }
}
