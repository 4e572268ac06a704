//! A 2-D view of the shoppers for the report: the first two principal components (linfa-reduction's
//! PCA, which seeds its solver) of the standardized clustering matrix, on a seeded sample of at
//! most 5,000 shoppers stratified by persona.

use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_reduction::Pca;
use ndarray::{Array2, Axis};

use crate::cluster::sampling::stratified_sample;

pub const SAMPLE: usize = 5_000;

#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// (PC1, PC2, persona index) of each sampled shopper.
    pub points: Vec<(f64, f64, usize)>,
    /// Share of the variance each component explains.
    pub explained: [f64; 2],
}

pub fn project(x: &Array2<f64>, labels: &[usize], k: usize, seed: u64) -> Option<Projection> {
    if x.ncols() < 2 || x.nrows() < 3 {
        return None;
    }
    let rows = stratified_sample(labels, k, SAMPLE, seed ^ 0x00C0_FFEE);
    let sample = x.select(Axis(0), &rows);
    let pca = Pca::params(2)
        .fit(&DatasetBase::from(sample.clone()))
        .ok()?;
    let ratio = pca.explained_variance_ratio();
    let y: Array2<f64> = pca.predict(&sample);
    // A degenerate matrix (found by fuzzing a model with a tiny sd) gives fewer than two
    // components, or non-finite ones: then the report has no projection rather than a crash.
    if y.ncols() < 2 || y.nrows() != rows.len() || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let points = rows
        .iter()
        .enumerate()
        .map(|(r, &i)| (y[[r, 0]], y[[r, 1]], labels[i]))
        .collect();
    Some(Projection {
        points,
        explained: [
            ratio.first().copied().unwrap_or(0.0),
            ratio.get(1).copied().unwrap_or(0.0),
        ],
    })
}
