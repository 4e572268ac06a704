//! What `segment` and `assign` share at the end: a run's rows and tables rendered into the files
//! of its run directory (`model::run_dir` names and writes them into the staging directory), the
//! previous readout of `--outcomes` attached, and the closing lines on stdout.

use std::path::Path;

use anyhow::Result;

use crate::cli::{OutFormat, RunOutArgs};
use crate::features::compute::FeatureTable;
use crate::io::write::StagedDir;
use crate::model::arms::{self as model_arms, Arms};
use crate::model::holdout::HoldoutAsked;
use crate::model::run_dir;
use crate::model::Model;
use crate::outcomes::previous::{self as outcomes_load, Previous};
use crate::personas::Persona;
use crate::propensity::learn::Propensity;
use crate::propensity::run::{Groups, RunPropensity};
use crate::report::tables::{self, RunRows};
use crate::report::Summary;
use crate::util::progress::Progress;

/// The run's arms (`model::arms`), each of its warnings given.
pub fn arms(
    asked: &HoldoutAsked,
    before: Option<(&Model, &Path)>,
    as_of: &str,
    table: &FeatureTable,
    labels: &[usize],
    personas: &mut [Persona],
    progress: &Progress,
) -> Result<Arms> {
    let arms = model_arms::arms(asked, before, as_of, &table.customers, labels, personas)?;
    arms.said.iter().for_each(|w| progress.warn(w));
    Ok(arms)
}

/// The propensity's figures once the personas and arms are settled, and the model to keep.
pub fn figures(
    prop: &mut RunPropensity,
    table: &FeatureTable,
    labels: &[usize],
    personas: &[Persona],
    arms: &Arms,
) -> Option<Propensity> {
    let (persona_ids, treated): (Vec<&str>, _) = (
        personas.iter().map(|p| p.id.as_str()).collect(),
        arms.treated(),
    );
    let groups = Groups {
        labels,
        persona_ids: &persona_ids,
        treated: treated.as_deref(),
    };
    prop.figures(table, groups)
}

/// Renders every file of a run into the staging directory, commits it, and prints the closing
/// lines unless `quiet`.
pub struct RunOutput<'a> {
    staged: StagedDir,
    out: &'a Path,
    format: OutFormat,
    quiet: bool,
    previous: Option<Previous>,
    keep_offers: bool,
}

/// The previous readout of `--outcomes`, read and checked against `--target` before the work.
pub fn previous(args: &RunOutArgs) -> Result<Option<Previous>> {
    outcomes_load::asked(args.outcomes.as_deref(), &args.target, args.force_target)
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
            keep_offers: args.keep_offers,
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
            previous.attach(&mut summary.personas, self.keep_offers);
            summary.outcomes = Some(previous);
        }
        progress.stage("writing assignments");
        let (personas, propensity) = (&summary.personas, rows.propensity.map(|s| &s.scores[..]));
        let scored = (summary.outcomes.as_mut())
            .map(|p| p.score(table, personas, rows.assigned, propensity, rows.arms))
            .unwrap_or_default();
        scored.warning.iter().for_each(|w| progress.warn(w));
        let (uplift, order) = (scored.uplift, scored.order);
        let parquet = self.format == OutFormat::Parquet;
        let body = tables::assignments_file(table, &rows, &summary, uplift.as_deref(), parquet)?;
        let staged = &self.staged;
        staged.write(run_dir::assignments_name(parquet), &body)?;
        drop(body);
        // With --timings the summary carries every stage so far (the assignments file included;
        // the small files after it take milliseconds).
        let summary = Summary {
            timings: progress.timings(),
            ..summary
        };
        progress.stage("writing the other files");
        let audience = order.as_deref().zip(uplift.as_deref());
        tables::run_files(table, &rows, &summary, model, audience)?.write(staged)?;
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
