//! Choosing k (docs/personas.md, "Choosing the number of personas").
//!
//! For each k in k-min..=k-max: k-means, then silhouette (exact, on all abandoners up to 20,000,
//! else on one uniform seeded sample of 20,000 shared by every k, scored in one pass), Calinski-Harabasz,
//! Davies-Bouldin, inertia and the smallest persona's shares of abandoners and of value. A k is
//! eligible when every persona holds at least the minimum share of abandoners **or** of the value
//! at stake, has at least the minimum size, and the personas average at least
//! [`MIN_AVERAGE_SIZE`] shoppers. Among eligible k the highest silhouette wins; a smaller k within
//! 0.01 of the best wins over it. When none is eligible: the largest fully eligible k below k-min
//! (down to 2), else the smallest k whose personas all reach the minimum size, else the smallest
//! k, and the personas are called indicative.
//!
//! Above [`CHOOSE_SAMPLE`] abandoners the candidates are fitted on one seeded sample and measured
//! on every row; the chosen k's centres are then polished on all rows (issue 8: choosing k was a
//! third of a 1M-shopper run).

use anyhow::{bail, Result};
use linfa::dataset::DatasetBase;
use linfa::param_guard::ParamGuard;
use linfa::traits::Fit;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cluster::kmeans::{self, KMeansModel, KMeansParams};
use crate::cluster::metrics::{calinski_harabasz, davies_bouldin, silhouette, silhouettes};
use crate::cluster::sampling::uniform_rows;
use crate::util::numfmt::pct1;

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
    /// `--min-persona-size`; `None`: max(3, min(20, ceil(0.5% of abandoners))).
    #[serde(default)]
    pub min_size: Option<usize>,
}

/// The defaults every help text, `cartsona init` and the config show (docs/personas.md): k from
/// 3 to 6, 5% minimum share, seed 42, 10 restarts, mini-batches above 500,000 abandoners.
impl Default for SelectParams {
    fn default() -> SelectParams {
        SelectParams {
            k_min: 3,
            k_max: 6,
            k: None,
            min_share: 0.05,
            seed: 42,
            restarts: 10,
            minibatch_above: MINIBATCH_ABOVE,
            min_size: None,
        }
    }
}

/// A k whose personas average fewer shoppers than this is not eligible (small data).
pub const MIN_AVERAGE_SIZE: f64 = 8.0;
/// Below this many abandoners the personas are called indicative in every output.
pub const WORKABLE: usize = 100;

/// The minimum persona size for `n` abandoners: `--min-persona-size`, or by default
/// max(3, min(20, ceil(0.5% of n))).
pub fn min_size(p: &SelectParams, n: usize) -> usize {
    p.min_size
        .unwrap_or_else(|| (n as f64 * 0.005).ceil().clamp(0.0, 20.0).max(3.0) as usize)
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
    /// Share of abandoners of the smallest persona (by shoppers).
    pub smallest_share: f64,
    pub eligible: bool,
    pub chosen: bool,
    /// Shoppers in the smallest persona.
    #[serde(default)]
    pub smallest_size: usize,
    /// Share of the value at stake of the smallest persona (`None`: no value at stake known).
    #[serde(default)]
    pub smallest_value_share: Option<f64>,
    /// Why the k is not eligible; empty when it is.
    #[serde(default)]
    pub not_eligible: String,
}

pub struct Selection {
    pub table: Vec<KRow>,
    pub k: usize,
    pub reason: String,
    pub model: KMeansModel,
    pub warnings: Vec<String>,
    /// Why the personas are only indicative (small data, or no k eligible), if they are.
    pub indicative: Option<String>,
}

/// What eligibility looks at: each row's value at stake and the rules' settings.
pub struct Rules<'a> {
    pub values: &'a [f64],
    pub min_share: f64,
    pub min_size: usize,
}

impl Rules<'_> {
    /// Eligibility of a clustering: (smallest size, its share, its value share, why not).
    fn judge(&self, labels: &[usize], k: usize) -> (usize, f64, Option<f64>, String) {
        let n = labels.len();
        let mut sizes = vec![0usize; k];
        let mut value = vec![0.0f64; k];
        for (&l, &v) in labels.iter().zip(self.values) {
            sizes[l] += 1;
            value[l] += v;
        }
        let total: f64 = value.iter().sum();
        // Unknown without a value at stake (a `--features` table without last_abandoned_value):
        // then only the size counts.
        let value_share = |j: usize| (total > 0.0).then(|| value[j] / total);
        let smallest = (0..k).min_by_key(|&j| (sizes[j], j)).expect("k >= 1");
        let (size, share) = (sizes[smallest], sizes[smallest] as f64 / n as f64);
        let mut why = String::new();
        if let Some(j) = (0..k).find(|&j| sizes[j] < self.min_size) {
            why = format!(
                "a persona of {} shoppers, under the minimum size {}",
                sizes[j], self.min_size
            );
        } else if let Some(j) = (0..k).find(|&j| {
            (sizes[j] as f64 / n as f64) < self.min_share
                && value_share(j).unwrap_or(0.0) < self.min_share
        }) {
            why = format!(
                "a persona with {} of abandoners and {} of the value at stake, both under {}",
                pct1(sizes[j] as f64 / n as f64),
                value_share(j).map_or_else(|| "unknown".into(), pct1),
                pct1(self.min_share)
            );
        } else if (n as f64 / k as f64) < MIN_AVERAGE_SIZE {
            why = format!(
                "{:.1} shoppers per persona on average, under {MIN_AVERAGE_SIZE}",
                n as f64 / k as f64
            );
        }
        (size, share, value_share(smallest), why)
    }
}

/// k-means with the run's restarts and the seed for this k.
pub fn fit_k(x: &Array2<f64>, p: &SelectParams, k: usize) -> Result<KMeansModel> {
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
fn k_row(x: &Array2<f64>, model: &KMeansModel, k: usize, silhouette: f64, rules: &Rules) -> KRow {
    let overall = x.mean_axis(Axis(0)).expect("n > 0");
    k_row_about(x, &overall, model, k, silhouette, rules)
}

/// [`k_row`] given the mean of every row (`overall`, as `x.mean_axis(Axis(0))`).
fn k_row_about(
    x: &Array2<f64>,
    overall: &Array1<f64>,
    model: &KMeansModel,
    k: usize,
    silhouette: f64,
    rules: &Rules,
) -> KRow {
    let (smallest_size, smallest_share, smallest_value_share, why) = rules.judge(&model.labels, k);
    KRow {
        k,
        silhouette,
        calinski_harabasz: calinski_harabasz(overall, model, x.nrows()),
        davies_bouldin: davies_bouldin(x, model),
        inertia: model.inertia,
        smallest_share,
        eligible: why.is_empty(),
        chosen: false,
        smallest_size,
        smallest_value_share,
        not_eligible: why,
    }
}

fn seed_for_k(seed: u64, k: usize) -> u64 {
    seed.wrapping_add((k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Runs k-means for every k and chooses one. `values` is each row's value at stake (for the
/// value-share rule). `on_stage` names each step as it starts (for progress).
///
/// The steps: the range of k the data allows; every candidate fitted and measured
/// ([`candidates`]); fewer personas than --k-min when no k in range is eligible
/// ([`try_fewer`]); the choice and its reason ([`reason`]); the chosen k polished on all rows
/// when it was fitted on a sample.
pub fn select(
    x: &Array2<f64>,
    values: &[f64],
    p: &SelectParams,
    mut on_stage: impl FnMut(&str),
) -> Result<Selection> {
    let n = x.nrows();
    let rules = Rules {
        values,
        min_share: p.min_share,
        min_size: min_size(p, n),
    };
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
    let mut c = candidates(x, p, &rules, lo, hi, &mut on_stage)?;
    let none_in_range = !c.table.iter().any(|r| r.eligible);
    let fewer = if p.k.is_none() && none_in_range {
        try_fewer(x, p, &rules, lo, hi, &mut c, &mut warnings, &mut on_stage)?
    } else {
        None
    };
    let eligible: Vec<usize> = (0..c.table.len())
        .filter(|&i| c.table[i].eligible)
        .collect();
    let mut indicative = None;
    let pick = if eligible.is_empty() {
        // The defined fallback: the smallest k whose personas all reach the minimum size, else
        // the smallest k tried.
        let pick = (0..c.table.len())
            .find(|&i| c.table[i].smallest_size >= rules.min_size)
            .unwrap_or(0);
        let why = format!(
            "no k in {lo}..={hi}{} is eligible, so the smallest k whose personas all have at least {} shoppers was taken (k = {}); the personas are indicative",
            if p.k.is_none() && lo > 2 { " (nor fewer, down to 2)" } else { "" },
            rules.min_size,
            c.table[pick].k
        );
        indicative = Some(why);
        pick
    } else {
        let best = eligible
            .iter()
            .map(|&i| c.table[i].silhouette)
            .fold(f64::NEG_INFINITY, f64::max);
        *eligible
            .iter()
            .find(|&&i| c.table[i].silhouette >= best - TIE)
            .expect("eligible is not empty")
    };
    c.table[pick].chosen = true;
    let reason = reason(&c.table, pick, p, (lo, hi, n), fewer);
    let k = c.table[pick].k;
    let mut model = c.models.swap_remove(pick);
    if c.sampled && model.iterations == 0 {
        // The sample's centres, polished on every abandoner. The table's row keeps the silhouette
        // k was chosen by; its inertia and other measures become those of the final model.
        on_stage(&format!("clustering with k = {k} on all abandoners"));
        model = kmeans::polish(x, model.centroids, POLISH_PASSES);
        let row = k_row(x, &model, k, c.table[pick].silhouette, &rules);
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
        indicative,
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
    rules: &Rules,
    lo: usize,
    hi: usize,
    on_stage: &mut impl FnMut(&str),
) -> Result<Candidates> {
    let n = x.nrows();
    let sampled = (lo < hi && n > CHOOSE_SAMPLE).then(|| {
        x.select(
            Axis(0),
            &uniform_rows(n, CHOOSE_SAMPLE, p.seed ^ 0x00c4_005e),
        )
    });
    let choosing = if lo < hi { "choosing k: " } else { "" };
    let mut models = Vec::new();
    for k in lo..=hi {
        models.push(match &sampled {
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
        });
    }
    let sample = silhouette_rows(n, p.seed);
    on_stage(&format!("{choosing}silhouettes of every k"));
    let sets: Vec<(&[usize], usize)> = models
        .iter()
        .map(|m| (m.labels.as_slice(), m.centroids.nrows()))
        .collect();
    // The other measures of every k beside the silhouettes (the overall mean once for all).
    let overall = x.mean_axis(Axis(0)).expect("n > 0");
    let (scores, mut table) = rayon::join(
        || silhouettes(x, &sets, &sample),
        || {
            models
                .par_iter()
                .enumerate()
                .map(|(i, m)| k_row_about(x, &overall, m, lo + i, f64::NAN, rules))
                .collect::<Vec<KRow>>()
        },
    );
    for (row, s) in table.iter_mut().zip(scores) {
        row.silhouette = s;
    }
    Ok(Candidates {
        table,
        models,
        sampled: sampled.is_some(),
        sample,
    })
}

/// Small or lumpy data: when no k in range is eligible, fewer personas than --k-min are tried
/// (down to 2). Returns the largest eligible k found, whose row and model then lead the
/// candidates; without one, every k below --k-min stays in the table for the fallback.
#[allow(clippy::too_many_arguments)]
fn try_fewer(
    x: &Array2<f64>,
    p: &SelectParams,
    rules: &Rules,
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
        let row = k_row(x, &model, k, s, rules);
        let eligible = row.eligible;
        c.table.insert(0, row);
        c.models.insert(0, model);
        if eligible {
            warnings.push(format!(
                "only {n} abandoners: no k in {lo}..={hi} is eligible (each persona at least {:.1}% of abandoners or of the value at stake, at least {} shoppers, {MIN_AVERAGE_SIZE} on average), so {k} personas were made, fewer than --k-min {lo}",
                p.min_share * 100.0,
                rules.min_size
            ));
            // Fewer k that were not tried stay out of the table.
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// Why the chosen row (`pick`) was chosen, in words for the report.
fn reason(
    table: &[KRow],
    pick: usize,
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
            "no k in {lo}..={hi} is eligible for the {n} abandoners; k = {k} is the largest k below that is"
        );
    }
    if !chosen.eligible {
        return format!(
            "no k is eligible for the {n} abandoners; k = {} is the smallest whose personas all reach the minimum size (or the smallest tried): indicative personas",
            chosen.k
        );
    }
    let best = table
        .iter()
        .filter(|r| r.eligible)
        .map(|r| r.silhouette)
        .fold(f64::NEG_INFINITY, f64::max);
    let excluded: Vec<String> = table
        .iter()
        .filter(|r| !r.eligible)
        .map(|r| format!("k = {} ({})", r.k, r.not_eligible))
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
        s.push_str(&format!("; not eligible: {}", excluded.join(", ")));
    }
    s
}

#[cfg(test)]
mod eligibility_tests {
    use super::*;

    fn rules(values: &[f64], min_size: usize) -> Rules<'_> {
        Rules {
            values,
            min_share: 0.05,
            min_size,
        }
    }

    /// 100 shoppers, a persona of 3 (3% of shoppers) holding a fifth of the value: eligible by
    /// value share; the same persona with ordinary values is not.
    #[test]
    fn a_small_persona_counts_when_it_holds_enough_of_the_value() {
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i < 3)).collect();
        let rich: Vec<f64> = (0..100).map(|i| if i < 3 { 100.0 } else { 12.4 }).collect();
        let (size, share, value_share, why) = rules(&rich, 3).judge(&labels, 2);
        assert_eq!((size, share), (3, 0.03));
        assert!((value_share.unwrap() - 300.0 / (300.0 + 97.0 * 12.4)).abs() < 1e-12);
        assert_eq!(why, "", "3% of shoppers but {value_share:?} of the value");
        let plain = vec![1.0; 100];
        let (_, _, _, why) = rules(&plain, 3).judge(&labels, 2);
        assert!(
            why.contains("3.0% of abandoners and 3.0% of the value"),
            "{why}"
        );
    }

    #[test]
    fn minimum_size_and_average_size() {
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i < 3)).collect();
        let rich: Vec<f64> = (0..100).map(|i| if i < 3 { 100.0 } else { 1.0 }).collect();
        let (_, _, _, why) = rules(&rich, 4).judge(&labels, 2);
        assert_eq!(why, "a persona of 3 shoppers, under the minimum size 4");
        // 20 shoppers in 3 personas: 6.7 on average.
        let labels: Vec<usize> = (0..20).map(|i| i % 3).collect();
        let (_, _, _, why) = rules(&[1.0; 20], 3).judge(&labels, 3);
        assert_eq!(why, "6.7 shoppers per persona on average, under 8");
        // The default minimum size: max(3, min(20, ceil(0.5% of n))).
        let p = SelectParams {
            k_min: 3,
            k_max: 6,
            k: None,
            min_share: 0.05,
            seed: 1,
            restarts: 1,
            minibatch_above: MINIBATCH_ABOVE,
            min_size: None,
        };
        assert_eq!(
            [35, 1000, 1488, 100_000].map(|n| min_size(&p, n)),
            [3, 5, 8, 20]
        );
        let forced = SelectParams {
            min_size: Some(50),
            ..p
        };
        assert_eq!(min_size(&forced, 35), 50);
    }
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
            min_size: None,
        };
        let s = select(&x, &[1.0; 80], &p, |_| {}).unwrap();
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
            min_size: None,
        };
        let mut stages = Vec::new();
        let s = select(&x, &vec![1.0; n], &p, |st| stages.push(st.to_string())).unwrap();
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
