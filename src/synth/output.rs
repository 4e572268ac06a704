//! Writing a generated shop: each month's carts, orders and engagement streamed into CSV or
//! Parquet files of a staged run directory (through `io::write`), its truth.csv, moves.csv and
//! the manifest generate.json.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::io::write::{ColKind, Field, StagedDir, TableSink};
use crate::synth::carryover::{self, Listing};
use crate::synth::experiment::{self, Base, Experiment, NextRec};
use crate::synth::returns::{self, EarlierPlay};
use crate::synth::{self, Archetype, Rec, SynthParams};
use crate::util::timefmt::{self, DAY};

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

/// What `generate` plants besides the months: returns after abandoned carts (with a play that
/// ran from `play_since` when set) and an experiment after T (after every month's T with
/// `carryover`, synth::carryover).
#[derive(Clone, Copy, Default)]
pub struct Plants<'a> {
    pub returns: bool,
    pub play_since: Option<i64>,
    pub experiment: Option<&'a Experiment>,
    pub carryover: bool,
}

/// The carryover loop's listings (synth::carryover): carryover.csv's rows, and each shopper's
/// last listing for next/.
struct Listings {
    csv: csv::Writer<Vec<u8>>,
    last: Vec<Option<Listing>>,
}

impl Listings {
    fn new() -> Result<Listings> {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(carryover::HEADER)?;
        Ok(Listings {
            csv,
            last: Vec::new(),
        })
    }

    /// A shopper's listings (shoppers in order).
    fn add(&mut self, shopper: usize, listings: Vec<Listing>) -> Result<()> {
        for l in &listings {
            self.csv.write_record(carryover::row(shopper, l))?;
        }
        self.last.push(listings.into_iter().last());
        Ok(())
    }

    /// carryover.csv's bytes.
    fn csv(&mut self) -> Result<Vec<u8>> {
        self.csv.flush()?;
        Ok(self.csv.get_ref().clone())
    }
}

/// Writes every month of the shop into `staged` (one folder per month when there are several);
/// `on_month` is told each month as it starts. Returns the manifest.
pub fn write_shop(
    p: &SynthParams,
    staged: &StagedDir,
    parquet: bool,
    format: &str,
    plants: Plants,
    mut on_month: impl FnMut(usize),
) -> Result<serde_json::Value> {
    let bounds = synth::month_bounds(p.start, p.months + 1)?;
    let plan = synth::plan(p);
    let t = bounds[p.months - 1].1;
    let mut manifest_months = Vec::new();
    let mut bases = Vec::new();
    let loop_experiment = plants.experiment.filter(|_| plants.carryover);
    let varies = plants.experiment.is_some_and(|e| e.varies != 0.0);
    // Each shopper's last abandoned cart's value at T (`--uplift-varies` scales effects by it).
    let mut last_values = Vec::new();
    let mut listings = Listings::new()?;
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
            let mut recs = Vec::new();
            let mut put = |r: Rec| {
                recs.push(r);
                Ok(())
            };
            synth::history(p, shopper, plan.archetypes[0][shopper], &mut put)?;
            if let Some(e) = loop_experiment {
                let archetype = |mm: usize| plan.archetypes[mm - 1][shopper];
                let path = carryover::path(p, e, shopper, archetype, &bounds, m)?;
                recs.extend(path.recs);
                if m == p.months {
                    listings.add(shopper, path.listings)?;
                }
            } else {
                for mm in 1..=m {
                    let a = plan.archetypes[mm - 1][shopper];
                    synth::month(p, shopper, mm, bounds[mm - 1], a, &mut put)?;
                }
            }
            if plants.returns {
                let (back, base) = plant_returns(p, &plan, shopper, &recs, &bounds, plants)?;
                let end = bounds[m - 1].1;
                recs.extend(back.into_iter().filter(|r| order_time(r) < end));
                if m == p.months {
                    bases.push(base);
                }
            }
            if varies && m == p.months {
                last_values.push(last_abandoned_value(&recs));
            }
            for r in recs {
                sinks.put(r)?;
            }
        }
        let rows = sinks.finish()?;
        staged.write(
            &Path::new(&sub).join("truth.csv").to_string_lossy(),
            &truth_csv(&plan.archetypes[m - 1])?,
        )?;
        manifest_months.push(month_manifest(m, &sub, &bounds, &plan, rows));
    }
    if p.months > 1 {
        staged.write("moves.csv", &moves_csv(&plan.moves)?)?;
    }
    if loop_experiment.is_some() {
        staged.write("carryover.csv", &listings.csv()?)?;
    }
    let next = if plants.experiment.is_some() || plants.returns {
        let last = Last {
            archetypes: &plan.archetypes[p.months - 1],
            bases: plants.returns.then_some(bases.as_slice()),
            listings: loop_experiment.map(|_| listings.last.as_slice()),
            values: varies.then_some(last_values.as_slice()),
        };
        Some(write_next(p, plants, last, t, staged, parquet)?)
    } else {
        None
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
        let key = if plants.experiment.is_some() {
            "experiment"
        } else {
            "next"
        };
        manifest[key] = next;
    }
    Ok(manifest)
}

fn order_time(r: &Rec) -> i64 {
    match r {
        Rec::Order { at, .. } => *at,
        _ => unreachable!("returns are orders"),
    }
}

/// The shopper's planted returns (every time) and their planted base after T.
fn plant_returns(
    p: &SynthParams,
    plan: &synth::ShopPlan,
    shopper: usize,
    recs: &[Rec],
    bounds: &[(i64, i64)],
    plants: Plants,
) -> Result<(Vec<Rec>, Base)> {
    let uplift = |a: Archetype| plants.experiment.map_or(0.0, |e| e.rates[&a].1);
    let play = match (plants.play_since, plants.experiment) {
        (Some(since), Some(e)) => Some(EarlierPlay {
            holdout: &e.holdout,
            since,
            uplift: &uplift,
        }),
        _ => None,
    };
    let month = |m: usize| plan.archetypes[m.clamp(1, p.months) - 1][shopper];
    let planting = returns::plant(p, shopper, recs, bounds, month, play.as_ref());
    let t = bounds[p.months - 1].1;
    let (next_begin, next_end) = bounds[p.months];
    let month_len = (next_end - next_begin) as f64;
    let a = plan.archetypes[p.months - 1][shopper];
    let regular = synth::orders_per_month(a) * experiment::WINDOW as f64 / month_len;
    let carts = synth::abandoned_per_month(a) * DAY as f64 / month_len;
    let orders_year = planting.orders_year(t);
    let others = regular + returns::new_cart_returns(a, orders_year, carts, experiment::WINDOW);
    let base = Base {
        returns: planting
            .returns
            .iter()
            .filter_map(|r| match r {
                Rec::Order { at, value, .. } if *at > t => Some((*at, *value)),
                _ => None,
            })
            .collect(),
        regular,
        carts_per_day: carts,
        orders_year,
        probability: returns::truth(&planting.carts, t, experiment::WINDOW, others),
    };
    Ok((planting.returns, base))
}

fn month_manifest(
    m: usize,
    sub: &str,
    bounds: &[(i64, i64)],
    plan: &synth::ShopPlan,
    rows: [u64; 3],
) -> serde_json::Value {
    let mut shares = BTreeMap::new();
    for a in &plan.archetypes[m - 1] {
        *shares.entry(a.name()).or_insert(0usize) += 1;
    }
    serde_json::json!({
        "month": m,
        "dir": if sub.is_empty() { ".".to_string() } else { sub.to_string() },
        "start": timefmt::format_timestamp(bounds[m - 1].0),
        "as_of": timefmt::format_timestamp(bounds[m - 1].1),
        "archetypes": shares,
        "rows": {"carts": rows[0], "orders": rows[1], "engagement": rows[2]},
    })
}

/// The experiment's three files being written.
struct NextSinks {
    orders: TableSink,
    touches: Option<TableSink>,
    truth: csv::Writer<Vec<u8>>,
    rows: [u64; 3],
}

impl NextSinks {
    /// `variants`: truth.csv gains `variant` and `reminder_uplift`.
    fn create(dir: &Path, parquet: bool, touches: bool, variants: bool) -> Result<NextSinks> {
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
        let mut header = vec![
            "customer_id",
            "archetype",
            "arm",
            "base_rate",
            "uplift",
            "recovered",
        ];
        if variants {
            header.extend(["variant", "reminder_uplift"]);
        }
        truth.write_record(&header)?;
        Ok(NextSinks {
            orders: TableSink::create(&dir.join(format!("orders.{ext}")), parquet, &order_cols)?,
            touches: match touches {
                true => Some(TableSink::create(
                    &dir.join(format!("touches.{ext}")),
                    parquet,
                    &touch_cols,
                )?),
                false => None,
            },
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
                let touches = self
                    .touches
                    .as_mut()
                    .expect("touches only with an experiment");
                touches.row(&[
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
                variant,
                reminder,
            } => {
                self.rows[2] += 1;
                let (base, uplift) = (base.to_string(), uplift.to_string());
                let mut record = vec![
                    customer.as_str(),
                    archetype.name(),
                    arm.map_or("", |a| a.name()),
                    &base,
                    &uplift,
                    if recovered { "1" } else { "0" },
                ];
                let reminder = reminder.map(|r| r.to_string());
                if let Some(r) = &reminder {
                    record.extend([variant.as_deref().unwrap_or_default(), r]);
                }
                self.truth.write_record(&record)?;
                Ok(())
            }
        }
    }
}

/// Each shopper's last month: archetype, planted base (with returns) and listing (carryover).
struct Last<'a> {
    archetypes: &'a [Archetype],
    bases: Option<&'a [Base]>,
    listings: Option<&'a [Option<Listing>]>,
    /// Each shopper's last abandoned cart's value (NaN: none), with `--uplift-varies`.
    values: Option<&'a [f64]>,
}

/// The value of the abandoned cart (a cart without an order) last updated in `recs`, as
/// `last_abandoned_value` reads it (NaN: none).
fn last_abandoned_value(recs: &[Rec]) -> f64 {
    let ordered: std::collections::HashSet<&str> = recs
        .iter()
        .filter_map(|r| match r {
            Rec::Order { cart, .. } if !cart.is_empty() => Some(cart.as_str()),
            _ => None,
        })
        .collect();
    let mut last = (i64::MIN, f64::NAN);
    for r in recs {
        if let Rec::Cart {
            cart,
            updated_at,
            value,
            ..
        } = r
        {
            if !ordered.contains(cart.as_str()) && *updated_at >= last.0 {
                last = (*updated_at, *value);
            }
        }
    }
    last.1
}

/// After the last month's T: next/orders, next/touches (with an experiment) and next/truth.csv.
fn write_next(
    p: &SynthParams,
    plants: Plants,
    last: Last,
    t: i64,
    staged: &StagedDir,
    parquet: bool,
) -> Result<serde_json::Value> {
    let (e, bases) = (plants.experiment, last.bases);
    let variants = e.is_some_and(|e| e.variants.is_some());
    let mut sinks = NextSinks::create(&staged.subdir("next")?, parquet, e.is_some(), variants)?;
    for (shopper, a) in last.archetypes.iter().enumerate() {
        let mut put = |r| sinks.put(r);
        match (bases, e, last.listings) {
            (Some(b), ..) => {
                experiment::shopper_with_returns(p, e, shopper, *a, t, &b[shopper], &mut put)?
            }
            (None, Some(e), Some(l)) => {
                carryover::next(p, e, shopper, *a, l[shopper].as_ref(), t, &mut put)?
            }
            (None, Some(e), None) => {
                let value = last.values.map_or(f64::NAN, |v| v[shopper]);
                let scale = e.scale(*a, value);
                experiment::shopper(p, e, shopper, *a, t, scale, &mut put)?
            }
            (None, None, _) => unreachable!("next/ is written for returns or an experiment"),
        }
    }
    let rows = sinks.rows;
    sinks.orders.finish()?;
    if let Some(touches) = sinks.touches {
        touches.finish()?;
    }
    staged.write(
        "next/truth.csv",
        &sinks
            .truth
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    )?;
    let mut out = serde_json::json!({
        "dir": "next",
        "t": timefmt::format_timestamp(t),
        "window": "7d",
        "rows": {"orders": rows[0], "touches": rows[1], "truth": rows[2]},
    });
    if bases.is_some() {
        out["base"] = serde_json::json!({
            "returns": "planted (docs/generator.md, Planted returns)",
            "min_delay": timefmt::format_duration(returns::MIN_DELAY),
            "mean_delay_after_min": timefmt::format_duration(returns::MEAN_DELAY),
            "play_since": plants.play_since.map(timefmt::format_timestamp),
        });
    }
    if let Some(e) = e {
        let rates: BTreeMap<&str, serde_json::Value> = e
            .rates
            .iter()
            .filter(|(a, _)| **a != Archetype::Buyer)
            .map(|(a, (b, u))| match bases {
                Some(_) => (a.name(), serde_json::json!({"uplift": u})),
                None => (a.name(), serde_json::json!({"base_rate": b, "uplift": u})),
            })
            .collect();
        out["holdout"] = serde_json::json!(e.holdout.share);
        out["salt"] = serde_json::json!(e.holdout.salt);
        out["rates"] = serde_json::json!(rates);
        if e.varies != 0.0 {
            out["uplift_varies"] = serde_json::json!({
                "h": e.varies,
                "by": "last abandoned cart value: effect x (1 + h z), z = ln(value / archetype median) / 0.45 clipped to [-2, 2]",
                "truth": "truth.csv uplift (and reminder_uplift) per shopper",
            });
        }
        if let Some((v, reminder)) = &e.variants {
            let reminder: BTreeMap<&str, f64> = reminder
                .iter()
                .filter(|(a, _)| **a != Archetype::Buyer)
                .map(|(a, r)| (a.name(), *r))
                .collect();
            out["variants"] = serde_json::json!({
                "split": v.spec(),
                "salt": v.salt,
                "reminder_uplift": reminder,
                "incentive_discount": experiment::INCENTIVE_DISCOUNT,
            });
        }
    }
    if last.listings.is_some() {
        out["carryover"] = serde_json::json!({
            "after": "every month's T (docs/generator.md, The monthly loop with carryover)",
            "listings": "carryover.csv",
            "again": carryover::AGAIN,
            "again_waiting_for_code": carryover::AGAIN_WAITING,
            "base_waiting_for_code": carryover::WAITING_BASE,
            "treated_waiting_for_code": carryover::WAITING_TREATED,
        });
    }
    Ok(out)
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
