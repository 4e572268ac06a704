//! Stability of each persona: the clusterboot idea of Hennig (2007), "Cluster-wise assessment of
//! cluster stability" (docs/personas.md, "Stability").
//!
//! Up to B times (`--stability-resamples`, default 20): draw a bootstrap resample of the fitted rows
//! (with replacement; at most [`RESAMPLE_ROWS`] rows, so the cost does not grow with the shop),
//! refit k-means with the run's k on it, and for each persona take the best Jaccard similarity
//! between its shoppers in the resample and any cluster of the refit (over the distinct rows of
//! the resample). A persona's stability is the mean over the resamples in which it has a shopper.
//! "stable" from 0.75, "weak" from 0.5, "dissolves" below (Hennig's reading). The resamples are
//! drawn in batches of four; after each batch, resampling stops once every persona's mean is known
//! to a standard error of 0.02 and lies t(0.975, n - 1) standard errors from each threshold
//! ([`settled`]): well-separated personas (Jaccard near 1 in every resample) then cost 4 refits
//! instead of 20.
//!
//! Deterministic: every resample has its own seeded stream and fit, and the results are gathered
//! in resample order, whatever the number of threads.

use anyhow::Result;
use linfa::dataset::DatasetBase;
use linfa::param_guard::ParamGuard;
use linfa::traits::Fit;
use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::cluster::kmeans::KMeansParams;

/// Default of `--stability-resamples`.
pub const RESAMPLES: usize = 20;
/// A resample has at most this many rows.
pub const RESAMPLE_ROWS: usize = 20_000;
/// Restarts of each refit, at most (the run's --restarts when fewer).
pub const REFIT_RESTARTS: usize = 4;
pub const STABLE: f64 = 0.75;
pub const WEAK: f64 = 0.5;

/// How a stability figure reads.
pub fn label(s: f64) -> &'static str {
    if s >= STABLE {
        "stable"
    } else if s >= WEAK {
        "weak"
    } else {
        "dissolves"
    }
}

/// The stability of each of the `k` personas (`labels[i]` is row i's persona), `None` for a
/// persona absent from every resample. `seed` and `restarts` are the run's.
pub fn stability(
    x: &Array2<f64>,
    labels: &[usize],
    k: usize,
    seed: u64,
    restarts: usize,
    resamples: usize,
) -> Result<Vec<Option<f64>>> {
    stability_with(x, None, labels, k, (seed, restarts), resamples, true)
}

/// What [`measure_of`] found: each persona's stability and how many resamples were drawn before
/// the figures were known well enough (at most the resamples asked for).
pub struct Stability {
    pub per_persona: Vec<Option<f64>>,
    pub drawn: usize,
}

/// [`stability`] of the rows `of` of `x` (`labels[i]`: row `of[i]`'s persona), without copying
/// them out first (a resample reads only its own rows: on the 6.2M-row bench month the copy of
/// all 260k fitted rows was a third of the stage), with the number of resamples drawn
/// (summary.json reports it).
pub fn measure_of(
    x: &Array2<f64>,
    of: &[usize],
    labels: &[usize],
    k: usize,
    (seed, restarts): (u64, usize),
    resamples: usize,
) -> Result<Stability> {
    measure(x, Some(of), labels, k, (seed, restarts), resamples, true)
}

/// [`stability`], stopping early when `stop` (the tests compare it with every resample drawn).
fn stability_with(
    x: &Array2<f64>,
    of: Option<&[usize]>,
    labels: &[usize],
    k: usize,
    seeds: (u64, usize),
    resamples: usize,
    stop: bool,
) -> Result<Vec<Option<f64>>> {
    Ok(measure(x, of, labels, k, seeds, resamples, stop)?.per_persona)
}

/// The resamples, batch by batch, and each persona's mean Jaccard over those it appears in.
fn measure(
    x: &Array2<f64>,
    of: Option<&[usize]>,
    labels: &[usize],
    k: usize,
    (seed, restarts): (u64, usize),
    resamples: usize,
    stop: bool,
) -> Result<Stability> {
    let n = labels.len();
    if n == 0 || resamples == 0 {
        return Ok(Stability {
            per_persona: vec![None; k],
            drawn: 0,
        });
    }
    let m = n.min(RESAMPLE_ROWS);
    let one = |b: usize| -> Result<Vec<Option<f64>>> {
        let stream = seed ^ 0x57ab_1e00_0000_0000 ^ (b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = ChaCha8Rng::seed_from_u64(stream);
        let rows: Vec<usize> = (0..m).map(|_| rng.gen_range(0..n)).collect();
        let fit = KMeansParams::new(k)
            .n_init(restarts.clamp(1, REFIT_RESTARTS))
            .seed(stream)
            .check()?
            .fit(&DatasetBase::from(match of {
                Some(of) => x.select(Axis(0), &rows.iter().map(|&r| of[r]).collect::<Vec<_>>()),
                None => x.select(Axis(0), &rows),
            }))?;
        Ok(jaccards(&rows, &fit.labels, labels, k))
    };
    // Batches in resample order, each on every thread; stop once every persona is known well
    // enough (issue 33), so the figures depend on the seed alone, not on the thread count.
    let mut per: Vec<Vec<Option<f64>>> = Vec::with_capacity(resamples);
    while per.len() < resamples {
        let next = (per.len() + BATCH).min(resamples);
        let batch: Vec<Vec<Option<f64>>> = (per.len()..next)
            .into_par_iter()
            .map(one)
            .collect::<Result<_>>()?;
        per.extend(batch);
        if stop && per.len() >= MIN_RESAMPLES && (0..k).all(|p| settled(&seen(&per, p))) {
            break;
        }
    }
    Ok(Stability {
        per_persona: (0..k)
            .map(|p| {
                let seen = seen(&per, p);
                (!seen.is_empty()).then(|| seen.iter().sum::<f64>() / seen.len() as f64)
            })
            .collect(),
        drawn: per.len(),
    })
}

/// Resamples drawn together (on every thread) before the stopping rule looks again.
const BATCH: usize = 4;
/// Resamples drawn before the stopping rule may stop (one batch).
pub const MIN_RESAMPLES: usize = 4;
/// The standard error of a persona's mean Jaccard below which it is known well enough.
pub const SETTLED_SE: f64 = 0.02;

/// Persona `p`'s Jaccard in each resample that had a shopper of it.
fn seen(per: &[Vec<Option<f64>>], p: usize) -> Vec<f64> {
    per.iter().filter_map(|j| j[p]).collect()
}

/// Whether a persona's stability is known well enough to stop: its mean's standard error
/// (sample sd / sqrt(n)) at most [`SETTLED_SE`], and the mean at least t(0.975, n - 1) standard
/// errors from each label's threshold: Student's quantile, not 2, because the sd is itself
/// estimated from as few as four resamples (3.18 at four, 2.36 at eight, 2.09 at twenty), so
/// more resamples would change its label by a 2.5% chance at most on either side (normal
/// Jaccards). A persona no resample has seen is settled (more would not see it either, almost
/// surely).
fn settled(seen: &[f64]) -> bool {
    let n = seen.len() as f64;
    if seen.len() < 2 {
        return seen.is_empty();
    }
    let mean = seen.iter().sum::<f64>() / n;
    let var = seen.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let se = (var / n).sqrt();
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .expect("n - 1 >= 1 degrees of freedom")
        .inverse_cdf(0.975);
    se <= SETTLED_SE && [STABLE, WEAK].iter().all(|th| (mean - th).abs() >= t * se)
}

/// For each persona, the best Jaccard similarity with a cluster of one refit, over the distinct
/// rows of the resample (`rows[i]` refitted into cluster `refit[i]`).
fn jaccards(rows: &[usize], refit: &[usize], labels: &[usize], k: usize) -> Vec<Option<f64>> {
    let mut pairs: Vec<(usize, usize)> = rows.iter().copied().zip(refit.iter().copied()).collect();
    pairs.sort_unstable();
    pairs.dedup_by_key(|p| p.0);
    let kr = refit.iter().max().map_or(0, |m| m + 1);
    let mut both = vec![0usize; k * kr];
    let (mut own, mut theirs) = (vec![0usize; k], vec![0usize; kr]);
    for (row, c) in pairs {
        let p = labels[row];
        both[p * kr + c] += 1;
        own[p] += 1;
        theirs[c] += 1;
    }
    (0..k)
        .map(|p| {
            (own[p] > 0).then(|| {
                (0..kr)
                    .map(|c| {
                        let b = both[p * kr + c];
                        b as f64 / (own[p] + theirs[c] - b) as f64
                    })
                    .fold(0.0, f64::max)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// Four tight blobs and a uniform ball cut in four, in 10 dimensions (like the 13 clustering
    /// features): the blobs are stable, the pieces of the ball (personas made of noise: the cut
    /// could run any way) dissolve. scikit-learn's KMeans with the same bootstrap gives 1.0 for
    /// the blobs and 0.30 to 0.42 for the pieces on such data. The same figures on 1 and 2
    /// threads.
    #[test]
    fn blobs_are_stable_a_cut_uniform_ball_dissolves_and_threads_do_not_matter() {
        const D: usize = 10;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let noise = Normal::new(0.0, 0.3).unwrap();
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rows = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (8.0, 0.0), (0.0, 8.0), (8.0, 8.0)] {
            for _ in 0..150 {
                for j in 0..D {
                    let c = [cx, cy].get(j).copied().unwrap_or(0.0);
                    rows.push(c + noise.sample(&mut rng));
                }
            }
        }
        // 400 points uniform in a ball of radius 3 around (4, 4, 12, 0, ...).
        for _ in 0..400 {
            let v: Vec<f64> = (0..D).map(|_| normal.sample(&mut rng)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let r = 3.0 * rng.gen::<f64>().powf(1.0 / D as f64);
            for (j, x) in v.iter().enumerate() {
                let c = [4.0, 4.0, 12.0].get(j).copied().unwrap_or(0.0);
                rows.push(c + x / norm * r);
            }
        }
        let x = Array2::from_shape_vec((1000, D), rows).unwrap();
        let fit = KMeansParams::new(8)
            .seed(1)
            .check()
            .unwrap()
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        let run = || stability(&x, &fit.labels, 8, 42, 10, 20).unwrap();
        let s = run();
        let mut pieces = 0;
        for (c, v) in s.iter().enumerate() {
            let v = v.unwrap();
            if (600..1000).any(|i| fit.labels[i] == c) {
                pieces += 1;
                assert!(v < 0.5, "a piece of the uniform ball scored {v}");
            } else {
                assert!(v >= 0.75, "a blob scored {v}");
            }
        }
        assert_eq!(pieces, 4);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(one.install(run), s);
    }

    /// Stopping early keeps every label and moves no figure by more than 0.02 on the blobs and
    /// the cut ball (the blobs stop at 4 resamples; the pieces, whose Jaccards vary, may not).
    #[test]
    fn stopping_early_keeps_every_label() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rows = Vec::new();
        for c in [0.0, 6.0, 12.0] {
            for _ in 0..300 {
                rows.extend(
                    (0..4).map(|j| if j == 0 { c } else { 0.0 } + 0.4 * normal.sample(&mut rng)),
                );
            }
        }
        for _ in 0..300 {
            rows.extend(
                (0..4).map(|j| if j == 1 { 20.0 } else { 0.0 } + 2.5 * normal.sample(&mut rng)),
            );
        }
        let x = Array2::from_shape_vec((1200, 4), rows).unwrap();
        let fit = KMeansParams::new(5)
            .seed(3)
            .check()
            .unwrap()
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        for seed in [1, 2, 3] {
            let early = stability_with(&x, None, &fit.labels, 5, (seed, 4), 20, true).unwrap();
            let all = stability_with(&x, None, &fit.labels, 5, (seed, 4), 20, false).unwrap();
            for (e, a) in early.iter().zip(&all) {
                let (e, a) = (e.unwrap(), a.unwrap());
                assert_eq!(label(e), label(a), "seed {seed}: {e} against {a}");
                assert!((e - a).abs() <= 0.02, "seed {seed}: {e} against {a}");
            }
        }
    }

    #[test]
    fn rows_by_index_give_the_same_figures_as_rows_copied_out() {
        // Every third row of three blobs, labelled by blob: measure_of on the whole matrix
        // against stability on the rows copied out, the same bits.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let noise = Normal::new(0.0, 0.3).unwrap();
        let x = Array2::from_shape_fn((900, 3), |(i, j)| {
            (i % 3) as f64 * 4.0 * f64::from(u8::from(j == i % 3)) + noise.sample(&mut rng)
        });
        let of: Vec<usize> = (0..900).step_by(3).chain([1, 2]).collect();
        let labels: Vec<usize> = of.iter().map(|&i| i % 3).collect();
        let copied = x.select(Axis(0), &of);
        for seed in [1, 2] {
            let by_index = measure_of(&x, &of, &labels, 3, (seed, 4), 8)
                .unwrap()
                .per_persona;
            let by_copy = stability(&copied, &labels, 3, seed, 4, 8).unwrap();
            assert_eq!(by_index, by_copy, "seed {seed}");
        }
    }

    #[test]
    fn settled_by_hand() {
        // Eight resamples of 1.0: no spread, far from both thresholds.
        assert!(settled(&[1.0; 8]));
        // Mean 0.76, se 0.0: but within two se of 0.75 only if se > 0.005: here se = 0.
        assert!(settled(&[0.76; 8]));
        // A spread of 0.2 over 8: se = 0.0756 > 0.02.
        assert!(!settled(&[0.5, 0.9, 0.5, 0.9, 0.5, 0.9, 0.5, 0.9]));
        // se 0.0189 but the mean 0.76 lies 0.53 se from 0.75.
        let near: Vec<f64> = (0..8)
            .map(|i| if i % 2 == 0 { 0.71 } else { 0.81 })
            .collect();
        assert!(!settled(&near));
        assert!(settled(&[]));
        assert!(!settled(&[0.9]));
        // Four at 0.77 and 0.83: mean 0.80, sd 0.034641, se 0.017321. 0.05 from 0.75 is 2.9 se:
        // two se would settle it, Student's t(0.975, 3) = 3.1824 se (0.0551) does not.
        assert!(!settled(&[0.77, 0.77, 0.83, 0.83]));
        // The same spread over eight: se 0.011339, t(0.975, 7) se = 0.0268 < 0.05: settled.
        assert!(settled(&[0.77, 0.83, 0.77, 0.83, 0.77, 0.83, 0.77, 0.83]));
        // The quantiles against scipy.stats.t.ppf(0.975, df).
        for (df, want) in [
            (3.0, 3.182446305284263),
            (7.0, 2.3646242510102993),
            (19.0, 2.093024054408263),
        ] {
            let t = StudentsT::new(0.0, 1.0, df).unwrap().inverse_cdf(0.975);
            assert!((t - want).abs() < 1e-6, "df {df}: {t} against {want}");
        }
    }

    #[test]
    fn jaccard_by_hand() {
        // Rows 0..4 in persona 0, 4..6 in persona 1; a refit puts 0, 1, 2 together and 3, 4, 5.
        let labels = [0, 0, 0, 0, 1, 1];
        let j = jaccards(&[0, 1, 2, 3, 4, 5, 5], &[0, 0, 0, 1, 1, 1, 1], &labels, 2);
        // Persona 0 {0,1,2,3}: with {0,1,2} 3/4; persona 1 {4,5}: with {3,4,5} 2/3.
        assert_eq!(j, [Some(0.75), Some(2.0 / 3.0)]);
        assert_eq!(label(0.75), "stable");
        assert_eq!(label(0.6), "weak");
        assert_eq!(label(0.2), "dissolves");
    }
}
