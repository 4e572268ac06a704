//! Tables as bytes: assignments.csv / .parquet and personas.csv (one struct of columns per file,
//! so the CSV and Parquet forms cannot drift apart), and the features table of `cartsona features`.

use std::borrow::Cow;

use anyhow::Result;
use polars::prelude::*;

use crate::cluster::nearest::Assignment;
use crate::features::compute::{FeatureTable, Nums, Values};
use crate::model::holdout::Arm;
use crate::personas::Persona;
use crate::util::timefmt::format_timestamp;

/// A column of a rendered table. Cells borrow from the run's values where they can: at millions
/// of abandoners a copy of every id, name and feature would double the peak memory.
pub enum Col<'a> {
    Text(&'static str, Vec<&'a str>),
    Num(String, Cow<'a, [Option<f64>]>),
    /// A feature column of the table, borrowed.
    Nums(String, &'a Nums),
    /// Instants in microseconds since the epoch: RFC 3339 text in CSV, a UTC timestamp in Parquet.
    Time(&'static str, Cow<'a, [Option<i64>]>),
}

impl Col<'_> {
    fn name(&self) -> &str {
        match self {
            Col::Text(n, _) | Col::Time(n, _) => n,
            Col::Num(n, _) | Col::Nums(n, _) => n,
        }
    }
    fn len(&self) -> usize {
        match self {
            Col::Text(_, v) => v.len(),
            Col::Num(_, v) => v.len(),
            Col::Nums(_, v) => v.len(),
            Col::Time(_, v) => v.len(),
        }
    }
    fn cell(&self, i: usize) -> Cow<'_, str> {
        match self {
            Col::Text(_, v) => Cow::Borrowed(v[i]),
            Col::Num(_, v) => Cow::Owned(fmt_num(v[i])),
            Col::Nums(_, v) => Cow::Owned(fmt_num(v.get(i))),
            Col::Time(_, v) => Cow::Owned(v[i].map(format_timestamp).unwrap_or_default()),
        }
    }
}

/// The assignments table: who is in which persona, how close, the runner-up, the features the
/// clustering used (raw values), then whether the shopper is an outlier (1) or not (0), when
/// their latest abandoned cart was last updated, and their arm (when the run has a holdout).
pub fn assignments<'a>(
    table: &'a FeatureTable,
    assigned: &[Assignment],
    outlier: &[bool],
    arms: Option<&[Arm]>,
    personas: &'a [Persona],
    features_used: &[String],
) -> Vec<Col<'a>> {
    let ids: Vec<&str> = assigned
        .iter()
        .map(|a| personas[a.persona].id.as_str())
        .collect();
    let names: Vec<&str> = assigned
        .iter()
        .map(|a| personas[a.persona].name.as_str())
        .collect();
    let second: Vec<&str> = assigned
        .iter()
        .map(|a| personas[a.second].id.as_str())
        .collect();
    let mut cols = vec![
        Col::Text(
            "customer_id",
            table.customers.iter().map(String::as_str).collect(),
        ),
        Col::Text("persona_id", ids),
        Col::Text("persona_name", names),
        Col::Num(
            "distance".into(),
            assigned.iter().map(|a| Some(a.distance)).collect(),
        ),
        Col::Text("second_persona_id", second),
        Col::Num(
            "margin".into(),
            assigned.iter().map(|a| Some(a.margin)).collect(),
        ),
    ];
    for f in features_used {
        if let Some(Values::Num(v)) = table.column(f).map(|c| &c.values) {
            cols.push(Col::Nums(f.clone(), v));
        }
    }
    cols.push(Col::Num(
        "outlier".into(),
        outlier
            .iter()
            .map(|&o| Some(f64::from(u8::from(o))))
            .collect(),
    ));
    cols.push(Col::Time(
        "abandoned_at",
        Cow::Borrowed(&table.abandoned_at),
    ));
    if let Some(arms) = arms {
        cols.push(Col::Text("arm", arms.iter().map(|a| a.name()).collect()));
    }
    cols
}

/// The personas table: profile, lifecycle and device mix, and mean, median and z of every feature.
pub fn personas(personas: &[Persona]) -> Vec<Col<'_>> {
    let mut cols = vec![
        Col::Text(
            "persona_id",
            personas.iter().map(|p| p.id.as_str()).collect(),
        ),
        Col::Text(
            "persona_name",
            personas.iter().map(|p| p.name.as_str()).collect(),
        ),
        Col::Num(
            "size".into(),
            personas.iter().map(|p| Some(p.size as f64)).collect(),
        ),
        Col::Num(
            "share".into(),
            personas.iter().map(|p| Some(p.share)).collect(),
        ),
        Col::Num(
            "value_at_stake".into(),
            personas.iter().map(|p| Some(p.value_at_stake)).collect(),
        ),
    ];
    for stage in ["new", "active", "loyal", "lapsing"] {
        if personas.iter().any(|p| !p.lifecycle.is_empty()) {
            cols.push(Col::Num(
                format!("lifecycle_{stage}"),
                personas
                    .iter()
                    .map(|p| Some(p.lifecycle.get(stage).copied().unwrap_or(0.0)))
                    .collect(),
            ));
        }
    }
    for device in ["desktop", "mobile", "tablet", "other", "unknown"] {
        if personas.iter().any(|p| !p.devices.is_empty()) {
            cols.push(Col::Num(
                format!("device_{device}"),
                personas
                    .iter()
                    .map(|p| Some(p.devices.get(device).copied().unwrap_or(0.0)))
                    .collect(),
            ));
        }
    }
    if let Some(first) = personas.first() {
        for (j, st) in first.stats.iter().enumerate() {
            for (what, get) in [
                (
                    "mean",
                    (|s: &crate::personas::profile::FeatureStat| s.mean) as fn(&_) -> Option<f64>,
                ),
                ("median", |s| s.median),
                ("z", |s| s.z),
            ] {
                cols.push(Col::Num(
                    format!("{what}_{}", st.feature),
                    personas.iter().map(|p| get(&p.stats[j])).collect(),
                ));
            }
        }
    }
    // Added with model format 2: appended after the columns above.
    cols.push(Col::Num(
        "value_share".into(),
        personas.iter().map(|p| Some(p.value_share)).collect(),
    ));
    cols.push(Col::Num(
        "outliers".into(),
        personas.iter().map(|p| Some(p.outliers as f64)).collect(),
    ));
    cols.push(Col::Num(
        "stability".into(),
        personas.iter().map(|p| p.stability).collect(),
    ));
    if personas.iter().any(|p| p.holdout.is_some()) {
        for (name, get) in [
            (
                "holdout",
                (|p: &Persona| p.holdout) as fn(&Persona) -> Option<usize>,
            ),
            ("treatment", |p| p.treatment),
        ] {
            cols.push(Col::Num(
                name.into(),
                personas.iter().map(|p| get(p).map(|n| n as f64)).collect(),
            ));
        }
    }
    cols.extend(measured(personas));
    cols
}

/// The last measured effect of each persona's play (`--outcomes`), when any was measured.
fn measured(personas: &[Persona]) -> Vec<Col<'_>> {
    let mut cols = Vec::new();
    if !personas.iter().any(|p| p.measured.is_some()) {
        return cols;
    }
    let m = |f: fn(&crate::personas::Measured) -> Option<f64>| -> Vec<Option<f64>> {
        personas
            .iter()
            .map(|p| p.measured.as_ref().and_then(f))
            .collect()
    };
    cols.push(Col::Text(
        "measured_verdict",
        personas
            .iter()
            .map(|p| p.measured.as_ref().map_or("", |m| m.verdict.as_str()))
            .collect(),
    ));
    cols.push(Col::Num("measured_uplift".into(), m(|m| m.uplift).into()));
    cols.push(Col::Num("measured_ci_low".into(), m(|m| m.ci_low).into()));
    cols.push(Col::Num("measured_ci_high".into(), m(|m| m.ci_high).into()));
    cols.push(Col::Num(
        "measured_treatment".into(),
        m(|m| Some(m.treatment as f64)).into(),
    ));
    cols.push(Col::Num(
        "measured_holdout".into(),
        m(|m| Some(m.holdout as f64)).into(),
    ));
    cols.push(Col::Num(
        "measured_incremental_revenue".into(),
        m(|m| m.incremental_revenue).into(),
    ));
    cols.push(Col::Text(
        "measured_best_variant",
        personas
            .iter()
            .map(|p| {
                p.measured
                    .as_ref()
                    .and_then(|m| m.best_variant.as_deref())
                    .unwrap_or("")
            })
            .collect(),
    ));
    cols
}

pub fn to_csv(cols: &[Col]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cols.iter().map(Col::name))?;
    let n = cols.first().map_or(0, Col::len);
    for i in 0..n {
        w.write_record(cols.iter().map(|c| c.cell(i).into_owned()))?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn to_parquet(cols: &[Col]) -> Result<Vec<u8>> {
    let columns: Vec<Column> = cols
        .iter()
        .map(|c| match c {
            Col::Text(n, v) => Ok(Column::new((*n).into(), v.as_slice())),
            Col::Num(n, v) => Ok(Column::new(n.as_str().into(), v.as_ref())),
            Col::Nums(n, v) => Ok(Column::new(n.as_str().into(), v.iter().collect::<Vec<_>>())),
            Col::Time(n, v) => Column::new((*n).into(), v.as_ref()).cast(&DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            )),
        })
        .collect::<PolarsResult<_>>()?;
    let mut df = DataFrame::new_infer_height(columns)?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(&mut df)?;
    Ok(buf)
}

/// audience.csv: the treatment arm only, the file to load into the messaging platform: each
/// shopper's persona, its channels (in order, `;`-separated), first nudge and offer. Holdout
/// shoppers are never in it.
pub fn audience<'a>(
    table: &'a FeatureTable,
    assigned: &[Assignment],
    arms: &[Arm],
    personas: &'a [Persona],
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "customer_id",
        "persona_id",
        "persona_name",
        "channels",
        "first_nudge",
        "offer",
    ])?;
    let channels: Vec<String> = personas.iter().map(|p| p.play.channels.join(";")).collect();
    for ((customer, a), arm) in table.customers.iter().zip(assigned).zip(arms) {
        if *arm != Arm::Treatment {
            continue;
        }
        let p = &personas[a.persona];
        w.write_record([
            customer.as_str(),
            &p.id,
            &p.name,
            &channels[a.persona],
            &p.play.first_nudge,
            &p.play.offer,
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Formats a number the way every CSV output does: shortest round-trip form, empty for a gap.
pub fn fmt_num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Renders the features table as CSV.
pub fn features_csv(table: &FeatureTable) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["customer_id"];
    header.extend(table.columns.iter().map(|c| c.name));
    w.write_record(&header)?;
    for (i, customer) in table.customers.iter().enumerate() {
        let mut rec = vec![customer.clone()];
        for c in &table.columns {
            rec.push(match &c.values {
                Values::Num(v) => fmt_num(v.get(i)),
                Values::Cat(v) => v[i].unwrap_or_default().to_string(),
            });
        }
        w.write_record(&rec)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Renders the features table as Parquet (numbers as Float64, categories as String).
pub fn features_parquet(table: &FeatureTable) -> Result<Vec<u8>> {
    let mut cols: Vec<Column> = vec![Column::new("customer_id".into(), table.customers.clone())];
    for c in &table.columns {
        cols.push(match &c.values {
            Values::Num(v) => Column::new(c.name.into(), v.iter().collect::<Vec<_>>()),
            Values::Cat(v) => Column::new(
                c.name.into(),
                v.iter().map(|s| s.map(str::to_string)).collect::<Vec<_>>(),
            ),
        });
    }
    let mut df = DataFrame::new_infer_height(cols)?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(&mut df)?;
    Ok(buf)
}
