//! Seeded samples of rows: uniform (the silhouettes' and the candidates' sample above 20,000
//! abandoners) and stratified by cluster (the projection's points). Seeded with ChaCha8, so the
//! same seed gives the same rows on every machine and thread count.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// All of `0..n` up to `max`, otherwise a uniform seeded sample of `max` of them, ascending.
pub fn uniform_rows(n: usize, max: usize, seed: u64) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = rand::seq::index::sample(&mut rng, n, max).into_vec();
    rows.sort_unstable();
    rows
}

/// A stratified seeded sample of at most `max` row indices: each cluster contributes in proportion
/// to its size (largest remainders), at least one row per non-empty cluster.
pub fn stratified_sample(labels: &[usize], k: usize, max: usize, seed: u64) -> Vec<usize> {
    let n = labels.len();
    if n <= max {
        return (0..n).collect();
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        members[l].push(i);
    }
    let mut quota: Vec<usize> = members
        .iter()
        .map(|m| (m.len() * max / n).max(usize::from(!m.is_empty())))
        .collect();
    let mut rem: Vec<(usize, usize)> = members
        .iter()
        .enumerate()
        .map(|(j, m)| ((m.len() * max) % n, j))
        .collect();
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut total: usize = quota.iter().sum();
    for (_, j) in rem {
        if total >= max {
            break;
        }
        if quota[j] < members[j].len() {
            quota[j] += 1;
            total += 1;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(total);
    for (j, m) in members.iter_mut().enumerate() {
        let (chosen, _) = m.partial_shuffle(&mut rng, quota[j]);
        out.extend_from_slice(chosen);
    }
    out.sort_unstable();
    out
}
