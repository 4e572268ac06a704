//! The exact mean silhouette of several clusterings over one shared sample of rows (choosing k
//! scores k = 3..6 on the same 20,000 rows). In: the matrix, the clusterings (labels of every row
//! and their k) and the sample's row indices; out: one mean silhouette per clustering, as
//! scikit-learn's `silhouette_score` (Euclidean; a point alone in its cluster scores 0).
//!
//! Hand-written (no crate computes several clusterings' silhouettes in one pass; scikit-learn's
//! one-clustering-at-a-time was the slowest part of choosing k, issue 8) and shaped by
//! measurement (issue 19: 1.24 s -> see bench/RESULTS.md at 300k shoppers):
//! - the sample's rows are ordered by their labels in every clustering, so rows sharing all labels
//!   form contiguous *groups*; a row's distances to a group are summed once and the sum credited
//!   to every clustering;
//! - each pair of rows is measured once (the upper triangle), its distance credited to both rows:
//!   half the distances of the row-by-row loop it replaces;
//! - distances are computed in f32 (squared differences of standardised values, about 1e-7
//!   relative error) eight at a time over column-major values, then summed in f64: silhouettes
//!   agree with an f64 computation to about 1e-7, far inside issue 19's 0.005.
//!
//! Determinism: the triangle is cut into fixed blocks of [`BLOCK`] rows; each block's sums are
//! computed by one thread in a fixed order and the blocks are added up in block order, so the
//! result is the same bits on any number of threads.

use ndarray::Array2;
use rayon::prelude::*;

/// Rows per block of the triangle (a block's columns reach to the end of the sample).
const BLOCK: usize = 256;
/// Distances computed side by side (the compiler vectorises the loops over them).
const LANES: usize = 8;
/// Rows of the widest loop: four blocks of [`LANES`].
const WIDE: usize = 4 * LANES;

/// The sample ordered by labels, its groups and its values as f32 columns.
struct Layout {
    /// Sample size.
    m: usize,
    /// Column-major values of the ordered sample: `cols[dim * m + pos]`.
    cols: Vec<f32>,
    /// Group of each ordered position.
    group_of: Vec<usize>,
    /// Positions `start..end` of each group.
    groups: Vec<(usize, usize)>,
    /// For each group, its accumulator slot in every clustering (`clusterings.len()` each).
    slots: Vec<Vec<usize>>,
    /// Ordered position -> index into the sample.
    order: Vec<usize>,
}

impl Layout {
    fn new(x: &Array2<f64>, clusterings: &[(&[usize], usize)], sample: &[usize]) -> Layout {
        let offsets: Vec<usize> = clusterings
            .iter()
            .scan(0, |acc, (_, k)| {
                let o = *acc;
                *acc += k;
                Some(o)
            })
            .collect();
        let slots_of = |jj: usize| -> Vec<usize> {
            clusterings
                .iter()
                .zip(&offsets)
                .map(|((labels, _), o)| o + labels[sample[jj]])
                .collect()
        };
        let row_slots: Vec<Vec<usize>> = (0..sample.len()).map(slots_of).collect();
        let mut order: Vec<usize> = (0..sample.len()).collect();
        order.sort_by(|&a, &b| row_slots[a].cmp(&row_slots[b]).then(a.cmp(&b)));
        let (mut groups, mut slots, mut group_of) = (Vec::new(), Vec::new(), Vec::new());
        for (pos, &jj) in order.iter().enumerate() {
            match groups.last_mut() {
                Some((_, end)) if slots.last() == Some(&row_slots[jj]) => *end = pos + 1,
                _ => {
                    groups.push((pos, pos + 1));
                    slots.push(row_slots[jj].clone());
                }
            }
            group_of.push(groups.len() - 1);
        }
        let m = sample.len();
        let mut cols = vec![0.0f32; x.ncols() * m];
        for (pos, &jj) in order.iter().enumerate() {
            for (dim, v) in x.row(sample[jj]).iter().enumerate() {
                cols[dim * m + pos] = *v as f32;
            }
        }
        Layout {
            m,
            cols,
            group_of,
            groups,
            slots,
            order,
        }
    }

    fn dims(&self) -> usize {
        self.cols.len() / self.m.max(1)
    }
}

/// One block's share of the triangle: for each of its rows, the sums of its distances to every
/// group's rows after it (`rows[(p - start) * groups + g]`); for every later row, the sums of its
/// distances to the block's rows of each group the block holds (`cols[gi * (m - start) + q -
/// start]`, group `first + gi`).
struct BlockSums {
    start: usize,
    end: usize,
    rows: Vec<f64>,
    first: usize,
    cols: Vec<f64>,
}

/// Distances from `a` to the ordered rows `lo..hi`: each added to `credit[q - base]`, and their sum
/// returned.
#[inline(always)]
fn distances(l: &Layout, a: &[f32], lo: usize, hi: usize, credit: &mut [f64], base: usize) -> f64 {
    let m = l.m;
    let mut lanes = [0.0f64; LANES];
    let mut q = lo;
    // WIDE rows at a time: four independent sums per feature instead of one chain of dependent
    // adds (the loop was bound by their latency); each distance and each addition into `lanes`
    // and `credit` is the same as in the loop below, in the same order, so the same bits.
    while q + WIDE <= hi {
        let mut acc = [[0.0f32; LANES]; WIDE / LANES];
        for (dim, &ad) in a.iter().enumerate() {
            let col: &[f32; WIDE] = l.cols[dim * m + q..dim * m + q + WIDE]
                .try_into()
                .expect("WIDE values");
            for (part, cols) in acc.iter_mut().zip(col.chunks_exact(LANES)) {
                for (s, &c) in part.iter_mut().zip(cols) {
                    let t = ad - c;
                    *s += t * t;
                }
            }
        }
        let credit: &mut [f64; WIDE] = (&mut credit[q - base..q - base + WIDE])
            .try_into()
            .expect("WIDE values");
        for (part, credit) in acc.iter().zip(credit.chunks_exact_mut(LANES)) {
            for ((lane, cr), s) in lanes.iter_mut().zip(credit.iter_mut()).zip(part) {
                let d = f64::from(s.sqrt());
                *lane += d;
                *cr += d;
            }
        }
        q += WIDE;
    }
    while q + LANES <= hi {
        let mut acc = [0.0f32; LANES];
        for (dim, &ad) in a.iter().enumerate() {
            let col: &[f32; LANES] = l.cols[dim * m + q..dim * m + q + LANES]
                .try_into()
                .expect("LANES values");
            for (s, &c) in acc.iter_mut().zip(col) {
                let t = ad - c;
                *s += t * t;
            }
        }
        let credit: &mut [f64; LANES] = (&mut credit[q - base..q - base + LANES])
            .try_into()
            .expect("LANES values");
        for ((lane, cr), s) in lanes.iter_mut().zip(credit.iter_mut()).zip(acc) {
            let d = f64::from(s.sqrt());
            *lane += d;
            *cr += d;
        }
        q += LANES;
    }
    for (q, lane) in (q..hi).zip(lanes.iter_mut()) {
        let s: f32 = a
            .iter()
            .enumerate()
            .map(|(dim, &ad)| (ad - l.cols[dim * m + q]) * (ad - l.cols[dim * m + q]))
            .sum();
        let d = f64::from(s.sqrt());
        *lane += d;
        credit[q - base] += d;
    }
    lanes.iter().sum()
}

/// Compiled for the baseline, for AVX2 and for AVX-512, the processor's chosen at run time
/// (multiversion): the same operations in the same order, eight f32 or four f64 lanes per
/// instruction (sixteen and eight with AVX-512) instead of four and two, so the same bits (Rust
/// never fuses a multiply and an add on its own), in about 0.75 of the time with AVX2 (issue 33)
/// and 0.8 of that with AVX-512 (measured on an AVX-512 Xeon: 0.16 -> 0.13 s on the 6.2M-row
/// month; k-means' loops were slower with it and keep AVX2).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2", "x86_64+avx2"))]
fn block_sums(l: &Layout, start: usize) -> BlockSums {
    let (m, ng) = (l.m, l.groups.len());
    let end = (start + BLOCK).min(m);
    let first = l.group_of[start];
    let held = l.group_of[end - 1] - first + 1;
    let width = m - start;
    let mut rows = vec![0.0; (end - start) * ng];
    let mut cols = vec![0.0; held * width];
    let mut a = vec![0.0f32; l.dims()];
    for p in start..end {
        for (dim, v) in a.iter_mut().enumerate() {
            *v = l.cols[dim * m + p];
        }
        let gi = l.group_of[p] - first;
        let credit = &mut cols[gi * width..(gi + 1) * width];
        for g in l.group_of[p]..ng {
            let (gs, ge) = l.groups[g];
            let lo = gs.max(p + 1);
            if lo < ge {
                rows[(p - start) * ng + g] = distances(l, &a, lo, ge, credit, start);
            }
        }
    }
    BlockSums {
        start,
        end,
        rows,
        first,
        cols,
    }
}

/// Mean silhouette of each clustering over the rows `sample` (exact among them).
pub fn silhouettes(
    x: &Array2<f64>,
    clusterings: &[(&[usize], usize)],
    sample: &[usize],
) -> Vec<f64> {
    let l = Layout::new(x, clusterings, sample);
    let (m, ng) = (l.m, l.groups.len());
    let blocks: Vec<BlockSums> = (0..m)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| block_sums(&l, start))
        .collect();
    // to_group[pos * ng + g]: the sum of distances from ordered row pos to the rows of group g.
    let mut to_group = vec![0.0; m * ng];
    for b in &blocks {
        for p in b.start..b.end {
            let row = &b.rows[(p - b.start) * ng..(p - b.start + 1) * ng];
            for (t, r) in to_group[p * ng..(p + 1) * ng].iter_mut().zip(row) {
                *t += r;
            }
        }
        let width = m - b.start;
        for (gi, credit) in b.cols.chunks(width).enumerate() {
            for (q, c) in (b.start..m).zip(credit) {
                to_group[q * ng + b.first + gi] += c;
            }
        }
    }
    scores(&l, clusterings, &to_group)
}

/// Each clustering's mean silhouette from the sums of distances of every row to every group.
fn scores(l: &Layout, clusterings: &[(&[usize], usize)], to_group: &[f64]) -> Vec<f64> {
    let ng = l.groups.len();
    let width: usize = clusterings.iter().map(|c| c.1).sum();
    let mut sizes = vec![0usize; width];
    for (&(gs, ge), slots) in l.groups.iter().zip(&l.slots) {
        for &s in slots {
            sizes[s] += ge - gs;
        }
    }
    // Scores by sample index, so the means add them up in the sample's order.
    let mut by_sample = vec![vec![0.0; clusterings.len()]; l.m];
    let mut sums = vec![0.0; width];
    for pos in 0..l.m {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (g, slots) in l.slots.iter().enumerate() {
            for &s in slots {
                sums[s] += to_group[pos * ng + g];
            }
        }
        let own_slots = &l.slots[l.group_of[pos]];
        let mut offset = 0;
        for (c, (_, k)) in clusterings.iter().enumerate() {
            by_sample[l.order[pos]][c] = score(
                &sums[offset..offset + k],
                &sizes[offset..offset + k],
                own_slots[c] - offset,
            );
            offset += k;
        }
    }
    (0..clusterings.len())
        .map(|c| by_sample.iter().map(|s| s[c]).sum::<f64>() / l.m.max(1) as f64)
        .collect()
}

/// One row's silhouette from its distance sums to each cluster and the clusters' sizes.
fn score(sums: &[f64], sizes: &[usize], own: usize) -> f64 {
    if sizes[own] <= 1 {
        return 0.0;
    }
    let a = sums[own] / (sizes[own] - 1) as f64;
    let b = (0..sums.len())
        .filter(|&q| q != own && sizes[q] > 0)
        .map(|q| sums[q] / sizes[q] as f64)
        .fold(f64::INFINITY, f64::min);
    let m = a.max(b);
    if b.is_finite() && m > 0.0 {
        (b - a) / m
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn's definition, pair by pair in f64.
    fn naive(x: &Array2<f64>, labels: &[usize], k: usize, sample: &[usize]) -> f64 {
        let dist = |i: usize, j: usize| {
            x.row(i)
                .iter()
                .zip(x.row(j).iter())
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        };
        let total: f64 = sample
            .iter()
            .map(|&i| {
                let mut sums = vec![0.0; k];
                let mut sizes = vec![0usize; k];
                for &j in sample {
                    sums[labels[j]] += dist(i, j);
                    sizes[labels[j]] += 1;
                }
                score(&sums, &sizes, labels[i])
            })
            .sum();
        total / sample.len() as f64
    }

    fn data(n: usize, d: usize) -> Array2<f64> {
        // A fixed pseudo-random matrix (splitmix64), three loose blobs.
        let mut s = 7u64;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        Array2::from_shape_fn((n, d), |(i, _)| (i % 3) as f64 * 1.5 + next() * 2.0 - 1.0)
    }

    #[test]
    fn silhouettes_agree_with_the_pairwise_definition_for_several_clusterings() {
        let x = data(1_203, 5);
        let by3: Vec<usize> = (0..x.nrows()).map(|i| i % 3).collect();
        let by4: Vec<usize> = (0..x.nrows()).map(|i| (i * 7 + i / 5) % 4).collect();
        // A singleton cluster (scores 0) and an empty one.
        let mut by5: Vec<usize> = (0..x.nrows()).map(|i| i % 3).collect();
        by5[10] = 4;
        let sample: Vec<usize> = (0..x.nrows()).filter(|i| i % 11 != 3).collect();
        let sets: Vec<(&[usize], usize)> = vec![(&by3, 3), (&by4, 4), (&by5, 6)];
        let got = silhouettes(&x, &sets, &sample);
        for ((labels, k), g) in sets.iter().zip(&got) {
            let want = naive(&x, labels, *k, &sample);
            assert!((g - want).abs() < 1e-6, "{g} against {want}");
        }
        assert!(got[0] > 0.2 && got[1].abs() < 0.05, "{got:?}");
    }

    #[test]
    fn silhouettes_are_the_same_bits_on_one_and_two_threads() {
        let x = data(2_000, 4);
        let by3: Vec<usize> = (0..x.nrows()).map(|i| i % 3).collect();
        let by5: Vec<usize> = (0..x.nrows()).map(|i| (i / 3) % 5).collect();
        let sample: Vec<usize> = (0..x.nrows()).rev().collect();
        let sets: Vec<(&[usize], usize)> = vec![(&by3, 3), (&by5, 5)];
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| silhouettes(&x, &sets, &sample))
        };
        let (one, two) = (on(1), on(2));
        assert_eq!(
            one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            two.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
