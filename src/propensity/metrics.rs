//! How good a propensity is, on rows whose outcome is known (issue 20, docs/propensity.md):
//! discrimination (AUC), accuracy (Brier score and its skill against the base rate), calibration
//! (expected calibration error over quantile bins, the reliability bins behind it, and Platt
//! scaling to repair it) and the lift table by decile.
//!
//! In: predicted probabilities and 0/1 outcomes, row for row. Out: plain numbers and tables for
//! the summary and reports. Every formula is checked against scikit-learn and numpy on fixtures
//! (tests/propensity_stats.rs). Rows are ordered by score with the row index breaking ties, so
//! every bin holds the same rows on any machine.

use anyhow::Result;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::logistic::{self, sigmoid};

/// The area under the ROC curve: the chance that a random returning shopper scores above a
/// random non-returning one, ties counting half (the Mann-Whitney statistic, as scikit-learn's
/// `roc_auc_score`). `None` without both outcomes.
pub fn auc(scores: &[f64], outcomes: &[bool]) -> Option<f64> {
    let positives = outcomes.iter().filter(|&&y| y).count();
    let negatives = outcomes.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let order = ascending(scores);
    // Midranks (1-based) of tied runs, summed over the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let midrank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += midrank * order[i..=j].iter().filter(|&&r| outcomes[r]).count() as f64;
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// The mean squared difference between probability and outcome.
pub fn brier(probabilities: &[f64], outcomes: &[bool]) -> f64 {
    let sum: f64 = probabilities
        .iter()
        .zip(outcomes)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    sum / probabilities.len() as f64
}

/// `1 - Brier / Brier of the base rate`, the base rate being these rows' own share of returns
/// (whose Brier score is `r (1 - r)`): above 0 the propensity tells shoppers apart better than
/// one rate for all. `None` when every outcome is the same.
pub fn brier_skill(probabilities: &[f64], outcomes: &[bool]) -> Option<f64> {
    let rate = share(outcomes);
    let reference = rate * (1.0 - rate);
    (reference > 0.0).then(|| 1.0 - brier(probabilities, outcomes) / reference)
}

/// One bin of rows with neighbouring probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub rows: usize,
    /// The lowest and highest probability in the bin.
    pub low: f64,
    pub high: f64,
    pub mean_predicted: f64,
    /// The share of the bin's rows that returned.
    pub observed: f64,
}

/// The rows in `bins` groups of consecutive probabilities, as equal in size as can be (the first
/// `n mod bins` groups one row larger, as numpy's `array_split`): the reliability chart's points.
pub fn reliability(probabilities: &[f64], outcomes: &[bool], bins: usize) -> Vec<Bin> {
    let order = ascending(probabilities);
    groups(order.len(), bins)
        .map(|range| {
            let rows = &order[range];
            let p: Vec<f64> = rows.iter().map(|&r| probabilities[r]).collect();
            Bin {
                rows: rows.len(),
                low: p[0],
                high: p[p.len() - 1],
                mean_predicted: p.iter().sum::<f64>() / p.len() as f64,
                observed: rows.iter().filter(|&&r| outcomes[r]).count() as f64 / rows.len() as f64,
            }
        })
        .collect()
}

/// The expected calibration error over `bins` quantile bins: the mean, weighted by rows, of the
/// gap between a bin's mean probability and its share of returns.
pub fn ece(probabilities: &[f64], outcomes: &[bool], bins: usize) -> f64 {
    let n = probabilities.len() as f64;
    reliability(probabilities, outcomes, bins)
        .iter()
        .map(|b| b.rows as f64 / n * (b.mean_predicted - b.observed).abs())
        .sum()
}

/// One decile of the lift table, highest propensities first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    /// 1 holds the highest propensities.
    pub decile: usize,
    pub rows: usize,
    pub returned: usize,
    /// The decile's share of returns over the share of all rows: 1 is no better than chance.
    pub lift: f64,
    /// The share of all returns found in this decile and those above it.
    pub captured: f64,
}

/// The lift table: rows by propensity, highest first, in ten groups as [`reliability`] forms
/// them; `None` when nobody returned.
pub fn lift(probabilities: &[f64], outcomes: &[bool]) -> Option<Vec<Decile>> {
    let total = outcomes.iter().filter(|&&y| y).count();
    if total == 0 {
        return None;
    }
    let mut order = ascending(probabilities);
    order.reverse();
    let rate = total as f64 / outcomes.len() as f64;
    let mut found = 0;
    Some(
        groups(order.len(), 10)
            .enumerate()
            .map(|(d, range)| {
                let rows = range.len();
                let returned = order[range].iter().filter(|&&r| outcomes[r]).count();
                found += returned;
                Decile {
                    decile: d + 1,
                    rows,
                    returned,
                    lift: returned as f64 / rows as f64 / rate,
                    captured: found as f64 / total as f64,
                }
            })
            .collect(),
    )
}

/// Platt scaling: `calibrated = sigmoid(slope * logit(p) + intercept)`, fitted by unpenalised
/// logistic regression of the outcomes on the probabilities' log-odds (clamped to 1e-12 from 0
/// and 1). A slope below 1 shrinks overconfident scores, an intercept moves them all.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub slope: f64,
    pub intercept: f64,
}

impl Platt {
    pub fn fit(probabilities: &[f64], outcomes: &[bool]) -> Result<Platt> {
        let x = Array2::from_shape_fn((probabilities.len(), 1), |(i, _)| {
            log_odds(probabilities[i])
        });
        let m = logistic::fit(x.view(), outcomes, None)?;
        Ok(Platt {
            slope: m.coefficients[0],
            intercept: m.intercept,
        })
    }
    pub fn apply(&self, p: f64) -> f64 {
        sigmoid(self.slope * log_odds(p) + self.intercept)
    }
}

/// The level below which Platt scaling's improvement is more than noise.
pub const PLATT_ALPHA: f64 = 0.05;

/// Platt scaling only where it improves the log loss beyond what noise gives (issue 31: applying
/// it whenever the calibration week's ECE exceeded 0.02 recalibrated a perfectly calibrated model
/// 93% of the time at 1,000 rows, adding error). The likelihood-ratio test of the fitted (slope,
/// intercept) against the identity (1, 0), nested as logistic regressions with logit(p) as the
/// one feature: LR = 2 (LL_platt − LL_identity) = 2n × (the drop in mean log loss), χ² with 2
/// degrees of freedom when the scores are calibrated. Returns the fit when its p-value is below
/// [`PLATT_ALPHA`], and the p-value (1 when it cannot be fitted).
pub fn platt_if_needed(probabilities: &[f64], outcomes: &[bool]) -> (Option<Platt>, f64) {
    let Ok(platt) = Platt::fit(probabilities, outcomes) else {
        return (None, 1.0);
    };
    let ll = |f: &dyn Fn(f64) -> f64| -> f64 {
        probabilities
            .iter()
            .zip(outcomes)
            .map(|(&p, &y)| {
                let q = f(p).clamp(1e-12, 1.0 - 1e-12);
                if y {
                    q.ln()
                } else {
                    (1.0 - q).ln()
                }
            })
            .sum()
    };
    let lr = (2.0 * (ll(&|p| platt.apply(p)) - ll(&|p| p))).max(0.0);
    let chi = statrs::distribution::ChiSquared::new(2.0).expect("2 degrees of freedom");
    let p = statrs::distribution::ContinuousCDF::sf(&chi, lr);
    ((p < PLATT_ALPHA).then_some(platt), p)
}

fn log_odds(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// The share of outcomes that are returns.
fn share(outcomes: &[bool]) -> f64 {
    outcomes.iter().filter(|&&y| y).count() as f64 / outcomes.len() as f64
}

/// Row indices by score, lowest first, the index breaking ties.
fn ascending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    order
}

/// `n` positions in `k` consecutive ranges, the first `n mod k` one longer (numpy's
/// `array_split`); empty ranges left out.
fn groups(n: usize, k: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let (size, extra) = (n / k, n % k);
    (0..k)
        .scan(0, move |start, g| {
            let len = size + usize::from(g < extra);
            let range = *start..*start + len;
            *start += len;
            Some(range)
        })
        .filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: scores 0.1 (no), 0.4 (yes), 0.4 (no), 0.8 (yes). Pairs (yes, no): 0.4 vs
    /// 0.1 wins, 0.4 vs 0.4 ties (half), 0.8 beats both: (1 + 0.5 + 2) / 4 = 0.875.
    #[test]
    fn auc_counts_ties_half() {
        let auc = auc(&[0.1, 0.4, 0.4, 0.8], &[false, true, false, true]).unwrap();
        assert!((auc - 0.875).abs() < 1e-15);
        assert_eq!(super::auc(&[0.3, 0.2], &[true, true]), None);
    }

    /// Brier of (0.2, no), (0.9, yes): (0.04 + 0.01) / 2 = 0.025; base rate 0.5, its Brier 0.25,
    /// skill 1 - 0.025 / 0.25 = 0.9.
    #[test]
    fn brier_and_its_skill_by_hand() {
        let (p, y) = ([0.2, 0.9], [false, true]);
        assert!((brier(&p, &y) - 0.025).abs() < 1e-15);
        assert!((brier_skill(&p, &y).unwrap() - 0.9).abs() < 1e-12);
    }

    #[test]
    fn groups_split_as_numpy_array_split() {
        let sizes: Vec<usize> = groups(23, 10).map(|r| r.len()).collect();
        assert_eq!(sizes, [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
        assert_eq!(groups(3, 10).count(), 3);
    }
}
