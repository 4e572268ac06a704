//! The rows the propensity learns from (issue 20, docs/propensity.md "Weeks and split"): the
//! abandoners at each past as-of point t, with their features as of t and whether they ordered in
//! `(t, t + W]`.
//!
//! In: the validated dataset (borrowed, before `features::compute` takes it), the run's feature
//! settings and the as-of points of [`super::weeks::plan`]. Out: one [`Week`] per point. Each
//! week's features are [`compute_at`] with `as_of = t`, the very code `cartsona features --as-of t`
//! runs, so a week can never see a row after t (rows after T are ignored by the same rule) and the
//! per-week features equal that command's by construction (tests/propensity_history.rs checks it).
//!
//! Cost: one feature pass per week over the rows kept. When there are many shoppers the rows are
//! first cut down to a sample of customers, chosen by a salted SHA-256 of the customer id (the
//! holdout's rule with its own salt, [`SAMPLE_SALT`]), so that the training rows stay near
//! [`TRAINING_ROWS`]: a customer is in or out with all their rows, so every feature of a sampled
//! shopper is exact. Only the median order value that fills `aov` for shoppers without orders is
//! then the sample's median rather than everyone's (docs say so).

use std::collections::HashMap;

use anyhow::Result;
use rayon::prelude::*;

use crate::features::compute::{compute_at, FeatureParams, FeatureTable};
use crate::ingest::schema::{Dataset, Interner};
use crate::util::salted::hash_prefix;

/// The salt of the customer sample (docs/propensity.md): independent of any holdout's.
pub const SAMPLE_SALT: &str = "cartsona-propensity-sample";
/// About how many training rows the sample aims at: the fit takes ~0.5 s on 2 cores at 500k rows
/// x 20 terms (bench/RESULTS.md, criterion "propensity fit").
pub const TRAINING_ROWS: usize = 500_000;

/// One past as-of point's abandoners.
#[derive(Debug, Clone)]
pub struct Week {
    pub t: i64,
    /// Their features as of t, sorted by customer id.
    pub table: FeatureTable,
    /// Whether each ordered in `(t, t + W]`.
    pub returned: Vec<bool>,
}

/// The share of customers to keep so that `train_points` weeks give about [`TRAINING_ROWS`]
/// rows: a week cannot have more abandoners than customers with a cart row, so this is an upper
/// bound on the rows, and the share kept is never too small. 1 when all fit.
pub fn sample_fraction(ds: &Dataset, train_points: usize) -> f64 {
    let mut with_cart = vec![false; ds.customers.len()];
    for c in &ds.carts {
        with_cart[c.customer as usize] = true;
    }
    let n = with_cart.iter().filter(|x| **x).count() * train_points.max(1);
    if n <= TRAINING_ROWS {
        1.0
    } else {
        TRAINING_ROWS as f64 / n as f64
    }
}

/// Whether a customer is in the sample of `fraction`: SHA-256(`SAMPLE_SALT:id`)'s first 8 bytes,
/// big-endian, below `fraction x 2^64` (the holdout's rule, docs/outcomes.md).
pub fn in_sample(customer_id: &str, fraction: f64) -> bool {
    fraction >= 1.0 || hash_prefix(SAMPLE_SALT, customer_id) < (fraction * 2f64.powi(64)) as u64
}

/// The rows of the customers in the sample of `fraction`, in their original order, with handles
/// renumbered densely (customers and carts in the order they were first interned). What the
/// inputs had (`present`) and the pages are kept as they are.
pub fn sample(ds: &Dataset, fraction: f64) -> Dataset {
    const OUT: u32 = u32::MAX;
    let keep: Vec<bool> = (0..ds.customers.len() as u32)
        .into_par_iter()
        .map(|c| in_sample(ds.customers.name(c), fraction))
        .collect();
    let mut customers = Interner::default();
    let new_customer: Vec<u32> = (0..ds.customers.len() as u32)
        .map(|c| match keep[c as usize] {
            true => customers.intern(ds.customers.name(c)),
            false => OUT,
        })
        .collect();
    let mut carts_ids = Interner::default();
    let mut new_cart: HashMap<u32, u32, foldhash::fast::FixedState> = HashMap::default();
    let mut cart = |old: u32| -> u32 {
        *new_cart
            .entry(old)
            .or_insert_with(|| carts_ids.intern(ds.carts_ids.name(old)))
    };
    let mut carts = Vec::new();
    for c in ds.carts.iter().filter(|c| keep[c.customer as usize]) {
        let mut c = c.clone();
        (c.customer, c.cart) = (new_customer[c.customer as usize], cart(c.cart));
        carts.push(c);
    }
    let mut orders = Vec::new();
    for o in ds.orders.iter().filter(|o| keep[o.customer as usize]) {
        let mut o = o.clone();
        (o.customer, o.cart) = (new_customer[o.customer as usize], o.cart.map(&mut cart));
        orders.push(o);
    }
    let events = ds
        .events
        .iter()
        .filter(|e| keep[e.customer as usize])
        .map(|e| {
            let mut e = e.clone();
            e.customer = new_customer[e.customer as usize];
            e
        })
        .collect();
    let mut pages = Interner::default();
    for p in 0..ds.pages.len() as u32 {
        pages.intern(ds.pages.name(p));
    }
    Dataset {
        customers,
        carts_ids,
        pages,
        carts,
        orders,
        events,
        present: ds.present.clone(),
    }
}

/// The abandoners of each point in `points` with their features as of it and their labels (an
/// order in `(t, t + w]`), in the order of `points`. The points are computed on all threads, each
/// on its own, so the result does not depend on the thread count.
pub fn weeks(ds: &Dataset, p: &FeatureParams, points: &[i64], w: i64) -> Result<Vec<Week>> {
    let orders = order_times(ds);
    points
        .par_iter()
        .map(|&t| {
            let params = FeatureParams {
                as_of: Some(t),
                ..p.clone()
            };
            let (table, _) = compute_at(ds, &params)?;
            let returned = table
                .customers
                .iter()
                .map(|name| {
                    let c = ds.customers.get(name).expect("an abandoner is a customer");
                    super::weeks::returned(&orders[c as usize], t, w)
                })
                .collect();
            Ok(Week { t, table, returned })
        })
        .collect()
}

/// Issue 31: a cart open at a past week t (`created_at <= t < updated_at`) counts for that week.
/// A week sees each cart's latest row at or before t, so a cart whose earliest row is dated after
/// its creation was missing from every week in between: mostly carts the shopper came back to,
/// which is selection on the outcome. This adds, for each such cart, a row at its `created_at`
/// with the values of its earliest row (the export keeps nothing older: its value and step may
/// be later than the week's). A week at or after the earliest row is unchanged (that row is
/// later than the one added), so only the weeks the cart was missing from see it.
pub fn open_carts(ds: &mut Dataset) {
    let mut earliest: Vec<u32> = vec![u32::MAX; ds.carts_ids.len()];
    for (i, c) in ds.carts.iter().enumerate() {
        let slot = &mut earliest[c.cart as usize];
        if *slot == u32::MAX || c.updated_at < ds.carts[*slot as usize].updated_at {
            *slot = i as u32;
        }
    }
    let added: Vec<_> = earliest
        .iter()
        .filter(|&&i| i != u32::MAX)
        .filter_map(|&i| {
            let c = &ds.carts[i as usize];
            let created = c.created_at().filter(|at| *at < c.updated_at)?;
            let mut open = c.clone();
            open.updated_at = created;
            Some(open)
        })
        .collect();
    ds.carts.extend(added);
}

/// The share of carts (distinct ids) with a single row that was open at one of `points` (created
/// at or before it, its only row after it): the carts a past week sees only through
/// [`open_carts`], with their later value and step. 0 when there are no carts.
pub fn single_rows_open_at(ds: &Dataset, points: &[i64]) -> f64 {
    let mut rows = vec![0u32; ds.carts_ids.len()];
    for c in &ds.carts {
        rows[c.cart as usize] = rows[c.cart as usize].saturating_add(1);
    }
    let mut sorted = points.to_vec();
    sorted.sort_unstable();
    let open = ds
        .carts
        .iter()
        .filter(|c| rows[c.cart as usize] == 1)
        .filter(|c| {
            c.created_at().is_some_and(|created| {
                // A point in [created, updated).
                let k = sorted.partition_point(|&t| t < created);
                sorted.get(k).is_some_and(|&t| t < c.updated_at)
            })
        })
        .count();
    let carts = rows.iter().filter(|r| **r > 0).count();
    if carts == 0 {
        0.0
    } else {
        open as f64 / carts as f64
    }
}

/// An upper bound on the positive labels the training points can give, from the rows alone
/// (issue 33: a stage that will produce nothing costs nothing): the distinct (point, customer)
/// pairs where the customer has a cart row at least `abandon_after` before the point (created or
/// updated: an abandoner at t has a cart whose latest row by t, or the row `open_carts` restores
/// at its creation, is that old) and an order in the point's label window (t, t + w]. The points
/// are `t_end - k w` (weeks::plan), so the windows do not overlap and each order falls in at most
/// one. One pass over the carts and one over the orders.
pub fn positives_bound(
    ds: &Dataset,
    t_end: i64,
    w: i64,
    abandon_after: i64,
    train: &[i64],
) -> usize {
    let mut earliest = vec![i64::MAX; ds.customers.len()];
    for c in &ds.carts {
        let at = c.created_at().unwrap_or(c.updated_at).min(c.updated_at);
        let e = &mut earliest[c.customer as usize];
        *e = (*e).min(at);
    }
    let mut pairs: Vec<(i64, u32)> = ds
        .orders
        .iter()
        .filter_map(|o| {
            if o.ordered_at > t_end {
                return None;
            }
            // The point whose window (t, t + w] holds the order: t = t_end - k w.
            let k = (t_end - o.ordered_at) / w + 1;
            let t = t_end - k * w;
            let old_enough = earliest[o.customer as usize] <= t - abandon_after;
            (old_enough && train.contains(&t)).then_some((t, o.customer))
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.len()
}

/// Each customer's order times, sorted.
fn order_times(ds: &Dataset) -> Vec<Vec<i64>> {
    let mut times = vec![Vec::new(); ds.customers.len()];
    for o in &ds.orders {
        times[o.customer as usize].push(o.ordered_at);
    }
    for t in &mut times {
        t.sort_unstable();
    }
    times
}
