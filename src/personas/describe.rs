//! Each cluster described as a persona: its profile, name, evidence and play ([`build`],
//! [`from_clusters`]), and what later stages attach (outliers, stability, arms).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use ndarray::Array2;
use rayon::prelude::*;

use super::evidence::{bullets, Evidence};
use super::names::{compose, distinguish, RULES};
use super::plays::{play, Play};
use super::profile::{overall, profile, Ctx, Draft, FeatureStat};
use crate::cluster::nearest::{nearest_two, Assignment};
use crate::features::compute::FeatureTable;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Persona {
    pub id: String,
    pub name: String,
    pub size: usize,
    pub share: f64,
    /// Sum of `last_abandoned_value` over the persona's shoppers (`None`: the table has no
    /// `last_abandoned_value`, so it is unknown; never written as 0).
    pub value_at_stake: Option<f64>,
    pub evidence: Vec<Evidence>,
    pub bullets: Vec<String>,
    pub play: Play,
    pub lifecycle: BTreeMap<String, f64>,
    pub devices: BTreeMap<String, f64>,
    pub stats: Vec<FeatureStat>,
    /// The persona's share of the value at stake (`None` when unknown).
    pub value_share: Option<f64>,
    /// Its shoppers flagged as outliers (far from every centre; docs/personas.md).
    pub outliers: usize,
    /// Its stability (mean bootstrap Jaccard), when measured.
    pub stability: Option<f64>,
    /// Its shoppers in the holdout and in the treatment arm, when the run has a holdout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treatment: Option<usize>,
    /// The last measured effect of its play (`--outcomes`: a previous readout), matched by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
}

/// A persona's play as a previous recovery readout measured it (docs/outcomes.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Measured {
    /// win, loss, inconclusive or not measured.
    pub verdict: String,
    /// Treatment rate minus holdout rate, with its 95% interval.
    pub uplift: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The smallest uplift the readout could detect.
    pub mde: Option<f64>,
    pub treatment: u64,
    pub holdout: u64,
    pub incremental_revenue: Option<f64>,
    pub revenue_ci_low: Option<f64>,
    pub revenue_ci_high: Option<f64>,
    /// The variant that beat every other, if one did.
    pub best_variant: Option<String>,
    /// A variant against the plain reminder, in money (with a `reminder` variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incentive: Option<IncentiveMeasured>,
}

/// What the answer to "does the incentive pay?" is, for one variant against the reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncentiveVerdict {
    /// More net revenue per listed shopper than the reminder (Holm-adjusted p < 0.05).
    Pays,
    /// Less net revenue per listed shopper than the reminder (Holm-adjusted p < 0.05): a plain
    /// reminder does as well for less.
    ReminderDoesAsWell,
    /// Neither shown: never "no difference" (see `mde`).
    Inconclusive,
}

/// What the readout said of a variant against the plain reminder (outcomes.json
/// `against_reminder`, docs/outcomes.md "Does the incentive pay?").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IncentiveMeasured {
    pub variant: String,
    pub verdict: IncentiveVerdict,
    /// Net revenue per listed shopper, the variant's minus the reminder's, with its interval.
    pub net_revenue_per_shopper: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub mde: f64,
}

impl Persona {
    pub fn stat(&self, feature: &str) -> Option<&FeatureStat> {
        self.stats.iter().find(|s| s.feature == feature)
    }
}

/// Builds the personas for a clustering. `labels[i]` is the cluster of `table.customers[i]`.
/// With `by_size`, personas are numbered P1.. by size (largest first; ties by value at stake, then
/// cluster index); otherwise they keep the cluster order (for `assign`, which then takes ids and
/// names from the model). Returns the personas and, for each cluster, its persona's index.
pub fn build(
    table: &FeatureTable,
    labels: &[usize],
    k: usize,
    by_size: bool,
) -> (Vec<Persona>, Vec<usize>) {
    let n = table.customers.len();
    let (overall_t, overall_raw) = overall(table);
    let last_value = table.value_at_stake();
    let known = table.stake_known().then_some(last_value.as_slice());
    // The clusters' profiles on all threads, gathered in cluster order (the same bits).
    let mut drafts: Vec<Draft> = (0..k)
        .into_par_iter()
        .map(|cl| {
            let members: Vec<usize> = (0..n).filter(|&i| labels[i] == cl).collect();
            profile(table, cl, &members, &overall_t, known)
        })
        .collect();
    let stake = |d: &Draft| d.value_at_stake.unwrap_or(0.0);
    // Number personas by size, then value at stake, then cluster index.
    if by_size {
        drafts.sort_by(|a, b| {
            b.size
                .cmp(&a.size)
                .then(stake(b).total_cmp(&stake(a)))
                .then(a.cluster.cmp(&b.cluster))
        });
    }
    let total_value: Option<f64> = drafts.iter().map(|d| d.value_at_stake).sum();
    let mut cluster_to_persona = vec![0usize; k];
    let mut personas: Vec<Persona> = Vec::with_capacity(k);
    for (pi, d) in drafts.into_iter().enumerate() {
        cluster_to_persona[d.cluster] = pi;
        let mut p = describe(d, pi, n, &overall_raw, &personas);
        p.value_share = match (p.value_at_stake, total_value) {
            (Some(v), Some(total)) if total > 0.0 => Some(v / total),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        personas.push(p);
    }
    (personas, cluster_to_persona)
}

/// Per feature, persona `a` minus persona `b` in standard deviations of all abandoners (their
/// z-scores' difference).
pub fn differences(a: &[FeatureStat], b: &[FeatureStat]) -> Vec<(String, f64)> {
    a.iter()
        .filter_map(|s| {
            let other = b.iter().find(|t| t.feature == s.feature)?;
            Some((s.feature.clone(), s.z? - other.z?))
        })
        .collect()
}

/// Names, evidence, play and bullets of the `pi`-th persona; `done` are the personas named so
/// far. A name already taken is told apart in words (`names::distinguish`).
fn describe(
    d: Draft,
    pi: usize,
    n: usize,
    overall_raw: &BTreeMap<String, (f64, f64)>,
    done: &[Persona],
) -> Persona {
    let taken: Vec<String> = done.iter().map(|p| p.name.clone()).collect();
    let ctx = Ctx {
        stats: &d.stats,
        overall: overall_raw,
        lifecycle: &d.lifecycle,
        late_checkout_share: d.late_checkout_share,
    };
    let mut traits: Vec<(usize, f64)> = RULES
        .iter()
        .enumerate()
        .filter_map(|(i, r)| (r.applies)(&ctx).map(|s| (i, s)))
        .collect();
    traits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let (mut name, used) = compose(&traits, &taken);
    if let Some(holder) = done.iter().find(|p| p.name == name) {
        let diffs = differences(&d.stats, &holder.stats);
        name = distinguish(&name, &diffs, &|c| taken.iter().any(|t| t == c));
    }
    let evidence: Vec<Evidence> = used
        .iter()
        .map(|&r| Evidence {
            r#trait: RULES[r].id.to_string(),
            text: (RULES[r].evidence)(&ctx),
            score: traits.iter().find(|t| t.0 == r).map_or(0.0, |t| t.1),
        })
        .collect();
    let ids: Vec<&str> = traits.iter().map(|t| RULES[t.0].id).collect();
    let play = play(&ctx, &ids);
    let share = d.size as f64 / n as f64;
    let bullets = bullets(
        &ctx,
        &ids,
        d.size,
        share,
        d.value_at_stake,
        &d.devices,
        &play,
    );
    Persona {
        id: format!("P{}", pi + 1),
        name,
        size: d.size,
        share,
        value_at_stake: d.value_at_stake,
        evidence,
        bullets,
        play,
        lifecycle: d.lifecycle,
        devices: d.devices,
        stats: d.stats,
        value_share: None,
        outliers: 0,
        stability: None,
        holdout: None,
        treatment: None,
        measured: None,
    }
}

/// The personas of a fitted clustering, with their centroids and every shopper's assignment, all
/// in persona order.
pub struct Personified {
    pub personas: Vec<Persona>,
    /// One row per persona, in the scaled space.
    pub centroids: Array2<f64>,
    /// Nearest and second-nearest persona of every row of the matrix.
    pub assigned: Vec<Assignment>,
}

/// Names the clusters of `centroids` (k-means' order) as personas numbered by size, and assigns
/// every row of `x` to its nearest persona.
pub fn from_clusters(
    table: &FeatureTable,
    x: &Array2<f64>,
    centroids: &Array2<f64>,
) -> Personified {
    let k = centroids.nrows();
    let labels: Vec<usize> = nearest_two(x, centroids)
        .iter()
        .map(|a| a.persona)
        .collect();
    let (personas, cluster_to_persona) = build(table, &labels, k, true);
    let mut ordered = Array2::<f64>::zeros((k, x.ncols()));
    for (cl, &p) in cluster_to_persona.iter().enumerate() {
        ordered.row_mut(p).assign(&centroids.row(cl));
    }
    let assigned = nearest_two(x, &ordered);
    Personified {
        personas,
        centroids: ordered,
        assigned,
    }
}

/// Records on each persona its outliers (`outlier[i]`: shopper i, of persona `labels[i]`) and
/// its stability.
pub fn attach(
    personas: &mut [Persona],
    labels: &[usize],
    outlier: &[bool],
    stability: &[Option<f64>],
) {
    for p in personas.iter_mut() {
        p.outliers = 0;
    }
    for (&l, &o) in labels.iter().zip(outlier) {
        personas[l].outliers += usize::from(o);
    }
    for (p, s) in personas.iter_mut().zip(stability) {
        p.stability = *s;
    }
}

/// Records on each persona its holdout and treatment counts (`holdout[i]`: shopper i, of persona
/// `labels[i]`, is held out).
pub fn attach_arms(personas: &mut [Persona], labels: &[usize], holdout: &[bool]) {
    for p in personas.iter_mut() {
        p.holdout = Some(0);
        p.treatment = Some(0);
    }
    for (&l, &h) in labels.iter().zip(holdout) {
        let slot = if h {
            &mut personas[l].holdout
        } else {
            &mut personas[l].treatment
        };
        *slot = slot.map(|n| n + 1);
    }
}
