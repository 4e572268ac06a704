//! Clustering: a [`crate::features::compute::FeatureTable`] in; the scaled matrix, the fitted
//! centroids, the choice of k with its table of metrics, nearest-centroid assignments and a 2-D
//! projection out.
//!
//! `matrix` (fill, log1p, clip, scale) -> `kmeans` (our k-means behind linfa's traits) ->
//! `metrics` (silhouette, in `silhouette`; Calinski-Harabasz, Davies-Bouldin) with `sampling` for large runs ->
//! `choose_k` (fit every k, keep the best eligible one) -> `nearest` (assign rows to centroids,
//! also for `assign`) and `projection` (PCA for the report). `outliers` keeps far-out shoppers
//! out of the fit and flags them; `stability` refits bootstrap resamples to score each persona.
//! May use `util` and `features`.
pub mod choose_k;
pub mod fit;
pub mod kmeans;
pub mod matrix;
pub mod metrics;
pub mod nearest;
pub mod outliers;
pub mod projection;
pub mod sampling;
pub mod silhouette;
pub mod stability;
