//! `segment --features PATH` and `assign --features PATH`: reads a precomputed features table,
//! written by `cartsona features` or by the SQL of `features --emit-sql` in a warehouse or on
//! Spark: CSV, Parquet, or a directory of parts (docs/scale.md).
//!
//! Columns: `customer_id` and any of the features of docs/features.md, in any order; every file
//! must have the same ones. Rows are sorted by customer id (byte order) after reading, so the
//! order of parts and of rows within them does not matter.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use crate::features::catalogue;
use crate::features::compute::{FeatureColumn, FeatureTable, Nums, Values, ALL_FEATURES};
use crate::ingest::load::FileReport;
use crate::io::read::{self, Cell, CsvOptions, Format, Source};

/// The values a categorical feature may take (the catalogue's).
fn categories(feature: &str) -> Option<&'static [&'static str]> {
    catalogue::get(feature)?.categories
}

/// Feature columns, by name.
type Columns = Vec<(&'static str, Values)>;

/// One file: its customer ids and its feature columns.
struct Part {
    ids: Vec<String>,
    cols: Columns,
}

fn feature_name(src: &Source, name: &str) -> Result<&'static str> {
    ALL_FEATURES
        .iter()
        .find(|f| **f == name)
        .copied()
        .with_context(|| {
            format!(
                "{}: column '{}' is not a feature of docs/features.md (a features table has customer_id and features such as {}, ...)",
                src.display(),
                crate::util::text::short(name),
                ALL_FEATURES[..3].join(", ")
            )
        })
}

fn category(src: &Source, line: u64, feature: &str, raw: &str) -> Result<&'static str> {
    let allowed = categories(feature).expect("a categorical feature");
    let v = raw.trim();
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(v))
        .copied()
        .with_context(|| {
            format!(
                "{}: line {line}, column {feature}: '{}' is not one of {}",
                src.display(),
                crate::util::text::short(v),
                allowed.join(", ")
            )
        })
}

fn number(src: &Source, line: u64, feature: &str, v: f64) -> Result<f64> {
    if !v.is_finite() {
        bail!(
            "{}: line {line}, column {feature}: {v} is not a finite number",
            src.display()
        );
    }
    Ok(v)
}

fn read_csv(src: &Source) -> Result<Part> {
    // The header decides the columns; `scan` hands it to the first closure and rows to the second.
    let setup: std::cell::RefCell<Option<(usize, Columns)>> = Default::default();
    let mut ids: Vec<String> = Vec::new();
    read::scan(
        src,
        CsvOptions { delimiter: b',' },
        |header| {
            let Some(idx) = header.iter().position(|n| n == "customer_id") else {
                bail!("{}: no customer_id column", src.display());
            };
            let mut cols = Vec::new();
            for (i, n) in header.iter().enumerate() {
                if i != idx {
                    let f = feature_name(src, n)?;
                    cols.push((
                        f,
                        if categories(f).is_some() {
                            Values::Cat(Vec::new())
                        } else {
                            Values::Num(Nums::default())
                        },
                    ));
                }
            }
            *setup.borrow_mut() = Some((idx, cols));
            Ok((0..header.len()).map(Some).collect())
        },
        |row| {
            if let Some((got, want)) = row.ragged {
                bail!(
                    "{}: line {}: {got} fields where the header has {want}",
                    src.display(),
                    row.line
                );
            }
            let mut guard = setup.borrow_mut();
            let (idx, cols) = guard.as_mut().expect("the header comes first");
            let idx = *idx;
            match row.cells[idx].text() {
                Some(id) => ids.push(id.to_string()),
                None => bail!(
                    "{}: line {}, column customer_id: empty",
                    src.display(),
                    row.line
                ),
            }
            let cells = row
                .cells
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != idx)
                .map(|(_, c)| c);
            for ((f, col), cell) in cols.iter_mut().zip(cells) {
                let text = match cell {
                    Cell::BadUtf8 => bail!(
                        "{}: line {}, column {f}: not valid UTF-8",
                        src.display(),
                        row.line
                    ),
                    c => c.text(),
                };
                match col {
                    Values::Num(v) => v.push(match text {
                        None => None,
                        Some(t) => {
                            let x = t.parse::<f64>().map_err(|_| {
                                anyhow::anyhow!(
                                    "{}: line {}, column {f}: '{}' is not a number",
                                    src.display(),
                                    row.line,
                                    crate::util::text::short(t)
                                )
                            })?;
                            Some(number(src, row.line, f, x)?)
                        }
                    }),
                    Values::Cat(v) => v.push(match text {
                        None => None,
                        Some(t) => Some(category(src, row.line, f, t)?),
                    }),
                }
            }
            Ok(())
        },
    )?;
    let (_, cols) = setup.into_inner().expect("scan reads the header");
    Ok(Part { ids, cols })
}

fn read_parquet(src: &Source) -> Result<Part> {
    let df = crate::io::read::parquet_frame(src)?;
    let fail = |name: &str, e: PolarsError| {
        anyhow::anyhow!("{}: column {name}: cannot read: {e}", src.display())
    };
    let mut ids = None;
    let mut cols = Vec::new();
    // Columns are taken out of the frame one by one, so each is freed once converted.
    for c in df.into_columns() {
        let name = c.name().to_string();
        if name == "customer_id" {
            let s = c.cast(&DataType::String).map_err(|e| fail(&name, e))?;
            let mut v = Vec::with_capacity(s.len());
            for (i, x) in s.str().map_err(|e| fail(&name, e))?.iter().enumerate() {
                match x.map(str::trim).filter(|x| !x.is_empty()) {
                    Some(x) => v.push(x.to_string()),
                    None => bail!(
                        "{}: line {}, column customer_id: empty",
                        src.display(),
                        i + 1
                    ),
                }
            }
            ids = Some(v);
            continue;
        }
        let f = feature_name(src, &name)?;
        if categories(f).is_some() {
            let s = c.cast(&DataType::String).map_err(|e| fail(&name, e))?;
            let mut v = Vec::with_capacity(s.len());
            for (i, x) in s.str().map_err(|e| fail(&name, e))?.iter().enumerate() {
                v.push(match x.filter(|x| !x.trim().is_empty()) {
                    None => None,
                    Some(t) => Some(category(src, i as u64 + 1, f, t)?),
                });
            }
            cols.push((f, Values::Cat(v)));
        } else {
            if !(c.dtype().is_primitive_numeric() || c.dtype().is_null()) {
                bail!(
                    "{}: column {name} has Parquet type {}; a feature must be a number",
                    src.display(),
                    c.dtype()
                );
            }
            let s = c.cast(&DataType::Float64).map_err(|e| fail(&name, e))?;
            let mut v = Nums::with_capacity(s.len());
            for (i, x) in s.f64().map_err(|e| fail(&name, e))?.iter().enumerate() {
                v.push(match x {
                    None => None,
                    Some(x) => Some(number(src, i as u64 + 1, f, x)?),
                });
            }
            cols.push((f, Values::Num(v)));
        }
    }
    let Some(ids) = ids else {
        bail!("{}: no customer_id column", src.display());
    };
    Ok(Part { ids, cols })
}

/// The values of one column in customer order: `order` holds (part, row) per position.
fn gather<T: Copy>(
    order: &[(u32, u32)],
    parts: &[Values],
    values: impl Fn(&Values) -> &Vec<T>,
) -> Vec<T> {
    let parts: Vec<&Vec<T>> = parts.iter().map(values).collect();
    order
        .iter()
        .map(|&(p, r)| parts[p as usize][r as usize])
        .collect()
}

/// [`gather`] for numeric columns (NaN-coded, read through `Nums::get`).
fn gather_nums(order: &[(u32, u32)], parts: &[Values]) -> Nums {
    let parts: Vec<&Nums> = parts
        .iter()
        .map(|v| match v {
            Values::Num(v) => v,
            Values::Cat(_) => unreachable!("a numeric feature in every part"),
        })
        .collect();
    order
        .iter()
        .map(|&(p, r)| parts[p as usize].get(r as usize))
        .collect()
}

/// A `--features` table as a run's features (`params.as_of` required: the time they were
/// computed for), with its summary and the files read.
pub fn for_run(
    specs: &[PathBuf],
    params: &crate::features::compute::FeatureParams,
) -> Result<(
    FeatureTable,
    crate::features::compute::FeatureSummary,
    Vec<FileReport>,
)> {
    let Some(as_of) = params.as_of else {
        bail!("--features: pass --as-of, the as-of time the features were computed for (it goes into the model and the reports)");
    };
    let (mut table, files) = read(specs, "--features")?;
    table.abandoned_at = abandoned_at(&table, as_of);
    let summary = crate::features::compute::summary_of_table(&table, params, as_of);
    Ok((table, summary, files))
}

/// Reads the features table from the paths given to `flag`; returns it with one report per file.
pub fn read(specs: &[PathBuf], flag: &str) -> Result<(FeatureTable, Vec<FileReport>)> {
    let sources = read::expand(specs, flag)?;
    let mut parts = Vec::with_capacity(sources.len());
    let mut reports = Vec::with_capacity(sources.len());
    for src in &sources {
        let part = match src.format {
            Format::Parquet => read_parquet(src)?,
            _ => read_csv(src)?,
        };
        reports.push(FileReport {
            path: src.path.display().to_string(),
            kind: "features",
            preset: None,
            format: src.format,
            rows_read: part.ids.len() as u64,
            rows_rejected: 0,
            problems: Vec::new(),
            notes: Vec::new(),
        });
        parts.push(part);
    }
    // Every file must have the same features.
    let mut features: Vec<&'static str> = parts[0].cols.iter().map(|(f, _)| *f).collect();
    features.sort_by_key(|f| ALL_FEATURES.iter().position(|a| a == f));
    for (w, pair) in features.windows(2).enumerate() {
        if pair[0] == pair[1] {
            bail!(
                "{}: column {} appears twice",
                sources[0].display(),
                features[w]
            );
        }
    }
    for (src, part) in sources.iter().zip(&parts).skip(1) {
        let mut these: Vec<&str> = part.cols.iter().map(|(f, _)| *f).collect();
        these.sort_by_key(|f| ALL_FEATURES.iter().position(|a| a == f));
        if these != features {
            bail!(
                "{}: its columns ({}) differ from those of {} ({}); every part of a features table has the same columns",
                src.display(),
                these.join(", "),
                sources[0].display(),
                features.join(", ")
            );
        }
    }
    let n: usize = parts.iter().map(|p| p.ids.len()).sum();
    // Rows in customer id order: (part, row) per position.
    let mut order: Vec<(u32, u32)> = Vec::with_capacity(n);
    for (p, part) in parts.iter().enumerate() {
        order.extend((0..part.ids.len() as u32).map(|r| (p as u32, r)));
    }
    let id = |&(p, r): &(u32, u32)| parts[p as usize].ids[r as usize].as_str();
    order.sort_by(|a, b| id(a).cmp(id(b)));
    for pair in order.windows(2) {
        if id(&pair[0]) == id(&pair[1]) {
            bail!(
                "{flag}: customer_id '{}' appears twice ({} and {}); a features table has one row per abandoner",
                crate::util::text::short(id(&pair[0])),
                sources[pair[0].0 as usize].display(),
                sources[pair[1].0 as usize].display()
            );
        }
    }
    let customers: Vec<String> = order.iter().map(|k| id(k).to_string()).collect();
    for part in &mut parts {
        part.ids = Vec::new();
    }
    // Each feature is gathered in customer order and then freed from the parts, so the peak is
    // about one copy of the table, not two.
    let mut columns = Vec::with_capacity(features.len());
    for f in &features {
        let taken: Vec<Values> = parts
            .iter_mut()
            .map(|part| {
                let slot = part
                    .cols
                    .iter_mut()
                    .find(|(name, _)| name == f)
                    .expect("same columns in every part");
                std::mem::replace(&mut slot.1, Values::Num(Nums::default()))
            })
            .collect();
        // A feature's kind is fixed by its name, so every part holds the same kind.
        let values = match &taken[0] {
            Values::Num(_) => Values::Num(gather_nums(&order, &taken)),
            Values::Cat(_) => Values::Cat(gather(&order, &taken, |v| match v {
                Values::Cat(v) => v,
                Values::Num(_) => unreachable!("a categorical feature in every part"),
            })),
        };
        drop(taken);
        columns.push(FeatureColumn { name: f, values });
    }
    let abandoned_at = vec![None; customers.len()];
    Ok((
        FeatureTable {
            customers,
            columns,
            abandoned_at,
        },
        reports,
    ))
}

/// When each abandoner's latest abandoned cart was last updated, recovered from
/// `days_since_abandon` and the as-of time T: T − round(days × 86,400,000,000) µs. Exact: the
/// days are one double division of whole microseconds, so the product is off by less than half
/// a microsecond for spans under 70 years. `None` without that column or value.
pub fn abandoned_at(table: &FeatureTable, as_of: i64) -> Vec<Option<i64>> {
    match table.column("days_since_abandon").map(|c| &c.values) {
        Some(Values::Num(days)) => days
            .iter()
            .map(|d| d.map(|d| as_of - (d * crate::util::timefmt::DAY as f64).round() as i64))
            .collect(),
        _ => vec![None; table.customers.len()],
    }
}
