//! drift.md and junit.xml, both rendered from the one DriftReport.

use std::fmt::Write as _;

use super::junit;
use crate::drift::compare::DriftReport;
use crate::util::gate::Status;
use crate::util::text::md_cell;

fn threshold(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x}"))
}

pub fn markdown(r: &DriftReport) -> String {
    let mut o = String::new();
    let verdict = match r.status {
        Status::Pass | Status::NotMeasured => "no drift over the thresholds",
        Status::Warn => "drift over a warning threshold, none over a failure threshold",
        Status::Fail => "drift over a failure threshold",
    };
    let _ = writeln!(o, "# Persona drift: {verdict}\n");
    let _ = writeln!(
        o,
        "Baseline `{}` (as of {}) vs current `{}` (as of {}).\n",
        r.baseline, r.baseline_as_of, r.current, r.current_as_of
    );
    let failed = r.named(Status::Fail);
    if !failed.is_empty() {
        let _ = writeln!(o, "Failed: {}.\n", failed.join("; "));
    }
    for n in &r.notes {
        let _ = writeln!(o, "> Note: {n}\n");
    }
    let _ = writeln!(o, "## Persona shares (PSI {:.3})\n", r.share_psi);
    let _ = writeln!(o, "| id | persona | baseline | current | change |");
    let _ = writeln!(o, "|---|---|---:|---:|---:|");
    for s in &r.shares {
        let _ = writeln!(
            o,
            "| {} | {} | {:.1}% | {:.1}% | {:+.1} pts |",
            s.id,
            md_cell(&s.name),
            s.baseline * 100.0,
            s.current * 100.0,
            s.change * 100.0
        );
    }
    if let Some(stayed) = r.migration.stayed {
        let _ = writeln!(
            o,
            "\n## Migration ({} shoppers in both runs, {:.1}% stayed)\n",
            r.migration.shoppers_in_both,
            stayed * 100.0
        );
        let _ = writeln!(
            o,
            "| baseline \\ current | {} |",
            r.migration.current_ids.join(" | ")
        );
        let _ = writeln!(o, "|---|{}", "---:|".repeat(r.migration.current_ids.len()));
        for (i, id) in r.migration.baseline_ids.iter().enumerate() {
            let row: Vec<String> = r.migration.counts[i].iter().map(u64::to_string).collect();
            let _ = writeln!(o, "| {id} | {} |", row.join(" | "));
        }
    }
    let _ = writeln!(o, "\n## Checks\n");
    let _ = writeln!(o, "| status | check | value | warn | fail | detail |");
    let _ = writeln!(o, "|---|---|---:|---:|---:|---|");
    for c in &r.checks {
        let _ = writeln!(
            o,
            "| {} | {} | {:.3} | {} | {} | {} |",
            c.status.mark(),
            md_cell(&c.name),
            c.value,
            threshold(c.warn),
            threshold(c.fail),
            md_cell(&c.message)
        );
    }
    o
}

/// JUnit XML: one test suite per check group, one test case per check; a failed check is a
/// `<failure>` carrying its numbers, a warning is noted in `<system-out>`.
pub fn junit(r: &DriftReport) -> String {
    let mut suites: Vec<junit::Suite> = Vec::new();
    for c in &r.checks {
        let detail = format!(
            "{}: value {:.4}, warn at {}, fail at {}",
            c.message,
            c.value,
            threshold(c.warn),
            threshold(c.fail)
        );
        let result = junit::Result::of(c.status, &c.message, "threshold", &detail, None);
        let suite_name = format!("drift.{}", c.group);
        if !suites.iter().any(|s| s.name == suite_name) {
            suites.push(junit::Suite {
                name: suite_name.clone(),
                cases: Vec::new(),
            });
        }
        let suite = suites
            .iter_mut()
            .find(|s| s.name == suite_name)
            .expect("added");
        suite.cases.push(junit::Case {
            classname: format!("cartsona.{suite_name}"),
            name: c.name.clone(),
            result,
        });
    }
    junit::render("cartsona drift", &suites)
}
