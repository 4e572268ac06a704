//! Tables as bytes: assignments.csv / .parquet and personas.csv (one struct of columns per file,
//! so the CSV and Parquet forms cannot drift apart), and the features table of `cartsona features`.

use std::borrow::Cow;

use anyhow::Result;
use polars::prelude::*;
use rayon::prelude::*;

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
}

/// The assignments table: who is in which persona, how close, the runner-up, the features the
/// clustering used (raw values), then whether the shopper is an outlier (1) or not (0), when
/// their latest abandoned cart was last updated, and their arm, variant (empty when held out)
/// and first listing since the holdout split began (when the run has a holdout; the variant
/// with variants).
pub fn assignments<'a>(
    table: &'a FeatureTable,
    rows: &RunRows<'a>,
    personas: &'a [Persona],
    features_used: &[String],
) -> Vec<Col<'a>> {
    let (assigned, outlier) = (rows.assigned, rows.outlier);
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
    if let Some(arms) = rows.arms {
        cols.push(Col::Text("arm", arms.iter().map(|a| a.name()).collect()));
    }
    if let Some(v) = &rows.variants {
        cols.push(Col::Text("variant", v.names().collect()));
    }
    if let Some(first) = rows.listing.map(|l| &l.first[..]) {
        cols.push(Col::Time("first_listed", Cow::Borrowed(first)));
    }
    cols
}

/// The return propensity and its reasons, after the other columns of the assignments.
/// Each shopper's row outputs besides the features: their persona, whether an outlier, their arm.
pub struct RunRows<'a> {
    pub assigned: &'a [Assignment],
    pub outlier: &'a [bool],
    pub arms: Option<&'a [Arm]>,
    /// With a holdout: each shopper's first listing since the split began, and the ledger.
    pub listing: Option<&'a crate::model::listing::Carried>,
    /// Each shopper's return propensity and its reasons, when learned.
    pub propensity: Option<&'a crate::propensity::run::Scored>,
    /// With variants inside the treatment arm: each shopper's.
    pub variants: Option<crate::model::arms::VariantRows<'a>>,
}

/// The assignments file of a run (CSV, or Parquet when `parquet`): each shopper's features,
/// persona, outlier flag, arm, first listing and propensity, and with `--outcomes` of a readout
/// that learned one, the uplift.
pub fn assignments_file(
    table: &FeatureTable,
    rows: &RunRows,
    summary: &crate::report::Summary,
    uplift: Option<&[f64]>,
    parquet: bool,
) -> Result<Vec<u8>> {
    let mut cols = assignments(
        table,
        rows,
        &summary.personas,
        &summary.clustered.cluster_features,
    );
    if let Some(scored) = rows.propensity {
        add_propensity(&mut cols, &scored.scores, &scored.reasons);
    }
    if let Some(u) = uplift {
        cols.push(Col::Num(
            "uplift".into(),
            u.iter().map(|&x| Some(x)).collect(),
        ));
    }
    match parquet {
        true => to_parquet(&cols),
        false => to_csv(&cols),
    }
}

/// Every file of a run but the assignments, rendered: personas.csv, model.json, summary.json,
/// report.md, report.html, and with a holdout audience.csv and listed.csv.
pub fn run_files(
    table: &FeatureTable,
    rows: &RunRows,
    summary: &crate::report::Summary,
    model: &crate::model::Model,
    targeted: Option<(&[usize], &[f64])>,
) -> Result<crate::model::run_dir::RunFiles> {
    let audience = match rows.arms {
        None => None,
        Some(arms) => {
            let rule = summary.propensity.as_ref().and_then(|p| p.rule_threshold());
            let scores = rows.propensity.map(|scored| (&scored.scores[..], rule));
            Some(audience(
                table,
                rows.assigned,
                arms,
                &summary.personas,
                scores,
                rows.variants.as_ref(),
                targeted,
            )?)
        }
    };
    Ok(crate::model::run_dir::RunFiles {
        personas: to_csv(&personas(&summary.personas))?,
        model: model.to_json()?,
        summary: summary.to_json()?,
        report_md: crate::report::markdown::render(summary).into_bytes(),
        report_html: crate::report::html::render(summary)?.into_bytes(),
        audience,
        listed: rows.listing.map(|l| l.ledger.to_csv()).transpose()?,
    })
}

pub fn add_propensity<'a>(cols: &mut Vec<Col<'a>>, scores: &'a [f64], reasons: &'a [String]) {
    cols.push(Col::Num(
        "return_propensity".into(),
        scores.iter().map(|&p| Some(p)).collect(),
    ));
    cols.push(Col::Text(
        "propensity_reasons",
        reasons.iter().map(String::as_str).collect(),
    ));
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
            personas.iter().map(|p| p.value_at_stake).collect(),
        ),
    ];
    // A column per lifecycle stage and per device, when any persona has those shares.
    type Shares = fn(&Persona) -> &std::collections::BTreeMap<String, f64>;
    let groups: [(&str, &[&str], Shares); 2] = [
        ("lifecycle", &["new", "active", "loyal", "lapsing"], |p| {
            &p.lifecycle
        }),
        (
            "device",
            &["desktop", "mobile", "tablet", "other", "unknown"],
            |p| &p.devices,
        ),
    ];
    for (prefix, names, shares) in groups {
        if personas.iter().all(|p| shares(p).is_empty()) {
            continue;
        }
        for name in names {
            let values = personas.iter();
            cols.push(Col::Num(
                format!("{prefix}_{name}"),
                values
                    .map(|p| Some(shares(p).get(*name).copied().unwrap_or(0.0)))
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
        personas.iter().map(|p| p.value_share).collect(),
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

/// Rows one thread formats at a time in [`to_csv`].
const CSV_BLOCK_ROWS: usize = 4096;

/// A table as CSV. Blocks of rows are formatted on all threads, each by its own writer with the
/// same settings, and appended in order: the bytes of one writer going row by row, whatever the
/// thread count (writing the 1M-shopper bench's 744k assignments took 3.3 s on one thread,
/// formatting floats; issue 19). A few blocks per thread at a time, so the copies in flight stay
/// small beside the file.
pub fn to_csv(cols: &[Col]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cols.iter().map(Col::name))?;
    let mut out = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = cols.first().map_or(0, Col::len);
    let starts: Vec<usize> = (0..n).step_by(CSV_BLOCK_ROWS).collect();
    for group in starts.chunks(4 * rayon::current_num_threads()) {
        let blocks = group
            .par_iter()
            .map(|&start| csv_rows(cols, start..n.min(start + CSV_BLOCK_ROWS)))
            .collect::<Result<Vec<_>>>()?;
        for block in blocks {
            out.extend_from_slice(&block);
        }
    }
    Ok(out)
}

/// Rows `rows` of a table as CSV records, numbers formatted into one reused buffer.
fn csv_rows(cols: &[Col], rows: std::ops::Range<usize>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 64 * cols.len() / 4));
    let mut buf = String::new();
    for i in rows {
        for c in cols {
            match c {
                Col::Text(_, v) => w.write_field(v[i])?,
                Col::Num(_, v) => {
                    fmt_num(&mut buf, v[i]);
                    w.write_field(&buf)?;
                }
                Col::Nums(_, v) => {
                    fmt_num(&mut buf, v.get(i));
                    w.write_field(&buf)?;
                }
                Col::Time(_, v) => w.write_field(v[i].map(format_timestamp).unwrap_or_default())?,
            }
        }
        w.write_record(None::<&[u8]>)?;
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

/// The offer of the `reminder` variant in audience.csv.
pub const REMINDER_OFFER: &str = "none: a plain reminder (variant reminder)";

/// audience.csv: the treatment arm only, the file to load into the messaging platform: each
/// shopper's persona, its channels (in order, `;`-separated), first nudge and offer. Holdout
/// shoppers are never in it. With a return propensity, its value too; when the no-discount rule
/// is on (`Some(threshold)`), shoppers above the threshold get the play with no incentive
/// (`offer` says so, `no_discount` = 1; docs/propensity.md "The no-discount rule"). With
/// variants, a last column `variant`, and the variant decides the offer: `reminder` none, any
/// other the persona's, whatever the rule says (the experiment measures what the rule asserts;
/// `no_discount` still marks where it would withhold the incentive). With `targeted` (`--target`:
/// the audience's shoppers in order, and every shopper's uplift), only those, in that order, with
/// a last column `uplift`.
pub fn audience<'a>(
    table: &'a FeatureTable,
    assigned: &[Assignment],
    arms: &[Arm],
    personas: &'a [Persona],
    propensity: Option<(&[f64], Option<f64>)>,
    variants: Option<&crate::model::arms::VariantRows>,
    targeted: Option<(&[usize], &[f64])>,
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "customer_id",
        "persona_id",
        "persona_name",
        "channels",
        "first_nudge",
        "offer",
    ];
    if propensity.is_some() {
        header.extend(["return_propensity", "no_discount"]);
    }
    if variants.is_some() {
        header.push("variant");
    }
    if targeted.is_some() {
        header.push("uplift");
    }
    w.write_record(&header)?;
    let channels: Vec<String> = personas.iter().map(|p| p.play.channels.join(";")).collect();
    let plain_offer = propensity
        .and_then(|(_, rule)| rule)
        .map(|above| format!("none: a plain reminder (return propensity above {above})"));
    let (mut number, mut uplift) = (String::new(), String::new());
    let every: Vec<usize>;
    let order = match targeted {
        Some((order, _)) => order,
        None => {
            every = (0..arms.len())
                .filter(|&i| arms[i] == Arm::Treatment)
                .collect();
            &every
        }
    };
    for &i in order {
        let (customer, a) = (&table.customers[i], &assigned[i]);
        let p = &personas[a.persona];
        let mut record = vec![
            customer.as_str(),
            &p.id,
            &p.name,
            &channels[a.persona],
            &p.play.first_nudge,
            &p.play.offer,
        ];
        if let Some((scores, rule)) = propensity {
            let plain = rule.is_some_and(|above| scores[i] > above);
            if let (true, Some(offer)) = (plain, &plain_offer) {
                record[5] = offer;
            }
            fmt_num(&mut number, Some(scores[i]));
            record.push(&number);
            record.push(if plain { "1" } else { "0" });
        }
        if let Some(v) = variants {
            let name = v.of[i].map_or("", |j| v.variants.name(j));
            record[5] = match name == crate::model::variants::REMINDER {
                true => REMINDER_OFFER,
                false => &p.play.offer,
            };
            record.push(name);
        }
        if let Some((_, u)) = targeted {
            fmt_num(&mut uplift, Some(u[i]));
            record.push(&uplift);
        }
        w.write_record(&record)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Formats a number the way every CSV output does, into `buf` (cleared first): shortest
/// round-trip form, empty for a gap.
pub fn fmt_num(buf: &mut String, v: Option<f64>) {
    buf.clear();
    if let Some(x) = v {
        crate::util::numfmt::plain(buf, x);
    }
}

/// Renders the features table as CSV (through [`to_csv`]: formatted on all threads).
pub fn features_csv(table: &FeatureTable) -> Result<Vec<u8>> {
    let mut cols = vec![Col::Text(
        "customer_id",
        table.customers.iter().map(String::as_str).collect(),
    )];
    for c in &table.columns {
        cols.push(match &c.values {
            Values::Num(v) => Col::Nums(c.name.to_string(), v),
            Values::Cat(v) => Col::Text(c.name, v.iter().map(|x| x.unwrap_or_default()).collect()),
        });
    }
    to_csv(&cols)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shortest(v: Option<f64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_default()
    }

    /// The bytes of one writer going row by row, a cell at a time (how to_csv wrote before its
    /// blocks; the reference the blocks must reproduce).
    fn row_by_row(cols: &[Col]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(cols.iter().map(Col::name)).unwrap();
        for i in 0..cols[0].len() {
            w.write_record(cols.iter().map(|c| match c {
                Col::Text(_, v) => v[i].to_string(),
                Col::Num(_, v) => shortest(v[i]),
                Col::Nums(_, v) => shortest(v.get(i)),
                Col::Time(_, v) => v[i].map(format_timestamp).unwrap_or_default(),
            }))
            .unwrap();
        }
        w.into_inner().unwrap()
    }

    /// Several blocks and a partial last one; texts that need quoting, gaps, odd floats, times:
    /// the same bytes as one writer, on 1 and 2 threads.
    #[test]
    fn csv_blocks_give_the_bytes_of_one_writer() {
        let n = 2 * CSV_BLOCK_ROWS + 17;
        let texts: Vec<String> = (0..n)
            .map(|i| match i % 5 {
                0 => format!("c{i}"),
                1 => format!("a,b{i}"),
                2 => format!("say \"{i}\""),
                3 => "two\nlines".to_string(),
                _ => String::new(),
            })
            .collect();
        let nums: Vec<Option<f64>> = (0..n)
            .map(|i| (i % 7 != 3).then(|| (i as f64) / 3.0 - 1e-7 * (i as f64).powi(3)))
            .collect();
        let mut feature = Nums::default();
        for i in 0..n {
            feature.push((i % 4 != 0).then_some(1e21 / (1.0 + i as f64)));
        }
        let times: Vec<Option<i64>> = (0..n)
            .map(|i| (i % 3 != 0).then_some(1_700_000_000_000_000 + 999_999 * i as i64))
            .collect();
        let cols = vec![
            Col::Text("customer_id", texts.iter().map(String::as_str).collect()),
            Col::Num("distance".into(), Cow::Borrowed(&nums)),
            Col::Nums("value".into(), &feature),
            Col::Time("updated_at", Cow::Borrowed(&times)),
        ];
        let expected = row_by_row(&cols);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| to_csv(&cols)).unwrap();
            assert!(got == expected, "{threads} threads: the bytes differ");
        }
    }
}
