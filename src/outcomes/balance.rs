//! Covariate balance between the arms within a persona (issue 31; docs/outcomes.md "Balance").
//! In: the counted shoppers of one persona, each with the clustering features and propensity of
//! the listing counted. Out: the standardized mean difference of each covariate between the
//! arms, those above 0.1 flagged, and how many of them chance alone would flag at these arm
//! sizes.
//!
//! The arms are drawn by a hash, so within a persona fixed before treatment they differ only by
//! chance; a covariate that differs by more than a tenth of a standard deviation is the usual
//! sign that the grouping was not fixed before treatment (or that shoppers went missing from one
//! arm). At small arms chance alone exceeds 0.1 often (about 40 held out: most covariates), so
//! the expected count is given beside it, and a warning is raised only for a covariate whose SMD
//! is both above 0.1 and beyond chance (|SMD| / sqrt(1/n_t + 1/n_h) > z(0.9995) = 3.29, a
//! two-sided 0.001 test); from about 1,100 held out every |SMD| above 0.1 is beyond chance.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::readout::Outcome;
use crate::model::holdout::Arm;

/// The |SMD| above which a covariate is flagged.
pub const SMD_FLAG: f64 = 0.1;
/// The two-sided level below which a flagged SMD is beyond chance (and warned).
pub const CHANCE_P: f64 = 0.001;

/// One covariate's standardized mean difference (treatment − holdout).
#[derive(Debug, Clone, Serialize)]
pub struct Smd {
    pub covariate: String,
    /// (mean_t − mean_h) / sqrt((s_t² + s_h²) / 2) over the shoppers whose value is known; None
    /// when an arm has fewer than two known values or both spreads are 0.
    pub smd: Option<f64>,
}

/// The balance of a group's arms.
#[derive(Debug, Clone, Serialize)]
pub struct Balance {
    pub smd: Vec<Smd>,
    /// Covariates with |SMD| > 0.1.
    pub flagged: Vec<String>,
    /// Of them, those whose SMD is beyond chance too (two-sided p < 0.001 against random arms):
    /// the ones warned about.
    pub beyond_chance: Vec<String>,
    /// How many covariates chance alone would flag at these arm sizes: the sum over covariates of
    /// P(|Z| > 0.1 / sqrt(1/n_t + 1/n_h)), the large-sample spread of an SMD between random arms.
    pub flagged_by_chance: f64,
}

/// Mean and sample variance of the known values.
fn moments(v: &[f64]) -> (usize, f64, f64) {
    let n = v.len();
    if n < 2 {
        return (n, f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (n, mean, var)
}

/// The balance of `group` over the covariates `names`; `values` gives an outcome's values of
/// them, in order (its listing's, NaN where unknown).
pub fn of<'a>(
    group: &[&Outcome],
    names: &[String],
    values: impl Fn(&Outcome) -> &'a [f32],
) -> Balance {
    let normal = Normal::new(0.0, 1.0).expect("a valid normal");
    let mut smd = Vec::with_capacity(names.len());
    let mut flagged = Vec::new();
    let mut beyond_chance = Vec::new();
    let mut by_chance = 0.0;
    let critical = normal.inverse_cdf(1.0 - CHANCE_P / 2.0);
    // Each arm's known values per covariate, in group order: one pass over the group (each
    // outcome's values looked up once).
    let mut known: [Vec<Vec<f64>>; 2] =
        [vec![Vec::new(); names.len()], vec![Vec::new(); names.len()]];
    for o in group {
        let arm = usize::from(o.arm == Arm::Treatment);
        for (j, x) in values(o).iter().enumerate().take(names.len()) {
            if x.is_finite() {
                known[arm][j].push(f64::from(*x));
            }
        }
    }
    for (j, name) in names.iter().enumerate() {
        let ((nt, mt, vt), (nh, mh, vh)) = (moments(&known[1][j]), moments(&known[0][j]));
        let pooled = ((vt + vh) / 2.0).sqrt();
        let value = (nt >= 2 && nh >= 2 && pooled > 0.0).then(|| (mt - mh) / pooled);
        if let Some(v) = value {
            let se = (1.0 / nt as f64 + 1.0 / nh as f64).sqrt();
            if v.abs() > SMD_FLAG {
                flagged.push(name.clone());
                if v.abs() / se > critical {
                    beyond_chance.push(name.clone());
                }
            }
            by_chance += 2.0 * normal.sf(SMD_FLAG / se);
        }
        smd.push(Smd {
            covariate: name.clone(),
            smd: value,
        });
    }
    Balance {
        smd,
        flagged,
        beyond_chance,
        flagged_by_chance: by_chance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: treatment 1, 2, 3 (mean 2, s² 1), holdout 2, 4 (mean 3, s² 2): SMD = -1 /
    /// sqrt(1.5); a covariate unknown for every holdout shopper has none.
    #[test]
    fn smd_by_hand() {
        let xs: [(Arm, f32); 5] = [
            (Arm::Treatment, 1.0),
            (Arm::Treatment, 2.0),
            (Arm::Treatment, 3.0),
            (Arm::Holdout, 2.0),
            (Arm::Holdout, 4.0),
        ];
        let values: Vec<[f32; 2]> = xs.iter().map(|(_, x)| [*x, f32::NAN]).collect();
        let v: Vec<Outcome> = xs
            .iter()
            .enumerate()
            .map(|(i, (arm, _))| Outcome {
                listing: i,
                ..Outcome::new(0, *arm)
            })
            .collect();
        let group: Vec<&Outcome> = v.iter().collect();
        let b = of(&group, &["a".to_string(), "b".to_string()], |o| {
            &values[o.listing]
        });
        let want = -1.0 / 1.5f64.sqrt();
        assert!((b.smd[0].smd.unwrap() - want).abs() < 1e-12);
        assert!(b.smd[1].smd.is_none());
        assert_eq!(b.flagged, vec!["a".to_string()]);
        // -0.82 at 3 and 2 shoppers is well within chance (|SMD| / se = 0.9).
        assert!(b.beyond_chance.is_empty());
        // One covariate at 3 and 2 shoppers: se sqrt(1/3 + 1/2).
        let se = (1.0f64 / 3.0 + 0.5).sqrt();
        let chance = 2.0 * Normal::new(0.0, 1.0).unwrap().sf(0.1 / se);
        assert!((b.flagged_by_chance - chance).abs() < 1e-12);
    }
}
