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
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::cluster::kmeans::{self, KMeansModel, KMeansParams};
use crate::cluster::metrics::{calinski_harabasz, davies_bouldin, silhouette, silhouettes};
use crate::cluster::sampling::uniform_rows;

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

/// Runs k-means for every k and chooses one. `on_stage` names each step as it starts (for progress).
///
/// The steps: the range of k the data allows; every candidate fitted and measured
/// ([`candidates`]); fewer personas than --k-min when no k in range is eligible
/// ([`try_fewer`]); the choice among eligible k and its reason ([`reason`]); the chosen k
/// polished on all rows when it was fitted on a sample.
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
    // config::cluster_params checked the range, naming the flags.
    debug_assert!(2 <= lo && lo <= hi, "a checked k range");
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
    let mut c = candidates(x, p, lo, hi, &mut on_stage)?;
    let fewer = if p.k.is_none() && !c.table.iter().any(|r| r.eligible) {
        try_fewer(x, p, lo, hi, &mut c, &mut warnings, &mut on_stage)?
    } else {
        None
    };
    let eligible: Vec<usize> = (0..c.table.len())
        .filter(|&i| c.table[i].eligible)
        .collect();
    let pool: Vec<usize> = if eligible.is_empty() {
        warnings.push(format!(
            "no k in {lo}..={hi}{} gives every persona at least {:.1}% of the {n} abandoners (--min-persona-share); choosing among all k in {lo}..={hi}, so some personas are tiny",
            if p.k.is_none() && lo > 2 { " (nor fewer, down to 2)" } else { "" },
            p.min_share * 100.0
        ));
        (0..c.table.len()).collect()
    } else {
        eligible
    };
    let best = pool
        .iter()
        .map(|&i| c.table[i].silhouette)
        .fold(f64::NEG_INFINITY, f64::max);
    let pick = *pool
        .iter()
        .find(|&&i| c.table[i].silhouette >= best - TIE)
        .expect("pool is not empty");
    c.table[pick].chosen = true;
    let reason = reason(&c.table, pick, best, p, (lo, hi, n), fewer);
    let k = c.table[pick].k;
    let mut model = c.models.swap_remove(pick);
    if c.sampled && model.iterations == 0 {
        // The sample's centres, polished on every abandoner. The table's row keeps the silhouette
        // k was chosen by; its inertia and other measures become those of the final model.
        on_stage(&format!("clustering with k = {k} on all abandoners"));
        model = kmeans::polish(x, model.centroids, POLISH_PASSES);
        let row = k_row(x, &model, k, c.table[pick].silhouette, p.min_share);
        c.table[pick] = KRow {
            eligible: c.table[pick].eligible,
            chosen: true,
            ..row
        };
    }
    Ok(Selection {
        k,
        reason,
        model,
        table: c.table,
        warnings,
    })
}

/// The fitted candidates: one table row and one model per k, in k order, and whether they were
/// fitted on a sample.
struct Candidates {
    table: Vec<KRow>,
    models: Vec<KMeansModel>,
    sampled: bool,
    /// The rows the silhouettes are computed on.
    sample: Vec<usize>,
}

/// Fits every k in `lo..=hi` (on one sample when there are many abandoners, measured on every
/// row), then the silhouettes of all of them together on one sample.
fn candidates(
    x: &Array2<f64>,
    p: &SelectParams,
    lo: usize,
    hi: usize,
    on_stage: &mut impl FnMut(&str),
) -> Result<Candidates> {
    let n = x.nrows();
    let mut table = Vec::new();
    let mut models = Vec::new();
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
    on_stage(&format!("{choosing}silhouettes of every k"));
    let sets: Vec<(&[usize], usize)> = models
        .iter()
        .map(|m| (m.labels.as_slice(), m.centroids.nrows()))
        .collect();
    for (row, s) in table.iter_mut().zip(silhouettes(x, &sets, &sample)) {
        row.silhouette = s;
    }
    Ok(Candidates {
        table,
        models,
        sampled: sampled.is_some(),
        sample,
    })
}

/// Small or lumpy data: when no k in range keeps every persona above the minimum share, fewer
/// personas than --k-min are tried (down to 2) before giving up on the minimum share. Returns
/// the k found, whose row and model now lead the candidates.
fn try_fewer(
    x: &Array2<f64>,
    p: &SelectParams,
    lo: usize,
    hi: usize,
    c: &mut Candidates,
    warnings: &mut Vec<String>,
    on_stage: &mut impl FnMut(&str),
) -> Result<Option<usize>> {
    let n = x.nrows();
    for k in (2..lo).rev() {
        on_stage(&format!(
            "choosing k: clustering with k = {k} (fewer personas)"
        ));
        let model = fit_k(x, p, k)?;
        let s = silhouette(x, &model.labels, k, &c.sample);
        let row = k_row(x, &model, k, s, p.min_share);
        let eligible = row.eligible;
        c.table.insert(0, row);
        c.models.insert(0, model);
        if eligible {
            warnings.push(format!(
                "only {n} abandoners: no k in {lo}..={hi} gives every persona at least {:.1}% of them (--min-persona-share), so {k} personas were made, fewer than --k-min {lo}",
                p.min_share * 100.0
            ));
            return Ok(Some(k));
        }
    }
    let extra = c.table.iter().filter(|r| r.k < lo).count();
    c.table.drain(..extra);
    c.models.drain(..extra);
    Ok(None)
}

/// Why the chosen row (`pick`) was chosen, in words for the report.
fn reason(
    table: &[KRow],
    pick: usize,
    best: f64,
    p: &SelectParams,
    (lo, hi, n): (usize, usize, usize),
    fewer: Option<usize>,
) -> String {
    let chosen = &table[pick];
    if p.k.is_some() {
        return format!("k = {} was forced with --k", chosen.k);
    }
    if let Some(k) = fewer {
        return format!(
            "no k in {lo}..={hi} gives every persona at least {:.1}% of the {n} abandoners; k = {k} is the largest k below that does",
            p.min_share * 100.0
        );
    }
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
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
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
