//! Clustering quality measures: silhouette (one pass over a shared sample for several
//! clusterings), Calinski-Harabasz and Davies-Bouldin, as scikit-learn defines them
//! (bench/kmeans_vs_sklearn.py compares them).

use ndarray::{Array2, ArrayView1};

use crate::cluster::kmeans::{sq_dist_slices, KMeansModel};

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

pub use crate::cluster::silhouette::silhouettes;

/// Calinski-Harabasz: between-cluster dispersion over within-cluster dispersion, each divided by
/// its degrees of freedom. `overall` is the mean of the `n` rows the model was measured on
/// (choosing k computes it once for every k).
pub fn calinski_harabasz(overall: &ndarray::Array1<f64>, m: &KMeansModel, n: usize) -> f64 {
    let (n, k) = (n as f64, m.centroids.nrows() as f64);
    if k < 2.0 || n <= k || m.inertia <= 0.0 {
        return 0.0;
    }
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
    let (k, d) = m.centroids.dim();
    let mut spread = vec![0.0; k];
    // On plain slices: the same sums as `dist` on rows, without ndarray's per-row views (four
    // times faster on 260k rows, issue 33).
    let (xs, cs) = (x.as_standard_layout(), m.centroids.as_standard_layout());
    let (xs, cs) = (
        xs.as_slice().expect("standard"),
        cs.as_slice().expect("standard"),
    );
    for (row, &l) in xs.chunks_exact(d.max(1)).zip(&m.labels) {
        let c = &cs[l * d..(l + 1) * d];
        spread[l] += sq_dist_slices(row, c).sqrt();
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
