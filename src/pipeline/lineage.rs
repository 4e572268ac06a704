//! Stable persona identity across runs (docs/drift.md, "Stable identity").
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
use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::pipeline::features::FeatureTable;
use crate::pipeline::matrix;

/// What matching against the baseline decided for one new persona.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lineage {
    /// The persona's id in this run.
    pub id: String,
    /// The baseline persona it continues, if any.
    pub baseline_id: Option<String>,
    /// Distance to its matched (or nearest) baseline centroid, in baseline standard deviations.
    pub distance: f64,
    pub matched: bool,
}

/// A baseline persona with no successor in this run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Retired {
    pub id: String,
    pub name: String,
    /// Distance from its centroid to the nearest new persona (baseline standard deviations).
    pub nearest_distance: f64,
}

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
    let missing: Vec<&str> = baseline
        .scaler
        .features
        .iter()
        .filter(|f| table.column(&f.name).is_none())
        .map(|f| f.name.as_str())
        .collect();
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

/// The number part of a persona id (`P12` -> 12).
pub fn id_number(id: &str) -> Option<usize> {
    id.strip_prefix('P')?.parse().ok()
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
