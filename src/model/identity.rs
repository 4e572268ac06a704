//! Stable persona identity across runs (docs/drift.md, "Stable identity"): a run's personas and a
//! baseline model in; persona ids, names, lineage and retirements out, personas in id order.
//!
//! New personas are matched one-to-one to a baseline model's personas by the Hungarian method
//! (pathfinding's `kuhn_munkres_min`) on centroid distance in the **baseline's** scaled space: each
//! new persona's centroid there is the mean of its shoppers' features scaled with the baseline's
//! scaler. A match within the maximum distance keeps the baseline's id and name; other new personas
//! get fresh ids (never reused) and their own names; unmatched baseline personas are retired.

use anyhow::{bail, Result};
use ndarray::Array2;
use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;

use crate::cluster::matrix;
use crate::cluster::nearest::Assignment;
use crate::features::compute::FeatureTable;
use crate::model::format::{id_number, IdentityRecord, Lineage, Model, Retired};
use crate::personas::names::distinguish;
use crate::personas::{Persona, Personified};

pub struct Matching {
    /// For each new persona (in the given order): its baseline persona index, if matched.
    pub matched: Vec<Option<usize>>,
    /// Distance of every new persona to every baseline persona.
    pub distances: Array2<f64>,
}

/// Centroids of the new personas in the baseline's scaled space.
pub fn centroids_in_baseline_space(
    baseline: &Model,
    table: &FeatureTable,
    labels: &[usize],
    k: usize,
) -> Result<Array2<f64>> {
    let missing = baseline.missing_features(table);
    if !missing.is_empty() {
        bail!(
            "--baseline: this data cannot give the baseline model's features {}; personas cannot be matched",
            missing.join(", ")
        );
    }
    let x = matrix::apply(&baseline.scaler, table)?;
    let mut sums = Array2::<f64>::zeros((k, x.ncols()));
    let mut counts = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        counts[l] += 1;
        sums.row_mut(l).zip_mut_with(&x.row(i), |s, v| *s += v);
    }
    for (j, &c) in counts.iter().enumerate() {
        if c > 0 {
            sums.row_mut(j).mapv_inplace(|v| v / c as f64);
        }
    }
    Ok(sums)
}

/// Optimal one-to-one matching of new centroids (rows) to baseline centroids, keeping only pairs
/// within `max_distance`.
pub fn match_personas(new: &Array2<f64>, baseline: &Array2<f64>, max_distance: f64) -> Matching {
    let (n, b) = (new.nrows(), baseline.nrows());
    let mut distances = Array2::<f64>::zeros((n, b));
    for i in 0..n {
        for j in 0..b {
            distances[[i, j]] = new
                .row(i)
                .iter()
                .zip(baseline.row(j).iter())
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt();
        }
    }
    // Integer costs (micro-sd) for the Hungarian method; it needs rows <= columns. A pair beyond
    // the maximum costs one large constant, more than any sum of valid pairs: the solver first
    // keeps as many valid matches as it can, then makes them as close as it can. (Plain min-sum
    // could prefer pairing a persona with a far one, dropped afterwards, over a valid match.)
    const CAP: i64 = 1_000_000_000_000;
    let cost = |i: usize, j: usize| {
        let d = distances[[i, j]];
        if d > max_distance {
            CAP
        } else {
            (d * 1e6).round() as i64
        }
    };
    let mut matched = vec![None; n];
    if n <= b {
        let m = Matrix::from_fn(n, b, |(i, j)| cost(i, j));
        let (_, cols) = kuhn_munkres_min(&m);
        for (i, j) in cols.into_iter().enumerate() {
            matched[i] = Some(j);
        }
    } else {
        let m = Matrix::from_fn(b, n, |(j, i)| cost(i, j));
        let (_, rows) = kuhn_munkres_min(&m);
        for (j, i) in rows.into_iter().enumerate() {
            matched[i] = Some(j);
        }
    }
    for (i, m) in matched.iter_mut().enumerate() {
        if m.is_some_and(|j| distances[[i, j]] > max_distance) {
            *m = None;
        }
    }
    Matching { matched, distances }
}

/// What matching against a baseline decided.
#[derive(Debug, Default)]
pub struct Identity {
    /// The baseline model's file, as messages name it.
    pub baseline: Option<String>,
    /// For each persona, in id order: the baseline persona it continues, if any.
    pub lineage: Vec<Lineage>,
    /// Baseline personas with no successor in this run.
    pub retired_now: Vec<Retired>,
    /// Every persona retired so far (the baseline's, plus those retired now).
    pub retired_all: Vec<Retired>,
    /// The number of the next fresh persona id.
    pub next_number: usize,
}

impl Identity {
    /// What the model records of it.
    pub fn record(&self) -> IdentityRecord<'_> {
        IdentityRecord {
            baseline: self.baseline.as_ref(),
            lineage: &self.lineage,
            retired: &self.retired_all,
            next_number: self.next_number,
        }
    }
}

/// Settles the identity of a run's personas: without a baseline they keep P1..Pk (by size);
/// with one, matched personas take their baseline persona's id and name, the others fresh ids.
/// Then personas, centroids and assignments are put in id order.
pub fn settle(
    table: &FeatureTable,
    found: Personified,
    baseline: Option<(&Model, String)>,
    max_distance: f64,
) -> Result<(Personified, Identity)> {
    let Personified {
        mut personas,
        centroids,
        assigned,
    } = found;
    let k = personas.len();
    let mut ids = match baseline {
        None => Identity {
            next_number: k + 1,
            ..Identity::default()
        },
        Some((base, label)) => {
            let labels: Vec<usize> = assigned.iter().map(|a| a.persona).collect();
            match_baseline(base, label, max_distance, table, &labels, &mut personas)?
        }
    };
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&i| (id_number(&personas[i].id).unwrap_or(usize::MAX), i));
    let mut position = vec![0usize; k];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let personas: Vec<Persona> = order.iter().map(|&i| personas[i].clone()).collect();
    let centroids = centroids.select(ndarray::Axis(0), &order);
    let assigned: Vec<Assignment> = assigned
        .into_iter()
        .map(|a| Assignment {
            persona: position[a.persona],
            second: position[a.second],
            ..a
        })
        .collect();
    ids.lineage.sort_by_key(|l| id_number(&l.id));
    let settled = Personified {
        personas,
        centroids,
        assigned,
    };
    Ok((settled, ids))
}

/// A fresh persona never takes a name that another persona of this run or a retired persona
/// holds (a retired name goes only to a persona matched to it): it is told apart in words, on
/// the feature where its centre (baseline space) differs most from the holder's (`new` rows of
/// this run, `old` rows of the baseline; an older retired persona is compared with the
/// baseline's average, the origin).
fn distinguish_fresh(
    base: &Model,
    new: &Array2<f64>,
    old: &Array2<f64>,
    matched: &[Option<usize>],
    personas: &mut [Persona],
) {
    let features: Vec<String> = base.feature_names();
    let retired: Vec<&str> = base
        .personas
        .iter()
        .enumerate()
        .filter(|(j, _)| !matched.contains(&Some(*j)))
        .map(|(_, p)| p.name.as_str())
        .chain(base.retired.iter().map(|r| r.name.as_str()))
        .collect();
    for i in 0..personas.len() {
        if matched[i].is_some() {
            continue;
        }
        let name = personas[i].name.clone();
        let holder = (0..personas.len()).find(|&h| h != i && personas[h].name == name);
        if holder.is_none() && !retired.contains(&name.as_str()) {
            continue;
        }
        let reference: Vec<f64> = match holder {
            Some(h) => new.row(h).to_vec(),
            None => match base.personas.iter().position(|p| p.name == name) {
                Some(j) => old.row(j).to_vec(),
                None => vec![0.0; features.len()],
            },
        };
        let diffs: Vec<(String, f64)> = features
            .iter()
            .zip(new.row(i).iter().zip(&reference))
            .map(|(f, (a, b))| (f.clone(), a - b))
            .collect();
        let taken = |c: &str| {
            retired.contains(&c)
                || personas
                    .iter()
                    .enumerate()
                    .any(|(h, p)| h != i && p.name == c)
        };
        let renamed = distinguish(&name, &diffs, &taken);
        personas[i].name = renamed;
    }
}

/// Gives matched personas their baseline id and name, the others fresh ids.
fn match_baseline(
    base: &Model,
    label: String,
    max_distance: f64,
    table: &FeatureTable,
    labels: &[usize],
    personas: &mut [Persona],
) -> Result<Identity> {
    let k = personas.len();
    let new = centroids_in_baseline_space(base, table, labels, k)?;
    let d = base.scaler.features.len();
    let mut old = Array2::<f64>::zeros((base.personas.len(), d));
    for (j, p) in base.personas.iter().enumerate() {
        old.row_mut(j)
            .assign(&ndarray::ArrayView1::from(&p.centroid[..]));
    }
    let m = match_personas(&new, &old, max_distance);
    let mut next = base.next_number();
    let mut out = Identity {
        baseline: Some(label),
        ..Identity::default()
    };
    for (i, p) in personas.iter_mut().enumerate() {
        let nearest = (0..old.nrows())
            .map(|j| m.distances[[i, j]])
            .fold(f64::INFINITY, f64::min);
        let (baseline_id, distance) = match m.matched[i] {
            Some(j) => {
                p.id = base.personas[j].id.clone();
                p.name = base.personas[j].name.clone();
                (Some(p.id.clone()), m.distances[[i, j]])
            }
            None => {
                p.id = format!("P{next}");
                next += 1;
                (None, nearest)
            }
        };
        out.lineage.push(Lineage {
            id: p.id.clone(),
            matched: baseline_id.is_some(),
            baseline_id,
            distance,
        });
    }
    distinguish_fresh(base, &new, &old, &m.matched, personas);
    for (j, bp) in base.personas.iter().enumerate() {
        if !m.matched.contains(&Some(j)) {
            let nearest = (0..k)
                .map(|i| m.distances[[i, j]])
                .fold(f64::INFINITY, f64::min);
            out.retired_now.push(Retired {
                id: bp.id.clone(),
                name: bp.name.clone(),
                nearest_distance: nearest,
            });
        }
    }
    out.retired_all = base.retired.clone();
    out.retired_all.extend(out.retired_now.iter().cloned());
    out.next_number = next;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hungarian_beats_greedy_and_respects_the_maximum() {
        // Greedy nearest-first would give new 0 -> base 0 (0.9) and leave new 1 with base 1 (5.0);
        // the optimal matching is new 0 -> base 1 (1.0), new 1 -> base 0 (1.0).
        let base = array![[0.0, 0.0], [10.0, 0.0]];
        let new = array![[0.9, 0.0], [-1.0, 0.0]];
        let m = match_personas(&new, &array![[0.0, 0.0], [1.9, 0.0]], 10.0);
        assert_eq!(m.matched, [Some(1), Some(0)]);
        let far = match_personas(&new, &base, 2.0);
        assert_eq!(far.matched[0], Some(0));
        assert_eq!(
            far.matched[1], None,
            "9 sd from the only base left: over the maximum"
        );
    }

    #[test]
    fn more_new_personas_than_baseline() {
        let base = array![[0.0], [10.0]];
        let new = array![[9.5], [0.2], [5.0]];
        let m = match_personas(&new, &base, 1.0);
        assert_eq!(m.matched, [Some(1), Some(0), None]);
        assert_eq!(id_number("P12"), Some(12));
    }
}
