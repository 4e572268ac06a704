//! `cartsona generate`: seeded carts, orders and engagement with planted archetypes.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::{GenerateArgs, OutFormat};
use crate::io::write::{ColKind, Field, StagedDir, TableSink};
use crate::progress::Progress;
use crate::synth::{self, Archetype, Mix, Rec, SynthParams};
use crate::timefmt;

fn params(args: &GenerateArgs) -> Result<SynthParams> {
    if args.shoppers == 0 {
        bail!("--shoppers must be at least 1");
    }
    if args.months == 0 || args.months > 120 {
        bail!("--months must be between 1 and 120");
    }
    let start = timefmt::parse_timestamp(&args.start)
        .filter(|t| t % timefmt::DAY == 0)
        .ok_or_else(|| anyhow::anyhow!("--start '{}': write a date like 2025-01-01", args.start))?;
    let mix = match &args.mix {
        Some(spec) => Mix::default().with(spec, "--mix")?,
        None => Mix::default(),
    };
    let mut mix_month = BTreeMap::new();
    let mut current = mix.clone();
    let mut specs: Vec<(usize, &str)> = Vec::new();
    for spec in &args.mix_month {
        let Some((m, shares)) = spec.split_once(':') else {
            bail!("--mix-month '{spec}': write it like 3:deal-seeker=0.35");
        };
        let m: usize = m
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("--mix-month '{spec}': '{m}' is not a month number"))?;
        if m < 2 || m > args.months {
            bail!(
                "--mix-month '{spec}': the month must be between 2 and --months ({})",
                args.months
            );
        }
        specs.push((m, shares));
    }
    specs.sort_by_key(|s| s.0);
    for (m, shares) in specs {
        current = current.with(shares, "--mix-month")?;
        mix_month.insert(m, current.clone());
    }
    Ok(SynthParams {
        shoppers: args.shoppers,
        seed: args.seed,
        start,
        months: args.months,
        mix,
        mix_month,
    })
}

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

pub fn run(args: &GenerateArgs, quiet: bool) -> Result<u8> {
    let p = params(args)?;
    let staged = StagedDir::new(&args.out, args.force, "--out")?;
    let progress = Progress::new(quiet);
    let bounds = synth::month_bounds(p.start, p.months)?;
    let plan = synth::plan(&p);
    let parquet = args.format == OutFormat::Parquet;
    let mut manifest_months = Vec::new();
    for m in 1..=p.months {
        let sub = if p.months == 1 {
            String::new()
        } else {
            format!("month-{m}")
        };
        let dir = staged.path().join(&sub);
        std::fs::create_dir_all(&dir)?;
        progress.stage(&format!("generating month {m} of {}", p.months));
        let mut sinks = Sinks::create(&dir, parquet)?;
        for shopper in 0..p.shoppers {
            let mut put = |r: Rec| sinks.put(r);
            synth::history(&p, shopper, plan.archetypes[0][shopper], &mut put)?;
            for mm in 1..=m {
                synth::month(
                    &p,
                    shopper,
                    mm,
                    bounds[mm - 1],
                    plan.archetypes[mm - 1][shopper],
                    &mut put,
                )?;
            }
        }
        let rows = sinks.finish()?;
        std::fs::write(dir.join("truth.csv"), truth_csv(&plan.archetypes[m - 1])?)?;
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
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["customer_id", "month", "from", "to"])?;
        for (i, m, from, to) in &plan.moves {
            w.write_record([
                synth::customer_id(*i),
                m.to_string(),
                from.name().into(),
                to.name().into(),
            ])?;
        }
        staged.write(
            "moves.csv",
            &w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?,
        )?;
    }
    let manifest = serde_json::json!({
        "tool": format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        "shoppers": p.shoppers,
        "seed": p.seed,
        "format": args.format,
        "months": manifest_months,
        "moves": plan.moves.len(),
    });
    let mut bytes = serde_json::to_vec_pretty(&manifest)?;
    bytes.push(b'\n');
    staged.write("generate.json", &bytes)?;
    progress.stage("moving the files into place");
    staged.commit()?;
    progress.finish();
    if !quiet {
        println!(
            "wrote {} shoppers over {} month(s) to {}",
            p.shoppers,
            p.months,
            args.out.display()
        );
    }
    Ok(0)
}
