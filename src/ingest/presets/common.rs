//! What the presets share: the [`Derived`] tables and reports they return, finding columns in an
//! export's header, counting row problems by reason ([`FileLog`]), and amounts as text.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::ingest::load::{tally, FileReport, Problem, ReasonCount};
use crate::ingest::schema::{BadRows, TableKind};
use crate::io::read::{Source, Table};

/// What a preset derived: canonical tables, and one report per export it read.
pub struct Derived {
    pub tables: Vec<(TableKind, Table)>,
    pub reports: Vec<FileReport>,
    /// Features the exports cannot inform, with the reason (see `schema::Present::unknown`).
    pub unknown: Vec<(&'static str, String)>,
}

/// Finds a column in a header: exactly, then ignoring case and surrounding spaces.
pub(crate) fn find_column(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name).or_else(|| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
    })
}

/// Row problems of one export: stops at the first (`--on-bad-rows fail`) or counts them by reason.
pub(crate) struct FileLog {
    pub file: String,
    bad_rows: BadRows,
    pub rejected: u64,
    reasons: BTreeMap<&'static str, ReasonCount>,
}

impl FileLog {
    pub fn new(src: &Source, bad_rows: BadRows) -> FileLog {
        FileLog {
            file: src.display(),
            bad_rows,
            rejected: 0,
            reasons: BTreeMap::new(),
        }
    }

    /// Records a bad row; an error under `--on-bad-rows fail`.
    pub fn reject(
        &mut self,
        reason: &'static str,
        line: u64,
        column: &str,
        value: &str,
        message: String,
    ) -> Result<()> {
        if self.bad_rows == BadRows::Fail {
            bail!(
                "{}: line {line}, column {column}: {message} (use --on-bad-rows skip to drop such rows and count them, or `cartsona validate` to list them all)",
                self.file
            );
        }
        self.rejected += 1;
        tally(&mut self.reasons, reason, || {
            let mut shown: String = value.chars().take(80).collect();
            if shown.len() < value.len() {
                shown.push('…');
            }
            Problem {
                line,
                column: column.to_string(),
                value: shown,
                message,
            }
        });
        Ok(())
    }

    pub fn report(
        self,
        src: &Source,
        kind: &'static str,
        preset: &'static str,
        rows_read: u64,
        notes: Vec<String>,
    ) -> FileReport {
        FileReport {
            path: self.file,
            kind,
            preset: Some(preset),
            format: src.format,
            rows_read,
            rows_rejected: self.rejected,
            problems: self.reasons.into_values().collect(),
            notes,
        }
    }
}

/// The problems a row can have before any of its values is looked at: a field count that differs
/// from the header's, or a cell that is not UTF-8 (`column` names the selected cell `i`).
/// Returns (reason, column, message).
pub(crate) fn row_shape_problem(
    row: &crate::io::read::Row<'_>,
    column: impl Fn(usize) -> String,
) -> Option<(&'static str, String, String)> {
    if let Some((found, expected)) = row.ragged {
        return Some((
            "wrong_field_count",
            "(row)".into(),
            format!("the row has {found} fields but the header has {expected} (check the delimiter and quoting)"),
        ));
    }
    let bad = row
        .cells
        .iter()
        .position(|c| matches!(c, crate::io::read::Cell::BadUtf8))?;
    Some((
        "not_utf8",
        column(bad),
        "the value is not valid UTF-8 text".into(),
    ))
}

/// A money amount or quantity as derived text: rounded to 6 decimals (sums of prices such as
/// 35.79 + 33.20 would otherwise print as 68.99000000000001), shortest form.
pub(crate) fn amount_text(v: f64) -> String {
    let r = (v * 1e6).round() / 1e6;
    if r == 0.0 {
        "0".to_string()
    } else {
        r.to_string()
    }
}

/// Parses a money amount: a finite number >= 0.
pub(crate) fn parse_amount(s: &str) -> Result<f64, (&'static str, String)> {
    let q = crate::util::text::short(s);
    match s.parse::<f64>() {
        Ok(v) if !v.is_finite() => Err(("not_finite", format!("'{q}' is not a finite number"))),
        Ok(v) if v < 0.0 => Err(("negative", format!("'{q}' is negative; it must be >= 0"))),
        Ok(v) => Ok(v),
        Err(_) => Err((
            "not_a_number",
            format!("'{q}' is not a number (write it like 12.50, without currency signs or thousands separators)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_rounded_to_six_decimals() {
        assert_eq!(amount_text(35.79 + 33.20), "68.99");
        assert_eq!(amount_text(0.1 + 0.2), "0.3");
        assert_eq!(amount_text(-0.0), "0");
        assert_eq!(amount_text(12.0), "12");
    }

    #[test]
    fn columns_are_found_exactly_then_ignoring_case() {
        let h: Vec<String> = ["Email", "email", " Created at "]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(find_column(&h, "email"), Some(1));
        assert_eq!(find_column(&h, "EMAIL"), Some(0));
        assert_eq!(find_column(&h, "created at"), Some(2));
        assert_eq!(find_column(&h, "Total"), None);
    }
}
