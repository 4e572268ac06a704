//! One run's return propensity, end to end, for the commands: `segment` learns it from the past
//! rows ([`Past`]) and scores the run's abandoners ([`learn_and_score`]); `assign` applies the
//! model's ([`apply_model`]). Once the run's personas and arms are settled, [`RunPropensity::figures`]
//! fills what the reports show per persona and the no-discount rule. When the data cannot give a
//! propensity there is no column and one thing to say ([`Said`]): a note when the shop only lacks
//! history yet (a first run on a month of data is not an alarm), else a warning. The command
//! prints it; nothing here does.

use anyhow::{Context, Result};

use super::learn::{self, Attempt, LearnSettings, NotLearned, Propensity, Trained, Untreated};
use super::past::Past;
use super::shown::{self, Shown};
use crate::features::compute::{FeatureParams, FeatureTable};

/// The model in use and each abandoner's score and reasons.
#[derive(Debug, Clone)]
pub struct Scored {
    pub model: Propensity,
    pub scores: Vec<f64>,
    pub reasons: Vec<String>,
}

/// What a run says about its propensity.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    /// The shop lacks history yet: what it would take.
    Note(String),
    /// Something else kept it from being learned (the summary lists it too).
    Warning(String),
}

/// A run's propensity: what the reports show, the model and scores, what to say.
#[derive(Debug, Clone, Default)]
pub struct RunPropensity {
    pub shown: Option<Shown>,
    pub scored: Option<Scored>,
    pub said: Option<Said>,
    /// The no-discount rule applies with an as-usual propensity too (`--force-no-discount`, or
    /// the model's run forced it).
    pub forced: bool,
}

/// What a run asks of its propensity (the checked settings) and what it learns from.
pub struct PropensityAsked<'a> {
    pub window: i64,
    pub c: f64,
    pub no_discount_above: f64,
    pub force_no_discount: bool,
    pub cluster_features: &'a [String],
    /// The baseline's holdout: learn the untreated kind from its held-out shoppers.
    pub holdout: Option<Untreated<'a>>,
    pub params: &'a FeatureParams,
}

/// Learns the propensity from `past` and scores `table`'s abandoners; `stage` names the step for
/// a progress display.
pub fn learn_and_score(
    past: Result<Past, NotLearned>,
    asked: PropensityAsked,
    table: &FeatureTable,
    stage: impl Fn(&str),
) -> Result<RunPropensity> {
    let mut shown = Shown::empty(asked.window, asked.no_discount_above);
    if let Ok(p) = &past {
        shown.notes.extend(p.notes.iter().cloned());
    }
    let attempt = match past {
        Err(why) => Attempt::NotLearned(why),
        Ok(past) => {
            stage("learning the return propensity");
            let s = LearnSettings {
                window: asked.window,
                c: asked.c,
                cluster_features: asked.cluster_features,
                holdout: asked.holdout,
                sample_fraction: past.fraction,
                uncovered_weeks: past.plan.uncovered,
                no_discount_above: asked.no_discount_above,
            };
            let ds = past.dataset.as_ref().expect("set by inputs::run_features");
            learn::from_past(ds, &past.plan, asked.params, &s)
                .unwrap_or_else(|e| Attempt::NotLearned(NotLearned::other(format!("{e:#}"))))
        }
    };
    let Trained {
        model,
        measures,
        note,
    } = match attempt {
        Attempt::Learned(trained) => trained,
        Attempt::NotLearned(why) => {
            let said = match why.too_little_history {
                true => Said::Note(format!("no return propensity yet: {why}. It learns from the shop's own past weeks: a few months of carts and orders before the as-of time give it one (docs/propensity.md); --no-propensity skips it")),
                false => Said::Warning(format!(
                    "return propensity not learned: {why} (no return_propensity column)"
                )),
            };
            shown.not_learned = Some(why.why);
            return Ok(RunPropensity {
                shown: Some(shown),
                said: Some(said),
                ..RunPropensity::default()
            });
        }
    };
    let (scores, reasons) = learn::score(&model, table)?;
    shown.fill(&model, Some(measures), note, &scores);
    Ok(RunPropensity {
        shown: Some(shown),
        scored: Some(Scored {
            model,
            scores,
            reasons,
        }),
        said: None,
        forced: asked.force_no_discount,
    })
}

/// The model's propensity applied to `table` (docs/propensity.md "assign"), the rule as the
/// model's run applied it (forced there, forced here; issue 31: assign used to drop a forced rule).
pub fn apply_model(p: &Propensity, table: &FeatureTable) -> Result<RunPropensity> {
    let (scores, reasons) = learn::score(p, table)
        .context("the model's return propensity cannot be applied to this data")?;
    let mut shown = Shown::empty(0, p.no_discount_above);
    shown.window = p.window.clone();
    shown.fill(p, None, None, &scores);
    Ok(RunPropensity {
        shown: Some(shown),
        scored: Some(Scored {
            model: p.clone(),
            scores,
            reasons,
        }),
        said: None,
        forced: p.rule_applied(),
    })
}

/// How a run's abandoners are grouped once its personas and arms are settled.
pub struct Groups<'a> {
    /// Each abandoner's persona (an index into `persona_ids`).
    pub labels: &'a [usize],
    pub persona_ids: &'a [&'a str],
    /// Each abandoner's arm is treatment (with a holdout).
    pub treated: Option<&'a [bool]>,
}

impl RunPropensity {
    /// The figures per persona (mean, share above the threshold, expected returning value) and
    /// the no-discount rule with its count; the model to keep in model.json, the rule recorded so
    /// that `assign` applies it as this run did and a readout knows it.
    pub fn figures(&mut self, table: &FeatureTable, groups: Groups) -> Option<Propensity> {
        let (shown, scored) = (self.shown.as_mut()?, self.scored.as_ref()?);
        let values = table.value_at_stake();
        let values = table.stake_known().then_some(values.as_slice());
        shown.personas = shown::by_persona(
            &scored.scores,
            values,
            groups.labels,
            groups.persona_ids,
            shown.no_discount_above,
        );
        shown.rule(
            scored.model.kind,
            self.forced,
            &scored.scores,
            groups.treated,
        );
        Some(Propensity {
            no_discount_rule: Some(shown.no_discount_rule),
            ..scored.model.clone()
        })
    }
}
