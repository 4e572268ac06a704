//! Writing a generated shop: each month's carts, orders and engagement streamed into CSV or
//! Parquet files of a staged run directory (through `io::write`), its truth.csv, moves.csv and
//! the manifest generate.json.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::io::write::{ColKind, Field, StagedDir, TableSink};
use crate::synth::experiment::{self, Experiment, NextRec};
use crate::synth::{self, Archetype, Rec, SynthParams};
use crate::util::timefmt;

struct Sinks {
    carts: TableSink,
    orders: TableSink,
    events: TableSink,
    rows: [u64; 3],
}

impl Sinks {
    fn create(dir: &Path, parquet: bool) -> Result<Sinks> {
        use ColKind::*;
        let ext = if parquet { "parquet" } else { "csv" };
        let cart_kinds = [Text, Text, Time, Time, Float, Int, Text, Text, Text, Text];
        let order_kinds = [Text, Text, Time, Float, Text, Text, Float, Text, Text];
        let event_kinds = [Text, Time, Text, Text, Text, Text, Text];
        let cols = |names: &[&'static str], kinds: &[ColKind]| -> Vec<(&'static str, ColKind)> {
            names.iter().copied().zip(kinds.iter().copied()).collect()
        };
        Ok(Sinks {
            carts: TableSink::create(
                &dir.join(format!("carts.{ext}")),
                parquet,
                &cols(&synth::CART_HEADER, &cart_kinds),
            )?,
            orders: TableSink::create(
                &dir.join(format!("orders.{ext}")),
                parquet,
                &cols(&synth::ORDER_HEADER, &order_kinds),
            )?,
            events: TableSink::create(
                &dir.join(format!("engagement.{ext}")),
                parquet,
                &cols(&synth::EVENT_HEADER, &event_kinds),
            )?,
            rows: [0; 3],
        })
    }

    fn put(&mut self, r: Rec) -> Result<()> {
        match r {
            Rec::Cart {
                customer,
                cart,
                created_at,
                updated_at,
                value,
                items,
                device,
                step,
                code,
                channel,
            } => {
                self.rows[0] += 1;
                self.carts.row(&[
                    Field::Text(&customer),
                    Field::Text(&cart),
                    Field::Time(created_at),
                    Field::Time(updated_at),
                    Field::Float(Some(value)),
                    Field::Int(items as i64),
                    Field::Text(device),
                    Field::Text(step),
                    Field::Text(code),
                    Field::Text(channel),
                ])
            }
            Rec::Order {
                customer,
                order,
                at,
                value,
                cart,
                code,
                discount,
                device,
                channel,
            } => {
                self.rows[1] += 1;
                self.orders.row(&[
                    Field::Text(&customer),
                    Field::Text(&order),
                    Field::Time(at),
                    Field::Float(Some(value)),
                    Field::Text(&cart),
                    Field::Text(code),
                    Field::Float((discount > 0.0).then_some(discount)),
                    Field::Text(device),
                    Field::Text(channel),
                ])
            }
            Rec::Event {
                customer,
                at,
                kind,
                session,
                device,
                page,
                channel,
            } => {
                self.rows[2] += 1;
                self.events.row(&[
                    Field::Text(&customer),
                    Field::Time(at),
                    Field::Text(kind),
                    Field::Text(&session),
                    Field::Text(device),
                    Field::Text(&page),
                    Field::Text(channel),
                ])
            }
        }
    }

    fn finish(self) -> Result<[u64; 3]> {
        self.carts.finish()?;
        self.orders.finish()?;
        self.events.finish()?;
        Ok(self.rows)
    }
}

fn truth_csv(archetypes: &[Archetype]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["customer_id", "archetype"])?;
    for (i, a) in archetypes.iter().enumerate() {
        w.write_record([synth::customer_id(i).as_str(), a.name()])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes every month of the shop into `staged` (one folder per month when there are several);
/// `on_month` is told each month as it starts. Returns the manifest.
pub fn write_shop(
    p: &SynthParams,
    staged: &StagedDir,
    parquet: bool,
    format: &str,
    experiment: Option<&Experiment>,
    mut on_month: impl FnMut(usize),
) -> Result<serde_json::Value> {
    let bounds = synth::month_bounds(p.start, p.months)?;
    let plan = synth::plan(p);
    let mut manifest_months = Vec::new();
    for m in 1..=p.months {
        let sub = if p.months == 1 {
            String::new()
        } else {
            format!("month-{m}")
        };
        let dir = staged.subdir(&sub)?;
        on_month(m);
        let mut sinks = Sinks::create(&dir, parquet)?;
        for shopper in 0..p.shoppers {
            let mut put = |r: Rec| sinks.put(r);
            synth::history(p, shopper, plan.archetypes[0][shopper], &mut put)?;
            for mm in 1..=m {
                synth::month(
                    p,
                    shopper,
                    mm,
                    bounds[mm - 1],
                    plan.archetypes[mm - 1][shopper],
                    &mut put,
                )?;
            }
        }
        let rows = sinks.finish()?;
        staged.write(
            &Path::new(&sub).join("truth.csv").to_string_lossy(),
            &truth_csv(&plan.archetypes[m - 1])?,
        )?;
        let mut shares = BTreeMap::new();
        for a in &plan.archetypes[m - 1] {
            *shares.entry(a.name()).or_insert(0usize) += 1;
        }
        manifest_months.push(serde_json::json!({
            "month": m,
            "dir": if sub.is_empty() { ".".to_string() } else { sub.clone() },
            "start": timefmt::format_timestamp(bounds[m - 1].0),
            "as_of": timefmt::format_timestamp(bounds[m - 1].1),
            "archetypes": shares,
            "rows": {"carts": rows[0], "orders": rows[1], "engagement": rows[2]},
        }));
    }
    if p.months > 1 {
        staged.write("moves.csv", &moves_csv(&plan.moves)?)?;
    }
    let next = match experiment {
        None => None,
        Some(e) => {
            let t = bounds[p.months - 1].1;
            Some(write_next(
                p,
                e,
                &plan.archetypes[p.months - 1],
                t,
                staged,
                parquet,
            )?)
        }
    };
    let mut manifest = serde_json::json!({
        "tool": format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        "shoppers": p.shoppers,
        "seed": p.seed,
        "format": format,
        "months": manifest_months,
        "moves": plan.moves.len(),
    });
    if let Some(next) = next {
        manifest["experiment"] = next;
    }
    Ok(manifest)
}

/// The experiment's three files being written.
struct NextSinks {
    orders: TableSink,
    touches: TableSink,
    truth: csv::Writer<Vec<u8>>,
    rows: [u64; 3],
}

impl NextSinks {
    fn create(dir: &Path, parquet: bool) -> Result<NextSinks> {
        use ColKind::*;
        let ext = if parquet { "parquet" } else { "csv" };
        let order_cols: Vec<(&'static str, ColKind)> = synth::ORDER_HEADER
            .iter()
            .copied()
            .zip([Text, Text, Time, Float, Text, Text, Float, Text, Text])
            .collect();
        let touch_cols = [
            ("customer_id", Text),
            ("sent_at", Time),
            ("channel", Text),
            ("flow", Text),
            ("step", Int),
            ("discount_code", Text),
        ];
        let mut truth = csv::Writer::from_writer(Vec::new());
        truth.write_record([
            "customer_id",
            "archetype",
            "arm",
            "base_rate",
            "uplift",
            "recovered",
        ])?;
        Ok(NextSinks {
            orders: TableSink::create(&dir.join(format!("orders.{ext}")), parquet, &order_cols)?,
            touches: TableSink::create(&dir.join(format!("touches.{ext}")), parquet, &touch_cols)?,
            truth,
            rows: [0; 3],
        })
    }

    fn put(&mut self, r: NextRec) -> Result<()> {
        match r {
            NextRec::Order {
                customer,
                id,
                at,
                value,
                code,
                discount,
            } => {
                self.rows[0] += 1;
                self.orders.row(&[
                    Field::Text(&customer),
                    Field::Text(&id),
                    Field::Time(at),
                    Field::Float(Some(value)),
                    Field::Text(""),
                    Field::Text(code),
                    Field::Float(discount),
                    Field::Text(""),
                    Field::Text("web"),
                ])
            }
            NextRec::Touch {
                customer,
                at,
                channel,
                step,
                code,
            } => {
                self.rows[1] += 1;
                self.touches.row(&[
                    Field::Text(&customer),
                    Field::Time(at),
                    Field::Text(channel),
                    Field::Text("cart-recovery"),
                    Field::Int(step as i64),
                    Field::Text(code),
                ])
            }
            NextRec::Truth {
                customer,
                archetype,
                arm,
                base,
                uplift,
                recovered,
            } => {
                self.rows[2] += 1;
                self.truth.write_record([
                    customer.as_str(),
                    archetype.name(),
                    arm.map_or("", |a| a.name()),
                    &base.to_string(),
                    &uplift.to_string(),
                    if recovered { "1" } else { "0" },
                ])?;
                Ok(())
            }
        }
    }
}

/// The experiment after the last month's T: next/orders, next/touches and next/truth.csv.
fn write_next(
    p: &SynthParams,
    e: &Experiment,
    archetypes: &[Archetype],
    t: i64,
    staged: &StagedDir,
    parquet: bool,
) -> Result<serde_json::Value> {
    let mut sinks = NextSinks::create(&staged.subdir("next")?, parquet)?;
    for (shopper, a) in archetypes.iter().enumerate() {
        experiment::shopper(p, e, shopper, *a, t, &mut |r| sinks.put(r))?;
    }
    let rows = sinks.rows;
    sinks.orders.finish()?;
    sinks.touches.finish()?;
    staged.write(
        "next/truth.csv",
        &sinks
            .truth
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    )?;
    let rates: BTreeMap<&str, serde_json::Value> = e
        .rates
        .iter()
        .filter(|(a, _)| **a != Archetype::Buyer)
        .map(|(a, (b, u))| (a.name(), serde_json::json!({"base_rate": b, "uplift": u})))
        .collect();
    Ok(serde_json::json!({
        "dir": "next",
        "t": timefmt::format_timestamp(t),
        "window": "7d",
        "holdout": e.holdout.share,
        "salt": e.holdout.salt,
        "rates": rates,
        "rows": {"orders": rows[0], "touches": rows[1], "truth": rows[2]},
    }))
}

fn moves_csv(moves: &[(usize, usize, Archetype, Archetype)]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["customer_id", "month", "from", "to"])?;
    for (i, m, from, to) in moves {
        w.write_record([
            synth::customer_id(*i),
            m.to_string(),
            from.name().into(),
            to.name().into(),
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}
