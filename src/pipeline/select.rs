//! Choosing k (docs/personas.md, "Choosing the number of personas").
//!
//! For each k in k-min..=k-max: k-means, then silhouette (exact, on all abandoners up to 20,000,
//! else on one uniform seeded sample of 20,000 shared by every k, scored in one pass), Calinski-Harabasz,
//! Davies-Bouldin, inertia and the smallest persona's share. A k whose smallest persona is under
//! the minimum share is not eligible. Among eligible k the highest silhouette wins; a smaller k
//! within 0.01 of the best wins over it.
//!
//! Above [`CHOOSE_SAMPLE`] abandoners the candidates are fitted on one seeded sample and measured
//! on every row; the chosen k's centres are then polished on all rows (issue 8: choosing k was a
//! third of a 1M-shopper run).

use anyhow::{bail, Result};
use linfa::dataset::DatasetBase;
use linfa::param_guard::ParamGuard;
use linfa::traits::Fit;
use ndarray::{Array2, ArrayView1, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::pipeline::kmeans::{self, KMeansModel, KMeansParams};

pub const SILHOUETTE_SAMPLE: usize = 20_000;
/// Above this many abandoners, each candidate k is fitted on one seeded sample of this many rows
/// and measured on all of them; the chosen k is then polished on all rows (docs/personas.md).
pub const CHOOSE_SAMPLE: usize = 20_000;
/// Lloyd passes over all abandoners that polish the chosen k's sample fit, at most.
pub const POLISH_PASSES: usize = 30;
pub const TIE: f64 = 0.01;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SelectParams {
    pub k_min: usize,
    pub k_max: usize,
    /// `--k N`: only this k.
    pub k: Option<usize>,
    pub min_share: f64,
    pub seed: u64,
    pub restarts: usize,
    /// Mini-batch k-means when there are more abandoners than this (docs/scale.md).
    pub minibatch_above: usize,
}

/// Default of `--minibatch-above`.
pub const MINIBATCH_ABOVE: usize = 500_000;

/// Metrics for one k.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KRow {
    pub k: usize,
    pub silhouette: f64,
    pub calinski_harabasz: f64,
    pub davies_bouldin: f64,
    pub inertia: f64,
    pub smallest_share: f64,
    pub eligible: bool,
    pub chosen: bool,
}

pub struct Selection {
    pub table: Vec<KRow>,
    pub k: usize,
    pub reason: String,
    pub model: KMeansModel,
    pub warnings: Vec<String>,
}

/// k-means with the run's restarts and the seed for this k.
fn fit_k(x: &Array2<f64>, p: &SelectParams, k: usize) -> Result<KMeansModel> {
    let params = KMeansParams::new(k)
        .n_init(p.restarts)
        .seed(seed_for_k(p.seed, k))
        .minibatch_above(Some(p.minibatch_above))
        .check()?;
    Ok(params.fit(&DatasetBase::from(x.clone()))?)
}

/// The rows the silhouettes are computed on: all of them up to [`SILHOUETTE_SAMPLE`], otherwise
/// one uniform seeded sample of that size (as scikit-learn's `silhouette_score(sample_size=...)`),
/// shared by every k so that one pass over its pairs scores them all.
fn silhouette_rows(n: usize, seed: u64) -> Vec<usize> {
    uniform_rows(n, SILHOUETTE_SAMPLE, seed ^ 0x5151_5151_5151_5151)
}

/// All of `0..n` up to `max`, otherwise a uniform seeded sample of `max` of them, ascending.
fn uniform_rows(n: usize, max: usize, seed: u64) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = rand::seq::index::sample(&mut rng, n, max).into_vec();
    rows.sort_unstable();
    rows
}

/// The metrics of one k, given its silhouette.
fn k_row(x: &Array2<f64>, model: &KMeansModel, k: usize, silhouette: f64, min_share: f64) -> KRow {
    let smallest = *model.sizes.iter().min().expect("k >= 1") as f64 / x.nrows() as f64;
    KRow {
        k,
        silhouette,
        calinski_harabasz: calinski_harabasz(x, model),
        davies_bouldin: davies_bouldin(x, model),
        inertia: model.inertia,
        smallest_share: smallest,
        eligible: smallest >= min_share,
        chosen: false,
    }
}

fn seed_for_k(seed: u64, k: usize) -> u64 {
    seed.wrapping_add((k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn dist(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// A stratified seeded sample of at most `max` row indices: each cluster contributes in proportion
/// to its size (largest remainders), at least one row per non-empty cluster.
pub fn stratified_sample(labels: &[usize], k: usize, max: usize, seed: u64) -> Vec<usize> {
    let n = labels.len();
    if n <= max {
        return (0..n).collect();
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        members[l].push(i);
    }
    let mut quota: Vec<usize> = members
        .iter()
        .map(|m| (m.len() * max / n).max(usize::from(!m.is_empty())))
        .collect();
    let mut rem: Vec<(usize, usize)> = members
        .iter()
        .enumerate()
        .map(|(j, m)| ((m.len() * max) % n, j))
        .collect();
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut total: usize = quota.iter().sum();
    for (_, j) in rem {
        if total >= max {
            break;
        }
        if quota[j] < members[j].len() {
            quota[j] += 1;
            total += 1;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(total);
    for (j, m) in members.iter_mut().enumerate() {
        let (chosen, _) = m.partial_shuffle(&mut rng, quota[j]);
        out.extend_from_slice(chosen);
    }
    out.sort_unstable();
    out
}

/// Mean silhouette over the rows `sample` (exact among them; Euclidean distance). A point alone in
/// its cluster scores 0, as in scikit-learn.
pub fn silhouette(x: &Array2<f64>, labels: &[usize], k: usize, sample: &[usize]) -> f64 {
    silhouettes(x, &[(labels, k)], sample)[0]
}

/// Silhouettes of several clusterings over one common sample, in one pass over the pairs: each
/// distance is computed once and credited to every clustering. Rows are independent, so the result
/// does not depend on the number of threads.
///
/// Hand-written (no crate computes several clusterings' silhouettes in one pass, and
/// scikit-learn's one-clustering-at-a-time was the slowest part of choosing k, issue 8): the
/// sample's rows are ordered by their labels in every clustering, so that rows sharing all labels
/// form contiguous groups; each row's distances to a group are computed column by column over
/// blocks of contiguous values (loops the compiler vectorises), summed, and the group's sum is
/// credited once per clustering. The distance of a row to itself is exactly 0 and adds nothing.
pub fn silhouettes(
    x: &Array2<f64>,
    clusterings: &[(&[usize], usize)],
    sample: &[usize],
) -> Vec<f64> {
    let offsets: Vec<usize> = clusterings
        .iter()
        .scan(0, |acc, (_, k)| {
            let o = *acc;
            *acc += k;
            Some(o)
        })
        .collect();
    let width: usize = clusterings.iter().map(|c| c.1).sum();
    let nc = clusterings.len();
    let m = sample.len();
    let d = x.ncols();
    // Each sample row's accumulator slot in every clustering, and the cluster sizes.
    let slots: Vec<usize> = sample
        .iter()
        .flat_map(|&j| {
            let offsets = &offsets;
            clusterings
                .iter()
                .enumerate()
                .map(move |(c, (labels, _))| offsets[c] + labels[j])
        })
        .collect();
    let slots_of = |jj: usize| &slots[jj * nc..(jj + 1) * nc];
    let mut sizes = vec![0usize; width];
    for jj in 0..m {
        for &slot in slots_of(jj) {
            sizes[slot] += 1;
        }
    }
    // The sample ordered by its slots; groups of rows with the same slots in every clustering.
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| slots_of(a).cmp(slots_of(b)).then(a.cmp(&b)));
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (pos, &jj) in order.iter().enumerate() {
        match groups.last_mut() {
            Some((start, end)) if slots_of(order[*start]) == slots_of(jj) => *end = pos + 1,
            _ => groups.push((pos, pos + 1)),
        }
    }
    // Column-major copy of the ordered sample: cols[dim * m + pos].
    let mut cols = vec![0.0; d * m];
    for (pos, &jj) in order.iter().enumerate() {
        for (dim, v) in x.row(sample[jj]).iter().enumerate() {
            cols[dim * m + pos] = *v;
        }
    }
    const LANES: usize = 8;
    let scores: Vec<Vec<f64>> = (0..m)
        .into_par_iter()
        .map(|ii| {
            let i = sample[ii];
            let a: Vec<f64> = x.row(i).to_vec();
            let mut sums = vec![0.0; width];
            for &(start, end) in &groups {
                // LANES distances at a time, their squared sums kept in registers across the
                // dimensions; a scalar loop for the group's last few rows.
                let mut lanes = [0.0f64; LANES];
                let mut lo = start;
                while lo + LANES <= end {
                    let mut acc = [0.0f64; LANES];
                    for (dim, &ad) in a.iter().enumerate() {
                        let col: &[f64; LANES] = cols[dim * m + lo..dim * m + lo + LANES]
                            .try_into()
                            .expect("LANES values");
                        for (s, &c) in acc.iter_mut().zip(col) {
                            let t = ad - c;
                            *s += t * t;
                        }
                    }
                    for (l, s) in lanes.iter_mut().zip(acc) {
                        *l += s.sqrt();
                    }
                    lo += LANES;
                }
                for (pos, l) in (lo..end).zip(lanes.iter_mut()) {
                    let s: f64 = a
                        .iter()
                        .enumerate()
                        .map(|(dim, &ad)| (ad - cols[dim * m + pos]) * (ad - cols[dim * m + pos]))
                        .sum();
                    *l += s.sqrt();
                }
                let total: f64 = lanes.iter().sum();
                for &slot in slots_of(order[start]) {
                    sums[slot] += total;
                }
            }
            clusterings
                .iter()
                .enumerate()
                .map(|(c, (labels, k))| {
                    let (o, own) = (offsets[c], labels[i]);
                    if sizes[o + own] <= 1 {
                        return 0.0;
                    }
                    let a = sums[o + own] / (sizes[o + own] - 1) as f64;
                    let b = (0..*k)
                        .filter(|&q| q != own && sizes[o + q] > 0)
                        .map(|q| sums[o + q] / sizes[o + q] as f64)
                        .fold(f64::INFINITY, f64::min);
                    let m = a.max(b);
                    if b.is_finite() && m > 0.0 {
                        (b - a) / m
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    (0..clusterings.len())
        .map(|c| scores.iter().map(|s| s[c]).sum::<f64>() / scores.len().max(1) as f64)
        .collect()
}

/// Calinski-Harabasz: between-cluster dispersion over within-cluster dispersion, each divided by
/// its degrees of freedom.
pub fn calinski_harabasz(x: &Array2<f64>, m: &KMeansModel) -> f64 {
    let (n, k) = (x.nrows() as f64, m.centroids.nrows() as f64);
    if k < 2.0 || n <= k || m.inertia <= 0.0 {
        return 0.0;
    }
    let overall = x.mean_axis(ndarray::Axis(0)).expect("n > 0");
    let between: f64 = m
        .centroids
        .outer_iter()
        .zip(&m.sizes)
        .map(|(c, &s)| s as f64 * dist(c, overall.view()).powi(2))
        .sum();
    (between / (k - 1.0)) / (m.inertia / (n - k))
}

/// Davies-Bouldin: mean over clusters of the worst (s_i + s_j) / d(c_i, c_j), with s the mean
/// distance of a cluster's points to its centroid. Lower is better.
pub fn davies_bouldin(x: &Array2<f64>, m: &KMeansModel) -> f64 {
    let k = m.centroids.nrows();
    let mut spread = vec![0.0; k];
    for (i, &l) in m.labels.iter().enumerate() {
        spread[l] += dist(x.row(i), m.centroids.row(l));
    }
    for (s, &n) in spread.iter_mut().zip(&m.sizes) {
        *s /= n.max(1) as f64;
    }
    let mut total = 0.0;
    for i in 0..k {
        let worst = (0..k)
            .filter(|&j| j != i)
            .map(|j| {
                let d = dist(m.centroids.row(i), m.centroids.row(j));
                if d > 0.0 {
                    (spread[i] + spread[j]) / d
                } else {
                    f64::INFINITY
                }
            })
            .fold(0.0, f64::max);
        total += worst;
    }
    total / k as f64
}

/// Runs k-means for every k and chooses one. `on_stage` names each step as it starts (for progress).
pub fn select(
    x: &Array2<f64>,
    p: &SelectParams,
    mut on_stage: impl FnMut(&str),
) -> Result<Selection> {
    let n = x.nrows();
    let (lo, hi) = match p.k {
        Some(k) => (k, k),
        None => (p.k_min, p.k_max),
    };
    if lo < 2 || lo > hi {
        bail!("the persona count range {lo}..={hi} is empty or below 2 (check --k, --k-min and --k-max)");
    }
    let distinct = kmeans::distinct_rows_at_least(x, hi);
    if distinct < lo {
        if distinct <= 1 {
            bail!("all {n} abandoners have identical clustering features; there is nothing to segment");
        }
        bail!(
            "only {n} abandoners ({distinct} distinct) for at least {lo} personas; use a longer --lookback, more data, or a smaller --k-min"
        );
    }
    let mut warnings = Vec::new();
    let hi = if distinct < hi {
        warnings.push(format!(
            "only {distinct} distinct abandoners: trying k up to {distinct} instead of {hi}"
        ));
        distinct
    } else {
        hi
    };
    let mut table = Vec::new();
    let mut models = Vec::new();
    // Many abandoners: the candidates are fitted on one sample (and measured on every row).
    let sampled = (lo < hi && n > CHOOSE_SAMPLE).then(|| {
        x.select(
            Axis(0),
            &uniform_rows(n, CHOOSE_SAMPLE, p.seed ^ 0x00c4_005e),
        )
    });
    let choosing = if lo < hi { "choosing k: " } else { "" };
    for k in lo..=hi {
        let model = match &sampled {
            None => {
                on_stage(&format!("{choosing}clustering with k = {k}"));
                fit_k(x, p, k)?
            }
            Some(xs) => {
                on_stage(&format!(
                    "{choosing}clustering with k = {k} on a sample of {CHOOSE_SAMPLE} abandoners"
                ));
                kmeans::evaluate(x, &fit_k(xs, p, k)?.centroids)
            }
        };
        // Silhouettes are computed together after the loop, on one sample.
        table.push(k_row(x, &model, k, f64::NAN, p.min_share));
        models.push(model);
    }
    let sample = silhouette_rows(n, p.seed);
    {
        on_stage(&format!("{choosing}silhouettes of every k"));
        let sets: Vec<(&[usize], usize)> = models
            .iter()
            .map(|m| (m.labels.as_slice(), m.centroids.nrows()))
            .collect();
        for (row, s) in table.iter_mut().zip(silhouettes(x, &sets, &sample)) {
            row.silhouette = s;
        }
    }
    // Small or lumpy data: when no k in range keeps every persona above the minimum share, fewer
    // personas than --k-min are tried (down to 2) before giving up on the minimum share.
    let mut fewer = None;
    if p.k.is_none() && !table.iter().any(|r| r.eligible) {
        for k in (2..lo).rev() {
            on_stage(&format!(
                "choosing k: clustering with k = {k} (fewer personas)"
            ));
            let model = fit_k(x, p, k)?;
            let s = silhouette(x, &model.labels, k, &sample);
            let row = k_row(x, &model, k, s, p.min_share);
            let eligible = row.eligible;
            table.insert(0, row);
            models.insert(0, model);
            if eligible {
                fewer = Some(k);
                warnings.push(format!(
                    "only {n} abandoners: no k in {lo}..={hi} gives every persona at least {:.1}% of them (--min-persona-share), so {k} personas were made, fewer than --k-min {lo}",
                    p.min_share * 100.0
                ));
                break;
            }
        }
        if fewer.is_none() {
            let extra = table.iter().filter(|r| r.k < lo).count();
            table.drain(..extra);
            models.drain(..extra);
        }
    }
    let eligible: Vec<usize> = (0..table.len()).filter(|&i| table[i].eligible).collect();
    let pool: Vec<usize> = if eligible.is_empty() {
        warnings.push(format!(
            "no k in {lo}..={hi}{} gives every persona at least {:.1}% of the {n} abandoners (--min-persona-share); choosing among all k in {lo}..={hi}, so some personas are tiny",
            if p.k.is_none() && lo > 2 { " (nor fewer, down to 2)" } else { "" },
            p.min_share * 100.0
        ));
        (0..table.len()).collect()
    } else {
        eligible
    };
    let best = pool
        .iter()
        .map(|&i| table[i].silhouette)
        .fold(f64::NEG_INFINITY, f64::max);
    let pick = *pool
        .iter()
        .find(|&&i| table[i].silhouette >= best - TIE)
        .expect("pool is not empty");
    table[pick].chosen = true;
    let chosen = &table[pick];
    let reason = if p.k.is_some() {
        format!("k = {} was forced with --k", chosen.k)
    } else if let Some(k) = fewer {
        format!(
            "no k in {lo}..={hi} gives every persona at least {:.1}% of the {n} abandoners; k = {k} is the largest k below that does",
            p.min_share * 100.0
        )
    } else {
        let excluded: Vec<String> = table
            .iter()
            .filter(|r| !r.eligible)
            .map(|r| {
                format!(
                    "k = {} (smallest persona {:.1}%)",
                    r.k,
                    r.smallest_share * 100.0
                )
            })
            .collect();
        let mut s = if chosen.silhouette < best {
            format!(
                "k = {} has silhouette {:.3}, within {TIE} of the best {:.3}, and is smaller",
                chosen.k, chosen.silhouette, best
            )
        } else {
            format!(
                "k = {} has the highest silhouette ({:.3}) among eligible k",
                chosen.k, chosen.silhouette
            )
        };
        if !excluded.is_empty() {
            s.push_str(&format!(
                "; not eligible for a persona under {:.1}% of abandoners: {}",
                p.min_share * 100.0,
                excluded.join(", ")
            ));
        }
        s
    };
    let k = chosen.k;
    let mut model = models.swap_remove(pick);
    if sampled.is_some() && model.iterations == 0 {
        // The sample's centres, polished on every abandoner. The table's row keeps the silhouette
        // k was chosen by; its inertia and other measures become those of the final model.
        on_stage(&format!("clustering with k = {k} on all abandoners"));
        model = kmeans::polish(x, model.centroids, POLISH_PASSES);
        let row = k_row(x, &model, k, table[pick].silhouette, p.min_share);
        table[pick] = KRow {
            eligible: table[pick].eligible,
            chosen: true,
            ..row
        };
    }
    Ok(Selection {
        k,
        reason,
        model,
        table,
        warnings,
    })
}

#[cfg(test)]
mod fewer_tests {
    use super::*;

    /// Two tight blobs of 40 points: with a minimum share of 30%, k = 3 or 4 must leave a persona
    /// under 30% (80 / 3 < 27), so no k in 3..=4 is eligible and k = 2 is made, with a warning.
    #[test]
    fn fewer_personas_than_k_min_when_no_k_in_range_is_eligible() {
        let mut rows = Vec::new();
        for i in 0..80 {
            let (cx, cy) = if i < 40 { (0.0, 0.0) } else { (10.0, 10.0) };
            let j = (i % 40) as f64;
            rows.extend([cx + (j * 0.37).sin(), cy + (j * 0.73).cos()]);
        }
        let x = Array2::from_shape_vec((80, 2), rows).unwrap();
        let p = SelectParams {
            k_min: 3,
            k_max: 4,
            k: None,
            min_share: 0.3,
            seed: 1,
            restarts: 4,
            minibatch_above: MINIBATCH_ABOVE,
        };
        let s = select(&x, &p, |_| {}).unwrap();
        assert_eq!(s.k, 2);
        assert_eq!(s.model.sizes, vec![40, 40]);
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("fewer than --k-min 3")),
            "{:?}",
            s.warnings
        );
        assert!(
            s.reason.contains("k = 2 is the largest k below"),
            "{}",
            s.reason
        );
        assert_eq!(
            s.table.iter().map(|r| r.k).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert!(s.table[0].chosen && s.table[0].eligible);
    }
}

#[cfg(test)]
mod sample_tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// Above CHOOSE_SAMPLE rows the candidates are fitted on a sample: five separated blobs must
    /// still give k = 5, a final model polished on every row that is as good as a fit on all rows,
    /// and a table whose chosen row describes that final model.
    #[test]
    fn choosing_k_on_a_sample_finds_the_blobs_and_polishes_on_all_rows() {
        let n = CHOOSE_SAMPLE + 10_000;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let noise = Normal::new(0.0, 0.6).unwrap();
        let centres = [
            [0.0, 0.0, 0.0],
            [5.0, 0.0, 0.0],
            [0.0, 5.0, 0.0],
            [0.0, 0.0, 5.0],
            [5.0, 5.0, 5.0],
        ];
        let x = Array2::from_shape_fn((n, 3), |(i, j)| centres[i % 5][j] + noise.sample(&mut rng));
        let p = SelectParams {
            k_min: 3,
            k_max: 6,
            k: None,
            min_share: 0.05,
            seed: 3,
            restarts: 4,
            minibatch_above: MINIBATCH_ABOVE,
        };
        let mut stages = Vec::new();
        let s = select(&x, &p, |st| stages.push(st.to_string())).unwrap();
        assert_eq!(s.k, 5);
        assert!(stages.contains(&format!(
            "choosing k: clustering with k = 5 on a sample of {CHOOSE_SAMPLE} abandoners"
        )));
        assert_eq!(
            stages.last().unwrap(),
            "clustering with k = 5 on all abandoners"
        );
        let row = s.table.iter().find(|r| r.chosen).unwrap();
        assert_eq!(row.inertia, s.model.inertia);
        assert_eq!(s.model.labels.len(), n);
        assert_eq!(s.model.sizes.iter().sum::<usize>(), n);
        let full = fit_k(&x, &p, 5).unwrap();
        assert!(
            s.model.inertia <= full.inertia * 1.0001,
            "{} vs {}",
            s.model.inertia,
            full.inertia
        );
        // Every blob is one persona.
        for b in 0..5 {
            let l = s.model.labels[b];
            assert!((b..n).step_by(5).all(|i| s.model.labels[i] == l));
        }
    }
}
