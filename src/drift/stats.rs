//! Distribution measures of drift (docs/drift.md): the population stability index over binned
//! shares and the two-sample Kolmogorov-Smirnov statistic.

/// Floor for empty bins in PSI, so an empty bin on one side gives a large but finite value.
pub const PSI_FLOOR: f64 = 1e-4;

/// Population stability index of two distributions over the same bins: Σ (q − p) ln(q / p), each
/// share floored at [`PSI_FLOOR`].
pub fn psi(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(a, b)| {
            let (a, b) = (a.max(PSI_FLOOR), b.max(PSI_FLOOR));
            (b - a) * (b / a).ln()
        })
        .sum()
}

/// Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs.
pub fn ks(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable_by(f64::total_cmp);
    b.sort_unstable_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// Shares of values in the bins cut at `edges` (right-closed: x <= edge goes left), plus a last
/// bin for gaps.
pub fn binned(values: &[Option<f64>], edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0.0; edges.len() + 2];
    for v in values {
        let bin = match v {
            None => edges.len() + 1,
            Some(x) => edges.partition_point(|e| e < x),
        };
        counts[bin] += 1.0;
    }
    let n = values.len().max(1) as f64;
    counts.iter().map(|c| c / n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_by_hand() {
        // (0.5 - 0.25) ln 2 + (0.5 - 0.75) ln(2/3) = 0.25 (ln 2 - ln 2/3) = 0.25 ln 3
        let v = psi(&[0.25, 0.75], &[0.5, 0.5]);
        assert!((v - 0.25 * 3f64.ln()).abs() < 1e-12, "{v}");
        assert_eq!(psi(&[0.2, 0.8], &[0.2, 0.8]), 0.0);
    }

    #[test]
    fn ks_by_hand() {
        // CDFs of {1,2,3,4} and {3,4,5,6}: the largest gap is at x = 2 (0.5 vs 0).
        assert_eq!(ks(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0]), 0.5);
        assert_eq!(ks(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn bins_are_right_closed_with_a_gap_bin() {
        let b = binned(&[Some(1.0), Some(2.0), Some(2.5), None], &[1.0, 2.0]);
        assert_eq!(b, [0.25, 0.25, 0.25, 0.25]);
    }
}
