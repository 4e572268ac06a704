//! What `segment` and `assign` share: the early checks on the features, the files of a run
//! directory, writing them into the staging directory, and the closing lines on stdout.

use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::{OutFormat, RunOutArgs};
use crate::cluster::nearest::Assignment;
use crate::features::compute::{FeatureSummary, FeatureTable};
use crate::io::write::StagedDir;
use crate::model::holdout::{self, Arm, Asked, Holdout};
use crate::model::listing;
use crate::model::Model;
use crate::outcomes::previous::{self as outcomes_load, Previous};
use crate::personas::{self, Persona};
use crate::propensity::run::Scored;
use crate::report::{html, markdown, tables, Summary};
use crate::util::progress::Progress;

/// Stops when there is no abandoner to segment or assign; `advice` ends the message.
pub fn require_abandoners(fsum: &FeatureSummary, advice: &str) -> Result<()> {
    if fsum.abandoners == 0 {
        bail!(
            "no abandoners as of {}: no cart with value > 0 went {} without an order within the last {}{advice}",
            fsum.as_of,
            fsum.windows.abandon_after,
            fsum.windows.lookback
        );
    }
    Ok(())
}

/// The files of a run directory; `audience.csv` and `listed.csv` when the run has a holdout.
pub fn run_files(format: OutFormat, audience: bool) -> Vec<String> {
    let ext = match format {
        OutFormat::Csv => "csv",
        OutFormat::Parquet => "parquet",
    };
    let mut files = vec![
        format!("assignments.{ext}"),
        "personas.csv".to_string(),
        "model.json".to_string(),
        "summary.json".to_string(),
        "report.md".to_string(),
        "report.html".to_string(),
    ];
    if audience {
        files.push("audience.csv".to_string());
        files.push(listing::FILE.to_string());
    }
    files
}

/// The run's holdout (what it asks for, else the one inherited from the baseline or the model),
/// each shopper's arm, and the arm counts on the personas (`labels[i]`: shopper i's persona). A
/// note on an inherited holdout that ends or changes is warned and returned for the summary.
/// With a holdout, each shopper's first listing since the split began, carried on from the run
/// before (`before`: its model and model.json; model::listing); a broken chain is warned and
/// returned too.
pub fn arms(
    asked: &Asked,
    before: Option<(&Model, &Path)>,
    as_of: &str,
    table: &FeatureTable,
    labels: &[usize],
    personas: &mut [Persona],
    progress: &Progress,
) -> Result<Arms> {
    let before = before
        .map(|(m, file)| {
            listing::Before::of(&m.as_of, m.holdout.as_ref(), m.first_listing.as_ref(), file)
        })
        .transpose()?;
    let inherited = before.as_ref().and_then(|b| b.holdout);
    let (holdout, mut note) = holdout::resolve(asked, inherited, as_of)?;
    if let Some(n) = &note {
        progress.warn(n);
    }
    let listing = holdout
        .as_ref()
        .map(|h| listing::carry(before, h, as_of, &table.customers))
        .transpose()?;
    if let Some(w) = listing.as_ref().and_then(|l| l.warning.clone()) {
        progress.warn(&w);
        note = Some(note.map_or(w.clone(), |n| format!("{n}; {w}")));
    }
    let arms: Option<Vec<Arm>> = holdout
        .as_ref()
        .map(|h| table.customers.iter().map(|c| h.arm(c)).collect());
    if let Some(a) = &arms {
        let held: Vec<bool> = a.iter().map(|a| *a == Arm::Holdout).collect();
        personas::attach_arms(personas, labels, &held);
    }
    Ok(Arms {
        holdout,
        arms,
        note,
        listing,
    })
}

/// What [`arms`] decided.
pub struct Arms {
    pub holdout: Option<Holdout>,
    /// Each shopper's arm, when there is a holdout.
    pub arms: Option<Vec<Arm>>,
    pub note: Option<String>,
    /// With a holdout: first listings since the split began.
    pub listing: Option<listing::Carried>,
}

impl Arms {
    /// Whether each shopper is in the treatment arm (with a holdout).
    pub fn treated(&self) -> Option<Vec<bool>> {
        self.arms
            .as_ref()
            .map(|a| a.iter().map(|x| *x == Arm::Treatment).collect())
    }
}

/// Each shopper's row outputs besides the features: their persona, whether an outlier, their arm.
pub struct RunRows<'a> {
    pub assigned: &'a [Assignment],
    pub outlier: &'a [bool],
    pub arms: Option<&'a [Arm]>,
    /// With a holdout: each shopper's first listing since the split began, and the ledger.
    pub listing: Option<&'a listing::Carried>,
    /// Each shopper's return propensity and its reasons, when learned.
    pub propensity: Option<&'a Scored>,
}

/// Renders every file of a run into the staging directory, commits it, and prints the closing
/// lines unless `quiet`.
pub struct RunOutput<'a> {
    staged: StagedDir,
    out: &'a Path,
    format: OutFormat,
    quiet: bool,
    previous: Option<Previous>,
}

/// The previous readout of `--outcomes`, read before the run's work so a bad path fails early.
pub fn previous(args: &RunOutArgs) -> Result<Option<Previous>> {
    args.outcomes
        .as_deref()
        .map(outcomes_load::previous)
        .transpose()
}

impl<'a> RunOutput<'a> {
    pub fn new(
        staged: StagedDir,
        args: &'a RunOutArgs,
        quiet: bool,
        previous: Option<Previous>,
    ) -> RunOutput<'a> {
        RunOutput {
            staged,
            out: &args.out,
            format: args.format,
            quiet,
            previous,
        }
    }

    pub fn write(
        self,
        table: &FeatureTable,
        rows: RunRows<'_>,
        mut summary: Summary,
        model: &Model,
        progress: &Progress,
    ) -> Result<()> {
        if let Some(mut previous) = self.previous {
            previous.attach(&mut summary.personas);
            summary.outcomes = Some(previous);
        }
        progress.stage("writing assignments");
        let files = run_files(self.format, rows.arms.is_some());
        let cols = tables::assignments(
            table,
            rows.assigned,
            rows.outlier,
            rows.arms,
            rows.listing.map(|l| &l.first[..]),
            &summary.personas,
            &summary.cluster_features,
        );
        let mut cols = cols;
        if let Some(scored) = rows.propensity {
            tables::add_propensity(&mut cols, &scored.scores, &scored.reasons);
        }
        let body = match self.format {
            OutFormat::Csv => tables::to_csv(&cols)?,
            OutFormat::Parquet => tables::to_parquet(&cols)?,
        };
        let staged = &self.staged;
        staged.write(&files[0], &body)?;
        drop(body);
        // With --timings the summary carries every stage so far (the assignments file included;
        // the small files after it take milliseconds).
        let summary = Summary {
            timings: progress.timings(),
            ..summary
        };
        progress.stage("writing the other files");
        staged.write(
            "personas.csv",
            &tables::to_csv(&tables::personas(&summary.personas))?,
        )?;
        staged.write("model.json", &model.to_json()?)?;
        staged.write("summary.json", &summary.to_json()?)?;
        staged.write("report.md", markdown::render(&summary).as_bytes())?;
        staged.write("report.html", html::render(&summary)?.as_bytes())?;
        if let Some(arms) = rows.arms {
            let rule = summary.propensity.as_ref().and_then(|p| p.rule_threshold());
            let scores = rows.propensity.map(|scored| (&scored.scores[..], rule));
            let body = tables::audience(table, rows.assigned, arms, &summary.personas, scores)?;
            staged.write("audience.csv", &body)?;
        }
        if let Some(l) = rows.listing {
            staged.write(listing::FILE, &l.ledger.to_csv()?)?;
        }
        self.staged.commit()?;
        progress.finish();
        if !self.quiet {
            print_done(&summary, self.out);
        }
        Ok(())
    }
}

/// The closing lines on stdout: the personas, then the files written.
fn print_done(summary: &Summary, out: &Path) {
    for p in &summary.personas {
        println!(
            "{:>4} {:<44} {:>7} shoppers {:>6.1}%",
            p.id,
            p.name,
            p.size,
            p.share * 100.0
        );
    }
    println!("wrote {} to {}", summary.files.join(", "), out.display());
}
