//! k-means with greedy k-means++ seeding and seeded restarts, behind linfa's `ParamGuard`, `Fit`
//! and `Predict` traits.
//!
//! Why not linfa-clustering's `KMeans`: measured on this machine (docs/ARCHITECTURE.md, "Decisions measured"),
//! linfa-clustering 0.8.1 with its defaults converged to merged clusters on easy data (mean squared
//! distance 10.9 and 8.0 where the true partition gives 4.0) and reported per-cluster counts from
//! the last run instead of the best one. scikit-learn's greedy k-means++ (2 + ln k candidates per
//! centre, keep the one that lowers the potential most) with 10 restarts found the true partition.
//! This module implements that seeding and plain Lloyd iterations; bench/ and
//! bench/kmeans_vs_sklearn.py compare the inertia with scikit-learn's.
//!
//! Determinism: each restart has its own seeded stream and the restarts run side by side, the
//! first with the lowest inertia winning; the assignment step works on fixed-size chunks whose
//! partial sums are added in chunk order, so the result is the same whatever the number of
//! threads.
//!
//! Speed (issue 33): distances are computed for [`LANES`] rows side by side (each row's sum over
//! the features in the same order as one row alone, so the same bits), and the chunk loops are
//! compiled twice, for the baseline and for AVX2, by the `multiversion` crate, which picks one at
//! run time. No fused multiply-add is enabled, so both give the same bits. Choosing k's fits and
//! the stability refits became 2x faster on the 6.2M-row bench month (bench/RESULTS.md).

use linfa::dataset::DatasetBase;
use linfa::param_guard::ParamGuard;
use linfa::traits::{Fit, Predict};
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Rows per chunk of the parallel assignment step (fixed, so sums do not depend on threads).
const CHUNK: usize = 4096;

/// Mini-batch path: rows drawn per step.
pub const BATCH: usize = 4096;
/// Mini-batch path: a restart stops after this many steps without a lower smoothed batch inertia.
const NO_IMPROVEMENT: usize = 10;
/// Mini-batch path: weight of the newest batch in the smoothed (exponentially weighted) inertia.
const SMOOTHING: f64 = 0.1;
/// Mini-batch path: most steps per restart.
const MAX_STEPS: usize = 2_000;
/// Mini-batch path: rows on which restarts are compared.
const VALIDATION: usize = 100_000;
/// Mini-batch path: most full Lloyd passes that polish the best restart's centres.
const REFINE: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum KMeansError {
    #[error("k must be at least 1 (got {0})")]
    InvalidK(usize),
    #[error("the number of restarts must be at least 1")]
    InvalidRestarts,
    #[error("the tolerance must be finite and >= 0 (got {0})")]
    InvalidTolerance(f64),
    #[error("{n} points cannot form {k} clusters: need at least {k} distinct points")]
    TooFewPoints { n: usize, k: usize },
    #[error("the data holds values that are not finite numbers")]
    NotFinite,
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}

/// Checked hyper-parameters: what `fit` accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidKMeansParams {
    k: usize,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    /// Mini-batch k-means above this many rows (`None`: always full Lloyd).
    minibatch_above: Option<usize>,
}

/// Unchecked hyper-parameters (linfa's pattern: a wrapper that `check` unwraps).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams(ValidKMeansParams);

impl KMeansParams {
    /// k clusters, 10 restarts, at most 300 iterations, tolerance 1e-4 (relative to the mean
    /// feature variance, as scikit-learn), seed 0.
    pub fn new(k: usize) -> KMeansParams {
        KMeansParams(ValidKMeansParams {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            minibatch_above: None,
        })
    }
    /// Use mini-batch k-means (then a few full Lloyd passes) when there are more than `n` rows.
    pub fn minibatch_above(mut self, n: Option<usize>) -> Self {
        self.0.minibatch_above = n;
        self
    }
    pub fn n_init(mut self, n: usize) -> Self {
        self.0.n_init = n;
        self
    }
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for KMeansParams {
    type Checked = ValidKMeansParams;
    type Error = KMeansError;

    fn check_ref(&self) -> Result<&ValidKMeansParams, KMeansError> {
        let p = &self.0;
        if p.k == 0 {
            return Err(KMeansError::InvalidK(p.k));
        }
        if p.n_init == 0 || p.max_iter == 0 {
            return Err(KMeansError::InvalidRestarts);
        }
        if !p.tol.is_finite() || p.tol < 0.0 {
            return Err(KMeansError::InvalidTolerance(p.tol));
        }
        Ok(p)
    }

    fn check(self) -> Result<ValidKMeansParams, KMeansError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted clustering.
#[derive(Debug, Clone)]
pub struct KMeansModel {
    pub centroids: Array2<f64>,
    /// Sum of squared distances of points to their centroid.
    pub inertia: f64,
    pub labels: Vec<usize>,
    pub sizes: Vec<usize>,
    pub iterations: usize,
    /// Which restart won (0-based).
    pub best_restart: usize,
}

fn sq_dist(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// [`sq_dist`] on plain slices: the same sum in the same order, so the same bits.
#[inline(always)]
pub(crate) fn sq_dist_slices(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index and squared distance of the nearest centroid (ties: the lower index).
pub fn nearest(x: ArrayView1<f64>, centroids: &Array2<f64>) -> (usize, f64) {
    if let (Some(row), Some(c)) = (x.as_slice(), centroids.as_slice()) {
        return nearest_in(row, c);
    }
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.outer_iter().enumerate() {
        let d = sq_dist(x, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

/// [`nearest`] on plain slices (`centroids`: k rows of `row.len()` values, row after row): the
/// same arithmetic in the same order, without ndarray's per-row views, which took most of the
/// time of the assignment step (perf, bench/RESULTS.md).
#[inline(always)]
fn nearest_in(row: &[f64], centroids: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.chunks_exact(row.len().max(1)).enumerate() {
        let d = sq_dist_slices(row, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

/// Rows whose distances are computed side by side by [`nearest_block`] and [`sq_dists_block`].
const LANES: usize = 8;

/// `rows` (LANES rows of `d` values, row after row) as `d` columns of LANES values, in `t`.
#[inline(always)]
fn transpose(rows: &[f64], d: usize, t: &mut [f64]) {
    for (lane, row) in rows.chunks_exact(d.max(1)).enumerate() {
        for (dim, v) in row.iter().enumerate() {
            t[dim * LANES + lane] = *v;
        }
    }
}

/// [`nearest_in`] for LANES rows at once (`t`: the rows as columns, [`transpose`]): each row's
/// squared distances are the same sums in the same order, so the same bits and the same labels;
/// only LANES independent sums now run side by side instead of one chain of dependent adds, which
/// bound the assignment step (issue 33: 2-3x faster on 13 features).
#[inline(always)]
fn nearest_block(t: &[f64], centroids: &[f64], d: usize) -> ([usize; LANES], [f64; LANES]) {
    let mut best_j = [0usize; LANES];
    let mut best = [f64::INFINITY; LANES];
    for (j, c) in centroids.chunks_exact(d.max(1)).enumerate() {
        let acc = sq_dists_block(t, c);
        for lane in 0..LANES {
            if acc[lane] < best[lane] {
                best[lane] = acc[lane];
                best_j[lane] = j;
            }
        }
    }
    (best_j, best)
}

/// Squared distances of LANES transposed rows (`t`) to `c`, each summed over the features in order
/// from 0 (as [`sq_dist`] and [`nearest_in`]: the same bits).
#[inline(always)]
fn sq_dists_block(t: &[f64], c: &[f64]) -> [f64; LANES] {
    let mut acc = [0.0f64; LANES];
    for (col, &cv) in t.chunks_exact(LANES).zip(c) {
        for (a, &v) in acc.iter_mut().zip(col) {
            let u = v - cv;
            *a += u * u;
        }
    }
    acc
}

struct Step {
    labels: Vec<usize>,
    sums: Array2<f64>,
    counts: Vec<usize>,
    inertia: f64,
    /// Per point squared distance to its centroid.
    dists: Vec<f64>,
}

/// One chunk's labels, distances, per-cluster sums and counts.
type Partial = (Vec<usize>, Vec<f64>, Array2<f64>, Vec<usize>);

/// The assignment step on rows `lo..hi` of `xs` (`d` values each) with `k` centroids `cs`.
/// Compiled for the baseline and for AVX2, chosen at run time (multiversion): the same operations
/// in the same order, so the same bits, four f64 lanes per instruction instead of two.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn assign_chunk(xs: &[f64], cs: &[f64], d: usize, k: usize, lo: usize, hi: usize) -> Partial {
    let mut labels = Vec::with_capacity(hi - lo);
    let mut dists = Vec::with_capacity(hi - lo);
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    let mut t = vec![0.0; d * LANES];
    let whole = lo + (hi - lo) / LANES * LANES;
    for b in (lo..whole).step_by(LANES) {
        transpose(&xs[b * d..(b + LANES) * d], d, &mut t);
        let (js, ds) = nearest_block(&t, cs, d);
        labels.extend_from_slice(&js);
        dists.extend_from_slice(&ds);
    }
    for i in whole..hi {
        let (j, dist) = nearest_in(&xs[i * d..(i + 1) * d], cs);
        labels.push(j);
        dists.push(dist);
    }
    // The sums row by row in row order, as before (the same bits).
    for (i, &j) in (lo..hi).zip(&labels) {
        counts[j] += 1;
        for (s, v) in sums[j * d..(j + 1) * d]
            .iter_mut()
            .zip(&xs[i * d..(i + 1) * d])
        {
            *s += v;
        }
    }
    let sums = Array2::from_shape_vec((k, d), sums).expect("k x d");
    (labels, dists, sums, counts)
}

/// The assignment step: nearest centroid for every point, with per-cluster sums.
fn assign(x: &Array2<f64>, centroids: &Array2<f64>) -> Step {
    let (n, d) = x.dim();
    let k = centroids.nrows();
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let cs = centroids.as_standard_layout();
    let cs = cs.as_slice().expect("standard layout");
    let parts: Vec<Partial> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
            assign_chunk(xs, cs, d, k, lo, hi)
        })
        .collect();
    let mut step = Step {
        labels: Vec::with_capacity(n),
        sums: Array2::zeros((k, d)),
        counts: vec![0; k],
        inertia: 0.0,
        dists: Vec::with_capacity(n),
    };
    for (labels, dists, sums, counts) in parts {
        step.labels.extend(labels);
        step.inertia += dists.iter().sum::<f64>();
        step.dists.extend(dists);
        step.sums += &sums;
        for (a, b) in step.counts.iter_mut().zip(counts) {
            *a += b;
        }
    }
    step
}

/// Lloyd passes over all of `x` from `centroids` (a fit on a sample of it), at most `max_iter`,
/// with the default tolerance (1e-4 of the mean feature variance): the final model of a k chosen
/// on a sample (docs/personas.md).
pub fn polish(x: &Array2<f64>, centroids: Array2<f64>, max_iter: usize) -> KMeansModel {
    let tol = 1e-4 * x.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0);
    lloyd(x, centroids, max_iter, tol)
}

/// The model that `centroids` make of `x`: every row labelled with its nearest centroid, the
/// sizes and the inertia (no iteration). Used to measure on all abandoners a k fitted on a sample.
pub fn evaluate(x: &Array2<f64>, centroids: &Array2<f64>) -> KMeansModel {
    let step = assign(x, centroids);
    KMeansModel {
        centroids: centroids.clone(),
        inertia: step.inertia,
        labels: step.labels,
        sizes: step.counts,
        iterations: 0,
        best_restart: 0,
    }
}

/// Greedy k-means++: each new centre is the best of `2 + ln k` candidates drawn with probability
/// proportional to the squared distance to the nearest centre so far.
fn seed_centroids(x: &Array2<f64>, k: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let (n, d) = x.dim();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centroids = Array2::<f64>::zeros((k, d));
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let row = |i: usize| &xs[i * d..(i + 1) * d];
    let first = rng.gen_range(0..n);
    centroids.row_mut(0).assign(&x.row(first));
    let mut closest: Vec<f64> = sq_dists_to(xs, n, d, row(first));
    let mut potential: f64 = closest.iter().sum();
    for c in 1..k {
        let mut cumulative = Vec::with_capacity(n);
        let mut acc = 0.0;
        for v in &closest {
            acc += v;
            cumulative.push(acc);
        }
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let candidate = if potential > 0.0 {
                let r = rng.gen::<f64>() * potential;
                cumulative.partition_point(|&v| v <= r).min(n - 1)
            } else {
                rng.gen_range(0..n)
            };
            let dists: Vec<f64> = sq_dists_to(xs, n, d, row(candidate))
                .into_iter()
                .zip(&closest)
                .map(|(v, c)| c.min(v))
                .collect();
            let pot: f64 = dists.chunks(CHUNK).map(|c| c.iter().sum::<f64>()).sum();
            if best.as_ref().is_none_or(|b| pot < b.0) {
                best = Some((pot, candidate, dists));
            }
        }
        let (pot, idx, dists) = best.expect("at least two trials");
        centroids.row_mut(c).assign(&x.row(idx));
        closest = dists;
        potential = pot;
    }
    centroids
}

/// The squared distance of each of the `n` rows of `xs` (`d` values each) to `c`: the same bits
/// as [`sq_dist`], [`LANES`] rows side by side, [`CHUNK`] rows per task.
fn sq_dists_to(xs: &[f64], n: usize, d: usize, c: &[f64]) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ch| sq_dists_chunk(xs, d, c, ch * CHUNK, ((ch + 1) * CHUNK).min(n)))
        .collect();
    parts.concat()
}

/// [`sq_dists_to`] on rows `lo..hi`; compiled as [`assign_chunk`].
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn sq_dists_chunk(xs: &[f64], d: usize, c: &[f64], lo: usize, hi: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(hi - lo);
    let mut t = vec![0.0; d * LANES];
    let whole = lo + (hi - lo) / LANES * LANES;
    for b in (lo..whole).step_by(LANES) {
        transpose(&xs[b * d..(b + LANES) * d], d, &mut t);
        out.extend_from_slice(&sq_dists_block(&t, c));
    }
    for i in whole..hi {
        out.push(sq_dist_slices(&xs[i * d..(i + 1) * d], c));
    }
    out
}

fn run_once(x: &Array2<f64>, p: &ValidKMeansParams, rng: &mut ChaCha8Rng, tol: f64) -> KMeansModel {
    let centroids = seed_centroids(x, p.k, rng);
    lloyd(x, centroids, p.max_iter, tol)
}

/// Lloyd iterations from `centroids` until no label changes, the centres move less than `tol`,
/// or `max_iter` passes.
fn lloyd(x: &Array2<f64>, mut centroids: Array2<f64>, max_iter: usize, tol: f64) -> KMeansModel {
    let k = centroids.nrows();
    let mut step = assign(x, &centroids);
    let mut iterations = 0;
    for _ in 0..max_iter {
        iterations += 1;
        let mut next = centroids.clone();
        for j in 0..k {
            if step.counts[j] > 0 {
                let mean = &step.sums.row(j) / step.counts[j] as f64;
                next.row_mut(j).assign(&mean);
            }
        }
        // An empty cluster takes the point farthest from its centroid (ties: the lower index).
        for j in 0..k {
            if step.counts[j] == 0 {
                let far = (0..step.dists.len())
                    .max_by(|&a, &b| step.dists[a].total_cmp(&step.dists[b]).then(b.cmp(&a)))
                    .expect("n >= k");
                next.row_mut(j).assign(&x.row(far));
                step.dists[far] = 0.0;
            }
        }
        let shift: f64 = centroids
            .outer_iter()
            .zip(next.outer_iter())
            .map(|(a, b)| sq_dist(a, b))
            .sum();
        centroids = next;
        let new_step = assign(x, &centroids);
        let unchanged = new_step.labels == step.labels;
        step = new_step;
        if unchanged || shift <= tol {
            break;
        }
    }
    KMeansModel {
        centroids,
        inertia: step.inertia,
        labels: step.labels,
        sizes: step.counts,
        iterations,
        best_restart: 0,
    }
}

/// Mini-batch k-means (Sculley 2010, the algorithm of scikit-learn's MiniBatchKMeans) for very
/// many rows: each restart seeds k-means++ on a sample of `3 * BATCH` rows, then moves each centre
/// towards the mean of the batch rows nearest to it with a per-centre rate of 1 / (rows it has
/// seen), until the smoothed batch inertia stops falling. Restarts are compared on a fixed sample;
/// the best one is polished with at most `REFINE` full Lloyd passes, which also give the labels
/// and the exact inertia. Batches are drawn from the restart's own seeded stream and handled in
/// order, so the result does not depend on the number of threads.
fn run_minibatch(x: &Array2<f64>, p: &ValidKMeansParams, tol: f64) -> KMeansModel {
    let (n, d) = x.dim();
    let k = p.k;
    let sample = |rng: &mut ChaCha8Rng, m: usize| -> Array2<f64> {
        let mut idx = rand::seq::index::sample(rng, n, m.min(n)).into_vec();
        idx.sort_unstable();
        x.select(Axis(0), &idx)
    };
    let validation = sample(
        &mut ChaCha8Rng::seed_from_u64(restart_seed(p.seed, usize::MAX)),
        VALIDATION,
    );
    let mut best: Option<(f64, Array2<f64>, usize)> = None;
    for r in 0..p.n_init {
        let mut rng = ChaCha8Rng::seed_from_u64(restart_seed(p.seed, r));
        let init = sample(&mut rng, (3 * BATCH).max(10 * k));
        let mut c = seed_centroids(&init, k, &mut rng);
        let mut seen = vec![0.0f64; k];
        let mut smoothed = f64::INFINITY;
        let mut lowest = f64::INFINITY;
        let mut since_lowest = 0;
        let mut sums = Array2::<f64>::zeros((k, d));
        let mut counts = vec![0usize; k];
        for _ in 0..MAX_STEPS {
            sums.fill(0.0);
            counts.fill(0);
            let mut inertia = 0.0;
            for _ in 0..BATCH {
                let row = x.row(rng.gen_range(0..n));
                let (j, dist) = nearest(row, &c);
                counts[j] += 1;
                inertia += dist;
                sums.row_mut(j).zip_mut_with(&row, |s, v| *s += v);
            }
            for j in 0..k {
                if counts[j] > 0 {
                    seen[j] += counts[j] as f64;
                    let b = counts[j] as f64;
                    let rate = 1.0 / seen[j];
                    // c += (sum - b c) / seen: the running mean of every row the centre has taken.
                    let mut cj = c.row_mut(j);
                    cj.zip_mut_with(&sums.row(j), |cv, s| *cv += (s - b * *cv) * rate);
                }
            }
            let mean = inertia / BATCH as f64;
            smoothed = if smoothed.is_finite() {
                smoothed * (1.0 - SMOOTHING) + mean * SMOOTHING
            } else {
                mean
            };
            if smoothed < lowest {
                lowest = smoothed;
                since_lowest = 0;
            } else {
                since_lowest += 1;
                if since_lowest >= NO_IMPROVEMENT {
                    break;
                }
            }
        }
        let score = assign(&validation, &c).inertia;
        if best.as_ref().is_none_or(|b| score < b.0) {
            best = Some((score, c, r));
        }
    }
    let (_, centroids, restart) = best.expect("n_init >= 1");
    let mut m = lloyd(x, centroids, REFINE, tol);
    m.best_restart = restart;
    m
}

fn restart_seed(seed: u64, restart: usize) -> u64 {
    let mut z = seed ^ (restart as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<T> Fit<Array2<f64>, T, KMeansError> for ValidKMeansParams {
    type Object = KMeansModel;

    fn fit(&self, dataset: &DatasetBase<Array2<f64>, T>) -> Result<KMeansModel, KMeansError> {
        let p = self;
        let x = &dataset.records;
        let n = x.nrows();
        if x.iter().any(|v| !v.is_finite()) {
            return Err(KMeansError::NotFinite);
        }
        if n < p.k || distinct_rows_at_least(x, p.k) < p.k {
            return Err(KMeansError::TooFewPoints { n, k: p.k });
        }
        // scikit-learn's tolerance: relative to the mean variance of the features.
        let variances = x.var_axis(Axis(0), 0.0);
        let tol = p.tol * variances.mean().unwrap_or(0.0);
        if p.minibatch_above.is_some_and(|above| n > above) {
            return Ok(run_minibatch(x, p, tol));
        }
        // Restarts side by side (each on its own seeded stream); the first with the lowest
        // inertia wins, as when they ran one after the other: rayon's reduce keeps the order.
        let best = (0..p.n_init)
            .into_par_iter()
            .map(|r| {
                let mut rng = ChaCha8Rng::seed_from_u64(restart_seed(p.seed, r));
                let mut m = run_once(x, p, &mut rng, tol);
                m.best_restart = r;
                m
            })
            .reduce_with(|a, b| if b.inertia < a.inertia { b } else { a });
        Ok(best.expect("n_init >= 1"))
    }
}

/// Counts distinct rows, stopping once `enough` have been seen.
pub fn distinct_rows_at_least(x: &Array2<f64>, enough: usize) -> usize {
    let mut seen: Vec<Vec<u64>> = Vec::new();
    for row in x.outer_iter() {
        let bits: Vec<u64> = row.iter().map(|v| v.to_bits()).collect();
        if !seen.contains(&bits) {
            seen.push(bits);
            if seen.len() >= enough {
                break;
            }
        }
    }
    seen.len()
}

impl Predict<&Array2<f64>, Array1<usize>> for KMeansModel {
    fn predict(&self, x: &Array2<f64>) -> Array1<usize> {
        x.outer_iter()
            .map(|r| nearest(r, &self.centroids).0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn parameter_checks_fail_fast() {
        assert!(matches!(
            KMeansParams::new(0).check(),
            Err(KMeansError::InvalidK(0))
        ));
        assert!(matches!(
            KMeansParams::new(3).n_init(0).check(),
            Err(KMeansError::InvalidRestarts)
        ));
        assert!(matches!(
            KMeansParams::new(3).tolerance(f64::NAN).check(),
            Err(KMeansError::InvalidTolerance(_))
        ));
    }

    #[test]
    fn finds_three_obvious_groups() {
        // Three tight groups of three points; the expected centres are worked out by hand.
        let x = array![
            [0.0, 0.0],
            [0.0, 1.0],
            [1.0, 0.0],
            [10.0, 10.0],
            [10.0, 11.0],
            [11.0, 10.0],
            [-10.0, 10.0],
            [-10.0, 11.0],
            [-11.0, 10.0]
        ];
        let m = KMeansParams::new(3)
            .seed(1)
            .check()
            .unwrap()
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        let mut sizes = m.sizes.clone();
        sizes.sort();
        assert_eq!(sizes, [3, 3, 3]);
        assert_eq!(m.labels[0], m.labels[1]);
        assert_eq!(m.labels[3], m.labels[5]);
        assert_ne!(m.labels[0], m.labels[3]);
        assert_ne!(m.labels[3], m.labels[6]);
        // Each group's squared distances to its mean (1/3, 1/3): 2/9 + 5/9 + 5/9 = 4/3; three groups: 4.
        assert!((m.inertia - 4.0).abs() < 1e-9, "{}", m.inertia);
        let predicted = m.predict(&x);
        assert_eq!(predicted.to_vec(), m.labels);
    }

    #[test]
    fn too_few_distinct_points() {
        let x = array![[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [2.0, 2.0]];
        let err = KMeansParams::new(3)
            .check()
            .unwrap()
            .fit(&DatasetBase::from(x))
            .unwrap_err();
        assert!(matches!(err, KMeansError::TooFewPoints { k: 3, .. }));
    }

    #[test]
    fn minibatch_is_within_one_percent_of_full_kmeans_and_thread_independent() {
        // 60,000 rows in five overlapping groups in 6-D.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let x = Array2::from_shape_fn((60_000, 6), |(i, j)| {
            ((i % 5) * (j + 1) % 7) as f64 + 2.0 * rng.gen::<f64>()
        });
        let params = KMeansParams::new(5).n_init(3).seed(3);
        let full = params
            .clone()
            .check()
            .unwrap()
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        let mini = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                params
                    .clone()
                    .minibatch_above(Some(10_000))
                    .check()
                    .unwrap()
                    .fit(&DatasetBase::from(x.clone()))
                    .unwrap()
            })
        };
        let (a, b) = (mini(1), mini(2));
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
        assert!(
            a.inertia <= full.inertia * 1.01,
            "mini-batch {} vs full {}",
            a.inertia,
            full.inertia
        );
        // Below the threshold the full algorithm runs: identical to no threshold.
        let below = params
            .clone()
            .minibatch_above(Some(60_000))
            .check()
            .unwrap()
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        assert_eq!(below.labels, full.labels);
        assert_eq!(below.inertia.to_bits(), full.inertia.to_bits());
    }

    #[test]
    fn same_result_on_one_and_two_threads() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = Array2::from_shape_fn((20_000, 4), |(i, _)| {
            (i % 4) as f64 * 3.0 + rng.gen::<f64>()
        });
        let fit = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                KMeansParams::new(4)
                    .n_init(3)
                    .seed(9)
                    .check()
                    .unwrap()
                    .fit(&DatasetBase::from(x.clone()))
                    .unwrap()
            })
        };
        let (a, b) = (fit(1), fit(2));
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
        assert_eq!(a.centroids, b.centroids);
    }

    /// The assignment step and the seeding's distances, LANES rows side by side (and on AVX2 where
    /// the processor has it), give the same bits as the row-by-row sums they replaced: labels,
    /// squared distances, per-cluster sums and counts, on a row count that is not a multiple of
    /// LANES, with ties between centres (the lower index wins) and 13 features as the matrix has.
    #[test]
    fn block_distances_are_the_same_bits_as_row_by_row() {
        let (n, d, k) = (4_099 + 4_096, 13, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            // Every 17th row lies on centre 0's values exactly: a tie with centre 1 (a copy).
            if i % 17 == 0 {
                (j as f64) * 0.25
            } else {
                rng.gen::<f64>() * 4.0 - 2.0
            }
        });
        let mut c =
            Array2::from_shape_fn((k, d), |(r, j)| (r as f64 - 2.0) * 0.3 + j as f64 * 0.01);
        for j in 0..d {
            c[[0, j]] = j as f64 * 0.25;
            c[[1, j]] = j as f64 * 0.25;
        }
        let step = assign(&x, &c);
        let mut sums = Array2::<f64>::zeros((k, d));
        let mut counts = vec![0usize; k];
        for i in 0..n {
            let (j, dist) = nearest(x.row(i), &c);
            let by_row = sq_dist(x.row(i), c.row(j));
            assert_eq!(step.labels[i], j, "row {i}");
            assert_eq!(step.dists[i].to_bits(), dist.to_bits(), "row {i}");
            assert_eq!(dist.to_bits(), by_row.to_bits(), "row {i}");
            if i % 17 == 0 {
                assert_eq!(j, 0, "a tie goes to the lower index");
            }
        }
        // The sums chunk by chunk, row order within each, chunks added in order.
        for lo in (0..n).step_by(CHUNK) {
            let mut part = Array2::<f64>::zeros((k, d));
            for i in lo..(lo + CHUNK).min(n) {
                let j = step.labels[i];
                counts[j] += 1;
                part.row_mut(j).zip_mut_with(&x.row(i), |s, v| *s += v);
            }
            sums += &part;
        }
        assert_eq!(step.counts, counts);
        assert_eq!(
            step.sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let xs = x.as_slice().unwrap();
        let to = sq_dists_to(xs, n, d, c.row(3).as_slice().unwrap());
        for (i, v) in to.iter().enumerate() {
            assert_eq!(
                v.to_bits(),
                sq_dist(x.row(i), c.row(3)).to_bits(),
                "row {i}"
            );
        }
    }
}
