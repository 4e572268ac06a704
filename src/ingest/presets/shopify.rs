//! The Shopify preset: the orders export and the abandoned-checkouts export, as the Shopify admin
//! writes them, turned into canonical orders and carts (docs/presets.md).
//!
//! Both exports have one row per line item. Order-level cells (Name or Id, Email, totals,
//! discount, times) are filled on an order's first row; later rows of the same order leave them
//! blank or repeat them. A row with a blank Name (Id) continues the order above it. Shoppers are
//! keyed by email, trimmed and lower-cased; rows without an email cannot be tied to a shopper and
//! are left out (counted in the notes).

use std::collections::HashMap;

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::ingest::load::FileReport;
use crate::ingest::presets::common::{
    amount_text, find_column, parse_amount, row_shape_problem, Derived, FileLog,
};
use crate::ingest::schema::{BadRows, TableKind};
use crate::io::read::{self, CsvOptions, Row, Source, Table};
use crate::util::timefmt;

/// Which total becomes the order and cart value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ShopifyValue {
    /// `Total`: items after discounts, plus shipping and taxes.
    #[default]
    Total,
    /// `Subtotal`: items after discounts, before shipping and taxes.
    Subtotal,
}

/// `[shopify]` of cartsona.toml.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifySpec {
    #[serde(default)]
    pub value: ShopifyValue,
}

/// One column the preset reads: a key, the header names it may have, and whether it must exist.
struct PresetColumn {
    key: &'static str,
    names: &'static [&'static str],
    required: bool,
    /// An order-level field: filled once per order; a different value later is a conflict.
    order_level: bool,
}

const fn want(
    key: &'static str,
    names: &'static [&'static str],
    required: bool,
    order_level: bool,
) -> PresetColumn {
    PresetColumn {
        key,
        names,
        required,
        order_level,
    }
}

fn order_columns(v: ShopifyValue) -> Vec<PresetColumn> {
    vec![
        want("id", &["Name"], true, true),
        want("email", &["Email"], true, true),
        want("created", &["Created at"], true, true),
        value_column(v),
        want("discount_code", &["Discount Code"], false, true),
        want("discount_amount", &["Discount Amount"], false, true),
        want("quantity", &["Lineitem quantity"], false, false),
        want("financial_status", &["Financial Status"], false, true),
        want("cancelled", &["Cancelled at"], false, true),
    ]
}

fn checkout_columns(v: ShopifyValue) -> Vec<PresetColumn> {
    vec![
        want("id", &["Id", "Checkout Id", "Checkout ID"], true, true),
        want("email", &["Email"], true, true),
        want("created", &["Created at"], true, true),
        value_column(v),
        want("discount_code", &["Discount Code"], false, true),
        want("quantity", &["Lineitem quantity"], false, false),
        want("updated", &["Updated at"], false, true),
        want("completed", &["Completed at"], false, true),
        want("shipping_method", &["Shipping Method"], false, true),
    ]
}

fn value_column(v: ShopifyValue) -> PresetColumn {
    match v {
        ShopifyValue::Total => want("value", &["Total"], true, true),
        ShopifyValue::Subtotal => want("value", &["Subtotal"], true, true),
    }
}

/// One order or checkout: its order-level fields (by position in the column list), items, and
/// where it starts.
struct Group {
    file: usize,
    line: u64,
    fields: Vec<Option<String>>,
    items: u64,
}

/// Everything read from the files of one export.
struct Export {
    groups: Vec<Group>,
    present: Vec<bool>,
    reports: Vec<(FileLog, u64, Vec<String>)>,
}

impl Export {
    fn has(&self, cols: &[PresetColumn], key: &str) -> bool {
        cols.iter()
            .position(|c| c.key == key)
            .is_some_and(|i| self.present[i])
    }
    fn field<'a>(&'a self, cols: &[PresetColumn], g: &'a Group, key: &str) -> Option<&'a str> {
        let i = cols.iter().position(|c| c.key == key)?;
        g.fields[i].as_deref()
    }
}

fn read_export(
    files: &[Source],
    cols: &[PresetColumn],
    what: &str,
    bad_rows: BadRows,
    delimiter: u8,
) -> Result<Export> {
    let mut r = ExportReader {
        files,
        cols,
        what,
        groups: Vec::new(),
        index: HashMap::new(),
    };
    let mut present = vec![true; cols.len()];
    let mut reports = Vec::new();
    for (fi, src) in files.iter().enumerate() {
        let mut log = FileLog::new(src, bad_rows);
        let file = src.display();
        let mut current: Option<usize> = None;
        let select = |header: &[String]| export_indices(header, cols, what, &file, &mut present);
        let rows = read::scan(src, CsvOptions { delimiter }, select, |row| {
            r.row(fi, &mut current, &row, &mut log)
        })?;
        reports.push((log, rows, Vec::new()));
    }
    Ok(Export {
        groups: r.groups,
        present,
        reports,
    })
}

/// Where the header holds each wanted column (by any of its names); a missing optional column is
/// marked absent in `present`, a missing required one is an error.
fn export_indices(
    header: &[String],
    cols: &[PresetColumn],
    what: &str,
    file: &str,
    present: &mut [bool],
) -> Result<Vec<Option<usize>>> {
    let mut idx = Vec::new();
    for (ci, c) in cols.iter().enumerate() {
        let found = c.names.iter().find_map(|n| find_column(header, n));
        if found.is_none() {
            if c.required {
                if header.len() == 1 && header[0].contains([',', ';', '\t', '|']) {
                    bail!("{file}: the header has one column '{}': the file seems to use another delimiter; pass --delimiter", header[0]);
                }
                bail!(
                    "{file}: column '{}' of Shopify's {what} export is missing; the header has: {}. Is this the {what} export?",
                    c.names[0],
                    header.join(", ")
                );
            }
            present[ci] = false;
        }
        idx.push(found);
    }
    Ok(idx)
}

/// A row's problem: (reason, column, value, message).
type Rejection = (&'static str, &'static str, String, String);

/// The rows of one export grouped by order (or checkout) name; a row with an empty name continues
/// the group before it.
struct ExportReader<'a> {
    files: &'a [Source],
    cols: &'a [PresetColumn],
    what: &'a str,
    groups: Vec<Group>,
    index: HashMap<String, usize>,
}

/// A cell's text as stored: e-mails lower-cased.
fn stored(c: &PresetColumn, v: &str) -> String {
    if c.key == "email" {
        v.to_lowercase()
    } else {
        v.to_string()
    }
}

impl ExportReader<'_> {
    /// One row of file `fi`: joins its group (or starts one) after checking every cell.
    fn row(
        &mut self,
        fi: usize,
        current: &mut Option<usize>,
        row: &Row<'_>,
        log: &mut FileLog,
    ) -> Result<()> {
        let cols = self.cols;
        if let Some((reason, col, msg)) = row_shape_problem(row, |i| cols[i].names[0].to_string()) {
            return log.reject(reason, row.line, &col, "", msg);
        }
        let key = row.cells[0].text();
        let gi = match (key, *current) {
            (Some(k), _) => {
                let groups = &mut self.groups;
                let gi = *self.index.entry(k.to_string()).or_insert_with(|| {
                    groups.push(Group {
                        file: fi,
                        line: row.line,
                        fields: vec![None; cols.len()],
                        items: 0,
                    });
                    groups.len() - 1
                });
                *current = Some(gi);
                gi
            }
            (None, Some(gi)) => gi,
            (None, None) => {
                let msg = format!(
                    "a line-item row with an empty {} comes before any {} row",
                    cols[0].names[0], self.what
                );
                let reason = "line_item_without_order";
                return log.reject(reason, row.line, cols[0].names[0], "", msg);
            }
        };
        // Check the whole row before taking anything from it.
        let qty = match self.check(fi, gi, row) {
            Ok(qty) => qty,
            Err((reason, col, v, msg)) => return log.reject(reason, row.line, col, &v, msg),
        };
        let g = &mut self.groups[gi];
        if g.fields[0].is_none() {
            g.fields[0] = key.map(str::to_string);
        }
        for (ci, c) in cols.iter().enumerate().skip(1) {
            if c.order_level && g.fields[ci].is_none() {
                g.fields[ci] = row.cells[ci].text().map(|v| stored(c, v));
            }
        }
        g.items += qty.unwrap_or(0);
        Ok(())
    }

    /// Checks every cell of a row of group `gi`: timestamps, amounts, the quantity, and
    /// order-level fields that contradict the group's first row. Returns the quantity.
    fn check(&self, fi: usize, gi: usize, row: &Row<'_>) -> Result<Option<u64>, Rejection> {
        let short = crate::util::text::short;
        let mut qty = None;
        for (ci, c) in self.cols.iter().enumerate().skip(1) {
            let Some(v) = row.cells[ci].text() else {
                continue;
            };
            let v = stored(c, v);
            let col = c.names[0];
            match c.key {
                "created" | "updated" | "completed" | "cancelled"
                    if !timefmt::parse_timestamp(&v).is_some_and(timefmt::plausible) =>
                {
                    let msg = format!("'{}' is not a timestamp from 1990 to 2099 (Shopify writes them like 2025-10-07 09:50:26 +0200)", short(&v));
                    return Err(("bad_timestamp", col, v, msg));
                }
                "value" | "discount_amount" => {
                    if let Err((reason, msg)) = parse_amount(&v) {
                        return Err((reason, col, v, msg));
                    }
                }
                "quantity" => match v.parse::<u64>() {
                    Ok(q) => qty = Some(q),
                    Err(_) => {
                        let msg = format!("'{}' is not a whole number of items", short(&v));
                        return Err(("not_a_whole_number", col, v, msg));
                    }
                },
                _ => {}
            }
            let g = &self.groups[gi];
            if let (true, Some(first)) = (c.order_level, &g.fields[ci]) {
                if *first != v {
                    let at = if g.file == fi {
                        format!("line {}", g.line)
                    } else {
                        format!("{} line {}", self.files[g.file].display(), g.line)
                    };
                    let msg = format!(
                        "{} {} has {col} '{}' ({at}) but '{}' here",
                        self.what,
                        g.fields[0].as_deref().unwrap_or_default(),
                        short(first),
                        short(&v)
                    );
                    return Err(("conflicting_order_fields", col, v, msg));
                }
            }
        }
        Ok(qty)
    }
}

/// Checks that an order or checkout has the order-level fields it needs; reports it otherwise.
fn complete(
    export: &mut Export,
    cols: &[PresetColumn],
    gi: usize,
    what: &str,
) -> Result<Option<(String, i64, f64)>> {
    let g = &export.groups[gi];
    let id = g.fields[0].clone().unwrap_or_default();
    let mut missing = None;
    for key in ["created", "value"] {
        if export.field(cols, g, key).is_none() {
            missing = Some(key);
        }
    }
    let (file, line) = (g.file, g.line);
    if let Some(key) = missing {
        let col = cols.iter().find(|c| c.key == key).expect("known").names[0];
        export.reports[file].0.reject(
            "empty_required",
            line,
            col,
            "",
            format!("{what} {id} has no {col} on any of its rows"),
        )?;
        return Ok(None);
    }
    let g = &export.groups[gi];
    let created = timefmt::parse_timestamp(export.field(cols, g, "created").expect("checked"))
        .expect("checked when read");
    let value: f64 = export
        .field(cols, g, "value")
        .expect("checked")
        .parse()
        .expect("checked when read");
    Ok(Some((id, created, value)))
}

pub fn derive(
    spec: &ShopifySpec,
    orders: &[Source],
    checkouts: &[Source],
    bad_rows: BadRows,
    delimiter: u8,
) -> Result<Derived> {
    let mut reports: Vec<FileReport> = Vec::new();
    let otable = order_table(spec, orders, bad_rows, delimiter, &mut reports)?;
    let ctable = cart_table(spec, checkouts, bad_rows, delimiter, &mut reports)?;
    let mut tables = vec![(TableKind::Carts, ctable)];
    if !orders.is_empty() {
        tables.push((TableKind::Orders, otable));
    }
    Ok(Derived {
        tables,
        reports,
        unknown: Vec::new(),
    })
}

/// The orders export as the canonical orders table; orders without an e-mail are left out and
/// counted, cancelled ones counted (they still count as orders).
fn order_table(
    spec: &ShopifySpec,
    orders: &[Source],
    bad_rows: BadRows,
    delimiter: u8,
    reports: &mut Vec<FileReport>,
) -> Result<Table> {
    let ocols = order_columns(spec.value);
    let mut ox = read_export(orders, &ocols, "order", bad_rows, delimiter)?;
    let mut order_cols = vec!["customer_id", "order_id", "ordered_at", "order_value"];
    let optional: Vec<&str> = ["discount_code", "discount_amount"]
        .into_iter()
        .filter(|c| ox.has(&ocols, c))
        .collect();
    order_cols.extend(&optional);
    let mut otable = Table::new(order_cols);
    let (mut no_email, mut cancelled) = (vec![0u64; orders.len()], vec![0u64; orders.len()]);
    for gi in 0..ox.groups.len() {
        let Some((id, created, value)) = complete(&mut ox, &ocols, gi, "order")? else {
            continue;
        };
        let g = &ox.groups[gi];
        let Some(email) = ox.field(&ocols, g, "email") else {
            no_email[g.file] += 1;
            continue;
        };
        let status = ox.field(&ocols, g, "financial_status").unwrap_or_default();
        if ox.field(&ocols, g, "cancelled").is_some()
            || status.eq_ignore_ascii_case("voided")
            || status.eq_ignore_ascii_case("refunded")
        {
            cancelled[g.file] += 1;
        }
        let mut row = vec![
            email.to_string(),
            id,
            timefmt::format_timestamp(created),
            amount_text(value),
        ];
        for c in &optional {
            row.push(ox.field(&ocols, g, c).unwrap_or_default().to_string());
        }
        otable.push(row);
    }
    for (fi, (log, rows, mut notes)) in ox.reports.into_iter().enumerate() {
        if no_email[fi] > 0 {
            notes.push(format!(
                "{} orders without an Email were left out (shoppers are keyed by email)",
                no_email[fi]
            ));
        }
        if cancelled[fi] > 0 {
            notes.push(format!(
                "{} orders are cancelled, voided or refunded; they still count as orders (the shopper did check out)",
                cancelled[fi]
            ));
        }
        reports.push(log.report(&orders[fi], "shopify orders", "shopify", rows, notes));
    }
    Ok(otable)
}

/// The abandoned-checkouts export as the canonical carts table; checkouts without an e-mail and
/// completed ones (they became orders) are left out and counted.
fn cart_table(
    spec: &ShopifySpec,
    checkouts: &[Source],
    bad_rows: BadRows,
    delimiter: u8,
    reports: &mut Vec<FileReport>,
) -> Result<Table> {
    let ccols = checkout_columns(spec.value);
    let mut cx = read_export(checkouts, &ccols, "checkout", bad_rows, delimiter)?;
    let mut cart_cols = vec![
        "customer_id",
        "cart_id",
        "updated_at",
        "cart_value",
        "created_at",
    ];
    let with_items = cx.has(&ccols, "quantity");
    let with_step = cx.has(&ccols, "shipping_method");
    let with_code = cx.has(&ccols, "discount_code");
    for (with, col) in [
        (with_items, "item_count"),
        (with_step, "checkout_step"),
        (with_code, "discount_code"),
    ] {
        if with {
            cart_cols.push(col);
        }
    }
    let mut ctable = Table::new(cart_cols);
    let (mut no_email, mut completed) = (vec![0u64; checkouts.len()], vec![0u64; checkouts.len()]);
    for gi in 0..cx.groups.len() {
        let Some((id, created, value)) = complete(&mut cx, &ccols, gi, "checkout")? else {
            continue;
        };
        let g = &cx.groups[gi];
        let Some(email) = cx.field(&ccols, g, "email") else {
            no_email[g.file] += 1;
            continue;
        };
        if cx.field(&ccols, g, "completed").is_some() {
            completed[g.file] += 1;
            continue;
        }
        let updated = cx
            .field(&ccols, g, "updated")
            .and_then(timefmt::parse_timestamp)
            .map_or(created, |u| u.max(created));
        let mut row = vec![
            email.to_string(),
            id,
            timefmt::format_timestamp(updated),
            amount_text(value),
            timefmt::format_timestamp(created),
        ];
        if with_items {
            row.push(g.items.to_string());
        }
        if with_step {
            let step = if cx.field(&ccols, g, "shipping_method").is_some() {
                "payment"
            } else {
                "shipping"
            };
            row.push(step.to_string());
        }
        if with_code {
            let code = cx.field(&ccols, g, "discount_code").unwrap_or_default();
            row.push(code.to_string());
        }
        ctable.push(row);
    }
    for (fi, (log, rows, mut notes)) in cx.reports.into_iter().enumerate() {
        if no_email[fi] > 0 {
            notes.push(format!(
                "{} checkouts without an Email were left out (shoppers are keyed by email)",
                no_email[fi]
            ));
        }
        if completed[fi] > 0 {
            notes.push(format!(
                "{} checkouts have Completed at set: they became orders and are not carts",
                completed[fi]
            ));
        }
        reports.push(log.report(&checkouts[fi], "shopify checkouts", "shopify", rows, notes));
    }
    Ok(ctable)
}
