//! Personas: the features table and each abandoner's cluster in; one named, explained persona per
//! cluster out (docs/personas.md).
//!
//! `profile` describes each cluster (statistics, z-scores, lifecycle, devices); `names` picks its
//! name from the traits that apply; `evidence` says why, in the card's sentences and bullets;
//! `plays` chooses the recovery play. [`build`] runs them in that order. May use `util`,
//! `features` and `cluster`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use ndarray::Array2;

use crate::cluster::nearest::{nearest_two, Assignment};
use crate::features::compute::{FeatureTable, Values};
use crate::personas::evidence::{bullets, Evidence};
use crate::personas::names::{compose, RULES};
use crate::personas::plays::{play, Play};
use crate::personas::profile::{overall, profile, Ctx, Draft, FeatureStat};

pub mod evidence;
pub mod names;
pub mod plays;
pub mod profile;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Persona {
    pub id: String,
    pub name: String,
    pub size: usize,
    pub share: f64,
    /// Sum of `last_abandoned_value` over the persona's shoppers.
    pub value_at_stake: f64,
    pub evidence: Vec<Evidence>,
    pub bullets: Vec<String>,
    pub play: Play,
    pub lifecycle: BTreeMap<String, f64>,
    pub devices: BTreeMap<String, f64>,
    pub stats: Vec<FeatureStat>,
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
    let last_value = match table.column("last_abandoned_value").map(|c| &c.values) {
        Some(Values::Num(v)) => v.clone(),
        _ => vec![None; n],
    };
    let mut drafts: Vec<Draft> = (0..k)
        .map(|cl| {
            let members: Vec<usize> = (0..n).filter(|&i| labels[i] == cl).collect();
            profile(table, cl, &members, &overall_t, &last_value)
        })
        .collect();
    // Number personas by size, then value at stake, then cluster index.
    if by_size {
        drafts.sort_by(|a, b| {
            b.size
                .cmp(&a.size)
                .then(b.value_at_stake.total_cmp(&a.value_at_stake))
                .then(a.cluster.cmp(&b.cluster))
        });
    }
    let mut cluster_to_persona = vec![0usize; k];
    let mut personas = Vec::with_capacity(k);
    let mut taken: Vec<String> = Vec::new();
    for (pi, d) in drafts.into_iter().enumerate() {
        cluster_to_persona[d.cluster] = pi;
        let p = describe(d, pi, n, &overall_raw, &mut taken);
        personas.push(p);
    }
    (personas, cluster_to_persona)
}

/// Names, evidence, play and bullets of the `pi`-th persona; `taken` holds the names given so far.
fn describe(
    d: Draft,
    pi: usize,
    n: usize,
    overall_raw: &BTreeMap<String, (f64, f64)>,
    taken: &mut Vec<String>,
) -> Persona {
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
    let (mut name, used) = compose(&traits, taken);
    if taken.contains(&name) {
        name = format!("{name} {}", pi + 1);
    }
    taken.push(name.clone());
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
