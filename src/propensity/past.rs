//! The rows the propensity learns from, set aside before a run's features consume the dataset:
//! the as-of points one window apart within the history (`weeks::plan`), the customer sample
//! (`history::sample_fraction`), the sampled rows with open carts restored, and notes on why the
//! past weeks may be approximate. Out: [`Past`], or why the data cannot give it ([`NotLearned`]).

use super::learn::{NotLearned, MIN_POSITIVES};
use super::{history, weeks};
use crate::features::compute::{self, FeatureParams, FeatureSummary, FeatureTable};
use crate::ingest::schema::{Dataset, TableKind};

/// The propensity's past rows (docs/propensity.md): the sampled customers' rows and the as-of
/// points to compute their features at.
pub struct Past {
    /// The sampled customers' rows; the whole dataset when every customer is kept (it is then
    /// moved here instead of copied, and the run's features are computed without taking it).
    pub dataset: Option<Dataset>,
    pub plan: weeks::WeekPlan,
    pub fraction: f64,
    /// Why the past weeks may be approximate (final-state exports), for the report.
    pub notes: Vec<String>,
}

/// How far back and how finely the propensity looks, and what the carts export keeps.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub window: i64,
    pub history: i64,
    /// The carts export keeps each cart's final state only (Shopify's checkouts).
    pub final_state_export: bool,
}

/// The run's features computed from `ds`, the propensity's past rows kept: when every customer
/// is kept, the dataset itself moves into `past` (open carts restored) after the features are
/// computed from it, instead of being copied.
pub fn features_keeping_past(
    ds: Dataset,
    params: &FeatureParams,
    past: Option<&mut Result<Past, NotLearned>>,
) -> anyhow::Result<(FeatureTable, FeatureSummary)> {
    match past {
        Some(Ok(p)) if p.dataset.is_none() => {
            let computed = compute::compute_at(&ds, params)?;
            let mut ds = ds;
            history::open_carts(&mut ds);
            p.dataset = Some(ds);
            Ok(computed)
        }
        _ => compute::compute(ds, params),
    }
}

/// The share of single-row carts open at a past week (history::single_rows_open_at) from which
/// the past weeks are called approximate: one cart in twenty.
const OPEN_SINGLE_ROWS_NOTE: f64 = 0.05;

/// The past rows for `settings`, taken from `ds` before the run's features consume it, or why
/// the data cannot give them.
pub fn past(ds: &Dataset, params: &FeatureParams, span: Span) -> Result<Past, NotLearned> {
    let (window, history_span) = (span.window, span.history);
    if !ds.present.has_kind(TableKind::Orders) {
        return Err(NotLearned::other(
            "there is no orders input, so a return cannot be told",
        ));
    }
    let span_of_rows = compute::span(ds);
    // A label window is complete only as far as the orders themselves reach (issue 31: judged by
    // the latest timestamp of any input, a lagging orders export labelled its newest weeks 0).
    let orders_end = ds.orders.iter().map(|o| o.ordered_at).max();
    let (Some(t), Some(start), Some(end)) = (
        params.as_of.or(span_of_rows.map(|s| s.1)),
        span_of_rows.map(|s| s.0),
        orders_end,
    ) else {
        return Err(NotLearned::other("the inputs hold no rows (or no orders)"));
    };
    let plan = weeks::plan(t, window, history_span, start, end).map_err(|short| {
        NotLearned::history(format!(
            "only {} past as-of point(s) one propensity window apart have a complete label window within the data and --propensity-history ({} not covered by the orders); at least 3 are needed",
            short.covered, short.uncovered
        ))
    })?;
    // Before setting anything aside or computing a single past week: can the training weeks
    // give enough positive labels at all? (A one-month shop cannot; it used to find out after
    // computing every past week's features, a tenth of the run.)
    let bound = history::positives_bound(ds, t, window, params.abandon_after, &plan.train);
    if bound < MIN_POSITIVES {
        let held = match bound {
            0 => "no abandoners".to_string(),
            n => format!("at most {n} abandoners"),
        };
        return Err(NotLearned::history(format!(
            "the past weeks it trains on hold {held} coming back within the window (at least {MIN_POSITIVES} are needed)"
        )));
    }
    let fraction = history::sample_fraction(ds, plan.train.len());
    let mut notes = Vec::new();
    let points: Vec<i64> = [plan.report, plan.calibration]
        .into_iter()
        .chain(plan.train.iter().copied())
        .collect();
    let open = history::single_rows_open_at(ds, &points);
    if open >= OPEN_SINGLE_ROWS_NOTE {
        notes.push(format!("the history is approximate: {:.0}% of carts have a single row, dated after a past week at which the cart was already open; those weeks count the cart from its created_at with the values of that later row (its value and step may have changed since), and carts the export dropped (e.g. completed ones) not at all", open * 100.0));
    }
    if span.final_state_export {
        notes.push("the history is approximate: Shopify's checkout export keeps each checkout's final state: it drops checkouts that later completed, so the past weeks see fewer abandoners than there were, and the ones they see carry their final values".into());
    }
    Ok(Past {
        dataset: (fraction < 1.0).then(|| {
            let mut sampled = history::sample(ds, fraction);
            history::open_carts(&mut sampled);
            sampled
        }),
        plan,
        fraction,
        notes,
    })
}
