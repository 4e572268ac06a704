//! `cartsona features` on a tiny fixture whose every number was worked out by hand.
//!
//! Fixture (tests/data/features), as of T = 2025-03-01T00:00:00Z, A = 24h, L = 30d, H = 365d:
//! lookback for abandoned carts is (2025-01-30, 2025-02-28], history is (2024-03-01, 2025-03-01].
//! - alice: carts k1 (latest snapshot 2025-02-20 10:00, 600, mobile, payment) and k2 (2025-02-25,
//!   50, desktop, shipping, code SAVE10), both abandoned; orders 100 + 200 (discounted) + 300.
//! - bob: cart k3 updated exactly at T - A (abandoned: the edge is inclusive), created 2025-02-27,
//!   tablet, review; no orders.
//! - carol: k4 one second after T - A (too recent); k5 with an order exactly A later (not abandoned).
//! - dave: k6 carried by a later order's cart_id; k7 abandoned before the lookback. Not an abandoner.
//! - erin: a zero-value cart. frank: everything after T (ignored).
//! - gina: k10 2025-02-01 12:00, 30, device other; one order 2024-10-01 (lapsing).
//! - hank: k11 2025-02-14, 45; one order 2025-01-10 (active); sms clicks on 2024-11-01 (outside
//!   90 days) and 2025-02-16; an unknown event type.
//!   AOVs of customers with orders in history: 200, 70, 120, 60, 40 -> median 70 (bob's aov).

mod common;

use std::collections::BTreeMap;

use common::{cartsona, fixture, read_csv};
use predicates::str::contains;
use tempfile::TempDir;

const AS_OF: &str = "2025-03-01T00:00:00Z";

fn expected() -> BTreeMap<&'static str, Vec<(&'static str, &'static str)>> {
    let cols = [
        "last_abandoned_value",
        "abandoned_value_total",
        "abandoned_carts",
        "orders",
        "revenue",
        "has_ordered",
        "aov",
        "cart_to_aov",
        "days_since_abandon",
        "days_since_last_order",
        "tenure_days",
        "mobile_share",
        "primary_device",
        "max_checkout_depth",
        "discount_share",
        "sessions_30d",
        "page_views_per_session",
        "product_views",
        "info_page_views",
        "cart_removals",
        "email_open_rate",
        "email_clicks_90d",
        "sms_clicks_90d",
        "lifecycle_stage",
        "ordered_since_abandon",
    ];
    // Worked out by hand from the fixture (see the module comment).
    let alice = [
        "50",
        "650",
        "2",
        "3",
        "600",
        "1",
        "200",
        "0.25",
        "4",
        "19",
        "90",
        "0.5",
        "desktop",
        "0.666666666667",
        "0.4",
        "2",
        "2",
        "2",
        "1",
        "0",
        "0.5",
        "1",
        "0",
        "loyal",
        // Latest abandoned cart k2 (2025-02-25) is after her last order (2025-02-10).
        "0",
    ];
    let bob = [
        "80",
        "80",
        "1",
        "0",
        "0",
        "0",
        "70",
        "1.142857142857",
        "1",
        "365",
        "2",
        "1",
        "tablet",
        "1",
        "0",
        "0",
        "",
        "0",
        "0",
        "0",
        "",
        "0",
        "0",
        "new",
        "0",
    ];
    let gina = [
        "30", "30", "1", "1", "60", "1", "60", "0.5", "27.5", "151", "151", "0", "other", "", "0",
        "0", "", "0", "0", "0", "", "0", "0", "lapsing", "0",
    ];
    let hank = [
        "45", "45", "1", "1", "40", "1", "40", "1.125", "15", "50", "120", "", "", "", "0", "0",
        "", "0", "0", "1", "0", "0", "1", "active", "0",
    ];
    let mut m = BTreeMap::new();
    for (name, vals) in [
        ("alice", alice),
        ("bob", bob),
        ("gina", gina),
        ("hank", hank),
    ] {
        m.insert(
            name,
            cols.iter().copied().zip(vals.iter().copied()).collect(),
        );
    }
    m
}

fn assert_close(customer: &str, column: &str, got: &str, want: &str) {
    if want.is_empty() || want.parse::<f64>().is_err() {
        assert_eq!(got, want, "{customer}.{column}");
        return;
    }
    let g: f64 = got
        .parse()
        .unwrap_or_else(|_| panic!("{customer}.{column}: '{got}' is not a number"));
    let w: f64 = want.parse().unwrap();
    assert!(
        (g - w).abs() < 1e-9,
        "{customer}.{column}: got {g}, want {w}"
    );
}

fn run_features(dir: &TempDir, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.path().join("features.csv");
    let data = fixture("features");
    cartsona()
        .arg("features")
        .arg("--carts")
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--engagement")
        .arg(data.join("engagement.csv"))
        .args(["--as-of", AS_OF, "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    out
}

#[test]
fn every_feature_matches_the_hand_computed_values() {
    let dir = TempDir::new().unwrap();
    let out = run_features(&dir, &[]);
    let rows = read_csv(&out);
    let want = expected();
    let ids: Vec<&str> = rows.iter().map(|r| r["customer_id"].as_str()).collect();
    assert_eq!(
        ids,
        ["alice", "bob", "gina", "hank"],
        "abandoners, sorted by customer_id"
    );
    for row in &rows {
        let id = row["customer_id"].as_str();
        let cols = &want[id];
        assert_eq!(row.len(), cols.len() + 1, "{id}: column count");
        for (col, val) in cols {
            assert_close(id, col, &row[*col], val);
        }
    }
}

#[test]
fn column_order_is_documented_order() {
    let dir = TempDir::new().unwrap();
    let out = run_features(&dir, &[]);
    let header = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        header,
        "customer_id,last_abandoned_value,abandoned_value_total,abandoned_carts,orders,revenue,has_ordered,aov,\
cart_to_aov,days_since_abandon,days_since_last_order,tenure_days,mobile_share,primary_device,max_checkout_depth,\
discount_share,sessions_30d,page_views_per_session,product_views,info_page_views,cart_removals,email_open_rate,\
email_clicks_90d,sms_clicks_90d,lifecycle_stage,ordered_since_abandon"
    );
}

/// `ordered_since_abandon` (issue 20), worked by hand as of 2025-03-01 with A = 24h:
/// - ivan: cart 2025-02-03 abandoned, an order 2025-02-20 without its id: 1;
/// - lee: carts 2025-02-01 and 2025-02-10 abandoned, an order 2025-02-05 between them: 0 (the
///   latest abandoned cart is after it);
/// - mo: cart 2025-02-01 00:00, an order one second after A: the cart is abandoned, and 1;
/// - ned: an order exactly A after the cart: the cart is not abandoned, so ned is no abandoner.
#[test]
fn ordered_since_abandon_by_hand() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("carts.csv"),
        "customer_id,cart_id,updated_at,cart_value\n\
         ivan,k1,2025-02-03T00:00:00Z,40\n\
         lee,k2,2025-02-01T00:00:00Z,20\n\
         lee,k3,2025-02-10T00:00:00Z,25\n\
         mo,k4,2025-02-01T00:00:00Z,30\n\
         ned,k5,2025-02-01T00:00:00Z,35\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("orders.csv"),
        "customer_id,order_id,ordered_at,order_value\n\
         ivan,o1,2025-02-20T00:00:00Z,70\n\
         lee,o2,2025-02-05T00:00:00Z,50\n\
         mo,o3,2025-02-02T00:00:01Z,60\n\
         ned,o4,2025-02-02T00:00:00Z,65\n",
    )
    .unwrap();
    let out = dir.path().join("f.csv");
    cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", "carts.csv", "--orders", "orders.csv"])
        .args(["--as-of", AS_OF, "--out"])
        .arg(&out)
        .assert()
        .success();
    let got: Vec<(String, String)> = read_csv(&out)
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["ordered_since_abandon"].clone()))
        .collect();
    let want = [("ivan", "1"), ("lee", "0"), ("mo", "1")];
    assert_eq!(
        got,
        want.map(|(c, v)| (c.to_string(), v.to_string())).to_vec()
    );
}

#[test]
fn window_edges() {
    // bob's cart sits exactly A before T: abandoned. carol's cart is one second newer: not yet
    // abandoned; her other cart has an order exactly A after it: not abandoned either.
    let dir = TempDir::new().unwrap();
    let out = run_features(&dir, &[]);
    let ids: Vec<String> = read_csv(&out)
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    assert!(ids.contains(&"bob".to_string()));
    assert!(!ids.contains(&"carol".to_string()));
    // Moving T one second earlier makes bob's cart too recent.
    let dir2 = TempDir::new().unwrap();
    let out2 = dir2.path().join("f.csv");
    let data = fixture("features");
    cartsona()
        .args(["features", "--as-of", "2025-02-28T23:59:59Z", "--carts"])
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--out")
        .arg(&out2)
        .assert()
        .success();
    let ids: Vec<String> = read_csv(&out2)
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    assert!(!ids.contains(&"bob".to_string()), "{ids:?}");
    // With A = 23h59m59s the order one day after carol's k5 no longer saves it.
    let out3 = dir2.path().join("g.csv");
    cartsona()
        .args([
            "features",
            "--as-of",
            AS_OF,
            "--abandon-after",
            "86399s",
            "--carts",
        ])
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--out")
        .arg(&out3)
        .assert()
        .success();
    let carol: Vec<_> = read_csv(&out3)
        .into_iter()
        .filter(|r| r["customer_id"] == "carol")
        .collect();
    assert_eq!(carol.len(), 1);
    // k5 (70) is abandoned now; k4 (40) became old enough too (it is 1s older than T - A).
    assert_close(
        "carol",
        "abandoned_value_total",
        &carol[0]["abandoned_value_total"],
        "110",
    );
}

#[test]
fn summary_json_counts() {
    let dir = TempDir::new().unwrap();
    let out = run_features(&dir, &[]);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("features.summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["as_of"], AS_OF);
    assert_eq!(summary["abandoners"], 4);
    assert_eq!(summary["customers"], 8);
    // k1..k8, k10, k11 (k9 is after T).
    assert_eq!(summary["carts"], 10);
    // k1, k2, k3, k7, k10, k11; k7 is before the lookback.
    assert_eq!(summary["abandoned_carts"], 6);
    assert_eq!(summary["abandoned_carts_in_lookback"], 5);
    assert_eq!(summary["value_at_stake"], 205.0);
    assert_eq!(summary["abandoned_value_total"], 805.0);
    assert_eq!(summary["median_aov"], 70.0);
    assert_eq!(summary["rows_after_as_of"]["carts"], 1);
    assert_eq!(summary["rows_after_as_of"]["orders"], 1);
    assert_eq!(summary["rows_after_as_of"]["engagement"], 1);
    assert_eq!(summary["windows"]["abandon_after"], "1d");
    assert_eq!(summary["windows"]["lookback"], "30d");
    assert_eq!(summary["inputs"][0]["rows_read"], 12);
    assert_eq!(
        summary["inputs"][2]["notes"][0],
        "1 rows with unknown event_type 'wishlist_add' were kept but not used"
    );
    assert!(out.exists());
}

#[test]
fn as_of_defaults_to_the_latest_timestamp() {
    // Without --as-of, T is frank's order at 2025-03-06T00:00:00Z.
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("f.csv");
    let data = fixture("features");
    cartsona()
        .arg("features")
        .arg("--carts")
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("f.summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["as_of"], "2025-03-06T00:00:00Z");
    assert_eq!(summary["as_of_source"], "latest timestamp in the inputs");
}

#[test]
fn absent_sources_leave_features_out_with_a_warning() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("f.csv");
    let data = fixture("features");
    cartsona()
        .args(["features", "--as-of", AS_OF, "--carts"])
        .arg(data.join("carts.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("feature aov left out: no orders input (--orders)"))
        .stderr(contains(
            "feature sessions_30d left out: no engagement input (--engagement)",
        ));
    let header = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(!header.contains("aov"), "{header}");
    assert!(!header.contains("sessions_30d"), "{header}");
    assert!(header.contains("max_checkout_depth"), "{header}");
    // Without orders, carol's k5 counts as abandoned: nothing says it was bought.
    let ids: Vec<String> = read_csv(&out)
        .into_iter()
        .map(|r| r["customer_id"].clone())
        .collect();
    assert!(ids.contains(&"carol".to_string()));
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = TempDir::new().unwrap();
    let data = fixture("features");
    cartsona()
        .args(["features", "--quiet", "--as-of", AS_OF, "--carts"])
        .arg(data.join("carts.csv"))
        .arg("--out")
        .arg(dir.path().join("f.csv"))
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn reruns_are_byte_identical_and_need_force() {
    let dir = TempDir::new().unwrap();
    let out = run_features(&dir, &[]);
    let first = std::fs::read(&out).unwrap();
    let first_summary = std::fs::read(dir.path().join("features.summary.json")).unwrap();
    let data = fixture("features");
    let rerun = |force: bool| {
        let mut cmd = cartsona();
        cmd.arg("features")
            .arg("--carts")
            .arg(data.join("carts.csv"))
            .arg("--orders")
            .arg(data.join("orders.csv"))
            .arg("--engagement")
            .arg(data.join("engagement.csv"))
            .args(["--as-of", AS_OF, "--out"])
            .arg(&out);
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
    };
    rerun(false)
        .code(2)
        .stderr(contains("already exists; pass --force"));
    rerun(true).success();
    assert_eq!(std::fs::read(&out).unwrap(), first);
    assert_eq!(
        std::fs::read(dir.path().join("features.summary.json")).unwrap(),
        first_summary
    );
}
