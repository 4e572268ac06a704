//! Per-shopper uplift, learned from the randomized shoppers (issue 32; docs/outcomes.md "Whom to
//! message: per-shopper uplift").
//!
//! In: the counted first-exposure shoppers ([`Outcome`]: arm, recovery, net revenue), their
//! covariates at the listing that counted them (every run's clustering features and return
//! propensity, [`Runs::covariates`]) and their persona. Out: [`Scored`]: each test shopper's
//! uplift from a model that never saw them, and the model learned on every shopper, which
//! `segment`/`assign --outcomes` apply to a new month.
//!
//! The learner is a T-learner: the project's L2 logistic regression (propensity::logistic,
//! C = 1 on standardized columns, unknown values at the mean) on each arm, the uplift the
//! difference of the two probabilities. The arm was drawn by a hash with a known probability,
//! independent of the covariates, so each arm's model estimates P(recovered | x, arm) with no
//! model of who was treated; the known probability weights the test (outcomes::targeting). Why
//! not a doubly-robust learner: at 1-10% recovery its pseudo-outcome (y / p for a few shoppers,
//! 0 for most) is far noisier than two logistic fits, and the test below is what keeps either
//! honest.
//!
//! The honest test: out of time when the shoppers come from runs with two or more different T
//! (learned on the earlier runs' shoppers, tested on the newest run's), else 5-fold
//! cross-fitting (each fold scored by the model learned on the other four; folds by a seeded
//! shuffle, so the scores are the same on any thread count).

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::load::Runs;
use super::readout::Outcome;
use crate::model::holdout::Arm;
use crate::propensity::logistic::{self, Logistic};

/// The learner's penalty, scikit-learn's C, on standardized columns.
pub const C: f64 = 1.0;
/// Folds of the cross-fitting when the runs have one T.
pub const FOLDS: usize = 5;
/// Shoppers a model learns from at most (a seeded subsample above it): two logistic fits on
/// 50,000 shoppers take a fraction of a second, and more moves the uplift's ranking little.
pub const MAX_LEARN: usize = 50_000;
/// Recoveries and non-recoveries each arm's learning shoppers must have at least.
pub const MIN_EACH: usize = 10;
/// What the method is, in words (outcomes.json `uplift.method`).
pub const METHOD: &str = "T-learner: L2 logistic regression (C = 1, standardized columns, unknown values at the mean) of recovery on each arm; uplift = P(recovered | treated) - P(recovered | held out)";

/// The model that scores a shopper: standardize the raw columns, then the two arms' logistic
/// regressions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftModel {
    /// The covariates, then one `persona=ID` indicator per persona.
    pub columns: Vec<String>,
    pub means: Vec<f64>,
    /// 1 / the standard deviation (0: the column was constant among the learning shoppers).
    pub scales: Vec<f64>,
    pub treatment: Logistic,
    pub holdout: Logistic,
}

impl UpliftModel {
    /// The standardized row of raw values.
    fn standardize(&self, raw: &[f64]) -> Vec<f64> {
        raw.iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(v, (m, s))| standardized(*v, *m, *s))
            .collect()
    }

    /// The model's parts for `assign --emit-sql` (model::sql).
    pub fn sql(&self) -> crate::model::sql::UpliftSql<'_> {
        crate::model::sql::UpliftSql {
            columns: &self.columns,
            means: &self.means,
            scales: &self.scales,
            treatment: &self.treatment,
            holdout: &self.holdout,
        }
    }

    /// The expected change in recovery probability if the shopper is messaged.
    pub fn uplift(&self, raw: &[f64]) -> f64 {
        let z = self.standardize(raw);
        self.treatment.probability(&z) - self.holdout.probability(&z)
    }

    /// The uplift of `n` shoppers, `value(i, j)` giving shopper i's raw value of column j (NaN:
    /// unknown). On every thread; each shopper's value is the same on any count.
    pub fn score_each(&self, n: usize, value: impl Fn(usize, usize) -> f64 + Sync) -> Vec<f64> {
        use rayon::prelude::*;
        (0..n)
            .into_par_iter()
            .map_init(
                || vec![0.0; self.columns.len()],
                |raw, i| {
                    for (j, v) in raw.iter_mut().enumerate() {
                        *v = value(i, j);
                    }
                    self.uplift(raw)
                },
            )
            .collect()
    }
}

/// A raw value standardized (NaN, unknown: the mean, so 0).
fn standardized(v: f64, mean: f64, scale: f64) -> f64 {
    if v.is_finite() {
        (v - mean) * scale
    } else {
        0.0
    }
}

/// How the uplift was tested on shoppers its model did not learn from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HonestTest {
    /// Learned on the earlier runs' shoppers (their as-of), tested on the newest run's.
    OutOfTime {
        learned_on: Vec<String>,
        tested_on: String,
    },
    /// K-fold cross-fitting within one experiment.
    CrossFit { folds: usize },
    /// One experiment too large for the folds to be worth their cost: a seeded sample of
    /// [`MAX_LEARN`] learns, every other shopper is tested.
    SampleSplit,
}

/// A test shopper, scored by a model that did not learn from them.
#[derive(Debug, Clone)]
pub struct ScoredShopper {
    pub uplift: f64,
    pub treated: bool,
    /// P(treatment) of their run: 1 − its holdout share (or the observed share, see
    /// [`Scored::probability_known`]).
    pub p_treated: f64,
    pub recovered: bool,
    pub net_revenue: f64,
    pub persona: usize,
    /// Index into `Runs::shoppers` (breaks ties between equal scores).
    pub listing: usize,
}

/// The test's scores and the model for new months.
#[derive(Debug, Clone)]
pub struct Scored {
    pub test: HonestTest,
    /// Shoppers the scoring models learned from (out of time: the earlier runs'; cross-fit: all).
    pub learned_on: usize,
    pub shoppers: Vec<ScoredShopper>,
    /// Whether every run gave its holdout share (else the observed treated share is used).
    pub probability_known: bool,
    /// Learned on every counted shopper.
    pub model: UpliftModel,
}

/// The raw columns of the counted shoppers, read from their listings when needed (a matrix of
/// every shopper would hold 176 MB at a million): covariates, then persona indicators.
pub struct Design<'a> {
    all: &'a [Outcome],
    runs: &'a Runs,
    pub columns: Vec<String>,
}

impl<'a> Design<'a> {
    pub fn new(all: &'a [Outcome], runs: &'a Runs) -> Design<'a> {
        let mut columns = runs.covariates.clone();
        columns.extend(runs.personas.iter().map(|(id, _)| format!("persona={id}")));
        Design { all, runs, columns }
    }

    /// Shopper i's raw row into `row` (NaN: unknown).
    fn fill(&self, i: usize, row: &mut [f64]) {
        let o = &self.all[i];
        let c = self.runs.covariates.len();
        row.fill(0.0);
        for (j, v) in self.runs.shoppers[o.listing].covariates.iter().enumerate() {
            row[j] = f64::from(*v);
        }
        row[c + o.persona] = 1.0;
    }
}

/// Learns the two arms' models on the shoppers `rows`.
pub fn learn(x: &Design<'_>, rows: &[usize]) -> Result<UpliftModel> {
    let (all, d) = (x.all, x.columns.len());
    let mut raw = ndarray::Array2::<f64>::zeros((rows.len(), d));
    for (mut row, &i) in raw.rows_mut().into_iter().zip(rows) {
        x.fill(i, row.as_slice_mut().expect("a standard-layout row"));
    }
    let (mut means, mut scales) = (vec![0.0; d], vec![0.0; d]);
    for j in 0..d {
        let known: Vec<f64> = raw
            .column(j)
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if known.len() < 2 {
            continue;
        }
        let mean = known.iter().sum::<f64>() / known.len() as f64;
        let var = known.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (known.len() - 1) as f64;
        means[j] = mean;
        scales[j] = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
    }
    let mut fits = Vec::with_capacity(2);
    for arm in [Arm::Treatment, Arm::Holdout] {
        // Positions in `rows` (and `raw`) of this arm's shoppers.
        let mine: Vec<usize> = (0..rows.len())
            .filter(|&k| all[rows[k]].arm == arm)
            .collect();
        let y: Vec<bool> = mine.iter().map(|&k| all[rows[k]].recovered).collect();
        let back = y.iter().filter(|&&v| v).count();
        if back < MIN_EACH || y.len() - back < MIN_EACH {
            bail!(
                "the {} arm's learning shoppers have {back} recoveries of {}: fewer than {MIN_EACH} recovered or not to learn from",
                arm.name(),
                y.len()
            );
        }
        let mut z = ndarray::Array2::<f64>::zeros((mine.len(), d));
        for (mut row, &k) in z.rows_mut().into_iter().zip(&mine) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = standardized(raw[[k, j]], means[j], scales[j]);
            }
        }
        fits.push(logistic::fit(z.view(), &y, Some(C))?);
    }
    let holdout = fits.pop().expect("two fits");
    let treatment = fits.pop().expect("two fits");
    Ok(UpliftModel {
        columns: x.columns.clone(),
        means,
        scales,
        treatment,
        holdout,
    })
}

/// One model's learning rows and the rows it scores.
struct Split {
    learn: Vec<usize>,
    test: Vec<usize>,
}

/// The shoppers in a seeded order (ChaCha8 from `seed` mixed with a fixed key): the folds and
/// the learning subsamples follow it, so they are the same on any thread count.
fn seeded_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let key = crate::util::mix::mix64(seed ^ 0x7570_6c69_6674_u64);
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(key));
    order
}

/// At most [`MAX_LEARN`] of `rows`: the first in the seeded order (`position[i]`: shopper i's
/// place in it), back in index order.
fn subsample(mut rows: Vec<usize>, position: &[usize]) -> Vec<usize> {
    if rows.len() > MAX_LEARN {
        rows.sort_unstable_by_key(|&i| position[i]);
        rows.truncate(MAX_LEARN);
        rows.sort_unstable();
    }
    rows
}

/// Which shoppers test which model: out of time when the runs have two T or more (learned on a
/// subsample of the earlier runs' shoppers), else the folds, or above [`FOLDS`] x [`MAX_LEARN`]
/// / ([`FOLDS`] − 1) shoppers one sample split (the first [`MAX_LEARN`] of the seeded order
/// learn, every other shopper is tested).
fn splits(all: &[Outcome], runs: &Runs, order: &[usize]) -> (HonestTest, Vec<Split>) {
    let mut position = vec![0; order.len()];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    let t_of = |o: &Outcome| runs.shoppers[o.listing].t;
    let newest = all.iter().map(t_of).max().unwrap_or(0);
    let (before, last): (Vec<usize>, Vec<usize>) =
        (0..all.len()).partition(|&i| t_of(&all[i]) < newest);
    if !before.is_empty() && !last.is_empty() {
        let as_of = |pick: &dyn Fn(i64) -> bool| {
            let mut seen: Vec<String> = Vec::new();
            for r in runs.runs.iter().filter(|r| pick(r.t)) {
                if !seen.contains(&r.as_of) {
                    seen.push(r.as_of.clone());
                }
            }
            seen
        };
        let test = HonestTest::OutOfTime {
            learned_on: as_of(&|t| t < newest),
            tested_on: as_of(&|t| t == newest).join(", "),
        };
        let learn = subsample(before, &position);
        return (test, vec![Split { learn, test: last }]);
    }
    if all.len() * (FOLDS - 1) > FOLDS * MAX_LEARN {
        let (mut learn, mut test) = (order[..MAX_LEARN].to_vec(), order[MAX_LEARN..].to_vec());
        learn.sort_unstable();
        test.sort_unstable();
        return (HonestTest::SampleSplit, vec![Split { learn, test }]);
    }
    let folds = (0..FOLDS)
        .map(|k| {
            let (mut test, mut learn): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
            for (pos, &i) in order.iter().enumerate() {
                if pos % FOLDS == k {
                    test.push(i)
                } else {
                    learn.push(i)
                }
            }
            test.sort_unstable();
            learn.sort_unstable();
            Split { learn, test }
        })
        .collect();
    (HonestTest::CrossFit { folds: FOLDS }, folds)
}

/// Learns and tests the uplift of `all` (randomized first exposures with an arm each). Err: why
/// nothing could be learned (too few recoveries in an arm of a learning set).
pub fn score(all: &[Outcome], runs: &Runs, seed: u64) -> Result<Scored> {
    use rayon::prelude::*;
    let x = Design::new(all, runs);
    let order = seeded_order(all.len(), seed);
    let (test, splits) = splits(all, runs, &order);
    let mut position = vec![0; order.len()];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    // The model for new months learns from every shopper (a seeded subsample above MAX_LEARN:
    // with one split, the split's own learning shoppers, so it is fitted once).
    let rows = subsample((0..all.len()).collect(), &position);
    let model = learn(&x, &rows)?;
    let treated_share =
        all.iter().filter(|o| o.arm == Arm::Treatment).count() as f64 / all.len().max(1) as f64;
    let probability_known = all.iter().all(|o| o.planned_share.is_some());
    let mut shoppers = Vec::new();
    let mut learned_on = 0;
    for split in &splits {
        let m = match split.learn == rows {
            true => model.clone(),
            false => learn(&x, &split.learn)?,
        };
        learned_on = learned_on.max(split.learn.len());
        let scored: Vec<ScoredShopper> = split
            .test
            .par_iter()
            .map_init(
                || vec![0.0; x.columns.len()],
                |raw, &i| {
                    x.fill(i, raw);
                    let o = &all[i];
                    ScoredShopper {
                        uplift: m.uplift(raw),
                        treated: o.arm == Arm::Treatment,
                        p_treated: match probability_known {
                            true => 1.0 - o.planned_share.unwrap_or(0.0),
                            false => treated_share,
                        },
                        recovered: o.recovered,
                        net_revenue: o.net_revenue,
                        persona: o.persona,
                        listing: o.listing,
                    }
                },
            )
            .collect();
        shoppers.extend(scored);
    }
    if matches!(test, HonestTest::CrossFit { .. }) {
        learned_on = all.len();
    }
    Ok(Scored {
        test,
        learned_on,
        shoppers,
        probability_known,
        model,
    })
}
