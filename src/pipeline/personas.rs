//! Profiles, names, evidence, bullets and recovery plays (docs/personas.md).
//!
//! A persona's name comes from its most distinctive traits, each a rule on the cluster's profile
//! (a z-score of its mean against all abandoners, or a share). The rules, their words and their
//! order are in [`RULES`]; the same inputs always give the same names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pipeline::features::{FeatureTable, Values};
use crate::pipeline::matrix::{quantile_sorted, transform_of, Transform};

/// Summary statistics of one feature within a persona.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureStat {
    pub feature: String,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// (mean within the persona - mean over all abandoners) / sd over all abandoners, on the
    /// feature's transformed scale (log1p for money and counts).
    pub z: Option<f64>,
    /// 10th, 25th, 50th, 75th and 90th percentiles (type 7) of the known values.
    pub quantiles: Option<[f64; 5]>,
}

/// One trait behind a name, with the numbers that justify it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub r#trait: String,
    pub text: String,
    pub score: f64,
}

/// The recovery play.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Play {
    pub channels: Vec<String>,
    pub first_nudge: String,
    pub follow_up: String,
    pub last_touch: String,
    pub offer: String,
    pub exit_rule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Persona {
    pub id: String,
    pub name: String,
    pub size: usize,
    pub share: f64,
    /// Sum of `last_abandoned_value` over the persona's shoppers.
    pub value_at_stake: f64,
    pub evidence: Vec<Evidence>,
    pub bullets: Vec<String>,
    pub play: Play,
    pub lifecycle: BTreeMap<String, f64>,
    pub devices: BTreeMap<String, f64>,
    pub stats: Vec<FeatureStat>,
}

impl Persona {
    pub fn stat(&self, feature: &str) -> Option<&FeatureStat> {
        self.stats.iter().find(|s| s.feature == feature)
    }
}

/// What the rules see of one cluster.
pub struct Ctx<'a> {
    stats: &'a [FeatureStat],
    overall: &'a BTreeMap<String, (f64, f64)>,
    lifecycle: &'a BTreeMap<String, f64>,
    late_checkout_share: Option<f64>,
}

impl Ctx<'_> {
    fn get(&self, f: &str) -> Option<&FeatureStat> {
        self.stats.iter().find(|s| s.feature == f)
    }
    pub fn z(&self, f: &str) -> Option<f64> {
        self.get(f).and_then(|s| s.z)
    }
    pub fn mean(&self, f: &str) -> Option<f64> {
        self.get(f).and_then(|s| s.mean)
    }
    pub fn median(&self, f: &str) -> Option<f64> {
        self.get(f).and_then(|s| s.median)
    }
    fn overall_mean(&self, f: &str) -> Option<f64> {
        self.overall.get(f).map(|o| o.0)
    }
    fn stage(&self, s: &str) -> f64 {
        self.lifecycle.get(s).copied().unwrap_or(0.0)
    }
}

/// A naming rule: when it applies and how strongly (the score), its words, and its evidence.
pub struct Rule {
    pub id: &'static str,
    /// The adjective used in names ("High-Value").
    pub adjective: &'static str,
    /// The noun phrase when this trait heads the name ("Loyalists"); rules earlier in [`RULES`]
    /// head names before later ones.
    pub noun: &'static str,
    pub applies: fn(&Ctx) -> Option<f64>,
    /// Traits this one already says (their adjectives are not repeated in a name it heads).
    pub implies: &'static [&'static str],
    pub evidence: fn(&Ctx) -> String,
}

use crate::numfmt::{money, pct0 as pct};

fn sd(z: Option<f64>) -> String {
    z.map_or(String::new(), |z| format!(" ({z:+.1} sd)"))
}

/// Evidence of the high-value and small-basket traits.
fn basket_evidence(c: &Ctx) -> String {
    format!(
        "abandoned carts of {} on average vs {} overall{}",
        money(c.mean("last_abandoned_value").unwrap_or(0.0)),
        money(c.overall_mean("last_abandoned_value").unwrap_or(0.0)),
        sd(c.z("last_abandoned_value"))
    )
}

fn at_least(x: Option<f64>, t: f64) -> Option<f64> {
    x.filter(|v| *v >= t)
}

/// The naming rules, in the order in which they head a name (docs/personas.md lists them).
pub const RULES: &[Rule] = &[
    Rule {
        id: "first-time",
        adjective: "First-Time",
        noun: "First-Time Shoppers",
        implies: &[],
        applies: |c| (c.stage("new") >= 0.8).then(|| 1.0 + c.stage("new")),
        evidence: |c| format!("{} have no order in the past year", pct(c.stage("new"))),
    },
    Rule {
        id: "loyal",
        adjective: "Loyal",
        noun: "Loyalists",
        implies: &[],
        applies: |c| at_least(c.z("orders"), 0.5).filter(|_| c.stage("loyal") >= 0.5),
        evidence: |c| {
            format!(
                "{:.1} orders in the past year vs {:.1} overall{}; {} loyal",
                c.mean("orders").unwrap_or(0.0),
                c.overall_mean("orders").unwrap_or(0.0),
                sd(c.z("orders")),
                pct(c.stage("loyal"))
            )
        },
    },
    Rule {
        id: "deal-driven",
        adjective: "Deal-Driven",
        noun: "Deal-Seekers",
        implies: &[],
        applies: |c| {
            at_least(c.z("discount_share"), 0.7)
                .filter(|_| c.mean("discount_share").unwrap_or(0.0) >= 0.3)
        },
        evidence: |c| {
            format!(
                "{} of their orders and carts carry a discount{}",
                pct(c.mean("discount_share").unwrap_or(0.0)),
                sd(c.z("discount_share"))
            )
        },
    },
    Rule {
        id: "indecisive",
        adjective: "Indecisive",
        noun: "Indecisive Browsers",
        implies: &[],
        applies: |c| {
            let z = c
                .z("cart_removals")
                .unwrap_or(f64::MIN)
                .max(c.z("product_views").unwrap_or(f64::MIN));
            (z >= 0.7).then_some(z)
        },
        evidence: |c| {
            format!(
                "{:.1} product views and {:.1} cart removals in the lookback{}",
                c.mean("product_views").unwrap_or(0.0),
                c.mean("cart_removals").unwrap_or(0.0),
                sd(c.z("cart_removals").or(c.z("product_views")))
            )
        },
    },
    Rule {
        id: "impulse",
        adjective: "Impulse",
        noun: "Mobile Impulse Shoppers",
        implies: &["mobile", "small-basket"],
        applies: |c| {
            let mobile = c.mean("mobile_share")?;
            let z = c.z("last_abandoned_value")?;
            (mobile >= 0.6 && z <= -0.5).then_some(-z)
        },
        evidence: |c| {
            format!(
                "median abandoned cart {} vs a mean of {} overall, {} on mobile",
                money(c.median("last_abandoned_value").unwrap_or(0.0)),
                money(c.overall_mean("last_abandoned_value").unwrap_or(0.0)),
                pct(c.mean("mobile_share").unwrap_or(0.0))
            )
        },
    },
    Rule {
        id: "checkout",
        adjective: "Late-Checkout",
        noun: "Checkout Droppers",
        implies: &[],
        applies: |c| {
            let share = c.late_checkout_share?;
            (share >= 0.5).then(|| c.z("max_checkout_depth").unwrap_or(0.0).max(0.5))
        },
        evidence: |c| {
            format!(
                "{} stalled at payment or review{}",
                pct(c.late_checkout_share.unwrap_or(0.0)),
                sd(c.z("max_checkout_depth"))
            )
        },
    },
    Rule {
        id: "lapsing",
        adjective: "Lapsing",
        noun: "Lapsing Customers",
        implies: &[],
        applies: |c| {
            (c.stage("lapsing") >= 0.5)
                .then(|| c.z("days_since_last_order").unwrap_or(0.5).max(0.5))
        },
        evidence: |c| {
            format!(
                "{} lapsing; {:.0} days since the last order on average",
                pct(c.stage("lapsing")),
                c.mean("days_since_last_order").unwrap_or(0.0)
            )
        },
    },
    Rule {
        id: "reassurance",
        adjective: "Returns-Checking",
        noun: "Reassurance Seekers",
        implies: &[],
        applies: |c| at_least(c.z("info_page_views"), 0.7),
        evidence: |c| {
            format!(
                "{:.1} views of returns, shipping and FAQ pages{}",
                c.mean("info_page_views").unwrap_or(0.0),
                sd(c.z("info_page_views"))
            )
        },
    },
    Rule {
        id: "repeat",
        adjective: "Repeat",
        noun: "Repeat Abandoners",
        implies: &[],
        applies: |c| at_least(c.z("abandoned_carts"), 0.7),
        evidence: |c| {
            format!(
                "{:.1} abandoned carts in the lookback{}",
                c.mean("abandoned_carts").unwrap_or(0.0),
                sd(c.z("abandoned_carts"))
            )
        },
    },
    Rule {
        id: "mobile",
        adjective: "Mobile",
        noun: "Mobile Shoppers",
        implies: &[],
        applies: |c| {
            let m = c.mean("mobile_share")?;
            (m >= 0.7).then(|| c.z("mobile_share").unwrap_or(0.5).max(0.5))
        },
        evidence: |c| {
            format!(
                "{} of carts and sessions on mobile or tablet",
                pct(c.mean("mobile_share").unwrap_or(0.0))
            )
        },
    },
    Rule {
        id: "stretch",
        adjective: "Stretch-Budget",
        noun: "Stretch Shoppers",
        implies: &[],
        applies: |c| {
            at_least(c.z("cart_to_aov"), 0.7)
                .filter(|_| c.median("cart_to_aov").unwrap_or(0.0) >= 1.5)
        },
        evidence: |c| {
            format!(
                "cart {:.1}x their own AOV (median){}",
                c.median("cart_to_aov").unwrap_or(0.0),
                sd(c.z("cart_to_aov"))
            )
        },
    },
    Rule {
        id: "frequent",
        adjective: "Frequent-Visit",
        noun: "Frequent Visitors",
        implies: &[],
        applies: |c| at_least(c.z("sessions_30d"), 0.7),
        evidence: |c| {
            format!(
                "{:.1} sessions in 30 days{}",
                c.mean("sessions_30d").unwrap_or(0.0),
                sd(c.z("sessions_30d"))
            )
        },
    },
    Rule {
        id: "high-value",
        adjective: "High-Value",
        noun: "Big-Basket Shoppers",
        implies: &[],
        applies: |c| at_least(c.z("last_abandoned_value"), 0.5),
        evidence: basket_evidence,
    },
    Rule {
        id: "small-basket",
        adjective: "Small-Basket",
        noun: "Small-Basket Shoppers",
        implies: &[],
        applies: |c| {
            c.z("last_abandoned_value")
                .filter(|z| *z <= -0.5)
                .map(|z| -z)
        },
        evidence: basket_evidence,
    },
    Rule {
        id: "email-engaged",
        adjective: "Email-Engaged",
        noun: "Engaged Subscribers",
        implies: &[],
        applies: |c| at_least(c.z("email_open_rate"), 0.7),
        evidence: |c| {
            format!(
                "email open rate {}{}",
                pct(c.mean("email_open_rate").unwrap_or(0.0)),
                sd(c.z("email_open_rate"))
            )
        },
    },
    Rule {
        id: "desktop",
        adjective: "Desktop",
        noun: "Desktop Shoppers",
        implies: &[],
        applies: |c| {
            let m = c.mean("mobile_share")?;
            (m <= 0.3).then(|| (-c.z("mobile_share").unwrap_or(-0.5)).max(0.5))
        },
        evidence: |c| {
            format!(
                "{} of carts and sessions on desktop",
                pct(1.0 - c.mean("mobile_share").unwrap_or(0.0))
            )
        },
    },
];

/// How many traits a name draws on, and the most words it may have.
const NAME_TRAITS: usize = 3;
/// The first rules of [`RULES`] say who the shopper is (first-time, loyal, deal-seeker, browser):
/// when one applies, the strongest of them heads the name even if other traits score higher.
const IDENTITY_RULES: usize = 4;
const MAX_WORDS: usize = 4;

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Builds the name from the applicable traits: the noun of the strongest identity trait that
/// applies, or else of the earliest rule among the top three traits by score, preceded by the
/// adjectives of the strongest other traits while the name stays within four words.
fn compose(traits: &[(usize, f64)], taken: &[String]) -> (String, Vec<usize>) {
    if traits.is_empty() {
        return ("Typical Abandoners".to_string(), Vec::new());
    }
    // `traits` is sorted by score (ties: rule order), so the first identity trait is the strongest.
    let identity = traits.iter().map(|t| t.0).find(|&r| r < IDENTITY_RULES);
    let head = identity.unwrap_or_else(|| {
        traits
            .iter()
            .take(NAME_TRAITS)
            .map(|t| t.0)
            .min()
            .expect("not empty")
    });
    let top: Vec<(usize, f64)> = traits
        .iter()
        .filter(|t| t.0 != head)
        .take(NAME_TRAITS - 1)
        .copied()
        .collect();
    let noun = RULES[head].noun;
    let mut used = vec![head];
    let mut adjs: Vec<&str> = Vec::new();
    // Adjectives from the other top traits, then further traits if the name is taken.
    for (pass, pool) in [&top[..], traits].into_iter().enumerate() {
        for &(r, _) in pool {
            if used.contains(&r) {
                continue;
            }
            let adj = RULES[r].adjective;
            if RULES[head].implies.contains(&RULES[r].id) {
                continue;
            }
            if noun.contains(adj) || adjs.iter().any(|a| a.contains(adj) || adj.contains(a)) {
                continue;
            }
            if words(noun) + adjs.len() + 1 > MAX_WORDS {
                break;
            }
            if pass == 1 {
                let current = format!("{} {noun}", adjs.join(" "));
                if !taken.iter().any(|t| t.trim() == current.trim()) {
                    break;
                }
            }
            adjs.push(adj);
            used.push(r);
        }
    }
    let name = if adjs.is_empty() {
        noun.to_string()
    } else {
        format!("{} {noun}", adjs.join(" "))
    };
    (name, used)
}

/// Mean, median and the 10/25/50/75/90th percentiles of known values.
fn describe(values: &[f64]) -> (Option<f64>, Option<f64>, Option<[f64; 5]>) {
    if values.is_empty() {
        return (None, None, None);
    }
    let mut v = values.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    let q = [0.1, 0.25, 0.5, 0.75, 0.9].map(|p| quantile_sorted(&v, p));
    (
        Some(v.iter().sum::<f64>() / v.len() as f64),
        Some(q[2]),
        Some(q),
    )
}

fn transformed(name: &str, x: f64) -> f64 {
    match transform_of(name) {
        Transform::Identity => x,
        Transform::Log1p => x.max(0.0).ln_1p(),
    }
}

const STEP_NAMES: [&str; 4] = ["cart", "shipping", "payment", "review"];

/// Builds the personas for a clustering. `labels[i]` is the cluster of `table.customers[i]`.
/// With `by_size`, personas are numbered P1.. by size (largest first; ties by value at stake, then
/// cluster index); otherwise they keep the cluster order (for `assign`, which then takes ids and
/// names from the model).
pub fn build(
    table: &FeatureTable,
    labels: &[usize],
    k: usize,
    by_size: bool,
) -> (Vec<Persona>, Vec<usize>) {
    let n = table.customers.len();
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    // Overall mean and sd of each numeric feature on its transformed scale, and raw means.
    let mut overall_t: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut overall_raw: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for c in &table.columns {
        if let Values::Num(v) = &c.values {
            let known: Vec<f64> = v
                .iter()
                .flatten()
                .map(|x| transformed(c.name, *x))
                .collect();
            let raw: Vec<f64> = v.iter().flatten().copied().collect();
            if known.is_empty() {
                continue;
            }
            let m = known.iter().sum::<f64>() / known.len() as f64;
            let s =
                (known.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / known.len() as f64).sqrt();
            overall_t.insert(c.name.to_string(), (m, s));
            overall_raw.insert(
                c.name.to_string(),
                (raw.iter().sum::<f64>() / raw.len() as f64, 0.0),
            );
        }
    }
    let last_value = match table.column("last_abandoned_value").map(|c| &c.values) {
        Some(Values::Num(v)) => v.clone(),
        _ => vec![None; n],
    };
    let mut drafts = Vec::with_capacity(k);
    for cl in 0..k {
        let members: Vec<usize> = (0..n).filter(|&i| labels[i] == cl).collect();
        let size = members.len();
        // fold from +0.0: an empty f64 sum is -0.0 (an empty persona under `assign`).
        let value_at_stake = members
            .iter()
            .map(|&i| last_value[i].unwrap_or(0.0))
            .fold(0.0, |s, v| s + v);
        let mut stats = Vec::new();
        let mut lifecycle = BTreeMap::new();
        let mut devices = BTreeMap::new();
        let mut late_checkout_share = None;
        for c in &table.columns {
            match &c.values {
                Values::Num(v) => {
                    let raw: Vec<f64> = members.iter().filter_map(|&i| v[i]).collect();
                    let (mean, median, quantiles) = describe(&raw);
                    let z = overall_t
                        .get(c.name)
                        .filter(|o| o.1 > 0.0 && !raw.is_empty())
                        .map(|o| {
                            let mt = raw.iter().map(|x| transformed(c.name, *x)).sum::<f64>()
                                / raw.len() as f64;
                            (mt - o.0) / o.1
                        });
                    if c.name == "max_checkout_depth" && !raw.is_empty() {
                        late_checkout_share = Some(
                            raw.iter().filter(|x| **x >= 2.0 / 3.0 - 1e-9).count() as f64
                                / raw.len() as f64,
                        );
                    }
                    stats.push(FeatureStat {
                        feature: c.name.to_string(),
                        mean,
                        median,
                        z,
                        quantiles,
                    });
                }
                Values::Cat(v) => {
                    let target = match c.name {
                        "lifecycle_stage" => &mut lifecycle,
                        "primary_device" => &mut devices,
                        _ => continue,
                    };
                    for &i in &members {
                        *target
                            .entry(v[i].unwrap_or("unknown").to_string())
                            .or_insert(0.0) += 1.0;
                    }
                    for x in target.values_mut() {
                        *x /= size.max(1) as f64;
                    }
                }
            }
        }
        drafts.push((
            cl,
            size,
            value_at_stake,
            stats,
            lifecycle,
            devices,
            late_checkout_share,
        ));
    }
    // Number personas by size, then value at stake, then cluster index.
    if by_size {
        drafts.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
    }
    let mut cluster_to_persona = vec![0usize; k];
    let mut personas = Vec::with_capacity(k);
    let mut taken: Vec<String> = Vec::new();
    for (pi, (cl, size, value_at_stake, stats, lifecycle, devices, late)) in
        drafts.into_iter().enumerate()
    {
        cluster_to_persona[cl] = pi;
        let ctx = Ctx {
            stats: &stats,
            overall: &overall_raw,
            lifecycle: &lifecycle,
            late_checkout_share: late,
        };
        let mut traits: Vec<(usize, f64)> = RULES
            .iter()
            .enumerate()
            .filter_map(|(i, r)| (r.applies)(&ctx).map(|s| (i, s)))
            .collect();
        traits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let (mut name, used) = compose(&traits, &taken);
        if taken.contains(&name) {
            name = format!("{name} {}", pi + 1);
        }
        taken.push(name.clone());
        let evidence: Vec<Evidence> = used
            .iter()
            .map(|&r| Evidence {
                r#trait: RULES[r].id.to_string(),
                text: (RULES[r].evidence)(&ctx),
                score: traits.iter().find(|t| t.0 == r).map_or(0.0, |t| t.1),
            })
            .collect();
        let ids: Vec<&str> = traits.iter().map(|t| RULES[t.0].id).collect();
        let play = play(&ctx, &ids);
        let bullets = bullets(
            &ctx,
            &ids,
            size,
            size as f64 / n as f64,
            value_at_stake,
            &devices,
            &play,
        );
        personas.push(Persona {
            id: format!("P{}", pi + 1),
            name,
            size,
            share: size as f64 / n as f64,
            value_at_stake,
            evidence,
            bullets,
            play,
            lifecycle,
            devices,
            stats,
        });
    }
    (personas, cluster_to_persona)
}

fn has(ids: &[&str], id: &str) -> bool {
    ids.contains(&id)
}

/// The recovery play (docs/personas.md, "Recovery plays").
pub fn play(c: &Ctx, ids: &[&str]) -> Play {
    let mobile = c.mean("mobile_share").unwrap_or(0.0) >= 0.6;
    let far_above_aov = c.median("cart_to_aov").unwrap_or(0.0) >= 2.0;
    let high_touch = has(ids, "loyal") || has(ids, "high-value");
    let channels: Vec<&str> = if mobile {
        vec!["sms", "push", "email", "on-site", "ads"]
    } else if high_touch {
        vec!["email", "on-site", "sms", "ads", "push"]
    } else {
        vec!["email", "on-site", "ads", "sms", "push"]
    };
    let offer = if has(ids, "first-time")
        && (has(ids, "reassurance") || c.z("info_page_views").unwrap_or(0.0) > 0.0)
    {
        "Reassurance, not a discount: free returns, delivery dates and reviews in the first message"
    } else if has(ids, "loyal") && (has(ids, "checkout") || has(ids, "high-value")) {
        "Concierge help: a personal note offering help to finish the payment, with their saved payment options"
    } else if has(ids, "stretch") || far_above_aov {
        "Payment options: instalments or pay later for the full cart"
    } else if has(ids, "deal-driven") {
        "A bundle or a free-shipping threshold, not a blanket discount"
    } else if has(ids, "indecisive") {
        "Alternatives: a side-by-side of the items they viewed, with reviews, and a price-drop alert"
    } else if has(ids, "first-time") {
        "Reassurance, not a discount: free returns, delivery dates and reviews in the first message"
    } else if has(ids, "impulse") || mobile {
        "A one-tap link that restores the cart, with wallet payment"
    } else if has(ids, "lapsing") {
        "Win-back: what is new since their last order, and their loyalty points"
    } else {
        "A reminder with the cart contents and social proof"
    };
    Play {
        channels: channels.into_iter().map(str::to_string).collect(),
        first_nudge: "45 minutes after abandonment, without a discount".into(),
        follow_up: if far_above_aov {
            "24 hours after abandonment: a cart far above their usual order needs time".into()
        } else {
            "9 hours after abandonment".into()
        },
        last_touch: if far_above_aov {
            "48 hours after abandonment".into()
        } else {
            "36 hours after abandonment".into()
        },
        offer: offer.into(),
        exit_rule:
            "Stop at once when the shopper buys; also stop when the cart is emptied or they opt out"
                .into(),
    }
}

fn bullets(
    c: &Ctx,
    ids: &[&str],
    size: usize,
    share: f64,
    value_at_stake: f64,
    devices: &BTreeMap<String, f64>,
    play: &Play,
) -> Vec<String> {
    let mut out = Vec::new();
    // Behaviour.
    let mut behaviour = Vec::new();
    if let Some(d) = c.median("max_checkout_depth") {
        behaviour.push(format!(
            "abandons at the {} step (median)",
            STEP_NAMES[(d * 3.0).round().clamp(0.0, 3.0) as usize]
        ));
    }
    if let Some((dev, s)) = devices
        .iter()
        .filter(|(d, _)| d.as_str() != "unknown")
        .max_by(|a, b| a.1.total_cmp(b.1))
    {
        behaviour.push(format!("mostly on {dev} ({})", pct(*s)));
    }
    if let Some(s) = c.mean("sessions_30d") {
        behaviour.push(format!("{s:.1} sessions in 30 days"));
    }
    if let Some(p) = c.mean("product_views") {
        behaviour.push(format!("{p:.1} product views"));
    }
    if !behaviour.is_empty() {
        let mut b = behaviour.join(", ");
        b[..1].make_ascii_uppercase();
        out.push(format!("Behaviour: {b}."));
    }
    // Value.
    let mut value = format!(
        "Value: {size} shoppers ({}) with {} at stake",
        pct(share),
        money(value_at_stake)
    );
    if let Some(m) = c.median("last_abandoned_value") {
        value.push_str(&format!("; median abandoned cart {}", money(m)));
    }
    if let Some(r) = c.median("cart_to_aov") {
        value.push_str(&format!(", {r:.1}x their usual order"));
    }
    out.push(value + ".");
    // Likely objection.
    let objection = if has(ids, "first-time") || has(ids, "reassurance") {
        "Unsure about returns, delivery times and shipping costs at a shop they have not bought from"
    } else if has(ids, "loyal") && has(ids, "checkout") {
        "Payment friction: a declined card, a missing payment method, or a total above their usual order"
    } else if has(ids, "stretch") {
        "Sticker shock: the cart is well above what they usually spend"
    } else if has(ids, "deal-driven") {
        "Waiting for a code or a sale before buying"
    } else if has(ids, "indecisive") {
        "Cannot choose between similar products"
    } else if has(ids, "impulse") || has(ids, "mobile") {
        "Interrupted on a small screen; finishing checkout feels like effort"
    } else if has(ids, "checkout") {
        "Surprised at the last step: shipping cost, delivery date or payment options"
    } else if has(ids, "lapsing") {
        "Drifted away: the shop is no longer top of mind"
    } else {
        "Not ready to buy yet"
    };
    out.push(format!("Likely objection: {objection}."));
    out.push(format!("Best-fit offer: {}.", play.offer));
    let stages: Vec<String> = ["new", "active", "loyal", "lapsing"]
        .iter()
        .filter_map(|s| {
            c.lifecycle
                .get(*s)
                .filter(|v| **v >= 0.005)
                .map(|v| format!("{} {s}", pct(*v)))
        })
        .collect();
    if !stages.is_empty() {
        out.push(format!("Lifecycle: {}.", stages.join(", ")));
    }
    out
}
