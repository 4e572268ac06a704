//! The propensity's past weeks (issue 20): each week's features are exactly what
//! `cartsona features --as-of t` computes, never see a row after t, and a customer sample keeps
//! every feature of the customers in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cartsona::features::compute::{FeatureParams, FeatureTable, Values, DEFAULT_INFO_PAGES};
use cartsona::ingest::load;
use cartsona::ingest::schema::{BadRows, Dataset, OrderRow, ReadSettings, TableKind};
use cartsona::io::read::{CsvOptions, Format, Source};
use cartsona::propensity::history;
use cartsona::util::timefmt::{parse_timestamp, DAY, HOUR};

const FILES: [(TableKind, &str); 3] = [
    (TableKind::Carts, "sample-data/carts.csv"),
    (TableKind::Orders, "sample-data/orders.csv"),
    (TableKind::Engagement, "sample-data/engagement.csv"),
];
/// Past as-of points within the sample's month of carts (and one before any cart).
const POINTS: [&str; 4] = [
    "2025-01-12T06:00:00Z",
    "2025-01-19T06:00:00Z",
    "2025-01-26T06:00:00Z",
    "2025-01-02T00:00:00Z",
];

fn dataset() -> Dataset {
    let inputs: Vec<(TableKind, Vec<Source>)> = FILES
        .iter()
        .map(|(k, p)| {
            let src = Source {
                path: PathBuf::from(p),
                format: Format::Csv,
                table: None,
            };
            (*k, vec![src])
        })
        .collect();
    let settings = ReadSettings {
        csv: CsvOptions { delimiter: b',' },
        bad_rows: BadRows::Fail,
        columns: BTreeMap::new(),
        epochs: None,
    };
    load::load(&inputs, &settings, &|_| {})
        .expect("the sample data loads")
        .0
}

/// The features command's defaults (A 24h, L 30d, H 365d).
fn params() -> FeatureParams {
    FeatureParams {
        as_of: None,
        abandon_after: 24 * HOUR,
        lookback: 30 * DAY,
        history: 365 * DAY,
        info_pages: regex::Regex::new(DEFAULT_INFO_PAGES).unwrap(),
    }
}

fn points() -> Vec<i64> {
    POINTS.iter().map(|p| parse_timestamp(p).unwrap()).collect()
}

/// `cartsona features --as-of t` on the sample data, read back.
fn features_command(dir: &Path, as_of: &str) -> FeatureTable {
    let out = dir.join(format!("features-{}.csv", &as_of[..10]));
    let mut cmd = Command::cargo_bin("cartsona").unwrap();
    cmd.args(["features", "--quiet", "--as-of", as_of]);
    for (k, p) in FILES {
        cmd.arg(format!("--{}", k.name())).arg(p);
    }
    cmd.arg("--out").arg(&out).assert().success();
    let spec = [out];
    cartsona::features::table::read(&spec, "--features")
        .unwrap()
        .0
}

fn column<'t>(t: &'t FeatureTable, name: &str) -> &'t Values {
    &t.column(name).unwrap_or_else(|| panic!("{name}")).values
}

/// Every week's table equals the features command's at that point: same abandoners, same
/// columns, same values (the CSV's numbers read back exactly: shortest round-trip text).
#[test]
fn weekly_features_equal_the_features_command() {
    let ds = dataset();
    let weeks = history::weeks(&ds, &params(), &points(), 7 * DAY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for (week, as_of) in weeks.iter().zip(POINTS) {
        let oracle = features_command(dir.path(), as_of);
        assert_eq!(
            week.table.customers, oracle.customers,
            "abandoners at {as_of}"
        );
        let names: Vec<&str> = week.table.columns.iter().map(|c| c.name).collect();
        let oracle_names: Vec<&str> = oracle.columns.iter().map(|c| c.name).collect();
        assert_eq!(names, oracle_names, "columns at {as_of}");
        for c in &week.table.columns {
            assert_eq!(&c.values, column(&oracle, c.name), "{} at {as_of}", c.name);
        }
        compared += week.table.customers.len();
    }
    // The points are not empty (the last is before any cart: no abandoner at all).
    assert!(
        weeks[..3].iter().all(|w| w.table.customers.len() > 50),
        "{compared}"
    );
    assert!(weeks[3].table.customers.is_empty());
}

/// Each label is whether the shopper has an order in (t, t + W], worked out from the rows.
#[test]
fn labels_are_orders_in_the_week_after_t() {
    let ds = dataset();
    let w = 7 * DAY;
    let weeks = history::weeks(&ds, &params(), &points()[..3], w).unwrap();
    let mut positives = 0;
    for week in &weeks {
        for (name, &label) in week.table.customers.iter().zip(&week.returned) {
            let c = ds.customers.get(name).unwrap();
            let expected = ds
                .orders
                .iter()
                .any(|o| o.customer == c && o.ordered_at > week.t && o.ordered_at <= week.t + w);
            assert_eq!(label, expected, "{name} at {}", week.t);
            positives += usize::from(label);
        }
    }
    assert!(positives > 5, "both labels occur ({positives} positives)");
}

/// A row after t never reaches week t: an order one microsecond after t changes nothing, while
/// the same order at t changes the shopper's order count (so the test can fail).
#[test]
fn a_row_after_t_never_reaches_week_t() {
    let ds = dataset();
    let t = points()[1];
    let before = history::weeks(&ds, &params(), &[t], 7 * DAY).unwrap();
    let shopper = before[0].table.customers[0].clone();
    let c = ds.customers.get(&shopper).unwrap();
    let with_order = |at: i64| {
        let mut ds = dataset();
        ds.orders.push(OrderRow {
            customer: c,
            ordered_at: at,
            value: 1000.0,
            cart: None,
            discount: false,
            discount_amount: None,
            device: None,
        });
        history::weeks(&ds, &params(), &[t], 7 * DAY).unwrap()
    };
    let after = with_order(t + 1);
    assert_eq!(after[0].table.columns, before[0].table.columns);
    assert_eq!(after[0].table.customers, before[0].table.customers);
    assert!(after[0].returned[0], "the order after t is the label");
    let at = with_order(t);
    assert_ne!(
        column(&at[0].table, "orders"),
        column(&before[0].table, "orders"),
        "an order at t counts"
    );
}

/// A customer sample keeps each sampled shopper's features (all their rows go together); only
/// the median order value that fills `aov` for shoppers without orders is the sample's own.
#[test]
fn a_customer_sample_keeps_every_sampled_shoppers_features() {
    let ds = dataset();
    let sample = history::sample(&ds, 0.4);
    let kept = sample.customers.len() as f64 / ds.customers.len() as f64;
    assert!((0.33..0.47).contains(&kept), "kept {kept}");
    let full = history::weeks(&ds, &params(), &points()[..3], 7 * DAY).unwrap();
    let part = history::weeks(&sample, &params(), &points()[..3], 7 * DAY).unwrap();
    for (f, p) in full.iter().zip(&part) {
        let rows: Vec<usize> = (0..f.table.customers.len())
            .filter(|&i| history::in_sample(&f.table.customers[i], 0.4))
            .collect();
        let names: Vec<&String> = rows.iter().map(|&i| &f.table.customers[i]).collect();
        assert_eq!(names, p.table.customers.iter().collect::<Vec<_>>());
        let labels: Vec<bool> = rows.iter().map(|&i| f.returned[i]).collect();
        assert_eq!(labels, p.returned);
        for c in f
            .table
            .columns
            .iter()
            .filter(|c| !matches!(c.name, "aov" | "cart_to_aov"))
        {
            let pc = column(&p.table, c.name);
            for (j, &i) in rows.iter().enumerate() {
                match (&c.values, pc) {
                    (Values::Num(a), Values::Num(b)) => {
                        assert_eq!(a.get(i), b.get(j), "{}", c.name)
                    }
                    (Values::Cat(a), Values::Cat(b)) => assert_eq!(a[i], b[j], "{}", c.name),
                    _ => panic!("{} changed type", c.name),
                }
            }
        }
    }
}

/// Loads a small shop written as canonical CSV files into `dir`.
fn small_shop(dir: &Path, carts: &str, orders: &str) -> Dataset {
    let mut inputs = Vec::new();
    for (kind, text) in [(TableKind::Carts, carts), (TableKind::Orders, orders)] {
        let path = dir.join(format!("{}.csv", kind.name()));
        std::fs::write(&path, text).unwrap();
        let src = Source {
            path,
            format: Format::Csv,
            table: None,
        };
        inputs.push((kind, vec![src]));
    }
    let settings = ReadSettings {
        csv: CsvOptions { delimiter: b',' },
        bad_rows: BadRows::Fail,
        columns: BTreeMap::new(),
        epochs: None,
    };
    load::load(&inputs, &settings, &|_| {}).unwrap().0
}

/// Issue 31: a cart open at a past week t (created_at <= t < updated_at) counts for that week.
/// k1 was created on 2 January and has one row, dated 20 January (the shopper came back to it):
/// the week of 10 January used to miss it (selection on the outcome); with the open carts it
/// sees k1 from its creation, with that row's value; a week after the row sees the row itself.
/// k2 has a row at its creation, so nothing is added for it.
#[test]
fn a_cart_open_at_a_past_week_counts_for_that_week() {
    let dir = tempfile::tempdir().unwrap();
    let carts = "customer_id,cart_id,created_at,updated_at,cart_value\n\
                 c1,k1,2025-01-02T00:00:00Z,2025-01-20T00:00:00Z,50\n\
                 c2,k2,2025-01-03T00:00:00Z,2025-01-03T00:00:00Z,20\n\
                 c2,k2,2025-01-03T00:00:00Z,2025-01-21T00:00:00Z,30\n";
    let orders = "customer_id,order_id,ordered_at,order_value\nc3,o1,2025-01-04T00:00:00Z,10\n";
    let mut ds = small_shop(dir.path(), carts, orders);
    let (jan10, jan25) = (
        parse_timestamp("2025-01-10").unwrap(),
        parse_timestamp("2025-01-25").unwrap(),
    );
    assert_eq!(history::single_rows_open_at(&ds, &[jan10]), 0.5);
    assert_eq!(history::single_rows_open_at(&ds, &[jan25]), 0.0);
    let before = history::weeks(&ds, &params(), &[jan10], 7 * DAY).unwrap();
    assert_eq!(before[0].table.customers, vec!["c2"], "k1 was missed");
    let rows = ds.carts.len();
    history::open_carts(&mut ds);
    assert_eq!(ds.carts.len(), rows + 1, "one row added, for k1 only");
    let weeks = history::weeks(&ds, &params(), &[jan10, jan25], 7 * DAY).unwrap();
    assert_eq!(weeks[0].table.customers, vec!["c1", "c2"]);
    let num = |w: &history::Week, name: &str| -> Vec<Option<f64>> {
        match column(&w.table, name) {
            Values::Num(v) => v.iter().collect(),
            Values::Cat(_) => panic!("{name} is numeric"),
        }
    };
    assert_eq!(
        num(&weeks[0], "last_abandoned_value"),
        [Some(50.0), Some(20.0)]
    );
    assert_eq!(num(&weeks[0], "days_since_abandon"), [Some(8.0), Some(7.0)]);
    assert_eq!(num(&weeks[1], "days_since_abandon"), [Some(5.0), Some(4.0)]);
    assert_eq!(
        num(&weeks[1], "last_abandoned_value"),
        [Some(50.0), Some(30.0)]
    );
}
