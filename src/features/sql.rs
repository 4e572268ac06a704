//! `cartsona features --emit-sql DIALECT`: the features of docs/features.md as one SQL query, so
//! the aggregation of billions of rows can run in the warehouse (docs/scale.md).
//!
//! A plain function of the settings: it reads no data. The query mirrors `features::compute`
//! step by step (the comments name the step); the tests in tests/sql.rs run it in DuckDB against
//! `cartsona features` on the same tables. Times are compared as whole microseconds since
//! 1970-01-01 UTC, as in the Rust code, and every fractional value is one double division of two
//! integers (or of a sum), so the engines round exactly where cartsona rounds.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::features::catalogue;
use crate::features::compute::{self as features, LeftOut};
use crate::ingest::schema::{Present, TableKind};
use crate::util::timefmt::{self, DAY};

/// The engines whose SQL dialect cartsona writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Duckdb,
    Spark,
    Bigquery,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Duckdb => "DuckDB",
            Dialect::Spark => "Spark SQL",
            Dialect::Bigquery => "BigQuery (GoogleSQL)",
            Dialect::Postgres => "PostgreSQL",
        }
    }

    /// Microseconds since the epoch (UTC) of a timestamp expression.
    fn micros(self, e: &str) -> String {
        match self {
            Dialect::Duckdb => format!("epoch_us({e})"),
            Dialect::Spark => format!("unix_micros({e})"),
            Dialect::Bigquery => format!("UNIX_MICROS({e})"),
            Dialect::Postgres => {
                format!("CAST(ROUND(EXTRACT(EPOCH FROM {e}) * 1000000) AS BIGINT)")
            }
        }
    }

    pub(crate) fn double(self) -> &'static str {
        match self {
            Dialect::Bigquery => "FLOAT64",
            Dialect::Postgres => "DOUBLE PRECISION",
            _ => "DOUBLE",
        }
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            Dialect::Duckdb => "VARCHAR",
            Dialect::Postgres => "TEXT",
            _ => "STRING",
        }
    }

    /// `a / b` as a double division.
    fn div(self, a: &str, b: &str) -> String {
        let d = self.double();
        format!("CAST({a} AS {d}) / CAST({b} AS {d})")
    }

    /// A column name, quoted.
    pub(crate) fn ident(self, name: &str) -> String {
        match self {
            Dialect::Duckdb | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::Spark | Dialect::Bigquery => format!("`{}`", name.replace('`', "\\`")),
        }
    }

    /// A string literal.
    pub(crate) fn string(self, s: &str) -> String {
        match self {
            // Standard strings: only the quote is special.
            Dialect::Duckdb | Dialect::Postgres => format!("'{}'", s.replace('\'', "''")),
            // Backslash escapes are on in Spark SQL and GoogleSQL literals.
            Dialect::Spark | Dialect::Bigquery => {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
    }

    /// Whether `e` matches the case-insensitive regular expression `pattern`.
    fn matches(self, e: &str, pattern: &str) -> String {
        match self {
            Dialect::Duckdb => format!(
                "regexp_matches({e}, {})",
                self.string(&format!("(?i){pattern}"))
            ),
            Dialect::Spark => format!("{e} RLIKE {}", self.string(&format!("(?i){pattern}"))),
            Dialect::Bigquery => format!(
                "REGEXP_CONTAINS({e}, {})",
                self.string(&format!("(?i){pattern}"))
            ),
            Dialect::Postgres => format!("{e} ~* {}", self.string(pattern)),
        }
    }

    /// `e` for comparisons in byte order (customer and cart ids).
    pub(crate) fn bytewise(self, e: &str) -> String {
        match self {
            Dialect::Postgres => format!("{e} COLLATE \"C\""),
            _ => e.to_string(),
        }
    }
}

/// Where the tables are and what they hold.
#[derive(Debug, Clone)]
pub struct SqlSpec {
    pub as_of: i64,
    pub abandon_after: i64,
    pub lookback: i64,
    pub history: i64,
    /// The information-page pattern as the user wrote it (matched case-insensitively).
    pub info_pages: String,
    /// Table names, written into the query as given; `None`: the warehouse has no such table.
    pub tables: BTreeMap<TableKind, String>,
    /// For each kind, canonical column -> the table's column name (when it differs).
    pub columns: BTreeMap<TableKind, BTreeMap<String, String>>,
    /// Optional canonical columns the tables do not have, like (Carts, "checkout_step").
    pub absent: Vec<(TableKind, String)>,
}

impl SqlSpec {
    /// The columns the tables hold, as `Present` (drives which features are left out).
    pub fn present(&self) -> Present {
        let mut columns = BTreeMap::new();
        for &kind in self.tables.keys() {
            let cols: Vec<&'static str> = kind
                .columns()
                .iter()
                .filter(|c| {
                    c.required
                        || !self
                            .absent
                            .iter()
                            .any(|(k, name)| *k == kind && name == c.name)
                })
                .map(|c| c.name)
                .collect();
            columns.insert(kind, cols);
        }
        Present {
            columns,
            unknown: Vec::new(),
        }
    }
}

/// The query, and the features it leaves out. The query is built step by step, as
/// `features::compute` works (each step a method of [`Query`]): the carts' rows and latest
/// snapshots, the orders, abandonment, history, engagement, first-seen times, then one expression
/// per catalogue feature ([`Query::expression`]) in the final SELECT.
pub fn emit(d: Dialect, spec: &SqlSpec) -> (String, Vec<LeftOut>) {
    let q = Query::new(d, spec);
    let mut ctes: Vec<String> = Vec::new();
    q.cart_ctes(&mut ctes);
    q.order_ctes(&mut ctes);
    q.abandonment_ctes(&mut ctes);
    q.history_ctes(&mut ctes);
    q.engagement_ctes(&mut ctes);
    q.first_seen_cte(&mut ctes);
    let mut select: Vec<String> = vec!["ab.customer_id AS customer_id".to_string()];
    for f in catalogue::FEATURES {
        if q.left_out.iter().any(|l| l.feature == f.name) {
            continue;
        }
        let e = q
            .expression(f.name)
            .unwrap_or_else(|| unreachable!("feature {} has no SQL", f.name));
        select.push(format!("{e} AS {}", d.ident(f.name)));
    }
    let mut out = q.header();
    let w = &mut out;
    let _ = writeln!(w, "{}", ctes.join(",\n"));
    let _ = writeln!(w, "SELECT {}", select.join(",\n       "));
    let _ = writeln!(w, "FROM abandoners ab");
    for j in q.joins() {
        let _ = writeln!(w, "{j}");
    }
    let _ = writeln!(w, "ORDER BY {};", d.bytewise("ab.customer_id"));
    (out, q.left_out)
}

/// Whether the query has an expression for `name` (the catalogue's unit test asks).
pub fn has_expression(name: &str) -> bool {
    let spec = SqlSpec {
        as_of: 0,
        abandon_after: 0,
        lookback: 0,
        history: 0,
        info_pages: String::new(),
        tables: BTreeMap::new(),
        columns: BTreeMap::new(),
        absent: Vec::new(),
    };
    Query::new(Dialect::Duckdb, &spec)
        .expression(name)
        .is_some()
}

/// What every step of the query needs: the dialect, the tables and what they hold, the features
/// left out, and the window edges as commented literals.
struct Query<'a> {
    d: Dialect,
    spec: &'a SqlSpec,
    present: Present,
    left_out: Vec<LeftOut>,
    has_orders: bool,
    has_events: bool,
    dbl: &'static str,
    t_lit: String,
    hist_start: String,
    look_start: String,
    abandon_by: String,
    a_lit: String,
    start_30d: String,
    start_90d: String,
}

/// Microseconds in a day, as SQL text.
const DAY_US: &str = "86400000000";

impl<'a> Query<'a> {
    fn new(d: Dialect, spec: &'a SqlSpec) -> Query<'a> {
        let present = spec.present();
        let left_out = features::left_out(&present);
        let t = spec.as_of;
        let lit = |micros: i64, what: &str| -> String { format!("{micros} /* {what} */") };
        let before_t =
            |span: i64| lit(t - span, &format!("T - {}", timefmt::format_duration(span)));
        Query {
            d,
            spec,
            has_orders: present.has_kind(TableKind::Orders),
            has_events: present.has_kind(TableKind::Engagement),
            present,
            left_out,
            dbl: d.double(),
            t_lit: lit(t, &timefmt::format_timestamp(t)),
            hist_start: before_t(spec.history),
            look_start: before_t(spec.lookback),
            abandon_by: before_t(spec.abandon_after),
            a_lit: lit(
                spec.abandon_after,
                &timefmt::format_duration(spec.abandon_after),
            ),
            start_30d: lit(t - 30 * DAY, "T - 30d"),
            start_90d: lit(t - 90 * DAY, "T - 90d"),
        }
    }

    fn has(&self, k: TableKind, c: &str) -> bool {
        self.present.has(k, c)
    }

    /// A canonical column of a table, quoted, under its name in the warehouse.
    fn col(&self, k: TableKind, c: &str) -> String {
        let name = self
            .spec
            .columns
            .get(&k)
            .and_then(|m| m.get(c))
            .map_or(c, String::as_str);
        self.d.ident(name)
    }

    fn us(&self, k: TableKind, c: &str) -> String {
        self.d.micros(&self.col(k, c))
    }

    fn id(&self, k: TableKind, c: &str) -> String {
        format!("TRIM({})", self.col(k, c))
    }

    /// The trimmed text of an optional column (lower-cased with `lower`), NULL when empty or absent.
    fn optional_text(&self, k: TableKind, c: &str, lower: bool) -> String {
        if !self.has(k, c) {
            return format!("CAST(NULL AS {})", self.d.text());
        }
        if lower {
            format!("NULLIF(LOWER(TRIM({})), '')", self.col(k, c))
        } else {
            format!("NULLIF(TRIM({}), '')", self.col(k, c))
        }
    }

    fn days_since(&self, e: &str) -> String {
        self.d.div(&format!("{} - {e}", self.spec.as_of), DAY_US)
    }

    /// The comment lines that open the query.
    fn header(&self) -> String {
        let (d, spec) = (self.d, self.spec);
        let mut w = String::new();
        let _ = writeln!(
            w,
            "-- cartsona {} features (docs/features.md), {} dialect.",
            env!("CARGO_PKG_VERSION"),
            d.name()
        );
        let _ = writeln!(
            w,
            "-- As of {} (T); abandon after {}, lookback {}, history {}; information pages /{}/i.",
            timefmt::format_timestamp(spec.as_of),
            timefmt::format_duration(spec.abandon_after),
            timefmt::format_duration(spec.lookback),
            timefmt::format_duration(spec.history),
            spec.info_pages
        );
        let _ = writeln!(
            w,
            "-- Times are compared as microseconds since 1970-01-01 UTC; timestamp columns must be timestamps."
        );
        for l in &self.left_out {
            let _ = writeln!(w, "-- left out: {} ({})", l.feature, l.reason);
        }
        let _ = writeln!(w, "WITH");
        w
    }

    /// Carts: every snapshot at or before T; step 1: the latest snapshot of each cart (ties: see
    /// docs/scale.md).
    fn cart_ctes(&self, ctes: &mut Vec<String>) {
        let (d, t_lit, dbl) = (self.d, &self.t_lit, self.dbl);
        let carts = &self.spec.tables[&TableKind::Carts];
        let step = if self.has(TableKind::Carts, "checkout_step") {
            format!(
                "CASE LOWER(TRIM({})) WHEN 'cart' THEN 0 WHEN 'shipping' THEN 1 WHEN 'payment' THEN 2 WHEN 'review' THEN 3 END",
                self.col(TableKind::Carts, "checkout_step")
            )
        } else {
            "CAST(NULL AS INTEGER)".to_string()
        };
        let cart_disc = if self.has(TableKind::Carts, "discount_code") {
            format!(
                "CASE WHEN NULLIF(TRIM({}), '') IS NULL THEN 0 ELSE 1 END",
                self.col(TableKind::Carts, "discount_code")
            )
        } else {
            "0".to_string()
        };
        let created = if self.has(TableKind::Carts, "created_at") {
            self.us(TableKind::Carts, "created_at")
        } else {
            "CAST(NULL AS BIGINT)".to_string()
        };
        ctes.push(format!(
            "cart_rows AS (
  SELECT {cid} AS customer_id,
         {kid} AS cart_id,
         {u} AS updated_us,
         {created} AS created_us,
         CAST({v} AS {dbl}) AS cart_value,
         {dev} AS device,
         {step} AS step,
         {cart_disc} AS discounted
  FROM {carts}
  WHERE {u} <= {t_lit}
)",
            cid = self.id(TableKind::Carts, "customer_id"),
            kid = self.id(TableKind::Carts, "cart_id"),
            u = self.us(TableKind::Carts, "updated_at"),
            v = self.col(TableKind::Carts, "cart_value"),
            dev = self.optional_text(TableKind::Carts, "device", true),
        ));
        ctes.push(format!(
            "carts_latest AS (
  SELECT customer_id, cart_id, updated_us, cart_value, device, step, discounted
  FROM (
    SELECT r.*, ROW_NUMBER() OVER (
             PARTITION BY cart_id
             ORDER BY updated_us DESC, cart_value DESC, {c} DESC) AS rn
    FROM cart_rows r
  ) x
  WHERE rn = 1
)",
            c = d.bytewise("customer_id")
        ));
    }

    /// Orders at or before T (identical duplicates once).
    fn order_ctes(&self, ctes: &mut Vec<String>) {
        if !self.has_orders {
            return;
        }
        let (t_lit, dbl) = (&self.t_lit, self.dbl);
        let orders = &self.spec.tables[&TableKind::Orders];
        let mut disc = Vec::new();
        if self.has(TableKind::Orders, "discount_code") {
            disc.push(format!(
                "NULLIF(TRIM({}), '') IS NOT NULL",
                self.col(TableKind::Orders, "discount_code")
            ));
        }
        if self.has(TableKind::Orders, "discount_amount") {
            disc.push(format!(
                "COALESCE({}, 0) > 0",
                self.col(TableKind::Orders, "discount_amount")
            ));
        }
        let disc = if disc.is_empty() {
            "0".to_string()
        } else {
            format!("CASE WHEN {} THEN 1 ELSE 0 END", disc.join(" OR "))
        };
        ctes.push(format!(
            "order_rows AS (
  SELECT DISTINCT {cid} AS customer_id,
         {oid} AS order_id,
         {o} AS ordered_us,
         CAST({v} AS {dbl}) AS order_value,
         {cart} AS cart_id,
         {disc} AS discounted
  FROM {orders}
  WHERE {o} <= {t_lit}
)",
            cid = self.id(TableKind::Orders, "customer_id"),
            oid = self.id(TableKind::Orders, "order_id"),
            o = self.us(TableKind::Orders, "ordered_at"),
            v = self.col(TableKind::Orders, "order_value"),
            cart = self.optional_text(TableKind::Orders, "cart_id", false),
        ));
    }

    /// Step 2: abandoned carts; step 3: those in lookback, per abandoner, and the latest one.
    fn abandonment_ctes(&self, ctes: &mut Vec<String>) {
        let (abandon_by, a_lit, look_start) = (&self.abandon_by, &self.a_lit, &self.look_start);
        let mut conditions = vec![
            "c.cart_value > 0".to_string(),
            format!("c.updated_us <= {abandon_by}"),
        ];
        if self.has_orders {
            conditions.push(format!(
                "NOT EXISTS (SELECT 1 FROM order_rows o WHERE o.customer_id = c.customer_id AND o.ordered_us >= c.updated_us AND o.ordered_us <= c.updated_us + {a_lit})"
            ));
            if self.has(TableKind::Orders, "cart_id") {
                conditions.push(
                    "NOT EXISTS (SELECT 1 FROM order_rows o WHERE o.cart_id = c.cart_id)"
                        .to_string(),
                );
            }
        }
        ctes.push(format!(
            "abandoned AS (
  SELECT c.* FROM carts_latest c
  WHERE {}
)",
            conditions.join("\n    AND ")
        ));
        ctes.push(format!(
            "in_lookback AS (
  SELECT * FROM abandoned WHERE updated_us > {look_start}
)"
        ));
        ctes.push(
            "abandoners AS (
  SELECT customer_id, COUNT(*) AS abandoned_carts, SUM(cart_value) AS abandoned_value_total,
         MAX(updated_us) AS last_abandoned_us, MAX(step) AS max_step
  FROM in_lookback
  GROUP BY customer_id
)"
            .to_string(),
        );
        ctes.push(format!(
            "last_abandoned AS (
  SELECT customer_id, cart_value AS last_abandoned_value
  FROM (
    SELECT customer_id, cart_value, ROW_NUMBER() OVER (
             PARTITION BY customer_id ORDER BY updated_us DESC, {c} DESC) AS rn
    FROM in_lookback
  ) x
  WHERE rn = 1
)",
            c = self.d.bytewise("cart_id")
        ));
    }

    /// Orders in history and the median AOV over every customer with some; devices and discounts
    /// of carts in history.
    fn history_ctes(&self, ctes: &mut Vec<String>) {
        let hist_start = &self.hist_start;
        if self.has_orders {
            ctes.push(format!(
                "order_history AS (
  SELECT customer_id, COUNT(*) AS orders, SUM(order_value) AS revenue,
         MAX(ordered_us) AS last_order_us, SUM(discounted) AS discounted_orders
  FROM order_rows
  WHERE ordered_us > {hist_start}
  GROUP BY customer_id
)"
            ));
            ctes.push(format!(
                "median_aov AS (
  SELECT (MIN(aov) + MAX(aov)) / 2 AS median_aov
  FROM (
    SELECT aov, ROW_NUMBER() OVER (ORDER BY aov) AS rn, COUNT(*) OVER () AS n
    FROM (SELECT {aov} AS aov FROM order_history) a
  ) m
  WHERE 2 * rn BETWEEN n AND n + 2
)",
                aov = self.d.div("revenue", "orders")
            ));
        }
        ctes.push(format!(
            "cart_history AS (
  SELECT customer_id, COUNT(*) AS carts, SUM(discounted) AS discounted_carts,
         {}
  FROM carts_latest
  WHERE updated_us > {hist_start}
  GROUP BY customer_id
)",
            device_cols("cart")
        ));
    }

    /// Engagement: event rows at or before T, counts per customer, and sessions (a distinct
    /// session_id per customer, or a session_start without one; its device is that of its
    /// earliest event with a known device).
    fn engagement_ctes(&self, ctes: &mut Vec<String>) {
        if !self.has_events {
            return;
        }
        let (hist_start, t_lit) = (&self.hist_start, &self.t_lit);
        let events = &self.spec.tables[&TableKind::Engagement];
        ctes.push(format!(
            "event_rows AS (
  SELECT {cid} AS customer_id,
         {x} AS occurred_us,
         LOWER(TRIM({et})) AS event_type,
         {sid} AS session_id,
         {dev} AS device,
         {page} AS page
  FROM {events}
  WHERE {x} <= {t_lit}
)",
            cid = self.id(TableKind::Engagement, "customer_id"),
            x = self.us(TableKind::Engagement, "occurred_at"),
            et = self.col(TableKind::Engagement, "event_type"),
            sid = self.optional_text(TableKind::Engagement, "session_id", false),
            dev = self.optional_text(TableKind::Engagement, "device", true),
            page = self.optional_text(TableKind::Engagement, "page", false),
        ));
        ctes.push(format!(
            "event_counts AS (
  SELECT customer_id,
         {}
  FROM event_rows
  GROUP BY customer_id
)",
            self.event_counts().join(",\n         ")
        ));
        ctes.push(SESSION_DEVICE.to_string());
        ctes.push(SESSIONS.to_string());
        let start_30d = &self.start_30d;
        ctes.push(format!(
            "session_counts AS (
  SELECT customer_id,
         SUM(CASE WHEN last_us > {start_30d} THEN 1 ELSE 0 END) AS sessions_30d,
         SUM(CASE WHEN last_us > {hist_start} THEN 1 ELSE 0 END) AS sessions_history
  FROM sessions
  GROUP BY customer_id
)"
        ));
        ctes.push(format!(
            "session_history AS (
  SELECT customer_id,
         {}
  FROM sessions
  WHERE last_us > {hist_start}
  GROUP BY customer_id
)",
            device_cols("session")
        ));
    }

    /// The per-customer event counts of the `event_counts` step.
    fn event_counts(&self) -> Vec<String> {
        let (hist_start, look_start, start_90d) =
            (&self.hist_start, &self.look_start, &self.start_90d);
        let info = if self.has(TableKind::Engagement, "page") {
            self.d.matches("page", &self.spec.info_pages)
        } else {
            "FALSE".to_string()
        };
        [
            (
                format!(
                    "event_type IN ('page_view', 'product_view') AND occurred_us > {hist_start}"
                ),
                "page_views_history",
            ),
            (
                format!("event_type = 'product_view' AND occurred_us > {look_start}"),
                "product_views",
            ),
            (
                format!("event_type = 'page_view' AND occurred_us > {look_start} AND {info}"),
                "info_page_views",
            ),
            (
                format!("event_type = 'remove_from_cart' AND occurred_us > {look_start}"),
                "cart_removals",
            ),
            (
                format!("event_type = 'email_sent' AND occurred_us > {hist_start}"),
                "email_sent",
            ),
            (
                format!("event_type = 'email_open' AND occurred_us > {hist_start}"),
                "email_open",
            ),
            (
                format!("event_type = 'email_click' AND occurred_us > {start_90d}"),
                "email_clicks_90d",
            ),
            (
                format!("event_type = 'sms_click' AND occurred_us > {start_90d}"),
                "sms_clicks_90d",
            ),
        ]
        .into_iter()
        .map(|(cond, name)| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {name}"))
        .collect()
    }

    /// The customer's earliest timestamp in any input.
    fn first_seen_cte(&self, ctes: &mut Vec<String>) {
        let mut seen =
            vec!["SELECT customer_id, COALESCE(created_us, updated_us) AS seen_us FROM cart_rows"];
        if self.has_orders {
            seen.push("SELECT customer_id, ordered_us AS seen_us FROM order_rows");
        }
        if self.has_events {
            seen.push("SELECT customer_id, occurred_us AS seen_us FROM event_rows");
        }
        ctes.push(format!(
            "first_seen AS (
  SELECT customer_id, MIN(seen_us) AS first_us
  FROM (
    {}
  ) a
  GROUP BY customer_id
)",
            seen.join("\n    UNION ALL\n    ")
        ));
    }

    /// Device counts over carts and sessions in history.
    fn dev(&self, name: &str) -> String {
        if self.has_events {
            format!("(COALESCE(ch.cart_{name}, 0) + COALESCE(sh.session_{name}, 0))")
        } else {
            format!("COALESCE(ch.cart_{name}, 0)")
        }
    }

    fn aov(&self) -> String {
        format!(
            "COALESCE({}, m.median_aov)",
            self.d.div("oh.revenue", "NULLIF(oh.orders, 0)")
        )
    }

    /// The SQL expression of one feature over the joined steps (the twin of its formula in
    /// `features::compute::formula`); `None` for a name that is not in the catalogue.
    fn expression(&self, f: &str) -> Option<String> {
        let (d, dbl) = (self.d, self.dbl);
        Some(match f {
            "last_abandoned_value" => "la.last_abandoned_value".to_string(),
            "abandoned_value_total" => "ab.abandoned_value_total".to_string(),
            "abandoned_carts" => "ab.abandoned_carts".to_string(),
            "orders" => "COALESCE(oh.orders, 0)".to_string(),
            "revenue" => format!("COALESCE(oh.revenue, CAST(0 AS {dbl}))"),
            "has_ordered" => "CASE WHEN oh.orders > 0 THEN 1 ELSE 0 END".to_string(),
            "ordered_since_abandon" => {
                "CASE WHEN oh.last_order_us > ab.last_abandoned_us THEN 1 ELSE 0 END".to_string()
            }
            "aov" => self.aov(),
            "cart_to_aov" => {
                let aov = self.aov();
                format!("CASE WHEN {aov} > 0 THEN la.last_abandoned_value / {aov} END")
            }
            "days_since_abandon" => self.days_since("ab.last_abandoned_us"),
            "days_since_last_order" => format!(
                "CASE WHEN oh.last_order_us IS NULL THEN {} ELSE {} END",
                d.div(&self.spec.history.to_string(), DAY_US),
                self.days_since("oh.last_order_us")
            ),
            "tenure_days" => self.days_since("fs.first_us"),
            "mobile_share" => format!(
                "CASE WHEN {k} > 0 THEN {} END",
                d.div(&self.dev("mobile_like"), &self.dev("known")),
                k = self.dev("known")
            ),
            "primary_device" => format!(
                "CASE WHEN {k} = 0 THEN NULL
       WHEN {de} >= GREATEST({mo}, {ta}, {ot}) THEN 'desktop'
       WHEN {mo} >= GREATEST({ta}, {ot}) THEN 'mobile'
       WHEN {ta} >= {ot} THEN 'tablet'
       ELSE 'other' END",
                k = self.dev("known"),
                de = self.dev("desktop"),
                mo = self.dev("mobile"),
                ta = self.dev("tablet"),
                ot = self.dev("other")
            ),
            "max_checkout_depth" => d.div("ab.max_step", "3"),
            "discount_share" => self.discount_share(),
            "sessions_30d" => "COALESCE(sc.sessions_30d, 0)".to_string(),
            "page_views_per_session" => format!(
                "CASE WHEN sc.sessions_history > 0 THEN {} END",
                d.div("ec.page_views_history", "sc.sessions_history")
            ),
            "product_views" => "COALESCE(ec.product_views, 0)".to_string(),
            "info_page_views" => "COALESCE(ec.info_page_views, 0)".to_string(),
            "cart_removals" => "COALESCE(ec.cart_removals, 0)".to_string(),
            "email_open_rate" => format!(
                "CASE WHEN ec.email_sent > 0 THEN LEAST(CAST(1 AS {dbl}), {}) END",
                d.div("ec.email_open", "ec.email_sent")
            ),
            "email_clicks_90d" => "COALESCE(ec.email_clicks_90d, 0)".to_string(),
            "sms_clicks_90d" => "COALESCE(ec.sms_clicks_90d, 0)".to_string(),
            "lifecycle_stage" => format!(
                "CASE WHEN COALESCE(oh.orders, 0) = 0 THEN 'new'
       WHEN oh.orders >= 3 THEN 'loyal'
       WHEN oh.last_order_us > {} THEN 'active'
       ELSE 'lapsing' END",
                self.start_90d
            ),
            _ => return None,
        })
    }

    fn discount_share(&self) -> String {
        let carts_count = self.has(TableKind::Carts, "discount_code");
        let orders_count = self.has(TableKind::Orders, "discount_code")
            || self.has(TableKind::Orders, "discount_amount");
        let mut num = Vec::new();
        let mut den = Vec::new();
        if orders_count {
            num.push("COALESCE(oh.discounted_orders, 0)");
            den.push("COALESCE(oh.orders, 0)");
        }
        if carts_count {
            num.push("COALESCE(ch.discounted_carts, 0)");
            den.push("COALESCE(ch.carts, 0)");
        }
        let (num, den) = (num.join(" + "), den.join(" + "));
        format!(
            "CASE WHEN {den} > 0 THEN {} END",
            self.d.div(&format!("({num})"), &format!("({den})"))
        )
    }

    /// The joins of the final SELECT onto the abandoners.
    fn joins(&self) -> Vec<&'static str> {
        let mut joins = vec![
            "JOIN last_abandoned la ON la.customer_id = ab.customer_id",
            "LEFT JOIN cart_history ch ON ch.customer_id = ab.customer_id",
            "LEFT JOIN first_seen fs ON fs.customer_id = ab.customer_id",
        ];
        if self.has_orders {
            joins.push("LEFT JOIN order_history oh ON oh.customer_id = ab.customer_id");
            joins.push("CROSS JOIN median_aov m");
        }
        if self.has_events {
            joins.push("LEFT JOIN event_counts ec ON ec.customer_id = ab.customer_id");
            joins.push("LEFT JOIN session_counts sc ON sc.customer_id = ab.customer_id");
            joins.push("LEFT JOIN session_history sh ON sh.customer_id = ab.customer_id");
        }
        joins
    }
}

/// The device counts of carts or sessions (`prefix`) in history.
fn device_cols(prefix: &str) -> String {
    format!(
        "SUM(CASE WHEN device IS NOT NULL THEN 1 ELSE 0 END) AS {prefix}_known,
         SUM(CASE WHEN device IN ('mobile', 'tablet') THEN 1 ELSE 0 END) AS {prefix}_mobile_like,
         SUM(CASE WHEN device = 'desktop' THEN 1 ELSE 0 END) AS {prefix}_desktop,
         SUM(CASE WHEN device = 'mobile' THEN 1 ELSE 0 END) AS {prefix}_mobile,
         SUM(CASE WHEN device = 'tablet' THEN 1 ELSE 0 END) AS {prefix}_tablet,
         SUM(CASE WHEN device = 'other' THEN 1 ELSE 0 END) AS {prefix}_other"
    )
}

/// Each session's device: that of its earliest event with a known device.
const SESSION_DEVICE: &str = "session_device AS (
  SELECT customer_id, session_id, device
  FROM (
    SELECT customer_id, session_id, device, ROW_NUMBER() OVER (
             PARTITION BY customer_id, session_id ORDER BY occurred_us, device) AS rn
    FROM event_rows
    WHERE session_id IS NOT NULL AND device IS NOT NULL
  ) x
  WHERE rn = 1
)";

/// Sessions: one per distinct (customer, session_id), plus each session_start without an id.
const SESSIONS: &str = "sessions AS (
  SELECT s.customer_id, s.last_us, sd.device
  FROM (
    SELECT customer_id, session_id, MAX(occurred_us) AS last_us
    FROM event_rows
    WHERE session_id IS NOT NULL
    GROUP BY customer_id, session_id
  ) s
  LEFT JOIN session_device sd ON sd.customer_id = s.customer_id AND sd.session_id = s.session_id
  UNION ALL
  SELECT customer_id, occurred_us AS last_us, device
  FROM event_rows
  WHERE session_id IS NULL AND event_type = 'session_start'
)";
