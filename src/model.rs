//! The versioned, serialisable model: everything `assign` and `drift` need to reuse a run without
//! refitting (docs/personas.md, "model.json").

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::pipeline::features::{FeatureTable, Values};
use crate::pipeline::lineage::{id_number, Lineage, Retired};
use crate::pipeline::matrix::{quantile_sorted, Scaler};
use crate::pipeline::personas::{Evidence, Play};
use crate::pipeline::select::KRow;

pub const FORMAT_VERSION: u32 = 1;

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
}

fn default_minibatch_above() -> usize {
    crate::pipeline::select::MINIBATCH_ABOVE
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
}

impl Model {
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// Loads and checks a model file.
    pub fn load(path: &std::path::Path) -> Result<Model> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the model", path.display()))?;
        let probe: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a valid model file (truncated or not JSON): {e}",
                path.display()
            )
        })?;
        match probe.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == FORMAT_VERSION as u64 => {}
            Some(v) => bail!(
                "{}: model format version {v} is not supported by this cartsona (it reads version {FORMAT_VERSION}); re-run segment with this version",
                path.display()
            ),
            None => bail!("{}: not a cartsona model (no format_version)", path.display()),
        }
        let model: Model = serde_json::from_value(probe)
            .map_err(|e| anyhow::anyhow!("{}: the model file is damaged: {e}", path.display()))?;
        model
            .check()
            .map_err(|e| anyhow::anyhow!("{}: the model file is damaged: {e}", path.display()))?;
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
        for (name, q) in &self.deciles {
            if q.iter().any(|v| !v.is_finite()) || q.windows(2).any(|w| w[0] > w[1]) {
                bail!("the deciles of {name} are not finite and ascending");
            }
        }
        Ok(())
    }
}

impl Model {
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

/// Deciles of every numeric feature over the abandoners (known values only).
pub fn deciles(table: &FeatureTable) -> BTreeMap<String, Vec<f64>> {
    let mut out = BTreeMap::new();
    for c in &table.columns {
        if let Values::Num(v) = &c.values {
            let mut known: Vec<f64> = v.iter().flatten().copied().collect();
            if known.is_empty() {
                continue;
            }
            known.sort_unstable_by(f64::total_cmp);
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
