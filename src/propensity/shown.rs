//! What the reports show of the propensity (issue 20, docs/propensity.md "Reading the report"):
//! one value shared by summary.json, report.md and report.html.
//!
//! In: the learned model and its measures (or why there is none), the run's scores, each
//! abandoner's value at stake and persona. Out: [`Shown`], with per persona the mean propensity,
//! the share above the no-discount threshold and the expected returning value.

use serde::Serialize;

use crate::propensity::learn::{Learned, LearnedFrom, Measures, Propensity};
use crate::propensity::metrics::Platt;

/// The propensity of a run as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shown {
    /// W, as durations are written.
    pub window: String,
    /// Why no propensity was learned (then nothing below is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_learned: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<LearnedFrom>,
    /// Notes on how it was learned (the untreated kind not possible; an approximate history).
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<Learned>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platt: Option<Platt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measures: Option<Measures>,
    /// Shoppers at or below this propensity get incentives as usual (docs/propensity.md).
    pub no_discount_above: f64,
    /// Whether the no-discount rule is applied, and why (or why not).
    pub no_discount_rule: bool,
    pub no_discount_rule_why: String,
    /// Treatment-arm shoppers given the play with no incentive (in audience.csv).
    pub no_discount: usize,
    /// Abandoners above `no_discount_above`, and the mean propensity, over the whole run.
    pub above: usize,
    pub mean: Option<f64>,
    pub personas: Vec<PersonaPropensity>,
}

impl Shown {
    /// Before learning: the settings only.
    pub fn empty(window: i64, no_discount_above: f64) -> Shown {
        Shown {
            window: crate::util::timefmt::format_duration(window),
            not_learned: None,
            kind: None,
            notes: Vec::new(),
            learned: None,
            platt: None,
            measures: None,
            no_discount_above,
            no_discount_rule: false,
            no_discount_rule_why: String::new(),
            no_discount: 0,
            above: 0,
            mean: None,
            personas: Vec::new(),
        }
    }

    /// After learning: the model's kind and record, its measures (`None` in `assign`: they were
    /// taken by the run that learned it) and the run's scores.
    pub fn fill(
        &mut self,
        model: &Propensity,
        measures: Option<Measures>,
        note: Option<String>,
        scores: &[f64],
    ) {
        self.kind = Some(model.kind);
        self.notes.extend(note);
        self.learned = Some(model.learned.clone());
        self.platt = model.platt;
        self.measures = measures;
        self.above = scores
            .iter()
            .filter(|&&p| p > self.no_discount_above)
            .count();
        self.mean = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
    }
}

impl Shown {
    /// The threshold of the no-discount rule when it is applied.
    pub fn rule_threshold(&self) -> Option<f64> {
        self.no_discount_rule.then_some(self.no_discount_above)
    }

    /// Decides the no-discount rule (on with an untreated model, or when `forced`) and counts the
    /// treatment-arm shoppers it gives no incentive (`treated[i]`: shopper i is in the treatment
    /// arm; `None`: no holdout, so no audience file).
    pub fn rule(
        &mut self,
        kind: LearnedFrom,
        forced: bool,
        scores: &[f64],
        treated: Option<&[bool]>,
    ) {
        self.no_discount_rule = kind == LearnedFrom::Untreated || forced;
        self.no_discount_rule_why = match (kind, forced) {
            (LearnedFrom::Untreated, _) => format!("on: shoppers above {} would likely order on their own, so their play carries no incentive", self.no_discount_above),
            (LearnedFrom::AsUsual, true) => format!("on (forced): shoppers above {} get no incentive, although an as-usual propensity may be high because the messages work", self.no_discount_above),
            (LearnedFrom::AsUsual, false) => "off: an as-usual propensity is not causal (it may be high for shoppers whom the messages persuade), so incentives stay as planned; a holdout gives an untreated propensity next month".to_string(),
        };
        self.no_discount = match (self.no_discount_rule, treated) {
            (true, Some(t)) => scores
                .iter()
                .zip(t)
                .filter(|(p, t)| **t && **p > self.no_discount_above)
                .count(),
            _ => 0,
        };
    }
}

/// One persona's propensity figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonaPropensity {
    pub id: String,
    pub mean: f64,
    pub share_above: f64,
    /// Sum over its shoppers of value at stake x propensity: the value expected back within W
    /// (`None` when the value at stake is unknown: a `--features` table without it).
    pub expected_returning_value: Option<f64>,
}

/// Each persona's figures: `labels[i]` is shopper i's persona (an index into `ids`); `values`
/// each shopper's value at stake, when known.
pub fn by_persona(
    scores: &[f64],
    values: Option<&[f64]>,
    labels: &[usize],
    ids: &[&str],
    above: f64,
) -> Vec<PersonaPropensity> {
    ids.iter()
        .enumerate()
        .map(|(k, id)| {
            let rows: Vec<usize> = (0..scores.len()).filter(|&i| labels[i] == k).collect();
            let n = rows.len().max(1) as f64;
            PersonaPropensity {
                id: id.to_string(),
                mean: rows.iter().map(|&i| scores[i]).sum::<f64>() / n,
                share_above: rows.iter().filter(|&&i| scores[i] > above).count() as f64 / n,
                expected_returning_value: values
                    .map(|v| rows.iter().map(|&i| scores[i] * v[i]).sum()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two personas worked by hand: A has 0.2 (value 100) and 0.6 (value 50), B has 0.9 (10).
    #[test]
    fn persona_figures_by_hand() {
        let got = by_persona(
            &[0.2, 0.9, 0.6],
            Some(&[100.0, 10.0, 50.0]),
            &[0, 1, 0],
            &["A", "B"],
            0.5,
        );
        assert_eq!(got[0].mean, 0.4);
        assert_eq!(got[0].share_above, 0.5);
        assert_eq!(
            got[0].expected_returning_value,
            Some(0.2 * 100.0 + 0.6 * 50.0)
        );
        assert_eq!((got[1].mean, got[1].share_above), (0.9, 1.0));
        assert_eq!(got[1].expected_returning_value, Some(9.0));
        let unknown = by_persona(&[0.2, 0.9, 0.6], None, &[0, 1, 0], &["A", "B"], 0.5);
        assert_eq!(unknown[0].expected_returning_value, None);
    }
}
