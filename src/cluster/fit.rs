//! The clustering of a `segment` run, in order: far-out shoppers left out of the fit
//! ([`left_out`]), k chosen and fitted on the others (`choose_k`); then, once every shopper has a
//! persona, the outlier threshold of the final centres, the outlier flags and each persona's
//! stability ([`assess`]).

use anyhow::Result;
use ndarray::{Array2, Axis};
use rayon::prelude::*;

use crate::cluster::choose_k::{self, SelectParams, Selection, CHOOSE_SAMPLE, WORKABLE};
use crate::cluster::kmeans;
use crate::cluster::outliers;
use crate::cluster::sampling::uniform_rows;
use crate::cluster::stability;

/// A fitted clustering and the rows it was fitted on.
pub struct Fitted {
    pub selection: Selection,
    /// The rows of the matrix the clustering was fitted on (the others are outliers).
    pub fit_rows: Vec<usize>,
}

/// Leaves far-out shoppers out, then chooses k on the others. `values` is each row's value at
/// stake.
pub fn fit(
    x: &Array2<f64>,
    values: &[f64],
    p: &SelectParams,
    on_stage: impl FnMut(&str),
) -> Result<Fitted> {
    let out = left_out(x, p)?;
    let fit_rows: Vec<usize> = (0..x.nrows()).filter(|&i| !out[i]).collect();
    let mut selection = if fit_rows.len() == x.nrows() {
        choose_k::select(x, values, p, on_stage)?
    } else {
        let xf = x.select(Axis(0), &fit_rows);
        let vf: Vec<f64> = fit_rows.iter().map(|&i| values[i]).collect();
        choose_k::select(&xf, &vf, p, on_stage)?
    };
    let n = x.nrows();
    if n < WORKABLE {
        let small = format!("only {n} abandoners (fewer than {WORKABLE}): the personas are indicative, not a basis for spending");
        selection.indicative = Some(match selection.indicative.take() {
            Some(why) => format!("{small}; {why}"),
            None => small,
        });
    }
    Ok(Fitted {
        selection,
        fit_rows,
    })
}

/// The shoppers left out of fitting and of choosing k: the outliers (`outliers::threshold`) of
/// the distances to the nearest centre of a first fit with k = --k or --k-max on every shopper
/// (on one seeded sample above [`CHOOSE_SAMPLE`] shoppers), counting only centres with at least
/// the minimum persona size, so that a far-out shopper alone in a cluster is measured from the
/// bulk.
pub fn left_out(x: &Array2<f64>, p: &SelectParams) -> Result<Vec<bool>> {
    let n = x.nrows();
    let k = p.k.unwrap_or(p.k_max);
    if n < 4 * k || kmeans::distinct_rows_at_least(x, k) < k {
        return Ok(vec![false; n]);
    }
    let first = if n > CHOOSE_SAMPLE {
        let xs = x.select(
            Axis(0),
            &uniform_rows(n, CHOOSE_SAMPLE, p.seed ^ 0x0071_1e55),
        );
        kmeans::evaluate(x, &choose_k::fit_k(&xs, p, k)?.centroids)
    } else {
        choose_k::fit_k(x, p, k)?
    };
    let min_size = choose_k::min_size(p, n);
    let big: Vec<usize> = (0..k).filter(|&c| first.sizes[c] >= min_size).collect();
    let centres = first.centroids.select(Axis(0), &big);
    let d: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| kmeans::nearest(x.row(i), &centres).1.sqrt())
        .collect();
    let t = outliers::threshold(&d);
    Ok(d.iter().map(|&v| v > t).collect())
}

/// What a run says about its personas once every shopper has one.
pub struct Assessment {
    /// The outlier threshold of the final centres (model.json keeps it for `assign`).
    pub threshold: f64,
    /// Each shopper: an outlier or not.
    pub outlier: Vec<bool>,
    /// Each persona's stability (`None` when not measured).
    pub stability: Vec<Option<f64>>,
    /// Stability resamples drawn (0: not measured).
    pub resamples_drawn: usize,
}

/// Outliers by the final centres (`distances[i]`: row i to its persona's centre) and the
/// stability of the `k` personas on the fitted rows. `labels[i]` is row i's persona.
pub fn assess(
    x: &Array2<f64>,
    fitted: &Fitted,
    labels: &[usize],
    distances: &[f64],
    p: &SelectParams,
    resamples: usize,
) -> Result<Assessment> {
    let k = fitted.selection.k;
    let threshold = outliers::threshold(distances);
    let outlier = outliers::flag(distances, labels, k, threshold);
    let lf: Vec<usize> = fitted.fit_rows.iter().map(|&i| labels[i]).collect();
    let measured =
        stability::measure_of(x, &fitted.fit_rows, &lf, k, (p.seed, p.restarts), resamples)?;
    Ok(Assessment {
        threshold,
        outlier,
        stability: measured.per_persona,
        resamples_drawn: measured.drawn,
    })
}
