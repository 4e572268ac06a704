//! Comparing two runs (docs/drift.md): the five groups of checks, each a function of its own in
//! the order the report shows them: shares, centroids, features, migration, personas.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::drift::stats::{binned, ks, psi};
use crate::features::catalogue;
use crate::model::format::id_number;
use crate::model::run_dir::RunData;
use crate::util::gate::Status;

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

/// One check, as CI systems show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DriftCheck {
    /// shares, centroids, features, migration, personas
    pub group: String,
    pub name: String,
    pub value: f64,
    pub warn: Option<f64>,
    pub fail: Option<f64>,
    pub status: Status,
    pub message: String,
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
    pub checks: Vec<DriftCheck>,
}

impl DriftReport {
    /// The names of the checks with this status, in check order.
    pub fn named(&self, status: Status) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.name.as_str())
            .collect()
    }
}

pub fn status(value: f64, warn: Option<f64>, fail: Option<f64>, higher_is_worse: bool) -> Status {
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

impl DriftCheck {
    /// A check whose status comes from its value and thresholds.
    fn new(
        group: &str,
        name: String,
        value: f64,
        (warn, fail): (Option<f64>, Option<f64>),
        higher_is_worse: bool,
        message: String,
    ) -> DriftCheck {
        DriftCheck {
            group: group.into(),
            name,
            value,
            warn,
            fail,
            status: status(value, warn, fail, higher_is_worse),
            message,
        }
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

fn feature_names(run: &RunData) -> Vec<&str> {
    run.model
        .scaler
        .features
        .iter()
        .map(|f| f.name.as_str())
        .collect()
}

/// Compares two runs. Fails (the runs cannot be compared) when their clustering features differ,
/// unless `allow_feature_change`.
pub fn compare(
    base: &RunData,
    cur: &RunData,
    t: &Thresholds,
    allow_feature_change: bool,
) -> Result<DriftReport> {
    let (bf, cf) = (feature_names(base), feature_names(cur));
    let mut notes = Vec::new();
    if bf != cf {
        let only_b: Vec<&str> = bf.iter().filter(|f| !cf.contains(f)).copied().collect();
        let only_c: Vec<&str> = cf.iter().filter(|f| !bf.contains(f)).copied().collect();
        let none_or = |v: Vec<&str>| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let what = format!(
            "the runs were clustered on different features (only in the baseline: {}; only in the current run: {})",
            none_or(only_b),
            none_or(only_c)
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
    let names: BTreeMap<String, String> = base
        .model
        .personas
        .iter()
        .chain(cur.model.personas.iter())
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let label = |id: &str| format!("{id} {}", names.get(id).map_or("", String::as_str));
    let mut checks = Vec::new();
    let (sb, sc) = (shares(base), shares(cur));
    let (share_rows, share_psi) = share_checks(&sb, &sc, &names, t, &label, &mut checks);
    centroid_checks(base, cur, t, &label, &mut checks);
    let common: Vec<&str> = bf.iter().filter(|f| cf.contains(f)).copied().collect();
    let mut features = feature_checks(base, cur, &common, t, &mut checks);
    match (&base.propensity, &cur.propensity) {
        (Some(b), Some(c)) => features.push(propensity_check(b, c, t, &mut checks)),
        (Some(_), None) | (None, Some(_)) => notes.push(
            "only one of the runs has a return propensity, so its distribution is not compared"
                .into(),
        ),
        (None, None) => {}
    }
    let migration = migration(
        base,
        cur,
        &share_rows,
        (&sb, &sc),
        t,
        &mut checks,
        &mut notes,
    );
    let (new_personas, retired_personas) = persona_checks(base, cur, (&sb, &sc), &mut checks);
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
        migration,
        new_personas,
        retired_personas,
        notes,
        checks,
    })
}

/// Shares: each persona's change, and the PSI of the shares.
fn share_checks(
    sb: &BTreeMap<String, f64>,
    sc: &BTreeMap<String, f64>,
    names: &BTreeMap<String, String>,
    t: &Thresholds,
    label: &dyn Fn(&str) -> String,
    checks: &mut Vec<DriftCheck>,
) -> (Vec<ShareRow>, f64) {
    let ids: BTreeSet<&String> = sb.keys().chain(sc.keys()).collect();
    let mut ids: Vec<&String> = ids.into_iter().collect();
    ids.sort_by_key(|id| (id_number(id).unwrap_or(usize::MAX), (*id).clone()));
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
        let mut check = DriftCheck::new(
            "shares",
            format!("share of {}", label(id)),
            (c - b).abs(),
            (Some(t.share_change_warn), Some(t.share_change_fail)),
            true,
            format!(
                "share {:.1}% -> {:.1}% ({:+.1} points)",
                b * 100.0,
                c * 100.0,
                (c - b) * 100.0
            ),
        );
        // The status is of the size of the change; the value keeps its sign.
        check.value = c - b;
        checks.push(check);
    }
    let p: Vec<f64> = share_rows.iter().map(|r| r.baseline).collect();
    let q: Vec<f64> = share_rows.iter().map(|r| r.current).collect();
    let share_psi = psi(&p, &q);
    checks.push(DriftCheck::new(
        "shares",
        "PSI of the persona shares".into(),
        share_psi,
        (Some(t.share_psi_warn), Some(t.share_psi_fail)),
        true,
        format!("PSI {share_psi:.3} over {} personas", share_rows.len()),
    ));
    (share_rows, share_psi)
}

/// Centroid shift of personas present in both, in baseline standard deviations.
fn centroid_checks(
    base: &RunData,
    cur: &RunData,
    t: &Thresholds,
    label: &dyn Fn(&str) -> String,
    checks: &mut Vec<DriftCheck>,
) {
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
        checks.push(DriftCheck::new(
            "centroids",
            format!("centroid of {}", label(&bp.id)),
            shift,
            (Some(t.centroid_shift_warn), Some(t.centroid_shift_fail)),
            true,
            format!(
                "moved {shift:.2} sd; most in {} ({:+.2} sd)",
                worst.0, worst.1
            ),
        ));
    }
}

/// Features: PSI against the baseline's deciles, and KS, for every feature of both runs.
fn feature_checks(
    base: &RunData,
    cur: &RunData,
    common: &[&str],
    t: &Thresholds,
    checks: &mut Vec<DriftCheck>,
) -> Vec<FeatureDrift> {
    let mut features = Vec::new();
    for f in common {
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
            catalogue::imputed_for_non_buyers().any(|g| g == *f),
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
        let value = psi(&binned(&bv, &edges), &binned(&cv, &edges));
        let known = |v: &[Option<f64>]| v.iter().flatten().copied().collect::<Vec<f64>>();
        let d = ks(&known(&bv), &known(&cv));
        features.push(FeatureDrift {
            feature: f.to_string(),
            psi: value,
            ks: d,
        });
        checks.push(psi_check(f, value, d, "the baseline deciles", t));
        checks.push(DriftCheck::new(
            "features",
            format!("KS of {f}"),
            d,
            (Some(t.ks_warn), None),
            true,
            format!("largest gap between the two distributions: {d:.3}"),
        ));
    }
    features
}

/// The PSI check of a feature (or the propensity) against `bins`, with the feature thresholds.
fn psi_check(f: &str, value: f64, ks: f64, bins: &str, t: &Thresholds) -> DriftCheck {
    DriftCheck::new(
        "features",
        format!("PSI of {f}"),
        value,
        (Some(t.feature_psi_warn), Some(t.feature_psi_fail)),
        true,
        format!("PSI {value:.3} against {bins}; KS {ks:.3}"),
    )
}

/// The return propensity's distribution: PSI against the baseline run's deciles of its own
/// propensities (as for a feature, with the feature thresholds) and KS.
fn propensity_check(
    base: &[f64],
    cur: &[f64],
    t: &Thresholds,
    checks: &mut Vec<DriftCheck>,
) -> FeatureDrift {
    let mut sorted: Vec<f64> = base.iter().copied().filter(|p| p.is_finite()).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..10)
        .map(|i| crate::cluster::matrix::quantile_sorted(&sorted, i as f64 / 10.0))
        .collect();
    edges.dedup();
    let some = |v: &[f64]| {
        v.iter()
            .map(|&p| p.is_finite().then_some(p))
            .collect::<Vec<_>>()
    };
    let value = psi(&binned(&some(base), &edges), &binned(&some(cur), &edges));
    let known = |v: &[f64]| {
        v.iter()
            .copied()
            .filter(|p| p.is_finite())
            .collect::<Vec<f64>>()
    };
    let d = ks(&known(base), &known(cur));
    let f = "return_propensity";
    checks.push(psi_check(f, value, d, "the baseline run's deciles", t));
    FeatureDrift {
        feature: f.to_string(),
        psi: value,
        ks: d,
    }
}

/// Migration of shoppers present in both runs: who went where, and the share who stayed.
fn migration(
    base: &RunData,
    cur: &RunData,
    share_rows: &[ShareRow],
    (sb, sc): (&BTreeMap<String, f64>, &BTreeMap<String, f64>),
    t: &Thresholds,
    checks: &mut Vec<DriftCheck>,
    notes: &mut Vec<String>,
) -> Migration {
    let ids_in = |s: &BTreeMap<String, f64>| -> Vec<String> {
        share_rows
            .iter()
            .filter(|r| s.contains_key(&r.id))
            .map(|r| r.id.clone())
            .collect()
    };
    let (bidx, cidx) = (ids_in(sb), ids_in(sc));
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
        Some(s) => checks.push(DriftCheck::new(
            "migration",
            "shoppers who stayed in their persona".into(),
            s,
            (Some(t.stayed_warn), Some(t.stayed_fail)),
            false,
            format!(
                "{stayed} of {both} shoppers in both runs ({:.1}%) kept their persona",
                s * 100.0
            ),
        )),
        None => notes.push("no shopper is in both runs: no migration to measure".into()),
    }
    Migration {
        baseline_ids: bidx,
        current_ids: cidx,
        counts,
        shoppers_in_both: both,
        stayed: stayed_share,
    }
}

/// A persona's id and name.
type IdName = (String, String);

/// Personas: new ones (in the current run only) and retired ones (in the baseline only), each a
/// warning.
fn persona_checks(
    base: &RunData,
    cur: &RunData,
    (sb, sc): (&BTreeMap<String, f64>, &BTreeMap<String, f64>),
    checks: &mut Vec<DriftCheck>,
) -> (Vec<IdName>, Vec<IdName>) {
    let only = |run: &RunData, other: &BTreeMap<String, f64>| -> Vec<IdName> {
        run.model
            .personas
            .iter()
            .filter(|p| !other.contains_key(&p.id))
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    };
    let (new_personas, retired_personas) = (only(cur, sb), only(base, sc));
    let new = new_personas.iter().map(|(id, name)| (id, name, true));
    let retired = retired_personas.iter().map(|(id, name)| (id, name, false));
    for (id, name, is_new) in new.chain(retired) {
        let share = if is_new { &sc } else { &sb };
        let share = share.get(id).copied().unwrap_or(0.0);
        let pct = share * 100.0;
        let (kind, message) = match is_new {
            true => (
                "new",
                format!("{id} {name} is new, with {pct:.1}% of abandoners"),
            ),
            false => (
                "retired",
                format!("{id} {name} ({pct:.1}% of abandoners before) has no successor"),
            ),
        };
        checks.push(DriftCheck {
            group: "personas".into(),
            name: format!("{kind} persona {id} {name}"),
            value: share,
            warn: Some(0.0),
            fail: None,
            status: Status::Warn,
            message,
        });
    }
    (new_personas, retired_personas)
}
