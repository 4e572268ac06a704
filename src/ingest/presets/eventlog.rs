//! Event-log presets: one log of shopper events (REES46, GA4, Segment, Snowplow, ...) turned into
//! canonical carts, orders and engagement. docs/presets.md states every rule; in short:
//!
//! - **Sessions** are the log's session ids (per shopper), or, for events without one, runs of a
//!   shopper's events with gaps of at most `session_gap` (30 minutes by default). Only site events
//!   make sessions; email, SMS and push events do not.
//! - **Carts**: one per session with an add-to-cart or checkout event (or per value of the `cart`
//!   column when the log has one). Value: the value of the latest checkout event that carries one,
//!   else added values minus removed values (never below 0); created at the first cart event,
//!   updated at the last; checkout step: the furthest step reached.
//! - **Orders**: purchase events grouped by the `order` column, else by session; time of the last
//!   purchase event; value the sum (or the largest, `purchase_value = "max"`) of their values. An
//!   order is linked to the cart of its session, so that cart counts as converted.
//! - **Engagement**: a `session_start` at each session's first event, then page views, product
//!   views, add/remove-from-cart, email, SMS and push events as mapped.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::ingest::presets::common::{
    amount_text, find_column, parse_amount, row_shape_problem, Derived, FileLog,
};
use crate::ingest::schema::{BadRows, Interner, TableKind, CHECKOUT_STEPS};
use crate::io::read::{self, CsvOptions, Row, Source, Table};
use crate::util::timefmt;

/// How the time column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Text timestamps as in docs/data-format.md (RFC 3339, `YYYY-MM-DD HH:MM:SS UTC`, ...).
    Text,
    /// Seconds since the Unix epoch (fractions allowed).
    S,
    /// Milliseconds since the epoch.
    Ms,
    /// Microseconds since the epoch (GA4's BigQuery `event_timestamp`).
    Us,
}

/// How the values of the purchase rows of one order add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PurchaseValue {
    /// One row per item, each with its own value (REES46).
    Sum,
    /// Every row carries the order's total (GA4 flattened by items).
    Max,
}

/// Which event names mean what (`[events.names]`); names match ignoring case and spaces around.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventNames {
    #[serde(default)]
    pub add_to_cart: Vec<String>,
    #[serde(default)]
    pub remove_from_cart: Vec<String>,
    /// Checkout steps, in order: entering shipping details, payment, the final review.
    #[serde(default)]
    pub shipping: Vec<String>,
    #[serde(default)]
    pub payment: Vec<String>,
    #[serde(default)]
    pub review: Vec<String>,
    #[serde(default)]
    pub purchase: Vec<String>,
    #[serde(default)]
    pub page_view: Vec<String>,
    #[serde(default)]
    pub product_view: Vec<String>,
    #[serde(default)]
    pub email_sent: Vec<String>,
    #[serde(default)]
    pub email_open: Vec<String>,
    #[serde(default)]
    pub email_click: Vec<String>,
    #[serde(default)]
    pub sms_sent: Vec<String>,
    #[serde(default)]
    pub sms_click: Vec<String>,
    #[serde(default)]
    pub push_open: Vec<String>,
}

/// One column or several (the first non-empty one wins, as `["user_id", "anonymous_id"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ColumnNames {
    One(String),
    Many(Vec<String>),
}

/// `[events]` of cartsona.toml, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLogConfig {
    pub customer: Option<ColumnNames>,
    pub time: Option<String>,
    pub time_unit: Option<TimeUnit>,
    pub event: Option<String>,
    pub session: Option<String>,
    pub cart: Option<String>,
    pub order: Option<String>,
    pub value: Option<String>,
    pub quantity: Option<String>,
    pub device: Option<String>,
    pub page: Option<String>,
    pub discount: Option<String>,
    pub session_gap: Option<String>,
    pub purchase_value: Option<PurchaseValue>,
    #[serde(default)]
    pub names: EventNames,
}

/// A checked event-log description.
#[derive(Debug, Clone)]
pub struct EventLogSpec {
    pub customer: Vec<String>,
    pub time: String,
    pub time_unit: TimeUnit,
    pub event: String,
    pub session: Option<String>,
    pub cart: Option<String>,
    pub order: Option<String>,
    pub value: Option<String>,
    pub quantity: Option<String>,
    pub device: Option<String>,
    pub page: Option<String>,
    pub discount: Option<String>,
    pub session_gap: i64,
    pub purchase_value: PurchaseValue,
    pub names: EventNames,
}

pub const DEFAULT_SESSION_GAP: i64 = 30 * timefmt::MINUTE;

impl EventLogSpec {
    /// The REES46 / Open CDP e-commerce event log.
    pub fn rees46() -> EventLogSpec {
        let v = |s: &str| vec![s.to_string()];
        EventLogSpec {
            customer: v("user_id"),
            time: "event_time".into(),
            time_unit: TimeUnit::Text,
            event: "event_type".into(),
            session: Some("user_session".into()),
            cart: None,
            order: None,
            value: Some("price".into()),
            quantity: None,
            device: None,
            page: None,
            discount: None,
            session_gap: DEFAULT_SESSION_GAP,
            purchase_value: PurchaseValue::Sum,
            names: EventNames {
                add_to_cart: v("cart"),
                remove_from_cart: v("remove_from_cart"),
                purchase: v("purchase"),
                product_view: v("view"),
                ..EventNames::default()
            },
        }
    }

    /// Checks `[events]`; `origin` names the config file in messages.
    pub fn from_config(c: &EventLogConfig, origin: &str) -> Result<EventLogSpec> {
        let need = |v: &Option<String>, key: &str, example: &str| -> Result<String> {
            match v {
                Some(s) if !s.trim().is_empty() => Ok(s.clone()),
                _ => bail!(
                    "{origin}: [events] {key} is required by preset \"events\": name the column that holds {example}"
                ),
            }
        };
        let customer = match &c.customer {
            Some(ColumnNames::One(s)) if !s.trim().is_empty() => vec![s.clone()],
            Some(ColumnNames::Many(v)) if !v.is_empty() && v.iter().all(|s| !s.trim().is_empty()) => {
                v.clone()
            }
            _ => bail!(
                "{origin}: [events] customer is required by preset \"events\": name the shopper column (or a list, first non-empty wins, like [\"user_id\", \"anonymous_id\"])"
            ),
        };
        let session_gap = match &c.session_gap {
            None => DEFAULT_SESSION_GAP,
            Some(s) => {
                let d = timefmt::parse_duration(s)
                    .map_err(|e| anyhow::anyhow!("{origin}: [events] session_gap: {e}"))?;
                if d <= 0 {
                    bail!("{origin}: [events] session_gap '{s}': must be longer than zero");
                }
                d
            }
        };
        let spec = EventLogSpec {
            customer,
            time: need(&c.time, "time", "the event time")?,
            time_unit: c.time_unit.unwrap_or(TimeUnit::Text),
            event: need(&c.event, "event", "the event name")?,
            session: c.session.clone(),
            cart: c.cart.clone(),
            order: c.order.clone(),
            value: c.value.clone(),
            quantity: c.quantity.clone(),
            device: c.device.clone(),
            page: c.page.clone(),
            discount: c.discount.clone(),
            session_gap,
            purchase_value: c.purchase_value.unwrap_or(PurchaseValue::Sum),
            names: c.names.clone(),
        };
        spec.actions()
            .map_err(|e| anyhow::anyhow!("{origin}: [events.names] {e}"))?;
        if spec.names.add_to_cart.is_empty() {
            bail!("{origin}: [events.names] add_to_cart is empty: list the event names that add to a cart (like [\"add_to_cart\"]); without them there are no carts");
        }
        Ok(spec)
    }

    /// The event-name lookup (lower-case name -> action); a name listed twice is an error.
    fn actions(&self) -> Result<HashMap<String, Action>> {
        let n = &self.names;
        let lists: [(&str, &Vec<String>, Action); 14] = [
            ("add_to_cart", &n.add_to_cart, Action::Add),
            ("remove_from_cart", &n.remove_from_cart, Action::Remove),
            ("shipping", &n.shipping, Action::Step(1)),
            ("payment", &n.payment, Action::Step(2)),
            ("review", &n.review, Action::Step(3)),
            ("purchase", &n.purchase, Action::Purchase),
            ("page_view", &n.page_view, Action::Engage("page_view")),
            (
                "product_view",
                &n.product_view,
                Action::Engage("product_view"),
            ),
            ("email_sent", &n.email_sent, Action::Engage("email_sent")),
            ("email_open", &n.email_open, Action::Engage("email_open")),
            ("email_click", &n.email_click, Action::Engage("email_click")),
            ("sms_sent", &n.sms_sent, Action::Engage("sms_sent")),
            ("sms_click", &n.sms_click, Action::Engage("sms_click")),
            ("push_open", &n.push_open, Action::Engage("push_open")),
        ];
        let mut map: HashMap<String, (Action, &str)> = HashMap::new();
        for (key, names, action) in lists {
            for name in names {
                let k = name.trim().to_lowercase();
                if k.is_empty() {
                    bail!("{key}: an empty event name");
                }
                if let Some((_, other)) = map.get(&k) {
                    if *other != key {
                        bail!("event name '{name}' is listed under both {other} and {key}");
                    }
                }
                map.insert(k, (action, key));
            }
        }
        Ok(map.into_iter().map(|(k, (a, _))| (k, a)).collect())
    }

    fn has_steps(&self) -> bool {
        !(self.names.shipping.is_empty()
            && self.names.payment.is_empty()
            && self.names.review.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Add,
    Remove,
    /// A checkout step: 1 shipping, 2 payment, 3 review.
    Step(u8),
    Purchase,
    /// A canonical engagement event type.
    Engage(&'static str),
}

impl Action {
    /// Site events make sessions; messages (email, SMS, push) do not.
    fn is_site(self) -> bool {
        !matches!(self, Action::Engage(e) if e.starts_with("email") || e.starts_with("sms") || e.starts_with("push"))
    }
}

/// One mapped event, compact. Text fields are handles into one interner.
struct Ev {
    customer: u32,
    time: i64,
    action: Action,
    session: Option<u32>,
    cart: Option<u32>,
    order: Option<u32>,
    value: Option<f64>,
    qty: u32,
    device: Option<&'static str>,
    page: Option<u32>,
    discount: Option<u32>,
}

/// Maps the device strings analytics tools write onto the canonical devices.
pub fn normalize_device(raw: &str) -> &'static str {
    let s = raw.trim().to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| s.contains(w));
    if has(&["tablet", "ipad"]) {
        "tablet"
    } else if has(&["mobile", "phone", "ios", "android"]) {
        "mobile"
    } else if has(&[
        "desktop", "computer", "pc", "mac", "windows", "linux", "web",
    ]) {
        "desktop"
    } else {
        "other"
    }
}

fn parse_time(s: &str, unit: TimeUnit) -> Option<i64> {
    let per = match unit {
        TimeUnit::Text => return timefmt::parse_timestamp(s),
        TimeUnit::S => 1e6,
        TimeUnit::Ms => 1e3,
        TimeUnit::Us => 1.0,
    };
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(per as i64);
    }
    let x = s.parse::<f64>().ok()?;
    let us = (x * per).round();
    (us.is_finite() && us.abs() < 9.0e18).then_some(us as i64)
}

/// Reads every file of the log and derives the canonical tables.
pub fn derive(
    preset: &'static str,
    spec: &EventLogSpec,
    files: &[Source],
    bad_rows: BadRows,
    delimiter: u8,
) -> Result<Derived> {
    let actions = spec.actions()?;
    let mut strings = Interner::default();
    let mut events: Vec<Ev> = Vec::new();
    let mut reports = Vec::new();
    for src in files {
        let mut log = FileLog::new(src, bad_rows);
        let mut unmapped: BTreeMap<String, u64> = BTreeMap::new();
        let file = src.display();
        let select = |header: &[String]| header_indices(header, spec, preset, &file);
        let rows = read::scan(src, CsvOptions { delimiter }, select, |row| {
            let ev = read_event(&row, spec, &actions, &mut log, &mut unmapped, &mut strings)?;
            events.extend(ev);
            Ok(())
        })?;
        let notes = unmapped_notes(&unmapped, preset);
        reports.push(log.report(src, "events", preset, rows, notes));
    }
    let tables = build(spec, &strings, events);
    Ok(Derived {
        tables,
        reports,
        unknown: unknown_features(preset, spec),
    })
}

/// The optional columns of the selection, in order, after the customer columns, time and event.
fn optional_columns(spec: &EventLogSpec) -> [(&Option<String>, &'static str); 8] {
    // In the order of the positions of `opt`.
    [
        (&spec.session, "session"),
        (&spec.cart, "cart"),
        (&spec.order, "order"),
        (&spec.value, "value"),
        (&spec.quantity, "quantity"),
        (&spec.device, "device"),
        (&spec.page, "page"),
        (&spec.discount, "discount"),
    ]
}

/// Where each optional column sits among the optional ones ([`optional_columns`]' order).
mod opt {
    pub const SESSION: usize = 0;
    pub const CART: usize = 1;
    pub const ORDER: usize = 2;
    pub const VALUE: usize = 3;
    pub const QUANTITY: usize = 4;
    pub const DEVICE: usize = 5;
    pub const PAGE: usize = 6;
    pub const DISCOUNT: usize = 7;
}

/// Where the selected cells of a row sit ([`header_indices`]' order): the customer columns
/// (`0..customers`), the time, the event, then the optional columns.
#[derive(Debug, Clone, Copy)]
struct Positions {
    customers: usize,
}

impl Positions {
    fn time(self) -> usize {
        self.customers
    }
    fn event(self) -> usize {
        self.customers + 1
    }
    /// The optional column at `opt::X`.
    fn optional(self, at: usize) -> usize {
        self.customers + 2 + at
    }
}

/// Where the header holds each column the spec names: customer columns, time, event, then the
/// optional ones ([`optional_columns`]). A named column that is missing is an error.
fn header_indices(
    header: &[String],
    spec: &EventLogSpec,
    preset: &str,
    file: &str,
) -> Result<Vec<Option<usize>>> {
    if header.len() == 1 && header[0].contains([',', ';', '\t', '|']) {
        bail!("{file}: the header has one column '{}': the file seems to use another delimiter; pass --delimiter", header[0]);
    }
    let want = |col: &str, key: &str| -> Result<Option<usize>> {
        match find_column(header, col) {
            Some(i) => Ok(Some(i)),
            None => bail!(
                "{file}: column '{col}' ({key} of preset {preset}) is not in the header; the header has: {}",
                header.join(", ")
            ),
        }
    };
    let mut idx = Vec::new();
    for c in &spec.customer {
        idx.push(want(c, "customer")?);
    }
    idx.push(want(&spec.time, "time")?);
    idx.push(want(&spec.event, "event")?);
    for (col, key) in optional_columns(spec) {
        idx.push(match col {
            Some(c) => want(c, key)?,
            None => None,
        });
    }
    Ok(idx)
}

/// One row of the log: its event; `None` for an event name mapped to no action (counted in
/// `unmapped`) or a row rejected into `log`.
fn read_event(
    row: &Row<'_>,
    spec: &EventLogSpec,
    actions: &HashMap<String, Action>,
    log: &mut FileLog,
    unmapped: &mut BTreeMap<String, u64>,
    strings: &mut Interner,
) -> Result<Option<Ev>> {
    let nc = spec.customer.len();
    let at = Positions { customers: nc };
    let cell = |i: usize| row.cells[i].text();
    let short = crate::util::text::short;
    if let Some((reason, col, msg)) = row_shape_problem(row, |i| column_name(spec, i)) {
        return log.reject(reason, row.line, &col, "", msg).map(|()| None);
    }
    let name = cell(at.event()).unwrap_or_default();
    let Some(&action) = actions.get(&name.to_lowercase()) else {
        *unmapped.entry(name.to_string()).or_default() += 1;
        return Ok(None);
    };
    let Some(customer) = (0..nc).find_map(cell) else {
        let columns = spec.customer.join(" / ");
        let msg = "the shopper id is empty".to_string();
        return log
            .reject("empty_customer", row.line, &columns, "", msg)
            .map(|()| None);
    };
    let raw_time = cell(at.time()).unwrap_or_default();
    let Some(time) = parse_time(raw_time, spec.time_unit) else {
        let hint = match spec.time_unit {
            TimeUnit::Text => "use RFC 3339 like 2025-01-31T12:00:00Z or 'YYYY-MM-DD HH:MM:SS UTC'; for epoch numbers set [events] time_unit",
            _ => "expected a number since the Unix epoch, as [events] time_unit says",
        };
        let msg = format!("'{}' is not a timestamp ({hint})", short(raw_time));
        return log
            .reject("bad_timestamp", row.line, &spec.time, raw_time, msg)
            .map(|()| None);
    };
    if !timefmt::plausible(time) {
        let msg = format!("'{}' is before 1990 or after 2099: a placeholder date, or the wrong [events] time_unit?", short(raw_time));
        return log
            .reject("implausible_timestamp", row.line, &spec.time, raw_time, msg)
            .map(|()| None);
    }
    let value = match cell(at.optional(opt::VALUE)) {
        None => None,
        Some(s) => match parse_amount(s) {
            Ok(v) => Some(v),
            Err((reason, msg)) => {
                let col = spec.value.clone().unwrap_or_default();
                return log.reject(reason, row.line, &col, s, msg).map(|()| None);
            }
        },
    };
    let qty = match cell(at.optional(opt::QUANTITY)) {
        None => 1,
        Some(s) => match s.parse::<u32>() {
            Ok(q) => q,
            Err(_) => {
                let col = spec.quantity.clone().unwrap_or_default();
                let msg = format!("'{}' is not a whole number of items", short(s));
                return log
                    .reject("not_a_whole_number", row.line, &col, s, msg)
                    .map(|()| None);
            }
        },
    };
    let customer = strings.intern(customer);
    let mut handle = |i: usize| cell(i).map(|s| strings.intern(s));
    Ok(Some(Ev {
        customer,
        time,
        action,
        session: handle(at.optional(opt::SESSION)),
        cart: handle(at.optional(opt::CART)),
        order: handle(at.optional(opt::ORDER)),
        value,
        qty,
        device: cell(at.optional(opt::DEVICE)).map(normalize_device),
        page: handle(at.optional(opt::PAGE)),
        discount: handle(at.optional(opt::DISCOUNT)),
    }))
}

/// Notes on the event names mapped to no action: the ten most frequent, and how to map them.
fn unmapped_notes(unmapped: &BTreeMap<String, u64>, preset: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let total_unmapped: u64 = unmapped.values().sum();
    let mut by_count: Vec<(&String, &u64)> = unmapped.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (name, n) in by_count.iter().take(10) {
        notes.push(format!(
            "event '{name}' ({n} rows) is not mapped to an action and was not used"
        ));
    }
    if by_count.len() > 10 {
        notes.push(format!(
            "... and {} more event names not used",
            by_count.len() - 10
        ));
    }
    if total_unmapped > 0 && preset == "events" {
        notes.push("map event names in [events.names] of cartsona.toml (docs/presets.md)".into());
    }
    notes
}

/// Engagement features the log cannot inform because no event name maps to what they count.
fn unknown_features(preset: &str, spec: &EventLogSpec) -> Vec<(&'static str, String)> {
    let n = &spec.names;
    let why = |what: &str| format!("the event log (preset {preset}) maps no {what} events");
    let mut out = Vec::new();
    if n.email_sent.is_empty() || n.email_open.is_empty() {
        out.push(("email_open_rate", why("email_sent and email_open")));
    }
    if n.email_click.is_empty() {
        out.push(("email_clicks_90d", why("email_click")));
    }
    if n.sms_click.is_empty() {
        out.push(("sms_clicks_90d", why("sms_click")));
    }
    if n.remove_from_cart.is_empty() {
        out.push(("cart_removals", why("remove_from_cart")));
    }
    if n.product_view.is_empty() {
        out.push(("product_views", why("product_view")));
    }
    if n.product_view.is_empty() && n.page_view.is_empty() {
        out.push(("page_views_per_session", why("page_view or product_view")));
    }
    if n.page_view.is_empty() {
        out.push(("info_page_views", why("page_view")));
    }
    out
}

/// The log's name of the `i`-th selected column (as [`header_indices`] orders them).
fn column_name(spec: &EventLogSpec, i: usize) -> String {
    let at = Positions {
        customers: spec.customer.len(),
    };
    if i < at.customers {
        return spec.customer[i].clone();
    }
    if i == at.time() {
        return spec.time.clone();
    }
    if i == at.event() {
        return spec.event.clone();
    }
    optional_columns(spec)[i - at.optional(0)]
        .0
        .clone()
        .unwrap_or_default()
}

/// A session key within one shopper: the log's session id, or the n-th gap session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SessionKey {
    Named(u32),
    Gap(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CartKey {
    Named(u32),
    Session(SessionKey),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum OrderKey {
    Named(u32),
    Session(SessionKey),
}

struct CartAcc {
    customer: u32,
    key: CartKey,
    created: i64,
    updated: i64,
    added: f64,
    removed: f64,
    items: i64,
    step: u8,
    /// (time, value) of the latest checkout event with a value.
    checkout_value: Option<(i64, f64)>,
    real: bool,
    device: Option<&'static str>,
    discount: Option<u32>,
}

struct OrderAcc {
    customer: u32,
    key: OrderKey,
    time: i64,
    value: f64,
    cart: Option<CartKey>,
    device: Option<&'static str>,
    discount: Option<u32>,
}

fn session_text(strings: &Interner, k: SessionKey) -> String {
    match k {
        SessionKey::Named(s) => strings.name(s).to_string(),
        SessionKey::Gap(n) => format!("gap-{n}"),
    }
}

/// The canonical tables from the log's events: each shopper's events in time order (read order
/// breaks ties) become engagement rows, carts and orders ([`Builder`]); then the carts with a
/// real add or checkout step and every order are written as tables.
fn build(spec: &EventLogSpec, strings: &Interner, events: Vec<Ev>) -> Vec<(TableKind, Table)> {
    // Read order breaks ties, so the result never depends on the sort algorithm.
    let mut order: Vec<u32> = (0..events.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&events[a as usize], &events[b as usize]);
        strings
            .name(x.customer)
            .cmp(strings.name(y.customer))
            .then(x.time.cmp(&y.time))
            .then(a.cmp(&b))
    });
    let mut b = Builder::new(spec, strings);
    for rows in order.chunk_by(|&x, &y| events[x as usize].customer == events[y as usize].customer)
    {
        b.customer(&events, rows);
    }
    let cart_table = b.cart_table();
    let order_table = b.order_table();
    vec![
        (TableKind::Carts, cart_table),
        (TableKind::Orders, order_table),
        (TableKind::Engagement, b.engagement),
    ]
}

/// Carts, orders and engagement rows as the events of each shopper are replayed.
struct Builder<'a> {
    spec: &'a EventLogSpec,
    strings: &'a Interner,
    engagement: Table,
    carts: Vec<CartAcc>,
    orders: Vec<OrderAcc>,
}

/// One shopper's state while their events are replayed.
#[derive(Default)]
struct Shopper {
    seen_sessions: HashMap<SessionKey, ()>,
    /// The current gap session and the time of its latest event.
    gap: Option<(u32, i64)>,
    cart_of: HashMap<CartKey, usize>,
    session_cart: HashMap<SessionKey, CartKey>,
    order_of: HashMap<OrderKey, usize>,
}

impl<'a> Builder<'a> {
    fn new(spec: &'a EventLogSpec, strings: &'a Interner) -> Builder<'a> {
        let mut cols = vec!["customer_id", "occurred_at", "event_type", "session_id"];
        if spec.device.is_some() {
            cols.push("device");
        }
        if spec.page.is_some() {
            cols.push("page");
        }
        Builder {
            spec,
            strings,
            engagement: Table::new(cols),
            carts: Vec::new(),
            orders: Vec::new(),
        }
    }

    /// Replays one shopper's events (`rows`, in time order).
    fn customer(&mut self, events: &[Ev], rows: &[u32]) {
        let mut st = Shopper::default();
        for &e in rows {
            let ev = &events[e as usize];
            let session = if !ev.action.is_site() {
                None
            } else if let Some(s) = ev.session {
                Some(SessionKey::Named(s))
            } else {
                let n = match st.gap {
                    Some((n, last)) if ev.time - last <= self.spec.session_gap => n,
                    Some((n, _)) => n + 1,
                    None => 1,
                };
                st.gap = Some((n, ev.time));
                Some(SessionKey::Gap(n))
            };
            if let Some(s) = session {
                if st.seen_sessions.insert(s, ()).is_none() {
                    self.emit(ev, "session_start", Some(s));
                }
            }
            match ev.action {
                Action::Engage(t) => self.emit(ev, t, session),
                Action::Add | Action::Remove | Action::Step(_) => {
                    if ev.action == Action::Add {
                        self.emit(ev, "add_to_cart", session);
                    } else if ev.action == Action::Remove {
                        self.emit(ev, "remove_from_cart", session);
                    }
                    let s = session.expect("cart events are site events");
                    self.cart_event(&mut st, ev, s);
                }
                Action::Purchase => {
                    let s = session.expect("purchases are site events");
                    self.purchase(&mut st, ev, s);
                }
            }
        }
    }

    /// One engagement row.
    fn emit(&mut self, ev: &Ev, event_type: &str, session: Option<SessionKey>) {
        let mut row = vec![
            self.strings.name(ev.customer).to_string(),
            timefmt::format_timestamp(ev.time),
            event_type.to_string(),
            session
                .map(|s| session_text(self.strings, s))
                .unwrap_or_default(),
        ];
        if self.spec.device.is_some() {
            row.push(ev.device.unwrap_or_default().to_string());
        }
        if self.spec.page.is_some() {
            row.push(
                ev.page
                    .map(|p| self.strings.name(p))
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        self.engagement.push(row);
    }

    /// An add, a removal or a checkout step: the cart of its cart id, or of its session.
    fn cart_event(&mut self, st: &mut Shopper, ev: &Ev, s: SessionKey) {
        let key = match ev.cart {
            Some(c) => CartKey::Named(c),
            None => CartKey::Session(s),
        };
        st.session_cart.insert(s, key);
        let carts = &mut self.carts;
        let idx = *st.cart_of.entry(key).or_insert_with(|| {
            carts.push(CartAcc {
                customer: ev.customer,
                key,
                created: ev.time,
                updated: ev.time,
                added: 0.0,
                removed: 0.0,
                items: 0,
                step: 0,
                checkout_value: None,
                real: false,
                device: None,
                discount: None,
            });
            carts.len() - 1
        });
        let c = &mut carts[idx];
        c.updated = ev.time;
        c.device = c.device.or(ev.device);
        c.discount = c.discount.or(ev.discount);
        let v = ev.value.unwrap_or(0.0);
        match ev.action {
            Action::Add => {
                c.real = true;
                c.added += v * ev.qty as f64;
                c.items += ev.qty as i64;
            }
            Action::Remove => {
                c.removed += v * ev.qty as f64;
                c.items -= ev.qty as i64;
            }
            Action::Step(step) => {
                c.real = true;
                c.step = c.step.max(step);
                if let Some(v) = ev.value {
                    c.checkout_value = Some((ev.time, v));
                }
            }
            _ => unreachable!("only cart actions"),
        }
    }

    /// A purchase: the order of its order id, or of its session, linked to the session's cart.
    fn purchase(&mut self, st: &mut Shopper, ev: &Ev, s: SessionKey) {
        let key = match ev.order {
            Some(o) => OrderKey::Named(o),
            None => OrderKey::Session(s),
        };
        let cart = ev
            .cart
            .map(CartKey::Named)
            .or_else(|| st.session_cart.get(&s).copied());
        let orders = &mut self.orders;
        let idx = *st.order_of.entry(key).or_insert_with(|| {
            orders.push(OrderAcc {
                customer: ev.customer,
                key,
                time: ev.time,
                value: 0.0,
                cart: None,
                device: None,
                discount: None,
            });
            orders.len() - 1
        });
        let o = &mut orders[idx];
        o.time = o.time.max(ev.time);
        let v = ev.value.unwrap_or(0.0) * ev.qty as f64;
        o.value = match self.spec.purchase_value {
            PurchaseValue::Sum => o.value + v,
            PurchaseValue::Max => o.value.max(v),
        };
        o.cart = o.cart.or(cart);
        o.device = o.device.or(ev.device);
        o.discount = o.discount.or(ev.discount);
    }

    fn cart_text(&self, customer: u32, key: CartKey) -> String {
        match key {
            CartKey::Named(c) => self.strings.name(c).to_string(),
            CartKey::Session(s) => format!(
                "{}/{}",
                self.strings.name(customer),
                session_text(self.strings, s)
            ),
        }
    }

    fn discount_text(&self, d: Option<u32>) -> String {
        d.map(|d| self.strings.name(d))
            .unwrap_or_default()
            .to_string()
    }

    /// The carts with an add or a checkout step; the value is the latest checkout value, else
    /// what was added minus what was removed (never below 0).
    fn cart_table(&self) -> Table {
        let (spec, strings) = (self.spec, self.strings);
        let mut cols = vec![
            "customer_id",
            "cart_id",
            "updated_at",
            "cart_value",
            "created_at",
            "item_count",
        ];
        if spec.device.is_some() {
            cols.push("device");
        }
        if spec.has_steps() {
            cols.push("checkout_step");
        }
        if spec.discount.is_some() {
            cols.push("discount_code");
        }
        let mut table = Table::new(cols);
        for c in self.carts.iter().filter(|c| c.real) {
            let value = match c.checkout_value {
                Some((_, v)) => v,
                None => (c.added - c.removed).max(0.0),
            };
            let mut row = vec![
                strings.name(c.customer).to_string(),
                self.cart_text(c.customer, c.key),
                timefmt::format_timestamp(c.updated),
                amount_text(value),
                timefmt::format_timestamp(c.created),
                c.items.max(0).to_string(),
            ];
            if spec.device.is_some() {
                row.push(c.device.unwrap_or_default().to_string());
            }
            if spec.has_steps() {
                row.push(CHECKOUT_STEPS[c.step as usize].to_string());
            }
            if spec.discount.is_some() {
                row.push(self.discount_text(c.discount));
            }
            table.push(row);
        }
        table
    }

    /// Every order; its cart id only when that cart is in the carts table (or was named).
    fn order_table(&self) -> Table {
        let (spec, strings) = (self.spec, self.strings);
        let mut cols = vec![
            "customer_id",
            "order_id",
            "ordered_at",
            "order_value",
            "cart_id",
        ];
        if spec.discount.is_some() {
            cols.push("discount_code");
        }
        if spec.device.is_some() {
            cols.push("device");
        }
        let mut table = Table::new(cols);
        let real_cart: HashMap<(u32, CartKey), bool> = self
            .carts
            .iter()
            .map(|c| ((c.customer, c.key), c.real))
            .collect();
        for o in &self.orders {
            let id = match o.key {
                OrderKey::Named(n) => strings.name(n).to_string(),
                OrderKey::Session(s) => {
                    format!("{}/{}", strings.name(o.customer), session_text(strings, s))
                }
            };
            let cart = o
                .cart
                .filter(|k| {
                    real_cart
                        .get(&(o.customer, *k))
                        .copied()
                        .unwrap_or(matches!(k, CartKey::Named(_)))
                })
                .map(|k| self.cart_text(o.customer, k))
                .unwrap_or_default();
            let mut row = vec![
                strings.name(o.customer).to_string(),
                id,
                timefmt::format_timestamp(o.time),
                amount_text(o.value),
                cart,
            ];
            if spec.discount.is_some() {
                row.push(self.discount_text(o.discount));
            }
            if spec.device.is_some() {
                row.push(o.device.unwrap_or_default().to_string());
            }
            table.push(row);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The named positions of the optional columns are the ones `optional_columns` lists there.
    #[test]
    fn named_optional_positions_match_the_column_list() {
        let spec = EventLogSpec::rees46();
        let keys: Vec<&str> = optional_columns(&spec).iter().map(|c| c.1).collect();
        let named = [
            (opt::SESSION, "session"),
            (opt::CART, "cart"),
            (opt::ORDER, "order"),
            (opt::VALUE, "value"),
            (opt::QUANTITY, "quantity"),
            (opt::DEVICE, "device"),
            (opt::PAGE, "page"),
            (opt::DISCOUNT, "discount"),
        ];
        assert_eq!(named.len(), keys.len());
        for (at, key) in named {
            assert_eq!(keys[at], key);
        }
    }

    #[test]
    fn devices_are_normalised() {
        assert_eq!(normalize_device("Mobile"), "mobile");
        assert_eq!(normalize_device("iPad"), "tablet");
        assert_eq!(normalize_device("desktop"), "desktop");
        assert_eq!(normalize_device("android"), "mobile");
        assert_eq!(normalize_device("smart tv"), "other");
    }

    #[test]
    fn epoch_times_in_each_unit() {
        let t = timefmt::parse_timestamp("2025-01-31T12:00:00Z").unwrap();
        assert_eq!(parse_time("1738324800", TimeUnit::S), Some(t));
        assert_eq!(parse_time("1738324800.5", TimeUnit::S), Some(t + 500_000));
        assert_eq!(parse_time("1738324800000", TimeUnit::Ms), Some(t));
        assert_eq!(parse_time("1738324800000000", TimeUnit::Us), Some(t));
        assert_eq!(
            parse_time("2025-01-31 12:00:00 UTC", TimeUnit::Text),
            Some(t)
        );
        assert_eq!(parse_time("yesterday", TimeUnit::S), None);
    }

    #[test]
    fn an_event_name_under_two_actions_is_refused() {
        let mut spec = EventLogSpec::rees46();
        spec.names.purchase.push("Cart".into());
        let err = spec.actions().unwrap_err().to_string();
        assert!(
            err.contains("'Cart'") && err.contains("add_to_cart") && err.contains("purchase"),
            "{err}"
        );
    }
}
