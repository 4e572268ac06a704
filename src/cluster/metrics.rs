//! Clustering quality measures: silhouette (one pass over a shared sample for several
//! clusterings), Calinski-Harabasz and Davies-Bouldin, as scikit-learn defines them
//! (bench/kmeans_vs_sklearn.py compares them).

use ndarray::{Array2, ArrayView1};
use rayon::prelude::*;

use crate::cluster::kmeans::KMeansModel;

/// Euclidean distance of two rows.
pub fn dist(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
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
