//! Outliers: shoppers far from the bulk of the data, kept out of fitting and of choosing k, then
//! assigned to their nearest persona and flagged (docs/personas.md, "Outliers").
//!
//! The rule, on each shopper's Euclidean distance to the nearest centre in the scaled space:
//! a shopper is an outlier when that distance is above the threshold
//! max(Tukey's far-out fence Q3 + 3 IQR, the distances' quantile 1 - [`MAX_SHARE`]) (type-7
//! quantiles), so at most about 1% of shoppers are flagged and nobody is on data without far-out
//! shoppers. The threshold goes into model.json, so `assign` flags new shoppers by the same rule.

use crate::cluster::matrix::quantile_sorted;
use rayon::prelude::*;

/// At most this share of abandoners is flagged.
pub const MAX_SHARE: f64 = 0.01;
/// Tukey's far-out fence: Q3 + this many interquartile ranges.
pub const FENCE_IQR: f64 = 3.0;

/// The outlier threshold of these distances (to each shopper's nearest centre); infinite when
/// there are none.
pub fn threshold(distances: &[f64]) -> f64 {
    if distances.is_empty() {
        return f64::INFINITY;
    }
    let mut d = distances.to_vec();
    // On all threads: under a total order the sorted values are the same bits.
    d.par_sort_unstable_by(f64::total_cmp);
    let (q1, q3) = (quantile_sorted(&d, 0.25), quantile_sorted(&d, 0.75));
    let fence = q3 + FENCE_IQR * (q3 - q1);
    fence.max(quantile_sorted(&d, 1.0 - MAX_SHARE))
}

/// Flags the shoppers above `threshold`; `labels` are their personas. A persona is never made
/// only of outliers: when every shopper of a persona is above the threshold, none of them is
/// flagged.
pub fn flag(distances: &[f64], labels: &[usize], k: usize, threshold: f64) -> Vec<bool> {
    let mut flags: Vec<bool> = distances.iter().map(|&d| d > threshold).collect();
    let mut inliers = vec![0usize; k];
    for (&l, &f) in labels.iter().zip(&flags) {
        inliers[l] += usize::from(!f);
    }
    for (f, &l) in flags.iter_mut().zip(labels) {
        if inliers[l] == 0 {
            *f = false;
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_is_flagged_without_far_out_distances() {
        // 1..=200: Q1 50.75, Q3 150.25, fence 448.75: nobody.
        let d: Vec<f64> = (1..=200).map(f64::from).collect();
        let t = threshold(&d);
        assert!((t - 448.75).abs() < 1e-9, "{t}");
        assert!(flag(&d, &vec![0; 200], 1, t).iter().all(|f| !f));
    }

    #[test]
    fn far_out_shoppers_are_flagged_at_most_one_percent() {
        // 1,000 distances near 1 and 30 far away: the fence is low, the 99th percentile caps it.
        let mut d: Vec<f64> = (0..1000).map(|i| 1.0 + (i % 10) as f64 * 0.01).collect();
        d.extend((0..30).map(|i| 50.0 + i as f64));
        let t = threshold(&d);
        let flags = flag(&d, &vec![0; d.len()], 1, t);
        let n = flags.iter().filter(|f| **f).count();
        assert!(n <= (0.01 * d.len() as f64).ceil() as usize, "{n}");
        assert!(n >= 10, "{n}");
        // The farthest are the ones flagged.
        assert!(flags[d.len() - 1] && !flags[0]);
    }

    #[test]
    fn a_persona_is_never_only_outliers() {
        let d = [1.0, 1.1, 0.9, 1.0, 100.0, 120.0];
        let labels = [0, 0, 0, 0, 1, 1];
        let flags = flag(&d, &labels, 2, 5.0);
        assert_eq!(flags, [false; 6], "persona 1 would be all outliers");
        let flags = flag(&d, &[0, 0, 0, 1, 1, 1], 2, 5.0);
        assert_eq!(flags, [false, false, false, false, true, true]);
    }
}
