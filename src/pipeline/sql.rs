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

use crate::pipeline::features::{self, LeftOut, ALL_FEATURES};
use crate::pipeline::schema::{Kind, Present};
use crate::timefmt::{self, DAY};

/// The engines whose SQL dialect cartsona writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

    fn double(self) -> &'static str {
        match self {
            Dialect::Bigquery => "FLOAT64",
            Dialect::Postgres => "DOUBLE PRECISION",
            _ => "DOUBLE",
        }
    }

    fn text(self) -> &'static str {
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
    fn ident(self, name: &str) -> String {
        match self {
            Dialect::Duckdb | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::Spark | Dialect::Bigquery => format!("`{}`", name.replace('`', "\\`")),
        }
    }

    /// A string literal.
    fn string(self, s: &str) -> String {
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
    fn bytewise(self, e: &str) -> String {
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
    pub tables: BTreeMap<Kind, String>,
    /// For each kind, canonical column -> the table's column name (when it differs).
    pub columns: BTreeMap<Kind, BTreeMap<String, String>>,
    /// Optional canonical columns the tables do not have, like (Carts, "checkout_step").
    pub absent: Vec<(Kind, String)>,
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

/// The query, and the features it leaves out.
pub fn emit(d: Dialect, spec: &SqlSpec) -> (String, Vec<LeftOut>) {
    let present = spec.present();
    let left_out = features::left_out(&present);
    let kept = |f: &str| !left_out.iter().any(|l| l.feature == f);
    let has = |k: Kind, c: &str| present.has(k, c);
    let has_orders = present.has_kind(Kind::Orders);
    let has_events = present.has_kind(Kind::Engagement);

    // A canonical column of a table, quoted, under its name in the warehouse.
    let col = |k: Kind, c: &str| -> String {
        let name = spec
            .columns
            .get(&k)
            .and_then(|m| m.get(c))
            .map_or(c, String::as_str);
        d.ident(name)
    };
    let us = |k: Kind, c: &str| d.micros(&col(k, c));
    let id = |k: Kind, c: &str| format!("TRIM({})", col(k, c));
    let text_or_null = |k: Kind, c: &str| -> String {
        if has(k, c) {
            format!("NULLIF(TRIM({}), '')", col(k, c))
        } else {
            format!("CAST(NULL AS {})", d.text())
        }
    };
    let lower_or_null = |k: Kind, c: &str| -> String {
        if has(k, c) {
            format!("NULLIF(LOWER(TRIM({})), '')", col(k, c))
        } else {
            format!("CAST(NULL AS {})", d.text())
        }
    };
    let dbl = d.double();
    let t = spec.as_of;
    let lit = |micros: i64, what: &str| -> String { format!("{micros} /* {what} */") };
    let t_lit = lit(t, &timefmt::format_timestamp(t));
    let hist_start = lit(
        t - spec.history,
        &format!("T - {}", timefmt::format_duration(spec.history)),
    );
    let look_start = lit(
        t - spec.lookback,
        &format!("T - {}", timefmt::format_duration(spec.lookback)),
    );
    let abandon_by = lit(
        t - spec.abandon_after,
        &format!("T - {}", timefmt::format_duration(spec.abandon_after)),
    );
    let a_lit = lit(
        spec.abandon_after,
        &timefmt::format_duration(spec.abandon_after),
    );
    let start_30d = lit(t - 30 * DAY, "T - 30d");
    let start_90d = lit(t - 90 * DAY, "T - 90d");
    let day = "86400000000";
    let days_since = |e: &str| d.div(&format!("{t} - {e}"), day);

    let mut q = String::new();
    let w = &mut q;
    let _ = writeln!(
        w,
        "-- cartsona {} features (docs/features.md), {} dialect.",
        env!("CARGO_PKG_VERSION"),
        d.name()
    );
    let _ = writeln!(
        w,
        "-- As of {} (T); abandon after {}, lookback {}, history {}; information pages /{}/i.",
        timefmt::format_timestamp(t),
        timefmt::format_duration(spec.abandon_after),
        timefmt::format_duration(spec.lookback),
        timefmt::format_duration(spec.history),
        spec.info_pages
    );
    let _ = writeln!(
        w,
        "-- Times are compared as microseconds since 1970-01-01 UTC; timestamp columns must be timestamps."
    );
    for l in &left_out {
        let _ = writeln!(w, "-- left out: {} ({})", l.feature, l.reason);
    }
    let _ = writeln!(w, "WITH");
    let mut ctes: Vec<String> = Vec::new();

    // Carts: every snapshot at or before T.
    let carts = &spec.tables[&Kind::Carts];
    let step = if has(Kind::Carts, "checkout_step") {
        format!(
            "CASE LOWER(TRIM({})) WHEN 'cart' THEN 0 WHEN 'shipping' THEN 1 WHEN 'payment' THEN 2 WHEN 'review' THEN 3 END",
            col(Kind::Carts, "checkout_step")
        )
    } else {
        "CAST(NULL AS INTEGER)".to_string()
    };
    let cart_disc = if has(Kind::Carts, "discount_code") {
        format!(
            "CASE WHEN NULLIF(TRIM({}), '') IS NULL THEN 0 ELSE 1 END",
            col(Kind::Carts, "discount_code")
        )
    } else {
        "0".to_string()
    };
    let created = if has(Kind::Carts, "created_at") {
        us(Kind::Carts, "created_at")
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
        cid = id(Kind::Carts, "customer_id"),
        kid = id(Kind::Carts, "cart_id"),
        u = us(Kind::Carts, "updated_at"),
        v = col(Kind::Carts, "cart_value"),
        dev = lower_or_null(Kind::Carts, "device"),
    ));
    // Step 1: the latest snapshot of each cart (ties: see docs/scale.md).
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

    // Orders at or before T (identical duplicates once).
    if has_orders {
        let orders = &spec.tables[&Kind::Orders];
        let mut disc = Vec::new();
        if has(Kind::Orders, "discount_code") {
            disc.push(format!(
                "NULLIF(TRIM({}), '') IS NOT NULL",
                col(Kind::Orders, "discount_code")
            ));
        }
        if has(Kind::Orders, "discount_amount") {
            disc.push(format!(
                "COALESCE({}, 0) > 0",
                col(Kind::Orders, "discount_amount")
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
            cid = id(Kind::Orders, "customer_id"),
            oid = id(Kind::Orders, "order_id"),
            o = us(Kind::Orders, "ordered_at"),
            v = col(Kind::Orders, "order_value"),
            cart = text_or_null(Kind::Orders, "cart_id"),
        ));
    }

    // Step 2: abandoned carts; step 3: those in lookback.
    let mut conditions = vec![
        "c.cart_value > 0".to_string(),
        format!("c.updated_us <= {abandon_by}"),
    ];
    if has_orders {
        conditions.push(format!(
            "NOT EXISTS (SELECT 1 FROM order_rows o WHERE o.customer_id = c.customer_id AND o.ordered_us >= c.updated_us AND o.ordered_us <= c.updated_us + {a_lit})"
        ));
        if has(Kind::Orders, "cart_id") {
            conditions.push(
                "NOT EXISTS (SELECT 1 FROM order_rows o WHERE o.cart_id = c.cart_id)".to_string(),
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
        c = d.bytewise("cart_id")
    ));

    // Orders in history, and the median AOV over every customer with some.
    if has_orders {
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
            aov = d.div("revenue", "orders")
        ));
    }

    // Devices and discounts of carts in history.
    let device_cols = |prefix: &str| -> String {
        format!(
            "SUM(CASE WHEN device IS NOT NULL THEN 1 ELSE 0 END) AS {prefix}_known,
         SUM(CASE WHEN device IN ('mobile', 'tablet') THEN 1 ELSE 0 END) AS {prefix}_mobile_like,
         SUM(CASE WHEN device = 'desktop' THEN 1 ELSE 0 END) AS {prefix}_desktop,
         SUM(CASE WHEN device = 'mobile' THEN 1 ELSE 0 END) AS {prefix}_mobile,
         SUM(CASE WHEN device = 'tablet' THEN 1 ELSE 0 END) AS {prefix}_tablet,
         SUM(CASE WHEN device = 'other' THEN 1 ELSE 0 END) AS {prefix}_other"
        )
    };
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

    // Engagement.
    if has_events {
        let events = &spec.tables[&Kind::Engagement];
        let info = if has(Kind::Engagement, "page") {
            d.matches("page", &spec.info_pages)
        } else {
            "FALSE".to_string()
        };
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
            cid = id(Kind::Engagement, "customer_id"),
            x = us(Kind::Engagement, "occurred_at"),
            et = col(Kind::Engagement, "event_type"),
            sid = text_or_null(Kind::Engagement, "session_id"),
            dev = lower_or_null(Kind::Engagement, "device"),
            page = text_or_null(Kind::Engagement, "page"),
        ));
        let count =
            |cond: &str, name: &str| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {name}");
        let counts = [
            count(
                &format!(
                    "event_type IN ('page_view', 'product_view') AND occurred_us > {hist_start}"
                ),
                "page_views_history",
            ),
            count(
                &format!("event_type = 'product_view' AND occurred_us > {look_start}"),
                "product_views",
            ),
            count(
                &format!("event_type = 'page_view' AND occurred_us > {look_start} AND {info}"),
                "info_page_views",
            ),
            count(
                &format!("event_type = 'remove_from_cart' AND occurred_us > {look_start}"),
                "cart_removals",
            ),
            count(
                &format!("event_type = 'email_sent' AND occurred_us > {hist_start}"),
                "email_sent",
            ),
            count(
                &format!("event_type = 'email_open' AND occurred_us > {hist_start}"),
                "email_open",
            ),
            count(
                &format!("event_type = 'email_click' AND occurred_us > {start_90d}"),
                "email_clicks_90d",
            ),
            count(
                &format!("event_type = 'sms_click' AND occurred_us > {start_90d}"),
                "sms_clicks_90d",
            ),
        ];
        ctes.push(format!(
            "event_counts AS (
  SELECT customer_id,
         {}
  FROM event_rows
  GROUP BY customer_id
)",
            counts.join(",\n         ")
        ));
        // Sessions: a distinct session_id per customer, or a session_start without one; its device
        // is that of its earliest event with a known device.
        ctes.push(
            "session_device AS (
  SELECT customer_id, session_id, device
  FROM (
    SELECT customer_id, session_id, device, ROW_NUMBER() OVER (
             PARTITION BY customer_id, session_id ORDER BY occurred_us, device) AS rn
    FROM event_rows
    WHERE session_id IS NOT NULL AND device IS NOT NULL
  ) x
  WHERE rn = 1
)"
            .to_string(),
        );
        ctes.push(
            "sessions AS (
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
)"
            .to_string(),
        );
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

    // The customer's earliest timestamp in any input.
    let mut seen =
        vec!["SELECT customer_id, COALESCE(created_us, updated_us) AS seen_us FROM cart_rows"];
    if has_orders {
        seen.push("SELECT customer_id, ordered_us AS seen_us FROM order_rows");
    }
    if has_events {
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

    // Device counts over carts and sessions in history.
    let dev = |name: &str| -> String {
        if has_events {
            format!("(COALESCE(ch.cart_{name}, 0) + COALESCE(sh.session_{name}, 0))")
        } else {
            format!("COALESCE(ch.cart_{name}, 0)")
        }
    };
    let aov = if has_orders {
        format!(
            "COALESCE({}, m.median_aov)",
            d.div("oh.revenue", "NULLIF(oh.orders, 0)")
        )
    } else {
        String::new()
    };
    let mut select: Vec<String> = vec!["ab.customer_id AS customer_id".to_string()];
    for f in ALL_FEATURES {
        if !kept(f) {
            continue;
        }
        let e = match f {
            "last_abandoned_value" => "la.last_abandoned_value".to_string(),
            "abandoned_value_total" => "ab.abandoned_value_total".to_string(),
            "abandoned_carts" => "ab.abandoned_carts".to_string(),
            "orders" => "COALESCE(oh.orders, 0)".to_string(),
            "revenue" => format!("COALESCE(oh.revenue, CAST(0 AS {dbl}))"),
            "has_ordered" => "CASE WHEN oh.orders > 0 THEN 1 ELSE 0 END".to_string(),
            "aov" => aov.clone(),
            "cart_to_aov" => {
                format!("CASE WHEN {aov} > 0 THEN la.last_abandoned_value / {aov} END")
            }
            "days_since_abandon" => days_since("ab.last_abandoned_us"),
            "days_since_last_order" => format!(
                "CASE WHEN oh.last_order_us IS NULL THEN {} ELSE {} END",
                d.div(&spec.history.to_string(), day),
                days_since("oh.last_order_us")
            ),
            "tenure_days" => days_since("fs.first_us"),
            "mobile_share" => format!(
                "CASE WHEN {k} > 0 THEN {} END",
                d.div(&dev("mobile_like"), &dev("known")),
                k = dev("known")
            ),
            "primary_device" => format!(
                "CASE WHEN {k} = 0 THEN NULL
       WHEN {de} >= GREATEST({mo}, {ta}, {ot}) THEN 'desktop'
       WHEN {mo} >= GREATEST({ta}, {ot}) THEN 'mobile'
       WHEN {ta} >= {ot} THEN 'tablet'
       ELSE 'other' END",
                k = dev("known"),
                de = dev("desktop"),
                mo = dev("mobile"),
                ta = dev("tablet"),
                ot = dev("other")
            ),
            "max_checkout_depth" => d.div("ab.max_step", "3"),
            "discount_share" => {
                let carts_count = has(Kind::Carts, "discount_code");
                let orders_count =
                    has(Kind::Orders, "discount_code") || has(Kind::Orders, "discount_amount");
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
                    d.div(&format!("({num})"), &format!("({den})"))
                )
            }
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
       WHEN oh.last_order_us > {start_90d} THEN 'active'
       ELSE 'lapsing' END"
            ),
            other => unreachable!("feature {other} has no SQL"),
        };
        select.push(format!("{e} AS {}", d.ident(f)));
    }
    let mut joins = vec![
        "JOIN last_abandoned la ON la.customer_id = ab.customer_id".to_string(),
        "LEFT JOIN cart_history ch ON ch.customer_id = ab.customer_id".to_string(),
        "LEFT JOIN first_seen fs ON fs.customer_id = ab.customer_id".to_string(),
    ];
    if has_orders {
        joins.push("LEFT JOIN order_history oh ON oh.customer_id = ab.customer_id".to_string());
        joins.push("CROSS JOIN median_aov m".to_string());
    }
    if has_events {
        joins.push("LEFT JOIN event_counts ec ON ec.customer_id = ab.customer_id".to_string());
        joins.push("LEFT JOIN session_counts sc ON sc.customer_id = ab.customer_id".to_string());
        joins.push("LEFT JOIN session_history sh ON sh.customer_id = ab.customer_id".to_string());
    }
    let _ = writeln!(w, "{}", ctes.join(",\n"));
    let _ = writeln!(w, "SELECT {}", select.join(",\n       "));
    let _ = writeln!(w, "FROM abandoners ab");
    for j in joins {
        let _ = writeln!(w, "{j}");
    }
    let _ = writeln!(w, "ORDER BY {};", d.bytewise("ab.customer_id"));
    (q, left_out)
}
