//! First listings since the holdout split began (docs/outcomes.md, "First exposure"). In: the
//! previous run's record and `listed.csv` (through `segment --baseline` or `assign --model`), the
//! run's holdout and its abandoners. Out: each abandoner's first listing since the split began
//! (the assignments' `first_listed`), the run's `listed.csv` and the record model.json keeps.
//!
//! Why it exists: arms persist month after month, so a shopper listed again was already messaged
//! (or held out). Whether they abandon again, their new persona and their new propensity are
//! consequences of their arm; only a shopper's first listing since the split began is
//! randomized within persona. The run directory carries the set of shoppers listed so far, so a
//! readout of one run alone knows who is new; where the chain of runs is broken the record says
//! so (`complete: false`) and the readout refuses to guess.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use super::holdout::Holdout;
use crate::io::read::{self, CsvOptions, Format, Source};
use crate::util::timefmt::{format_timestamp, parse_timestamp};

/// The ledger's file in a run directory.
pub const FILE: &str = "listed.csv";

/// What model.json records of the first listings (only in runs with a holdout).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FirstListing {
    /// The split the listings belong to (the holdout's `since`).
    pub since: String,
    /// The as-of time of every run of the split this chain has seen, oldest first, this run
    /// last.
    pub runs: Vec<String>,
    /// Every run of the split since `since` is in `runs`. False when the chain starts at a run
    /// written before cartsona kept first listings (or whose listed.csv was not beside its
    /// model.json): a shopper first seen by the chain may have been listed before it.
    pub complete: bool,
    /// Shoppers listed since the split began (the rows of listed.csv).
    pub shoppers: usize,
}

/// Shoppers listed since the split began, each with their first listing's as-of (microseconds),
/// in the order they were first listed.
#[derive(Debug, Default)]
pub struct Ledger {
    rows: Vec<(String, i64)>,
    index: HashMap<String, usize>,
}

impl Ledger {
    fn push(&mut self, id: &str, t: i64) -> i64 {
        if let Some(&i) = self.index.get(id) {
            return self.rows[i].1;
        }
        self.index.insert(id.to_string(), self.rows.len());
        self.rows.push((id.to_string(), t));
        t
    }

    /// listed.csv: `customer_id,first_listed`.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::with_capacity(self.rows.len() * 40 + 32));
        w.write_record(["customer_id", "first_listed"])?;
        for (id, t) in &self.rows {
            w.write_record([id.as_str(), &format_timestamp(*t)])?;
        }
        w.into_inner().map_err(|e| anyhow!("{e}"))
    }
}

/// The ledger of a run directory (`dir/listed.csv`); `None` when the file is not there.
pub fn read(dir: &Path) -> Result<Option<Ledger>> {
    let path = dir.join(FILE);
    if !read::is_file(&path) {
        return Ok(None);
    }
    let file = path.display().to_string();
    let src = Source {
        path,
        format: Format::Csv,
        table: None,
    };
    let mut ledger = Ledger::default();
    read::scan(
        &src,
        CsvOptions { delimiter: b',' },
        |header| {
            let pos = |w: &str| header.iter().position(|h| h == w);
            match (pos("customer_id"), pos("first_listed")) {
                (Some(a), Some(b)) => Ok(vec![Some(a), Some(b)]),
                _ => bail!("{file}: the columns customer_id and first_listed are needed"),
            }
        },
        |row| {
            let id = row.cells[0].text().unwrap_or_default();
            let at = row.cells[1].text().unwrap_or_default();
            let t = parse_timestamp(at).ok_or_else(|| {
                anyhow!(
                    "{file}: line {}, column first_listed: '{at}' is not a time",
                    row.line
                )
            })?;
            ledger.push(id, t);
            Ok(())
        },
    )?;
    Ok(Some(ledger))
}

/// The run before this one, as far as first listings go: its as-of, its record and its ledger.
pub struct Before<'a> {
    pub as_of: &'a str,
    pub holdout: Option<&'a Holdout>,
    pub record: Option<&'a FirstListing>,
    pub ledger: Option<Ledger>,
}

impl<'a> Before<'a> {
    /// The run before this one (the `--baseline` of segment, the `--model` of assign), from its
    /// model's as-of, holdout and record (not the model itself: model::format uses this file):
    /// its listed.csv is read from beside its model.json (`model_file`) when it has a holdout.
    pub fn of(
        as_of: &'a str,
        holdout: Option<&'a Holdout>,
        record: Option<&'a FirstListing>,
        model_file: &Path,
    ) -> Result<Before<'a>> {
        let ledger = match (holdout, model_file.parent()) {
            (Some(_), Some(dir)) => read(dir)?,
            _ => None,
        };
        Ok(Before {
            as_of,
            holdout,
            record,
            ledger,
        })
    }
}

/// A run's first listings.
pub struct Carried {
    pub record: FirstListing,
    pub ledger: Ledger,
    /// Each abandoner's first listing since the split began (microseconds), in the order given.
    pub first: Vec<Option<i64>>,
    /// Set when the chain is broken here: what cannot be known and why.
    pub warning: Option<String>,
}

/// Each of `customers`' first listing since `holdout`'s split began, carried on from `before`
/// when it belongs to the same split. A split begun by this run (`since` = `as_of`) starts an
/// empty ledger; a split begun earlier needs the ledger of the run before, else the record says
/// it is incomplete (and a warning says why).
pub fn carry(
    before: Option<Before<'_>>,
    holdout: &Holdout,
    as_of: &str,
    customers: &[String],
) -> Result<Carried> {
    let t = parse_timestamp(as_of).ok_or_else(|| anyhow!("as-of '{as_of}' is not a time"))?;
    let mut warning = None;
    let (mut ledger, mut runs, complete) = if holdout.since == as_of {
        (Ledger::default(), Vec::new(), true)
    } else {
        let same = before
            .as_ref()
            .filter(|b| b.holdout.is_some_and(|h| h.since == holdout.since));
        match same {
            Some(Before {
                record: Some(r),
                ledger: Some(_),
                ..
            }) if r.since == holdout.since => {
                let b = before.expect("matched");
                let record = b.record.expect("matched");
                (
                    b.ledger.expect("matched"),
                    record.runs.clone(),
                    record.complete,
                )
            }
            other => {
                let why = match other {
                    Some(b) if b.record.is_some() => format!(
                        "the listed.csv of the run of {} is not beside its model.json",
                        b.as_of
                    ),
                    Some(b) => format!(
                        "the run of {} was written before cartsona kept first listings",
                        b.as_of
                    ),
                    None => "no earlier run of the split was given".to_string(),
                };
                warning = Some(format!(
                    "first listings since the holdout split began ({}) are not known: {why}. A readout of this run alone will say so and fail its first_exposure gate; read it out with every run since {} (outcomes --every-run)",
                    holdout.since, holdout.since
                ));
                let ledger = before.and_then(|b| b.ledger).unwrap_or_default();
                (ledger, Vec::new(), false)
            }
        }
    };
    if runs.last().map(String::as_str) != Some(as_of) {
        runs.push(as_of.to_string());
    }
    let first = customers.iter().map(|c| Some(ledger.push(c, t))).collect();
    Ok(Carried {
        record: FirstListing {
            since: holdout.since.clone(),
            runs,
            complete,
            shoppers: ledger.rows.len(),
        },
        ledger,
        first,
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Month 1 begins the split; month 2 carries its ledger: a shopper of both keeps month 1's
    /// listing, a new one gets month 2's; the record lists both runs.
    #[test]
    fn a_ledger_carries_first_listings_through_the_chain() {
        let (m1, m2) = ("2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z");
        let h = Holdout::new(0.3, "s", m1).unwrap();
        let one = carry(None, &h, m1, &ids(&["a", "b"])).unwrap();
        assert!(one.record.complete && one.warning.is_none());
        let before = Before {
            as_of: m1,
            holdout: Some(&h),
            record: Some(&one.record),
            ledger: Some(one.ledger),
        };
        let two = carry(Some(before), &h, m2, &ids(&["b", "c"])).unwrap();
        let (t1, t2) = (parse_timestamp(m1), parse_timestamp(m2));
        assert_eq!(two.first, vec![t1, t2]);
        assert_eq!(two.record.runs, vec![m1.to_string(), m2.to_string()]);
        assert!(two.record.complete);
        assert_eq!(two.record.shoppers, 3);
        let csv = String::from_utf8(two.ledger.to_csv().unwrap()).unwrap();
        assert_eq!(
            csv,
            format!("customer_id,first_listed\na,{m1}\nb,{m1}\nc,{m2}\n")
        );
    }

    /// A split begun before the run whose baseline kept no ledger: incomplete, with a warning.
    #[test]
    fn a_broken_chain_is_incomplete_and_says_why() {
        let (m1, m2) = ("2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z");
        let h = Holdout::new(0.3, "s", m1).unwrap();
        let before = Before {
            as_of: m1,
            holdout: Some(&h),
            record: None,
            ledger: None,
        };
        let two = carry(Some(before), &h, m2, &ids(&["b"])).unwrap();
        assert!(!two.record.complete);
        let w = two.warning.unwrap();
        assert!(
            w.contains("written before cartsona kept first listings"),
            "{w}"
        );
    }
}
