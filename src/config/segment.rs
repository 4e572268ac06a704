//! The settings of one `segment` run: the feature settings, the clustering (k range, eligibility,
//! seed, restarts, mini-batch threshold, clustering features) and the baseline match distance and
//! stability resamples, from the flags and `[segment]` (flags win). Out: [`Segment`], checked.

use anyhow::{bail, Result};

use super::features::feature_params;
use super::file::Loaded;
use crate::cli::{ClusterArgs, SegmentArgs};
use crate::cluster::choose_k::SelectParams;
use crate::features::catalogue::DEFAULT_FEATURES;
use crate::features::compute::FeatureParams;

pub use super::keys::segment::*;

/// The settings of one `segment` run, checked.
#[derive(Debug, Clone)]
pub struct Segment {
    pub features: FeatureParams,
    pub clustering: Clustering,
    /// With `--baseline`: how close (baseline sd) a persona must stay to keep its id.
    pub max_match_distance: f64,
    /// Bootstrap refits for stability (0: not measured).
    pub stability_resamples: usize,
}

/// The defaults every help text, `cartsona init` and the config show (docs/personas.md).
impl Default for Segment {
    fn default() -> Segment {
        Segment {
            features: FeatureParams::default(),
            clustering: Clustering::default(),
            max_match_distance: 1.5,
            stability_resamples: crate::cluster::stability::RESAMPLES,
        }
    }
}

/// How to cluster: the choice of k and the features, and who chose the features.
#[derive(Debug, Clone)]
pub struct Clustering {
    pub select: SelectParams,
    /// The clustering features asked for (the defaults unless `chosen_by` is set).
    pub wanted: Vec<String>,
    /// Where the user chose the features (`--cluster-features` or the file's key), if they did.
    pub chosen_by: Option<String>,
}

impl Default for Clustering {
    fn default() -> Clustering {
        Clustering {
            select: SelectParams::default(),
            wanted: DEFAULT_FEATURES.iter().map(|s| s.to_string()).collect(),
            chosen_by: None,
        }
    }
}

/// Builds the settings of `segment` from flags and the file.
pub fn segment(args: &SegmentArgs, loaded: &Loaded) -> Result<Segment> {
    let f = &loaded.file.segment;
    let default = Segment::default();
    let max_match_distance = loaded
        .layer_or(
            MAX_MATCH_DISTANCE,
            args.max_match_distance,
            f.max_match_distance,
            default.max_match_distance,
        )
        .check(
            |d| d.is_finite() && *d >= 0.0,
            "give a distance >= 0 in baseline standard deviations, like 1.5",
        )?;
    let stability_resamples = loaded
        .layer_or(
            STABILITY_RESAMPLES,
            args.cluster.stability_resamples,
            f.stability_resamples,
            default.stability_resamples,
        )
        .check(|b| *b <= 1000, "give 0 (off) to 1000")?;
    Ok(Segment {
        features: feature_params(&args.features, loaded)?,
        clustering: cluster_params(&args.cluster, loaded)?,
        max_match_distance: max_match_distance.value,
        stability_resamples: stability_resamples.value,
    })
}

/// The clustering settings, checked, and whether the feature list was chosen by the user.
pub fn cluster_params(args: &ClusterArgs, loaded: &Loaded) -> Result<Clustering> {
    let f = &loaded.file.segment;
    let d = SelectParams::default();
    let k_min = loaded
        .layer_or(K_MIN, args.k_min, f.k_min, d.k_min)
        .check(|k| *k >= 2, "at least 2 personas are needed")?;
    let k_max = loaded.layer_or(K_MAX, args.k_max, f.k_max, d.k_max);
    let k_max = k_max
        .check(
            |k| *k >= k_min.value,
            format!("is below {} {}", k_min.origin, k_min.value),
        )?
        .check(|k| *k <= 20, "at most 20 personas")?;
    let k = match loaded.layer(K, args.k, f.k) {
        Some(k) => Some(k.check(|k| (2..=20).contains(k), "choose between 2 and 20 personas")?),
        None => None,
    };
    let min_share = loaded
        .layer_or(
            MIN_PERSONA_SHARE,
            args.min_persona_share,
            f.min_persona_share,
            d.min_share,
        )
        .check(
            |s| (0.0..0.5).contains(s),
            "give a share from 0 to 0.5, like 0.05",
        )?;
    let minibatch_above = loaded
        .layer_or(
            MINIBATCH_ABOVE,
            args.minibatch_above,
            f.minibatch_above,
            d.minibatch_above,
        )
        .check(
            |n| *n >= 10_000,
            "give at least 10000 (below that full k-means is fast)",
        )?;
    let restarts = loaded
        .layer_or(RESTARTS, args.restarts, f.restarts, d.restarts)
        .check(|r| (1..=1000).contains(r), "give 1 to 1000")?;
    let min_size = match loaded.layer(MIN_PERSONA_SIZE, args.min_persona_size, f.min_persona_size) {
        Some(s) => Some(s.check(|n| *n >= 1, "give at least 1 shopper")?.value),
        None => None,
    };
    let mut clustering = Clustering::default();
    let chosen = loaded.layer(
        CLUSTER_FEATURES,
        args.cluster_features.clone(),
        f.cluster_features.clone(),
    );
    if let Some(chosen) = chosen {
        let list: Vec<String> = chosen
            .value
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if list.is_empty() {
            bail!("{}: the list is empty", chosen.origin);
        }
        clustering.wanted = list;
        clustering.chosen_by = Some(chosen.origin.to_string());
    }
    clustering.select = SelectParams {
        k_min: k_min.value,
        k_max: k_max.value,
        k: k.map(|k| k.value),
        min_share: min_share.value,
        seed: loaded.layer_or(SEED, args.seed, f.seed, d.seed).value,
        restarts: restarts.value,
        minibatch_above: minibatch_above.value,
        min_size,
    };
    Ok(clustering)
}
