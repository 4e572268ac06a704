//! Names: the naming rules (each a trait with its score, words and evidence sentence) and how a
//! name is composed from the traits that apply (docs/personas.md, "Names"). The rules, their
//! words and their order are in [`RULES`]; the same inputs always give the same names.

use crate::features::catalogue;
use crate::personas::profile::Ctx;
use crate::util::numfmt::{money, pct0};

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
        evidence: |c| format!("{} have no order in the past year", pct0(c.stage("new"))),
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
                pct0(c.stage("loyal"))
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
                pct0(c.mean("discount_share").unwrap_or(0.0)),
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
                pct0(c.mean("mobile_share").unwrap_or(0.0))
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
                pct0(c.late_checkout_share.unwrap_or(0.0)),
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
                pct0(c.stage("lapsing")),
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
                pct0(c.mean("mobile_share").unwrap_or(0.0))
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
                pct0(c.mean("email_open_rate").unwrap_or(0.0)),
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
                pct0(1.0 - c.mean("mobile_share").unwrap_or(0.0))
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
pub fn compose(traits: &[(usize, f64)], taken: &[String]) -> (String, Vec<usize>) {
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

/// A free name for a persona whose composed `name` is already taken, never a number: the word
/// of the feature on which it differs most from the persona it is compared with ("Lower-Value
/// ..."), then the next feature, then two words. `diffs` holds, per feature, this persona minus
/// the other (in standard deviations); `taken` says whether a name is in use.
pub fn distinguish(name: &str, diffs: &[(String, f64)], taken: &dyn Fn(&str) -> bool) -> String {
    let mut order: Vec<(&'static str, f64)> = diffs
        .iter()
        .filter_map(|(f, d)| {
            let c = catalogue::get(f)?;
            (d.is_finite() && *d != 0.0 && !c.more.is_empty()).then_some((c.name, *d))
        })
        .collect();
    order.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(b.0)));
    let word = |(f, d): (&str, f64)| {
        let c = catalogue::get(f).expect("a catalogue feature");
        if d > 0.0 {
            c.more
        } else {
            c.less
        }
    };
    let words: Vec<&str> = order.iter().map(|&o| word(o)).collect();
    for w in &words {
        let candidate = format!("{w} {name}");
        if !taken(&candidate) {
            return candidate;
        }
    }
    for (i, a) in words.iter().enumerate() {
        for b in &words[i + 1..] {
            let candidate = format!("{a} {b} {name}");
            if !taken(&candidate) {
                return candidate;
            }
        }
    }
    // No feature tells them apart: identical profiles (the clustering found no difference).
    let mut candidate = format!("Other {name}");
    while taken(&candidate) {
        candidate = format!("Another {candidate}");
    }
    candidate
}

#[cfg(test)]
mod distinguish_tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_the_word_of_the_most_different_feature_never_a_number() {
        let taken =
            |n: &str| ["First-Time Shoppers", "Lower-Value First-Time Shoppers"].contains(&n);
        let diffs = vec![
            ("last_abandoned_value".to_string(), -1.2),
            ("orders".to_string(), 0.3),
            ("primary_device".to_string(), 5.0),
        ];
        // Lower-Value is taken: the next feature, orders, in its direction.
        assert_eq!(
            distinguish("First-Time Shoppers", &diffs, &taken),
            "More-Frequent First-Time Shoppers"
        );
        let diffs = vec![("mobile_share".to_string(), -0.4)];
        assert_eq!(
            distinguish("First-Time Shoppers", &diffs, &taken),
            "More-Desktop First-Time Shoppers"
        );
        assert_eq!(
            distinguish("First-Time Shoppers", &[], &taken),
            "Other First-Time Shoppers"
        );
    }
}
