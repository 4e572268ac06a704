//! From the features table to the clustering matrix (docs/personas.md, "Clustering inputs"):
//! select the numeric features, fill per-customer gaps with the median, apply `log1p` to money and
//! counts, clip each feature to its 1st and 99th percentiles, and standardise (mean 0, population
//! standard deviation 1) over the abandoners. Features with no variance left are dropped.
//!
//! Every constant that was fitted (fill value, clip bounds, mean, sd) is kept in [`Scaler`], which
//! goes into model.json so that `assign` transforms new data exactly as the fit did.

use anyhow::{bail, Result};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::catalogue::{transform_of, Transform};
use crate::features::compute::{FeatureTable, Nums, Values};

pub const CLIP_LOW: f64 = 0.01;
pub const CLIP_HIGH: f64 = 0.99;

/// The fitted constants of one clustering feature.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScaledFeature {
    pub name: String,
    pub transform: Transform,
    /// Raw value put in a gap (the median of the known raw values).
    pub fill: f64,
    /// Clip bounds, on the transformed scale.
    pub clip_low: f64,
    pub clip_high: f64,
    pub mean: f64,
    pub sd: f64,
}

impl ScaledFeature {
    /// Raw value (or gap) -> transformed, clipped value (before standardising).
    pub fn prepare(&self, raw: Option<f64>) -> f64 {
        let x = raw.unwrap_or(self.fill);
        let t = match self.transform {
            Transform::Identity => x,
            Transform::Log1p => x.max(0.0).ln_1p(),
        };
        t.clamp(self.clip_low, self.clip_high)
    }
    pub fn scale(&self, raw: Option<f64>) -> f64 {
        (self.prepare(raw) - self.mean) / self.sd
    }
}

/// The fitted transform from feature table to matrix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scaler {
    pub features: Vec<ScaledFeature>,
}

/// What building the matrix did, for the summary.
#[derive(Debug, Clone, Serialize, Default)]
pub struct MatrixReport {
    /// (feature, gaps filled with the median)
    pub filled: Vec<(String, usize)>,
    /// (feature, why it was not used)
    pub dropped: Vec<(String, String)>,
    /// Features without variance among these abandoners, kept with the baseline's sd.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_without_variance: Vec<String>,
}

/// Linear-interpolation quantile of sorted values (the common "type 7" definition, as numpy's).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// [`quantile_sorted`] of `values` without sorting them: the two order statistics it reads found
/// by selection (O(n), reorders `values`). The same value as sorting by `f64::total_cmp` first:
/// under a total order each position holds one value (issue 33: two full sorts per feature were a
/// third of building the clustering matrix).
pub fn quantile_selected(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let pos = q * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (_, at_lo, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let at_lo = *at_lo;
    let at_hi = if hi == lo {
        at_lo
    } else {
        *above
            .iter()
            .min_by(|a, b| a.total_cmp(b))
            .expect("hi < len: a value above lo")
    };
    at_lo + (at_hi - at_lo) * (pos - lo as f64)
}

fn numeric<'a>(table: &'a FeatureTable, name: &str) -> Option<&'a Nums> {
    match &table.column(name)?.values {
        Values::Num(v) => Some(v),
        Values::Cat(_) => None,
    }
}

/// Which features to cluster on, and who chose them.
pub struct Wanted<'a> {
    pub features: &'a [String],
    /// The flag that chose them (`--cluster-features`, `--baseline`): then a feature this data
    /// cannot give is an error naming it; `None` (the defaults): it is skipped and reported.
    pub chosen_by: Option<&'a str>,
    /// The baseline model's scaler (`--baseline`): a feature without variance this month is kept,
    /// standardised with the baseline's sd, instead of dropped, so both runs cluster on the
    /// same features.
    pub baseline: Option<&'a Scaler>,
}

impl<'a> Wanted<'a> {
    /// The features to cluster on: with a baseline, the baseline's (`baseline`: its features
    /// and scaler) unless the user chose others (`chosen_by`), so both runs are comparable; else
    /// the chosen ones or the defaults (`features`).
    pub fn choose(
        features: &'a [String],
        chosen_by: Option<&'a str>,
        baseline: Option<(&'a [String], &'a Scaler)>,
    ) -> Wanted<'a> {
        let scaler = baseline.map(|b| b.1);
        match baseline {
            Some((base_features, _)) if chosen_by.is_none() => Wanted {
                features: base_features,
                chosen_by: Some("--baseline (the baseline model's clustering features)"),
                baseline: scaler,
            },
            _ => Wanted {
                features,
                chosen_by,
                baseline: scaler,
            },
        }
    }
}

/// Fits the scaler on `table` using the `wanted` features.
pub fn fit(table: &FeatureTable, wanted: &Wanted) -> Result<(Scaler, Array2<f64>, MatrixReport)> {
    // The features on all threads (each computed as alone), then gathered in order: the first
    // error, drop and fill in feature order, as one after another.
    let fitted: Vec<Result<OneFeature>> = wanted
        .features
        .par_iter()
        .map(|name| fit_one(table, wanted, name))
        .collect();
    let mut report = MatrixReport::default();
    let mut features = Vec::new();
    let mut columns = Vec::new();
    for (name, one) in wanted.features.iter().zip(fitted) {
        match one? {
            OneFeature::Dropped(why) => report.dropped.push((name.clone(), why)),
            OneFeature::Kept {
                feature,
                scaled,
                gaps,
                without_variance,
            } => {
                if without_variance {
                    report.kept_without_variance.push(name.clone());
                }
                if gaps > 0 {
                    report.filled.push((name.clone(), gaps));
                }
                features.push(feature);
                columns.push(scaled);
            }
        }
    }
    if features.is_empty() {
        bail!(
            "no clustering feature varies among the {} abandoners (all identical after transforms); nothing to segment",
            table.customers.len()
        );
    }
    let n = table.customers.len();
    let matrix = Array2::from_shape_fn((n, columns.len()), |(i, j)| columns[j][i]);
    Ok((Scaler { features }, matrix, report))
}

/// One wanted feature fitted: left out and why, or its scaler and its scaled column.
enum OneFeature {
    Dropped(String),
    Kept {
        feature: ScaledFeature,
        /// Every row's `feature.scale(value)`.
        scaled: Vec<f64>,
        gaps: usize,
        /// No variance here, so the baseline's sd was kept.
        without_variance: bool,
    },
}

/// Fits one feature: the fill (median), the clip bounds (quantiles of the transformed values),
/// mean and sd. Each value is transformed once (log1p was three times per value, issue 33) and
/// clipped and scaled from there: the same arithmetic as [`ScaledFeature::scale`], so the same
/// bits as [`apply`] gives.
fn fit_one(table: &FeatureTable, wanted: &Wanted, name: &String) -> Result<OneFeature> {
    let Some(values) = numeric(table, name) else {
        if let Some(flag) = wanted.chosen_by {
            let known: Vec<&str> = table
                .columns
                .iter()
                .filter(|c| matches!(c.values, Values::Num(_)))
                .map(|c| c.name)
                .collect();
            bail!(
                "{flag}: '{name}' is not a numeric feature of this data (its source column or file is missing, or it is categorical); available: {}",
                known.join(", ")
            );
        }
        return Ok(OneFeature::Dropped(
            "not computed for this data (see the left-out features)".into(),
        ));
    };
    let mut known: Vec<f64> = values.known().collect();
    if known.is_empty() {
        return Ok(OneFeature::Dropped("no abandoner has a value".into()));
    }
    let gaps = values.len() - known.len();
    let fill = quantile_selected(&mut known, 0.5);
    drop(known);
    let mut sf = ScaledFeature {
        name: name.clone(),
        transform: transform_of(name),
        fill,
        clip_low: f64::NEG_INFINITY,
        clip_high: f64::INFINITY,
        mean: 0.0,
        sd: 1.0,
    };
    // `prepare` with infinite clip bounds: the transformed values.
    let transformed: Vec<f64> = values.iter().map(|v| sf.prepare(v)).collect();
    let mut order = transformed.clone();
    sf.clip_low = quantile_selected(&mut order, CLIP_LOW);
    sf.clip_high = quantile_selected(&mut order, CLIP_HIGH);
    drop(order);
    let clipped: Vec<f64> = transformed
        .into_iter()
        .map(|t| t.clamp(sf.clip_low, sf.clip_high))
        .collect();
    let n = clipped.len() as f64;
    let mean = clipped.iter().sum::<f64>() / n;
    let var = clipped.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let sd = var.sqrt();
    // Also catches a NaN sd.
    let (sd, without_variance) = if sd.is_nan() || sd <= 1e-12 * mean.abs().max(1.0) {
        let kept = wanted
            .baseline
            .and_then(|b| b.features.iter().find(|f| f.name == *name));
        let Some(base) = kept else {
            return Ok(OneFeature::Dropped(
                "no variance among abandoners (after clipping)".into(),
            ));
        };
        (base.sd, true)
    } else {
        (sd, false)
    };
    sf.mean = mean;
    sf.sd = sd;
    let scaled = clipped.iter().map(|c| (c - sf.mean) / sf.sd).collect();
    Ok(OneFeature::Kept {
        feature: sf,
        scaled,
        gaps,
        without_variance,
    })
}

/// Applies a fitted scaler to a features table.
pub fn apply(scaler: &Scaler, table: &FeatureTable) -> Result<Array2<f64>> {
    let n = table.customers.len();
    let d = scaler.features.len();
    let mut m = Array2::<f64>::zeros((n, d));
    for (j, f) in scaler.features.iter().enumerate() {
        let Some(values) = numeric(table, &f.name) else {
            bail!("feature '{}' of the model is not in this data (its source column or file is missing)", f.name);
        };
        for (i, v) in values.iter().enumerate() {
            m[[i, j]] = f.scale(v);
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Selection gives the same bits as sorting then reading the quantile, on lengths 1 to 300,
    /// with ties, both zeros and infinities, at the quantiles the scaler and the profiles use.
    #[test]
    fn quantile_by_selection_is_the_same_bits_as_by_sorting() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pool = [0.0, -0.0, 1.5, f64::INFINITY, f64::NEG_INFINITY, 2.0];
        for len in 1..=300 {
            let values: Vec<f64> = (0..len)
                .map(|_| {
                    if rng.gen_bool(0.3) {
                        pool[rng.gen_range(0..pool.len())]
                    } else {
                        rng.gen::<f64>() * 100.0 - 50.0
                    }
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for q in [0.0, CLIP_LOW, 0.1, 0.25, 0.5, 0.75, 0.9, CLIP_HIGH, 1.0] {
                let want = quantile_sorted(&sorted, q);
                let got = quantile_selected(&mut values.clone(), q);
                assert_eq!(got.to_bits(), want.to_bits(), "len {len}, q {q}");
            }
        }
        assert!(quantile_selected(&mut [], 0.5).is_nan());
    }
}
