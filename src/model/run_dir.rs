//! The run directory of `segment` and `assign`, in one place: the names of its files
//! ([`files`]), "a run directory or its model.json" ([`model_path`]), the model and the
//! assignments read back ([`model`], [`run`]: every shopper's persona, raw clustering features and
//! propensity, for `drift`, `outcomes`, `features --model` and `--baseline`), and the rendered
//! files written into a staging directory in their order ([`RunFiles::write`]). Files are read
//! and written through `io`; the renderers that make the bytes come later in the flow
//! (`cmd::run_output` hands them over).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::io::read::{self, CsvOptions, Source};
use crate::io::write::StagedDir;
use crate::model::{listing, Model};

/// The files of every run directory, in the order they are written (after the assignments).
pub const PERSONAS: &str = "personas.csv";
pub const MODEL: &str = "model.json";
pub const SUMMARY: &str = "summary.json";
pub const REPORT_MD: &str = "report.md";
pub const REPORT_HTML: &str = "report.html";
/// With a holdout: the messaging platform's audience.
pub const AUDIENCE: &str = "audience.csv";
/// The assignments, CSV or Parquet.
pub const ASSIGNMENTS: [&str; 2] = ["assignments.csv", "assignments.parquet"];

/// The files of a run directory (`parquet`: the assignments' format); `audience.csv` and
/// `listed.csv` when the run has a holdout.
pub fn files(parquet: bool, audience: bool) -> Vec<String> {
    let mut files = vec![
        assignments_name(parquet).to_string(),
        PERSONAS.to_string(),
        MODEL.to_string(),
        SUMMARY.to_string(),
        REPORT_MD.to_string(),
        REPORT_HTML.to_string(),
    ];
    if audience {
        files.push(AUDIENCE.to_string());
        files.push(listing::FILE.to_string());
    }
    files
}

/// The assignments' file name, CSV or Parquet.
pub fn assignments_name(parquet: bool) -> &'static str {
    ASSIGNMENTS[usize::from(parquet)]
}

/// A model given as a run directory or as its model.json.
pub fn model_path(path: &Path) -> PathBuf {
    read::in_dir_or_file(path, MODEL)
}

/// The model of `--baseline` (a run directory or its model.json) and its file as messages name
/// it; `None` without one.
pub fn baseline(path: Option<&Path>) -> Result<Option<(Model, String)>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let path = model_path(path);
    let model = model(&path).map_err(|e| anyhow::anyhow!("--baseline: {e:#}"))?;
    Ok(Some((model, path.display().to_string())))
}

/// The model.json and the assignments (CSV or Parquet, as a source to scan) of a run directory;
/// `flag` names the run in messages.
pub fn assignments(dir: &Path, flag: &str) -> Result<(PathBuf, Source)> {
    if !read::is_dir(dir) {
        bail!("{flag} {}: no such run directory", dir.display());
    }
    let path = ASSIGNMENTS
        .iter()
        .map(|n| dir.join(n))
        .find(|p| read::is_file(p))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{flag} {}: no assignments.csv or assignments.parquet in the run",
                dir.display()
            )
        })?;
    let src = Source {
        format: read::format_of(&path).expect("known name"),
        path,
        table: None,
    };
    Ok((dir.join(MODEL), src))
}

/// The rendered files of a run, each written under its name by [`RunFiles::write`].
pub struct RunFiles {
    pub personas: Vec<u8>,
    pub model: Vec<u8>,
    pub summary: Vec<u8>,
    pub report_md: Vec<u8>,
    pub report_html: Vec<u8>,
    /// With a holdout: audience.csv and listed.csv.
    pub audience: Option<Vec<u8>>,
    pub listed: Option<Vec<u8>>,
}

impl RunFiles {
    /// Writes every file but the assignments (written first, on their own, to free their
    /// bytes) into `staged`.
    pub fn write(self, staged: &StagedDir) -> Result<()> {
        staged.write(PERSONAS, &self.personas)?;
        staged.write(MODEL, &self.model)?;
        staged.write(SUMMARY, &self.summary)?;
        staged.write(REPORT_MD, &self.report_md)?;
        staged.write(REPORT_HTML, &self.report_html)?;
        if let Some(body) = &self.audience {
            staged.write(AUDIENCE, body)?;
        }
        if let Some(body) = &self.listed {
            staged.write(listing::FILE, body)?;
        }
        Ok(())
    }
}

/// One run read back: its model, every shopper's persona, raw features and propensity.
pub struct RunData {
    pub label: String,
    pub model: Model,
    /// (customer_id, persona_id), in file order.
    pub assignments: Vec<(String, String)>,
    /// Raw feature values from the assignments file, by feature.
    pub features: BTreeMap<String, Vec<Option<f64>>>,
    /// The `return_propensity` column, when the run has one (docs/propensity.md).
    pub propensity: Option<Vec<f64>>,
}

/// Reads and checks a model file (a run directory's model.json, or a path to one).
pub fn model(path: &Path) -> Result<Model> {
    let text =
        read::text(path).with_context(|| format!("{}: cannot read the model", path.display()))?;
    Model::from_json(&text, &path.display().to_string())
}

/// Reads a run directory written by `segment` or `assign`: model.json and assignments (CSV or
/// Parquet). `flag` names the run in messages.
pub fn run(dir: &Path, flag: &str) -> Result<RunData> {
    let (model_path, src) = assignments(dir, flag)?;
    let model = model(&model_path).map_err(|e| anyhow::anyhow!("{flag}: {e:#}"))?;
    let features: Vec<String> = model
        .scaler
        .features
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let mut wanted = vec!["customer_id".to_string(), "persona_id".to_string()];
    wanted.extend(features.iter().cloned());
    wanted.push("return_propensity".to_string());
    let mut has_propensity = false;
    let mut assignments = Vec::new();
    // The features, then the propensity.
    let mut values: Vec<Vec<Option<f64>>> = vec![Vec::new(); features.len() + 1];
    let file = src.display();
    read::scan(
        &src,
        CsvOptions { delimiter: b',' },
        |header| {
            wanted
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let pos = header.iter().position(|h| h == w);
                    if pos.is_none() && i < 2 {
                        bail!("{file}: column {w} is missing; is this a cartsona run?");
                    }
                    has_propensity |= i == wanted.len() - 1 && pos.is_some();
                    Ok(pos)
                })
                .collect()
        },
        |row| {
            let text = |i: usize| row.cells[i].text().unwrap_or_default().to_string();
            assignments.push((text(0), text(1)));
            for (j, v) in values.iter_mut().enumerate() {
                let cell = row.cells[j + 2].text();
                v.push(match cell {
                    None => None,
                    Some(s) => Some(s.parse::<f64>().map_err(|_| {
                        anyhow::anyhow!(
                            "{file}: line {}, column {}: '{s}' is not a number",
                            row.line,
                            wanted[j + 2]
                        )
                    })?),
                });
            }
            Ok(())
        },
    )?;
    let propensity = values.pop().filter(|_| has_propensity);
    Ok(RunData {
        label: dir.display().to_string(),
        model,
        assignments,
        features: features.into_iter().zip(values).collect(),
        propensity: propensity.map(|v| v.into_iter().map(|p| p.unwrap_or(f64::NAN)).collect()),
    })
}
