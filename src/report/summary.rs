//! The one [`Summary`] value every renderer of a run shares, built from the stages' results.

use serde::Serialize;

use crate::cluster::choose_k::KRow;
use crate::cluster::matrix::MatrixReport;
use crate::features::compute::{FeatureSummary, LeftOut, Windows};
use crate::ingest::load::FileReport;
use crate::ingest::schema::BadRows;
use crate::personas::Persona;

/// Everything a report says about a run; summary.json is this value as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub tool: String,
    pub command: String,
    pub as_of: String,
    pub as_of_source: String,
    pub windows: Windows,
    pub on_bad_rows: BadRows,
    pub inputs: Vec<FileReport>,
    pub rows_rejected: u64,
    /// `None` (null) when the run read a precomputed features table (`--features`).
    pub customers: Option<usize>,
    pub carts: Option<u64>,
    pub abandoned_carts: Option<u64>,
    pub abandoned_carts_in_lookback: Option<u64>,
    /// Rows after the as-of time, per input kind: ignored.
    pub rows_after_as_of: std::collections::BTreeMap<&'static str, u64>,
    pub abandoners: usize,
    /// `None` (null) when a `--features` table has no `last_abandoned_value`.
    pub value_at_stake: Option<f64>,
    pub features_left_out: Vec<LeftOut>,
    /// The clustering: its fields are summary.json's keys (flattened).
    #[serde(flatten)]
    pub clustered: Clustered,
    /// The run's holdout (docs/outcomes.md), if any.
    pub holdout: Option<crate::model::holdout::Holdout>,
    /// The variants inside the treatment arm (docs/outcomes.md "Variants"), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<crate::model::variants::Variants>,
    /// The previous readout shown on the cards (`--outcomes`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<crate::outcomes::previous::Previous>,
    pub personas: Vec<Persona>,
    /// The return propensity (docs/propensity.md); absent when not asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propensity: Option<crate::propensity::shown::Shown>,
    /// The baseline model personas were matched against, if any.
    pub baseline: Option<String>,
    pub lineage: Vec<crate::model::format::Lineage>,
    /// Baseline personas with no successor in this run.
    pub retired_now: Vec<crate::model::format::Retired>,
    pub warnings: Vec<String>,
    pub files: Vec<String>,
    /// The 2-D view of the report (not in summary.json: it is a picture, not a figure).
    #[serde(skip)]
    pub projection: Option<crate::cluster::projection::Projection>,
    /// Wall time per stage, only with `--timings` (it would make runs differ byte for byte).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Vec<crate::util::progress::StageTime>>,
}

/// The clustering of a run: fitted by `segment` ([`Clustered::segmented`]), read from the saved
/// model by `assign`. Every field is given: a forgotten one is a compile error, not "k = 0".
#[derive(Debug, Clone, Serialize)]
pub struct Clustered {
    pub cluster_features: Vec<String>,
    pub matrix: MatrixReport,
    pub seed: u64,
    pub k_selection: Vec<KRow>,
    pub chosen_k: usize,
    pub reason: String,
    /// Why the personas are only indicative (small data, no k eligible), if they are.
    pub indicative: Option<String>,
    /// Shoppers farther than this from every centre are outliers (`None`: not measured).
    pub outlier_threshold: Option<f64>,
    /// Shoppers flagged as outliers (each still has a persona).
    pub outliers: usize,
    /// Shoppers left out of fitting and choosing k.
    pub left_out_of_fit: usize,
    /// Stability resamples drawn before every persona's figure was known well enough (at most
    /// `--stability-resamples`; `None`: stability not measured, as in `assign`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stability_resamples_drawn: Option<usize>,
}

impl Clustered {
    /// What a segment run found (`model::segmented`): the choice of k, the outliers and the
    /// shoppers left out of the fit (`rows`: the matrix's).
    pub fn segmented(
        found: &crate::model::segmented::Segmented,
        model: &crate::model::Model,
        rows: usize,
        matrix: MatrixReport,
    ) -> Clustered {
        let selection = &found.fitted.selection;
        Clustered {
            cluster_features: model.feature_names(),
            matrix,
            seed: model.config.seed,
            k_selection: selection.table.clone(),
            chosen_k: selection.k,
            reason: selection.reason.clone(),
            indicative: selection.indicative.clone(),
            outlier_threshold: model.outlier_threshold,
            outliers: found.assessed.outlier.iter().filter(|o| **o).count(),
            left_out_of_fit: rows - found.fitted.fit_rows.len(),
            stability_resamples_drawn: (found.assessed.resamples_drawn > 0)
                .then_some(found.assessed.resamples_drawn),
        }
    }

    /// What an assign run used: the saved model's clustering, not refitted, with this data's
    /// outliers (`outlier`, per shopper).
    pub fn assigned(model: &crate::model::Model, outlier: &[bool]) -> Clustered {
        let k = model.personas.len();
        Clustered {
            cluster_features: model.feature_names(),
            // assign builds no matrix of its own: the model's transforms and scaler apply.
            matrix: MatrixReport::default(),
            seed: model.config.seed,
            k_selection: model.k_selection.clone(),
            chosen_k: k,
            reason: format!(
                "assigned with the saved model of {} (k = {k}, not refitted)",
                model.as_of
            ),
            indicative: None,
            outlier_threshold: model.outlier_threshold,
            outliers: outlier.iter().filter(|o| **o).count(),
            left_out_of_fit: 0,
            stability_resamples_drawn: None,
        }
    }
}

/// What a run settled and writes, beyond the clustering.
pub struct RunFound {
    pub holdout: Option<crate::model::holdout::Holdout>,
    pub variants: Option<crate::model::variants::Variants>,
    pub personas: Vec<Persona>,
    pub propensity: Option<crate::propensity::shown::Shown>,
    /// The baseline and each persona's lineage (`segment --baseline`; none for `assign`).
    pub baseline: Option<String>,
    pub lineage: Vec<crate::model::format::Lineage>,
    pub retired_now: Vec<crate::model::format::Retired>,
    /// Warnings of the run, after those of the rows skipped as bad.
    pub warnings: Vec<String>,
    pub files: Vec<String>,
    pub projection: Option<crate::cluster::projection::Projection>,
}

impl RunFound {
    /// What a segment run settled: its holdout and personas (`arms`, `found`), propensity, the
    /// lineage against the baseline, and its warnings in order (the propensity's, the choice of
    /// k's, the holdout's).
    pub fn segmented(
        found: &crate::model::segmented::Segmented,
        arms: &crate::model::arms::Arms,
        propensity: &crate::propensity::run::RunPropensity,
        files: Vec<String>,
        projection: Option<crate::cluster::projection::Projection>,
    ) -> RunFound {
        let mut warnings = Vec::new();
        if let Some(crate::propensity::run::Said::Warning(warning)) = &propensity.said {
            warnings.push(warning.clone());
        }
        warnings.extend(found.fitted.selection.warnings.iter().cloned());
        warnings.extend(arms.note.clone());
        RunFound {
            holdout: arms.holdout.clone(),
            variants: arms.variants.clone(),
            personas: found.settled.personas.clone(),
            propensity: propensity.shown.clone(),
            baseline: found.identity.baseline.clone(),
            lineage: found.identity.lineage.clone(),
            retired_now: found.identity.retired_now.clone(),
            warnings,
            files,
            projection,
        }
    }
}

impl Summary {
    /// The summary of a `command` run from its parts: the inputs read (`report`), what the
    /// features stage found (`f`), the clustering and the rest. The previous readout
    /// (`outcomes`) and `timings` are the run writer's to attach.
    pub fn new(
        command: &str,
        f: &crate::features::compute::FeatureSummary,
        report: crate::ingest::load::ValidationReport,
        on_bad_rows: BadRows,
        clustered: Clustered,
        run: RunFound,
    ) -> Summary {
        let mut warnings: Vec<String> = report
            .files
            .iter()
            .filter(|f| f.rows_rejected > 0)
            .map(|f| {
                format!(
                    "{}: {} of {} rows skipped as bad",
                    f.path, f.rows_rejected, f.rows_read
                )
            })
            .collect();
        warnings.extend(run.warnings);
        Summary {
            tool: format!("cartsona {}", env!("CARGO_PKG_VERSION")),
            command: command.into(),
            as_of: f.as_of.clone(),
            as_of_source: f.as_of_source.to_string(),
            windows: f.windows.clone(),
            on_bad_rows,
            rows_rejected: report.rows_rejected(),
            inputs: report.files,
            customers: f.customers,
            carts: f.carts,
            abandoned_carts: f.abandoned_carts,
            abandoned_carts_in_lookback: f.abandoned_carts_in_lookback,
            rows_after_as_of: f.rows_after_as_of.clone(),
            abandoners: f.abandoners,
            value_at_stake: f.value_at_stake,
            features_left_out: f.left_out.clone(),
            clustered,
            holdout: run.holdout,
            variants: run.variants,
            outcomes: None,
            personas: run.personas,
            propensity: run.propensity,
            baseline: run.baseline,
            lineage: run.lineage,
            retired_now: run.retired_now,
            warnings,
            files: run.files,
            projection: run.projection,
            timings: None,
        }
    }

    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }
}

/// What `cartsona features` says about its output: features.summary.json.
#[derive(Serialize)]
pub struct FeaturesSummary<'a> {
    pub tool: String,
    pub command: &'static str,
    pub output: String,
    pub on_bad_rows: BadRows,
    pub inputs: &'a [FileReport],
    pub rows_rejected: u64,
    #[serde(flatten)]
    pub features: &'a FeatureSummary,
}

impl FeaturesSummary<'_> {
    /// The JSON, pretty and ending in a line break.
    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        Ok(json)
    }
}

/// `features.csv` -> `features.summary.json`.
pub fn features_summary_path(out: &std::path::Path) -> std::path::PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".parquet")
        .or_else(|| name.strip_suffix(".csv"))
        .unwrap_or(&name);
    out.with_file_name(format!("{stem}.summary.json"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_format() {
        assert_eq!(crate::util::numfmt::money(1234567.891), "1,234,567.89");
        assert_eq!(crate::util::numfmt::money(12.5), "12.50");
        assert_eq!(crate::util::numfmt::money(-1000.0), "-1,000.00");
    }
}
