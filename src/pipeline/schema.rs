//! The canonical schema of carts, orders and engagement (docs/data-format.md), and the validator
//! that turns rows of text cells into typed tables plus a [`ValidationReport`].
//!
//! Every problem names the file, line, column and value. What happens to a bad row is the caller's
//! choice ([`BadRows`]): stop at the first one, or drop it and count it. Nothing is dropped silently.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::io::read::{self, Cell, CsvOptions, Row, Source};
use crate::timefmt;

/// The three kinds of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Carts,
    Orders,
    Engagement,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Carts => "carts",
            Kind::Orders => "orders",
            Kind::Engagement => "engagement",
        }
    }
    pub fn columns(self) -> &'static [ColSpec] {
        match self {
            Kind::Carts => CART_COLUMNS,
            Kind::Orders => ORDER_COLUMNS,
            Kind::Engagement => ENGAGEMENT_COLUMNS,
        }
    }
}

/// The type a column's values must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// A non-empty identifier.
    Id,
    /// Free text, may be empty.
    Text,
    Timestamp,
    /// A finite number >= 0.
    Amount,
    /// A whole number >= 0.
    Count,
    Device,
    CheckoutStep,
    EventType,
}

/// One canonical column.
#[derive(Debug, Clone, Copy)]
pub struct ColSpec {
    pub name: &'static str,
    pub required: bool,
    pub ty: ColType,
}

const fn col(name: &'static str, required: bool, ty: ColType) -> ColSpec {
    ColSpec { name, required, ty }
}

pub const CART_COLUMNS: &[ColSpec] = &[
    col("customer_id", true, ColType::Id),
    col("cart_id", true, ColType::Id),
    col("updated_at", true, ColType::Timestamp),
    col("cart_value", true, ColType::Amount),
    col("created_at", false, ColType::Timestamp),
    col("item_count", false, ColType::Count),
    col("device", false, ColType::Device),
    col("checkout_step", false, ColType::CheckoutStep),
    col("discount_code", false, ColType::Text),
    col("channel", false, ColType::Text),
];

pub const ORDER_COLUMNS: &[ColSpec] = &[
    col("customer_id", true, ColType::Id),
    col("order_id", true, ColType::Id),
    col("ordered_at", true, ColType::Timestamp),
    col("order_value", true, ColType::Amount),
    col("cart_id", false, ColType::Text),
    col("discount_code", false, ColType::Text),
    col("discount_amount", false, ColType::Amount),
    col("device", false, ColType::Device),
    col("channel", false, ColType::Text),
];

pub const ENGAGEMENT_COLUMNS: &[ColSpec] = &[
    col("customer_id", true, ColType::Id),
    col("occurred_at", true, ColType::Timestamp),
    col("event_type", true, ColType::EventType),
    col("session_id", false, ColType::Text),
    col("device", false, ColType::Device),
    col("page", false, ColType::Text),
    col("channel", false, ColType::Text),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    Other,
}

impl Device {
    pub const ALL: [Device; 4] = [
        Device::Desktop,
        Device::Mobile,
        Device::Tablet,
        Device::Other,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Other => "other",
        }
    }
    fn parse(s: &str) -> Option<Device> {
        Device::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
    }
    /// Mobile and tablet count as mobile for `mobile_share`.
    pub fn is_mobile(self) -> bool {
        matches!(self, Device::Mobile | Device::Tablet)
    }
}

pub const CHECKOUT_STEPS: [&str; 4] = ["cart", "shipping", "payment", "review"];

/// Engagement event types; anything else is `Unknown` (counted and reported, not an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    SessionStart,
    PageView,
    ProductView,
    AddToCart,
    RemoveFromCart,
    EmailSent,
    EmailOpen,
    EmailClick,
    SmsSent,
    SmsClick,
    PushOpen,
    Unknown,
}

pub const EVENT_NAMES: [(&str, Event); 11] = [
    ("session_start", Event::SessionStart),
    ("page_view", Event::PageView),
    ("product_view", Event::ProductView),
    ("add_to_cart", Event::AddToCart),
    ("remove_from_cart", Event::RemoveFromCart),
    ("email_sent", Event::EmailSent),
    ("email_open", Event::EmailOpen),
    ("email_click", Event::EmailClick),
    ("sms_sent", Event::SmsSent),
    ("sms_click", Event::SmsClick),
    ("push_open", Event::PushOpen),
];

/// Interns strings (customer ids, cart ids, session ids, pages) as dense `u32` handles, in the
/// order first seen. Each string is stored once (an `IndexSet` is both the table and the list):
/// a map plus a list of copies took twice the memory, measured on a 2 GB carts file (bench/).
#[derive(Debug, Default)]
pub struct Interner {
    /// foldhash with a fixed seed: SipHash was 9% of a segment run (perf, issue 8); the order of
    /// the set is the insertion order, so no output depends on the hasher.
    set: indexmap::IndexSet<Box<str>, foldhash::fast::FixedState>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.set.get_index_of(s) {
            return id as u32;
        }
        self.set.insert_full(s.into()).0 as u32
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.set.get_index_of(s).map(|i| i as u32)
    }
    pub fn name(&self, id: u32) -> &str {
        &self.set[id as usize]
    }
    pub fn len(&self) -> usize {
        self.set.len()
    }
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct CartRow {
    pub customer: u32,
    pub cart: u32,
    pub updated_at: i64,
    pub value: f64,
    pub created_at: Option<i64>,
    pub item_count: Option<u32>,
    pub device: Option<Device>,
    /// 0 cart, 1 shipping, 2 payment, 3 review.
    pub checkout_step: Option<u8>,
    pub discount: bool,
}

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub customer: u32,
    pub ordered_at: i64,
    pub value: f64,
    pub cart: Option<u32>,
    pub discount: bool,
    pub device: Option<Device>,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub customer: u32,
    pub occurred_at: i64,
    pub event: Event,
    /// A 64-bit hash of the session id (sessions are only told apart, never named): no table
    /// of session ids is kept, which was ~230 MB per million shoppers (issue 8).
    pub session: Option<std::num::NonZeroU64>,
    pub device: Option<Device>,
    pub page: Option<u32>,
}

/// Which optional columns each kind of input had (in every one of its files).
#[derive(Debug, Clone, Default)]
pub struct Present {
    pub columns: BTreeMap<Kind, Vec<&'static str>>,
    /// Features the inputs cannot inform although their columns exist (an event log without
    /// email events has no email open rate), with the reason: left out like absent sources.
    pub unknown: Vec<(&'static str, String)>,
}

impl Present {
    pub fn has(&self, kind: Kind, column: &str) -> bool {
        self.columns.get(&kind).is_some_and(|c| c.contains(&column))
    }
    pub fn has_kind(&self, kind: Kind) -> bool {
        self.columns.contains_key(&kind)
    }
}

/// The validated inputs, typed.
#[derive(Debug, Default)]
pub struct Dataset {
    pub customers: Interner,
    pub carts_ids: Interner,
    pub pages: Interner,
    pub carts: Vec<CartRow>,
    pub orders: Vec<OrderRow>,
    pub events: Vec<EventRow>,
    pub present: Present,
}

/// What to do with a row that breaks the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BadRows {
    /// Stop at the first bad row (exit 2).
    Fail,
    /// Drop bad rows, count them, and show the counts in every summary.
    Skip,
}

/// One problem found in one row.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

/// Problems of one reason in one file: how many, and the first few.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub rows: u64,
    pub examples: Vec<Problem>,
}

/// What reading one file found.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    /// carts, orders or engagement; for an export read by a preset, what it is (`events`,
    /// `shopify orders`, `shopify checkouts`).
    pub kind: &'static str,
    /// The preset that read the export, or that derived this table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<&'static str>,
    pub format: read::Format,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub problems: Vec<ReasonCount>,
    /// Notes that are not problems: unknown event types, identical duplicate orders dropped.
    pub notes: Vec<String>,
}

/// What reading every file found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationReport {
    pub files: Vec<FileReport>,
}

impl ValidationReport {
    pub fn rows_rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rows_rejected).sum()
    }
}

const EXAMPLES_PER_REASON: usize = 5;

/// How inputs are read: the CSV options, the column mapping, and what to do with bad rows.
#[derive(Debug, Clone)]
pub struct ReadSettings {
    pub csv: CsvOptions,
    pub bad_rows: BadRows,
    /// For each kind, canonical column name -> the header name in the export.
    pub columns: BTreeMap<Kind, BTreeMap<String, String>>,
}

/// Reads and validates every input file; returns the typed dataset and the report.
/// Fails (exit 2) when a file cannot be read or lacks a required column, and, under
/// [`BadRows::Fail`], at the first bad row.
pub fn load(
    inputs: &[(Kind, Vec<Source>)],
    settings: &ReadSettings,
) -> Result<(Dataset, ValidationReport)> {
    let mut ds = Dataset::default();
    let mut report = ValidationReport::default();
    let mut orders_seen = OrdersSeen::default();
    for (at, (kind, sources)) in inputs.iter().enumerate() {
        let mut present_all: Option<Vec<&'static str>> = None;
        for src in sources {
            let (file_report, present) =
                load_file(&mut ds, &mut orders_seen, *kind, src, settings)?;
            report.files.push(file_report);
            present_all = Some(match present_all {
                None => present,
                Some(prev) => prev.into_iter().filter(|c| present.contains(c)).collect(),
            });
        }
        if let Some(p) = present_all {
            ds.present.columns.insert(*kind, p);
        }
        // The order ids are needed only while orders are read: freed before the (larger)
        // engagement, so that the two never take memory at the same time.
        if !inputs[at + 1..].iter().any(|(k, _)| *k == Kind::Orders) {
            orders_seen = OrdersSeen::default();
        }
    }
    Ok((ds, report))
}

/// Every order id read so far, to tell repeated rows (identical: counted once) from conflicting
/// ones (an error naming both places). Ids and contents are kept as hashes, not text: 48 bytes per
/// order instead of ~300 (the id, the file name and five strings each), which mattered at 16M
/// orders (issue 8). Two different ids share a 128-bit hash, or two different contents a 64-bit
/// one, with odds under 1e-19 at 10^8 orders.
#[derive(Default)]
struct OrdersSeen {
    files: Vec<String>,
    /// id hash -> (index in `files`, line, hash of the contents)
    seen: HashMap<u128, (u32, u64, u64)>,
}

fn hash_of<T: std::hash::Hash + ?Sized>(salt: u8, value: &T) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    // DefaultHasher::new() has fixed keys: the same value hashes the same in every run.
    let mut h = DefaultHasher::new();
    h.write_u8(salt);
    value.hash(&mut h);
    h.finish()
}

struct FileState {
    rows_rejected: u64,
    reasons: BTreeMap<&'static str, ReasonCount>,
    unknown_events: BTreeMap<String, u64>,
    duplicate_orders: u64,
}

fn load_file(
    ds: &mut Dataset,
    orders_seen: &mut OrdersSeen,
    kind: Kind,
    src: &Source,
    settings: &ReadSettings,
) -> Result<(FileReport, Vec<&'static str>)> {
    let specs = kind.columns();
    // Derived tables already use the canonical names; the mapping is for the user's exports.
    let mapping = if src.format == read::Format::Derived {
        None
    } else {
        settings.columns.get(&kind)
    };
    let mut present: Vec<&'static str> = Vec::new();
    let file = src.display();
    let select = |header: &[String]| -> Result<Vec<Option<usize>>> {
        let mut idx = Vec::with_capacity(specs.len());
        for spec in specs {
            let mapped = mapping.and_then(|m| m.get(spec.name));
            let wanted = mapped.map(String::as_str).unwrap_or(spec.name);
            let found = header.iter().position(|h| h == wanted).or_else(|| {
                header
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(wanted))
            });
            match (found, mapped) {
                (None, Some(m)) if spec.required || !m.is_empty() => bail!(
                    "{file}: column '{m}' (mapped to {} in [columns.{}] of the config) is not in the header; the header has: {}",
                    spec.name,
                    kind.name(),
                    header.join(", ")
                ),
                (None, _) if spec.required => {
                    if header.len() == 1 && header[0].contains([',', ';', '\t', '|']) {
                        bail!(
                            "{file}: the header has one column '{}': the file seems to use another delimiter; pass --delimiter (now '{}')",
                            header[0],
                            settings.csv.delimiter as char
                        );
                    }
                    bail!(
                        "{file}: required {} column '{}' is missing; the header has: {}. If the export names it otherwise, map it in cartsona.toml: [columns.{}] {} = \"<header name>\"",
                        kind.name(),
                        spec.name,
                        header.join(", "),
                        kind.name(),
                        spec.name
                    )
                }
                _ => {}
            }
            if found.is_some() && !spec.required {
                present.push(spec.name);
            }
            idx.push(found);
        }
        Ok(idx)
    };
    let mut st = FileState {
        rows_rejected: 0,
        reasons: BTreeMap::new(),
        unknown_events: BTreeMap::new(),
        duplicate_orders: 0,
    };
    let bad_rows = settings.bad_rows;
    // Parquet says how many rows it holds: room for exactly that many, instead of doubling.
    if let Some(n) = read::row_count(src) {
        match kind {
            Kind::Carts => ds.carts.reserve_exact(n),
            Kind::Orders => ds.orders.reserve_exact(n),
            Kind::Engagement => ds.events.reserve_exact(n),
        }
    }
    let rows_read = read::scan(src, settings.csv, select, |row: Row<'_>| {
        match parse_row(ds, orders_seen, kind, specs, &file, &row, &mut st) {
            Ok(()) => Ok(()),
            Err((reason, problem)) => {
                if bad_rows == BadRows::Fail {
                    bail!(
                        "{file}: line {}, column {}: {} (use --on-bad-rows skip to drop such rows and count them, or `cartsona validate` to list them all)",
                        problem.line,
                        problem.column,
                        problem.message
                    );
                }
                st.rows_rejected += 1;
                let entry = st.reasons.entry(reason).or_insert_with(|| ReasonCount {
                    reason: reason.to_string(),
                    rows: 0,
                    examples: Vec::new(),
                });
                entry.rows += 1;
                if entry.examples.len() < EXAMPLES_PER_REASON {
                    entry.examples.push(problem);
                }
                Ok(())
            }
        }
    })?;
    let mut notes = Vec::new();
    for (name, n) in &st.unknown_events {
        notes.push(format!(
            "{n} rows with unknown event_type '{name}' were kept but not used"
        ));
    }
    if st.duplicate_orders > 0 {
        notes.push(format!(
            "{} rows repeat an order_id with identical contents and were counted once",
            st.duplicate_orders
        ));
    }
    let present_for_kind = present_columns(&present);
    Ok((
        FileReport {
            path: file.clone(),
            kind: kind.name(),
            preset: None,
            format: src.format,
            rows_read,
            rows_rejected: st.rows_rejected,
            problems: st.reasons.into_values().collect(),
            notes,
        },
        present_for_kind,
    ))
}

fn present_columns(p: &[&'static str]) -> Vec<&'static str> {
    let mut v = p.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

type RowError = (&'static str, Problem);

fn problem(
    line: u64,
    column: &str,
    value: &str,
    reason: &'static str,
    message: String,
) -> RowError {
    let mut shown: String = value.chars().take(80).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    (
        reason,
        Problem {
            line,
            column: column.to_string(),
            value: shown,
            message,
        },
    )
}

/// At most the first 80 characters of `s`, with an ellipsis when cut: for messages.
pub fn short(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(80) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..i])),
    }
}

/// The most canonical columns of one kind (carts have 10).
const MAX_COLUMNS: usize = 12;

/// A parsed cell value.
#[derive(Clone, Copy)]
enum Val<'a> {
    Empty,
    Text(&'a str),
    Time(i64),
    Num(f64),
    Count(u32),
    Device(Device),
    Step(u8),
    Event(Event, &'a str),
}

fn parse_cell<'a>(spec: &ColSpec, cell: &Cell<'a>, line: u64) -> Result<Val<'a>, RowError> {
    let raw = match cell {
        Cell::BadUtf8 => {
            return Err(problem(
                line,
                spec.name,
                "",
                "not_utf8",
                "the value is not valid UTF-8 text".into(),
            ))
        }
        Cell::Null => None,
        Cell::Text(_) => cell.text(),
    };
    let Some(s) = raw else {
        if spec.required {
            return Err(problem(
                line,
                spec.name,
                "",
                "empty_required",
                format!("{} is empty; it is required", spec.name),
            ));
        }
        return Ok(Val::Empty);
    };
    // Messages quote at most 80 characters of the value (a 10 MB field stays a one-line message);
    // computed only for a message.
    let q = || short(s);
    match spec.ty {
        ColType::Id | ColType::Text => Ok(Val::Text(s)),
        ColType::Timestamp => match timefmt::parse_timestamp(s) {
            None => Err(problem(
                line,
                spec.name,
                s,
                "bad_timestamp",
                format!("'{}' is not a timestamp (use RFC 3339 like 2025-01-31T12:00:00Z, 'YYYY-MM-DD HH:MM:SS' or YYYY-MM-DD)", q()),
            )),
            Some(t) if !timefmt::plausible(t) => Err(problem(
                line,
                spec.name,
                s,
                "implausible_timestamp",
                format!("'{}' is before 1990 or after 2099: a placeholder date? (it would move the as-of time or the windows)", q()),
            )),
            Some(t) => Ok(Val::Time(t)),
        },
        ColType::Amount => match s.parse::<f64>() {
            Ok(v) if !v.is_finite() => Err(problem(line, spec.name, s, "not_finite", format!("'{}' is not a finite number", q()))),
            Ok(v) if v < 0.0 => Err(problem(line, spec.name, s, "negative", format!("'{}' is negative; {} must be >= 0", q(), spec.name))),
            Ok(v) => Ok(Val::Num(v)),
            Err(_) => Err(problem(line, spec.name, s, "not_a_number", format!("'{}' is not a number (write it like 12.50, without currency signs or thousands separators)", q()))),
        },
        ColType::Count => match s.parse::<i64>() {
            Ok(v) if v < 0 => Err(problem(line, spec.name, s, "negative", format!("'{}' is negative; {} must be >= 0", q(), spec.name))),
            Ok(v) if v > u32::MAX as i64 => Err(problem(line, spec.name, s, "out_of_range", format!("'{}' is too large for {}", q(), spec.name))),
            Ok(v) => Ok(Val::Count(v as u32)),
            Err(_) => Err(problem(line, spec.name, s, "not_a_whole_number", format!("'{}' is not a whole number", q()))),
        },
        ColType::Device => Device::parse(s).map(Val::Device).ok_or_else(|| {
            problem(line, spec.name, s, "bad_device", format!("'{}' is not a device; use mobile, desktop, tablet or other", q()))
        }),
        ColType::CheckoutStep => CHECKOUT_STEPS
            .iter()
            .position(|c| c.eq_ignore_ascii_case(s))
            .map(|p| Val::Step(p as u8))
            .ok_or_else(|| {
                problem(line, spec.name, s, "bad_checkout_step", format!("'{}' is not a checkout step; use cart, shipping, payment or review", q()))
            }),
        ColType::EventType => {
            let e = EVENT_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(s))
                .map_or(Event::Unknown, |(_, e)| *e);
            Ok(Val::Event(e, s))
        }
    }
}

fn text<'a>(v: &Val<'a>) -> Option<&'a str> {
    match v {
        Val::Text(s) => Some(s),
        _ => None,
    }
}

fn time(v: &Val<'_>) -> Option<i64> {
    match v {
        Val::Time(t) => Some(*t),
        _ => None,
    }
}

fn num(v: &Val<'_>) -> Option<f64> {
    match v {
        Val::Num(x) => Some(*x),
        _ => None,
    }
}

fn device(v: &Val<'_>) -> Option<Device> {
    match v {
        Val::Device(d) => Some(*d),
        _ => None,
    }
}

fn parse_row(
    ds: &mut Dataset,
    orders_seen: &mut OrdersSeen,
    kind: Kind,
    specs: &[ColSpec],
    file: &str,
    row: &Row<'_>,
    st: &mut FileState,
) -> Result<(), RowError> {
    let line = row.line;
    if let Some((found, expected)) = row.ragged {
        return Err(problem(
            line,
            "(row)",
            "",
            "wrong_field_count",
            format!("the row has {found} fields but the header has {expected} (check the delimiter and quoting)"),
        ));
    }
    // On the stack: no allocation per row.
    let mut vals = [Val::Empty; MAX_COLUMNS];
    for ((spec, cell), val) in specs.iter().zip(row.cells).zip(vals.iter_mut()) {
        *val = parse_cell(spec, cell, line)?;
    }
    match kind {
        Kind::Carts => {
            let customer = ds.customers.intern(text(&vals[0]).unwrap_or_default());
            let cart = ds.carts_ids.intern(text(&vals[1]).unwrap_or_default());
            let updated_at = time(&vals[2]).unwrap_or_default();
            let created_at = time(&vals[4]);
            if let Some(c) = created_at {
                if c > updated_at {
                    return Err(problem(
                        line,
                        "created_at",
                        &timefmt::format_timestamp(c),
                        "created_after_updated",
                        format!(
                            "created_at {} is after updated_at {}",
                            timefmt::format_timestamp(c),
                            timefmt::format_timestamp(updated_at)
                        ),
                    ));
                }
            }
            ds.carts.push(CartRow {
                customer,
                cart,
                updated_at,
                value: num(&vals[3]).unwrap_or_default(),
                created_at,
                item_count: match vals[5] {
                    Val::Count(n) => Some(n),
                    _ => None,
                },
                device: device(&vals[6]),
                checkout_step: match vals[7] {
                    Val::Step(s) => Some(s),
                    _ => None,
                },
                discount: text(&vals[8]).is_some(),
            });
        }
        Kind::Orders => {
            let customer_name = text(&vals[0]).unwrap_or_default();
            let order_id = text(&vals[1]).unwrap_or_default();
            let customer = ds.customers.intern(customer_name);
            let ordered_at = time(&vals[2]).unwrap_or_default();
            let value = num(&vals[3]).unwrap_or_default();
            let cart_text = text(&vals[4]);
            let code = text(&vals[5]);
            let amount = num(&vals[6]);
            let fingerprint = hash_of(
                0,
                &(
                    (customer, ordered_at, value.to_bits()),
                    (cart_text, code, text(&vals[8])),
                    (amount.map(f64::to_bits), device(&vals[7]).map(Device::name)),
                ),
            );
            let id = (u128::from(hash_of(1, order_id)) << 64) | u128::from(hash_of(2, order_id));
            if let Some(&(first_file, first_line, first)) = orders_seen.seen.get(&id) {
                let first_file = &orders_seen.files[first_file as usize];
                if first == fingerprint {
                    st.duplicate_orders += 1;
                    return Ok(());
                }
                return Err(problem(
                    line,
                    "order_id",
                    order_id,
                    "duplicate_order_id",
                    format!("order_id '{order_id}' appears again with different contents (first at {first_file} line {first_line})"),
                ));
            }
            if orders_seen.files.last().is_none_or(|f| f != file) {
                orders_seen.files.push(file.to_string());
            }
            let file_index = (orders_seen.files.len() - 1) as u32;
            orders_seen.seen.insert(id, (file_index, line, fingerprint));
            ds.orders.push(OrderRow {
                customer,
                ordered_at,
                value,
                cart: cart_text.map(|c| ds.carts_ids.intern(c)),
                discount: code.is_some() || amount.is_some_and(|a| a > 0.0),
                device: device(&vals[7]),
            });
        }
        Kind::Engagement => {
            let customer = ds.customers.intern(text(&vals[0]).unwrap_or_default());
            let occurred_at = time(&vals[1]).unwrap_or_default();
            let event = match vals[2] {
                Val::Event(e, name) => {
                    if e == Event::Unknown {
                        *st.unknown_events.entry(name.to_string()).or_default() += 1;
                    }
                    e
                }
                _ => Event::Unknown,
            };
            ds.events.push(EventRow {
                customer,
                occurred_at,
                event,
                session: text(&vals[3])
                    .map(|s| std::num::NonZeroU64::new(hash_of(3, s) | 1).expect("odd")),
                device: device(&vals[4]),
                page: text(&vals[5]).map(|p| ds.pages.intern(p)),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression for the 2 GB carts file that needed 2.8x its size in RAM: the interner kept two
    /// copies of every id. Ids stay dense and in first-seen order (outputs depend on it).
    #[test]
    fn interner_stores_each_string_once_in_first_seen_order() {
        let mut i = Interner::default();
        assert_eq!(i.intern("b"), 0);
        assert_eq!(i.intern("a"), 1);
        assert_eq!(i.intern("b"), 0);
        assert_eq!((i.get("a"), i.get("zz")), (Some(1), None));
        assert_eq!((i.name(0), i.name(1), i.len()), ("b", "a", 2));
    }

    /// parse_row keeps a row's values in a fixed array of MAX_COLUMNS.
    #[test]
    fn every_kind_fits_the_row_array() {
        for kind in [Kind::Carts, Kind::Orders, Kind::Engagement] {
            assert!(kind.columns().len() <= MAX_COLUMNS, "{}", kind.name());
        }
    }

    #[test]
    fn short_cuts_long_values_at_80_characters() {
        assert_eq!(short("abc"), "abc");
        let long = "é".repeat(100);
        assert_eq!(short(&long).chars().count(), 81);
        assert!(short(&long).ends_with('…'));
    }
}
