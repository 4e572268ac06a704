//! Why a shopper scores as they do: the largest contributions to their log-odds, in words
//! (issue 20, `propensity_reasons`; docs/propensity.md "Explanations").
//!
//! In: the model's coefficients, the shopper's standardised values (the design-matrix row) and
//! their raw values (for the words). Out: up to three reasons such as
//! `+ ordered 6 times in the history window; + stopped at payment; - abandoned 19 days ago`.
//! A contribution is `coefficient x standardised value`: how far this shopper's log-odds moves
//! from an average shopper's because of that term. The sign says which way.

use crate::util::numfmt::{money, pct0};

/// One term of the design matrix as the words see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw<'a> {
    /// A numeric feature's raw value (`None`: unknown, filled before scaling).
    Num(&'a str, Option<f64>),
    /// One level of a one-hot category (`lifecycle_stage = loyal`), and whether the shopper has it.
    Level(&'a str, &'a str, bool),
}

/// The `n` largest contributions by size, as (term index, contribution); ties go to the earlier
/// term, and terms contributing nothing are left out.
pub fn largest(coefficients: &[f64], standardised: &[f64], n: usize) -> Vec<(usize, f64)> {
    let mut terms: Vec<(usize, f64)> = coefficients
        .iter()
        .zip(standardised)
        .map(|(c, z)| c * z)
        .enumerate()
        .filter(|(_, v)| *v != 0.0 && v.is_finite())
        .collect();
    terms.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    terms.truncate(n);
    terms
}

/// The reasons of one shopper: the three largest contributions, each `+` or `-` and its words,
/// joined by `; `.
pub fn reasons(coefficients: &[f64], standardised: &[f64], raw: &[Raw<'_>]) -> String {
    largest(coefficients, standardised, 3)
        .iter()
        .map(|&(i, v)| format!("{} {}", if v > 0.0 { '+' } else { '-' }, words(&raw[i])))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A term in words, with the shopper's own value.
pub fn words(raw: &Raw<'_>) -> String {
    let (name, v) = match raw {
        Raw::Level(feature, level, true) => return format!("{} {level}", label(feature)),
        Raw::Level(feature, level, false) => return format!("{} not {level}", label(feature)),
        Raw::Num(name, None) => return format!("{} unknown", label(name)),
        Raw::Num(name, Some(v)) => (*name, *v),
    };
    let n = |v: f64| format!("{v:.0}");
    let times = |v: f64, one: &str, many: &str| {
        if v == 1.0 {
            format!("1 {one}")
        } else {
            format!("{} {many}", n(v))
        }
    };
    match name {
        "last_abandoned_value" => format!("left a cart worth {}", money(v)),
        "abandoned_value_total" => format!("abandoned {} in carts", money(v)),
        "abandoned_carts" => format!("abandoned {}", times(v, "cart", "carts")),
        "orders" => format!(
            "ordered {} in the history window",
            times(v, "time", "times")
        ),
        "revenue" => format!("spent {} in the history window", money(v)),
        "has_ordered" if v > 0.0 => "has ordered before".into(),
        "has_ordered" => "has never ordered".into(),
        "ordered_since_abandon" if v > 0.0 => "ordered since abandoning".into(),
        "ordered_since_abandon" => "has not ordered since abandoning".into(),
        "aov" => format!("average order {}", money(v)),
        "cart_to_aov" => format!("cart {v:.1}x their average order"),
        "days_since_abandon" => format!("abandoned {} ago", times(v, "day", "days")),
        "days_since_last_order" => format!("last ordered {} ago", times(v, "day", "days")),
        "tenure_days" => format!("first seen {} ago", times(v, "day", "days")),
        "mobile_share" => format!("{} of carts and visits on mobile", pct0(v)),
        "max_checkout_depth" => format!("stopped at {}", step(v)),
        "discount_share" => format!("{} of carts and orders with a discount", pct0(v)),
        "sessions_30d" => format!("{} in 30 days", times(v, "session", "sessions")),
        "page_views_per_session" => format!("{v:.1} pages a session"),
        "product_views" => format!("viewed {}", times(v, "product", "products")),
        "info_page_views" => format!("read {}", times(v, "help page", "help pages")),
        "cart_removals" => format!("removed items {}", times(v, "time", "times")),
        "email_open_rate" => format!("opens {} of emails", pct0(v)),
        "email_clicks_90d" => format!("{} in 90 days", times(v, "email click", "email clicks")),
        "sms_clicks_90d" => format!("{} in 90 days", times(v, "SMS click", "SMS clicks")),
        other => format!("{other} {v}"),
    }
}

/// The checkout step of `max_checkout_depth` (step / 3).
fn step(depth: f64) -> &'static str {
    match (depth * 3.0).round() as i64 {
        i64::MIN..=0 => "the cart",
        1 => "shipping",
        2 => "payment",
        _ => "review",
    }
}

fn label(feature: &str) -> &str {
    match feature {
        "lifecycle_stage" => "lifecycle",
        "primary_device" => "device",
        "max_checkout_depth" => "checkout step",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Contributions 0.5 x 2 = 1.0, -1.5 x 1 = -1.5, 0.1 x 3 = 0.3, 2 x 0 = 0, 0.25 x -4 = -1.0:
    /// by size -1.5 (term 1), then 1.0 (term 0) and -1.0 (term 4) tied, the earlier first.
    #[test]
    fn the_largest_contributions_by_size_ties_to_the_earlier_term() {
        let got = largest(&[0.5, -1.5, 0.1, 2.0, 0.25], &[2.0, 1.0, 3.0, 0.0, -4.0], 3);
        assert_eq!(got, vec![(1, -1.5), (0, 1.0), (4, -1.0)]);
    }

    #[test]
    fn reasons_in_words_with_their_signs() {
        let raw = [
            Raw::Num("orders", Some(6.0)),
            Raw::Num("max_checkout_depth", Some(2.0 / 3.0)),
            Raw::Num("days_since_abandon", Some(19.2)),
            Raw::Level("lifecycle_stage", "loyal", true),
        ];
        // Contributions 1.6, 0.9, -0.76 and 0.01: the last is left out.
        let got = reasons(&[0.8, 0.5, -0.4, 0.01], &[2.0, 1.8, 1.9, 1.0], &raw);
        assert_eq!(
            got,
            "+ ordered 6 times in the history window; + stopped at payment; - abandoned 19 days ago"
        );
        assert_eq!(
            words(&Raw::Num("abandoned_carts", Some(1.0))),
            "abandoned 1 cart"
        );
        assert_eq!(words(&raw[3]), "lifecycle loyal");
        assert_eq!(words(&Raw::Num("aov", None)), "aov unknown");
    }
}
