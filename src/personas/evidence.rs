//! Evidence: why a persona has its name (one sentence per trait) and the bullets of its card
//! (behaviour, value, likely objection, best-fit offer, lifecycle).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::catalogue::LIFECYCLE_STAGES;
use crate::personas::plays::{has, Play};
use crate::personas::profile::{Ctx, STEP_NAMES};
use crate::util::numfmt::{money, pct0};

/// One trait behind a name, with the numbers that justify it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    pub r#trait: String,
    pub text: String,
    pub score: f64,
}

/// The bullets of a persona card.
pub fn bullets(
    c: &Ctx,
    ids: &[&str],
    size: usize,
    share: f64,
    value_at_stake: Option<f64>,
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
        behaviour.push(format!("mostly on {dev} ({})", pct0(*s)));
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
    let mut value = match value_at_stake {
        Some(v) => format!(
            "Value: {size} shoppers ({}) with {} at stake",
            pct0(share),
            money(v)
        ),
        None => format!(
            "Value: {size} shoppers ({}), value at stake unknown (no last_abandoned_value)",
            pct0(share)
        ),
    };
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
    let stages: Vec<String> = LIFECYCLE_STAGES
        .iter()
        .filter_map(|s| {
            c.lifecycle
                .get(*s)
                .filter(|v| **v >= 0.005)
                .map(|v| format!("{} {s}", pct0(*v)))
        })
        .collect();
    if !stages.is_empty() {
        out.push(format!("Lifecycle: {}.", stages.join(", ")));
    }
    out
}
