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
pub enum TableKind {
    Carts,
    Orders,
    Engagement,
}

impl TableKind {
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Carts => "carts",
            TableKind::Orders => "orders",
            TableKind::Engagement => "engagement",
        }
    }
    pub fn columns(self) -> &'static [ColSpec] {
        match self {
            TableKind::Carts => CART_COLUMNS,
            TableKind::Orders => ORDER_COLUMNS,
            TableKind::Engagement => ENGAGEMENT_COLUMNS,
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

/// Columns checked (their presence recorded; in CSV, that each value is UTF-8) whose values no
/// command uses: the channel of a cart snapshot and of an event (an order's channel is part of
/// what tells a repeated order from a conflicting one, `ingest::load`). A Parquet column of these
/// stored as strings is not decoded (issue 33: every value it can hold passes the check).
pub const UNUSED: &[(TableKind, &str)] = &[
    (TableKind::Carts, "channel"),
    (TableKind::Engagement, "channel"),
];

/// The position of the column `name` in `cols`, resolved when compiling: a name that is not in
/// the list stops the build, so the positions below cannot drift from the lists above.
const fn position(cols: &[ColSpec], name: &str) -> usize {
    let mut i = 0;
    while i < cols.len() {
        let (a, b) = (cols[i].name.as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a column of the list")
}

/// Where each carts column sits in a parsed row (the order of [`CART_COLUMNS`]).
pub mod cart_col {
    use super::{position, CART_COLUMNS as C};
    pub const CUSTOMER_ID: usize = position(C, "customer_id");
    pub const CART_ID: usize = position(C, "cart_id");
    pub const UPDATED_AT: usize = position(C, "updated_at");
    pub const CART_VALUE: usize = position(C, "cart_value");
    pub const CREATED_AT: usize = position(C, "created_at");
    pub const ITEM_COUNT: usize = position(C, "item_count");
    pub const DEVICE: usize = position(C, "device");
    pub const CHECKOUT_STEP: usize = position(C, "checkout_step");
    pub const DISCOUNT_CODE: usize = position(C, "discount_code");
}

/// Where each orders column sits in a parsed row (the order of [`ORDER_COLUMNS`]).
pub mod order_col {
    use super::{position, ORDER_COLUMNS as C};
    pub const CUSTOMER_ID: usize = position(C, "customer_id");
    pub const ORDER_ID: usize = position(C, "order_id");
    pub const ORDERED_AT: usize = position(C, "ordered_at");
    pub const ORDER_VALUE: usize = position(C, "order_value");
    pub const CART_ID: usize = position(C, "cart_id");
    pub const DISCOUNT_CODE: usize = position(C, "discount_code");
    pub const DISCOUNT_AMOUNT: usize = position(C, "discount_amount");
    pub const DEVICE: usize = position(C, "device");
    pub const CHANNEL: usize = position(C, "channel");
}

/// Where each engagement column sits in a parsed row (the order of [`ENGAGEMENT_COLUMNS`]).
pub mod event_col {
    use super::{position, ENGAGEMENT_COLUMNS as C};
    pub const CUSTOMER_ID: usize = position(C, "customer_id");
    pub const OCCURRED_AT: usize = position(C, "occurred_at");
    pub const EVENT_TYPE: usize = position(C, "event_type");
    pub const SESSION_ID: usize = position(C, "session_id");
    pub const DEVICE: usize = position(C, "device");
    pub const PAGE: usize = position(C, "page");
}

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

impl Event {
    /// Every event, in declaration order (`Event::ALL[e as usize] == e`).
    pub const ALL: [Event; 12] = [
        Event::SessionStart,
        Event::PageView,
        Event::ProductView,
        Event::AddToCart,
        Event::RemoveFromCart,
        Event::EmailSent,
        Event::EmailOpen,
        Event::EmailClick,
        Event::SmsSent,
        Event::SmsClick,
        Event::PushOpen,
        Event::Unknown,
    ];
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
/// a separate allocation per string): about 1 GB less for the 16M ids of 100M rows by that
/// arithmetic (bench/RESULTS.md's memory budget, issue 19; 1.32 -> 1.21 GB measured at 1M).
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
        self.intern_hashed(s, self.hash(s))
    }
    /// [`Interner::intern`] with the hash [`Interner::lookup`] gave: the rows' checks look ids up
    /// on all threads, and the serial commit then interns the new ones without hashing again.
    pub fn intern_hashed(&mut self, s: &str, h: u64) -> u32 {
        let Interner {
            bytes,
            ends,
            table,
            hasher,
        } = self;
        // One probe finds the id or the place for a new one.
        let entry = table.entry(
            h,
            |&id| slice(bytes, ends, id) == s,
            rehash(hasher, bytes, ends),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(e) => *e.get(),
            hashbrown::hash_table::Entry::Vacant(e) => {
                let id = u32::try_from(ends.len()).expect("fewer than 2^32 distinct ids");
                bytes.push_str(s);
                ends.push(bytes.len() as u64);
                e.insert(id);
                id
            }
        }
    }
    /// Room for `n` more strings without growing (growing rehashes every string, reading each
    /// from memory again: a third of the time of reading a Parquet carts file whose cart ids are
    /// all new).
    pub fn reserve(&mut self, n: usize) {
        let Interner {
            bytes,
            ends,
            table,
            hasher,
        } = self;
        ends.reserve(n);
        table.reserve(n, rehash(hasher, bytes, ends));
    }
    /// `self`'s strings, then `other`'s, none of which `self` holds: string `i` of `other`
    /// becomes `self.len() + i`. An empty `self` takes `other` as it is (the first file of a
    /// kind: nothing to copy).
    pub fn append(mut self, other: Interner) -> Interner {
        if self.is_empty() {
            return other;
        }
        self.reserve(other.len());
        for i in 0..other.len() {
            let n = self.len();
            let id = self.intern(other.name(i as u32));
            debug_assert_eq!(id as usize, n, "an appended string was known already");
        }
        self
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.lookup(s).ok()
    }
    /// The handle of `s`, or, when it has none yet, its hash (for [`Interner::intern_hashed`]).
    pub fn lookup(&self, s: &str) -> Result<u32, u64> {
        let h = self.hash(s);
        self.table
            .find(h, |&id| self.name(id) == s)
            .copied()
            .ok_or(h)
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

/// The hash of a handle's string, for the table to move handles when it grows.
fn rehash<'a>(
    hasher: &'a foldhash::fast::FixedState,
    bytes: &'a str,
    ends: &'a [u64],
) -> impl Fn(&u32) -> u64 + 'a {
    move |&id| std::hash::BuildHasher::hash_one(hasher, slice(bytes, ends, id))
}

/// String `id` of an interner's buffer.
fn slice<'a>(bytes: &'a str, ends: &[u64], id: u32) -> &'a str {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &bytes[start..ends[i] as usize]
}

/// A cart snapshot in 40 bytes (56 before issue 33: `created_at` is read through
/// [`CartRow::created_at`], with a sentinel for "not given" instead of an `Option`, and
/// `item_count`, checked when read but used by no feature, is not kept).
#[derive(Debug, Clone)]
pub struct CartRow {
    pub customer: u32,
    pub cart: u32,
    pub updated_at: i64,
    pub value: f64,
    /// `created_at`, or [`NO_TIME`] when not given.
    created: i64,
    pub device: Option<Device>,
    /// 0 cart, 1 shipping, 2 payment, 3 review.
    pub checkout_step: Option<u8>,
    pub discount: bool,
}

/// "No timestamp" in a row or an accumulator: no instant the inputs accept (years 0-9999) is
/// this far back.
pub const NO_TIME: i64 = i64::MIN;

impl CartRow {
    /// A snapshot of customer 0's cart 0 (the ids are set when the row is committed).
    pub fn new(
        updated_at: i64,
        value: f64,
        created_at: Option<i64>,
        device: Option<Device>,
        checkout_step: Option<u8>,
        discount: bool,
    ) -> CartRow {
        assert!(created_at != Some(NO_TIME), "a checked timestamp");
        CartRow {
            customer: 0,
            cart: 0,
            updated_at,
            value,
            created: created_at.unwrap_or(NO_TIME),
            device,
            checkout_step,
            discount,
        }
    }
    pub fn created_at(&self) -> Option<i64> {
        (self.created != NO_TIME).then_some(self.created)
    }
}

/// An order in 40 bytes (48 before issue 33: the discount amount is an [`Amount`], whose
/// `Option` takes 8 bytes where `Option<f64>` took 16).
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub customer: u32,
    pub ordered_at: i64,
    pub value: f64,
    pub cart: Option<u32>,
    pub discount: bool,
    /// `discount_amount` when given (the outcomes readout sums it).
    pub discount_amount: Option<Amount>,
    pub device: Option<Device>,
}

/// A finite amount in 8 bytes whose `Option` takes 8 too: its bits are kept XOR a NaN's, which no
/// finite number has, so they are never all zero and `None` takes the zero (hand-written: the
/// float crates' wrappers, like `ordered_float::NotNan`, leave `Option` at 16 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amount(std::num::NonZeroU64);

impl Amount {
    /// The NaN whose bits are flipped (the canonical quiet NaN).
    const FLIP: u64 = 0x7ff8_0000_0000_0000;

    /// `x` as an amount; `None` only for that one NaN (checked amounts are finite).
    pub fn new(x: f64) -> Option<Amount> {
        std::num::NonZeroU64::new(x.to_bits() ^ Self::FLIP).map(Amount)
    }
    pub fn get(self) -> f64 {
        f64::from_bits(self.0.get() ^ Self::FLIP)
    }
}

/// An engagement event in 24 bytes (72M of them at 100M rows: the largest structure in memory;
/// it took 32 with its fields unpacked, issue 19): the event, the device and a 56-bit hash of the
/// session id share one word, read through the methods below.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub occurred_at: i64,
    /// Bits 0-55: the session id's hash (0: no session id); 56-59: the event (`Event::ALL`
    /// index); 60-62: the device (0: none, else `Device::ALL` index + 1).
    packed: u64,
    pub customer: u32,
    /// The interned page, or [`EventRow::NO_PAGE`].
    page: u32,
}

const SESSION_BITS: u64 = (1 << 56) - 1;

impl EventRow {
    const NO_PAGE: u32 = u32::MAX;

    /// `session`: a hash of the session id (sessions are only told apart, never named: no table
    /// of session ids is kept, which was ~230 MB per million shoppers, issue 8); its low 56 bits
    /// are kept: two session ids of one customer collide with probability about n² / 2^56 for
    /// n sessions (docs/features.md), never in practice.
    pub fn new(
        customer: u32,
        occurred_at: i64,
        event: Event,
        session: Option<u64>,
        device: Option<Device>,
    ) -> EventRow {
        let session = session.map_or(0, |h| (h & SESSION_BITS) | 1);
        let device = device.map_or(0, |d| {
            1 + Device::ALL.iter().position(|x| *x == d).expect("a device") as u64
        });
        EventRow {
            occurred_at,
            packed: session | (event as u64) << 56 | device << 60,
            customer,
            page: Self::NO_PAGE,
        }
    }
    pub fn event(&self) -> Event {
        Event::ALL[(self.packed >> 56 & 0xF) as usize]
    }
    /// The session id's hash (odd), if the event has a session id.
    pub fn session(&self) -> Option<std::num::NonZeroU64> {
        std::num::NonZeroU64::new(self.packed & SESSION_BITS)
    }
    pub fn device(&self) -> Option<Device> {
        match self.packed >> 60 & 0x7 {
            0 => None,
            d => Some(Device::ALL[d as usize - 1]),
        }
    }
    pub fn page(&self) -> Option<u32> {
        (self.page != Self::NO_PAGE).then_some(self.page)
    }
    pub fn set_page(&mut self, page: Option<u32>) {
        assert!(
            page != Some(Self::NO_PAGE),
            "fewer than 2^32 - 1 distinct pages"
        );
        self.page = page.unwrap_or(Self::NO_PAGE);
    }
}

/// Which optional columns each kind of input had (in every one of its files).
#[derive(Debug, Clone, Default)]
pub struct Present {
    pub columns: BTreeMap<TableKind, Vec<&'static str>>,
    /// Features the inputs cannot inform although their columns exist (an event log without
    /// email events has no email open rate), with the reason: left out like absent sources.
    pub unknown: Vec<(&'static str, String)>,
}

impl Present {
    pub fn has(&self, kind: TableKind, column: &str) -> bool {
        self.columns.get(&kind).is_some_and(|c| c.contains(&column))
    }
    pub fn has_kind(&self, kind: TableKind) -> bool {
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
    pub columns: BTreeMap<TableKind, BTreeMap<String, String>>,
    /// The unit of integer timestamps (`[columns] epochs`); `None`: they are refused.
    pub epochs: Option<crate::util::timefmt::EpochUnit>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An order's discount amount keeps its exact bits, zero included, and its `Option` stays 8
    /// bytes (the 100M-row memory budget counts on it, issue 33).
    #[test]
    fn amount_keeps_every_finite_value_and_its_option_takes_8_bytes() {
        for x in [
            0.0,
            -0.0,
            1e-310,
            0.1,
            12.5,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let a = Amount::new(x).expect("a finite amount");
            assert_eq!(a.get().to_bits(), x.to_bits());
        }
        assert_eq!(
            Amount::new(f64::NAN),
            None,
            "the one NaN that cannot be kept"
        );
        assert_eq!(std::mem::size_of::<Option<Amount>>(), 8);
        let row = CartRow::new(5, 1.0, None, None, None, false);
        assert_eq!(
            (
                row.created_at(),
                CartRow::new(5, 1.0, Some(-7), None, None, false).created_at()
            ),
            (None, Some(-7))
        );
    }

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

    /// Appending numbers the other interner's strings after one's own, in their order, and finds
    /// them all; an empty interner takes the other as it is.
    #[test]
    fn appended_strings_follow_in_order() {
        let mut a = Interner::default();
        a.intern("x");
        a.intern("y");
        let mut b = Interner::default();
        b.intern("z");
        b.intern("w");
        let both = a.append(b);
        assert_eq!(both.len(), 4);
        for (id, s) in ["x", "y", "z", "w"].iter().enumerate() {
            assert_eq!((both.name(id as u32), both.get(s)), (*s, Some(id as u32)));
        }
        let mut c = Interner::default();
        c.intern("q");
        let taken = Interner::default().append(c);
        assert_eq!((taken.len(), taken.get("q")), (1, Some(0)));
    }

    /// Every event, device, session and page comes back as it went in, in 24 bytes.
    #[test]
    fn event_rows_keep_every_field_in_24_bytes() {
        assert_eq!(std::mem::size_of::<EventRow>(), 24);
        let devices = [
            None,
            Some(Device::Desktop),
            Some(Device::Mobile),
            Some(Device::Tablet),
            Some(Device::Other),
        ];
        for (i, &event) in Event::ALL.iter().enumerate() {
            assert_eq!(event as usize, i);
            for device in devices {
                for session in [
                    None,
                    Some(0u64),
                    Some(2),
                    Some(u64::MAX),
                    Some(0x00ff_0000_0000_0000),
                ] {
                    for page in [None, Some(0), Some(7), Some(u32::MAX - 1)] {
                        let mut e = EventRow::new(42, -5, event, session, device);
                        e.set_page(page);
                        assert_eq!((e.customer, e.occurred_at), (42, -5));
                        assert_eq!((e.event(), e.device(), e.page()), (event, device, page));
                        let s = e.session().map(|s| s.get());
                        assert_eq!(s, session.map(|h| (h & SESSION_BITS) | 1));
                    }
                }
            }
        }
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

    /// The named positions `ingest::load` reads a row by are the columns they name, in every list
    /// (resolved by name when compiling; this checks that nothing replaced them by numbers).
    #[test]
    fn named_column_positions_match_the_column_lists() {
        let named: [(&[ColSpec], usize, &str); 24] = [
            (CART_COLUMNS, cart_col::CUSTOMER_ID, "customer_id"),
            (CART_COLUMNS, cart_col::CART_ID, "cart_id"),
            (CART_COLUMNS, cart_col::UPDATED_AT, "updated_at"),
            (CART_COLUMNS, cart_col::CART_VALUE, "cart_value"),
            (CART_COLUMNS, cart_col::CREATED_AT, "created_at"),
            (CART_COLUMNS, cart_col::ITEM_COUNT, "item_count"),
            (CART_COLUMNS, cart_col::DEVICE, "device"),
            (CART_COLUMNS, cart_col::CHECKOUT_STEP, "checkout_step"),
            (CART_COLUMNS, cart_col::DISCOUNT_CODE, "discount_code"),
            (ORDER_COLUMNS, order_col::CUSTOMER_ID, "customer_id"),
            (ORDER_COLUMNS, order_col::ORDER_ID, "order_id"),
            (ORDER_COLUMNS, order_col::ORDERED_AT, "ordered_at"),
            (ORDER_COLUMNS, order_col::ORDER_VALUE, "order_value"),
            (ORDER_COLUMNS, order_col::CART_ID, "cart_id"),
            (ORDER_COLUMNS, order_col::DISCOUNT_CODE, "discount_code"),
            (ORDER_COLUMNS, order_col::DISCOUNT_AMOUNT, "discount_amount"),
            (ORDER_COLUMNS, order_col::DEVICE, "device"),
            (ORDER_COLUMNS, order_col::CHANNEL, "channel"),
            (ENGAGEMENT_COLUMNS, event_col::CUSTOMER_ID, "customer_id"),
            (ENGAGEMENT_COLUMNS, event_col::OCCURRED_AT, "occurred_at"),
            (ENGAGEMENT_COLUMNS, event_col::EVENT_TYPE, "event_type"),
            (ENGAGEMENT_COLUMNS, event_col::SESSION_ID, "session_id"),
            (ENGAGEMENT_COLUMNS, event_col::DEVICE, "device"),
            (ENGAGEMENT_COLUMNS, event_col::PAGE, "page"),
        ];
        for (cols, at, name) in named {
            assert_eq!(cols[at].name, name);
        }
    }
}
