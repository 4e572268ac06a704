//! Persona drift between two runs (docs/drift.md): a plain function of the two runs' models and
//! assignments, returning every check with its numbers and status.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::model::Model;

/// Warn and fail levels of every check (docs/drift.md lists the defaults and why).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Thresholds {
    pub share_psi_warn: f64,
    pub share_psi_fail: f64,
    pub share_change_warn: f64,
    pub share_change_fail: f64,
    pub centroid_shift_warn: f64,
    pub centroid_shift_fail: f64,
    pub feature_psi_warn: f64,
    pub feature_psi_fail: f64,
    pub ks_warn: f64,
    pub stayed_warn: f64,
    pub stayed_fail: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            share_psi_warn: 0.1,
            share_psi_fail: 0.25,
            share_change_warn: 0.05,
            share_change_fail: 0.10,
            centroid_shift_warn: 0.5,
            centroid_shift_fail: 1.0,
            feature_psi_warn: 0.1,
            feature_psi_fail: 0.25,
            ks_warn: 0.1,
            stayed_warn: 0.8,
            stayed_fail: 0.6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// One check, as CI systems show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Check {
    /// shares, centroids, features, migration, personas
    pub group: String,
    pub name: String,
    pub value: f64,
    pub warn: Option<f64>,
    pub fail: Option<f64>,
    pub status: Status,
    pub message: String,
}

/// One run as drift sees it.
pub struct RunData {
    pub label: String,
    pub model: Model,
    /// (customer_id, persona_id), in file order.
    pub assignments: Vec<(String, String)>,
    /// Raw feature values from the assignments file, by feature.
    pub features: BTreeMap<String, Vec<Option<f64>>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShareRow {
    pub id: String,
    pub name: String,
    pub baseline: f64,
    pub current: f64,
    pub change: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureDrift {
    pub feature: String,
    pub psi: f64,
    pub ks: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Migration {
    pub baseline_ids: Vec<String>,
    pub current_ids: Vec<String>,
    /// counts[i][j]: shoppers in baseline persona i and current persona j.
    pub counts: Vec<Vec<u64>>,
    pub shoppers_in_both: u64,
    pub stayed: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DriftReport {
    pub baseline: String,
    pub current: String,
    pub baseline_as_of: String,
    pub current_as_of: String,
    pub status: Status,
    pub thresholds: Thresholds,
    pub shares: Vec<ShareRow>,
    pub share_psi: f64,
    pub features: Vec<FeatureDrift>,
    pub migration: Migration,
    pub new_personas: Vec<(String, String)>,
    pub retired_personas: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub checks: Vec<Check>,
}

/// Features that hold an imputed value (the median AOV) for shoppers without orders.
pub const IMPUTED_FOR_NON_BUYERS: [&str; 2] = ["aov", "cart_to_aov"];

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
fn binned(values: &[Option<f64>], edges: &[f64]) -> Vec<f64> {
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

fn status(value: f64, warn: Option<f64>, fail: Option<f64>, higher_is_worse: bool) -> Status {
    let over = |t: Option<f64>| {
        t.is_some_and(|t| {
            if higher_is_worse {
                value > t
            } else {
                value < t
            }
        })
    };
    if over(fail) {
        Status::Fail
    } else if over(warn) {
        Status::Warn
    } else {
        Status::Pass
    }
}

fn shares(run: &RunData) -> BTreeMap<String, f64> {
    let mut m: BTreeMap<String, f64> = run
        .model
        .personas
        .iter()
        .map(|p| (p.id.clone(), 0.0))
        .collect();
    for (_, p) in &run.assignments {
        *m.entry(p.clone()).or_default() += 1.0;
    }
    let n = run.assignments.len().max(1) as f64;
    m.values_mut().for_each(|v| *v /= n);
    m
}

/// Compares two runs. Fails (the runs cannot be compared) when their clustering features differ,
/// unless `allow_feature_change`.
pub fn compare(
    base: &RunData,
    cur: &RunData,
    t: &Thresholds,
    allow_feature_change: bool,
) -> Result<DriftReport> {
    let bf: Vec<&str> = base
        .model
        .scaler
        .features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let cf: Vec<&str> = cur
        .model
        .scaler
        .features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let mut notes = Vec::new();
    if bf != cf {
        let only_b: Vec<&str> = bf.iter().filter(|f| !cf.contains(f)).copied().collect();
        let only_c: Vec<&str> = cf.iter().filter(|f| !bf.contains(f)).copied().collect();
        let what = format!(
            "the runs were clustered on different features (only in the baseline: {}; only in the current run: {})",
            if only_b.is_empty() { "none".to_string() } else { only_b.join(", ") },
            if only_c.is_empty() { "none".to_string() } else { only_c.join(", ") }
        );
        if !allow_feature_change {
            bail!("{what}; pass --allow-feature-change to compare them on their common features");
        }
        notes.push(format!("{what}; compared on the common features"));
    }
    if cur.model.baseline.is_none()
        && cur
            .model
            .personas
            .iter()
            .any(|p| !base.model.personas.iter().any(|b| b.id == p.id))
    {
        notes.push("the current run was not segmented with --baseline, so persona ids need not mean the same personas".into());
    }
    let mut checks = Vec::new();
    let names: BTreeMap<String, String> = base
        .model
        .personas
        .iter()
        .chain(cur.model.personas.iter())
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let label = |id: &str| format!("{id} {}", names.get(id).map_or("", String::as_str));

    // Shares.
    let (sb, sc) = (shares(base), shares(cur));
    let ids: BTreeSet<&String> = sb.keys().chain(sc.keys()).collect();
    let mut ids: Vec<&String> = ids.into_iter().collect();
    ids.sort_by_key(|id| {
        (
            crate::pipeline::lineage::id_number(id).unwrap_or(usize::MAX),
            (*id).clone(),
        )
    });
    let mut share_rows = Vec::new();
    for id in &ids {
        let (b, c) = (
            sb.get(*id).copied().unwrap_or(0.0),
            sc.get(*id).copied().unwrap_or(0.0),
        );
        share_rows.push(ShareRow {
            id: (*id).clone(),
            name: names[*id].clone(),
            baseline: b,
            current: c,
            change: c - b,
        });
        let st = status(
            (c - b).abs(),
            Some(t.share_change_warn),
            Some(t.share_change_fail),
            true,
        );
        checks.push(Check {
            group: "shares".into(),
            name: format!("share of {}", label(id)),
            value: c - b,
            warn: Some(t.share_change_warn),
            fail: Some(t.share_change_fail),
            status: st,
            message: format!(
                "share {:.1}% -> {:.1}% ({:+.1} points)",
                b * 100.0,
                c * 100.0,
                (c - b) * 100.0
            ),
        });
    }
    let p: Vec<f64> = share_rows.iter().map(|r| r.baseline).collect();
    let q: Vec<f64> = share_rows.iter().map(|r| r.current).collect();
    let share_psi = psi(&p, &q);
    checks.push(Check {
        group: "shares".into(),
        name: "PSI of the persona shares".into(),
        value: share_psi,
        warn: Some(t.share_psi_warn),
        fail: Some(t.share_psi_fail),
        status: status(
            share_psi,
            Some(t.share_psi_warn),
            Some(t.share_psi_fail),
            true,
        ),
        message: format!("PSI {share_psi:.3} over {} personas", share_rows.len()),
    });

    // Centroid shift of personas present in both, in baseline standard deviations.
    for bp in &base.model.personas {
        let Some(cp) = cur.model.personas.iter().find(|p| p.id == bp.id) else {
            continue;
        };
        let mut sq = 0.0;
        let mut worst = (String::new(), 0.0f64);
        for (j, f) in base.model.scaler.features.iter().enumerate() {
            let Some((cj, cfeat)) = cur
                .model
                .scaler
                .features
                .iter()
                .enumerate()
                .find(|(_, c)| c.name == f.name)
            else {
                continue;
            };
            let value = cp.centroid[cj] * cfeat.sd + cfeat.mean;
            let z = (value - f.mean) / f.sd;
            let dz = z - bp.centroid[j];
            sq += dz * dz;
            if dz.abs() > worst.1.abs() {
                worst = (f.name.clone(), dz);
            }
        }
        let shift = sq.sqrt();
        checks.push(Check {
            group: "centroids".into(),
            name: format!("centroid of {}", label(&bp.id)),
            value: shift,
            warn: Some(t.centroid_shift_warn),
            fail: Some(t.centroid_shift_fail),
            status: status(
                shift,
                Some(t.centroid_shift_warn),
                Some(t.centroid_shift_fail),
                true,
            ),
            message: format!(
                "moved {shift:.2} sd; most in {} ({:+.2} sd)",
                worst.0, worst.1
            ),
        });
    }

    // Features: PSI against the baseline's deciles, and KS.
    let mut features = Vec::new();
    for f in &bf {
        if !cf.contains(f) {
            continue;
        }
        let (Some(bv), Some(cv), Some(dec)) = (
            base.features.get(*f),
            cur.features.get(*f),
            base.model.deciles.get(*f),
        ) else {
            continue;
        };
        let mut edges: Vec<f64> = dec[1..dec.len() - 1].to_vec();
        edges.dedup();
        // aov and cart_to_aov of shoppers without orders hold the imputed median AOV, one value
        // shared by many shoppers: when the median moves a little, that whole mass crosses a bin
        // edge. Compare them over shoppers with orders only (when `orders` is in both runs).
        let (bv, cv) = match (
            IMPUTED_FOR_NON_BUYERS.contains(f),
            base.features.get("orders"),
            cur.features.get("orders"),
        ) {
            (true, Some(bo), Some(co)) => {
                let with_orders = |v: &[Option<f64>], o: &[Option<f64>]| -> Vec<Option<f64>> {
                    v.iter()
                        .zip(o)
                        .filter(|(_, o)| o.is_some_and(|o| o > 0.0))
                        .map(|(v, _)| *v)
                        .collect()
                };
                (with_orders(bv, bo), with_orders(cv, co))
            }
            _ => (bv.clone(), cv.clone()),
        };
        let (bv, cv) = (&bv, &cv);
        let value = psi(&binned(bv, &edges), &binned(cv, &edges));
        let known = |v: &[Option<f64>]| v.iter().flatten().copied().collect::<Vec<f64>>();
        let d = ks(&known(bv), &known(cv));
        features.push(FeatureDrift {
            feature: f.to_string(),
            psi: value,
            ks: d,
        });
        checks.push(Check {
            group: "features".into(),
            name: format!("PSI of {f}"),
            value,
            warn: Some(t.feature_psi_warn),
            fail: Some(t.feature_psi_fail),
            status: status(
                value,
                Some(t.feature_psi_warn),
                Some(t.feature_psi_fail),
                true,
            ),
            message: format!("PSI {value:.3} against the baseline deciles; KS {d:.3}"),
        });
        checks.push(Check {
            group: "features".into(),
            name: format!("KS of {f}"),
            value: d,
            warn: Some(t.ks_warn),
            fail: None,
            status: status(d, Some(t.ks_warn), None, true),
            message: format!("largest gap between the two distributions: {d:.3}"),
        });
    }

    // Migration of shoppers present in both runs.
    let bidx: Vec<String> = share_rows
        .iter()
        .filter(|r| sb.contains_key(&r.id))
        .map(|r| r.id.clone())
        .collect();
    let cidx: Vec<String> = share_rows
        .iter()
        .filter(|r| sc.contains_key(&r.id))
        .map(|r| r.id.clone())
        .collect();
    let base_of: BTreeMap<&str, &str> = base
        .assignments
        .iter()
        .map(|(c, p)| (c.as_str(), p.as_str()))
        .collect();
    let mut counts = vec![vec![0u64; cidx.len()]; bidx.len()];
    let (mut both, mut stayed) = (0u64, 0u64);
    for (c, p) in &cur.assignments {
        if let Some(bp) = base_of.get(c.as_str()) {
            let (Some(i), Some(j)) = (
                bidx.iter().position(|x| x == bp),
                cidx.iter().position(|x| x == p),
            ) else {
                continue;
            };
            counts[i][j] += 1;
            both += 1;
            stayed += (*bp == p.as_str()) as u64;
        }
    }
    let stayed_share = (both > 0).then(|| stayed as f64 / both as f64);
    match stayed_share {
        Some(s) => checks.push(Check {
            group: "migration".into(),
            name: "shoppers who stayed in their persona".into(),
            value: s,
            warn: Some(t.stayed_warn),
            fail: Some(t.stayed_fail),
            status: status(s, Some(t.stayed_warn), Some(t.stayed_fail), false),
            message: format!(
                "{stayed} of {both} shoppers in both runs ({:.1}%) kept their persona",
                s * 100.0
            ),
        }),
        None => notes.push("no shopper is in both runs: no migration to measure".into()),
    }
    let new_personas: Vec<(String, String)> = cur
        .model
        .personas
        .iter()
        .filter(|p| !sb.contains_key(&p.id))
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let retired_personas: Vec<(String, String)> = base
        .model
        .personas
        .iter()
        .filter(|p| !sc.contains_key(&p.id))
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    for (id, name) in &new_personas {
        checks.push(Check {
            group: "personas".into(),
            name: format!("new persona {id} {name}"),
            value: sc.get(id).copied().unwrap_or(0.0),
            warn: Some(0.0),
            fail: None,
            status: Status::Warn,
            message: format!(
                "{id} {name} is new, with {:.1}% of abandoners",
                sc.get(id).copied().unwrap_or(0.0) * 100.0
            ),
        });
    }
    for (id, name) in &retired_personas {
        checks.push(Check {
            group: "personas".into(),
            name: format!("retired persona {id} {name}"),
            value: sb.get(id).copied().unwrap_or(0.0),
            warn: Some(0.0),
            fail: None,
            status: Status::Warn,
            message: format!(
                "{id} {name} ({:.1}% of abandoners before) has no successor",
                sb.get(id).copied().unwrap_or(0.0) * 100.0
            ),
        });
    }
    let overall = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Pass);
    Ok(DriftReport {
        baseline: base.label.clone(),
        current: cur.label.clone(),
        baseline_as_of: base.model.as_of.clone(),
        current_as_of: cur.model.as_of.clone(),
        status: overall,
        thresholds: t.clone(),
        shares: share_rows,
        share_psi,
        features,
        migration: Migration {
            baseline_ids: bidx,
            current_ids: cidx,
            counts,
            shoppers_in_both: both,
            stayed: stayed_share,
        },
        new_personas,
        retired_personas,
        notes,
        checks,
    })
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
