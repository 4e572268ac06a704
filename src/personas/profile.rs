//! Profiles: what a persona's shoppers look like, feature by feature (mean, median, quantiles,
//! z-score against all abandoners on the transformed scale), their lifecycle stages and devices,
//! and [`Ctx`], the view of one cluster that the naming rules, plays and bullets read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cluster::matrix::quantile_sorted;
use crate::features::catalogue::{transform_of, Transform};
use crate::features::compute::{FeatureTable, Values};
use rayon::prelude::*;

/// Summary statistics of one feature within a persona.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureStat {
    pub feature: String,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// (mean within the persona - mean over all abandoners) / sd over all abandoners, on the
    /// feature's transformed scale (log1p for money and counts).
    pub z: Option<f64>,
    /// 10th, 25th, 50th, 75th and 90th percentiles (type 7) of the known values.
    pub quantiles: Option<[f64; 5]>,
}

/// What the rules see of one cluster.
pub struct Ctx<'a> {
    pub stats: &'a [FeatureStat],
    pub overall: &'a BTreeMap<String, (f64, f64)>,
    pub lifecycle: &'a BTreeMap<String, f64>,
    pub late_checkout_share: Option<f64>,
}

impl Ctx<'_> {
    pub fn get(&self, f: &str) -> Option<&FeatureStat> {
        self.stats.iter().find(|s| s.feature == f)
    }
    pub fn z(&self, f: &str) -> Option<f64> {
        self.get(f).and_then(|s| s.z)
    }
    pub fn mean(&self, f: &str) -> Option<f64> {
        self.get(f).and_then(|s| s.mean)
    }
    pub fn median(&self, f: &str) -> Option<f64> {
        self.get(f).and_then(|s| s.median)
    }
    pub fn overall_mean(&self, f: &str) -> Option<f64> {
        self.overall.get(f).map(|o| o.0)
    }
    pub fn stage(&self, s: &str) -> f64 {
        self.lifecycle.get(s).copied().unwrap_or(0.0)
    }
}

/// Mean, median and the 10/25/50/75/90th percentiles of known values.
pub fn describe(values: &[f64]) -> (Option<f64>, Option<f64>, Option<[f64; 5]>) {
    if values.is_empty() {
        return (None, None, None);
    }
    let mut v = values.to_vec();
    // On all threads: the same sorted values (a total order has one), sooner (issue 19).
    v.par_sort_unstable_by(f64::total_cmp);
    let q = [0.1, 0.25, 0.5, 0.75, 0.9].map(|p| quantile_sorted(&v, p));
    (
        Some(v.iter().sum::<f64>() / v.len() as f64),
        Some(q[2]),
        Some(q),
    )
}

pub fn transformed(name: &str, x: f64) -> f64 {
    match transform_of(name) {
        Transform::Identity => x,
        Transform::Log1p => x.max(0.0).ln_1p(),
    }
}

pub const STEP_NAMES: [&str; 4] = ["cart", "shipping", "payment", "review"];

/// One cluster's profile, before it is named.
pub struct Draft {
    pub cluster: usize,
    pub size: usize,
    /// Sum of `last_abandoned_value` over the cluster's shoppers (`None`: unknown).
    pub value_at_stake: Option<f64>,
    pub stats: Vec<FeatureStat>,
    pub lifecycle: BTreeMap<String, f64>,
    pub devices: BTreeMap<String, f64>,
    /// Share of shoppers with a known checkout depth who reached payment or review.
    pub late_checkout_share: Option<f64>,
}

/// Overall mean and sd of each numeric feature on its transformed scale, and raw means (with a 0
/// in place of the sd), over all abandoners.
pub type Overall = BTreeMap<String, (f64, f64)>;

pub fn overall(table: &FeatureTable) -> (Overall, Overall) {
    // The columns on all threads, each summed in row order as before (the same bits).
    let stats: Vec<(&str, (f64, f64), f64)> = table
        .columns
        .par_iter()
        .filter_map(|c| match &c.values {
            Values::Num(v) => {
                let known: Vec<f64> = v.known().map(|x| transformed(c.name, x)).collect();
                if known.is_empty() {
                    return None;
                }
                let m = known.iter().sum::<f64>() / known.len() as f64;
                let s = (known.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / known.len() as f64)
                    .sqrt();
                let raw_mean = v.known().sum::<f64>() / known.len() as f64;
                Some((c.name, (m, s), raw_mean))
            }
            Values::Cat(_) => None,
        })
        .collect();
    let mut overall_t: Overall = BTreeMap::new();
    let mut overall_raw: Overall = BTreeMap::new();
    for (name, t, raw_mean) in stats {
        overall_t.insert(name.to_string(), t);
        overall_raw.insert(name.to_string(), (raw_mean, 0.0));
    }
    (overall_t, overall_raw)
}

/// The profile of cluster `cl`: the rows `members` of `table`.
pub fn profile(
    table: &FeatureTable,
    cl: usize,
    members: &[usize],
    overall_t: &Overall,
    last_value: Option<&[f64]>,
) -> Draft {
    let size = members.len();
    // fold from +0.0: an empty f64 sum is -0.0 (an empty persona under `assign`).
    let value_at_stake = last_value.map(|v| members.iter().map(|&i| v[i]).fold(0.0, |s, v| s + v));
    let mut d = Draft {
        cluster: cl,
        size,
        value_at_stake,
        stats: Vec::new(),
        lifecycle: BTreeMap::new(),
        devices: BTreeMap::new(),
        late_checkout_share: None,
    };
    for c in &table.columns {
        match &c.values {
            Values::Num(v) => {
                let raw: Vec<f64> = members.iter().filter_map(|&i| v.get(i)).collect();
                let (mean, median, quantiles) = describe(&raw);
                let z = overall_t
                    .get(c.name)
                    .filter(|o| o.1 > 0.0 && !raw.is_empty())
                    .map(|o| {
                        let mt = raw.iter().map(|x| transformed(c.name, *x)).sum::<f64>()
                            / raw.len() as f64;
                        (mt - o.0) / o.1
                    });
                if c.name == "max_checkout_depth" && !raw.is_empty() {
                    d.late_checkout_share = Some(
                        raw.iter().filter(|x| **x >= 2.0 / 3.0 - 1e-9).count() as f64
                            / raw.len() as f64,
                    );
                }
                d.stats.push(FeatureStat {
                    feature: c.name.to_string(),
                    mean,
                    median,
                    z,
                    quantiles,
                });
            }
            Values::Cat(v) => {
                let target = match c.name {
                    "lifecycle_stage" => &mut d.lifecycle,
                    "primary_device" => &mut d.devices,
                    _ => continue,
                };
                // Counted by the borrowed text, then shared out (whole counts: the same bits as
                // adding 1.0 per shopper).
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for &i in members {
                    *counts.entry(v[i].unwrap_or("unknown")).or_insert(0) += 1;
                }
                for (level, count) in counts {
                    target.insert(level.to_string(), count as f64 / size.max(1) as f64);
                }
            }
        }
    }
    d
}
