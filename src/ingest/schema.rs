//! The canonical schema of carts, orders and engagement (docs/data-format.md) and the typed
//! [`Dataset`] that validation fills: column specs, enumerations (devices, checkout steps, event
//! types), interned ids and the typed rows.
//!
//! Only declarations live here; `ingest::load` reads files and checks each row against them, so the
//! presets, the SQL and the features table can name columns without pulling in the reader.
use std::collections::BTreeMap;

use serde::Serialize;

use crate::io::read::CsvOptions;

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
    pub fn parse(s: &str) -> Option<Device> {
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

/// Interns strings (customer ids, cart ids, pages) as dense `u32` handles, in the order first
/// seen. The strings are stored end to end in one buffer, and a hash table holds only their
/// handles: about 28 bytes per id (its bytes, an 8-byte end offset, a 4-byte slot at most 7/8
/// full) where an `IndexSet<Box<str>>` took about 90 (a 24-byte entry, an 8-byte index slot and
/// a separate allocation per string): 1.0 GB less at 100M rows (bench/RESULTS.md, issue 19).
/// foldhash with a fixed seed (SipHash was 9% of a segment run, issue 8); handles are given in
/// insertion order, so no output depends on the hasher.
#[derive(Default)]
pub struct Interner {
    /// Every string's bytes, end to end.
    bytes: String,
    /// `ends[i]`: where string `i` ends in `bytes` (it starts where `i - 1` ends).
    ends: Vec<u64>,
    /// Handles, found by the hash of their string.
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interner({} strings)", self.len())
    }
}

impl Interner {
    fn hash(&self, s: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, s)
    }
    pub fn intern(&mut self, s: &str) -> u32 {
        let h = self.hash(s);
        let Interner {
            bytes,
            ends,
            table,
            hasher,
        } = self;
        let name = |id: u32| -> &str { slice(bytes, ends, id) };
        if let Some(&id) = table.find(h, |&id| name(id) == s) {
            return id;
        }
        let id = u32::try_from(ends.len()).expect("fewer than 2^32 distinct ids");
        bytes.push_str(s);
        ends.push(bytes.len() as u64);
        table.insert_unique(h, id, |&id| {
            std::hash::BuildHasher::hash_one(&*hasher, slice(bytes, ends, id))
        });
        id
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.table
            .find(self.hash(s), |&id| self.name(id) == s)
            .copied()
    }
    pub fn name(&self, id: u32) -> &str {
        slice(&self.bytes, &self.ends, id)
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// String `id` of an interner's buffer.
fn slice<'a>(bytes: &'a str, ends: &[u64], id: u32) -> &'a str {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &bytes[start..ends[i] as usize]
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
    /// `discount_amount` when given (the outcomes readout sums it).
    pub discount_amount: Option<f64>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadRows {
    /// Stop at the first bad row (exit 2).
    Fail,
    /// Drop bad rows, count them, and show the counts in every summary.
    Skip,
}

/// How inputs are read: the CSV options, the column mapping, and what to do with bad rows.
#[derive(Debug, Clone)]
pub struct ReadSettings {
    pub csv: CsvOptions,
    pub bad_rows: BadRows,
    /// For each kind, canonical column name -> the header name in the export.
    pub columns: BTreeMap<Kind, BTreeMap<String, String>>,
    /// The unit of integer timestamps (`[columns] epochs`); `None`: they are refused.
    pub epochs: Option<crate::util::timefmt::EpochUnit>,
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

    /// Through many table growths: every string keeps its handle and its text, the empty string
    /// and multi-byte text included, and the buffer holds each string's bytes exactly once.
    #[test]
    fn interner_keeps_handles_and_text_through_growth() {
        let mut i = Interner::default();
        let text = |n: usize| match n % 3 {
            0 => format!("cus_{n:07}"),
            1 => format!("crt-é{n}"),
            _ => "x".repeat(n % 17),
        };
        let mut want = Vec::new();
        for n in 0..50_000 {
            let s = text(n);
            let id = i.intern(&s);
            if id as usize == want.len() {
                want.push(s);
            } else {
                assert_eq!(want[id as usize], s);
            }
        }
        assert_eq!(i.len(), want.len());
        for (id, s) in want.iter().enumerate() {
            assert_eq!((i.name(id as u32), i.get(s)), (s.as_str(), Some(id as u32)));
        }
        let empty = want.iter().position(String::is_empty).expect("n = 17");
        assert_eq!(i.get(""), Some(empty as u32));
        assert_eq!(i.bytes.len(), want.iter().map(String::len).sum::<usize>());
    }
}
