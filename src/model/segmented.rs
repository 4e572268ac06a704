//! A run's personas. `segment`: from its clustering matrix to settled identities: k chosen and
//! fitted (`cluster::fit`), each cluster described (`personas`), ids and names settled against
//! the baseline (`identity`), outliers and stability assessed and attached. Out: [`Segmented`];
//! the warnings of the choice of k are in its `fitted.selection` for the command to give.
//! `assign`: a saved model applied without refitting ([`assign`], out: [`Assigned`]).

use anyhow::{bail, Result};
use ndarray::Array2;

use super::identity::{self, Identity};
use super::Model;
use crate::cluster::choose_k::SelectParams;
use crate::cluster::fit::{self, Assessment, Fitted};
use crate::cluster::matrix;
use crate::cluster::nearest::{self, Assignment};
use crate::cluster::outliers;
use crate::features::compute::FeatureTable;
use crate::features::compute::LeftOut;
use crate::personas::{self, Persona, Personified};

/// What [`segment`] found.
pub struct Segmented {
    pub fitted: Fitted,
    pub settled: Personified,
    pub identity: Identity,
    pub assessed: Assessment,
    /// Each shopper's persona (an index into `settled.personas`).
    pub labels: Vec<usize>,
}

impl Segmented {
    /// The run's model: its settings, scaler, personas and identities, the choice of k, the
    /// outlier threshold, and with a holdout the arms and first listings (`arms`).
    pub fn model(
        &self,
        as_of: &str,
        config: super::RunConfig,
        scaler: crate::cluster::matrix::Scaler,
        table: &FeatureTable,
        arms: &super::arms::Arms,
    ) -> Model {
        let selection = &self.fitted.selection;
        let mut model = Model::of_run(super::format::RunParts {
            as_of,
            config,
            scaler,
            personas: &self.settled,
            table,
            selection: (&selection.table, selection.k, &selection.reason),
            identity: self.identity.record(),
            outlier_threshold: self.assessed.threshold,
            holdout: arms.holdout.clone(),
        });
        model.first_listing = arms.listing.as_ref().map(|l| l.record.clone());
        model.variants = arms.variants.clone();
        model
    }
}

/// How a run clusters: the choice of k, the baseline to match and how far, the stability refits.
pub struct How<'a> {
    pub select: &'a SelectParams,
    pub baseline: Option<(&'a Model, String)>,
    pub max_match_distance: f64,
    pub stability_resamples: usize,
}

/// Fits, describes, settles and assesses the personas of `table` clustered on `x`; `stage`
/// names each step for a progress display.
pub fn segment(
    table: &FeatureTable,
    x: &Array2<f64>,
    how: How,
    stage: impl Fn(&str),
) -> Result<Segmented> {
    let fitted = fit::fit(x, &table.value_at_stake(), how.select, &stage)?;
    stage("describing the personas");
    let found = personas::from_clusters(table, x, &fitted.selection.model.centroids);
    let (mut settled, identity) =
        identity::settle(table, found, how.baseline, how.max_match_distance)?;
    if how.stability_resamples > 0 {
        stage("measuring each persona's stability");
    }
    let labels: Vec<usize> = settled.assigned.iter().map(|a| a.persona).collect();
    let distances: Vec<f64> = settled.assigned.iter().map(|a| a.distance).collect();
    let assessed = fit::assess(
        x,
        &fitted,
        &labels,
        &distances,
        how.select,
        how.stability_resamples,
    )?;
    personas::attach(
        &mut settled.personas,
        &labels,
        &assessed.outlier,
        &assessed.stability,
    );
    Ok(Segmented {
        fitted,
        settled,
        identity,
        assessed,
        labels,
    })
}

/// What [`assign`] found: the scaled matrix, each shopper's nearest persona, outlier flags, the
/// model's personas described on this data.
pub struct Assigned {
    pub x: Array2<f64>,
    pub assigned: Vec<Assignment>,
    pub labels: Vec<usize>,
    pub outlier: Vec<bool>,
    pub personas: Vec<Persona>,
}

/// Refuses data that cannot give a feature `model` uses (`left_out` says why).
pub fn require_features(model: &Model, table: &FeatureTable, left_out: &[LeftOut]) -> Result<()> {
    let missing = model.missing_features(table);
    if !missing.is_empty() {
        let why: Vec<String> = left_out
            .iter()
            .filter(|l| missing.contains(&l.feature))
            .map(|l| format!("{}: {}", l.feature, l.reason))
            .collect();
        bail!(
            "the model uses features this data cannot give: {} ({}); pass the same kinds of input as the model's run",
            missing.join(", "),
            why.join("; ")
        );
    }
    Ok(())
}

/// `model` applied to `table` without refitting: its scaler, nearest centroid, outlier rule (a
/// model of format 1 has none), identities and stability; names, evidence and plays from the
/// model, sizes and profiles from this data.
pub fn assign(model: &Model, table: &FeatureTable) -> Result<Assigned> {
    let x = matrix::apply(&model.scaler, table)?;
    let k = model.personas.len();
    let assigned = nearest::nearest_two(&x, &model.centroids());
    let labels: Vec<usize> = assigned.iter().map(|a| a.persona).collect();
    let distances: Vec<f64> = assigned.iter().map(|a| a.distance).collect();
    let threshold = model.outlier_threshold.unwrap_or(f64::INFINITY);
    let outlier = outliers::flag(&distances, &labels, k, threshold);
    let mut personas = model.with_identity(personas::build(table, &labels, k, false).0);
    let stability: Vec<Option<f64>> = model.personas.iter().map(|p| p.stability).collect();
    personas::attach(&mut personas, &labels, &outlier, &stability);
    Ok(Assigned {
        x,
        assigned,
        labels,
        outlier,
        personas,
    })
}
