//! model.json: the versioned model's types, and its text in and out (`from_json`, `to_json`).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::cluster::choose_k::KRow;
use crate::cluster::matrix::{quantile_sorted, Scaler};
use crate::features::compute::{FeatureTable, Values};

use crate::model::holdout::Holdout;
use crate::personas::evidence::Evidence;
use crate::personas::plays::Play;
use crate::personas::{Persona, Personified};
use rayon::prelude::*;

/// The format written. Version 2 added stability, the outlier threshold and the persona-size
/// settings; version 3 the return propensity (a cartsona that reads only up to 2 would drop it
/// silently, so it refuses a version 3 model). Older models are read with their documented
/// defaults (no outlier flag, no stability, no propensity), so `assign` and `drift` keep working
/// in the month of the upgrade.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest format read.
pub const OLDEST_FORMAT: u32 = 1;

/// The settings a run was made with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunConfig {
    pub abandon_after: String,
    pub lookback: String,
    pub history: String,
    pub info_pages: String,
    pub k_min: usize,
    pub k_max: usize,
    pub k: Option<usize>,
    pub min_persona_share: f64,
    pub seed: u64,
    pub restarts: usize,
    pub cluster_features: Vec<String>,
    /// Mini-batch k-means above this many abandoners (absent in models written before it existed).
    #[serde(default = "default_minibatch_above")]
    pub minibatch_above: usize,
    /// `--min-persona-size` (format 2; `None`: the default rule).
    #[serde(default)]
    pub min_persona_size: Option<usize>,
    /// `--stability-resamples` (format 2; 0 in older models: not measured).
    #[serde(default)]
    pub stability_resamples: usize,
}

impl RunConfig {
    /// The settings a run records: its windows as shown (`windows`), the information-page
    /// pattern, the choice of k, the features it clustered on and the stability refits.
    pub fn of(
        windows: &crate::features::compute::Windows,
        info_pages: &str,
        select: &crate::cluster::choose_k::SelectParams,
        cluster_features: &[String],
        stability_resamples: usize,
    ) -> RunConfig {
        RunConfig {
            abandon_after: windows.abandon_after.clone(),
            lookback: windows.lookback.clone(),
            history: windows.history.clone(),
            info_pages: info_pages.to_string(),
            k_min: select.k_min,
            k_max: select.k_max,
            k: select.k,
            min_persona_share: select.min_share,
            seed: select.seed,
            restarts: select.restarts,
            minibatch_above: select.minibatch_above,
            cluster_features: cluster_features.to_vec(),
            min_persona_size: select.min_size,
            stability_resamples,
        }
    }
}

fn default_minibatch_above() -> usize {
    crate::cluster::choose_k::MINIBATCH_ABOVE
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelPersona {
    pub id: String,
    pub name: String,
    /// Centroid in the scaled space, one value per scaler feature.
    pub centroid: Vec<f64>,
    pub size: usize,
    pub share: f64,
    pub evidence: Vec<Evidence>,
    pub bullets: Vec<String>,
    pub play: Play,
    /// Mean bootstrap Jaccard (format 2; `None` when not measured).
    #[serde(default)]
    pub stability: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub format_version: u32,
    pub tool: String,
    pub as_of: String,
    pub config: RunConfig,
    pub scaler: Scaler,
    pub personas: Vec<ModelPersona>,
    /// Per numeric feature: the 0th, 10th, ..., 100th percentiles over the abandoners' known values.
    pub deciles: BTreeMap<String, Vec<f64>>,
    pub k_selection: Vec<KRow>,
    pub chosen_k: usize,
    pub reason: String,
    /// The baseline model this run was matched against (`--baseline`), if any.
    #[serde(default)]
    pub baseline: Option<String>,
    /// For each persona: the baseline persona it continues, if any.
    #[serde(default)]
    pub lineage: Vec<Lineage>,
    /// Every persona retired so far (carried over from the baseline, plus those retired now).
    #[serde(default)]
    pub retired: Vec<Retired>,
    /// The number of the next fresh persona id: ids are never reused.
    #[serde(default)]
    pub next_persona_number: usize,
    /// A shopper farther than this from every centre (scaled space) is an outlier (format 2;
    /// `None` in older models: nobody is flagged).
    #[serde(default)]
    pub outlier_threshold: Option<f64>,
    /// The holdout arms of this run's abandoners (docs/outcomes.md); `None`: no holdout (and in
    /// models written before holdouts existed).
    #[serde(default)]
    pub holdout: Option<Holdout>,
    /// The return propensity `assign` applies (format 3, docs/propensity.md); `None`: not learned
    /// (and in older models).
    #[serde(default)]
    pub propensity: Option<crate::propensity::learn::Propensity>,
    /// With a holdout: the first listings since the split began that the run carried on
    /// (model::listing; docs/outcomes.md "First exposure"). Absent without a holdout and in
    /// models written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_listing: Option<super::listing::FirstListing>,
    /// The variants inside the treatment arm (docs/outcomes.md "Variants"); absent without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<super::variants::Variants>,
}

impl Model {
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// Parses and checks a model from the text of model.json; `origin` (the file) starts every
    /// message. Reading the file is the caller's (`io::read::text`).
    pub fn from_json(text: &str, origin: &str) -> Result<Model> {
        let probe: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!("{origin}: not a valid model file (truncated or not JSON): {e}")
        })?;
        match probe.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if (OLDEST_FORMAT as u64..=FORMAT_VERSION as u64).contains(&v) => {}
            Some(v) => bail!(
                "{origin}: model format version {v} is not supported by this cartsona (it reads versions {OLDEST_FORMAT} to {FORMAT_VERSION}); re-run segment with this version"
            ),
            None => bail!("{origin}: not a cartsona model (no format_version)"),
        }
        let model: Model = serde_json::from_value(probe)
            .map_err(|e| anyhow::anyhow!("{origin}: the model file is damaged: {e}"))?;
        model
            .check()
            .map_err(|e| anyhow::anyhow!("{origin}: the model file is damaged: {e}"))?;
        Ok(model)
    }

    /// Checks what `assign` and `drift` rely on, so a damaged or hand-edited model is an error,
    /// not a crash (found by fuzzing: crossed clip bounds panicked in `f64::clamp`).
    fn check(&self) -> Result<()> {
        let d = self.scaler.features.len();
        if d == 0 {
            bail!("it has no features");
        }
        let mut names = std::collections::BTreeSet::new();
        for f in &self.scaler.features {
            if !names.insert(f.name.as_str()) {
                bail!("feature {} appears twice", f.name);
            }
            let values = [f.fill, f.clip_low, f.clip_high, f.mean, f.sd];
            if values.iter().any(|v| !v.is_finite()) {
                bail!("feature {}: a scaler value is not a finite number", f.name);
            }
            if f.clip_low > f.clip_high {
                bail!(
                    "feature {}: clip_low {} is above clip_high {}",
                    f.name,
                    f.clip_low,
                    f.clip_high
                );
            }
            if f.sd <= 0.0 {
                bail!("feature {}: sd {} is not above 0", f.name, f.sd);
            }
        }
        if self.personas.is_empty() {
            bail!("it has no personas");
        }
        let mut ids = std::collections::BTreeSet::new();
        for p in &self.personas {
            if !ids.insert(p.id.as_str()) {
                bail!("persona id {} appears twice", p.id);
            }
            if p.centroid.len() != d {
                bail!("centroids do not match its {d} features");
            }
            if p.centroid.iter().any(|v| !v.is_finite()) {
                bail!("persona {}: its centroid is not finite", p.id);
            }
        }
        if self
            .outlier_threshold
            .is_some_and(|t| t.is_nan() || t < 0.0)
        {
            bail!("the outlier threshold is not a number >= 0");
        }
        if let Some(h) = &self.holdout {
            h.check()?;
        }
        if let Some(v) = &self.variants {
            v.check()?;
        }
        for (name, q) in &self.deciles {
            if q.iter().any(|v| !v.is_finite()) || q.windows(2).any(|w| w[0] > w[1]) {
                bail!("the deciles of {name} are not finite and ascending");
            }
        }
        Ok(())
    }
}

impl Model {
    /// The model of a `segment` run.
    pub fn of_run(run: RunParts<'_>) -> Model {
        let (k_selection, chosen_k, reason) = run.selection;
        let personas = run.personas;
        Model {
            format_version: FORMAT_VERSION,
            tool: format!("cartsona {}", env!("CARGO_PKG_VERSION")),
            as_of: run.as_of.to_string(),
            config: run.config,
            scaler: run.scaler,
            personas: personas
                .personas
                .iter()
                .enumerate()
                .map(|(i, p)| ModelPersona {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    centroid: personas.centroids.row(i).to_vec(),
                    size: p.size,
                    share: p.share,
                    evidence: p.evidence.clone(),
                    bullets: p.bullets.clone(),
                    play: p.play.clone(),
                    stability: p.stability,
                })
                .collect(),
            deciles: deciles(run.table),
            k_selection: k_selection.to_vec(),
            chosen_k,
            reason: reason.to_string(),
            baseline: run.identity.baseline.cloned(),
            lineage: run.identity.lineage.to_vec(),
            retired: run.identity.retired.to_vec(),
            next_persona_number: run.identity.next_number,
            outlier_threshold: run
                .outlier_threshold
                .is_finite()
                .then_some(run.outlier_threshold),
            holdout: run.holdout,
            propensity: None,
            first_listing: None,
            variants: None,
        }
    }

    /// The clustering features, in the matrix's column order.
    pub fn feature_names(&self) -> Vec<String> {
        self.scaler
            .features
            .iter()
            .map(|f| f.name.clone())
            .collect()
    }

    /// The model's features that `table` lacks.
    pub fn missing_features(&self, table: &FeatureTable) -> Vec<&str> {
        self.scaler
            .features
            .iter()
            .filter(|f| table.column(&f.name).is_none())
            .map(|f| f.name.as_str())
            .collect()
    }

    /// The model's centroids, one row per persona.
    pub fn centroids(&self) -> ndarray::Array2<f64> {
        let (k, d) = (self.personas.len(), self.scaler.features.len());
        ndarray::Array2::from_shape_fn((k, d), |(i, j)| self.personas[i].centroid[j])
    }

    /// Personas profiled on new data (`assign`) with this model's ids, names, evidence, bullets
    /// and plays: what the fit decided, not what the new data would suggest.
    pub fn with_identity(&self, mut personas: Vec<Persona>) -> Vec<Persona> {
        for (p, m) in personas.iter_mut().zip(&self.personas) {
            p.id = m.id.clone();
            p.name = m.name.clone();
            p.evidence = m.evidence.clone();
            p.bullets = m.bullets.clone();
            p.play = m.play.clone();
            p.stability = m.stability;
        }
        personas
    }

    /// The next fresh persona number: past every id this model or its ancestors issued.
    pub fn next_number(&self) -> usize {
        let seen = self
            .personas
            .iter()
            .map(|p| p.id.as_str())
            .chain(self.retired.iter().map(|r| r.id.as_str()))
            .filter_map(id_number)
            .max()
            .unwrap_or(0);
        self.next_persona_number.max(seen + 1)
    }
}

/// What the model of a `segment` run is made of: its settings, scaler, personas in id order with
/// their centroids, the features table (for the deciles), the table of k and the choice, the
/// identity matching decided, and the outlier threshold.
pub struct RunParts<'a> {
    pub as_of: &'a str,
    pub config: RunConfig,
    pub scaler: Scaler,
    pub personas: &'a Personified,
    pub table: &'a FeatureTable,
    pub selection: (&'a [KRow], usize, &'a str),
    pub identity: IdentityRecord<'a>,
    pub outlier_threshold: f64,
    pub holdout: Option<Holdout>,
}

/// What identity matching decided, as the model records it (`model::identity`).
pub struct IdentityRecord<'a> {
    pub baseline: Option<&'a String>,
    pub lineage: &'a [Lineage],
    pub retired: &'a [Retired],
    pub next_number: usize,
}

/// What matching against the baseline decided for one new persona.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lineage {
    /// The persona's id in this run.
    pub id: String,
    /// The baseline persona it continues, if any.
    pub baseline_id: Option<String>,
    /// Distance to its matched (or nearest) baseline centroid, in baseline standard deviations.
    pub distance: f64,
    pub matched: bool,
}

/// A baseline persona with no successor in this run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Retired {
    pub id: String,
    pub name: String,
    /// Distance from its centroid to the nearest new persona (baseline standard deviations).
    pub nearest_distance: f64,
}

/// The number part of a persona id (`P12` -> 12).
pub fn id_number(id: &str) -> Option<usize> {
    id.strip_prefix('P')?.parse().ok()
}

/// Deciles of every numeric feature over the abandoners (known values only).
pub fn deciles(table: &FeatureTable) -> BTreeMap<String, Vec<f64>> {
    let mut out = BTreeMap::new();
    for c in &table.columns {
        if let Values::Num(v) = &c.values {
            let mut known: Vec<f64> = v.known().collect();
            if known.is_empty() {
                continue;
            }
            // On all threads: the same sorted values (a total order has one), sooner (issue 19).
            known.par_sort_unstable_by(f64::total_cmp);
            out.insert(
                c.name.to_string(),
                (0..=10)
                    .map(|q| quantile_sorted(&known, q as f64 / 10.0))
                    .collect(),
            );
        }
    }
    out
}
