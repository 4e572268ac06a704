//! The two runs drift compares, read back from their run directories (through `io`): each run's
//! model and, from its assignments file, every shopper's persona and raw clustering features.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::io::read::{self, CsvOptions};
use crate::model::Model;

/// One run as drift sees it.
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
    let (model_path, src) = read::run_files(dir, flag)?;
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
