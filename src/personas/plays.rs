//! Recovery plays: channels, timing and the offer that fit a persona's traits (docs/personas.md,
//! "Recovery plays").

use serde::{Deserialize, Serialize};

use crate::personas::profile::Ctx;

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

pub fn has(ids: &[&str], id: &str) -> bool {
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
