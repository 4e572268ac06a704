//! Learning the propensity from past weeks and scoring the run's abandoners with it (issue 20,
//! docs/propensity.md "Model", "Calibration", "Two kinds").
//!
//! In: the weeks of [`super::history`] (newest first: report, calibration, then training), the
//! run's clustering features, the penalty C and, for the **untreated** kind, the baseline's
//! holdout. Out: a [`Propensity`] (what model.json keeps and `assign` applies) and its
//! [`Measures`] on the newest week, or why there is not enough to learn from.
//!
//! The design matrix is the clustering features' transforms (fill, log1p, clip, standardise:
//! `cluster::matrix`) plus `days_since_abandon`, `ordered_since_abandon` and one 0/1 term per
//! lifecycle stage but the first (`new`), with its own scaler fitted on the training rows.

use anyhow::Result;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::cluster::matrix::{self, Scaler};
use crate::features::compute::{FeatureColumn, FeatureTable, Nums, Values};
use crate::propensity::explain::{self, Raw};
use crate::propensity::history::Week;
use crate::propensity::logistic::{self, sigmoid, Logistic};
use crate::propensity::metrics::{self, Bin, Decile, Platt};
use crate::util::timefmt;

/// At least this many positive labels among the training rows (and [`PER_TERM`] per term).
pub const MIN_POSITIVES: usize = 200;
pub const PER_TERM: usize = 10;
/// Quantile bins of the calibration error and the reliability chart.
pub const BINS: usize = 10;

/// The lifecycle stages that get a 0/1 term (`new` is the reference), as (term, stage).
pub const LEVELS: [(&str, &str); 3] = [
    ("lifecycle_active", "active"),
    ("lifecycle_loyal", "loyal"),
    ("lifecycle_lapsing", "lapsing"),
];
/// The terms added to the clustering features.
pub const EXTRA: [&str; 2] = ["days_since_abandon", "ordered_since_abandon"];

/// Whom the model learned from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnedFrom {
    /// Holdout shoppers only: the chance of coming back without any recovery message.
    Untreated,
    /// Every abandoner: the chance of coming back under the shop's usual messaging (not causal).
    AsUsual,
}

impl LearnedFrom {
    pub fn name(self) -> &'static str {
        match self {
            LearnedFrom::Untreated => "untreated",
            LearnedFrom::AsUsual => "as usual",
        }
    }
}

/// The learned propensity, as model.json keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Propensity {
    pub kind: LearnedFrom,
    /// W: the label window, as durations are written.
    pub window: String,
    /// The L2 penalty as scikit-learn's C.
    pub c: f64,
    /// The design terms' fitted constants, in the coefficients' order.
    pub scaler: Scaler,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// Applied after the logistic model when the calibration week needed it.
    pub platt: Option<Platt>,
    /// Shoppers above this untreated propensity get their play without an incentive.
    pub no_discount_above: f64,
    pub learned: Learned,
    /// Whether the run applied the no-discount rule (an untreated model, or forced), so `assign`
    /// applies it as the run did and a readout shows the no-discount group only where it was
    /// applied. `None` in models written before it was recorded: on exactly when untreated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_discount_rule: Option<bool>,
}

impl Propensity {
    /// Whether the no-discount rule was applied with this model (see `no_discount_rule`).
    pub fn rule_applied(&self) -> bool {
        self.no_discount_rule
            .unwrap_or(self.kind == LearnedFrom::Untreated)
    }
}

/// What the model learned from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    /// The oldest and newest training as-of points, and how many.
    pub train_from: String,
    pub train_to: String,
    pub train_weeks: usize,
    pub calibration_week: String,
    pub report_week: String,
    /// Past points left out because the orders do not cover their label window.
    pub uncovered_weeks: usize,
    pub train_rows: usize,
    pub train_positives: usize,
    /// The share of customers whose rows were used (1: all; `history::sample`).
    pub sample_fraction: f64,
    pub newton_iterations: usize,
    /// The fit the scores come from when it is not the measured one: refitted on every week
    /// (training, calibration and report) once they were measured. Absent: the measured fit is
    /// in use (Platt scaling was applied, which needs a week the fit has not seen; or a model
    /// file from before issue 31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use: Option<Refit>,
}

/// The refit in use: its as-of points (the newest is `report_week`), rows, positive labels and
/// Newton iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refit {
    pub weeks: usize,
    pub rows: usize,
    pub positives: usize,
    pub newton_iterations: usize,
}

/// How well the propensity does on the newest week (rows it was not fitted on).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measures {
    pub rows: usize,
    pub returned: usize,
    pub base_rate: f64,
    pub auc: Option<f64>,
    pub brier: f64,
    /// 1 - Brier / Brier of always predicting the week's base rate.
    pub brier_skill: Option<f64>,
    /// Expected calibration error on the calibration week, before any Platt scaling.
    pub calibration_week_ece: f64,
    /// On the newest week: before Platt scaling, and after it (when applied).
    pub ece_before: f64,
    pub ece_after: Option<f64>,
    pub reliability: Vec<Bin>,
    pub lift: Option<Vec<Decile>>,
}

/// A learned propensity: the model, its measures on the newest week, and a note on how it was
/// learned (the untreated kind was not possible).
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: Propensity,
    pub measures: Measures,
    pub note: Option<String>,
}

/// What an attempt to learn gives: what was learned, or why the data could not give it (an
/// error, the outer `Result`, is something else: a bug or an unreadable input).
#[derive(Debug, Clone)]
pub enum Attempt<T> {
    Learned(T),
    NotLearned(NotLearned),
}

/// Why the propensity was not learned, and whether it is only that the shop's data has too
/// little history yet (the command then prints a note of what it would take, not a warning).
#[derive(Debug, Clone, PartialEq)]
pub struct NotLearned {
    pub why: String,
    pub too_little_history: bool,
}

impl NotLearned {
    /// Too little history: too few past weeks or too few returns in them.
    pub fn history(why: impl Into<String>) -> NotLearned {
        NotLearned {
            why: why.into(),
            too_little_history: true,
        }
    }
    /// Anything else (no orders input, a fit that fails).
    pub fn other(why: impl Into<String>) -> NotLearned {
        NotLearned {
            why: why.into(),
            too_little_history: false,
        }
    }
}

impl std::fmt::Display for NotLearned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// Whether a customer id is in a holdout arm (`model::holdout::Holdout` says, by its rule).
pub trait HeldOut: Sync {
    fn held_out(&self, customer_id: &str) -> bool;
}

/// The holdout arm of the baseline's holdout (`model::holdout`).
#[derive(Clone, Copy)]
pub struct Untreated<'a> {
    pub holdout: &'a dyn HeldOut,
    /// When the holdout began: earlier points had no holdout.
    pub since: i64,
}

/// The settings of learning.
#[derive(Clone)]
pub struct LearnSettings<'a> {
    pub window: i64,
    pub c: f64,
    pub cluster_features: &'a [String],
    /// The baseline's holdout: learn the untreated kind from its holdout arm.
    pub holdout: Option<Untreated<'a>>,
    pub sample_fraction: f64,
    pub uncovered_weeks: usize,
    pub no_discount_above: f64,
}

/// The stage as the commands run it: the features of each past point of `plan` computed on
/// `ds` (the sampled rows), then [`learn`].
pub fn from_past(
    ds: &crate::ingest::schema::Dataset,
    plan: &super::weeks::WeekPlan,
    params: &crate::features::compute::FeatureParams,
    s: &LearnSettings,
) -> Result<Attempt<Trained>> {
    let points: Vec<i64> = [plan.report, plan.calibration]
        .into_iter()
        .chain(plan.train.iter().copied())
        .collect();
    let weeks = super::history::weeks(ds, params, &points, s.window)?;
    learn(&weeks, s)
}

/// Learns the propensity from `weeks` (newest first: report, calibration, training).
/// [`Attempt::NotLearned`]: not enough to learn from, and why. The untreated kind is tried first
/// when there is a holdout; with too few holdout positives the model is learned as usual and the
/// note says so.
pub fn learn(weeks: &[Week], s: &LearnSettings) -> Result<Attempt<Trained>> {
    assert!(weeks.len() >= 3, "weeks::plan gives at least three");
    let mut note = None;
    if let Some(h) = s.holdout {
        let held: Vec<Week> = weeks.iter().map(|w| holdout_rows(w, h)).collect();
        match learn_kind(&held, s, LearnedFrom::Untreated)? {
            learned @ Attempt::Learned(_) => return Ok(learned),
            Attempt::NotLearned(why) => {
                note = Some(format!(
                    "the untreated propensity needs the baseline's holdout shoppers: {why}; learned as usual from every abandoner instead"
                ))
            }
        }
    }
    Ok(match learn_kind(weeks, s, LearnedFrom::AsUsual)? {
        Attempt::Learned(trained) => Attempt::Learned(Trained { note, ..trained }),
        not => not,
    })
}

/// The holdout shoppers of a week (none before the holdout began).
fn holdout_rows(w: &Week, h: Untreated) -> Week {
    let keep: Vec<bool> = w
        .table
        .customers
        .iter()
        .map(|c| w.t >= h.since && h.holdout.held_out(c))
        .collect();
    Week {
        t: w.t,
        table: select(&w.table, &keep),
        returned: w
            .returned
            .iter()
            .zip(&keep)
            .filter(|x| *x.1)
            .map(|x| *x.0)
            .collect(),
    }
}

/// A logistic fit on some weeks: its scaler, coefficients, rows and positive labels.
struct WeekFit {
    scaler: Scaler,
    fit: Logistic,
    rows: usize,
    positives: usize,
}

/// Fits the propensity on `weeks` stacked, or says why it cannot (too few positive labels, in
/// all or per coefficient, or a fit that fails).
fn fit_on(weeks: &[Week], s: &LearnSettings) -> Result<Attempt<WeekFit>> {
    let stacked = stack(weeks.iter().map(|w| &w.table));
    let y: Vec<bool> = weeks
        .iter()
        .flat_map(|w| w.returned.iter().copied())
        .collect();
    let positives = y.iter().filter(|v| **v).count();
    if positives < MIN_POSITIVES {
        return Ok(Attempt::NotLearned(NotLearned::history(match y.len() {
            0 => format!("the past weeks it learns from hold no abandoners (at least {MIN_POSITIVES} of them coming back within the window are needed)"),
            rows => format!("{positives} of the {rows} abandoners of the past weeks it learns from came back within the window, at least {MIN_POSITIVES} needed"),
        })));
    }
    let terms = terms(s.cluster_features);
    let wanted = matrix::Wanted {
        features: &terms,
        chosen_by: None,
        baseline: None,
    };
    let (scaler, x, _) = match matrix::fit(&stacked, &wanted) {
        Ok(fitted) => fitted,
        Err(e) => return Ok(Attempt::NotLearned(NotLearned::other(format!("{e:#}")))),
    };
    let d = scaler.features.len();
    if positives < PER_TERM * (d + 1) {
        return Ok(Attempt::NotLearned(NotLearned::history(format!(
            "{positives} returns (orders within the window) for {} coefficients, at least {PER_TERM} per coefficient needed",
            d + 1
        ))));
    }
    Ok(match logistic::fit(x.view(), &y, Some(s.c)) {
        Ok(fit) => Attempt::Learned(WeekFit {
            scaler,
            fit,
            rows: y.len(),
            positives,
        }),
        Err(e) => Attempt::NotLearned(NotLearned::other(format!("{e:#}"))),
    })
}

/// Learns one kind: fitted on the training weeks, Platt scaling decided on the calibration week,
/// measured on the report week; then, unless Platt scaling is applied (it needs a week the fit
/// has not seen), refitted on every week for the scores (issue 31: the newest weeks, once
/// measured, are not left out of the model in use). The measures are the measured fit's.
fn learn_kind(weeks: &[Week], s: &LearnSettings, kind: LearnedFrom) -> Result<Attempt<Trained>> {
    let (report, calibration, train) = (&weeks[0], &weeks[1], &weeks[2..]);
    let measured = match fit_on(train, s)? {
        Attempt::Learned(f) => f,
        Attempt::NotLearned(why) => return Ok(Attempt::NotLearned(why)),
    };
    let raw = |w: &Week| -> Result<Vec<f64>> {
        let x = design(&measured.scaler, &w.table)?;
        Ok(x.rows()
            .into_iter()
            .map(|r| measured.fit.probability(r.as_slice().expect("rows")))
            .collect())
    };
    let cal_p = raw(calibration)?;
    let calibration_week_ece = metrics::ece(&cal_p, &calibration.returned, BINS);
    let (platt, _) = metrics::platt_if_needed(&cal_p, &calibration.returned);
    let before = raw(report)?;
    let after: Vec<f64> = match &platt {
        Some(pl) => before.iter().map(|p| pl.apply(*p)).collect(),
        None => before.clone(),
    };
    let measures = measures(
        &before,
        &after,
        &report.returned,
        calibration_week_ece,
        platt.is_some(),
    );
    let refit = match platt {
        Some(_) => None,
        None => match fit_on(weeks, s)? {
            Attempt::Learned(refit) => Some(refit),
            Attempt::NotLearned(_) => None,
        },
    };
    let learned = Learned {
        train_from: timefmt::format_timestamp(train.last().expect("a training week").t),
        train_to: timefmt::format_timestamp(train[0].t),
        train_weeks: train.len(),
        calibration_week: timefmt::format_timestamp(calibration.t),
        report_week: timefmt::format_timestamp(report.t),
        uncovered_weeks: s.uncovered_weeks,
        train_rows: measured.rows,
        train_positives: measured.positives,
        sample_fraction: s.sample_fraction,
        newton_iterations: measured.fit.iterations,
        in_use: refit.as_ref().map(|r| Refit {
            weeks: weeks.len(),
            rows: r.rows,
            positives: r.positives,
            newton_iterations: r.fit.iterations,
        }),
    };
    let used = refit.unwrap_or(measured);
    let propensity = Propensity {
        kind,
        window: timefmt::format_duration(s.window),
        c: s.c,
        scaler: used.scaler,
        intercept: used.fit.intercept,
        coefficients: used.fit.coefficients.clone(),
        platt,
        no_discount_above: s.no_discount_above,
        no_discount_rule: None,
        learned,
    };
    Ok(Attempt::Learned(Trained {
        model: propensity,
        measures,
        note: None,
    }))
}

fn measures(
    before: &[f64],
    after: &[f64],
    y: &[bool],
    calibration_week_ece: f64,
    scaled: bool,
) -> Measures {
    let returned = y.iter().filter(|v| **v).count();
    let empty = y.is_empty();
    Measures {
        rows: y.len(),
        returned,
        base_rate: if empty {
            0.0
        } else {
            returned as f64 / y.len() as f64
        },
        auc: metrics::auc(after, y),
        brier: if empty { 0.0 } else { metrics::brier(after, y) },
        brier_skill: if empty {
            None
        } else {
            metrics::brier_skill(after, y)
        },
        calibration_week_ece,
        ece_before: if empty {
            0.0
        } else {
            metrics::ece(before, y, BINS)
        },
        ece_after: (scaled && !empty).then(|| metrics::ece(after, y, BINS)),
        reliability: if empty {
            Vec::new()
        } else {
            metrics::reliability(after, y, BINS)
        },
        lift: metrics::lift(after, y),
    }
}

/// The design terms: the clustering features, then [`EXTRA`] and [`LEVELS`], each once.
pub fn terms(cluster_features: &[String]) -> Vec<String> {
    let mut terms: Vec<String> = cluster_features.to_vec();
    for t in EXTRA.iter().chain(LEVELS.iter().map(|l| &l.0)) {
        if !terms.iter().any(|x| x == t) {
            terms.push(t.to_string());
        }
    }
    terms
}

/// The lifecycle level of term `name`, if it is one of [`LEVELS`].
fn level(name: &str) -> Option<&'static str> {
    LEVELS.iter().find(|l| l.0 == name).map(|l| l.1)
}

/// Whether each shopper of `table` is at `stage` (`None`: the table has no lifecycle).
fn at_stage<'t>(table: &'t FeatureTable, stage: &'t str) -> Option<impl Iterator<Item = f64> + 't> {
    match &table.column("lifecycle_stage")?.values {
        Values::Cat(v) => Some(
            v.iter()
                .map(move |s| f64::from(u8::from(*s == Some(stage)))),
        ),
        Values::Num(_) => None,
    }
}

/// The design matrix of `table` under a fitted scaler (numeric features, and the lifecycle
/// levels computed from `lifecycle_stage`).
pub fn design(scaler: &Scaler, table: &FeatureTable) -> Result<Array2<f64>> {
    let with_levels = add_levels(table, scaler);
    matrix::apply(scaler, &with_levels)
}

/// `table`'s columns that `scaler` reads, plus its lifecycle terms as numeric columns.
fn add_levels(table: &FeatureTable, scaler: &Scaler) -> FeatureTable {
    let mut columns = Vec::new();
    for f in &scaler.features {
        if let Some((term, stage)) = LEVELS.iter().find(|l| l.0 == f.name) {
            if let Some(v) = at_stage(table, stage) {
                columns.push(FeatureColumn {
                    name: term,
                    values: Values::Num(v.map(Some).collect()),
                });
            }
        } else if let Some(c) = table.column(&f.name) {
            columns.push(c.clone());
        }
    }
    FeatureTable {
        customers: vec![String::new(); table.customers.len()],
        columns,
        abandoned_at: Vec::new(),
    }
}

/// The rows of `table` where `keep` is true.
fn select(table: &FeatureTable, keep: &[bool]) -> FeatureTable {
    let pick = |i: usize| keep[i];
    FeatureTable {
        customers: table
            .customers
            .iter()
            .enumerate()
            .filter(|x| pick(x.0))
            .map(|x| x.1.clone())
            .collect(),
        columns: table
            .columns
            .iter()
            .map(|c| FeatureColumn {
                name: c.name,
                values: match &c.values {
                    Values::Num(v) => Values::Num(
                        v.iter()
                            .enumerate()
                            .filter(|x| pick(x.0))
                            .map(|x| x.1)
                            .collect(),
                    ),
                    Values::Cat(v) => Values::Cat(
                        v.iter()
                            .enumerate()
                            .filter(|x| pick(x.0))
                            .map(|x| *x.1)
                            .collect(),
                    ),
                },
            })
            .collect(),
        abandoned_at: Vec::new(),
    }
}

/// The training weeks' tables one under the other, with the lifecycle levels as numeric columns
/// (the columns are the same every week: they depend only on which inputs there are).
fn stack<'a>(tables: impl Iterator<Item = &'a FeatureTable> + Clone) -> FeatureTable {
    let first = tables.clone().next().expect("a training week");
    let mut columns: Vec<FeatureColumn> = Vec::new();
    for c in &first.columns {
        let values = match &c.values {
            Values::Num(_) => {
                let mut all = Nums::default();
                for t in tables.clone() {
                    if let Some(Values::Num(v)) = t.column(c.name).map(|c| &c.values) {
                        v.iter().for_each(|x| all.push(x));
                    }
                }
                Values::Num(all)
            }
            Values::Cat(_) => Values::Cat(
                tables
                    .clone()
                    .flat_map(|t| match t.column(c.name).map(|c| &c.values) {
                        Some(Values::Cat(v)) => v.clone(),
                        _ => Vec::new(),
                    })
                    .collect(),
            ),
        };
        columns.push(FeatureColumn {
            name: c.name,
            values,
        });
    }
    let rows: usize = tables.clone().map(|t| t.customers.len()).sum();
    let mut stacked = FeatureTable {
        customers: vec![String::new(); rows],
        columns,
        abandoned_at: Vec::new(),
    };
    for (term, stage) in LEVELS {
        if let Some(v) = at_stage(&stacked, stage).map(|v| v.map(Some).collect::<Nums>()) {
            stacked.columns.push(FeatureColumn {
                name: term,
                values: Values::Num(v),
            });
        }
    }
    stacked
}

/// The run's abandoners scored: the propensity (after Platt scaling, when the model has it) and
/// the reasons in words, in `table`'s order.
pub fn score(p: &Propensity, table: &FeatureTable) -> Result<(Vec<f64>, Vec<String>)> {
    let x = design(&p.scaler, table)?;
    let fit = Logistic {
        intercept: p.intercept,
        coefficients: p.coefficients.clone(),
        c: Some(p.c),
        iterations: 0,
    };
    let mut scores = Vec::with_capacity(x.nrows());
    let mut reasons = Vec::with_capacity(x.nrows());
    for (i, row) in x.rows().into_iter().enumerate() {
        let z = row.as_slice().expect("rows of a standard-layout matrix");
        let raw = sigmoid(fit.logit(z));
        scores.push(p.platt.map_or(raw, |pl| pl.apply(raw)));
        let words: Vec<Raw> = p
            .scaler
            .features
            .iter()
            .map(|f| raw_of(table, &f.name, i))
            .collect();
        reasons.push(explain::reasons(&p.coefficients, z, &words));
    }
    Ok((scores, reasons))
}

/// A term's raw value for the words.
fn raw_of<'a>(table: &'a FeatureTable, name: &'a str, i: usize) -> Raw<'a> {
    if let Some(stage) = level(name) {
        let has = matches!(&table.column("lifecycle_stage").map(|c| &c.values), Some(Values::Cat(v)) if v[i] == Some(stage));
        return Raw::Level("lifecycle_stage", stage, has);
    }
    match table.column(name).map(|c| &c.values) {
        Some(Values::Num(v)) => Raw::Num(name, v.get(i)),
        _ => Raw::Num(name, None),
    }
}
