//! Properties that hold for any valid input (issue 9), checked with proptest on random small
//! shops run through the real binary: shares in [0, 1]; abandoned carts never exceed carts; every
//! abandoner gets exactly one persona; per-persona value at stake adds up to the total; `assign`
//! with a run's own model reproduces its assignments byte for byte.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use common::{cartsona, read_csv};
use proptest::prelude::*;

/// One random shopper: carts (minute offset in February 2025, value, device, step, discount),
/// orders (minute offset, value, whether it converts the shopper's first cart), and engagement.
#[derive(Debug, Clone)]
struct Shopper {
    carts: Vec<(u32, u32, u8, u8, bool)>,
    orders: Vec<(u32, u32, bool)>,
    events: Vec<(u32, u8, u8)>,
}

fn shopper() -> impl Strategy<Value = Shopper> {
    (
        prop::collection::vec(
            (0u32..40_000, 0u32..900, 0u8..4, 0u8..4, any::<bool>()),
            1..4,
        ),
        prop::collection::vec((0u32..40_000, 5u32..600, any::<bool>()), 0..4),
        prop::collection::vec((0u32..40_000, 0u8..7, 0u8..3), 0..8),
    )
        .prop_map(|(carts, orders, events)| Shopper {
            carts,
            orders,
            events,
        })
}

const DEVICES: [&str; 4] = ["mobile", "desktop", "tablet", "other"];
const STEPS: [&str; 4] = ["cart", "shipping", "payment", "review"];
const EVENTS: [&str; 7] = [
    "session_start",
    "page_view",
    "product_view",
    "remove_from_cart",
    "email_sent",
    "email_open",
    "email_click",
];

fn time(minutes: u32) -> String {
    let t = chrono::DateTime::parse_from_rfc3339("2025-02-01T00:00:00Z").unwrap()
        + chrono::Duration::minutes(minutes as i64);
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn write_shop(dir: &Path, shoppers: &[Shopper]) {
    let mut carts = String::from(
        "customer_id,cart_id,updated_at,cart_value,device,checkout_step,discount_code\n",
    );
    let mut orders = String::from("customer_id,order_id,ordered_at,order_value,cart_id\n");
    let mut engagement = String::from("customer_id,occurred_at,event_type,session_id,page\n");
    for (i, s) in shoppers.iter().enumerate() {
        for (j, (t, v, d, st, disc)) in s.carts.iter().enumerate() {
            let _ = writeln!(
                carts,
                "s{i},k{i}_{j},{},{v},{},{},{}",
                time(*t),
                DEVICES[*d as usize],
                STEPS[*st as usize],
                if *disc { "SAVE" } else { "" }
            );
        }
        for (j, (t, v, converts)) in s.orders.iter().enumerate() {
            let cart = if *converts {
                format!("k{i}_0")
            } else {
                String::new()
            };
            let _ = writeln!(orders, "s{i},o{i}_{j},{},{v},{cart}", time(*t));
        }
        for (t, e, sess) in &s.events {
            let _ = writeln!(
                engagement,
                "s{i},{},{},x{i}_{sess},/faq",
                time(*t),
                EVENTS[*e as usize]
            );
        }
    }
    std::fs::write(dir.join("carts.csv"), carts).unwrap();
    std::fs::write(dir.join("orders.csv"), orders).unwrap();
    std::fs::write(dir.join("engagement.csv"), engagement).unwrap();
}

fn inputs() -> Vec<&'static str> {
    vec![
        "--carts",
        "carts.csv",
        "--orders",
        "orders.csv",
        "--engagement",
        "engagement.csv",
        "--as-of",
        "2025-03-01",
        "--quiet",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 32, ..ProptestConfig::default() })]

    #[test]
    fn runs_keep_their_invariants(shoppers in prop::collection::vec(shopper(), 12..50)) {
        let dir = tempfile::tempdir().unwrap();
        write_shop(dir.path(), &shoppers);
        let out = cartsona()
            .current_dir(dir.path())
            .arg("segment")
            .args(inputs())
            .args(["--restarts", "3", "--out", "run"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        prop_assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{}", stderr);
        // Too few distinct abandoners is a documented refusal (exit 2), not a property failure.
        if out.status.code() == Some(2) {
            prop_assume!(stderr.contains("abandoner") || stderr.contains("nothing to segment"));
            return Ok(());
        }
        prop_assert_eq!(out.status.code(), Some(0), "{}", stderr);
        let run = dir.path().join("run");
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
        let carts = summary["carts"].as_u64().unwrap();
        let abandoned = summary["abandoned_carts"].as_u64().unwrap();
        prop_assert!(abandoned <= carts, "{} abandoned of {} carts", abandoned, carts);
        prop_assert!(summary["abandoned_carts_in_lookback"].as_u64().unwrap() <= abandoned);

        // Every abandoner exactly once, with a persona of the run.
        let assigned = read_csv(&run.join("assignments.csv"));
        let personas = read_csv(&run.join("personas.csv"));
        let ids: BTreeSet<&str> = personas.iter().map(|p| p["persona_id"].as_str()).collect();
        let customers: BTreeSet<&str> = assigned.iter().map(|r| r["customer_id"].as_str()).collect();
        prop_assert_eq!(customers.len(), assigned.len(), "a shopper assigned twice");
        prop_assert_eq!(assigned.len() as u64, summary["abandoners"].as_u64().unwrap());
        for r in &assigned {
            prop_assert!(ids.contains(r["persona_id"].as_str()), "unknown persona {}", r["persona_id"]);
        }
        // Persona sizes add up to the abandoners; shares are in [0, 1] and add up to 1.
        let sizes: u64 = personas.iter().map(|p| p["size"].parse::<u64>().unwrap()).sum();
        prop_assert_eq!(sizes, assigned.len() as u64);
        let mut share_sum = 0.0;
        for p in &personas {
            let s: f64 = p["share"].parse().unwrap();
            prop_assert!((0.0..=1.0).contains(&s), "share {}", s);
            share_sum += s;
        }
        prop_assert!((share_sum - 1.0).abs() < 1e-9, "shares add up to {}", share_sum);
        // Value at stake: per persona, from the assignments, and the run total all agree.
        let total = summary["value_at_stake"].as_f64().unwrap();
        let by_persona: f64 = personas.iter().map(|p| p["value_at_stake"].parse::<f64>().unwrap()).sum();
        let mut from_rows: BTreeMap<&str, f64> = BTreeMap::new();
        for r in &assigned {
            *from_rows.entry(r["persona_id"].as_str()).or_default() += r["last_abandoned_value"].parse::<f64>().unwrap();
        }
        prop_assert!((by_persona - total).abs() <= 1e-9 * total.max(1.0), "{} vs {}", by_persona, total);
        for p in &personas {
            let v: f64 = p["value_at_stake"].parse().unwrap();
            let rows = from_rows.get(p["persona_id"].as_str()).copied().unwrap_or(0.0);
            prop_assert!((v - rows).abs() <= 1e-9 * v.max(1.0));
        }
        // Rates and shares among the features are in [0, 1].
        for r in &assigned {
            for col in ["mobile_share", "discount_share", "email_open_rate", "max_checkout_depth"] {
                if let Some(v) = r.get(col).filter(|v| !v.is_empty()) {
                    let v: f64 = v.parse().unwrap();
                    prop_assert!((0.0..=1.0).contains(&v), "{} = {}", col, v);
                }
            }
        }
        // assign with the run's own model reproduces the assignments byte for byte.
        cartsona()
            .current_dir(dir.path())
            .arg("assign")
            .args(inputs())
            .args(["--model", "run/model.json", "--out", "again"])
            .assert()
            .success();
        prop_assert_eq!(
            std::fs::read(run.join("assignments.csv")).unwrap(),
            std::fs::read(dir.path().join("again/assignments.csv")).unwrap()
        );
    }
}
