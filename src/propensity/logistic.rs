//! L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least
//! squares): the model of the return propensity (issue 20, docs/propensity.md).
//!
//! In: a design matrix (one row per shopper and as-of week, standardised features), 0/1 labels,
//! and the penalty as scikit-learn states it, `C`, the inverse of the L2 strength (`None`: no
//! penalty, as for Platt scaling). Out: the intercept `b` and coefficients `w` minimising
//!
//! ```text
//! sum_i [ log(1 + exp(z_i)) - y_i z_i ] + ||w||^2 / (2 C),   z_i = b + x_i . w
//! ```
//!
//! which is scikit-learn's `LogisticRegression(C=C)` objective divided by `C`: the intercept is
//! not penalised, as in its lbfgs and newton-cholesky solvers (tests/propensity_stats.rs compares
//! coefficients with it on fixtures).
//!
//! Why Newton's method and not linfa-logistic (argmin's L-BFGS): Newton converges to the
//! optimum's last bits in a handful of iterations (each one a (p+1)-square Cholesky solve, from
//! linfa-linalg), where L-BFGS stops at a gradient tolerance; and each iteration's sums over rows
//! are split into fixed blocks, summed on all threads and added in block order, so the fit has
//! the same bits on any thread count and uses both cores at the bench's millions of rows.

use anyhow::{anyhow, bail, Result};
use linfa_linalg::cholesky::SolveC;
use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows per block of the sums: a block is summed on one thread, blocks are added in order.
const BLOCK_ROWS: usize = 4096;
const MAX_ITERATIONS: usize = 100;
/// Newton stops once no parameter moves by more than this (relative to the largest).
const TOLERANCE: f64 = 1e-10;

/// A fitted model: `P(y = 1 | x) = 1 / (1 + exp(-(intercept + x . coefficients)))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// scikit-learn's `C` (the L2 penalty is `||w||^2 / (2 C)`); `None`: unpenalised.
    pub c: Option<f64>,
    /// Newton iterations taken.
    pub iterations: usize,
}

impl Logistic {
    /// The log-odds of a row.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.intercept
            + x.iter()
                .zip(&self.coefficients)
                .map(|(a, b)| a * b)
                .sum::<f64>()
    }
    /// The probability of a row.
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(self.logit(x))
    }
}

/// `1 / (1 + exp(-z))`, without overflow for large `|z|`.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(z))`, without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Fits the model to rows `x` and labels `y` with penalty `c` (see the module docs).
pub fn fit(x: ArrayView2<f64>, y: &[bool], c: Option<f64>) -> Result<Logistic> {
    let (n, p) = x.dim();
    if n != y.len() {
        bail!("{n} rows but {} labels", y.len());
    }
    if let Some(c) = c.filter(|c| !(c.is_finite() && *c > 0.0)) {
        bail!("the penalty C must be a positive number (got {c})");
    }
    if x.iter().any(|v| !v.is_finite()) {
        bail!("the design matrix holds a value that is not a finite number");
    }
    let positives = y.iter().filter(|&&v| v).count();
    if positives == 0 || positives == n {
        bail!(
            "all {n} labels are {}: nothing to learn from",
            positives > 0
        );
    }
    let lambda = c.map_or(0.0, |c| 1.0 / c);
    // [intercept, w...]; the intercept starts at the base rate's log-odds.
    let mut beta = Array1::<f64>::zeros(p + 1);
    beta[0] = (positives as f64 / (n - positives) as f64).ln();
    let mut objective = loss(x, y, &beta, lambda);
    for iteration in 1..=MAX_ITERATIONS {
        let (gradient, mut hessian) = derivatives(x, y, &beta, lambda);
        let step = hessian
            .solvec(&gradient.insert_axis(Axis(1)))
            .map_err(|e| {
                anyhow!("the fit's Hessian is not positive definite ({e}): a feature is constant or a copy of others, or the features separate the labels perfectly, and nothing penalises it (a penalty, a smaller C, settles both)")
            })?
            .remove_axis(Axis(1));
        // Halve the step until the objective does not rise (a full step nearly always does).
        // Near the optimum a step changes the objective by less than its rounding: a rise
        // within that is no rise, or the last digits of the optimum would never be reached.
        let slack = 1e-12 * objective.abs().max(1.0);
        let mut t = 1.0;
        let (next, value) = loop {
            let candidate = &beta - &(&step * t);
            let value = loss(x, y, &candidate, lambda);
            if value <= objective + slack || t < 1e-6 {
                break (candidate, value);
            }
            t *= 0.5;
        };
        let moved = (&next - &beta).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        let scale = next.iter().fold(1.0f64, |m, b| m.max(b.abs()));
        beta = next;
        objective = value;
        if moved <= TOLERANCE * scale {
            return Ok(Logistic {
                intercept: beta[0],
                coefficients: beta.slice(s![1..]).to_vec(),
                c,
                iterations: iteration,
            });
        }
    }
    bail!("the fit did not converge in {MAX_ITERATIONS} iterations: the features may separate the labels perfectly (a penalty, a smaller C, settles that)")
}

/// The starts of the row blocks.
fn blocks(n: usize) -> Vec<usize> {
    (0..n).step_by(BLOCK_ROWS).collect()
}

/// The objective at `beta` (see the module docs), summed block by block in order.
fn loss(x: ArrayView2<f64>, y: &[bool], beta: &Array1<f64>, lambda: f64) -> f64 {
    let n = y.len();
    let w = beta.slice(s![1..]);
    let parts: Vec<f64> = blocks(n)
        .par_iter()
        .map(|&start| {
            (start..n.min(start + BLOCK_ROWS))
                .map(|i| {
                    let z = beta[0] + x.row(i).dot(&w);
                    softplus(z) - if y[i] { z } else { 0.0 }
                })
                .sum::<f64>()
        })
        .collect();
    parts.iter().sum::<f64>() + 0.5 * lambda * w.dot(&w)
}

/// The objective's gradient and Hessian at `beta`, summed block by block in order.
fn derivatives(
    x: ArrayView2<f64>,
    y: &[bool],
    beta: &Array1<f64>,
    lambda: f64,
) -> (Array1<f64>, Array2<f64>) {
    let n = y.len();
    let q = beta.len();
    let w = beta.slice(s![1..]);
    let parts: Vec<(Array1<f64>, Array2<f64>)> = blocks(n)
        .par_iter()
        .map(|&start| {
            let mut g = Array1::<f64>::zeros(q);
            let mut h = Array2::<f64>::zeros((q, q));
            let mut row = vec![1.0; q];
            let end = n.min(start + BLOCK_ROWS);
            for (i, &label) in y.iter().enumerate().take(end).skip(start) {
                for (r, v) in row[1..].iter_mut().zip(x.row(i)) {
                    *r = *v;
                }
                let mu = sigmoid(beta[0] + x.row(i).dot(&w));
                let residual = mu - if label { 1.0 } else { 0.0 };
                let weight = mu * (1.0 - mu);
                for j in 0..q {
                    g[j] += residual * row[j];
                    let wj = weight * row[j];
                    // The lower triangle; mirrored below.
                    for k in 0..=j {
                        h[[j, k]] += wj * row[k];
                    }
                }
            }
            (g, h)
        })
        .collect();
    let mut g = Array1::<f64>::zeros(q);
    let mut h = Array2::<f64>::zeros((q, q));
    for (pg, ph) in &parts {
        g += pg;
        h += ph;
    }
    for j in 1..q {
        g[j] += lambda * beta[j];
        h[[j, j]] += lambda;
    }
    for j in 0..q {
        for k in 0..j {
            h[[k, j]] = h[[j, k]];
        }
    }
    (g, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Deterministic rows with a known relation to the labels.
    fn data(n: usize) -> (Array2<f64>, Vec<bool>) {
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            (((i * 7919 + j * 104_729) % 1000) as f64 / 500.0) - 1.0
        });
        let y = (0..n)
            .map(|i| {
                let z = 0.3 + 1.5 * x[[i, 0]] - 2.0 * x[[i, 1]];
                // A fixed pseudo-random threshold per row.
                let u = ((i * 2_654_435_761) % 10_007) as f64 / 10_007.0;
                u < sigmoid(z)
            })
            .collect();
        (x, y)
    }

    /// At the optimum the gradient vanishes: sum of residuals is zero (intercept) and, for each
    /// feature, sum of residual x feature equals -w_j / C.
    #[test]
    fn the_optimum_satisfies_the_first_order_conditions() {
        let (x, y) = data(3000);
        for c in [None, Some(0.05), Some(1.0)] {
            let m = fit(x.view(), &y, c).unwrap();
            let mut g = [0.0; 4];
            for i in 0..y.len() {
                let r = m.probability(&x.row(i).to_vec()) - f64::from(u8::from(y[i]));
                g[0] += r;
                for j in 0..3 {
                    g[j + 1] += r * x[[i, j]];
                }
            }
            assert!(g[0].abs() < 1e-8, "{c:?}: intercept gradient {}", g[0]);
            for j in 0..3 {
                let penalty = c.map_or(0.0, |c| m.coefficients[j] / c);
                assert!((g[j + 1] + penalty).abs() < 1e-8, "{c:?}: feature {j}");
            }
        }
    }

    #[test]
    fn the_same_bits_on_one_and_two_threads() {
        let (x, y) = data(3 * BLOCK_ROWS + 11);
        let on = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| fit(x.view(), &y, Some(0.5)).unwrap())
        };
        assert_eq!(on(1), on(2));
    }

    #[test]
    fn refuses_what_it_cannot_fit() {
        let (x, y) = data(100);
        assert!(fit(x.view(), &y[..99], None).is_err());
        assert!(fit(x.view(), &[true; 100], Some(1.0)).is_err());
        assert!(fit(x.view(), &y, Some(0.0)).is_err());
        // Perfectly separated and unpenalised: the coefficients run away.
        let sep: Vec<bool> = (0..100).map(|i| x[[i, 0]] > 0.0).collect();
        let e = fit(x.view(), &sep, None).unwrap_err().to_string();
        assert!(e.contains("separate"), "{e}");
        // ... and a penalty settles it.
        assert!(fit(x.view(), &sep, Some(1.0)).is_ok());
    }
}
