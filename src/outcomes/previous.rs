//! A previous readout read back (outcomes.json), as `segment --outcomes` and `assign
//! --outcomes` show it: each persona's measured effect, matched by id, and which personas are
//! retired or new since. Reads through `io` only.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use crate::io::read;
use crate::personas::IncentiveVerdict;

/// A previous readout, as `segment --outcomes` and `assign --outcomes` show it on the cards.
#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    pub dir: String,
    pub window: String,
    /// The readout was partial (--allow-partial).
    pub partial: bool,
    /// (persona id, name, what was measured), in the readout's order.
    #[serde(skip)]
    pub personas: Vec<(String, String, crate::personas::Measured)>,
    /// Personas of the readout this run no longer has (retired), with their verdicts.
    pub retired: Vec<String>,
    /// Personas of this run the readout did not measure (new since).
    pub new: Vec<String>,
    /// Personas whose play's offer became a plain reminder, because the readout found that one
    /// does as well for less (unless `--keep-offers`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offers_switched: Vec<String>,
    /// What the readout's per-shopper uplift gate found, in words (None: the readout has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplift: Option<String>,
    /// Whether that gate passed: targeting by uplift is supported by the readout.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uplift_gate_passed: bool,
    /// The readout's uplift model, which scores this run's shoppers (assignments `uplift`).
    #[serde(skip)]
    pub uplift_model: Option<super::uplift::UpliftModel>,
    /// The audience cut by uplift (`--target`), when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Targeted>,
    /// `--target` and `--force-target` as asked.
    #[serde(skip)]
    pub asked_target: (super::targeting::Target, bool),
    /// What `--force-target` overrode.
    #[serde(skip)]
    pub target_warning: Option<String>,
}

/// The next run's uplift and audience by a readout (`Previous::score`).
#[derive(Default)]
pub struct Scored {
    /// Each shopper's uplift, when the readout has a model.
    pub uplift: Option<Vec<f64>>,
    /// The audience's shoppers in order, when `--target` cuts it.
    pub order: Option<Vec<usize>>,
    /// What `--force-target` overrode, to warn of.
    pub warning: Option<String>,
}

/// `--outcomes` and `--target` as asked, read and checked before the run's work so a bad path or
/// a target the readout does not support fails early.
pub fn asked(
    path: Option<&std::path::Path>,
    target: &str,
    force: bool,
) -> Result<Option<Previous>> {
    let target = super::targeting::Target::parse(target)?;
    let Some(path) = path else {
        if target != super::targeting::Target::All {
            bail!(
                "--target {}: needs --outcomes DIR, a readout whose per-shopper uplift gate passed",
                target.name()
            );
        }
        return Ok(None);
    };
    let mut p = previous(path)?;
    p.target_warning = p.check_target(target, force)?;
    p.asked_target = (target, force);
    Ok(Some(p))
}

/// What `--target` did to audience.csv.
#[derive(Debug, Clone, Serialize)]
pub struct Targeted {
    pub target: String,
    /// Shoppers audience.csv lists, of the treatment arm's.
    pub audience: usize,
    pub treated: usize,
    /// `--force-target` overrode a gate that found no evidence.
    pub forced: bool,
}

impl Previous {
    /// Checks `--target` against this readout: anything but `all` needs its uplift model, and
    /// its gate passed or `force` (Ok(Some(warning)) then). Err names the flag.
    pub fn check_target(
        &self,
        target: super::targeting::Target,
        force: bool,
    ) -> Result<Option<String>> {
        if target == super::targeting::Target::All {
            return Ok(None);
        }
        let name = target.name();
        if self.uplift_model.is_none() {
            bail!("--target {name}: the readout {} learned no per-shopper uplift ({}); give --outcomes a readout that did, or leave --target at all", self.dir, self.uplift.as_deref().unwrap_or("it has none"));
        }
        let words = self.uplift.as_deref().unwrap_or_default();
        match (self.uplift_gate_passed, force) {
            (true, _) => Ok(None),
            (false, false) => bail!("--target {name}: the readout {} found {words}; the audience stays as the plays say (--force-target cuts it anyway)", self.dir),
            (false, true) => Ok(Some(format!("--target {name} with --force-target: the readout {} found {words}; the audience is cut by an uplift no test supported", self.dir))),
        }
    }

    /// This run's shoppers (`assigned` to `personas`) scored by the readout's uplift model
    /// (`uplift_scores`), and the audience in order when `--target` cuts it (None: every
    /// treated shopper in file order), recorded in `self.target`.
    pub fn score(
        &mut self,
        table: &crate::features::compute::FeatureTable,
        personas: &[crate::personas::Persona],
        assigned: &[crate::cluster::nearest::Assignment],
        propensity: Option<&[f64]>,
        arms: Option<&[crate::model::holdout::Arm]>,
    ) -> Scored {
        let uplift = self.uplift_model.as_ref().map(|m| {
            let of: Vec<&str> = assigned
                .iter()
                .map(|a| personas[a.persona].id.as_str())
                .collect();
            uplift_scores(m, table, &of, propensity)
        });
        let order = arms.and_then(|arms| self.audience_order(arms, uplift.as_deref()));
        let (target, _) = self.asked_target;
        let warning = match arms {
            // No holdout, so no audience.csv to cut.
            None if target != super::targeting::Target::All => Some(format!(
                "--target {} does nothing: this run has no holdout, so no audience.csv (give --holdout SHARE, or a --baseline with one)",
                target.name()
            )),
            _ => self.target_warning.clone(),
        };
        Scored {
            uplift,
            order,
            warning,
        }
    }

    fn audience_order(
        &mut self,
        arms: &[crate::model::holdout::Arm],
        uplift: Option<&[f64]>,
    ) -> Option<Vec<usize>> {
        let (target, force) = self.asked_target;
        let u = uplift.filter(|_| target != super::targeting::Target::All)?;
        let treated = crate::model::holdout::Arm::Treatment;
        let arm: Vec<usize> = (0..arms.len()).filter(|&i| arms[i] == treated).collect();
        let order = target.cut(&arm, u);
        self.target = Some(Targeted {
            target: target.name(),
            audience: order.len(),
            treated: arm.len(),
            forced: force && !self.uplift_gate_passed,
        });
        Some(order)
    }
}

/// Reads a previous readout's outcomes.json (`path` is its directory or the file).
pub fn previous(path: &std::path::Path) -> Result<Previous> {
    let file = read::in_dir_or_file(path, "outcomes.json");
    let name = file.display().to_string();
    let text = read::text(&file).map_err(|e| {
        anyhow!(
            "--outcomes {name}: cannot read ({e}); give the directory `cartsona outcomes` wrote"
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("--outcomes {name}: not JSON ({e})"))?;
    let version = v["format_version"].as_u64();
    if version != Some(super::readout::FORMAT_VERSION as u64) {
        bail!("--outcomes {name}: format_version {version:?} is not {} (written by another version of cartsona?)", super::readout::FORMAT_VERSION);
    }
    let f = |x: &serde_json::Value| x.as_f64();
    let best: BTreeMap<&str, &str> = v["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| Some((x["persona_id"].as_str()?, x["best"].as_str()?)))
        .collect();
    // The first variant against the reminder, per persona (outcomes.json `against_reminder`).
    let incentive: BTreeMap<&str, crate::personas::IncentiveMeasured> = v["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            let a = &x["against_reminder"][0];
            let measured = crate::personas::IncentiveMeasured {
                variant: a["variant"].as_str()?.to_string(),
                verdict: serde_json::from_value(a["verdict"].clone()).ok()?,
                net_revenue_per_shopper: f(&a["net_revenue_per_shopper"])?,
                ci_low: f(&a["ci_low"])?,
                ci_high: f(&a["ci_high"])?,
                mde: f(&a["mde"])?,
            };
            Some((x["persona_id"].as_str()?, measured))
        })
        .collect();
    let mut personas = Vec::new();
    for p in v["personas"]
        .as_array()
        .ok_or_else(|| anyhow!("--outcomes {name}: no personas list"))?
    {
        let id = p["persona_id"]
            .as_str()
            .ok_or_else(|| anyhow!("--outcomes {name}: a persona without persona_id"))?;
        let measured = crate::personas::Measured {
            verdict: p["verdict"].as_str().unwrap_or("not measured").to_string(),
            uplift: f(&p["uplift"]["absolute"]),
            ci_low: f(&p["uplift"]["ci_low"]),
            ci_high: f(&p["uplift"]["ci_high"]),
            mde: f(&p["mde"]),
            treatment: p["treatment"]["n"].as_u64().unwrap_or(0),
            holdout: p["holdout"]["n"].as_u64().unwrap_or(0),
            incremental_revenue: f(&p["incremental_revenue"]["estimate"]),
            revenue_ci_low: f(&p["incremental_revenue"]["ci_low"]),
            revenue_ci_high: f(&p["incremental_revenue"]["ci_high"]),
            best_variant: best.get(id).map(|b| b.to_string()),
            incentive: incentive.get(id).cloned(),
        };
        personas.push((
            id.to_string(),
            p["persona_name"].as_str().unwrap_or_default().to_string(),
            measured,
        ));
    }
    Ok(Previous {
        dir: path.display().to_string(),
        window: v["window"].as_str().unwrap_or_default().to_string(),
        partial: !v["partial"].is_null(),
        personas,
        retired: Vec::new(),
        new: Vec::new(),
        offers_switched: Vec::new(),
        uplift: v["uplift"]["gate"]["words"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                v["uplift_not_learned"].as_str().map(|why| {
                    format!(
                        "{}: no per-shopper uplift was learned ({why})",
                        super::targeting::NO_EVIDENCE
                    )
                })
            }),
        uplift_gate_passed: v["uplift"]["gate"]["passed"].as_bool() == Some(true),
        target: None,
        asked_target: (super::targeting::Target::All, false),
        target_warning: None,
        uplift_model: match &v["uplift"]["model"] {
            serde_json::Value::Null => None,
            m => Some(
                serde_json::from_value(m.clone())
                    .map_err(|e| anyhow!("--outcomes {name}: uplift.model is damaged ({e})"))?,
            ),
        },
    })
}

/// Each shopper's uplift by the readout's model: its covariate columns read from the run's
/// feature table (`return_propensity` from `propensity`; a column the run lacks is unknown, so
/// at the learning shoppers' mean), its `persona=ID` columns from `persona_ids`, the shopper's
/// persona id.
pub fn uplift_scores(
    model: &super::uplift::UpliftModel,
    table: &crate::features::compute::FeatureTable,
    persona_ids: &[&str],
    propensity: Option<&[f64]>,
) -> Vec<f64> {
    use crate::features::compute::Values;
    enum Source<'a> {
        Nums(&'a crate::features::compute::Nums),
        Slice(&'a [f64]),
        Persona(&'a str),
        Unknown,
    }
    let sources: Vec<Source> = model
        .columns
        .iter()
        .map(|c| match (c.strip_prefix("persona="), c.as_str()) {
            (Some(id), _) => Source::Persona(id),
            (None, "return_propensity") => propensity.map_or(Source::Unknown, Source::Slice),
            (None, name) => match table.column(name).map(|c| &c.values) {
                Some(Values::Num(v)) => Source::Nums(v),
                _ => Source::Unknown,
            },
        })
        .collect();
    model.score_each(persona_ids.len(), |i, j| match &sources[j] {
        Source::Nums(v) => v.get(i).unwrap_or(f64::NAN),
        Source::Slice(v) => v[i],
        Source::Persona(id) => f64::from(u8::from(persona_ids[i] == *id)),
        Source::Unknown => f64::NAN,
    })
}

impl Previous {
    /// Puts each measured effect on the persona with the same id; notes the retired and new.
    /// Where the readout found that a plain reminder does as well as the incentive for less,
    /// the play's offer becomes a plain reminder saying why, unless `keep_offers`.
    pub fn attach(&mut self, personas: &mut [crate::personas::Persona], keep_offers: bool) {
        for p in personas.iter_mut() {
            p.measured = self
                .personas
                .iter()
                .find(|m| m.0 == p.id)
                .map(|m| m.2.clone());
            if p.measured.is_none() {
                self.new.push(p.id.clone());
            }
            let incentive = p.measured.as_ref().and_then(|m| m.incentive.as_ref());
            let loses = incentive.filter(|i| i.verdict == IncentiveVerdict::ReminderDoesAsWell);
            if let (Some(i), false) = (loses, keep_offers) {
                p.play.offer = format!(
                    "none: a plain reminder (readout {}: a plain reminder did as well as the {} for less)",
                    self.dir, i.variant
                );
                self.offers_switched.push(p.id.clone());
            }
        }
        self.retired = self
            .personas
            .iter()
            .filter(|m| !personas.iter().any(|p| p.id == m.0))
            .map(|m| format!("{} {} ({})", m.0, m.1, m.2.verdict))
            .collect();
    }
}
