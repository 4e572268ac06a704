//! Abandoner identification and per-abandoner features, as of a time T (docs/features.md).
//!
//! A plain function of the validated [`Dataset`] and [`FeatureParams`]: no printing, no flags, no
//! files. Customers are dense `u32` handles, so every per-customer accumulator is a vector indexed
//! by customer; the output is sorted by `customer_id`, so nothing depends on hash order.

use anyhow::{bail, Result};
use regex::Regex;
use serde::Serialize;

use crate::features::catalogue;
use crate::ingest::schema::{Dataset, Device, Event, TableKind, NO_TIME};
use crate::util::timefmt::{self, DAY};

/// The settings that shape the features.
#[derive(Debug, Clone)]
pub struct FeatureParams {
    /// T; `None` means the latest timestamp in the inputs.
    pub as_of: Option<i64>,
    /// A: how long a cart must sit without an order to count as abandoned.
    pub abandon_after: i64,
    /// L: the window in which abandoned carts make a customer an abandoner.
    pub lookback: i64,
    /// H: the window for order history and rates.
    pub history: i64,
    /// Which `page` values are information pages (returns, shipping, ...).
    pub info_pages: Regex,
}

pub const DEFAULT_INFO_PAGES: &str = "(?i)returns|shipping|delivery|faq";

/// The defaults every flag's help, `cartsona init` and the config show (docs/features.md): T
/// from the data, A = 24 h, L = 30 days, H = 365 days, the information-page pattern above.
impl Default for FeatureParams {
    fn default() -> FeatureParams {
        FeatureParams {
            as_of: None,
            abandon_after: 24 * timefmt::HOUR,
            lookback: 30 * timefmt::DAY,
            history: 365 * timefmt::DAY,
            info_pages: Regex::new(DEFAULT_INFO_PAGES).expect("the default pattern is valid"),
        }
    }
}

/// Stops when there is no abandoner to segment or assign; `advice` ends the message.
pub fn require_abandoners(fsum: &FeatureSummary, advice: &str) -> Result<()> {
    if fsum.abandoners == 0 {
        bail!(
            "no abandoners as of {}: no cart with value > 0 went {} without an order within the last {}{advice}",
            fsum.as_of,
            fsum.windows.abandon_after,
            fsum.windows.lookback
        );
    }
    Ok(())
}

/// Stops when there are fewer than two abandoners to make personas of (`advice` ends the message
/// when there are none).
pub fn require_two_abandoners(fsum: &FeatureSummary, advice: &str) -> Result<()> {
    require_abandoners(fsum, advice)?;
    if fsum.abandoners < 2 {
        bail!(
            "only {} abandoner as of {}: personas need at least 2 (and 3 distinct for the default --k-min 3); use a longer --lookback or more data",
            fsum.abandoners,
            fsum.as_of
        );
    }
    Ok(())
}

/// When nothing is abandoned because every cart is younger than the abandonment window (a log of
/// a few hours), says so and what to do; empty otherwise.
pub fn young_carts_hint(oldest_cart: Option<i64>, as_of: &str, abandon_after: i64) -> String {
    let (Some(t), Some(oldest)) = (crate::util::timefmt::parse_timestamp(as_of), oldest_cart)
    else {
        return String::new();
    };
    if t - oldest >= abandon_after {
        return String::new();
    }
    format!(
        ". Every cart is younger than --abandon-after {}: the oldest was last updated {} before the as-of time; for a log this short pass a shorter --abandon-after (like 10m)",
        crate::util::timefmt::format_duration(abandon_after),
        {
            let s = (t - oldest) / crate::util::timefmt::SECOND;
            format!("{}h{:02}m", s / 3600, s % 3600 / 60)
        }
    )
}

/// A feature's values, one per abandoner.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Num(Nums),
    Cat(Vec<Option<&'static str>>),
}

/// A numeric feature's values with NaN for "unknown": 8 bytes per value where `Option<f64>` took
/// 16 (0.9 GB less at 100M rows, issue 19). NaN is free to mean that: computed features are
/// finite, and `--features` input refuses a value that is not a finite number. Read through
/// [`Nums::get`] and [`Nums::iter`], which give the `Option` back.
#[derive(Debug, Clone, Default)]
pub struct Nums(Vec<f64>);

impl PartialEq for Nums {
    /// Unknown equals unknown (NaN != NaN would make every table with a gap unequal to itself).
    fn eq(&self, other: &Nums) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Nums {
    pub fn with_capacity(n: usize) -> Nums {
        Nums(Vec::with_capacity(n))
    }
    pub fn get(&self, i: usize) -> Option<f64> {
        let x = self.0[i];
        (!x.is_nan()).then_some(x)
    }
    pub fn iter(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.0.iter().map(|&x| (!x.is_nan()).then_some(x))
    }
    /// The known values, in order.
    pub fn known(&self) -> impl Iterator<Item = f64> + '_ {
        self.0.iter().copied().filter(|x| !x.is_nan())
    }
    pub fn push(&mut self, x: Option<f64>) {
        debug_assert!(x.is_none_or(|x| !x.is_nan()), "NaN would read as unknown");
        self.0.push(x.unwrap_or(f64::NAN));
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Option<f64>> for Nums {
    fn from_iter<I: IntoIterator<Item = Option<f64>>>(iter: I) -> Nums {
        let mut v = Nums::default();
        for x in iter {
            v.push(x);
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureColumn {
    pub name: &'static str,
    pub values: Values,
}

/// One row per abandoner, sorted by customer id.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub customers: Vec<String>,
    pub columns: Vec<FeatureColumn>,
    /// When each abandoner's latest abandoned cart was last updated (microseconds since the
    /// epoch); `None` when unknown (a precomputed features table).
    pub abandoned_at: Vec<Option<i64>>,
}

impl FeatureTable {
    pub fn column(&self, name: &str) -> Option<&FeatureColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether the table has `last_abandoned_value`, so a value at stake can be known (a
    /// `--features` table may lack it: the value at stake is then unknown, never 0).
    pub fn stake_known(&self) -> bool {
        matches!(
            self.column("last_abandoned_value").map(|c| &c.values),
            Some(Values::Num(_))
        )
    }

    /// Each abandoner's value at stake: `last_abandoned_value` (0 where unknown or absent: a
    /// weight for the clustering; what is shown checks [`FeatureTable::stake_known`]).
    pub fn value_at_stake(&self) -> Vec<f64> {
        match self.column("last_abandoned_value").map(|c| &c.values) {
            Some(Values::Num(v)) => v.iter().map(|x| x.unwrap_or(0.0)).collect(),
            _ => vec![0.0; self.customers.len()],
        }
    }
}

/// Every feature's name, in output order (the catalogue's).
pub const ALL_FEATURES: [&str; catalogue::FEATURES.len()] = {
    let mut names = [""; catalogue::FEATURES.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = catalogue::FEATURES[i].name;
        i += 1;
    }
    names
};

pub use crate::features::catalogue::{left_out, LeftOut};

#[derive(Debug, Clone, Serialize)]
pub struct Windows {
    pub abandon_after: String,
    pub lookback: String,
    pub history: String,
}

impl Windows {
    /// The windows of `p`, as durations are written.
    pub fn of(p: &FeatureParams) -> Windows {
        Windows {
            abandon_after: timefmt::format_duration(p.abandon_after),
            lookback: timefmt::format_duration(p.lookback),
            history: timefmt::format_duration(p.history),
        }
    }
}

/// Counts that describe the feature run.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureSummary {
    pub as_of: String,
    pub as_of_source: &'static str,
    pub windows: Windows,
    /// Rows whose timestamp is after T, per input kind: ignored.
    pub rows_after_as_of: std::collections::BTreeMap<&'static str, u64>,
    /// Distinct customer ids in the inputs; unknown (`None`) for a precomputed features table, as
    /// are the cart counts.
    pub customers: Option<usize>,
    /// Distinct carts (latest snapshot at or before T).
    pub carts: Option<u64>,
    pub abandoned_carts: Option<u64>,
    pub abandoned_carts_in_lookback: Option<u64>,
    pub abandoners: usize,
    /// Sum of `last_abandoned_value` over abandoners (`None`: a `--features` table without it).
    pub value_at_stake: Option<f64>,
    /// Sum of `abandoned_value_total` over abandoners (`None`: a `--features` table without it).
    pub abandoned_value_total: Option<f64>,
    /// Median order value over customers with orders in history (fills `aov` for the others).
    pub median_aov: Option<f64>,
    pub features: Vec<&'static str>,
    pub left_out: Vec<LeftOut>,
}

/// Per-customer accumulators, one vector per pass, each allocated when its pass starts (issue 33:
/// one 160-byte accumulator per customer, allocated before the first pass while every input row
/// was still held, was a fifth of the 100M-row peak; the orders' part now comes first, before the
/// carts' and the engagement's exist, and the orders' rows are freed before the carts' part is
/// allocated). `None`-like values are sentinels ([`NO_TIME`], [`NO_STEP`]), as in the rows.
struct Accs {
    /// The earliest timestamp of each customer (a cart's creation or update, an order, an event),
    /// or [`NEVER`].
    first_seen: Vec<i64>,
    /// The orders pass's part (empty before it).
    history: Vec<History>,
    /// The carts pass's part (empty before it).
    abandoned: Vec<Abandoned>,
    /// Devices of carts and sessions in history: the carts pass allocates them, sessions add to
    /// them.
    devices: Vec<[u32; 4]>,
    /// The engagement pass's part (empty without an engagement input).
    engaged: Vec<Engaged>,
}

/// Nothing seen yet (every instant is earlier).
const NEVER: i64 = i64::MAX;
/// No checkout step.
const NO_STEP: u8 = u8::MAX;

/// Orders in history and the discounts of orders and carts in history (32 bytes).
#[derive(Clone, Copy)]
struct History {
    revenue: f64,
    /// The latest order in history, or [`NO_TIME`].
    last_order: i64,
    orders: u32,
    disc_num: u32,
    disc_den: u32,
}

impl Default for History {
    fn default() -> History {
        History {
            revenue: 0.0,
            last_order: NO_TIME,
            orders: 0,
            disc_num: 0,
            disc_den: 0,
        }
    }
}

impl History {
    fn last_order(&self) -> Option<i64> {
        (self.last_order != NO_TIME).then_some(self.last_order)
    }
}

/// The abandoned carts in lookback (40 bytes).
#[derive(Clone, Copy)]
struct Abandoned {
    total: f64,
    /// (updated_at, cart id, value) of the latest; `last_at` [`NO_TIME`]: none.
    last_at: i64,
    last_value: f64,
    last_cart: u32,
    count: u32,
    /// The deepest checkout step, or [`NO_STEP`].
    max_step: u8,
}

impl Default for Abandoned {
    fn default() -> Abandoned {
        Abandoned {
            total: 0.0,
            last_at: NO_TIME,
            last_value: 0.0,
            last_cart: 0,
            count: 0,
            max_step: NO_STEP,
        }
    }
}

impl Abandoned {
    /// (updated_at, cart id, value) of the latest abandoned cart in lookback.
    fn last(&self) -> Option<(i64, u32, f64)> {
        (self.last_at != NO_TIME).then_some((self.last_at, self.last_cart, self.last_value))
    }
    fn max_step(&self) -> Option<u8> {
        (self.max_step != NO_STEP).then_some(self.max_step)
    }
}

/// Engagement counts (40 bytes).
#[derive(Default, Clone, Copy)]
struct Engaged {
    sessions_30d: u32,
    sessions_hist: u32,
    page_views_hist: u32,
    product_views: u32,
    info_page_views: u32,
    cart_removals: u32,
    email_sent: u32,
    email_open: u32,
    email_clicks_90d: u32,
    sms_clicks_90d: u32,
}

/// No engagement (a shop without an engagement input).
const NOT_ENGAGED: Engaged = Engaged {
    sessions_30d: 0,
    sessions_hist: 0,
    page_views_hist: 0,
    product_views: 0,
    info_page_views: 0,
    cart_removals: 0,
    email_sent: 0,
    email_open: 0,
    email_clicks_90d: 0,
    sms_clicks_90d: 0,
};

/// One customer's accumulators, as the formulas read them.
#[derive(Clone, Copy)]
struct Acc<'a> {
    first_seen: Option<i64>,
    h: &'a History,
    a: &'a Abandoned,
    devices: &'a [u32; 4],
    e: &'a Engaged,
}

impl Accs {
    fn new(customers: usize) -> Accs {
        Accs {
            first_seen: vec![NEVER; customers],
            history: Vec::new(),
            abandoned: Vec::new(),
            devices: Vec::new(),
            engaged: Vec::new(),
        }
    }
    fn seen(&mut self, c: u32, t: i64) {
        let f = &mut self.first_seen[c as usize];
        *f = (*f).min(t);
    }
    /// Customer `c`'s accumulators (after every pass).
    fn of(&self, c: u32) -> Acc<'_> {
        let c = c as usize;
        let f = self.first_seen[c];
        Acc {
            first_seen: (f != NEVER).then_some(f),
            h: &self.history[c],
            a: &self.abandoned[c],
            devices: &self.devices[c],
            e: self.engaged.get(c).unwrap_or(&NOT_ENGAGED),
        }
    }
}

fn device_index(d: Device) -> usize {
    Device::ALL.iter().position(|x| *x == d).unwrap_or(3)
}

/// The latest timestamp anywhere in the inputs, the default T.
pub fn latest_timestamp(ds: &Dataset) -> Option<i64> {
    span(ds).map(|(_, latest)| latest)
}

/// The earliest timestamp of any input (a cart's creation or update, an order, an event) and the
/// latest (the default T), in one pass over each table on every thread: the events alone are most
/// of the rows (issue 33: the propensity's two sequential scans were most of what a shop without
/// enough history paid for finding out).
pub fn span(ds: &Dataset) -> Option<(i64, i64)> {
    fn both<T: Sync>(rows: &[T], at: impl Fn(&T) -> (i64, i64) + Sync + Send) -> (i64, i64) {
        use rayon::prelude::*;
        rows.par_iter()
            .with_min_len(1 << 16)
            .map(at)
            .reduce(|| (i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)))
    }
    let carts = both(&ds.carts, |c| {
        let created = c.created_at().unwrap_or(c.updated_at);
        (created.min(c.updated_at), c.updated_at.max(created))
    });
    let orders = both(&ds.orders, |o| (o.ordered_at, o.ordered_at));
    let events = both(&ds.events, |e| (e.occurred_at, e.occurred_at));
    let (lo, hi) = [carts, orders, events]
        .into_iter()
        .fold((i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    (lo <= hi).then_some((lo, hi))
}

/// The summary of a precomputed features table (`--features`): what the table itself tells;
/// the counts of customers and carts are unknown.
pub fn summary_of_table(table: &FeatureTable, p: &FeatureParams, as_of: i64) -> FeatureSummary {
    let sum = |name: &str| -> Option<f64> {
        match &table.column(name)?.values {
            // fold from +0.0: an empty f64 sum is -0.0.
            Values::Num(v) => Some(v.known().fold(0.0, |s, x| s + x)),
            Values::Cat(_) => None,
        }
    };
    let left_out = ALL_FEATURES
        .iter()
        .filter(|f| table.column(f).is_none())
        .map(|f| LeftOut {
            feature: f,
            reason: "not in the features table (--features)".to_string(),
        })
        .collect();
    FeatureSummary {
        as_of: timefmt::format_timestamp(as_of),
        as_of_source: "--as-of",
        windows: Windows::of(p),
        rows_after_as_of: Default::default(),
        customers: None,
        carts: None,
        abandoned_carts: None,
        abandoned_carts_in_lookback: sum("abandoned_carts").map(|v| v as u64),
        abandoners: table.customers.len(),
        value_at_stake: sum("last_abandoned_value"),
        abandoned_value_total: sum("abandoned_value_total"),
        median_aov: None,
        features: table.columns.iter().map(|c| c.name).collect(),
        left_out,
    }
}

/// Finds the abandoners and computes their features (the windows in `p` are checked by `config`:
/// A < L <= H): the steps of docs/features.md (orders, then the latest cart snapshots and
/// abandonment, then engagement and the median AOV: each pass's results are sums, minima and
/// maxima, so the order of the passes changes no value), then one [`formula`] per catalogue
/// feature over the abandoners' accumulators. Takes the dataset to free each input's rows as soon
/// as their pass is done.
pub fn compute(mut ds: Dataset, p: &FeatureParams) -> Result<(FeatureTable, FeatureSummary)> {
    let at = as_of(&ds, p)?;
    // Each input's rows are freed as soon as their pass is done, and each pass's accumulators are
    // allocated when it starts, so no pass sits beside rows no longer needed (issue 8: 100M rows
    // under 8 GB; issue 19: 5; issue 33: 4). The orders go first: their rows are freed before
    // the carts' accumulators exist.
    let mut passes = Passes::new(ds.customers.len());
    let ordered = orders(&ds, p, at.0, &mut passes);
    ds.orders = Default::default();
    carts_pass(&ds, p, at.0, &ordered, &mut passes);
    drop(ordered);
    (ds.carts, ds.carts_ids) = Default::default();
    engagement_pass(&ds, p, at.0, &mut passes);
    (ds.events, ds.pages) = Default::default();
    Ok(finish(&ds, p, at, passes))
}

/// [`compute`] without taking the dataset: the same table and summary, the rows kept (the
/// propensity's past as-of points compute features from one dataset many times, issue 20).
pub fn compute_at(ds: &Dataset, p: &FeatureParams) -> Result<(FeatureTable, FeatureSummary)> {
    let at = as_of(ds, p)?;
    let mut passes = Passes::new(ds.customers.len());
    let ordered = orders(ds, p, at.0, &mut passes);
    carts_pass(ds, p, at.0, &ordered, &mut passes);
    drop(ordered);
    engagement_pass(ds, p, at.0, &mut passes);
    Ok(finish(ds, p, at, passes))
}

/// T and where it came from.
fn as_of(ds: &Dataset, p: &FeatureParams) -> Result<(i64, &'static str)> {
    Ok(match p.as_of {
        Some(t) => (t, "--as-of"),
        None => match latest_timestamp(ds) {
            Some(t) => (t, "latest timestamp in the inputs"),
            None => bail!("the inputs hold no rows, so there is nothing to compute features from"),
        },
    })
}

/// The accumulators of the passes over the rows, and the counts on the way.
struct Passes {
    accs: Accs,
    /// Rows after T: carts, orders, events.
    after: [u64; 3],
    counts: CartCounts,
}

impl Passes {
    fn new(customers: usize) -> Passes {
        Passes {
            accs: Accs::new(customers),
            after: [0; 3],
            counts: CartCounts::default(),
        }
    }
}

/// Steps 1 and 3: the latest snapshots, then abandonment (which reads what the orders pass,
/// step 2, left).
fn carts_pass(ds: &Dataset, p: &FeatureParams, t: i64, ordered: &Ordered, passes: &mut Passes) {
    let accs = &mut passes.accs;
    let latest = latest_snapshots(ds, t, accs, &mut passes.after[0]);
    passes.counts = abandonment(ds, p, t, &latest, ordered, accs);
}

/// Step 4: engagement, when there is an engagement input.
fn engagement_pass(ds: &Dataset, p: &FeatureParams, t: i64, passes: &mut Passes) {
    if ds.present.has_kind(TableKind::Engagement) {
        engagement(ds, p, t, &mut passes.accs, &mut passes.after[2]);
    }
}

/// Step 5 and the formulas: the median AOV, the abandoners in customer-id order, their columns
/// and the summary. Reads only the customers and what the inputs had of `ds`.
fn finish(
    ds: &Dataset,
    p: &FeatureParams,
    (t, as_of_source): (i64, &'static str),
    passes: Passes,
) -> (FeatureTable, FeatureSummary) {
    let Passes {
        accs,
        after,
        counts,
    } = passes;
    // Median AOV over every customer with orders in history.
    let mut aov_by_customer: Vec<f64> = accs
        .history
        .iter()
        .filter(|h| h.orders > 0)
        .map(|h| h.revenue / h.orders as f64)
        .collect();
    let median_aov = median(&mut aov_by_customer);
    // Abandoners, sorted by customer id.
    let mut abandoners: Vec<u32> = (0..accs.abandoned.len() as u32)
        .filter(|&c| accs.abandoned[c as usize].count > 0)
        .collect();
    abandoners.sort_by(|x, y| ds.customers.name(*x).cmp(ds.customers.name(*y)));
    let left_out = left_out(&ds.present);
    let rows = Rows {
        accs: &accs,
        rows: &abandoners,
        t,
        history_days: p.history as f64 / DAY as f64,
        median_aov,
    };
    let columns: Vec<FeatureColumn> = catalogue::FEATURES
        .iter()
        .filter(|f| !left_out.iter().any(|l| l.feature == f.name))
        .map(|f| FeatureColumn {
            name: f.name,
            values: formula(f.name, &rows)
                .unwrap_or_else(|| unreachable!("{} has no formula", f.name)),
        })
        .collect();
    // fold from +0.0: an empty f64 sum is -0.0.
    let value_at_stake = rows.each().map(last_value).fold(0.0, |s, v| s + v);
    let abandoned_value_sum = rows.each().map(|a| a.a.total).fold(0.0, |s, v| s + v);
    let summary = FeatureSummary {
        as_of: timefmt::format_timestamp(t),
        as_of_source,
        windows: Windows::of(p),
        rows_after_as_of: [TableKind::Carts, TableKind::Orders, TableKind::Engagement]
            .into_iter()
            .zip(after)
            .filter(|(k, _)| ds.present.has_kind(*k))
            .map(|(k, n)| (k.name(), n))
            .collect(),
        customers: Some(ds.customers.len()),
        carts: Some(counts.carts),
        abandoned_carts: Some(counts.abandoned),
        abandoned_carts_in_lookback: Some(counts.in_lookback),
        abandoners: abandoners.len(),
        value_at_stake: Some(value_at_stake),
        abandoned_value_total: Some(abandoned_value_sum),
        median_aov,
        features: columns.iter().map(|c| c.name).collect(),
        left_out,
    };
    let table = FeatureTable {
        customers: abandoners
            .iter()
            .map(|&c| ds.customers.name(c).to_string())
            .collect(),
        columns,
        abandoned_at: rows.each().map(|a| a.a.last().map(|l| l.0)).collect(),
    };
    (table, summary)
}

/// No cart row (in [`latest_snapshots`]).
const NO_ROW: u32 = u32::MAX;

/// Step 1: the latest snapshot of each cart at or before T (ties on updated_at go to the row read
/// last), as an index into `ds.carts` per cart id ([`NO_ROW`]: none at or before T; 4 bytes per
/// cart where `Option<usize>` took 16); counts the cart rows after T.
fn latest_snapshots(ds: &Dataset, t: i64, accs: &mut Accs, after: &mut u64) -> Vec<u32> {
    assert!(
        ds.carts.len() < NO_ROW as usize,
        "fewer than 2^32 - 1 cart rows"
    );
    let mut latest: Vec<u32> = vec![NO_ROW; ds.carts_ids.len()];
    for (i, c) in ds.carts.iter().enumerate() {
        if c.updated_at > t {
            *after += 1;
            continue;
        }
        accs.seen(c.customer, c.created_at().unwrap_or(c.updated_at));
        let slot = &mut latest[c.cart as usize];
        if *slot == NO_ROW || c.updated_at >= ds.carts[*slot as usize].updated_at {
            *slot = i as u32;
        }
    }
    latest
}

/// What abandonment needs of the orders once their rows are gone: each customer's sorted order
/// times and which carts an order carries.
struct Ordered {
    times: OrderTimes,
    carts: Vec<bool>,
}

/// Step 2, orders at or before T: history aggregates per customer (allocated here), and what
/// abandonment needs of them.
fn orders(ds: &Dataset, p: &FeatureParams, t: i64, passes: &mut Passes) -> Ordered {
    let hist_start = t - p.history; // history is (T - H, T]
    let mut ordered_cart = vec![false; ds.carts_ids.len()];
    let orders_have_discount = ds.present.has(TableKind::Orders, "discount_code")
        || ds.present.has(TableKind::Orders, "discount_amount");
    let accs = &mut passes.accs;
    accs.history = vec![History::default(); accs.first_seen.len()];
    for o in &ds.orders {
        if o.ordered_at > t {
            passes.after[1] += 1;
            continue;
        }
        accs.seen(o.customer, o.ordered_at);
        if let Some(c) = o.cart {
            ordered_cart[c as usize] = true;
        }
        if o.ordered_at > hist_start {
            let h = &mut accs.history[o.customer as usize];
            h.orders += 1;
            h.revenue += o.value;
            h.last_order = h.last_order.max(o.ordered_at);
            if orders_have_discount {
                h.disc_den += 1;
                h.disc_num += o.discount as u32;
            }
        }
    }
    Ordered {
        times: OrderTimes::of(ds, t),
        carts: ordered_cart,
    }
}

/// Each customer's order times at or before T, sorted: one array of times grouped by customer
/// (a counting sort) and where each customer's group starts. 12 bytes per order and 4 per
/// customer, where a `Vec` per customer took about 0.4 GB at 100M rows (issue 19).
struct OrderTimes {
    starts: Vec<u32>,
    times: Vec<i64>,
}

impl OrderTimes {
    fn of(ds: &Dataset, t: i64) -> OrderTimes {
        assert!(
            ds.orders.len() < u32::MAX as usize,
            "fewer than 2^32 orders"
        );
        let kept = || ds.orders.iter().filter(|o| o.ordered_at <= t);
        let mut starts = vec![0u32; ds.customers.len() + 1];
        for o in kept() {
            starts[o.customer as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut times = vec![0i64; starts[starts.len() - 1] as usize];
        for o in kept() {
            let slot = &mut next[o.customer as usize];
            times[*slot as usize] = o.ordered_at;
            *slot += 1;
        }
        drop(next);
        let mut out = OrderTimes { starts, times };
        for c in 0..ds.customers.len() {
            let (a, b) = (out.starts[c] as usize, out.starts[c + 1] as usize);
            out.times[a..b].sort_unstable();
        }
        out
    }

    fn of_customer(&self, c: u32) -> &[i64] {
        let c = c as usize;
        &self.times[self.starts[c] as usize..self.starts[c + 1] as usize]
    }
}

/// Cart counts for the summary.
#[derive(Default)]
struct CartCounts {
    carts: u64,
    abandoned: u64,
    in_lookback: u64,
}

/// Step 3: which latest snapshots are abandoned, and the lookback aggregates of each abandoner
/// (allocated here); devices and discounts of carts in history on the way.
fn abandonment(
    ds: &Dataset,
    p: &FeatureParams,
    t: i64,
    latest: &[u32],
    ordered: &Ordered,
    accs: &mut Accs,
) -> CartCounts {
    let a = p.abandon_after;
    let (hist_start, look_start) = (t - p.history, t - p.lookback);
    let carts_have_discount = ds.present.has(TableKind::Carts, "discount_code");
    let mut counts = CartCounts::default();
    accs.abandoned = vec![Abandoned::default(); accs.first_seen.len()];
    accs.devices = vec![[0; 4]; accs.first_seen.len()];
    for &i in latest.iter().filter(|&&i| i != NO_ROW) {
        let c = &ds.carts[i as usize];
        counts.carts += 1;
        let who = c.customer as usize;
        if c.updated_at > hist_start {
            if let Some(d) = c.device {
                accs.devices[who][device_index(d)] += 1;
            }
            if carts_have_discount {
                let h = &mut accs.history[who];
                h.disc_den += 1;
                h.disc_num += c.discount as u32;
            }
        }
        let times = ordered.times.of_customer(c.customer);
        let first_at_or_after = times.partition_point(|&x| x < c.updated_at);
        let ordered_within = times
            .get(first_at_or_after)
            .is_some_and(|&x| x <= c.updated_at + a);
        let abandoned = c.value > 0.0
            && c.updated_at <= t - a
            && !ordered_within
            && !ordered.carts[c.cart as usize];
        if !abandoned {
            continue;
        }
        counts.abandoned += 1;
        if c.updated_at <= look_start {
            continue;
        }
        counts.in_lookback += 1;
        let ab = &mut accs.abandoned[who];
        ab.count += 1;
        ab.total += c.value;
        let newer = match ab.last() {
            None => true,
            Some((u, cart, _)) => {
                c.updated_at > u
                    || (c.updated_at == u && ds.carts_ids.name(c.cart) > ds.carts_ids.name(cart))
            }
        };
        if newer {
            (ab.last_at, ab.last_cart, ab.last_value) = (c.updated_at, c.cart, c.value);
        }
        if let Some(s) = c.checkout_step {
            ab.max_step = ab.max_step().map_or(s, |m| m.max(s));
        }
    }
    counts
}

/// The abandoners (customers, in output order), their accumulators, and what the formulas need
/// besides.
struct Rows<'a> {
    accs: &'a Accs,
    rows: &'a [u32],
    t: i64,
    history_days: f64,
    median_aov: Option<f64>,
}

impl Rows<'_> {
    /// Each abandoner's accumulators, in output order.
    fn each(&self) -> impl Iterator<Item = Acc<'_>> + '_ {
        self.rows.iter().map(|&c| self.accs.of(c))
    }
}

fn last_value(a: Acc<'_>) -> f64 {
    a.a.last().map_or(0.0, |l| l.2)
}

/// Whether `name` has a formula (the catalogue's unit test asks).
pub fn has_formula(name: &str) -> bool {
    let accs = Accs::new(0);
    let empty = Rows {
        accs: &accs,
        rows: &[],
        t: 0,
        history_days: 0.0,
        median_aov: None,
    };
    formula(name, &empty).is_some()
}

/// The formula of one feature (docs/features.md) over the abandoners; `None` for a name that is
/// not in the catalogue.
fn formula(name: &str, r: &Rows<'_>) -> Option<Values> {
    let t = r.t;
    let days = |x: i64| (t - x) as f64 / DAY as f64;
    let num = |f: &dyn Fn(Acc) -> Option<f64>| Values::Num(r.each().map(f).collect());
    let count = |f: &dyn Fn(Acc) -> u32| Values::Num(r.each().map(|a| Some(f(a) as f64)).collect());
    let cat = |f: &dyn Fn(Acc) -> Option<&'static str>| Values::Cat(r.each().map(f).collect());
    let aov = |a: Acc| {
        if a.h.orders > 0 {
            Some(a.h.revenue / a.h.orders as f64)
        } else {
            r.median_aov
        }
    };
    Some(match name {
        "last_abandoned_value" => num(&|a| Some(last_value(a))),
        "abandoned_value_total" => num(&|a| Some(a.a.total)),
        "abandoned_carts" => count(&|a| a.a.count),
        "orders" => count(&|a| a.h.orders),
        "revenue" => num(&|a| Some(a.h.revenue)),
        "has_ordered" => count(&|a| (a.h.orders > 0) as u32),
        "aov" => num(&aov),
        "cart_to_aov" => num(&|a| aov(a).filter(|v| *v > 0.0).map(|v| last_value(a) / v)),
        "days_since_abandon" => num(&|a| a.a.last().map(|l| days(l.0))),
        "days_since_last_order" => num(&|a| Some(a.h.last_order().map_or(r.history_days, days))),
        "tenure_days" => num(&|a| a.first_seen.map(days)),
        "mobile_share" => num(&|a| {
            let known: u32 = a.devices.iter().sum();
            let mobile =
                a.devices[device_index(Device::Mobile)] + a.devices[device_index(Device::Tablet)];
            (known > 0).then(|| mobile as f64 / known as f64)
        }),
        "primary_device" => cat(&|a| {
            let best = (0..4).rev().max_by_key(|&i| a.devices[i])?;
            (a.devices[best] > 0).then(|| Device::ALL[best].name())
        }),
        "max_checkout_depth" => num(&|a| a.a.max_step().map(|s| s as f64 / 3.0)),
        "discount_share" => {
            num(&|a| (a.h.disc_den > 0).then(|| a.h.disc_num as f64 / a.h.disc_den as f64))
        }
        "sessions_30d" => count(&|a| a.e.sessions_30d),
        "page_views_per_session" => num(&|a| {
            (a.e.sessions_hist > 0).then(|| a.e.page_views_hist as f64 / a.e.sessions_hist as f64)
        }),
        "product_views" => count(&|a| a.e.product_views),
        "info_page_views" => count(&|a| a.e.info_page_views),
        "cart_removals" => count(&|a| a.e.cart_removals),
        "email_open_rate" => num(&|a| {
            (a.e.email_sent > 0).then(|| (a.e.email_open as f64 / a.e.email_sent as f64).min(1.0))
        }),
        "email_clicks_90d" => count(&|a| a.e.email_clicks_90d),
        "sms_clicks_90d" => count(&|a| a.e.sms_clicks_90d),
        // An order after the latest abandoned cart (one at or within A of it would have made the
        // cart not abandoned; one carrying its id too): the shopper came back without it.
        "ordered_since_abandon" => count(&|a| {
            u32::from(
                a.a.last()
                    .zip(a.h.last_order())
                    .is_some_and(|(l, o)| o > l.0),
            )
        }),
        "lifecycle_stage" => cat(&|a| {
            Some(match a.h.last_order() {
                _ if a.h.orders == 0 => "new",
                _ if a.h.orders >= 3 => "loyal",
                Some(l) if l > t - 90 * DAY => "active",
                _ => "lapsing",
            })
        }),
        _ => return None,
    })
}

fn engagement(ds: &Dataset, p: &FeatureParams, t: i64, accs: &mut Accs, after: &mut u64) {
    let hist_start = t - p.history;
    let look_start = t - p.lookback;
    let start_30d = t - 30 * DAY;
    let start_90d = t - 90 * DAY;
    // Which interned pages are information pages: evaluated once per distinct page.
    let info_page: Vec<bool> = (0..ds.pages.len() as u32)
        .map(|i| p.info_pages.is_match(ds.pages.name(i)))
        .collect();
    accs.engaged = vec![Engaged::default(); accs.first_seen.len()];
    for e in &ds.events {
        if e.occurred_at > t {
            *after += 1;
            continue;
        }
        let x = e.occurred_at;
        accs.seen(e.customer, x);
        let ac = &mut accs.engaged[e.customer as usize];
        let hist = x > hist_start;
        let look = x > look_start;
        match e.event() {
            Event::PageView | Event::ProductView if hist => ac.page_views_hist += 1,
            _ => {}
        }
        match e.event() {
            Event::ProductView if look => ac.product_views += 1,
            Event::PageView if look && e.page().is_some_and(|pg| info_page[pg as usize]) => {
                ac.info_page_views += 1
            }
            Event::RemoveFromCart if look => ac.cart_removals += 1,
            Event::EmailSent if hist => ac.email_sent += 1,
            Event::EmailOpen if hist => ac.email_open += 1,
            Event::EmailClick if x > start_90d => ac.email_clicks_90d += 1,
            Event::SmsClick if x > start_90d => ac.sms_clicks_90d += 1,
            _ => {}
        }
    }
    sessions(ds, t, hist_start, start_30d, accs);
}

/// Sessions: a distinct (customer, session_id); a session_start without a session_id is a session
/// of its own. A session counts in 30 days (in history) when any of its events does; its device
/// is that of its earliest event with one (ties: the row read first).
///
/// The events of each customer are gathered with a counting sort (4 bytes per event) and their
/// sessions told apart by sorting that customer's few keys: a map of every session took 1.9 GB at
/// 100M rows (issue 8).
fn sessions(ds: &Dataset, t: i64, hist_start: i64, start_30d: i64, accs: &mut Accs) {
    let customers = accs.first_seen.len();
    assert!(
        ds.events.len() < u32::MAX as usize,
        "fewer than 2^32 events"
    );
    // Session keys: odd id hashes, or 2 * row for a session_start without an id (even).
    let key = |row: usize, e: &crate::ingest::schema::EventRow| match e.session() {
        Some(s) => Some(s.get() | 1),
        None if e.event() == Event::SessionStart => Some(2 * row as u64),
        None => None,
    };
    let mut start = vec![0u32; customers + 1];
    for (row, e) in ds.events.iter().enumerate() {
        if e.occurred_at <= t && key(row, e).is_some() {
            start[e.customer as usize + 1] += 1;
        }
    }
    for c in 0..customers {
        start[c + 1] += start[c];
    }
    let mut next = start.clone();
    let mut rows = vec![0u32; start[customers] as usize];
    for (row, e) in ds.events.iter().enumerate() {
        if e.occurred_at <= t && key(row, e).is_some() {
            let at = &mut next[e.customer as usize];
            rows[*at as usize] = row as u32;
            *at += 1;
        }
    }
    drop(next);
    // (key, time, row, device) of one customer's events.
    let mut scratch: Vec<(u64, i64, u32, Option<Device>)> = Vec::new();
    for (c, (ac, devices)) in accs.engaged.iter_mut().zip(&mut accs.devices).enumerate() {
        scratch.clear();
        for &row in &rows[start[c] as usize..start[c + 1] as usize] {
            let e = &ds.events[row as usize];
            let k = key(row as usize, e).expect("rows with a key");
            scratch.push((k, e.occurred_at, row, e.device()));
        }
        scratch.sort_unstable_by_key(|s| (s.0, s.1, s.2));
        for session in scratch.chunk_by(|a, b| a.0 == b.0) {
            if session.iter().any(|s| s.1 > start_30d) {
                ac.sessions_30d += 1;
            }
            if session.iter().any(|s| s.1 > hist_start) {
                ac.sessions_hist += 1;
                // Sorted by (time, row) within the session: the first with a device.
                if let Some(d) = session.iter().find_map(|s| s.3) {
                    devices[device_index(d)] += 1;
                }
            }
        }
    }
}

/// The median of `v` (mean of the two middle values for an even count); `None` when empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::schema::{CartRow, EventRow, OrderRow};

    /// The sizes bench/RESULTS.md's memory budget (issue 19) is worked out from: a change here
    /// changes the bytes per row and per customer at the peak, so the budget must be redone.
    #[test]
    fn memory_budget_sizes() {
        use std::mem::size_of;
        assert_eq!(
            (
                size_of::<EventRow>(),
                size_of::<CartRow>(),
                size_of::<OrderRow>()
            ),
            (24, 40, 40)
        );
        // Per customer, each allocated when its pass starts (was one 160-byte accumulator).
        assert_eq!(
            (
                size_of::<History>(),
                size_of::<Abandoned>(),
                size_of::<[u32; 4]>(),
                size_of::<Engaged>()
            ),
            (32, 40, 16, 40)
        );
    }
}
