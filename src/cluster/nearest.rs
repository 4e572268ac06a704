//! Nearest and second-nearest persona for every row of a scaled matrix: used by `segment` for the
//! assignments file and by `assign` to apply a saved model.

use ndarray::Array2;
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assignment {
    /// Index of the nearest centroid (ties: the lower index).
    pub persona: usize,
    /// Euclidean distance to it, in the scaled space.
    pub distance: f64,
    /// Index of the second-nearest centroid (`persona` itself when there is only one).
    pub second: usize,
    /// Distance to the second-nearest minus distance to the nearest (>= 0).
    pub margin: f64,
}

pub fn nearest_two(x: &Array2<f64>, centroids: &Array2<f64>) -> Vec<Assignment> {
    (0..x.nrows())
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| {
            let row = x.row(i);
            let mut best = (usize::MAX, f64::INFINITY);
            let mut second = (usize::MAX, f64::INFINITY);
            for (j, c) in centroids.outer_iter().enumerate() {
                let d: f64 = row
                    .iter()
                    .zip(c.iter())
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                if d < best.1 {
                    second = best;
                    best = (j, d);
                } else if d < second.1 {
                    second = (j, d);
                }
            }
            let (s, sd) = if second.0 == usize::MAX { best } else { second };
            Assignment {
                persona: best.0,
                distance: best.1.sqrt(),
                second: s,
                margin: sd.sqrt() - best.1.sqrt(),
            }
        })
        .collect()
}
